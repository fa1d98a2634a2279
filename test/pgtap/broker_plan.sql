-- pgTAP: the brokering plan made in C (_broker_plan_placed, src/broker_plan.c) against the
-- plan made in SQL (_broker_plan_general): over a channel with rules of every kind (a
-- group, a kind, a distance, splits, one shipment preferred), locations tied on distance,
-- without coordinates, closed, at their daily capacity, excluded, a pickup, kits that
-- ship together and apart, fractional quantities, a protected item and location ATP of an
-- earlier day, every order the C plans must get the plan the SQL makes, to the last
-- digit; and the C entry point called with NULLs and garbage. Rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(18);

INSERT INTO item (gtin, name, base_unit) VALUES ('09506000134352', 'E', 'KGM'), ('09506000134369', 'F', 'KGM'), ('09506000134376', 'G', 'EA');
INSERT INTO kit (gtin, name) VALUES ('09506000134383', 'K: E and 2 F, together');
INSERT INTO kit (gtin, name, ships_separately) VALUES ('09506000134390', 'S: E and G, apart', true);
INSERT INTO kit_component VALUES ('09506000134383', '09506000134352', 1), ('09506000134383', '09506000134369', 2),
                                 ('09506000134390', '09506000134352', 1), ('09506000134390', '09506000134376', 3);
-- A and B at one point (a tie broken by priority, then GLN); N without coordinates; Z
-- closed; Q at its daily capacity; W a warehouse far away; Y outside the channel.
INSERT INTO location (gln, name, kind, latitude, longitude) VALUES
  ('0614141000012', 'A', 'store', 50.0, 8.0), ('0614141000029', 'B', 'store', 50.0, 8.0),
  ('0614141000036', 'C', 'warehouse', 52.0, 13.0), ('0614141000043', 'D', 'store', 50.3, 8.4),
  ('0614141000050', 'W', 'warehouse', 48.1, 11.6), ('0614141000067', 'Z', 'store', 50.0, 8.01),
  ('0614141000074', 'Q', 'store', 50.01, 8.0), ('0614141000081', 'Y', 'store', 50.0, 8.0);
INSERT INTO location (gln, name, kind) VALUES ('0614141000098', 'N', 'store');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('web', 'Web'), ('plain', 'No rules'), ('app', 'App');
INSERT INTO channel_location VALUES
  ('web', '0614141000012', 2), ('web', '0614141000029', 2), ('web', '0614141000036', 1), ('web', '0614141000043', 3),
  ('web', '0614141000050', 1), ('web', '0614141000067', 1), ('web', '0614141000074', 2), ('web', '0614141000098', 2),
  ('plain', '0614141000012', 1), ('plain', '0614141000036', 1), ('plain', '0614141000098', 1),
  ('app', '0614141000029', 1), ('app', '0614141000050', 2);
INSERT INTO location_group VALUES ('near', 'Stores that ship'), ('none', 'Nobody');
INSERT INTO location_group_member VALUES ('near', '0614141000012'), ('near', '0614141000029'), ('near', '0614141000043'),
  ('near', '0614141000098'), ('near', '0614141000067'), ('near', '0614141000074');
INSERT INTO broker_rule (channel, rule_no, location_group, max_distance_km) VALUES ('web', 1, 'near', 60);
INSERT INTO broker_rule (channel, rule_no, location_group) VALUES ('web', 2, 'none');
INSERT INTO broker_rule (channel, rule_no, location_kind, prefer_single_shipment) VALUES ('web', 3, 'warehouse', true);
INSERT INTO broker_rule (channel, rule_no, allow_split, max_shipments, min_split_quantity) VALUES ('web', 4, true, 3, 2.5);
INSERT INTO broker_rule (channel, rule_no, location_kind, allow_split, max_shipments, prefer_single_shipment)
  VALUES ('app', 1, 'store', true, 2, true);
INSERT INTO broker_location VALUES ('0614141000067', true, NULL), ('0614141000074', false, 1), ('0614141000043', false, 5);

