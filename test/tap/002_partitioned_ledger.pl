# The ledger converted to a table range-partitioned by recorded_at by partition_ledger(),
# as docs/operations.md describes, keeps posting: balances, replays, verify(); its indexes
# are on every partition, and what reads them works there: lot genealogy, a recall, a
# serial's history and a count of one serial. Replays stay no-ops whatever partition the
# original is in: another one, a detached one, a dropped one, and when two sessions race
# the same event exactly one posts it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use InventorySyncTest;

my $node = new_node('partitioned');
load_sample($node, 'postgres');

sub post
{
	my ($id, $qty) = @_;
	return $node->safe_psql('postgres', qq{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', '$id', '09506000134352', '0614141000012', $qty) RETURNING posting_id});
}

post('before-1', 1);
post('before-2', 1);

my $year = $node->safe_psql('postgres', q{SELECT extract(year FROM now())::int});
my $next = $year + 1;
# partition_ledger() of docs/operations.md, "Partitioning": yearly partitions, the
# current table holding everything before next year
$node->safe_psql('postgres', qq{SELECT count(*) FROM inventory_sync.partition_ledger('1 year', 1, first_boundary => '$next-01-01')});
my $old = "ledger_until_${next}0101";

is($node->safe_psql('postgres', q{SELECT relkind FROM pg_class WHERE oid = 'inventory_sync.ledger'::regclass}),
	'p', 'the ledger is partitioned');
my $id = post('after-1', 5);
is($id, '3', 'posting ids continue after the conversion');
is(post('after-1', 5), '', 'a replay is still skipped');
$node->safe_psql('postgres', q{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity) VALUES
  ('receipt', 'wms', 'after-2', '19506000134359', '0614141000012', 1),
  ('issue', 'wms', 'after-3', '09506000134352', '0614141000012', 4)});
is($node->safe_psql('postgres', q{SELECT quantity || '/' || version FROM inventory_sync.balance}),
	'15/5', 'balances follow the partitioned ledger');
is($node->safe_psql('postgres', q{SELECT count(DISTINCT tableoid) FROM inventory_sync.ledger}), '1',
	'rows land in the current partition');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify()');
my ($rc, $out, $err) = $node->psql('postgres', q{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'after-1', '09506000134352', '0614141000012', 6)});
like($err, qr/already posted with a different quantity/, 'a conflicting replay is still refused');

# The ledger's indexes: on the partitioned table, and on each partition (this year's own
# adopted, next year's built), so a partition attached later gets them too.
my @indexes = qw(ledger_source_recorded ledger_manufacturing_lot ledger_manufacturing_order ledger_lot ledger_serial);
for my $index (@indexes)
{
	is($node->safe_psql('postgres', qq{
SELECT c.relkind::text || ':' || (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid)
  FROM pg_class c WHERE c.oid = 'inventory_sync.$index'::regclass}),
		'I:2', "$index is on the partitioned ledger and on both partitions");
}
is($node->safe_psql('postgres', qq{SELECT count(*) FROM pg_indexes WHERE schemaname = 'inventory_sync' AND tablename = '$old'}),
	'7', "this year's partition has no index twice (its own were adopted)");

