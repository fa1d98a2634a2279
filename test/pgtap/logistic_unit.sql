-- pgTAP: logistic units (SSCC). Pack, nested pack, move, transfer through an in-transit
-- location and receive by label, ship, unpack, receive an unknown unit by its label and a
-- pallet from its advance ship notice, count; the balances after each step; replays; and
-- every hostile call with its SQLSTATE, nothing written. Runs as real writer roles bound
-- to their sources, in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(172);

-- Master data ------------------------------------------------------------------
-- E 09506000134352 espresso (case 19506000134359 = 12 E) | Y 09506000134383 yoghurt, lot-tracked
-- D 09506000134390 drill, serial-tracked
-- DC 0614141000012 (wms) | STORE 0614141000029 (pos) | PLANT 0614141000043 | TRUCK 0614141999996 in transit
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Espresso');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134383', 'Yoghurt', true);
INSERT INTO item (gtin, name, serial_tracked) VALUES ('09506000134390', 'Drill', true);
INSERT INTO item_pack (pack_gtin, item_gtin, quantity) VALUES ('19506000134359', '09506000134352', 12);
INSERT INTO location (gln, name, kind) VALUES
  ('0614141000012', 'DC', 'warehouse'), ('0614141000029', 'Store', 'store'),
  ('0614141000043', 'Plant', 'plant'), ('0614141999996', 'Truck', 'in_transit');
CREATE ROLE lu_wms;
CREATE ROLE lu_pos;
CREATE ROLE lu_reader;
GRANT inventory_sync_writer TO lu_wms, lu_pos;
GRANT inventory_sync_reader TO lu_reader;
INSERT INTO source (source, name, kind, role) VALUES
  ('wms', 'DC WMS', 'wms', 'lu_wms'), ('pos', 'Store POS', 'pos', 'lu_pos'), ('plant', 'Plant MES', 'mes', 'lu_wms');
INSERT INTO ownership (location, bucket, source) VALUES ('0614141000012', NULL, 'wms'), ('0614141000029', NULL, 'pos'),
                                                        ('0614141000043', NULL, 'plant');

-- A balance, 0 where there is none.
CREATE FUNCTION pg_temp.bal(item text, loc text, bkt text, lt text DEFAULT NULL) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT b.quantity FROM inventory_sync.balance b
                      WHERE b.item_gtin = item::inventory_sync.gtin AND b.location = loc::inventory_sync.gln
                        AND b.bucket = bkt AND b.lot IS NOT DISTINCT FROM lt::inventory_sync.lot_number), 0)
$$;
-- What no refused call may change.
CREATE FUNCTION pg_temp.state() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format('%s postings, %s units, %s lines, %s events, on hand %s',
                  (SELECT count(*) FROM inventory_sync.ledger), (SELECT count(*) FROM inventory_sync.logistic_unit),
                  (SELECT count(*) FROM inventory_sync.logistic_unit_content),
                  (SELECT count(*) FROM inventory_sync.logistic_unit_event), (SELECT sum(quantity) FROM inventory_sync.balance))
$$;
GRANT EXECUTE ON FUNCTION pg_temp.bal(text, text, text, text), pg_temp.state() TO PUBLIC;

SET ROLE lu_wms;
SELECT lives_ok($$
    SELECT inventory_sync.receive('wms', 'GR-1', '09506000134352', '0614141000012', 100, 'released');
    SELECT inventory_sync.receive('wms', 'GR-2', '09506000134383', '0614141000012', 60, 'released', 'Y1');
    SELECT inventory_sync.receive('wms', 'GR-3', '09506000134383', '0614141000012', 5, 'qa_hold', 'Y1')
$$, 'stock: 100 espresso and 65 yoghurt of lot Y1 at the DC');

-- ---------------------------------------------------------------- objects and rights
SELECT has_table('logistic_unit');
SELECT has_table('logistic_unit_content');
SELECT has_table('logistic_unit_event');
SELECT enum_has_labels('logistic_unit_status', ARRAY['packed', 'in_transit', 'shipped', 'unpacked'], 'unit statuses');
SELECT enum_has_labels('logistic_unit_event_kind',
                       ARRAY['packed', 'moved', 'transferred', 'received', 'shipped', 'unpacked', 'counted'], 'unit event kinds');
SELECT ok(NOT has_function_privilege('_pack_unit(text, text, sscc, gln, jsonb, sscc, text)', 'EXECUTE'),
          'a writer may not call an implementation on its own');
SELECT ok(has_function_privilege('pack_unit(text, text, sscc, gln, jsonb, sscc, text)', 'EXECUTE'),
          'a writer may pack');
SELECT throws_ok($$INSERT INTO logistic_unit (sscc, location) VALUES ('106141417000000018', '0614141000012')$$,
                 '42501', NULL, 'a writer may not write the unit tables');
SELECT throws_ok($$DELETE FROM logistic_unit_event$$, '42501', NULL, 'nor the history');

-- ---------------------------------------------------------------- pack
--   C1 106141417000000025: 2 cases of espresso (24) and 10 yoghurt Y1
--   C2 106141417000000032: 30 espresso
--   P1 106141417000000018: a pallet holding C1 and C2, and 6 yoghurt of its own
SELECT results_eq($$SELECT sscc::text, location::text, status::text, parent IS NULL
                      FROM pack_unit('wms', 'PK-1', '106141417000000025', '0614141000012',
                                     '[{"gtin": "19506000134359", "quantity": 2}, ["09506000134383", 10, "Y1"]]')$$,
                  $$VALUES ('106141417000000025', '0614141000012', 'packed', true)$$,
                  'pack: a case packed at the DC, returned');
SELECT results_eq($$SELECT line_no, item_gtin::text, lot::text, bucket, quantity FROM logistic_unit_content
                     WHERE sscc = '106141417000000025' ORDER BY line_no$$,
                  $$VALUES (1, '09506000134352', NULL, 'released', 24::numeric), (2, '09506000134383', 'Y1', 'released', 10)$$,
                  'pack: one line per item, lot and bucket, in base units (a pack GTIN counts packs)');
