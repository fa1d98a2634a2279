-- pgTAP: every rule and error of the promise layer (sql/install/2*.sql).
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(47);
-- (the tests name reservations by number: numbering starts at 1 whatever ran before)
SELECT setval('reservation_reservation_id_seq', 1, false);

-- Items: E each, M lot-tracked. Locations: D1, D2 warehouses, S store, X (no channel).
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134369', 'M', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'D1', 'warehouse'), ('0614141000029', 'D2', 'warehouse'),
  ('0614141000036', 'S', 'store'), ('0614141000043', 'X', 'warehouse');
CREATE ROLE is_tap_oms NOLOGIN;
CREATE ROLE is_tap_reader NOLOGIN IN ROLE inventory_sync_reader;
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user), ('oms', 'OMS', 'oms', 'is_tap_oms');
GRANT inventory_sync_writer TO is_tap_oms;
INSERT INTO channel (channel, name, safety_stock, min_shelf_life_days, fulfilment_source)
     VALUES ('web', 'Web', 1, 5, 'oms'), ('b2b', 'B2B', 0, 0, 'oms');
INSERT INTO channel_location VALUES ('web', '0614141000012', 2), ('web', '0614141000029', 1), ('web', '0614141000036', 3),
  ('b2b', '0614141000012', 1);
INSERT INTO safety_stock VALUES ('09506000134352', '0614141000036', 2);

