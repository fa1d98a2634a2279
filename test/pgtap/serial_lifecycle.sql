-- pgTAP: the serial lifecycle read from the ledger (serial_history, serial_state,
-- serial_exceptions): every state, every kind of contradiction with the posting it
-- contradicts, counts and corrections, the recall of a serial-tracked lot, and hostile
-- input. Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(64);

CREATE ROLE sl_pos;
CREATE ROLE sl_lab;
CREATE ROLE sl_reader;
CREATE ROLE sl_nobody;
GRANT inventory_sync_writer TO sl_pos, sl_lab;
GRANT inventory_sync_reader TO sl_reader;

-- A drill (serial and lot), a phone (serial only), tea (neither); a store, a DC, a plant
-- and a truck. The POS system posts everywhere; the lab owns "blocked" (recalls).
INSERT INTO item (gtin, name, serial_tracked, lot_tracked) VALUES ('09506000800011', 'Drill', true, true);
INSERT INTO item (gtin, name, serial_tracked) VALUES ('09506000800028', 'Phone', true);
INSERT INTO item (gtin, name) VALUES ('09506000800035', 'Tea');
INSERT INTO location (gln, name, kind) VALUES
  ('0614141800018', 'Store', 'store'), ('0614141800025', 'DC', 'warehouse'),
  ('0614141800032', 'Plant', 'plant'), ('0614141800094', 'Truck', 'in_transit');
INSERT INTO source (source, name, kind, role) VALUES ('sl_pos', 'POS', 'pos', 'sl_pos'), ('sl_lab', 'Lab', 'lims', 'sl_lab');
INSERT INTO ownership (location, bucket, source) VALUES
  ('0614141800018', NULL, 'sl_pos'), ('0614141800025', NULL, 'sl_pos'), ('0614141800032', NULL, 'sl_pos'),
  ('0614141800018', 'blocked', 'sl_lab'), ('0614141800025', 'blocked', 'sl_lab');

SELECT has_index('inventory_sync', 'ledger', 'ledger_serial', 'a serial''s postings are found by index');

-- ---------------------------------------------------------------- states
SET ROLE sl_pos;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, lot, serial, bucket, to_bucket, quantity, reason, eta) VALUES
  ('receipt',      'sl_pos', 'IN-1',  '09506000800028', '0614141800018', NULL, NULL, 'P-IN', 'released', NULL, 1, NULL, NULL),
  ('receipt',      'sl_pos', 'TR-1',  '09506000800028', '0614141800025', NULL, NULL, 'P-TR', 'released', NULL, 1, NULL, NULL),
  ('transfer_out', 'sl_pos', 'TR-2',  '09506000800028', '0614141800025', '0614141800094', NULL, 'P-TR', 'released', NULL, 1, NULL, now() + interval '1 day'),
  ('receipt',      'sl_pos', 'TI-1',  '09506000800028', '0614141800025', NULL, NULL, 'P-TI', 'released', NULL, 1, NULL, NULL),
  ('transfer_out', 'sl_pos', 'TI-2',  '09506000800028', '0614141800025', '0614141800094', NULL, 'P-TI', 'released', NULL, 1, NULL, now()),
  ('transfer_in',  'sl_pos', 'TI-3',  '09506000800028', '0614141800094', '0614141800018', NULL, 'P-TI', 'released', NULL, 1, NULL, NULL),
  ('receipt',      'sl_pos', 'SH-1',  '09506000800028', '0614141800018', NULL, NULL, 'P-SH', 'released', NULL, 1, NULL, NULL),
  ('issue',        'sl_pos', 'SH-2',  '09506000800028', '0614141800018', NULL, NULL, 'P-SH', 'released', NULL, 1, NULL, NULL),
  ('receipt',      'sl_pos', 'RT-1',  '09506000800028', '0614141800018', NULL, NULL, 'P-RT', 'released', NULL, 1, NULL, NULL),
  ('issue',        'sl_pos', 'RT-2',  '09506000800028', '0614141800018', NULL, NULL, 'P-RT', 'released', NULL, 1, NULL, NULL),
  ('return',       'sl_pos', 'RT-3',  '09506000800028', '0614141800018', NULL, NULL, 'P-RT', 'quarantine', NULL, 1, NULL, NULL),
  ('receipt',      'sl_pos', 'RS-1',  '09506000800028', '0614141800018', NULL, NULL, 'P-RS', 'released', NULL, 1, NULL, NULL),
  ('issue',        'sl_pos', 'RS-2',  '09506000800028', '0614141800018', NULL, NULL, 'P-RS', 'released', NULL, 1, NULL, NULL),
  ('return',       'sl_pos', 'RS-3',  '09506000800028', '0614141800018', NULL, NULL, 'P-RS', 'quarantine', NULL, 1, NULL, NULL),
  ('move',         'sl_pos', 'RS-4',  '09506000800028', '0614141800018', NULL, NULL, 'P-RS', 'quarantine', 'released', 1, NULL, NULL),
  ('receipt',      'sl_pos', 'SC-1',  '09506000800028', '0614141800018', NULL, NULL, 'P-SC', 'released', NULL, 1, NULL, NULL),
  ('adjustment',   'sl_pos', 'SC-2',  '09506000800028', '0614141800018', NULL, NULL, 'P-SC', 'released', NULL, -1, 'damage', NULL),
  ('receipt',      'sl_pos', 'CO-1',  '09506000800028', '0614141800032', NULL, NULL, 'P-CO', 'released', NULL, 1, NULL, NULL),
  ('consumption',  'sl_pos', 'CO-2',  '09506000800028', '0614141800032', NULL, NULL, 'P-CO', 'released', NULL, 1, NULL, NULL),
  ('receipt',      'sl_pos', 'MI-1',  '09506000800028', '0614141800018', NULL, NULL, 'P-MI', 'released', NULL, 1, NULL, NULL);