SELECT is(pg_temp.bal('09506000134352', '0614141000012', 'released'), 100::numeric, 'pack: posts nothing, the balance stays');
SELECT is((SELECT count(*) FROM ledger), 3::bigint, 'pack: no posting');
SELECT lives_ok($$SELECT pack_unit('wms', 'PK-2', '106141417000000032', '0614141000012',
                                   '[["09506000134352", 20], {"gtin": "09506000134352", "quantity": 10, "bucket": "released"}]')$$,
                'pack: a second case');
SELECT results_eq($$SELECT line_no, quantity FROM logistic_unit_content WHERE sscc = '106141417000000032'$$,
                  $$VALUES (1, 30::numeric)$$, 'pack: lines of the same key are summed');
SELECT results_eq($$SELECT sscc::text, parent::text FROM pack_unit('wms', 'PK-3', '106141417000000018', '0614141000012',
                        '[{"sscc": "106141417000000025"}, {"sscc": "106141417000000032"}, ["09506000134383", 6, "Y1"]]')$$,
                  $$VALUES ('106141417000000018', NULL::text)$$, 'nested pack: a pallet of two cases and loose yoghurt');
SELECT results_eq($$SELECT sscc::text, parent::text FROM logistic_unit ORDER BY sscc$$,
                  $$VALUES ('106141417000000018', NULL::text), ('106141417000000025', '106141417000000018'),
                           ('106141417000000032', '106141417000000018')$$,
                  'nested pack: the cases are inside the pallet');
SELECT results_eq($$SELECT sscc::text, kind::text, via::text, parent::text, source_event_id, actor::text COLLATE "default"
                      FROM logistic_unit_event ORDER BY unit_event_id$$,
                  $$VALUES ('106141417000000025', 'packed', NULL, NULL, 'PK-1', 'lu_wms'),
                           ('106141417000000032', 'packed', NULL, NULL, 'PK-2', 'lu_wms'),
                           ('106141417000000018', 'packed', NULL, NULL, 'PK-3', 'lu_wms'),
                           ('106141417000000025', 'packed', '106141417000000018', '106141417000000018', 'PK-3', 'lu_wms'),
                           ('106141417000000032', 'packed', '106141417000000018', '106141417000000018', 'PK-3', 'lu_wms')$$,
                  'pack: the history, with the caller as actor');
-- a case packed straight into the pallet, by parent
SELECT results_eq($$SELECT parent::text FROM pack_unit('wms', 'PK-4', '106141417000000049', '0614141000012',
                        '[["09506000134352", 6]]', parent => '106141417000000018')$$,
                  $$VALUES ('106141417000000018')$$, 'nested pack: into a parent');
SELECT is((SELECT contents->'lines'->0->>'quantity' FROM logistic_unit_event WHERE source_event_id = 'PK-4'), '6',
          'pack: the history has the lines packed');

-- replays
SELECT results_eq($$SELECT sscc::text, parent::text FROM pack_unit('wms', 'PK-4', '106141417000000049', '0614141000012',
                        '[["09506000134352", 6]]', parent => '106141417000000018')$$,
                  $$VALUES ('106141417000000049', '106141417000000018')$$, 'pack replay: the unit again');
SELECT is((SELECT sum(quantity) FROM logistic_unit_content WHERE sscc = '106141417000000049'), 6::numeric,
          'pack replay: nothing packed twice');
SELECT is((SELECT count(*) FROM logistic_unit_event), 6::bigint, 'pack replay: nothing recorded');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-4', '106141417000000049', '0614141000012', '[["09506000134352", 7]]')$$,
                 'IS002', NULL, 'pack: the same event with other contents is refused');

-- ---------------------------------------------------------------- hostile packing
SELECT lives_ok($$CREATE TEMP TABLE before_hostile AS SELECT pg_temp.state() AS s$$, 'the state before the refusals');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", 41]]')$$,
                 'IS004', 'cannot pack 41 of gtin 09506000134352 in bucket "released" at location 0614141000012: 100 on hand, 60 of it packed',
                 'packing more than on hand and unpacked');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134383", 50, "Y1"]]')$$,
                 'IS004', 'cannot pack 50 of gtin 09506000134383 lot Y1 in bucket "released" at location 0614141000012: 60 on hand, 16 of it packed',
                 'packing a lot beyond its balance');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134383", 6, "Y1", "qa_hold"]]')$$,
                 'IS004', NULL, 'packing beyond the balance of that bucket');
SELECT throws_ok($$SELECT pack_unit('pos', 'PK-9', '106141417000000018', '0614141000029', '[]')$$,
                 '42501', 'role "lu_wms" may not post as source "pos"', 'packing as a source the caller is not bound to');
RESET ROLE;
SET ROLE lu_pos;
SELECT throws_ok($$SELECT pack_unit('pos', 'PK-9', '106141417000000056', '0614141000029', '[{"sscc": "106141417000000018"}]')$$,
                 'IS055', 'pack_unit(): logistic unit 106141417000000018 is at location 0614141000012, not 0614141000029',
                 'packing a unit at another location into a unit');
SELECT throws_ok($$SELECT pack_unit('pos', 'PK-9', '106141417000000018', '0614141000029', '[]')$$,
                 'IS055', 'pack_unit(): logistic unit 106141417000000018 is at location 0614141000012, not 0614141000029',
                 'packing into a unit at another location');
SELECT throws_ok($$SELECT pack_unit('pos', 'PK-9', '106141417000000056', '0614141000029', '[]', parent => '106141417000000018')$$,
                 'IS055', 'pack_unit(): logistic unit 106141417000000018 is at location 0614141000012, not 0614141000029',
                 'packing into a parent at another location');
