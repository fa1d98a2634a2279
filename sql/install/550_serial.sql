-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Serial lifecycle: each serialised unit's state and history, read from the ledger.
--
-- A serial's history is the postings that name it, in posting order (the order the
-- posting engine applied them in, which is also the order serial_unit follows; a late
-- event is placed where it arrived, not where its event time would put it). Each posting
-- takes the unit out of a place (location, bucket), puts it into one, or both; the walk
-- in serial_history() follows them and says after every posting what the unit is:
--
--   in_stock    on hand at a location that is not in transit
--   returned    on hand where a customer return put it (until it is moved)
--   in_transit  on hand at an in_transit location
--   shipped     gone to a customer (an issue)
--   consumed    used up in production (a consumption)
--   scrapped    written off (a negative adjustment: damage, expiry, shrink, sample...)
--   missing     a count found it not where it was recorded (a count of 0)
--
-- A serial is never "reserved": a reservation holds a quantity of an item at a location
-- (or anywhere in a channel), not a unit. Which unit fills it is known when the shipment
-- names its serial.
--
-- Contradictions are facts too. A serial that is shipped twice, returned without having
-- left, or issued where it is not, is what a till, a dock or a returns desk reported: the
-- posting engine records it (facts are never refused; it raises a serial_conflict in
-- `exception` when a unit arrives where it already is or leaves a place it is not known
-- at) and the walk classifies every contradiction, with the posting it contradicts. The
-- only serial facts refused are malformed ones (IS022: no serial for a serial-tracked
-- item, a serial on another item, a quantity other than one unit).
--
-- Two readings the engine's balance does not make:
--   * a count of a serial states where that unit is: 1 = here, 0 = not here. A count
--     that agrees with the walk changes nothing; one that disagrees moves the unit;
--   * a correction (a posting naming the one it corrects in `corrects`, for the same
--     serial) and the posting it corrects are both left out of the walk: the unit is where
--     it would be had the mistake never been posted. A correction that is corrected in
--     turn does not cancel its own target.
-- ---------------------------------------------------------------------------

-- One serial's postings, in order, found without reading any other serial's.
CREATE INDEX ledger_serial ON ledger (item_gtin, serial) WHERE serial IS NOT NULL;
COMMENT ON INDEX ledger_serial IS 'The postings of a serial (serial_history, serial_state, serial_exceptions)';

CREATE FUNCTION serial_history(item gtin, serial serial_number)
RETURNS TABLE (posting_id bigint, event_time timestamptz, kind posting_kind, source text, source_event_id text,
               location gln, to_location gln, lot lot_number, bucket text, to_bucket text, reference text,
               state text, state_location gln, state_bucket text, state_lot lot_number, state_posting_id bigint,
               state_since timestamptz, conflict text, conflicts_with bigint, detail text)
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 10
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    r record;
    on_hand boolean := false;       -- the unit is somewhere in the network
    at_location inventory_sync.gln;
    at_bucket text;
    at_transit boolean := false;
    known_lot inventory_sync.lot_number;
    seen boolean := false;          -- an effective posting has named the unit
    st text;                        -- its state, and the posting that put it there
    st_posting bigint;
    st_since timestamptz;
    here boolean;
    leaves boolean;
    arrives boolean;
