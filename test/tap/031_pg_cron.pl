# pg_cron runs the expiry sweep: a node with pg_cron preloaded schedules
# sweep_expired_reservations() every two seconds (every minute with pg_cron 1.4) as a
# writer login (the rights the operations guide gives the job's role); a reservation made with an expiry two seconds
# ahead becomes expired, and its quantity returns to ATP, without any client calling the
# sweep. A reservation that has not expired stays open, every run of the job succeeds, and
# the promises still verify. Then allocate_backorders() is scheduled the same way: a
# backorder waiting for a purchase order is filled once the goods are received, without
# any client calling it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use InventorySyncTest;
use FeedTest;

my ($libdir, $pgc_err);
IPC::Run::run([ 'pg_config', '--pkglibdir' ], '>', \$libdir, '2>', \$pgc_err) or BAIL_OUT("pg_config: $pgc_err");
chomp $libdir;
plan skip_all => "pg_cron is not installed for this server ($libdir/pg_cron.so; test/deps.sh installs Debian's postgresql-N-cron)"
  unless -f "$libdir/pg_cron.so";

my $node = new_node('cron');
# Background workers: the jobs need no connection over the network to the node.
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
});
$node->restart;
setup_shop($node);
my ($item, $dc) = ('09506000134352', '0614141000012');

my $version = $node->safe_psql('postgres', q{CREATE EXTENSION pg_cron;
SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'});
note("pg_cron $version");
$node->safe_psql('postgres', q{CREATE ROLE ops_cron LOGIN IN ROLE inventory_sync_writer});

my $atp_before = $node->safe_psql('postgres', "SELECT inventory_sync.atp('$item', channel => 'web')");
my ($short, $long) = split /\n/, $node->safe_psql('postgres', qq{
SELECT reservation_id FROM inventory_sync.reserve('web', 'cron-short', '1', '$item', 5, '$dc', now() + interval '2 seconds');
SELECT reservation_id FROM inventory_sync.reserve('web', 'cron-long', '1', '$item', 7, '$dc', now() + interval '1 hour');
});
is($node->safe_psql('postgres', "SELECT inventory_sync.atp('$item', channel => 'web')"), $atp_before - 12,
	'two reservations hold 12 units of ATP');

# Schedules in seconds came with pg_cron 1.5 (Debian 13's); 1.4 (Debian 12's) runs a job
# every minute at the earliest.
my $every = '2 seconds';
my ($rc, $job, $err) = $node->psql('postgres', q{SELECT cron.schedule('probe', '2 seconds', 'SELECT 1')});
if ($rc != 0)
{
	$every = '* * * * *';
	note("pg_cron $version refuses a schedule in seconds ($err): every minute instead");
}
else
{
	$node->safe_psql('postgres', "SELECT cron.unschedule($job)");
}
$job = $node->safe_psql('postgres', qq{
SELECT cron.schedule_in_database('inventory-sync-expire', '$every',
                                 'SELECT inventory_sync.sweep_expired_reservations()', 'postgres', 'ops_cron')});
ok($job > 0, "job $job scheduled ('$every') as ops_cron");

ok($node->poll_query_until('postgres', "SELECT status = 'expired' FROM inventory_sync.reservation WHERE reservation_id = $short"),
	'the reservation past its expiry is expired by the scheduled sweep');
is($node->safe_psql('postgres', "SELECT status FROM inventory_sync.reservation WHERE reservation_id = $long"), 'open',
	'the one that has not expired stays open');
is($node->safe_psql('postgres', "SELECT inventory_sync.atp('$item', channel => 'web')"), $atp_before - 7,
	'the expired quantity is back in ATP');

ok($node->poll_query_until('postgres', qq{SELECT count(*) >= 1 FROM cron.job_run_details
                                          WHERE jobid = $job AND status IN ('succeeded', 'failed')}),
	'pg_cron recorded the run');
like($node->safe_psql('postgres', qq{SELECT string_agg(DISTINCT status || ': ' || coalesce(return_message, ''), '; ')
                                       FROM cron.job_run_details WHERE jobid = $job AND status IN ('succeeded', 'failed')}),
	qr/^succeeded: (SELECT 1|1 row)$/, 'every run succeeded');
is($node->safe_psql('postgres', qq{SELECT string_agg(DISTINCT d.username, ', ') FROM cron.job_run_details d
                                     WHERE d.jobid = $job}), 'ops_cron', 'as the writer login it was scheduled for');
is($node->safe_psql('postgres', qq{SELECT string_agg(action::text, ', ' ORDER BY change_id) FROM inventory_sync.reservation_change
                                     WHERE reservation_id = $short}),
	'reserve, expire', 'the reservation\'s history: reserved, then expired once');
is($node->safe_psql('postgres', 'SELECT count(*) FROM inventory_sync.verify_promises()'), '0',
	'verify_promises(): ATP and reservations agree');

$node->safe_psql('postgres', "SELECT cron.unschedule($job)");

# The backorder job: a marketplace at a warehouse of its own backorders 3 units against a
# purchase order; they are received, and the scheduled allocation fills the backorder.
$node->safe_psql('postgres', q{
SET search_path = inventory_sync, public;
INSERT INTO location (gln, name, kind) VALUES ('0614141000036', 'DC 2', 'warehouse');
INSERT INTO channel (channel, name, allow_backorder) VALUES ('mkt', 'Marketplace', true);
INSERT INTO channel_location (channel, location) VALUES ('mkt', '0614141000036');
INSERT INTO supply (kind, item_gtin, location, quantity, due_date)
     VALUES ('purchase_order', '09506000134369', '0614141000036', 10, current_date + 10);
});
my $bo = $node->safe_psql('postgres', q{
SELECT reservation_id FROM inventory_sync.reserve('mkt', 'cron-bo', '1', '09506000134369', 3)
 WHERE promised_date IS NOT NULL});
ok($bo > 0, 'a backorder waits for the purchase order');
my $bojob = $node->safe_psql('postgres', qq{
SELECT cron.schedule_in_database('inventory-sync-backorders', '$every',
                                 'SELECT inventory_sync.allocate_backorders()', 'postgres', 'ops_cron')});
$node->safe_psql('postgres', q{
SELECT count(*) FROM inventory_sync.receive('wms', 'cron-gr', '09506000134369', '0614141000036', 3, 'released')});
ok($node->poll_query_until('postgres', "SELECT promised_date IS NULL FROM inventory_sync.reservation WHERE reservation_id = $bo"),
	'the scheduled allocation fills the backorder from the goods received');
is($node->safe_psql('postgres', qq{SELECT string_agg(action::text, ', ' ORDER BY change_id) FROM inventory_sync.reservation_change
                                     WHERE reservation_id = $bo}),
	'reserve, allocate', 'its history: reserved as a backorder, then allocated');
ok($node->poll_query_until('postgres', qq{SELECT count(*) >= 1 FROM cron.job_run_details
                                          WHERE jobid = $bojob AND status IN ('succeeded', 'failed')}),
	'pg_cron recorded the allocation run');
like($node->safe_psql('postgres', qq{SELECT string_agg(DISTINCT status, '; ') FROM cron.job_run_details
                                       WHERE jobid = $bojob AND status IN ('succeeded', 'failed')}),
	qr/^succeeded$/, 'every allocation run succeeded');
is($node->safe_psql('postgres', 'SELECT count(*) FROM inventory_sync.verify_promises()'), '0',
	'verify_promises() after the fill');
$node->safe_psql('postgres', "SELECT cron.unschedule($bojob)");
$node->stop;
done_testing();