# Lot genealogy, a recall, serials: what reads those indexes, on the partitioned ledger.
$node->safe_psql('postgres', q{
SET search_path = inventory_sync;
INSERT INTO item (gtin, name, base_unit, lot_tracked) VALUES ('09506000700014', 'Milk', 'LTR', true);
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000700038', 'Yoghurt', true);
INSERT INTO item (gtin, name, serial_tracked) VALUES ('09506000800028', 'Phone', true);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, serial, bucket, quantity, reference) VALUES
  ('receipt', 'wms', 'M-1', '09506000700014', '0614141000012', 'M1', NULL, 'released', 1000, NULL),
  ('consumption', 'wms', 'M-2', '09506000700014', '0614141000012', 'M1', NULL, 'released', 300, 'WO-1'),
  ('production', 'wms', 'M-3', '09506000700038', '0614141000012', 'Y1', NULL, 'released', 600, 'WO-1 SSCC 1'),
  ('issue', 'wms', 'M-4', '09506000700038', '0614141000012', 'Y1', NULL, 'released', 10, 'ORDER 1'),
  ('receipt', 'wms', 'S-1', '09506000800028', '0614141000012', NULL, 'P-1', 'released', 1, NULL),
  ('receipt', 'wms', 'S-2', '09506000800028', '0614141000012', NULL, 'P-2', 'released', 1, NULL),
  ('receipt', 'wms', 'S-3', '09506000800028', '0614141000012', NULL, 'P-3', 'released', 1, NULL);
SELECT inventory_sync.count_stock('wms', 'S-4', '09506000800028', '0614141000012', 1, serial => 'P-1');
SELECT inventory_sync.count_stock('wms', 'S-5', '09506000800028', '0614141000012', 0, serial => 'P-2');
});
is($node->safe_psql('postgres', q{
SELECT string_agg(depth || ' ' || lot_number || ' ' || coalesce(production_order, '-'), ', ' ORDER BY depth)
  FROM inventory_sync.trace_forward('09506000700014', 'M1')}),
	'0 M1 -, 1 Y1 WO-1', 'trace_forward on the partitioned ledger');
is($node->safe_psql('postgres', q{
SELECT string_agg(lot_number::text, ', ' ORDER BY depth) FROM inventory_sync.trace_back('09506000700038', 'Y1')}),
	'Y1, M1', 'trace_back on the partitioned ledger');
is($node->safe_psql('postgres', q{
SELECT string_agg(reference, ', ') FROM inventory_sync.recall('09506000700014', 'M1', 'test', 'wms', 'RC-1')}),
	'ORDER 1', 'recall on the partitioned ledger: the customer shipment');
is($node->safe_psql('postgres', q{
SELECT string_agg(lot || ' ' || bucket || ' ' || quantity, ', ' ORDER BY lot)
  FROM inventory_sync.balance WHERE lot IS NOT NULL AND quantity <> 0}),
	'M1 blocked 700, Y1 blocked 590', 'recall: the lot and what was made from it are blocked');
is($node->safe_psql('postgres', q{
SELECT string_agg(serial || ' ' || state, ', ' ORDER BY serial) FROM inventory_sync.serial_state}),
	'P-1 in_stock, P-2 missing, P-3 in_stock', 'serial_state on the partitioned ledger');
is($node->safe_psql('postgres', q{
SELECT string_agg(l.source_event_id || ' ' || c.delta, ', ' ORDER BY l.posting_id)
  FROM inventory_sync.balance_change c JOIN inventory_sync.ledger l USING (posting_id) WHERE l.kind = 'count'}),
	'S-4 0, S-5 -1', 'a count of one serial reconciles that unit only, on the partitioned ledger');
like($node->safe_psql('postgres', q{
SET search_path = inventory_sync;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT posting_id FROM ledger WHERE item_gtin = '09506000800028' AND serial = 'P-1'}),
	qr/ledger_\w+_serial on ledger_\w+.*ledger_\w+_item_gtin_serial_idx on ledger_\w+/s,
	"a serial's postings are found through each partition's serial index");
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify() after the traceability postings');

# ---------------------------------------------------------------------------------------
# Idempotency across partitions: the event registry.
# ---------------------------------------------------------------------------------------
is($node->safe_psql('postgres', q{
SELECT count(*) FROM inventory_sync.ledger l
  JOIN inventory_sync.ledger_event e USING (source, source_event_id, posting_id, recorded_at)}),
	$node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger}),
	'every event is registered: those the conversion copied and those posted since');

