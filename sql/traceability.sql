-- Traceability: a dairy plant turns milk lots into yoghurt batches and yoghurt into
-- trays; the trays go on pallets (SSCC) to a DC, which receives each pallet by scanning
-- its label, and on to two stores and to customers. A milk lot turns out to be
-- contaminated: trace it forward, recall it, and every tray made from it, loose or on a
-- pallet, leaves sellable stock everywhere at once. Master data changes leave an audit
-- trail.
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

INSERT INTO item (gtin, name, base_unit, lot_tracked) VALUES ('09506000700014', 'Raw milk, bulk', 'LTR', true);
INSERT INTO item (gtin, name, lot_tracked) VALUES
  ('09506000700021', 'Yoghurt culture', true),
  ('09506000700038', 'Yoghurt 500 g', true),
  ('09506000700045', 'Yoghurt tray 6 x 500 g', true);
INSERT INTO location (gln, name, kind) VALUES
  ('0614141700011', 'Dairy plant', 'plant'),
  ('0614141700028', 'DC', 'warehouse'),
  ('0614141700035', 'Store A', 'store'),
  ('0614141700042', 'Store B', 'store'),
  ('0614141700080', 'Truck plant to DC', 'in_transit'),
  ('0614141700097', 'Truck DC to stores', 'in_transit');
INSERT INTO source (source, name, kind, role) VALUES
  ('t_mes', 'Plant MES', 'mes', current_user), ('t_lims', 'Quality lab', 'lims', current_user),
  ('t_wms', 'DC WMS', 'wms', current_user), ('t_pos', 'Store POS', 'pos', current_user);
-- The lab owns "released" at the plant and "blocked" everywhere: it is the recall authority.
INSERT INTO ownership (location, bucket, source) VALUES
  ('0614141700011', NULL, 't_mes'), ('0614141700011', 'released', 't_lims'), ('0614141700011', 'blocked', 't_lims'),
  ('0614141700028', NULL, 't_wms'), ('0614141700028', 'blocked', 't_lims'),
  ('0614141700035', NULL, 't_pos'), ('0614141700035', 'blocked', 't_lims'),
  ('0614141700042', NULL, 't_pos'), ('0614141700042', 'blocked', 't_lims');
INSERT INTO bucket (bucket, sellable, description) VALUES ('t_line', false, 'Staged at the line'), ('t_dispatch', false, 'Staged for dispatch');
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('t_web', 'Web shop', 't_wms');
INSERT INTO channel_location (channel, location) VALUES ('t_web', '0614141700028');

-- Every change of master data is in the audit trail, with who and the row after.
SELECT operation, table_name, row_key, acting_role = current_user AS by_me
  FROM audit_log WHERE table_name IN ('item', 'ownership') AND row_key::text LIKE '%0950600070%'
 ORDER BY audit_id;
UPDATE item SET shelf_life_days = 21 WHERE gtin IN ('09506000700038', '09506000700045');
SELECT operation, row_key, before->'shelf_life_days' AS before, after->'shelf_life_days' AS after
  FROM audit_log WHERE table_name = 'item' AND operation = 'UPDATE' AND row_key->>'gtin' LIKE '0950600070%'
 ORDER BY audit_id;
-- Nobody rewrites it (a superuser could: this story runs as one, so try as a reader).
CREATE ROLE t_auditor IN ROLE inventory_sync_reader;
SET ROLE t_auditor;
SELECT count(*) > 0 AS readable FROM audit_log;
DELETE FROM audit_log;
UPDATE audit_log SET acting_role = 'nobody';
RESET ROLE;

