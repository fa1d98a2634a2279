--
-- The change feed: what a consumer of the output plugin inventory_sync receives.
-- Every block posts something and shows the events it decodes to, with the option
-- deterministic (no LSNs, transaction ids or wall-clock times) so this file is exact.
-- The story runs in a database of its own, so posting ids start at 1.
--
SELECT current_database() AS regress_db \gset
CREATE DATABASE feed_story;
\c feed_story
SET client_min_messages = warning;
CREATE EXTENSION inventory_sync;
SET search_path = inventory_sync, public;

INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Espresso beans 1 kg');
INSERT INTO item_pack (pack_gtin, item_gtin, quantity) VALUES ('19506000134359', '09506000134352', 12);
INSERT INTO item (gtin, name, base_unit) VALUES ('09506000134376', 'Green coffee', 'KGM');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134383', 'Yoghurt 500 g', true);
INSERT INTO location (gln, name, kind) VALUES
  ('0614141000012', 'DC', 'warehouse'),
  ('0614141000029', 'Store North', 'store'),
  ('0614141000036', 'Store South', 'store'),
  ('0614141999989', 'Truck 9', 'in_transit');
INSERT INTO source (source, name, kind, role) VALUES
  ('wms', 'DC WMS', 'wms', current_user),
  ('pos', 'Store POS', 'pos', current_user),
  ('shop', 'Web shop', 'ecommerce', current_user);
INSERT INTO channel (channel, name, kind, fulfilment_source) VALUES ('web', 'Web shop', 'web', 'shop');
INSERT INTO channel_location (channel, location) VALUES ('web', '0614141000012'), ('web', '0614141000029');

-- A slot decodes everything committed after it was created.
SELECT 'created' FROM pg_create_logical_replication_slot('feed_story', 'inventory_sync');

-- A receipt of 2 cases: one posting event for the one balance key it changed (24 units,
-- version 1), and the web channel's ATP moving from 0 to 24 (released stock at the DC).
SELECT posting_id FROM receive('wms', 'GR-1', '19506000134359', '0614141000012', 2, 'released',
                               event_time => '2026-03-02 06:00+00');
SELECT data FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'deterministic', 'on');

-- A move has two effects, each with its own key, delta, quantity after and version.
-- Quantities are JSON strings, exact as numeric: 2.5 kg stays "2.5".
SELECT posting_id FROM move_stock('wms', 'MV-1', '09506000134352', '0614141000012', 4, 'released', 'damaged',
                                  event_time => '2026-03-02 07:00+00');
SELECT posting_id FROM receive('wms', 'GR-2', '09506000134376', '0614141000012', 2.5, 'released',
                               event_time => '2026-03-02 07:05+00');
SELECT data FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'deterministic', 'on');

-- Lots are strings written with escape_json: GS1 set 82 has the double quote.
-- Stock on QA hold is not sellable: no channel's ATP changes, so there is no atp event
-- (not even 0 -> 0; the item's channel ATP stays at version 0).
SELECT posting_id FROM receive('wms', 'GR-3', '09506000134383', '0614141000012', 6, 'qa_hold', lot => 'LOT"7',
                               event_time => '2026-03-02 08:00+00');
SELECT data FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'deterministic', 'on', 'events', 'posting, atp');

-- Envelopes: a begin and a commit object around each transaction's events; the commit
-- says how many events the transaction had. Several statements, one transaction.
BEGIN;
SELECT posting_id FROM ship('pos', 'S-1', '09506000134352', '0614141000029', 1, event_time => '2026-03-02 09:00+00');
SELECT posting_id FROM receive('pos', 'GR-4', '09506000134352', '0614141000029', 3, 'released',
                               event_time => '2026-03-02 09:01+00');
COMMIT;
SELECT data FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'deterministic', 'on', 'envelopes', 'on');