# A partition boundary between what was posted and what comes next: this year's
# partition now ends where the recent one starts.
my $boundary = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
$node->safe_psql('postgres', qq{
BEGIN;
ALTER TABLE inventory_sync.ledger DETACH PARTITION inventory_sync.$old;
ALTER TABLE inventory_sync.ledger ATTACH PARTITION inventory_sync.$old FOR VALUES FROM (MINVALUE) TO ('$boundary');
CREATE TABLE inventory_sync.ledger_recent PARTITION OF inventory_sync.ledger FOR VALUES FROM ('$boundary') TO ('$next-01-01');
COMMIT;});

sub sqlstate_of
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return $err =~ /ERROR:\s+([0-9A-Z]{5}):\s+(.*)/ ? "$1 $2" : "no error: $out";
}
sub postings_of
{
	my ($id) = @_;
	return $node->safe_psql('postgres', qq{SELECT count(*) FROM inventory_sync.ledger WHERE source = 'wms' AND source_event_id = '$id'});
}
my $balance = q{SELECT quantity || '/' || version FROM inventory_sync.balance
                 WHERE item_gtin::text = '09506000134352' AND location::text = '0614141000012' AND bucket = 'released'};
my $before = $node->safe_psql('postgres', $balance);

is(post('before-1', 1), '', 'a replay landing in a later partition than its original is skipped');
is(postings_of('before-1'), '1', 'the event is posted once');
is($node->safe_psql('postgres', $balance), $before, 'the balance did not move');
is($node->safe_psql('postgres', q{
SELECT posting_id || ' ' || kind || ' ' || quantity
  FROM inventory_sync.post('receipt', 'wms', 'before-1', '09506000134352', '0614141000012', 1)}),
	'1 receipt 1', 'post() returns the original from the earlier partition');
like(sqlstate_of(q{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
                   VALUES ('receipt', 'wms', 'before-1', '09506000134352', '0614141000012', 2)}),
	qr/^IS002 event "before-1" of source "wms" was already posted with a different payload/,
	'a conflicting replay across the boundary is refused with IS002');
like(sqlstate_of(q{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
                   VALUES ('issue', 'wms', 'before-1', '09506000134352', '0614141000012', 1)}),
	qr/^IS002 /, 'another kind is a conflict too');
is(post('before-1', '1.00'), '', 'the same quantity written otherwise is the same fact');
my $recent = post('recent-1', 2);
ok($recent > 0, 'a new event posts');
is($node->safe_psql('postgres', qq{SELECT tableoid::regclass FROM inventory_sync.ledger WHERE posting_id = $recent}),
	'inventory_sync.ledger_recent', 'into the recent partition');
is(post('recent-1', 2), '', 'its replay in the same partition is skipped');
like(sqlstate_of(q{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
                   VALUES ('receipt', 'wms', 'recent-1', '09506000134352', '0614141000012', 3)}),
	qr/^IS002 event "recent-1" of source "wms" was already posted with a different quantity/,
	'a conflicting replay in the same partition names the column, as on an unpartitioned ledger');
like(sqlstate_of(q{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity) VALUES
                     ('receipt', 'wms', 'twice', '09506000134352', '0614141000012', 1),
                     ('receipt', 'wms', 'twice', '09506000134352', '0614141000012', 1)}),
	qr/^23505 /, 'the same event twice in one statement: 23505, as on an unpartitioned ledger');

# An archived partition: detached, its events stay registered.
$node->safe_psql('postgres', qq{ALTER TABLE inventory_sync.ledger DETACH PARTITION inventory_sync.$old});
$before = $node->safe_psql('postgres', $balance);
my $count = $node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger});
is(post('before-2', 1), '', 'a replay of an event of a detached partition is skipped');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger}), $count, 'nothing was posted');
is($node->safe_psql('postgres', $balance), $before, 'the balance did not move');
is($node->safe_psql('postgres', q{
SELECT posting_id || ' ' || source_event_id || ' ' || (kind IS NULL)
  FROM inventory_sync.post('receipt', 'wms', 'before-2', '09506000134352', '0614141000012', 1)}),
	'2 before-2 true', 'post() returns what the registry keeps of the archived original');
