-- pgTAP: promise() and promise_date() answer exactly what reserve() does, and the
-- time-phased schedule agrees with both.
--   1. A backorder channel with pooled reservations, channel safety stock and a backorder.
--   2. What a backorder may borrow from today's stock.
--   3. atp_schedule: where reservations and backorders sit, and how it meets atp().
--   4. Generated scenarios (deterministic seed): for every quantity and wanted date tried,
--      promise() is promisable exactly when reserve() with that due date succeeds (tried in
--      a savepoint and rolled back), with the same promised date and location.
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(42);

CREATE FUNCTION pg_temp.rcv(eid text, g text, l text, q numeric, lot text DEFAULT NULL, b text DEFAULT 'released')
RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, lot, quantity)
  VALUES ('receipt', 'wms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, b, lot, q) $$;
-- reserve() in a savepoint, rolled back: 'IS040' when refused, else the promised date
-- ('stock' when held against stock) and the location ('pooled' when anywhere in the channel)
CREATE FUNCTION pg_temp.try_reserve(c text, g text, q numeric, due date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r inventory_sync.reservation;
  answer text;
BEGIN
  BEGIN
    r := inventory_sync.reserve(c, 'try', q::text || '@' || coalesce(due::text, '-'), g::inventory_sync.gtin, q,
                                due_date => due);
    answer := coalesce((r.promised_date - current_date)::text, 'stock') || ' ' || coalesce(r.location::text, 'pooled');
    RAISE SQLSTATE 'IST99';
  EXCEPTION
    WHEN SQLSTATE 'IST99' THEN NULL;
    WHEN SQLSTATE 'IS040' THEN answer := 'IS040';
  END;
  RETURN answer;
END $$;

INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);

-- 1. A backorder channel, one DC ------------------------------------------------------
-- 80 released at the DC, channel safety stock 10, a purchase order of 40 in three weeks
-- spoken for by a backorder of 40, and two pooled reservations (30, 25): ATP 15.
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E');
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'DC', 'warehouse');
INSERT INTO channel (channel, name, allow_backorder, safety_stock) VALUES ('mkt', 'Marketplace', true, 10);
INSERT INTO channel_location VALUES ('mkt', '0614141000012', 1);
SELECT pg_temp.rcv('r1', '09506000134352', '0614141000012', 80);
INSERT INTO supply (kind, item_gtin, location, quantity, due_date)
     VALUES ('purchase_order', '09506000134352', '0614141000012', 40, current_date + 21);
SELECT results_eq($$SELECT location IS NULL, promised_date FROM reserve('mkt', 'o1', '1', '09506000134352', 30)$$,
  $$VALUES (true, NULL::date)$$, 'a pooled reservation of 30');
SELECT results_eq($$SELECT location IS NULL, promised_date FROM reserve('mkt', 'o2', '1', '09506000134352', 25)$$,
  $$VALUES (true, NULL::date)$$, 'a pooled reservation of 25');
SELECT results_eq($$SELECT location::text, promised_date - current_date FROM reserve('mkt', 'b1', '1', '09506000134352', 40,
                                                                                   due_date => current_date + 21)$$,
  $$VALUES ('0614141000012', 21)$$, 'a backorder of 40 for the purchase order''s date');
SELECT is(atp('09506000134352', channel => 'mkt'), 15::numeric, 'ATP: 80 - 10 safety stock - 55 pooled');
SELECT is((SELECT cumulative_atp FROM atp_schedule('09506000134352', 'mkt') ORDER BY period_start LIMIT 1), 15::numeric,
  'the schedule''s first period says 15');
SELECT is(max(cumulative_atp), 15::numeric, 'and cumulative ATP never reaches more')
  FROM atp_schedule('09506000134352', 'mkt', current_date, 8);
SELECT results_eq($$SELECT promisable, promise_date, available_now FROM promise('09506000134352', 'mkt', 30)$$,
  $$VALUES (false, NULL::date, 15::numeric)$$, 'promise(30): not promisable, no date within the horizon');
