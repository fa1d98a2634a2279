# A partitioned deployment's operations (docs/operations.md, "Partitioning", "Backup"):
# pg_dump of a database whose ledger and after-state tables are partitioned, restored
# into a fresh one the documented way (prepare_partitioned_restore(), pg_restore of the
# dump's list without the partitions' own indexes, maintain_partitions()): balances,
# replays, new postings and reservations, verify() and verify_promises() as in the
# original; and the same tables handed to pg_partman (maintenance => 'pg_partman'): its
# run_maintenance() creates the coming partitions, maintain_partitions() calls it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use InventorySyncTest;

my ($item, $dc) = ('09506000134352', '0614141000012');

sub sqlstate_of
{
	my ($node, $db, $sql) = @_;
	my ($rc, $out, $err) = $node->psql($db, "\\set VERBOSITY verbose\n$sql");
	return $err =~ /ERROR:\s+([0-9A-Z]{5}):\s+(.*)/ ? "$1 $2" : "no error: $out";
}

# Postings and reservations before and after the tables are partitioned.
sub fill
{
	my ($node, $partition) = @_;
	$node->safe_psql('postgres', qq{
SET search_path = inventory_sync;
INSERT INTO channel (channel, name) VALUES ('web', 'Web');
INSERT INTO channel_location (channel, location) VALUES ('web', '$dc');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity) VALUES ('receipt', 'wms', 'R-1', '$item', '$dc', 10);
SELECT reserve('web', 'order-1', '1', '$item', 2);
SELECT count(*) FROM $partition;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity) VALUES ('receipt', 'wms', 'R-2', '$item', '$dc', 5);
SELECT reserve('web', 'order-2', '1', '$item', 1);
SELECT cancel_reservation(reservation_id) FROM reservation WHERE order_ref = 'order-1';});
}
my $state = q{SELECT (SELECT string_agg(quantity || '/' || version, ',' ORDER BY bucket) FROM inventory_sync.balance)
   || ' ' || (SELECT string_agg(atp || '/' || version, ',') FROM inventory_sync.channel_atp)
   || ' ' || (SELECT string_agg(order_ref || ':' || open_quantity, ',' ORDER BY reservation_id) FROM inventory_sync.reservation)
   || ' ' || (SELECT count(*) FROM inventory_sync.verify()) || '/' || (SELECT count(*) FROM inventory_sync.verify_promises())};

# ---------------------------------------------------------------------------------
# pg_dump and restore.
# ---------------------------------------------------------------------------------
my $node = new_node('deployment');
load_sample($node, 'postgres');
like(sqlstate_of($node, 'postgres', q{SELECT inventory_sync.partition_ledger('1 day', maintenance => 'pg_partman')}),
	qr/^IS090 pg_partman is not installed/, "maintenance => 'pg_partman' without pg_partman: IS090");
fill($node, q{partition_ledger('1 day', 2, first_boundary => clock_timestamp())});
$node->safe_psql('postgres', q{SELECT inventory_sync.maintain_partitions()});
my $original = $node->safe_psql('postgres', $state);
is($original, '15/2 14/5 order-1:0,order-2:1 0/0', 'the partitioned original: balance, channel ATP, reservations, verify()');

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', "$dir/inventory.dump" ], 'pg_dump -Fc');

# As the dump is: its CREATE EXTENSION makes single tables, to which no partition attaches.
$node->safe_psql('postgres', 'CREATE DATABASE plain');
my ($out, $err) = ('', '');
my $plain = IPC::Run::run([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('plain'), "$dir/inventory.dump" ],
	'>', \$out, '2>', \$err);
ok(!$plain, 'restored as it is, the dump fails');
# (PostgreSQL 18 words it as an action a table does not support)
like($err, qr/table "\w+" is not partitioned|ATTACH PARTITION cannot be performed on relation "\w+"/,
	'its partitions do not attach to the single tables CREATE EXTENSION made');

