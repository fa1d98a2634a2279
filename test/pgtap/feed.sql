-- pgTAP: the SQL side of the change feed (sql/install/300_feed.sql): declarations, rights,
-- comments, the snapshot functions' rows and errors, the publication.
-- (The output plugin's events and options are in sql/feed.sql; slots cannot be created
-- inside this file's one transaction.) Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(38);

-- Declarations: volatility, strictness, comments, who may call them.
SELECT volatility_is('inventory_sync', 'location_snapshot', ARRAY['gln', 'text'], 'volatile',
                     'location_snapshot: volatile (it reads the WAL position)');
SELECT volatility_is('inventory_sync', 'channel_snapshot', ARRAY['text', 'text'], 'volatile',
                     'channel_snapshot: volatile');
SELECT volatility_is('inventory_sync', '_feed_slot_position', ARRAY['text'], 'stable', '_feed_slot_position: stable');
SELECT volatility_is('inventory_sync', 'create_publication', ARRAY['text'], 'volatile', 'create_publication: volatile');
SELECT isnt_strict('inventory_sync', 'location_snapshot', ARRAY['gln', 'text'], 'location_snapshot: a NULL slot means no slot');
SELECT is_strict('inventory_sync', 'create_publication', ARRAY['text'], 'create_publication: strict');
SELECT is(count(*), 0::bigint, 'every feed function has a comment')
  FROM pg_proc p
 WHERE p.pronamespace = 'inventory_sync'::regnamespace
   AND p.proname IN ('location_snapshot', 'channel_snapshot', '_feed_slot_position', 'create_publication')
   AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT is(count(*), 4::bigint, 'the four feed functions belong to the extension')
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
 WHERE d.classid = 'pg_proc'::regclass AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'inventory_sync')
   AND d.deptype = 'e'
   AND p.proname IN ('location_snapshot', 'channel_snapshot', '_feed_slot_position', 'create_publication');
SELECT function_privs_are('inventory_sync', 'location_snapshot', ARRAY['gln', 'text'], 'inventory_sync_reader',
                          ARRAY['EXECUTE'], 'readers may take location snapshots');
SELECT function_privs_are('inventory_sync', 'channel_snapshot', ARRAY['text', 'text'], 'inventory_sync_reader',
                          ARRAY['EXECUTE'], 'readers may take channel snapshots');
SELECT function_privs_are('inventory_sync', 'location_snapshot', ARRAY['gln', 'text'], 'public',
                          ARRAY[]::text[], 'PUBLIC may not');
SELECT function_privs_are('inventory_sync', 'create_publication', ARRAY['text'], 'inventory_sync_admin',
                          ARRAY[]::text[], 'create_publication is for the owner only');
SELECT ok((SELECT 'user_catalog_table=true' = ANY (reloptions) FROM pg_class WHERE oid = 'channel_location'::regclass),
          'channel_location is a user catalog table (the plugin reads it as of each change)');
SELECT is((SELECT count(*) FROM pg_publication WHERE pubname = 'inventory_sync'), 0::bigint,
          'CREATE EXTENSION creates no publication (one cannot belong to an extension)');

-- Data: two locations, a channel over one of them, stock in three buckets and a lot.
INSERT INTO item (gtin, name, base_unit) VALUES ('09506000134352', 'E', 'KGM');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134369', 'M', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'DC', 'warehouse'), ('0614141000029', 'Store', 'store');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('web', 'Web'), ('empty', 'No locations');
INSERT INTO channel_location (channel, location) VALUES ('web', '0614141000012');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, lot, quantity) VALUES
  ('receipt', 'wms', 'r1', '09506000134352', '0614141000012', 'released', NULL, 10),
  ('receipt', 'wms', 'r2', '09506000134352', '0614141000012', 'released', NULL, 2.5),
  ('receipt', 'wms', 'r3', '09506000134352', '0614141000012', 'qa_hold', NULL, 4),
  ('receipt', 'wms', 'r4', '09506000134369', '0614141000012', 'released', 'L1', 6),
  ('receipt', 'wms', 'r5', '09506000134352', '0614141000029', 'released', NULL, 1);

-- location_snapshot: every key at the location, its quantity and version.
SELECT results_eq(
  $$SELECT gtin::text, lot::text, bucket, sellable, quantity, version FROM location_snapshot('0614141000012')$$,
  $$VALUES ('09506000134352', NULL::text, 'qa_hold', false, 4::numeric, 1::bigint),
           ('09506000134352', NULL, 'released', true, 12.5, 2),
           ('09506000134369', 'L1', 'released', true, 6, 1)$$,
  'location_snapshot: every key at the location, sellable flag, exact quantity, version');