SELECT throws_ok($$SELECT pack_unit('pos', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", 1]]')$$,
                 'IS001', 'source "pos" is not the system of record for bucket "released" at location 0614141000012',
                 'packing as a source that does not own the stock');
RESET ROLE;
SET ROLE lu_wms;
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000018', '0614141000012', '[]', parent => '106141417000000025')$$,
                 'IS055', 'pack_unit(): logistic unit 106141417000000018 would be inside itself', 'a cycle: the pallet into its case');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[{"sscc": "106141417000000056"}]')$$,
                 'IS055', 'pack_unit(): logistic unit 106141417000000056 cannot be packed into itself', 'a cycle: a unit into itself');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[]', parent => '106141417000000056')$$,
                 'IS055', NULL, 'a cycle: a unit as its own parent');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[{"sscc": "106141417000000025"}]')$$,
                 'IS055', 'pack_unit(): logistic unit 106141417000000025 is inside unit 106141417000000018 already',
                 'a case already on a pallet');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[{"sscc": "106141417000000063"}]')$$,
                 'IS054', 'pack_unit(): unknown logistic unit: sscc 106141417000000063', 'packing an unknown unit');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[]', parent => '106141417000000063')$$,
                 'IS054', NULL, 'packing into an unknown unit');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000057', '0614141000012', '[]')$$,
                 '22P02', NULL, 'an SSCC with a wrong check digit');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141999996', '[]')$$,
                 'IS023', 'pack_unit(): location 0614141999996 is an in_transit location', 'packing in transit');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000050', '[]')$$,
                 '23503', 'unknown location: gln 0614141000050', 'packing at an unknown location');
SELECT throws_ok($$SELECT pack_unit(NULL, 'PK-9', '106141417000000056', '0614141000012', '[]')$$,
                 '22004', 'pack_unit(): source must not be NULL', 'NULL source');
SELECT throws_ok($$SELECT pack_unit('wms', NULL, '106141417000000056', '0614141000012', '[]')$$, '22004', NULL, 'NULL event id');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', NULL, '0614141000012', '[]')$$, '22004', NULL, 'NULL SSCC');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', NULL, '[]')$$, '22004', NULL, 'NULL location');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', NULL)$$,
                 '22004', 'pack_unit(): contents must not be NULL', 'NULL contents');
SELECT throws_ok($$SELECT pack_unit('wms', '', '106141417000000056', '0614141000012', '[]')$$, '22023', NULL, 'an empty event id');
SELECT throws_ok($$SELECT pack_unit('nosuch', 'PK-9', '106141417000000056', '0614141000012', '[]')$$,
                 '23503', 'unknown source "nosuch"', 'an unknown source');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '{"gtin": "09506000134352"}')$$,
                 '22023', NULL, 'contents that are not an array');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[42]')$$,
                 '22023', 'line 1: 42 is neither an object nor an array', 'a line that is neither object nor array');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[{"gtin": "09506000134352", "qty": 1}]')$$,
                 '22023', 'line 1: unknown key "qty"', 'an unknown key');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[{"gtin": "09506000134352"}]')$$,
                 '22023', 'line 1: "gtin" and "quantity" are required', 'a line without quantity');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352"]]')$$,
                 '22023', NULL, 'an array line too short');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[{"sscc": "106141417000000025", "quantity": 1}]')$$,
                 '22023', 'line 1: a unit line names only its "sscc"', 'a unit line with a quantity');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134353", 1]]')$$,
                 '22P02', NULL, 'a GTIN with a wrong check digit');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134376", 1]]')$$,
                 '23503', 'unknown item: gtin 09506000134376', 'an unknown item');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", 0]]')$$,
                 'IS020', 'line 1: quantity 0 of gtin 09506000134352 is not positive', 'a zero quantity');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", -1]]')$$,
                 'IS020', NULL, 'a negative quantity');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", "NaN"]]')$$,
                 'IS020', NULL, 'NaN');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", "Infinity"]]')$$,
                 'IS020', NULL, 'infinity');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", "many"]]')$$,
                 '22P02', NULL, 'a quantity that is no number');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", 1.5]]')$$,
                 'IS020', 'line 1: quantity 1.5 of gtin 09506000134352 is not a whole number of EA', 'a fraction of a whole unit');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["19506000134359", 0.5]]')$$,
                 'IS020', NULL, 'half a pack');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134383", 1]]')$$,
                 'IS021', 'line 1: item 09506000134383 is lot-tracked: name its lot', 'a lot-tracked item without its lot');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", 1, "X"]]')$$,
                 'IS021', NULL, 'a lot on an item that has none');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134390", 1]]')$$,
                 'IS022', 'line 1: item 09506000134390 is serial-tracked', 'a serial-tracked item');
SELECT throws_ok($$SELECT pack_unit('wms', 'PK-9', '106141417000000056', '0614141000012', '[["09506000134352", 1, null, "nosuch"]]')$$,
                 '23503', 'unknown bucket "nosuch"', 'an unknown bucket');
SELECT is(pg_temp.state(), (SELECT s FROM before_hostile), 'the refused packings wrote nothing');

-- ---------------------------------------------------------------- move
SELECT results_eq($$SELECT source_event_id, kind::text, bucket, to_bucket, base_quantity, actor::text COLLATE "default"
                      FROM move_unit('wms', 'MV-1', '106141417000000018', 'qa_hold', reference => 'QA check')$$,
                  $$VALUES ('MV-1/106141417000000018/1', 'move', 'released', 'qa_hold', -6::numeric, 'lu_wms'),
                           ('MV-1/106141417000000025/1', 'move', 'released', 'qa_hold', -24, 'lu_wms'),
                           ('MV-1/106141417000000025/2', 'move', 'released', 'qa_hold', -10, 'lu_wms'),
                           ('MV-1/106141417000000032/1', 'move', 'released', 'qa_hold', -30, 'lu_wms'),
                           ('MV-1/106141417000000049/1', 'move', 'released', 'qa_hold', -6, 'lu_wms')$$,
                  'move: one posting per line, nested units included, as the caller');
