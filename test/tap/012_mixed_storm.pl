# The product's API under mixed traffic, in the topology it is built for: a web shop
# selling from a DC and 120 stores, a marketplace selling from the same DC, a dedicated
# app channel with two stores of its own (reserve()'s fast path), four items, a truck in
# transit to one store. 24 real client connections run, for a bounded time, every call a
# system makes at once: reserve (anywhere, at a store, in each channel), fulfil, cancel,
# expire, sweep_expired_reservations(), receipts, bucket moves, transfers out and in, POS
# sales, multi-row INSERTs and COPYs into the ledger, and now and then a store joining
# or leaving the web shop, and a web shop store joining or leaving the app channel (which
# then shares a location: its pooled reservations are placed at its stores). With them,
# the order management calls: orders brokered over the web shop's locations by distance
# (split lines, kits of two items shipped together), stores rejecting allocated parts,
# kits reserved whole, backorders at the store the truck is bound for (the web shop
# promises against the truck) filled by allocate_backorders() as deliveries land there,
# and the admin's changes (one row per transaction) of the marketplace's protection and
# cap, of safety stock, and refresh_channel_atp().
#
# Each call is one transaction. Every error is counted by SQLSTATE. The documented
# refusals are expected (IS040 insufficient ATP, IS041 already resolved, IS046 a pooled
# reservation that fits no single store when the app stops being dedicated); nothing else
# may happen: no deadlock (40P01) — the product takes its locks in one global order
# (docs/reference/promises.md, "Lock order") — and no other error. Afterwards verify()
# and verify_promises() are empty and no reservation was ever made beyond ATP.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $clients = 24;
my $seconds = $ENV{STORM_SECONDS} // 45;
my $min_calls = 1000;
my $stores = 120;
my $node = PostgreSQL::Test::Cluster->new('mixed_storm');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = @{[ $clients + 16 ]}
deadlock_timeout = '20ms'
log_lock_waits = on
lc_messages = 'C'
});
$node->start;

my $copydir = $PostgreSQL::Test::Utils::tmp_check;

