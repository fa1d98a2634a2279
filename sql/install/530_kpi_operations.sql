-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Operations KPIs over a period of days (from_date to to_date, both included, days of
-- the session's time zone): stockout rate and inventory turnover per location and item
-- (and the stockout rate per channel and item), fulfilment cycle time and fill rate per
-- channel and item. The formulas are in docs/reference/traceability.md (KPIs).
--
-- Stock at the end of a day is read from the after-states (balance_change): per balance
-- key, the quantity after its last change before midnight. Item-location pairs without
-- any after-state before the end of the period have no days.
-- ---------------------------------------------------------------------------

-- End-of-day stock per item, location and day: all of it and the sellable part. Like the
-- other KPI functions it reads as the caller (a reader reads every table it needs).
CREATE FUNCTION kpi_daily_stock(from_date date, to_date date)
RETURNS TABLE (item_gtin gtin, location gln, day date, on_hand numeric, sellable numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    IF from_date IS NULL OR to_date IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN from_date IS NULL THEN 'from_date' ELSE 'to_date' END
              USING ERRCODE = 'null_value_not_allowed', HINT = 'Name the first and the last day of the period.';
    END IF;
    IF NOT isfinite(from_date) OR NOT isfinite(to_date) OR to_date < from_date OR to_date - from_date > 3660 THEN
        RAISE EXCEPTION 'invalid period % to %', from_date, to_date
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'The last day must not be before the first, and a period is at most ten years.';
    END IF;
    RETURN QUERY
    SELECT k.item_gtin, k.location, d.day::date,
           coalesce(pg_catalog.sum(q.quantity_after), 0),
           coalesce(pg_catalog.sum(q.quantity_after) FILTER (WHERE bk.sellable), 0)
      FROM (SELECT DISTINCT b.item_gtin, b.location FROM inventory_sync.balance b) k
     CROSS JOIN pg_catalog.generate_series(from_date::timestamp, to_date::timestamp, interval '1 day') d(day)
      JOIN inventory_sync.balance b ON b.item_gtin OPERATOR(inventory_sync.=) k.item_gtin
                                   AND b.location OPERATOR(inventory_sync.=) k.location
      JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket
      LEFT JOIN LATERAL (
          SELECT c.quantity_after FROM inventory_sync.balance_change c
           WHERE c.balance_id = b.balance_id AND c.event_time < (d.day + interval '1 day')::timestamptz
           ORDER BY c.event_time DESC, c.version DESC LIMIT 1) q ON true
     WHERE EXISTS (SELECT FROM inventory_sync.balance_change c0
                    WHERE c0.balance_id = b.balance_id AND c0.event_time < (to_date + 1)::timestamptz)
     GROUP BY k.item_gtin, k.location, d.day
    HAVING pg_catalog.bool_or(q.quantity_after IS NOT NULL);
END
$$;
COMMENT ON FUNCTION kpi_daily_stock(date, date) IS
  'End-of-day stock per item, location and day of a period, all buckets and the sellable ones, from the after-states (what the stockout and turnover KPIs are computed from)';

CREATE FUNCTION kpi_stockout_rate(from_date date, to_date date)
RETURNS TABLE (location gln, item_gtin gtin, days bigint, stockout_days bigint, stockout_rate numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT s.location, s.item_gtin, pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE s.sellable <= 0),
           pg_catalog.round(pg_catalog.count(*) FILTER (WHERE s.sellable <= 0)::numeric / pg_catalog.count(*), 4)
      FROM inventory_sync.kpi_daily_stock($1, $2) s
     GROUP BY s.location, s.item_gtin
     ORDER BY s.location, s.item_gtin
$$;
COMMENT ON FUNCTION kpi_stockout_rate(date, date) IS
  'Stockout rate per location and item: the share of days of the period that ended with no sellable stock (from the after-states)';

CREATE FUNCTION kpi_channel_stockout_rate(from_date date, to_date date)
RETURNS TABLE (channel text, item_gtin gtin, days bigint, stockout_days bigint, stockout_rate numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT c.channel, c.item_gtin, pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE c.sellable <= 0),
           pg_catalog.round(pg_catalog.count(*) FILTER (WHERE c.sellable <= 0)::numeric / pg_catalog.count(*), 4)
      FROM (SELECT cl.channel, s.item_gtin, s.day, pg_catalog.sum(s.sellable) AS sellable
              FROM inventory_sync.kpi_daily_stock($1, $2) s
              JOIN inventory_sync.channel_location cl ON cl.location OPERATOR(inventory_sync.=) s.location
             GROUP BY cl.channel, s.item_gtin, s.day) c
     GROUP BY c.channel, c.item_gtin
     ORDER BY c.channel, c.item_gtin
$$;
COMMENT ON FUNCTION kpi_channel_stockout_rate(date, date) IS
  'Stockout rate per channel and item: the share of days of the period that ended with no sellable stock at any of the channel''s locations';

CREATE FUNCTION kpi_inventory_turnover(from_date date, to_date date)
RETURNS TABLE (location gln, item_gtin gtin, issued numeric, average_on_hand numeric, turnover numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT s.location, s.item_gtin, coalesce(i.issued, 0), pg_catalog.round(pg_catalog.avg(s.on_hand), 4),
           CASE WHEN pg_catalog.avg(s.on_hand) > 0
                THEN pg_catalog.round(coalesce(i.issued, 0) / pg_catalog.avg(s.on_hand), 4) END
      FROM inventory_sync.kpi_daily_stock($1, $2) s
      LEFT JOIN LATERAL (
          SELECT -pg_catalog.sum(l.base_quantity) AS issued FROM inventory_sync.ledger l
           WHERE l.kind = 'issue' AND l.item_gtin OPERATOR(inventory_sync.=) s.item_gtin
             AND l.location OPERATOR(inventory_sync.=) s.location
             AND l.event_time >= $1::timestamptz AND l.event_time < ($2 + 1)::timestamptz) i ON true
     GROUP BY s.location, s.item_gtin, i.issued
     ORDER BY s.location, s.item_gtin
$$;
COMMENT ON FUNCTION kpi_inventory_turnover(date, date) IS
  'Inventory turnover per location and item: base units issued in the period over the average end-of-day on-hand (all buckets)';

CREATE FUNCTION kpi_fulfilment(from_date date, to_date date)
RETURNS TABLE (channel text, item_gtin gtin, reserved bigint, resolved bigint, reserved_quantity numeric,
               fulfilled_quantity numeric, fill_rate numeric, fulfilled bigint, cycle_time_p50 interval,
               cycle_time_p95 interval)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    PERFORM FROM inventory_sync.kpi_daily_stock(from_date, from_date) LIMIT 0;  -- the same argument checks
    IF to_date IS NULL OR to_date < from_date OR NOT isfinite(to_date) THEN
        RAISE EXCEPTION 'invalid period % to %', from_date, coalesce(to_date::text, 'NULL')
              USING ERRCODE = 'invalid_parameter_value', HINT = 'The last day must not be before the first.';
    END IF;
    RETURN QUERY
    SELECT r.channel, r.item_gtin, pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE r.status <> 'open'),
           pg_catalog.sum(r.quantity) FILTER (WHERE r.status <> 'open'),
           pg_catalog.sum(r.fulfilled_quantity) FILTER (WHERE r.status <> 'open'),
           pg_catalog.round(pg_catalog.sum(r.fulfilled_quantity) FILTER (WHERE r.status <> 'open')
                            / nullif(pg_catalog.sum(r.quantity) FILTER (WHERE r.status <> 'open'), 0), 4),
           pg_catalog.count(f.fulfilled_at),
           pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY f.fulfilled_at - r.created_at),
           pg_catalog.percentile_cont(0.95) WITHIN GROUP (ORDER BY f.fulfilled_at - r.created_at)
      FROM inventory_sync.reservation r
      -- reservation_change has no index by reservation: read the period's fulfilments once
      LEFT JOIN (
          SELECT c.reservation_id, pg_catalog.min(c.changed_at) AS fulfilled_at FROM inventory_sync.reservation_change c
           WHERE c.action = 'fulfil' AND c.changed_at >= from_date::timestamptz
           GROUP BY c.reservation_id) f ON f.reservation_id = r.reservation_id
     WHERE r.created_at >= from_date::timestamptz AND r.created_at < (to_date + 1)::timestamptz
     GROUP BY r.channel, r.item_gtin
     ORDER BY r.channel, r.item_gtin;
END
$$;
COMMENT ON FUNCTION kpi_fulfilment(date, date) IS
  'Per channel and item, for the reservations made in the period: fill rate (quantity fulfilled over quantity reserved, of the resolved ones) and order fulfilment cycle time (reserve to fulfil, p50 and p95)';
