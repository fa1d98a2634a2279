-- since 0.2.0
-- ---------------------------------------------------------------------------
-- verify(): recompute every balance from the ledger; zero rows when all agree.
--
-- The ledger's archived partitions (122_ledger_archive.sql) count through their summed
-- effects; a key whose early after-states are archived checks its chain from its anchor
-- (balance_change_anchor). CREATE OR REPLACE: an update from 0.1.0 runs this part too,
-- replacing the verify() that read the ledger alone.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION verify()
RETURNS TABLE (item_gtin gtin, location gln, lot lot_number, bucket text, problem text,
               balance_quantity numeric, recomputed_quantity numeric,
               balance_version bigint, recomputed_version bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- (a) each posting's effects, derived from the ledger row alone: the key at
    --     (location, bucket) gets base_quantity, the entering key of a two-key kind its
    --     negation; a count's delta depends on history, so it is taken as recorded.
    WITH ledger_effect AS (
        SELECT l.item_gtin, l.location, l.lot, l.bucket, l.base_quantity AS delta
          FROM inventory_sync.ledger l WHERE l.kind <> 'count'
        UNION ALL
        SELECT l.item_gtin, coalesce(l.to_location, l.location), l.lot,
               coalesce(l.to_bucket, l.bucket), -l.base_quantity
          FROM inventory_sync.ledger l WHERE l.kind IN ('move', 'transfer_out', 'transfer_in')
        UNION ALL
        SELECT c.item_gtin, c.location, c.lot, c.bucket, c.delta
          FROM inventory_sync.balance_change c WHERE c.kind = 'count'
        UNION ALL
        -- the effects of the postings of archived ledger partitions, summed per key
        SELECT a.item_gtin, a.location, a.lot, a.bucket, a.quantity
          FROM inventory_sync.ledger_archived_effect a
    ),
    from_ledger AS (
        SELECT e.item_gtin, e.location, e.lot, e.bucket, sum(e.delta) AS quantity
          FROM ledger_effect e GROUP BY 1, 2, 3, 4
    ),
    -- (b) the after-state chain of each key: versions 1..n, quantity_after a running sum;
    --     a key whose early after-states are archived continues from its anchor (its
    --     last archived version and quantity_after)
    retained AS (
        SELECT c.balance_id, count(*) AS n, max(c.version) AS max_version,
               count(*) FILTER (WHERE c.quantity_after <> c.running) AS broken
          FROM (SELECT c.*, coalesce(a.quantity_after, 0)
                            + sum(c.delta) OVER (PARTITION BY c.balance_id ORDER BY c.version) AS running
                  FROM inventory_sync.balance_change c
                  LEFT JOIN inventory_sync.balance_change_anchor a ON a.balance_id = c.balance_id) c
         GROUP BY c.balance_id
    ),
    chain AS (
        SELECT coalesce(r.balance_id, a.balance_id) AS balance_id,
               coalesce(a.version, 0) + coalesce(r.n, 0) AS n,
               coalesce(r.max_version, a.version) AS max_version,
               r.broken,
               -- every change archived: the anchor is the last after-state
               CASE WHEN r.balance_id IS NULL THEN a.quantity_after END AS anchor_only_quantity
          FROM retained r
          FULL JOIN inventory_sync.balance_change_anchor a ON a.balance_id = r.balance_id
    )
    SELECT coalesce(b.item_gtin, f.item_gtin), coalesce(b.location, f.location),
           coalesce(b.lot, f.lot), coalesce(b.bucket, f.bucket),
           CASE WHEN b.balance_id IS NULL THEN 'ledger has postings for a key with no balance'
                WHEN b.quantity <> coalesce(f.quantity, 0) THEN 'balance differs from the ledger'
                WHEN b.version <> coalesce(ch.n, 0) OR b.version <> coalesce(ch.max_version, 0)
                     THEN 'version differs from the number of changes'
                WHEN coalesce(ch.broken, 0) = 0 AND ch.anchor_only_quantity <> b.quantity
                     THEN 'balance differs from the after-states'
                ELSE 'quantity_after chain is broken' END,
           b.quantity, f.quantity, b.version, ch.n
      FROM inventory_sync.balance b
      FULL JOIN from_ledger f
        ON f.item_gtin OPERATOR(inventory_sync.=) b.item_gtin
       AND f.location OPERATOR(inventory_sync.=) b.location
       AND f.bucket = b.bucket
       AND (f.lot OPERATOR(inventory_sync.=) b.lot OR (f.lot IS NULL AND b.lot IS NULL))
      LEFT JOIN chain ch ON ch.balance_id = b.balance_id
     WHERE b.balance_id IS NULL
        OR b.quantity <> coalesce(f.quantity, 0)
        OR b.version <> coalesce(ch.n, 0) OR b.version <> coalesce(ch.max_version, 0)
        OR coalesce(ch.broken, 0) > 0
        OR ch.anchor_only_quantity <> b.quantity
$$;
COMMENT ON FUNCTION verify() IS
  'Recomputes every balance from the ledger (and the after-state chain of every key, from its anchor when its early after-states are archived; archived ledger partitions through their summed effects); returns the keys that differ: none when healthy';
