-- ---------------------------------------------------------------------------
-- Posting functions for stored-procedure callers. Each is an INSERT into the ledger
-- (so every rule of the posting triggers applies) that returns the ledger row — for a
-- replay, the original one. They run as the caller: the caller's role must be bound to
-- the source, exactly as for a plain INSERT.
-- ---------------------------------------------------------------------------

CREATE FUNCTION post(kind posting_kind, source text, source_event_id text, gtin gtin, location gln,
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

CREATE FUNCTION receive(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                        bucket text DEFAULT 'receiving', lot lot_number DEFAULT NULL,
                        serial serial_number DEFAULT NULL, unit text DEFAULT NULL,
                        event_time timestamptz DEFAULT now(), reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('receipt', source, source_event_id, gtin, location, quantity, bucket, lot,
                           serial, unit => unit, event_time => event_time, reference => reference);
COMMENT ON FUNCTION receive(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text) IS
  'Goods receipt, by default into the non-sellable receiving bucket';

CREATE FUNCTION ship(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                     bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                     serial serial_number DEFAULT NULL, unit text DEFAULT NULL,
                     event_time timestamptz DEFAULT now(), reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('issue', source, source_event_id, gtin, location, quantity, bucket, lot,
                           serial, unit => unit, event_time => event_time, reference => reference);
COMMENT ON FUNCTION ship(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text) IS
  'Issue: a sale, a shipment to a customer (never refused for lack of stock unless the location is strict)';

CREATE FUNCTION transfer_out(source text, source_event_id text, gtin gtin, location gln,
                             in_transit gln, quantity numeric, eta timestamptz,
                             bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                             serial serial_number DEFAULT NULL, event_time timestamptz DEFAULT now(),
                             reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('transfer_out', source, source_event_id, gtin, location, quantity, bucket,
                           lot, serial, to_location => in_transit, event_time => event_time,
                           reference => reference, eta => eta);
COMMENT ON FUNCTION transfer_out(text, text, gtin, gln, gln, numeric, timestamptz, text, lot_number, serial_number, timestamptz, text) IS
  'Ships stock from a location into an in-transit location, with its expected arrival';

CREATE FUNCTION transfer_in(source text, source_event_id text, gtin gtin, in_transit gln,
                            location gln, quantity numeric, bucket text DEFAULT 'released',
                            to_bucket text DEFAULT NULL, lot lot_number DEFAULT NULL,
                            serial serial_number DEFAULT NULL, event_time timestamptz DEFAULT now(),
                            reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('transfer_in', source, source_event_id, gtin, in_transit, quantity, bucket,
                           lot, serial, to_location => location, to_bucket => to_bucket,
                           event_time => event_time, reference => reference);
COMMENT ON FUNCTION transfer_in(text, text, gtin, gln, gln, numeric, text, text, lot_number, serial_number, timestamptz, text) IS
  'Receives stock from an in-transit location at its destination (to_bucket: e.g. receiving)';

CREATE FUNCTION adjust(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                       reason text, bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                       serial serial_number DEFAULT NULL, event_time timestamptz DEFAULT now(),
                       reference text DEFAULT NULL, expected_quantity numeric DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('adjustment', source, source_event_id, gtin, location, quantity, bucket,
                           lot, serial, event_time => event_time, reason => reason,
                           reference => reference, expected_quantity => expected_quantity);
COMMENT ON FUNCTION adjust(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, numeric) IS
  'Signed adjustment with a reason code; optionally compare-and-set on the balance it expects';

CREATE FUNCTION move_stock(source text, source_event_id text, gtin gtin, location gln,
                           quantity numeric, from_bucket text, to_bucket text,
                           lot lot_number DEFAULT NULL, serial serial_number DEFAULT NULL,
                           event_time timestamptz DEFAULT now(), reason text DEFAULT NULL,
                           reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('move', source, source_event_id, gtin, location, quantity, from_bucket,
                           lot, serial, to_bucket => to_bucket, event_time => event_time,
                           reason => reason, reference => reference);
COMMENT ON FUNCTION move_stock(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, text) IS
  'Moves stock between buckets at one location (put-away, QA hold, release, quarantine, damage)';

CREATE FUNCTION count_stock(source text, source_event_id text, gtin gtin, location gln,
                            quantity numeric, as_of timestamptz DEFAULT now(),
                            bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                            serial serial_number DEFAULT NULL, reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('count', source, source_event_id, gtin, location, quantity, bucket, lot,
                           serial, event_time => as_of, reason => 'count', reference => reference);
COMMENT ON FUNCTION count_stock(text, text, gtin, gln, numeric, timestamptz, text, lot_number, serial_number, text) IS
  'Counted quantity as of a time: the difference to the balance as of then is posted; later postings keep their effect';

CREATE FUNCTION consume(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                        lot lot_number DEFAULT NULL, bucket text DEFAULT 'released',
                        unit text DEFAULT NULL, event_time timestamptz DEFAULT now(),
                        reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('consumption', source, source_event_id, gtin, location, quantity, bucket,
                           lot, unit => unit, event_time => event_time, reference => reference);
COMMENT ON FUNCTION consume(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text) IS
  'Manufacturing consumption of a material';

CREATE FUNCTION produce(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                        lot lot_number DEFAULT NULL, bucket text DEFAULT 'qa_hold',
                        unit text DEFAULT NULL, event_time timestamptz DEFAULT now(),
                        reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('production', source, source_event_id, gtin, location, quantity, bucket,
                           lot, unit => unit, event_time => event_time, reference => reference);
COMMENT ON FUNCTION produce(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text) IS
  'Manufacturing output, by default on QA hold until the lot is released';

CREATE FUNCTION return_stock(source text, source_event_id text, gtin gtin, location gln,
                             quantity numeric, bucket text DEFAULT 'quarantine',
                             lot lot_number DEFAULT NULL, serial serial_number DEFAULT NULL,
                             event_time timestamptz DEFAULT now(), reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('return', source, source_event_id, gtin, location, quantity, bucket, lot,
                           serial, event_time => event_time, reference => reference);
COMMENT ON FUNCTION return_stock(text, text, gtin, gln, numeric, text, lot_number, serial_number, timestamptz, text) IS
  'Customer return, by default into quarantine for inspection';

CREATE FUNCTION release_lot(source text, source_event_id_prefix text, gtin gtin, lot lot_number,
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

CREATE FUNCTION correct(source text, source_event_id text, posting_id bigint,
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
