-- since 0.2.0
-- ---------------------------------------------------------------------------
-- The variance report of an ingest, from the counts it posted.
-- ---------------------------------------------------------------------------

-- The counts an ingest posted, from the ledger and their after-states: what we had as
-- of the watermark (ours = the count - its delta), what the feed said, the difference.
-- Returned as query text with the range as constants, for EXECUTE: both tables are
-- range-scanned on posting_id, which only a plan that knows the range chooses.
CREATE FUNCTION _snapshot_counted_sql(source text, feed_id text, first_posting_id bigint, last_posting_id bigint)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format($q$
    SELECT l.posting_id, c.item_gtin, c.location, c.lot, c.bucket,
           l.base_quantity - c.delta AS ours, l.base_quantity AS theirs, c.delta AS difference
      FROM inventory_sync.ledger l
      JOIN inventory_sync.balance_change c ON c.posting_id = l.posting_id
     WHERE l.posting_id BETWEEN %1$s AND %2$s
       AND c.posting_id BETWEEN %1$s AND %2$s
       AND l.source = %3$L AND l.kind = 'count' AND l.reference = %4$L
       AND left(l.source_event_id, %5$s) = %6$L$q$,
           coalesce($3, 0), coalesce($4, -1), $1, $2, length($2) + 1, $2 || ':')
$$;
COMMENT ON FUNCTION _snapshot_counted_sql(text, text, bigint, bigint) IS
  'Internal: the query of the counts of one ingest (posting_id, key, ours as of the watermark, theirs, difference)';

CREATE FUNCTION snapshot_variance(ingest_id bigint, tolerance numeric DEFAULT NULL,
                                  tolerance_pct numeric DEFAULT NULL)
RETURNS TABLE (item_gtin gtin, location gln, lot lot_number, bucket text, ours numeric, theirs numeric,
               difference numeric, stated numeric, reserved numeric, within_tolerance boolean, status text,
               posting_id bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    run inventory_sync.snapshot_ingest;
    tol numeric;
    tol_pct numeric;
BEGIN
    SELECT * INTO run FROM inventory_sync.snapshot_ingest i WHERE i.ingest_id = snapshot_variance.ingest_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'snapshot ingest % does not exist', snapshot_variance.ingest_id
              USING ERRCODE = '23503', HINT = 'Ingests are listed in inventory_sync.snapshot_ingest.';
    END IF;
    tol := coalesce(snapshot_variance.tolerance, run.tolerance);
    tol_pct := coalesce(snapshot_variance.tolerance_pct, run.tolerance_pct);
    IF tol < 0 OR tol_pct < 0 THEN
        RAISE EXCEPTION 'tolerance % and tolerance_pct % must be zero or positive', tol, tol_pct
              USING ERRCODE = '22023';
    END IF;
    RETURN QUERY EXECUTE format($q$
    SELECT * FROM (
        SELECT v.item_gtin, v.location, v.lot, v.bucket, v.ours, v.theirs, v.difference,
               v.theirs - coalesce(k.reserved, 0), coalesce(k.reserved, 0),
               abs(v.difference) <= %L::numeric OR abs(v.difference) <= %L::numeric / 100 * abs(v.ours),
               CASE WHEN k.absent = 'zeroed' THEN 'zeroed' ELSE 'counted' END, v.posting_id
          FROM (%s) v
          LEFT JOIN inventory_sync.snapshot_key k
            ON k.ingest_id = %s AND k.item_gtin = v.item_gtin AND k.location = v.location
           AND k.bucket = v.bucket AND coalesce(k.lot::text, '') = coalesce(v.lot::text, '')
        UNION ALL
        SELECT k.item_gtin, k.location, k.lot, k.bucket, k.ours, NULL, NULL, NULL, 0, NULL, 'not_in_feed', NULL
          FROM inventory_sync.snapshot_key k
         WHERE k.ingest_id = %s AND k.absent = 'kept'
    ) r
    ORDER BY r.item_gtin, r.location, r.lot NULLS FIRST, r.bucket COLLATE "C"$q$,
        tol, tol_pct,
        inventory_sync._snapshot_counted_sql(run.source, run.feed_id, run.first_posting_id, run.last_posting_id),
        run.ingest_id, run.ingest_id);
END
$$;
COMMENT ON FUNCTION snapshot_variance(bigint, numeric, numeric) IS
  'Variance report of a snapshot ingest: per key ours (as of the watermark), theirs, difference, whether within tolerance (the ingest''s, or the one given), and keys the feed did not mention';
