-- pgTAP: what a change of channel membership computes again. It recomputes the channels
-- whose locations changed, the pairs where pools were placed and the channels at the
-- locations named whose "dedicated" changed; a channel selling only from other locations
-- is not rewritten. Pools are placed from the stored location ATP, computed again where
-- no value of today is stored. After every change verify_promises() is empty.
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(37);

-- Items: E, F. Locations: S1, S2 (shop's stores), S3 (solo's store), D (a DC shared by
-- web and mkt).
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E'), ('09506000134369', 'F');
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'S1', 'store'), ('0614141000029', 'S2', 'store'),
  ('0614141000036', 'S3', 'store'), ('0614141000043', 'D', 'warehouse');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user), ('oms', 'OMS', 'oms', current_user);
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('shop', 'Shop', 'oms'), ('solo', 'Solo', 'oms'),
  ('web', 'Web', 'oms'), ('mkt', 'Marketplace', 'oms');
INSERT INTO channel_location VALUES ('shop', '0614141000012', 1), ('shop', '0614141000029', 2),
  ('solo', '0614141000036', 1), ('web', '0614141000043', 1), ('mkt', '0614141000043', 1);
CREATE FUNCTION pg_temp.rcv(eid text, g text, l text, q numeric)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, q) $$;
-- every channel ATP row's version and every state row, to compare before and after
CREATE FUNCTION pg_temp.rows_of(c text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(format('%s/%s/%s/%s/%s', a.item_gtin, a.atp, a.version, s.stock, s.dedicated), ' ' ORDER BY a.item_gtin)
    FROM inventory_sync.channel_atp a
    LEFT JOIN inventory_sync.channel_atp_state s ON s.channel = a.channel AND s.item_gtin = a.item_gtin
   WHERE a.channel = c $$;

SELECT pg_temp.rcv('r1', '09506000134352', '0614141000012', 4);
SELECT pg_temp.rcv('r2', '09506000134352', '0614141000029', 8);
SELECT pg_temp.rcv('r3', '09506000134369', '0614141000012', 5);
SELECT pg_temp.rcv('r4', '09506000134352', '0614141000036', 6);
SELECT pg_temp.rcv('r5', '09506000134369', '0614141000036', 2);
SELECT pg_temp.rcv('r6', '09506000134352', '0614141000043', 9);
SELECT lives_ok($$SELECT reserve('solo', 'so1', '1', '09506000134352', 2)$$, 'solo holds a pooled reservation');
SELECT lives_ok($$SELECT reserve('shop', 'sh1', '1', '09506000134352', 3)$$, 'shop holds a pooled reservation of 3');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() before the changes');
CREATE TEMP TABLE solo_before AS SELECT pg_temp.rows_of('solo') AS rows,
  (SELECT count(*) FROM channel_atp_change WHERE channel = 'solo') AS changes;

-- A new channel at the DC ----------------------------------------------------------------
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('app', 'App', 'oms');
SELECT lives_ok($$INSERT INTO channel_location VALUES ('app', '0614141000043', 1)$$, 'app joins the DC');
SELECT is((SELECT atp FROM channel_atp WHERE channel = 'app' AND item_gtin = '09506000134352'), 9::numeric,
  'app publishes the DC''s ATP');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after app joined');
SELECT is((SELECT pg_temp.rows_of('solo')), (SELECT rows FROM solo_before), 'solo, at none of the locations named, is not rewritten');

-- A stale stored value is not trusted: shop's pool goes where the ATP is now ---------------
-- (S1's stored ATP as if computed yesterday and far too high; S2 holds the most now)
UPDATE location_atp SET atp = 100, computed_on = current_date - 1
 WHERE item_gtin = '09506000134352' AND location = '0614141000012';
SELECT lives_ok($$INSERT INTO channel_location VALUES ('web', '0614141000012', 5)$$, 'web starts selling from S1');
SELECT is((SELECT location FROM reservation WHERE order_ref = 'sh1'), '0614141000029'::gln,
  'the pool goes to S2 (8 now), not to S1 (4 now, 100 as stored yesterday)');
SELECT ok(NOT channel_is_dedicated('shop'), 'shop is no longer dedicated');
SELECT is((SELECT count(*) FROM channel_atp_state WHERE channel = 'shop' AND dedicated), 0::bigint,
  'every item of shop is published as not dedicated, the one without a pool too');
SELECT is((SELECT atp FROM location_atp WHERE item_gtin = '09506000134352' AND location = '0614141000012'
            AND min_shelf_life_days = 0), 4::numeric, 'S1''s stored ATP is computed again');
SELECT is((SELECT atp FROM channel_atp WHERE channel = 'shop' AND item_gtin = '09506000134352'), 9::numeric,
  'shop: 4 at S1 and 5 left at S2');
SELECT is((SELECT atp FROM channel_atp WHERE channel = 'web' AND item_gtin = '09506000134352'), 13::numeric,
  'web: 9 at the DC and 4 at S1');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after web joined S1');
SELECT is((SELECT pg_temp.rows_of('solo')), (SELECT rows FROM solo_before), 'solo is not rewritten');

-- Priority only, then leaving --------------------------------------------------------------
SELECT lives_ok($$UPDATE channel_location SET priority = 7 WHERE channel = 'web' AND location = '0614141000012'$$,
  'a change of priority');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after it');
SELECT lives_ok($$DELETE FROM channel_location WHERE channel = 'web' AND location = '0614141000012'$$,
  'web stops selling from S1');
SELECT ok(channel_is_dedicated('shop'), 'shop is dedicated again');
SELECT is((SELECT count(*) FROM channel_atp_state WHERE channel = 'shop' AND NOT dedicated), 0::bigint,
  'every item of shop is published as dedicated again');
SELECT is((SELECT atp FROM channel_atp WHERE channel = 'web' AND item_gtin = '09506000134352'), 9::numeric,
  'web: the DC alone');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after web left S1');

-- A shelf-life rule of its own ------------------------------------------------------------
INSERT INTO channel (channel, name, fulfilment_source, min_shelf_life_days) VALUES ('fresh', 'Fresh', 'oms', 30);
SELECT lives_ok($$INSERT INTO channel_location VALUES ('fresh', '0614141000043', 1), ('fresh', '0614141000036', 2)$$,
  'a channel with its own shelf-life rule joins the DC and solo''s store');
SELECT is((SELECT count(*) FROM location_atp WHERE min_shelf_life_days = 30 AND location = '0614141000036'), 2::bigint,
  'its location ATP is stored at both locations');
SELECT ok(NOT channel_is_dedicated('solo'), 'solo shares its store now');
SELECT is((SELECT location FROM reservation WHERE order_ref = 'so1'), '0614141000036'::gln, 'and its pool is held there');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after fresh joined');
SELECT lives_ok($$DELETE FROM channel WHERE channel = 'fresh'$$, 'the channel goes (its locations with it)');
SELECT is((SELECT count(*) FROM location_atp WHERE min_shelf_life_days = 30), 0::bigint,
  'the location ATP only it summed goes too');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after fresh went');

-- Where pools go ---------------------------------------------------------------------------
-- pool sells from T1 (priority 2), T2 (priority 1) and T3 (priority 2) alone; when "other"
-- joins T3, each pooled reservation is placed: per item, the locations in order of ATP
-- (then priority, then location) lay their ATP end to end, the reservations in order of id
-- theirs, and each goes to the stretch that holds all of it; one that straddles two goes
-- where the most is left.
INSERT INTO item (gtin, name) VALUES ('09506000134413', 'G'), ('09506000134420', 'H'), ('09506000134437', 'K');
INSERT INTO location (gln, name, kind) VALUES ('0614141000050', 'T1', 'store'), ('0614141000067', 'T2', 'store'),
  ('0614141000074', 'T3', 'store');
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('pool', 'Pool', 'oms'), ('other', 'Other', 'oms');
INSERT INTO channel_location VALUES ('pool', '0614141000050', 2), ('pool', '0614141000067', 1),
  ('pool', '0614141000074', 2);
-- G: 5, 5, 3 (T1 and T2 tie on ATP); H: 5, 0, 5 (T1 and T3 tie on ATP and priority);
-- K: 4, 3, 2 (no location holds the whole pool of 7)
SELECT pg_temp.rcv('g1', '09506000134413', '0614141000050', 5), pg_temp.rcv('g2', '09506000134413', '0614141000067', 5),
       pg_temp.rcv('g3', '09506000134413', '0614141000074', 3), pg_temp.rcv('h1', '09506000134420', '0614141000050', 5),
       pg_temp.rcv('h3', '09506000134420', '0614141000074', 5), pg_temp.rcv('k1', '09506000134437', '0614141000050', 4),
       pg_temp.rcv('k2', '09506000134437', '0614141000067', 3), pg_temp.rcv('k3', '09506000134437', '0614141000074', 2);
DO $$ BEGIN
  PERFORM reserve('pool', o, '1', g::gtin, q)
     FROM (VALUES ('pg1', '09506000134413', 2), ('pg2', '09506000134413', 2), ('ph1', '09506000134420', 4),
                  ('pk1', '09506000134437', 3), ('pk2', '09506000134437', 2), ('pk3', '09506000134437', 2)) v(o, g, q)
    ORDER BY o;
END $$;
SELECT lives_ok($$INSERT INTO channel_location VALUES ('other', '0614141000074', 1)$$, 'other joins T3');
SELECT results_eq($$SELECT order_ref, location FROM reservation WHERE order_ref IN ('pg1', 'pg2') ORDER BY 1$$,
  $$VALUES ('pg1'::text, '0614141000067'::gln), ('pg2', '0614141000067')$$,
  'G: the whole pool at T2, which ties with T1 on ATP and comes first by priority');
SELECT is((SELECT location FROM reservation WHERE order_ref = 'ph1'), '0614141000050'::gln,
  'H: at T1, which ties with T3 on ATP and priority and comes first by location');
SELECT results_eq($$SELECT order_ref, location FROM reservation WHERE order_ref LIKE 'pk_' ORDER BY 1$$,
  $$VALUES ('pk1'::text, '0614141000050'::gln), ('pk2', '0614141000074'), ('pk3', '0614141000067')$$,
  'K: 3 within T1''s 4, the next 2 straddling T1 and T2 go where most is left (T3), the last 2 within T2''s 3');
SELECT is((SELECT sum(reserved) FROM promise_key WHERE item_gtin = '09506000134437'), 7::numeric,
  'K: the promise keys hold all 7');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after the pools were placed');

SELECT * FROM finish();
ROLLBACK;
