# The last units of a DC two channels sell from, under 64 real client connections: a web
# shop selling from the DC and 99 stores, a marketplace selling from the DC only. Two
# items, each with exactly 120 units at the DC and 2 in each of 20 stores:
#   item A: reservers race for its units while posting clients receive and issue it at
#           the same locations (the DC and stores with and without stock);
#   item B: reservers only, one unit per reservation: exactly its 160 units are promised.
# The reservers (56 clients) reserve in both channels: web anywhere (held at the location
# with the most ATP), web at a given store, mkt anywhere (held at the DC), mkt at the DC.
# The posting clients (8) post receipts and issues of A.
#
# Each call is one transaction; its outcome is recorded (an error by SQLSTATE). Checked:
# no deadlock (no call died with 40P01, and the server logged no "deadlock detected");
# no error but IS040 (insufficient ATP) for reservations, none for postings; every
# reservation, as it committed, left the sellable stock at its location at least what is
# held there (the posting and reservations touching a location all lock the web shop's
# ATP row, so nothing changes that location between the check and the commit); item B's
# reservations add up to exactly its 160 units; every channel's published ATP equals its
# value recomputed here from balances and reservations (not the engine's functions);
# verify() and verify_promises() are empty.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $reservers = 56;
my $posters = 8;
my $clients = $reservers + $posters;
my $reserve_calls = $ENV{SHARED_STORM_RESERVES} // 30;    # per reserving client
my $post_calls = $ENV{SHARED_STORM_POSTS} // 50;          # per posting client
my $stores = 99;
my $dc_units = 120;
my $stocked_stores = 20;
my $store_units = 2;
my $total = $dc_units + $stocked_stores * $store_units;

my $node = PostgreSQL::Test::Cluster->new('shared_storm');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = @{[ $clients + 16 ]}
deadlock_timeout = '20ms'
log_lock_waits = on
lc_messages = 'C'
});
$node->start;

$node->safe_psql('postgres', qq{
CREATE EXTENSION inventory_sync;
-- (the checks below compare GTINs and GLNs: their operators live in the extension's schema)
ALTER DATABASE postgres SET search_path = public, inventory_sync;
SET search_path = inventory_sync;
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'A: reserved while posted'), ('09506000134369', 'B: reserved only');
CREATE TABLE public.storm_loc (n int PRIMARY KEY, gln gln NOT NULL);   -- 0: the DC, 1..$stores: stores
INSERT INTO public.storm_loc SELECT 0, gln_complete('061414100001')
UNION ALL SELECT s - 99, gln_complete('0614141' || lpad(s::text, 5, '0')) FROM generate_series(100, 99 + $stores) s;
INSERT INTO location (gln, name, kind)
SELECT gln, CASE WHEN n = 0 THEN 'DC' ELSE 'Store ' || n END,
       CASE WHEN n = 0 THEN 'warehouse' ELSE 'store' END::location_kind
  FROM public.storm_loc;
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name, kind) VALUES ('web', 'Web shop', 'web'), ('mkt', 'Marketplace', 'marketplace');
INSERT INTO channel_location (channel, location, priority)
SELECT 'web', gln, CASE WHEN n = 0 THEN 1 ELSE 2 END FROM public.storm_loc
UNION ALL SELECT 'mkt', gln, 1 FROM public.storm_loc WHERE n = 0;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
SELECT 'receipt', 'wms', 'open-' || i || '-' || l.n, i::gtin, l.gln,
       CASE WHEN l.n = 0 THEN $dc_units ELSE $store_units END
  FROM unnest(ARRAY['09506000134352', '09506000134369']) i, public.storm_loc l
 WHERE l.n <= $stocked_stores;
CREATE SEQUENCE public.evt;
CREATE UNLOGGED TABLE public.storm_outcome (op text NOT NULL, what text, item gtin, sqlstate text NOT NULL,
                                            message text, quantity numeric, asked_at gln, held_at gln,
                                            left_there numeric);

-- One call per transaction, its outcome recorded. A reservation records, in its own
-- transaction, the sellable stock at the location it is held at less everything held
-- there (read from balances and reservations, not from the engine's ATP functions).
CREATE FUNCTION public.storm(op text, r1 int, r2 int, r3 int) RETURNS void LANGUAGE plpgsql
SET search_path = public, inventory_sync AS \$\$
DECLARE
    a gtin := '09506000134352';
    b gtin := '09506000134369';
    dc gln := (SELECT gln FROM public.storm_loc WHERE n = 0);
    item gtin;
    what text;
    ch text;
    at gln;
    q numeric;
    r reservation;
    left_there numeric;
    ev text := 'e' || nextval('public.evt');
    st text;
    msg text;
    det text;
BEGIN
    BEGIN
        IF op = 'reserve' THEN
            item := CASE WHEN r1 % 2 = 0 THEN a ELSE b END;
            q := CASE WHEN item = b THEN 1 ELSE 1 + r3 % 2 END;
            CASE
            WHEN r2 % 20 < 10 THEN what := 'web anywhere'; ch := 'web';
            WHEN r2 % 20 < 13 THEN what := 'web at a store'; ch := 'web';
                 at := (SELECT gln FROM public.storm_loc WHERE n = 1 + r3 % 25);
            WHEN r2 % 20 < 17 THEN what := 'mkt anywhere'; ch := 'mkt';
            ELSE what := 'mkt at the DC'; ch := 'mkt'; at := dc;
            END CASE;
            r := inventory_sync.reserve(ch, ev, '1', item, q, at);
            left_there := (SELECT coalesce(sum(x.quantity), 0) FROM inventory_sync.balance x
                             JOIN inventory_sync.bucket k ON k.bucket = x.bucket AND k.sellable
                            WHERE x.item_gtin = item AND x.location = r.location)
                          - (SELECT coalesce(sum(v.open_quantity), 0) FROM inventory_sync.reservation v
                              WHERE v.item_gtin = item AND v.location = r.location AND v.status = 'open');
            INSERT INTO public.storm_outcome VALUES (op, what, item, '00000', NULL, q, at, r.location, left_there);
        ELSE
            -- receipts and issues of A at the DC and at stores 1..25 (20 with stock, 5 without)
            item := a;
            at := (SELECT gln FROM public.storm_loc WHERE n = CASE WHEN r2 % 3 = 0 THEN 0 ELSE 1 + r2 % 25 END);
            IF r3 % 3 = 0 THEN
                what := 'issue'; q := 1 + r1 % 2;
            ELSE
                what := 'receipt'; q := 1 + r1 % 4;
            END IF;
            INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
                 VALUES (what::inventory_sync.posting_kind, 'wms', ev, item, at, q);
            INSERT INTO public.storm_outcome VALUES (op, what, item, '00000', NULL, q, at, NULL, NULL);
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
        INSERT INTO public.storm_outcome VALUES (op, what, item, st, msg || coalesce(' / ' || det, ''), q, at, NULL, NULL);
    END;
END
\$\$;
});

