-- pgTAP: every rule of the posting engine's row trigger, errors and after-states
-- (src/posting_validate.c, src/posting_apply.c). Runs in one transaction that is rolled back.
-- GTINs and GLNs carry valid GS1 check digits and are written as strings.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(112);

-- Master data ---------------------------------------------------------------
-- A 09506000134352 each | L 09506000134369 lot-tracked | S 09506000134376 serial-tracked
-- K 09506000134383 KGM  | C 09506000134390 (made lot-tracked mid-test) | E 09506000134406 (counts)
-- pack 19506000134359 = 12 x A; unit DZN = 12 EA for A; KGM -> 0.5 EA for A
-- W1 0614141000012 warehouse | W2 0614141000029 strict | T 0614141000036 in transit
-- W3 0614141000043 owned by erp (damaged: wms) | W4 0614141000050 warehouse
-- unknown: gtin 09506000134413, gln 0614141000098
INSERT INTO unit VALUES ('DZN', 'dozen', true);
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'A');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134369', 'L', true);
INSERT INTO item (gtin, name, serial_tracked) VALUES ('09506000134376', 'S', true);
INSERT INTO item (gtin, name, base_unit) VALUES ('09506000134383', 'K', 'KGM');
INSERT INTO item (gtin, name) VALUES ('09506000134390', 'C'), ('09506000134406', 'E');
INSERT INTO item_pack (pack_gtin, item_gtin, quantity) VALUES ('19506000134359', '09506000134352', 12);
INSERT INTO item_unit VALUES ('09506000134352', 'DZN', 12), ('09506000134352', 'KGM', 0.5);
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'W1', 'warehouse'),
  ('0614141000043', 'W3', 'warehouse'), ('0614141000050', 'W4', 'warehouse');
INSERT INTO location (gln, name, kind, strict) VALUES ('0614141000029', 'W2', 'warehouse', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141000036', 'T', 'in_transit');
CREATE ROLE is_tap_pos NOLOGIN;
CREATE ROLE is_tap_intruder NOLOGIN;
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user),
  ('erp', 'ERP', 'erp', current_user), ('pos', 'POS', 'pos', 'is_tap_pos');
INSERT INTO ownership VALUES ('0614141000043', NULL, 'erp'), ('0614141000043', 'damaged', 'wms');
GRANT USAGE ON SCHEMA inventory_sync TO is_tap_pos, is_tap_intruder;
GRANT SELECT ON ALL TABLES IN SCHEMA inventory_sync TO is_tap_pos, is_tap_intruder;
GRANT INSERT ON ledger TO is_tap_pos, is_tap_intruder;
GRANT UPDATE, DELETE, TRUNCATE ON ledger, balance, balance_change TO is_tap_intruder;

-- Helpers: balance of a key; rows an INSERT wrote.
CREATE FUNCTION pg_temp.bal(g text, l text, b text DEFAULT 'released', lt text DEFAULT NULL)
RETURNS numeric LANGUAGE sql AS $$
  SELECT quantity FROM inventory_sync.balance
   WHERE item_gtin = g::inventory_sync.gtin AND location = l::inventory_sync.gln
     AND bucket = b AND lot IS NOT DISTINCT FROM lt::inventory_sync.lot_number $$;
CREATE FUNCTION pg_temp.ver(g text, l text, b text DEFAULT 'released')
RETURNS bigint LANGUAGE sql AS $$
  SELECT version FROM inventory_sync.balance
   WHERE item_gtin = g::inventory_sync.gtin AND location = l::inventory_sync.gln AND bucket = b $$;
CREATE FUNCTION pg_temp.rows(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint; BEGIN EXECUTE q; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;

-- A plain receipt -------------------------------------------------------------
SELECT is(pg_temp.rows($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'r1', '09506000134352', '0614141000012', 10)$$), 1::bigint, 'receipt inserts one ledger row');
SELECT is(pg_temp.bal('09506000134352', '0614141000012'), 10::numeric, 'receipt: balance 10');
SELECT is(pg_temp.ver('09506000134352', '0614141000012'), 1::bigint, 'receipt: version 1');
SELECT results_eq($$SELECT base_quantity, actor, item_gtin = '09506000134352'::gtin FROM ledger WHERE source_event_id = 'r1'$$,
  $$VALUES (10::numeric, current_user::text COLLATE "default", true)$$, 'the ledger sets item_gtin, base_quantity and actor');

