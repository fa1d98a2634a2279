# 64 real client connections race for the last units of one item: exactly as
# many reservations succeed as there are units, ATP is never below zero at any change,
# every other client is refused with IS040, and the books agree (verify(),
# verify_promises()). Functional, not timed: the clients are held at a barrier (an
# advisory lock the test holds) and released at once, so they really race.
#
# Three races: 10 units in a dedicated channel (reserve()'s fast path), 10 units in a
# channel sharing its DC with another (the general path), and a mixed race of 1 to 3
# units each for 25 units in the dedicated channel.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $clients = 64;
my $node = PostgreSQL::Test::Cluster->new('stress');
$node->init;
$node->append_conf('postgresql.conf', 'max_connections = ' . ($clients + 16));
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION inventory_sync;
SET search_path = inventory_sync;
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Last units'), ('09506000134369', 'Last units, shared DC'),
                                     ('09506000134376', 'Mixed race');
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'Store', 'store'), ('0614141000029', 'DC', 'warehouse');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('shop', 'Shop (dedicated)'), ('web', 'Web'), ('mkt', 'Marketplace');
INSERT INTO channel_location (channel, location) VALUES ('shop', '0614141000012'), ('web', '0614141000029'),
                                                       ('mkt', '0614141000029');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity) VALUES
  ('receipt', 'wms', 'r1', '09506000134352', '0614141000012', 10),
  ('receipt', 'wms', 'r2', '09506000134369', '0614141000029', 10),
  ('receipt', 'wms', 'r3', '09506000134376', '0614141000012', 25);
});

# Hold the barrier, start every client (each waits at it, then reserves), release.
sub race
{
	my ($channel, $gtin, $qty_of) = @_;
	my $barrier = IPC::Run::start(
		[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-f', '-' ],
		'<', \my $in, '>', \my $bout, '2>', \my $berr);
	$in .= "SELECT pg_advisory_lock(4242);\n\\echo locked\n";
	$barrier->pump until $bout =~ /locked/;

	my (@h, @out, @err);
	for my $i (1 .. $clients)
	{
		my $q = $qty_of->($i);
		push @h, IPC::Run::start(
			[ 'psql', '-X', '-q', '-At', '-d', $node->connstr('postgres'), '-c',
			  "BEGIN; SELECT pg_advisory_xact_lock_shared(4242);
			   SELECT 'won ' || quantity FROM inventory_sync.reserve('$channel', 'order-$gtin-$i', '1', '$gtin', $q);
			   COMMIT;" ],
			'>', \$out[$i], '2>', \$err[$i]);
	}
	# every client is connected and waiting at the barrier before it is lifted
	$node->poll_query_until('postgres',
		qq{SELECT count(*) = $clients FROM pg_locks WHERE locktype = 'advisory' AND NOT granted})
	  or die 'the clients did not reach the barrier';
	$in .= "SELECT pg_advisory_unlock(4242);\n\\q\n";
	$barrier->finish;
	$_->finish for @h;

	my ($won, $units, $refused, $other) = (0, 0, 0, 0);
	for my $i (1 .. $clients)
	{
		if (($out[$i] // '') =~ /^won (\d+)/m) { $won++; $units += $1; }
		elsif (($err[$i] // '') =~ /insufficient ATP/) { $refused++; }
		else { $other++; diag("client $i: out=" . ($out[$i] // '') . ' err=' . ($err[$i] // '')); }
	}
	return ($won, $units, $refused, $other);
}

sub books
{
	my ($channel, $gtin) = @_;
	return $node->safe_psql('postgres', qq{SET search_path = inventory_sync, public;
SELECT (SELECT count(*) FROM inventory_sync.reservation WHERE channel = '$channel' AND item_gtin = '$gtin')
       || '/' || (SELECT coalesce(sum(quantity), 0) FROM inventory_sync.reservation WHERE channel = '$channel' AND item_gtin = '$gtin')
       || '/' || inventory_sync.atp('$gtin', channel => '$channel')
       || '/' || (SELECT min(atp_after) FROM inventory_sync.channel_atp_history WHERE item_gtin = '$gtin')
       || '/' || (SELECT min(atp_after) FROM inventory_sync.reservation_change WHERE item_gtin = '$gtin')});
}

# 1. dedicated channel: the fast path
my ($won, $units, $refused, $other) = race('shop', '09506000134352', sub { 1 });
is($won, 10, "fast path: exactly 10 of $clients clients won the 10 units");
is($refused, $clients - 10, 'every other client was refused with insufficient ATP (IS040)');
is($other, 0, 'no client failed any other way');
is(books('shop', '09506000134352'), '10/10/0/0/0',
	'10 reservations of 1 unit, ATP 0, and no change ever published ATP below 0');

# 2. a channel sharing its DC: the general path
($won, $units, $refused, $other) = race('web', '09506000134369', sub { 1 });
is($won, 10, "general path: exactly 10 of $clients clients won the 10 units");
is($refused, $clients - 10, 'every other client was refused (IS040)');
is($other, 0, 'no client failed any other way');
is(books('web', '09506000134369'), '10/10/0/0/0', '10 reservations, ATP 0, never below 0');
is($node->safe_psql('postgres', q{SELECT atp FROM inventory_sync.channel_atp WHERE channel = 'mkt'}), '0',
	'the channel sharing the DC sees the same 0');

# 3. mixed quantities: 1 to 3 units each for 25 units
($won, $units, $refused, $other) = race('shop', '09506000134376', sub { 1 + $_[0] % 3 });
ok($units <= 25, "mixed race: $units of 25 units promised to $won clients");
ok($units >= 23, 'at most 2 left: once a client asking 3 or less is refused, less than 3 remain');
is($other, 0, 'no client failed any other way');
is($node->safe_psql('postgres', q{SET search_path = inventory_sync, public;
SELECT inventory_sync.atp('09506000134376', channel => 'shop') = 25 - sum(quantity)
       AND (SELECT min(atp_after) FROM inventory_sync.channel_atp_history WHERE item_gtin = '09506000134376') >= 0
  FROM inventory_sync.reservation WHERE item_gtin = '09506000134376'}), 't',
	'ATP is the 25 less what was promised, never below 0 at any change');

is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0',
	'verify(): every balance equals the ledger');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify_promises()}), '0',
	'verify_promises(): published ATP, promise keys and reservations agree');

$node->stop;
done_testing();
