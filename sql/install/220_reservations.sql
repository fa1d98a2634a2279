-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Reservations: reserve, fulfil, cancel, expire. Locks are always taken in the order
-- reservation row -> promise_key rows (by location) -> channel_atp rows (by channel),
-- so concurrent promises never deadlock.
-- ---------------------------------------------------------------------------

-- Time-phased ATP as APICS defines it, on given numbers: discrete ATP per period is the
-- period's supply (plus on-hand in the first) minus its demand; a period whose demand
-- exceeds its supply consumes the ATP of earlier periods, latest first (backward
-- consumption). Cumulative ATP is the running sum.
CREATE FUNCTION atp_phased(on_hand numeric, scheduled_receipts numeric[], customer_orders numeric[])
RETURNS TABLE (period integer, supply numeric, demand numeric, discrete_atp numeric, cumulative_atp numeric)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    n integer := greatest(coalesce(array_length(scheduled_receipts, 1), 0), coalesce(array_length(customer_orders, 1), 0));
    a numeric[];
    s numeric;
    d numeric;
    cum numeric := 0;
    p integer;
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    a := array_fill(0::numeric, ARRAY[n]);
    FOR p IN 1..n LOOP
        a[p] := coalesce(scheduled_receipts[p], 0) - coalesce(customer_orders[p], 0)
                + CASE WHEN p = 1 THEN coalesce(on_hand, 0) ELSE 0 END;
    END LOOP;
    FOR p IN REVERSE n..2 LOOP
        IF a[p] < 0 THEN
            a[p - 1] := a[p - 1] + a[p];
            a[p] := 0;
        END IF;
    END LOOP;
    FOR p IN 1..n LOOP
        cum := cum + a[p];
        period := p;
        supply := coalesce(scheduled_receipts[p], 0) + CASE WHEN p = 1 THEN coalesce(on_hand, 0) ELSE 0 END;
        demand := coalesce(customer_orders[p], 0);
        discrete_atp := a[p];
        cumulative_atp := cum;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION atp_phased(numeric, numeric[], numeric[]) IS
  'APICS time-phased ATP on given numbers (on hand, scheduled receipts and customer orders per period): discrete ATP per period with backward consumption, and cumulative ATP';

-- The schedule of an item in a channel: on-hand (eligible, minus safety stock) in the
-- first period, expected receipts at the channel's locations (supply, transfers in
-- transit by ETA) by due date, open reservations by due date (promised date for
-- backorders; none: the first period).
CREATE FUNCTION atp_schedule(item gtin, channel text, from_date date DEFAULT current_date,
                             periods integer DEFAULT 8, period_length interval DEFAULT interval '1 week')
