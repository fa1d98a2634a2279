--
-- KPIs: how fresh each source's data is, how accurate the counts find the records, how far
-- behind each feed consumer is, and what is on the road.
--
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

INSERT INTO item (gtin, name) VALUES ('09506000400013', 'Rice 5 kg');
INSERT INTO location (gln, name, kind) VALUES
  ('0614141400010', 'DC South', 'warehouse'),
  ('0614141400027', 'Store Bay', 'store'),
  ('0614141400034', 'Truck DC South - Store Bay', 'in_transit');
INSERT INTO source (source, name, kind, role) VALUES
  ('k_wms', 'DC South WMS', 'wms', current_user),
  ('k_pos', 'Store Bay POS', 'pos', current_user),
  ('k_erp', 'ERP (silent)', 'erp', current_user);

--
-- 1. Data latency per source: recorded_at - event_time. The WMS posts receipts 10 minutes
--    after they happen; the POS sells within seconds, once a minute late, and once with a
--    till clock 5 seconds fast.
--
SELECT count(*) FROM receive('k_wms', 'W-1', '09506000400013', '0614141400010', 100, 'released', event_time => now() - interval '10 minutes');
SELECT count(*) FROM receive('k_wms', 'W-2', '09506000400013', '0614141400010', 50, 'released', event_time => now() - interval '10 minutes');
SELECT count(*) FROM receive('k_pos', 'P-0', '09506000400013', '0614141400027', 3, 'released', event_time => now() - interval '1 second');
SELECT count(*) FROM ship('k_pos', 'P-1', '09506000400013', '0614141400027', 1, event_time => now() - interval '1 second');
SELECT count(*) FROM ship('k_pos', 'P-2', '09506000400013', '0614141400027', 1, event_time => now() - interval '2 seconds');
SELECT count(*) FROM ship('k_pos', 'P-3', '09506000400013', '0614141400027', 1, event_time => now() - interval '60 seconds');
SELECT count(*) FROM ship('k_pos', 'P-4', '09506000400013', '0614141400027', 1, event_time => now() + interval '5 seconds');
SELECT source, source_kind, postings, latency_p50, latency_p95, latency_max, ahead_of_clock,
       last_recorded_at - last_event_time AS last_latency, open_exceptions
  FROM kpi_source WHERE source LIKE 'k\_%' ORDER BY source;
-- The last sale drove the store negative: a fact is recorded, and an exception raised.
SELECT kind, source, source_event_id FROM open_exceptions WHERE source LIKE 'k\_%';
-- Any window: nothing was recorded in the last zero seconds, but the last posting stays known.
SELECT source, postings, latency_p50, last_recorded_at IS NOT NULL AS heard_from, time_window
  FROM kpi_source(interval '0') WHERE source LIKE 'k\_%' ORDER BY source;

--
-- 2. Accuracy rate from counts: a count whose delta is zero found the record accurate.
--
SELECT count(*) FROM count_stock('k_wms', 'CC-1', '09506000400013', '0614141400010', 150, now() - interval '1 minute');
SELECT count(*) FROM count_stock('k_wms', 'CC-2', '09506000400013', '0614141400010', 147, now() - interval '30 seconds');
SELECT count(*) FROM count_stock('k_wms', 'CC-3', '09506000400013', '0614141400010', 147, now() - interval '10 seconds');
SELECT source, location, counts, accurate, accuracy, absolute_variance, net_variance
  FROM kpi_count_accuracy WHERE source LIKE 'k\_%';
-- Within 5 units, every count was accurate.
SELECT source, counts, accurate, accuracy FROM kpi_count_accuracy(interval '1 day', 5) WHERE source LIKE 'k\_%';
-- Counts recorded before the window are outside it.
SELECT count(*) AS counts_in_no_time FROM kpi_count_accuracy(interval '0') WHERE source LIKE 'k\_%';
-- Snapshot feeds are counts too, and the source view shows their rejections. The POS says
-- the store had nothing an hour ago (before today's sales; correct), and names a store we
-- do not know.
CREATE TEMP TABLE pos_feed (gtin text, gln text, quantity text);
INSERT INTO pos_feed VALUES ('09506000400013', '0614141400027', '0'), ('09506000400013', '0614141400099', '1');
SELECT feed_id, rows_rejected, keys_counted, accuracy
  FROM ingest_snapshot('k_pos', 'pos_feed', 'on_hand', now() - interval '1 hour', 'POS-EOD-1', on_error => 'skip');
SELECT source, snapshots, rows_rejected, last_snapshot_accuracy FROM kpi_source WHERE source = 'k_pos';
SELECT source, location, counts, accurate, accuracy
  FROM kpi_count_accuracy WHERE source LIKE 'k\_%' ORDER BY source, location;

--
-- 3. Replication slot lag, for any slot (here test_decoding's; the inventory_sync plugin's
--    and a subscription's alike): the WAL the consumer has not confirmed, in bytes, and in
--    time while a consumer streams (a slot read through SQL functions has no time lag).
--
SELECT 'created' FROM pg_create_logical_replication_slot('kpi_feed', 'test_decoding');
SELECT pg_current_wal_lsn() AS wal_before \gset
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time)
SELECT 'receipt', 'k_wms', 'W-BATCH-A' || g, '09506000400013', '0614141400010', 1, now() - interval '1 minute'
  FROM generate_series(1, 50) g;
SELECT pg_current_wal_lsn() AS wal_mid \gset
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time)
SELECT 'receipt', 'k_wms', 'W-BATCH-B' || g, '09506000400013', '0614141400010', 1, now() - interval '1 minute'
  FROM generate_series(1, 50) g;
