-- since 0.2.0
-- ---------------------------------------------------------------------------
-- ingest_snapshot: a whole feed as counts through the posting engine, as the caller.
--
-- The steps, each a function below and each run as the caller (so each is executable by
-- the roles that may ingest): check the arguments; start the run's record (a feed id
-- names one feed: ingesting it again returns the first run); 1. read and validate every
-- row (_snapshot_load), refusing the feed or recording its bad rows; 2. find the keys in
-- scope the feed does not mention; 3. build the counts to post, in the engine's key
-- order; 4. for an availability feed, add our open reservations back; note what the
-- ledger alone cannot tell later; 5. post the counts chunk by chunk; 6. measure the
-- accuracy and finish the run. The steps hand work over in temporary tables
-- (pg_temp.inventory_sync_snapshot_*), which the ingest drops when it is done.
-- ---------------------------------------------------------------------------

-- A step of an ingest needs the work tables of the steps before it.
CREATE FUNCTION _snapshot_work_table(name text)
RETURNS void
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    IF to_regclass('pg_temp.' || quote_ident(name)) IS NULL THEN
        RAISE EXCEPTION 'snapshot work table pg_temp.% does not exist', quote_ident(name)
              USING ERRCODE = '55000', HINT = 'Snapshot feeds are ingested with inventory_sync.ingest_snapshot().';
    END IF;
END
$$;
COMMENT ON FUNCTION _snapshot_work_table(text) IS
  'Internal: refuses (55000) a step of an ingest called without the work table an earlier step makes';

-- The ingest's own options, and the caller's right to post as the source.
CREATE FUNCTION _snapshot_check_ingest_args(src text, fid text, fabsent text, fscope text, fon_error text,
                                            tol numeric, tol_pct numeric, chunk_size integer)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF fabsent IS NULL OR fabsent NOT IN ('keep', 'zero') THEN
        RAISE EXCEPTION 'absent must be keep or zero, not %', coalesce(quote_literal(fabsent), 'NULL')
              USING ERRCODE = '22023',
                    HINT = 'keep leaves keys the feed does not mention alone; zero counts them as zero (a full hard reset).';
    END IF;
    IF fscope IS NULL OR fscope NOT IN ('feed', 'owned') THEN
        RAISE EXCEPTION 'scope must be feed or owned, not %', coalesce(quote_literal(fscope), 'NULL')
              USING ERRCODE = '22023',
                    HINT = 'feed: the (location, bucket) pairs the feed has rows for; owned: everything the source is system of record for.';
    END IF;
    IF fon_error IS NULL OR fon_error NOT IN ('refuse', 'skip') THEN
        RAISE EXCEPTION 'on_error must be refuse or skip, not %', coalesce(quote_literal(fon_error), 'NULL')
              USING ERRCODE = '22023';
    END IF;
    IF tol IS NULL OR tol < 0 OR tol = 'NaN' OR tol_pct IS NULL OR tol_pct < 0 OR tol_pct = 'NaN' THEN
        RAISE EXCEPTION 'tolerance % and tolerance_pct % must be zero or positive', tol, tol_pct
              USING ERRCODE = '22023';
    END IF;
    IF chunk_size IS NULL OR chunk_size < 1 THEN
        RAISE EXCEPTION 'chunk_size must be at least 1, not %', chunk_size USING ERRCODE = '22023';
    END IF;
    IF fid IS NOT NULL AND (length(fid) NOT BETWEEN 1 AND 100) THEN
        RAISE EXCEPTION 'feed_id must have 1 to 100 characters, not %', length(fid) USING ERRCODE = '22023';
    END IF;
    IF NOT inventory_sync.may_post_as(src) THEN
        RAISE EXCEPTION 'role "%" may not post as source "%"', current_user, src
              USING ERRCODE = '42501',
                    DETAIL = format('Source "%s" is bound to role "%s".', src,
                                    (SELECT s.role FROM inventory_sync.source s WHERE s.source = src)),
                    HINT = format('Ingest as a member of role "%s".',
                                  (SELECT s.role FROM inventory_sync.source s WHERE s.source = src));
    END IF;