-- Unknown master data: 23503 ------------------------------------------------
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'x1', '09506000134413', '0614141000012', 1)$$,
  '23503', 'unknown item: gtin 09506000134413', 'unknown item');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'x2', '09506000134352', '0614141000098', 1)$$,
  '23503', 'unknown location: gln 0614141000098', 'unknown location');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, quantity)
  VALUES ('transfer_out', 'wms', 'x3', '09506000134352', '0614141000012', '0614141000098', 1)$$,
  '23503', 'unknown location: to_location gln 0614141000098', 'unknown to_location');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
  VALUES ('receipt', 'wms', 'x4', '09506000134352', '0614141000012', 'nosuch', 1)$$,
  '23503', 'unknown bucket "nosuch"', 'unknown bucket');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, to_bucket, quantity)
  VALUES ('move', 'wms', 'x5', '09506000134352', '0614141000012', 'released', 'nosuch', 1)$$,
  '23503', 'unknown bucket "nosuch"', 'unknown to_bucket');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'nosrc', 'x6', '09506000134352', '0614141000012', 1)$$,
  '23503', 'unknown source "nosrc"', 'unknown source');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, unit)
  VALUES ('receipt', 'wms', 'x7', '09506000134352', '0614141000012', 1, 'XYZ')$$,
  '23503', 'unknown unit "XYZ"', 'unknown unit');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, reason)
  VALUES ('adjustment', 'wms', 'x8', '09506000134352', '0614141000012', 1, 'nope')$$,
  '23503', 'unknown reason code "nope"', 'unknown reason');

-- Source binding: 42501 ----------------------------------------------------
SET ROLE is_tap_intruder;
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'pos', 'p1', '09506000134352', '0614141000050', 1)$$,
  '42501', 'role "is_tap_intruder" may not post as source "pos"', 'a role not bound to the source may not post as it');
RESET ROLE;
SET ROLE is_tap_pos;
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'pos', 'p1', '09506000134352', '0614141000050', 1)$$, 'the bound role posts as its source');
RESET ROLE;
SELECT is((SELECT actor FROM ledger WHERE source = 'pos' AND source_event_id = 'p1'), 'is_tap_pos'::text, 'actor is the posting role');
SELECT col_type_is('inventory_sync', 'ledger', 'actor', 'text', 'actor is text: only the role name''s characters are stored');
SELECT is((SELECT pg_column_size(actor) FROM ledger WHERE source = 'pos' AND source_event_id = 'p1'),
          octet_length('is_tap_pos') + 1, 'a short role name takes its length plus a one-byte header, not 64 bytes');
SELECT is(pg_temp.bal('09506000134352', '0614141000050'), 1::numeric, 'the bound role''s posting is applied');

-- Ownership: IS001 -----------------------------------------------------------
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'o1', '09506000134352', '0614141000043', 1)$$,
  'IS001', 'source "wms" is not the system of record for bucket "released" at location 0614141000043',
  'not the system of record');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'erp', 'o2', '09506000134352', '0614141000043', 5)$$, 'the system of record posts');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, to_bucket, quantity)
  VALUES ('move', 'erp', 'o3', '09506000134352', '0614141000043', 'released', 'damaged', 1)$$,
  'IS001', 'source "erp" is not the system of record for bucket "damaged" at location 0614141000043',
  'a move needs ownership of the bucket it enters too');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, to_bucket, quantity)
  VALUES ('move', 'wms', 'o3b', '09506000134352', '0614141000043', 'released', 'damaged', 1)$$,
  'the owner of the bucket a move enters decides the status change (it need not own the bucket left)');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
  VALUES ('receipt', 'wms', 'o4', '09506000134352', '0614141000043', 'damaged', 1)$$,
  'a per-bucket owner overrides the location owner');