SELECT pg_current_wal_lsn() AS wal_after \gset
-- Nothing consumed yet: behind by both batches, all of it retained, no time lag known
-- (nobody streams from the slot).
SELECT slot_name, plugin, slot_type, active,
       lag_bytes >= pg_wal_lsn_diff(:'wal_after', :'wal_before') AS behind_by_both_batches,
       retained_bytes >= lag_bytes AS retains_it, lag_time IS NULL AS time_unknown
  FROM kpi_slot WHERE slot_name = 'kpi_feed';
-- The consumer confirms the first batch: behind by the second batch only.
SELECT end_lsn > :'wal_before'::pg_lsn AND end_lsn <= :'wal_mid'::pg_lsn AS moved_past_first_batch
  FROM pg_replication_slot_advance('kpi_feed', :'wal_mid');
SELECT slot_name,
       lag_bytes >= pg_wal_lsn_diff(:'wal_after', :'wal_mid') AS behind_by_second_batch,
       lag_bytes < pg_wal_lsn_diff(:'wal_after', :'wal_before') AS not_behind_by_both,
       lag_time IS NULL AS time_unknown
  FROM kpi_slot WHERE slot_name = 'kpi_feed';
-- What is left to read is the second batch, exactly: 50 postings.
SELECT count(*) FILTER (WHERE data LIKE 'table inventory_sync.ledger: INSERT:%W-BATCH-B%') AS batch_b_postings,
       count(*) FILTER (WHERE data LIKE 'table inventory_sync.ledger: INSERT:%W-BATCH-A%') AS batch_a_postings
  FROM pg_logical_slot_peek_changes('kpi_feed', NULL, NULL);
-- The consumer reads and confirms everything: the lag drops below the second batch's size.
SELECT count(*) > 50 AS decoded FROM pg_logical_slot_get_changes('kpi_feed', NULL, NULL);
SELECT slot_name, lag_bytes < pg_wal_lsn_diff(:'wal_after', :'wal_mid') AS caught_up
  FROM kpi_slot WHERE slot_name = 'kpi_feed';
SELECT pg_drop_replication_slot('kpi_feed');

--
-- 4. Inventory in transit: three trucks' worth shipped from the DC to Store Bay through the
--    in-transit location, with ETAs; 12 arrived. Arrivals close the oldest shipments first.
--
SELECT count(*) FROM transfer_out('k_wms', 'TO-1', '09506000400013', '0614141400010', '0614141400034', 10,
                                  now() - interval '1 hour', event_time => now() - interval '3 hours');
SELECT count(*) FROM transfer_out('k_wms', 'TO-2', '09506000400013', '0614141400010', '0614141400034', 5,
                                  now() - interval '30 minutes', event_time => now() - interval '2 hours');
SELECT count(*) FROM transfer_out('k_wms', 'TO-3', '09506000400013', '0614141400010', '0614141400034', 8,
                                  now() + interval '1 day', event_time => now() - interval '1 hour');
SELECT count(*) FROM transfer_in('k_pos', 'TI-1', '09506000400013', '0614141400034', '0614141400027', 12);
SELECT source_event_id, from_location, in_transit, shipped, open_quantity, overdue,
       eta - shipped_at AS eta_after_shipping
  FROM kpi_in_transit_shipment WHERE in_transit = '0614141400034' ORDER BY shipped_at;
SELECT item_name, in_transit_name, quantity, open_shipments, overdue_quantity, unattributed_quantity,
       round(extract(epoch FROM last_eta - first_eta) / 60) AS eta_spread_minutes
  FROM kpi_in_transit WHERE in_transit = '0614141400034';
-- A unit lost on the road: the newest shipment still accounts for what is left.
SELECT count(*) FROM adjust('k_wms', 'LOSS-1', '09506000400013', '0614141400034', -1, 'shrink');
SELECT source_event_id, shipped, open_quantity, overdue
  FROM kpi_in_transit_shipment WHERE in_transit = '0614141400034' ORDER BY shipped_at;
SELECT quantity, open_shipments, overdue_quantity, unattributed_quantity
  FROM kpi_in_transit WHERE in_transit = '0614141400034';
-- The rest arrives: nothing left in transit.
SELECT count(*) FROM transfer_in('k_pos', 'TI-2', '09506000400013', '0614141400034', '0614141400027', 10);
SELECT count(*) AS keys_in_transit FROM kpi_in_transit WHERE in_transit = '0614141400034';
SELECT count(*) AS shipments_in_transit FROM kpi_in_transit_shipment WHERE in_transit = '0614141400034';

--
-- 5. Readers read KPIs.
--
CREATE ROLE kpi_analyst LOGIN IN ROLE inventory_sync_reader;
SET ROLE kpi_analyst;
SELECT count(*) AS sources FROM kpi_source WHERE source LIKE 'k\_%';
SELECT count(*) AS keys_counted FROM kpi_count_accuracy WHERE source LIKE 'k\_%';
SELECT count(*) >= 0 AS slots_visible FROM kpi_slot;
SELECT count(*) AS shipments FROM kpi_in_transit_shipment WHERE in_transit = '0614141400034';
-- ... but do not write.
INSERT INTO snapshot_ingest (source, feed_id, kind, as_of, scope, absent, on_error, tolerance, tolerance_pct, feed)
VALUES ('k_pos', 'x', 'on_hand', now(), 'feed', 'keep', 'refuse', 0, 0, 'x');
RESET ROLE;
DROP ROLE kpi_analyst;

SELECT * FROM verify();
