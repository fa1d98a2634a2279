# A consumer that stops, or is killed, and starts again from its confirmed position misses
# nothing: the real pg_recvlogical follows the slot in three runs (stopped at an end
# position, killed with SIGKILL in the middle of a stream, resumed); every after-state
# the engine recorded reaches it at least once, whole transactions are what comes again,
# and the consumer's rule (per key, the highest version wins) ends at the true balances
# and channel ATP.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(usleep);
use InventorySyncTest;
use FeedTest;

my $node = new_node('restart');
setup_shop($node);
my $connstr = $node->connstr('postgres');

$node->command_ok(
	[ 'pg_recvlogical', '-d', $connstr, '--slot', 'follower', '--create-slot', '-P', 'inventory_sync' ],
	'pg_recvlogical creates a slot with the plugin inventory_sync');

sub confirmed
{
	return $node->safe_psql('postgres',
		q{SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'follower'});
}

# Run 1: a batch, then stream it up to its end; pg_recvlogical confirms what it wrote.
$node->safe_psql('postgres', posting_sql('b1', $_)) for 1 .. 15;
my $end1 = $node->lsn('insert');
my $out1 = $node->pg_recvlogical_upto('postgres', 'follower', $end1, $PostgreSQL::Test::Utils::timeout_default,
	'envelopes' => 'on');
ok(scalar(@{ feed_lines($out1) }) > 15 * 4, 'run 1 received the first batch');
my $after1 = confirmed();
ok($node->safe_psql('postgres', "SELECT '$after1'::pg_lsn > '0/0'"), "run 1 confirmed $after1");

# Stopped: a second batch arrives meanwhile.
$node->safe_psql('postgres', posting_sql('b2', $_)) for 1 .. 15;

# Run 2: streaming without an end, up to 7 events per message, reporting progress every
# second; killed with SIGKILL while a third batch is being posted (the consumer's last
# position is not confirmed).
my $file2 = $node->basedir . '/run2.jsonl';
my $recv = IPC::Run::start(
	[ 'pg_recvlogical', '-d', $connstr, '--slot', 'follower', '--start', '-o', 'envelopes=on',
	  '-o', 'batch-events=7', '-f', $file2, '-F', '0', '-s', '1', '--no-loop' ],
	'>', \my $o2, '2>', \my $e2);
for my $i (1 .. 30)
{
	$node->safe_psql('postgres', posting_sql('b3', $i));
	usleep(50_000);
}
$node->poll_query_until('postgres',
	"SELECT confirmed_flush_lsn > '$after1' FROM pg_replication_slots WHERE slot_name = 'follower'")
  or die 'run 2 never confirmed progress';
$recv->signal('KILL');
$recv->finish;
my $after2 = confirmed();
my $end3 = $node->lsn('insert');
ok($node->safe_psql('postgres', "SELECT '$after2'::pg_lsn > '$after1'"), "run 2 confirmed $after2 before it was killed");

# Run 3: resumes from the slot's confirmed position (pg_recvlogical's default start).
my $out3 = $node->pg_recvlogical_upto('postgres', 'follower', $end3, $PostgreSQL::Test::Utils::timeout_default,
	'envelopes' => 'on');
ok($node->safe_psql('postgres', "SELECT confirmed_flush_lsn >= '$end3' FROM pg_replication_slots WHERE slot_name = 'follower'"),
	'run 3 confirmed everything');

# Run 2's file may end in a line cut by the kill: a consumer never applied it.
my @lines2 = split /\n/, slurp_file($file2);
pop @lines2 if @lines2 && $lines2[-1] !~ /\}$/;
my @runs = (feed_lines($out1), feed_lines(join("\n", @lines2)), feed_lines($out3));
my @all = map { @$_ } @runs;

# Nothing missed: every after-state the engine recorded was delivered at least once.
my %seen;
$seen{ join('|', $_->{posting_id}, $_->{gtin}, $_->{gln}, $_->{lot} // '', $_->{bucket}, $_->{version}) }++
  for grep { $_->{type} eq 'posting' } @all;
my @recorded = split /\n/, $node->safe_psql('postgres', q{
SELECT posting_id || '|' || item_gtin || '|' || location || '|' || coalesce(lot::text, '') || '|' || bucket || '|' || version
  FROM inventory_sync.balance_change
 WHERE posting_id > (SELECT max(posting_id) FROM inventory_sync.ledger WHERE source_event_id LIKE 'seed-%')});
my @missing = grep { !$seen{$_} } @recorded;
is(scalar(@missing), 0, 'no after-state was missed (' . scalar(@recorded) . ' recorded)')
  or diag("missing: @missing[0 .. ($#missing < 5 ? $#missing : 4)]");
my @unknown = grep { my $k = $_; !grep { $_ eq $k } @recorded } keys %seen;
is(scalar(@unknown), 0, 'and nothing was delivered that the engine did not record');

# What comes again comes as whole transactions, identical each time (at-least-once).
my %txn;    # commit lsn => [ delivery texts ]
for my $run (@runs)
{
	my ($lsn, @cur);
	for my $e (@$run)
	{
		if ($e->{type} eq 'begin') { @cur = (); $lsn = $e->{lsn}; }
		elsif ($e->{type} eq 'commit')
		{
			push @{ $txn{$lsn} }, join("\n", map { JSON::PP->new->canonical->encode($_) } @cur)
			  . "\n#" . $e->{events} . '=' . scalar(@cur);
			undef $lsn;
		}
		else { push @cur, $e; }
	}
}
my @bad_count = grep { $_ !~ /#(\d+)=\1$/ } map { @$_ } values %txn;
is(scalar(@bad_count), 0, 'every delivered transaction has as many events as its commit object says');
my @repeated = grep { @{ $txn{$_} } > 1 } keys %txn;
my @differing = grep { my $d = $txn{$_}; grep { $_ ne $d->[0] } @$d } @repeated;
is(scalar(@differing), 0, scalar(@repeated) . ' transaction(s) delivered again, each identical to its first delivery');
ok(scalar(@repeated) <= 30, 'only what was not confirmed came again');

# The consumer's rule ends at the truth, for every key the stream touched (the seed
# postings came before the slot).
my %copy;
apply_events(\%copy, \@all);
my $truth = truth_balances($node, 'postgres');
my %touched = map { $_ => $truth->{$_} } grep { exists $truth->{$_} } keys %copy;
my %copy_bal = map { $_ => $copy{$_} } grep { $_ !~ /^web\|/ } keys %copy;
is(copy_as_text(\%copy_bal), copy_as_text(\%touched), 'balances from the stream equal the true balances');
is(scalar(keys %copy_bal), scalar(keys %touched), 'for every key the stream touched');
my $atp = truth_atp($node, 'postgres');
my %copy_atp = map { $_ => $copy{$_} } grep { /^web\|/ } keys %copy;
my %atp_touched = map { $_ => $atp->{$_} } keys %copy_atp;
is(copy_as_text(\%copy_atp), copy_as_text(\%atp_touched), 'channel ATP from the stream equals the true ATP');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify()');

$node->stop;
done_testing();
