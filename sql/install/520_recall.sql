-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Recall: a lot and every lot made from it leave sellable stock everywhere at once.
--
-- recall() moves every positive balance of the recalled lots that is in a sellable bucket,
-- or at an in-transit location, into a blocking bucket (default "blocked"): one move
-- posting per key (for a serial-tracked item, whose postings each move one named unit:
-- one per serialised unit there, as serial_state in 550_serial.sql places it), all in
-- one INSERT into the ledger, so the posting engine checks them
-- like any other posting and the feed publishes them as ordinary events; the lines of
-- logistic units at those keys move with them (_recall_units, 540_logistic_unit.sql). It records the
-- recall, the lots it reached, and the open reservations of the recalled items at the
-- locations it blocked (flagged, not cancelled: another lot may still fill them), and
-- returns the customer shipments of the recalled lots: whom to contact.
--
-- Who may recall: the postings are the quality authority's, posted as its source. The
-- posting engine checks them as it checks every posting: the caller must be bound to the
-- source (42501), and the source must be the system of record of the blocking bucket at
-- every location it moves stock at (IS001). That is the documented setup of a quality
-- authority (docs/integration/mes-lims.md): the lab owns "blocked" at every location.
-- recall() is an API entry point like fulfil() (src/caller.c): it runs with the caller's
-- rights and remembers the caller, so the engine checks and records the caller as the
-- postings' actor, while _recall writes the recall's own records with the owner's rights.
-- ---------------------------------------------------------------------------

CREATE TABLE recall (
    recall_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recall_ref  text NOT NULL UNIQUE CHECK (length(recall_ref) BETWEEN 1 AND 100),
    item_gtin   gtin NOT NULL,
    lot         lot_number NOT NULL,
    reason      text NOT NULL,
    source      text NOT NULL,
    to_bucket   text NOT NULL,
    recalled_by text NOT NULL,
    recalled_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE recall IS 'Recalls: which lot, why, by which quality authority (source) and role, into which bucket (written by recall() only)';
COMMENT ON COLUMN recall.recall_ref IS 'The recall''s reference: the reference of its postings and the prefix of their event ids';
COMMENT ON COLUMN recall.recalled_by IS 'The role that called recall()';

CREATE TABLE recall_lot (
    recall_id  bigint NOT NULL REFERENCES recall,
    item_gtin  gtin NOT NULL,
    lot        lot_number NOT NULL,
    depth      integer NOT NULL,
    production_order text,
    PRIMARY KEY (recall_id, item_gtin, lot)
);
COMMENT ON TABLE recall_lot IS 'The lots a recall reached: the recalled lot (depth 0) and every lot made from it';

CREATE TABLE recall_reservation (
    recall_id      bigint NOT NULL REFERENCES recall,
    reservation_id bigint NOT NULL,
    channel        text NOT NULL,
    order_ref      text NOT NULL,
    line_ref       text NOT NULL,
    item_gtin      gtin NOT NULL,
    location       gln,
    open_quantity  numeric NOT NULL,
    PRIMARY KEY (recall_id, reservation_id)
);
COMMENT ON TABLE recall_reservation IS 'Open reservations a recall flagged: of a recalled item, at a location where it blocked stock or pooled; check that they can still be filled';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['recall', 'recall_lot', 'recall_reservation'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION refuse_change(''superuser'')', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION refuse_change(''superuser'')', t || '_no_truncate', t);
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
        EXECUTE format('GRANT SELECT ON %I TO inventory_sync_reader', t);
        PERFORM pg_catalog.pg_extension_config_dump(t::regclass, '');
    END LOOP;
    PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('recall', 'recall_id')::regclass, '');
END
$$;

CREATE VIEW recall_posting AS
SELECT r.recall_id, r.recall_ref, l.posting_id, l.item_gtin, l.lot, l.location, l.bucket, l.to_bucket,
       l.base_quantity AS quantity, l.source, l.actor, l.recorded_at, l.serial
  FROM inventory_sync.recall r
  JOIN inventory_sync.ledger l ON l.reference = r.recall_ref AND l.kind = 'move' AND l.source = r.source
                              AND l.source_event_id LIKE r.recall_ref || ':%';
