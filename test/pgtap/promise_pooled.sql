-- pgTAP: dedicated channels and their pooled reservations (reserve()'s fast path), the
-- inputs that republish channel ATP, the day guard, backorders that borrow on-hand,
-- stock in transit as supply, membership changes, and verify_promises().
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(91);

-- Items: E (each), M (lot-tracked). Locations: S1, S2 stores (dedicated to 'shop'),
-- D a DC shared by 'web' and 'mkt', T a truck to S1.
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134369', 'M', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'S1', 'store'), ('0614141000029', 'S2', 'store'),
  ('0614141000036', 'D', 'warehouse'), ('0614141999996', 'T', 'in_transit');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user), ('oms', 'OMS', 'oms', current_user);
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('shop', 'Shop', 'oms'), ('web', 'Web', 'oms');
INSERT INTO channel (channel, name, allow_backorder, fulfilment_source) VALUES ('mkt', 'Marketplace', true, 'oms');
INSERT INTO channel_location VALUES ('shop', '0614141000012', 1), ('shop', '0614141000029', 2),
  ('web', '0614141000036', 1), ('mkt', '0614141000036', 1);
CREATE FUNCTION pg_temp.rcv(eid text, g text, l text, q numeric, lot text DEFAULT NULL, b text DEFAULT 'released')
RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, lot, quantity)
  VALUES ('receipt', 'wms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, b, lot, q) $$;
CREATE FUNCTION pg_temp.published(c text, g text) RETURNS numeric LANGUAGE sql AS $$
  SELECT atp FROM inventory_sync.channel_atp WHERE channel = c AND item_gtin = g::inventory_sync.gtin $$;

-- Dedicated or not ---------------------------------------------------------------------
SELECT ok(channel_is_dedicated('shop'), 'a channel whose locations are its own is dedicated');
SELECT ok(NOT channel_is_dedicated('web') AND NOT channel_is_dedicated('mkt'), 'channels sharing a DC are not');

-- Pooled reservations --------------------------------------------------------------------
SELECT pg_temp.rcv('r1', '09506000134352', '0614141000012', 6);
SELECT pg_temp.rcv('r2', '09506000134352', '0614141000029', 6);
SELECT is(pg_temp.published('shop', '09506000134352'), 12::numeric, 'postings publish the channel''s ATP');
SELECT is((SELECT computed_on FROM channel_atp_state WHERE channel = 'shop'), current_date, 'computed today');
SELECT results_eq($$SELECT location IS NULL, anywhere, quantity, open_quantity, status::text
                     FROM reserve('shop', 'o1', '1', '09506000134352', 10)$$,
  $$VALUES (true, true, 10::numeric, 10::numeric, 'open')$$,
  'anywhere in a dedicated channel: pooled, more than any one location holds');
SELECT is(pg_temp.published('shop', '09506000134352'), 2::numeric, 'the pool comes off the channel''s ATP');
SELECT is(atp('09506000134352', channel => 'shop'), 2::numeric, 'atp() agrees');
SELECT is(atp('09506000134352', '0614141000012'), 2::numeric, 'a location of the channel: what the pool leaves');
SELECT is(atp('09506000134352'), 2::numeric, 'network-wide: the pool comes off too');
SELECT is((reserve('shop', 'o1', '1', '09506000134352', 10)).reservation_id,
          (SELECT reservation_id FROM reservation WHERE order_ref = 'o1'), 'the same key returns the reservation');
SELECT is((SELECT count(*) FROM reservation), 1::bigint, 'and writes nothing');
SELECT throws_ok($$SELECT reserve('shop', 'o1', '1', '09506000134352', 9)$$, 'IS044', NULL, 'same key, other terms');
SELECT throws_ok($$SELECT reserve('shop', 'o2', '1', '09506000134352', 3)$$, 'IS040',
  'insufficient ATP: 3 of gtin 09506000134352 asked, 2 available in channel "shop"', 'refused beyond ATP, with what is there');
SELECT throws_ok($$SELECT reserve('shop', 'o2', '1', '09506000134352', 0)$$, 'IS020', NULL, 'zero');
SELECT throws_ok($$SELECT reserve('shop', 'o2', '1', '09506000134352', -2)$$, 'IS020', NULL, 'negative');
SELECT throws_ok($$SELECT reserve('shop', 'o2', '1', '09506000134352', 'Infinity')$$, 'IS020', NULL, 'infinite');
SELECT throws_ok($$SELECT reserve('shop', 'o2', '1', '09506000134352', NULL)$$, 'IS020', NULL, 'NULL quantity');
SELECT throws_ok($$SELECT reserve('shop', '', '1', '09506000134352', 1)$$, '22023', NULL, 'an empty order_ref');
SELECT throws_ok($$SELECT reserve('shop', repeat('x', 201), '1', '09506000134352', 1)$$, '22023', NULL, 'a 201-character order_ref');
SELECT throws_ok($$SELECT reserve('shop', 'o2', '1', '09506000134376', 1)$$, '23503', 'unknown item: gtin 09506000134376', 'unknown item');
SELECT throws_ok($$SELECT reserve('nope', 'o2', '1', '09506000134352', 1)$$, '23503', 'unknown channel "nope"', 'unknown channel');
SELECT throws_ok($$SELECT reserve('shop', 'o2', '1', '09506000134352', 1, NULL, now() - interval '1 minute')$$, 'IS045', NULL,
  'an expiry in the past');
SELECT is((SELECT count(*) FROM reservation), 1::bigint, 'refusals write nothing');
SELECT is((reserve('shop', 'o2', '1', '09506000134352', 2)).open_quantity, 2::numeric, 'exactly what is left');
SELECT is(pg_temp.published('shop', '09506000134352'), 0::numeric, 'ATP 0, not below');
SELECT results_eq($$SELECT action::text, location IS NULL, delta, open_after, atp_after FROM reservation_change ORDER BY change_id$$,
  $$VALUES ('reserve', true, 10::numeric, 10::numeric, 2::numeric), ('reserve', true, 2, 2, 0)$$,
  'each reservation change carries the channel''s ATP after it; location NULL: anywhere');
SELECT results_eq($$SELECT version FROM reservation_change ORDER BY change_id$$,
  $$SELECT version FROM channel_atp_history WHERE channel = 'shop' AND cause = 'reservation' ORDER BY version$$,
  'and the version of the channel ATP change it made');
SELECT results_eq($$SELECT atp_before, atp_after, version FROM reservation_change ORDER BY change_id$$,
  $$SELECT atp_before, atp_after, version FROM channel_atp_history WHERE channel = 'shop' AND version > 2 ORDER BY version$$,
  'a pooled reservation records its channel''s ATP move itself (atp_before, atp_after, version)');
SELECT is((SELECT count(*) FROM channel_atp_change WHERE cause = 'reservation'), 0::bigint,
  'and channel_atp_change has no second row for it');
SELECT results_eq($$SELECT version, atp_before, atp_after FROM channel_atp_history WHERE channel = 'shop'
                     AND item_gtin = '09506000134352' ORDER BY version$$,
  $$VALUES (1::bigint, 0::numeric, 6::numeric), (2, 6, 12), (3, 12, 2), (4, 2, 0)$$,
  'the channel''s ATP history is whole: the receipt''s publication, then each reservation''s move');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after pooled reservations');

-- Fulfil, cancel, expire a pooled reservation ---------------------------------------------
SELECT throws_ok($$SELECT fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'o1'), 7, location => '0614141000012')$$,
  'IS040', NULL, 'a location cannot ship more than it holds');
