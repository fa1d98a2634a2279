# The ledger partitioned, maintained and archived through the supported functions
# (docs/operations.md, "Partitioning" and "Retention and archival"), by an admin login:
# partition_ledger() converts it and the after-state tables (balance_change,
# reservation_change, channel_atp_change), postings and reservations land across the
# first boundary, replays stay no-ops, maintain_partitions() creates the coming
# partitions, detach_ledger_partition() archives the converted ledger table; balances,
# versions, the after-states the feed publishes, a count as of a watermark, verify(),
# verify(since => ...) and verify_promises() stay exact throughout.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use InventorySyncTest;

my $node = new_node('partitioning');
load_sample($node, 'postgres');
my ($item, $dc) = ('09506000134352', '0614141000012');
$node->safe_psql('postgres', q{
CREATE ROLE ops_admin LOGIN IN ROLE inventory_sync_admin;
CREATE ROLE ops_writer LOGIN IN ROLE inventory_sync_writer;});

sub as_admin { return $node->safe_psql('postgres', "SET ROLE ops_admin;\n" . $_[0]); }
sub post
{
	my ($id, $qty) = @_;
	return $node->safe_psql('postgres', qq{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', '$id', '$item', '$dc', $qty) RETURNING posting_id});
}
sub sqlstate_of
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return $err =~ /ERROR:\s+([0-9A-Z]{5}):\s+(.*)/ ? "$1 $2" : "no error: $out";
}
my $balance = qq{SELECT quantity || '/' || version FROM inventory_sync.balance
                  WHERE item_gtin::text = '$item' AND location::text = '$dc' AND bucket = 'released'};
my $verify = q{SELECT (SELECT count(*) FROM inventory_sync.verify()) || '/'
                   || (SELECT count(*) FROM inventory_sync.verify(since => '-infinity'))
                   || '/' || (SELECT count(*) FROM inventory_sync.verify(since_posting => 0))};

post('old-1', 10);
my $early = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
post('old-2', 5);
$node->safe_psql('postgres', qq{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, to_bucket, quantity)
     VALUES ('move', 'wms', 'old-3', '$item', '$dc', 'released', 'quarantine', 3)});
# a channel selling from the DC, with a reservation: rows in reservation_change and
# channel_atp_change before the conversion
$node->safe_psql('postgres', q{
INSERT INTO inventory_sync.channel (channel, name) VALUES ('web', 'Web');
INSERT INTO inventory_sync.channel_location (channel, location) VALUES ('web', '0614141000012');
SELECT inventory_sync.refresh_channel_atp('web', '09506000134352');
SELECT inventory_sync.reserve('web', 'order-1', '1', '09506000134352', 2)});
my $promises = q{SELECT count(*) FROM inventory_sync.verify_promises()};
my $watermark = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
is($node->safe_psql('postgres', $balance), '12/3', 'before: 12 released after three postings');

like(sqlstate_of(q{SET ROLE ops_writer; SELECT inventory_sync.partition_ledger()}), qr/^42501 /,
	'a writer may not partition the ledger');
like(sqlstate_of(q{SET ROLE ops_admin; SELECT inventory_sync.maintain_partitions()}),
	qr/^IS090 the ledger is not partitioned/, 'maintain_partitions() before partition_ledger(): IS090');
like(sqlstate_of(q{SET ROLE ops_admin; SELECT inventory_sync.partition_ledger('10 minutes')}),
	qr/^IS090 partition interval 00:10:00 is too short/, 'an interval under an hour: IS090');
like(sqlstate_of(q{SET ROLE ops_admin; SELECT inventory_sync.partition_ledger('1 day', first_boundary => '2000-01-01')}),
	qr/^IS090 first boundary .* is not after the latest recorded_at of ledger/, 'a first boundary before the latest posting: IS090');
# A unique index of an after-state table could not be kept as it is on a table
# partitioned by time (its index must contain the partition key): refused, not dropped.
like(sqlstate_of(q{BEGIN;
CREATE UNIQUE INDEX balance_change_unique_version ON inventory_sync.balance_change (balance_id, version);
SET ROLE ops_admin; SELECT inventory_sync.partition_ledger('1 day')}),
	qr/^IS090 table balance_change has unique indexes \(balance_change_unique_version\)/,
	'an after-state table with a unique index the partitioned table could not keep: IS090');