$node->safe_psql('postgres', qq{
CREATE EXTENSION inventory_sync;
SET search_path = inventory_sync;
INSERT INTO item (gtin, name)
SELECT gtin_complete('0950600013' || lpad(i::text, 3, '0')), 'Storm item ' || i FROM generate_series(1, 4) i;
INSERT INTO location (gln, name, kind) VALUES (gln_complete('061414100001'), 'DC', 'warehouse'),
                                               (gln_complete('061414199999'), 'Truck', 'in_transit');
INSERT INTO location (gln, name, kind)
SELECT gln_complete('0614141' || lpad(s::text, 5, '0')), 'Store ' || s, 'store' FROM generate_series(100, 99 + $stores + 4) s;
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user),
                                                     ('pos', 'POS', 'pos', current_user),
                                                     ('oms', 'OMS', 'oms', current_user);
INSERT INTO channel (channel, name, kind, fulfilment_source) VALUES ('web', 'Web shop', 'web', 'oms'),
                                                                     ('mkt', 'Marketplace', 'marketplace', 'oms'),
                                                                     ('app', 'App (own stores)', 'web', 'oms');
-- stores 100..219 sell through the web shop; 220 and 221 are the app's own; 222 joins and leaves the
-- web shop; 223, a web shop store, joins and leaves the app
CREATE TABLE public.storm_store (n int PRIMARY KEY, gln gln NOT NULL);
INSERT INTO public.storm_store SELECT s - 99, gln_complete('0614141' || lpad(s::text, 5, '0'))
  FROM generate_series(100, 99 + $stores + 4) s;
CREATE TABLE public.storm_item (n int PRIMARY KEY, gtin gtin NOT NULL);
INSERT INTO public.storm_item SELECT i, gtin_complete('0950600013' || lpad(i::text, 3, '0')) FROM generate_series(1, 4) i;
INSERT INTO channel_location (channel, location)
SELECT 'web', gln FROM public.storm_store WHERE n <= $stores
UNION ALL SELECT 'web', gln_complete('061414100001')
UNION ALL SELECT 'mkt', gln_complete('061414100001')
UNION ALL SELECT 'app', gln FROM public.storm_store WHERE n IN ($stores + 1, $stores + 2)
UNION ALL SELECT 'web', gln FROM public.storm_store WHERE n = $stores + 4;
INSERT INTO transit_route (in_transit, destination)
SELECT gln_complete('061414199999'), gln FROM public.storm_store WHERE n = 1;
-- the DC and the stores on a grid of about 10 km, for brokering by distance
UPDATE location SET latitude = 52.0, longitude = 4.0 WHERE gln = gln_complete('061414100001');
UPDATE location l SET latitude = 52.0 + (s.n % 12) * 0.09, longitude = 4.0 + (s.n / 12) * 0.15
  FROM public.storm_store s WHERE l.gln = s.gln;
INSERT INTO broker_rule (channel, rule_no, location_kind, max_distance_km, allow_split, max_shipments)
VALUES ('web', 1, 'store', 25, true, 2), ('web', 2, NULL, NULL, true, 3);
-- a kit: one of item 1 and two of item 2, shipped together
INSERT INTO kit (gtin, name) VALUES (gtin_complete('0950600091004'), 'Storm kit');
INSERT INTO kit_component (kit, component, quantity)
VALUES (gtin_complete('0950600091004'), gtin_complete('0950600013001'), 1),
       (gtin_complete('0950600091004'), gtin_complete('0950600013002'), 2);
-- the web shop promises against the truck bound for store 1: backorders there
UPDATE channel SET allow_backorder = true WHERE channel = 'web';
-- opening stock: 300 of each item at the DC, 6 in every store
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
SELECT 'receipt'::posting_kind, 'wms', 'open-' || i.n || '-dc', i.gtin, gln_complete('061414100001'), 'released', 300
  FROM public.storm_item i
UNION ALL
SELECT 'receipt', 'pos', 'open-' || i.n || '-' || s.n, i.gtin, s.gln, 'released', 6
  FROM public.storm_item i, public.storm_store s;
CREATE SEQUENCE public.evt;
CREATE UNLOGGED TABLE public.storm_outcome (op text NOT NULL, sqlstate text NOT NULL, message text);

-- One call of the API per transaction; its outcome is recorded, an error by SQLSTATE.
CREATE FUNCTION public.storm(op text, r1 int, r2 int, r3 int) RETURNS void LANGUAGE plpgsql
SET search_path = public, inventory_sync AS \$\$
DECLARE
    item inventory_sync.gtin := (SELECT gtin FROM public.storm_item WHERE n = 1 + r1 % 4);
    store inventory_sync.gln := (SELECT gln FROM public.storm_store WHERE n = 1 + r2 % $stores);
    dc inventory_sync.gln := inventory_sync.gln_complete('061414100001');
    truck inventory_sync.gln := inventory_sync.gln_complete('061414199999');
    rid bigint;
    ev text := 'e' || nextval('public.evt');
    st text;
    msg text;
    det text;
BEGIN
    BEGIN
        CASE op
        WHEN 'reserve_web' THEN
            PERFORM inventory_sync.reserve('web', ev, '1', item, 1 + r3 % 3,
                                           CASE WHEN r3 % 5 = 0 THEN store END, now() + (1 + r3 % 4) * interval '1 second');
        WHEN 'reserve_mkt' THEN
            PERFORM inventory_sync.reserve('mkt', ev, '1', item, 1 + r3 % 3, NULL, now() + (1 + r3 % 4) * interval '1 second');
        WHEN 'reserve_app' THEN
            PERFORM inventory_sync.reserve('app', ev, '1', item, 1 + r3 % 2, NULL, now() + (1 + r3 % 4) * interval '1 second');
        WHEN 'fulfil', 'cancel', 'expire' THEN
            SELECT v.reservation_id INTO rid FROM inventory_sync.reservation v
             WHERE v.reservation_id > (SELECT max(reservation_id) FROM inventory_sync.reservation) - 200
               AND v.status = 'open'
             ORDER BY random() LIMIT 1;
            IF rid IS NOT NULL THEN
                IF op = 'fulfil' THEN
                    PERFORM inventory_sync.fulfil(rid, source_event_id => ev);
                ELSIF op = 'cancel' THEN
                    PERFORM inventory_sync.cancel_reservation(rid);
                ELSE
                    PERFORM inventory_sync.expire_reservation(rid);
                END IF;
            END IF;
        WHEN 'sweep' THEN
            PERFORM inventory_sync.sweep_expired_reservations();
        WHEN 'receipt' THEN
            IF r3 % 3 = 0 THEN
                PERFORM inventory_sync.receive('wms', ev, item, dc, 5 + r3 % 20, 'released');
            ELSE
                PERFORM inventory_sync.receive('pos', ev, item, store, 1 + r3 % 4,
                                               CASE WHEN r3 % 2 = 0 THEN 'released' ELSE 'receiving' END);
            END IF;
        WHEN 'move' THEN
            PERFORM inventory_sync.move_stock('pos', ev, item, store, 1,
                                              CASE r3 % 3 WHEN 0 THEN 'released' ELSE 'receiving' END,
                                              CASE r3 % 3 WHEN 0 THEN 'damaged' ELSE 'released' END);
        WHEN 'transfer' THEN
            IF r3 % 2 = 0 THEN
                PERFORM inventory_sync.transfer_out('wms', ev, item, dc, truck, 1 + r3 % 3, now() + interval '1 day');
            ELSE
                PERFORM inventory_sync.transfer_in('pos', ev, item, truck,
                                                   (SELECT gln FROM public.storm_store WHERE n = 1), 1);
            END IF;
        WHEN 'pos' THEN
            PERFORM inventory_sync.ship('pos', ev, item, store, 1);
        WHEN 'batch' THEN
            -- receipts and sales over random keys, rows in random order
            INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
            SELECT CASE WHEN g % 3 = 0 THEN 'issue' ELSE 'receipt' END::inventory_sync.posting_kind, 'wms',
                   ev || '-' || g, i.gtin, CASE WHEN g % 4 = 0 THEN dc ELSE s.gln END, 'released', 1 + g % 3
              FROM generate_series(1, 10 + r3 % 20) g
              JOIN public.storm_item i ON i.n = 1 + (g * 7 + r1) % 4
              JOIN public.storm_store s ON s.n = 1 + (g * 37 + r2) % $stores
             ORDER BY random();
        WHEN 'copy' THEN
            EXECUTE format('COPY (SELECT CASE WHEN g %% 3 = 0 THEN ''issue'' ELSE ''receipt'' END, ''wms'', %L || ''-'' || g,
                                         i.gtin, CASE WHEN g %% 5 = 0 THEN %L ELSE s.gln END, ''released'', 1 + g %% 3
                                    FROM generate_series(1, 50) g
                                    JOIN public.storm_item i ON i.n = 1 + (g * 5 + %s) %% 4
                                    JOIN public.storm_store s ON s.n = 1 + (g * 53 + %s) %% $stores
                                   ORDER BY random()) TO %L (FORMAT csv)',
                           ev, dc, r1, r2, '$copydir/storm-' || pg_backend_pid() || '.csv');
            EXECUTE format('COPY inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
                            FROM %L (FORMAT csv)', '$copydir/storm-' || pg_backend_pid() || '.csv');
        WHEN 'broker' THEN
            -- an order of one to three lines (items or the kit) from a customer near the stores
            PERFORM inventory_sync.broker('web', ev,
                       (SELECT jsonb_agg(jsonb_build_object('line_ref', 'L' || k,
                                 'item', CASE WHEN (r1 / k) % 5 = 0 THEN inventory_sync.gtin_complete('0950600091004')
                                              ELSE (SELECT gtin FROM public.storm_item WHERE n = 1 + (r1 / k) % 4) END,
                                 'quantity', 1 + (r3 / k) % 4))
                          FROM generate_series(1, 1 + r3 % 3) k),
                       52.0 + (r2 % 1000) / 1000.0, 4.0 + (r1 % 1500) / 1000.0,
                       partial => r3 % 4 = 0, expires_at => now() + (1 + r3 % 4) * interval '1 second');
        WHEN 'reject' THEN
            -- a store cannot find a part it was allocated
            SELECT a.reservation_id INTO rid FROM inventory_sync.broker_allocation a
              JOIN inventory_sync.reservation v ON v.reservation_id = a.reservation_id AND v.status = 'open'
             WHERE a.status = 'held' AND a.location <> dc
             ORDER BY a.allocation_id DESC OFFSET r1 % 5 LIMIT 1;
            IF rid IS NOT NULL THEN
                PERFORM inventory_sync.reject_allocation(rid, 'not on the shelf');
            END IF;
        WHEN 'kit' THEN
            PERFORM inventory_sync.reserve_kit(CASE WHEN r3 % 3 = 0 THEN 'app' ELSE 'web' END, ev, '1',
                                               inventory_sync.gtin_complete('0950600091004'), 1 + r3 % 2,
                                               CASE WHEN r3 % 5 = 1 AND r3 % 3 <> 0 THEN store END,
                                               now() + (1 + r3 % 4) * interval '1 second');
        WHEN 'backorder' THEN
            -- more than a store has: held against the truck's supply, or refused
            PERFORM inventory_sync.reserve('web', ev, '1', item, 4 + r3 % 6,
                                           (SELECT gln FROM public.storm_store WHERE n = 1),
                                           now() + (2 + r3 % 4) * interval '1 second');
        WHEN 'restock' THEN
            -- a delivery lands at the store the backorders wait at (allocated by 'allocate')
            PERFORM inventory_sync.receive('pos', ev, item, (SELECT gln FROM public.storm_store WHERE n = 1),
                                           1 + r3 % 4, 'released');
        WHEN 'allocate' THEN
            PERFORM inventory_sync.allocate_backorders(CASE WHEN r3 % 2 = 0 THEN item END);
        WHEN 'limits' THEN
            -- the admin protects DC stock for the marketplace, caps it, changes safety stock
            CASE r3 % 4
            WHEN 0 THEN
                INSERT INTO inventory_sync.channel_protection (channel, item_gtin, location, quantity)
                VALUES ('mkt', item, dc, r1 % 40)
                ON CONFLICT (channel, item_gtin, location) DO UPDATE SET quantity = excluded.quantity;
            WHEN 1 THEN
                INSERT INTO inventory_sync.channel_cap (channel, item_gtin, quantity) VALUES ('mkt', item, 20 + r1 % 200)
                ON CONFLICT (channel, item_gtin) DO UPDATE SET quantity = excluded.quantity;
            WHEN 2 THEN
                -- one row per transaction, as the lock order asks of these tables: a protection
                -- and then a cap in one transaction can deadlock with a cap changed alone
                IF r1 % 2 = 0 THEN
                    DELETE FROM inventory_sync.channel_protection WHERE channel = 'mkt' AND item_gtin = item;
                ELSE
                    DELETE FROM inventory_sync.channel_cap WHERE channel = 'mkt' AND item_gtin = item;
                END IF;
            ELSE
                INSERT INTO inventory_sync.safety_stock (item_gtin, location, quantity) VALUES (item, store, r1 % 3)
                ON CONFLICT (item_gtin, location) DO UPDATE SET quantity = excluded.quantity;
            END CASE;
        WHEN 'refresh' THEN
            PERFORM inventory_sync.refresh_channel_atp(CASE WHEN r3 % 2 = 0 THEN 'web' ELSE 'mkt' END, item);
        WHEN 'member' THEN
            -- a spare store joins the web shop or leaves it; another, which the web shop
            -- sells from, joins the app channel or leaves it (while it is in, the app no
            -- longer has its stores to itself: its pooled reservations are placed). An
            -- admin per store: the same store's changes one after the other, the two at once.
            PERFORM pg_advisory_xact_lock(4200 + r3 % 2);
            IF EXISTS (SELECT FROM inventory_sync.channel_location cl JOIN public.storm_store s ON s.gln = cl.location
                        WHERE cl.channel = CASE r3 % 2 WHEN 0 THEN 'web' ELSE 'app' END
                          AND s.n = $stores + 3 + r3 % 2) THEN
                DELETE FROM inventory_sync.channel_location cl USING public.storm_store s
                 WHERE cl.channel = CASE r3 % 2 WHEN 0 THEN 'web' ELSE 'app' END AND cl.location = s.gln
                   AND s.n = $stores + 3 + r3 % 2;
            ELSE
                INSERT INTO inventory_sync.channel_location (channel, location)
                SELECT CASE r3 % 2 WHEN 0 THEN 'web' ELSE 'app' END, s.gln
                  FROM public.storm_store s WHERE s.n = $stores + 3 + r3 % 2;
            END IF;
        END CASE;
        INSERT INTO public.storm_outcome VALUES (op, '00000', NULL);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
        INSERT INTO public.storm_outcome VALUES (op, st, msg || coalesce(' / ' || det, ''));
    END;
END
\$\$;
});

