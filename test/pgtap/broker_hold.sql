-- pgTAP: the steps of broker() made in C around its plan (src/broker_hold.c): the lines'
-- units (_broker_units_placed) against the SQL's (_broker_units), the locks
-- (_broker_lock) and the holding of an all-or-nothing order (_broker_hold_placed; both in
-- one call, _broker_lock_hold_placed); each
-- entry point called with NULLs and garbage (NULL: the SQL does the step; or an error
-- with a SQLSTATE), and none of them an API role's. Rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(50);

INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E'), ('09506000134369', 'F');
INSERT INTO kit (gtin, name) VALUES ('09506000134383', 'K: E and F'), ('09506000134390', 'S: 2 F');
INSERT INTO kit_component VALUES ('09506000134383', '09506000134352', 1), ('09506000134383', '09506000134369', 1),
                                 ('09506000134390', '09506000134369', 2);
INSERT INTO location (gln, name, kind, latitude, longitude) VALUES
  ('0614141000012', 'A', 'store', 50.0, 8.0), ('0614141000029', 'B', 'store', 51.0, 9.0);
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('web', 'Web');
INSERT INTO channel_location VALUES ('web', '0614141000012', 1), ('web', '0614141000029', 1);
INSERT INTO broker_location VALUES ('0614141000029', false, 1);
CREATE FUNCTION pg_temp.rcv(eid text, g text, l text, q numeric) RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
  VALUES ('receipt', 'wms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, 'released', q) $$;
SELECT pg_temp.rcv('r1', '09506000134352', '0614141000012', 5);
SELECT pg_temp.rcv('r2', '09506000134369', '0614141000012', 5);
SELECT pg_temp.rcv('r3', '09506000134352', '0614141000029', 5);

-- _broker_units_placed: the same units as _broker_units() for an order of one-component lines
SELECT is(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134352", "quantity": 2},
                                      {"line_ref": "b", "item": "09506000134369", "quantity": 0.25}]'),
          _broker_units('o', '[{"line_ref": "1", "item": "09506000134352", "quantity": 2},
                               {"line_ref": "b", "item": "09506000134369", "quantity": 0.25}]'),
          'items: the units _broker_units() makes');
SELECT is(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134390", "quantity": 3}]'),
          _broker_units('o', '[{"line_ref": "1", "item": "09506000134390", "quantity": 3}]'),
          'a kit of one component: its component, times the quantity');
SELECT is(_broker_units_placed('o', '[{"line_ref": "x\"y", "item": "9506000134352", "quantity": 1.50}]'),
          _broker_units('o', '[{"line_ref": "x\"y", "item": "9506000134352", "quantity": 1.50}]'),
          'a GTIN of 13 digits, a quoted line_ref and a scaled quantity: the same text');
SELECT is(_broker_units_placed('o', (SELECT jsonb_agg(jsonb_build_object('line_ref', n::text, 'item', '09506000134352',
                                                                         'quantity', 1)) FROM generate_series(1, 500) n)),
          _broker_units('o', (SELECT jsonb_agg(jsonb_build_object('line_ref', n::text, 'item', '09506000134352',
                                                                  'quantity', 1)) FROM generate_series(1, 500) n)),
          '500 lines: the same units');
