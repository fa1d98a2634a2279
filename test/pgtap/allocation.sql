-- pgTAP: backorders filled from stock by allocate_backorders(): promised-date then
-- first-come order, partial stock filling the first ones only, stock promised otherwise
-- left alone, the fills on the change log, verify_promises(), and hostile callers.
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(37);

-- Item E; a DC shared by 'web' (no backorders) and 'mkt' (backorders); a store of 'app'
-- (dedicated, backorders); item F elsewhere.
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E'), ('09506000134369', 'F');
INSERT INTO location (gln, name, kind) VALUES ('0614141000036', 'D', 'warehouse'), ('0614141000012', 'S', 'store');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('web', 'Web');
INSERT INTO channel (channel, name, allow_backorder) VALUES ('mkt', 'Marketplace', true), ('app', 'App', true);
INSERT INTO channel_location VALUES ('web', '0614141000036', 1), ('mkt', '0614141000036', 1), ('app', '0614141000012', 1);
CREATE FUNCTION pg_temp.rcv(eid text, l text, q numeric, g text DEFAULT '09506000134352')
RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, q) $$;
CREATE FUNCTION pg_temp.waiting(c text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(order_ref, ',' ORDER BY order_ref), '') FROM inventory_sync.reservation
   WHERE channel = c AND status = 'open' AND promised_date IS NOT NULL $$;

-- Backorders at the DC: 2 on hand, 40 on order in 15 days ------------------------------
SELECT pg_temp.rcv('r1', '0614141000036', 2);
INSERT INTO supply (kind, item_gtin, location, quantity, due_date)
     VALUES ('purchase_order', '09506000134352', '0614141000036', 40, current_date + 15);
SELECT is((SELECT promised_date - current_date FROM reserve('mkt', 'B1', '1', '09506000134352', 5)), 15,
          'B1: a backorder for the purchase order''s date');
SELECT is((SELECT promised_date - current_date
             FROM reserve('mkt', 'B2', '1', '09506000134352', 4, due_date => current_date + 20)), 20,
          'B2: wanted later, promised later');
SELECT is((SELECT promised_date - current_date FROM reserve('mkt', 'B3', '1', '09506000134352', 3)), 15,
          'B3: the same date as B1, asked after it');
SELECT is(atp('09506000134352', channel => 'web'), 2::numeric, 'the 2 on hand stay promisable');
SELECT is(allocate_backorders(), 0, 'nothing to fill from 2 units: B1 (5) is first and does not fit');
SELECT is(pg_temp.waiting('mkt'), 'B1,B2,B3', 'every backorder still waits');

-- 6 units arrive and the purchase order shrinks by them: 8 on hand fills B1 and B3 -----
SELECT pg_temp.rcv('r2', '0614141000036', 6);
UPDATE supply SET quantity = 34;
SELECT is(atp('09506000134352', channel => 'web'), 8::numeric, 'before: 8 promisable');
SELECT is(allocate_backorders('09506000134352'), 2, 'two filled');
SELECT is(pg_temp.waiting('mkt'), 'B2', 'B1 and B3 (promised for day 15) filled; B2 (day 20, 4 units) waits');
SELECT results_eq($$SELECT r.order_ref, f.promised_date - current_date, f.quantity
                     FROM backorder_fill f JOIN reservation r USING (reservation_id) ORDER BY f.reservation_id$$,
                  $$VALUES ('B1', 15, 5::numeric), ('B3', 15, 3::numeric)$$,
                  'backorder_fill keeps the dates they had been promised');
SELECT results_eq($$SELECT r.order_ref, c.delta, c.open_after FROM reservation_change c
                     JOIN reservation r USING (reservation_id) WHERE c.action = 'allocate' ORDER BY c.change_id$$,
                  $$VALUES ('B1', 0::numeric, 5::numeric), ('B3', 0::numeric, 3::numeric)$$,
                  'each fill is a reservation change (allocate, delta 0), in fill order');
SELECT is((SELECT reserved FROM promise_key WHERE location = '0614141000036'), 8::numeric,
          'the filled ones are held from stock at the DC');
SELECT is(atp('09506000134352', channel => 'web'), 0::numeric, 'after: nothing left to promise');
SELECT is((SELECT atp FROM channel_atp WHERE channel = 'web'), 0::numeric, 'published with it');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after the fills');
SELECT throws_ok($$SELECT reserve('web', 'W1', '1', '09506000134352', 1)$$, 'IS040', NULL,
                 'the filled stock is not promised again');