# The traffic: one script per kind of call, weighted like a busy day.
my %weight = (
	reserve_web => 24, reserve_mkt => 8, reserve_app => 6, fulfil => 8, cancel => 5, expire => 3,
	sweep => 4, receipt => 10, move => 4, transfer => 4, pos => 10, batch => 3, copy => 2, member => 1,
	broker => 8, reject => 3, kit => 4, backorder => 3, allocate => 2, restock => 1, limits => 2, refresh => 1);
my @scripts;
for my $op (sort keys %weight)
{
	my $file = "$copydir/storm_$op.sql";
	open my $fh, '>', $file or die $!;
	print $fh "\\set r1 random(0, 1000000)\n\\set r2 random(0, 1000000)\n\\set r3 random(0, 1000000)\n";
	print $fh "SELECT public.storm('$op', :r1, :r2, :r3);\n";
	close $fh;
	push @scripts, '-f', "$file\@$weight{$op}";
}

# A machine busy with other work answers fewer calls in the time: the storm goes on, round
# after round, until it has made enough of them to mean something (or four rounds).
my ($out, $err, $ok, $rounds) = ('', '', 1, 0);
while ($ok && $rounds < 4
	&& ($rounds == 0 || $node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome}) <= $min_calls))
{
	$rounds++;
	$ok = eval {
		IPC::Run::run(
			[ 'pgbench', '-n', '-c', $clients, '-j', 4, '-T', $seconds, @scripts, $node->connstr('postgres') ],
			'>', \$out, '2>', \$err, IPC::Run::timeout($seconds + 240));
	};
	$err .= $@ if $@;
}
ok($ok, "pgbench: $clients clients, $rounds round(s) of $seconds s of mixed calls") or diag("$out\n$err");