-- Replays: IS002, exact replay ----------------------------------------------
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'r1', '09506000134352', '0614141000012', 11)$$,
  'IS002', 'event "r1" of source "wms" was already posted with a different quantity', 'conflicting replay');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('issue', 'wms', 'r1', '09506000134352', '0614141000012', 10)$$,
  'IS002', 'event "r1" of source "wms" was already posted with a different kind', 'conflicting replay (kind)');
SELECT is(pg_temp.rows($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'r1', '09506000134352', '0614141000012', 10.0)$$), 0::bigint, 'exact replay inserts nothing (INSERT 0 0)');
SELECT is(pg_temp.bal('09506000134352', '0614141000012'), 10::numeric, 'exact replay: balance unchanged');
SELECT is(pg_temp.ver('09506000134352', '0614141000012'), 1::bigint, 'exact replay: version unchanged');
SELECT is((SELECT count(*) FROM ledger WHERE source = 'wms' AND source_event_id = 'r1'), 1::bigint, 'exact replay: one ledger row');

-- Compare-and-set: IS003 ----------------------------------------------------
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, expected_quantity)
  VALUES ('issue', 'wms', 'cas1', '09506000134352', '0614141000012', 1, 5)$$,
  'IS003', 'balance of gtin 09506000134352 at location 0614141000012, bucket "released" is 10, not the expected 5',
  'stale expected_quantity');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, expected_quantity)
  VALUES ('issue', 'wms', 'cas2', '09506000134352', '0614141000012', 1, 10)$$, 'matching expected_quantity');
SELECT is(pg_temp.bal('09506000134352', '0614141000012'), 9::numeric, 'CAS ok: applied');

-- Strict location: IS004; non-strict negative -> exception ----------------
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'st1', '09506000134352', '0614141000029', 3);
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('issue', 'wms', 'st2', '09506000134352', '0614141000029', 5)$$,
  'IS004', 'insufficient stock: gtin 09506000134352 at location 0614141000029, bucket "released" has 3, the posting takes 5',
  'strict location refuses a negative balance');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('issue', 'wms', 'st3', '09506000134352', '0614141000029', 3)$$, 'strict location: down to zero is fine');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('issue', 'wms', 'neg1', '09506000134352', '0614141000012', 14)$$, 'non-strict location records the fact');
SELECT is(pg_temp.bal('09506000134352', '0614141000012'), -5::numeric, 'non-strict: balance goes negative');
SELECT results_eq($$SELECT e.kind::text, e.detail FROM exception e JOIN ledger l USING (posting_id) WHERE l.source_event_id = 'neg1'$$,
  $$VALUES ('negative_balance', 'balance went from 9 to -5')$$, 'non-strict: a negative_balance exception');

-- Quantities: IS020 -----------------------------------------------------------
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'q1', '09506000134352', '0614141000012', 0)$$, 'IS020', 'quantity must not be zero', 'zero quantity');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('issue', 'wms', 'q2', '09506000134352', '0614141000012', -3)$$,
  'IS020', 'quantity -3 must be positive in a posting of kind issue', 'wrong sign for a directional kind');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'q3', '09506000134352', '0614141000012', 1.5)$$,
  'IS020', 'quantity 1.5 is not a whole number of EA', 'non-integral quantity in EA');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'q4', '09506000134352', '0614141000012', 'NaN')$$,
  'IS020', 'quantity NaN is not a number of units', 'NaN quantity');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('count', 'wms', 'q5', '09506000134352', '0614141000012', -1)$$,
  'IS020', 'a count states an absolute quantity: -1 is negative', 'negative count');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'q6', '19506000134359', '0614141000012', 1.5)$$,
  'IS020', 'quantity 1.5 is not a whole number of packs', 'fractional packs');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, unit)
  VALUES ('receipt', 'wms', 'q7', '19506000134359', '0614141000012', 1, 'EA')$$,
  'IS020', 'a pack GTIN is counted in packs: unit must be empty for gtin 19506000134359', 'unit with a pack GTIN');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, unit)
  VALUES ('receipt', 'wms', 'q8', '09506000134352', '0614141000012', 1, 'LTR')$$,
  'IS020', 'unit "LTR" does not convert to the base unit "EA" of item 09506000134352', 'unit without a conversion');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, unit)
  VALUES ('receipt', 'wms', 'q9', '09506000134352', '0614141000012', 3, 'KGM')$$,
  'IS020', 'quantity 3 KGM is 1.5 EA: not a whole number of base units', 'conversion to a fractional EA');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'q10', '09506000134383', '0614141000012', 0.25)$$, 'fractional quantity in KGM');
