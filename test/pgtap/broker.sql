-- pgTAP: order brokering (sql/install/240_broker.sql) against hostile input, as the
-- product's writer role: NULLs, empty and malformed lines, bad GTIN text, zero and
-- negative quantities, unknown channels, rules with garbage values; and the rules of
-- choosing (ties, exclusion, capacity, split limits, kits shipping together).
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(64);

INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E'), ('09506000134369', 'F');
-- A and B at the same point (a tie broken by priority, then GLN), C far away, X outside the channel.
INSERT INTO location (gln, name, kind, latitude, longitude) VALUES
  ('0614141000012', 'A', 'store', 50.0, 8.0), ('0614141000029', 'B', 'store', 50.0, 8.0),
  ('0614141000036', 'C', 'warehouse', 52.0, 13.0), ('0614141000043', 'X', 'store', 50.0, 8.0);
CREATE ROLE is_tap_brk_writer NOLOGIN IN ROLE inventory_sync_writer;
CREATE ROLE is_tap_brk_reader NOLOGIN IN ROLE inventory_sync_reader;
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('web', 'Web'), ('empty', 'No locations');
INSERT INTO channel_location VALUES ('web', '0614141000012', 2), ('web', '0614141000029', 2), ('web', '0614141000036', 1);

CREATE FUNCTION pg_temp.rcv(eid text, g text, l text, q numeric) RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
  VALUES ('receipt', 'wms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, 'released', q) $$;
SELECT pg_temp.rcv('r1', '09506000134352', '0614141000012', 3);
SELECT pg_temp.rcv('r2', '09506000134352', '0614141000029', 3);
SELECT pg_temp.rcv('r3', '09506000134352', '0614141000036', 10);
SELECT pg_temp.rcv('r4', '09506000134352', '0614141000043', 50);
SELECT pg_temp.rcv('r5', '09506000134369', '0614141000036', 2);

-- a statement's error as 'SQLSTATE: message'
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
  RETURN s || ': ' || m;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.err(text) TO PUBLIC;
CREATE FUNCTION pg_temp.counts() RETURNS text LANGUAGE sql AS $$
  SELECT concat_ws('/', (SELECT count(*) FROM inventory_sync.reservation), (SELECT count(*) FROM inventory_sync.broker_order),
                   (SELECT count(*) FROM inventory_sync.broker_allocation), (SELECT count(*) FROM inventory_sync.broker_rejection)) $$;
GRANT EXECUTE ON FUNCTION pg_temp.counts() TO PUBLIC;

-- Rules with garbage values are refused by their constraints -----------------------
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no) VALUES ('web', 0)$$, '23514', NULL, 'rule_no 0');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no) VALUES ('web', NULL)$$, '23502', NULL, 'rule_no NULL');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no) VALUES ('nosuch', 1)$$, '23503', NULL, 'rule of an unknown channel');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, max_distance_km) VALUES ('web', 1, 0)$$, '23514', NULL, 'distance 0');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, max_distance_km) VALUES ('web', 1, 'NaN')$$, '23514', NULL, 'distance NaN');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, max_distance_km) VALUES ('web', 1, 'Infinity')$$, '23514', NULL, 'distance infinite');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, max_distance_km) VALUES ('web', 1, 30000)$$, '23514', NULL, 'distance beyond the far side of the Earth');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, allow_split, max_shipments) VALUES ('web', 1, true, 1)$$, '23514', NULL, 'split into one shipment');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, max_shipments) VALUES ('web', 1, 3)$$, '23514', NULL, 'shipments without split');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, allow_split, max_shipments) VALUES ('web', 1, true, 11)$$, '23514', NULL, 'more than 10 shipments');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, allow_split, max_shipments, min_split_quantity) VALUES ('web', 1, true, 2, -1)$$, '23514', NULL, 'negative minimum split');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, location_group) VALUES ('web', 1, 'nosuch')$$, '23503', NULL, 'unknown group');
SELECT throws_ok($$INSERT INTO broker_rule (channel, rule_no, location_kind) VALUES ('web', 1, 'moon')$$, '22P02', NULL, 'unknown kind');
SELECT throws_ok($$INSERT INTO broker_location (location, daily_order_capacity) VALUES ('0614141000012', 0)$$, '23514', NULL, 'capacity 0');
SELECT throws_ok($$INSERT INTO location_group VALUES ('bad group!', 'x')$$, '23514', NULL, 'group key format');

