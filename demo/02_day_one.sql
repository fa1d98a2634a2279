-- title: 2. A receipt through QA, a POS sale beyond stock
SET search_path = inventory_sync, public;
\echo 'Master data: a DC whose WMS is its system of record, a store whose POS is.'
INSERT INTO item (gtin, name, lot_tracked, shelf_life_days) VALUES ('09506000134352', 'Espresso beans 1 kg', true, 365);
INSERT INTO item_pack (pack_gtin, item_gtin, quantity, name) VALUES ('19506000134359', '09506000134352', 12, 'Case of 12');
INSERT INTO location (gln, name, kind) VALUES
  ('0614141000012', 'Distribution centre', 'warehouse'), ('0614141000029', 'Store Main Street', 'store');
INSERT INTO source (source, name, kind, role) VALUES
  ('wms', 'Warehouse management', 'wms', current_user), ('pos', 'Store POS', 'pos', current_user);
INSERT INTO ownership VALUES ('0614141000012', NULL, 'wms'), ('0614141000029', NULL, 'pos');

\echo 'The dock scans 10 cases: the receipt goes to "receiving", in base units.'
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
SELECT 'receipt', 'wms', 'GR-1001', s.gtin, '0614141000012', s.lot, 'receiving', 10, 'ASN-77'
  FROM gs1_parse('(01)19506000134359(10)L2611(17)270331') s
RETURNING posting_id, kind, gtin, item_gtin, lot, quantity, base_quantity;
UPDATE lot SET expiry = '2027-03-31' WHERE lot = 'L2611';

\echo 'Inspection puts it on QA hold; the lab releases it. Not sellable until then.'
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, to_bucket, quantity) VALUES
  ('move', 'wms', 'QA-1', '09506000134352', '0614141000012', 'L2611', 'receiving', 'qa_hold', 120),
  ('move', 'wms', 'QA-2', '09506000134352', '0614141000012', 'L2611', 'qa_hold', 'released', 120);
SELECT c.posting_id, c.bucket, c.delta, c.quantity_after, c.version, c.kind
  FROM balance_change c ORDER BY c.posting_id, c.delta;

\echo 'The WMS replays GR-1001 after a timeout: nothing changes.'
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
     VALUES ('receipt', 'wms', 'GR-1001', '19506000134359', '0614141000012', 'L2611', 'receiving', 10, 'ASN-77');

\echo 'The store POS sells 3 bags it has no record of receiving: a fact, recorded, and an exception.'
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, quantity)
     VALUES ('issue', 'pos', 'SALE-9001', '09506000134352', '0614141000029', 'L2611', 3);
SELECT kind, item_gtin, location, bucket, detail FROM exception;

\echo 'The WMS may not post at the store:'
\set ON_ERROR_STOP 0
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, quantity)
     VALUES ('receipt', 'wms', 'X-1', '09506000134352', '0614141000029', 'L2611', 3);
\set ON_ERROR_STOP 1

\echo 'Balances, with their per-key versions:'
SELECT l.name AS location, b.lot, b.bucket, b.quantity, b.version
  FROM balance b JOIN location l ON l.gln = b.location ORDER BY l.name, b.bucket;
\echo 'verify(): balances recomputed from the ledger, zero rows = zero drift.'
SELECT * FROM verify();