is($node->safe_psql('postgres', q{SELECT relkind FROM pg_class WHERE oid = 'inventory_sync.ledger'::regclass}),
	'r', 'and nothing was converted');

# A session open across the conversion (a pooled connection): it reserved and posted
# before, and does again after, into the partitioned tables.
my ($s_in, $s_out, $s_err) = ('', '', '');
my $session = IPC::Run::start([ 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=0', '-d', $node->connstr('postgres'), '-f', '-' ],
	'<', \$s_in, '>', \$s_out, '2>', \$s_err);
sub in_session
{
	my ($sql) = @_;
	($s_out, $s_err) = ('', '');
	$s_in .= "$sql\n\\echo done\n";
	$session->pump until $s_out =~ /done\n/;
	$s_out =~ s/done\n$//;
	chomp $s_out;
	return $s_err ne '' ? "error: $s_err" : $s_out;
}
like(in_session(q{SELECT reservation_id FROM inventory_sync.reserve('web', 'order-s1', '1', '09506000134352', 1);}),
	qr/^\d+$/, 'a session reserves before the conversion');

# The first boundary is now: what comes next lands in a partition of its own.
my $boundary = $node->safe_psql('postgres', q{SELECT clock_timestamp()});
my $parts = as_admin(qq{SELECT string_agg(partition_name || ' ' || (range_from IS NULL), ', ' ORDER BY range_to)
  FROM inventory_sync.partition_ledger('1 day', 2, first_boundary => '$boundary')});
like($parts, qr/^ledger_until_\d{8}_\d{6} true(, ledger_p\d{8}_\d{6} false){3}$/,
	'partition_ledger(): the converted table up to the boundary, then the day now is in and two days ahead');
my ($until) = $parts =~ /^(ledger_until_\S+)/;
is($node->safe_psql('postgres', q{SELECT relkind FROM pg_class WHERE oid = 'inventory_sync.ledger'::regclass}),
	'p', 'the ledger is partitioned');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_depend WHERE classid = 'pg_class'::regclass AND objid = 'inventory_sync.ledger'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'inventory_sync') AND deptype = 'e'}),
	'1', 'the partitioned ledger belongs to the extension');
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_depend WHERE objid = 'inventory_sync.$until'::regclass AND deptype = 'e'}),
	'0', 'the converted table does not (it can be archived like any partition)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger_event}), '3',
	'the events posted before are registered');
for my $table (qw(balance_change reservation_change channel_atp_change))
{
	like($node->safe_psql('postgres', qq{
SELECT c.relkind::text || ' ' || string_agg(p.partition_name, ', ' ORDER BY p.range_to NULLS LAST)
  FROM pg_class c, inventory_sync.table_partitions('$table') p
 WHERE c.oid = 'inventory_sync.$table'::regclass GROUP BY c.relkind}),
		qr/^p ${table}_until_\d{8}_\d{6}(, ${table}_p\d{8}_\d{6}){3}$/, "$table is partitioned on the same boundaries");
}
is($node->safe_psql('postgres', q{
SELECT c.relkind::text || ':' || (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid)
  FROM pg_class c WHERE c.oid = 'inventory_sync.balance_change_version'::regclass}),
	'I:4', 'balance_change_version is on the partitioned balance_change and its four partitions');
for my $index (qw(ledger_source_recorded ledger_manufacturing_lot ledger_manufacturing_order ledger_lot ledger_serial))
{
	is($node->safe_psql('postgres', qq{
SELECT c.relkind::text || ':' || (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid)
  FROM pg_class c WHERE c.oid = 'inventory_sync.$index'::regclass}),
		'I:4', "$index is on the partitioned ledger and on its four partitions");
}
is($node->safe_psql('postgres', q{
SELECT string_agg(tgname, ', ' ORDER BY tgname) FROM pg_trigger
 WHERE tgrelid = 'inventory_sync.ledger'::regclass AND NOT tgisinternal}),
	'ledger_10_validate, ledger_20_apply, ledger_append_only, ledger_no_truncate', 'the triggers are on the partitioned ledger');
