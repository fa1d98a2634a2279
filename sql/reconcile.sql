--
-- Reconciliation: the morning feeds. A WMS sends physical stock for its DC, a store
-- system sends availability for its stores. Each feed becomes counts as of its time,
-- through the posting engine, and comes back as a variance report and an accuracy rate.
--
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

INSERT INTO item (gtin, name) VALUES ('09506000300016', 'Green tea 100 bags');
INSERT INTO item_pack (pack_gtin, item_gtin, quantity, name) VALUES ('19506000300013', '09506000300016', 12, 'Case of 12');
INSERT INTO item (gtin, name, lot_tracked, shelf_life_days) VALUES ('09506000300023', 'Oat milk 1 l', true, 90);
INSERT INTO item (gtin, name, serial_tracked) VALUES ('09506000300030', 'Kettle', true);
INSERT INTO location (gln, name, kind) VALUES
  ('0614141300013', 'DC North', 'warehouse'),
  ('0614141300020', 'Store Harbour', 'store'),
  ('0614141300037', 'Store Market', 'store');
-- Each system posts as its own role and is the system of record where it counts.
CREATE ROLE recon_wms LOGIN;
CREATE ROLE recon_sim LOGIN;
GRANT inventory_sync_writer TO recon_wms, recon_sim;
INSERT INTO source (source, name, kind, role) VALUES
  ('r_wms', 'DC North WMS', 'wms', 'recon_wms'),
  ('r_sim', 'Store inventory system', 'store', 'recon_sim'),
  ('r_oms', 'Order management', 'oms', current_user);
INSERT INTO ownership (location, bucket, source) VALUES
  ('0614141300013', NULL, 'r_wms'),
  ('0614141300020', NULL, 'r_sim'),
  ('0614141300037', NULL, 'r_sim');

-- Yesterday at the DC: tea and milk received and released, some tea on QA hold.
SET ROLE recon_wms;
SELECT count(*) FROM receive('r_wms', 'GR-1', '19506000300013', '0614141300013', 10, 'released', event_time => now() - interval '20 hours');
SELECT count(*) FROM receive('r_wms', 'GR-2', '09506000300023', '0614141300013', 40, 'released', lot => 'OM-A', event_time => now() - interval '20 hours');
SELECT count(*) FROM receive('r_wms', 'GR-3', '09506000300023', '0614141300013', 30, 'released', lot => 'OM-B', event_time => now() - interval '20 hours');
SELECT count(*) FROM receive('r_wms', 'GR-4', '09506000300016', '0614141300013', 6, 'qa_hold', event_time => now() - interval '20 hours');
-- This morning, after the WMS took its snapshot (an hour ago), 5 teas were picked.
SELECT count(*) FROM ship('r_wms', 'PICK-1', '09506000300016', '0614141300013', 5, event_time => now() - interval '30 minutes');
RESET ROLE;
SELECT item_gtin, lot, bucket, quantity FROM balance WHERE location = '0614141300013' ORDER BY 1, 2, 3;

--
-- 1. The WMS's on-hand feed, as of an hour ago: COPY into a temp table, ingest it.
--    Tea: 9 cases (108) in the feed, where we had 120 as of then; milk lot OM-A: 38
--    where we had 40. The feed names tea by its case GTIN (counted in cases).
--
SELECT now() - interval '1 hour' AS wms_as_of \gset
SET ROLE recon_wms;
CREATE TEMP TABLE wms_feed (line int, gtin text, gln text, lot text, bucket text, quantity text);
COPY wms_feed FROM stdin (FORMAT csv);
1,19506000300013,0614141300013,,released,9
2,09506000300023,0614141300013,OM-A,released,38
3,09506000300023,0614141300013,OM-B,released,30
4,09506000300016,0614141300013,,qa_hold,6
\.
SELECT feed_id, kind, status, rows_read, rows_rejected, keys_counted, keys_zeroed, keys_unmentioned,
       keys_accurate, accuracy
  FROM ingest_snapshot('r_wms', 'wms_feed', 'on_hand', :'wms_as_of', 'WMS-DCN-1');
-- The variance report: ours is our balance as of the feed's time, theirs what it said.
SELECT item_gtin, lot, bucket, ours, theirs, difference, within_tolerance, status
  FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'WMS-DCN-1'));
-- The pick after the watermark keeps its effect: 108 counted, 5 picked since.
SELECT item_gtin, lot, bucket, quantity FROM balance WHERE location = '0614141300013' ORDER BY 1, 2, 3;
-- Every count is an ordinary ledger posting of the WMS, named after the feed.
SELECT kind, source, source_event_id, gtin, quantity, reason, reference, actor
  FROM ledger WHERE reference = 'WMS-DCN-1' ORDER BY posting_id;
-- A tolerance of 2 units (or 2 %) makes the milk count accurate.
SELECT item_gtin, lot, difference, within_tolerance
  FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'WMS-DCN-1'), 2)
 WHERE difference <> 0;