my $summary = $node->safe_psql('postgres', q{
SELECT op || ' ' || sqlstate || ' ' || count(*) FROM public.storm_outcome GROUP BY op, sqlstate ORDER BY op, sqlstate});
note("outcomes (call, SQLSTATE, count):\n$summary");
my $calls = $node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome});
my $done = $node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome WHERE sqlstate = '00000'});
ok($calls > $min_calls, "$calls calls answered, $done succeeded");
my $deadlocks = $node->safe_psql('postgres', q{SELECT count(*) FROM public.storm_outcome WHERE sqlstate = '40P01'});
is($deadlocks, '0', 'no call died as a deadlock victim (40P01)')
  or diag($node->safe_psql('postgres', q{
SELECT op || ': ' || left(message, 300) FROM public.storm_outcome WHERE sqlstate = '40P01' LIMIT 10}),
	"\n", deadlock_reports($node->logfile));
my $other = $node->safe_psql('postgres', q{
SELECT string_agg(op || ' ' || sqlstate || ': ' || left(message, 300), E'\n')
  FROM (SELECT * FROM public.storm_outcome
         WHERE sqlstate NOT IN ('00000', '40P01', 'IS040', 'IS041', 'IS046') LIMIT 20) o});
is($other, '', 'no error but the documented refusals (IS040 insufficient ATP, IS041 already resolved, IS046 a pooled reservation fits no single store)');
for my $op (sort keys %weight)
{
	ok($node->safe_psql('postgres', qq{SELECT count(*) FROM public.storm_outcome WHERE op = '$op' AND sqlstate = '00000'}) > 0,
		"some $op calls succeeded");
}