COMMENT ON VIEW recall_posting IS 'The move postings of each recall (reference = recall_ref, event ids <recall_ref>:<gln>:<gtin>:<lot>:<bucket>, and :<serial> for a serialised unit)';

-- Arguments first, before anything is read or written.
CREATE FUNCTION _recall_check_args(item gtin, lot lot_number, reason text, source text, recall_ref text,
                                   to_bucket text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    caller name := coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user);
BEGIN
    IF item IS NULL OR lot IS NULL OR reason IS NULL OR source IS NULL OR recall_ref IS NULL OR to_bucket IS NULL THEN
        RAISE EXCEPTION 'recall(): % must not be NULL',
              CASE WHEN item IS NULL THEN 'item' WHEN lot IS NULL THEN 'lot' WHEN reason IS NULL THEN 'reason'
                   WHEN source IS NULL THEN 'source' WHEN recall_ref IS NULL THEN 'recall_ref' ELSE 'to_bucket' END
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Name the item, the lot, the reason, the quality authority''s source and a recall reference.';
    END IF;
    IF length(recall_ref) NOT BETWEEN 1 AND 100 OR recall_ref ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid recall reference "%"', left(recall_ref, 120)
              USING ERRCODE = 'invalid_parameter_value', HINT = 'A recall reference has 1 to 100 printable characters.';
    END IF;
    IF btrim(reason) = '' THEN
        RAISE EXCEPTION 'recall %: the reason must not be empty', recall_ref
              USING ERRCODE = 'invalid_parameter_value', HINT = 'Say why the lot is recalled.';
    END IF;
    IF NOT EXISTS (SELECT FROM inventory_sync.source s WHERE s.source = source) THEN
        RAISE EXCEPTION 'unknown source "%"', source
              USING ERRCODE = 'foreign_key_violation', HINT = 'Name the quality authority''s source.';
    END IF;
    IF NOT EXISTS (SELECT FROM inventory_sync.source s JOIN pg_catalog.pg_roles r ON r.rolname = s.role
                    WHERE s.source = source AND pg_catalog.pg_has_role(caller, r.oid, 'USAGE')) THEN
        RAISE EXCEPTION 'role "%" may not post as source "%"', caller, source
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = format('Source "%s" is bound to role "%s".', source,
                                    (SELECT s.role FROM inventory_sync.source s WHERE s.source = source)),
                    HINT = 'Recall as a member of the quality authority''s role.';
    END IF;
    IF NOT EXISTS (SELECT FROM inventory_sync.bucket b WHERE b.bucket = to_bucket AND NOT b.sellable) THEN
        RAISE EXCEPTION 'bucket "%" cannot hold a recall', to_bucket
              USING ERRCODE = 'IS051',
                    DETAIL = CASE WHEN EXISTS (SELECT FROM inventory_sync.bucket b WHERE b.bucket = to_bucket)
                                  THEN 'It is sellable.' ELSE 'It does not exist.' END,
                    HINT = 'Recall into a bucket that is not sellable, such as "blocked".';
    END IF;
    PERFORM inventory_sync._lot_check(item, lot);
END
$$;
COMMENT ON FUNCTION _recall_check_args(gtin, lot_number, text, text, text, text) IS
  'Validates a recall''s arguments and the caller''s right to post as the quality authority''s source';

-- The recall's record; a recall reference already used names the same recall (a replay)
-- or is refused.
CREATE FUNCTION _recall_record(item gtin, lot lot_number, reason text, source text, recall_ref text,
                               to_bucket text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.recall;
BEGIN
    INSERT INTO inventory_sync.recall (recall_ref, item_gtin, lot, reason, source, to_bucket, recalled_by)
    VALUES (recall_ref, item, lot, reason, source, to_bucket,
            coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user))
    ON CONFLICT ON CONSTRAINT recall_recall_ref_key DO NOTHING
    RETURNING * INTO r;
    IF FOUND THEN
        INSERT INTO inventory_sync.recall_lot (recall_id, item_gtin, lot, depth, production_order)
        SELECT r.recall_id, t.item_gtin, t.lot_number, t.depth, t.production_order
          FROM inventory_sync._trace(item, lot, true, 1000000) t;
        RETURN r.recall_id;
    END IF;
    SELECT * INTO r FROM inventory_sync.recall x WHERE x.recall_ref = recall_ref;
    IF r.item_gtin OPERATOR(inventory_sync.<>) item OR r.lot OPERATOR(inventory_sync.<>) lot
       OR r.source <> source OR r.to_bucket <> to_bucket THEN
        RAISE EXCEPTION 'recall "%" was recorded before with other terms', recall_ref
              USING ERRCODE = 'IS002',
                    DETAIL = format('It recalled lot %s of item %s into "%s" as "%s".', r.lot, r.item_gtin, r.to_bucket, r.source),
                    HINT = 'A recall reference names one recall: use a new reference.';
    END IF;
    RETURN r.recall_id;