SELECT is(pg_temp.bal('09506000134383', '0614141000012'), 0.25::numeric, 'KGM balance 0.25');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, reason)
  VALUES ('adjustment', 'wms', 'q11', '09506000134383', '0614141000012', -0.05, 'shrink')$$, 'a signed adjustment');
SELECT is(pg_temp.bal('09506000134383', '0614141000012'), 0.20::numeric, 'negative adjustment applied');

-- Pack GTIN and unit conversion ---------------------------------------------
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'pk1', '19506000134359', '0614141000050', 2)$$, 'receipt of 2 cases');
SELECT results_eq($$SELECT base_quantity, item_gtin = '09506000134352'::gtin FROM ledger WHERE source_event_id = 'pk1'$$,
  $$VALUES (24::numeric, true)$$, 'a case of 12: 2 cases are 24 base units of the item');
SELECT is(pg_temp.bal('09506000134352', '0614141000050'), 25::numeric, 'pack receipt lands on the item''s balance');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, unit)
  VALUES ('issue', 'wms', 'u1', '09506000134352', '0614141000050', 2, 'DZN')$$, 'issue of 2 dozen');
SELECT is(pg_temp.bal('09506000134352', '0614141000050'), 1::numeric, 'unit conversion via item_unit: 2 DZN = 24 EA');

-- Lots: IS021 -----------------------------------------------------------------
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'l1', '09506000134369', '0614141000012', 1)$$,
  'IS021', 'item 09506000134369 is lot-tracked: the posting needs a lot', 'lot required');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, quantity)
  VALUES ('receipt', 'wms', 'l2', '09506000134352', '0614141000012', 'LOT1', 1)$$,
  'IS021', 'item 09506000134352 is not lot-tracked: the posting must not name a lot', 'lot forbidden');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, quantity)
  VALUES ('receipt', 'wms', 'l3', '09506000134369', '0614141000012', 'LOT1', 4)$$, 'lot-tracked receipt with a lot');
SELECT is(pg_temp.bal('09506000134369', '0614141000012', 'released', 'LOT1'), 4::numeric, 'balance per lot');
SELECT is((SELECT count(*) FROM lot WHERE item_gtin = '09506000134369' AND lot = 'LOT1'), 1::bigint, 'a new lot is registered');

-- Serials: IS022 and conflicts ----------------------------------------------
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 's1', '09506000134376', '0614141000012', 1)$$,
  'IS022', 'item 09506000134376 is serial-tracked: the posting needs a serial', 'serial required');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, serial, quantity)
  VALUES ('receipt', 'wms', 's2', '09506000134352', '0614141000012', 'SN1', 1)$$,
  'IS022', 'item 09506000134352 is not serial-tracked: the posting must not name a serial', 'serial forbidden');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, serial, quantity)
  VALUES ('receipt', 'wms', 's3', '09506000134376', '0614141000012', 'SN1', 2)$$,
  'IS022', 'a serialised unit moves alone: quantity 2 is not plus or minus one base unit', 'serial quantity must be one');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, serial, quantity)
  VALUES ('receipt', 'wms', 's4', '09506000134376', '0614141000012', 'SN1', 1)$$, 'serialised receipt');
SELECT results_eq($$SELECT location = '0614141000012'::gln, bucket FROM serial_unit WHERE item_gtin = '09506000134376' AND serial = 'SN1'$$,
  $$VALUES (true, 'released')$$, 'serial_unit knows where the serial is');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, serial, quantity)
  VALUES ('receipt', 'wms', 's5', '09506000134376', '0614141000050', 'SN1', 1)$$, 'a conflicting serial fact is recorded');
SELECT results_eq($$SELECT e.kind::text, e.detail FROM exception e JOIN ledger l USING (posting_id) WHERE l.source_event_id = 's5'$$,
  $$VALUES ('serial_conflict', 'serial arrives at location 0614141000050 but is known to be at 0614141000012')$$,
  'serial arriving elsewhere: serial_conflict exception');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, serial, quantity)
  VALUES ('issue', 'wms', 's6', '09506000134376', '0614141000012', 'SN1', 1)$$, 'issue of the serial where it is not');