-- Filters. One transaction with postings at three locations from three sources.
BEGIN;
SELECT posting_id FROM receive('wms', 'GR-5', '09506000134352', '0614141000012', 10, 'released', event_time => '2026-03-02 10:00+00');
SELECT posting_id FROM ship('pos', 'S-2', '09506000134352', '0614141000029', 1, event_time => '2026-03-02 10:01+00');
SELECT posting_id FROM receive('shop', 'RT-1', '09506000134352', '0614141000036', 1, 'released', event_time => '2026-03-02 10:02+00');
COMMIT;
-- by location (GLNs): the postings there, and the ATP of channels that sell from there
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'deterministic', 'on',
                                              'locations', '0614141000029, 0614141000036');
-- by source: the postings of the WMS (ATP and reservation events have no source: they
-- pass source filters; the events option chooses event types)
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'deterministic', 'on', 'sources', 'wms');
-- echo suppression: a two-way system leaves out the postings it made itself
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'deterministic', 'on',
                                              'exclude-sources', 'shop,pos', 'events', 'posting');
-- batch-events: up to N events per message, one per line (pg_recvlogical writes the same
-- JSON Lines); fewer, larger messages for large transactions. A message never spans two
-- transactions.
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'deterministic', 'on',
                                              'batch-events', '3', 'envelopes', 'on');
-- by channel: postings at the channel's locations (not Store South) and the channel's ATP
SELECT data FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'deterministic', 'on', 'channels', 'web');

-- Channel membership is read as of each change: Store South joins the channel, and only
-- its postings after that are the channel's, although all are decoded in one call.
SELECT posting_id FROM ship('shop', 'S-3', '09506000134352', '0614141000036', 1, event_time => '2026-03-02 11:00+00');
INSERT INTO channel_location (channel, location) VALUES ('web', '0614141000036');
SELECT posting_id FROM ship('shop', 'S-4', '09506000134352', '0614141000036', 1, event_time => '2026-03-02 11:01+00');
SELECT data FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'deterministic', 'on',
                                             'channels', 'web', 'events', 'posting');

-- Reservations: reserve, fulfil in part (the rest returns to ATP), reserve and cancel.
-- Each change is a reservation event (delta, open quantity after, the channel's ATP after
-- and its version), next to the ATP events of every channel whose ATP moved.
SELECT reservation_id, location, open_quantity FROM reserve('web', 'W-1', '1', '09506000134352', 5, '0614141000012');
SELECT reservation_id, fulfilled_quantity, status FROM fulfil(1, 2);
SELECT reservation_id, location, open_quantity FROM reserve('web', 'W-2', '1', '09506000134352', 1, '0614141000029');
SELECT reservation_id, status FROM cancel_reservation(2);
SELECT data FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'deterministic', 'on',
                                             'events', 'reservation, atp');

-- A pooled reservation (anywhere in a channel no other sells beside) moves only its own
-- channel's ATP, and its reservation change is the record of that move: the reservation
-- event, then the atp event (cause "reservation") numbered after it. The same for the
-- cancel that returns it. Asking for atp events alone keeps their numbers.
INSERT INTO location (gln, name, kind) VALUES ('0614141000043', 'Outlet DC', 'warehouse');
INSERT INTO channel (channel, name, kind, fulfilment_source) VALUES ('outlet', 'Outlet', 'web', 'shop');
INSERT INTO channel_location (channel, location) VALUES ('outlet', '0614141000043');
SELECT posting_id FROM receive('wms', 'GR-O', '09506000134352', '0614141000043', 7, 'released',
                               event_time => '2026-03-02 12:00+00');
SELECT reservation_id, location IS NULL AS pooled, open_quantity FROM reserve('outlet', 'O-1', '1', '09506000134352', 3);
SELECT reservation_id, status FROM cancel_reservation(3);
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'deterministic', 'on',
                                              'channels', 'outlet', 'events', 'atp');
SELECT data FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'deterministic', 'on',
                                             'channels', 'outlet');
SELECT channel, version, atp_before, atp_after, cause FROM channel_atp_history
 WHERE channel = 'outlet' ORDER BY version;
SELECT count(*) AS problems FROM verify_promises();

