# ALTER EXTENSION inventory_sync UPDATE from every released version gives exactly the
# catalog a fresh CREATE EXTENSION gives, and keeps the data posted before the update:
# balances still equal the ledger and posting goes on.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use InventorySyncTest;

my $node = new_node('upgrade');
my $current = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'inventory_sync'});
my @old = split /\n/, $node->safe_psql('postgres', qq{
SELECT version FROM pg_available_extension_versions
 WHERE name = 'inventory_sync' AND version <> '$current' ORDER BY version});
ok(scalar @old >= 1, "released versions are installable (@old), current is $current");

# Everything a user can see of the extension's objects, one line each, sorted: columns
# (by name, so ALTER TABLE ADD COLUMN order does not matter), constraints, indexes,
# triggers, function definitions and attributes, views, types, comments, privileges.
my $fingerprint = q{
WITH m AS (
  SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS obj
    FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
   WHERE e.extname = 'inventory_sync' AND d.deptype = 'e')
SELECT line FROM (
  SELECT 'member ' || obj || ' comment=' || coalesce(obj_description(objid, classid::regclass::name), '-') AS line FROM m
  UNION ALL
  SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
         || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
         || ' comment=' || coalesce(col_description(c.oid, a.attnum), '-')
    FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
  UNION ALL
  SELECT 'acl ' || c.relname || ' ' || coalesce(c.relacl::text, '-')
    FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = 'inventory_sync'
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'inventory_sync'
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'inventory_sync' AND NOT t.tgisinternal
  UNION ALL
  SELECT 'function ' || pg_get_functiondef(p.oid) || ' acl=' || coalesce(p.proacl::text, '-')
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'inventory_sync' AND p.prokind IN ('f', 'p')
  UNION ALL
  SELECT 'aggregate ' || p.oid::regprocedure
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'inventory_sync' AND p.prokind = 'a'
  UNION ALL
  SELECT 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'inventory_sync' AND c.relkind IN ('v', 'm')
  UNION ALL
  SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
    FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname = 'inventory_sync' GROUP BY t.typname
  UNION ALL
  SELECT 'config ' || c.tab::regclass || ' ' || coalesce(c.cond, '-')
    FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS c(tab, cond)
   WHERE e.extname = 'inventory_sync'
  UNION ALL
  SELECT 'publication ' || pubname || ' ' || pubinsert || pubupdate || pubdelete || pubtruncate
    FROM pg_publication WHERE pubname = 'inventory_sync'
  UNION ALL
  SELECT 'publication table ' || schemaname || '.' || tablename FROM pg_publication_tables
   WHERE pubname = 'inventory_sync'
) x ORDER BY line};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION inventory_sync');
my $want = $node->safe_psql('fresh', $fingerprint);
like($want, qr/member table inventory_sync\.ledger/, 'the fingerprint sees the extension');

# The publication (if any) belongs to the database; each path gets its own database.
for my $from (@old)
{
	my $db = "from_" . ($from =~ s/\W/_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION inventory_sync VERSION '$from'");
	load_sample($node, $db);
	$node->safe_psql($db, q{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'before-update', '19506000134359', '0614141000012', 2)});

	$node->safe_psql($db, 'ALTER EXTENSION inventory_sync UPDATE');
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'inventory_sync'}),
		$current, "$from updates to $current");

	my $got = $node->safe_psql($db, $fingerprint);
	my @w = split /\n/, $want;
	my @g = split /\n/, $got;
	my %in_g = map { $_ => 1 } @g;
	my %in_w = map { $_ => 1 } @w;
	my @missing = grep { !$in_g{$_} } @w;
	my @extra = grep { !$in_w{$_} } @g;
	ok(!@missing && !@extra, "$from + update has the catalog of a fresh $current")
	  or diag("missing after update:\n  " . join("\n  ", @missing) . "\nonly after update:\n  " . join("\n  ", @extra));

	# the data survived and the engine still posts on it
	$node->safe_psql($db, q{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('issue', 'wms', 'after-update', '09506000134352', '0614141000012', 5)});
	is($node->safe_psql($db, q{SELECT quantity FROM inventory_sync.balance}), '19',
		"$from: 2 cases received before the update, 5 issued after: 19 each");
	is($node->safe_psql($db, q{SELECT count(*) FROM inventory_sync.verify()}), '0',
		"$from: verify() holds after the update");
	# actor became text: the name posted before the update is kept, character for character
	is($node->safe_psql($db, q{
SELECT string_agg(source_event_id || ' ' || pg_typeof(actor) || ' ' || (actor = current_user), ',' ORDER BY posting_id)
  FROM inventory_sync.ledger WHERE source_event_id IN ('before-update', 'after-update')}),
		'before-update text true,after-update text true',
		"$from: the actor of postings before and after the update is the posting role, as text");
}

$node->stop;
done_testing();