END
$$;
COMMENT ON FUNCTION _snapshot_check_ingest_args(text, text, text, text, text, numeric, numeric, integer) IS
  'Internal: validates ingest_snapshot()''s options (absent, scope, on_error, tolerances, chunk_size, feed_id) and that the caller may post as the source (42501)';

-- The run's record first: a feed id names one feed, and a concurrent ingest of the same
-- feed waits here for this one and then finds it done (fresh false: the run found).
CREATE FUNCTION _snapshot_run_start(src text, feed regclass, fkind text, fas_of timestamptz, fid text,
                                    fabsent text, fscope text, fon_error text, tol numeric, tol_pct numeric,
                                    now_ timestamptz, OUT run snapshot_ingest, OUT fresh boolean)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    id bigint;
BEGIN
    id := nextval(pg_get_serial_sequence('inventory_sync.snapshot_ingest', 'ingest_id'));
    fid := coalesce(fid, 'snapshot-' || id);
    INSERT INTO inventory_sync.snapshot_ingest AS i
           (ingest_id, source, feed_id, kind, as_of, scope, absent, on_error, tolerance, tolerance_pct, feed, started_at)
    VALUES (id, src, fid, fkind, fas_of, fscope, fabsent, fon_error, tol, tol_pct, feed::text, now_)
    ON CONFLICT (source, feed_id) DO NOTHING
    RETURNING * INTO run;
    IF run.ingest_id IS NULL THEN
        SELECT * INTO run FROM inventory_sync.snapshot_ingest i WHERE i.source = src AND i.feed_id = fid;
        IF run.kind <> fkind OR run.as_of <> fas_of OR run.scope <> fscope OR run.absent <> fabsent THEN
            RAISE EXCEPTION 'feed "%" of source "%" was already ingested with different terms', fid, src
                  USING ERRCODE = 'IS002',
                        DETAIL = format('Ingest %s: %s as of %s, scope %s, absent %s.', run.ingest_id, run.kind,
                                        run.as_of, run.scope, run.absent),
                        HINT = 'A feed id names one feed forever: ingest a new feed under a new id.';
        END IF;
        RAISE NOTICE 'snapshot %: already ingested (ingest %), nothing posted', fid, run.ingest_id;
        fresh := false;
        RETURN;
    END IF;
    fresh := true;
END
$$;
COMMENT ON FUNCTION _snapshot_run_start(text, regclass, text, timestamptz, text, text, text, text, numeric, numeric, timestamptz) IS
  'Internal: records the start of an ingest, or finds the run of the same feed id (IS002 when its terms differ)';

-- 1. The rows read with a problem: on_error = refuse refuses the feed (IS080, every bad
--    row in the DETAIL); skip records them in snapshot_rejection. Returns how many.
CREATE FUNCTION _snapshot_reject_bad_rows(id bigint, src text, fid text, fon_error text, n_rows bigint,
                                          now_ timestamptz)
RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    n_bad bigint;
    detail text;
