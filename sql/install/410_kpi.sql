-- since 0.2.0
-- ---------------------------------------------------------------------------
-- KPI views for the operations analyst and the DBA: per source data latency, last
-- event, rejections and exceptions; per replication slot lag in bytes and time; the
-- accuracy rate from counts; inventory in transit.
--
-- Views with a time window read a default window; the function of the same name takes
-- it as an argument:  SELECT * FROM kpi_source;  SELECT * FROM kpi_source('15 minutes');
-- ---------------------------------------------------------------------------

-- Per-source windows and "the last posting of a source" must not scan the whole ledger.
CREATE INDEX ledger_source_recorded ON ledger (source, recorded_at);
COMMENT ON INDEX ledger_source_recorded IS 'Postings of a source by recorded time (kpi_source: latency over a window, last event)';
-- balance_change rows arrive in recorded_at order: a block-range index is enough.
CREATE INDEX balance_change_recorded ON balance_change USING brin (recorded_at);
COMMENT ON INDEX balance_change_recorded IS 'After-states by recorded time (kpi_count_accuracy over a window)';

-- ---------------------------------------------------------------------------
-- Sources: latency, last event, rejections, exceptions.
-- ---------------------------------------------------------------------------
CREATE FUNCTION kpi_source(time_window interval)
RETURNS TABLE (source text, source_kind text, postings bigint, latency_p50 interval, latency_p95 interval,
               latency_max interval, ahead_of_clock bigint, last_recorded_at timestamptz,
               last_event_time timestamptz, snapshots bigint, rows_rejected bigint, last_snapshot_accuracy numeric,
               exceptions bigint, open_exceptions bigint, time_window interval)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT s.source, s.kind, w.postings, w.p50, w.p95, w.max, w.ahead, last.recorded_at, last.event_time,
           snap.n, snap.rejected, snap.accuracy, exc.raised, exc.open, $1
      FROM inventory_sync.source s
      -- latency = recorded_at - event_time of the postings recorded in the window; an event
      -- time of -infinity or infinity has no latency (and must not fail the view for everyone)
      CROSS JOIN LATERAL (
          SELECT count(*) AS postings,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY l.recorded_at - l.event_time)
                     FILTER (WHERE isfinite(l.event_time)) AS p50,
                 percentile_cont(0.95) WITHIN GROUP (ORDER BY l.recorded_at - l.event_time)
                     FILTER (WHERE isfinite(l.event_time)) AS p95,
                 max(l.recorded_at - l.event_time) FILTER (WHERE isfinite(l.event_time)) AS max,
                 count(*) FILTER (WHERE l.event_time > l.recorded_at) AS ahead
            FROM inventory_sync.ledger l
           WHERE l.source = s.source AND l.recorded_at >= now() - $1) w
      LEFT JOIN LATERAL (
          SELECT l.recorded_at, l.event_time FROM inventory_sync.ledger l
           WHERE l.source = s.source ORDER BY l.recorded_at DESC LIMIT 1) last ON true
      CROSS JOIN LATERAL (
          SELECT count(*) AS n, coalesce(sum(i.rows_rejected), 0) AS rejected,
                 (array_agg(i.accuracy ORDER BY i.finished_at DESC))[1] AS accuracy
            FROM inventory_sync.snapshot_ingest i
           WHERE i.source = s.source AND i.finished_at >= now() - $1) snap
      CROSS JOIN LATERAL (
          SELECT count(*) FILTER (WHERE e.raised_at >= now() - $1) AS raised,
                 count(*) FILTER (WHERE e.resolved_at IS NULL) AS open
            FROM inventory_sync.exception e
            JOIN inventory_sync.ledger l ON l.posting_id = e.posting_id
           WHERE l.source = s.source
             AND (e.resolved_at IS NULL OR e.raised_at >= now() - $1)) exc
$$;
COMMENT ON FUNCTION kpi_source(interval) IS
  'Per source over a time window: postings, data latency (recorded_at - event_time: p50, p95, max), events stamped ahead of the database clock, last posting, snapshot feeds ingested, rows they rejected and the latest accuracy, exceptions raised and still open';

CREATE VIEW kpi_source AS SELECT * FROM inventory_sync.kpi_source(interval '1 hour');
COMMENT ON VIEW kpi_source IS 'kpi_source(interval) over the last hour';