BEGIN
    IF $1 IS NULL OR $2 IS NULL THEN
        RAISE EXCEPTION 'serial_history(): % must not be NULL', CASE WHEN $1 IS NULL THEN 'item' ELSE 'serial' END
              USING ERRCODE = 'null_value_not_allowed', HINT = 'Name the item (GTIN) and the serial.';
    END IF;
    FOR r IN
        WITH p AS MATERIALIZED (
            SELECT l.posting_id, l.kind, l.event_time, l.source, l.source_event_id, l.location, l.to_location,
                   l.lot, l.bucket, l.to_bucket, l.base_quantity, l.reference, l.corrects
              FROM inventory_sync.ledger l
             WHERE l.item_gtin OPERATOR(inventory_sync.=) $1 AND l.serial OPERATOR(inventory_sync.=) $2
               AND l.serial IS NOT NULL)
        SELECT p.*,
               -- corrected by a correction that stands (is not corrected itself)
               (SELECT pg_catalog.min(c.posting_id) FROM p c
                 WHERE c.corrects = p.posting_id
                   AND NOT EXISTS (SELECT FROM p d WHERE d.corrects = c.posting_id)) AS corrected_by,
               -- a correction of this serial's posting that stands
               (p.corrects IS NOT NULL AND EXISTS (SELECT FROM p o WHERE o.posting_id = p.corrects)
                AND NOT EXISTS (SELECT FROM p d WHERE d.corrects = p.posting_id)) AS correcting,
               e.leave_location, e.arrive_location, e.arrive_bucket,
               coalesce(k.kind = 'in_transit', false) AS arrive_in_transit
          FROM p
          CROSS JOIN LATERAL (
               SELECT CASE WHEN p.kind IN ('issue', 'consumption', 'move', 'transfer_out', 'transfer_in')
                             OR (p.kind = 'adjustment' AND p.base_quantity < 0) THEN p.location END AS leave_location,
                      CASE WHEN p.kind IN ('receipt', 'production', 'return', 'move', 'count')
                             OR (p.kind = 'adjustment' AND p.base_quantity > 0) THEN p.location
                           WHEN p.kind IN ('transfer_out', 'transfer_in') THEN p.to_location END AS arrive_location,
                      CASE p.kind WHEN 'move' THEN p.to_bucket
                                  WHEN 'transfer_in' THEN coalesce(p.to_bucket, p.bucket)
                                  ELSE p.bucket END AS arrive_bucket) e
          LEFT JOIN inventory_sync.location k ON k.gln OPERATOR(inventory_sync.=) e.arrive_location
         ORDER BY p.posting_id
    LOOP
        posting_id := r.posting_id; event_time := r.event_time; kind := r.kind; source := r.source;
        source_event_id := r.source_event_id; location := r.location; to_location := r.to_location;
        lot := r.lot; bucket := r.bucket; to_bucket := r.to_bucket; reference := r.reference;
        conflict := NULL; conflicts_with := NULL; detail := NULL;
        leaves := r.leave_location IS NOT NULL;
        arrives := r.arrive_location IS NOT NULL;
        IF r.corrected_by IS NOT NULL OR r.correcting THEN
            leaves := false;
            arrives := false;
            detail := CASE WHEN r.correcting THEN pg_catalog.format('corrects posting %s', r.corrects)
                           ELSE pg_catalog.format('corrected by posting %s', r.corrected_by) END;
        ELSIF r.kind = 'count' THEN
            here := on_hand AND at_location OPERATOR(inventory_sync.=) r.location AND at_bucket = r.bucket;
            leaves := r.base_quantity = 0 AND here;
            arrives := r.base_quantity > 0 AND NOT here;
            IF NOT leaves AND NOT arrives THEN
                detail := CASE WHEN here THEN 'the count finds it where it is' ELSE 'the count agrees it is not here' END;
            END IF;
        END IF;

        IF leaves THEN
            IF NOT on_hand THEN
                IF r.kind = 'issue' AND st = 'shipped' THEN
                    conflict := 'shipped_twice';
                    detail := pg_catalog.format('shipped from %s, but it was shipped before and not returned', r.leave_location);
                ELSE
                    conflict := 'not_on_hand';
                    detail := pg_catalog.format('leaves %s, but it is not on hand (%s)', r.leave_location,
                                                coalesce(st, 'never received'));
                END IF;
            ELSIF at_location OPERATOR(inventory_sync.<>) r.leave_location THEN
                conflict := 'not_at_location';
                detail := pg_catalog.format('leaves %s, but it is at %s', r.leave_location, at_location);
            ELSIF at_bucket <> r.bucket THEN
                conflict := 'wrong_bucket';
                detail := pg_catalog.format('leaves bucket %s at %s, but it is in bucket %s', r.bucket, at_location, at_bucket);
            END IF;
            on_hand := false;
        END IF;
        IF arrives THEN
            IF r.kind = 'return' AND st IS DISTINCT FROM 'shipped' THEN
                conflict := 'returned_not_shipped';
                detail := pg_catalog.format('returned at %s, but it was not shipped (%s)', r.arrive_location,
                                            coalesce(st || CASE WHEN on_hand THEN ' at ' || at_location::text ELSE '' END,
                                                     'never received'));
            ELSIF on_hand AND conflict IS NULL THEN
                conflict := 'already_on_hand';
                detail := pg_catalog.format('arrives at %s, but it is on hand at %s already', r.arrive_location, at_location);
            END IF;
            on_hand := true;
            at_location := r.arrive_location;
            at_bucket := r.arrive_bucket;
            at_transit := r.arrive_in_transit;
        END IF;
        IF r.corrected_by IS NULL AND NOT r.correcting THEN
            -- A unit belongs to one lot for life.
            IF conflict IS NULL AND seen AND r.lot IS DISTINCT FROM known_lot THEN
                conflict := 'lot_mismatch';
                detail := pg_catalog.format('names lot %s, but the unit is of lot %s',
                                            coalesce(r.lot::text, '(none)'), coalesce(known_lot::text, '(none)'));
            END IF;
            IF conflict IS NOT NULL THEN
                conflicts_with := st_posting;
            END IF;
            seen := true;
            known_lot := r.lot;
        END IF;
        IF leaves OR arrives THEN
            st := CASE WHEN on_hand THEN CASE WHEN at_transit THEN 'in_transit'
                                              WHEN r.kind = 'return' THEN 'returned'
                                              ELSE 'in_stock' END
                       ELSE CASE r.kind WHEN 'issue' THEN 'shipped' WHEN 'consumption' THEN 'consumed'
                                        WHEN 'adjustment' THEN 'scrapped' ELSE 'missing' END END;
            st_posting := r.posting_id;
            st_since := r.event_time;
        END IF;
        state := st;
        state_location := CASE WHEN on_hand THEN at_location END;
        state_bucket := CASE WHEN on_hand THEN at_bucket END;
        state_lot := known_lot;
        state_posting_id := st_posting;
        state_since := st_since;
        RETURN NEXT;
    END LOOP;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin OPERATOR(inventory_sync.=) $1) THEN
            RAISE EXCEPTION 'unknown item: gtin %', $1
                  USING ERRCODE = 'foreign_key_violation', HINT = 'Name the item by its own GTIN, not a pack GTIN.';
        ELSIF NOT EXISTS (SELECT FROM inventory_sync.item i
                           WHERE i.gtin OPERATOR(inventory_sync.=) $1 AND i.serial_tracked) THEN
            RAISE EXCEPTION 'item % is not serial-tracked: it has no serials', $1
                  USING ERRCODE = 'IS022', HINT = 'Follow its lots with trace_back() and trace_forward().';
        END IF;
        RAISE EXCEPTION 'unknown serial % of item %', $2, $1
              USING ERRCODE = 'IS052', DETAIL = 'No posting has named this serial of this item.',
                    HINT = 'Check the item (GTIN) and the serial number as printed on the label.';
    END IF;
