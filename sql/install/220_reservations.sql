-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Reservations: reserve, fulfil, cancel, expire, sweep; time-phased ATP and promise
-- dates.
--
-- Lock order (docs/reference/promises.md, "Lock order"): every call of the API takes its
-- row locks in one global order, so no two calls deadlock one another:
--   1. reservation rows, by reservation_id;
--   2. promise_key rows, by (item, location): a call needing several takes them all in one
--      statement (_promise_keys_lock), before any balance or channel ATP row;
--   3. balance rows, by (item, location, lot, bucket) (the posting engine);
--   4. channel_atp rows, by (channel, item), one at a time, each created where missing
--      at its place in that order (_channel_atp_lock, _channel_atp_publish).
-- A call that resolves several reservations (the expiry sweep, a membership change)
-- takes every lock of every one of them up front, level by level, before it changes
-- anything. A change of channel membership first waits for promises in flight (an
-- EXCLUSIVE lock on channel, which reserve() holds in ROW SHARE mode from its start).
-- ---------------------------------------------------------------------------

-- Locks (creating where missing) the promise keys of the given (item, location) pairs, in
-- (item, location) order. Missing keys are inserted first, in that order, and only they
-- (an existing key is never waited for by the insert); then every key is locked in one
-- statement. Only a call that holds no promise key, balance or channel ATP row yet may
-- call it, and a call locks promise keys only here or one key alone: a key being created
-- is then never waited for by anyone holding a key the creator waits for.
CREATE FUNCTION _promise_keys_lock(items gtin[], locations gln[])
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    INSERT INTO inventory_sync.promise_key (item_gtin, location)
    SELECT DISTINCT u.item, u.location FROM unnest(items, locations) AS u(item, location)
     WHERE u.item IS NOT NULL AND u.location IS NOT NULL
       AND NOT EXISTS (SELECT FROM inventory_sync.promise_key k WHERE k.item_gtin = u.item AND k.location = u.location)
     ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM inventory_sync.promise_key k
     WHERE (k.item_gtin, k.location) IN (SELECT u.item, u.location FROM unnest(items, locations) AS u(item, location))
     ORDER BY k.item_gtin, k.location FOR UPDATE OF k;
END
$$;
COMMENT ON FUNCTION _promise_keys_lock(gtin[], gln[]) IS
  'Internal: locks the promise keys of the given (item, location) pairs in (item, location) order, creating missing ones first (the lock order of docs/reference/promises.md)';

-- Time-phased ATP as APICS defines it, on given numbers: discrete ATP per period is the
-- period's supply (plus on-hand in the first) minus its demand; a period whose demand
-- exceeds its supply consumes the ATP of earlier periods, latest first (backward
-- consumption). Cumulative ATP is the running sum.
CREATE FUNCTION atp_phased(on_hand numeric, scheduled_receipts numeric[], customer_orders numeric[])
RETURNS TABLE (period integer, supply numeric, demand numeric, discrete_atp numeric, cumulative_atp numeric)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
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

