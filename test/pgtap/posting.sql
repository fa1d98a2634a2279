-- Every rule of the posting triggers, and its SQLSTATE.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(34);

INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Beans');
INSERT INTO item (gtin, name, base_unit) VALUES ('09506000134369', 'Flour', 'KGM');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134376', 'Milk', true);
INSERT INTO item (gtin, name, serial_tracked) VALUES ('09506000134383', 'Drill', true);
INSERT INTO item_pack VALUES ('19506000134359', '09506000134352', 12, 'Case');
INSERT INTO unit VALUES ('BAG', 'bag of 25 kg', true);
INSERT INTO item_unit VALUES ('09506000134369', 'BAG', 25);
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'DC', 'warehouse'),
  ('0614141000029', 'Store', 'store'), ('0614141999996', 'Truck', 'in_transit');
INSERT INTO location (gln, name, kind, strict) VALUES ('0614141000036', 'Strict store', 'store', true);
INSERT INTO source (source, name, role) VALUES ('wms', 'WMS', current_user), ('pos', 'POS', current_user);
INSERT INTO ownership VALUES ('0614141000029', NULL, 'pos');

CREATE FUNCTION pg_temp.p(kind text, id text, gtin text, loc text, qty numeric, extra text DEFAULT '')
RETURNS text LANGUAGE sql AS $$
  SELECT format('INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity%s) VALUES (%L, %L, %L, %L, %L, %s%s)',
                CASE WHEN extra = '' THEN '' ELSE ', ' || split_part(extra, '=', 1) END,
                kind, CASE WHEN loc = '0614141000029' OR loc = '0614141000036' THEN 'pos' ELSE 'wms' END,
                id, gtin, loc, qty,
                CASE WHEN extra = '' THEN '' ELSE ', ' || quote_literal(split_part(extra, '=', 2)) END)
$$;

-- unknown master data: 23503
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134390', '0614141000012', 1), '23503', 'unknown item: gtin 09506000134390', 'unknown item');
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134352', '0614141000043', 1), '23503', 'unknown location: gln 0614141000043', 'unknown location');
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134352', '0614141000012', 1, 'bucket=shelf'), '23503', 'unknown bucket "shelf"', 'unknown bucket');
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134369', '0614141000012', 1, 'unit=TON'), '23503', 'unknown unit "TON"', 'unknown unit');
SELECT throws_ok(pg_temp.p('adjustment', 'e1', '09506000134352', '0614141000012', 1, 'reason=whim'), '23503', 'unknown reason code "whim"', 'unknown reason');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
                  VALUES ('receipt', 'erp', 'e1', '09506000134352', '0614141000012', 1)$$, '23503', 'unknown source "erp"', 'unknown source');

-- quantities: IS020
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134352', '0614141000012', 0), 'IS020', NULL, 'zero');
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134352', '0614141000012', -1), 'IS020', NULL, 'negative receipt');
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134352', '0614141000012', 0.5), 'IS020', NULL, 'half an each');
SELECT throws_ok(pg_temp.p('count', 'e1', '09506000134352', '0614141000012', -1), 'IS020', NULL, 'negative count');
SELECT lives_ok(pg_temp.p('receipt', 'kg1', '09506000134369', '0614141000012', 2.5), 'fractional kilograms are fine');
SELECT lives_ok(pg_temp.p('receipt', 'bag1', '09506000134369', '0614141000012', 2, 'unit=BAG'), 'bags convert to kilograms');
SELECT is((SELECT base_quantity FROM ledger WHERE source_event_id = 'bag1'), 50::numeric, '2 bags = 50 kg');
SELECT lives_ok(pg_temp.p('receipt', 'case1', '19506000134359', '0614141000012', 3), 'a case GTIN');
SELECT is((SELECT base_quantity FROM ledger WHERE source_event_id = 'case1'), 36::numeric, '3 cases = 36 each');

-- lots and serials: IS021, IS022
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134376', '0614141000012', 1), 'IS021', NULL, 'lot required');
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134352', '0614141000012', 1, 'lot=L1'), 'IS021', NULL, 'lot forbidden');
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134383', '0614141000012', 1), 'IS022', NULL, 'serial required');
SELECT throws_ok(pg_temp.p('receipt', 'e1', '09506000134383', '0614141000012', 2, 'serial=S1'), 'IS022', NULL, 'a serial moves one unit');

