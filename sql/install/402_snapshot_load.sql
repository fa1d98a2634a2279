-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Loading and validating a feed (shared by ingest_snapshot and check_snapshot).
-- ---------------------------------------------------------------------------

-- A timestamp in text, or NULL when it is not one (never raises). Feeds carry few
-- distinct as_of values, so this runs once per distinct value. PARALLEL UNSAFE: its
-- EXCEPTION block starts a subtransaction, which a parallel worker may not.
CREATE FUNCTION _snapshot_time(value text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN value::timestamptz;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _snapshot_time(text) IS 'Internal: text to timestamptz, NULL when it is not a timestamp (never raises)';

-- Reads the feed table as the caller into pg_temp.inventory_sync_snapshot_raw: one row per
-- feed row, every value as stated (text: a malformed value is a problem to list, not an
-- error). 42703 when a column a feed must have is missing. Returns the number of rows.
CREATE FUNCTION _snapshot_read_raw(feed regclass)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
-- a scan of the feed table starts at its first block, so row_number() is the row's position
SET synchronize_seqscans = off
AS $$
DECLARE
    cols text[];
    col_gln text;
    line_expr text;
    n bigint;
    missing text;
BEGIN
    SELECT array_agg(a.attname::text) INTO cols
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = feed AND a.attnum > 0 AND NOT a.attisdropped;
    col_gln := CASE WHEN 'gln' = ANY (cols) THEN 'gln' WHEN 'location' = ANY (cols) THEN 'location' END;
    missing := CASE WHEN NOT 'gtin' = ANY (cols) THEN 'gtin'
                    WHEN col_gln IS NULL THEN 'gln'
                    WHEN NOT 'quantity' = ANY (cols) THEN 'quantity' END;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'feed % has no column "%"', feed, missing
              USING ERRCODE = '42703',
                    HINT = 'A feed has the columns gtin, gln (or location) and quantity, and optionally lot, bucket, as_of and line.';
    END IF;
    line_expr := CASE WHEN 'line' = ANY (cols) THEN '"line"::bigint'
                      ELSE 'pg_catalog.row_number() OVER ()' END;

    IF to_regclass('pg_temp.inventory_sync_snapshot_raw') IS NOT NULL THEN
        DROP TABLE pg_temp.inventory_sync_snapshot_raw;
    END IF;
    IF to_regclass('pg_temp.inventory_sync_snapshot_rows') IS NOT NULL THEN
        DROP TABLE pg_temp.inventory_sync_snapshot_rows;
    END IF;
    EXECUTE format('CREATE TEMP TABLE inventory_sync_snapshot_raw ON COMMIT DROP AS
                    SELECT %s AS line, %I::text AS gtin, %I::text AS gln, %s AS lot, %s AS bucket,
                           %I::text AS quantity, %s AS as_of
                      FROM %s',
                   line_expr, 'gtin', col_gln,
                   CASE WHEN 'lot' = ANY (cols) THEN '"lot"::text' ELSE 'NULL::text' END,
                   CASE WHEN 'bucket' = ANY (cols) THEN '"bucket"::text' ELSE 'NULL::text' END,
                   'quantity',
                   CASE WHEN 'as_of' = ANY (cols) THEN '"as_of"::text' ELSE 'NULL::text' END,
                   feed);
    GET DIAGNOSTICS n = ROW_COUNT;
    ANALYZE pg_temp.inventory_sync_snapshot_raw;
    RETURN n;
END
$$;
COMMENT ON FUNCTION _snapshot_read_raw(regclass) IS
  'Internal: reads a snapshot feed table as stated (text) into pg_temp.inventory_sync_snapshot_raw; returns the number of rows';

-- Validates the rows read into pg_temp.inventory_sync_snapshot_rows: the key resolved
-- against master data, the quantity in base units, the effective as_of, and every
-- problem found (problems = '{}': good), in one statement over all the rows.
CREATE FUNCTION _snapshot_validate(src text, fkind text, fas_of timestamptz, now_ timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
-- a feed is validated in a few sorts and hashes of all its rows: give them memory
SET work_mem = '128MB'
AS $$
#variable_conflict use_column
BEGIN
    PERFORM inventory_sync._snapshot_work_table('inventory_sync_snapshot_raw');
    CREATE TEMP TABLE inventory_sync_snapshot_rows ON COMMIT DROP AS
    WITH times AS (
        -- per-row as_of values, parsed once per distinct value
        SELECT d.as_of, inventory_sync._snapshot_time(d.as_of) AS t
          FROM (SELECT DISTINCT r.as_of FROM pg_temp.inventory_sync_snapshot_raw r WHERE r.as_of IS NOT NULL) d
    ),
    typed AS MATERIALIZED (
        SELECT r.line, r.gtin, r.gln, r.lot, r.bucket, r.quantity, r.as_of,
               CASE WHEN inventory_sync.gtin_is_valid(r.gtin) THEN inventory_sync.gtin(r.gtin) END AS g,
               CASE WHEN inventory_sync.gln_is_valid(r.gln) THEN inventory_sync.gln(r.gln) END AS l,
               nullif(btrim(r.lot), '') AS lot_text,
               coalesce(nullif(btrim(r.bucket), ''), 'released') AS bkt,
               CASE WHEN r.quantity ~ '^\s*[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})([eE][+-]?\d{1,2})?\s*$'
                    THEN r.quantity::numeric END AS q,
               CASE WHEN r.as_of IS NULL THEN fas_of ELSE tm.t END AS at
          FROM pg_temp.inventory_sync_snapshot_raw r
          LEFT JOIN times tm ON tm.as_of = r.as_of
    ),
    resolved AS (
        SELECT t.*,
               CASE WHEN t.lot_text IS NOT NULL AND inventory_sync.lot_number_is_valid(t.lot_text)
                    THEN inventory_sync.lot_number(t.lot_text) END AS lt,
               bi.gtin AS item_gtin, bi.lot_tracked, bi.serial_tracked,
               CASE WHEN i.gtin IS NOT NULL THEN 1::numeric ELSE p.quantity END AS factor,
               CASE WHEN i.gtin IS NOT NULL THEN u.whole_numbers ELSE true END AS whole_stated,
               u.whole_numbers AS whole_base, u.unit AS base_unit,
               loc.gln AS loc_gln, loc.strict, loc.enforce_ownership,
               b.bucket AS bucket_found, b.sellable,
               coalesce(o1.source, o0.source) AS owner
          FROM typed t
          LEFT JOIN inventory_sync.item i ON i.gtin = t.g
          LEFT JOIN inventory_sync.item_pack p ON p.pack_gtin = t.g
          LEFT JOIN inventory_sync.item bi ON bi.gtin = coalesce(i.gtin, p.item_gtin)
          LEFT JOIN inventory_sync.unit u ON u.unit = bi.base_unit
          LEFT JOIN inventory_sync.location loc ON loc.gln = t.l
          LEFT JOIN inventory_sync.bucket b ON b.bucket = t.bkt
          LEFT JOIN inventory_sync.ownership o1 ON o1.location = t.l AND o1.bucket = t.bkt
          LEFT JOIN inventory_sync.ownership o0 ON o0.location = t.l AND o0.bucket IS NULL
    ),
    keyed AS (
        SELECT r.*, bal.balance_id, bal.quantity AS bal_quantity, bal.last_count_at,
               -- the key is known when item, location, bucket and lot all resolved
               (r.item_gtin IS NOT NULL AND r.loc_gln IS NOT NULL AND r.bucket_found IS NOT NULL
                AND (r.lot_text IS NULL OR r.lt IS NOT NULL)) AS key_known
          FROM resolved r
          LEFT JOIN inventory_sync.balance bal
            ON bal.item_gtin = r.item_gtin AND bal.location = r.loc_gln AND bal.bucket = r.bkt
           AND coalesce(bal.lot::text, '') = coalesce(r.lt::text, '')
    ),
    ordered AS (
        -- the engine's key order (item, location, no lot first, lot bytes, bucket bytes);
        -- neighbours in it with the same key are the same key twice
        SELECT k.*,
               k.key_known AND (
                 lag(ROW(k.key_known, k.item_gtin, k.loc_gln, k.lt, k.bkt)) OVER w
                     IS NOT DISTINCT FROM ROW(k.key_known, k.item_gtin, k.loc_gln, k.lt, k.bkt)
                 OR lead(ROW(k.key_known, k.item_gtin, k.loc_gln, k.lt, k.bkt)) OVER w
                     IS NOT DISTINCT FROM ROW(k.key_known, k.item_gtin, k.loc_gln, k.lt, k.bkt)
               ) AS duplicate
          FROM keyed k
        WINDOW w AS (ORDER BY k.key_known, k.item_gtin, k.loc_gln, k.lt NULLS FIRST, k.bkt COLLATE "C", k.line)
    )
    SELECT o.line, o.gtin, o.gln, o.lot, o.bucket, o.quantity, o.as_of,
           o.item_gtin, o.loc_gln AS location, o.lt AS lot_number, o.bkt AS bucket_name, o.sellable,
           o.q * o.factor AS base_quantity, o.at AS effective_as_of, o.key_known, o.duplicate,
           o.balance_id,
           array_remove(ARRAY[
             CASE WHEN o.gtin IS NULL THEN 'gtin is missing'
                  WHEN o.g IS NULL THEN format('gtin "%s" is not a valid GTIN', o.gtin)
                  WHEN o.item_gtin IS NULL THEN format('unknown item: gtin %s', o.g) END,
             CASE WHEN o.gln IS NULL THEN 'gln is missing'
                  WHEN o.l IS NULL THEN format('gln "%s" is not a valid GLN', o.gln)
                  WHEN o.loc_gln IS NULL THEN format('unknown location: gln %s', o.l) END,
             CASE WHEN o.bucket_found IS NULL THEN format('unknown bucket "%s"', o.bkt)
                  WHEN fkind = 'available' AND NOT o.sellable
                       THEN format('bucket "%s" is not sellable: an available feed states sellable stock only', o.bkt) END,
             CASE WHEN o.lot_text IS NOT NULL AND o.lt IS NULL THEN format('lot "%s" is not a valid GS1 lot number', o.lot_text)
                  WHEN o.lot_tracked AND o.lt IS NULL THEN format('item %s is lot-tracked: the row needs a lot', o.item_gtin)
                  WHEN NOT o.lot_tracked AND o.lt IS NOT NULL
                       THEN format('item %s is not lot-tracked: the row must not name a lot', o.item_gtin) END,
             CASE WHEN o.serial_tracked
                  THEN format('item %s is serial-tracked: count its serials with count_stock()', o.item_gtin) END,
             CASE WHEN o.quantity IS NULL THEN 'quantity is missing'
                  WHEN o.q IS NULL THEN format('quantity "%s" is not a number', o.quantity)
                  WHEN o.q < 0 THEN format('quantity %s is negative', o.q)
                  WHEN o.whole_stated AND o.q % 1 <> 0
                       THEN format('quantity %s is not a whole number of %s', o.q,
                                   CASE WHEN o.factor = 1 THEN o.base_unit ELSE 'packs' END)
                  WHEN o.whole_base AND (o.q * o.factor) % 1 <> 0
                       THEN format('quantity %s is %s %s: not a whole number of base units', o.q, o.q * o.factor, o.base_unit) END,
             CASE WHEN o.as_of IS NOT NULL AND o.at IS NULL THEN format('as_of "%s" is not a timestamp', o.as_of)
                  WHEN o.at > now_ THEN format('as_of %s is in the future', o.at) END,
             CASE WHEN o.enforce_ownership AND o.owner IS NOT NULL AND o.owner <> src
                  THEN format('source "%s" is not the system of record for bucket "%s" at location %s (the owner is "%s")',
                              src, o.bkt, o.loc_gln, o.owner) END,
             CASE WHEN o.last_count_at > o.at
                  THEN format('stale: the key was counted as of %s, later than this row''s %s', o.last_count_at, o.at) END,
             -- a strict location refuses a count that leaves the balance negative once the
             -- postings after the watermark are applied again
             CASE WHEN o.strict AND o.q >= 0 AND o.balance_id IS NOT NULL
                       AND o.q * o.factor + (SELECT coalesce(sum(c.delta), 0) FROM inventory_sync.balance_change c
                                              WHERE c.balance_id = o.balance_id AND c.event_time > o.at) < 0
                  THEN format('location %s is strict: counting %s as of %s leaves the balance at %s', o.loc_gln,
                              o.q * o.factor, o.at,
                              o.q * o.factor + (SELECT coalesce(sum(c.delta), 0) FROM inventory_sync.balance_change c
                                                 WHERE c.balance_id = o.balance_id AND c.event_time > o.at)) END,
             CASE WHEN o.duplicate THEN 'the same key is on another line' END
           ]::text[], NULL) AS problems
      FROM ordered o;
    ANALYZE pg_temp.inventory_sync_snapshot_rows;
END
$$;
COMMENT ON FUNCTION _snapshot_validate(text, text, timestamptz, timestamptz) IS
  'Internal: resolves and validates the rows of a snapshot feed into pg_temp.inventory_sync_snapshot_rows, with every problem of every row';

-- A key stated on several lines: each of them names the others.
CREATE FUNCTION _snapshot_name_duplicates()
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    PERFORM inventory_sync._snapshot_work_table('inventory_sync_snapshot_rows');
    UPDATE pg_temp.inventory_sync_snapshot_rows r
       SET problems = array_replace(r.problems, 'the same key is on another line',
                                    format('the same key (gtin %s, gln %s, lot %s, bucket "%s") is also on line %s',
                                           r.item_gtin, r.location, coalesce(r.lot_number::text, '-'), r.bucket_name,
                                           (SELECT string_agg(o.line::text, ', ' ORDER BY o.line)
                                              FROM pg_temp.inventory_sync_snapshot_rows o
                                             WHERE o.duplicate AND o.line <> r.line
                                               AND o.item_gtin = r.item_gtin AND o.location = r.location
                                               AND o.bucket_name = r.bucket_name
                                               AND o.lot_number IS NOT DISTINCT FROM r.lot_number)))
     WHERE r.duplicate;
END
$$;
COMMENT ON FUNCTION _snapshot_name_duplicates() IS
  'Internal: a key a snapshot feed states on several lines: the problem of each line names the others';

-- Reads the feed into pg_temp.inventory_sync_snapshot_rows: one row per feed row with
-- its values as stated (text), the key resolved against master data, the quantity in
-- base units, the effective as_of, and every problem found (problems = '{}': good).
-- Returns the number of rows read.
CREATE FUNCTION _snapshot_load(source text, feed regclass, kind text, as_of timestamptz, now_ timestamptz)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
-- a feed is validated in a few sorts and hashes of all its rows: give them memory; and a
-- scan of the feed table starts at its first block, so row_number() is the row's position
SET work_mem = '128MB'
SET synchronize_seqscans = off
AS $$
DECLARE
    n bigint := inventory_sync._snapshot_read_raw(feed);
BEGIN
    PERFORM inventory_sync._snapshot_validate(source, kind, as_of, now_);
    PERFORM inventory_sync._snapshot_name_duplicates();
    RETURN n;
END
$$;
COMMENT ON FUNCTION _snapshot_load(text, regclass, text, timestamptz, timestamptz) IS
  'Internal: reads and validates a snapshot feed into pg_temp.inventory_sync_snapshot_rows (every problem of every row); returns the number of rows';

CREATE FUNCTION _snapshot_check_args(source text, kind text, as_of timestamptz, now_ timestamptz)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    IF source IS NULL OR NOT EXISTS (SELECT FROM inventory_sync.source s WHERE s.source = _snapshot_check_args.source) THEN
        RAISE EXCEPTION 'unknown source "%"', source
              USING ERRCODE = '23503', HINT = 'Sources are listed in inventory_sync.source.';
    END IF;
    IF kind IS NULL OR kind NOT IN ('on_hand', 'available') THEN
        RAISE EXCEPTION 'snapshot kind must be on_hand or available, not %', coalesce(quote_literal(kind), 'NULL')
              USING ERRCODE = '22023',
                    HINT = 'on_hand: physical stock; available: stock net of the source''s own commitments.';
    END IF;
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'a snapshot needs the time it is as of (as_of)' USING ERRCODE = '22004';
    END IF;
    IF as_of > now_ THEN
        RAISE EXCEPTION 'snapshot of source "%" is as of %, which is in the future', source, as_of
              USING ERRCODE = 'IS081',
                    DETAIL = format('The database time is %s.', now_),
                    HINT = 'A snapshot states stock at a time that has passed; check the feed''s time zone.';
    END IF;
END
$$;
COMMENT ON FUNCTION _snapshot_check_args(text, text, timestamptz, timestamptz) IS
  'Internal: validates the arguments a snapshot feed is read with';

-- ---------------------------------------------------------------------------
-- check_snapshot: the bad rows of a feed, as rows, without posting anything.
-- ---------------------------------------------------------------------------
CREATE FUNCTION check_snapshot(source text, feed regclass, kind text DEFAULT 'on_hand',
                               as_of timestamptz DEFAULT now())
RETURNS TABLE (line bigint, gtin text, gln text, lot text, bucket text, quantity text, row_as_of text,
               problems text[])
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    now_ timestamptz := clock_timestamp();
BEGIN
    PERFORM inventory_sync._snapshot_check_args(check_snapshot.source, check_snapshot.kind, check_snapshot.as_of, now_);
    IF feed IS NULL THEN
        RAISE EXCEPTION 'a snapshot needs a feed table' USING ERRCODE = '22004';
    END IF;
    PERFORM inventory_sync._snapshot_load(check_snapshot.source, feed, check_snapshot.kind, check_snapshot.as_of, now_);
    RETURN QUERY
        SELECT r.line, r.gtin, r.gln, r.lot, r.bucket, r.quantity, r.as_of, r.problems
          FROM pg_temp.inventory_sync_snapshot_rows r
         WHERE cardinality(r.problems) > 0
         ORDER BY r.line;
    DROP TABLE pg_temp.inventory_sync_snapshot_rows, pg_temp.inventory_sync_snapshot_raw;
END
$$;
COMMENT ON FUNCTION check_snapshot(text, regclass, text, timestamptz) IS
  'Validates a snapshot feed as ingest_snapshot would, posts nothing: returns every bad row with every problem found';
