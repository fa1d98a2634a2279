-- Order brokering: a web shop sells from a distribution centre and three stores. Its
-- rules, kept as data, say where each line of an order ships from; broker() chooses and
-- holds the lines as reservations in the same transaction.
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

INSERT INTO item (gtin, name) VALUES ('09506000650012', 'Running shoe'), ('09506000650029', 'Sports socks');
INSERT INTO location (gln, name, kind, latitude, longitude) VALUES
  ('0614141650019', 'DC Utrecht',        'warehouse', 52.0907, 5.1214),
  ('0614141650026', 'Store Amsterdam',   'store',     52.3731, 4.8922),
  ('0614141650033', 'Store Rotterdam',   'store',     51.9225, 4.4792),
  ('0614141650040', 'Store Groningen',   'store',     53.2194, 6.5665),
  ('0614141650057', 'Store Maastricht',  'store',     50.8514, 5.6910);
INSERT INTO source (source, name, kind, role) VALUES ('b_wms', 'WMS', 'wms', current_user), ('b_pos', 'POS', 'pos', current_user);
INSERT INTO channel (channel, name, kind) VALUES ('sport_web', 'Web shop', 'web');
INSERT INTO channel_location (channel, location, priority) VALUES
  ('sport_web', '0614141650019', 1), ('sport_web', '0614141650026', 2), ('sport_web', '0614141650033', 2),
  ('sport_web', '0614141650040', 2), ('sport_web', '0614141650057', 2);

-- Stock: shoes at every location, socks at the DC and in Amsterdam.
SELECT count(*) FROM receive('b_wms', 'B-GR-1', '09506000650012', '0614141650019', 6, 'released');
SELECT count(*) FROM receive('b_pos', 'B-GR-2', '09506000650012', '0614141650026', 3, 'released');
SELECT count(*) FROM receive('b_pos', 'B-GR-3', '09506000650012', '0614141650033', 2, 'released');
SELECT count(*) FROM receive('b_pos', 'B-GR-4', '09506000650012', '0614141650040', 4, 'released');
SELECT count(*) FROM receive('b_pos', 'B-GR-5', '09506000650012', '0614141650057', 2, 'released');
SELECT count(*) FROM receive('b_wms', 'B-GR-6', '09506000650029', '0614141650019', 10, 'released');
SELECT count(*) FROM receive('b_pos', 'B-GR-7', '09506000650029', '0614141650026', 1, 'released');

-- The rules, tried in order: (1) a store within 50 km of the customer ships the line;
-- (2) else the warehouse, the whole order in one parcel where it can; (3) else any
-- location, a line of 2 or more split over at most 3 shipments.
INSERT INTO location_group VALUES ('ship_from_store', 'Stores that ship parcels');
INSERT INTO location_group_member VALUES
  ('ship_from_store', '0614141650026'), ('ship_from_store', '0614141650033'),
  ('ship_from_store', '0614141650040'), ('ship_from_store', '0614141650057');
INSERT INTO broker_rule (channel, rule_no, location_group, max_distance_km) VALUES ('sport_web', 1, 'ship_from_store', 50);
INSERT INTO broker_rule (channel, rule_no, location_kind, prefer_single_shipment) VALUES ('sport_web', 2, 'warehouse', true);
INSERT INTO broker_rule (channel, rule_no, allow_split, max_shipments, min_split_quantity) VALUES ('sport_web', 3, true, 3, 2);
-- Rules are checked: a split into one shipment, a negative distance, an unknown kind.
INSERT INTO broker_rule (channel, rule_no, allow_split, max_shipments) VALUES ('sport_web', 4, true, 1);
INSERT INTO broker_rule (channel, rule_no, max_distance_km) VALUES ('sport_web', 4, -5);
INSERT INTO broker_rule (channel, rule_no, location_kind) VALUES ('sport_web', 4, 'moon');

-- Distances are great-circle, from the locations' coordinates: Amsterdam to Utrecht.
SELECT round(great_circle_km(52.3731, 4.8922, 52.0907, 5.1214)::numeric, 1) AS km;

-- Ship from store: a customer in Haarlem; Amsterdam is the nearest store within 50 km.
SELECT * FROM broker('sport_web', 'B-1001', '[{"line_ref": "1", "item": "09506000650012", "quantity": 2}]',
                     ship_to_latitude => 52.3874, ship_to_longitude => 4.6462);
-- Brokering the same order again returns the allocation it has; nothing more is held.
SELECT line_ref, part, location, reservation_id FROM broker('sport_web', 'B-1001', '[{"line_ref": "1", "item": "09506000650012", "quantity": 2}]',
                     ship_to_latitude => 52.3874, ship_to_longitude => 4.6462);
SELECT reservation_id, line_ref, location, quantity, status FROM reservation WHERE order_ref = 'B-1001';
-- The same order_ref with other lines is an error.
SELECT * FROM broker('sport_web', 'B-1001', '[{"line_ref": "1", "item": "09506000650012", "quantity": 3}]');

-- Pick up in store (BOPIS): the customer names the store; the whole order is held there.
SELECT * FROM broker('sport_web', 'B-1002', '[{"line_ref": "1", "item": "09506000650012", "quantity": 1}]',
                     pickup_location => '0614141650033');
-- The store does not have the socks: the order is refused as a whole, naming the line.
SELECT * FROM broker('sport_web', 'B-1003', '[{"line_ref": "1", "item": "09506000650012", "quantity": 1},
                                        {"line_ref": "2", "item": "09506000650029", "quantity": 1}]',
                     pickup_location => '0614141650033');