-- ---------------------------------------------------------------------------
-- Replication slots: how far behind each consumer is.
-- ---------------------------------------------------------------------------
CREATE VIEW kpi_slot AS
SELECT s.slot_name, s.plugin, s.slot_type, s.database, s.active, s.active_pid,
       s.confirmed_flush_lsn, s.restart_lsn, w.lsn AS current_lsn,
       pg_catalog.pg_wal_lsn_diff(w.lsn, coalesce(s.confirmed_flush_lsn, s.restart_lsn))::bigint AS lag_bytes,
       pg_catalog.pg_wal_lsn_diff(w.lsn, s.restart_lsn)::bigint AS retained_bytes,
       CASE WHEN pg_catalog.pg_wal_lsn_diff(w.lsn, coalesce(s.confirmed_flush_lsn, s.restart_lsn)) <= 0
            THEN interval '0'
            ELSE coalesce(r.flush_lag, r.write_lag) END AS lag_time,
       r.write_lag, r.flush_lag, r.replay_lag, r.reply_time, s.wal_status
  FROM pg_catalog.pg_replication_slots s
 CROSS JOIN (SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
                         ELSE pg_catalog.pg_current_wal_lsn() END AS lsn) w
  LEFT JOIN pg_catalog.pg_stat_replication r ON r.pid = s.active_pid;
COMMENT ON VIEW kpi_slot IS
  'Per replication slot (any plugin): lag in bytes (WAL written but not confirmed by the consumer), WAL retained, and lag in time (0 when caught up; while a consumer streams, the flush lag measured from its feedback; NULL for a slot nobody streams from)';