CREATE FUNCTION pg_temp.rcv(eid text, g text, l text, q numeric, lot text DEFAULT NULL, b text DEFAULT 'released')
RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, lot, quantity)
  VALUES ('receipt', 'wms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, b, lot, q) $$;

-- a statement's error as 'SQLSTATE\nmessage\ndetail\nhint'
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN concat_ws(E'\n', s, m, d, h);
END $$;

-- The ATP formula ------------------------------------------------------------
SELECT pg_temp.rcv('r1', '09506000134352', '0614141000012', 10);
SELECT pg_temp.rcv('r2', '09506000134352', '0614141000029', 7);
SELECT pg_temp.rcv('r3', '09506000134352', '0614141000036', 5);
SELECT pg_temp.rcv('r4', '09506000134352', '0614141000043', 100);
SELECT pg_temp.rcv('r5', '09506000134352', '0614141000012', 50, NULL, 'qa_hold');
SELECT is(atp('09506000134352', '0614141000012'), 10::numeric, 'location ATP counts sellable buckets only');
SELECT is(atp('09506000134352', '0614141000036'), 3::numeric, 'location safety stock is kept back');
SELECT is(atp('09506000134352', channel => 'web'), 19::numeric, 'channel ATP: its locations (10 + 7 + 3) minus its safety stock (1)');
SELECT is(atp('09506000134352', channel => 'b2b'), 10::numeric, 'another channel sees its own locations');
SELECT is(atp('09506000134352'), 120::numeric, 'network ATP: every stock-holding location');
INSERT INTO channel_safety_stock VALUES ('web', '09506000134352', 4);
SELECT is(atp('09506000134352', channel => 'web'), 16::numeric, 'per-item channel safety stock overrides the channel''s');
SELECT is(atp('09506000134352', '0614141000012', 'web'), 10::numeric, 'a location as one channel sees it');
SELECT throws_ok($$SELECT atp('09506000134352', '0614141000043', 'web')$$, 'IS043', NULL, 'a location outside the channel');
SELECT throws_ok($$SELECT atp('09506000134352', channel => 'nosuch')$$, '23503', 'unknown channel "nosuch"', 'unknown channel');
SELECT throws_ok($$SELECT atp('09506000134376')$$, '23503', 'unknown item: gtin 09506000134376', 'unknown item');

-- expiry and shelf life
INSERT INTO lot (item_gtin, lot, expiry) VALUES ('09506000134369', 'OLD', current_date - 1),
  ('09506000134369', 'SOON', current_date + 2), ('09506000134369', 'LATE', current_date + 30),
  ('09506000134369', 'MID', current_date + 10);
SELECT pg_temp.rcv('m1', '09506000134369', '0614141000012', 4, 'OLD');
SELECT pg_temp.rcv('m2', '09506000134369', '0614141000012', 3, 'SOON');
SELECT pg_temp.rcv('m3', '09506000134369', '0614141000012', 5, 'LATE');
SELECT pg_temp.rcv('m4', '09506000134369', '0614141000012', 2, 'MID');
SELECT is(atp('09506000134369', '0614141000012'), 10::numeric, 'expired lots are not available');
SELECT is(atp('09506000134369', channel => 'b2b'), 10::numeric, 'a channel without a shelf-life rule');
SELECT is(atp('09506000134369', channel => 'web'), 6::numeric, 'lots below the channel''s minimum shelf life are left out (5 + 2 - 1)');

-- Reservations -----------------------------------------------------------------
SET ROLE is_tap_oms;
SELECT is((reserve('web', 'o1', '1', '09506000134352', 8)).location, '0614141000012'::gln, 'anywhere: placed where ATP is highest');
SELECT is((reserve('web', 'o1', '2', '09506000134352', 2)).location, '0614141000029'::gln, 'the next goes where ATP is now highest');
SELECT is((reserve('web', 'o1', '1', '09506000134352', 8)).reservation_id, 1::bigint, 'reserving the same key again returns the reservation');
SELECT is(atp('09506000134352', channel => 'web'), 6::numeric, 'open reservations come off ATP (16 - 10)');
SELECT throws_ok($$SELECT reserve('web', 'o1', '1', '09506000134352', 9)$$, 'IS044', NULL, 'same key, different terms');
SELECT is(pg_temp.err($$SELECT reserve('web', 'o2', '1', '09506000134352', 6)$$),
  E'IS040\ninsufficient ATP: 6 of gtin 09506000134352 asked, 5 available at one location of channel "web"'
  || E'\nReservation channel "web", order "o2", line "1". A reservation is held at one location: the most at one is 5, at 0614141000029, of 6 in the channel.'
  || E'\nSplit the line into lines of at most 5 (each is held at one location), or reserve less.',
  'one reservation must fit one location (5 is the most anywhere, 6 in the channel): the refusal says so and suggests splitting');
SELECT throws_ok($$SELECT reserve('web', 'o2', '1', '09506000134352', 4, '0614141000036')$$, 'IS040',
  'insufficient ATP: 4 of gtin 09506000134352 asked, 3 available at 0614141000036', 'at a location: what was asked and what is there');
SELECT throws_ok($$SELECT reserve('web', 'o2', '1', '09506000134352', -1)$$, 'IS020', NULL, 'negative quantity');
SELECT throws_ok($$SELECT reserve('web', 'o2', '1', '09506000134352', 'NaN')$$, 'IS020', NULL, 'NaN quantity');
SELECT throws_ok($$SELECT reserve('web', 'o2', '1', '09506000134352', 1, '0614141000098')$$, '23503', NULL, 'unknown location');
SELECT throws_ok($$SELECT reserve('web', 'o2', '1', '09506000134352', 1, NULL, now())$$, 'IS045', NULL, 'expiry not in the future');
SELECT is((SELECT count(*) FROM reservation), 2::bigint, 'refused reservations write nothing');
RESET ROLE;
SET ROLE is_tap_reader;
SELECT throws_ok($$SELECT reserve('web', 'o3', '1', '09506000134352', 1)$$, '42501', NULL, 'readers may not promise');
RESET ROLE;

-- Fulfil, FEFO, partial, once ------------------------------------------------------------
SET ROLE is_tap_oms;
SELECT is((fulfil(1, 5)).status, 'fulfilled'::reservation_status, 'a partial fulfilment closes the reservation');
SELECT is(atp('09506000134352', '0614141000012'), 5::numeric, 'the 3 not taken return to ATP (10 - 5 issued)');
SELECT is((SELECT sum(quantity) FROM ledger WHERE source = 'oms' AND kind = 'issue'), 5::numeric, 'the issue is in the ledger');
SELECT throws_ok($$SELECT fulfil(1)$$, 'IS041', NULL, 'fulfilled once');
SELECT throws_ok($$SELECT cancel_reservation(1)$$, 'IS041', NULL, 'and then not cancelled');
SELECT throws_ok($$SELECT fulfil(2, 3)$$, 'IS042', NULL, 'more than reserved');
SELECT throws_ok($$SELECT fulfil(999)$$, '23503', NULL, 'unknown reservation');
SELECT throws_ok($$SELECT _reservation_fulfilled(2, 2, ARRAY[1::bigint], '0614141000012')$$, '42501', NULL,
  'the consuming step cannot be called on its own (no API role may execute it)');
SELECT is((reserve('web', 'm', '1', '09506000134369', 4)).location, '0614141000012'::gln, 'lot-tracked reservation');
SELECT lives_ok($$SELECT fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'm'))$$, 'fulfil a lot-tracked item');
SELECT results_eq($$SELECT lot::text, quantity FROM ledger
                    WHERE reference LIKE 'reservation ' || (SELECT reservation_id FROM reservation WHERE order_ref = 'm') || ' %'
                    ORDER BY posting_id$$,
  $$VALUES ('MID', 2::numeric), ('LATE', 2::numeric)$$, 'FEFO: earliest expiry first, skipping lots below the shelf life');
