-- title: 2. Morning: the ERP's on-hand feed and a store's availability feed, reconciled
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

\echo 'The ERP sends its nightly on-hand extract of the plant: physical stock per lot and bucket.'
\echo 'It arrives as a file; COPY loads it into a table and ingest_snapshot() turns each row'
\echo 'into a count as of the extract time (postings after that time keep their effect).'
CREATE TEMP TABLE erp_feed (gtin text, gln text, lot text, bucket text, quantity text);
COPY erp_feed FROM stdin (FORMAT csv, HEADER);
gtin,gln,lot,bucket,quantity
19506000134380,0614141000043,Y-0309,qa_hold,60
09506000134383,0614141000043,Y-0310,qa_hold,952
\.
SELECT * FROM erp_feed;

SELECT feed_id, kind, rows_read, keys_counted AS counted, keys_accurate AS accurate,
       round(accuracy * 100, 1) || ' %' AS accuracy
  FROM ingest_snapshot('erp', 'erp_feed', 'on_hand', (SELECT at FROM demo.clock WHERE moment = 'erp_extract'),
                       'ERP-PLANT-0600');
\echo 'The variance report: our balance as of the extract, what the ERP counted (the pallet of'
\echo 'Y-0309 came as 60 trays: 480 cups). Eight cups of Y-0310 broke on the line unrecorded.'
SELECT demo.item(item_gtin) AS item, lot, bucket, ours, theirs, difference, status
  FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'ERP-PLANT-0600'));

\echo
\echo 'Store Main Street sends availability: its stock net of what it has set aside itself. The'
\echo 'store set aside the 2 espresso of web order W-0999, which the master also holds as a'
\echo 'reservation: the master adds its open reservations back to get on-hand, so the'
\echo 'commitment is not subtracted twice.'
CREATE TEMP TABLE store_feed (gtin text, gln text, lot text, quantity text);
COPY store_feed FROM stdin (FORMAT csv, HEADER);
gtin,gln,lot,quantity
09506000134352,0614141000029,,17
09506000134369,0614141000029,,10
09506000134390,0614141000029,OM-2602,12
\.
SELECT feed_id, kind, rows_read, keys_counted AS counted, keys_accurate AS accurate,
       round(accuracy * 100, 1) || ' %' AS accuracy
  FROM ingest_snapshot('pos_main', 'store_feed', 'available', (SELECT at FROM demo.clock WHERE moment = 'store_extract'),
                       'MAIN-AVAIL-0630');
SELECT demo.item(item_gtin) AS item, coalesce(lot::text, '') AS lot, bucket, stated, reserved,
       theirs AS counted, ours, difference, status
  FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'MAIN-AVAIL-0630'));

\echo 'Accuracy rate of this morning''s feeds (keys whose record matched what was counted):'
SELECT count(*) FILTER (WHERE s.source IS NOT NULL) AS feeds, sum(keys_counted) AS keys_counted,
       sum(keys_accurate) AS accurate, round(100.0 * sum(keys_accurate) / sum(keys_counted), 1) || ' %' AS accuracy_rate
  FROM snapshot_ingest s;
\echo 'The counts are ordinary postings of their sources, named after the feed:'
SELECT posting_id, kind, source, source_event_id, quantity AS counted
  FROM ledger WHERE kind = 'count' ORDER BY posting_id;