SELECT results_eq($$SELECT e.kind::text, e.detail FROM exception e JOIN ledger l USING (posting_id) WHERE l.source_event_id = 's6'$$,
  $$VALUES ('serial_conflict', 'serial leaves location 0614141000012 but is known to be at 0614141000050')$$,
  'serial leaving a place it is not: serial_conflict exception');

-- Moves and transfers: IS023 ---------------------------------------------------
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('move', 'wms', 'm1', '09506000134352', '0614141000050', 1)$$,
  'IS023', 'a move needs a to_bucket different from bucket "released"', 'move without to_bucket');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_bucket, quantity)
  VALUES ('move', 'wms', 'm2', '09506000134352', '0614141000050', 'released', 1)$$,
  'IS023', 'a move needs a to_bucket different from bucket "released"', 'move to the same bucket');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, to_bucket, quantity)
  VALUES ('move', 'wms', 'm3', '09506000134352', '0614141000050', '0614141000012', 'qa_hold', 1)$$,
  'IS023', 'a move stays at one location: use transfer_out and transfer_in to move stock between locations', 'move across locations');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, quantity)
  VALUES ('transfer_out', 'wms', 'm4', '09506000134352', '0614141000050', '0614141000012', 1)$$,
  'IS023', 'transfer_out needs to_location to be an in_transit location', 'transfer_out not to in-transit');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, quantity)
  VALUES ('transfer_in', 'wms', 'm5', '09506000134352', '0614141000050', '0614141000012', 1)$$,
  'IS023', 'transfer_in moves stock from an in_transit location to a receiving to_location', 'transfer_in not from in-transit');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('adjustment', 'wms', 'm6', '09506000134352', '0614141000050', 1)$$,
  'IS023', 'an adjustment needs a reason code', 'adjustment without reason');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_bucket, quantity)
  VALUES ('receipt', 'wms', 'm7', '09506000134352', '0614141000050', 'qa_hold', 1)$$,
  'IS023', 'a receipt posting touches one key: to_location and to_bucket must be empty', 'one-key kind with to_bucket');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, to_bucket, quantity)
  VALUES ('move', 'wms', 'm8', '09506000134352', '0614141000012', 'released', 'qa_hold', 2)$$, 'a move');
SELECT results_eq($$SELECT balance_change.bucket, delta, quantity_after FROM balance_change JOIN ledger USING (posting_id)
  WHERE ledger.source_event_id = 'm8' ORDER BY 1$$,
  $$VALUES ('qa_hold', 2::numeric, 2::numeric), ('released', -2::numeric, -7::numeric)$$, 'a move has two effects');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, quantity)
  VALUES ('transfer_out', 'wms', 't1', '09506000134352', '0614141000012', '0614141000036', 3)$$, 'transfer_out');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, to_bucket, quantity)
  VALUES ('transfer_in', 'wms', 't2', '09506000134352', '0614141000036', '0614141000050', 'receiving', 3)$$, 'transfer_in');
SELECT is(pg_temp.bal('09506000134352', '0614141000036'), 0::numeric, 'in transit: out and back to zero');
SELECT is(pg_temp.bal('09506000134352', '0614141000050', 'receiving'), 3::numeric, 'transfer_in lands in to_bucket');
SELECT is(pg_temp.bal('09506000134352', '0614141000012'), -10::numeric, 'transfer_out left the origin');