SELECT results_eq($$VALUES (pg_temp.bal('09506000134352', '0614141000012', 'released'), pg_temp.bal('09506000134352', '0614141000012', 'qa_hold'),
                            pg_temp.bal('09506000134383', '0614141000012', 'released', 'Y1'), pg_temp.bal('09506000134383', '0614141000012', 'qa_hold', 'Y1'))$$,
                  $$VALUES (40::numeric, 60::numeric, 44::numeric, 21::numeric)$$, 'move: the balances after');
SELECT is((SELECT count(*) FROM logistic_unit_content WHERE bucket <> 'qa_hold'), 0::bigint, 'move: every line is in qa_hold');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE via IS NULL) FROM logistic_unit_event WHERE source_event_id = 'MV-1'$$,
                  $$VALUES (4::bigint, 1::bigint)$$, 'move: a history row per unit, one for the unit named');
SELECT is((SELECT posting_ids FROM logistic_unit_event WHERE source_event_id = 'MV-1' AND sscc = '106141417000000025'),
          (SELECT array_agg(posting_id ORDER BY posting_id) FROM ledger WHERE source_event_id LIKE 'MV-1/106141417000000025/%'),
          'move: each unit''s row has its postings');
SELECT is((SELECT count(*) FROM move_unit('wms', 'MV-1', '106141417000000018', 'qa_hold')), 5::bigint,
          'move replay: the postings of the first call');
SELECT is((SELECT count(*) FROM ledger WHERE source_event_id LIKE 'MV-1/%'), 5::bigint, 'move replay: nothing posted');
SELECT throws_ok($$SELECT * FROM move_unit('wms', 'MV-1', '106141417000000018', 'released')$$, 'IS002',
                 'event "MV-1" of source "wms" was already recorded with other terms', 'move: the same event with other terms');
SELECT throws_ok($$SELECT * FROM move_unit('wms', 'MV-2', '106141417000000025', 'released')$$, 'IS055',
                 'move_unit(): logistic unit 106141417000000025 is inside unit 106141417000000018', 'moving a case on a pallet alone');
SELECT throws_ok($$SELECT * FROM move_unit('wms', 'MV-2', '106141417000000063', 'released')$$, 'IS054',
                 'move_unit(): unknown logistic unit: sscc 106141417000000063', 'moving an unknown unit');
SELECT throws_ok($$SELECT * FROM move_unit('wms', 'MV-2', '106141417000000018', 'nosuch')$$, '23503', NULL, 'an unknown bucket');
SELECT throws_ok($$SELECT * FROM move_unit('wms', 'MV-2', '106141417000000018', NULL)$$, '22004',
                 'move_unit(): to_bucket must not be NULL', 'a NULL bucket');
SELECT throws_ok($$SELECT * FROM move_unit('pos', 'MV-2', '106141417000000018', 'released')$$, '42501',
                 'role "lu_wms" may not post as source "pos"', 'moving as a source the caller is not bound to');
SELECT throws_ok($$SELECT * FROM move_unit('plant', 'MV-2', '106141417000000018', 'released')$$, 'IS001', NULL,
                 'moving as a source that is not the system of record: the engine refuses the postings');
SELECT is((SELECT count(*) FROM move_unit('wms', 'MV-3', '106141417000000018', 'released')), 5::bigint, 'moved back');

-- ---------------------------------------------------------------- transfer and receive by label
SELECT results_eq($$SELECT kind::text, location::text, to_location::text, sum(quantity)
                      FROM transfer_unit('wms', 'TR-1', '106141417000000018', '0614141999996', now() + interval '1 day')
                     GROUP BY 1, 2, 3$$,
                  $$VALUES ('transfer_out', '0614141000012', '0614141999996', 76::numeric)$$,
                  'transfer: the pallet''s contents go out');
SELECT results_eq($$SELECT DISTINCT status::text, location::text FROM logistic_unit
                     WHERE sscc IN ('106141417000000018', '106141417000000025', '106141417000000032', '106141417000000049')$$,
                  $$VALUES ('in_transit', '0614141999996')$$, 'transfer: the pallet and its cases are in transit');
SELECT results_eq($$VALUES (pg_temp.bal('09506000134352', '0614141999996', 'released'), pg_temp.bal('09506000134383', '0614141999996', 'released', 'Y1'),
                            pg_temp.bal('09506000134352', '0614141000012', 'released'))$$,
                  $$VALUES (60::numeric, 16::numeric, 40::numeric)$$, 'transfer: the balances after');
SELECT is((SELECT count(*) FROM transfer_unit('wms', 'TR-1', '106141417000000018', '0614141999996', now() + interval '2 days')), 5::bigint,
          'transfer replay: the first postings (the eta is no part of the terms)');
SELECT throws_ok($$SELECT * FROM move_unit('wms', 'MV-4', '106141417000000018', 'qa_hold')$$, 'IS055',
                 'move_unit(): logistic unit 106141417000000018 is in transit, not packed', 'moving a unit in transit');
SELECT throws_ok($$SELECT * FROM transfer_unit('wms', 'TR-2', '106141417000000056', '0614141000029')$$, 'IS023',
                 'transfer_unit(): location 0614141000029 is a store, not an in_transit location', 'transferring to a store');
SELECT throws_ok($$SELECT * FROM transfer_unit('wms', 'TR-2', '106141417000000056', NULL)$$, '22004', NULL, 'a NULL in-transit location');
RESET ROLE;
SET ROLE lu_pos;
SELECT throws_ok($$SELECT * FROM receive_unit('pos', 'GR-9', '(01)09506000134352', '0614141000029')$$, '22023',
                 'receive_unit(): label "(01)09506000134352" has no SSCC (AI 00)', 'a label without an SSCC');