# (a backorder filled from stock is promised no date any more; backorder_fill keeps the one it had)
my $backorders = $node->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM inventory_sync.reservation WHERE promised_date IS NOT NULL)
       || ' ' || (SELECT count(*) FROM inventory_sync.backorder_fill)});
my ($waiting, $filled) = split / /, $backorders;
note("backorders still waiting: $waiting, filled from stock: $filled");
ok($waiting + $filled > 0, 'some lines were held as backorders against the truck');
# Whether stock landed at store 1 while a backorder there could take it all is the storm's
# chance; so, on the state the storm left (its open backorders in front, its stock, its
# truck), one more line beyond what the store has is held against the truck, a delivery
# covering every open backorder there lands, and allocate_backorders() must fill it.
$node->safe_psql('postgres', q{
SELECT inventory_sync.receive('wms', 'after-storm-dc', gtin, inventory_sync.gln_complete('061414100001'), 300, 'released'),
       inventory_sync.transfer_out('wms', 'after-storm-out', gtin, inventory_sync.gln_complete('061414100001'),
                                   inventory_sync.gln_complete('061414199999'), 300, now() + interval '1 day')
  FROM public.storm_item WHERE n = 1});
is($node->safe_psql('postgres', q{
SELECT r.promised_date IS NOT NULL
  FROM public.storm_item i, public.storm_store s,
       inventory_sync.reserve('web', 'after-storm', '1', i.gtin,
                              greatest(inventory_sync.atp(i.gtin, s.gln, 'web'), 0) + 3, s.gln,
                              now() + interval '1 hour') r
 WHERE i.n = 1 AND s.n = 1}), 't',
	'after the storm: a line beyond what store 1 has is held as a backorder against the truck');