-- Stock promised from stock is not taken: 2 more arrive, web holds 1 of them ----------
SELECT pg_temp.rcv('r3', '0614141000036', 2);
SELECT is((SELECT quantity FROM reserve('web', 'W2', '1', '09506000134352', 1, '0614141000036')), 1::numeric,
          'web holds 1 at the DC');
SELECT is(allocate_backorders(location => '0614141000036'), 0, 'B2 (4) does not fit the 1 left');
SELECT pg_temp.rcv('r4', '0614141000036', 3);
SELECT is(allocate_backorders(location => '0614141000036'), 1, 'with 4 left it does');
SELECT is(pg_temp.waiting('mkt'), '', 'no backorder waits');
SELECT is((SELECT open_quantity FROM reservation WHERE order_ref = 'W2'), 1::numeric, 'web''s line still holds');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after the second fill');
SELECT is(allocate_backorders(), 0, 'again: nothing waits');

-- A dedicated channel's pooled reservations are not taken ------------------------------
INSERT INTO supply (kind, item_gtin, location, quantity, due_date)
     VALUES ('purchase_order', '09506000134352', '0614141000012', 10, current_date + 5);
SELECT pg_temp.rcv('r5', '0614141000012', 3);
SELECT ok((SELECT location IS NULL FROM reserve('app', 'P1', '1', '09506000134352', 3)), 'app pools 3 from stock');
SELECT is((SELECT promised_date - current_date FROM reserve('app', 'P2', '1', '09506000134352', 2)), 5,
          'then backorders 2');
SELECT pg_temp.rcv('r6', '0614141000012', 1);
SELECT is(allocate_backorders(), 0, 'one more unit does not cover the backorder of 2 beside the pool');
SELECT pg_temp.rcv('r7', '0614141000012', 1);
SELECT is(allocate_backorders(), 1, 'two do');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() with a pool');

-- Hostile callers ------------------------------------------------------------------------
SELECT is(allocate_backorders('09506000134369'), 0, 'an item with no backorder: none');
SELECT throws_ok($$SELECT allocate_backorders('09506000134376')$$, '23503', NULL, 'unknown item');
SELECT throws_ok($$SELECT allocate_backorders('09506000134375')$$, '22P02', NULL, 'a bad check digit is no gtin');
SELECT throws_ok($$SELECT allocate_backorders(location => '0614141000043')$$, '23503', NULL, 'unknown location');
-- Another channel's protection is not taken: web protects 3 of F at the DC -------------
INSERT INTO channel_protection VALUES ('web', '09506000134369', '0614141000036', 3);
INSERT INTO supply (kind, item_gtin, location, quantity, due_date)
     VALUES ('purchase_order', '09506000134369', '0614141000036', 10, current_date + 10);
SELECT is((SELECT promised_date - current_date FROM reserve('mkt', 'F1', '1', '09506000134369', 2)), 10,
          'a backorder of 2 F at the DC');
-- mkt then sells from a second warehouse with 5 F: its channel ATP alone would let the fill through
INSERT INTO location (gln, name, kind) VALUES ('0614141000043', 'E', 'warehouse');
INSERT INTO channel_location VALUES ('mkt', '0614141000043', 2);
SELECT pg_temp.rcv('f0', '0614141000043', 5, '09506000134369');
SELECT pg_temp.rcv('f1', '0614141000036', 4, '09506000134369');
SELECT is(allocate_backorders('09506000134369'), 0, '4 at the DC, 3 of them web''s: the backorder of 2 waits');
SELECT pg_temp.rcv('f2', '0614141000036', 1, '09506000134369');
-- mkt is at its cap: the backorder counts in it already, and filling it changes nothing there
INSERT INTO channel_cap VALUES ('mkt', '09506000134369', 2);
SELECT is(allocate_backorders('09506000134369'), 1, 'with 2 not protected it is filled (mkt at its cap)');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() with a protection');

CREATE ROLE is_tap_alloc_reader NOLOGIN IN ROLE inventory_sync_reader;
SET ROLE is_tap_alloc_reader;
SELECT throws_ok($$SELECT allocate_backorders()$$, '42501', NULL, 'a reader may not allocate');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