SELECT throws_ok($$SELECT * FROM receive_unit('pos', 'GR-9', '(00)106141417000000019', '0614141000029')$$, '22P02', NULL,
                 'a label whose SSCC has a wrong check digit');
SELECT throws_ok($$SELECT * FROM receive_unit('pos', 'GR-9', '(00)106141417000000063', '0614141000029')$$, 'IS054',
                 'receive_unit(): unknown logistic unit: sscc 106141417000000063', 'a label of an unknown unit without its contents');
SELECT throws_ok($$SELECT * FROM receive_unit('pos', 'GR-9', '(00)106141417000000025', '0614141000029')$$, 'IS055',
                 'receive_unit(): logistic unit 106141417000000025 is inside unit 106141417000000018', 'receiving a case of a pallet alone');
SELECT throws_ok($$SELECT * FROM receive_unit('pos', 'GR-9', '(00)106141417000000018', '0614141999996')$$, 'IS023', NULL,
                 'receiving in transit');
SELECT throws_ok($$SELECT * FROM receive_unit('pos', 'GR-9', NULL::text, '0614141000029')$$, '22004',
                 'receive_unit(): label must not be NULL', 'a NULL label');
SELECT results_eq($$SELECT kind::text, location::text, to_location::text, bucket, to_bucket, count(*), sum(quantity)
                      FROM receive_unit('pos', 'GR-1', ']C100106141417000000018', '0614141000029')
                     GROUP BY 1, 2, 3, 4, 5$$,
                  $$VALUES ('transfer_in', '0614141999996', '0614141000029', 'released', 'receiving', 5::bigint, 76::numeric)$$,
                  'receive by a raw scanned label: in from the truck into receiving, one posting per line');
SELECT results_eq($$SELECT DISTINCT status::text, location::text FROM logistic_unit
                     WHERE sscc IN ('106141417000000018', '106141417000000025', '106141417000000032', '106141417000000049')$$,
                  $$VALUES ('packed', '0614141000029')$$, 'receive: the pallet and its cases are at the store');
SELECT results_eq($$VALUES (pg_temp.bal('09506000134352', '0614141999996', 'released'), pg_temp.bal('09506000134352', '0614141000029', 'receiving'),
                            pg_temp.bal('09506000134383', '0614141000029', 'receiving', 'Y1'))$$,
                  $$VALUES (0::numeric, 60::numeric, 16::numeric)$$, 'receive: the balances after');
SELECT is((SELECT count(*) FROM receive_unit('pos', 'GR-1', ']C100106141417000000018', '0614141000029')), 5::bigint,
          'receive replay: the first postings');
SELECT is((SELECT count(*) FROM ledger WHERE source_event_id LIKE 'GR-1/%'), 5::bigint, 'receive replay: nothing posted');
SELECT results_eq($$SELECT kind::text, location::text, to_location::text, to_bucket FROM logistic_unit_event
                     WHERE source_event_id = 'GR-1' AND via IS NULL$$,
                  $$VALUES ('received', '0614141999996', '0614141000029', 'receiving')$$, 'receive: the history');

-- ---------------------------------------------------------------- count
SELECT results_eq($$SELECT line_no, item_gtin::text, lot::text, bucket, recorded, counted, difference, posting_id IS NOT NULL
                      FROM count_unit('pos', 'CNT-1', '106141417000000025', '[["09506000134352", 22], ["09506000134383", 10, "Y1"], ["09506000134383", 1, "Y2"]]')$$,
                  $$VALUES (1, '09506000134352', NULL, 'receiving', 24::numeric, 22::numeric, -2::numeric, true),
                           (2, '09506000134383', 'Y1', 'receiving', 10, 10, 0, false),
                           (3, '09506000134383', 'Y2', 'receiving', 0, 1, 1, true)$$,
                  'count: the differences are posted (a line found that was not recorded too), the rest reported');
SELECT results_eq($$SELECT kind::text, reason, base_quantity FROM ledger WHERE source_event_id LIKE 'CNT-1/%' ORDER BY posting_id$$,
                  $$VALUES ('adjustment', 'count', -2::numeric), ('adjustment', 'count', 1::numeric)$$,
                  'count: as adjustments with reason count');
SELECT results_eq($$SELECT line_no, lot::text, quantity FROM logistic_unit_content WHERE sscc = '106141417000000025' ORDER BY line_no$$,
                  $$VALUES (1, NULL, 22::numeric), (2, 'Y1', 10), (3, 'Y2', 1)$$, 'count: the lines are what was counted');
SELECT results_eq($$VALUES (pg_temp.bal('09506000134352', '0614141000029', 'receiving'), pg_temp.bal('09506000134383', '0614141000029', 'receiving', 'Y2'))$$,
                  $$VALUES (58::numeric, 1::numeric)$$, 'count: the balances after');
SELECT is((SELECT count(*) FROM count_unit('pos', 'CNT-1', '106141417000000025', '[["09506000134352", 22], ["09506000134383", 10, "Y1"], ["09506000134383", 1, "Y2"]]')),
          3::bigint, 'count replay: the same report');
SELECT is((SELECT count(*) FROM ledger WHERE source_event_id LIKE 'CNT-1/%'), 2::bigint, 'count replay: nothing posted');
SELECT throws_ok($$SELECT * FROM count_unit('pos', 'CNT-2', '106141417000000025', '[["09506000134352", -1]]')$$, 'IS020', NULL,
                 'count: a negative count');
SELECT throws_ok($$SELECT * FROM count_unit('pos', 'CNT-2', '106141417000000025', '[{"sscc": "106141417000000032"}]')$$, '22023', NULL,
                 'count: a unit inside is counted by its own SSCC');