-- Ingesting the same feed id again posts nothing and returns the first run.
SELECT feed_id, status, keys_counted, (SELECT count(*) FROM ledger WHERE reference = 'WMS-DCN-1') AS counts
  FROM ingest_snapshot('r_wms', 'wms_feed', 'on_hand', :'wms_as_of', 'WMS-DCN-1');
-- ... unless the terms differ: a feed id names one feed (the DETAIL names the first run).
\set VERBOSITY terse
SELECT ingest_snapshot('r_wms', 'wms_feed', 'on_hand', now() - interval '2 hours', 'WMS-DCN-1');
\set VERBOSITY default
RESET ROLE;

--
-- 2. A feed with bad rows is refused whole, every bad row listed; nothing is posted.
--
SET ROLE recon_wms;
CREATE TEMP TABLE bad_feed (gtin text, gln text, lot text, bucket text, quantity text, as_of text);
INSERT INTO bad_feed VALUES
  ('09506000300016', '0614141300013', NULL, 'released', '100', NULL),    -- fine, but see line 12
  ('09506000300017', '0614141300013', NULL, 'released', '1', NULL),      -- wrong check digit
  ('09506000300047', '0614141300013', NULL, 'released', '1', NULL),      -- unknown item
  ('09506000300016', '0614141300099', NULL, 'released', '1', NULL),      -- unknown location
  ('09506000300016', '0614141300020', NULL, 'released', '1', NULL),      -- the store is not the WMS's
  ('09506000300023', '0614141300013', NULL, 'released', '1', NULL),      -- lot-tracked, no lot
  ('09506000300016', '0614141300013', NULL, 'shelf', '1', NULL),         -- unknown bucket
  ('09506000300016', '0614141300013', NULL, 'qa_hold', '-2', NULL),      -- negative
  ('09506000300016', '0614141300013', NULL, 'damaged', 'ten', NULL),     -- malformed
  ('19506000300013', '0614141300013', NULL, 'damaged', '0.5', NULL),     -- half a case
  ('09506000300030', '0614141300013', NULL, 'released', '1', NULL),      -- serial-tracked
  ('09506000300016', '0614141300013', NULL, 'released', '99', NULL),     -- line 1's key again
  ('09506000300023', '0614141300013', 'OM-C', 'released', '1', '2999-01-01 00:00+00'), -- future
  ('09506000300023', '0614141300013', 'OM-B', 'released', '29', NULL);    -- fine
SELECT count(*) AS postings_before FROM ledger WHERE source = 'r_wms';
SELECT ingest_snapshot('r_wms', 'bad_feed', 'on_hand', now() - interval '10 minutes', 'WMS-DCN-2');
SELECT count(*) AS postings_after, (SELECT count(*) FROM snapshot_ingest WHERE feed_id = 'WMS-DCN-2') AS runs
  FROM ledger WHERE source = 'r_wms';
-- The same rows as a table, without posting anything:
SELECT line, gtin, quantity, problems FROM check_snapshot('r_wms', 'bad_feed', 'on_hand', now() - interval '10 minutes');
-- With on_error => 'skip' the good rows are posted and the bad ones kept, as the feed had them.
SELECT feed_id, status, rows_read, rows_rejected, keys_counted
  FROM ingest_snapshot('r_wms', 'bad_feed', 'on_hand', now() - interval '10 minutes', 'WMS-DCN-2',
                       on_error => 'skip');
SELECT line, gtin, gln, bucket, quantity, array_length(problems, 1) AS problems
  FROM snapshot_rejection WHERE ingest_id = (SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'WMS-DCN-2')
 ORDER BY line;
RESET ROLE;

--
-- 3. Keys the feed does not mention. By default they are left alone and listed
--    (not_in_feed); absent => 'zero' makes the feed a full hard reset of its scope.
--    scope => 'owned' is everything the source is system of record for.
--
SET ROLE recon_wms;
CREATE TEMP TABLE wms_reset (gtin text, gln text, lot text, bucket text, quantity numeric);
INSERT INTO wms_reset VALUES ('09506000300016', '0614141300013', NULL, 'released', 100);
SELECT feed_id, keys_counted, keys_zeroed, keys_unmentioned
  FROM ingest_snapshot('r_wms', 'wms_reset', 'on_hand', now() - interval '5 minutes', 'WMS-DCN-3');
SELECT item_gtin, lot, bucket, ours, theirs, difference, status
  FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'WMS-DCN-3'));
SELECT feed_id, keys_counted, keys_zeroed, keys_unmentioned, accuracy
  FROM ingest_snapshot('r_wms', 'wms_reset', 'on_hand', now() - interval '4 minutes', 'WMS-DCN-4',
                       absent => 'zero', scope => 'owned');
SELECT item_gtin, lot, bucket, ours, theirs, difference, status
  FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'WMS-DCN-4'));
