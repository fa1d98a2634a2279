-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Time-phased ATP and promise dates: APICS time-phased ATP on given numbers, the
-- day-by-day model of live stock, atp_schedule(), promise() and promise_date().
-- ---------------------------------------------------------------------------

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
               _location_free_stock($1, $2, $3)
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

-- The supply and demand of an item in a channel per period (starts: the first day of each
-- period, and the day after the last): on-hand less location and channel safety stock in
-- the first period, expected receipts at its locations by due date; reservations held
-- against stock (at its locations, or pooled) in the first period, backorders in the
-- period of their promised date. Nothing after the last period counts.
CREATE FUNCTION _atp_schedule_flows(item gtin, channel text, min_shelf_life_days integer, starts date[],
                                    OUT supply numeric[], OUT demand numeric[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    periods integer := array_length(starts, 1) - 1;
    on_hand numeric;
    p integer;
    r record;
BEGIN
    supply := array_fill(0::numeric, ARRAY[periods]);
    demand := array_fill(0::numeric, ARRAY[periods]);
    SELECT coalesce(sum(inventory_sync._location_free_stock(item, cl.location, min_shelf_life_days)), 0)
           - inventory_sync._channel_safety(channel, item)
      INTO on_hand
      FROM inventory_sync.channel_location cl WHERE cl.channel = channel;
    supply[1] := on_hand;
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
            IF r.q >= 0 THEN supply[p] := supply[p] + r.q; ELSE demand[p] := demand[p] - r.q; END IF;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION _atp_schedule_flows(gtin, text, integer, date[]) IS
  'Internal (called by atp_schedule): an item''s supply and demand in a channel per period';

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
    flows record;
    step_from date[];
    step_atp numeric[];
    before numeric := 0;
    p integer;
    i integer := 1;
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
    flows := inventory_sync._atp_schedule_flows(item, channel, ch.min_shelf_life_days, starts);
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
        supply := flows.supply[p];
        demand := flows.demand[p];
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
        SELECT b.location, b.atp INTO best
          FROM inventory_sync._channel_best_location(channel, item, ch.min_shelf_life_days, NULL) b;
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
