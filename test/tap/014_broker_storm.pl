# Orders brokered against limited stock under 32 real client connections, with store
# rejections racing them: a web shop selling from a DC and 9 stores, brokering rules that
# prefer a store near the customer and split a line over up to three stores, then fall
# back to any location with up to two shipments; items sold alone and in a gift box (a
# kit whose components ship together); little stock, so that orders compete for the last
# units and many are refused.
#
# 28 clients broker orders of one to three lines (an item or the kit, 1 to 4 each), from
# customers at random points around the stores, a third of them partial; 4 clients reject
# parts a store was allocated (the store cannot find the goods), which re-brokers them.
# Each call is one transaction; its outcome is recorded (an error by SQLSTATE).
#
# Checked: no deadlock (no 40P01, none in the server log); no error but insufficient ATP
# (IS040) for brokering, and for rejections IS040 (nowhere else to ship) or IS055-like
# refusals of a part that is no longer held; nothing promised beyond a location's
# sellable stock (open reservations per item and location, recomputed from balances);
# an order brokered all or nothing is held whole or not at all; every held part has its
# open reservation of the same quantity at the same location; a kit line's components
# are held at one location, in the kit's proportions; verify() and verify_promises() empty.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $brokers = 28;
my $rejecters = 4;
my $clients = $brokers + $rejecters;
my $broker_calls = $ENV{BROKER_STORM_ORDERS} // 25;    # per brokering client
my $reject_calls = $ENV{BROKER_STORM_REJECTS} // 25;   # per rejecting client

my $node = PostgreSQL::Test::Cluster->new('broker_storm');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = @{[ $clients + 16 ]}
deadlock_timeout = '20ms'
lc_messages = 'C'
});
$node->start;