BEGIN
    PERFORM inventory_sync._snapshot_work_table('inventory_sync_snapshot_rows');
    SELECT count(*) INTO n_bad FROM pg_temp.inventory_sync_snapshot_rows r WHERE cardinality(r.problems) > 0;
    IF n_bad > 0 AND fon_error = 'refuse' THEN
        SELECT string_agg(format('line %s: %s', r.line, array_to_string(r.problems, '; ')), E'\n' ORDER BY r.line)
          INTO detail
          FROM pg_temp.inventory_sync_snapshot_rows r WHERE cardinality(r.problems) > 0;
        RAISE EXCEPTION 'snapshot % of source "%" refused: % of % rows are bad', fid, src, n_bad, n_rows
              USING ERRCODE = 'IS080', DETAIL = detail,
                    HINT = 'Fix the rows listed and ingest again, or ingest with on_error => ''skip'' to post the good rows (the bad ones are kept in inventory_sync.snapshot_rejection); check_snapshot() lists them as rows.';
    END IF;
    IF n_bad > 0 THEN
        INSERT INTO inventory_sync.snapshot_rejection (ingest_id, line, gtin, gln, lot, bucket, quantity, as_of, problems)
        SELECT id, r.line, r.gtin, r.gln, r.lot, r.bucket, r.quantity, r.as_of, r.problems
          FROM pg_temp.inventory_sync_snapshot_rows r WHERE cardinality(r.problems) > 0;
    END IF;
    RAISE NOTICE 'snapshot %: % rows read, % rejected', fid, n_rows, n_bad
          USING DETAIL = format('%s s since the ingest started.', round(extract(epoch FROM clock_timestamp() - now_), 1));
    RETURN n_bad;
END
$$;
COMMENT ON FUNCTION _snapshot_reject_bad_rows(bigint, text, text, text, bigint, timestamptz) IS
  'Internal: refuses a feed with bad rows (IS080) or records them in snapshot_rejection (on_error = skip); returns their number';

-- 2. Keys in scope that the feed does not mention (with stock as of the watermark).
--    A rejected row may have meant any key at its location: those stay untouched, and
--    a rejected row whose location is unknown keeps every absent key untouched.
CREATE FUNCTION _snapshot_absent_keys(src text, fkind text, fscope text, fas_of timestamptz, fabsent text,
                                     OUT n_zero bigint, OUT n_kept bigint)
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    protect_all boolean;
BEGIN
    PERFORM inventory_sync._snapshot_work_table('inventory_sync_snapshot_rows');
    SELECT EXISTS (SELECT FROM pg_temp.inventory_sync_snapshot_rows r
                    WHERE cardinality(r.problems) > 0 AND r.location IS NULL)
      INTO protect_all;
    IF to_regclass('pg_temp.inventory_sync_snapshot_absent') IS NOT NULL THEN
        DROP TABLE pg_temp.inventory_sync_snapshot_absent;
    END IF;
    CREATE TEMP TABLE inventory_sync_snapshot_absent ON COMMIT DROP AS
    WITH pairs AS (
        SELECT DISTINCT r.location, r.bucket_name AS bucket
          FROM pg_temp.inventory_sync_snapshot_rows r
         WHERE fscope = 'feed' AND r.location IS NOT NULL AND r.sellable IS NOT NULL
           AND (fkind = 'on_hand' OR r.sellable)
    ),
    candidates AS (
        SELECT b.balance_id, b.item_gtin, b.location, b.lot, b.bucket, b.quantity
          FROM inventory_sync.balance b
          JOIN pairs p ON p.location = b.location AND p.bucket = b.bucket
         WHERE fscope = 'feed'
        UNION ALL
        SELECT b.balance_id, b.item_gtin, b.location, b.lot, b.bucket, b.quantity
          FROM inventory_sync.balance b
          JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket
          LEFT JOIN inventory_sync.ownership o1 ON o1.location = b.location AND o1.bucket = b.bucket
          LEFT JOIN inventory_sync.ownership o0 ON o0.location = b.location AND o0.bucket IS NULL
         WHERE fscope = 'owned' AND coalesce(o1.source, o0.source) = src
           AND (fkind = 'on_hand' OR bk.sellable)
    )
    SELECT c.item_gtin, c.location, c.lot, c.bucket,
           c.quantity - coalesce((SELECT sum(x.delta) FROM inventory_sync.balance_change x
                                   WHERE x.balance_id = c.balance_id AND x.event_time > fas_of), 0) AS ours,
           (protect_all OR EXISTS (SELECT FROM pg_temp.inventory_sync_snapshot_rows r
                                    WHERE cardinality(r.problems) > 0 AND r.location = c.location
                                      AND (r.sellable IS NULL OR r.bucket_name = c.bucket))) AS protected
      FROM candidates c
      JOIN inventory_sync.item i ON i.gtin = c.item_gtin AND NOT i.serial_tracked
     WHERE NOT EXISTS (SELECT FROM pg_temp.inventory_sync_snapshot_rows r
                        WHERE r.key_known AND r.item_gtin = c.item_gtin AND r.location = c.location
                          AND r.bucket_name = c.bucket
                          AND coalesce(r.lot_number::text, '') = coalesce(c.lot::text, ''));
    DELETE FROM pg_temp.inventory_sync_snapshot_absent a WHERE a.ours = 0;
    SELECT count(*) FILTER (WHERE fabsent = 'zero' AND NOT a.protected),
           count(*) FILTER (WHERE fabsent = 'keep' OR a.protected)
      INTO n_zero, n_kept
      FROM pg_temp.inventory_sync_snapshot_absent a;