is($node->safe_psql('postgres', q{
SELECT string_agg(channel || ' ' || atp, ', ' ORDER BY channel, item_gtin) FROM inventory_sync.channel_atp}),
	"mkt $dc_units, mkt $dc_units, web $total, web $total", "before: the DC's $dc_units and $total in the web shop, for each item");

my $dir = $PostgreSQL::Test::Utils::tmp_check;
my %script;
for my $op ('reserve', 'post')
{
	$script{$op} = "$dir/shared_storm_$op.sql";
	open my $fh, '>', $script{$op} or die $!;
	print $fh "\\set r1 random(0, 1000000)\n\\set r2 random(0, 1000000)\n\\set r3 random(0, 1000000)\n";
	print $fh "SELECT public.storm('$op', :r1, :r2, :r3);\n";
	close $fh;
}

# Both groups of clients at once.
my $started = time;
my (%out, %err, %run);
for my $op ('reserve', 'post')
{
	my ($c, $t) = $op eq 'reserve' ? ($reservers, $reserve_calls) : ($posters, $post_calls);
	($out{$op}, $err{$op}) = ('', '');
	$run{$op} = IPC::Run::start(
		[ 'pgbench', '-n', '-c', $c, '-j', 2, '-t', $t, '-f', $script{$op}, $node->connstr('postgres') ],
		'>', \$out{$op}, '2>', \$err{$op}, IPC::Run::timeout(300));
}
for my $op ('reserve', 'post')
{
	my $ok = eval { $run{$op}->finish };
	ok($ok, "pgbench: the $op clients ran every call") or diag("$out{$op}\n$err{$op}\n" . ($@ // ''));
}
note('the storm took ' . (time - $started) . ' s');

my $summary = $node->safe_psql('postgres', q{
SELECT op || ' / ' || what || ' / ' || sqlstate || ': ' || count(*) FROM public.storm_outcome
 GROUP BY op, what, sqlstate ORDER BY op, what, sqlstate});
note("outcomes (call / kind / SQLSTATE: count):\n$summary");

is($node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome}),
	$reservers * $reserve_calls + $posters * $post_calls, 'every call recorded its outcome');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome WHERE sqlstate = '40P01'}), '0',
	'no call died as a deadlock victim (40P01)');