CREATE FUNCTION pg_temp.rcv(eid text, g text, l text, q numeric) RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
  VALUES ('receipt', 'wms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, 'released', q) $$;
SELECT pg_temp.rcv('r' || n, g, l, q)
  FROM (VALUES (1, '09506000134352', '0614141000012', 3), (2, '09506000134352', '0614141000029', 2.5),
               (3, '09506000134352', '0614141000036', 10), (4, '09506000134352', '0614141000043', 4.25),
               (5, '09506000134352', '0614141000050', 6), (6, '09506000134352', '0614141000067', 40),
               (7, '09506000134352', '0614141000074', 40), (8, '09506000134352', '0614141000081', 50),
               (9, '09506000134352', '0614141000098', 2),
               (10, '09506000134369', '0614141000036', 4), (11, '09506000134369', '0614141000012', 1),
               (12, '09506000134369', '0614141000050', 7.5), (13, '09506000134369', '0614141000098', 3),
               (14, '09506000134376', '0614141000029', 5), (15, '09506000134376', '0614141000050', 1),
               (16, '09506000134376', '0614141000043', 2)) r(n, g, l, q);
-- Q has taken an order today: at its capacity for every other order
INSERT INTO broker_order (channel, order_ref, lines, partial) VALUES ('web', 'q-full', '[]', false);
INSERT INTO broker_allocation (channel, order_ref, line_ref, unit_ref, part, item_gtin, location, quantity, status)
  VALUES ('web', 'q-full', '1', '1', 1, '09506000134352', '0614141000074', 1, 'held');
-- another channel holds some of E at W back from web
INSERT INTO channel_protection VALUES ('app', '09506000134352', '0614141000050', 2);

-- Orders: 1 to 3 lines of items and kits, quantities whole and fractional, ship-to
-- points near and far or none; some picked up, some with excluded locations.
CREATE TEMP TABLE plan_case AS
WITH g(k, gtin) AS (VALUES (0, '09506000134352'), (1, '09506000134369'), (2, '09506000134376'),
                           (3, '09506000134383'), (4, '09506000134390')),
     q(k, qty) AS (VALUES (0, 1), (1, 2), (2, 0.5), (3, 2.5), (4, 3), (5, 1.25), (6, 7), (7, 12)),
     p(k, lat, lon) AS (VALUES (0, 50.0, 8.0), (1, 52.0, 13.0), (2, NULL, NULL), (3, 50.2, 8.3), (4, 48.0, 11.0))
SELECT n, ch, lat, lon, pickup, excl, part_from, suffix,
       (SELECT jsonb_agg(jsonb_build_object('line_ref', l::text, 'item', (SELECT gtin FROM g WHERE k = (n * 7 + l * 3) % 5),
                                            'quantity', (SELECT qty FROM q WHERE k = (n * 5 + l * 11) % 8)))
          FROM generate_series(1, 1 + n % 3) l) AS lines
  FROM (SELECT n, (ARRAY['web', 'web', 'web', 'plain', 'app'])[1 + n % 5] AS ch,
               (SELECT lat FROM p WHERE k = n % 5) AS lat, (SELECT lon FROM p WHERE k = n % 5) AS lon,
               CASE WHEN n % 17 = 0 THEN (ARRAY['0614141000012', '0614141000029'])[1 + n % 2]::gln END AS pickup,
               CASE WHEN n % 6 = 1 THEN ARRAY['0614141000012', '0614141000036']::gln[]
                    WHEN n % 6 = 4 THEN ARRAY['0614141000029']::gln[] END AS excl,
               1 + n % 4 / 3 * 2 AS part_from, n % 4 = 3 AS suffix
          FROM generate_series(1, 240) n) c;
UPDATE plan_case SET pickup = NULL WHERE ch = 'app';
ALTER TABLE plan_case ADD units jsonb;
UPDATE plan_case SET units = _broker_units('o' || n, lines);

CREATE FUNCTION pg_temp.compare(OUT cases integer, OUT in_c integer, OUT differ integer, OUT first_diff text)
LANGUAGE sql AS $$
  SELECT count(*)::integer, count(c)::integer, count(*) FILTER (WHERE c <> s)::integer,
         min(format('%s: C %s, SQL %s', n, c, s)) FILTER (WHERE c <> s)
    FROM (SELECT n, inventory_sync._broker_plan_placed(ch, 'o' || n, units, lat, lon, pickup::text, excl::text[], part_from, suffix) c,
                 inventory_sync._broker_plan_general(ch, 'o' || n, units, lat, lon, pickup, true, excl, part_from, suffix) s
            FROM plan_case) x $$;

CREATE TEMP TABLE plan_result AS SELECT * FROM pg_temp.compare();
SELECT is((SELECT differ FROM plan_result), 0, 'every order the C plans gets the plan the SQL makes');
SELECT is((SELECT first_diff FROM plan_result), NULL, 'no order planned otherwise');
SELECT cmp_ok((SELECT in_c FROM plan_result), '>=', 100, 'most orders are planned in C');
SELECT cmp_ok((SELECT in_c FROM plan_result), '<', (SELECT cases FROM plan_result), 'orders a rule does not place are left to the SQL');
CREATE TEMP TABLE plan_part AS
SELECT p FROM plan_case c, jsonb_array_elements(
         inventory_sync._broker_plan_placed(ch, 'o' || n, units, lat, lon, pickup::text, excl::text[], part_from, suffix)) p;
SELECT ok(EXISTS (SELECT FROM plan_part WHERE p->>'reservation_line_ref' LIKE '%#2'), 'split lines are among them');
SELECT ok(EXISTS (SELECT FROM plan_part WHERE p->>'unit_ref' = p->>'line_ref' AND p->>'reservation_line_ref' LIKE '%/%'),
          'kits shipping together are among them');

-- Distances to 0.1 km: the C plan's text is round(great_circle_km()::numeric, 1)'s, from 0
-- (and below 0.0001 km) up, over points whose distances end in every digit, 5 among them
SELECT is((SELECT count(*)::integer
             FROM (SELECT lat, lon,
                          inventory_sync._broker_plan_placed('plain', 'd', _broker_units('d', '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]'),
                                                             lat, lon, '0614141000012', NULL, 1, false)->0->>'distance_km' AS c
                     FROM (SELECT 50.0 + n * 0.00071, 8.0 + n * 0.00113 FROM generate_series(0, 2999) n
                           UNION ALL VALUES (50.000000001, 8.0), (50.0, 7.9999999999), (49.99, 8.0)) p(lat, lon)) x
            WHERE c IS DISTINCT FROM round(great_circle_km(lat, lon, 50.0, 8.0)::numeric, 1)::text), 0,
          'every distance as round(great_circle_km()::numeric, 1) writes it');

-- Location ATP of an earlier day is computed, as the SQL computes it
UPDATE location_atp SET computed_on = current_date - 1, atp = atp + 100
 WHERE location IN ('0614141000012', '0614141000050');
SELECT is((SELECT differ FROM pg_temp.compare()), 0, 'location ATP of an earlier day: the same plans');
DELETE FROM location_atp WHERE location = '0614141000036';
SELECT is((SELECT differ FROM pg_temp.compare()), 0, 'location ATP missing: the same plans');

-- The C entry point with NULLs and garbage: NULL (the SQL plans) or an error with a SQLSTATE
SELECT is(_broker_plan_placed(NULL, 'o', '[]', NULL, NULL, NULL, NULL, 1, false), NULL, 'NULL channel: left to the SQL');
SELECT is(_broker_plan_placed('web', 'o', NULL, NULL, NULL, NULL, NULL, NULL, NULL), NULL, 'NULL units, part and suffix: left to the SQL');
SELECT is(_broker_plan_placed('web', 'o', '[]', NULL, NULL, NULL, NULL, 1, false), '[]'::jsonb, 'no units: no parts');
SELECT is(_broker_plan_placed('nosuch', 'o', (SELECT units FROM plan_case WHERE n = 1), 50, 8, NULL, NULL, 1, false), NULL,
          'an unknown channel: no location, left to the SQL');
SELECT is((SELECT count(*)::integer FROM unnest(ARRAY['{}', '1', '"x"', 'null', '[1]', '[{}]', '[{"line_ref": 1}]',
             '[{"line_ref": "1", "unit_ref": "1", "splittable": true, "comps": []}]',
             '[{"line_ref": "1", "unit_ref": "1", "splittable": "yes", "comps": [{"item": "09506000134352", "quantity": 1, "ref": "1"}]}]',
             '[{"line_ref": "1", "unit_ref": "1", "splittable": true, "comps": [{"item": "09506000134352", "quantity": "1", "ref": "1"}]}]',
             '[{"line_ref": "1", "unit_ref": "1", "splittable": true, "comps": [{"item": "9506000134352", "quantity": 1, "ref": "1"}]}]',
             '[{"line_ref": "1", "unit_ref": "1", "splittable": true, "comps": [1]}]']::jsonb[]) u
            WHERE _broker_plan_placed('web', 'o', u, 50, 8, NULL, NULL, 1, false) IS NULL), 12,
          'units not as _broker_units() makes them, or an item not in its canonical text: left to the SQL');
SELECT throws_ok($$SELECT inventory_sync._broker_plan_placed('web', 'o', '[{"line_ref": "1", "unit_ref": "1", "splittable": true,
                    "comps": [{"item": "0950600013435x", "quantity": 1, "ref": "1"}]}]', 50, 8, NULL, NULL, 1, false)$$,
                 '22P02', NULL, 'an item that is not a GTIN: 22P02');
SELECT throws_ok($$SELECT inventory_sync._broker_plan_placed('web', 'o', (SELECT units FROM plan_case WHERE n = 1), 50, 8, 'garbage', NULL, 1, false)$$,
                 '22P02', NULL, 'a pickup that is not a GLN: 22P02');
SELECT throws_ok($$SELECT inventory_sync._broker_plan_placed('web', 'o', (SELECT units FROM plan_case WHERE n = 1), 50, 8, NULL, '{garbage}', 1, false)$$,
                 '22P02', NULL, 'an exclusion that is not a GLN: 22P02');
SELECT ok(NOT has_function_privilege('inventory_sync_writer',
            'inventory_sync._broker_plan_placed(text, text, jsonb, double precision, double precision, text, text[], integer, boolean)', 'EXECUTE'),
          'the C plan is no API role''s');

SELECT * FROM finish();
ROLLBACK;
