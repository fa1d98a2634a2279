# Hard-reset snapshot + stream under concurrent postings equals the truth, both ways the
# feed reference (docs/reference/feed.md) describes:
#   A. a new slot created with an exported snapshot; location_snapshot() and
#      channel_snapshot() read under that snapshot; the stream from the slot's consistent
#      point. Exact: per key the stream starts at the snapshot's version + 1.
#   B. a consumer already following a slot takes a snapshot on an ordinary connection in
#      the middle of the stream and keeps, per key, the highest version it has seen.
# Writers post and reserve all the while; after they finish, both copies equal the truth.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use InventorySyncTest;
use FeedTest;

my $node = new_node('snapshot');
setup_shop($node);
my $connstr = $node->connstr('postgres');
my $dc = '0614141000012';

# B's slot exists before the writers start.
$node->safe_psql('postgres', q{SELECT 'ok' FROM pg_create_logical_replication_slot('follower_b', 'inventory_sync')});

my @writers = map {
	my $w = $_;
	my $f = $node->basedir . "/writer$w.sql";
	append_to_file($f, join('', map { posting_sql("w$w", $_) } 1 .. 120));
	IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-f', $f ],
		'>', \my $o, '2>', \my $e)
} 1 .. 3;
$node->poll_query_until('postgres',
	q{SELECT count(*) >= 40 FROM inventory_sync.ledger WHERE source_event_id ~ '^w\d-r'})
  or die 'the writers did not start';

sub snapshot_rows
{
	my ($psql_out) = @_;
	my (%bal, %atp);
	for my $line (split /\n/, $psql_out)
	{
		my @f = split /\|/, $line, -1;
		if ($f[0] eq 'B') { $bal{"$f[1]|$f[2]|$f[3]|$f[4]"} = [ $f[5], $f[6] ]; }
		elsif ($f[0] eq 'A') { $atp{"web|$f[1]"} = [ $f[2], $f[3] ]; }
	}
	return (\%bal, \%atp);
}
my $snapshot_sql = qq{
SELECT 'B', gtin, gln, coalesce(lot::text, ''), bucket, quantity, version FROM inventory_sync.location_snapshot('$dc');
SELECT 'A', gtin, atp, version FROM inventory_sync.channel_snapshot('web');};

# A: a replication connection creates the slot and exports its snapshot; another session
# reads both snapshots under it while the exporting connection waits.
my $repl = $node->background_psql('postgres', replication => 'database');
my $created = $repl->query_safe(q{CREATE_REPLICATION_SLOT fresh_a LOGICAL inventory_sync (SNAPSHOT 'export')});
my (undef, $consistent_point, $snapshot_name) = split /\|/, $created;
like($snapshot_name, qr/^[0-9A-F]+-[0-9A-F]+-\d+$/, "slot created at $consistent_point, snapshot $snapshot_name exported");
my ($bal_a, $atp_a) = snapshot_rows($node->safe_psql('postgres', qq{
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SET TRANSACTION SNAPSHOT '$snapshot_name';
$snapshot_sql
COMMIT;}));
$repl->quit;
ok(scalar(keys %$bal_a) > 0 && scalar(keys %$atp_a) > 0, 'A: snapshots read under the exported snapshot');
is($node->safe_psql('postgres', q{SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'fresh_a'}),
	$consistent_point, "A: the slot resumes at its consistent point");

# B: follow the stream a while, then snapshot on an ordinary connection, then follow on.
my %copy_b;
apply_events(\%copy_b, decode_events($node, 'postgres', 'follower_b', 'locations', $dc));
usleep_ms(300);
my ($bal_b, $atp_b) = snapshot_rows($node->safe_psql('postgres', $snapshot_sql));
apply_events(\%copy_b, decode_events($node, 'postgres', 'follower_b', 'locations', $dc));
merge(\%copy_b, $bal_b);
merge(\%copy_b, $atp_b);

$_->finish or die "a writer failed" for @writers;
ok($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger WHERE source_event_id ~ '^w\d-'}) > 1000,
	'the writers posted throughout');

# A: the stream from the consistent point, per key starting right after the snapshot.
my $events_a = decode_events($node, 'postgres', 'fresh_a', 'locations', $dc);
my %first;
for my $e (@$events_a)
{
	my $k = $e->{type} eq 'posting' ? join('|', $e->{gtin}, $e->{gln}, $e->{lot} // '', $e->{bucket}) : "web|$e->{gtin}";
	$first{$k} //= $e->{version};
}
my %snap_a = (%$bal_a, %$atp_a);
my @overlap = grep { exists $snap_a{$_} && $first{$_} != $snap_a{$_}[1] + 1 } keys %first;
my @new = grep { !exists $snap_a{$_} && $first{$_} != 1 } keys %first;
is(scalar(@overlap) + scalar(@new), 0,
	'A: for all ' . scalar(keys %first) . ' keys the stream starts exactly after the snapshot: no gap, no overlap')
  or diag("keys: @overlap @new");
my %copy_a = %snap_a;
apply_events(\%copy_a, $events_a);

apply_events(\%copy_b, decode_events($node, 'postgres', 'follower_b', 'locations', $dc));

my $truth = truth_balances($node, 'postgres', "location::text = '$dc'");
my $atp = truth_atp($node, 'postgres');
my %truth_all = (%$truth, %$atp);
is(copy_as_text(only_dc_and_web(\%copy_a)), copy_as_text(\%truth_all), 'A: snapshot + stream = the true DC balances and web ATP');
is(copy_as_text(only_dc_and_web(\%copy_b)), copy_as_text(\%truth_all), 'B: snapshot merged into a running stream = the truth too');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify()');

sub merge
{
	my ($copy, $snap) = @_;
	for my $k (keys %$snap)
	{
		$copy->{$k} = $snap->{$k} if !exists $copy->{$k} || $snap->{$k}[1] > $copy->{$k}[1];
	}
}

sub only_dc_and_web
{
	my ($h) = @_;
	return { map { $_ => $h->{$_} } grep { /^web\|/ || /^\d{14}\|$dc\|/ } keys %$h };
}

sub usleep_ms { select(undef, undef, undef, $_[0] / 1000); }

$node->stop;
done_testing();
