-- title: 7. Next morning: a web order split over two stores, a store that cannot find it, a breakfast box
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

\echo 'The web shop ships from the stores too. Its brokering rules, kept as data: first a store'
\echo 'within 10 km of the customer (a line of 2 or more may be split over 2 stores), else the'
\echo 'DC in one parcel. A breakfast box is sold by its own GTIN: a kit of one espresso and two'
\echo 'oat milks, which ship together. Its ATP is what its components allow.'
INSERT INTO broker_rule (channel, rule_no, location_kind, max_distance_km, allow_split, max_shipments, min_split_quantity)
VALUES ('web', 1, 'store', 10, true, 2, 2),
       ('web', 2, 'warehouse', NULL, false, 1, 1);
INSERT INTO kit (gtin, name) VALUES ('09506000134505', 'Breakfast box');
INSERT INTO kit_component (kit, component, quantity) VALUES
  ('09506000134505', '09506000134352', 1), ('09506000134505', '09506000134390', 2);
SELECT rule_no, coalesce(location_kind::text, 'any') AS ships_from,
       coalesce(max_distance_km || ' km', 'any distance') AS within,
       CASE WHEN allow_split THEN 'split over up to ' || max_shipments ELSE 'one location per line' END AS lines
  FROM broker_rule WHERE channel = 'web' ORDER BY rule_no;
SELECT demo.item(component) AS component, quantity, kit_atp('09506000134505', 'web') AS boxes_the_web_shop_can_sell
  FROM kit_component WHERE kit = '09506000134505' ORDER BY component;

\echo
\echo 'Web order W-2001: 20 bags of espresso to a customer by Station Road. No store near her has'
\echo '20: the rules split the line over both stores, nearest first, and hold each part as a'
\echo 'reservation of its own, in the same transaction (a dry run would show the same, holding'
\echo 'nothing).'
SELECT line_ref, part, demo.loc(location) AS ships_from, quantity, rule_no, distance_km, reservation_id
  FROM broker('web', 'W-2001', '[{"line_ref": "1", "item": "09506000134352", "quantity": 20}]',
              ship_to_latitude => 51.924, ship_to_longitude => 4.470);

\echo 'Station Road cannot find its 5 bags (moved after the evening count to another shelf). It'
\echo 'rejects the part: the part is cancelled and placed again by the same rules, never at a'
\echo 'store that rejected it; Main Street has no 5 more, so the DC ships them.'
SELECT line_ref, part, demo.loc(location) AS ships_from, quantity, rule_no, distance_km, reservation_id
  FROM reject_allocation((SELECT reservation_id FROM reservation
                           WHERE order_ref = 'W-2001' AND location = '0614141000036'), 'not on the shelf');
SELECT part, demo.loc(location) AS location, quantity, status FROM broker_allocation
 WHERE order_ref = 'W-2001' ORDER BY part;

\echo
\echo 'Web order W-2002: two breakfast boxes and a green tea, near Main Street. The boxes'
\echo 'reserve their components at one location, together with the tea:'
SELECT line_ref, part, demo.item(item) AS item, demo.loc(location) AS ships_from, quantity, reservation_id
  FROM broker('web', 'W-2002', '[{"line_ref": "1", "item": "09506000134505", "quantity": 2},
                                 {"line_ref": "2", "item": "09506000134369", "quantity": 1}]',
              ship_to_latitude => 51.920, ship_to_longitude => 4.480);

\echo 'The rejection rate per location, a KPI for the store teams:'
SELECT demo.loc(location) AS location, parts_allocated, parts_rejected, rejection_rate
  FROM kpi_broker_rejection ORDER BY location;

\echo 'Every part is a reservation like any other: ATP, promise keys and the books still agree.'
SELECT demo.assert_no_drift() AS result;
