--
-- The ledger: facts go in with INSERT (or COPY); balances and after-states follow.
--
SET search_path = inventory_sync, public;

-- Master data: a DC run by a WMS, a store run by a POS, a truck in between.
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Espresso beans 1 kg');
INSERT INTO item_pack (pack_gtin, item_gtin, quantity, name)
     VALUES ('19506000134359', '09506000134352', 12, 'Case of 12');
INSERT INTO item (gtin, name, lot_tracked, shelf_life_days)
     VALUES ('09506000134369', 'Fresh milk 1 l', true, 10);
INSERT INTO location (gln, name, kind) VALUES
  ('0614141000012', 'Distribution centre', 'warehouse'),
  ('0614141000029', 'Store Main Street', 'store'),
  ('0614141999996', 'Truck 7', 'in_transit');
INSERT INTO source (source, name, kind, role) VALUES
  ('wms', 'Warehouse management', 'wms', current_user),
  ('pos', 'Store point of sale', 'pos', current_user);
INSERT INTO ownership (location, bucket, source) VALUES
  ('0614141000012', NULL, 'wms'),
  ('0614141000029', NULL, 'pos');

-- A receipt of 10 cases lands in "receiving": the ledger converts it to 120 units.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity, reference)
     VALUES ('receipt', 'wms', 'GR-1001', '19506000134359', '0614141000012', 'receiving', 10, 'ASN-77')
  RETURNING posting_id, kind, gtin, item_gtin, quantity, base_quantity;

-- Inspection puts it on QA hold, then QA releases it: two bucket moves.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, to_bucket, quantity) VALUES
  ('move', 'wms', 'QA-1', '09506000134352', '0614141000012', 'receiving', 'qa_hold', 120),
  ('move', 'wms', 'QA-2', '09506000134352', '0614141000012', 'qa_hold', 'released', 120);

SELECT location, bucket, quantity, version FROM balance
 WHERE item_gtin = '09506000134352' ORDER BY location, bucket;

-- Every effect of every posting, with the key's version and quantity after it.
SELECT c.posting_id, c.bucket, c.delta, c.quantity_after, c.version, c.kind
  FROM balance_change c WHERE c.item_gtin = '09506000134352' ORDER BY c.posting_id, c.delta;

-- The same event again changes nothing: INSERT 0 0, same balance, same version.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity, reference)
     VALUES ('receipt', 'wms', 'GR-1001', '19506000134359', '0614141000012', 'receiving', 10, 'ASN-77');
SELECT bucket, quantity, version FROM balance
 WHERE item_gtin = '09506000134352' AND location = '0614141000012' ORDER BY bucket;

-- The same event id with a different payload is a conflict.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
     VALUES ('receipt', 'wms', 'GR-1001', '19506000134359', '0614141000012', 'receiving', 11);

-- A transfer goes through the truck: out of the DC with an ETA, into the store.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, quantity, eta)
     VALUES ('transfer_out', 'wms', 'TO-5', '09506000134352', '0614141000012', '0614141999996', 24,
             '2026-01-02 08:00+00');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, quantity)
     VALUES ('transfer_in', 'pos', 'TI-5', '09506000134352', '0614141999996', '0614141000029', 24);

-- The POS is the system of record for the store; the WMS may not post there.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('issue', 'wms', 'X-1', '09506000134352', '0614141000029', 1);

-- A sale the POS already made is a fact: it is recorded even beyond stock,
-- and the negative balance becomes an exception to investigate.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('issue', 'pos', 'SALE-1', '09506000134352', '0614141000029', 30);
SELECT bucket, quantity, version FROM balance
 WHERE item_gtin = '09506000134352' AND location = '0614141000029';
SELECT kind, item_gtin, location, bucket, detail FROM exception ORDER BY exception_id;

-- A strict location refuses the same thing.
UPDATE location SET strict = true WHERE gln = '0614141000029';
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('issue', 'pos', 'SALE-2', '09506000134352', '0614141000029', 1);
UPDATE location SET strict = false WHERE gln = '0614141000029';

-- A count states what is there as of a time; postings after that time keep their effect.
-- The shelf held 5 at 10:00; a sale of 2 at 10:05 was already posted.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time)
     VALUES ('issue', 'pos', 'SALE-3', '09506000134352', '0614141000029', 2, now() + interval '5 minutes');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time)
     VALUES ('count', 'pos', 'CNT-1', '09506000134352', '0614141000029', 5, now());
SELECT quantity, version FROM balance
 WHERE item_gtin = '09506000134352' AND location = '0614141000029';
SELECT kind, delta, quantity_after, version FROM balance_change
 WHERE item_gtin = '09506000134352' AND location = '0614141000029' ORDER BY version;

-- An event older than that count arriving now is flagged as late.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time)
     VALUES ('issue', 'pos', 'SALE-0', '09506000134352', '0614141000029', 1, now() - interval '1 hour');
SELECT kind, detail ~ 'before the count' AS before_count FROM exception WHERE kind = 'late_event';

-- Compare-and-set: a posting may state the balance it expects to find.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, reason, expected_quantity)
     VALUES ('adjustment', 'pos', 'ADJ-1', '09506000134352', '0614141000029', -1, 'shrink', 99);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, reason, expected_quantity)
     VALUES ('adjustment', 'pos', 'ADJ-1', '09506000134352', '0614141000029', -1, 'shrink', 2);

-- Lot-tracked items need a lot; a batch of postings is applied key by key.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'GR-2000', '09506000134369', '0614141000012', 10);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, quantity) VALUES
  ('receipt', 'wms', 'GR-2001', '09506000134369', '0614141000012', 'L2', 10),
  ('receipt', 'wms', 'GR-2002', '09506000134369', '0614141000012', 'L1', 10),
  ('receipt', 'wms', 'GR-2003', '09506000134369', '0614141000012', 'L2', 5);
SELECT lot, quantity, version FROM balance WHERE item_gtin = '09506000134369' ORDER BY lot;
SELECT item_gtin, lot FROM lot ORDER BY lot;

-- Bad facts are refused whole, with the key they are about.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'BAD-1', '09506000134376', '0614141000012', 1);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'BAD-2', '09506000134352', '0614141000036', 1);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
     VALUES ('receipt', 'wms', 'BAD-3', '09506000134352', '0614141000012', 'shelf', 1);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'BAD-4', '09506000134352', '0614141000012', 1.5);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'wms', 'BAD-5', '09506000134352', '0614141000012', -3);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
     VALUES ('receipt', 'erp', 'BAD-6', '09506000134352', '0614141000012', 1);
SELECT count(*) AS bad_postings FROM ledger WHERE source_event_id LIKE 'BAD-%';

-- The ledger is append-only (this story runs as a superuser, who alone may rewrite it:
-- an ordinary role is refused, see test/pgtap/posting.sql); balances are the engine's.
UPDATE balance SET quantity = 0;
DELETE FROM balance_change;
INSERT INTO balance (item_gtin, location, bucket, quantity) VALUES ('09506000134352', '0614141000012', 'released', 5);
TRUNCATE serial_unit;

-- Balances equal the ledger.
SELECT * FROM verify();