# As documented: the extension created and prepared, the list without the attached
# partitions' own indexes (attaching creates them), maintain_partitions() after.
$node->safe_psql('postgres', 'CREATE DATABASE copy');
is($node->safe_psql('copy', q{CREATE EXTENSION inventory_sync;
SELECT string_agg(table_name || ' ' || partition_key, ', ') FROM inventory_sync.prepare_partitioned_restore()}),
	'ledger recorded_at, balance_change recorded_at, reservation_change changed_at, channel_atp_change changed_at',
	'prepare_partitioned_restore(): the four tables partitioned, with no partition');
like(sqlstate_of($node, 'postgres', q{SELECT * FROM inventory_sync.prepare_partitioned_restore()}),
	qr/^IS090 the ledger is partitioned already/, 'not in a database in use: IS090');

my $awk = <<'AWK';
NR == FNR { if ($4 == "INDEX" && $5 == "ATTACH") attached[$7] = 1; next }
$4 == "INDEX" && $5 == "ATTACH" { next }
$4 == "INDEX" && ($6 in attached) { next }
$4 == "CONSTRAINT" && ($7 in attached) { next }
$4 == "COMMENT" && $6 == "INDEX" && ($7 in attached) { next }
$4 == "SCHEMA" && $6 == "inventory_sync" { next }
{ print }
AWK
IPC::Run::run([ 'pg_restore', '-l', "$dir/inventory.dump" ], '>', "$dir/full.list") or die 'pg_restore -l';
IPC::Run::run([ 'awk', $awk, "$dir/full.list", "$dir/full.list" ], '>', "$dir/restore.list") or die 'awk';
{
	local $ENV{PGOPTIONS} = '-c session_replication_role=replica';
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-L', "$dir/restore.list", '-d', $node->connstr('copy'), "$dir/inventory.dump" ],
		'pg_restore of the list into the prepared database, without an error');
}
is($node->safe_psql('copy', q{SELECT inventory_sync.maintain_partitions() >= 0}), 't', 'maintain_partitions() after the restore');
is($node->safe_psql('copy', $state), $original, 'the copy: the same balance, channel ATP, reservations, verify() and verify_promises()');
is($node->safe_psql('copy', q{
SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid), ', ' ORDER BY c.relname)
  FROM pg_class c WHERE c.relnamespace = 'inventory_sync'::regnamespace
   AND c.relname IN ('ledger', 'balance_change', 'reservation_change', 'channel_atp_change')}),
	$node->safe_psql('postgres', q{
SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid), ', ' ORDER BY c.relname)
  FROM pg_class c WHERE c.relnamespace = 'inventory_sync'::regnamespace
   AND c.relname IN ('ledger', 'balance_change', 'reservation_change', 'channel_atp_change')}),
	'the same tables, partitioned, with the same partitions');
is($node->safe_psql('copy', q{
SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
 WHERE c.relname ~ '^(ledger|balance_change|reservation_change|channel_atp_change)_(p|until_)\d' AND NOT i.indisvalid}),
	'0', "every partition's indexes are valid");
is($node->safe_psql('copy', q{
SELECT count(*) FROM pg_index p JOIN pg_class c ON c.oid = p.indrelid
 WHERE c.relname IN ('ledger', 'balance_change', 'reservation_change', 'channel_atp_change') AND NOT p.indisvalid}),
	'0', "and every partitioned table's (each partition has one of each)");

is($node->safe_psql('copy', qq{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'R-1', '$item', '$dc', 10) RETURNING posting_id}), '', 'a replay of an event posted before the dump is skipped');
like(sqlstate_of($node, 'copy', qq{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'R-2', '$item', '$dc', 6)}), qr/^IS002 /, 'a conflicting one is refused with IS002');
my $restored_max = $node->safe_psql('postgres', q{SELECT max(posting_id) FROM inventory_sync.ledger});
is($node->safe_psql('copy', qq{
SELECT posting_id > $restored_max FROM inventory_sync.post('receipt', 'wms', 'R-3', '$item', '$dc', 1)}),
	't', 'posting ids continue after the restored ones');