unlike(slurp_file($node->logfile), qr/deadlock detected/, 'the server logged no deadlock');
is($node->safe_psql('postgres', q{
SELECT string_agg(op || ' ' || what || ' ' || sqlstate || ': ' || left(message, 300), E'\n')
  FROM (SELECT * FROM public.storm_outcome
         WHERE NOT (sqlstate = '00000' OR (op = 'reserve' AND sqlstate = 'IS040')) LIMIT 20) o}), '',
	'no error but insufficient ATP (IS040) refusing reservations');
for my $what ('web anywhere', 'web at a store', 'mkt anywhere', 'mkt at the DC', 'receipt', 'issue')
{
	ok($node->safe_psql('postgres', qq{SELECT count(*) FROM public.storm_outcome
	                                    WHERE what = '$what' AND sqlstate = '00000'}) > 0,
		"some calls '$what' succeeded");
}
ok($node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome WHERE sqlstate = 'IS040'}) > 0,
	'and reservations beyond the last units were refused');

# Never promised beyond what was there.
is($node->safe_psql('postgres', q{
SELECT coalesce(string_agg(what || ' of ' || quantity || ' at ' || held_at || ': ' || left_there, E'\n'), '')
  FROM public.storm_outcome WHERE op = 'reserve' AND sqlstate = '00000' AND left_there < 0}), '',
	'every reservation left its location holding no more than its sellable stock as it committed');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM public.storm_outcome o
 WHERE o.op = 'reserve' AND o.sqlstate = '00000'
   AND o.held_at IS DISTINCT FROM CASE WHEN o.what LIKE 'mkt%' THEN (SELECT gln FROM public.storm_loc WHERE n = 0)
                                       WHEN o.asked_at IS NOT NULL THEN o.asked_at ELSE o.held_at END}), '0',
	'each reservation is held where it was asked (the marketplace\'s at the DC)');
is($node->safe_psql('postgres', q{
SELECT count(*) || ' reservations of ' || sum(quantity) FROM inventory_sync.reservation
 WHERE item_gtin = '09506000134369' AND status = 'open'}), "$total reservations of $total",
	"item B: exactly its $total units were promised, one by one, in both channels");
is($node->safe_psql('postgres', q{
SELECT sum(quantity) FROM public.storm_outcome WHERE item = '09506000134369' AND sqlstate = '00000'}), $total,
	'as the clients saw it');

# Published ATP against a recomputation from balances and reservations: a location's ATP is
# its sellable stock less what is held there; web's, the sum of its locations' (none below
# zero); mkt's, the DC's (not below zero). No safety stock, no backorders, no pools here.
my $recomputed = q{
WITH loc AS (
  SELECT i.gtin, l.n, l.gln,
         (SELECT coalesce(sum(x.quantity), 0) FROM inventory_sync.balance x
            JOIN inventory_sync.bucket k ON k.bucket = x.bucket AND k.sellable
           WHERE x.item_gtin = i.gtin AND x.location = l.gln)
         - (SELECT coalesce(sum(v.open_quantity), 0) FROM inventory_sync.reservation v
             WHERE v.item_gtin = i.gtin AND v.location = l.gln AND v.status = 'open') AS atp
    FROM inventory_sync.item i, public.storm_loc l)
SELECT c.channel, c.item_gtin, c.atp AS published,
       CASE c.channel WHEN 'web' THEN (SELECT sum(greatest(loc.atp, 0)) FROM loc WHERE loc.gtin = c.item_gtin)
                      ELSE (SELECT greatest(loc.atp, 0) FROM loc WHERE loc.gtin = c.item_gtin AND loc.n = 0) END AS recomputed
  FROM inventory_sync.channel_atp c};
is($node->safe_psql('postgres', qq{
SELECT coalesce(string_agg(channel || ' ' || item_gtin || ': published ' || published || ', recomputed ' || recomputed, E'\n'), '')
  FROM ($recomputed) x WHERE published IS DISTINCT FROM recomputed}), '',
	'every channel\'s published ATP equals its value recomputed from balances and reservations');
is($node->safe_psql('postgres', qq{
SELECT string_agg(channel || ' ' || published, ', ' ORDER BY channel) FROM ($recomputed) x
 WHERE item_gtin = '09506000134369'}), 'mkt 0, web 0', 'item B: nothing left in either channel');
note('item A, published: ' . $node->safe_psql('postgres', qq{
SELECT string_agg(channel || ' ' || published, ', ' ORDER BY channel) FROM ($recomputed) x
 WHERE item_gtin = '09506000134352'}));

is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0',
	'verify(): every balance equals the ledger');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify_promises()}), '0',
	'verify_promises(): published ATP, its history, promise keys and reservations agree')
  or diag($node->safe_psql('postgres', q{SELECT * FROM inventory_sync.verify_promises() LIMIT 20}));

$node->stop;
done_testing();