-- No store within 50 km of Eindhoven: the warehouse rule ships both lines in one parcel.
SELECT * FROM broker('sport_web', 'B-1004', '[{"line_ref": "1", "item": "09506000650012", "quantity": 2},
                                        {"line_ref": "2", "item": "09506000650029", "quantity": 3}]',
                     ship_to_latitude => 51.4416, ship_to_longitude => 5.4697);

-- Dry run: how an order of 5 shoes to Amsterdam would be brokered, without holding
-- anything. No single location has 5: rule 3 splits the line, nearest first.
SELECT * FROM broker('sport_web', 'B-1005', '[{"line_ref": "1", "item": "09506000650012", "quantity": 5}]',
                     ship_to_latitude => 52.3731, ship_to_longitude => 4.8922, dry_run => true);
SELECT count(*) AS held FROM reservation WHERE order_ref = 'B-1005';

-- Held for real: each part is its own reservation (line 1#1, 1#2, ...), fulfilled,
-- cancelled or expired on its own, and each shows in the feed.
SELECT * FROM broker('sport_web', 'B-1005', '[{"line_ref": "1", "item": "09506000650012", "quantity": 5}]',
                     ship_to_latitude => 52.3731, ship_to_longitude => 4.8922);
SELECT reservation_id, line_ref, location, quantity FROM reservation WHERE order_ref = 'B-1005' ORDER BY reservation_id;

-- The Amsterdam store cannot find its part: it rejects it. The part is cancelled, the
-- rejection recorded, and the quantity placed by the same rules elsewhere (never again
-- in Amsterdam).
SELECT * FROM reject_allocation((SELECT reservation_id FROM reservation
                                  WHERE order_ref = 'B-1005' AND location = '0614141650026'), 'not on the shelf');
SELECT line_ref, part, location, quantity, status FROM broker_allocation WHERE order_ref = 'B-1005' ORDER BY allocation_id;
SELECT location, reason FROM broker_rejection;
-- Rejected again, by Rotterdam: the next nearest that has not rejected it, Groningen.
SELECT * FROM reject_allocation((SELECT reservation_id FROM broker_allocation
                                  WHERE order_ref = 'B-1005' AND status = 'held' AND part = 3), 'damaged');
-- A pickup order is collected where the customer said: when that store rejects it, no
-- other location may take it, and nothing changes (cancel the reservation, or broker anew).
SELECT * FROM reject_allocation((SELECT reservation_id FROM broker_allocation WHERE order_ref = 'B-1002'), 'not found');
SELECT status FROM reservation WHERE order_ref = 'B-1002';
-- A part is rejected once.
SELECT * FROM reject_allocation((SELECT reservation_id FROM broker_allocation
                                  WHERE order_ref = 'B-1005' AND status = 'rejected' AND part = 1), 'again');

-- Daily capacity: Groningen takes two orders a day, and has one (B-1005). Two orders near
-- Groningen: the first goes there, the second, with the store full for the day, goes by
-- the next rule.
INSERT INTO broker_location (location, daily_order_capacity) VALUES ('0614141650040', 2);
SELECT line_ref, location, rule_no, distance_km FROM broker('sport_web', 'B-1006', '[{"line_ref": "1", "item": "09506000650012", "quantity": 1}]',
                     ship_to_latitude => 53.2, ship_to_longitude => 6.6);
SELECT line_ref, location, rule_no, distance_km FROM broker('sport_web', 'B-1007', '[{"line_ref": "1", "item": "09506000650012", "quantity": 1}]',
                     ship_to_latitude => 53.2, ship_to_longitude => 6.6);
-- A closed location is never chosen.
UPDATE broker_location SET closed = true, daily_order_capacity = NULL WHERE location = '0614141650040';
SELECT line_ref, location, rule_no FROM broker('sport_web', 'B-1008', '[{"line_ref": "1", "item": "09506000650012", "quantity": 1}]',
                     ship_to_latitude => 53.2, ship_to_longitude => 6.6, dry_run => true);

-- Partial: hold what there is and report the rest unallocated (location NULL).
SELECT * FROM broker('sport_web', 'B-1009', '[{"line_ref": "1", "item": "09506000650029", "quantity": 9},
                                        {"line_ref": "2", "item": "09506000650012", "quantity": 1}]',
                     partial => true);
-- All or nothing (the default): the same order is refused, nothing held.
SELECT * FROM broker('sport_web', 'B-1010', '[{"line_ref": "1", "item": "09506000650029", "quantity": 9}]');

-- Bad input: nothing is written.
SELECT * FROM broker('sport_web', 'B-2000', '[]');
SELECT * FROM broker('sport_web', 'B-2000', '[{"line_ref": "1", "item": "12345", "quantity": 1}]');
SELECT * FROM broker('sport_web', 'B-2000', '[{"line_ref": "1", "item": "09506000650012", "quantity": 0}]');
SELECT * FROM broker('nosuch', 'B-2000', '[{"line_ref": "1", "item": "09506000650012", "quantity": 1}]');
SELECT * FROM broker('sport_web', 'B-2000', '[{"line_ref": "1", "item": "09506000650012", "quantity": 1}]', ship_to_latitude => 95, ship_to_longitude => 0);

-- The rejection rate per location.
SELECT * FROM kpi_broker_rejection ORDER BY location;
-- Every promise still adds up.
SELECT * FROM verify_promises();