SELECT results_eq(
  $$SELECT gtin, gln, lot, bucket, quantity, version FROM location_snapshot('0614141000012')$$,
  $$SELECT item_gtin, location, lot, bucket, quantity, version FROM balance
     WHERE location = '0614141000012' ORDER BY item_gtin, lot NULLS FIRST, bucket$$,
  'location_snapshot equals the balances');
SELECT is((SELECT count(DISTINCT snapshot_lsn) FROM location_snapshot('0614141000012')), 1::bigint,
          'one snapshot position for all rows');
SELECT ok((SELECT bool_and(snapshot_lsn <= pg_current_wal_insert_lsn() AND stream_from IS NULL)
             FROM location_snapshot('0614141000012')),
          'the snapshot position is a WAL position; no slot named, no stream position');
SELECT is((SELECT count(*) FROM location_snapshot('0614141000029')), 1::bigint, 'only the named location');

-- channel_snapshot: the channel's published ATP.
SELECT results_eq(
  $$SELECT gtin::text, atp, version FROM channel_snapshot('web')$$,
  $$SELECT item_gtin::text, atp, version FROM channel_atp WHERE channel = 'web' ORDER BY item_gtin$$,
  'channel_snapshot equals the published channel ATP');
SELECT is((SELECT atp FROM channel_snapshot('web') WHERE gtin = '09506000134352'), 12.5::numeric,
          'the DC''s sellable stock, not the store''s nor QA hold''s');
SELECT is((SELECT count(*) FROM channel_snapshot('empty')), 0::bigint, 'a channel without locations has no rows');

-- errors
SELECT throws_ok($$SELECT * FROM location_snapshot('0614141000036')$$, '23503',
                 'unknown location: gln 0614141000036', 'unknown location');
SELECT throws_ok($$SELECT * FROM channel_snapshot('nosuch')$$, '23503', 'unknown channel "nosuch"', 'unknown channel');
SELECT throws_ok($$SELECT * FROM location_snapshot('0614141000012', 'no_such_slot')$$, '42704',
                 'replication slot "no_such_slot" does not exist', 'unknown slot');
SELECT throws_ok($$SELECT * FROM location_snapshot('0614141000013')$$, '22P02', NULL, 'a malformed GLN');
SELECT is((SELECT count(*) FROM location_snapshot('0614141000012', NULL)), 3::bigint, 'NULL slot: no slot');

-- rights in practice
CREATE ROLE is_tap_feed_reader NOLOGIN IN ROLE inventory_sync_reader;
CREATE ROLE is_tap_feed_nobody NOLOGIN;
SET ROLE is_tap_feed_reader;
SELECT is((SELECT count(*) FROM location_snapshot('0614141000012')), 3::bigint, 'a reader takes a location snapshot');
SELECT is((SELECT count(*) FROM channel_snapshot('web')), 2::bigint, 'and a channel snapshot');
SELECT throws_ok($$SELECT create_publication()$$, '42501', NULL, 'a reader may not create the publication');
RESET ROLE;
SET ROLE is_tap_feed_nobody;
SELECT throws_ok($$SELECT * FROM location_snapshot('0614141000012')$$, '42501', NULL, 'a role without reader rights may not');
RESET ROLE;

-- The publication.
SELECT is(create_publication(), 'inventory_sync', 'create_publication() creates inventory_sync');
SELECT is((SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'inventory_sync'),
          'balance,bucket,channel,channel_atp,channel_location,item,item_pack,location,logistic_unit,logistic_unit_content,logistic_unit_event,lot,unit',
          'it publishes balances, channel ATP and their master data');
SELECT ok((SELECT rowfilter LIKE '%receiving%' FROM pg_publication_tables WHERE pubname = 'inventory_sync' AND tablename = 'bucket'),
          'seeded buckets are filtered out');
ALTER PUBLICATION inventory_sync SET TABLE inventory_sync.item;
SELECT is(create_publication(), 'inventory_sync', 'calling it again');
SELECT is((SELECT count(*) FROM pg_publication_tables WHERE pubname = 'inventory_sync'), 13::bigint,
          'restores the table list');
SELECT is(create_publication(NULL), NULL::text, 'NULL name: nothing');

SELECT is(count(*), 0::bigint, 'verify()') FROM verify();
SELECT * FROM finish();
ROLLBACK;