SELECT lives_ok($$SELECT count_stock('sl_pos', 'MI-2', '09506000800028', '0614141800018', 0, serial => 'P-MI')$$,
                'a count finds a phone missing');
RESET ROLE;

SELECT results_eq($$SELECT serial::text, state, location::text, bucket FROM serial_state
                     WHERE item_gtin = '09506000800028' ORDER BY serial$$,
                  $$VALUES ('P-CO', 'consumed', NULL, NULL), ('P-IN', 'in_stock', '0614141800018', 'released'),
                           ('P-MI', 'missing', NULL, NULL), ('P-RS', 'in_stock', '0614141800018', 'released'),
                           ('P-RT', 'returned', '0614141800018', 'quarantine'), ('P-SC', 'scrapped', NULL, NULL),
                           ('P-SH', 'shipped', NULL, NULL), ('P-TI', 'in_stock', '0614141800018', 'released'),
                           ('P-TR', 'in_transit', '0614141800094', 'released')$$,
                  'serial_state: in stock, in transit, shipped, returned, restocked, scrapped, consumed, missing');
SELECT is((SELECT source_event_id FROM ledger l JOIN serial_state s ON s.last_posting_id = l.posting_id
            WHERE s.serial = 'P-RT'), 'RT-3', 'serial_state: the posting that put the unit in its state');
SELECT is((SELECT since FROM serial_state WHERE serial = 'P-SH'),
          (SELECT event_time FROM ledger WHERE source_event_id = 'SH-2' AND source = 'sl_pos'), 'serial_state: since its event time');
SELECT is_empty($$SELECT * FROM serial_exceptions('09506000800028')$$, 'a clean lifecycle has no contradictions');
SELECT results_eq($$SELECT source_event_id, state, state_location::text FROM serial_history('09506000800028', 'P-TI')$$,
                  $$VALUES ('TI-1', 'in_stock', '0614141800025'), ('TI-2', 'in_transit', '0614141800094'),
                           ('TI-3', 'in_stock', '0614141800018')$$,
                  'serial_history: every posting in order, with the state it left the unit in');
SELECT is((SELECT count(*) FROM serial_history('09506000800028', 'P-RS')), 4::bigint, 'serial_history: one row per posting');
SELECT ok(NOT EXISTS (SELECT FROM serial_state s WHERE s.state = 'reserved'), 'no unit is ever "reserved": reservations hold quantities');

-- ---------------------------------------------------------------- counts and corrections
SET ROLE sl_pos;
SELECT lives_ok($$SELECT count_stock('sl_pos', 'IN-2', '09506000800028', '0614141800018', 1, serial => 'P-IN')$$,
                'a count finds a phone where it is');
SELECT lives_ok($$SELECT receive('sl_pos', 'CR-1', '09506000800028', '0614141800018', 1, 'released', serial => 'P-CR')$$,
                'a phone received');
