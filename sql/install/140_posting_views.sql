-- ---------------------------------------------------------------------------
-- Views for the people who watch the ledger.
-- ---------------------------------------------------------------------------

CREATE VIEW stock AS
SELECT b.item_gtin, i.name AS item_name, b.location, l.name AS location_name, l.kind AS location_kind,
       b.lot, lt.expiry, b.bucket, bk.sellable, b.quantity, i.base_unit AS unit, b.version, b.updated_at
  FROM inventory_sync.balance b
  JOIN inventory_sync.item i ON i.gtin OPERATOR(inventory_sync.=) b.item_gtin
  JOIN inventory_sync.location l ON l.gln OPERATOR(inventory_sync.=) b.location
  JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket
  LEFT JOIN inventory_sync.lot lt ON lt.item_gtin OPERATOR(inventory_sync.=) b.item_gtin
                                 AND lt.lot OPERATOR(inventory_sync.=) b.lot;
COMMENT ON VIEW stock IS 'Balances with item, location, bucket and lot details';

CREATE VIEW open_exceptions AS
SELECT e.exception_id, e.kind, e.raised_at, e.posting_id, l.source, l.source_event_id,
       e.item_gtin, e.location, e.lot, e.serial, e.bucket, e.detail
  FROM inventory_sync.exception e
  LEFT JOIN inventory_sync.ledger l ON l.posting_id = e.posting_id
 WHERE e.resolved_at IS NULL;
COMMENT ON VIEW open_exceptions IS 'Recorded facts awaiting investigation, with the source event that raised them';

-- Sequence arithmetic in numeric: a source may number its events up to the ends of bigint.
CREATE VIEW sequence_anomaly AS
WITH s AS (
    SELECT l.source, l.source_sequence, l.posting_id,
           max(l.source_sequence) OVER (PARTITION BY l.source ORDER BY l.posting_id
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS highest_before,
           lead(l.source_sequence) OVER (PARTITION BY l.source ORDER BY l.source_sequence) AS next_sequence
      FROM inventory_sync.ledger l
     WHERE l.source_sequence IS NOT NULL
)
SELECT source, 'out_of_order'::text AS anomaly, source_sequence, posting_id,
       format('sequence %s arrived after %s', source_sequence, highest_before) AS detail
  FROM s WHERE source_sequence < highest_before
UNION ALL
SELECT source, 'gap', source_sequence, posting_id,
       CASE WHEN next_sequence::numeric = source_sequence::numeric + 2
            THEN format('sequence %s is missing', source_sequence::numeric + 1)
            ELSE format('sequences %s to %s are missing', source_sequence::numeric + 1, next_sequence::numeric - 1) END
  FROM s WHERE next_sequence::numeric > source_sequence::numeric + 1;
COMMENT ON VIEW sequence_anomaly IS 'Per-source sequence numbers that arrived out of order, and gaps between them';
