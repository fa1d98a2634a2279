-- Changes in 0.2.0 to objects that already existed in 0.1.0 (written by hand).
-- Objects new in 0.2.0 follow: they are the install parts marked "-- since 0.2.0".

-- The role that posted is stored as text: a name column takes 64 bytes on every ledger row
-- whatever the name's length, text only its characters. This rewrites the ledger (time and
-- disk proportional to its size; see docs/operations.md, Upgrades). No 0.1.0 view reads
-- either column. Same as sql/install/100_master_data.sql and 110_ledger.sql.
ALTER TABLE ledger ALTER COLUMN actor TYPE text;
ALTER TABLE lot ALTER COLUMN released_by TYPE text;
COMMENT ON COLUMN ledger.actor IS 'Database role that posted (set by the ledger: current_user, or the role that called an entry point such as fulfil())';

-- The casts of lot_number and serial_number to text go through a function: a binary-
-- coercible cast let the planner match a LIKE on lot::text or serial::text to the type's
-- own index, which has no collation, and PostgreSQL 18 fails that ("cache lookup failed
-- for collation 0"). Same result: the same characters.
CREATE FUNCTION lot_number_text(lot_number) RETURNS text
  AS 'MODULE_PATHNAME', 'is_gs1_text_as_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION lot_number_text(lot_number) IS 'the characters as text (the cast to text)';
DROP CAST (lot_number AS text);
CREATE CAST (lot_number AS text) WITH FUNCTION lot_number_text(lot_number) AS IMPLICIT;
COMMENT ON CAST (lot_number AS text) IS 'the characters as text';
CREATE FUNCTION serial_number_text(serial_number) RETURNS text
  AS 'MODULE_PATHNAME', 'is_gs1_text_as_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION serial_number_text(serial_number) IS 'the characters as text (the cast to text)';
DROP CAST (serial_number AS text);
CREATE CAST (serial_number AS text) WITH FUNCTION serial_number_text(serial_number) AS IMPLICIT;
COMMENT ON CAST (serial_number AS text) IS 'the characters as text';

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

-- The lot release record can no longer be written by a writer: release_lot() marks its
-- moves with the reason code lot_release, and the posting engine stamps the lot released
-- (released_at, released_by = the posting role) when it applies them into a sellable
-- bucket. Writers lose their UPDATE on the stamp. release_lot() and correct() refuse
-- NULL arguments (22004). Same as sql/install/100_master_data.sql, 130_posting_api.sql,
-- 150_roles.sql and 190_dump.sql.
REVOKE UPDATE (released_at, released_by) ON lot FROM inventory_sync_writer;
INSERT INTO reason_code VALUES
  ('lot_release', 'Quality release of a lot (release_lot): a move of it into a sellable bucket stamps it released')
  ON CONFLICT (reason) DO NOTHING;
SELECT pg_catalog.pg_extension_config_dump('reason_code',
  $$WHERE reason NOT IN ('shrink', 'damage', 'expired', 'found', 'correction', 'sample', 'count', 'lot_release')$$);
CREATE OR REPLACE FUNCTION release_lot(source text, source_event_id_prefix text, gtin gtin, lot lot_number,
                            from_bucket text DEFAULT 'qa_hold', to_bucket text DEFAULT 'released')
RETURNS SETOF ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
#variable_conflict use_variable
BEGIN
    IF source IS NULL OR source_event_id_prefix IS NULL OR gtin IS NULL OR lot IS NULL
       OR from_bucket IS NULL OR to_bucket IS NULL THEN
        RAISE EXCEPTION 'release_lot(): % must not be NULL',
              CASE WHEN source IS NULL THEN 'source'
                   WHEN source_event_id_prefix IS NULL THEN 'source_event_id_prefix'
                   WHEN gtin IS NULL THEN 'gtin' WHEN lot IS NULL THEN 'lot'
                   WHEN from_bucket IS NULL THEN 'from_bucket' ELSE 'to_bucket' END
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Name the source, an event id prefix, the item, the lot and both buckets.';
    END IF;
    -- One statement: every location's stock of the lot moves at once, keys locked in order.
    -- The reason lot_release marks the moves as a release: applying them, the posting
    -- engine stamps the lot released (when to_bucket is sellable), as the posting role.
    RETURN QUERY
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, lot, bucket,
                                       to_bucket, quantity, reason)
    SELECT 'move', source, source_event_id_prefix || ':' || b.location::text, b.item_gtin, b.location,
           b.lot, b.bucket, to_bucket, b.quantity, 'lot_release'
      FROM inventory_sync.balance b
     WHERE b.item_gtin OPERATOR(inventory_sync.=) gtin
       AND b.lot OPERATOR(inventory_sync.=) lot
       AND b.bucket = from_bucket AND b.quantity > 0
     ORDER BY b.location
    RETURNING *;
END
$$;
COMMENT ON FUNCTION release_lot(text, text, gtin, lot_number, text, text) IS
  'Quality release of a tested lot everywhere at once: moves every positive balance of the lot from from_bucket to to_bucket (event ids <prefix>:<gln>, reason lot_release); when to_bucket is sellable, the posting engine stamps the lot released';