SELECT lives_ok($$SELECT ship('sl_pos', 'CR-2', '09506000800028', '0614141800018', 1, serial => 'P-CR')$$, 'and sold by mistake');
SELECT lives_ok($$SELECT correct('sl_pos', 'CR-3', (SELECT posting_id FROM ledger WHERE source_event_id = 'CR-2'))$$,
                'the sale is corrected');
SELECT lives_ok($$SELECT count_stock('sl_pos', 'TR-3', '09506000800028', '0614141800018', 1, serial => 'P-TR')$$,
                'a count finds the phone on the truck at the store');
RESET ROLE;
SELECT results_eq($$SELECT state, conflict, detail FROM serial_history('09506000800028', 'P-IN') ORDER BY posting_id DESC LIMIT 1$$,
                  $$VALUES ('in_stock', NULL::text, 'the count finds it where it is')$$, 'a count that agrees changes nothing');
SELECT results_eq($$SELECT source_event_id, state, detail FROM serial_history('09506000800028', 'P-CR')$$,
                  $$VALUES ('CR-1', 'in_stock', NULL::text),
                           ('CR-2', 'in_stock', 'corrected by posting ' || (SELECT posting_id FROM ledger WHERE source_event_id = 'CR-3')),
                           ('CR-3', 'in_stock', 'corrects posting ' || (SELECT posting_id FROM ledger WHERE source_event_id = 'CR-2'))$$,
                  'a correction and the posting it corrects are left out of the walk');
SELECT is((SELECT l.source_event_id FROM serial_state s JOIN ledger l ON l.posting_id = s.last_posting_id WHERE s.serial = 'P-CR'),
          'CR-1', 'after a correction the unit is where the mistake found it');
SELECT results_eq($$SELECT s.state, s.location::text, h.conflict FROM serial_state s
                      JOIN serial_history('09506000800028', 'P-TR') h ON h.posting_id = s.last_posting_id
                     WHERE s.serial = 'P-TR'$$,
                  $$VALUES ('in_stock', '0614141800018', 'already_on_hand')$$,
                  'a count that finds a unit elsewhere moves it there, and says it was on hand elsewhere');

-- ---------------------------------------------------------------- a count of one serial reconciles that unit only
-- Three phones in qa_hold at the DC: the key's balance is the sum of its units. A count
-- naming a serial states that one unit, so its delta is taken against that unit alone,
-- never against the whole key (counting P-K1 found must post 0, not 1 - 3 = -2).
SET ROLE sl_pos;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, serial, bucket, quantity) VALUES
  ('receipt', 'sl_pos', 'K-1', '09506000800028', '0614141800025', 'P-K1', 'qa_hold', 1),
  ('receipt', 'sl_pos', 'K-2', '09506000800028', '0614141800025', 'P-K2', 'qa_hold', 1),
  ('receipt', 'sl_pos', 'K-3', '09506000800028', '0614141800025', 'P-K3', 'qa_hold', 1);
SELECT lives_ok($$SELECT count_stock('sl_pos', 'KC-1', '09506000800028', '0614141800025', 1, bucket => 'qa_hold', serial => 'P-K1')$$,
                'a count finds one of three phones where it is');
SELECT lives_ok($$SELECT count_stock('sl_pos', 'KC-2', '09506000800028', '0614141800025', 0, bucket => 'qa_hold', serial => 'P-K2')$$,
                'a count misses another');
SELECT lives_ok($$SELECT count_stock('sl_pos', 'KC-3', '09506000800028', '0614141800025', 1, bucket => 'qa_hold', serial => 'P-K4')$$,
                'a count finds a phone nobody received');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, serial, bucket, quantity) VALUES
  ('receipt', 'sl_pos', 'K-5',  '09506000800028', '0614141800025', 'P-K5', 'qa_hold', 1),
  ('count',   'sl_pos', 'KC-5', '09506000800028', '0614141800025', 'P-K5', 'qa_hold', 1),
  ('count',   'sl_pos', 'KC-6', '09506000800028', '0614141800025', 'P-K3', 'qa_hold', 0);
RESET ROLE;
SELECT results_eq($$SELECT l.source_event_id, c.delta, c.quantity_after FROM balance_change c JOIN ledger l USING (posting_id)
                     WHERE l.source_event_id LIKE 'KC-%' ORDER BY l.posting_id$$,
                  $$VALUES ('KC-1', 0::numeric, 3::numeric), ('KC-2', -1, 2), ('KC-3', 1, 3), ('KC-5', 0, 4), ('KC-6', -1, 3)$$,
                  'a serial''s count posts the difference for that unit alone (a receipt earlier in the same statement included)');