END
$$;
COMMENT ON FUNCTION _snapshot_absent_keys(text, text, text, timestamptz, text) IS
  'Internal: the keys in an ingest''s scope with stock that its feed does not mention, into pg_temp.inventory_sync_snapshot_absent; returns how many are zeroed and how many left alone';

-- 3. The counts to post, in the engine's key order: the good rows, and the absent keys to
--    zero. Returns how many.
CREATE FUNCTION _snapshot_counts(fas_of timestamptz, fabsent text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    n_counts bigint;
BEGIN
    PERFORM inventory_sync._snapshot_work_table('inventory_sync_snapshot_absent');
    IF to_regclass('pg_temp.inventory_sync_snapshot_counts') IS NOT NULL THEN
        DROP TABLE pg_temp.inventory_sync_snapshot_counts;
    END IF;
    CREATE TEMP TABLE inventory_sync_snapshot_counts ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY c.item_gtin, c.location, c.lot NULLS FIRST, c.bucket COLLATE "C") AS seq, c.*,
           0::numeric AS reserved
      FROM (SELECT r.item_gtin, r.location, r.lot_number AS lot, r.bucket_name AS bucket,
                   r.base_quantity AS quantity, r.effective_as_of AS as_of, false AS absent
              FROM pg_temp.inventory_sync_snapshot_rows r WHERE cardinality(r.problems) = 0
            UNION ALL
            SELECT a.item_gtin, a.location, a.lot, a.bucket, 0, fas_of, true
              FROM pg_temp.inventory_sync_snapshot_absent a
             WHERE fabsent = 'zero' AND NOT a.protected) c;
    GET DIAGNOSTICS n_counts = ROW_COUNT;
    CREATE INDEX ON pg_temp.inventory_sync_snapshot_counts (seq);
    ANALYZE pg_temp.inventory_sync_snapshot_counts;
    RETURN n_counts;
END
$$;
COMMENT ON FUNCTION _snapshot_counts(timestamptz, text) IS
  'Internal: the counts an ingest posts, in the posting engine''s key order, into pg_temp.inventory_sync_snapshot_counts; returns how many';