$node->safe_psql('copy', qq{SELECT inventory_sync.reserve('web', 'order-3', '1', '$item', 1)});
is($node->safe_psql('copy', q{SELECT string_agg(change_id::text, ',' ORDER BY change_id) FROM inventory_sync.reservation_change}),
	$node->safe_psql('postgres', q{SELECT string_agg(change_id::text, ',' ORDER BY change_id) || ',' || (max(change_id) + 1) FROM inventory_sync.reservation_change}),
	'reservation change ids too');
is($node->safe_psql('copy', q{SELECT (SELECT count(*) FROM inventory_sync.verify()) || '/' || (SELECT count(*) FROM inventory_sync.verify_promises())}),
	'0/0', 'verify() and verify_promises() after posting and reserving in the copy');
$node->stop;

# ---------------------------------------------------------------------------------
# pg_partman.
# ---------------------------------------------------------------------------------
my $pm = new_node('partman');
SKIP:
{
	skip 'pg_partman is not installed for this PostgreSQL major (test/deps.sh installs it where the distribution ships it)', 9
	  unless $pm->safe_psql('postgres', q{SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_partman'}) eq '1';
	$pm->safe_psql('postgres', 'CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman');
	load_sample($pm, 'postgres');
	my $major = $pm->safe_psql('postgres', q{SELECT split_part(extversion, '.', 1) FROM pg_extension WHERE extname = 'pg_partman'});
	my $suffix = $major >= 5 ? '\d{8}' : '\d{4}_\d{2}_\d{2}';

	like(sqlstate_of($pm, 'postgres', q{SELECT inventory_sync.partition_ledger('1 day', first_boundary => clock_timestamp(), maintenance => 'pg_partman')}),
		qr/^IS090 first boundary .* is not the start of a 1 day pg_partman partition/, 'with pg_partman, a boundary off its days: IS090');
	# the default boundary: the start of tomorrow (UTC)
	fill($pm, q{partition_ledger('1 day', 2, maintenance => 'pg_partman')});
	like($pm->safe_psql('postgres', q{SELECT string_agg(partition_name, ', ' ORDER BY range_to) FROM inventory_sync.ledger_partitions()}),
		qr/^ledger_p$suffix(, ledger_p$suffix){2,}$/, "partitions named the way pg_partman $major names them, the converted table first");
	is($pm->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname ~ '_default$' AND relnamespace = 'inventory_sync'::regnamespace}),
		'0', 'no default partition: a row outside every partition is refused, as natively');
	is($pm->safe_psql('postgres', q{SELECT string_agg(parent_table, ', ' ORDER BY parent_table) FROM partman.part_config}),
		'inventory_sync.balance_change, inventory_sync.channel_atp_change, inventory_sync.ledger, inventory_sync.reservation_change',
		'the four tables are registered with pg_partman');
	my ($prc, $pout, $perr) = $pm->psql('postgres', q{SET TimeZone = 'UTC'; SELECT partman.run_maintenance()});
	is($perr, '', "pg_partman's run_maintenance() over every set, without an error");
	ok($pm->safe_psql('postgres', q{SELECT inventory_sync.maintain_partitions(premake => 5)}) > 0,
		'maintain_partitions(premake => 5) has pg_partman create the partitions further ahead');
	is($pm->safe_psql('postgres', q{
SELECT bool_and(range_from = lag) FROM (SELECT range_from, lag(range_to) OVER (ORDER BY range_to) FROM inventory_sync.table_partitions('balance_change')) p
 WHERE lag IS NOT NULL}), 't', 'contiguous');
	is($pm->safe_psql('postgres', $state), '15/2 14/5 order-1:0,order-2:1 0/0', 'balance, channel ATP, reservations, verify() and verify_promises()');
	is($pm->safe_psql('postgres', qq{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'R-1', '$item', '$dc', 10) RETURNING posting_id}), '', 'a replay is skipped');
}
$pm->stop;
done_testing();