RETURNS TABLE (period_start date, period_end date, supply numeric, demand numeric,
               discrete_atp numeric, cumulative_atp numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    ch inventory_sync.channel;
    starts date[];
    sup numeric[];
    dem numeric[];
    on_hand numeric;
    p integer;
    r record;
BEGIN
    SELECT * INTO ch FROM inventory_sync.channel c WHERE c.channel = channel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown channel "%"', channel USING ERRCODE = '23503';
    END IF;
    IF periods IS NULL OR periods < 1 OR periods > 1000 THEN
        RAISE EXCEPTION 'periods must be between 1 and 1000, not %', periods USING ERRCODE = '22023';
    END IF;
    IF period_length IS NULL OR period_length < interval '1 day' THEN
        RAISE EXCEPTION 'period_length must be at least one day, not %', period_length USING ERRCODE = '22023';
    END IF;
    FOR p IN 1..periods + 1 LOOP
        starts[p] := (from_date + (p - 1) * period_length)::date;
    END LOOP;
    sup := array_fill(0::numeric, ARRAY[periods]);
    dem := array_fill(0::numeric, ARRAY[periods]);
    -- on hand: eligible at the channel's locations, minus location and channel safety stock
    SELECT coalesce(sum(inventory_sync.eligible_on_hand(item, cl.location, ch.min_shelf_life_days)
                        - coalesce((SELECT s.quantity FROM inventory_sync.safety_stock s
                                     WHERE s.item_gtin = item AND s.location = cl.location), 0)), 0)
           - inventory_sync._channel_safety(channel, item)
      INTO on_hand
      FROM inventory_sync.channel_location cl WHERE cl.channel = channel;
    FOR r IN SELECT s.due_date AS d, s.quantity AS q
               FROM inventory_sync.supply s
               JOIN inventory_sync.channel_location cl ON cl.channel = channel AND cl.location = s.location
              WHERE s.item_gtin = item
    LOOP
        p := greatest(1, (SELECT count(*) FROM unnest(starts[2:periods]) x WHERE x <= r.d)::integer + 1);
        IF r.d < starts[periods + 1] THEN
            sup[p] := sup[p] + r.q;
        END IF;
    END LOOP;
    FOR r IN SELECT coalesce(v.promised_date, v.due_date) AS d, v.open_quantity AS q
               FROM inventory_sync.reservation v
               JOIN inventory_sync.channel_location cl ON cl.channel = channel AND cl.location = v.location
              WHERE v.item_gtin = item AND v.status = 'open'
    LOOP
        p := CASE WHEN r.d IS NULL THEN 1
                  ELSE greatest(1, (SELECT count(*) FROM unnest(starts[2:periods]) x WHERE x <= r.d)::integer + 1) END;
        IF r.d IS NULL OR r.d < starts[periods + 1] THEN
            dem[p] := dem[p] + r.q;
        END IF;
    END LOOP;
    -- reservations held against on-hand are already out of eligible stock? No: on_hand above
    -- is before reservations; every open reservation is demand in its period.
    FOR r IN SELECT * FROM inventory_sync.atp_phased(on_hand, sup, dem) LOOP
        period_start := starts[r.period];
        period_end := starts[r.period + 1] - 1;
        supply := r.supply;
        demand := r.demand;
        discrete_atp := r.discrete_atp;
        cumulative_atp := r.cumulative_atp;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION atp_schedule(gtin, text, date, integer, interval) IS
  'Time-phased ATP of an item in a channel: per period supply, demand, discrete ATP (with backward consumption) and cumulative ATP';

CREATE FUNCTION promise_date(item gtin, channel text, quantity numeric, wanted date DEFAULT current_date,
                             horizon_weeks integer DEFAULT 26)
RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    r record;
BEGIN
    IF quantity IS NULL OR quantity <= 0 THEN
        RAISE EXCEPTION 'quantity % must be positive', quantity USING ERRCODE = 'IS020';
    END IF;
    FOR r IN SELECT * FROM inventory_sync.atp_schedule(item, channel, current_date, horizon_weeks, interval '1 week') LOOP
        IF r.period_end >= wanted AND r.cumulative_atp >= quantity THEN
            RETURN greatest(r.period_start, wanted);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION promise_date(gtin, text, numeric, date, integer) IS
  'The earliest date, not before the wanted one, for which a quantity can be promised in a channel (cumulative time-phased ATP covers it); NULL beyond the horizon';

-- ---------------------------------------------------------------------------
-- reserve
-- ---------------------------------------------------------------------------
CREATE FUNCTION _reservation_record(r reservation, action reservation_action, delta numeric, posting_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync
AS $$
DECLARE
    c record;
    mine record;
BEGIN
    -- every channel selling from the location sees its ATP move; the reservation's own
    -- channel's after-state goes into the reservation change
    FOR c IN SELECT cl.channel FROM inventory_sync.channel_location cl
              WHERE cl.location = r.location OR cl.channel = r.channel
              GROUP BY cl.channel ORDER BY cl.channel
    LOOP
        IF c.channel = r.channel THEN
            mine := inventory_sync._channel_atp_publish(c.channel, r.item_gtin, 'reservation', posting_id, r.reservation_id);
        ELSE
            PERFORM inventory_sync._channel_atp_publish(c.channel, r.item_gtin, 'reservation', posting_id, r.reservation_id);
        END IF;
    END LOOP;
    INSERT INTO inventory_sync.reservation_change (reservation_id, action, channel, item_gtin, location, order_ref,
                                                   line_ref, delta, open_after, atp_after, version, posting_id)
         VALUES (r.reservation_id, action, r.channel, r.item_gtin, r.location, r.order_ref, r.line_ref,
                 delta, r.open_quantity, coalesce(mine.atp, 0), coalesce(mine.version, 0), posting_id);
END
$$;
COMMENT ON FUNCTION _reservation_record(reservation, reservation_action, numeric, bigint) IS
  'Internal: publishes channel ATP and records the after-state of a reservation change';

CREATE FUNCTION reserve(channel text, order_ref text, line_ref text, item gtin, quantity numeric,
                        location gln DEFAULT NULL, expires_at timestamptz DEFAULT NULL, due_date date DEFAULT NULL)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    ch inventory_sync.channel;
    r inventory_sync.reservation;
    loc record;
    best gln;
    best_atp numeric := NULL;
    avail numeric;
    chan_atp numeric := 0;
    promised date;
    key text := format('channel "%s", order "%s", line "%s"', channel, order_ref, line_ref);
BEGIN
    IF quantity IS NULL OR quantity <= 0 OR quantity = 'NaN' OR quantity = 'Infinity' THEN
        RAISE EXCEPTION 'reservation quantity % must be positive', quantity
              USING ERRCODE = 'IS020', DETAIL = 'Reservation ' || key || '.';
    END IF;
    SELECT * INTO ch FROM inventory_sync.channel c WHERE c.channel = channel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown channel "%"', channel USING ERRCODE = '23503',
              HINT = 'Channels are listed in inventory_sync.channel.';
    END IF;
    IF NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = item) THEN
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
              USING ERRCODE = 'IS045', DETAIL = 'Reservation ' || key || '.';
    END IF;

    -- the caller's key makes reserving idempotent
    SELECT * INTO r FROM inventory_sync.reservation v
     WHERE v.channel = channel AND v.order_ref = order_ref AND v.line_ref = line_ref;
    IF FOUND THEN
        IF r.item_gtin <> item OR r.quantity <> quantity OR (location IS NOT NULL AND r.location <> location) THEN
            RAISE EXCEPTION 'reservation % exists with different terms', key
                  USING ERRCODE = 'IS044',
                        DETAIL = format('It holds %s of gtin %s at %s (status %s); this call asks %s of gtin %s.',
                                        r.quantity, r.item_gtin, r.location, r.status, quantity, item),
                        HINT = 'A reservation key names one promise: use a new line_ref, or cancel the reservation first.';
        END IF;
        RETURN r;
    END IF;

    -- lock the candidate locations' promise keys in location order, then read ATP
    INSERT INTO inventory_sync.promise_key (item_gtin, location)
    SELECT item, cl.location FROM inventory_sync.channel_location cl
     WHERE cl.channel = channel AND (location IS NULL OR cl.location = location)
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM inventory_sync.promise_key k
      JOIN inventory_sync.channel_location cl ON cl.channel = channel AND cl.location = k.location
     WHERE k.item_gtin = item
     ORDER BY k.location FOR UPDATE OF k;
    FOR loc IN SELECT cl.location, cl.priority FROM inventory_sync.channel_location cl
                WHERE cl.channel = channel ORDER BY cl.priority, cl.location
    LOOP
        avail := inventory_sync._location_atp(item, loc.location, ch.min_shelf_life_days);
        chan_atp := chan_atp + greatest(avail, 0);
        IF (location IS NULL OR loc.location = location) AND (best_atp IS NULL OR avail > best_atp) THEN
            best := loc.location;
            best_atp := avail;
        END IF;
    END LOOP;
    chan_atp := greatest(chan_atp - inventory_sync._channel_safety(channel, item), 0);

    IF best IS NULL OR quantity > best_atp OR quantity > chan_atp THEN
        IF ch.allow_backorder THEN
            promised := inventory_sync.promise_date(item, channel, quantity, coalesce(due_date, current_date));
        END IF;
        IF promised IS NULL THEN
            RAISE EXCEPTION 'insufficient ATP: % of gtin % asked, % available%', quantity, item,
                  greatest(least(coalesce(best_atp, 0), chan_atp), 0),
                  CASE WHEN location IS NULL THEN format(' in channel "%s"', channel) ELSE format(' at %s', location) END
                  USING ERRCODE = 'IS040', DETAIL = 'Reservation ' || key || '.',
                        HINT = CASE WHEN ch.allow_backorder THEN 'No future supply covers it within the horizon either.'
                                    ELSE 'Reserve less, elsewhere, or let the channel take backorders (channel.allow_backorder).' END;
        END IF;
        -- a backorder: demand against future supply, not against today's stock
        INSERT INTO inventory_sync.reservation (channel, order_ref, line_ref, item_gtin, location, anywhere,
                                                quantity, open_quantity, expires_at, due_date, promised_date)
             VALUES (channel, order_ref, line_ref, item,
                     coalesce(location, (SELECT cl.location FROM inventory_sync.channel_location cl
                                          WHERE cl.channel = channel ORDER BY cl.priority, cl.location LIMIT 1)),
                     location IS NULL, quantity, quantity, greatest(expires_at, promised + 1), due_date, promised)
          RETURNING * INTO r;
        PERFORM inventory_sync._reservation_record(r, 'reserve', quantity, NULL);
        RETURN r;
    END IF;

    UPDATE inventory_sync.promise_key k SET reserved = k.reserved + quantity, version = k.version + 1
     WHERE k.item_gtin = item AND k.location = best;
    INSERT INTO inventory_sync.reservation (channel, order_ref, line_ref, item_gtin, location, anywhere,
                                            quantity, open_quantity, expires_at, due_date)
         VALUES (channel, order_ref, line_ref, item, best, location IS NULL, quantity, quantity, expires_at, due_date)
      RETURNING * INTO r;
    PERFORM inventory_sync._reservation_record(r, 'reserve', quantity, NULL);
    RETURN r;
END
$$;
COMMENT ON FUNCTION reserve(text, text, text, gtin, numeric, gln, timestamptz, date) IS
  'Promises a quantity of an item through a channel (at a location, or anywhere in the channel) until it expires; refused beyond ATP (IS040); idempotent on (channel, order_ref, line_ref)';

-- Lock an open reservation (the first step of every resolution): exactly one wins.
CREATE FUNCTION _reservation_lock_open(reservation_id bigint, verb text)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.reservation;
BEGIN
    SELECT * INTO r FROM inventory_sync.reservation v WHERE v.reservation_id = reservation_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown reservation %', reservation_id USING ERRCODE = '23503';
    END IF;
    IF r.status <> 'open' THEN
        RAISE EXCEPTION 'cannot %: reservation % (channel "%", order "%", line "%") is already %',
              verb, reservation_id, r.channel, r.order_ref, r.line_ref, r.status
              USING ERRCODE = 'IS041', HINT = 'A reservation is fulfilled, cancelled or expired once.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION _reservation_lock_open(bigint, text) IS 'Internal: locks a reservation and checks it is still open';

-- Close a locked open reservation: its open quantity returns to ATP.
CREATE FUNCTION _reservation_close(r reservation, status reservation_status, fulfilled numeric, posting_id bigint)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    released numeric := r.open_quantity;
BEGIN
    IF r.promised_date IS NULL AND NOT r.fulfilling THEN   -- (fulfil released it already)
        PERFORM 1 FROM inventory_sync.promise_key k
          WHERE k.item_gtin = r.item_gtin AND k.location = r.location FOR UPDATE;
        UPDATE inventory_sync.promise_key k SET reserved = k.reserved - released, version = k.version + 1
         WHERE k.item_gtin = r.item_gtin AND k.location = r.location;
    END IF;
    UPDATE inventory_sync.reservation v
       SET status = status, open_quantity = 0, fulfilled_quantity = v.fulfilled_quantity + fulfilled,
           resolved_at = now(), fulfilling = false
     WHERE v.reservation_id = r.reservation_id
    RETURNING * INTO r;
    PERFORM inventory_sync._reservation_record(r, CASE status WHEN 'fulfilled' THEN 'fulfil' WHEN 'cancelled' THEN 'cancel'
                                                              ELSE 'expire' END::inventory_sync.reservation_action,
                                               -released, posting_id);
    RETURN r;
END
$$;
COMMENT ON FUNCTION _reservation_close(reservation, reservation_status, numeric, bigint) IS
  'Internal: resolves a locked reservation and returns its open quantity to ATP';

CREATE FUNCTION cancel_reservation(reservation_id bigint)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync
AS $$
BEGIN
    RETURN inventory_sync._reservation_close(inventory_sync._reservation_lock_open(reservation_id, 'cancel'),
                                             'cancelled', 0, NULL);
END
$$;
COMMENT ON FUNCTION cancel_reservation(bigint) IS 'Cancels an open reservation: its quantity returns to ATP';

CREATE FUNCTION expire_reservation(reservation_id bigint)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync
AS $$
BEGIN
    RETURN inventory_sync._reservation_close(inventory_sync._reservation_lock_open(reservation_id, 'expire'),
                                             'expired', 0, NULL);
END
$$;
COMMENT ON FUNCTION expire_reservation(bigint) IS 'Expires one open reservation now: its quantity returns to ATP';

CREATE FUNCTION sweep_expired_reservations(as_of timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.reservation;
    n integer := 0;
BEGIN
    -- reservations another transaction is resolving right now are skipped, not waited for
    FOR r IN SELECT * FROM inventory_sync.reservation v
              WHERE v.status = 'open' AND v.expires_at <= as_of
              ORDER BY v.reservation_id FOR UPDATE SKIP LOCKED
    LOOP
        PERFORM inventory_sync._reservation_close(r, 'expired', 0, NULL);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sweep_expired_reservations(timestamptz) IS
  'Expires every open reservation past its expiry (returns how many); schedule it, e.g. SELECT cron.schedule(''* * * * *'', ''SELECT inventory_sync.sweep_expired_reservations()'')';

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

CREATE FUNCTION _reservation_fulfilled(reservation_id bigint, quantity numeric, posting_ids bigint[])
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync
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
    -- the postings must be this transaction's issues of the reserved item at its location
    SELECT count(*), coalesce(-sum(l.base_quantity), 0) INTO n, posted
      FROM inventory_sync.ledger l
     WHERE l.posting_id = ANY (posting_ids) AND l.kind = 'issue' AND l.recorded_at = now()
       AND l.item_gtin = r.item_gtin AND l.location = r.location
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
COMMENT ON FUNCTION _reservation_fulfilled(bigint, numeric, bigint[]) IS
  'Internal (called by fulfil): consumes a reservation with issue postings made in the same transaction';

CREATE FUNCTION _reservation_begin_fulfil(reservation_id bigint)
RETURNS TABLE (r reservation, min_shelf_life_days integer, fulfilment_source text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    v inventory_sync.reservation := inventory_sync._reservation_lock_open(reservation_id, 'fulfil');
BEGIN
    -- the promise key before the issue postings touch balances and channel ATP: the lock
    -- order of every promise (reservation, promise key, balance, channel ATP)
    PERFORM 1 FROM inventory_sync.promise_key k
      WHERE k.item_gtin = v.item_gtin AND k.location = v.location FOR UPDATE;
    -- the reserved quantity leaves the promise key now, so the issue postings that follow
    -- publish the channel ATP the fulfilment ends with (no transient dip in the feed)
    IF v.promised_date IS NULL THEN
        UPDATE inventory_sync.promise_key k SET reserved = k.reserved - v.open_quantity, version = k.version + 1
         WHERE k.item_gtin = v.item_gtin AND k.location = v.location;
    END IF;
    UPDATE inventory_sync.reservation x SET fulfilling = true WHERE x.reservation_id = v.reservation_id
    RETURNING * INTO v;
    RETURN QUERY SELECT v, c.min_shelf_life_days, c.fulfilment_source
                   FROM inventory_sync.channel c WHERE c.channel = v.channel;
END
$$;
COMMENT ON FUNCTION _reservation_begin_fulfil(bigint) IS
  'Internal (called by fulfil): locks an open reservation and its promise key; returns the channel''s picking rules';

CREATE FUNCTION fulfil(reservation_id bigint, quantity numeric DEFAULT NULL, source text DEFAULT NULL,
                       source_event_id text DEFAULT NULL)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    pk record;
    r inventory_sync.reservation;
    tracked boolean;
    want numeric;
    take numeric;
    ids bigint[] := '{}';
    pid bigint;
    lt record;
    n integer := 0;
    ev text;
BEGIN
    SELECT * INTO pk FROM inventory_sync._reservation_begin_fulfil(reservation_id);   -- 23503, IS041
    r := pk.r;
    want := coalesce(quantity, r.open_quantity);
    IF want IS NULL OR want <= 0 THEN
        RAISE EXCEPTION 'fulfilment quantity % must be positive', want USING ERRCODE = 'IS020',
              DETAIL = format('Reservation %s (channel "%s", order "%s", line "%s").', reservation_id, r.channel, r.order_ref, r.line_ref);
    END IF;
    IF want > r.open_quantity THEN
        RAISE EXCEPTION 'cannot fulfil % of reservation %: it holds %', want, reservation_id, r.open_quantity
              USING ERRCODE = 'IS042',
                    DETAIL = format('Channel "%s", order "%s", line "%s".', r.channel, r.order_ref, r.line_ref),
                    HINT = 'Reserve the extra quantity first.';
    END IF;
    source := coalesce(source, pk.fulfilment_source);
    IF source IS NULL THEN
        RAISE EXCEPTION 'no source to post the fulfilment of reservation % as', reservation_id
              USING ERRCODE = '22023', HINT = 'Pass source, or set channel.fulfilment_source.';
    END IF;
    ev := coalesce(source_event_id, 'reservation:' || reservation_id);
    SELECT i.lot_tracked INTO tracked FROM inventory_sync.item i WHERE i.gtin = r.item_gtin;

    IF tracked THEN
        -- FEFO: earliest-expiring released lots that meet the channel's shelf-life rule
        FOR lt IN SELECT b.lot, b.bucket, b.quantity
                    FROM inventory_sync.balance b
                    JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket AND bk.sellable
                    LEFT JOIN inventory_sync.lot l ON l.item_gtin = b.item_gtin AND l.lot = b.lot
                   WHERE b.item_gtin = r.item_gtin AND b.location = r.location AND b.quantity > 0
                     AND (l.expiry IS NULL OR l.expiry >= current_date + pk.min_shelf_life_days)
                   ORDER BY l.expiry NULLS LAST, b.lot, b.bucket
        LOOP
            EXIT WHEN want <= 0;
            take := least(want, lt.quantity);
            n := n + 1;
            INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
                 VALUES ('issue', source, ev || ':' || n, r.item_gtin, r.location, lt.lot, lt.bucket, take,
                         format('reservation %s (%s/%s)', reservation_id, r.order_ref, r.line_ref))
              RETURNING posting_id INTO pid;
            IF pid IS NULL THEN
                RAISE EXCEPTION 'event "%" of source "%" was posted before', ev || ':' || n, source
                      USING ERRCODE = 'IS002', HINT = 'Pass a new source_event_id for this fulfilment.';
            END IF;
            ids := ids || pid;
            want := want - take;
        END LOOP;
        IF want > 0 THEN
            RAISE EXCEPTION 'cannot pick % more of gtin % at %: no released lot with the shelf life channel "%" needs',
                  want, r.item_gtin, r.location, r.channel
                  USING ERRCODE = 'IS040', DETAIL = format('Reservation %s.', reservation_id);
        END IF;
    ELSE
        INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity, reference)
        SELECT 'issue', source, ev, r.item_gtin, r.location,
               coalesce((SELECT b.bucket FROM inventory_sync.balance b
                           JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket AND bk.sellable
                          WHERE b.item_gtin = r.item_gtin AND b.location = r.location AND b.lot IS NULL
                          ORDER BY b.quantity DESC, b.bucket LIMIT 1), 'released'),
               want, format('reservation %s (%s/%s)', reservation_id, r.order_ref, r.line_ref)
        RETURNING posting_id INTO pid;
        IF pid IS NULL THEN
            RAISE EXCEPTION 'event "%" of source "%" was posted before', ev, source
                  USING ERRCODE = 'IS002', HINT = 'Pass a new source_event_id for this fulfilment.';
        END IF;
        ids := ARRAY[pid];
    END IF;
    RETURN inventory_sync._reservation_fulfilled(reservation_id, coalesce(quantity, r.open_quantity), ids);
END
$$;
COMMENT ON FUNCTION fulfil(bigint, numeric, text, text) IS
  'Fulfils a reservation fully or partly: posts the issue (FEFO lots for lot-tracked items) as the caller and consumes the reservation in the same transaction; a remainder returns to ATP';

-- Rights: promising is for writers; reading for readers.
GRANT SELECT ON channel, channel_location, channel_safety_stock, safety_stock, promise_key, reservation,
                reservation_change, channel_atp, channel_atp_change, supply, reservation_posting
   TO inventory_sync_reader;
GRANT INSERT, UPDATE, DELETE ON channel, channel_location, channel_safety_stock, safety_stock, supply
   TO inventory_sync_admin;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'reserve(text, text, text, gtin, numeric, gln, timestamptz, date)',
        'cancel_reservation(bigint)', 'expire_reservation(bigint)', 'sweep_expired_reservations(timestamptz)',
        'fulfil(bigint, numeric, text, text)', '_reservation_fulfilled(bigint, numeric, bigint[])',
        '_reservation_begin_fulfil(bigint)', 'refresh_channel_atp(text)']::regprocedure[]
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO inventory_sync_writer', f);
    END LOOP;
    FOREACH f IN ARRAY ARRAY[
        '_channel_atp_publish(text, gtin, text, bigint, bigint)', '_channel_atp_refresh(gtin[], gln[], bigint)',
        '_reservation_record(reservation, reservation_action, numeric, bigint)',
        '_reservation_lock_open(bigint, text)', '_reservation_close(reservation, reservation_status, numeric, bigint)']::regprocedure[]
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

SELECT pg_catalog.pg_extension_config_dump('channel', '');
SELECT pg_catalog.pg_extension_config_dump('channel_location', '');
SELECT pg_catalog.pg_extension_config_dump('channel_safety_stock', '');
SELECT pg_catalog.pg_extension_config_dump('safety_stock', '');
SELECT pg_catalog.pg_extension_config_dump('promise_key', '');
SELECT pg_catalog.pg_extension_config_dump('reservation', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_change', '');
SELECT pg_catalog.pg_extension_config_dump('channel_atp', '');
SELECT pg_catalog.pg_extension_config_dump('channel_atp_change', '');
SELECT pg_catalog.pg_extension_config_dump('supply', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_posting', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_reservation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_change_change_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('supply_supply_id_seq', '');