-- Hostile calls, as the writer: each refused with its SQLSTATE, nothing written --------
SET ROLE is_tap_brk_writer;
SELECT is(pg_temp.counts(), '0/0/0/0', 'nothing brokered yet');
SELECT is(pg_temp.err($$SELECT * FROM broker(NULL, 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1}]')$$),
          '22004: broker() needs channel, order_ref, partial and dry_run', 'NULL channel');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', NULL, '[]')$$), 5), '22004', 'NULL order');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', NULL)$$), 5), '22004', 'NULL lines');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1}]', partial => NULL)$$), 5), '22004', 'NULL partial');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', '', '[]')$$), 5), '22023', 'empty order_ref');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[]')$$), 5), '22023', 'no lines');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '{}')$$), 5), '22023', 'lines not an array');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[1, 2]')$$), 5), '22023', 'a line not an object');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"item":"09506000134352","quantity":1}]')$$), 5), '22023', 'no line_ref');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1#2","item":"09506000134352","quantity":1}]')$$), 5), '22023', 'line_ref with #');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1},{"line_ref":"1","item":"09506000134352","quantity":1}]')$$), 5),
          '22023', 'line_ref twice');
SELECT is(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134353","quantity":1}]')$$),
          '22P02: line "1" of order "o": item "09506000134353" is not a valid GTIN', 'bad GTIN check digit, naming the line');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":9506000134352,"quantity":1}]')$$), 5), '22P02', 'GTIN as a number');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"abc; DROP TABLE x","quantity":1}]')$$), 5), '22P02', 'GTIN garbage');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134376","quantity":1}]')$$), 5), '23503', 'unknown item');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":0}]')$$), 5), 'IS020', 'zero quantity');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":-2}]')$$), 5), 'IS020', 'negative quantity');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":"2"}]')$$), 5), 'IS020', 'quantity as text');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1e300}]')$$), 5), 'IS020', 'quantity beyond reason');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('nosuch', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1}]')$$), 5), '23503', 'unknown channel');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1}]', ship_to_latitude => 50)$$), 5), '22023', 'half a ship-to point');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1}]', 'NaN', 0)$$), 5), '22023', 'NaN latitude');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1}]', pickup_location => '0614141000043')$$), 5), 'IS043', 'pickup outside the channel');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('empty', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1}]')$$), 5), 'IS040', 'a channel without locations');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o', '[{"line_ref":"1","item":"09506000134352","quantity":1}]', expires_at => '2000-01-01')$$), 5), 'IS045', 'expiry in the past');
SELECT is(left(pg_temp.err($$SELECT * FROM reject_allocation(NULL, 'x')$$), 5), '22004', 'reject without a reservation');
SELECT is(left(pg_temp.err($$SELECT * FROM reject_allocation(1, '')$$), 5), '22023', 'reject with an empty reason');
SELECT is(left(pg_temp.err($$SELECT * FROM reject_allocation(-1, 'x')$$), 5), '23503', 'reject an unknown reservation');
SELECT is(pg_temp.counts(), '0/0/0/0', 'no refused call wrote anything');
-- The writer may not write the rules or the allocation by hand.
SELECT is(left(pg_temp.err($$INSERT INTO broker_rule (channel, rule_no) VALUES ('web', 1)$$), 5), '42501', 'a writer does not write rules');
SELECT is(left(pg_temp.err($$DELETE FROM broker_allocation$$), 5), '42501', 'a writer does not write allocations');
SELECT is(left(pg_temp.err($$SELECT inventory_sync._broker_lock('web', 'o', NULL, NULL)$$), 5), '42501', 'internal steps are no API role''s');

-- Choosing: no rules, every location, one shipment; the nearest first, then priority,
-- then GLN (A and B tie on distance and priority: A).
SELECT is((SELECT string_agg(location::text || ':' || quantity, ',') FROM broker('web', 'o1', '[{"line_ref":"1","item":"09506000134352","quantity":2}]', 50.0, 8.0)),
          '0614141000012:2', 'the nearest, ties by priority then GLN');
SELECT is((SELECT string_agg(location::text || ':' || quantity, ',') FROM broker('web', 'o2', '[{"line_ref":"1","item":"09506000134352","quantity":3}]', 50.0, 8.0)),
          '0614141000029:3', 'A has 1 left: B, equally near, holds the line');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o3', '[{"line_ref":"1","item":"09506000134352","quantity":11}]', 50.0, 8.0)$$), 5),
          'IS040', 'no rule splits: a line no single location has is refused');