-- Append-only: IS030 ----------------------------------------------------------
SET ROLE is_tap_intruder;
SELECT throws_ok($$UPDATE ledger SET reference = 'x'$$, 'IS030', 'UPDATE of ledger is not allowed', 'UPDATE of the ledger refused');
SELECT throws_ok($$DELETE FROM ledger$$, 'IS030', 'DELETE from ledger is not allowed', 'DELETE of the ledger refused');
SELECT throws_ok($$TRUNCATE ledger$$, 'IS030', 'TRUNCATE of ledger is not allowed', 'TRUNCATE of the ledger refused');
RESET ROLE;
SELECT lives_ok($$UPDATE ledger SET reference = reference WHERE false$$, 'a superuser may UPDATE the ledger');
SELECT throws_ok($$UPDATE balance SET quantity = 0$$, 'IS030', 'UPDATE of balance is not allowed', 'UPDATE of balance refused, even for a superuser');
SELECT throws_ok($$DELETE FROM balance_change$$, 'IS030', 'DELETE from balance_change is not allowed', 'DELETE of balance_change refused');
SELECT throws_ok($$TRUNCATE balance$$, 'IS030', 'TRUNCATE of balance is not allowed', 'TRUNCATE of balance refused');
SELECT throws_ok($$TRUNCATE balance_change$$, 'IS030', 'TRUNCATE of balance_change is not allowed', 'TRUNCATE of balance_change refused');
SELECT throws_ok($$INSERT INTO balance (item_gtin, location, bucket) VALUES ('09506000134352', '0614141000098', 'released')$$,
  'IS030', 'INSERT into balance is not allowed', 'INSERT into balance refused (and called an INSERT)');

-- Counts as of a watermark; late events ---------------------------------------
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time) VALUES
  ('receipt', 'wms', 'c1', '09506000134406', '0614141000012', 100, '2024-01-01 00:00+00'),
  ('issue',   'wms', 'c2', '09506000134406', '0614141000012', 5,   '2024-01-01 13:00+00');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time)
  VALUES ('count', 'wms', 'c3', '09506000134406', '0614141000012', 90, '2024-01-01 12:00+00')$$, 'count as of 12:00');
SELECT results_eq($$SELECT delta, quantity_after, version FROM balance_change JOIN ledger USING (posting_id) WHERE ledger.source_event_id = 'c3'$$,
  $$VALUES (-10::numeric, 85::numeric, 3::bigint)$$, 'count: delta against the balance as of the watermark; later issue keeps its effect');
SELECT is((SELECT last_count_at FROM balance WHERE item_gtin = '09506000134406'), '2024-01-01 12:00+00'::timestamptz, 'last_count_at is the watermark');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time)
  VALUES ('receipt', 'wms', 'c4', '09506000134406', '0614141000012', 1, '2024-01-01 06:00+00')$$, 'an event older than the count');
SELECT is(pg_temp.bal('09506000134406', '0614141000012'), 86::numeric, 'the late event is applied');
SELECT is((SELECT e.kind::text FROM exception e JOIN ledger l USING (posting_id) WHERE l.source_event_id = 'c4'), 'late_event', 'and flagged late_event');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time) VALUES
  ('issue', 'wms', 'c5', '09506000134406', '0614141000012', 3,  '2024-01-01 15:00+00'),
  ('count', 'wms', 'c6', '09506000134406', '0614141000012', 50, '2024-01-01 14:00+00')$$, 'count and a later posting in one statement');
SELECT is(pg_temp.bal('09506000134406', '0614141000012'), 47::numeric, 'the statement''s own later posting keeps its effect');
SELECT is((SELECT count(*) FROM exception e JOIN ledger l USING (posting_id) WHERE l.source_event_id IN ('c5', 'c6')), 0::bigint, 'no late_event for postings after the count');

-- Versions and quantity_after ---------------------------------------------------
SELECT results_eq($$SELECT c.version, c.delta, c.quantity_after FROM balance_change c JOIN balance b USING (balance_id)
  WHERE b.item_gtin = '09506000134406' ORDER BY c.version$$,
  $$VALUES (1::bigint, 100::numeric, 100::numeric), (2, -5, 95), (3, -10, 85), (4, 1, 86), (5, -3, 83), (6, -36, 47)$$,
  'versions 1..n and the quantity_after chain of one key');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, reason) VALUES
  ('receipt', 'wms', 'v1', '09506000134352', '0614141000050', 5, NULL),
  ('receipt', 'wms', 'v2', '09506000134383', '0614141000050', 1, NULL),
  ('issue',   'wms', 'v3', '09506000134352', '0614141000050', 2, NULL),
  ('adjustment', 'wms', 'v4', '09506000134352', '0614141000050', 7, 'found')$$, 'a multi-row statement with a repeated key');