END
$$;
COMMENT ON FUNCTION serial_history(gtin, serial_number) IS
  'A serial''s history from the ledger: every posting that names it, in posting order, with the state it left the unit in and the contradiction it makes, if any';

-- Every serial the ledger knows (serial_unit has one row per serial ever posted), with
-- the state its last posting left it in. A serial whose every posting was corrected away
-- has no state and is not listed.
CREATE VIEW serial_state AS
SELECT u.item_gtin, u.serial, h.state, h.state_location AS location, h.state_bucket AS bucket, h.state_lot AS lot,
       h.state_posting_id AS last_posting_id, h.state_since AS since, h.conflicts
  FROM inventory_sync.serial_unit u
  CROSS JOIN LATERAL (
       SELECT x.state, x.state_location, x.state_bucket, x.state_lot, x.state_posting_id, x.state_since,
              pg_catalog.count(x.conflict) OVER () AS conflicts
         FROM inventory_sync.serial_history(u.item_gtin, u.serial) x
        ORDER BY x.posting_id DESC
        LIMIT 1) h
 WHERE h.state IS NOT NULL;
COMMENT ON VIEW serial_state IS
  'Each serialised unit''s state (in_stock, returned, in_transit, shipped, consumed, scrapped, missing), where it is, its lot, the posting that put it there and since when, and how many contradictions its history holds';

CREATE FUNCTION serial_exceptions(item gtin DEFAULT NULL)
RETURNS TABLE (item_gtin gtin, serial serial_number, conflict text, posting_id bigint, kind posting_kind,
               source text, source_event_id text, event_time timestamptz, location gln, conflicts_with bigint,
               conflicting_kind posting_kind, conflicting_event_id text, detail text)
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    IF $1 IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin OPERATOR(inventory_sync.=) $1) THEN
        RAISE EXCEPTION 'unknown item: gtin %', $1
              USING ERRCODE = 'foreign_key_violation', HINT = 'Name an item, or no item for every serial.';
    END IF;
    RETURN QUERY
    SELECT u.item_gtin, u.serial, h.conflict, h.posting_id, h.kind, h.source, h.source_event_id, h.event_time,
           h.location, h.conflicts_with, c.kind, c.source_event_id, h.detail
      FROM inventory_sync.serial_unit u
      CROSS JOIN LATERAL inventory_sync.serial_history(u.item_gtin, u.serial) h
      LEFT JOIN inventory_sync.ledger c ON c.posting_id = h.conflicts_with
     WHERE ($1 IS NULL OR u.item_gtin OPERATOR(inventory_sync.=) $1) AND h.conflict IS NOT NULL
     ORDER BY u.item_gtin, u.serial, h.posting_id;
END
$$;
COMMENT ON FUNCTION serial_exceptions(gtin) IS
  'Contradictions in serials'' histories (shipped_twice, returned_not_shipped, not_at_location, wrong_bucket, not_on_hand, already_on_hand, lot_mismatch): the posting, the posting it contradicts, and why; of one item, or of every item';

-- Rights: reading is for readers (functions: 900_privileges.sql).
GRANT SELECT ON serial_state TO inventory_sync_reader;
