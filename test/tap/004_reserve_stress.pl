# 64 real client connections race for the last 10 units of one item: exactly 10
# reservations succeed, the others are refused with IS040, ATP ends at 0 (never below),
# and verify() holds. Functional, not timed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use InventorySyncTest;

my $node = new_node('stress');
$node->append_conf('postgresql.conf', "max_connections = 100\n");
$node->restart;
load_sample($node, 'postgres');
$node->safe_psql('postgres', q{
INSERT INTO inventory_sync.source (source, name, kind, role) VALUES ('oms', 'OMS', 'oms', current_user);
INSERT INTO inventory_sync.channel (channel, name, fulfilment_source) VALUES ('web', 'Web', 'oms');
INSERT INTO inventory_sync.channel_location (channel, location) VALUES ('web', '0614141000012');
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'GR-1', '09506000134352', '0614141000012', 10);
CREATE TABLE public.outcome (pid int, result text);
});
is($node->safe_psql('postgres', q{SELECT inventory_sync.atp('09506000134352', channel => 'web')}), '10', '10 units available');

# each client reserves one unit under its own order number and records what happened
my $script = $node->basedir . '/reserve.sql';
open my $fh, '>', $script or die $!;
print $fh q{DO $$
BEGIN
  PERFORM inventory_sync.reserve('web', 'order-' || pg_backend_pid(), '1', '09506000134352', 1);
  INSERT INTO public.outcome VALUES (pg_backend_pid(), 'reserved');
EXCEPTION WHEN SQLSTATE 'IS040' THEN
  INSERT INTO public.outcome VALUES (pg_backend_pid(), 'refused');
END
$$;
};
close $fh;
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(['pgbench', '-n', '-c', '64', '-j', '8', '-t', '1', '-M', 'simple', '-f', $script,
	'-h', $node->host, '-p', $node->port, 'postgres'], '>', \$out, '2>', \$err);
ok($ok, 'pgbench ran 64 clients') or diag("$out\n$err");
like($out, qr/number of transactions actually processed: 64\/64/, 'every client finished');

is($node->safe_psql('postgres', q{SELECT count(DISTINCT pid) FROM public.outcome}), '64', '64 distinct connections raced');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.outcome WHERE result = 'reserved'}), '10', 'exactly 10 reservations succeeded');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.outcome WHERE result = 'refused'}), '54', 'the other 54 were refused (IS040)');
is($node->safe_psql('postgres', q{SELECT count(*), sum(open_quantity) FROM inventory_sync.reservation WHERE status = 'open'}),
	'10|10', '10 open reservations of one unit each');
is($node->safe_psql('postgres', q{SELECT inventory_sync.atp('09506000134352', channel => 'web')}), '0', 'ATP is 0, not below');
is($node->safe_psql('postgres', q{SELECT min(atp_after) >= 0 FROM inventory_sync.reservation_change}), 't',
	'no reservation ever left ATP below zero');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify() holds');

$node->stop;
done_testing();
