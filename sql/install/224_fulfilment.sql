-- since 0.2.0
-- ---------------------------------------------------------------------------
-- fulfil: the issue postings run as the caller (who must be bound to the source); the
-- reservation is then consumed by a definer function that checks those postings.
-- ---------------------------------------------------------------------------
CREATE TABLE reservation_posting (
    reservation_id bigint NOT NULL REFERENCES reservation,
    posting_id     bigint NOT NULL UNIQUE,
    PRIMARY KEY (reservation_id, posting_id)
);
COMMENT ON TABLE reservation_posting IS 'The issue postings that fulfilled a reservation';
REVOKE ALL ON reservation_posting FROM PUBLIC;

CREATE FUNCTION _reservation_fulfilled(reservation_id bigint, quantity numeric, posting_ids bigint[], location gln)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.reservation := inventory_sync._reservation_lock_open(reservation_id, 'fulfil');
    posted numeric;
    n integer;
BEGIN
    IF NOT r.fulfilling THEN
        RAISE EXCEPTION 'reservation % is not being fulfilled', reservation_id
              USING ERRCODE = '55000', HINT = 'Fulfil reservations with inventory_sync.fulfil().';
    END IF;
    IF quantity > r.open_quantity THEN
        RAISE EXCEPTION 'cannot fulfil % of reservation %: it holds %', quantity, reservation_id, r.open_quantity
              USING ERRCODE = 'IS042';
    END IF;
    IF location IS NULL OR NOT (location = r.location OR (r.location IS NULL AND EXISTS (
            SELECT FROM inventory_sync.channel_location cl WHERE cl.channel = r.channel AND cl.location = location))) THEN
        RAISE EXCEPTION 'reservation % cannot be fulfilled from location %', reservation_id, location
              USING ERRCODE = 'IS043';
    END IF;
    -- the postings must be this transaction's issues of the reserved item at the location
    SELECT count(*), coalesce(-sum(l.base_quantity), 0) INTO n, posted
      FROM inventory_sync.ledger l
     WHERE l.posting_id = ANY (posting_ids) AND l.kind = 'issue' AND l.recorded_at = now()
       AND l.item_gtin = r.item_gtin AND l.location = location
       AND NOT EXISTS (SELECT FROM inventory_sync.reservation_posting p WHERE p.posting_id = l.posting_id);
    IF n <> coalesce(array_length(posting_ids, 1), 0) OR posted <> quantity THEN
        RAISE EXCEPTION 'postings % do not fulfil % of reservation %', posting_ids, quantity, reservation_id
              USING ERRCODE = 'IS042',
                    DETAIL = 'They must be issues of the reserved item at its location, posted in this transaction, not used before.';
    END IF;
    INSERT INTO inventory_sync.reservation_posting SELECT reservation_id, unnest(posting_ids);
    RETURN inventory_sync._reservation_close(r, 'fulfilled', quantity, posting_ids[1]);
END
$$;
COMMENT ON FUNCTION _reservation_fulfilled(bigint, numeric, bigint[], gln) IS
  'Internal (called by fulfil): consumes a reservation with issue postings made in the same transaction';

CREATE FUNCTION _reservation_begin_fulfil(reservation_id bigint, quantity numeric, location gln)
RETURNS TABLE (r reservation, min_shelf_life_days integer, fulfilment_source text, from_location gln)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v inventory_sync.reservation;
    ch inventory_sync.channel;
    want numeric;
    avail numeric;
    key text;
