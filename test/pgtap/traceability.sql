-- pgTAP: audit trail of master data, lot genealogy (trace_back, trace_forward), recall
-- and the operations KPIs: every rule and every error. Runs in one transaction that is
-- rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(71);

CREATE ROLE tr_lab;
CREATE ROLE tr_mes;
CREATE ROLE tr_reader;
CREATE ROLE tr_admin;
GRANT inventory_sync_writer TO tr_lab, tr_mes;
GRANT inventory_sync_reader TO tr_reader;
GRANT inventory_sync_admin TO tr_admin;

-- ---------------------------------------------------------------- audit trail
SET ROLE tr_admin;
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000700038', 'Yoghurt', true), ('09506000700045', 'Tray', true);
INSERT INTO item (gtin, name, base_unit, lot_tracked) VALUES ('09506000700014', 'Milk', 'LTR', true);
INSERT INTO location (gln, name, kind) VALUES
  ('0614141700011', 'Plant', 'plant'), ('0614141700028', 'DC', 'warehouse'), ('0614141700097', 'Truck', 'in_transit');
INSERT INTO source (source, name, kind, role) VALUES ('lab', 'Lab', 'lims', 'tr_lab'), ('mes', 'MES', 'mes', 'tr_mes');
INSERT INTO ownership (location, bucket, source) VALUES
  ('0614141700011', NULL, 'mes'), ('0614141700011', 'released', 'lab'), ('0614141700011', 'blocked', 'lab'),
  ('0614141700028', NULL, 'mes'), ('0614141700028', 'blocked', 'lab');
UPDATE item SET name = 'Yoghurt 500 g' WHERE gtin = '09506000700038';
DELETE FROM ownership WHERE location = '0614141700028' AND bucket IS NULL;
INSERT INTO ownership (location, bucket, source) VALUES ('0614141700028', NULL, 'mes');
RESET ROLE;

SELECT is((SELECT count(*) FROM audit_log WHERE table_name = 'item' AND operation = 'INSERT'
            AND row_key->>'gtin' LIKE '0950600070%'), 3::bigint, 'audit: one row per item inserted, bulk or not');
SELECT results_eq($$SELECT before->>'name', after->>'name', acting_role = 'tr_admin' FROM audit_log
                     WHERE table_name = 'item' AND operation = 'UPDATE' AND row_key->>'gtin' = '09506000700038'$$,
                  $$VALUES ('Yoghurt', 'Yoghurt 500 g', true)$$, 'audit: an update records before, after and the acting role');
SELECT ok((SELECT session_role = session_user FROM audit_log ORDER BY audit_id DESC LIMIT 1), 'audit: the session role is recorded');
SELECT is((SELECT count(*) FROM audit_log WHERE table_name = 'ownership' AND operation = 'DELETE'
            AND row_key = '{"bucket": null, "location": "0614141700028"}'), 1::bigint,
          'audit: a delete records the key (NULL key columns included) and the row before');
SELECT ok((SELECT before IS NOT NULL AND after IS NULL FROM audit_log WHERE table_name = 'ownership' AND operation = 'DELETE'),
          'audit: a delete has a before and no after');
UPDATE item SET name = name WHERE gtin = '09506000700045';
SELECT is((SELECT count(*) FROM audit_log WHERE table_name = 'item' AND operation = 'UPDATE'
            AND row_key->>'gtin' = '09506000700045'), 0::bigint, 'audit: an update that changes nothing records nothing');
INSERT INTO supply (kind, item_gtin, location, quantity, due_date) VALUES ('production_order', '09506000700038', '0614141700011', 5, current_date);
SELECT is((SELECT count(*) FROM audit_log WHERE table_name = 'supply'), 1::bigint, 'audit: supply is audited');
INSERT INTO location_group (location_group, name) VALUES ('tr_region', 'Region');
SELECT is((SELECT count(*) FROM audit_log WHERE table_name = 'location_group' AND row_key->>'location_group' = 'tr_region'),
          1::bigint, 'audit: location groups are audited');
SELECT is((SELECT count(*) FROM pg_trigger
            WHERE tgrelid IN ('broker_rule'::regclass, 'broker_location'::regclass, 'location_group_member'::regclass,
                              'channel_protection'::regclass, 'channel_cap'::regclass)
              AND tgname ~ '_audit_(insert|update|delete|truncate)$'), 20::bigint,
          'audit: brokering rules, brokering terms of locations, group members, protections and caps have their four triggers');
