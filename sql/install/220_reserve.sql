-- since 0.2.0
-- ---------------------------------------------------------------------------
-- reserve: a promise of a quantity through a channel, refused beyond ATP (IS040).
--
-- reserve() is C (src/promise.c): it takes a pooled reservation from stock in a
-- dedicated channel whose published ATP is today's, and a line held at one location
-- from stock (src/reserve_placed.c: the location named, or anywhere in a channel that
-- does not pool), and hands every other case to _reserve_general(), which has reserve()'s
-- arguments and result. _reserve_general():
-- checks the arguments, returns the reservation a repeated key names, takes its locks in
-- the global order, reads what stock offers, and places the line from stock, or as a
-- backorder, or refuses it (IS040).
-- ---------------------------------------------------------------------------
CREATE FUNCTION _reservation_record(r reservation, action reservation_action, delta numeric, posting_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    mine record;
BEGIN
    -- every channel selling from the location sees its ATP move (the caller holds the
    -- location's promise key); the reservation's own channel's after-state goes into the
    -- reservation change
    -- (a channel with a cap: its own ATP moves with what it holds, wherever that is)
    PERFORM inventory_sync._channel_atp_move(ARRAY[r.item_gtin], ARRAY[r.location], c.channels, c.items, 'reservation',
                                             posting_id, r.reservation_id)
       FROM (SELECT array_agg(x.channel) AS channels, array_agg(x.item_gtin) AS items FROM inventory_sync.channel_cap x
              WHERE x.channel = r.channel AND x.item_gtin = r.item_gtin) c;
    -- A channel that no longer sells from the location (it left the channel after the
    -- reservation was placed there) is not moved by it: its published ATP is recorded as
    -- it is.
    SELECT a.atp, a.version INTO mine FROM inventory_sync.channel_atp a
     WHERE a.channel = r.channel AND a.item_gtin = r.item_gtin;
    IF NOT FOUND THEN
        SELECT inventory_sync._channel_atp_now(r.channel, r.item_gtin) AS atp, 0::bigint AS version INTO mine;
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

-- Every refusal of a promise beyond ATP (IS040) is raised here, so the class, and the
-- form of what it says, are decided once: the message says what was asked and what there
-- is, the detail names the reservation, the hint what the caller can do instead.
CREATE FUNCTION _refuse_beyond_atp(message text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    IF hint IS NULL THEN
        RAISE EXCEPTION USING MESSAGE = message, ERRCODE = 'IS040', DETAIL = detail;
    END IF;
    RAISE EXCEPTION USING MESSAGE = message, ERRCODE = 'IS040', DETAIL = detail, HINT = hint;
END
$$;
COMMENT ON FUNCTION _refuse_beyond_atp(text, text, text) IS
  'Internal: raises the refusal of a promise beyond ATP (IS040) with the given message, detail and hint (none when NULL)';

-- The caller's key of a reservation, as its errors name it.
CREATE FUNCTION _reservation_key(channel text, order_ref text, line_ref text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('channel "%s", order "%s", line "%s"', $1, $2, $3)
$$;
COMMENT ON FUNCTION _reservation_key(text, text, text) IS
  'Internal: a reservation''s key (channel, order, line) as error messages name it';

-- reserve()'s arguments, checked in the order the errors are documented: quantity (IS020),
-- references (22004, 22023), channel, item and location (23503), membership (IS043),
-- expiry (IS045). Returns the channel and the expiry (the channel's reservation_ttl when
-- none is given).
CREATE FUNCTION _reserve_check(channel text, order_ref text, line_ref text, item gtin, quantity numeric,
                               location gln, expires_at timestamptz)
RETURNS TABLE (ch channel, expires timestamptz)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    c inventory_sync.channel;
    detail text := 'Reservation ' || inventory_sync._reservation_key(channel, order_ref, line_ref) || '.';
BEGIN
    IF quantity IS NULL OR quantity <= 0 OR quantity = 'NaN' OR quantity = 'Infinity' THEN
        RAISE EXCEPTION 'reservation quantity % must be positive', coalesce(quantity::text, 'NULL')
              USING ERRCODE = 'IS020', DETAIL = detail;
    END IF;
    IF order_ref IS NULL OR line_ref IS NULL THEN
        RAISE EXCEPTION 'a reservation needs order_ref and line_ref' USING ERRCODE = '22004',
              DETAIL = detail, HINT = 'They are the caller''s key that makes reserving idempotent.';
    END IF;
    IF length(order_ref) NOT BETWEEN 1 AND 200 OR length(line_ref) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'order_ref and line_ref must have 1 to 200 characters' USING ERRCODE = '22023',
              DETAIL = detail;
    END IF;
    SELECT * INTO c FROM inventory_sync.channel x WHERE x.channel = channel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown channel "%"', channel USING ERRCODE = '23503',
              DETAIL = detail, HINT = 'Channels are listed in inventory_sync.channel.';
    END IF;
    IF item IS NULL OR NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = item) THEN
        RAISE EXCEPTION 'unknown item: gtin %', item USING ERRCODE = '23503', DETAIL = detail;
    END IF;
    IF location IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM inventory_sync.location l WHERE l.gln = location) THEN
            RAISE EXCEPTION 'unknown location: gln %', location USING ERRCODE = '23503', DETAIL = detail;
        END IF;
        IF NOT EXISTS (SELECT FROM inventory_sync.channel_location cl WHERE cl.channel = channel AND cl.location = location) THEN
            RAISE EXCEPTION 'location % is not a location of channel "%"', location, channel
                  USING ERRCODE = 'IS043', DETAIL = detail,
                        HINT = 'The channel sells from the locations in inventory_sync.channel_location; reserve without a location to let it choose.';
        END IF;
    END IF;
    expires_at := coalesce(expires_at, now() + c.reservation_ttl);
    IF expires_at <= now() THEN
        RAISE EXCEPTION 'reservation expiry % is not in the future', expires_at
              USING ERRCODE = 'IS045', DETAIL = detail,
                    HINT = 'Leave expires_at out to get the channel''s reservation_ttl.';
    END IF;
    ch := c;
    expires := expires_at;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION _reserve_check(text, text, text, gtin, numeric, gln, timestamptz) IS
  'Internal: checks reserve()''s arguments (IS020, 22004, 22023, 23503, IS043, IS045); returns the channel and the expiry';

-- The locks a reservation takes, in the global order: the promise keys of every location
-- it could be held at (the one asked for, when the channel's published ATP is today's:
-- otherwise every one of the channel's, whose location ATP is computed again), then the
-- channel ATP rows, one at a time, of this channel and of every channel selling from one
-- of its locations.
CREATE FUNCTION _reserve_lock(channel text, item gtin, location gln)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF location IS NOT NULL AND EXISTS (SELECT FROM inventory_sync.channel_atp_state s
                                         WHERE s.channel = channel AND s.item_gtin = item
                                           AND s.computed_on = current_date) THEN
        PERFORM inventory_sync._promise_keys_lock(ARRAY[item], ARRAY[location]);
    ELSE
        PERFORM inventory_sync._promise_keys_lock(array_agg(item), array_agg(cl.location))
           FROM inventory_sync.channel_location cl WHERE cl.channel = channel;
    END IF;
    PERFORM inventory_sync._channel_atp_lock(array_agg(x.channel), array_agg(item))
       FROM (SELECT c2.channel FROM inventory_sync.channel_location c1
               JOIN inventory_sync.channel_location c2 ON c2.location = c1.location
              WHERE c1.channel = channel
             UNION SELECT channel) x;
END
$$;
COMMENT ON FUNCTION _reserve_lock(text, gtin, gln) IS
  'Internal: takes a reservation''s locks in the global order (promise keys of the location asked for or of the channel''s locations, then channel ATP rows)';

-- What stock offers a reservation, read after its locks. The channel's published ATP is
-- brought up to date first when it is from an earlier day (lots leave ATP by date): the
-- location ATP of each of its locations computed again, then summed. Pooled: that ATP.
-- Otherwise the location with the most ATP (the one asked for, if any) and the channel's
-- ATP; a line is held at one location, so it may take the lesser of the two (available).
CREATE FUNCTION _reserve_stock_offer(channel text, item gtin, location gln, min_shelf_life_days integer,
                                     pooled boolean,
                                     OUT best gln, OUT best_atp numeric, OUT channel_atp numeric,
                                     OUT available numeric)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF NOT EXISTS (SELECT FROM inventory_sync.channel_atp_state s
                    WHERE s.channel = channel AND s.item_gtin = item AND s.computed_on = current_date) THEN
        PERFORM inventory_sync._channel_atp_move(array_agg(item), array_agg(cl.location), ARRAY[channel], ARRAY[item],
                                                 'refresh', NULL, NULL)
           FROM inventory_sync.channel_location cl WHERE cl.channel = channel;
    END IF;
    channel_atp := coalesce((SELECT a.atp FROM inventory_sync.channel_atp a
                              WHERE a.channel = channel AND a.item_gtin = item), 0);
    IF pooled THEN
        available := channel_atp;
        RETURN;
    END IF;
    SELECT b.location, b.atp INTO best, best_atp
      FROM inventory_sync._channel_best_location(channel, item, min_shelf_life_days, location) b;
    available := least(coalesce(best_atp, 0), channel_atp);
END
$$;
COMMENT ON FUNCTION _reserve_stock_offer(text, gtin, gln, integer, boolean) IS
  'Internal: what stock offers a reservation: the channel''s ATP (brought up to date when from an earlier day) or the best location''s and the channel''s, and the most a line may take';

-- Inserts a new reservation; NULL when a reservation with the same key was committed
-- meanwhile (the caller returns that one).
CREATE FUNCTION _reservation_insert(channel text, order_ref text, line_ref text, item gtin, location gln,
                                    anywhere boolean, quantity numeric, expires_at timestamptz, due_date date,
                                    promised_date date)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    r inventory_sync.reservation;
BEGIN
    INSERT INTO inventory_sync.reservation (channel, order_ref, line_ref, item_gtin, location, anywhere,
                                            quantity, open_quantity, expires_at, due_date, promised_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)
    ON CONFLICT ON CONSTRAINT reservation_channel_order_ref_line_ref_key DO NOTHING
    RETURNING * INTO r;
    RETURN r;
END
$$;
COMMENT ON FUNCTION _reservation_insert(text, text, text, gtin, gln, boolean, numeric, timestamptz, date, date) IS
  'Internal: inserts a new reservation; NULL when its key was taken meanwhile';

-- A reservation from stock: pooled (at NULL), it moves only its channel's ATP, by its
-- quantity; held at a location, it adds to the promise key there and republishes the ATP
-- of every channel selling from it.
CREATE FUNCTION _reserve_from_stock(channel text, order_ref text, line_ref text, item gtin, quantity numeric,
                                    at gln, location gln, expires_at timestamptz, due_date date)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.reservation;
    pub record;
BEGIN
    r := inventory_sync._reservation_insert(channel, order_ref, line_ref, item, at, location IS NULL, quantity,
                                            expires_at, due_date, NULL);
    IF r.reservation_id IS NULL THEN    -- the same key, committed meanwhile
        RETURN inventory_sync._reservation_existing(channel, order_ref, line_ref, item, quantity, location);
    END IF;
    IF at IS NOT NULL THEN
        UPDATE inventory_sync.promise_key k SET reserved = k.reserved + quantity, version = k.version + 1
         WHERE k.item_gtin = item AND k.location = at;
        PERFORM inventory_sync._reservation_record(r, 'reserve', quantity, NULL);
        RETURN r;
    END IF;
    pub := inventory_sync._channel_atp_add(channel, item, -quantity, r.reservation_id);
    INSERT INTO inventory_sync.reservation_change (reservation_id, action, channel, item_gtin, location, order_ref,
                                                   line_ref, delta, open_after, atp_before, atp_after, version)
         VALUES (r.reservation_id, 'reserve', channel, item, NULL, order_ref, line_ref, quantity, quantity,
                 pub.atp_before, pub.atp, pub.version);
    RETURN r;
END
$$;
COMMENT ON FUNCTION _reserve_from_stock(text, text, text, gtin, numeric, gln, gln, timestamptz, date) IS
  'Internal: places a reservation against stock, pooled or at a location, and records it with the ATP it moves';

-- The refusal of a line that neither stock nor expected supply covers. Anywhere in a
-- shared channel a line is held at one location: when the best location has less than
-- the channel, that is what limits the line, and the refusal says so.
CREATE FUNCTION _reserve_refuse(channel text, order_ref text, line_ref text, item gtin, quantity numeric,
                                location gln, allow_backorder boolean, best gln, best_atp numeric,
                                channel_atp numeric, available numeric)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    key text := inventory_sync._reservation_key(channel, order_ref, line_ref);
BEGIN
    IF location IS NULL AND best IS NOT NULL AND best_atp < channel_atp THEN
        PERFORM inventory_sync._refuse_beyond_atp(
            format('insufficient ATP: %s of gtin %s asked, %s available at one location of channel "%s"',
                   quantity, item, greatest(best_atp, 0), channel)
            || inventory_sync._allocation_limit_note(channel, item, best),
            format('Reservation %s. A reservation is held at one location: the most at one is %s, at %s, of %s in the channel.',
                   key, greatest(best_atp, 0), best, channel_atp),
            format('Split the line into lines of at most %s (each is held at one location), or reserve less.',
                   greatest(best_atp, 0))
            || CASE WHEN allow_backorder THEN ' No expected supply covers the whole line within 26 weeks either.'
                    ELSE '' END);
    END IF;
    PERFORM inventory_sync._refuse_beyond_atp(
        format('insufficient ATP: %s of gtin %s asked, %s available%s', quantity, item, greatest(available, 0),
               CASE WHEN location IS NULL THEN format(' in channel "%s"', channel) ELSE format(' at %s', location) END)
        || inventory_sync._allocation_limit_note(channel, item, coalesce(location, best)),
        'Reservation ' || key || '.',
        CASE WHEN allow_backorder THEN 'No expected supply covers it within 26 weeks either.'
             ELSE 'Reserve less, elsewhere, or let the channel take backorders (channel.allow_backorder).' END);
END
$$;
COMMENT ON FUNCTION _reserve_refuse(text, text, text, gtin, numeric, gln, boolean, gln, numeric, numeric, numeric) IS
  'Internal: refuses a reservation beyond ATP (IS040), saying whether the channel or one location limits it';

-- A backorder: promised against expected supply, at the location that can promise it
-- first (promised NULL: refused). What it borrows from on-hand must not be what the
-- channel already promised.
CREATE FUNCTION _reserve_backorder(channel text, order_ref text, line_ref text, item gtin, quantity numeric,
                                   location gln, expires_at timestamptz, due_date date, at gln, promised date)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.reservation;
    chan_atp numeric := inventory_sync._channel_atp(channel, item);
    chan_after numeric;
BEGIN
    r := inventory_sync._reservation_insert(channel, order_ref, line_ref, item, at, location IS NULL, quantity,
                                            greatest(expires_at, (promised + 1)::timestamptz), due_date, promised);
    IF r.reservation_id IS NULL THEN
        RETURN inventory_sync._reservation_existing(channel, order_ref, line_ref, item, quantity, location);
    END IF;
    PERFORM inventory_sync._reservation_record(r, 'reserve', quantity, NULL);
    chan_after := inventory_sync._channel_atp(channel, item);
    IF chan_after < 0 AND chan_after < chan_atp THEN
        PERFORM inventory_sync._refuse_beyond_atp(
            format('insufficient ATP: a backorder of %s of gtin %s for %s would take stock channel "%s" already promised',
                   quantity, item, promised, channel),
            'Reservation ' || inventory_sync._reservation_key(channel, order_ref, line_ref) || '.',
            'Ask for a later date (due_date), or less.');
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION _reserve_backorder(text, text, text, gtin, numeric, gln, timestamptz, date, gln, date) IS
  'Internal: places a backorder at the location and date time-phased ATP promises, refused (IS040) when it would take stock the channel already promised';

-- Every case reserve() does not take on its fast path (src/promise.c): a location, a
-- channel sharing locations, a backorder channel, a published ATP from an earlier day,
-- a reservation key seen before, bad input. Its arguments and result are reserve()'s.
CREATE FUNCTION _reserve_general(channel text, order_ref text, line_ref text, item gtin, quantity numeric,
                                 location gln, expires_at timestamptz, due_date date)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    checked record;
    ch inventory_sync.channel;
    r inventory_sync.reservation;
    pooled boolean;
    offer record;
    at gln;
    promised date;
BEGIN
    SELECT * INTO checked FROM inventory_sync._reserve_check(channel, order_ref, line_ref, item, quantity, location,
                                                              expires_at);
    ch := checked.ch;
    expires_at := checked.expires;
    -- the caller's key makes reserving idempotent
    r := inventory_sync._reservation_existing(channel, order_ref, line_ref, item, quantity, location);
    IF r.reservation_id IS NOT NULL THEN
        RETURN r;
    END IF;
    pooled := location IS NULL AND inventory_sync.channel_is_dedicated(channel);
    PERFORM inventory_sync._reserve_lock(channel, item, location);
    SELECT * INTO offer FROM inventory_sync._reserve_stock_offer(channel, item, location, ch.min_shelf_life_days, pooled);
    IF quantity <= offer.available THEN
        RETURN inventory_sync._reserve_from_stock(channel, order_ref, line_ref, item, quantity, offer.best, location,
                                                  expires_at, due_date);
    END IF;
    -- not from stock: a backorder channel promises against expected supply
    IF ch.allow_backorder THEN
        SELECT p.location, p.promise_date INTO at, promised
          FROM inventory_sync._promise_date(item, channel, quantity, due_date, 182, location) p;
    END IF;
    IF promised IS NULL THEN
        PERFORM inventory_sync._reserve_refuse(channel, order_ref, line_ref, item, quantity, location,
                                               ch.allow_backorder, offer.best, offer.best_atp, offer.channel_atp,
                                               offer.available);
    END IF;
    RETURN inventory_sync._reserve_backorder(channel, order_ref, line_ref, item, quantity, location, expires_at,
                                             due_date, at, promised);
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