is($node->safe_psql('postgres', q{SELECT obj_description('inventory_sync.ledger'::regclass, 'pg_class') IS NOT NULL}),
	't', 'with its comment');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
 WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = 'inventory_sync.ledger'::regclass}) > 5 ? 'yes' : 'no',
	'yes', 'the views over the ledger read the partitioned table');
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
 WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = 'inventory_sync.$until'::regclass}),
	'0', 'none reads the converted table alone');

# The change feed reads the partitions' rows as their tables' (a consumer's slot made now).
$node->safe_psql('postgres', q{SELECT 'ok' FROM pg_create_logical_replication_slot('partitioned_feed', 'inventory_sync')});

# Posting across the boundary.
my $new = post('new-1', 7);
is($new, '4', 'posting ids continue');
like($node->safe_psql('postgres', qq{SELECT tableoid::regclass FROM inventory_sync.ledger WHERE posting_id = $new}),
	qr/^inventory_sync\.ledger_p\d{8}_\d{6}$/, 'into the first partition after the boundary');
is(post('old-1', 10), '', 'a replay of an event before the boundary is skipped');
is($node->safe_psql('postgres', $balance), '19/4', 'balance and version across the boundary');
like(sqlstate_of(qq{SET ROLE ops_writer;
INSERT INTO inventory_sync.$until (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'side-1', '$item', '$dc', 1)}),
	qr/^42501 /, 'a writer may not write a partition past the ledger\'s triggers');
is($node->safe_psql('postgres', q{
SELECT bool_and(has_table_privilege('ops_writer', 'inventory_sync.' || partition_name, 'SELECT'))
       AND NOT bool_or(has_table_privilege('ops_writer', 'inventory_sync.' || partition_name, 'INSERT'))
  FROM inventory_sync.ledger_partitions()}), 't', 'every partition is readable by readers (as the ledger is), writable by no API role');
is($node->safe_psql('postgres', $verify), '0/0/0', 'verify(), verify(since => ...) and verify(since_posting => ...)');
like($node->safe_psql('postgres', qq{
SELECT string_agg(DISTINCT tableoid::regclass::text, ', ') FROM inventory_sync.balance_change WHERE posting_id = $new}),
	qr/^inventory_sync\.balance_change_p\d{8}_\d{6}$/, "the posting's after-state lands in balance_change's first partition");
my $reservation = $node->safe_psql('postgres', q{
SELECT reservation_id FROM inventory_sync.reserve('web', 'order-2', '1', '09506000134352', 3)});
$node->safe_psql('postgres', q{SELECT inventory_sync.cancel_reservation(reservation_id)
  FROM inventory_sync.reservation WHERE order_ref = 'order-1'});
like($node->safe_psql('postgres', qq{
SELECT string_agg(DISTINCT tableoid::regclass::text, ', ') FROM inventory_sync.reservation_change WHERE reservation_id = $reservation}),
	qr/^inventory_sync\.reservation_change_p\d{8}_\d{6}$/, 'a reservation after the boundary: its change in a partition of its own');
is($node->safe_psql('postgres', q{SELECT count(DISTINCT tableoid) FROM inventory_sync.channel_atp_change}), '2',
	"channel ATP changes before and after the boundary, in the converted table and the first partition");
is($node->safe_psql('postgres', q{
SELECT string_agg(change_id::text, ',' ORDER BY change_id) FROM inventory_sync.reservation_change}), '1,2,3,4',
	'reservation change ids continue across the conversion');
is($node->safe_psql('postgres', $promises), '0', 'verify_promises() over the partitioned promise history');
is($node->safe_psql('postgres', q{
SELECT string_agg(e->>'type' || ':' || coalesce(e->>'source_event_id', e->>'order_ref', e->>'channel'), ', ' ORDER BY n)
  FROM (SELECT f.data::jsonb AS e, f.n
          FROM pg_logical_slot_peek_changes('partitioned_feed', NULL, NULL) WITH ORDINALITY AS f(lsn, xid, data, n)) f
 WHERE e->>'type' IN ('posting', 'reservation')}),
	'posting:new-1, reservation:order-2, reservation:order-1',
	'the feed publishes the postings and reservations written into the partitions');
