# kpi_feed_delay follows a real consumer: a slot nobody reads is 'disconnected' and its delay
# unknown while it is behind; the real pg_recvlogical streaming it is 'streaming' under its
# application_name, the walsender measures how long after their commit it confirms postings
# (a delay, bounded, while it is behind), the delay is 0 once it has confirmed everything,
# and when it stops the slot is 'disconnected' again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use InventorySyncTest;
use FeedTest;

my $node = new_node('feed_delay');
setup_shop($node);
$node->safe_psql('postgres', q{SELECT pg_create_logical_replication_slot('delay_slot', 'inventory_sync')});

sub row
{
	return $node->safe_psql('postgres', q{
SELECT state || '|' || coalesce(consumer, '-') || '|' || (lag_bytes > 0) || '|' || coalesce(delay::text, 'unknown')
  FROM inventory_sync.kpi_feed_delay WHERE slot_name = 'delay_slot'});
}

my $i = 0;
sub post { $node->safe_psql('postgres', posting_sql('d', ++$i)) for 1 .. ($_[0] // 1); return; }

post();
is(row(), 'disconnected|-|true|unknown', 'a slot nobody reads, behind: disconnected, delay unknown');

my $out = $node->basedir . '/recv.out';
my $recv = IPC::Run::start(
	[ 'pg_recvlogical', '-d', $node->connstr('postgres') . ' application_name=delay_consumer', '--slot', 'delay_slot', '--start',
	  '-o', 'events=posting', '--status-interval', '1', '--fsync-interval', '1', '-f', $out ],
	'>', \my $rout, '2>', \my $rerr);

$node->poll_query_until('postgres', q{
SELECT state = 'streaming' AND consumer = 'delay_consumer'
  FROM inventory_sync.kpi_feed_delay WHERE slot_name = 'delay_slot'})
  or die "pg_recvlogical did not start streaming: $rerr";
pass('pg_recvlogical streaming the slot shows as streaming, under its application_name');

# Postings while it streams: the walsender measures commit -> confirmed.
my $measured = 0;
for my $round (1 .. 40)
{
	post(3);
	$measured = $node->safe_psql('postgres', q{
SELECT confirmed_delay IS NOT NULL AND confirmed_delay < interval '30 seconds'
   AND received_delay IS NOT NULL AND last_reply_age < interval '30 seconds'
  FROM inventory_sync.kpi_feed_delay WHERE slot_name = 'delay_slot'}) eq 't';
	last if $measured;
	usleep(250_000);
}
ok($measured, 'while it streams, the server measures how long after commit it received and confirmed postings');

my $ok_delay = $node->poll_query_until('postgres', q{
SELECT delay = interval '0' AND lag_bytes <= 0 FROM inventory_sync.kpi_feed_delay WHERE slot_name = 'delay_slot'});
ok($ok_delay, 'once it has confirmed everything, the delay is 0') or diag(row());
like(slurp_file($out), qr/"type":"posting".*"source_event_id":"d-r$i"/, 'it did receive the last posting');

$recv->kill_kill;
$node->poll_query_until('postgres', q{
SELECT state = 'disconnected' FROM inventory_sync.kpi_feed_delay WHERE slot_name = 'delay_slot'})
  or die 'the slot stays active';
post();
is(row(), 'disconnected|-|true|unknown', 'stopped and behind again: disconnected, delay unknown');

$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('delay_slot')});
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.kpi_feed_delay WHERE slot_name = 'delay_slot'}),
	'0', 'a dropped slot has no row');

done_testing();