SELECT throws_ok($$SELECT * FROM count_unit('pos', 'CNT-2', '106141417000000025', NULL)$$, '22004', NULL, 'count: NULL contents');
-- the pallet's own line and its case's line share a key (yoghurt Y1 in receiving): a count
-- of the pallet reconciles its own lines only, the case is counted by its own SSCC
SELECT results_eq($$SELECT line_no, lot::text, recorded, counted, difference, posting_id IS NULL
                      FROM count_unit('pos', 'CNT-4', '106141417000000018', '[["09506000134383", 6, "Y1"]]')$$,
                  $$VALUES (1, 'Y1', 6::numeric, 6::numeric, 0::numeric, true)$$,
                  'count of a unit: its own lines, not those of the units inside it (nothing counted twice)');
SELECT is(pg_temp.bal('09506000134383', '0614141000029', 'receiving', 'Y1'), 16::numeric,
          'count of a unit: the key keeps the case''s part');

-- ---------------------------------------------------------------- unpack and ship
SELECT results_eq($$SELECT status::text, parent IS NULL FROM unpack_unit('pos', 'UP-1', '106141417000000018')$$,
                  $$VALUES ('unpacked', true)$$, 'unpack: the pallet is unpacked');
SELECT results_eq($$SELECT sscc::text, parent IS NULL, status::text FROM logistic_unit WHERE sscc <> '106141417000000018' ORDER BY sscc$$,
                  $$VALUES ('106141417000000025', true, 'packed'), ('106141417000000032', true, 'packed'), ('106141417000000049', true, 'packed')$$,
                  'unpack: its cases stand on their own');
SELECT is((SELECT count(*) FROM logistic_unit_content WHERE sscc = '106141417000000018'), 0::bigint, 'unpack: its own lines are released');
SELECT is((SELECT contents->'lines'->0->>'quantity' FROM logistic_unit_event WHERE source_event_id = 'UP-1' AND via IS NULL), '6',
          'unpack: the history keeps what was in it');
SELECT is(pg_temp.bal('09506000134383', '0614141000029', 'receiving', 'Y1'), 16::numeric, 'unpack: posts nothing');
SELECT is((SELECT status::text FROM unpack_unit('pos', 'UP-1', '106141417000000018')), 'unpacked', 'unpack replay');
SELECT throws_ok($$SELECT unpack_unit('pos', 'UP-2', '106141417000000018')$$, 'IS055',
                 'unpack_unit(): logistic unit 106141417000000018 is unpacked, not packed', 'unpacking twice');
SELECT results_eq($$SELECT source_event_id, kind::text, bucket, base_quantity, reference FROM ship_unit('pos', 'SH-1', '106141417000000032', 'ORDER 77')$$,
                  $$VALUES ('SH-1/106141417000000032/1', 'issue', 'receiving', -30::numeric, 'ORDER 77')$$, 'ship: an issue per line');
SELECT is((SELECT status::text FROM logistic_unit WHERE sscc = '106141417000000032'), 'shipped', 'ship: the unit is shipped');
SELECT is(pg_temp.bal('09506000134352', '0614141000029', 'receiving'), 28::numeric, 'ship: the balance after');
SELECT is((SELECT count(*) FROM ship_unit('pos', 'SH-1', '106141417000000032', 'ORDER 77')), 1::bigint, 'ship replay');
SELECT throws_ok($$SELECT unpack_unit('pos', 'UP-3', '106141417000000032')$$, 'IS055',
                 'unpack_unit(): logistic unit 106141417000000032 is shipped, not packed', 'unpacking a shipped unit');
SELECT throws_ok($$SELECT * FROM ship_unit('pos', 'SH-2', '106141417000000032')$$, 'IS055', NULL, 'shipping twice');
SELECT throws_ok($$SELECT * FROM count_unit('pos', 'CNT-3', '106141417000000032', '[]')$$, 'IS055', NULL, 'counting a shipped unit');
SELECT throws_ok($$SELECT pack_unit('pos', 'PK-8', '106141417000000032', '0614141000029', '[]')$$, 'IS055', NULL,
                 'packing into a shipped unit');
SELECT throws_ok($$SELECT pack_unit('pos', 'PK-8', '106141417000000018', '0614141000029', '[]')$$, 'IS055',
                 'pack_unit(): logistic unit 106141417000000018 is unpacked, not packed', 'packing into an unpacked unit: its SSCC is used');
SELECT lives_ok($$SELECT pack_unit('pos', 'PK-E', '106141417000000124', '0614141000029', '[]')$$, 'an empty unit, labelled');
SELECT lives_ok($$CREATE TEMP TABLE before_empty AS SELECT pg_temp.state() AS s$$, 'the state before unpacking it');
SELECT throws_ok($$SELECT unpack_unit('pos', 'UP-4', '106141417000000124')$$, 'IS055',
                 'unpack_unit(): logistic unit 106141417000000124 is empty', 'unpacking an empty unit');
SELECT is(pg_temp.state(), (SELECT s FROM before_empty), 'unpacking an empty unit writes nothing');
SELECT is((SELECT status::text FROM logistic_unit WHERE sscc = '106141417000000124'), 'packed', 'the empty unit stays packed');
SELECT throws_ok($$SELECT unpack_unit('pos', 'UP-3', NULL)$$, '22004', NULL, 'unpack: a NULL SSCC');
SELECT throws_ok($$SELECT unpack_unit('pos', 'UP-3', '106141417000000063')$$, 'IS054', NULL, 'unpack: an unknown unit');

-- ---------------------------------------------------------------- receive from a notice, or from a label that states the contents
RESET ROLE;
SET ROLE lu_wms;
SELECT results_eq($$SELECT source_event_id, kind::text, location::text, bucket, lot::text, base_quantity
                      FROM receive_unit('wms', 'ASN-1', '{"sscc": "106141417000000070",
                                                        "contents": [["09506000134352", 4]],
                                                        "units": [{"sscc": "106141417000000087", "contents": [{"gtin": "19506000134359", "quantity": 1}],
                                                                   "units": [{"sscc": "106141417000000094", "contents": [["09506000134383", 3, "Y3"]]}]}]}'::jsonb,
                                         '0614141000012')$$,
                  $$VALUES ('ASN-1/106141417000000070/1', 'receipt', '0614141000012', 'receiving', NULL, 4::numeric),
                           ('ASN-1/106141417000000087/1', 'receipt', '0614141000012', 'receiving', NULL, 12),
                           ('ASN-1/106141417000000094/1', 'receipt', '0614141000012', 'receiving', 'Y3', 3)$$,
                  'receive from a notice: the whole pallet, units inside it at every depth, one receipt per line');