SELECT is(_broker_units_placed(NULL, '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]'), NULL, 'NULL order: left to the SQL');
SELECT is(_broker_units_placed('o', NULL), NULL, 'NULL lines: left to the SQL');
SELECT is((SELECT count(*)::integer FROM unnest(ARRAY['{}', '1', '"x"', 'null', '[]', '[1]', '[{}]', '[[]]',
             '[{"line_ref": 1, "item": "09506000134352", "quantity": 1}]',
             '[{"line_ref": "", "item": "09506000134352", "quantity": 1}]',
             '[{"line_ref": "1#2", "item": "09506000134352", "quantity": 1}]',
             '[{"line_ref": "1/2", "item": "09506000134352", "quantity": 1}]',
             '[{"item": "09506000134352", "quantity": 1}]',
             '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}, {"line_ref": "1", "item": "09506000134369", "quantity": 1}]',
             '[{"line_ref": "1", "item": "0950600013435x", "quantity": 1}]',
             '[{"line_ref": "1", "item": "09506000134353", "quantity": 1}]',
             '[{"line_ref": "1", "item": 9506000134352, "quantity": 1}]',
             '[{"line_ref": "1", "item": "09506000134376", "quantity": 1}]',
             '[{"line_ref": "1", "item": "09506000134383", "quantity": 1}]',
             '[{"line_ref": "1", "item": "09506000134352", "quantity": "1"}]',
             '[{"line_ref": "1", "item": "09506000134352"}]',
             '[{"line_ref": "1", "item": "09506000134352", "quantity": 0}]',
             '[{"line_ref": "1", "item": "09506000134352", "quantity": -1}]',
             '[{"line_ref": "1", "item": "09506000134352", "quantity": 1e15}]']::jsonb[]) u
            WHERE _broker_units_placed('o', u) IS NULL), 24,
          'lines not plainly right, an unknown item, a kit of several components: left to the SQL');
SELECT is(_broker_units_placed('o', ('[{"line_ref": "' || repeat('x', 181) || '", "item": "09506000134352", "quantity": 1}]')::jsonb),
          NULL, 'a line_ref of 181 characters: left to the SQL');
SELECT is(_broker_units_placed('o', (SELECT jsonb_agg(jsonb_build_object('line_ref', n::text, 'item', '09506000134352',
                                                                         'quantity', 1)) FROM generate_series(1, 501) n)),
          NULL, '501 lines: left to the SQL');

-- What each line takes is kept per backend: a change of a kit, of an item or of
-- _order_line_components() itself is seen by the next order.
INSERT INTO kit_component VALUES ('09506000134390', '09506000134352', 1);
SELECT is(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134390", "quantity": 3}]'), NULL,
          'a kit of one given a second component: left to the SQL');
DELETE FROM kit_component WHERE kit = '09506000134390' AND component = '09506000134352';
SELECT is(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134390", "quantity": 3}]'),
          _broker_units('o', '[{"line_ref": "1", "item": "09506000134390", "quantity": 3}]'),
          'and of one again: its component');
SELECT is(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134376", "quantity": 1}]'), NULL,
          'an unknown item: left to the SQL');
INSERT INTO item (gtin, name) VALUES ('09506000134376', 'G');
SELECT is(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134376", "quantity": 1}]'),
          _broker_units('o', '[{"line_ref": "1", "item": "09506000134376", "quantity": 1}]'),
          'the item created: its units');
SAVEPOINT replaced;
CREATE OR REPLACE FUNCTION _order_line_components(item gtin, quantity numeric)
RETURNS TABLE (component gtin, quantity numeric, ships_together boolean)
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, inventory_sync, pg_temp AS $$
    SELECT '09506000134369'::inventory_sync.gtin, $2 * 2, true WHERE $1 = '09506000134352'
    UNION ALL SELECT $1, $2, true WHERE $1 <> '09506000134352' $$;
SELECT is(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]'),
          _broker_units('o', '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]'),
          '_order_line_components() replaced: what it gives now');
SELECT ok(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]')::text
            LIKE '%"item": "09506000134369", "quantity": 2%', 'the other component, twice the quantity');
ROLLBACK TO SAVEPOINT replaced;
SELECT is(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]'),
          _broker_units('o', '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]'),
          'the replacement rolled back: what the function gives again');
SELECT ok(_broker_units_placed('o', '[{"line_ref": "1", "item": "09506000134352", "quantity": 1}]')::text
            LIKE '%"item": "09506000134352", "quantity": 1%', 'the item itself');

