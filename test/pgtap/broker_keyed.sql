-- pgTAP: what broker() reads and locks by key for the common order (src/broker_plan.c:
-- the rules kept per backend, the channel ATP and location ATP of the order's items read
-- by primary key where the plan asks for them; src/broker_hold.c: the promise keys and
-- channel ATP rows locked by key), and where each hands the order back to the
-- statements: a promise key not created yet, a location with a daily capacity, channel
-- ATP or location ATP of an earlier day, a protected item, a rule changed in the same
-- transaction. Every order gets the plan the SQL makes and holds what it says; the
-- promises stay consistent. Rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(14);

INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E'), ('09506000134369', 'F');
INSERT INTO location (gln, name, kind, latitude, longitude) VALUES
  ('0614141000012', 'A', 'store', 50.0, 8.0), ('0614141000029', 'B', 'store', 51.0, 9.0),
  ('0614141000036', 'W', 'warehouse', 52.0, 13.0);
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('web', 'Web'), ('mkt', 'Marketplace');
INSERT INTO channel_location VALUES ('web', '0614141000012', 1), ('web', '0614141000029', 1), ('web', '0614141000036', 1),
  ('mkt', '0614141000036', 1);
INSERT INTO location_group VALUES ('stores', 'Stores');
INSERT INTO location_group_member VALUES ('stores', '0614141000012'), ('stores', '0614141000029');
INSERT INTO broker_rule (channel, rule_no, location_group, max_distance_km) VALUES ('web', 1, 'stores', 100);
INSERT INTO broker_rule (channel, rule_no, allow_split, max_shipments) VALUES ('web', 2, true, 3);
CREATE FUNCTION pg_temp.rcv(eid text, g text, l text, q numeric) RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
  VALUES ('receipt', 'wms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, 'released', q) $$;
SELECT pg_temp.rcv('r1', '09506000134352', '0614141000012', 5);
SELECT pg_temp.rcv('r2', '09506000134369', '0614141000012', 5);
SELECT pg_temp.rcv('r3', '09506000134352', '0614141000029', 5);
SELECT pg_temp.rcv('r4', '09506000134352', '0614141000036', 50);
SELECT pg_temp.rcv('r5', '09506000134369', '0614141000036', 50);

-- the plan in C against the plan in SQL (where the C plans the order), for a few orders
-- near A, near B and far from both
CREATE FUNCTION pg_temp.compare() RETURNS integer LANGUAGE sql AS $$
  SELECT count(*)::integer
    FROM (SELECT inventory_sync._broker_plan_placed('web', 'c', u, lat, lon, NULL, NULL, 1, false) c,
                 inventory_sync._broker_plan_general('web', 'c', u, lat, lon, NULL, true, NULL, 1, false) s
            FROM (VALUES (50.0, 8.0), (51.0, 9.0), (53.0, 14.0)) p(lat, lon),
                 (VALUES (inventory_sync._broker_units('c', '[{"line_ref": "1", "item": "09506000134352", "quantity": 2},
                                                              {"line_ref": "2", "item": "09506000134369", "quantity": 1}]')),
                         (inventory_sync._broker_units('c', '[{"line_ref": "1", "item": "09506000134352", "quantity": 7}]'))) o(u)) x
   WHERE c <> s $$;
CREATE FUNCTION pg_temp.order_at(ref text, lat float8, lon float8) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(line_ref || '@' || location, ' ' ORDER BY line_ref, part)
    FROM inventory_sync.broker('web', ref, '[{"line_ref": "1", "item": "09506000134352", "quantity": 1},
                                             {"line_ref": "2", "item": "09506000134369", "quantity": 1}]', lat, lon) $$;

SELECT is(pg_temp.compare(), 0, 'the C plan is the SQL''s');
-- the first order at A: its promise keys are created (the statements lock them)
SELECT is(pg_temp.order_at('o1', 50.0, 8.0), '1@0614141000012 2@0614141000012', 'the first order at A is held there');
SELECT is((SELECT count(*)::integer FROM promise_key WHERE location = '0614141000012'), 2, 'its promise keys were created');
-- the next one finds them, and locks them by key
SELECT is(pg_temp.order_at('o2', 50.0, 8.0), '1@0614141000012 2@0614141000012', 'the next order at A is held there');
SELECT is((SELECT sum(reserved)::integer FROM promise_key WHERE location = '0614141000012'), 4, 'both orders'' lines are on the keys');

-- a rule changed in this transaction: the next plan follows it
UPDATE broker_rule SET location_group = NULL, location_kind = 'warehouse', max_distance_km = NULL WHERE channel = 'web' AND rule_no = 1;
SELECT is(pg_temp.compare(), 0, 'a rule changed: the C plan is the SQL''s');
SELECT is(pg_temp.order_at('o3', 50.0, 8.0), '1@0614141000036 2@0614141000036', 'a rule changed: the next order follows it');
UPDATE broker_rule SET location_group = 'stores', location_kind = NULL, max_distance_km = 100 WHERE channel = 'web' AND rule_no = 1;

-- B with a daily capacity: its order is locked by the statements, and counted
INSERT INTO broker_location (location, daily_order_capacity) VALUES ('0614141000029', 1);
SELECT is((SELECT string_agg(location::text, ' ') FROM broker('web', 'o4', '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]', 51.0, 9.0)),
          '0614141000029', 'an order at a location with a capacity is held there');
SELECT throws_ok($$SELECT * FROM broker('web', 'o5', '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]', 51.0, 9.0, pickup_location => '0614141000029')$$,
                 'IS040', NULL, 'the capacity it took is counted');

-- channel ATP of an earlier day: read as _channel_atp() computes it
UPDATE channel_atp_state SET computed_on = current_date - 1 WHERE channel = 'web' AND item_gtin = '09506000134369';
SELECT is(pg_temp.compare(), 0, 'channel ATP of an earlier day: the C plan is the SQL''s');
-- location ATP of an earlier day at the location the plan asks for first
UPDATE location_atp SET computed_on = current_date - 1 WHERE location = '0614141000012';
SELECT is(pg_temp.compare(), 0, 'location ATP of an earlier day: the C plan is the SQL''s');
SELECT is(pg_temp.order_at('o6', 50.0, 8.0), '1@0614141000012 2@0614141000012', 'and the order is held where it says');
-- a protection of E at W for mkt
INSERT INTO channel_protection VALUES ('mkt', '09506000134352', '0614141000036', 10);
SELECT is(pg_temp.compare(), 0, 'a protected item: the C plan is the SQL''s');

SELECT is((SELECT count(*)::integer FROM verify_promises()), 0, 'the promises are consistent');

SELECT * FROM finish();
ROLLBACK;