SELECT results_eq($$SELECT quantity, last_count_at FROM balance
                     WHERE item_gtin = '09506000800028' AND location = '0614141800025' AND bucket = 'qa_hold'$$,
                  $$VALUES (3::numeric, NULL::timestamptz)$$,
                  'the key holds the units found, and its count watermark stays: its other units were not counted');
SELECT results_eq($$SELECT serial::text, state FROM serial_state WHERE serial::text LIKE 'P-K%' ORDER BY serial$$,
                  $$VALUES ('P-K1', 'in_stock'), ('P-K2', 'missing'), ('P-K3', 'missing'), ('P-K4', 'in_stock'), ('P-K5', 'in_stock')$$,
                  'the units'' states agree with the balance');
SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): the serial counts are in the books');

-- ---------------------------------------------------------------- contradictions
SET ROLE sl_pos;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, serial, bucket, quantity) VALUES
  ('issue',   'sl_pos', 'X-SH2', '09506000800028', '0614141800018', NULL, 'P-SH',   'released', 1),  -- sold again
  ('return',  'sl_pos', 'X-RT',  '09506000800028', '0614141800018', NULL, 'P-IN',   'quarantine', 1), -- returned from the shelf
  ('issue',   'sl_pos', 'X-LOC', '09506000800028', '0614141800025', NULL, 'P-RS',   'released', 1),  -- sold at the DC, is at the store
  ('receipt', 'sl_pos', 'X-BK1', '09506000800028', '0614141800018', NULL, 'P-BK',   'released', 1),
  ('issue',   'sl_pos', 'X-BK2', '09506000800028', '0614141800018', NULL, 'P-BK',   'damaged', 1),   -- from a bucket it is not in
  ('issue',   'sl_pos', 'X-GH',  '09506000800028', '0614141800018', NULL, 'P-GHOST', 'released', 1), -- never received
  ('receipt', 'sl_pos', 'X-DUP', '09506000800028', '0614141800025', NULL, 'P-TI',   'released', 1),  -- received at the DC, is at the store
  ('receipt', 'sl_pos', 'X-LM1', '09506000800011', '0614141800018', 'L1', 'D-LM',   'released', 1),
  ('issue',   'sl_pos', 'X-LM2', '09506000800011', '0614141800018', 'L2', 'D-LM',   'released', 1);  -- another lot
RESET ROLE;
SELECT results_eq($$SELECT serial::text, conflict, source_event_id, conflicting_event_id FROM serial_exceptions()
                     WHERE source_event_id LIKE 'X-%' ORDER BY source_event_id$$,
                  $$VALUES ('P-BK', 'wrong_bucket', 'X-BK2', 'X-BK1'), ('P-TI', 'already_on_hand', 'X-DUP', 'TI-3'),
                           ('P-GHOST', 'not_on_hand', 'X-GH', NULL), ('D-LM', 'lot_mismatch', 'X-LM2', 'X-LM1'),
                           ('P-RS', 'not_at_location', 'X-LOC', 'RS-4'), ('P-IN', 'returned_not_shipped', 'X-RT', 'IN-1'),
                           ('P-SH', 'shipped_twice', 'X-SH2', 'SH-2')$$,
                  'serial_exceptions: each kind of contradiction, with the posting it contradicts');
SELECT is((SELECT detail FROM serial_exceptions() WHERE source_event_id = 'X-LOC'),
          'leaves 0614141800025, but it is at 0614141800018', 'serial_exceptions: the detail says where the unit is');
SELECT is((SELECT detail FROM serial_exceptions() WHERE source_event_id = 'X-SH2'),
          'shipped from 0614141800018, but it was shipped before and not returned', 'shipped twice: the detail says so');
SELECT is((SELECT detail FROM serial_exceptions() WHERE source_event_id = 'X-GH'),
          'leaves 0614141800018, but it is not on hand (never received)', 'not on hand: never received');
SELECT is((SELECT detail FROM serial_exceptions() WHERE source_event_id = 'X-LM2'),
          'names lot L2, but the unit is of lot L1', 'lot mismatch: a unit belongs to one lot');