$node->safe_psql('postgres', qq{
CREATE EXTENSION inventory_sync;
ALTER DATABASE postgres SET search_path = public, inventory_sync;
SET search_path = inventory_sync;
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Teapot'), ('09506000134369', 'Cup'),
                                     ('09506000134376', 'Tea tin');
INSERT INTO kit (gtin, name) VALUES ('09506000910048', 'Gift box: a teapot and two cups');
INSERT INTO kit_component (kit, component, quantity) VALUES ('09506000910048', '09506000134352', 1),
                                                            ('09506000910048', '09506000134369', 2);
-- 0: the DC; 1..9: stores about 10 km apart on a line of latitude
CREATE TABLE public.storm_loc (n int PRIMARY KEY, gln gln NOT NULL, lat float8, lon float8);
INSERT INTO public.storm_loc SELECT 0, gln_complete('061414100001'), 52.0, 4.0
UNION ALL SELECT s, gln_complete('0614141' || lpad((99 + s)::text, 5, '0')), 52.3, 4.0 + 0.15 * s
  FROM generate_series(1, 9) s;
INSERT INTO location (gln, name, kind, latitude, longitude)
SELECT gln, CASE WHEN n = 0 THEN 'DC' ELSE 'Store ' || n END,
       CASE WHEN n = 0 THEN 'warehouse' ELSE 'store' END::location_kind, lat, lon
  FROM public.storm_loc;
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name, kind) VALUES ('web', 'Web shop', 'web');
INSERT INTO channel_location (channel, location) SELECT 'web', gln FROM public.storm_loc;
INSERT INTO broker_rule (channel, rule_no, location_kind, max_distance_km, allow_split, max_shipments)
VALUES ('web', 1, 'store', 40, true, 3), ('web', 2, NULL, NULL, true, 2);
-- little stock: teapots and cups at the DC and some stores, tins at the DC only
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
SELECT 'receipt', 'wms', 'open-' || i.gtin || '-' || l.n, i.gtin::gtin, l.gln, l.q
  FROM (VALUES ('09506000134352', 40, 3), ('09506000134369', 60, 5), ('09506000134376', 50, 0)) i(gtin, q_dc, q_store)
  CROSS JOIN LATERAL (SELECT l.*, CASE WHEN l.n = 0 THEN i.q_dc ELSE i.q_store END AS q FROM public.storm_loc l) l
 WHERE l.q > 0 AND (l.n = 0 OR l.n % 2 = 1);
CREATE SEQUENCE public.ord;
CREATE UNLOGGED TABLE public.storm_outcome (op text NOT NULL, order_ref text, partial boolean, sqlstate text NOT NULL,
                                            message text, lines jsonb);

-- One call per transaction, its outcome recorded.
CREATE FUNCTION public.storm(op text, r1 int, r2 int, r3 int) RETURNS void LANGUAGE plpgsql
SET search_path = public, inventory_sync AS \$\$
DECLARE
    items text[] := ARRAY['09506000134352', '09506000134369', '09506000134376', '09506000910048'];
    ord text := 'o' || nextval('public.ord');
    nlines int := 1 + r1 % 3;
    lines jsonb;
    part bigint;
    is_partial boolean := r3 % 3 = 0;
    st text;
    msg text;
    det text;
BEGIN
    BEGIN
        IF op = 'broker' THEN
            SELECT jsonb_agg(jsonb_build_object('line_ref', 'L' || k, 'item', items[1 + (r2 / (k * 7)) % 4],
                                                'quantity', 1 + (r3 / (k * 5)) % 4))
              INTO lines FROM generate_series(1, nlines) k;
            PERFORM * FROM inventory_sync.broker('web', ord, lines, 52.3, 4.0 + (r2 % 1500) / 1000.0,
                                                 partial => is_partial);
            INSERT INTO public.storm_outcome VALUES (op, ord, is_partial, '00000', NULL, lines);
        ELSE
            -- a store rejects one of the parts it holds, if any
            SELECT a.reservation_id INTO part FROM inventory_sync.broker_allocation a
              JOIN inventory_sync.reservation v ON v.reservation_id = a.reservation_id AND v.status = 'open'
             WHERE a.status = 'held' AND a.location <> (SELECT gln FROM public.storm_loc WHERE n = 0)
             ORDER BY a.allocation_id DESC OFFSET r1 % 5 LIMIT 1;
            IF part IS NOT NULL THEN
                PERFORM * FROM inventory_sync.reject_allocation(part, 'not found on the shelf');
                INSERT INTO public.storm_outcome VALUES (op, part::text, NULL, '00000', NULL, NULL);
            END IF;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
        INSERT INTO public.storm_outcome VALUES (op, coalesce(ord, part::text), is_partial, st,
                                                 msg || coalesce(' / ' || det, ''), lines);
    END;
END
\$\$;
});

my $dir = $PostgreSQL::Test::Utils::tmp_check;
my %script;
for my $op ('broker', 'reject')
{
	$script{$op} = "$dir/broker_storm_$op.sql";
	open my $fh, '>', $script{$op} or die $!;
	print $fh "\\set r1 random(0, 1000000)\n\\set r2 random(0, 1000000)\n\\set r3 random(0, 1000000)\n";
	# the stores reject now and then while orders are brokered, not all at the start
	print $fh "\\sleep 100 ms\n" if $op eq 'reject';
	print $fh "SELECT public.storm('$op', :r1, :r2, :r3);\n";
	close $fh;
}

my $started = time;
my (%out, %err, %run);
for my $op ('broker', 'reject')
{
	my ($c, $t) = $op eq 'broker' ? ($brokers, $broker_calls) : ($rejecters, $reject_calls);
	($out{$op}, $err{$op}) = ('', '');
	$run{$op} = IPC::Run::start(
		[ 'pgbench', '-n', '-c', $c, '-j', 2, '-t', $t, '-f', $script{$op}, $node->connstr('postgres') ],
		'>', \$out{$op}, '2>', \$err{$op}, IPC::Run::timeout(300));
}
for my $op ('broker', 'reject')
{
	my $ok = eval { $run{$op}->finish };
	ok($ok, "pgbench: the $op clients ran every call") or diag("$out{$op}\n$err{$op}\n" . ($@ // ''));
}
note('the storm took ' . (time - $started) . ' s');
note("outcomes (call / SQLSTATE: count):\n" . $node->safe_psql('postgres', q{
SELECT op || ' / ' || sqlstate || ': ' || count(*) FROM public.storm_outcome GROUP BY op, sqlstate ORDER BY 1}));

is($node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome WHERE op = 'broker'}),
	$brokers * $broker_calls, 'every brokering call recorded its outcome');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome WHERE sqlstate = '40P01'}), '0',
	'no call died as a deadlock victim (40P01)');
