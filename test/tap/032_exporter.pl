# prometheus-postgres-exporter with the shipped custom queries
# (examples/prometheus/queries.yaml): the exporter runs on a loopback port against a node
# with postings of known latency, counts, a shipment on the road, an open exception and a
# feed slot left behind (its lag, and its delivery delay unknown), connected as a monitoring
# login with only inventory_sync_reader and pg_monitor; a scrape of /metrics carries every
# KPI with the values the views give.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use HTTP::Tiny;
use InventorySyncTest;

my ($exporter) = grep { -x $_ } map { ("$_/prometheus-postgres-exporter", "$_/postgres_exporter") }
  (split(/:/, $ENV{PATH}), '/usr/bin', '/usr/sbin');
plan skip_all => 'prometheus-postgres-exporter is not installed (test/deps.sh installs Debian\'s)' unless $exporter;
my $queries = "$ENV{TESTDIR}/examples/prometheus/queries.yaml";
BAIL_OUT("no $queries") unless -f $queries;

my $node = new_node('exporter');
$node->safe_psql('postgres', q{
CREATE EXTENSION inventory_sync;
SET search_path = inventory_sync, public;
INSERT INTO item (gtin, name) VALUES ('09506000400013', 'Rice 5 kg');
INSERT INTO location (gln, name, kind) VALUES
  ('0614141400010', 'DC South', 'warehouse'), ('0614141400027', 'Store Bay', 'store'),
  ('0614141400034', 'Truck DC South - Store Bay', 'in_transit');
INSERT INTO source (source, name, kind, role) VALUES ('k_wms', 'DC South WMS', 'wms', current_user),
                                                     ('k_pos', 'Store Bay POS', 'pos', current_user);
-- the WMS posts 10 minutes after the fact; the POS sells one more than the store has
SELECT count(*) FROM receive('k_wms', 'W-1', '09506000400013', '0614141400010', 100, 'released', event_time => now() - interval '10 minutes');
SELECT count(*) FROM receive('k_pos', 'P-0', '09506000400013', '0614141400027', 1, 'released');
SELECT count(*) FROM ship('k_pos', 'P-1', '09506000400013', '0614141400027', 2);
-- one count finds the record right, one finds 3 missing
SELECT count(*) FROM count_stock('k_wms', 'CC-1', '09506000400013', '0614141400010', 100, now() - interval '1 minute');
SELECT count(*) FROM count_stock('k_wms', 'CC-2', '09506000400013', '0614141400010', 97, now() - interval '10 seconds');
-- a truck left an hour ago and was due 30 minutes ago
SELECT count(*) FROM transfer_out('k_wms', 'TO-1', '09506000400013', '0614141400010', '0614141400034', 10,
                                  now() - interval '30 minutes', event_time => now() - interval '1 hour');
SELECT pg_create_logical_replication_slot('behind', 'inventory_sync');
SELECT count(*) FROM receive('k_wms', 'W-2', '09506000400013', '0614141400010', 5, 'released');
CREATE ROLE inventory_monitor LOGIN IN ROLE inventory_sync_reader, pg_monitor;
});

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres user=inventory_monitor sslmode=disable';
my $run = IPC::Run::start(
	[ $exporter, "--web.listen-address=127.0.0.1:$port", "--extend.query-path=$queries",
	  '--disable-settings-metrics' ],
	# only the DSN: the exporter's libpq in Go refuses some PG* variables it does not
	# support (PGSYSCONFDIR, which pg_virtualenv sets) and then serves no metric of a database
	init => sub { delete @ENV{ grep { /^PG/ } keys %ENV }; $ENV{DATA_SOURCE_NAME} = $dsn; },
	'>', \my $out, '2>', \my $err);