SET ROLE tr_admin;
SELECT throws_ok($$INSERT INTO audit_log (session_role, acting_role, operation, table_name) VALUES ('x', 'x', 'INSERT', 'item')$$,
                 '42501', NULL, 'audit: an admin cannot write the audit trail');
SELECT throws_ok($$UPDATE audit_log SET acting_role = 'x'$$, '42501', NULL, 'audit: nor update it');
RESET ROLE;
SET ROLE tr_reader;
SELECT ok((SELECT count(*) > 0 FROM audit_log), 'audit: a reader reads it');
RESET ROLE;
-- Privileges aside, the append-only trigger refuses anyone but a superuser: the owner of
-- the table (a superuser here) is let through, as for the ledger.
SELECT trigger_is('audit_log', 'audit_log_append_only', 'refuse_change', 'audit: append-only through refuse_change');
SELECT trigger_is('audit_log', 'audit_log_no_truncate', 'refuse_change', 'audit: no TRUNCATE through refuse_change');
SELECT ok((SELECT encode(tgargs, 'escape') LIKE '%superuser%' FROM pg_trigger WHERE tgname = 'audit_log_append_only'),
          'audit: only a superuser may rewrite it');
SELECT ok((SELECT 'audit_log'::regclass = ANY (extconfig) FROM pg_extension WHERE extname = 'inventory_sync'),
          'audit: pg_dump keeps it');
SELECT ok((SELECT bool_and(EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = t::regclass AND g.tgname LIKE '%_audit_update'))
             FROM unnest(ARRAY['unit', 'item', 'item_pack', 'item_unit', 'location', 'bucket', 'reason_code', 'source',
                               'ownership', 'channel', 'channel_location', 'channel_safety_stock', 'safety_stock',
                               'supply', 'transit_route']) t),
          'audit: every master-data table is audited');

-- ---------------------------------------------------------------- genealogy
SET ROLE tr_mes;
SELECT lives_ok($$
  INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference) VALUES
    ('receipt', 'mes', 'R1', '09506000700014', '0614141700011', 'M1', 'qa_hold', 1000, NULL),
    ('receipt', 'mes', 'R2', '09506000700014', '0614141700011', 'M2', 'qa_hold', 1000, NULL),
    ('consumption', 'mes', 'C1', '09506000700014', '0614141700011', 'M1', 'qa_hold', 300, 'WO-1'),
    ('consumption', 'mes', 'C2', '09506000700014', '0614141700011', 'M2', 'qa_hold', 100, 'WO-1 shift 2'),
    ('production', 'mes', 'P1', '09506000700038', '0614141700011', 'Y1', 'qa_hold', 600, 'WO-1 SSCC 1'),
    ('consumption', 'mes', 'C3', '09506000700038', '0614141700011', 'Y1', 'qa_hold', 120, 'WO-2'),
    ('production', 'mes', 'P2', '09506000700045', '0614141700011', 'T1', 'qa_hold', 20, 'WO-2'),
    -- a rework loop: T1 consumed back into Y1 (a cycle in the graph)
    ('consumption', 'mes', 'C4', '09506000700045', '0614141700011', 'T1', 'qa_hold', 1, 'WO-3'),
    ('production', 'mes', 'P3', '09506000700038', '0614141700011', 'Y1', 'qa_hold', 6, 'WO-3')$$,
  'genealogy: production orders posted');
RESET ROLE;
SELECT is(production_order_of('WO-1 SSCC 1'), 'WO-1', 'the production order is the first word of the reference');
SELECT results_eq($$SELECT depth, item_gtin::text, lot_number::text, production_order FROM trace_forward('09506000700014', 'M1')$$,
                  $$VALUES (0, '09506000700014', 'M1', NULL), (1, '09506000700038', 'Y1', 'WO-1'), (2, '09506000700045', 'T1', 'WO-2')$$,
                  'trace_forward: every descendant, at its shortest depth, the cycle cut');
SELECT results_eq($$SELECT depth, lot_number::text FROM trace_back('09506000700045', 'T1')$$,
                  $$VALUES (0, 'T1'), (1, 'Y1'), (2, 'M1'), (2, 'M2')$$,
                  'trace_back: every ancestor; the rework loop back to T1 is not followed twice');
SELECT is((SELECT quantity FROM trace_back('09506000700038', 'Y1') WHERE lot_number = 'M1'), 300::numeric,
          'trace_back: the quantity consumed by the order');
