# The ledger converted to a table range-partitioned by recorded_at, exactly as
# docs/operations.md describes, keeps posting: balances, replays, verify().
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
my $after = $year + 2;
# the procedure of docs/operations.md, "Partitioning the ledger"
$node->safe_psql('postgres', qq{
BEGIN;
SET search_path = inventory_sync;
ALTER TABLE ledger RENAME TO ledger_$year;
DROP TRIGGER ledger_10_validate ON ledger_$year;
DROP TRIGGER ledger_20_apply ON ledger_$year;
DROP TRIGGER ledger_append_only ON ledger_$year;
DROP TRIGGER ledger_no_truncate ON ledger_$year;
ALTER TABLE ledger_$year DROP CONSTRAINT ledger_source_source_event_id_key,
                          DROP CONSTRAINT ledger_pkey;
ALTER TABLE ledger_$year ADD PRIMARY KEY (posting_id, recorded_at),
                         ADD UNIQUE (source, source_event_id, recorded_at);
CREATE TABLE ledger (LIKE ledger_$year INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS,
                     PRIMARY KEY (posting_id, recorded_at),
                     UNIQUE (source, source_event_id, recorded_at))
    PARTITION BY RANGE (recorded_at);
SELECT setval(pg_get_serial_sequence('inventory_sync.ledger', 'posting_id'),
              (SELECT max(posting_id) FROM ledger_$year));
ALTER EXTENSION inventory_sync DROP SEQUENCE ledger_posting_id_seq;
ALTER TABLE ledger_$year ALTER COLUMN posting_id DROP IDENTITY;
ALTER TABLE ledger ATTACH PARTITION ledger_$year FOR VALUES FROM ('$year-01-01') TO ('$next-01-01');
CREATE TABLE ledger_$next PARTITION OF ledger FOR VALUES FROM ('$next-01-01') TO ('$after-01-01');
CREATE TRIGGER ledger_10_validate BEFORE INSERT ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_before_insert();
CREATE TRIGGER ledger_20_apply AFTER INSERT ON ledger REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply();
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
ALTER EXTENSION inventory_sync ADD TABLE ledger;
GRANT INSERT ON ledger TO inventory_sync_writer;
GRANT SELECT ON ledger TO inventory_sync_reader;
COMMIT;
});

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

$node->stop;
done_testing();