-- ---------------------------------------------------------------------------
-- Delivery latency: how long after a commit each consumer of the feed has it. The
-- walsender's lag tracker notes when each stretch of WAL was flushed here and, at every
-- reply, how long ago the position the consumer reported was flushed: that is the time from
-- commit to the consumer, measured by the server on one clock. A logical consumer reports
-- a position once it has applied (and, by the feed's protocol, persisted) everything before
-- it, so the confirmed delay is the latency the business sees.
-- ---------------------------------------------------------------------------
CREATE VIEW kpi_feed_delay AS
SELECT s.slot_name, s.plugin, s.database, r.application_name AS consumer, r.client_addr,
       CASE WHEN r.pid IS NOT NULL THEN 'streaming'
            WHEN s.active THEN 'reading'
            ELSE 'disconnected' END AS state,
       l.lag_bytes,
       CASE WHEN l.lag_bytes <= 0 THEN interval '0'
            WHEN r.pid IS NOT NULL THEN coalesce(r.flush_lag, r.write_lag, interval '0') END AS delay,
       r.write_lag AS received_delay,
       r.flush_lag AS confirmed_delay,
       pg_catalog.now() OPERATOR(pg_catalog.-) r.reply_time AS last_reply_age
  FROM pg_catalog.pg_replication_slots s
 CROSS JOIN LATERAL (SELECT pg_catalog.pg_wal_lsn_diff(
                              CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
                                   ELSE pg_catalog.pg_current_wal_lsn() END,
                              s.confirmed_flush_lsn)::bigint AS lag_bytes) l
  LEFT JOIN pg_catalog.pg_stat_replication r ON r.pid OPERATOR(pg_catalog.=) s.active_pid
 WHERE s.slot_type OPERATOR(pg_catalog.=) 'logical';
COMMENT ON VIEW kpi_feed_delay IS
  'Per consumer of a logical slot (the feed, native subscriptions, any plugin): state (streaming, reading through the SQL functions, disconnected), WAL not yet confirmed, and delay: how long after its commit the consumer had the latest position it confirmed (0 when caught up; the walsender''s flush lag while streaming; NULL when nobody streams and the slot is behind), with the received delay and the age of the last reply';

-- ---------------------------------------------------------------------------
-- Accuracy rate from counts: a count whose delta is zero (or within tolerance) found
-- the record accurate.
-- ---------------------------------------------------------------------------
CREATE FUNCTION kpi_count_accuracy(time_window interval, tolerance numeric DEFAULT 0)
RETURNS TABLE (source text, location gln, counts bigint, accurate bigint, accuracy numeric,
               absolute_variance numeric, net_variance numeric, last_count_recorded_at timestamptz,
               time_window interval)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT c.source, c.location, count(*), count(*) FILTER (WHERE abs(c.delta) <= $2),
           round((count(*) FILTER (WHERE abs(c.delta) <= $2))::numeric / count(*), 4),
           sum(abs(c.delta)), sum(c.delta), max(c.recorded_at), $1
      FROM inventory_sync.balance_change c
     WHERE c.kind = 'count' AND c.recorded_at >= now() - $1
     GROUP BY c.source, c.location
$$;
COMMENT ON FUNCTION kpi_count_accuracy(interval, numeric) IS
  'Per source and location over a time window: counts recorded, how many found the balance accurate (|delta| <= tolerance), the accuracy rate, and the variance they corrected';

CREATE VIEW kpi_count_accuracy AS SELECT * FROM inventory_sync.kpi_count_accuracy(interval '30 days', 0);
COMMENT ON VIEW kpi_count_accuracy IS 'kpi_count_accuracy(interval, numeric) over the last 30 days, exact (tolerance 0)';

-- ---------------------------------------------------------------------------
-- Inventory in transit.
--
-- Stock in transit sits at in_transit locations; it got there by transfer_out postings
-- (with an ETA) and leaves by transfer_in. The ledger does not pair an arrival with a
-- shipment, so arrivals are taken to close the oldest shipments first: what is still in
-- transit on a key is its newest shipments, up to the key's balance.
-- ---------------------------------------------------------------------------
CREATE VIEW kpi_in_transit_shipment AS
SELECT s.posting_id, b.item_gtin, l.location AS from_location, b.location AS in_transit, b.lot, b.bucket,
       s.shipped, s.open_quantity, l.eta, l.eta < now() AS overdue, l.event_time AS shipped_at,
       l.source, l.source_event_id, l.reference
  FROM inventory_sync.balance b
  JOIN inventory_sync.location loc ON loc.gln OPERATOR(inventory_sync.=) b.location AND loc.kind = 'in_transit'
 CROSS JOIN LATERAL (
       SELECT x.posting_id, x.delta AS shipped, least(x.delta, b.quantity - x.newer) AS open_quantity
         FROM (SELECT c.posting_id, c.delta,
                      coalesce(sum(c.delta) OVER (ORDER BY c.event_time DESC, c.posting_id DESC
                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS newer
                 FROM inventory_sync.balance_change c
                WHERE c.balance_id = b.balance_id AND c.kind = 'transfer_out' AND c.delta > 0) x
        WHERE x.newer < b.quantity) s
  JOIN inventory_sync.ledger l ON l.posting_id = s.posting_id
 WHERE b.quantity > 0;
COMMENT ON VIEW kpi_in_transit_shipment IS
  'Shipments still in transit: per transfer_out posting, what is still open (arrivals close the oldest shipments first), its ETA and whether it is overdue';

CREATE VIEW kpi_in_transit AS
SELECT b.item_gtin, i.name AS item_name, b.location AS in_transit, loc.name AS in_transit_name, b.lot, b.bucket,
       b.quantity, coalesce(s.shipments, 0) AS open_shipments, s.first_eta, s.last_eta,
       coalesce(s.overdue_quantity, 0) AS overdue_quantity,
       b.quantity - coalesce(s.open_quantity, 0) AS unattributed_quantity, b.version, b.updated_at
  FROM inventory_sync.balance b
  JOIN inventory_sync.location loc ON loc.gln OPERATOR(inventory_sync.=) b.location AND loc.kind = 'in_transit'
  JOIN inventory_sync.item i ON i.gtin OPERATOR(inventory_sync.=) b.item_gtin
  LEFT JOIN (SELECT t.item_gtin, t.in_transit, t.lot, t.bucket, count(*) AS shipments, min(t.eta) AS first_eta,
                    max(t.eta) AS last_eta, sum(t.open_quantity) AS open_quantity,
                    sum(t.open_quantity) FILTER (WHERE t.overdue) AS overdue_quantity
               FROM inventory_sync.kpi_in_transit_shipment t
              GROUP BY 1, 2, 3, 4) s
    ON s.item_gtin OPERATOR(inventory_sync.=) b.item_gtin AND s.in_transit OPERATOR(inventory_sync.=) b.location
   AND s.bucket = b.bucket AND (s.lot OPERATOR(inventory_sync.=) b.lot OR (s.lot IS NULL AND b.lot IS NULL))
 WHERE b.quantity <> 0;
COMMENT ON VIEW kpi_in_transit IS
  'Inventory in transit per item, in-transit location, lot and bucket: quantity, open shipments, first and last ETA, overdue quantity, and what no shipment accounts for (stock counted or adjusted in transit)';

-- ---------------------------------------------------------------------------
-- Rights: reading KPIs is for readers.
-- ---------------------------------------------------------------------------
GRANT SELECT ON kpi_source, kpi_slot, kpi_feed_delay, kpi_count_accuracy, kpi_in_transit_shipment, kpi_in_transit
   TO inventory_sync_reader;