SELECT is((SELECT quantity FROM trace_forward('09506000700014', 'M1') WHERE lot_number = 'Y1'), 600::numeric,
          'trace_forward: the quantity produced by the orders');
SELECT is((SELECT count(*) FROM trace_forward('09506000700014', 'M1', 1)), 2::bigint, 'trace_forward: max_depth stops the walk');
SELECT is((SELECT on_hand FROM trace_back('09506000700045', 'T1') WHERE depth = 0),
          '[{"bucket": "qa_hold", "location": "0614141700011", "quantity": "19"}]'::jsonb, 'trace: where a lot is now');
SELECT throws_ok($$SELECT * FROM trace_back('09506000700014', 'NOPE')$$, 'IS050', NULL, 'trace: an unknown lot is refused (IS050)');
SELECT throws_ok($$SELECT * FROM trace_forward(NULL, 'M1')$$, '22004', NULL, 'trace: a NULL item is refused');
SELECT throws_ok($$SELECT * FROM trace_forward('09506000700014', 'M1', -1)$$, '22023', NULL, 'trace: a negative depth is refused');
SELECT is((SELECT count(*) FROM trace_back('09506000700014', 'M1')), 1::bigint, 'trace_back: a raw material has no ancestors');
SET ROLE tr_reader;
SELECT lives_ok($$SELECT * FROM trace_forward('09506000700014', 'M1')$$, 'trace: a reader may trace');
RESET ROLE;

-- ---------------------------------------------------------------- a production order consumes lots that are there
-- A consumption naming a production order links its lot into the genealogy: a lot that
-- is not at the key (scanned wrong, never received) or is used up would make a trace or a
-- recall name an input that was never used. Refused everywhere (IS053), strict or not,
-- naming the order, the lot and the key; the statement writes nothing.
SET ROLE tr_mes;
SELECT lives_ok($$SELECT receive('mes', 'R3', '09506000700014', '0614141700011', 50, 'qa_hold', 'M3');
                  SELECT consume('mes', 'C5', '09506000700014', '0614141700011', 50, 'M3', 'qa_hold', reference => 'WO-4')$$,
                'production order: lot M3 received and used up by WO-4');
SELECT lives_ok($$CREATE TEMP TABLE before_bad_orders AS
                  SELECT (SELECT count(*) FROM inventory_sync.ledger) AS postings, (SELECT count(*) FROM inventory_sync.lot) AS lots$$,
                'production order: the state before the refusals');
SELECT throws_ok($$SELECT consume('mes', 'C6', '09506000700014', '0614141700011', 10, 'M9', 'qa_hold', reference => 'WO-5')$$,
                 'IS053', 'production order WO-5 consumes lot M9 of gtin 09506000700014, which was never at location 0614141700011, bucket "qa_hold"',
                 'production order: an unknown lot is refused (IS053), the key named');
SELECT throws_ok($$SELECT consume('mes', 'C6', '09506000700014', '0614141700011', 10, 'M3', 'qa_hold', reference => 'WO-5 line 2')$$,
                 'IS053', 'production order WO-5 consumes 10 of lot M3 of gtin 09506000700014 at location 0614141700011, bucket "qa_hold", which has 0 left',
                 'production order: an already-consumed lot is refused (IS053)');
SELECT throws_ok($$SELECT consume('mes', 'C6', '09506000700014', '0614141700028', 10, 'M1', 'qa_hold', reference => 'WO-5')$$,
                 'IS053', NULL, 'production order: a lot known elsewhere, never at this location');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference) VALUES
                     ('consumption', 'mes', 'C7', '09506000700014', '0614141700011', 'M1', 'qa_hold', 600, 'WO-5'),
                     ('consumption', 'mes', 'C8', '09506000700014', '0614141700011', 'M1', 'qa_hold', 600, 'WO-5'),
                     ('production', 'mes', 'P5', '09506000700038', '0614141700011', 'Y5', 'qa_hold', 100, 'WO-5')$$,
                 'IS053', 'production order WO-5 consumes 600 of lot M1 of gtin 09506000700014 at location 0614141700011, bucket "qa_hold", which has 100 left',
                 'production order: a batch consuming a lot twice over is refused as a whole');
SELECT results_eq($$SELECT (SELECT count(*) FROM ledger), (SELECT count(*) FROM lot) FROM before_bad_orders$$,
                  $$SELECT postings, lots FROM before_bad_orders$$, 'production order: the refusals wrote nothing');