-- Only committed work reaches the feed: a rolled-back transaction and a rolled-back
-- subtransaction send nothing; a replayed event changes nothing and sends nothing;
-- master-data changes send nothing.
BEGIN;
SELECT posting_id FROM receive('wms', 'GR-6', '09506000134352', '0614141000012', 100, 'released');
ROLLBACK;
BEGIN;
SAVEPOINT a;
SELECT posting_id FROM receive('wms', 'GR-7', '09506000134352', '0614141000012', 200, 'released');
ROLLBACK TO SAVEPOINT a;
SELECT posting_id FROM receive('wms', 'GR-8', '09506000134352', '0614141000012', 1, 'damaged',
                               event_time => '2026-03-02 12:00+00');
COMMIT;
SELECT posting_id FROM receive('wms', 'GR-1', '19506000134359', '0614141000012', 2, 'released',
                               event_time => '2026-03-02 06:00+00');
INSERT INTO location (gln, name, kind) VALUES ('0614141000043', 'Plant', 'plant');
SELECT data FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'deterministic', 'on', 'envelopes', 'on');

-- Without deterministic, every event carries its transaction's commit LSN, id and time
-- (and the commit object the end LSN to confirm); events sort by (lsn, seq).
SELECT posting_id FROM receive('wms', 'GR-9', '09506000134352', '0614141000012', 1, 'released');
SELECT e->>'type' AS type,
       (e->>'lsn')::pg_lsn IS NOT NULL AS has_lsn,
       (e->>'xid')::xid IS NOT NULL AS has_xid,
       (e->>'commit_time')::timestamptz <= now() AS committed,
       e ? 'recorded_at' AS has_recorded_at,
       (e->>'end_lsn')::pg_lsn = c.lsn AS end_lsn_is_message_lsn,
       e->>'events' AS events
  FROM pg_logical_slot_get_changes('feed_story', NULL, NULL, 'envelopes', 'on', 'events', 'posting') c,
       LATERAL (SELECT c.data::jsonb AS e) j;

-- Bad options are refused with 22023, naming the option.
\set VERBOSITY default
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'format', 'json');
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'sources', 'wms', 'sources', 'pos');
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'envelopes', 'maybe');
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'locations', '0614141000013');
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'channels', '');
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'sources', 'wms,,pos');
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'events', 'posting,count');
SELECT data FROM pg_logical_slot_peek_changes('feed_story', NULL, NULL, 'batch-events', '0');

-- Hard-reset snapshots: every key with its state and version, as of one snapshot.
SELECT gtin, gln, lot, bucket, sellable, quantity, version
  FROM location_snapshot('0614141000012');
SELECT gtin, atp, version FROM channel_snapshot('web');
-- Naming the slot gives the position its stream resumes from.
SELECT DISTINCT s.stream_from = r.confirmed_flush_lsn AS resumes_where_the_slot_does,
       s.snapshot_lsn >= r.confirmed_flush_lsn AS snapshot_not_before_it
  FROM location_snapshot('0614141000012', 'feed_story') s, pg_replication_slots r
 WHERE r.slot_name = 'feed_story';
SELECT * FROM location_snapshot('0614141000050');
SELECT * FROM channel_snapshot('marketplace');
SELECT * FROM channel_snapshot('web', 'no_such_slot');
SELECT 'created' FROM pg_create_logical_replication_slot('feed_story_text', 'test_decoding');
SELECT * FROM channel_snapshot('web', 'feed_story_text');
SELECT pg_drop_replication_slot('feed_story_text');
\set VERBOSITY terse

-- The feed agrees with the ledger.
SELECT count(*) AS verify_problems FROM verify();
SELECT pg_drop_replication_slot('feed_story');
-- The server must allow the native plugin next to ours (output_plugin_libraries):
-- a publication's subscribers decode with pgoutput.
SELECT slot_name FROM pg_create_logical_replication_slot('feed_story_pgoutput', 'pgoutput');
SELECT pg_drop_replication_slot('feed_story_pgoutput');
\c :regress_db
DROP DATABASE feed_story;
