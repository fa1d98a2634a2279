-- Changes in 0.2.0 to objects that already existed in 0.1.0 (written by hand).
-- Objects new in 0.2.0 follow: they are the install parts marked "-- since 0.2.0".

-- The GS1 types' comparison and hash functions become C-language wrappers of the same
-- built-ins (src/fmgr_wrappers.c): an internal-language function outside the built-in
-- OID range is looked up by a linear search of every built-in name at each executor
-- start. Same results, same hash values: indexes stay valid.
CREATE OR REPLACE FUNCTION gtin_eq(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gtin_ne(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gtin_lt(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gtin_le(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gtin_gt(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gtin_ge(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gtin_cmp(gtin, gtin) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_btint8cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gtin_hash(gtin) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashint8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION gtin_hash_extended(gtin, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashint8extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION gln_eq(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gln_ne(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gln_lt(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gln_le(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gln_gt(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gln_ge(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gln_cmp(gln, gln) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_btint8cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION gln_hash(gln) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashint8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION gln_hash_extended(gln, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashint8extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION sscc_eq(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION sscc_ne(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION sscc_lt(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION sscc_le(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION sscc_gt(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION sscc_ge(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION sscc_cmp(sscc, sscc) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_btint8cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION sscc_hash(sscc) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashint8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION sscc_hash_extended(sscc, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashint8extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION lot_number_eq(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteaeq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION lot_number_ne(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteane' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION lot_number_lt(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_bytealt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION lot_number_le(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION lot_number_gt(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteagt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION lot_number_ge(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteage' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION lot_number_cmp(lot_number, lot_number) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_byteacmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION lot_number_hash(lot_number) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashvarlena' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION lot_number_hash_extended(lot_number, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashvarlenaextended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION serial_number_eq(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteaeq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION serial_number_ne(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteane' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION serial_number_lt(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_bytealt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION serial_number_le(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION serial_number_gt(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteagt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION serial_number_ge(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteage' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION serial_number_cmp(serial_number, serial_number) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_byteacmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OR REPLACE FUNCTION serial_number_hash(serial_number) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashvarlena' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION serial_number_hash_extended(serial_number, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashvarlenaextended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- release_lot() stamps lot.released_at/released_by only when to_bucket is sellable
-- (0.1.0 stamped a lot moved from qa_hold to blocked as released). Same text as
-- sql/install/130_posting_api.sql.
CREATE OR REPLACE FUNCTION release_lot(source text, source_event_id_prefix text, gtin gtin, lot lot_number,
                            from_bucket text DEFAULT 'qa_hold', to_bucket text DEFAULT 'released')
RETURNS SETOF ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
#variable_conflict use_variable
BEGIN
    -- one statement: every location's stock of the lot moves at once, keys locked in order
    RETURN QUERY
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, lot, bucket,
                                       to_bucket, quantity, reason)
    SELECT 'move', source, source_event_id_prefix || ':' || b.location::text, b.item_gtin, b.location,
           b.lot, b.bucket, to_bucket, b.quantity, NULL
      FROM inventory_sync.balance b
     WHERE b.item_gtin OPERATOR(inventory_sync.=) gtin
       AND b.lot OPERATOR(inventory_sync.=) lot
       AND b.bucket = from_bucket AND b.quantity > 0
     ORDER BY b.location
    RETURNING *;
    -- only a move into a sellable bucket releases the lot (qa_hold -> blocked rejects it)
    UPDATE inventory_sync.lot l SET released_at = now(), released_by = current_user
     WHERE l.item_gtin OPERATOR(inventory_sync.=) gtin AND l.lot OPERATOR(inventory_sync.=) lot
       AND l.released_at IS NULL
       AND EXISTS (SELECT FROM inventory_sync.bucket bk WHERE bk.bucket = to_bucket AND bk.sellable);
END
$$;
COMMENT ON FUNCTION release_lot(text, text, gtin, lot_number, text, text) IS
  'Quality release of a tested lot everywhere at once: moves every positive balance of the lot from from_bucket to to_bucket (event ids <prefix>:<gln>) and, when to_bucket is sellable, stamps the lot released';

-- The posting engine's apply step runs with the extension owner's rights: its search_path
-- is fixed, pg_temp last, so no object a caller creates (a temporary table or view named
-- like one of ours) is found before ours by anything it runs. Same as
-- sql/install/120_posting_triggers.sql.
ALTER FUNCTION ledger_apply() SET search_path = pg_catalog, inventory_sync, pg_temp;

-- Sequence arithmetic in numeric: a source may number its events up to the ends of bigint.
CREATE OR REPLACE VIEW sequence_anomaly AS
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
