-- Logistic units: a DC packs cases of coffee onto a pallet, holds it for QA, sends it on a
-- truck; the store scans the pallet's label, counts a case, breaks the pallet down and
-- ships a case to a customer. Every step moves the contents as ordinary postings (one
-- per line, in one statement), so the balances follow; the units keep their history.
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never
INSERT INTO item (gtin, name) VALUES ('09506000800011', 'Espresso beans 1 kg');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000800028', 'Yoghurt 500 g', true);
INSERT INTO item_pack (pack_gtin, item_gtin, quantity, name) VALUES ('19506000800018', '09506000800011', 12, 'Case of 12');
INSERT INTO location (gln, name, kind) VALUES
  ('0614141800018', 'DC', 'warehouse'), ('0614141800025', 'Store', 'store'), ('0614141800995', 'Truck', 'in_transit');
INSERT INTO source (source, name, kind, role) VALUES
  ('u_wms', 'DC WMS', 'wms', current_user), ('u_pos', 'Store POS', 'pos', current_user);
INSERT INTO ownership (location, bucket, source) VALUES ('0614141800018', NULL, 'u_wms'), ('0614141800025', NULL, 'u_pos');
SELECT count(*) FROM receive('u_wms', 'GR-1', '09506000800011', '0614141800018', 60, 'released');

-- Two cases, then the pallet that holds them and four loose bags. Packing posts nothing.
SELECT sscc, location, status FROM pack_unit('u_wms', 'PK-1', '106141418000000022', '0614141800018', '[["19506000800018", 2]]');
SELECT sscc, location, status FROM pack_unit('u_wms', 'PK-2', '106141418000000039', '0614141800018', '[{"gtin": "09506000800011", "quantity": 12}]');
SELECT sscc, parent FROM pack_unit('u_wms', 'PK-3', '106141418000000015', '0614141800018',
                                   '[{"sscc": "106141418000000022"}, {"sscc": "106141418000000039"}, ["09506000800011", 4]]');
SELECT sscc, line_no, item_gtin, bucket, quantity FROM logistic_unit_content ORDER BY sscc, line_no;
-- 60 on hand, 40 in units: the same stock is not packed twice.
SELECT pack_unit('u_wms', 'PK-4', '106141418000000046', '0614141800018', '[["09506000800011", 21]]');

-- QA hold, release, and onto the truck: one posting per line, the cases with the pallet.
SELECT source_event_id, kind, bucket, to_bucket, quantity FROM move_unit('u_wms', 'QA-1', '106141418000000015', 'qa_hold');
SELECT count(*) FROM move_unit('u_wms', 'QA-2', '106141418000000015', 'released');
SELECT source_event_id, kind, location, to_location, quantity
  FROM transfer_unit('u_wms', 'TO-1', '106141418000000015', '0614141800995', now() + interval '1 day');
SELECT sscc, location, status FROM logistic_unit ORDER BY sscc;
SELECT location, bucket, quantity FROM balance WHERE item_gtin = '09506000800011' AND quantity <> 0 ORDER BY location, bucket;

-- The store scans the label (raw, with its symbology identifier); scanning twice posts nothing.
SELECT source_event_id, kind, location, to_location, to_bucket, quantity
  FROM receive_unit('u_pos', 'GR-2', ']C100106141418000000015', '0614141800025');
SELECT count(*) FROM receive_unit('u_pos', 'GR-2', ']C100106141418000000015', '0614141800025');
SELECT location, bucket, quantity FROM balance WHERE item_gtin = '09506000800011' AND quantity <> 0 ORDER BY location, bucket;

-- A case is one bag short; the pallet is broken down; a case goes to a customer.
SELECT line_no, item_gtin, recorded, counted, difference, posting_id IS NOT NULL AS posted
  FROM count_unit('u_pos', 'CNT-1', '106141418000000022', '[["09506000800011", 23]]');
SELECT sscc, status FROM unpack_unit('u_pos', 'UP-1', '106141418000000015');
SELECT source_event_id, kind, quantity, reference FROM ship_unit('u_pos', 'SH-1', '106141418000000039', 'ORDER 1');
SELECT sscc, parent, location, status FROM logistic_unit ORDER BY sscc;
SELECT location, bucket, quantity FROM balance WHERE item_gtin = '09506000800011' AND quantity <> 0 ORDER BY location, bucket;

-- A supplier's pallet with a case inside, from its advance ship notice.
SELECT source_event_id, kind, bucket, lot, quantity
  FROM receive_unit('u_wms', 'ASN-1', '{"sscc": "306141418000001016", "contents": [["09506000800011", 6]],
                                        "units": [{"sscc": "306141418000001023", "contents": [["09506000800028", 12, "Y1"]]}]}'::jsonb,
                    '0614141800018');

-- Refused, with nothing written: a shipped unit, a case still on a pallet, an unknown unit,
-- a wrong check digit, the same event id for another operation.
SELECT unpack_unit('u_pos', 'UP-2', '106141418000000039');
SELECT count(*) FROM move_unit('u_wms', 'QA-3', '306141418000001023', 'qa_hold');
SELECT count(*) FROM ship_unit('u_pos', 'SH-2', '106141418000000053');
SELECT count(*) FROM ship_unit('u_pos', 'SH-2', '106141418000000054');
SELECT count(*) FROM move_unit('u_wms', 'QA-1', '306141418000001016', 'qa_hold');

-- The history of the case that was shipped.
SELECT kind, via, source_event_id, location, to_location, to_bucket, cardinality(posting_ids) AS postings
  FROM logistic_unit_event WHERE sscc = '106141418000000039' ORDER BY unit_event_id;
SELECT * FROM verify();