-- _broker_lock: the locks taken, the rows created where missing
SELECT throws_ok($$SELECT inventory_sync._broker_lock(NULL, 'o', NULL, NULL)$$, '22004', NULL, 'NULL channel: 22004');
SELECT throws_ok($$SELECT inventory_sync._broker_lock('web', NULL, NULL, NULL)$$, '22004', NULL, 'NULL order: 22004');
SELECT lives_ok($$SELECT inventory_sync._broker_lock('web', 'o', NULL, NULL)$$, 'no parts: nothing to lock');
SELECT lives_ok($$SELECT inventory_sync._broker_lock('web', 'o', '{NULL}', '{NULL}')$$, 'NULL parts: nothing to lock');
DELETE FROM channel_atp WHERE channel = 'web' AND item_gtin = '09506000134369';
SELECT lives_ok($$SELECT inventory_sync._broker_lock('web', 'o', '{09506000134369,09506000134352}', '{0614141000012,0614141000012}')$$,
                'the locks of two parts');
SELECT ok(EXISTS (SELECT FROM channel_atp WHERE channel = 'web' AND item_gtin = '09506000134369'), 'a missing channel ATP row is created');
SELECT ok(EXISTS (SELECT FROM promise_key WHERE item_gtin = '09506000134369' AND location = '0614141000012'), 'and the promise key');
INSERT INTO broker_order (channel, order_ref, lines, partial) VALUES ('web', 'other', '[]', false);
INSERT INTO broker_allocation (channel, order_ref, line_ref, unit_ref, part, item_gtin, location, quantity, status)
  VALUES ('web', 'other', '1', '1', 1, '09506000134352', '0614141000029', 1, 'held');
SELECT throws_like($$SELECT inventory_sync._broker_lock('web', 'o', '{09506000134352}', '{0614141000029}')$$,
                   'location 0614141000029 reached its daily order capacity while order "o" of channel "web" was brokered',
                   'a location at its daily capacity: IS040');

-- _broker_hold_placed: an order held as _broker_hold() holds it
INSERT INTO broker_order (channel, order_ref, lines, partial) VALUES ('web', 'h1', '[]', false), ('web', 'h2', '[]', false);
SELECT is(_broker_hold_placed(NULL, 'h1', '[]', NULL, NULL), NULL, 'NULL channel: left to the SQL');
SELECT is(_broker_hold_placed('web', 'h1', NULL, NULL, NULL), NULL, 'NULL parts: left to the SQL');
SELECT is((SELECT count(*)::integer FROM unnest(ARRAY['{}', '1', 'null', '[1]', '[{}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": "1", "item": "09506000134352", "quantity": 1, "location": "0614141000012", "reservation_line_ref": "1"}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": 1, "item": "09506000134352", "quantity": 1, "location": "0614141000012"}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": 1, "item": "09506000134352", "quantity": "1", "location": "0614141000012", "reservation_line_ref": "1"}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": 1, "item": "09506000134352", "quantity": 1, "location": 614141000012, "reservation_line_ref": "1"}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": 1, "item": "09506000134352", "quantity": 1, "location": "0614141000012", "reservation_line_ref": "1", "rule_no": "1"}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": 1.5, "item": "09506000134352", "quantity": 1, "location": "0614141000012", "reservation_line_ref": "1"}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": 1, "item": "09506000134352", "quantity": 1, "location": "0614141000012", "reservation_line_ref": "1", "rule_no": 2.5}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": 1, "item": "09506000134352", "quantity": 1, "location": "0614141000012", "reservation_line_ref": "1", "reservation_id": 7}]']::jsonb[]) u
            WHERE _broker_hold_placed('web', 'h1', u, NULL, NULL) IS NULL), 13, 'parts not as a plan makes them: left to the SQL');
SELECT is((SELECT count(*)::integer FROM reservation WHERE order_ref = 'h1') + (SELECT count(*)::integer FROM broker_allocation WHERE order_ref = 'h1'),
          0, 'and nothing held or recorded');
SELECT is(_broker_hold_placed('web', 'h1', '[]', NULL, NULL), '[]'::jsonb, 'no parts: none held');
CREATE TEMP TABLE held AS
SELECT _broker_hold_placed('web', 'h1', '[{"line_ref": "2", "unit_ref": "2", "part": 1, "item": "09506000134352", "quantity": 1,
                                          "location": "0614141000012", "rule_no": null, "distance_km": null, "reservation_line_ref": "2"},
                                         {"line_ref": "1", "unit_ref": "1", "part": 1, "item": "09506000134352", "quantity": 2,
                                          "location": "0614141000012", "rule_no": 3, "distance_km": 1.5, "reservation_line_ref": "1"}]',
                           NULL, NULL) AS parts;
