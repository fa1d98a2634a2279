-- title: 5. Traceability: a production order's genealogy, a recall, a serial's lifecycle
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

\echo '--- 5.1 The plant makes yoghurt: production order WO-0311 ---'
\echo 'The plant receives raw milk by the tank and yoghurt culture by the lot. The quality lab'
\echo 'becomes the recall authority: it owns the "blocked" bucket everywhere (an audited change).'
INSERT INTO item (gtin, name, base_unit, lot_tracked) VALUES
  ('09506000134406', 'Raw milk',        'LTR', true),
  ('09506000134413', 'Yoghurt culture', 'KGM', true);
INSERT INTO ownership (location, bucket, source)
SELECT gln, 'blocked', 'lims' FROM location WHERE kind <> 'in_transit';
SELECT table_name, operation, count(*) AS changes, string_agg(DISTINCT acting_role, ', ') AS by_role
  FROM audit_log WHERE table_name = 'ownership' AND after->>'bucket' = 'blocked' GROUP BY 1, 2;

\echo 'The ERP posts what each order consumed and produced, naming the order as the first'
\echo 'word of the reference: that is all the genealogy needs. WO-0311 uses tank RM-0311 and'
\echo 'culture CU-77; WO-0312, the next batch, tank RM-0312 and culture CU-78.'
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference) VALUES
  ('receipt',     'erp', 'GR-RM-0311', '09506000134406', '0614141000043', 'RM-0311', 'receiving', 5000, 'TANKER 311'),
  ('receipt',     'erp', 'GR-RM-0312', '09506000134406', '0614141000043', 'RM-0312', 'receiving', 5000, 'TANKER 312'),
  ('receipt',     'erp', 'GR-CU-77',   '09506000134413', '0614141000043', 'CU-77',   'receiving', 20,   'SUPPLIER DELIVERY 9001'),
  ('receipt',     'erp', 'GR-CU-78',   '09506000134413', '0614141000043', 'CU-78',   'receiving', 20,   'SUPPLIER DELIVERY 9002'),
  ('consumption', 'erp', 'WO-0311-M1', '09506000134406', '0614141000043', 'RM-0311', 'receiving', 1200, 'WO-0311'),
  ('consumption', 'erp', 'WO-0311-M2', '09506000134413', '0614141000043', 'CU-77',   'receiving', 2.5,  'WO-0311'),
  ('production',  'erp', 'WO-0311-P1', '19506000134380', '0614141000043', 'Y-0311',  'qa_hold',   300,  'WO-0311 line 2'),
  ('consumption', 'erp', 'WO-0312-M1', '09506000134406', '0614141000043', 'RM-0312', 'receiving', 1000, 'WO-0312'),
  ('consumption', 'erp', 'WO-0312-M2', '09506000134413', '0614141000043', 'CU-78',   'receiving', 2,    'WO-0312'),
  ('production',  'erp', 'WO-0312-P1', '19506000134380', '0614141000043', 'Y-0312',  'qa_hold',   250,  'WO-0312 line 2');
SELECT production_order, demo.item(input_gtin) AS input, input_lot, consumed,
       demo.item(output_gtin) AS output, output_lot, produced AS produced_cups
  FROM lot_link WHERE production_order IN ('WO-0311', 'WO-0312') ORDER BY production_order, input_lot;