RESET ROLE;
INSERT INTO broker_rule (channel, rule_no, allow_split, max_shipments, min_split_quantity) VALUES ('web', 1, true, 2, 5);
SET ROLE is_tap_brk_writer;
SELECT is((SELECT string_agg(location::text || ':' || quantity, ',' ORDER BY part) FROM broker('web', 'o3', '[{"line_ref":"1","item":"09506000134352","quantity":11}]', 50.0, 8.0)),
          '0614141000012:1,0614141000036:10', 'split over at most 2, nearest first');
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o4', '[{"line_ref":"1","item":"09506000134352","quantity":4}]', 50.0, 8.0)$$), 5),
          'IS040', 'a line below the minimum split quantity is not split');
SELECT is((SELECT string_agg(coalesce(location::text, '-') || ':' || quantity, ',' ORDER BY part) FROM broker('web', 'o4', '[{"line_ref":"1","item":"09506000134352","quantity":4}]', partial => true)),
          '-:4', 'partial: nothing left anywhere, all of it unallocated');
SELECT is((SELECT count(*)::integer FROM broker('web', 'o3', '[{"line_ref":"1","item":"09506000134352","quantity":11}]', 50.0, 8.0)),
          2, 'brokering the order again returns its allocation');
SELECT is(left(pg_temp.err($$SELECT * FROM reject_allocation((SELECT reservation_id FROM broker_allocation WHERE order_ref = 'o3' AND part = 2), 'gone')$$), 5),
          'IS040', 'a rejection nowhere else fits is refused');
SELECT is(pg_temp.counts(), '4/4/5/0', 'and changes nothing');
RESET ROLE;

-- A kit (K: one E and one F, shipping together) is placed whole at one location: C, the
-- only one with F, although A is nearer and has E; each component its own reservation.
INSERT INTO item (gtin, name) VALUES ('09506000134383', 'K');
SELECT pg_temp.rcv('r6', '09506000134352', '0614141000036', 5);
CREATE OR REPLACE FUNCTION _order_line_components(item gtin, quantity numeric)
RETURNS TABLE (component gtin, quantity numeric, ships_together boolean)
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, inventory_sync, pg_temp AS $$
    SELECT c.g, $2, true FROM (VALUES ('09506000134352'::inventory_sync.gtin), ('09506000134369')) c(g)
     WHERE $1 = '09506000134383' UNION ALL SELECT $1, $2, true WHERE $1 <> '09506000134383' $$;
SET ROLE is_tap_brk_writer;
SELECT is((SELECT string_agg(item::text || '@' || location::text || ':' || quantity, ',' ORDER BY item)
             FROM broker('web', 'k1', '[{"line_ref":"1","item":"09506000134383","quantity":1}]', 50.0, 8.0)),
          '09506000134352@0614141000036:1,09506000134369@0614141000036:1', 'a kit ships together from one location');
SELECT is((SELECT string_agg(line_ref, ',' ORDER BY line_ref) FROM reservation WHERE order_ref = 'k1'),
          '1/1,1/2', 'each component is its own reservation');
RESET ROLE;
SELECT pg_temp.rcv('r7', '09506000134369', '0614141000012', 1);
SET ROLE is_tap_brk_writer;
-- A and C have one K each now, no location two: the kit is not taken apart.
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'k2', '[{"line_ref":"1","item":"09506000134383","quantity":2}]', 50.0, 8.0)$$), 5),
          'IS040', 'a kit is never split over locations');
-- What a kit takes counts for every component: after K at C (the nearest to the
-- customer), C has no F left for line 2, which goes to A.
SELECT is((SELECT string_agg(line_ref || ':' || item::text || '@' || location::text, ',' ORDER BY line_ref, item)
             FROM broker('web', 'k3', '[{"line_ref":"1","item":"09506000134383","quantity":1},
                                         {"line_ref":"2","item":"09506000134369","quantity":1}]', 52.0, 13.0)),
          '1:09506000134352@0614141000036,1:09506000134369@0614141000036,2:09506000134369@0614141000012',
          'every component a kit takes is taken from the plan''s stock');
RESET ROLE;
SET ROLE is_tap_brk_reader;
SELECT is(left(pg_temp.err($$SELECT * FROM broker('web', 'o9', '[{"line_ref":"1","item":"09506000134352","quantity":1}]')$$), 5), '42501', 'a reader does not broker');
SELECT ok((SELECT count(*) FROM kpi_broker_rejection) >= 0, 'a reader reads the KPI');
RESET ROLE;
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'every promise adds up');

SELECT * FROM finish();
ROLLBACK;