$node->safe_psql('postgres', q{
SET search_path = public, inventory_sync;
SELECT inventory_sync.receive('pos', 'after-storm-in', i.gtin, s.gln,
                              (SELECT sum(v.open_quantity) FROM inventory_sync.reservation v
                                WHERE v.status = 'open' AND v.promised_date IS NOT NULL
                                  AND v.item_gtin = i.gtin AND v.location = s.gln) + 50, 'released')
  FROM public.storm_item i, public.storm_store s WHERE i.n = 1 AND s.n = 1});
ok($node->safe_psql('postgres', q{
SELECT inventory_sync.allocate_backorders(i.gtin, s.gln) FROM public.storm_item i, public.storm_store s
 WHERE i.n = 1 AND s.n = 1}) >= 1, 'allocate_backorders() fills what waits at store 1 once a delivery covers it');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM inventory_sync.backorder_fill f JOIN inventory_sync.reservation v USING (reservation_id)
 WHERE v.order_ref = 'after-storm'}), '1', 'the line held after the storm is among the fills');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.broker_rejection}) > 0,
	'stores rejected brokered parts');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.kit_reservation}) > 0,
	'kits were held (brokered or reserved)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0',
	'verify(): every balance equals the ledger');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify_promises()}), '0',
	'verify_promises(): published ATP, promise keys and reservations agree')
  or diag($node->safe_psql('postgres', q{SELECT * FROM inventory_sync.verify_promises() LIMIT 20}));
is($node->safe_psql('postgres', q{
SELECT count(*) FROM inventory_sync.reservation_change c
 WHERE c.action IN ('reserve', 'allocate') AND c.atp_after < 0}), '0',
	'no reservation was made or backorder filled beyond its channel\'s ATP (no such change left it below zero)');
# (stock itself may go below what is held: a sale at the till is a fact, posted whatever was promised)

$node->stop;
done_testing();

# The server's log of each deadlock (log_lock_waits): where the victim waited and its call,
# with the random arguments that replay it (the error itself is caught by storm()).
sub deadlock_reports
{
	my @log = split /\n/, slurp_file(shift);
	my @report;
	for my $i (0 .. $#log)
	{
		next unless $log[$i] =~ /detected deadlock/;
		for my $j ($i .. ($i + 30 < $#log ? $i + 30 : $#log))
		{
			push @report, $log[$j];
			last if $log[$j] =~ /STATEMENT:/;
		}
		last if @report > 120;
	}
	return join("\n", @report);
}