-- Materials in: two milk tankers and a culture lot, released by the lab.
SELECT count(*) FROM receive('t_mes', 'MR-1', '09506000700014', '0614141700011', 10000, 'qa_hold', 'TANK-1');
SELECT count(*) FROM receive('t_mes', 'MR-2', '09506000700014', '0614141700011', 8000, 'qa_hold', 'TANK-2');
SELECT count(*) FROM receive('t_mes', 'MR-3', '09506000700021', '0614141700011', 10, 'qa_hold', 'CULT-7');
SELECT count(*) FROM release_lot('t_lims', 'QR-TANK-1', '09506000700014', 'TANK-1');
SELECT count(*) FROM release_lot('t_lims', 'QR-TANK-2', '09506000700014', 'TANK-2');
SELECT count(*) FROM release_lot('t_lims', 'QR-CULT-7', '09506000700021', 'CULT-7');
SELECT count(*) FROM move_stock('t_mes', 'ST-1', '09506000700014', '0614141700011', 10000, 'released', 't_line', 'TANK-1');
SELECT count(*) FROM move_stock('t_mes', 'ST-2', '09506000700014', '0614141700011', 8000, 'released', 't_line', 'TANK-2');
SELECT count(*) FROM move_stock('t_mes', 'ST-3', '09506000700021', '0614141700011', 10, 'released', 't_line', 'CULT-7');

-- Three work orders: the reference's first word is the production order.
--   WO-1: TANK-1 + culture -> yoghurt Y1      WO-2: TANK-2 -> yoghurt Y2
--   WO-3: TANK-1 + TANK-2 -> yoghurt Y3       WO-4: Y1 -> trays T1 (packing)
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference) VALUES
  ('consumption', 't_mes', 'WO-1:M1', '09506000700014', '0614141700011', 'TANK-1', 't_line', 2000, 'WO-1'),
  ('consumption', 't_mes', 'WO-1:C1', '09506000700021', '0614141700011', 'CULT-7', 't_line', 2, 'WO-1'),
  ('production', 't_mes', 'WO-1:P1', '09506000700038', '0614141700011', 'Y1', 'qa_hold', 4000, 'WO-1 SSCC 106141410000000019'),
  ('consumption', 't_mes', 'WO-2:M1', '09506000700014', '0614141700011', 'TANK-2', 't_line', 1500, 'WO-2'),
  ('production', 't_mes', 'WO-2:P1', '09506000700038', '0614141700011', 'Y2', 'qa_hold', 3000, 'WO-2'),
  ('consumption', 't_mes', 'WO-3:M1', '09506000700014', '0614141700011', 'TANK-1', 't_line', 500, 'WO-3'),
  ('consumption', 't_mes', 'WO-3:M2', '09506000700014', '0614141700011', 'TANK-2', 't_line', 500, 'WO-3'),
  ('production', 't_mes', 'WO-3:P1', '09506000700038', '0614141700011', 'Y3', 'qa_hold', 2000, 'WO-3');
SELECT count(*) FROM release_lot('t_lims', 'QR-Y1', '09506000700038', 'Y1');
SELECT count(*) FROM move_stock('t_mes', 'ST-4', '09506000700038', '0614141700011', 1200, 'released', 't_line', 'Y1');
SELECT count(*) FROM consume('t_mes', 'WO-4:C1', '09506000700038', '0614141700011', 1200, 'Y1', 't_line', reference => 'WO-4');
SELECT count(*) FROM produce('t_mes', 'WO-4:P1', '09506000700045', '0614141700011', 200, 'T1', reference => 'WO-4');
SELECT count(*) FROM release_lot('t_lims', 'QR-T1', '09506000700045', 'T1');
SELECT count(*) FROM release_lot('t_lims', 'QR-Y2', '09506000700038', 'Y2');
SELECT count(*) FROM release_lot('t_lims', 'QR-Y3', '09506000700038', 'Y3');

-- The genealogy, one row per input and output lot of each production order.
SELECT production_order, input_gtin, input_lot, consumed, output_gtin, output_lot, produced
  FROM lot_link WHERE production_order LIKE 'WO-_' ORDER BY production_order, input_lot, output_lot;