unlike(slurp_file($node->logfile), qr/deadlock detected/, 'the server logged no deadlock');
is($node->safe_psql('postgres', q{
SELECT coalesce(string_agg(op || ' ' || order_ref || ' ' || sqlstate || ': ' || left(message, 300), E'\n'), '')
  FROM (SELECT * FROM public.storm_outcome
         WHERE sqlstate NOT IN ('00000', 'IS040') AND NOT (op = 'reject' AND sqlstate = 'IS041') LIMIT 20) o}), '',
	'no error but insufficient ATP (IS040), and for a rejection, a part another rejection cancelled first (IS041)');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome WHERE op = 'broker' AND sqlstate = '00000'}) > 20,
	'many orders were brokered');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome WHERE op = 'broker' AND sqlstate = 'IS040'}) > 0,
	'and orders beyond the last units were refused');
# (whether a rejection in the storm finds stock elsewhere depends on what the others took;
# after it, with stock received at the DC and a store, one surely does)
note('rejections placed elsewhere during the storm: '
	. $node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome WHERE op = 'reject' AND sqlstate = '00000'}));
$node->safe_psql('postgres', q{
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
SELECT 'receipt', 'wms', 'after-' || i || '-' || l.n, i::inventory_sync.gtin, l.gln, 20
  FROM unnest(ARRAY['09506000134352', '09506000134369', '09506000134376']) i, public.storm_loc l
 WHERE l.n IN (0, 9)});
is($node->safe_psql('postgres', q{
SELECT count(*) > 0 FROM inventory_sync.reject_allocation(
  (SELECT a.reservation_id FROM inventory_sync.broker_allocation a
     JOIN inventory_sync.reservation v ON v.reservation_id = a.reservation_id AND v.status = 'open'
    WHERE a.status = 'held' ORDER BY a.allocation_id DESC LIMIT 1), 'not found after the storm')}), 't',
	'a part rejected after the storm is brokered again elsewhere');
ok($node->safe_psql('postgres', q{SELECT count(DISTINCT (channel, order_ref, unit_ref)) FROM inventory_sync.broker_allocation
                                   WHERE part > 1 AND status = 'held'}) > 0,
	'some lines are held in more than one part (split or re-brokered)');

# Never promised beyond what was there.
is($node->safe_psql('postgres', q{
SELECT coalesce(string_agg(x.item_gtin || ' at ' || x.location || ': held ' || x.held || ', stock ' || x.stock, E'\n'), '')
  FROM (SELECT v.item_gtin, v.location, sum(v.open_quantity) AS held,
               (SELECT coalesce(sum(b.quantity), 0) FROM inventory_sync.balance b
                  JOIN inventory_sync.bucket k ON k.bucket = b.bucket AND k.sellable
                 WHERE b.item_gtin = v.item_gtin AND b.location = v.location) AS stock
          FROM inventory_sync.reservation v WHERE v.status = 'open' GROUP BY 1, 2) x
 WHERE x.held > x.stock}), '', 'no location holds more than its sellable stock');