SELECT is((SELECT count(*) FROM serial_exceptions('09506000800011')), 1::bigint, 'serial_exceptions(item): one item''s only');
SELECT is((SELECT conflicts FROM serial_state WHERE serial = 'P-SH'), 1::bigint, 'serial_state counts the contradictions');
SELECT results_eq($$SELECT state, location::text FROM serial_state WHERE serial IN ('P-SH', 'P-IN', 'P-RS', 'P-GHOST') ORDER BY serial$$,
                  $$VALUES ('shipped', NULL), ('returned', '0614141800018'), ('shipped', NULL), ('shipped', NULL)$$,
                  'a contradicting fact still moves the unit: facts are recorded, not refused');
SELECT ok((SELECT count(*) FROM exception WHERE kind = 'serial_conflict'
            AND posting_id IN (SELECT posting_id FROM ledger WHERE source_event_id IN ('X-SH2', 'X-LOC', 'X-GH', 'X-DUP'))) = 4,
          'the posting engine raised its own serial_conflict for the ones it checks (location)');
SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): the contradicting facts are in the books');

-- ---------------------------------------------------------------- the posting engine's rules
SET ROLE sl_pos;
SELECT throws_ok($$SELECT receive('sl_pos', 'BAD-1', '09506000800028', '0614141800018', 2, 'released', serial => 'P-2')$$,
                 'IS022', NULL, 'a serialised unit moves alone: two under one serial are refused');
SELECT throws_ok($$SELECT receive('sl_pos', 'BAD-2', '09506000800028', '0614141800018', 1, 'released')$$,
                 'IS022', NULL, 'a serial-tracked item without a serial is refused');
RESET ROLE;

-- ---------------------------------------------------------------- recall of a serial-tracked lot
SET ROLE sl_pos;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, to_location, lot, serial, bucket, to_bucket, quantity, eta) VALUES
  ('receipt',      'sl_pos', 'RC-1', '09506000800011', '0614141800018', NULL, 'L1', 'D-1', 'released', NULL, 1, NULL),
  ('receipt',      'sl_pos', 'RC-2', '09506000800011', '0614141800018', NULL, 'L1', 'D-2', 'released', NULL, 1, NULL),
  ('receipt',      'sl_pos', 'RC-3', '09506000800011', '0614141800025', NULL, 'L1', 'D-3', 'released', NULL, 1, NULL),
  ('transfer_out', 'sl_pos', 'RC-4', '09506000800011', '0614141800025', '0614141800094', 'L1', 'D-3', 'released', NULL, 1, now()),
  ('receipt',      'sl_pos', 'RC-5', '09506000800011', '0614141800025', NULL, 'L1', 'D-4', 'qa_hold', NULL, 1, NULL),
  ('receipt',      'sl_pos', 'RC-6', '09506000800011', '0614141800018', NULL, 'L1', 'D-5', 'released', NULL, 1, NULL),
  ('issue',        'sl_pos', 'RC-7', '09506000800011', '0614141800018', NULL, 'L1', 'D-5', 'released', NULL, 1, NULL),
  ('receipt',      'sl_pos', 'RC-8', '09506000800011', '0614141800018', NULL, 'L2', 'D-6', 'released', NULL, 1, NULL);
RESET ROLE;
SET ROLE sl_lab;
-- Fails without the serial path: the recall's moves must each name a serial (IS022).
SELECT lives_ok($$SELECT * FROM recall('09506000800011', 'L1', 'motor overheats', 'sl_lab', 'RC-D1')$$,
                'recall: a serial-tracked lot is recalled');
RESET ROLE;
SELECT results_eq($$SELECT serial::text, location::text, bucket FROM serial_state
                     WHERE item_gtin = '09506000800011' AND serial IN ('D-1', 'D-2', 'D-3', 'D-4', 'D-6') ORDER BY serial$$,
                  $$VALUES ('D-1', '0614141800018', 'blocked'), ('D-2', '0614141800018', 'blocked'),
                           ('D-3', '0614141800094', 'blocked'), ('D-4', '0614141800025', 'qa_hold'),
                           ('D-6', '0614141800018', 'released')$$,
                  'recall: every unit of the lot in sellable stock or in transit is blocked, one by one; other stock and lots stay');
SELECT results_eq($$SELECT serial::text, quantity, source FROM recall_posting WHERE recall_ref = 'RC-D1' ORDER BY serial$$,
                  $$VALUES ('D-1', -1::numeric, 'sl_lab'), ('D-2', -1::numeric, 'sl_lab'), ('D-3', -1::numeric, 'sl_lab')$$,
                  'recall: one move per unit, as the lab');