-- ---------------------------------------------------------------------------
-- Time-phased ATP of live stock, day by day. One model answers atp() (now), promise(),
-- promise_date(), the dates reserve() gives backorders and atp_schedule(), so they agree:
--
--   at a location L, from date D on (APICS backward consumption, per day):
--     A_L(D) = least running balance on D or after it of
--              free stock now (the first term of _location_atp) + expected receipts
--              - backorders placed there, by date;
--     A_L(now) is _location_atp (stock only: receipts still to come are not in it);
--   for the channel:  U(D) = sum over its locations of max(A_L(D), 0)
--                            - channel safety stock - its pooled reservations,
--                     its ATP on D = max(U(D) + pooled, 0) - pooled (atp() at now);
--   a line of q held at L for D (what reserve() places) may take no more than
--     A_L(D)  (L's own later promises keep their stock), and
--     U(D)    (the channel's: safety stock and pooled reservations stay covered), and
--     what it borrows from L on any earlier date t, max(A_L(t), 0) - (A_L(D) - q), no more
--             than the channel has to promise then, max(U(t), 0):
--   so the line ATP of L on D is
--     least(A_L(D), U(D), A_L(D) + min over t < D of (max(U(t), 0) - max(A_L(t), 0))).
--   "Now" is from stock (a reservation without promised date); with D = now the line ATP
--   is least(A_L(now), U(now)), the rule reserve() applies to stock. The line ATP only
--   grows with D (A_L and U do, and a later date borrows less), so once a line fits it
--   fits on every later date.
-- ---------------------------------------------------------------------------

-- One location's A_L by date: a row for now (dated yesterday: before any expected
-- receipt or backorder, which are dated today at the earliest) and one for each date a
-- receipt or backorder changes it; each holds until the next row's date.
CREATE FUNCTION _location_atp_by_date(item gtin, location gln, min_shelf_life_days integer)
RETURNS TABLE (from_date date, atp numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    WITH ev AS (
        SELECT current_date - 1 AS d,
               greatest(eligible_on_hand($1, $2, $3)
                        - coalesce((SELECT s.quantity FROM safety_stock s WHERE s.item_gtin = $1 AND s.location = $2), 0), 0)
               - coalesce((SELECT k.reserved FROM promise_key k WHERE k.item_gtin = $1 AND k.location = $2), 0) AS q
        UNION ALL
        SELECT s.due_date, s.quantity FROM expected_supply($1, $2) s
        UNION ALL
        SELECT greatest(v.promised_date, current_date), -v.open_quantity
          FROM reservation v
         WHERE v.item_gtin = $1 AND v.location = $2 AND v.status = 'open'
           AND v.promised_date IS NOT NULL AND NOT v.fulfilling),
    running AS (SELECT ev.d, sum(sum(ev.q)) OVER (ORDER BY ev.d) AS f FROM ev GROUP BY ev.d)
    SELECT r.d, min(r.f) OVER (ORDER BY r.d DESC) FROM running r ORDER BY r.d;
END
$$;
COMMENT ON FUNCTION _location_atp_by_date(gtin, gln, integer) IS
  'Internal: a location''s time-phased ATP, one row per date it changes (the first, dated yesterday, is its ATP now): free stock plus expected receipts minus backorders, backward-consumed day by day';

-- Every location of a channel on the dates any of them changes (rows for now are dated
-- yesterday): the location's ATP, the channel's ATP and the line ATP there (see above).
CREATE FUNCTION _channel_atp_by_date(item gtin, channel text)
RETURNS TABLE (location gln, priority integer, from_date date, location_atp numeric, channel_atp numeric,
               line_atp numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    WITH ch AS (
        SELECT c.min_shelf_life_days AS msl, _channel_safety($2, $1) AS safety, _channel_pool($2, $1) AS pool
          FROM channel c WHERE c.channel = $2),
    steps AS (
        SELECT cl.location, cl.priority, s.from_date, s.atp
          FROM channel_location cl CROSS JOIN ch
          CROSS JOIN LATERAL _location_atp_by_date($1, cl.location, ch.msl) s
         WHERE cl.channel = $2),
    grid AS (    -- each location on every date; run numbers the steps it has had so far
        SELECT l.location, l.priority, d.from_date, s.atp,
               count(s.atp) OVER (PARTITION BY l.location ORDER BY d.from_date) AS run
          FROM (SELECT DISTINCT st.location, st.priority FROM steps st) l
         CROSS JOIN (SELECT DISTINCT st.from_date FROM steps st) d
          LEFT JOIN steps s ON s.location = l.location AND s.from_date = d.from_date),
    filled AS (
        SELECT g.location, g.priority, g.from_date, max(g.atp) OVER (PARTITION BY g.location, g.run) AS a
          FROM grid g),
    total AS (
        SELECT f.from_date, sum(greatest(f.a, 0)) - ch.safety - ch.pool AS u
          FROM filled f CROSS JOIN ch
         GROUP BY f.from_date, ch.safety, ch.pool)
    SELECT f.location, f.priority, f.from_date, f.a, greatest(t.u + ch.pool, 0) - ch.pool,
           least(f.a, t.u,
                 f.a + min(greatest(t.u, 0) - greatest(f.a, 0))
                         OVER (PARTITION BY f.location ORDER BY f.from_date ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))
      FROM filled f
      JOIN total t ON t.from_date = f.from_date
     CROSS JOIN ch
     ORDER BY f.location, f.from_date;
END
$$;
COMMENT ON FUNCTION _channel_atp_by_date(gtin, text) IS
  'Internal: a channel''s time-phased ATP, location by location on every date one changes: the location''s ATP, the channel''s, and the most a line held there can take';

-- The earliest date, from wanted (today at the earliest) to horizon_days after it, for
-- which one location of the channel (the one given, if any) can hold a line of quantity,
-- and that location; ties go to the channel's priority order. No row beyond the horizon.
CREATE FUNCTION _promise_date(item gtin, channel text, quantity numeric, wanted date, horizon_days integer,
                              at_location gln)
RETURNS TABLE (location gln, promise_date date)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    SELECT x.location, greatest(x.from_date, x.wanted)
      FROM (SELECT a.location, a.priority, a.from_date, a.line_atp,
                   lead(a.from_date) OVER (PARTITION BY a.location ORDER BY a.from_date) AS until,
                   greatest(coalesce($4, current_date), current_date) AS wanted
              FROM _channel_atp_by_date($1, $2) a) x
     WHERE ($6 IS NULL OR x.location = $6) AND x.line_atp >= $3
       AND (x.until IS NULL OR x.until > x.wanted) AND greatest(x.from_date, x.wanted) <= x.wanted + $5
     ORDER BY 2, x.priority, x.location
     LIMIT 1;
END
$$;
COMMENT ON FUNCTION _promise_date(gtin, text, numeric, date, integer, gln) IS
  'Internal: the earliest date from wanted (within the horizon) for which one location of a channel can hold a line of a quantity, and that location (what reserve() gives a backorder)';

-- The schedule of an item in a channel, per period: supply (on-hand less location and
-- channel safety stock in the first period, then expected receipts at its locations by
-- due date), demand (reservations held against stock at its locations and its pooled
-- ones in the first period, whatever their due dates: they hold today's stock;
-- backorders in the period of their promised date), cumulative ATP (the channel's ATP on
-- the period's last day, day by day as above) and discrete ATP (its increase).
CREATE FUNCTION atp_schedule(item gtin, channel text, from_date date DEFAULT current_date,
                             periods integer DEFAULT 8, period_length interval DEFAULT interval '1 week')
RETURNS TABLE (period_start date, period_end date, supply numeric, demand numeric,
               discrete_atp numeric, cumulative_atp numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ch inventory_sync.channel;
    starts date[];
    sup numeric[];
    dem numeric[];
    step_from date[];
    step_atp numeric[];
    on_hand numeric;
    before numeric := 0;
    p integer;
    i integer := 1;
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
    from_date := coalesce(from_date, current_date);
    FOR p IN 1..periods + 1 LOOP
        starts[p] := (from_date + (p - 1) * period_length)::date;
    END LOOP;
    sup := array_fill(0::numeric, ARRAY[periods]);
    dem := array_fill(0::numeric, ARRAY[periods]);
    SELECT coalesce(sum(greatest(inventory_sync.eligible_on_hand(item, cl.location, ch.min_shelf_life_days)
                                 - coalesce((SELECT s.quantity FROM inventory_sync.safety_stock s
                                              WHERE s.item_gtin = item AND s.location = cl.location), 0), 0)), 0)
           - inventory_sync._channel_safety(channel, item)
      INTO on_hand
      FROM inventory_sync.channel_location cl WHERE cl.channel = channel;
    sup[1] := on_hand;
    FOR r IN SELECT s.due_date AS d, s.quantity AS q
               FROM inventory_sync.channel_location cl, inventory_sync.expected_supply(item, cl.location) s
              WHERE cl.channel = channel
             UNION ALL
             SELECT NULL, -v.open_quantity
               FROM inventory_sync.reservation v
              WHERE v.item_gtin = item AND v.status = 'open' AND NOT v.fulfilling AND v.promised_date IS NULL
                AND (v.location IN (SELECT cl.location FROM inventory_sync.channel_location cl WHERE cl.channel = channel)
                     OR (v.location IS NULL AND v.channel = channel))
             UNION ALL
             SELECT greatest(v.promised_date, current_date), -v.open_quantity
               FROM inventory_sync.reservation v
              WHERE v.item_gtin = item AND v.status = 'open' AND NOT v.fulfilling AND v.promised_date IS NOT NULL
                AND v.location IN (SELECT cl.location FROM inventory_sync.channel_location cl WHERE cl.channel = channel)
    LOOP
        p := CASE WHEN r.d IS NULL THEN 1
                  ELSE greatest(1, (SELECT count(*) FROM unnest(starts[2:periods]) x WHERE x <= r.d)::integer + 1) END;
        IF r.d IS NULL OR r.d < starts[periods + 1] THEN
            IF r.q >= 0 THEN sup[p] := sup[p] + r.q; ELSE dem[p] := dem[p] - r.q; END IF;
        END IF;
    END LOOP;
    -- the channel's ATP by date: one value per date it changes (the first is now)
    SELECT array_agg(a.from_date ORDER BY a.from_date), array_agg(a.channel_atp ORDER BY a.from_date)
      INTO step_from, step_atp
      FROM (SELECT DISTINCT x.from_date, x.channel_atp FROM inventory_sync._channel_atp_by_date(item, channel) x) a;
    IF step_from IS NULL THEN    -- no locations: nothing to promise, the pool still held
        step_from := ARRAY[current_date - 1];
        step_atp := ARRAY[-inventory_sync._channel_pool(channel, item)];
    END IF;
    FOR p IN 1..periods LOOP
        WHILE i < array_length(step_from, 1) AND step_from[i + 1] < starts[p + 1] LOOP
            i := i + 1;
        END LOOP;
        period_start := starts[p];
        period_end := starts[p + 1] - 1;
        supply := sup[p];
        demand := dem[p];
        cumulative_atp := step_atp[i];
        discrete_atp := cumulative_atp - before;
        before := cumulative_atp;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION atp_schedule(gtin, text, date, integer, interval) IS
  'Time-phased ATP of an item in a channel: per period supply, demand (held reservations in the first period, backorders at their promised dates), cumulative ATP (what the channel can promise for delivery by the period''s end, backward consumption day by day) and discrete ATP';

CREATE FUNCTION promise(item gtin, channel text, quantity numeric, wanted date DEFAULT current_date,
                        horizon_days integer DEFAULT 182)
RETURNS TABLE (promisable boolean, promise_date date, location gln, available_now numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ch inventory_sync.channel;
    best record;
BEGIN
    IF quantity IS NULL OR quantity <= 0 OR quantity = 'NaN' OR quantity = 'Infinity' THEN
        RAISE EXCEPTION 'quantity % must be positive', quantity USING ERRCODE = 'IS020';
    END IF;
    SELECT * INTO ch FROM inventory_sync.channel c WHERE c.channel = channel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown channel "%"', channel USING ERRCODE = '23503',
              HINT = 'Channels are listed in inventory_sync.channel.';
    END IF;
    IF item IS NULL OR NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = item) THEN
        RAISE EXCEPTION 'unknown item: gtin %', item USING ERRCODE = '23503';
    END IF;
    IF horizon_days IS NULL OR horizon_days < 0 THEN
        RAISE EXCEPTION 'horizon_days must be zero or more, not %', horizon_days USING ERRCODE = '22023';
    END IF;
    wanted := greatest(coalesce(wanted, current_date), current_date);
    available_now := inventory_sync._channel_atp(channel, item);
    -- from stock, as reserve() takes it: anywhere in a dedicated channel (pooled), else at
    -- the location with the most ATP (the first in priority order among equals)
    IF quantity <= available_now THEN
        IF inventory_sync.channel_is_dedicated(channel) THEN
            RETURN QUERY SELECT true, wanted, NULL::inventory_sync.gln, available_now;
            RETURN;
        END IF;
        SELECT cl.location, inventory_sync._location_atp(item, cl.location, ch.min_shelf_life_days) AS atp
          INTO best
          FROM inventory_sync.channel_location cl WHERE cl.channel = channel
         ORDER BY 2 DESC, cl.priority, cl.location LIMIT 1;
        IF best.atp >= quantity THEN
            RETURN QUERY SELECT true, wanted, best.location, available_now;
            RETURN;
        END IF;
    END IF;
    -- else as a backorder: the earliest date one location can hold it (a channel without
    -- backorders cannot promise it now; the date says when it could)
    SELECT p.location, p.promise_date INTO best
      FROM inventory_sync._promise_date(item, channel, quantity, wanted, horizon_days, NULL) p;
    RETURN QUERY SELECT coalesce(ch.allow_backorder AND best.promise_date = wanted, false), best.promise_date,
                        best.location, available_now;
END
$$;
COMMENT ON FUNCTION promise(gtin, text, numeric, date, integer) IS
  'Can the channel promise this quantity for the wanted date, as reserve() would? promisable, the earliest date it can (NULL: not within the horizon), the location that would hold it (NULL: pooled), and the channel''s ATP now';

CREATE FUNCTION promise_date(item gtin, channel text, quantity numeric, wanted date DEFAULT current_date,
                             horizon_weeks integer DEFAULT 26)
RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT p.promise_date FROM promise($1, $2, $3, $4, $5 * 7) p
$$;
COMMENT ON FUNCTION promise_date(gtin, text, numeric, date, integer) IS
  'The earliest date, not before the wanted one, for which a quantity can be promised in a channel; NULL beyond the horizon';

-- ---------------------------------------------------------------------------
-- reserve
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

-- Lock an open reservation (the first step of every resolution): exactly one wins.
CREATE FUNCTION _reservation_lock_open(reservation_id bigint, verb text)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
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
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    released numeric := r.open_quantity;
    action inventory_sync.reservation_action :=
        CASE status WHEN 'fulfilled' THEN 'fulfil' WHEN 'cancelled' THEN 'cancel' ELSE 'expire' END;
    was_fulfilling boolean := r.fulfilling;
    pub record;
BEGIN
    IF r.location IS NOT NULL AND r.promised_date IS NULL AND NOT r.fulfilling THEN   -- (fulfil released it already)
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
    IF r.location IS NOT NULL THEN
        PERFORM inventory_sync._reservation_record(r, action, -released, posting_id);
        RETURN r;
    END IF;
    -- pooled: only its channel's ATP moves
    IF was_fulfilling THEN   -- it left the pool when fulfilment began; the issue republished
        SELECT p.atp, p.version, NULL::numeric AS atp_before INTO pub
          FROM inventory_sync._channel_atp_publish(r.channel, r.item_gtin, 'reservation', posting_id, r.reservation_id) p;
    ELSE
        pub := inventory_sync._channel_atp_add(r.channel, r.item_gtin, released, r.reservation_id);
    END IF;
    INSERT INTO inventory_sync.reservation_change (reservation_id, action, channel, item_gtin, location, order_ref,
                                                   line_ref, delta, open_after, atp_before, atp_after, version, posting_id)
         VALUES (r.reservation_id, action, r.channel, r.item_gtin, NULL, r.order_ref, r.line_ref,
                 -released, 0, pub.atp_before, pub.atp, pub.version, posting_id);
    RETURN r;
END
$$;
COMMENT ON FUNCTION _reservation_close(reservation, reservation_status, numeric, bigint) IS
  'Internal: resolves a locked open reservation and returns its open quantity to ATP';

CREATE FUNCTION cancel_reservation(reservation_id bigint)
RETURNS reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
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
SET search_path = pg_catalog, inventory_sync, pg_temp
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
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    due bigint[];
    r inventory_sync.reservation;
    n integer := 0;
BEGIN
    -- reservations another transaction is resolving right now are skipped, not waited for
    SELECT array_agg(v.reservation_id ORDER BY v.reservation_id) INTO due
      FROM (SELECT v.reservation_id FROM inventory_sync.reservation v
             WHERE v.status = 'open' AND v.expires_at <= coalesce(as_of, now())
             ORDER BY v.reservation_id FOR UPDATE SKIP LOCKED) v;
    IF due IS NULL THEN
        RETURN 0;
    END IF;
    -- Every other lock of every expiry, up front and in the global order (the lock order
    -- of docs/reference/promises.md): the promise keys they are held at, then the channel
    -- ATP rows they move (their own channel's, and those of every channel selling from
    -- their location). Locking them expiry by expiry would hold one expiry's channel ATP
    -- while waiting for the next one's promise key: a cycle with any promise in between.
    PERFORM inventory_sync._promise_keys_lock(array_agg(v.item_gtin), array_agg(v.location))
       FROM inventory_sync.reservation v
      WHERE v.reservation_id = ANY (due) AND v.location IS NOT NULL AND v.promised_date IS NULL
        AND NOT v.fulfilling;
    PERFORM inventory_sync._channel_atp_lock(array_agg(x.channel), array_agg(x.item_gtin))
       FROM (SELECT v.channel, v.item_gtin FROM inventory_sync.reservation v WHERE v.reservation_id = ANY (due)
             UNION
             SELECT cl.channel, v.item_gtin FROM inventory_sync.reservation v
               JOIN inventory_sync.channel_location cl ON cl.location = v.location
              WHERE v.reservation_id = ANY (due)) x;
    FOR r IN SELECT * FROM inventory_sync.reservation v WHERE v.reservation_id = ANY (due)
              ORDER BY v.reservation_id
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
    v inventory_sync.reservation := inventory_sync._reservation_lock_open(reservation_id, 'fulfil');
    ch inventory_sync.channel;
    want numeric := coalesce(quantity, v.open_quantity);
    avail numeric;
    key text := format('Reservation %s (channel "%s", order "%s", line "%s").', v.reservation_id, v.channel,
                       v.order_ref, v.line_ref);
BEGIN
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
            SELECT cl.location INTO location FROM inventory_sync.channel_location cl
             WHERE cl.channel = v.channel
             ORDER BY inventory_sync._location_atp(v.item_gtin, cl.location, ch.min_shelf_life_days) DESC,
                      cl.priority, cl.location
             LIMIT 1;
            IF location IS NULL THEN
                RAISE EXCEPTION 'channel "%" has no location to fulfil reservation % from', v.channel, reservation_id
                      USING ERRCODE = 'IS043', DETAIL = key;
            END IF;
        END IF;
        PERFORM inventory_sync._promise_keys_lock(ARRAY[v.item_gtin], ARRAY[location]);
        avail := inventory_sync._location_atp(v.item_gtin, location, ch.min_shelf_life_days);
        IF want > avail THEN
            RAISE EXCEPTION 'insufficient ATP: location % has % of gtin % to fulfil reservation % from, % asked',
                  location, greatest(avail, 0), v.item_gtin, reservation_id, want
                  USING ERRCODE = 'IS040', DETAIL = key,
                        HINT = 'Fulfil from another location of the channel (location =>), or a smaller quantity.';
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
    tracked boolean;
    want numeric;
    take numeric;
    ids bigint[] := '{}';
    pid bigint;
    lt record;
    n integer := 0;
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
    SELECT i.lot_tracked INTO tracked FROM inventory_sync.item i WHERE i.gtin = r.item_gtin;

    IF tracked THEN
        -- FEFO: earliest-expiring released lots that meet the channel's shelf-life rule
        FOR lt IN SELECT b.lot, b.bucket, b.quantity
                    FROM inventory_sync.balance b
                    JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket AND bk.sellable
                    LEFT JOIN inventory_sync.lot l ON l.item_gtin = b.item_gtin AND l.lot = b.lot
                   WHERE b.item_gtin = r.item_gtin AND b.location = pk.from_location AND b.quantity > 0
                     AND (l.expiry IS NULL OR l.expiry >= current_date + pk.min_shelf_life_days)
                   ORDER BY l.expiry NULLS LAST, b.lot, b.bucket
        LOOP
            EXIT WHEN want <= 0;
            take := least(want, lt.quantity);
            n := n + 1;
            INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
                 VALUES ('issue', source, ev || ':' || n, r.item_gtin, pk.from_location, lt.lot, lt.bucket, take,
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
                  want, r.item_gtin, pk.from_location, r.channel
                  USING ERRCODE = 'IS040', DETAIL = format('Reservation %s.', reservation_id);
        END IF;
    ELSE
        INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity, reference)
        SELECT 'issue', source, ev, r.item_gtin, pk.from_location,
               coalesce((SELECT b.bucket FROM inventory_sync.balance b
                           JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket AND bk.sellable
                          WHERE b.item_gtin = r.item_gtin AND b.location = pk.from_location AND b.lot IS NULL
                          ORDER BY b.quantity DESC, b.bucket LIMIT 1), 'released'),
               want, format('reservation %s (%s/%s)', reservation_id, r.order_ref, r.line_ref)
        RETURNING posting_id INTO pid;
        IF pid IS NULL THEN
            RAISE EXCEPTION 'event "%" of source "%" was posted before', ev, source
                  USING ERRCODE = 'IS002', HINT = 'Pass a new source_event_id for this fulfilment.';
        END IF;
        ids := ARRAY[pid];
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

-- ---------------------------------------------------------------------------
-- Channel membership changes: pooled reservations are only possible while their channel
-- is dedicated. The change waits for reservations in flight (the fast path holds a
-- ROW SHARE lock on channel from its start), then places the pools of channels that now
-- share a location, and republishes every channel's ATP.
--
-- The lock is on channel, not on channel_location itself: the changing statement already
-- holds ROW EXCLUSIVE on channel_location, so two changes upgrading it to EXCLUSIVE would
-- wait for each other. channel's EXCLUSIVE lock is taken by nothing else holding a row
-- lock of the promise tables: membership changes queue on it, then take their row locks
-- in the global order.
-- ---------------------------------------------------------------------------
CREATE FUNCTION _channel_location_lock()
RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    LOCK TABLE inventory_sync.channel IN EXCLUSIVE MODE;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _channel_location_lock() IS
  'Trigger: a change of channel membership waits for reservations in flight and holds new ones until it commits';

CREATE FUNCTION _channel_location_changed()
RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    pooled bigint[];
    v inventory_sync.reservation;
    best record;
BEGIN
    -- the global lock order: the reservations to place, then the promise keys of every
    -- location they could be placed at, then (refresh_channel_atp) channel ATP rows
    SELECT array_agg(r.reservation_id ORDER BY r.reservation_id) INTO pooled
      FROM (SELECT r.reservation_id FROM inventory_sync.reservation r
             WHERE r.status = 'open' AND r.location IS NULL AND NOT inventory_sync.channel_is_dedicated(r.channel)
             ORDER BY r.reservation_id FOR UPDATE) r;
    PERFORM inventory_sync._promise_keys_lock(array_agg(r.item_gtin), array_agg(cl.location))
       FROM inventory_sync.reservation r
       JOIN inventory_sync.channel_location cl ON cl.channel = r.channel
      WHERE r.reservation_id = ANY (pooled);
    FOR v IN SELECT * FROM inventory_sync.reservation r WHERE r.reservation_id = ANY (pooled)
              ORDER BY r.reservation_id
    LOOP
        SELECT cl.location, inventory_sync._location_atp(v.item_gtin, cl.location, c.min_shelf_life_days) AS atp
          INTO best
          FROM inventory_sync.channel_location cl JOIN inventory_sync.channel c ON c.channel = cl.channel
         WHERE cl.channel = v.channel
         ORDER BY 2 DESC, cl.priority, cl.location LIMIT 1;
        IF best.location IS NULL OR best.atp < v.open_quantity THEN
            RAISE EXCEPTION 'channel "%" would share a location, but its reservation % (% of gtin %, anywhere) fits no single location',
                  v.channel, v.reservation_id, v.open_quantity, v.item_gtin
                  USING ERRCODE = 'IS046',
                        DETAIL = format('The most ATP at one of its locations is %s.', coalesce(best.atp, 0)),
                        HINT = 'Resolve or reduce its open anywhere reservations first, or keep its locations its own.';
        END IF;
        UPDATE inventory_sync.reservation r SET location = best.location WHERE r.reservation_id = v.reservation_id;
        UPDATE inventory_sync.promise_key k SET reserved = k.reserved + v.open_quantity, version = k.version + 1
         WHERE k.item_gtin = v.item_gtin AND k.location = best.location;
    END LOOP;
    PERFORM inventory_sync.refresh_channel_atp();
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _channel_location_changed() IS
  'Trigger: after a change of channel membership, places the pooled reservations of channels that now share a location (IS046 if one fits nowhere) and republishes channel ATP';

CREATE TRIGGER channel_location_10_lock BEFORE INSERT OR UPDATE OR DELETE ON channel_location
    FOR EACH STATEMENT EXECUTE FUNCTION _channel_location_lock();
CREATE TRIGGER channel_location_20_atp AFTER INSERT OR UPDATE OR DELETE ON channel_location
    FOR EACH STATEMENT EXECUTE FUNCTION _channel_location_changed();

-- reservation.channel is checked by reserve() and kept by this trigger rather than by a
-- foreign key: a foreign key would take a KEY SHARE lock on the channel row for every
-- reservation, and 64 clients sharing one row lock pay for it in multixacts.
CREATE FUNCTION _channel_in_use()
RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.channel <> OLD.channel)
       AND EXISTS (SELECT FROM inventory_sync.reservation v WHERE v.channel = OLD.channel) THEN
        RAISE EXCEPTION 'channel "%" has reservations', OLD.channel
              USING ERRCODE = '23503',
                    DETAIL = 'Reservations name their channel for ever (they are the history of its promises).',
                    HINT = 'Stop selling through it by removing its locations (channel_location) instead.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _channel_in_use() IS
  'Trigger: a channel with reservations may not be deleted or renamed (the foreign key reservations do not carry)';
CREATE TRIGGER channel_in_use AFTER DELETE OR UPDATE OF channel ON channel
    FOR EACH ROW EXECUTE FUNCTION _channel_in_use();

-- The fast path trusts channel_atp_state to say an item exists.
CREATE FUNCTION _item_deleted()
RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    DELETE FROM inventory_sync.channel_atp_state s WHERE s.item_gtin = OLD.gtin;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _item_deleted() IS 'Trigger: a deleted item is no longer promised on the fast path';
CREATE TRIGGER item_promise_state AFTER DELETE ON item FOR EACH ROW EXECUTE FUNCTION _item_deleted();

-- Rights: reading is for readers; channels are for admins (functions: 900_privileges.sql).
GRANT SELECT ON channel, channel_location, channel_safety_stock, safety_stock, promise_key, reservation,
                reservation_change, channel_atp, channel_atp_change, channel_atp_history, channel_atp_state, supply,
                transit_route, reservation_posting
   TO inventory_sync_reader;
GRANT INSERT, UPDATE, DELETE ON channel, channel_location, channel_safety_stock, safety_stock, supply, transit_route
   TO inventory_sync_admin;
SELECT pg_catalog.pg_extension_config_dump('channel', '');
SELECT pg_catalog.pg_extension_config_dump('channel_location', '');
SELECT pg_catalog.pg_extension_config_dump('channel_safety_stock', '');
SELECT pg_catalog.pg_extension_config_dump('safety_stock', '');
SELECT pg_catalog.pg_extension_config_dump('promise_key', '');
SELECT pg_catalog.pg_extension_config_dump('reservation', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_change', '');
SELECT pg_catalog.pg_extension_config_dump('channel_atp', '');
SELECT pg_catalog.pg_extension_config_dump('channel_atp_change', '');
SELECT pg_catalog.pg_extension_config_dump('channel_atp_state', '');
SELECT pg_catalog.pg_extension_config_dump('supply', '');
SELECT pg_catalog.pg_extension_config_dump('transit_route', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_posting', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_reservation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_change_change_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('supply_supply_id_seq', '');