SELECT results_eq($$SELECT l.source_event_id, c.version, c.delta, c.quantity_after FROM balance_change c JOIN ledger l USING (posting_id)
  WHERE l.source_event_id IN ('v1', 'v3', 'v4') ORDER BY l.posting_id$$,
  $$VALUES ('v1'::text, 4::bigint, 5::numeric, 6::numeric), ('v3', 5, -2, 4), ('v4', 6, 7, 11)$$,
  'repeated keys get consecutive versions in posting order');
SELECT is(pg_temp.ver('09506000134352', '0614141000050'), 6::bigint, 'balance version is the last after-state''s');

-- Master-data cache invalidation ---------------------------------------------
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'mc1', '09506000134390', '0614141000012', 1)$$, 'item C is not lot-tracked');
UPDATE item SET lot_tracked = true WHERE gtin = '09506000134390';
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'mc2', '09506000134390', '0614141000012', 1)$$,
  'IS021', 'item 09506000134390 is lot-tracked: the posting needs a lot', 'the same transaction sees item C made lot-tracked');
SELECT lives_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, quantity)
  VALUES ('receipt', 'wms', 'mc3', '09506000134390', '0614141000012', 'LC', 1)$$, 'and accepts a lot for it');
UPDATE location SET strict = true WHERE gln = '0614141000050';
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('issue', 'wms', 'mc4', '09506000134352', '0614141000050', 100)$$,
  'IS004', NULL, 'a location made strict in the transaction refuses negatives at once');

-- Hints name only objects that exist (they once named add_item(), add_source(), ...).
CREATE FUNCTION pg_temp.hint_of(stmt text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE h text;
BEGIN
  EXECUTE stmt;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
  RETURN h;
END $f$;
SELECT is_empty($$
  WITH hints AS (
    SELECT pg_temp.hint_of(format($q$INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity, unit, reason)
                                    VALUES (%L, %L, 'h1', %L, %L, %L, %s, %L, %L)$q$, k, s, g, l, b, q, u, r)) AS hint
      FROM (VALUES ('receipt', 'wms', '09506000134413', '0614141000012', 'released', 1, NULL, NULL),
                   ('receipt', 'wms', '09506000134352', '0614141000098', 'released', 1, NULL, NULL),
                   ('receipt', 'wms', '09506000134352', '0614141000012', 'nosuch', 1, NULL, NULL),
                   ('receipt', 'nosuch', '09506000134352', '0614141000012', 'released', 1, NULL, NULL),
                   ('receipt', 'wms', '09506000134352', '0614141000012', 'released', 1, 'XYZ', NULL),
                   ('adjustment', 'wms', '09506000134352', '0614141000012', 'released', 1, NULL, 'nosuch'),
                   ('receipt', 'wms', '09506000134352', '0614141000012', 'released', -1, NULL, NULL))
           AS v(k, s, g, l, b, q, u, r)),
  named AS (SELECT hint, (regexp_matches(hint, 'inventory_sync\.([a-z_]+)', 'g'))[1] AS obj FROM hints WHERE hint IS NOT NULL)
  SELECT hint, obj FROM named
   WHERE NOT EXISTS (SELECT FROM pg_proc p WHERE p.proname = obj AND p.pronamespace = 'inventory_sync'::regnamespace)
     AND to_regclass('inventory_sync.' || obj) IS NULL
$$, 'every object a hint names exists');

SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): every balance equals the ledger');

-- Reinstalling the extension in a live session (saved plans must not keep the old type OIDs) -------------------------------
-- (in a subtransaction: rolled back whatever happens)
SELECT lives_ok($$DROP EXTENSION inventory_sync CASCADE;
  CREATE EXTENSION inventory_sync;
  INSERT INTO inventory_sync.item (gtin, name) VALUES ('09506000134352', 'A');
  INSERT INTO inventory_sync.location (gln, name, kind) VALUES ('0614141000012', 'W1', 'warehouse');
  INSERT INTO inventory_sync.source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'after-reinstall', '09506000134352', '0614141000012', 1)$$,
  'a session that posted before DROP/CREATE EXTENSION can post after it');

SELECT * FROM finish();
ROLLBACK;
