# Behind pgbouncer in transaction pooling: eight clients share a pool of three server
# connections, each statement its own transaction (so consecutive statements of one client
# run in different backends). Every client posts facts with plain INSERTs into the ledger,
# reserves, cancels and fulfils through the pooler; a feed consumer follows the change feed
# on a direct replication connection (poolers do not carry replication). Nothing may depend
# on session state: no client error at all, balances and ATP exactly as the facts say, the
# books agree (verify(), verify_promises()), and the feed ends at the true ATP and balances.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use InventorySyncTest;
use FeedTest;

# Debian installs pgbouncer in /usr/sbin, which a non-root PATH may lack.
my ($pgbouncer) = grep { -x $_ } map { "$_/pgbouncer" } (split(/:/, $ENV{PATH}), '/usr/sbin');
plan skip_all => 'pgbouncer is not installed (test/deps.sh installs Debian\'s pgbouncer)' unless $pgbouncer;

my ($clients, $rounds, $pool) = (8, 20, 3);
my $node = new_node('bouncer');
setup_shop($node);
my ($item, $dc) = ('09506000134352', '0614141000012');
my $db = 'postgres';
my $user = $node->safe_psql($db, 'SELECT current_user');

# The consumer's slot exists before the first fact; it is read on a direct connection.
$node->safe_psql($db, q{SELECT pg_create_logical_replication_slot('bouncer_feed', 'inventory_sync')});

sub number { $node->safe_psql($db, $_[0]) }
my $sellable = q{(SELECT coalesce(sum(quantity), 0) FROM inventory_sync.balance
                   WHERE item_gtin::text = '09506000134352' AND location::text = '0614141000012' AND bucket = 'released')};
my $balance_before = number("SELECT $sellable");
my $atp_before = number("SELECT inventory_sync.atp('$item', channel => 'web')");

# --- pgbouncer on loopback, in front of the node's socket --------------------------------
my $dir = $node->basedir;
my $port = PostgreSQL::Test::Cluster::get_free_port();
append_to_file("$dir/userlist.txt", qq{"$user" ""\n});
append_to_file("$dir/pgbouncer.ini", qq{[databases]
$db = host=@{[ $node->host ]} port=@{[ $node->port ]} dbname=$db

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = $user
pool_mode = transaction
default_pool_size = $pool
max_client_conn = 100
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
});
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ], '>', \my $bout, '2>', \my $berr);
my $via = "host=127.0.0.1 port=$port dbname=$db user=$user";
my $up = 0;
for (1 .. 100)
{
	last if ($up = IPC::Run::run([ 'psql', '-X', '-At', '-d', $via, '-c', 'SELECT 1' ], '>', \my $o, '2>', \my $e));
	usleep(100_000);
}
ok($up, "pgbouncer accepts connections on 127.0.0.1:$port") or BAIL_OUT("pgbouncer did not start: $berr");

IPC::Run::run([ 'psql', '-X', '-At', '-F', '=', '-d', "host=127.0.0.1 port=$port dbname=pgbouncer user=$user",
	'-c', 'SHOW CONFIG' ], '>', \my $cfg, '2>', \my $cfg_err);