SELECT throws_ok($$SELECT fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'o1'), 11, location => '0614141000012')$$,
  'IS042', NULL,
  'more than reserved is IS042 before any stock check (the location holds 6 of the 11 asked)');
SELECT throws_ok($$SELECT fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'o1'), 1, location => '0614141000036')$$,
  'IS043', NULL, 'nor can a location outside the channel');
SELECT is((fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'o1'), 5, location => '0614141000029')).status,
  'fulfilled'::reservation_status, 'fulfilled partly from the location named');
SELECT is((SELECT location FROM ledger WHERE kind = 'issue'), '0614141000029'::gln, 'the issue is posted there');
SELECT is(pg_temp.published('shop', '09506000134352'), 5::numeric, 'the 5 not shipped return to ATP (12 - 5 shipped - 2 open)');
SELECT is((cancel_reservation((SELECT reservation_id FROM reservation WHERE order_ref = 'o2'))).open_quantity, 0::numeric, 'cancel');
SELECT is(pg_temp.published('shop', '09506000134352'), 7::numeric, 'cancelled: back to ATP');
SELECT lives_ok($$SELECT reserve('shop', 'o3', '1', '09506000134352', 4, NULL, now() + interval '1 minute')$$, 'reserve 4 for a minute');
SELECT is(sweep_expired_reservations(now() + interval '2 minutes'), 1, 'the sweep expires it');
SELECT is(pg_temp.published('shop', '09506000134352'), 7::numeric, 'expired: back to ATP');
SELECT throws_ok($$SELECT fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'o3'))$$, 'IS041', NULL,
  'an expired reservation is not fulfilled');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after fulfil, cancel, expire');