SELECT results_eq($$SELECT sscc::text, parent::text, status::text, location::text FROM logistic_unit
                     WHERE sscc IN ('106141417000000070', '106141417000000087', '106141417000000094') ORDER BY sscc$$,
                  $$VALUES ('106141417000000070', NULL, 'packed', '0614141000012'), ('106141417000000087', '106141417000000070', 'packed', '0614141000012'),
                           ('106141417000000094', '106141417000000087', 'packed', '0614141000012')$$,
                  'receive from a notice: the units, nested as announced');
SELECT results_eq($$VALUES (pg_temp.bal('09506000134352', '0614141000012', 'receiving'), pg_temp.bal('09506000134383', '0614141000012', 'receiving', 'Y3'))$$,
                  $$VALUES (16::numeric, 3::numeric)$$, 'receive from a notice: the balances after');
SELECT is((SELECT count(*) FROM receive_unit('wms', 'ASN-1', '{"units": [{"units": [{"contents": [{"lot": "Y3", "quantity": 3, "gtin": "09506000134383"}],
                                                                          "sscc": "106141417000000094"}],
                                                               "contents": [["19506000134359", 1]], "sscc": "106141417000000087"}],
                                                              "contents": [["09506000134352", 4]], "sscc": "106141417000000070"}'::jsonb, '0614141000012')),
          3::bigint, 'receive from a notice, replayed');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'ASN-2', '{"sscc": "106141417000000070"}'::jsonb, '0614141000012')$$, 'IS055',
                 'receive_unit(): logistic unit 106141417000000070 is known already', 'a notice of a unit known already');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'ASN-2', '{"sscc": "106141417000000100", "units": [{"sscc": "106141417000000100"}]}'::jsonb, '0614141000012')$$,
                 '22023', 'logistic unit 106141417000000100 is listed twice in the advance ship notice', 'a notice listing a unit twice');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'ASN-2', '[{"sscc": "106141417000000100"}]'::jsonb, '0614141000012')$$,
                 '22023', NULL, 'a notice that is not one unit');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'ASN-2', '{"sscc": "106141417000000100", "pallets": []}'::jsonb, '0614141000012')$$,
                 '22023', 'a unit of the advance ship notice has an unknown key "pallets"', 'a notice with an unknown key');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'ASN-2', '{"sscc": "106141417000000100", "contents": [["09506000134352", 1, null, "released"]]}'::jsonb, '0614141000012')$$,
                 '22023', NULL, 'a notice line names no bucket: the receipt''s applies');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'ASN-2', NULL::jsonb, '0614141000012')$$, '22004',
                 'receive_unit(): notice must not be NULL', 'a NULL notice');
SELECT results_eq($$SELECT source_event_id, kind::text, bucket, lot::text, base_quantity
                      FROM receive_unit('wms', 'LBL-1', '(00)106141417000000100(02)19506000134359(37)5', '0614141000012', 'qa_hold')$$,
                  $$VALUES ('LBL-1/106141417000000100/1', 'receipt', 'qa_hold', NULL, 60::numeric)$$,
                  'receive an unknown unit by a label that states its contents (5 cases of 12)');
SELECT is((SELECT count(*) FROM receive_unit('wms', 'LBL-1', '(00)106141417000000100(02)19506000134359(37)5', '0614141000012', 'qa_hold')),
          1::bigint, 'receive by label, replayed');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'LBL-2', '(00)106141417000000117(02)09506000134352', '0614141000012')$$, 'IS054', NULL,
                 'a label with a content GTIN but no count');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'LBL-2', '(00)106141417000000117(02)09506000134383(37)2', '0614141000012')$$, 'IS021', NULL,
                 'a label of a lot-tracked item without its lot');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'LBL-2', '(00)10614141700000011', '0614141000012')$$, '22P02', NULL,
                 'a malformed label');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'LBL-2', '(00)106141417000000070', '0614141000012')$$, 'IS055',
                 'receive_unit(): logistic unit 106141417000000070 is packed, not in transit', 'receiving a unit that is not in transit');
SELECT throws_ok($$SELECT * FROM receive_unit('wms', 'ASN-1', '(00)106141417000000070', '0614141000012')$$, 'IS002', NULL,
                 'the notice''s event id again, for a label');

-- ---------------------------------------------------------------- nothing left half-done
SELECT is((SELECT count(*) FROM ledger WHERE source_event_id LIKE 'PK-9%' OR source_event_id LIKE 'MV-2%' OR source_event_id LIKE 'TR-2%'
                                           OR source_event_id LIKE 'GR-9%' OR source_event_id LIKE 'ASN-2%' OR source_event_id LIKE 'LBL-2%'
                                           OR source_event_id LIKE 'CNT-2%' OR source_event_id LIKE 'SH-2%' OR source_event_id LIKE 'UP-%'),
          0::bigint, 'no refused call posted anything');
SELECT is((SELECT count(*) FROM logistic_unit_event WHERE source_event_id IN ('PK-9', 'MV-2', 'TR-2', 'GR-9', 'ASN-2', 'LBL-2', 'CNT-2', 'SH-2', 'UP-2', 'UP-3', 'UP-4', 'PK-8')),
          0::bigint, 'nor recorded anything');
SELECT is((SELECT count(*) FROM logistic_unit WHERE sscc IN ('106141417000000056', '106141417000000063', '106141417000000117')), 0::bigint,
          'nor created a unit');