\echo
\echo '--- 5.2 Y-0311 goes out, and where it went ---'
\echo 'The ERP trucks half of Y-0311 to the DC before the lab result is in; the lab releases the'
\echo 'lot (at the plant and on the truck); the DC books in the first drop, ships two cafe orders'
\echo 'and sends a few trays to Main Street, whose till sells some.'
SELECT p.source, p.source_event_id AS event, p.kind, demo.loc(p.location) AS "from",
       coalesce(demo.loc(p.to_location), '') AS "to", p.bucket || coalesce(' -> ' || p.to_bucket, '') AS bucket,
       abs(p.base_quantity) AS cups, coalesce(p.reference, '') AS reference
  FROM (SELECT * FROM transfer_out('erp', 'STO-91', '19506000134380', '0614141000043', '0614141999989', 150,
                                   eta => now() + interval '2 hours', bucket => 'qa_hold', lot => 'Y-0311')
        UNION ALL SELECT * FROM release_lot('lims', 'QR-Y0311', '09506000134383', 'Y-0311')
        UNION ALL SELECT * FROM release_lot('lims', 'QR-Y0312', '09506000134383', 'Y-0312')
        UNION ALL SELECT * FROM transfer_in('wms', 'GR-STO-91', '09506000134383', '0614141999989', '0614141000012', 1000,
                                            lot => 'Y-0311')
        UNION ALL SELECT * FROM ship('wms', 'SH-C-4411', '09506000134383', '0614141000012', 96, lot => 'Y-0311',
                                     reference => 'ORDER C-4411 Cafe Noord')
        UNION ALL SELECT * FROM ship('wms', 'SH-C-4415', '09506000134383', '0614141000012', 48, lot => 'Y-0311',
                                     reference => 'ORDER C-4415 Hotel Maas')
        UNION ALL SELECT * FROM transfer_out('wms', 'TO-5002', '09506000134383', '0614141000012', '0614141999972', 120,
                                             eta => now() + interval '1 hour', lot => 'Y-0311')
        UNION ALL SELECT * FROM transfer_in('pos_main', 'GR-TO-5002', '09506000134383', '0614141999972', '0614141000029',
                                            120, lot => 'Y-0311')
        UNION ALL SELECT * FROM ship('pos_main', 'TILL1-0815-0131', '09506000134383', '0614141000029', 6, lot => 'Y-0311',
                                     reference => 'TILL1 RECEIPT 0131')) p
 ORDER BY p.posting_id;

\echo 'Trace back: what Y-0311 was made of, at any depth.'
SELECT depth, demo.item(item_gtin) AS item, lot_number, production_order, quantity AS consumed,
       coalesce(parent_lot::text, '') AS into_lot
  FROM trace_back('09506000134383', 'Y-0311');
\echo 'Trace forward: everything made from culture CU-77, where it is now and whom it reached.'
SELECT depth, demo.item(t.item_gtin) AS item, t.lot_number, coalesce(t.production_order, '') AS via_order,
       (SELECT string_agg(demo.loc((h->>'location')::gln) || ' ' || (h->>'bucket') || ': ' || (h->>'quantity'), '; '
                          ORDER BY h->>'location', h->>'bucket')
          FROM jsonb_array_elements(t.on_hand) h) AS on_hand,
       (SELECT string_agg((s->>'reference') || ' (' || (s->>'quantity') || ')', '; ' ORDER BY s->>'event_time')
          FROM jsonb_array_elements(t.shipped) s) AS shipped
  FROM trace_forward('09506000134413', 'CU-77') t;

\echo
\echo '--- 5.3 The culture supplier reports contamination of lot CU-77: recall ---'
\echo 'Web and marketplace ATP of the yoghurt before the recall:'
SELECT atp('09506000134383', channel => 'web') AS web, atp('09506000134383', channel => 'marketplace') AS marketplace;
\echo 'The WMS may not recall: "blocked" is the lab''s bucket everywhere, even at the WMS''s own DC'
\echo '(and nothing is blocked anywhere unless the recall may block everywhere).'
SELECT * FROM demo.refused($$SELECT * FROM inventory_sync.recall('09506000134413', 'CU-77', 'test', 'wms', 'RC-CU77')$$,
                           'IS001');
\echo 'The lab recalls CU-77: every lot made from it leaves sellable stock everywhere at once,'
\echo 'in one transaction; the answer is the customer shipments to contact.'
SELECT demo.item(item_gtin) AS item, lot_number AS lot, demo.loc(location) AS shipped_from, quantity, reference,
       source_event_id
  FROM recall('09506000134413', 'CU-77', 'Culture lot contaminated (supplier notice 2026-311)', 'lims', 'RC-2026-311');
\echo 'Y-0311 is blocked at the plant, on the truck, at the DC and at Main Street; Y-0312 (culture'
\echo 'CU-78) and the culture itself (not sellable: it sits at the line) are untouched:'
SELECT demo.loc(location) AS location, demo.item(item_gtin) AS item, lot, bucket, quantity
  FROM balance
 WHERE lot IN ('Y-0311', 'Y-0312', 'CU-77') AND quantity <> 0
 ORDER BY lot, location, bucket;
SELECT r.recall_ref, demo.item(rl.item_gtin) AS item, rl.lot, rl.depth, coalesce(rl.production_order, '') AS via_order
  FROM recall_lot rl JOIN recall r USING (recall_id) ORDER BY rl.depth;