-- Trays on pallets to the DC, then to the stores; the yoghurt Y3 to the DC too. The plant
-- packs 150 trays onto two pallets (SSCC), which travel on the truck as units.
SELECT count(*) FROM move_stock('t_mes', 'DS-1', '09506000700045', '0614141700011', 150, 'released', 't_dispatch', 'T1');
SELECT count(*) FROM move_stock('t_mes', 'DS-2', '09506000700038', '0614141700011', 1000, 'released', 't_dispatch', 'Y3');
SELECT sscc, location, status
  FROM pack_unit('t_mes', 'PK-P1', '106141417000001015', '0614141700011', '[["09506000700045", 100, "T1", "t_dispatch"]]');
SELECT sscc, location, status
  FROM pack_unit('t_mes', 'PK-P2', '106141417000001022', '0614141700011', '[["09506000700045", 50, "T1", "t_dispatch"]]');
SELECT source_event_id, kind, location, to_location, quantity
  FROM transfer_unit('t_mes', 'TO-1', '106141417000001015', '0614141700080', now() + interval '1 hour');
SELECT source_event_id, kind, location, to_location, quantity
  FROM transfer_unit('t_mes', 'TO-1b', '106141417000001022', '0614141700080', now() + interval '1 hour');
SELECT count(*) FROM transfer_out('t_mes', 'TO-2', '09506000700038', '0614141700011', '0614141700080', 1000, now() + interval '1 hour', bucket => 't_dispatch', lot => 'Y3');
-- The DC scans each pallet's SSCC label as it comes off the truck: the raw scan (symbology
-- identifier, the SSCC, the trays' GTIN, the count, FNC1, the lot) is a GS1 element string;
-- receiving by it brings the whole pallet in from transit, one posting per line.
SELECT sscc, content_gtin, count, lot
  FROM gs1_parse(']C100106141417000001015020950600070004537100' || chr(29) || '10T1');
SELECT source_event_id, kind, location, to_location, bucket, to_bucket, quantity
  FROM receive_unit('t_wms', 'GR-1', ']C100106141417000001015020950600070004537100' || chr(29) || '10T1',
                    '0614141700028', 'released');
SELECT count(*) FROM receive_unit('t_wms', 'GR-1b', '(00)106141417000001022', '0614141700028', 'released');
SELECT sscc, location, status FROM logistic_unit WHERE sscc IN ('106141417000001015', '106141417000001022') ORDER BY sscc;
SELECT count(*) FROM transfer_in('t_wms', 'GR-2', '09506000700038', '0614141700080', '0614141700028', 1000, bucket => 't_dispatch', to_bucket => 'released', lot => 'Y3');
-- The first pallet is broken down for the stores; the second stays whole at the DC.
SELECT sscc, status FROM unpack_unit('t_wms', 'UP-1', '106141417000001015');
SELECT count(*) FROM transfer_out('t_wms', 'TO-3', '09506000700045', '0614141700028', '0614141700097', 40, now() + interval '1 hour', lot => 'T1');
SELECT count(*) FROM transfer_in('t_pos', 'GR-3', '09506000700045', '0614141700097', '0614141700035', 40, lot => 'T1');
SELECT count(*) FROM transfer_out('t_wms', 'TO-4', '09506000700045', '0614141700028', '0614141700097', 30, now() + interval '1 hour', lot => 'T1');
-- Customers buy: at store A, and web orders shipped from the DC.
SELECT count(*) FROM ship('t_pos', 'SALE-1', '09506000700045', '0614141700035', 3, lot => 'T1', reference => 'RECEIPT 4711 loyalty 99-123');
SELECT count(*) FROM ship('t_wms', 'SHIP-1', '09506000700045', '0614141700028', 2, lot => 'T1', reference => 'ORDER 5001');
SELECT count(*) FROM ship('t_wms', 'SHIP-2', '09506000700038', '0614141700028', 10, lot => 'Y3', reference => 'ORDER 5002');
-- An open web order for trays.
SELECT status, quantity FROM reserve('t_web', 'ORDER-5010', '1', '09506000700045', 4);