-- shapes: IS023
SELECT throws_ok(pg_temp.p('move', 'e1', '09506000134352', '0614141000012', 1), 'IS023', NULL, 'a move needs to_bucket');
SELECT throws_ok(pg_temp.p('transfer_out', 'e1', '09506000134352', '0614141000012', 1, 'to_location=0614141000029'), 'IS023', NULL, 'transfers go through in-transit');
SELECT throws_ok(pg_temp.p('adjustment', 'e1', '09506000134352', '0614141000012', 1), 'IS023', NULL, 'an adjustment needs a reason');

-- ownership IS001, replays IS002, compare-and-set IS003, strict IS004
SELECT throws_ok(format($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity)
                  VALUES ('receipt', 'wms', 'own1', '09506000134352', '0614141000029', 1)$$), 'IS001', NULL, 'not the system of record');
SELECT throws_ok(pg_temp.p('receipt', 'case1', '19506000134359', '0614141000012', 4), 'IS002', NULL, 'conflicting replay');
SELECT is((SELECT quantity || '/' || version FROM balance WHERE item_gtin = '09506000134352' AND location = '0614141000012'),
          '36/1', 'an exact replay changes nothing');
SELECT lives_ok(pg_temp.p('receipt', 'case1', '19506000134359', '0614141000012', 3), 'an exact replay is accepted');
SELECT throws_ok(pg_temp.p('issue', 'cas1', '09506000134352', '0614141000012', 1, 'expected_quantity=35'), 'IS003', NULL, 'stale compare-and-set');
SELECT throws_ok(pg_temp.p('issue', 'st1', '09506000134352', '0614141000036', 1), 'IS004', NULL, 'strict location refuses a negative');

-- the ledger is append-only for ordinary roles: IS030
CREATE ROLE pgtap_auditor;
GRANT USAGE ON SCHEMA inventory_sync TO pgtap_auditor;
GRANT SELECT, UPDATE, DELETE ON ledger TO pgtap_auditor;
SET ROLE pgtap_auditor;
SELECT throws_ok($$UPDATE inventory_sync.ledger SET quantity = 1$$, 'IS030', NULL, 'UPDATE of the ledger refused');
RESET ROLE;

-- One statement of 2,500 postings, a third of them moves (two effects each): the engine
-- writes their 3,333 after-states in batches of 1,000 as it goes; none may be lost,
-- doubled or out of step at a batch boundary.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
  SELECT 'receipt', 'wms', 'big-stock-' || b, '09506000134369', '0614141000012', b, 100000
    FROM unnest(ARRAY['receiving', 'qa_hold', 'released']) b;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, to_bucket, quantity)
  SELECT CASE WHEN g % 3 = 0 THEN 'move' ELSE 'receipt' END::posting_kind, 'wms', 'big-' || g,
         '09506000134369', '0614141000012',
         (ARRAY['receiving', 'qa_hold', 'released'])[1 + CASE WHEN g % 3 = 0 THEN (g / 3) % 3 ELSE g % 3 END],
         CASE WHEN g % 3 = 0 THEN (ARRAY['qa_hold', 'released', 'receiving'])[1 + (g / 3) % 3] END,
         1 + g % 7
    FROM generate_series(1, 2500) g;
SELECT is((SELECT count(*) FROM balance_change c JOIN ledger l USING (posting_id)
            WHERE l.source_event_id LIKE 'big-%' AND l.source_event_id NOT LIKE 'big-stock-%'),
          3333::bigint, 'a 2,500-posting statement: one after-state per effect (3,333)');
SELECT is((SELECT count(*) FROM (
             SELECT version - lag(version) OVER w AS step,
                    quantity_after - delta - lag(quantity_after) OVER w AS gap
               FROM balance_change c WHERE item_gtin = '09506000134369'
             WINDOW w AS (PARTITION BY balance_id ORDER BY version)) s
            WHERE step <> 1 OR gap <> 0),
          0::bigint, 'each key''s after-states: versions step by one, quantities chain');
SELECT is((SELECT count(*) FROM balance b
            WHERE item_gtin = '09506000134369'
              AND (b.quantity, b.version) IS DISTINCT FROM
                  (SELECT (sum(delta), max(version)) FROM balance_change c WHERE c.balance_id = b.balance_id)),
          0::bigint, 'every balance is the sum of its after-states'' deltas, at its last version');
SELECT is((SELECT sum(c.delta) FROM balance_change c JOIN ledger l USING (posting_id)
            WHERE l.source_event_id LIKE 'big-%'),
          (SELECT 300000 + sum(1 + g % 7) FROM generate_series(1, 2500) g WHERE g % 3 <> 0)::numeric,
          'moves keep the item''s total, receipts add to it');

SELECT is((SELECT count(*) FROM verify()), 0::bigint, 'verify() holds');
SELECT * FROM finish();
ROLLBACK;