BEGIN
    -- before any row: a membership change (EXCLUSIVE on channel) waits for it
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
    v := inventory_sync._reservation_lock_open(reservation_id, 'fulfil');
    want := coalesce(quantity, v.open_quantity);
    key := format('Reservation %s (channel "%s", order "%s", line "%s").', v.reservation_id, v.channel,
                  v.order_ref, v.line_ref);
    -- the quantity asked is checked against the reservation before any stock is looked at
    IF want > v.open_quantity THEN
        RAISE EXCEPTION 'cannot fulfil % of reservation %: it holds %', want, reservation_id, v.open_quantity
              USING ERRCODE = 'IS042',
                    DETAIL = format('Channel "%s", order "%s", line "%s".', v.channel, v.order_ref, v.line_ref),
                    HINT = 'Reserve the extra quantity first.';
    END IF;
    SELECT * INTO ch FROM inventory_sync.channel c WHERE c.channel = v.channel;
    IF v.location IS NULL THEN
        -- pooled: it ships from one of the channel's locations, the caller's or the one
        -- with the most ATP; what it takes there must not be promised to anyone else
        IF location IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.channel_location cl
                                                 WHERE cl.channel = v.channel AND cl.location = location) THEN
            RAISE EXCEPTION 'location % is not a location of channel "%"', location, v.channel
                  USING ERRCODE = 'IS043', DETAIL = key;
        END IF;
        IF location IS NULL THEN
            SELECT b.location INTO location
              FROM inventory_sync._channel_best_location(v.channel, v.item_gtin, ch.min_shelf_life_days, NULL) b;
            IF location IS NULL THEN
                RAISE EXCEPTION 'channel "%" has no location to fulfil reservation % from', v.channel, reservation_id
                      USING ERRCODE = 'IS043', DETAIL = key;
            END IF;
        END IF;
        PERFORM inventory_sync._promise_keys_lock(ARRAY[v.item_gtin], ARRAY[location]);
        avail := inventory_sync._location_atp(v.item_gtin, location, ch.min_shelf_life_days);
        IF want > avail THEN
            PERFORM inventory_sync._refuse_beyond_atp(
                format('insufficient ATP: location %s has %s of gtin %s to fulfil reservation %s from, %s asked',
                       location, greatest(avail, 0), v.item_gtin, reservation_id, want),
                key, 'Fulfil from another location of the channel (location =>), or a smaller quantity.');
        END IF;
    ELSE
        IF location IS NOT NULL AND location <> v.location THEN
            RAISE EXCEPTION 'reservation % is held at %, not at %', reservation_id, v.location, location
                  USING ERRCODE = 'IS043', DETAIL = key, HINT = 'Leave location out: it ships from where it is held.';
        END IF;
        location := v.location;
        -- the promise key before the issue postings touch balances and channel ATP: the
        -- lock order of every promise (reservation, promise key, balance, channel ATP)
        PERFORM 1 FROM inventory_sync.promise_key k
          WHERE k.item_gtin = v.item_gtin AND k.location = v.location FOR UPDATE;
        -- the reserved quantity leaves the promise key now, so the issue postings that
        -- follow publish the channel ATP the fulfilment ends with (no transient dip)
        IF v.promised_date IS NULL THEN
            UPDATE inventory_sync.promise_key k SET reserved = k.reserved - v.open_quantity, version = k.version + 1
             WHERE k.item_gtin = v.item_gtin AND k.location = v.location;
        END IF;
    END IF;
    -- a pooled or backordered reservation leaves ATP's demand with this flag
    UPDATE inventory_sync.reservation x SET fulfilling = true WHERE x.reservation_id = v.reservation_id
    RETURNING * INTO v;
    RETURN QUERY SELECT v, ch.min_shelf_life_days, ch.fulfilment_source, location;
END
$$;
COMMENT ON FUNCTION _reservation_begin_fulfil(bigint, numeric, gln) IS
  'Internal (called by fulfil): locks an open reservation and the promise key it ships from; returns the channel''s picking rules and the location';