SELECT is((SELECT sum(quantity) FROM balance WHERE lot = 'M1'), 700::numeric, 'production order: the lot''s balance is untouched');
RESET ROLE;

-- ---------------------------------------------------------------- recall
SET ROLE tr_lab;
SELECT lives_ok($$SELECT release_lot('lab', 'QR', '09506000700038', 'Y1')$$, 'recall: Y1 released');
SELECT lives_ok($$SELECT release_lot('lab', 'QR-T1', '09506000700045', 'T1')$$, 'recall: T1 released');
RESET ROLE;
SET ROLE tr_mes;
SELECT lives_ok($$SELECT move_stock('mes', 'DS', '09506000700045', '0614141700011', 10, 'released', 'qa_hold', 'T1')$$,
                'recall: trays staged');
RESET ROLE;
-- the staging move above needs the owner of qa_hold (mes): now ship some trays via a transfer
SET ROLE tr_mes;
SELECT lives_ok($$SELECT transfer_out('mes', 'TO', '09506000700045', '0614141700011', '0614141700097', 4, now(), 'qa_hold', 'T1')$$,
                'recall: trays in transit');
SELECT lives_ok($$SELECT transfer_in('mes', 'TI', '09506000700045', '0614141700097', '0614141700028', 2, 'qa_hold', 'released', 'T1')$$,
                'recall: half of them arrive at the DC');
SELECT lives_ok($$SELECT ship('mes', 'SH', '09506000700045', '0614141700028', 1, 'released', 'T1', reference => 'ORDER 1')$$,
                'recall: a customer shipment');
-- mes may not recall: it is not the lab
SELECT throws_ok($$SELECT * FROM recall('09506000700014', 'M1', 'test', 'lab', 'RC-X')$$, '42501', NULL,
                 'recall: a role not bound to the authority''s source is refused');
SELECT throws_ok($$SELECT * FROM recall('09506000700014', 'M1', 'test', 'mes', 'RC-X')$$, 'IS001', NULL,
                 'recall: a source that does not own the blocking bucket is refused by the posting engine (IS001)');
RESET ROLE;
SELECT is((SELECT count(*) FROM recall), 0::bigint, 'recall: a refused recall writes nothing');
SET ROLE tr_lab;
SELECT throws_ok($$SELECT * FROM recall('09506000700014', 'NOPE', 'test', 'lab', 'RC-X')$$, 'IS050', NULL, 'recall: unknown lot (IS050)');
SELECT throws_ok($$SELECT * FROM recall('09506000700014', 'M1', NULL, 'lab', 'RC-X')$$, '22004', NULL, 'recall: NULL reason');
SELECT throws_ok($$SELECT * FROM recall('09506000700014', 'M1', ' ', 'lab', 'RC-X')$$, '22023', NULL, 'recall: empty reason');
SELECT throws_ok($$SELECT * FROM recall('09506000700014', 'M1', 'test', 'lab', '')$$, '22023', NULL, 'recall: empty reference');
SELECT throws_ok($$SELECT * FROM recall('09506000700014', 'M1', 'test', 'nope', 'RC-X')$$, '23503', NULL, 'recall: unknown source');
SELECT throws_ok($$SELECT * FROM recall('09506000700014', 'M1', 'test', 'lab', 'RC-X', 'released')$$, 'IS051', NULL,
                 'recall: into a sellable bucket (IS051)');
SELECT results_eq($$SELECT lot_number::text, location::text, quantity, reference FROM recall('09506000700014', 'M1', 'test', 'lab', 'RC-1')$$,
                  $$VALUES ('T1', '0614141700028', 1::numeric, 'ORDER 1')$$, 'recall: returns the customer shipments');
RESET ROLE;
SELECT is((SELECT count(*) FROM balance b JOIN bucket k USING (bucket)
            WHERE b.lot IN ('M1', 'Y1', 'T1') AND b.quantity > 0
              AND (k.sellable OR b.location = '0614141700097') AND b.bucket <> 'blocked'), 0::bigint,
          'recall: no sellable or in-transit stock of the lot and its descendants is left');
SELECT results_eq($$SELECT location::text, lot::text, quantity FROM balance WHERE bucket = 'blocked' ORDER BY location::text, lot::text$$,
                  $$VALUES ('0614141700011', 'T1', 9::numeric), ('0614141700011', 'Y1', 486::numeric),
                           ('0614141700028', 'T1', 1::numeric), ('0614141700097', 'T1', 2::numeric)$$,
                  'recall: blocked at the plant, the DC and in transit');
