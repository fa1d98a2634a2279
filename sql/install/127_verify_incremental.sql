-- since 0.2.0
-- ---------------------------------------------------------------------------
-- verify(since => ...), verify(since_posting => ...): what changed since a watermark,
-- checked through the after-state chains, at the cost of what was posted since.
--
-- For every balance key with an after-state of a posting after the watermark, the key's
-- after-states from the first such version on are read (by the index below) with the
-- one before them, the anchor: versions must step by one from the anchor's to the
-- balance's, each quantity_after must be the anchor's plus the deltas so far, and the
-- last one must be the balance. Each posting after the watermark must have the effects
-- its ledger row gives (a count's delta is taken as recorded, as verify() does). What
-- lies before the anchor is not read: the full verify() covers it. When the anchor's
-- partition is archived, the anchor is the one detach_ledger_partition() kept
-- (balance_change_anchor).
-- ---------------------------------------------------------------------------

-- A key's after-states by version: the anchor and the window of a key, whatever the size
-- of its history.
CREATE INDEX balance_change_version ON balance_change (balance_id, version);
COMMENT ON INDEX balance_change_version IS
  'After-states of one balance key by version (verify(since => ...) reads a key''s chain from the watermark on)';

-- PL/pgSQL running its query with EXECUTE: the query is planned for the watermark given
-- (a generic plan would take a range over every posting for the likely case); a day's
-- window is too small for parallel workers or JIT compilation to pay for their start
-- (each cost more than the check of a day's postings).
CREATE FUNCTION verify(since_posting bigint)
RETURNS TABLE (item_gtin gtin, location gln, lot lot_number, bucket text, problem text,
               balance_quantity numeric, recomputed_quantity numeric,
               balance_version bigint, recomputed_version bigint)
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET max_parallel_workers_per_gather = 0
SET jit = off
AS $fn$
BEGIN
    RETURN QUERY EXECUTE $q$
        -- the keys touched after the watermark, and the first version each got there
        WITH touched AS (
            SELECT c.balance_id, min(c.version) AS first_version
              FROM inventory_sync.balance_change c
             WHERE c.posting_id > $1
             GROUP BY c.balance_id
        ),
        -- each touched key's chain from its anchor (the after-state before the first
        -- version touched; none for a key born after the watermark) to its last version
        chain AS (
            SELECT t.balance_id, t.first_version,
                   coalesce(a.quantity_after, 0) AS anchor_quantity,
                   coalesce(a.version, 0) AS anchor_version,
                   (t.first_version > 1 AND a.version IS NULL) AS anchor_missing,
                   w.n, w.max_version, w.last_quantity, w.broken
              FROM touched t
              LEFT JOIN LATERAL (
                    SELECT x.quantity_after, x.version
                      FROM (SELECT c.quantity_after, c.version
                              FROM inventory_sync.balance_change c
                             WHERE c.balance_id = t.balance_id AND c.version = t.first_version - 1
                            UNION ALL
                            -- archived: the anchor detach_ledger_partition() kept
                            SELECT an.quantity_after, an.version
                              FROM inventory_sync.balance_change_anchor an
                             WHERE an.balance_id = t.balance_id AND an.version = t.first_version - 1) x
                     LIMIT 1) a ON true
              CROSS JOIN LATERAL (
                    SELECT count(*) AS n, max(r.version) AS max_version,
                           (array_agg(r.quantity_after ORDER BY r.version DESC))[1] AS last_quantity,
                           count(*) FILTER (WHERE r.quantity_after <> coalesce(a.quantity_after, 0) + r.running
                                               OR r.version <> t.first_version + r.pos - 1) AS broken
                      FROM (SELECT c.version, c.quantity_after,
                                   sum(c.delta) OVER (ORDER BY c.version) AS running,
                                   row_number() OVER (ORDER BY c.version) AS pos
                              FROM inventory_sync.balance_change c
                             WHERE c.balance_id = t.balance_id AND c.version >= t.first_version) r) w
        ),
        -- each posting's effects after the watermark, derived from its ledger row alone
        ledger_effect AS (
            SELECT l.posting_id, l.item_gtin, l.location, l.lot, l.bucket, l.base_quantity AS delta
              FROM inventory_sync.ledger l WHERE l.posting_id > $1 AND l.kind <> 'count'
            UNION ALL
            SELECT l.posting_id, l.item_gtin, coalesce(l.to_location, l.location), l.lot,
                   coalesce(l.to_bucket, l.bucket), -l.base_quantity
              FROM inventory_sync.ledger l
             WHERE l.posting_id > $1 AND l.kind IN ('move', 'transfer_out', 'transfer_in')
        ),
        -- (the after-states of postings in archived ledger partitions, recorded before
        -- the archive horizon, have no ledger row to compare with: verify() sums those)
        recorded_effect AS (
            SELECT c.posting_id, c.item_gtin, c.location, c.lot, c.bucket, c.delta
              FROM inventory_sync.balance_change c
             WHERE c.posting_id > $1 AND c.kind <> 'count' AND c.recorded_at >= $2
        ),
        effect_diff AS (
            SELECT coalesce(e.item_gtin, r.item_gtin) AS item_gtin, coalesce(e.location, r.location) AS location,
                   coalesce(e.lot, r.lot) AS lot, coalesce(e.bucket, r.bucket) AS bucket,
                   sum(coalesce(r.delta, 0)) AS recorded, sum(coalesce(e.delta, 0)) AS derived
              FROM ledger_effect e
              FULL JOIN recorded_effect r
                ON r.posting_id = e.posting_id
               AND r.item_gtin OPERATOR(inventory_sync.=) e.item_gtin
               AND r.location OPERATOR(inventory_sync.=) e.location
               AND r.bucket = e.bucket
               AND (r.lot OPERATOR(inventory_sync.=) e.lot OR (r.lot IS NULL AND e.lot IS NULL))
             WHERE r.delta IS DISTINCT FROM e.delta
             GROUP BY 1, 2, 3, 4
        )
        SELECT b.item_gtin, b.location, b.lot, b.bucket,
               CASE WHEN ch.anchor_missing THEN 'the after-state before the watermark is missing'
                    WHEN ch.broken > 0 THEN 'quantity_after chain is broken'
                    WHEN b.version <> ch.max_version THEN 'version differs from the number of changes'
                    ELSE 'balance differs from the after-states' END,
               b.quantity, ch.last_quantity, b.version, ch.max_version
          FROM chain ch
          JOIN inventory_sync.balance b ON b.balance_id = ch.balance_id
         WHERE ch.anchor_missing OR ch.broken > 0
            OR b.version <> ch.max_version OR b.quantity <> ch.last_quantity
        UNION ALL
        SELECT d.item_gtin, d.location, d.lot, d.bucket, 'after-states differ from the ledger',
               NULL, d.derived, NULL, NULL
          FROM effect_diff d
    $q$ USING since_posting,
              coalesce((SELECT max(a.range_to) FROM inventory_sync.ledger_archive a), '-infinity');
END
$fn$;
COMMENT ON FUNCTION verify(bigint) IS
  'Checks what changed after posting since_posting: the after-state chain of every key touched since, from the after-state before it to the balance, and each later posting''s effects against its ledger row; returns the keys that differ: none when healthy';

CREATE FUNCTION verify(since timestamptz)
RETURNS TABLE (item_gtin gtin, location gln, lot lot_number, bucket text, problem text,
               balance_quantity numeric, recomputed_quantity numeric,
               balance_version bigint, recomputed_version bigint)
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET max_parallel_workers_per_gather = 0
SET jit = off
AS $fn$
DECLARE
    watermark bigint;
BEGIN
    -- the postings recorded since then are those after this watermark (a posting
    -- recorded earlier with a later id is checked too: more, never less); planned for
    -- the time given, so the range of recorded_at is read, not every after-state
    EXECUTE $q$SELECT min(c.posting_id) - 1 FROM inventory_sync.balance_change c WHERE c.recorded_at >= $1$q$
       INTO watermark USING since;
    IF watermark IS NULL THEN
        -- nothing recorded since: nothing to check
        SELECT coalesce(max(l.posting_id), 0) INTO watermark FROM inventory_sync.ledger l;
    END IF;
    RETURN QUERY SELECT * FROM inventory_sync.verify(since_posting => watermark);
END
$fn$;
COMMENT ON FUNCTION verify(timestamptz) IS
  'Checks what was recorded since a time (verify(since_posting => ...) from the first posting recorded then); returns the keys that differ: none when healthy';