-- Inputs that republish: safety stock, channel rules, lot expiry ----------------------------
INSERT INTO safety_stock VALUES ('09506000134352', '0614141000012', 2);
SELECT is(pg_temp.published('shop', '09506000134352'), 5::numeric, 'location safety stock republishes (7 - 2)');
INSERT INTO channel_safety_stock VALUES ('shop', '09506000134352', 1);
SELECT is(pg_temp.published('shop', '09506000134352'), 4::numeric, 'channel safety stock per item republishes');
UPDATE channel SET safety_stock = 3 WHERE channel = 'shop';
SELECT is(pg_temp.published('shop', '09506000134352'), 4::numeric, 'the per-item value overrides the channel''s');
DELETE FROM channel_safety_stock;
SELECT is(pg_temp.published('shop', '09506000134352'), 2::numeric, 'the channel''s applies again (5 - 3)');
UPDATE channel SET safety_stock = 0 WHERE channel = 'shop';
DELETE FROM safety_stock;
INSERT INTO lot (item_gtin, lot, expiry) VALUES ('09506000134369', 'A', current_date + 2), ('09506000134369', 'B', current_date + 20);
SELECT pg_temp.rcv('m1', '09506000134369', '0614141000012', 4, 'A');
SELECT pg_temp.rcv('m2', '09506000134369', '0614141000029', 3, 'B');
SELECT is(pg_temp.published('shop', '09506000134369'), 7::numeric, 'both lots sellable');
UPDATE channel SET min_shelf_life_days = 5 WHERE channel = 'shop';
SELECT is(pg_temp.published('shop', '09506000134369'), 3::numeric, 'a minimum shelf life republishes: lot A is out');
SELECT throws_ok($$SELECT reserve('shop', 'm', '1', '09506000134369', 4)$$, 'IS040', NULL, 'and is not promised');
UPDATE lot SET expiry = current_date + 10 WHERE lot = 'A';
SELECT is(pg_temp.published('shop', '09506000134369'), 7::numeric, 'a lot''s new expiry republishes');
SELECT lives_ok($$SELECT reserve('shop', 'm', '1', '09506000134369', 5)$$, 'pooled lot-tracked reservation');
SELECT is((fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'm'), 4)).fulfilled_quantity, 4::numeric,
  'fulfil 4 of 5 without naming a location');
SELECT results_eq($$SELECT location::text, lot::text, quantity FROM ledger
                    WHERE source_event_id LIKE 'reservation:' || (SELECT reservation_id FROM reservation WHERE order_ref = 'm') || ':%'
                    ORDER BY posting_id$$,
  $$VALUES ('0614141000012', 'A', 4::numeric)$$, 'it ships from the location with the most ATP, FEFO there: lot A');

