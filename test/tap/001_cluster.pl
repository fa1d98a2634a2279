# A real cluster: install, post, stream the WAL with pg_recvlogical, crash, recover,
# and dump/restore into a second database with pg_dump.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use InventorySyncTest;

my $node = new_node('main');
load_sample($node, 'postgres');

is($node->safe_psql('postgres',
	q{SELECT extversion = default_version FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname WHERE extname = 'inventory_sync'}),
	't', 'installed version is the default version');

sub post
{
	my ($id, $qty) = @_;
	$node->safe_psql('postgres', qq{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', '$id', '19506000134359', '0614141000012', $qty)});
}

post('GR-1', 2);
is($node->safe_psql('postgres', q{SELECT quantity || '/' || version FROM inventory_sync.balance}),
	'24/1', 'a receipt of 2 cases is 24 units, version 1');

# The WAL carries the after-state: stream it with the real pg_recvlogical.
$node->safe_psql('postgres',
	q{SELECT pg_create_logical_replication_slot('tap_slot', 'test_decoding')});
post('GR-2', 1);
my $endpos = $node->safe_psql('postgres',
	q{SELECT lsn FROM pg_logical_slot_peek_changes('tap_slot', NULL, NULL) ORDER BY lsn DESC LIMIT 1});
my $outfile = $node->basedir . '/recvlogical.out';
$node->command_ok(
	[ 'pg_recvlogical', '-d', $node->connstr('postgres'), '--slot', 'tap_slot', '--start',
	  '--endpos', $endpos, '-o', 'include-xids=0', '-f', $outfile, '--no-loop' ],
	'pg_recvlogical streams the slot');
my $stream = slurp_file($outfile);
like($stream, qr/table inventory_sync\.balance_change: INSERT: .*quantity_after\[numeric\]:36 version\[bigint\]:2/,
	'the stream carries the after-state of the posting');
like($stream, qr/table inventory_sync\.ledger: INSERT: .*source_event_id\[text\]:'GR-2'/,
	'and the posting itself');

# An immediate stop in the middle of work: committed postings survive, nothing partial.
my $batch = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c',
	  q{BEGIN; INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
	    SELECT 'receipt', 'wms', 'BATCH-' || g, '09506000134352', '0614141000012', 1 FROM generate_series(1, 1000) g;
	    SELECT pg_sleep(60); COMMIT;} ],
	'>', \my $out, '2>', \my $err);
$node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()})
  or die 'the batch did not start';
$node->stop('immediate');
$batch->finish;
$node->start;
is($node->safe_psql('postgres', q{SELECT quantity || '/' || version FROM inventory_sync.balance}),
	'36/2', 'after a crash: committed postings kept, the open batch gone');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0',
	'verify() after recovery');

# pg_dump includes the extension's data; a restore equals the original. The restore runs
# with session_replication_role = replica, so the posting triggers do not apply the
# restored ledger a second time (and the guards let the restored balances in).
post('GR-3', 1);
my $dump = $node->basedir . '/dump.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
{
	local $ENV{PGOPTIONS} = '-c session_replication_role=replica';
	$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'), '-f', $dump ],
		'restore into a new database');
}
my $q = q{SELECT string_agg(format('%s %s %s %s', item_gtin, location, quantity, version), ';') FROM inventory_sync.balance};
is($node->safe_psql('restored', $q), $node->safe_psql('postgres', $q), 'restored balances equal the original');
is($node->safe_psql('restored', q{SELECT count(*) || ' ' || count(*) FILTER (WHERE bucket = 'released') FROM inventory_sync.bucket}),
	'6 1', 'seeded buckets restored once');
is($node->safe_psql('restored', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify() on the restore');
post('GR-4', 1);
$node->safe_psql('restored', q{INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'GR-4', '19506000134359', '0614141000012', 1)});
is($node->safe_psql('restored', $q), $node->safe_psql('postgres', $q), 'the restore keeps posting like the original');

$node->stop;
done_testing();
