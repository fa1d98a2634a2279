-- title: 6. Evening: the KPIs, and proof of zero drift
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

\echo 'Station Road''s manager counts the espresso shelf: 5 bags (the unrecorded delivery). The'
\echo 'count states an absolute quantity; the engine posts the difference. The analyst closes'
\echo 'the exception. (The web shop''s consumer is not running: these events wait in its slot.)'
SELECT posting_id, kind, source, demo.loc(location) AS location, quantity AS counted, base_quantity AS now_on_hand
  FROM count_stock('pos_station', 'CNT-2026-1', '09506000134352', '0614141000036', 5);
UPDATE exception SET resolved_at = now(), resolution = 'Delivery of 6 bags on 3rd shelf not booked; recounted'
 WHERE kind = 'negative_balance' AND resolved_at IS NULL;
SELECT count(*) AS open_exceptions FROM open_exceptions;

\echo
\echo 'Data latency per source: recorded time - event time (the day runs in seconds, so these'
\echo 'are the real delays: the live systems post at once, Station Road''s till was offline for'
\echo '40 s, the feeds arrive as late as the time their extract was taken).'
SELECT source, postings, demo.dur(latency_p50) AS latency_p50, demo.dur(latency_p95) AS p95,
       demo.dur(latency_max) AS max, demo.dur(now() - last_recorded_at) AS last_posting,
       snapshots AS feeds, coalesce(round(last_snapshot_accuracy * 100, 1) || ' %', '') AS feed_accuracy,
       exceptions, open_exceptions AS still_open
  FROM kpi_source ORDER BY source;

\echo 'Feed lag per replication slot: what the web shop has not yet confirmed (the recall, the'
\echo 'espresso machines and the evening count).'
SELECT slot_name, plugin, active, confirmed_flush_lsn, current_lsn, lag_bytes,
       pg_size_pretty(lag_bytes) AS lag, coalesce(demo.dur(lag_time), 'not streaming') AS lag_time
  FROM kpi_slot;

\echo 'Inventory accuracy from today''s counts (the morning feeds and the evening shelf count):'
SELECT source, demo.loc(location) AS location, counts, accurate, round(accuracy * 100, 1) || ' %' AS accuracy,
       absolute_variance, net_variance
  FROM kpi_count_accuracy ORDER BY source, location;
SELECT sum(counts) AS counts, sum(accurate) AS accurate,
       round(100.0 * sum(accurate) / sum(counts), 1) || ' %' AS accuracy_rate
  FROM kpi_count_accuracy;

\echo 'Inventory in transit tonight:'
SELECT item_name AS item, in_transit_name AS "on the road", quantity, open_shipments AS shipments,
       to_char(first_eta, 'YYYY-MM-DD HH24:MI') AS eta, demo.dur(first_eta - now()) AS arrives_in,
       overdue_quantity AS overdue
  FROM kpi_in_transit;

\echo
\echo 'verify(): every balance recomputed from the ledger (quantity, version, after-state chain);'
\echo 'verify_promises(): channel ATP, its versions and every reservation recomputed.'
SELECT (SELECT count(*) FROM ledger) AS postings, (SELECT count(*) FROM balance) AS balance_keys,
       (SELECT count(*) FROM reservation) AS reservations,
       (SELECT count(*) FROM verify()) AS drifting_keys, (SELECT count(*) FROM verify_promises()) AS promise_problems;
\pset footer on
SELECT * FROM verify();
\pset footer off
SELECT demo.assert_no_drift() AS result;