-- 4. An availability feed is net of the source's commitments. Ours are the open
--    reservations held against on-hand at the location (backorders are not): the
--    on-hand count is available + those open as of the row's as_of, so that ATP
--    afterwards (on-hand - open reservations) equals what the source called
--    available, and no commitment is subtracted twice. Per (item, location) they are
--    added to one key: the sellable one whose lot expires last (it stays in ATP
--    longest), no-lot keys and keys in the feed first.
CREATE FUNCTION _snapshot_add_back_reserved()
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM inventory_sync._snapshot_work_table('inventory_sync_snapshot_counts');
    WITH target AS (
        SELECT DISTINCT ON (c.item_gtin, c.location) c.seq, c.item_gtin, c.location, c.as_of
          FROM pg_temp.inventory_sync_snapshot_counts c
          LEFT JOIN inventory_sync.lot lt ON lt.item_gtin = c.item_gtin AND lt.lot = c.lot
         WHERE EXISTS (SELECT FROM inventory_sync.reservation v
                        WHERE v.item_gtin = c.item_gtin AND v.location = c.location)
         ORDER BY c.item_gtin, c.location, c.absent, lt.expiry DESC NULLS FIRST, c.lot NULLS FIRST,
                  c.bucket COLLATE "C"
    ),
    held AS (
        SELECT t.seq, coalesce(sum(last.open_after), 0) AS reserved
          FROM target t
          JOIN inventory_sync.reservation v
            ON v.item_gtin = t.item_gtin AND v.location = t.location AND v.promised_date IS NULL
           AND v.created_at <= t.as_of AND (v.status = 'open' OR v.resolved_at > t.as_of)
          CROSS JOIN LATERAL (SELECT rc.open_after FROM inventory_sync.reservation_change rc
                               WHERE rc.reservation_id = v.reservation_id AND rc.changed_at <= t.as_of
                               ORDER BY rc.change_id DESC LIMIT 1) last
         GROUP BY t.seq
    )
    UPDATE pg_temp.inventory_sync_snapshot_counts c
       SET reserved = h.reserved, quantity = c.quantity + h.reserved
      FROM held h
     WHERE c.seq = h.seq AND h.reserved > 0;
END
$$;
COMMENT ON FUNCTION _snapshot_add_back_reserved() IS
  'Internal: adds the open reservations held at a location (as of each count''s as_of) to one count per (item, location) of an availability feed';

-- What the ledger alone cannot tell later: keys absent from the feed (with ours, for the
-- ones left alone) and the reservations added back to a count.
CREATE FUNCTION _snapshot_key_notes(id bigint, fabsent text)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM inventory_sync._snapshot_work_table('inventory_sync_snapshot_counts');
    INSERT INTO inventory_sync.snapshot_key (ingest_id, item_gtin, location, lot, bucket, absent, ours, reserved)
    SELECT id, a.item_gtin, a.location, a.lot, a.bucket,
           CASE WHEN fabsent = 'zero' AND NOT a.protected THEN 'zeroed' ELSE 'kept' END, a.ours,
           coalesce((SELECT c.reserved FROM pg_temp.inventory_sync_snapshot_counts c
                      WHERE c.absent AND c.item_gtin = a.item_gtin AND c.location = a.location
                        AND c.bucket = a.bucket AND c.lot IS NOT DISTINCT FROM a.lot), 0)
      FROM pg_temp.inventory_sync_snapshot_absent a
    UNION ALL
    SELECT id, c.item_gtin, c.location, c.lot, c.bucket, NULL, NULL, c.reserved
      FROM pg_temp.inventory_sync_snapshot_counts c
     WHERE c.reserved > 0 AND NOT c.absent;
END
$$;
COMMENT ON FUNCTION _snapshot_key_notes(bigint, text) IS
  'Internal: records an ingest''s absent keys and the reservations added back to its counts in snapshot_key';

-- 5. Post, chunk by chunk, in key order. Each chunk is one INSERT: the engine locks its
--    keys in order, and chunk n's keys all sort before chunk n+1's. A NOTICE per chunk.
CREATE FUNCTION _snapshot_post_counts(src text, fid text, chunk integer, n_counts bigint, now_ timestamptz,
                                      OUT first_id bigint, OUT last_id bigint)
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    n_posted bigint := 0;
    c_first bigint;
    c_last bigint;
    c_n bigint;
