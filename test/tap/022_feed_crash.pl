# Immediate-stop crashes in the middle of batches: three sessions post batches of 50
# postings to the DC while a fourth holds a batch open at a plant (its own keys, and no
# channel's ATP, so it blocks no one) and a pg_recvlogical consumer streams; the
# server is stopped with mode immediate, twice. After each restart the feed holds every
# committed batch whole, nothing of a batch that did not commit, and no gap in any key's
# versions; a consumer resuming from its confirmed position ends at the true balances.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use InventorySyncTest;
use FeedTest;

my $node = new_node('crash');
setup_shop($node);
$node->safe_psql('postgres', q{INSERT INTO inventory_sync.location (gln, name, kind) VALUES ('0614141000043', 'Plant', 'plant')});
$node->safe_psql('postgres', q{SELECT 'ok' FROM pg_create_logical_replication_slot('crash_feed', 'inventory_sync')});
my $connstr = $node->connstr('postgres');
my $batch = 50;
my @delivered;    # every event any consumer got, over all rounds

sub batch_sql
{
	my ($tag, $n, $gln) = @_;
	$gln //= '0614141000012';
	return join('', map { qq{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
SELECT 'receipt', 'wms', '$tag-$_-' || g,
       (CASE WHEN g % 2 = 0 THEN '09506000134352' ELSE '09506000134369' END)::inventory_sync.gtin,
       '$gln', 1 + g % 3
  FROM generate_series(1, $batch) g;
} } 1 .. $n);
}

for my $round (1, 2)
{
	my $file = $node->basedir . "/stream$round.jsonl";
	my $consumer = IPC::Run::start(
		[ 'pg_recvlogical', '-d', $connstr, '--slot', 'crash_feed', '--start', '-o', 'envelopes=on',
		  '-f', $file, '-F', '0', '-s', '1', '--no-loop' ],
		'>', \my $co, '2>', \my $ce);
	# one transaction per batch: psql runs the file one statement at a time
	my @writers = map {
		my $f = $node->basedir . "/writer$round-$_.sql";
		append_to_file($f, batch_sql("r$round-w$_", 400));
		IPC::Run::start([ 'psql', '-X', '-q', '-d', $connstr, '-f', $f ], '>', \my $wo, '2>', \my $we)
	} 1 .. 3;
	my $f = $node->basedir . "/open$round.sql";
	append_to_file($f, 'BEGIN; ' . batch_sql("r$round-open", 1, '0614141000043') . ' SELECT pg_sleep(600); COMMIT;');
	my $open = IPC::Run::start([ 'psql', '-X', '-q', '-d', $connstr, '-f', $f ], '>', \my $oo, '2>', \my $oe);
	$node->poll_query_until('postgres',
		"SELECT count(*) >= 20 * $batch FROM inventory_sync.ledger WHERE source_event_id LIKE 'r$round-w%'")
	  or die 'the batches did not start';
	$node->stop('immediate');
	$_->finish for @writers, $open, $consumer;
	$node->start;

	# The consumer's file may end in a line cut by the crash: never applied.
	my @lines = split /\n/, (-e $file ? slurp_file($file) : '');
	pop @lines if @lines && $lines[-1] !~ /\}$/;
	push @delivered, @{ feed_lines(join("\n", @lines)) };
	my $end = $node->lsn('insert');
	# ...and it resumes from the position it confirmed before the crash.
	my $rest = $node->pg_recvlogical_upto('postgres', 'crash_feed', $end, $PostgreSQL::Test::Utils::timeout_default,
		'envelopes' => 'on');
	push @delivered, @{ feed_lines($rest) };

	my $committed = $node->safe_psql('postgres',
		"SELECT count(*) FROM inventory_sync.ledger WHERE source_event_id LIKE 'r$round-%'");
	ok($committed > 0 && $committed % $batch == 0, "round $round: $committed postings survived the crash, whole batches");
	is($node->safe_psql('postgres', "SELECT count(*) FROM inventory_sync.ledger WHERE source_event_id LIKE 'r$round-open-%'"),
		'0', "round $round: the open batch is gone");
}

# Transactions: each delivery complete (its events as the commit object counts them), a
# batch is one transaction of exactly $batch posting events (and the channel ATP events
# it caused), the open batches never appear.
my (%txn, $cur, @bad);
for my $e (@delivered)
{
	if ($e->{type} eq 'begin') { $cur = []; }
	elsif ($e->{type} eq 'commit')
	{
		push @bad, $e->{lsn} if !defined $cur || scalar(@$cur) != $e->{events};
		$txn{ $e->{lsn} } = $cur if defined $cur;
		undef $cur;
	}
	elsif (defined $cur) { push @$cur, $e; }
}
is(scalar(@bad), 0, 'every delivered transaction is complete');
my @batches = grep { my $t = $_; grep { $_->{source_event_id} =~ /^r\d-w/ } @$t } values %txn;
ok(scalar(@batches) > 0, scalar(@batches) . ' batches delivered');
is(scalar(grep { scalar(grep { $_->{type} eq 'posting' } @$_) != $batch } @batches), 0,
	"each of them one transaction with exactly $batch posting events");
is(scalar(@batches) * $batch, $node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger WHERE source_event_id ~ '^r\d-w'}),
	'as many as the ledger holds');
is(scalar(grep { $_->{type} eq 'posting' && $_->{source_event_id} =~ /-open-/ } @delivered), 0,
	'no event of a batch that never committed');

# Nothing missed, nothing invented: the delivered postings are exactly the recorded ones.
my %seen = map { ("$_->{posting_id}|$_->{bucket}|$_->{version}|$_->{gtin}" => 1) }
  grep { $_->{type} eq 'posting' } @delivered;
my %recorded = map { $_ => 1 } split /\n/, $node->safe_psql('postgres', q{
SELECT posting_id || '|' || bucket || '|' || version || '|' || item_gtin FROM inventory_sync.balance_change
 WHERE posting_id > (SELECT max(posting_id) FROM inventory_sync.ledger WHERE source_event_id LIKE 'seed-%')});
is(scalar(grep { !$seen{$_} } keys %recorded), 0, 'every recorded after-state was delivered (' . scalar(keys %recorded) . ')');
is(scalar(grep { !$recorded{$_} } keys %seen), 0, 'and only those');

# No gap in any key's versions: the feed has every version from the first it showed to the
# balance's current one.
my %versions;
for my $e (grep { $_->{type} eq 'posting' } @delivered)
{
	$versions{"$e->{gtin}|$e->{gln}|$e->{bucket}"}{ $e->{version} } = 1;
}
my $truth = truth_balances($node, 'postgres');
my @gaps;
for my $k (keys %versions)
{
	my @v = sort { $a <=> $b } keys %{ $versions{$k} };
	my ($gtin, $gln, $bucket) = split /\|/, $k;
	my $now = $truth->{"$gtin|$gln||$bucket"}[1];
	push @gaps, $k if $v[-1] != $now || $v[-1] - $v[0] + 1 != scalar(@v);
}
is(scalar(@gaps), 0, 'versions are gap-free up to the current balance for ' . scalar(keys %versions) . ' keys')
  or diag("gaps: @gaps");

my %copy;
apply_events(\%copy, \@delivered);
my %bal = map { $_ => $copy{$_} } grep { !/^web\|/ } keys %copy;
my %true = map { $_ => $truth->{$_} } keys %bal;
is(copy_as_text(\%bal), copy_as_text(\%true), 'the consumer ends at the true balances');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify()');

$node->stop;
done_testing();