my ($config) = ($cfg // '') =~ /^(pool_mode=[a-z]+)/m;
is($config, 'pool_mode=transaction', 'pgbouncer pools by transaction');

# --- the clients ------------------------------------------------------------------------
# Round r of client c: a receipt of 3 (plain INSERT), a reservation of 2 at the DC, then
# r % 3 == 0: cancel it, 1: fulfil it, 2: leave it open. Each statement is a transaction.
my (@h, @out, @err);
for my $c (1 .. $clients)
{
	my $sql = '';
	for my $r (1 .. $rounds)
	{
		$sql .= qq{SELECT 'pid ' || pg_backend_pid();
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
VALUES ('receipt', 'wms', 'pool-$c-$r', '$item', '$dc', 3);
SELECT reservation_id AS rid FROM inventory_sync.reserve('web', 'pool-$c-$r', '1', '$item', 2, '$dc') \\gset
};
		$sql .= $r % 3 == 0 ? "SELECT 'done ' || status FROM inventory_sync.cancel_reservation(:rid);\n"
		      : $r % 3 == 1 ? "SELECT 'done ' || status FROM inventory_sync.fulfil(:rid, source_event_id => 'pool-f-$c-$r');\n"
		      :               "SELECT 'done open';\n";
	}
	append_to_file("$dir/client$c.sql", $sql);
	push @h, IPC::Run::start([ 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $via, '-f', "$dir/client$c.sql" ],
		'>', \$out[$c], '2>', \$err[$c]);
}
my ($failed, $moved, %pids) = (0, 0);
for my $c (1 .. $clients)
{
	$h[ $c - 1 ]->finish or $failed++;
	diag("client $c: $err[$c]") if $err[$c];
	my %mine = map { $_ => 1 } $out[$c] =~ /^pid (\d+)$/mg;
	$pids{$_} = 1 for keys %mine;
	$moved++ if keys %mine > 1;
}
is($failed, 0, "all $clients clients ran their $rounds rounds to the end");
is(join('', map { $_ // '' } @err[ 1 .. $clients ]), '', 'no client saw an error or a warning (prepared statements, session state, anything)');
my $done = () = join('', map { $_ // '' } @out) =~ /^done /mg;
is($done, $clients * $rounds, 'every round resolved its reservation as planned');
ok(keys %pids <= $pool, 'the clients were served by ' . scalar(keys %pids) . " server connections (pool of $pool)");
ok($moved > 0, "$moved clients had their transactions run in more than one backend");

# --- the books --------------------------------------------------------------------------
my ($cancelled, $fulfilled, $open) = (0, 0, 0);
for my $r (1 .. $rounds) { $r % 3 == 0 ? $cancelled++ : $r % 3 == 1 ? $fulfilled++ : $open++ }
($cancelled, $fulfilled, $open) = map { $_ * $clients } ($cancelled, $fulfilled, $open);
is(number(q{SELECT count(*) FROM inventory_sync.ledger WHERE source_event_id LIKE 'pool-%' AND kind = 'receipt'}),
	$clients * $rounds, 'every INSERT through the pooler is one posting');
is(number(q{SELECT string_agg(status || ' ' || n, ', ' ORDER BY status)
              FROM (SELECT status::text, count(*) AS n FROM inventory_sync.reservation
                     WHERE order_ref LIKE 'pool-%' GROUP BY 1) s}),
	"cancelled $cancelled, fulfilled $fulfilled, open $open", 'reservations: cancelled, fulfilled and open as planned');
is(number("SELECT $sellable"), $balance_before + 3 * $clients * $rounds - 2 * $fulfilled,
	'the DC\'s balance: receipts in, fulfilments out');
is(number("SELECT inventory_sync.atp('$item', channel => 'web')"),
	$atp_before + 3 * $clients * $rounds - 2 * ($fulfilled + $open), 'web ATP: receipts less what is promised or shipped');
is(number('SELECT count(*) FROM inventory_sync.verify()'), '0', 'verify(): every balance equals the ledger');
is(number('SELECT count(*) FROM inventory_sync.verify_promises()'), '0', 'verify_promises(): ATP and reservations agree');

# --- the feed, on a direct connection ---------------------------------------------------
my $end = $node->lsn('insert');
my $feed = $node->pg_recvlogical_upto($db, 'bouncer_feed', $end, $PostgreSQL::Test::Utils::timeout_default);
my $events = feed_lines($feed);
ok(scalar(@$events) > $clients * $rounds, 'the consumer streamed ' . scalar(@$events) . ' events on its own connection');
my $copy = apply_events({}, $events);
my %truth = (%{ truth_atp($node, $db) }, %{ truth_balances($node, $db) });
ok(exists $copy->{"web|$item"}, 'the feed carried web ATP of the item');
is(copy_as_text({ map { $_ => $copy->{$_} } keys %$copy }), copy_as_text({ map { $_ => $truth{$_} } keys %$copy }),
	'every key the feed carried ends at its true value and version');

$bouncer->signal('TERM');
$bouncer->finish;
unlike(slurp_file("$dir/pgbouncer.log"), qr/prepared statement|unsupported|server conn crashed/i,
	'the pooler logged no prepared-statement or protocol trouble');
unlike(slurp_file($node->logfile), qr/ERROR:/, 'the server logged no error');
$node->stop;
done_testing();