SELECT is((SELECT string_agg(p->>'line_ref', ',' ORDER BY n) FROM held, jsonb_array_elements(parts) WITH ORDINALITY x(p, n)), '1,2',
          'parts held in the order _broker_hold() takes them (item, location, unit), each returned with its reservation');
SELECT results_eq($$SELECT a.line_ref, a.part, a.item_gtin::text, a.quantity, a.rule_no, a.distance_km, a.status, r.line_ref, r.open_quantity
                      FROM broker_allocation a JOIN reservation r USING (reservation_id) WHERE a.order_ref = 'h1' ORDER BY a.allocation_id$$,
                  $$VALUES ('1', 1, '09506000134352', 2::numeric, 3, 1.5::numeric, 'held', '1', 2::numeric),
                           ('2', 1, '09506000134352', 1::numeric, NULL, NULL::numeric, 'held', '2', 1::numeric)$$,
                  'the allocation recorded part by part, each with its reservation');
SELECT ok((SELECT bool_and((p->>'reservation_id')::bigint = a.reservation_id) FROM held, jsonb_array_elements(parts) p
             JOIN broker_allocation a ON a.order_ref = 'h1' AND a.line_ref = p->>'line_ref'), 'the reservations returned are the ones recorded');
SELECT throws_like($$SELECT inventory_sync._broker_hold_placed('web', 'h2', '[{"line_ref": "9", "unit_ref": "9", "part": 1,
                       "item": "09506000134352", "quantity": 40, "location": "0614141000012", "reservation_line_ref": "9"}]', NULL, NULL)$$,
                   'insufficient ATP to broker order "h2" of channel "web": line "9" (%',
                   'a part reserve() refuses: the order refused, naming the line (IS040)');
SELECT ok((SELECT bool_and(a.brokered_at = now() AND a.allocation_id IS NOT NULL) FROM broker_allocation a WHERE a.order_ref = 'h1'),
          'each allocation row of its identity and brokered at the transaction''s start, as the defaults give');
SELECT throws_ok($$SELECT inventory_sync._broker_hold_placed('web', 'h3', '[{"line_ref": "1", "unit_ref": "1", "part": 1,
                     "item": "09506000134352", "quantity": 1, "location": "0614141000012", "reservation_line_ref": "1"}]', NULL, NULL)$$,
                 '23503', NULL, 'an order without its broker_order row: 23503, as the foreign key refuses it');

-- _broker_lock_hold_placed: the locks, then the order held as _broker_hold_placed() holds it
INSERT INTO broker_order (channel, order_ref, lines, partial) VALUES ('web', 'l1', '[]', false), ('web', 'l2', '[]', false);
SELECT throws_ok($$SELECT inventory_sync._broker_lock_hold_placed(NULL, 'l1', '[]', NULL, NULL)$$, '22004', NULL,
                 'lock and hold: NULL channel: 22004');
SELECT throws_ok($$SELECT inventory_sync._broker_lock_hold_placed('web', NULL, '[]', NULL, NULL)$$, '22004', NULL,
                 'lock and hold: NULL order: 22004');
SELECT throws_ok($$SELECT inventory_sync._broker_lock_hold_placed('web', 'l1', '1', NULL, NULL)$$, '22023',
                 'cannot extract elements from a scalar', 'lock and hold: a scalar: 22023, as jsonb_array_elements() refuses it');
SELECT throws_ok($$SELECT inventory_sync._broker_lock_hold_placed('web', 'l1', '{}', NULL, NULL)$$, '22023',
                 'cannot extract elements from an object', 'lock and hold: an object: 22023');