# All or nothing: a whole order brokered without partial is held whole, a refused one not at all.
is($node->safe_psql('postgres', q{
SELECT coalesce(string_agg(o.order_ref, ', '), '')
  FROM public.storm_outcome o
 WHERE o.op = 'broker' AND NOT o.partial AND o.sqlstate = '00000'
   AND EXISTS (SELECT FROM jsonb_to_recordset(o.lines) l(line_ref text, item text, quantity numeric)
                CROSS JOIN LATERAL inventory_sync._order_line_components(l.item::inventory_sync.gtin, l.quantity) c
               WHERE c.quantity <> (SELECT coalesce(sum(v.quantity), 0) FROM inventory_sync.reservation v
                                     WHERE v.channel = 'web' AND v.order_ref = o.order_ref AND v.status = 'open'
                                       AND v.item_gtin = c.component
                                       AND (v.line_ref = l.line_ref OR v.line_ref LIKE l.line_ref || '#%'
                                            OR v.line_ref LIKE l.line_ref || '/%')))}), '',
	'every order brokered without partial reserved every unit of every line (components of a kit included)');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM inventory_sync.reservation v
  JOIN public.storm_outcome o ON o.order_ref = v.order_ref AND o.op = 'broker' AND o.sqlstate <> '00000'}), '0',
	'a refused order holds nothing');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM inventory_sync.broker_allocation a
  LEFT JOIN inventory_sync.reservation v ON v.reservation_id = a.reservation_id
 WHERE a.status = 'held' AND (v.reservation_id IS NULL OR v.location IS DISTINCT FROM a.location
                              OR v.quantity <> a.quantity OR v.item_gtin <> a.item_gtin)}), '0',
	'every held part is a reservation of its quantity at its location');
is($node->safe_psql('postgres', q{
SELECT coalesce(string_agg(k.order_ref || ' ' || k.line || ': ' || k.held || (SELECT ' (partial ' || o.partial || ', lines ' || o.lines || ')' FROM public.storm_outcome o WHERE o.order_ref = k.order_ref AND o.op = 'broker'), E'\n'), '') FROM (
  SELECT v.order_ref, split_part(v.line_ref, '/', 1) AS line, count(DISTINCT v.location) AS places,
         sum(v.quantity) FILTER (WHERE v.item_gtin = '09506000134352') AS pots,
         sum(v.quantity) FILTER (WHERE v.item_gtin = '09506000134369') AS cups,
         string_agg(v.line_ref || ' ' || v.item_gtin || ' ' || v.quantity || ' at ' || v.location, ', ') AS held
    FROM inventory_sync.reservation v
   WHERE v.status = 'open' AND v.line_ref LIKE '%/%'
   GROUP BY 1, 2) k
 WHERE k.places <> 1 OR k.cups IS DISTINCT FROM 2 * k.pots}), '',
	'each open gift box line holds its teapot and two cups per box, at one location')
  or diag($node->safe_psql('postgres', q{
SELECT string_agg(x, E'\n') FROM (
SELECT 'res ' || v.reservation_id || ' ' || v.order_ref || ' ' || v.line_ref || ' ' || v.item_gtin || ' ' || v.quantity || ' ' || v.location || ' ' || v.status AS x
  FROM inventory_sync.reservation v WHERE v.order_ref IN (SELECT order_ref FROM inventory_sync.reservation WHERE line_ref LIKE '%/%' AND status = 'open' GROUP BY order_ref, split_part(line_ref, '/', 1) HAVING count(*) = 1)
UNION ALL
SELECT 'alloc ' || a.allocation_id || ' ' || a.order_ref || ' ' || a.unit_ref || ' p' || a.part || ' ' || a.item_gtin || ' ' || coalesce(a.location::text, '-') || ' ' || a.status || ' res ' || coalesce(a.reservation_id::text, '-')
  FROM inventory_sync.broker_allocation a WHERE a.order_ref IN (SELECT order_ref FROM inventory_sync.reservation WHERE line_ref LIKE '%/%' AND status = 'open' GROUP BY order_ref, split_part(line_ref, '/', 1) HAVING count(*) = 1)
UNION ALL
SELECT 'out ' || o.op || ' ' || o.order_ref || ' ' || o.sqlstate || ' ' || coalesce(left(o.message, 200), '') FROM public.storm_outcome o WHERE o.op = 'reject' AND o.sqlstate <> 'IS040') q}));

is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0',
	'verify(): every balance equals the ledger');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify_promises()}), '0',
	'verify_promises(): published ATP, its history, promise keys and reservations agree')
  or diag($node->safe_psql('postgres', q{SELECT * FROM inventory_sync.verify_promises() LIMIT 20}));

$node->stop;
done_testing();