-- Where did the trays come from? Back to the milk and the culture.
SELECT depth, item_gtin, lot_number, production_order, quantity, parent_lot
  FROM trace_back('09506000700045', 'T1');
-- Where did tanker TANK-1 go? Forward to every yoghurt and tray made from it, where each
-- is now and which customers received it.
SELECT depth, item_gtin, lot_number, production_order, quantity, parent_lot,
       jsonb_path_query_array(on_hand, '$[*] ? (@.quantity != "0")') AS on_hand,
       jsonb_path_query_array(shipped, '$[*].reference') AS shipped
  FROM trace_forward('09506000700014', 'TANK-1');

-- The recall: TANK-1 and every lot made from it, into "blocked" everywhere at once, as
-- the lab's postings. The answer is whom to contact.
SELECT item_gtin, lot_number, location, quantity, reference, source_event_id
  FROM recall('09506000700014', 'TANK-1', 'Listeria found in retained sample', 't_lims', 'RC-2026-01');
-- Every sellable and in-transit tray and yoghurt of the lots reached is blocked; Y2
-- (milk of TANK-2 only) is not touched, nor stock that is not sellable.
SELECT l.name AS location, b.item_gtin, b.lot, b.bucket, b.quantity
  FROM balance b JOIN location l ON l.gln = b.location
 WHERE b.item_gtin IN ('09506000700014', '09506000700038', '09506000700045') AND b.quantity <> 0
 ORDER BY l.name, b.item_gtin, b.lot, b.bucket;
-- The recall's own record: the lots it reached, its postings, the flagged web order.
SELECT recall_ref, item_gtin, lot, reason, source, to_bucket, recalled_by = current_user AS by_me FROM recall;
SELECT item_gtin, lot, depth, production_order FROM recall_lot ORDER BY depth, item_gtin, lot;
SELECT source_event_id, kind, source, bucket, to_bucket, base_quantity, reference
  FROM ledger WHERE reference = 'RC-2026-01' ORDER BY posting_id;
SELECT channel, order_ref, item_gtin, open_quantity FROM recall_reservation;
-- The recall reaches every tray, those still on a pallet too: the pallet's line is
-- blocked with the DC's stock, the pallet's history says why, and the DC cannot ship it.
SELECT sscc, line_no, lot, bucket, quantity FROM logistic_unit_content WHERE sscc = '106141417000001022';
SELECT kind, source, source_event_id, to_bucket, cardinality(posting_ids) AS postings
  FROM logistic_unit_event WHERE sscc = '106141417000001022' ORDER BY unit_event_id;
SELECT count(*) FROM ship_unit('t_wms', 'SHIP-3', '106141417000001022', 'ORDER 5003');
SELECT atp('09506000700045', channel => 't_web') AS web_trays;
-- Calling it again is a replay: nothing new is posted, the same customers are listed.
SELECT count(*) FROM recall('09506000700014', 'TANK-1', 'Listeria found in retained sample', 't_lims', 'RC-2026-01');
SELECT count(*) FROM ledger WHERE reference = 'RC-2026-01';

-- Bad input: an unknown lot, a reference reused for another lot, a sellable bucket.
SELECT * FROM recall('09506000700014', 'TANK-9', 'test', 't_lims', 'RC-2026-02');
SELECT * FROM recall('09506000700014', 'TANK-2', 'test', 't_lims', 'RC-2026-01');
SELECT * FROM recall('09506000700014', 'TANK-2', 'test', 't_lims', 'RC-2026-03', 'released');
SELECT * FROM trace_back('09506000700038', NULL);
SELECT count(*) FROM recall;

SELECT * FROM verify();
SELECT * FROM verify_promises();
DROP ROLE t_auditor;