SELECT item_gtin, lot, bucket, quantity FROM balance WHERE location = '0614141300013' ORDER BY 1, 2, 3;
RESET ROLE;

--
-- 4. An availability feed from the store system. The web shop holds 4 teas at Store
--    Harbour for an order the store system already set aside: its "available" is net of
--    that. We add our open reservations back to make the on-hand count, so ATP (on-hand
--    - reservations) ends equal to what the store called available: never subtracted twice.
--
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('r_web', 'Web shop', 'r_oms');
INSERT INTO channel_location (channel, location) VALUES ('r_web', '0614141300020');
SET ROLE recon_sim;
SELECT count(*) FROM receive('r_sim', 'ST-GR-1', '09506000300016', '0614141300020', 20, 'released', event_time => now() - interval '1 day');
SELECT count(*) FROM receive('r_sim', 'ST-GR-2', '09506000300016', '0614141300020', 2, 'damaged', event_time => now() - interval '1 day');
RESET ROLE;
SELECT quantity, open_quantity FROM reserve('r_web', 'WEB-77', '1', '09506000300016', 4, '0614141300020');
SELECT atp('09506000300016', '0614141300020') AS atp_before;
SET ROLE recon_sim;
CREATE TEMP TABLE sim_feed (gtin text, location text, quantity text);
INSERT INTO sim_feed VALUES ('09506000300016', '0614141300020', '15');
SELECT feed_id, kind, keys_counted, accuracy
  FROM ingest_snapshot('r_sim', 'sim_feed', 'available', now(), 'SIM-0600');
SELECT item_gtin, bucket, ours, theirs, difference, stated, reserved, status
  FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'SIM-0600'));
RESET ROLE;
-- on-hand 19 = 15 available + 4 reserved; ATP = 15, as the store said. Damaged stock is
-- not availability: an available feed leaves non-sellable buckets alone.
SELECT bucket, quantity FROM balance WHERE location = '0614141300020' ORDER BY bucket;
SELECT atp('09506000300016', '0614141300020') AS atp_after;
-- A non-sellable bucket in an available feed is a bad row.
SET ROLE recon_sim;
CREATE TEMP TABLE sim_bad (gtin text, gln text, bucket text, quantity int);
INSERT INTO sim_bad VALUES ('09506000300016', '0614141300020', 'damaged', 1);
SELECT line, problems FROM check_snapshot('r_sim', 'sim_bad', 'available', now());
RESET ROLE;

--
-- 5. Progress: one NOTICE per chunk of counts (100000 by default).
--
SET ROLE recon_sim;
CREATE TEMP TABLE sim_market (gtin text, gln text, lot text, quantity text);
INSERT INTO sim_market VALUES
  ('09506000300016', '0614141300037', NULL, '7'),
  ('09506000300023', '0614141300037', 'OM-A', '3'),
  ('09506000300023', '0614141300037', 'OM-B', '2');
-- (Each NOTICE's DETAIL, left out here, says how many seconds the ingest has been running.)
SET client_min_messages = notice;
\set VERBOSITY terse
SELECT feed_id, keys_counted FROM ingest_snapshot('r_sim', 'sim_market', 'on_hand', now(), 'SIM-MKT-1', chunk_size => 2);
\set VERBOSITY default
SET client_min_messages = warning;
RESET ROLE;

--
-- 6. Whole-feed errors.
--
SET ROLE recon_sim;
SELECT ingest_snapshot('r_wms', 'sim_market', 'on_hand', now());                    -- not its source
\set VERBOSITY terse
SELECT ingest_snapshot('r_sim', 'sim_market', 'on_hand', '2999-01-01 00:00+00');    -- as of the future
\set VERBOSITY default
SELECT ingest_snapshot('r_sim', 'sim_market', 'physical', now());                   -- no such kind
SELECT ingest_snapshot('r_sim', 'sim_market', 'on_hand', now(), absent => 'drop');
SELECT ingest_snapshot('r_sim', 'sim_market', 'on_hand', NULL);
SELECT ingest_snapshot('nosuch', 'sim_market', 'on_hand', now());
CREATE TEMP TABLE no_qty (gtin text, gln text);
SELECT ingest_snapshot('r_sim', 'no_qty', 'on_hand', now());
-- The run records are the ingest's own: a role cannot write one for another source.
INSERT INTO snapshot_ingest (source, feed_id, kind, as_of, scope, absent, on_error, tolerance, tolerance_pct, feed)
     VALUES ('r_wms', 'forged', 'on_hand', now(), 'feed', 'keep', 'refuse', 0, 0, 'x');
UPDATE snapshot_ingest SET accuracy = 1;
RESET ROLE;

SELECT feed_id, source, kind, status, rows_read, rows_rejected, keys_counted, keys_zeroed, keys_unmentioned, accuracy, actor
  FROM snapshot_ingest ORDER BY ingest_id;
SELECT * FROM verify();