SELECT is(pg_temp.try_reserve('mkt', '09506000134352', 30, NULL), 'IS040', 'as reserve() says');
SELECT is(promise_date('09506000134352', 'mkt', 71, horizon_weeks => 8), NULL::date,
  'promise_date(71): no date (cumulative ATP never reaches 71)');
SELECT results_eq($$SELECT promisable, promise_date, location FROM promise('09506000134352', 'mkt', 15)$$,
  $$VALUES (true, current_date, NULL::gln)$$, 'promise(15): today, pooled');
SELECT is(pg_temp.try_reserve('mkt', '09506000134352', 15, NULL), 'stock pooled', 'and reserve() takes it from stock');

-- 2. What a backorder may borrow from today's stock -----------------------------------
-- A second purchase order of 30 in five weeks: a line of 45 is promised for that date
-- (15 of today's stock and the 30), and nothing earlier.
INSERT INTO supply (kind, item_gtin, location, quantity, due_date)
     VALUES ('purchase_order', '09506000134352', '0614141000012', 30, current_date + 35);
SELECT results_eq($$SELECT promisable, promise_date - current_date, location::text FROM promise('09506000134352', 'mkt', 45)$$,
  $$VALUES (false, 35, '0614141000012')$$, 'promise(45): in five weeks, when the second order arrives');
SELECT is(pg_temp.try_reserve('mkt', '09506000134352', 45, NULL), '35 0614141000012', 'reserve() promises the same date');
SELECT is(promise_date('09506000134352', 'mkt', 46), NULL::date, '46 would take the safety stock: no date');
SELECT is(pg_temp.try_reserve('mkt', '09506000134352', 46, NULL), 'IS040', 'reserve() refuses 46');
-- Without the pooled reservations the channel could promise 70 today, 95 in three
-- weeks... but a backorder never takes the channel's safety stock, whenever it is due.
SELECT lives_ok($$SELECT cancel_reservation(reservation_id) FROM reservation WHERE order_ref IN ('o1', 'o2')$$,
  'cancel the pooled reservations');
SELECT is(atp('09506000134352', channel => 'mkt'), 70::numeric, 'ATP 70');
SELECT results_eq($$SELECT promisable, promise_date - current_date FROM promise('09506000134352', 'mkt', 71)$$,
  $$VALUES (false, 35)$$, '71 is not promised today from the safety stock, but when supply covers it');
SELECT is(pg_temp.try_reserve('mkt', '09506000134352', 71, NULL), '35 0614141000012',
  'reserve() makes the same backorder (not one for today that eats the safety stock)');
SELECT is(promise_date('09506000134352', 'mkt', 101), NULL::date, '80 + 70 - 40 - 10 safety stock = 100 at most');

-- 3. atp_schedule ------------------------------------------------------------------------
-- A reservation held against stock is demand in the first period whatever its due date
-- (it holds today's stock); a backorder is demand in the period of its promised date.
INSERT INTO item (gtin, name) VALUES ('09506000134369', 'S');
INSERT INTO location (gln, name, kind) VALUES ('0614141000029', 'Store', 'store');
INSERT INTO channel (channel, name, allow_backorder) VALUES ('web', 'Web', true), ('pos', 'Store online', false);
INSERT INTO channel_location VALUES ('web', '0614141000012', 1), ('web', '0614141000029', 2), ('pos', '0614141000029', 1);
SELECT pg_temp.rcv('s1', '09506000134369', '0614141000012', 20);
SELECT pg_temp.rcv('s2', '09506000134369', '0614141000029', 6);
INSERT INTO supply (kind, item_gtin, location, quantity, due_date)
     VALUES ('purchase_order', '09506000134369', '0614141000012', 30, current_date + 14);
SELECT is((reserve('web', 'w1', '1', '09506000134369', 8, due_date => current_date + 40)).location, '0614141000012'::gln,
  'a reservation due in six weeks, held at the DC');
SELECT is((reserve('web', 'w2', '1', '09506000134369', 4, '0614141000029', due_date => current_date + 20)).location,
  '0614141000029'::gln, 'one due in three weeks, held at the store');
SELECT is((reserve('web', 'w3', '1', '09506000134369', 35)).promised_date, current_date + 14,
  'a backorder of 35 for the purchase order''s date');
SELECT results_eq($$SELECT period_start - current_date, supply, demand, discrete_atp, cumulative_atp
                     FROM atp_schedule('09506000134369', 'web', current_date, 4)$$,
  $$VALUES (0, 26::numeric, 12::numeric, 9::numeric, 9::numeric), (7, 0, 0, 0, 9), (14, 30, 35, 0, 9), (21, 0, 0, 0, 9)$$,
  'held reservations in the first period, the backorder in its own, borrowing 5 of today''s stock (backward consumption)');
SELECT is(atp('09506000134369', channel => 'web'), 9::numeric, 'the first period is what atp() says');
SELECT is((SELECT cumulative_atp FROM atp_schedule('09506000134369', 'web', current_date - 1, 1, '1 day')),
  atp('09506000134369', channel => 'web'), 'a one-day period before today is exactly atp(): stock now');
-- Backward consumption is applied day by day: a backorder promised before a receipt of
-- the same period takes earlier stock.
INSERT INTO supply (kind, item_gtin, location, quantity, due_date)
     VALUES ('purchase_order', '09506000134369', '0614141000012', 4, current_date + 3),
            ('purchase_order', '09506000134369', '0614141000012', 10, current_date + 12);
SELECT is(atp('09506000134369', channel => 'web'), 14::numeric, 'the new orders cover what the backorder borrowed');
SELECT is((reserve('web', 'w4', '1', '09506000134369', 16, due_date => current_date + 8)).promised_date, current_date + 8,
  'a backorder of 16 for day 8: the 12 left at the DC and the 4 of day 3');
SELECT results_eq($$SELECT period_start - current_date, supply, demand, discrete_atp, cumulative_atp
                     FROM atp_schedule('09506000134369', 'web', current_date, 3)$$,
  $$VALUES (0, 30::numeric, 12::numeric, 2::numeric, 2::numeric), (7, 10, 16, 5, 7), (14, 30, 35, 0, 7)$$,
  'the first week keeps only the store''s 2: day 8 takes the DC''s stock before day 12''s receipt');
SELECT results_eq($$SELECT promisable, promise_date - current_date, location::text FROM promise('09506000134369', 'web', 3)$$,
  $$VALUES (false, 12, '0614141000012')$$, 'promise(3): from day 12, at the DC');
SELECT is(pg_temp.try_reserve('web', '09506000134369', 3, NULL), '12 0614141000012', 'reserve() promises the same');
SELECT is(promise_date('09506000134369', 'web', 6), NULL::date,
  'a line is held at one location: 6 fits none, though the channel''s cumulative ATP is 7');
SELECT is(pg_temp.try_reserve('web', '09506000134369', 6, current_date + 30), 'IS040', 'reserve() refuses 6');
SELECT results_eq($$SELECT promisable, promise_date, location FROM promise('09506000134369', 'pos', 2)$$,
  $$VALUES (true, current_date, '0614141000029'::gln)$$,
  'the store''s own channel still has 2 (the store''s stock less the reservation held there)');
SELECT is(pg_temp.try_reserve('pos', '09506000134369', 2, NULL), 'stock 0614141000029', 'and reserve() agrees');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises()');

-- 4. Generated scenarios ----------------------------------------------------------------
-- Each scenario is built in a savepoint and rolled back: one to four locations, one or two
-- channels over random subsets of them (dedicated or sharing), with or without backorders,
-- channel and location safety stock, lot-tracked items with expired lots and lots inside
-- the channel's minimum shelf life, stock outside sellable buckets, purchase orders (some
-- overdue, some beyond the horizon), stock in transit with an ETA, reservations placed at
-- a location, anywhere (pooled in a dedicated channel) and backordered with due dates,
-- facts that take promised stock, and cancellations. Then, for each channel, quantity and
-- wanted date: promise() against reserve() in a savepoint.
CREATE FUNCTION pg_temp.rnd(lo integer, hi integer) RETURNS integer LANGUAGE sql AS
  $$ SELECT lo + floor(random() * (hi - lo + 1))::integer $$;

-- What a reservation may not take below zero (unless it already was): the channel's
-- stock less its safety stock and pooled reservations (atp() before it is clamped at the
-- safety stock), then each of its locations' ATP.
CREATE FUNCTION pg_temp.atp_parts(g inventory_sync.gtin, c text) RETURNS numeric[] LANGUAGE sql AS $$
  WITH l AS (SELECT cl.location, inventory_sync._location_atp(g, cl.location, ch.min_shelf_life_days) AS atp
               FROM inventory_sync.channel_location cl JOIN inventory_sync.channel ch ON ch.channel = cl.channel
              WHERE cl.channel = c)
  SELECT (SELECT sum(greatest(l.atp, 0)) FROM l) - inventory_sync._channel_safety(c, g) - inventory_sync._channel_pool(c, g)
         || (SELECT array_agg(l.atp ORDER BY l.location) FROM l) $$;

CREATE TEMP TABLE generated (kind text, checks integer, problems text[]);

CREATE FUNCTION pg_temp.scenario(n integer) RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
  g inventory_sync.gtin := gtin_complete('9506000' || lpad(n::text, 5, '0'));
  locs inventory_sync.gln[] := '{}';
  nloc integer;
  chans text[] := ARRAY['c1'];
  tracked boolean;
  lots text[] := ARRAY['A', 'B', 'C', 'D'];
  c text;
  l inventory_sync.gln;
  i integer;
  k integer;
  q numeric;
  w date;
  qs numeric[];
  ws date[];
  p record;
  answer text;
  expected text;
  backorder boolean;
  atp_now numeric;
  cum numeric[];
  before numeric[];
  after numeric[];
  chan_locs inventory_sync.gln[];
  checks integer[] := ARRAY[0, 0, 0, 0, 0];
  bad text[] := '{}';
  bad_h text[] := '{}';
  bad_s text[] := '{}';
  bad_o text[] := '{}';
  bad_v text[] := '{}';
BEGIN
  PERFORM setseed(n / 10000.0);
  nloc := pg_temp.rnd(1, 4);
  tracked := random() < 0.4;
  BEGIN
    -- master data
    INSERT INTO inventory_sync.item (gtin, name, lot_tracked) VALUES (g, 'generated ' || n, tracked);
    FOR i IN 1..nloc LOOP
      l := gln_complete('0614141' || lpad((900 + i)::text, 5, '0'));
      locs := locs || l;
      INSERT INTO inventory_sync.location (gln, name, kind) VALUES (l, 'L' || i, CASE WHEN i = 1 THEN 'warehouse' ELSE 'store' END::inventory_sync.location_kind);
    END LOOP;
    IF random() < 0.6 THEN chans := chans || 'c2'::text; END IF;
    FOREACH c IN ARRAY chans LOOP
      INSERT INTO inventory_sync.channel (channel, name, allow_backorder, safety_stock, min_shelf_life_days)
           VALUES (c, c, random() < 0.6, CASE WHEN random() < 0.5 THEN 0 ELSE pg_temp.rnd(1, 4) END,
                   CASE WHEN tracked AND random() < 0.5 THEN 3 ELSE 0 END);
      k := 0;
      FOR i IN 1..nloc LOOP
        IF random() < 0.6 THEN
          INSERT INTO inventory_sync.channel_location VALUES (c, locs[i], pg_temp.rnd(1, 3));
          k := k + 1;
        END IF;
      END LOOP;
      IF k = 0 THEN
        INSERT INTO inventory_sync.channel_location VALUES (c, locs[pg_temp.rnd(1, nloc)], 1);
      END IF;
      IF random() < 0.2 THEN
        INSERT INTO inventory_sync.channel_safety_stock VALUES (c, g, pg_temp.rnd(0, 5));
      END IF;
    END LOOP;
    IF tracked THEN
      INSERT INTO inventory_sync.lot (item_gtin, lot, expiry) VALUES (g, 'A', current_date - 1), (g, 'B', current_date + 2),
        (g, 'C', current_date + 40), (g, 'D', NULL);
    END IF;
    -- stock, safety stock, expected supply
    FOR i IN 1..nloc LOOP
      IF random() < 0.25 THEN
        INSERT INTO inventory_sync.safety_stock VALUES (g, locs[i], pg_temp.rnd(1, 4));
      END IF;
      FOR k IN 1..pg_temp.rnd(0, 2) LOOP
        INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, lot, quantity)
             VALUES ('receipt', 'wms', format('g%s-%s-%s', n, i, k), g, locs[i],
                     CASE WHEN random() < 0.15 THEN 'qa_hold' ELSE 'released' END,
                     CASE WHEN tracked THEN lots[pg_temp.rnd(1, 4)] END, pg_temp.rnd(1, 25));
      END LOOP;
      FOR k IN 1..pg_temp.rnd(0, 2) LOOP
        INSERT INTO inventory_sync.supply (kind, item_gtin, location, quantity, due_date)
             VALUES ('purchase_order', g, locs[i], pg_temp.rnd(1, 30),
                     current_date + CASE WHEN random() < 0.1 THEN 200 ELSE pg_temp.rnd(-3, 45) END);
      END LOOP;
    END LOOP;
    IF NOT tracked AND random() < 0.4 THEN
      INSERT INTO inventory_sync.location (gln, name, kind) VALUES (gln_complete('061414199999'), 'T', 'in_transit');
      INSERT INTO inventory_sync.transit_route VALUES (gln_complete('061414199999'), locs[pg_temp.rnd(1, nloc)]);
      INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, to_location, quantity, eta)
           VALUES ('transfer_out', 'wms', format('g%s-t', n), g, locs[pg_temp.rnd(1, nloc)], gln_complete('061414199999'),
                   pg_temp.rnd(1, 6), now() + make_interval(days => pg_temp.rnd(0, 10)));
    END IF;
    -- reservations: anywhere, at a location, backorders with due dates
    FOR k IN 1..pg_temp.rnd(0, 6) LOOP
      c := chans[pg_temp.rnd(1, array_length(chans, 1))];
      BEGIN
        PERFORM inventory_sync.reserve(c, 'r' || k, '1', g, pg_temp.rnd(1, 20),
                  CASE WHEN random() < 0.3 THEN (SELECT (array_agg(cl.location ORDER BY cl.location))[pg_temp.rnd(1, count(*)::integer)]
                                                   FROM inventory_sync.channel_location cl WHERE cl.channel = c) END,
                  due_date => CASE WHEN random() < 0.5 THEN current_date + pg_temp.rnd(0, 40) END);
      EXCEPTION WHEN SQLSTATE 'IS040' THEN NULL;
      END;
    END LOOP;
    -- facts that take promised stock, and a cancellation
    IF random() < 0.25 THEN
      INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, lot, quantity)
           VALUES ('issue', 'wms', format('g%s-i', n), g, locs[pg_temp.rnd(1, nloc)], 'released',
                   CASE WHEN tracked THEN 'C' END, pg_temp.rnd(1, 15));
    END IF;
    IF random() < 0.2 THEN
      PERFORM inventory_sync.cancel_reservation(v.reservation_id)
         FROM inventory_sync.reservation v WHERE v.item_gtin = g AND v.status = 'open' ORDER BY v.reservation_id LIMIT 1;
    END IF;
    IF EXISTS (SELECT FROM inventory_sync.verify_promises()) THEN
      bad_v := bad_v || format('scenario %s: verify_promises() after set-up', n);
    END IF;
    checks[5] := checks[5] + 1;

    FOREACH c IN ARRAY chans LOOP
      SELECT ch.allow_backorder INTO backorder FROM inventory_sync.channel ch WHERE ch.channel = c;
      SELECT array_agg(cl.location ORDER BY cl.location) INTO chan_locs FROM inventory_sync.channel_location cl WHERE cl.channel = c;
      atp_now := inventory_sync.atp(g, channel => c);
      before := pg_temp.atp_parts(g, c);
      -- day by day: the first one-day period, yesterday, is stock now
      SELECT array_agg(s.cumulative_atp ORDER BY s.period_start) INTO cum
        FROM inventory_sync.atp_schedule(g, c, current_date - 1, 60, interval '1 day') s;
      checks[3] := checks[3] + 1;
      IF cum[1] IS DISTINCT FROM atp_now THEN
        bad_s := bad_s || format('scenario %s, %s: atp() %s, first day of the schedule %s', n, c, atp_now, cum[1]);
      END IF;
      FOR i IN 2..60 LOOP
        IF cum[i] < cum[i - 1] THEN
          bad_s := bad_s || format('scenario %s, %s: cumulative ATP falls on day %s: %s', n, c, i - 2, cum);
          EXIT;
        END IF;
      END LOOP;
      qs := ARRAY[1, 2, 3, 5, 8, 13, 21, 34, 55]::numeric[];
      IF atp_now > 0 THEN qs := qs || atp_now || atp_now + 1; END IF;
      ws := ARRAY[current_date, current_date + 7, current_date + pg_temp.rnd(-3, 50)];   -- a past date means today
      FOREACH w IN ARRAY ws LOOP
        FOREACH q IN ARRAY qs LOOP
          SELECT * INTO p FROM inventory_sync.promise(g, c, q, w);
          -- reserve() in a savepoint; on success, nothing it leaves may be oversold
          BEGIN
            SELECT coalesce((r.promised_date - current_date)::text, 'stock') || ' ' || coalesce(r.location::text, 'pooled')
              INTO answer
              FROM inventory_sync.reserve(c, 'try', q::text || '@' || w, g, q, due_date => w) r;
            after := pg_temp.atp_parts(g, c);
            checks[4] := checks[4] + 1;
            FOR i IN 1..array_length(after, 1) LOOP
              IF after[i] < least(0, before[i]) THEN
                bad_o := bad_o || format('scenario %s, %s: %s for %s took %s from %s to %s', n, c, q, w,
                                         CASE WHEN i = 1 THEN 'what the channel may promise now' ELSE chan_locs[i - 1]::text END,
                                         before[i], after[i]);
              END IF;
            END LOOP;
            IF checks[4] % 10 = 0 AND EXISTS (SELECT FROM inventory_sync.verify_promises()) THEN
              bad_v := bad_v || format('scenario %s, %s: verify_promises() after reserving %s for %s', n, c, q, w);
            END IF;
            checks[5] := checks[5] + (checks[4] % 10 = 0)::integer;
            RAISE SQLSTATE 'IST99';
          EXCEPTION
            WHEN SQLSTATE 'IST99' THEN NULL;
            WHEN SQLSTATE 'IS040' THEN answer := 'IS040';
          END;
          -- what promise() says reserve() does: from stock when the line fits what the
          -- channel has now (anywhere, or at the location named), else a backorder
          expected := CASE WHEN p.promisable THEN
                             CASE WHEN p.location IS NULL OR q <= inventory_sync.atp(g, p.location, c) THEN 'stock'
                                  ELSE (p.promise_date - current_date)::text END
                             || ' ' || coalesce(p.location::text, 'pooled')
                           WHEN backorder AND p.promise_date IS NOT NULL THEN
                             (p.promise_date - current_date)::text || ' ' || coalesce(p.location::text, 'pooled')
                           ELSE 'IS040' END;
          checks[1] := checks[1] + 1;
          IF answer IS DISTINCT FROM expected THEN
            bad := bad || format('scenario %s, %s (backorder %s): %s wanted in %s days: promise() %s, reserve() %s', n, c,
                                 backorder, q, w - current_date, p, answer);
          END IF;
          IF p.available_now IS DISTINCT FROM inventory_sync.atp(g, channel => c) THEN
            bad := bad || format('scenario %s, %s: available_now %s, atp() %s', n, c, p.available_now, inventory_sync.atp(g, channel => c));
          END IF;
          -- a date is never promised before the channel's cumulative ATP covers the line
          checks[3] := checks[3] + coalesce(p.promise_date - current_date + 2 <= 60, false)::integer;
          IF p.promise_date IS NOT NULL AND p.promise_date - current_date + 2 <= 60
             AND cum[p.promise_date - current_date + 2] < q THEN
            bad_s := bad_s || format('scenario %s, %s: %s promised for %s, cumulative ATP there %s', n, c, q, p.promise_date,
                                     cum[p.promise_date - current_date + 2]);
          END IF;
          -- promise_date() is promise()'s date within its horizon
          FOREACH k IN ARRAY ARRAY[(ARRAY[0, 2, 26])[pg_temp.rnd(1, 3)]] LOOP
            checks[2] := checks[2] + 1;
            IF inventory_sync.promise_date(g, c, q, w, k) IS DISTINCT FROM
               (CASE WHEN p.promise_date <= greatest(w, current_date) + 7 * k THEN p.promise_date END) THEN
              bad_h := bad_h || format('scenario %s, %s: %s wanted %s within %s weeks: promise_date() %s, promise() %s', n, c,
                                       q, w, k, inventory_sync.promise_date(g, c, q, w, k), p.promise_date);
            END IF;
          END LOOP;
        END LOOP;
      END LOOP;
    END LOOP;
    RAISE SQLSTATE 'IST99';   -- the scenario leaves nothing behind
  EXCEPTION WHEN SQLSTATE 'IST99' THEN NULL;
  END;
  INSERT INTO generated VALUES ('promise', checks[1], bad), ('horizon', checks[2], bad_h), ('schedule', checks[3], bad_s),
                               ('oversell', checks[4], bad_o), ('verify', checks[5], bad_v);