BEGIN
    PERFORM inventory_sync._snapshot_work_table('inventory_sync_snapshot_counts');
    FOR k IN 0 .. (n_counts - 1) / chunk LOOP
        EXIT WHEN n_counts = 0;
        WITH posted AS (
            INSERT INTO inventory_sync.ledger (kind, source, source_event_id, event_time, gtin, location, lot,
                                               bucket, quantity, reason, reference)
            SELECT 'count', src,
                   fid || ':' || c.location::text || ':' || c.item_gtin::text || ':' || c.bucket
                       || coalesce(':' || c.lot::text, ''),
                   c.as_of, c.item_gtin, c.location, c.lot, c.bucket, c.quantity, 'count', fid
              FROM pg_temp.inventory_sync_snapshot_counts c
             WHERE c.seq > k::bigint * chunk AND c.seq <= (k::bigint + 1) * chunk
             ORDER BY c.seq
            RETURNING posting_id
        )
        SELECT min(p.posting_id), max(p.posting_id), count(*) INTO c_first, c_last, c_n FROM posted p;
        n_posted := n_posted + c_n;
        first_id := least(first_id, c_first);
        last_id := greatest(last_id, c_last);
        RAISE NOTICE 'snapshot %: % of % counts posted', fid, n_posted, n_counts
              USING DETAIL = format('%s s since the ingest started.', round(extract(epoch FROM clock_timestamp() - now_), 1));
    END LOOP;
END
$$;
COMMENT ON FUNCTION _snapshot_post_counts(text, text, integer, bigint, timestamptz) IS
  'Internal: posts an ingest''s counts through the posting engine in chunks, in key order; returns the first and last posting_id';

-- 6. Accuracy: the share of counted keys within tolerance of what we had as of the
--    watermark. Planned with the posting range as constants (EXECUTE): a generic plan
--    cannot tell the range is narrow. Then the run is finished.
CREATE FUNCTION _snapshot_run_finish(id bigint, n_rows bigint, n_bad bigint, n_counts bigint, n_zero bigint,
                                     n_kept bigint, first_id bigint, last_id bigint, now_ timestamptz)
RETURNS snapshot_ingest
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    run inventory_sync.snapshot_ingest;
    c_n bigint;
    c_first bigint;
BEGIN
    SELECT * INTO run FROM inventory_sync.snapshot_ingest i WHERE i.ingest_id = id AND i.status = 'running';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'snapshot ingest % is not running', id
              USING ERRCODE = '55000', HINT = 'Snapshot feeds are ingested with inventory_sync.ingest_snapshot().';
    END IF;
    EXECUTE format($q$
        SELECT count(*), count(*) FILTER (WHERE abs(v.difference) <= %L::numeric OR abs(v.difference) <= %L::numeric / 100 * abs(v.ours))
          FROM (%s) v$q$, run.tolerance, run.tolerance_pct,
                   inventory_sync._snapshot_counted_sql(run.source, run.feed_id, first_id, last_id))
       INTO c_n, c_first;
    UPDATE inventory_sync.snapshot_ingest i
       SET status = CASE WHEN n_bad > 0 THEN 'partial' ELSE 'applied' END,
           rows_read = n_rows, rows_rejected = n_bad,
           keys_counted = n_counts - n_zero, keys_zeroed = n_zero, keys_unmentioned = n_kept,
           keys_accurate = c_first,
           accuracy = CASE WHEN c_n > 0 THEN round(c_first::numeric / c_n, 4) END,
           first_posting_id = first_id, last_posting_id = last_id,
           finished_at = clock_timestamp()
     WHERE i.ingest_id = id
    RETURNING i.* INTO run;
    RAISE NOTICE 'snapshot %: % keys counted, % zeroed, % left alone; accuracy %', run.feed_id,
          run.keys_counted, run.keys_zeroed, run.keys_unmentioned, coalesce(run.accuracy::text, 'n/a')
          USING DETAIL = format('%s s since the ingest started.', round(extract(epoch FROM clock_timestamp() - now_), 1));
    RETURN run;
END
$$;
COMMENT ON FUNCTION _snapshot_run_finish(bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, timestamptz) IS
  'Internal: measures an ingest''s accuracy and records what it read, rejected, counted, zeroed and left alone';