END
$$;
COMMENT ON FUNCTION _recall_record(gtin, lot_number, text, text, text, text) IS
  'Records a recall and the lots it reaches (a replay of the same recall records nothing new; other terms: IS002)';

-- Every sellable or in-transit balance of the recalled lots, locked in the posting
-- engine's order (item, location, lot, bucket) so that the quantities moved are the ones
-- there when the moves are applied: a transfer or fulfilment in flight finishes first.
-- A serial-tracked item's stock is moved unit by unit (the engine takes a serial per
-- posting): each unit of the lot that serial_state has on hand in such a bucket or in
-- transit. Candidates are the units whose last posting names the lot (serial_unit), so
-- the walk reads no other unit's history.
CREATE FUNCTION _recall_block(recall_id bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.recall := (SELECT x FROM inventory_sync.recall x WHERE x.recall_id = recall_id);
    ids bigint[];
BEGIN
    PERFORM FROM inventory_sync.balance b
      JOIN inventory_sync.recall_lot rl ON rl.item_gtin OPERATOR(inventory_sync.=) b.item_gtin
                                       AND rl.lot OPERATOR(inventory_sync.=) b.lot
     WHERE rl.recall_id = r.recall_id
     ORDER BY b.item_gtin, b.location, b.lot, b.bucket
       FOR NO KEY UPDATE OF b;
    WITH moved AS (
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, lot, serial, bucket, to_bucket,
                                       quantity, reference)
    SELECT 'move', r.source,
           pg_catalog.concat_ws(':', r.recall_ref, m.location::text, m.item_gtin::text, m.lot::text, m.bucket,
                                m.serial::text),
           m.item_gtin, m.location, m.lot, m.serial, m.bucket, r.to_bucket, m.quantity, r.recall_ref
      FROM (SELECT b.item_gtin, b.location, b.lot, NULL::inventory_sync.serial_number AS serial, b.bucket, b.quantity
              FROM inventory_sync.balance b
              JOIN inventory_sync.recall_lot rl ON rl.item_gtin OPERATOR(inventory_sync.=) b.item_gtin
                                               AND rl.lot OPERATOR(inventory_sync.=) b.lot
              JOIN inventory_sync.item i ON i.gtin OPERATOR(inventory_sync.=) b.item_gtin
              JOIN inventory_sync.bucket k ON k.bucket = b.bucket
              JOIN inventory_sync.location loc ON loc.gln OPERATOR(inventory_sync.=) b.location
             WHERE rl.recall_id = r.recall_id AND NOT i.serial_tracked AND b.quantity > 0 AND b.bucket <> r.to_bucket
               AND (k.sellable OR loc.kind = 'in_transit')
            UNION ALL
            SELECT s.item_gtin, s.location, s.lot, s.serial, s.bucket, 1
              FROM inventory_sync.recall_lot rl
              JOIN inventory_sync.item i ON i.gtin OPERATOR(inventory_sync.=) rl.item_gtin
              JOIN inventory_sync.serial_unit u ON u.item_gtin OPERATOR(inventory_sync.=) rl.item_gtin
                                               AND u.lot OPERATOR(inventory_sync.=) rl.lot
              JOIN inventory_sync.serial_state s ON s.item_gtin OPERATOR(inventory_sync.=) u.item_gtin
                                                AND s.serial OPERATOR(inventory_sync.=) u.serial
              JOIN inventory_sync.bucket k ON k.bucket = s.bucket
              JOIN inventory_sync.location loc ON loc.gln OPERATOR(inventory_sync.=) s.location
             WHERE rl.recall_id = r.recall_id AND i.serial_tracked AND s.lot OPERATOR(inventory_sync.=) rl.lot
               AND s.bucket <> r.to_bucket AND (k.sellable OR loc.kind = 'in_transit')) m
     ORDER BY m.item_gtin, m.location, m.lot, m.bucket, m.serial
    RETURNING posting_id)
    SELECT coalesce(pg_catalog.array_agg(moved.posting_id ORDER BY moved.posting_id), '{}') INTO ids FROM moved;
    PERFORM inventory_sync._recall_units(r, ids);
    INSERT INTO inventory_sync.recall_reservation
    SELECT r.recall_id, v.reservation_id, v.channel, v.order_ref, v.line_ref, v.item_gtin, v.location, v.open_quantity
      FROM inventory_sync.reservation v
     WHERE v.status = 'open'
       AND EXISTS (SELECT FROM inventory_sync.recall_lot rl
                    WHERE rl.recall_id = r.recall_id AND rl.item_gtin OPERATOR(inventory_sync.=) v.item_gtin)
       AND (v.location IS NULL
            OR EXISTS (SELECT FROM inventory_sync.recall_posting p
                        WHERE p.recall_id = r.recall_id AND p.location OPERATOR(inventory_sync.=) v.location
                          AND p.item_gtin OPERATOR(inventory_sync.=) v.item_gtin))
    ON CONFLICT DO NOTHING;
    RETURN pg_catalog.cardinality(ids);