END $$;

SELECT pg_temp.scenario(n) FROM generate_series(1, 60) n;

SELECT diag(kind || ': ' || sum(checks) || ' checks in 60 scenarios, ' || sum(coalesce(array_length(problems, 1), 0)) || ' problems')
  FROM generated GROUP BY kind ORDER BY kind;
SELECT is((SELECT array_agg(x) FROM (SELECT unnest(problems) x FROM generated WHERE kind = 'promise' LIMIT 10) t), NULL,
  'promise() is promisable exactly when reserve() succeeds for that date, with its date and location');
SELECT is((SELECT array_agg(x) FROM (SELECT unnest(problems) x FROM generated WHERE kind = 'horizon' LIMIT 10) t), NULL,
  'promise_date() is promise()''s date within the horizon');
SELECT is((SELECT array_agg(x) FROM (SELECT unnest(problems) x FROM generated WHERE kind = 'schedule' LIMIT 10) t), NULL,
  'the daily schedule starts at atp(), never falls, and covers every promised date');
SELECT is((SELECT array_agg(x) FROM (SELECT unnest(problems) x FROM generated WHERE kind = 'oversell' LIMIT 10) t), NULL,
  'no reservation takes a channel or a location below zero');
SELECT is((SELECT array_agg(x) FROM (SELECT unnest(problems) x FROM generated WHERE kind = 'verify' LIMIT 10) t), NULL,
  'verify_promises() stays empty');
SELECT cmp_ok((SELECT sum(checks) FROM generated WHERE kind = 'promise')::integer, '>=', 2000,
  'thousands of promise() / reserve() pairs were compared');

SELECT * FROM finish();
ROLLBACK;