-- The day guard: a published value from yesterday is recomputed before it is relied on ----
SET LOCAL session_replication_role = replica;   -- an overnight expiry nobody republished
UPDATE lot SET expiry = current_date - 1 WHERE lot = 'B';
RESET session_replication_role;
UPDATE channel_atp_state SET computed_on = current_date - 1 WHERE channel = 'shop' AND item_gtin = '09506000134369';
-- (a backend remembers which channels it may promise from on the fast path, for the day;
-- here the day has not changed, so the memory is emptied as any change of a channel does)
UPDATE channel SET name = name WHERE channel = 'shop';
SELECT is(pg_temp.published('shop', '09506000134369'), 3::numeric, 'yesterday''s value still shows lot B');
SELECT throws_ok($$SELECT reserve('shop', 'm2', '1', '09506000134369', 1)$$, 'IS040', NULL,
  'a promise recomputes first: lot B expired, nothing left');
SELECT is(refresh_channel_atp('shop', '09506000134369'), 1, 'refresh_channel_atp() republishes what changed by date');
SELECT is(pg_temp.published('shop', '09506000134369'), 0::numeric, 'now published: 0');
SELECT is((SELECT computed_on FROM channel_atp_state WHERE channel = 'shop' AND item_gtin = '09506000134369'), current_date,
  'computed today again');

-- Shared DC: backorders borrow on-hand --------------------------------------------------
SELECT pg_temp.rcv('d1', '09506000134352', '0614141000036', 5);
INSERT INTO supply (kind, item_gtin, location, quantity, due_date, reference)
     VALUES ('purchase_order', '09506000134352', '0614141000036', 10, current_date + 7, 'PO-1');
SELECT results_eq($$SELECT promisable, promise_date FROM promise('09506000134352', 'mkt', 12, current_date + 10)$$,
  $$VALUES (true, current_date + 10)$$, 'promise(): 12 for a date after the purchase order arrives');
SELECT results_eq($$SELECT promisable, promise_date FROM promise('09506000134352', 'mkt', 12)$$,
  $$VALUES (false, current_date + 7)$$, 'not for today, and from which date');
SELECT is((reserve('mkt', 'b1', '1', '09506000134352', 12)).promised_date, current_date + 7, 'a backorder gets the promised date');
SELECT is(atp('09506000134352', '0614141000036'), 3::numeric, 'it borrows 2 of today''s 5 (backward consumption)');
SELECT is(pg_temp.published('web', '09506000134352'), 3::numeric, 'so the channel sharing the DC sees 3');
SELECT throws_ok($$SELECT reserve('web', 'w1', '1', '09506000134352', 4)$$, 'IS040', NULL, 'and cannot promise 4');
SELECT is((SELECT backorder_shortfall FROM atp_detail('09506000134352', 'web')), 2::numeric, 'atp_detail shows the shortfall');
UPDATE supply SET quantity = 20;
SELECT is(pg_temp.published('web', '09506000134352'), 5::numeric, 'a bigger purchase order republishes: no shortfall');

-- Transit: stock on the truck is supply at its destination by ETA -------------------------
INSERT INTO transit_route VALUES ('0614141999996', '0614141000012');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, quantity, eta) VALUES
  ('transfer_out', 'wms', 't1', '09506000134352', '0614141000029', '0614141999996', 2, now() + interval '2 days'),
  ('transfer_out', 'wms', 't2', '09506000134352', '0614141000029', '0614141999996', 3, now() + interval '5 days');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, quantity) VALUES
  ('transfer_in', 'wms', 't1-in', '09506000134352', '0614141999996', '0614141000012', 1);
SELECT results_eq($$SELECT due_date, quantity FROM expected_supply('09506000134352', '0614141000012') ORDER BY 1$$,
  $$VALUES (current_date + 2, 1::numeric), (current_date + 5, 3::numeric)$$,
  'in transit: what is left of the earliest transfer, then the later one, by ETA');

-- Membership changes ----------------------------------------------------------------------
SELECT pg_temp.rcv('r3', '09506000134352', '0614141000029', 5);
SELECT is(pg_temp.published('shop', '09506000134352'), 8::numeric, 'shop: 7 at S1 and 1 at S2');
SELECT lives_ok($$SELECT reserve('shop', 'p1', '1', '09506000134352', 8)$$, 'a pooled reservation of all 8');
SELECT throws_ok($$INSERT INTO channel_location VALUES ('web', '0614141000029', 5)$$, 'IS046', NULL,
  'sharing a location is refused while a pooled reservation fits no single location');