$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('partitioned_feed')});
like(in_session(q{SELECT FROM inventory_sync.reserve('web', 'order-s2', '1', '09506000134352', 1);
SELECT tableoid::regclass FROM inventory_sync.reservation_change WHERE order_ref = 'order-s2';}),
	qr/^inventory_sync\.reservation_change_p\d{8}_\d{6}$/, 'the session open across the conversion reserves into the partitioned table');
like(in_session(q{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'pooled-1', '19506000134359', '0614141000012', 1);
SELECT tableoid::regclass FROM inventory_sync.balance_change WHERE source_event_id = 'pooled-1';}),
	qr/^inventory_sync\.balance_change_p\d{8}_\d{6}$/, 'and posts into it');
in_session(q{SELECT inventory_sync.cancel_reservation(reservation_id) FROM inventory_sync.reservation WHERE order_ref LIKE 'order-s%';});
$s_in .= "\\q\n";
$session->finish;
is($node->safe_psql('postgres', $promises), '0', 'verify_promises() after the session');

# maintain_partitions(): idempotent, extends the series on the same boundaries.
is(as_admin(q{SELECT inventory_sync.maintain_partitions()}), '0', 'maintain_partitions(): nothing to do yet');
is(as_admin(q{SELECT inventory_sync.maintain_partitions(premake => 4)}), '8', 'two more days ahead when asked for four, for each of the four tables');
is(as_admin(q{SELECT inventory_sync.maintain_partitions(premake => 4)}), '0', 'and nothing the second time');
is($node->safe_psql('postgres', q{
SELECT bool_and(range_from = lag) FROM (SELECT range_from, lag(range_to) OVER (ORDER BY range_to) FROM inventory_sync.ledger_partitions()) p
 WHERE lag IS NOT NULL}), 't', 'the partitions are contiguous');
is($node->safe_psql('postgres', qq{
SELECT bool_and(extract(epoch FROM range_from - '$boundary'::timestamptz)::numeric % 86400 = 0)
  FROM inventory_sync.ledger_partitions() WHERE range_from IS NOT NULL}), 't', 'on the boundaries of the series');
like(sqlstate_of(q{SET ROLE ops_admin; SELECT inventory_sync.partition_ledger()}),
	qr/^IS090 the ledger is partitioned already/, 'partitioning twice: IS090');

# Retention: the converted table archived. First dropped, in a transaction rolled back.
like(sqlstate_of(q{SET ROLE ops_admin; SELECT * FROM inventory_sync.detach_ledger_partition(now() + interval '1 day')}),
	qr/^IS091 cannot archive the ledger before/, 'archiving the future: IS091');
is($node->safe_psql('postgres', qq{
SET ROLE ops_admin;
BEGIN;
SELECT partition_name || ' ' || postings || ' ' || dropped FROM inventory_sync.detach_ledger_partition('$boundary', drop_partition => true);
RESET ROLE;
SELECT count(*) FROM inventory_sync.$until;
$verify;
ROLLBACK;}), "$until 3 true\n0\n0/0/0", 'dropped: its rows are gone (the table stays for its row type), verify() still empty (rolled back)');
is($node->safe_psql('postgres', qq{
SET ROLE ops_admin;
BEGIN;
SELECT count(*) FROM inventory_sync.detach_ledger_partition('$boundary', drop_partition => true);
RESET ROLE;
SELECT string_agg(table_name || ' ' || dropped || ' ' || (to_regclass('inventory_sync.' || partition_name) IS NULL), ', ' ORDER BY table_name)
  FROM inventory_sync.after_state_archive;
$verify;
$promises;
ROLLBACK;}), "1\nbalance_change true true, channel_atp_change true true, reservation_change true true\n0/0/0\n0",
	'the after-state partitions of the range are dropped with it: verify() and verify_promises() still empty (rolled back)');