END
$$;
COMMENT ON FUNCTION _recall_block(bigint) IS
  'Moves every sellable or in-transit balance of a recall''s lots into its blocking bucket (one statement, keys locked in the engine''s order; a serial-tracked item unit by unit), with the lines of the logistic units there, and flags the open reservations of the recalled items there';

CREATE FUNCTION _recall(item gtin, lot lot_number, reason text, source text, recall_ref text,
                        to_bucket text DEFAULT 'blocked')
RETURNS TABLE (item_gtin gtin, lot_number lot_number, location gln, to_location gln, quantity numeric,
               reference text, source_event_id text, event_time timestamptz, posting_id bigint,
               serial serial_number)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    id bigint;
BEGIN
    PERFORM inventory_sync._recall_check_args($1, $2, $3, $4, $5, $6);
    id := inventory_sync._recall_record($1, $2, $3, $4, $5, $6);
    PERFORM inventory_sync._recall_block(id);
    RETURN QUERY
    SELECT s.item_gtin, s.lot, s.location, s.to_location, s.quantity, s.reference, s.source_event_id,
           s.event_time, s.posting_id, l.serial
      FROM inventory_sync.recall_lot rl
      JOIN inventory_sync.lot_shipment s ON s.item_gtin OPERATOR(inventory_sync.=) rl.item_gtin
                                        AND s.lot OPERATOR(inventory_sync.=) rl.lot
      JOIN inventory_sync.ledger l ON l.posting_id = s.posting_id
     WHERE rl.recall_id = id
     ORDER BY s.event_time, s.posting_id;
END
$$;
COMMENT ON FUNCTION _recall(gtin, lot_number, text, text, text, text) IS
  'The implementation behind recall(): records the recall, blocks its lots, flags reservations, lists the customer shipments';

CREATE FUNCTION recall(item gtin, lot lot_number, reason text, source text, recall_ref text,
                       to_bucket text DEFAULT 'blocked')
RETURNS TABLE (item_gtin gtin, lot_number lot_number, location gln, to_location gln, quantity numeric,
               reference text, source_event_id text, event_time timestamptz, posting_id bigint,
               serial serial_number)
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION recall(gtin, lot_number, text, text, text, text) IS
  'Recalls a lot and every lot made from it: moves their sellable and in-transit stock into to_bucket everywhere at once (postings as the caller''s quality-authority source; serialised units one by one), flags open reservations, returns the customer shipments to contact (with the serial of a serialised unit)';

-- Rights: reading is for readers (functions: 900_privileges.sql).
GRANT SELECT ON recall_posting TO inventory_sync_reader;
