--
-- Posting functions for stored-procedure callers, roles, views.
--
SET search_path = inventory_sync, public;

INSERT INTO item (gtin, name, lot_tracked, shelf_life_days) VALUES ('09506000134383', 'Yoghurt 500 g', true, 21);
INSERT INTO item (gtin, name, serial_tracked) VALUES ('09506000134390', 'Cordless drill', true);
INSERT INTO location (gln, name, kind) VALUES
  ('0614141000043', 'Plant', 'plant'),
  ('0614141000050', 'Store North', 'store'),
  ('0614141999989', 'Truck 9', 'in_transit');
-- Posting roles are bound to their sources.
CREATE ROLE api_mes LOGIN;
CREATE ROLE api_store LOGIN;
GRANT inventory_sync_writer TO api_mes, api_store;
INSERT INTO source (source, name, kind, role) VALUES
  ('mes', 'Manufacturing execution', 'mes', 'api_mes'),
  ('lims', 'Laboratory', 'lims', 'api_mes'),
  ('store-north', 'Store North POS', 'pos', 'api_store');

SET ROLE api_mes;
-- Production lands on QA hold; the lab releases the lot everywhere at once.
SELECT posting_id, kind, bucket, quantity, base_quantity, actor
  FROM produce('mes', 'WO-1', '09506000134383', '0614141000043', 500, 'Y26A');
SELECT posting_id, kind, location, quantity
  FROM transfer_out('mes', 'TR-1', '09506000134383', '0614141000043', '0614141999989', 100,
                    '2026-12-01 06:00+00', bucket => 'qa_hold', lot => 'Y26A');
SELECT source_event_id, location, bucket, to_bucket, quantity
  FROM release_lot('lims', 'QR-7', '09506000134383', 'Y26A') ORDER BY location;
SELECT lot, released_by FROM lot WHERE lot = 'Y26A';
-- A replay returns the original posting.
SELECT posting_id, source_event_id FROM produce('mes', 'WO-1', '09506000134383', '0614141000043', 500, 'Y26A');
-- Posting as a source bound to another role is refused.
SELECT ship('store-north', 'S-1', '09506000134383', '0614141000050', 1, lot => 'Y26A');
RESET ROLE;

SET ROLE api_store;
SELECT kind, location, to_location, to_bucket, quantity
  FROM transfer_in('store-north', 'TI-1', '09506000134383', '0614141999989', '0614141000050', 100,
                   lot => 'Y26A', to_bucket => 'receiving');
SELECT kind, bucket, to_bucket FROM move_stock('store-north', 'PA-1', '09506000134383', '0614141000050', 100,
                                               'receiving', 'released', 'Y26A');
SELECT kind, base_quantity FROM ship('store-north', 'S-2', '09506000134383', '0614141000050', 30, lot => 'Y26A');
SELECT kind, base_quantity, reason FROM adjust('store-north', 'A-1', '09506000134383', '0614141000050', -2, 'damage', lot => 'Y26A');
SELECT kind, base_quantity FROM count_stock('store-north', 'C-1', '09506000134383', '0614141000050', 60, lot => 'Y26A');
-- A serialised unit in, and the same serial in again without leaving: an exception.
SELECT kind, serial FROM receive('store-north', 'R-D1', '09506000134390', '0614141000050', 1, 'released', serial => 'DR-0001');
SELECT kind, serial FROM return_stock('store-north', 'RT-D1', '09506000134390', '0614141000050', 1, serial => 'DR-0001');
-- A correction reverses a posting and names it.
SELECT kind, base_quantity, corrects IS NOT NULL AS names_original, reason
  FROM correct('store-north', 'S-2-fix', (SELECT posting_id FROM ledger WHERE source_event_id = 'S-2'));
SELECT correct('store-north', 'C-1-fix', (SELECT posting_id FROM ledger WHERE source_event_id = 'C-1'));
-- Only the engine writes balances; a writer may not rewrite the ledger.
UPDATE ledger SET quantity = 0;
UPDATE balance SET quantity = 0;
RESET ROLE;

SELECT location_name, lot, expiry, bucket, sellable, quantity, version
  FROM stock WHERE item_gtin = '09506000134383' ORDER BY location_name, bucket;
SELECT kind, source, source_event_id FROM open_exceptions ORDER BY exception_id;
SELECT detail FROM open_exceptions WHERE kind = 'serial_conflict';

-- Sequence numbers: gaps and out-of-order arrivals are listed.
INSERT INTO source (source, name, role) VALUES ('erp', 'ERP', current_user);
INSERT INTO ledger (kind, source, source_event_id, source_sequence, gtin, location, quantity, lot) VALUES
  ('receipt', 'erp', 'E1', 1, '09506000134383', '0614141000043', 1, 'Y26B'),
  ('receipt', 'erp', 'E2', 2, '09506000134383', '0614141000043', 1, 'Y26B'),
  ('receipt', 'erp', 'E5', 5, '09506000134383', '0614141000043', 1, 'Y26B'),
  ('receipt', 'erp', 'E4', 4, '09506000134383', '0614141000043', 1, 'Y26B');
SELECT source, anomaly, source_sequence, detail FROM sequence_anomaly ORDER BY source_sequence, anomaly;

SELECT * FROM verify();