my $feed_rows = $node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.balance_change});
is(as_admin(qq{SELECT partition_name || ' ' || postings || ' ' || dropped
  FROM inventory_sync.detach_ledger_partition('$boundary')}), "$until 3 false", 'detach_ledger_partition() archives the converted table');
is(as_admin(qq{SELECT count(*) FROM inventory_sync.detach_ledger_partition('$boundary')}), '0', 'a second run finds nothing to archive');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger}), '2', 'the ledger holds what was posted since');
is($node->safe_psql('postgres', qq{SELECT count(*) FROM inventory_sync.$until}), '3', 'the archive keeps its rows');
is($node->safe_psql('postgres', qq{SET ROLE ops_writer; SELECT has_table_privilege('inventory_sync.$until', 'INSERT')}),
	'f', 'nobody writes the archive');
is($node->safe_psql('postgres', q{
SELECT partition_name ~ '^ledger_until_' AND range_from IS NULL AND postings = 3 AND first_posting = 1 AND last_posting = 3
  FROM inventory_sync.ledger_archive}), 't', 'ledger_archive records it');
is($node->safe_psql('postgres', q{
SELECT string_agg(bucket || ' ' || quantity || ' ' || postings, ', ' ORDER BY bucket) FROM inventory_sync.ledger_archived_effect}),
	'quarantine 3 1, released 12 3', 'its effects, summed per key');
is($node->safe_psql('postgres', q{
SELECT string_agg(table_name || ' ' || changes || ' ' || dropped, ', ' ORDER BY table_name) FROM inventory_sync.after_state_archive}),
	'balance_change 4 false, channel_atp_change 1 false, reservation_change 2 false',
	'the after-state partitions of the same range are archived with it');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM inventory_sync.balance_change}) + 4, $feed_rows, 'the after-states recorded since stay attached');
is($node->safe_psql('postgres', qq{
SELECT a.version || '/' || a.quantity_after FROM inventory_sync.balance_change_anchor a
  JOIN inventory_sync.balance b USING (balance_id)
 WHERE b.item_gtin::text = '$item' AND b.location::text = '$dc' AND b.bucket = 'released'}),
	'3/12', "the released key's anchor: its last archived version and quantity");
is($node->safe_psql('postgres', q{
SELECT string_agg(r.order_ref || ' ' || a.delta || ' ' || a.changes, ', ' ORDER BY r.order_ref)
  FROM inventory_sync.reservation_change_anchor a JOIN inventory_sync.reservation r USING (reservation_id)}),
	'order-1 2 1, order-s1 1 1', 'the reservations made before the boundary: their archived changes summed');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.channel_atp_anchor}), '1',
	"the channel's ATP history: its last archived version");
is($node->safe_psql('postgres', $promises), '0', 'verify_promises() from the anchors');
is($node->safe_psql('postgres', $balance), '31/5', 'the balance and its version are untouched');
is($node->safe_psql('postgres', $verify), '0/0/0', 'verify() and verify(since => ...) from before the archive horizon');
is($node->safe_psql('postgres', qq{
SELECT (SELECT count(*) FROM inventory_sync.verify(since => '$early')) || '/'
    || (SELECT count(*) FROM inventory_sync.verify(since => '$boundary')) || '/'
    || (SELECT count(*) FROM inventory_sync.verify(since => now()))}), '0/0/0',
	'verify(since => ...) before the archived range, at its end and after it: each key from its anchor');

is(post('old-2', 5), '', 'a replay of an archived event is skipped');
like(sqlstate_of(qq{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
                    VALUES ('receipt', 'wms', 'old-2', '$item', '$dc', 6)}),
	qr/^IS002 /, 'a conflicting replay of an archived event is refused with IS002');
is($node->safe_psql('postgres', $balance), '31/5', 'the balance did not move');

# A count as of a time before the key's last archived change could not add back what the
# archived changes did after it: refused.
like(sqlstate_of(qq{SELECT inventory_sync.count_stock('wms', 'count-0', '$item', '$dc', 11, as_of => '$early')}),
	qr/^IS092 cannot count as of .*: the key's changes until .* are archived/,
	'a count as of a time older than the retained history: IS092');