RESET ROLE;
-- the bound role is checked for the issue: a writer not bound to the source is refused
CREATE ROLE is_tap_other NOLOGIN IN ROLE inventory_sync_writer;
SET ROLE is_tap_other;
SELECT throws_ok($$SELECT fulfil(2)$$, '42501', NULL, 'fulfil posts as the caller: it must be bound to the source');
RESET ROLE;
SELECT is((SELECT status FROM reservation WHERE reservation_id = 2), 'open'::reservation_status, 'and the reservation is untouched');

-- Expiry sweep --------------------------------------------------------------------------
SELECT is((expire_reservation(2)).status, 'expired'::reservation_status, 'expire one');
SELECT is(sweep_expired_reservations(now() + interval '1 year'), 0, 'nothing else open');

-- Time-phased ATP: a worked APICS master-schedule table ----------------------------------
-- on hand 50; MPS (scheduled receipts) 0, 80, 0, 80, 0, 80; customer orders 30, 20, 70, 20, 10, 100
-- discrete before consumption: 20, 60, -70, 60, -10, -20. Backward: period 6 takes 20 from 5,
-- which passes its -30 to 4 (30 left); period 3 takes 70 from 2, which passes -10 to 1 (10 left).
SELECT results_eq($$SELECT period, discrete_atp, cumulative_atp FROM atp_phased(50, ARRAY[0,80,0,80,0,80], ARRAY[30,20,70,20,10,100])$$,
  $$VALUES (1, 10::numeric, 10::numeric), (2, 0, 10), (3, 0, 10), (4, 30, 40), (5, 0, 40), (6, 0, 40)$$,
  'APICS discrete and cumulative ATP with backward consumption');
SELECT results_eq($$SELECT period, discrete_atp FROM atp_phased(10, ARRAY[0, 5], ARRAY[0, 40])$$,
  $$VALUES (1, -25::numeric), (2, 0::numeric)$$, 'a shortfall no earlier period covers stays negative in period 1');
INSERT INTO supply (kind, item_gtin, location, quantity, due_date) VALUES
  ('purchase_order', '09506000134352', '0614141000012', 40, current_date + 15);
SELECT is(promise_date('09506000134352', 'b2b', 5), current_date, 'promise today from stock');
SELECT is(promise_date('09506000134352', 'b2b', 30), current_date + 15, 'from the day the purchase order arrives');
SELECT is(promise_date('09506000134352', 'b2b', 500), NULL::date, 'not within the horizon');

SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): every balance equals the ledger');
SELECT * FROM finish();
ROLLBACK;