SELECT is(_broker_lock_hold_placed('web', 'l1', NULL, NULL, NULL), NULL, 'lock and hold: NULL parts: nothing locked, left to the SQL');
SELECT is((SELECT count(*)::integer FROM unnest(ARRAY['[1]', '[null]', '[{}]', '[{"location": null}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": 1, "item": "09506000134352", "quantity": 1, "location": "0614141000012"}]',
             '[{"line_ref": "1", "unit_ref": "1", "part": "1", "item": "09506000134352", "quantity": 1, "location": "0614141000012", "reservation_line_ref": "1"}]']::jsonb[]) u
            WHERE _broker_lock_hold_placed('web', 'l1', u, NULL, NULL) IS NULL), 6,
          'lock and hold: parts not as a plan makes them: locked, left to the SQL');
SELECT throws_ok($$SELECT inventory_sync._broker_lock_hold_placed('web', 'l1', '[{"item": "1", "location": "0614141000012"}]', NULL, NULL)$$,
                 '22P02', NULL, 'lock and hold: an item that is no GTIN: 22P02, as its cast refuses it');
SELECT is((SELECT count(*)::integer FROM reservation WHERE order_ref = 'l1') + (SELECT count(*)::integer FROM broker_allocation WHERE order_ref = 'l1'),
          0, 'lock and hold: nothing held or recorded');
SELECT is(_broker_lock_hold_placed('web', 'l1', '[]', NULL, NULL), '[]'::jsonb, 'lock and hold: no parts: none held');
DELETE FROM channel_atp WHERE channel = 'web' AND item_gtin = '09506000134369';
SELECT is(_broker_lock_hold_placed('web', 'l1', '[{"item": "09506000134369", "location": "0614141000012"}]', NULL, NULL), NULL,
          'lock and hold: a located part not as a plan makes it: left to the SQL');
SELECT ok(EXISTS (SELECT FROM channel_atp WHERE channel = 'web' AND item_gtin = '09506000134369'),
          'and locked first: a missing channel ATP row is created, as _broker_lock() creates it');
CREATE TEMP TABLE locked_held AS
SELECT _broker_lock_hold_placed('web', 'l1', '[{"line_ref": "1", "unit_ref": "1", "part": 1, "item": "09506000134352", "quantity": 1,
                                               "location": "0614141000012", "rule_no": 1, "distance_km": 2.5, "reservation_line_ref": "1"}]',
                                NULL, NULL) AS parts;
SELECT results_eq($$SELECT a.line_ref, a.item_gtin::text, a.location::text, a.quantity, a.rule_no, a.distance_km, a.status,
                           a.reservation_id = (SELECT (parts->0->>'reservation_id')::bigint FROM locked_held)
                      FROM broker_allocation a WHERE a.order_ref = 'l1'$$,
                  $$VALUES ('1', '09506000134352', '0614141000012', 1::numeric, 1, 2.5::numeric, 'held', true)$$,
                  'lock and hold: the part held and recorded, its reservation returned');
SELECT throws_like($$SELECT inventory_sync._broker_lock_hold_placed('web', 'l2', '[{"line_ref": "9", "unit_ref": "9", "part": 1,
                       "item": "09506000134352", "quantity": 40, "location": "0614141000012", "reservation_line_ref": "9"}]', NULL, NULL)$$,
                   'insufficient ATP to broker order "l2" of channel "web": line "9" (%',
                   'lock and hold: a part reserve() refuses: the order refused, naming the line (IS040)');

SELECT ok(NOT has_function_privilege('inventory_sync_writer', '_broker_units_placed(text, jsonb)', 'EXECUTE')
          AND NOT has_function_privilege('inventory_sync_writer', '_broker_lock(text, text, gtin[], gln[])', 'EXECUTE')
          AND NOT has_function_privilege('inventory_sync_writer', '_broker_hold_placed(text, text, jsonb, timestamptz, date)', 'EXECUTE')
          AND NOT has_function_privilege('inventory_sync_writer', '_broker_lock_hold_placed(text, text, jsonb, timestamptz, date)', 'EXECUTE'),
          'the C steps are no API role''s');

SELECT * FROM finish();
ROLLBACK;
