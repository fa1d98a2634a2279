-- title: The change feed: a web shop follows live events, a marketplace takes a hard reset
SET search_path = inventory_sync, public;
\echo 'Two channels sell from the DC: a web shop that follows the change feed, and a marketplace'
\echo 'with API limits that takes hard resets. (The day-one stock above is already there.)'
INSERT INTO channel (channel, name, kind) VALUES
  ('feed_web', 'Web shop (follows the feed)', 'web'),
  ('feed_marketplace', 'Marketplace (hard resets)', 'marketplace') ON CONFLICT DO NOTHING;
INSERT INTO channel_location (channel, location)
SELECT v.channel, v.location::gln
  FROM (VALUES ('feed_web', '0614141000012'), ('feed_web', '0614141000029'), ('feed_marketplace', '0614141000012'))
       v(channel, location)
 WHERE NOT EXISTS (SELECT FROM channel_location cl WHERE cl.channel = v.channel AND cl.location = v.location::gln);
SELECT refresh_channel_atp() AS atp_rows_published;

\echo 'The web shop opens its slot with the output plugin inventory_sync. (A real consumer streams'
\echo 'it over a replication connection, see examples/feed_consumer.py; here SQL reads it.)'
SELECT 'slot created' AS web_shop FROM pg_create_logical_replication_slot('demo_web_shop', 'inventory_sync');

\echo 'Live: the DC receives 5 cases, the store sells 2, a web customer reserves 4.'
SELECT count(*) AS receipt FROM receive('wms', 'DEMO-GR-1', '19506000134359', '0614141000012', 5, 'released', lot => 'L2611');
SELECT count(*) AS sale FROM ship('pos', 'DEMO-S-1', '09506000134352', '0614141000029', 2, lot => 'L2611');
SELECT reservation_id, location, open_quantity FROM reserve('feed_web', 'WEB-1001', '1', '09506000134352', 4);

\echo 'One event as the web shop receives it: a JSON line with the commit, keys, delta, after-state, version.'
SELECT data AS event FROM pg_logical_slot_peek_changes('demo_web_shop', NULL, NULL, 'channels', 'feed_web') LIMIT 1;

\echo 'Everything the web shop received for its channel (quantities are exact strings):'
SELECT e->>'type' AS type, coalesce(e->>'source', '') AS source, coalesce(e->>'gln', '') AS gln,
       coalesce(e->>'bucket', '') AS bucket, e->>'delta' AS delta, coalesce(e->>'quantity_after', '') AS after,
       coalesce(e->>'atp', '') AS atp, e->>'version' AS version
  FROM pg_logical_slot_get_changes('demo_web_shop', NULL, NULL, 'channels', 'feed_web') c,
       LATERAL (SELECT c.data::jsonb AS e) j;

\echo 'The marketplace takes a hard reset: ATP per item with the version to join the stream from.'
SELECT gtin, atp, version FROM channel_snapshot('feed_marketplace');

SELECT pg_drop_replication_slot('demo_web_shop') AS slot_dropped;
