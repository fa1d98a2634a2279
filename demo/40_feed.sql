-- title: 4. The feed: the web shop streams its events, the marketplace takes a hard reset
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

\echo 'The web shop''s consumer connects over the replication protocol (pg_recvlogical here;'
\echo 'any driver that speaks it, see examples/feed_consumer.py) and streams its slot with the'
\echo 'option channels=web: postings at the web shop''s locations, its reservations, its ATP.'
\echo 'It reads up to the current end of WAL, confirms what it received, and stops.'
SELECT pg_current_wal_lsn() AS feed_endpos \gset
\setenv FEED_ENDPOS :feed_endpos
CREATE TEMP TABLE web_received (n integer GENERATED ALWAYS AS IDENTITY, line text);
\copy web_received (line) FROM PROGRAM 'timeout 30 pg_recvlogical -d "$PGDATABASE" --slot web_shop --start --no-loop --endpos "$FEED_ENDPOS" -o channels=web -f -' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
SELECT count(*) AS events_received, count(DISTINCT line::jsonb->>'xid') AS transactions,
       (SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'web_shop') AS slot_confirmed_up_to
  FROM web_received;

\echo
\echo 'One event as it arrives: one JSON object per line, quantities as exact strings, with the'
\echo 'commit LSN, the keys, the delta, the state after it and the key''s version:'
\pset format unaligned
\pset tuples_only on
SELECT line FROM web_received WHERE line::jsonb->>'source_event_id' LIKE 'GR-%' ORDER BY n LIMIT 1;
\pset format aligned
\pset tuples_only off
\echo
\echo 'Everything the web shop received today, in commit order (item and location names added'
\echo 'for reading; the events carry GTINs and GLNs). "after" is the balance after a posting, or'
\echo 'the open quantity after a reservation change; "atp" is the channel''s ATP after it.'
SELECT n AS "#",
       (e->>'type') || ': ' || CASE e->>'type' WHEN 'posting' THEN (e->>'source') || ' ' || (e->>'kind')
                                             WHEN 'reservation' THEN (e->>'action') || ' ' || (e->>'order_ref')
                                             ELSE 'by ' || (e->>'cause') END AS event,
       demo.item((e->>'gtin')::gtin) AS item, coalesce(demo.loc((e->>'gln')::gln), '') AS location,
       coalesce(e->>'lot', '') AS lot, coalesce(e->>'bucket', '') AS bucket, e->>'delta' AS delta,
       coalesce(e->>'quantity_after', '') AS after, coalesce(e->>'atp', '') AS atp, e->>'version' AS version
  FROM web_received, LATERAL (SELECT line::jsonb AS e) j
 ORDER BY n;

\echo 'The web shop''s copy of its ATP: the morning snapshot, then per item the event with the'
\echo 'highest version wins (repeats and overlaps change nothing). It equals the master''s:'
CREATE TEMP VIEW web_atp_event AS
SELECT e->>'gtin' AS gtin, (e->>'atp')::numeric AS atp, (e->>'version')::bigint AS version
  FROM web_received, LATERAL (SELECT line::jsonb AS e) j
 WHERE e->>'type' IN ('atp', 'reservation');
CREATE TEMP VIEW web_copy AS
SELECT a.item_gtin, s.atp AS snapshot_atp, s.version AS snapshot_version,
       (SELECT count(*) FROM web_atp_event ev WHERE ev.gtin = a.item_gtin::text) AS atp_events,
       c.atp AS web_shop_atp, c.version AS web_shop_version, a.atp AS master_atp, a.version AS master_version,
       c.atp = a.atp AND c.version = a.version AS equal
  FROM channel_atp a
  LEFT JOIN demo.web_snapshot s ON s.gtin = a.item_gtin
  LEFT JOIN LATERAL (
       SELECT x.atp, x.version
         FROM (SELECT s.atp, s.version UNION ALL
               SELECT ev.atp, ev.version FROM web_atp_event ev WHERE ev.gtin = a.item_gtin::text) x
        WHERE x.version IS NOT NULL
        ORDER BY x.version DESC LIMIT 1) c ON true
 WHERE a.channel = 'web';
SELECT demo.item(item_gtin) AS item, snapshot_atp || ' (v' || snapshot_version || ')' AS snapshot,
       atp_events AS events, web_shop_atp || ' (v' || web_shop_version || ')' AS web_shop_copy,
       master_atp || ' (v' || master_version || ')' AS master, equal
  FROM web_copy ORDER BY item_gtin;
DO $$
BEGIN
  IF EXISTS (SELECT FROM web_copy WHERE equal IS NOT TRUE) THEN
    RAISE EXCEPTION 'demo: the web shop''s copy of its ATP differs from the master''s';
  END IF;
END
$$;

\echo
\echo 'The marketplace''s API allows a bulk update an hour, so it gets a hard reset: the whole'
\echo 'channel ATP from one consistent snapshot, each row with its version.'
SELECT demo.item(gtin) AS item, gtin, atp, version, snapshot_lsn FROM channel_snapshot('marketplace');
\echo 'The connector''s payload for the marketplace''s bulk inventory call (ATP below 0 sent as 0):'
\pset format unaligned
\pset tuples_only on
SELECT jsonb_agg(jsonb_build_object('gtin', gtin::text, 'available', greatest(atp, 0)) ORDER BY gtin)
  FROM channel_snapshot('marketplace');
\pset format aligned
\pset tuples_only off