CREATE OR REPLACE FUNCTION correct(source text, source_event_id text, posting_id bigint,
                        reason text DEFAULT 'correction')
RETURNS ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
#variable_conflict use_variable
DECLARE
    o inventory_sync.ledger;
    q numeric;
BEGIN
    IF posting_id IS NULL OR reason IS NULL THEN
        RAISE EXCEPTION 'correct(): % must not be NULL', CASE WHEN posting_id IS NULL THEN 'posting_id' ELSE 'reason' END
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Name the posting_id of the ledger row to correct and a reason code.';
    END IF;
    SELECT * INTO o FROM inventory_sync.ledger l WHERE l.posting_id = posting_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'posting % does not exist', posting_id
              USING ERRCODE = 'IS023', HINT = 'Name the posting_id of the ledger row to correct.';
    END IF;
    q := abs(o.base_quantity);
    CASE o.kind
        WHEN 'count' THEN
            RAISE EXCEPTION 'posting % is a count: a count is corrected by another count', posting_id
                  USING ERRCODE = 'IS023', HINT = 'Post count_stock() with the right quantity.';
        WHEN 'move' THEN
            RETURN inventory_sync.post('move', source, source_event_id, o.item_gtin, o.location, q,
                                       o.to_bucket, o.lot, o.serial, to_bucket => o.bucket,
                                       reason => reason, corrects => o.posting_id);
        WHEN 'transfer_out' THEN
            RETURN inventory_sync.post('transfer_in', source, source_event_id, o.item_gtin, o.to_location,
                                       q, coalesce(o.to_bucket, o.bucket), o.lot, o.serial,
                                       to_location => o.location, to_bucket => o.bucket,
                                       reason => reason, corrects => o.posting_id);
        WHEN 'transfer_in' THEN
            RETURN inventory_sync.post('transfer_out', source, source_event_id, o.item_gtin, o.to_location,
                                       q, coalesce(o.to_bucket, o.bucket), o.lot, o.serial,
                                       to_location => o.location, to_bucket => o.bucket,
                                       reason => reason, corrects => o.posting_id);
        ELSE
            RETURN inventory_sync.post('adjustment', source, source_event_id, o.item_gtin, o.location,
                                       -o.base_quantity, o.bucket, o.lot, o.serial,
                                       reason => reason, corrects => o.posting_id);
    END CASE;
END
$$;
COMMENT ON FUNCTION correct(text, text, bigint, text) IS
  'Counter-posting that reverses a posting and names it in corrects (counts are corrected by another count)';

-- Admins keep a lot's dates but no longer write its release record (only the posting
-- engine does). Same as sql/install/150_roles.sql.
REVOKE INSERT, UPDATE ON lot FROM inventory_sync_admin;
GRANT INSERT (item_gtin, lot, production_date, expiry), UPDATE (production_date, expiry)
   ON lot TO inventory_sync_admin;

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

-- A replay on a partitioned ledger whose original's partition was detached or dropped
-- returns what the event registry (ledger_event, new below) keeps of the original.
CREATE OR REPLACE FUNCTION post(kind posting_kind, source text, source_event_id text, gtin gtin, location gln,
                     quantity numeric, bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                     serial serial_number DEFAULT NULL, to_location gln DEFAULT NULL,
                     to_bucket text DEFAULT NULL, unit text DEFAULT NULL,
                     event_time timestamptz DEFAULT now(), reason text DEFAULT NULL,
                     reference text DEFAULT NULL, eta timestamptz DEFAULT NULL,
                     expected_quantity numeric DEFAULT NULL, source_sequence bigint DEFAULT NULL,
                     corrects bigint DEFAULT NULL)
RETURNS ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.ledger;
BEGIN
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity, bucket,
                                       lot, serial, to_location, to_bucket, unit, event_time, reason,
                                       reference, eta, expected_quantity, source_sequence, corrects)
    VALUES (kind, source, source_event_id, gtin, location, quantity, bucket, lot, serial, to_location,
            to_bucket, unit, event_time, reason, reference, eta, expected_quantity, source_sequence,
            corrects)
    RETURNING * INTO r;
    IF r.posting_id IS NULL THEN
        -- an exact replay: the ledger skipped it; return the original
        SELECT * INTO r FROM inventory_sync.ledger l
         WHERE l.source = source AND l.source_event_id = source_event_id;
        IF NOT FOUND THEN
            -- its partition was detached or dropped: what the event registry keeps of it
            SELECT e.posting_id, e.source, e.source_event_id, e.recorded_at
              INTO r.posting_id, r.source, r.source_event_id, r.recorded_at
              FROM inventory_sync.ledger_event e
             WHERE e.source = source COLLATE "C" AND e.source_event_id = source_event_id COLLATE "C";
        END IF;
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION post(posting_kind, text, text, gtin, gln, numeric, text, lot_number, serial_number, gln, text, text, timestamptz, text, text, timestamptz, numeric, bigint, bigint) IS
  'Posts one fact of any kind (an INSERT into the ledger); returns the ledger row, or the original one for a replay (of an archived original: its posting_id, source, source_event_id and recorded_at)';
