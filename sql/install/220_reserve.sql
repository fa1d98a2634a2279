-- since 0.2.0
-- ---------------------------------------------------------------------------
-- reserve: a promise of a quantity through a channel, refused beyond ATP (IS040).
-- ---------------------------------------------------------------------------
CREATE FUNCTION _reservation_record(r reservation, action reservation_action, delta numeric, posting_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    c record;
    mine record;
BEGIN
    -- every channel selling from the location sees its ATP move, republished in (channel)
    -- order; the reservation's own channel's after-state goes into the reservation change
    FOR c IN SELECT cl.channel FROM inventory_sync.channel_location cl
              WHERE cl.location = r.location
              ORDER BY 1
    LOOP
        IF c.channel = r.channel THEN
            mine := inventory_sync._channel_atp_publish(c.channel, r.item_gtin, 'reservation', posting_id, r.reservation_id);
        ELSE
            PERFORM inventory_sync._channel_atp_publish(c.channel, r.item_gtin, 'reservation', posting_id, r.reservation_id);
        END IF;
    END LOOP;
    -- A channel that no longer sells from the location (it left the channel after the
    -- reservation was placed there) is not moved by it: its published ATP is recorded as
    -- it is. Locking it here would take a channel ATP row out of order in fulfil(), whose
    -- issue posting already locked those of the location's channels.
    IF mine IS NULL THEN
        SELECT a.atp, a.version INTO mine FROM inventory_sync.channel_atp a
         WHERE a.channel = r.channel AND a.item_gtin = r.item_gtin;
        IF NOT FOUND THEN
            SELECT inventory_sync._channel_atp_now(r.channel, r.item_gtin) AS atp, 0::bigint AS version INTO mine;
        END IF;
    END IF;
    INSERT INTO inventory_sync.reservation_change (reservation_id, action, channel, item_gtin, location, order_ref,
                                                   line_ref, delta, open_after, atp_after, version, posting_id)
         VALUES (r.reservation_id, action, r.channel, r.item_gtin, r.location, r.order_ref, r.line_ref,
                 delta, r.open_quantity, mine.atp, mine.version, posting_id);
END
$$;
COMMENT ON FUNCTION _reservation_record(reservation, reservation_action, numeric, bigint) IS
  'Internal: republishes the ATP of the channels a reservation change moves and records its after-state';

-- Reserving again with the same key returns the reservation, if the terms are the same.
CREATE FUNCTION _reservation_existing(channel text, order_ref text, line_ref text, item gtin, quantity numeric,
                                      location gln)
RETURNS reservation
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.reservation;
BEGIN
    SELECT * INTO r FROM inventory_sync.reservation v
     WHERE v.channel = channel AND v.order_ref = order_ref AND v.line_ref = line_ref;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF r.item_gtin <> item OR r.quantity <> quantity OR (location IS NOT NULL AND r.location IS DISTINCT FROM location) THEN
        RAISE EXCEPTION 'reservation channel "%", order "%", line "%" exists with different terms', channel, order_ref, line_ref
              USING ERRCODE = 'IS044',
                    DETAIL = format('It holds %s of gtin %s %s (status %s); this call asks %s of gtin %s%s.',
                                    r.quantity, r.item_gtin,
                                    coalesce('at ' || r.location::text, 'anywhere in the channel'), r.status,
                                    quantity, item, coalesce(' at ' || location::text, '')),
                    HINT = 'A reservation key names one promise: use a new line_ref, or cancel the reservation first.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION _reservation_existing(text, text, text, gtin, numeric, gln) IS
  'Internal: the reservation with this key (NULL if none); IS044 when its terms differ';

-- Every case reserve() does not take on its fast path (src/promise.c): a location, a
-- channel sharing locations, a backorder channel, a published ATP from an earlier day,
-- a reservation key seen before, bad input.
CREATE FUNCTION _reserve_general(channel text, order_ref text, line_ref text, item gtin, quantity numeric,
                                 location gln, expires_at timestamptz, due_date date)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ch inventory_sync.channel;
    r inventory_sync.reservation;
    loc record;
    best gln;
    best_atp numeric := NULL;
    avail numeric;
    chan_atp numeric;
    chan_total numeric;
    one_location boolean := false;
    chan_after numeric;
    promised date;
    pooled boolean;
    pub record;
    key text := format('channel "%s", order "%s", line "%s"', channel, order_ref, line_ref);
BEGIN
    IF quantity IS NULL OR quantity <= 0 OR quantity = 'NaN' OR quantity = 'Infinity' THEN
        RAISE EXCEPTION 'reservation quantity % must be positive', coalesce(quantity::text, 'NULL')
              USING ERRCODE = 'IS020', DETAIL = 'Reservation ' || key || '.';
    END IF;
    IF order_ref IS NULL OR line_ref IS NULL THEN
        RAISE EXCEPTION 'a reservation needs order_ref and line_ref' USING ERRCODE = '22004',
              DETAIL = 'Reservation ' || key || '.', HINT = 'They are the caller''s key that makes reserving idempotent.';
    END IF;
    IF length(order_ref) NOT BETWEEN 1 AND 200 OR length(line_ref) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'order_ref and line_ref must have 1 to 200 characters' USING ERRCODE = '22023',
              DETAIL = 'Reservation ' || key || '.';
    END IF;
    SELECT * INTO ch FROM inventory_sync.channel c WHERE c.channel = channel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown channel "%"', channel USING ERRCODE = '23503',
              DETAIL = 'Reservation ' || key || '.', HINT = 'Channels are listed in inventory_sync.channel.';
    END IF;
    IF item IS NULL OR NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = item) THEN
        RAISE EXCEPTION 'unknown item: gtin %', item USING ERRCODE = '23503', DETAIL = 'Reservation ' || key || '.';
    END IF;
    IF location IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM inventory_sync.location l WHERE l.gln = location) THEN
            RAISE EXCEPTION 'unknown location: gln %', location USING ERRCODE = '23503', DETAIL = 'Reservation ' || key || '.';
        END IF;
        IF NOT EXISTS (SELECT FROM inventory_sync.channel_location cl WHERE cl.channel = channel AND cl.location = location) THEN
            RAISE EXCEPTION 'location % is not a location of channel "%"', location, channel
                  USING ERRCODE = 'IS043', DETAIL = 'Reservation ' || key || '.',
                        HINT = 'The channel sells from the locations in inventory_sync.channel_location; reserve without a location to let it choose.';
        END IF;
    END IF;
    expires_at := coalesce(expires_at, now() + ch.reservation_ttl);
    IF expires_at <= now() THEN
        RAISE EXCEPTION 'reservation expiry % is not in the future', expires_at
              USING ERRCODE = 'IS045', DETAIL = 'Reservation ' || key || '.',
                    HINT = 'Leave expires_at out to get the channel''s reservation_ttl.';
    END IF;

    -- the caller's key makes reserving idempotent
    r := inventory_sync._reservation_existing(channel, order_ref, line_ref, item, quantity, location);
    IF r.reservation_id IS NOT NULL THEN
        RETURN r;
    END IF;
    pooled := location IS NULL AND inventory_sync.channel_is_dedicated(channel);

    -- Locks, in the global order: promise keys by location (every location it could be
    -- held at), then channel ATP rows by channel, one at a time (this channel and every
    -- channel selling from one of its locations); ATP is read after them.
    IF NOT pooled OR ch.allow_backorder THEN
        PERFORM inventory_sync._promise_keys_lock(array_agg(item), array_agg(cl.location))
           FROM inventory_sync.channel_location cl WHERE cl.channel = channel;
    END IF;
    PERFORM inventory_sync._channel_atp_lock(array_agg(x.channel), array_agg(item))
       FROM (SELECT c2.channel FROM inventory_sync.channel_location c1
               JOIN inventory_sync.channel_location c2 ON c2.location = c1.location
              WHERE c1.channel = channel
             UNION SELECT channel) x;

    IF pooled THEN
        -- the published value is brought up to date first (a new day may have expired lots)
        pub := inventory_sync._channel_atp_publish(channel, item, 'refresh', NULL, NULL);
        chan_atp := pub.atp;
        IF quantity <= chan_atp THEN
            INSERT INTO inventory_sync.reservation (channel, order_ref, line_ref, item_gtin, location, anywhere,
                                                    quantity, open_quantity, expires_at, due_date)
                 VALUES (channel, order_ref, line_ref, item, NULL, true, quantity, quantity, expires_at, due_date)
            ON CONFLICT ON CONSTRAINT reservation_channel_order_ref_line_ref_key DO NOTHING
            RETURNING * INTO r;
            IF r.reservation_id IS NULL THEN    -- the same key, committed meanwhile
                RETURN inventory_sync._reservation_existing(channel, order_ref, line_ref, item, quantity, location);
            END IF;
            pub := inventory_sync._channel_atp_add(channel, item, -quantity, r.reservation_id);
            INSERT INTO inventory_sync.reservation_change (reservation_id, action, channel, item_gtin, location, order_ref,
                                                           line_ref, delta, open_after, atp_before, atp_after, version)
                 VALUES (r.reservation_id, 'reserve', channel, item, NULL, order_ref, line_ref, quantity, quantity,
                         pub.atp_before, pub.atp, pub.version);
            RETURN r;
        END IF;
    ELSE
        chan_atp := inventory_sync._channel_atp(channel, item);
        FOR loc IN SELECT cl.location FROM inventory_sync.channel_location cl
                    WHERE cl.channel = channel AND (location IS NULL OR cl.location = location)
                    ORDER BY cl.priority, cl.location
        LOOP
            avail := inventory_sync._location_atp(item, loc.location, ch.min_shelf_life_days);
            IF best_atp IS NULL OR avail > best_atp THEN
                best := loc.location;
                best_atp := avail;
            END IF;
        END LOOP;
        IF best IS NOT NULL AND quantity <= best_atp AND quantity <= chan_atp THEN
            INSERT INTO inventory_sync.reservation (channel, order_ref, line_ref, item_gtin, location, anywhere,
                                                    quantity, open_quantity, expires_at, due_date)
                 VALUES (channel, order_ref, line_ref, item, best, location IS NULL, quantity, quantity, expires_at, due_date)
            ON CONFLICT ON CONSTRAINT reservation_channel_order_ref_line_ref_key DO NOTHING
            RETURNING * INTO r;
            IF r.reservation_id IS NULL THEN
                RETURN inventory_sync._reservation_existing(channel, order_ref, line_ref, item, quantity, location);
            END IF;
            UPDATE inventory_sync.promise_key k SET reserved = k.reserved + quantity, version = k.version + 1
             WHERE k.item_gtin = item AND k.location = best;
            PERFORM inventory_sync._reservation_record(r, 'reserve', quantity, NULL);
            RETURN r;
        END IF;
        -- anywhere in a shared channel a line is held at one location: when the best
        -- location has less than the channel, that is what limits the line
        chan_total := chan_atp;
        one_location := location IS NULL AND best IS NOT NULL AND best_atp < chan_total;
        chan_atp := least(coalesce(best_atp, 0), chan_atp);
    END IF;

    -- Not from stock: a backorder channel promises against expected supply, at the
    -- location that can promise it first.
    IF ch.allow_backorder THEN
        SELECT p.location, p.promise_date AS d INTO loc
          FROM inventory_sync._promise_date(item, channel, quantity, due_date, 182, location) p;
        promised := loc.d;
    END IF;
    IF promised IS NULL AND one_location THEN
        RAISE EXCEPTION 'insufficient ATP: % of gtin % asked, % available at one location of channel "%"',
              quantity, item, greatest(best_atp, 0), channel
              USING ERRCODE = 'IS040',
                    DETAIL = format('Reservation %s. A reservation is held at one location: the most at one is %s, at %s, of %s in the channel.',
                                    key, greatest(best_atp, 0), best, chan_total),
                    HINT = format('Split the line into lines of at most %s (each is held at one location), or reserve less.',
                                  greatest(best_atp, 0))
                           || CASE WHEN ch.allow_backorder THEN ' No expected supply covers the whole line within 26 weeks either.'
                                   ELSE '' END;
    END IF;
    IF promised IS NULL THEN
        RAISE EXCEPTION 'insufficient ATP: % of gtin % asked, % available%', quantity, item, greatest(chan_atp, 0),
              CASE WHEN location IS NULL THEN format(' in channel "%s"', channel) ELSE format(' at %s', location) END
              USING ERRCODE = 'IS040', DETAIL = 'Reservation ' || key || '.',
                    HINT = CASE WHEN ch.allow_backorder THEN 'No expected supply covers it within 26 weeks either.'
                                ELSE 'Reserve less, elsewhere, or let the channel take backorders (channel.allow_backorder).' END;
    END IF;
    chan_atp := inventory_sync._channel_atp(channel, item);
    INSERT INTO inventory_sync.reservation (channel, order_ref, line_ref, item_gtin, location, anywhere,
                                            quantity, open_quantity, expires_at, due_date, promised_date)
         VALUES (channel, order_ref, line_ref, item, loc.location, location IS NULL, quantity, quantity,
                 greatest(expires_at, (promised + 1)::timestamptz), due_date, promised)
    ON CONFLICT ON CONSTRAINT reservation_channel_order_ref_line_ref_key DO NOTHING
    RETURNING * INTO r;
    IF r.reservation_id IS NULL THEN
        RETURN inventory_sync._reservation_existing(channel, order_ref, line_ref, item, quantity, location);
    END IF;
    PERFORM inventory_sync._reservation_record(r, 'reserve', quantity, NULL);
    -- what it borrows from on-hand must not be what the channel already promised
    chan_after := inventory_sync._channel_atp(channel, item);
    IF chan_after < 0 AND chan_after < chan_atp THEN
        RAISE EXCEPTION 'insufficient ATP: a backorder of % of gtin % for % would take stock channel "%" already promised',
              quantity, item, promised, channel
              USING ERRCODE = 'IS040', DETAIL = 'Reservation ' || key || '.',
                    HINT = 'Ask for a later date (due_date), or less.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION _reserve_general(text, text, text, gtin, numeric, gln, timestamptz, date) IS
  'Internal (called by reserve): every reservation the fast path does not take; locks promise keys, then channel ATP rows, then reads ATP';

CREATE FUNCTION reserve(channel text, order_ref text, line_ref text, item gtin, quantity numeric,
                        location gln DEFAULT NULL, expires_at timestamptz DEFAULT NULL, due_date date DEFAULT NULL)
RETURNS reservation
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS 'MODULE_PATHNAME', 'reserve';
COMMENT ON FUNCTION reserve(text, text, text, gtin, numeric, gln, timestamptz, date) IS
  'Promises a quantity of an item through a channel (at a location, or anywhere in the channel) until it expires; refused beyond ATP (IS040); idempotent on (channel, order_ref, line_ref)';