my $http = HTTP::Tiny->new(timeout => 10);
my $metrics = '';
for (1 .. 100)
{
	my $res = $http->get("http://127.0.0.1:$port/metrics");
	if ($res->{success} && $res->{content} =~ /^inventory_sync_/m) { $metrics = $res->{content}; last; }
	usleep(200_000);
}
if (!ok($metrics ne '', "the exporter on 127.0.0.1:$port serves inventory_sync metrics"))
{
	$run->pump_nb;
	diag("exporter output: " . ($err // ''));
}

# The value of one sample: metric name and its labels in any order.
sub sample
{
	my ($name, %labels) = @_;
	for my $line (split /\n/, $metrics)
	{
		next unless $line =~ /^\Q$name\E(?:\{([^}]*)\})? (\S+)$/;
		my ($set, $value) = ($1 // '', $2);
		my %have = $set =~ /(\w+)="([^"]*)"/g;
		next if grep { ($have{$_} // '') ne $labels{$_} } keys %labels;
		return $value;
	}
	return undef;
}
sub view { $node->safe_psql('postgres', $_[0]) }

is(sample('pg_up'), '1', 'the exporter reaches the server as inventory_monitor');

# data latency and exceptions per source
is(sample('inventory_sync_source_postings', source => 'k_wms', source_kind => 'wms'),
	view(q{SELECT postings FROM inventory_sync.kpi_source WHERE source = 'k_wms'}), 'postings of the last hour, per source');
my $max = sample('inventory_sync_source_latency_max_seconds', source => 'k_wms');
my $want = view(q{SELECT extract(epoch FROM latency_max) FROM inventory_sync.kpi_source WHERE source = 'k_wms'});
ok(defined $max && abs($max - $want) < 0.001 && $max >= 3600, "largest latency of the WMS: its truck left an hour ago ($max s)");
is(sample('inventory_sync_source_open_exceptions', source => 'k_pos'), '1', 'the POS sale below zero: one open exception');
is(sample('inventory_sync_exceptions_open', kind => 'negative_balance'), '1', 'open exceptions by kind');
my @kinds = split /\n/, view(q{SELECT k || '=' || (SELECT count(*) FROM inventory_sync.exception e WHERE e.kind = k AND e.resolved_at IS NULL)
                                FROM unnest(enum_range(NULL::inventory_sync.exception_kind)) k});
is(join(' ', map { my ($k) = split /=/; "$k=" . (sample('inventory_sync_exceptions_open', kind => $k) // '?') } @kinds),
	join(' ', @kinds), 'open exceptions of every kind, zeros included');

# record accuracy
is(sample('inventory_sync_count_accuracy_counts', source => 'k_wms', location => '0614141400010'), '2', 'counts per source and location');
is(sample('inventory_sync_count_accuracy_accuracy', source => 'k_wms', location => '0614141400010'), '0.5',
	'accuracy: one of two counts found the record right');

# feed lag
my $lag = sample('inventory_sync_slot_lag_bytes', slot_name => 'behind', plugin => 'inventory_sync');
ok(defined $lag && $lag > 0, "the slot nobody reads is $lag bytes behind");
is(sample('inventory_sync_slot_active', slot_name => 'behind'), '0', 'and not active');

# delivery latency: nobody streams the slot, so how late it is is unknown while it is behind
my $behind = sample('inventory_sync_feed_delay_lag_bytes', slot_name => 'behind', plugin => 'inventory_sync', consumer => '');
ok(defined $behind && $behind > 0, "delivery latency per consumer: the slot nobody streams is $behind bytes behind");
is(sample('inventory_sync_feed_delay_streaming', slot_name => 'behind'), '0', 'no consumer streams it');
is(sample('inventory_sync_feed_delay_delay_seconds', slot_name => 'behind'), 'NaN', 'its delay is unknown (NaN), not 0');

# in transit
is(sample('inventory_sync_in_transit_quantity', in_transit => '0614141400034'), '10', 'quantity on the road');
is(sample('inventory_sync_in_transit_overdue_quantity', in_transit => '0614141400034'), '10', 'overdue: past its ETA');

$run->signal('TERM');
$run->finish;
# (what the exporter logged is collected once it has stopped)
my @trouble = grep { /inventory_sync/ && /error|denied|fail/i } split /\n/, $err // '';
is(join("\n", @trouble), '', 'every custom query ran (the exporter logged no error about one)');
$node->stop;
done_testing();