is($node->safe_psql('postgres', $balance), '31/5', 'and nothing posted');

# A count as of a watermark inside the archived range but after the key's last archived
# change: the changes after it are all retained.
$node->safe_psql('postgres', qq{
SELECT inventory_sync.count_stock('wms', 'count-1', '$item', '$dc', 11, as_of => '$watermark')});
is($node->safe_psql('postgres', q{
SELECT delta FROM inventory_sync.balance_change c JOIN inventory_sync.ledger l USING (posting_id)
 WHERE l.source_event_id = 'count-1'}), '-1', 'a count as of the archived past: 11 counted against 12 then');
is($node->safe_psql('postgres', $balance), '30/6', 'later postings keep their effect');
post('new-2', 1);
is($node->safe_psql('postgres', $verify), '0/0/0', 'verify() after the count and a new posting');
is($node->safe_psql('postgres', $promises), '0', 'verify_promises() after the count and a new posting');

# verify() still finds a difference: an archived effect that does not match the after-states.
is($node->safe_psql('postgres', q{
BEGIN;
ALTER TABLE inventory_sync.ledger_archived_effect DISABLE TRIGGER USER;
UPDATE inventory_sync.ledger_archived_effect SET quantity = quantity + 1 WHERE bucket = 'released';
SELECT problem FROM inventory_sync.verify();
ROLLBACK;}), 'balance differs from the ledger', 'a wrong archived sum is a difference verify() reports');

# A corrupted anchor is a difference verify() and verify(since => ...) report.
is($node->safe_psql('postgres', qq{
BEGIN;
ALTER TABLE inventory_sync.balance_change_anchor DISABLE TRIGGER USER;
UPDATE inventory_sync.balance_change_anchor SET quantity_after = quantity_after + 1
 WHERE balance_id = (SELECT balance_id FROM inventory_sync.balance
                      WHERE item_gtin::text = '$item' AND location::text = '$dc' AND bucket = 'released');
SELECT string_agg(DISTINCT problem, ', ') FROM inventory_sync.verify();
SELECT string_agg(DISTINCT problem, ', ') FROM inventory_sync.verify(since => '-infinity');
ROLLBACK;}), "quantity_after chain is broken\nquantity_after chain is broken", 'a wrong anchor quantity breaks the chain');
is($node->safe_psql('postgres', qq{
BEGIN;
ALTER TABLE inventory_sync.balance_change_anchor DISABLE TRIGGER USER;
UPDATE inventory_sync.balance_change_anchor SET version = version - 1;
SELECT count(*) > 0 FROM inventory_sync.verify();
SELECT string_agg(DISTINCT problem, ', ') FROM inventory_sync.verify(since => '-infinity');
ROLLBACK;}), "t\nthe after-state before the watermark is missing", 'a wrong anchor version is reported');
is($node->safe_psql('postgres', q{
BEGIN;
ALTER TABLE inventory_sync.channel_atp_anchor DISABLE TRIGGER USER;
UPDATE inventory_sync.channel_atp_anchor SET atp_after = atp_after + 1;
SELECT string_agg(DISTINCT problem, ', ') FROM inventory_sync.verify_promises();
ROLLBACK;}), 'channel ATP versions and changes disagree', 'a wrong channel anchor is reported by verify_promises()');
is($node->safe_psql('postgres', q{
BEGIN;
ALTER TABLE inventory_sync.reservation_change_anchor DISABLE TRIGGER USER;
UPDATE inventory_sync.reservation_change_anchor SET delta = delta + 1;
SELECT string_agg(DISTINCT problem, ', ') FROM inventory_sync.verify_promises();
ROLLBACK;}), 'reservation changes do not add up to its open quantity', 'a wrong reservation anchor is reported by verify_promises()');

# The archive's rows can go for good once they are kept elsewhere.
$node->safe_psql('postgres', qq{TRUNCATE inventory_sync.$until});
is(post('old-1', 10), '', 'with the archive emptied, a replay of its event is still skipped');
is($node->safe_psql('postgres', $verify), '0/0/0', 'verify() with the archive emptied');

$node->stop;
done_testing();