SELECT is((SELECT l.source_event_id FROM recall_posting p JOIN ledger l USING (posting_id) WHERE p.serial = 'D-1'),
          'RC-D1:0614141800018:09506000800011:L1:released:D-1', 'recall: the unit''s serial ends the event id');
SELECT is((SELECT sum(quantity) FROM balance WHERE item_gtin = '09506000800011' AND lot = 'L1' AND bucket = 'blocked'),
          3::numeric, 'recall: the balances follow');
SELECT results_eq($$SELECT serial::text, reference IS NULL, source_event_id FROM recall('09506000800011', 'L1', 'motor overheats', 'sl_lab', 'RC-D1')$$,
                  $$VALUES ('D-5', true, 'RC-7')$$, 'recall: the customer shipments, with the unit''s serial (a replay)');
SELECT is((SELECT count(*) FROM ledger WHERE reference = 'RC-D1'), 3::bigint, 'recall: a replay posts nothing new');
SELECT is_empty($$SELECT * FROM serial_exceptions('09506000800011') WHERE source_event_id LIKE 'RC-D1%'$$,
                'recall: its moves contradict nothing');
SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): after the recall');

-- ---------------------------------------------------------------- hostile input
SELECT throws_ok($$SELECT * FROM serial_history(NULL, 'P-IN')$$, '22004', NULL, 'serial_history: a NULL item');
SELECT throws_ok($$SELECT * FROM serial_history('09506000800028', NULL)$$, '22004', NULL, 'serial_history: a NULL serial');
SELECT throws_ok($$SELECT * FROM serial_history('09506000800042', 'P-IN')$$, '23503', NULL, 'serial_history: an unknown item');
SELECT throws_ok($$SELECT * FROM serial_history('09506000800027', 'P-IN')$$, '22P02', NULL, 'serial_history: a wrong check digit');
SELECT throws_ok($$SELECT * FROM serial_history('09506000800028', 'P IN')$$, '22P02', NULL, 'serial_history: a serial outside GS1 set 82');
SELECT throws_ok($$SELECT * FROM serial_history('09506000800028', repeat('9', 21)::serial_number)$$, '22P02', NULL, 'serial_history: a serial of 21 characters');
SELECT throws_ok($$SELECT * FROM serial_history('09506000800028', 'P-NONE')$$, 'IS052', NULL, 'serial_history: an unknown serial (IS052)');
SELECT throws_ok($$SELECT * FROM serial_history('09506000800035', 'P-IN')$$, 'IS022', NULL, 'serial_history: an item that is not serial-tracked');
SELECT throws_ok($$SELECT * FROM serial_history('09506000800028', ('P-' || chr(1))::serial_number)$$, '22P02', NULL,
                 'serial_history: a control character');
SELECT throws_ok($$SELECT * FROM serial_exceptions('09506000800042')$$, '23503', NULL, 'serial_exceptions: an unknown item');
SELECT lives_ok($$SELECT * FROM serial_exceptions(NULL)$$, 'serial_exceptions(NULL): every item');
SELECT is_empty($$SELECT * FROM serial_state WHERE item_gtin = '09506000800035'$$, 'serial_state: an untracked item has no serials');

-- ---------------------------------------------------------------- rights
SET ROLE sl_reader;
SELECT lives_ok($$SELECT * FROM serial_state$$, 'a reader reads serial_state');
SELECT lives_ok($$SELECT * FROM serial_history('09506000800028', 'P-IN')$$, 'a reader reads a serial''s history');
SELECT lives_ok($$SELECT * FROM serial_exceptions()$$, 'a reader lists the contradictions');
RESET ROLE;
SET ROLE sl_nobody;
SELECT throws_ok($$SELECT * FROM serial_history('09506000800028', 'P-IN')$$, '42501', NULL, 'a role without grants may not');
RESET ROLE;
SELECT ok(NOT has_function_privilege('public', 'serial_exceptions(gtin)', 'EXECUTE'), 'not PUBLIC');
SELECT ok((SELECT NOT prosecdef FROM pg_proc WHERE oid = 'serial_history(gtin, serial_number)'::regprocedure),
          'serial_history runs with the caller''s rights');

SELECT * FROM finish();
ROLLBACK;