SELECT results_eq($$SELECT l.actor::text COLLATE "default", count(*) FROM ledger l WHERE l.source_event_id LIKE '%/1061414170%' GROUP BY 1 ORDER BY 1$$,
                  $$VALUES ('lu_pos', 8::bigint), ('lu_wms', 19::bigint)$$, 'every unit posting is recorded as the role that called');

-- ---------------------------------------------------------------- a recall reaches the units
-- Lot Y9 at the DC: a pallet holding a case, and a case on the truck. The lab recalls Y9:
-- the balances move into blocked, and so do the units' lines, so the recalled pallet can
-- no longer be shipped as sellable stock.
--   P9 106141417000000131 (30 Y9, and C9 inside) | C9 106141417000000148 (10 Y9) | T9 106141417000000155 (10 Y9, to the truck)
RESET ROLE;
CREATE ROLE lu_lab;
GRANT inventory_sync_writer TO lu_lab;
INSERT INTO source (source, name, kind, role) VALUES ('lab', 'Quality lab', 'lims', 'lu_lab');
INSERT INTO ownership (location, bucket, source) VALUES ('0614141000012', 'blocked', 'lab');
SET ROLE lu_wms;
SELECT lives_ok($$SELECT receive('wms', 'GR-Y9', '09506000134383', '0614141000012', 60, 'released', 'Y9');
                  SELECT pack_unit('wms', 'PK-C9', '106141417000000148', '0614141000012', '[["09506000134383", 10, "Y9"]]');
                  SELECT pack_unit('wms', 'PK-P9', '106141417000000131', '0614141000012',
                                   '[{"sscc": "106141417000000148"}, ["09506000134383", 30, "Y9"]]');
                  SELECT pack_unit('wms', 'PK-T9', '106141417000000155', '0614141000012', '[["09506000134383", 10, "Y9"]]');
                  SELECT transfer_unit('wms', 'TR-T9', '106141417000000155', '0614141999996')$$,
                'recall: lot Y9 packed on a pallet and a case, and a case on the truck');
RESET ROLE;
SET ROLE lu_lab;
SELECT lives_ok($$SELECT * FROM recall('09506000134383', 'Y9', 'Listeria', 'lab', 'RC-Y9')$$, 'recall: lot Y9 recalled');
RESET ROLE;
SELECT results_eq($$SELECT sscc::text, bucket, quantity FROM logistic_unit_content WHERE lot = 'Y9' ORDER BY sscc, line_no$$,
                  $$VALUES ('106141417000000131', 'blocked', 30::numeric), ('106141417000000148', 'blocked', 10::numeric),
                           ('106141417000000155', 'blocked', 10::numeric)$$,
                  'recall: the lines of the units at the keys it blocked are blocked too, on the truck as well');
SELECT results_eq($$VALUES (pg_temp.bal('09506000134383', '0614141000012', 'blocked', 'Y9'),
                            pg_temp.bal('09506000134383', '0614141999996', 'blocked', 'Y9'),
                            pg_temp.bal('09506000134383', '0614141000012', 'released', 'Y9'))$$,
                  $$VALUES (50::numeric, 10::numeric, 0::numeric)$$, 'recall: the balances, packed and loose');
SELECT results_eq($$SELECT e.sscc::text, e.kind::text, e.source, e.source_event_id, e.to_bucket, e.actor::text COLLATE "default",
                           e.posting_ids = ARRAY(SELECT p.posting_id FROM recall_posting p
                                                  WHERE p.recall_ref = 'RC-Y9' AND p.location = e.location)
                      FROM logistic_unit_event e WHERE e.reference = 'RC-Y9' ORDER BY e.sscc$$,
                  $$VALUES ('106141417000000131', 'moved', 'lab', 'RC-Y9/106141417000000131', 'blocked', 'lu_lab', true),
                           ('106141417000000148', 'moved', 'lab', 'RC-Y9/106141417000000148', 'blocked', 'lu_lab', true),
                           ('106141417000000155', 'moved', 'lab', 'RC-Y9/106141417000000155', 'blocked', 'lu_lab', true)$$,
                  'recall: each unit reached has it in its history, with the recall''s postings');
SET ROLE lu_wms;
SELECT throws_ok($$SELECT * FROM ship_unit('wms', 'SH-P9', '106141417000000131')$$, 'IS001',
                 'source "wms" is not the system of record for bucket "blocked" at location 0614141000012',
                 'recall: the recalled pallet cannot be shipped');
RESET ROLE;
SET ROLE lu_lab;
SELECT lives_ok($$SELECT * FROM recall('09506000134383', 'Y9', 'Listeria', 'lab', 'RC-Y9')$$, 'recall: a replay');
RESET ROLE;
SELECT is((SELECT count(*) FROM logistic_unit_event WHERE reference = 'RC-Y9'), 3::bigint, 'recall: a replay records nothing new');
RESET ROLE;
SET ROLE lu_reader;
SELECT ok((SELECT count(*) > 0 FROM logistic_unit) AND (SELECT count(*) > 0 FROM logistic_unit_content)
          AND (SELECT count(*) > 0 FROM logistic_unit_event), 'a reader reads the unit tables');
SELECT throws_ok($$SELECT * FROM ship_unit('wms', 'SH-3', '106141417000000070')$$, '42501', NULL, 'a reader may not ship');
RESET ROLE;

SELECT trigger_is('logistic_unit_event', 'logistic_unit_event_append_only', 'refuse_change', 'history: append-only');
SELECT ok((SELECT 'logistic_unit_event'::regclass = ANY (extconfig) AND 'logistic_unit'::regclass = ANY (extconfig)
             AND 'logistic_unit_content'::regclass = ANY (extconfig) FROM pg_extension WHERE extname = 'inventory_sync'),
          'pg_dump keeps the unit tables');
SELECT is((SELECT count(*) FROM verify()), 0::bigint, 'verify() is empty');
SELECT * FROM finish();
ROLLBACK;