SELECT is((SELECT sum(quantity) FROM balance WHERE lot = 'M1'), 700::numeric, 'recall: stock that is not sellable stays where it is');
SELECT ok((SELECT bool_and(actor = 'tr_lab' AND source = 'lab') FROM ledger WHERE reference = 'RC-1'),
          'recall: the moves are the lab''s postings, with the caller as actor');
SELECT is((SELECT count(*) FROM recall_lot), 3::bigint, 'recall: the lots it reached are recorded');
SET ROLE tr_lab;
SELECT throws_ok($$SELECT * FROM recall('09506000700038', 'Y1', 'test', 'lab', 'RC-1')$$, 'IS002', NULL,
                 'recall: a reference reused for another lot (IS002)');
SELECT lives_ok($$SELECT * FROM recall('09506000700014', 'M1', 'test', 'lab', 'RC-1')$$, 'recall: a replay is accepted');
RESET ROLE;
SELECT is((SELECT count(*) FROM ledger WHERE reference = 'RC-1'), 4::bigint, 'recall: a replay posts nothing new');
SET ROLE tr_admin;
SELECT throws_ok($$DELETE FROM recall_lot$$, '42501', NULL, 'recall: its record cannot be deleted by an API role');
RESET ROLE;

-- ---------------------------------------------------------------- KPIs
-- a yoghurt at the DC: 10 on hand at the end of day 1, sold out on day 2, 5 again on day 3
INSERT INTO item (gtin, name) VALUES ('09506000700052', 'Spoon');
INSERT INTO location (gln, name, kind) VALUES ('0614141700059', 'Shop', 'store');
INSERT INTO source (source, name, kind, role) VALUES ('shop', 'Shop', 'pos', current_user);
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('tr_web', 'Web', 'shop');
INSERT INTO channel_location (channel, location) VALUES ('tr_web', '0614141700059');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time) VALUES
  ('receipt', 'shop', 'K1', '09506000700052', '0614141700059', 10, current_date - 2 + time '08:00'),
  ('issue', 'shop', 'K2', '09506000700052', '0614141700059', 10, current_date - 1 + time '09:00'),
  ('receipt', 'shop', 'K3', '09506000700052', '0614141700059', 5, current_date + time '00:10');
SELECT results_eq($$SELECT days, stockout_days, stockout_rate FROM kpi_stockout_rate(current_date - 2, current_date)
                     WHERE item_gtin = '09506000700052'$$,
                  $$VALUES (3::bigint, 1::bigint, 0.3333::numeric)$$, 'kpi: stockout rate = days ending with no sellable stock / days');
SELECT results_eq($$SELECT days, stockout_days FROM kpi_channel_stockout_rate(current_date - 2, current_date)
                     WHERE item_gtin = '09506000700052'$$,
                  $$VALUES (3::bigint, 1::bigint)$$, 'kpi: the same per channel');
SELECT results_eq($$SELECT issued, average_on_hand, turnover FROM kpi_inventory_turnover(current_date - 2, current_date)
                     WHERE item_gtin = '09506000700052'$$,
                  $$VALUES (10::numeric, 5::numeric, 2::numeric)$$, 'kpi: turnover = issued / average end-of-day on-hand');
SELECT lives_ok($$SELECT fulfil((reserve('tr_web', 'O-1', '1', '09506000700052', 4)).reservation_id, 3, 'shop', 'F-1')$$,
                'kpi: 4 reserved, 3 fulfilled');
SELECT results_eq($$SELECT reserved, resolved, fill_rate, fulfilled, cycle_time_p50 FROM kpi_fulfilment(current_date, current_date)
                     WHERE channel = 'tr_web'$$,
                  $$VALUES (1::bigint, 1::bigint, 0.75::numeric, 1::bigint, interval '0')$$,
                  'kpi: fill rate = fulfilled / reserved; cycle time reserve -> fulfil');
SELECT throws_ok($$SELECT * FROM kpi_stockout_rate(current_date, current_date - 1)$$, '22023', NULL, 'kpi: a reversed period is refused');
SELECT throws_ok($$SELECT * FROM kpi_inventory_turnover(NULL, current_date)$$, '22004', NULL, 'kpi: a NULL day is refused');

SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): every balance equals the ledger');
SELECT * FROM finish();
ROLLBACK;