\echo 'Open reservations of the yoghurt at the blocked locations are flagged (not cancelled:'
\echo 'another lot may fill them), and ATP follows at once:'
SELECT channel, order_ref, demo.loc(location) AS held_at, open_quantity FROM recall_reservation;
SELECT atp('09506000134383', channel => 'web') AS web, atp('09506000134383', channel => 'marketplace') AS marketplace;

\echo
\echo '--- 5.4 A serialised unit: an espresso machine from the DC to a customer and back ---'
INSERT INTO item (gtin, name, serial_tracked) VALUES ('09506000134437', 'Espresso machine', true);
SELECT count(*) AS postings FROM (
  SELECT receive('wms', 'GR-EM-1', '09506000134437', '0614141000012', 1, 'released', serial => 'EM-1001')
  UNION ALL SELECT receive('wms', 'GR-EM-2', '09506000134437', '0614141000012', 1, 'released', serial => 'EM-1002')
  UNION ALL SELECT transfer_out('wms', 'TO-EM-1', '09506000134437', '0614141000012', '0614141999972', 1,
                                eta => now() + interval '1 hour', serial => 'EM-1001')
  UNION ALL SELECT transfer_in('pos_main', 'GR-VAN-EM-1', '09506000134437', '0614141999972', '0614141000029', 1,
                               serial => 'EM-1001')
  UNION ALL SELECT ship('pos_main', 'TILL1-0815-0140', '09506000134437', '0614141000029', 1, serial => 'EM-1001',
                        reference => 'TILL1 RECEIPT 0140')
  UNION ALL SELECT return_stock('pos_main', 'RET-0815-0007', '09506000134437', '0614141000029', 1, serial => 'EM-1001',
                                reference => 'TILL1 RECEIPT 0140')
  UNION ALL SELECT move_stock('pos_main', 'RST-0815-0007', '09506000134437', '0614141000029', 1, 'quarantine', 'released',
                              serial => 'EM-1001')
  UNION ALL SELECT ship('wms', 'SH-W-1101', '09506000134437', '0614141000012', 1, serial => 'EM-1002',
                        reference => 'ORDER W-1101')) p;
\echo 'Every serialised unit moves alone: two machines under one serial are refused.'
SELECT * FROM demo.refused($$SELECT inventory_sync.receive('pos_main', 'GR-EM-X', '09506000134437', '0614141000029', 2,
                                                           'released', serial => 'EM-1003')$$, 'IS022');
\echo 'EM-1001''s history: each posting, and the state it left the machine in.'
SELECT source_event_id AS event, kind, source, state, coalesce(demo.loc(state_location), '') AS at,
       coalesce(state_bucket, '') AS bucket
  FROM serial_history('09506000134437', 'EM-1001');

\echo 'The WMS interface sends the shipment of EM-1002 a second time, under a new message id. A'
\echo 'fact is recorded, never refused: the second shipment is in the books and listed as a'
\echo 'contradiction with the posting it contradicts.'
SELECT posting_id, source_event_id, serial, quantity
  FROM ship('wms', 'SH-W-1101-R', '09506000134437', '0614141000012', 1, serial => 'EM-1002', reference => 'ORDER W-1101');
SELECT serial, conflict, source_event_id AS event, conflicting_event_id AS contradicts, detail
  FROM serial_exceptions('09506000134437');
\echo 'The WMS corrects the duplicate with a counter-posting; the machine is still shipped once,'
\echo 'the contradiction is gone, and the analyst closes what the engine raised.'
SELECT posting_id, kind, corrects
  FROM correct('wms', 'SH-W-1101-R-CORR', (SELECT posting_id FROM ledger WHERE source = 'wms' AND source_event_id = 'SH-W-1101-R'));
UPDATE exception SET resolved_at = now(), resolution = 'Shipment message of W-1101 sent twice; corrected'
 WHERE posting_id = (SELECT posting_id FROM ledger WHERE source = 'wms' AND source_event_id = 'SH-W-1101-R');
SELECT count(*) AS contradictions FROM serial_exceptions('09506000134437');
SELECT s.serial, s.state, coalesce(demo.loc(s.location), '') AS at, coalesce(s.bucket, '') AS bucket,
       l.source_event_id AS since_event
  FROM serial_state s JOIN ledger l ON l.posting_id = s.last_posting_id
 WHERE s.item_gtin = '09506000134437' ORDER BY s.serial;
SELECT demo.assert_no_drift() AS result;