CREATE FUNCTION ingest_snapshot(source text, feed regclass, kind text, as_of timestamptz,
                                feed_id text DEFAULT NULL, absent text DEFAULT 'keep',
                                scope text DEFAULT 'feed', on_error text DEFAULT 'refuse',
                                tolerance numeric DEFAULT 0, tolerance_pct numeric DEFAULT 0,
                                chunk_size integer DEFAULT 100000)
RETURNS snapshot_ingest
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
SET work_mem = '128MB'
AS $$
#variable_conflict use_column
DECLARE
    src text := ingest_snapshot.source;
    fkind text := ingest_snapshot.kind;
    fas_of timestamptz := ingest_snapshot.as_of;
    fid text := ingest_snapshot.feed_id;
    fabsent text := ingest_snapshot.absent;
    fscope text := ingest_snapshot.scope;
    fon_error text := ingest_snapshot.on_error;
    tol numeric := ingest_snapshot.tolerance;
    tol_pct numeric := ingest_snapshot.tolerance_pct;
    now_ timestamptz := clock_timestamp();
    started record;
    run inventory_sync.snapshot_ingest;
    n_rows bigint;
    n_bad bigint;
    absent_keys record;
    n_counts bigint;
    posted record;
BEGIN
    PERFORM inventory_sync._snapshot_check_args(src, fkind, fas_of, now_);
    IF feed IS NULL THEN
        RAISE EXCEPTION 'a snapshot needs a feed table' USING ERRCODE = '22004';
    END IF;
    PERFORM inventory_sync._snapshot_check_ingest_args(src, fid, fabsent, fscope, fon_error, tol, tol_pct,
                                                       ingest_snapshot.chunk_size);
    SELECT * INTO started FROM inventory_sync._snapshot_run_start(src, feed, fkind, fas_of, fid, fabsent, fscope,
                                                                   fon_error, tol, tol_pct, now_);
    run := started.run;
    IF NOT started.fresh THEN
        RETURN run;
    END IF;
    fid := run.feed_id;
    n_rows := inventory_sync._snapshot_load(src, feed, fkind, fas_of, now_);
    n_bad := inventory_sync._snapshot_reject_bad_rows(run.ingest_id, src, fid, fon_error, n_rows, now_);
    SELECT * INTO absent_keys FROM inventory_sync._snapshot_absent_keys(src, fkind, fscope, fas_of, fabsent);
    n_counts := inventory_sync._snapshot_counts(fas_of, fabsent);
    IF fkind = 'available' THEN
        PERFORM inventory_sync._snapshot_add_back_reserved();
    END IF;
    PERFORM inventory_sync._snapshot_key_notes(run.ingest_id, fabsent);
    SELECT * INTO posted FROM inventory_sync._snapshot_post_counts(src, fid, ingest_snapshot.chunk_size, n_counts, now_);
    run := inventory_sync._snapshot_run_finish(run.ingest_id, n_rows, n_bad, n_counts, absent_keys.n_zero,
                                               absent_keys.n_kept, posted.first_id, posted.last_id, now_);
    -- the work tables go now, not at commit: the next ingest in this transaction may run
    -- as another role, which could not drop tables this role owns
    DROP TABLE pg_temp.inventory_sync_snapshot_counts, pg_temp.inventory_sync_snapshot_absent,
               pg_temp.inventory_sync_snapshot_rows, pg_temp.inventory_sync_snapshot_raw;
    RETURN run;
END
$$;
COMMENT ON FUNCTION ingest_snapshot(text, regclass, text, timestamptz, text, text, text, text, numeric, numeric, integer) IS
  'Ingests a whole snapshot feed (on_hand or available, as of a time) as counts per key through the posting engine, as the caller; returns the run with its accuracy rate (variance: snapshot_variance(ingest_id))';