like(sqlstate_of(q{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
                   VALUES ('receipt', 'wms', 'before-2', '09506000134352', '0614141000029', 1)}),
	qr/^IS002 event "before-2" of source "wms" was already posted with a different payload/,
	'a conflicting replay of an archived event is refused with IS002');
$node->safe_psql('postgres', qq{
ALTER TABLE inventory_sync.ledger ATTACH PARTITION inventory_sync.$old FOR VALUES FROM (MINVALUE) TO ('$boundary')});
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify() with the partition attached again');

# Two sessions racing the same event: the second waits for the first and fails with
# 23505 (its retry is a replay), as on an unpartitioned ledger; the event is posted once.
my $race = q{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
             VALUES ('receipt', 'wms', 'race-1', '09506000134352', '0614141000012', 1)};
my $first = $node->background_psql('postgres');
my $second = $node->background_psql('postgres', on_error_stop => 0);
$first->query_safe("BEGIN; $race");
$second->query_until(qr/racing/, "\\set VERBOSITY verbose\n\\echo racing\n$race;\n");
$node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%race-1%'})
  or die 'the second session does not wait for the first';
$first->query_safe('COMMIT');
$second->query('SELECT 1');
like($second->{stderr}, qr/ERROR:\s+23505: duplicate key value violates unique constraint "ledger_event_pkey"/,
	'the racing session fails with 23505');
$second->{stderr} = '';
is($second->query("$race RETURNING posting_id"), '', 'its retry is a replay');
$first->quit;
$second->quit;
is(postings_of('race-1'), '1', 'the raced event is posted once');

# Many races: two clients post the same few events over and over, retrying on 23505.
$node->safe_psql('postgres', q{
CREATE FUNCTION public.race(e int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
    VALUES ('receipt', 'wms', 'storm-' || e, '09506000134352', '0614141000012', 1);
  EXCEPTION WHEN unique_violation THEN
    -- the other client posted it and committed: now a replay
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
    VALUES ('receipt', 'wms', 'storm-' || e, '09506000134352', '0614141000012', 1);
  END;
END $$;});
my $script = "$PostgreSQL::Test::Utils::tmp_check/partitioned_race.sql";
open my $fh, '>', $script or die $!;
print $fh "\\set e random(1, 40)\nSELECT public.race(:e);\n";
close $fh;
my ($out, $err) = ('', '');
my $ok = eval {
	IPC::Run::run([ 'pgbench', '-n', '-c', 2, '-j', 2, '-t', 400, '-f', $script, $node->connstr('postgres') ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(300));
};
ok($ok, 'two clients race 800 postings of 40 events') or diag("$out\n$err\n$@");
is($node->safe_psql('postgres', q{
SELECT count(*) = count(DISTINCT source_event_id) AND count(*) > 0 FROM inventory_sync.ledger WHERE source_event_id LIKE 'storm-%'}),
	't', 'each raced event is posted once');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify() after the races');

# A dropped partition: its events stay registered, a replay is still a no-op. The recent
# partition goes, a new one takes the postings from now on.
$node->safe_psql('postgres', qq{
BEGIN;
DROP TABLE inventory_sync.ledger_recent;
CREATE TABLE inventory_sync.ledger_recent_2 PARTITION OF inventory_sync.ledger FOR VALUES FROM ('$boundary') TO ('$next-01-01');
COMMIT;});
$count = $node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger});
is(post('recent-1', 2), '', 'a replay of an event of a dropped partition is skipped');
is(post('race-1', 1), '', 'so is the replay of the raced event');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger}), $count, 'nothing was posted');
like(sqlstate_of(q{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
                   VALUES ('receipt', 'wms', 'recent-1', '09506000134352', '0614141000012', 7)}),
	qr/^IS002 /, 'a conflicting replay of a dropped event is refused with IS002');
ok(post('recent-2', 1) > 0, 'a new event posts into the new partition');

$node->stop;
done_testing();