SELECT ok(channel_is_dedicated('shop'), 'and nothing changed');
SELECT lives_ok($$SELECT cancel_reservation((SELECT reservation_id FROM reservation WHERE order_ref = 'p1'))$$, 'cancel it');
SELECT lives_ok($$SELECT reserve('shop', 'p2', '1', '09506000134352', 3)$$, 'a pooled reservation of 3');
SELECT lives_ok($$INSERT INTO channel_location VALUES ('web', '0614141000029', 5)$$, 'web starts selling from S2');
SELECT is((SELECT location FROM reservation WHERE order_ref = 'p2'), '0614141000012'::gln, 'the pool is placed where it fits best');
SELECT ok(NOT channel_is_dedicated('shop'), 'shop is no longer dedicated');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after the membership change');
SELECT throws_ok($$DELETE FROM channel WHERE channel = 'shop'$$, '23503', 'channel "shop" has reservations',
  'a channel with reservations is kept');

-- The first publication of an item: a change row only where ATP changed ------------------
-- (version counts changes of ATP; channel_atp starts at ATP 0, version 0)
INSERT INTO item (gtin, name) VALUES ('09506000134406', 'Q');
SELECT pg_temp.rcv('q1', '09506000134406', '0614141000036', 4, NULL, 'qa_hold');
SELECT is((SELECT count(*) FROM channel_atp_change WHERE item_gtin = '09506000134406'), 0::bigint,
  'a receipt into a bucket that is not sellable changes no channel''s ATP: no change row (not 0 -> 0)');
SELECT is((SELECT coalesce(max(version), 0) FROM channel_atp WHERE item_gtin = '09506000134406'), 0::bigint,
  'and no version');
SELECT pg_temp.rcv('q2', '09506000134406', '0614141000036', 3);
SELECT results_eq($$SELECT channel, atp_before, atp_after, version, cause FROM channel_atp_change
                     WHERE item_gtin = '09506000134406' ORDER BY channel$$,
  $$VALUES ('mkt', 0::numeric, 3::numeric, 1::bigint, 'posting'), ('web', 0, 3, 1, 'posting')$$,
  'the first sellable receipt: one change 0 -> 3, version 1, in each channel selling from the DC');
SELECT results_eq($$SELECT channel, atp, version FROM channel_atp WHERE item_gtin = '09506000134406' ORDER BY channel$$,
  $$VALUES ('mkt', 3::numeric, 1::bigint), ('web', 3, 1)$$, 'published ATP 3, version 1');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises(): versions count the changes');

-- The fast path keeps the reservation table's index descriptions for the session: an
-- index added or dropped later must be seen by the next reservation ----------------------
INSERT INTO location (gln, name, kind) VALUES ('0614141000050', 'IX', 'store');
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('ixc', 'Index test', 'oms');
INSERT INTO channel_location VALUES ('ixc', '0614141000050', 1);
SELECT pg_temp.rcv('ix-r', '09506000134352', '0614141000050', 20);
SELECT is((reserve('ixc', 'ix1', '1', '09506000134352', 1)).status::text, 'open', 'a pooled reservation (descriptions kept)');
CREATE UNIQUE INDEX reservation_test_partial ON reservation (item_gtin) WHERE order_ref LIKE 'ix%';
SELECT throws_ok($$SELECT reserve('ixc', 'ix2', '1', '09506000134352', 1)$$, '23505', NULL,
  'a (partial, unique) index added afterwards is maintained by the next reservation');
DROP INDEX reservation_test_partial;
CREATE UNIQUE INDEX reservation_test_expr ON reservation (lower(order_ref));
SELECT throws_ok($$SELECT reserve('ixc', 'IX1', '1', '09506000134352', 1)$$, '23505', NULL,
  'an expression index too (maintained the executor''s way)');
DROP INDEX reservation_test_expr;
SELECT is((reserve('ixc', 'ix4', '1', '09506000134352', 1)).status::text, 'open', 'and a dropped index is forgotten');
SELECT is((SELECT count(*) FROM reservation WHERE channel = 'ixc'), 2::bigint, 'the refused ones left nothing');

SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): every balance equals the ledger');
SELECT * FROM finish();
ROLLBACK;