-- One issue posting of a fulfilment. It is posted as fulfil()'s caller: the ledger's row
-- trigger takes the posting role from fulfil()'s C entry point (src/caller.c). IS002
-- when its event was posted before.
CREATE FUNCTION _fulfil_issue(source text, source_event_id text, item gtin, location gln, lot lot_number,
                              bucket text, quantity numeric, reference text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    pid bigint;
BEGIN
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
         VALUES ('issue', $1, $2, $3, $4, $5, $6, $7, $8)
      RETURNING ledger.posting_id INTO pid;
    IF pid IS NULL THEN
        RAISE EXCEPTION 'event "%" of source "%" was posted before', $2, $1
              USING ERRCODE = 'IS002', HINT = 'Pass a new source_event_id for this fulfilment.';
    END IF;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION _fulfil_issue(text, text, gtin, gln, lot_number, text, numeric, text) IS
  'Internal (called by fulfil): posts one issue of a fulfilment; IS002 when its event was posted before';

-- FEFO: the earliest-expiring released lots at the location that meet the channel's
-- shelf-life rule, one issue posting each (event ids <event>:1, :2, ...); IS040 when they
-- do not hold the quantity.
CREATE FUNCTION _fulfil_pick_lots(r reservation, from_location gln, min_shelf_life_days integer, quantity numeric,
                                  source text, event_id text)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    want numeric := quantity;
    take numeric;
    ids bigint[] := '{}';
    lt record;
    n integer := 0;
BEGIN
    FOR lt IN SELECT b.lot, b.bucket, b.quantity
                FROM inventory_sync.balance b
                JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket AND bk.sellable
                LEFT JOIN inventory_sync.lot l ON l.item_gtin = b.item_gtin AND l.lot = b.lot
               WHERE b.item_gtin = r.item_gtin AND b.location = from_location AND b.quantity > 0
                 AND (l.expiry IS NULL OR l.expiry >= current_date + min_shelf_life_days)
               ORDER BY l.expiry NULLS LAST, b.lot, b.bucket
    LOOP
        EXIT WHEN want <= 0;
        take := least(want, lt.quantity);
        n := n + 1;
        ids := ids || inventory_sync._fulfil_issue(source, event_id || ':' || n, r.item_gtin, from_location, lt.lot,
                                                   lt.bucket, take,
                                                   format('reservation %s (%s/%s)', r.reservation_id, r.order_ref,
                                                          r.line_ref));
        want := want - take;
    END LOOP;
    IF want > 0 THEN
        PERFORM inventory_sync._refuse_beyond_atp(
            format('cannot pick %s more of gtin %s at %s: no released lot with the shelf life channel "%s" needs',
                   want, r.item_gtin, from_location, r.channel),
            format('Reservation %s.', r.reservation_id), NULL);
    END IF;
    RETURN ids;
END
$$;
COMMENT ON FUNCTION _fulfil_pick_lots(reservation, gln, integer, numeric, text, text) IS
  'Internal (called by fulfil): issues a lot-tracked fulfilment from the earliest-expiring eligible lots (FEFO); IS040 when they fall short';

-- fulfil() is the C entry point below: the implementation runs with the owner's rights
-- (its internal steps are callable by no API role) while its postings are made, checked
-- and recorded as the caller's (src/caller.c).
CREATE FUNCTION _fulfil(reservation_id bigint, quantity numeric, source text, source_event_id text, location gln)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    pk record;
    r inventory_sync.reservation;
    want numeric;
    ids bigint[];
    ev text;
BEGIN
    IF quantity IS NOT NULL AND (quantity <= 0 OR quantity = 'NaN' OR quantity = 'Infinity') THEN
        RAISE EXCEPTION 'fulfilment quantity % must be positive', quantity USING ERRCODE = 'IS020',
              DETAIL = format('Reservation %s.', reservation_id);
    END IF;
    -- 23503, IS041, then IS042 (more than reserved), then IS043, IS040
    SELECT * INTO pk FROM inventory_sync._reservation_begin_fulfil(reservation_id, quantity, location);
    r := pk.r;
    want := coalesce(quantity, r.open_quantity);
    source := coalesce(source, pk.fulfilment_source);
    IF source IS NULL THEN
        RAISE EXCEPTION 'no source to post the fulfilment of reservation % as', reservation_id
              USING ERRCODE = '22023', HINT = 'Pass source, or set channel.fulfilment_source.';
    END IF;
    ev := coalesce(source_event_id, 'reservation:' || reservation_id);
    IF (SELECT i.lot_tracked FROM inventory_sync.item i WHERE i.gtin = r.item_gtin) THEN
        ids := inventory_sync._fulfil_pick_lots(r, pk.from_location, pk.min_shelf_life_days, want, source, ev);
    ELSE
        -- no lots: the sellable bucket holding the most there
        ids := ARRAY[inventory_sync._fulfil_issue(
                   source, ev, r.item_gtin, pk.from_location, NULL,
                   coalesce((SELECT b.bucket FROM inventory_sync.balance b
                               JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket AND bk.sellable
                              WHERE b.item_gtin = r.item_gtin AND b.location = pk.from_location AND b.lot IS NULL
                              ORDER BY b.quantity DESC, b.bucket LIMIT 1), 'released'),
                   want, format('reservation %s (%s/%s)', reservation_id, r.order_ref, r.line_ref))];
    END IF;
    RETURN inventory_sync._reservation_fulfilled(reservation_id, coalesce(quantity, r.open_quantity), ids,
                                                 pk.from_location);
END
$$;
COMMENT ON FUNCTION _fulfil(bigint, numeric, text, text, gln) IS
  'Internal (called by fulfil, with the owner''s rights): the fulfilment itself';

CREATE FUNCTION fulfil(reservation_id bigint, quantity numeric DEFAULT NULL, source text DEFAULT NULL,
                       source_event_id text DEFAULT NULL, location gln DEFAULT NULL)
RETURNS reservation
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION fulfil(bigint, numeric, text, text, gln) IS
  'Fulfils a reservation fully or partly: posts the issue (FEFO lots for lot-tracked items) as the caller and closes the reservation in the same transaction; a remainder returns to ATP. A pooled reservation ships from the given location of its channel (default: the one with the most ATP)';

-- Rights: reading is for readers (functions: 900_privileges.sql).
GRANT SELECT ON reservation_posting TO inventory_sync_reader;
SELECT pg_catalog.pg_extension_config_dump('reservation_posting', '');
