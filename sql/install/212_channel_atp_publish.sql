-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Channel ATP as published state: channel_atp + its history (channel_atp_change, and
-- reservation_change rows with atp_before: see channel_atp_history), summed from
-- location_atp.
--
-- Maintained incrementally: a change of the inputs at a location (a posting, a
-- reservation held there, safety stock, expected supply) recomputes that location's ATP
-- once per shelf-life rule of the channels selling from it (location_atp), and moves
-- each of those channels by the change of the location's contribution (its ATP, never
-- below zero). A channel's ATP is its running sum (channel_atp_state.stock) less its
-- safety stock (never below zero) less its pooled reservations, so the move is exact
-- without reading the channel's other locations.
--
-- Lock order (docs/reference/promises.md, "Lock order"): the inputs at a location change
-- under its promise key (level 2), so location_atp rows are written only by the holder of
-- that key; channel_atp rows are taken after every reservation, promise_key and balance
-- row, in (channel, item) order, a missing row created at its place in that order
-- (INSERT ... ON CONFLICT DO NOTHING waits for a transaction that inserted or updated the
-- row, exactly as a row lock would: it is a lock taken at that key).
-- ---------------------------------------------------------------------------

-- The second half of _channel_atp_move: the channel ATP rows of the given (channel, item)
-- pairs taken in (channel, item) order (missing ones created in place), each moved by its
-- delta or, resum, summed again from its locations' stored ATP (or taken from stocks
-- where the caller has the sum at hand: a recompute of every location of a channel), and
-- each change recorded. Returns how many channel ATP rows changed.
CREATE FUNCTION _channel_atp_apply(c_channels text[], c_items gtin[], c_deltas numeric[], c_resum boolean[],
                                   c_stocks numeric[], cause text, posting_id bigint, reservation_id bigint)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    locked bigint;
    n integer;
BEGIN
    IF c_channels IS NULL THEN
        RETURN 0;
    END IF;
    -- the channel ATP rows, in (channel, item) order; missing ones created in place
    IF EXISTS (SELECT FROM unnest(c_channels, c_items) AS u(channel, item)
                WHERE NOT EXISTS (SELECT FROM inventory_sync.channel_atp a
                                   WHERE a.channel = u.channel AND a.item_gtin = u.item)) THEN
        PERFORM inventory_sync._channel_atp_lock(c_channels, c_items);
    ELSE
        SELECT count(*) INTO locked
          FROM (SELECT FROM inventory_sync.channel_atp a
                 WHERE (a.channel, a.item_gtin) IN (SELECT * FROM unnest(c_channels, c_items))
                 ORDER BY a.channel, a.item_gtin FOR UPDATE) x;
    END IF;
    -- move them (read after their locks)
    WITH u AS (SELECT * FROM unnest(c_channels, c_items, c_deltas, c_resum, c_stocks) AS u(channel, item, delta, resum, stock)),
    x AS (SELECT u.channel, u.item, u.delta, u.stock AS summed, a.atp AS before, a.version,
                 -- (a pooled reservation being fulfilled has left the pool: summed again, the
                 -- move is the one its fulfilment makes)
                 u.resum OR s.channel IS NULL
                 OR EXISTS (SELECT FROM inventory_sync.reservation v
                             WHERE v.fulfilling AND v.channel = u.channel AND v.item_gtin = u.item) AS resum,
                 s.stock AS old_stock, s.computed_on, s.dedicated,
                 c.min_shelf_life_days AS shelf,
                 coalesce((SELECT q.quantity FROM inventory_sync.channel_safety_stock q
                            WHERE q.channel = u.channel AND q.item_gtin = u.item), c.safety_stock) AS safety
            FROM u
            JOIN inventory_sync.channel_atp a ON a.channel = u.channel AND a.item_gtin = u.item
            JOIN inventory_sync.channel c ON c.channel = u.channel
            LEFT JOIN inventory_sync.channel_atp_state s ON s.channel = u.channel AND s.item_gtin = u.item),
    -- whether a channel is dedicated, and its sums, made again where it is summed again;
    -- the sums in one grouped join (a channel joining a thousand locations sums them all
    -- at once). Both are computed once (MATERIALIZED): the planner takes the unnested
    -- pairs for one row, and inlined it would compute them again for each.
    dedicated AS MATERIALIZED (SELECT d.channel,
                         NOT EXISTS (SELECT FROM inventory_sync.channel_location a
                                       JOIN inventory_sync.channel_location b
                                         ON b.location = a.location AND b.channel <> a.channel
                                      WHERE a.channel = d.channel) AS dedicated
                    FROM (SELECT DISTINCT x.channel FROM x WHERE x.resum) d),
    r AS MATERIALIZED (SELECT x.channel, x.item, sum(greatest(la.atp, 0)) AS stock, min(la.computed_on) AS oldest
            FROM x
            JOIN inventory_sync.channel_location cl ON cl.channel = x.channel
            JOIN inventory_sync.location_atp la
              ON la.item_gtin = x.item AND la.location = cl.location AND la.min_shelf_life_days = x.shelf
           WHERE x.resum AND x.summed IS NULL
           GROUP BY x.channel, x.item),
    y AS (SELECT x.*,
                 CASE WHEN x.resum THEN coalesce(x.summed, r.stock, 0) ELSE x.old_stock + x.delta END AS stock,
                 CASE WHEN x.resum THEN coalesce(r.oldest, current_date) ELSE x.computed_on END AS oldest,
                 CASE WHEN x.resum THEN dd.dedicated ELSE x.dedicated END AS now_dedicated,
                 -- (a channel a protection or a cap limits: computed again from its inputs)
                 CASE WHEN inventory_sync._channel_limited(x.channel, x.item)
                      THEN inventory_sync._channel_atp(x.channel, x.item)
                      WHEN x.resum
                      THEN greatest(coalesce(x.summed, r.stock, 0) - x.safety, 0) - coalesce(p.pool, 0)
                      ELSE x.before + greatest(x.old_stock + x.delta - x.safety, 0) - greatest(x.old_stock - x.safety, 0)
                 END AS after
            FROM x
            LEFT JOIN dedicated dd ON dd.channel = x.channel
            LEFT JOIN r ON r.channel = x.channel AND r.item = x.item
            LEFT JOIN LATERAL (
                 SELECT sum(v.open_quantity) AS pool FROM inventory_sync.reservation v
                  WHERE v.item_gtin = x.item AND v.location IS NULL AND v.status = 'open'
                    AND v.channel = x.channel AND NOT v.fulfilling AND x.resum) p ON true),
    up AS (UPDATE inventory_sync.channel_atp a SET atp = y.after, version = a.version + 1, updated_at = now()
             FROM y
            WHERE a.channel = y.channel AND a.item_gtin = y.item AND y.after <> y.before
           RETURNING a.channel),
    ch AS (INSERT INTO inventory_sync.channel_atp_change (channel, item_gtin, atp_before, atp_after, version, cause,
                                                         posting_id, reservation_id)
           SELECT y.channel, y.item, y.before, y.after, y.version + 1, cause, posting_id, reservation_id
             FROM y WHERE y.after <> y.before
            ORDER BY y.channel, y.item),
    st AS (INSERT INTO inventory_sync.channel_atp_state AS s (channel, item_gtin, computed_on, dedicated, stock)
           SELECT y.channel, y.item, y.oldest, y.now_dedicated, y.stock FROM y
           ON CONFLICT ON CONSTRAINT channel_atp_state_pkey
           DO UPDATE SET computed_on = excluded.computed_on, dedicated = excluded.dedicated, stock = excluded.stock
            WHERE (s.computed_on, s.dedicated, s.stock) IS DISTINCT FROM (excluded.computed_on, excluded.dedicated, excluded.stock))
    SELECT count(*) INTO n FROM up;
    RETURN n;
END
$$;
COMMENT ON FUNCTION _channel_atp_apply(text[], gtin[], numeric[], boolean[], numeric[], text, bigint, bigint) IS
  'Internal: takes the channel ATP rows of the given (channel, item) pairs in order, moves each by its delta or sums it again (from the given stock where one is given, else from its locations), and records each change; returns how many changed';

-- The one way channel ATP follows its inputs. Returns how many channel ATP rows changed.
--   items, locations: (item, location) pairs whose inputs changed; the caller holds their
--     promise keys (or channel's EXCLUSIVE lock). Their location ATP is recomputed for the
--     shelf-life rule of every channel selling from the location (or expecting the stock
--     an in-transit location holds for it), and each of those channels moves by the change
--     of its contribution.
--   channels, sitems: (channel, item) pairs summed again from the stored location ATP of
--     every location of the channel (its own terms changed: safety stock, membership, a
--     pooled reservation's fulfilment, or its sum is from an earlier day).
CREATE FUNCTION _channel_atp_move(items gtin[], locations gln[], channels text[], sitems gtin[], cause text,
                                  posting_id bigint, reservation_id bigint)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    k_items gtin[];
    k_locations gln[];
    k_shelves integer[];
    c_channels text[];
    c_items gtin[];
    c_deltas numeric[];
    c_resum boolean[];
BEGIN
    -- the location ATP keys the change touches: one per shelf-life rule at the location
    SELECT array_agg(k.item), array_agg(k.location), array_agg(k.shelf)
      INTO k_items, k_locations, k_shelves
      FROM (SELECT DISTINCT t.item, t.location, c.min_shelf_life_days AS shelf
              FROM (SELECT u.item, x.location
                      FROM unnest(items, locations) AS u(item, location)
                      LEFT JOIN inventory_sync.transit_route r ON r.in_transit = u.location
                      CROSS JOIN LATERAL (VALUES (u.location), (r.destination)) AS x(location)
                     WHERE x.location IS NOT NULL AND u.item IS NOT NULL) t
              JOIN inventory_sync.channel_location cl ON cl.location = t.location
              JOIN inventory_sync.channel c ON c.channel = cl.channel) k;
    -- recompute them (read after the promise keys' locks: every change committed before
    -- is seen), store them, and sum the change of each contribution per channel. Under
    -- REPEATABLE READ every row is written, so a concurrent change committed since the
    -- snapshot is a serialization failure rather than a lost update.
    WITH f AS (SELECT * FROM inventory_sync._location_atp_of(k_items, k_locations, k_shelves)),
    w AS (INSERT INTO inventory_sync.location_atp AS la (item_gtin, location, min_shelf_life_days, atp, computed_on)
          SELECT f.item_gtin, f.location, f.min_shelf_life_days, f.atp, current_date FROM f
          ON CONFLICT ON CONSTRAINT location_atp_pkey
          DO UPDATE SET atp = excluded.atp, computed_on = excluded.computed_on
           WHERE (la.atp, la.computed_on) IS DISTINCT FROM (excluded.atp, excluded.computed_on)
              OR current_setting('transaction_isolation') <> 'read committed'),
    -- (location_atp read here is as the statement found it: the old values)
    d AS (SELECT f.item_gtin, f.location, f.min_shelf_life_days,
                 greatest(f.atp, 0) - greatest(coalesce(o.atp, 0), 0) AS delta
            FROM f LEFT JOIN inventory_sync.location_atp o
              ON o.item_gtin = f.item_gtin AND o.location = f.location
             AND o.min_shelf_life_days = f.min_shelf_life_days),
    m AS (SELECT cl.channel, d.item_gtin AS item, sum(d.delta) AS delta, false AS resum
            FROM d
            JOIN inventory_sync.channel_location cl ON cl.location = d.location
            JOIN inventory_sync.channel c ON c.channel = cl.channel AND c.min_shelf_life_days = d.min_shelf_life_days
           GROUP BY cl.channel, d.item_gtin
          HAVING sum(d.delta) <> 0
           UNION ALL
          SELECT DISTINCT u.channel, u.item, 0, true
            FROM unnest(channels, sitems) AS u(channel, item)
           WHERE u.channel IS NOT NULL AND u.item IS NOT NULL)
    SELECT array_agg(x.channel ORDER BY x.channel, x.item), array_agg(x.item ORDER BY x.channel, x.item),
           array_agg(x.delta ORDER BY x.channel, x.item), array_agg(x.resum ORDER BY x.channel, x.item)
      INTO c_channels, c_items, c_deltas, c_resum
      FROM (SELECT m.channel, m.item, sum(m.delta) AS delta, bool_or(m.resum) AS resum
              FROM m GROUP BY m.channel, m.item) x;
    RETURN inventory_sync._channel_atp_apply(c_channels, c_items, c_deltas, c_resum, NULL, cause, posting_id,
                                             reservation_id);
END
$$;
COMMENT ON FUNCTION _channel_atp_move(gtin[], gln[], text[], gtin[], text, bigint, bigint) IS
  'Internal: recomputes the location ATP of the (item, location) pairs whose inputs changed, moves every channel selling from them by the change, sums the given (channel, item) pairs again from their locations, and records each change; returns how many channel ATP rows changed';

-- One channel's ATP for an item summed again from its locations (its own terms changed),
-- under its row lock; returns it as published.
CREATE FUNCTION _channel_atp_publish(channel text, item gtin, cause text, posting_id bigint, reservation_id bigint,
                                     OUT atp numeric, OUT version bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    PERFORM inventory_sync._channel_atp_move(NULL, NULL, ARRAY[channel], ARRAY[item], cause, posting_id, reservation_id);
    SELECT a.atp, a.version INTO atp, version FROM inventory_sync.channel_atp a
     WHERE a.channel = channel AND a.item_gtin = item;
END
$$;
COMMENT ON FUNCTION _channel_atp_publish(text, gtin, text, bigint, bigint) IS
  'Internal: sums a channel''s ATP for an item again from its locations under its row lock and, when it changed, bumps its version and records the change';

-- A pooled reservation moves only its channel's ATP, by exactly its quantity. The caller's
-- reservation_change row records the move (atp_before, atp_after, version): no
-- channel_atp_change row. atp_before is NULL when the channel had no published row yet:
-- then _channel_atp_publish recorded the change in channel_atp_change.
CREATE FUNCTION _channel_atp_add(channel text, item gtin, delta numeric, reservation_id bigint,
                                 OUT atp numeric, OUT version bigint, OUT atp_before numeric)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    UPDATE inventory_sync.channel_atp a SET atp = a.atp + delta, version = a.version + 1, updated_at = now()
     WHERE a.channel = channel AND a.item_gtin = item
    RETURNING a.atp, a.version INTO atp, version;
    IF NOT FOUND THEN
        SELECT p.atp, p.version INTO atp, version
          FROM inventory_sync._channel_atp_publish(channel, item, 'reservation', NULL, reservation_id) p;
        RETURN;
    END IF;
    atp_before := atp - delta;
END
$$;
COMMENT ON FUNCTION _channel_atp_add(text, gtin, numeric, bigint) IS
  'Internal: moves a channel''s published ATP by a pooled reservation''s change; the caller''s reservation_change row records the move when atp_before is not NULL';

-- The (item, location) pairs whose location ATP a posting statement's balance keys can
-- change at locations channels sell from: stock in a sellable bucket there, and any stock
-- in transit to one (expected supply there). A key in a bucket that is not sellable
-- changes no ATP, and its statement takes no promise key for it.
CREATE FUNCTION _posting_atp_pairs(items gtin[], locations gln[], buckets text[])
RETURNS TABLE (item gtin, location gln)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    SELECT DISTINCT u.item, x.location
      FROM unnest($1, $2, $3) AS u(item, location, bucket)
      LEFT JOIN inventory_sync.transit_route r ON r.in_transit = u.location
      CROSS JOIN LATERAL (VALUES (CASE WHEN EXISTS (SELECT FROM inventory_sync.bucket bk
                                                     WHERE bk.bucket = u.bucket AND bk.sellable)
                                       THEN u.location END),
                                 (r.destination)) AS x(location)
     WHERE x.location IS NOT NULL AND u.item IS NOT NULL
       AND EXISTS (SELECT FROM inventory_sync.channel_location cl WHERE cl.location = x.location);
END
$$;
COMMENT ON FUNCTION _posting_atp_pairs(gtin[], gln[], text[]) IS
  'Internal: the (item, location) pairs at channels'' locations whose ATP a statement''s balance keys (item, location, bucket) can change';

-- The promise keys a posting statement takes before its balance rows (src/posting_apply.c).
-- Returns whether there were any (the engine then moves channel ATP after its balances).
CREATE FUNCTION _posting_keys_lock(items gtin[], locations gln[], buckets text[])
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    k_items gtin[];
    k_locations gln[];
BEGIN
    SELECT array_agg(p.item), array_agg(p.location) INTO k_items, k_locations
      FROM inventory_sync._posting_atp_pairs(items, locations, buckets) p;
    IF k_items IS NULL THEN
        RETURN false;
    END IF;
    PERFORM inventory_sync._promise_keys_lock(k_items, k_locations);
    RETURN true;
END
$$;
COMMENT ON FUNCTION _posting_keys_lock(gtin[], gln[], text[]) IS
  'Internal (called by the posting engine before its balance rows): locks the promise keys of the pairs whose ATP a statement can change at channels'' locations; false when there are none';

-- After the statement's balances: the channels selling from those pairs move.
CREATE FUNCTION _channel_atp_refresh(items gtin[], locations gln[], buckets text[], posting_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    PERFORM inventory_sync._channel_atp_move(array_agg(p.item), array_agg(p.location), NULL, NULL, 'posting',
                                             posting_id, NULL)
       FROM inventory_sync._posting_atp_pairs(items, locations, buckets) p;
END
$$;
COMMENT ON FUNCTION _channel_atp_refresh(gtin[], gln[], text[], bigint) IS
  'Internal (called by the posting engine): moves the ATP of every channel selling from (or expecting transit stock at) the locations whose sellable stock a statement changed';

-- Every (item, location) a channel's ATP may be made of: where there is stock, a
-- reservation or a stored location ATP at one of its locations.
CREATE FUNCTION _channel_pairs(of_channel text, of_item gtin)
RETURNS TABLE (channel text, item_gtin gtin, location gln)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    SELECT DISTINCT cl.channel, x.item_gtin, cl.location
      FROM inventory_sync.channel_location cl
      JOIN (SELECT b.item_gtin, b.location FROM inventory_sync.balance b WHERE $2 IS NULL OR b.item_gtin = $2
            UNION
            SELECT la.item_gtin, la.location FROM inventory_sync.location_atp la WHERE $2 IS NULL OR la.item_gtin = $2
            UNION
            SELECT k.item_gtin, k.location FROM inventory_sync.promise_key k WHERE $2 IS NULL OR k.item_gtin = $2) x
        ON x.location = cl.location
     WHERE $1 IS NULL OR cl.channel = $1;
END
$$;
COMMENT ON FUNCTION _channel_pairs(text, gtin) IS
  'Internal: the (channel, item, location) triples a channel''s ATP may be made of (stock, reservations or stored location ATP there), for one channel or all, one item or all';

-- The (channel, item) pairs a recompute sums again whatever its stock: every one published
-- (a channel ATP row) and every one with open reservations, of a channel or all, an item
-- or all. With the pairs that have stock (_channel_pairs, or the recompute's own sums)
-- they are every channel ATP the recompute may change.
CREATE FUNCTION _channel_published_pairs(of_channel text, of_item gtin)
RETURNS TABLE (channel text, item_gtin gtin)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    SELECT a.channel, a.item_gtin FROM inventory_sync.channel_atp a
      JOIN inventory_sync.channel c ON c.channel = a.channel
     WHERE ($1 IS NULL OR a.channel = $1) AND ($2 IS NULL OR a.item_gtin = $2)
    UNION
    SELECT v.channel, v.item_gtin FROM inventory_sync.reservation v
     WHERE v.status = 'open' AND ($1 IS NULL OR v.channel = $1) AND ($2 IS NULL OR v.item_gtin = $2);
END
$$;
COMMENT ON FUNCTION _channel_published_pairs(text, gtin) IS
  'Internal: the (channel, item) pairs a recompute sums again whatever its stock (published channel ATP, open reservations), for one channel or all, one item or all';

-- Every channel ATP (of a channel, an item, or all) computed again from its inputs, as
-- set operations: the location ATP of every pair, then every channel's sum. It holds
-- channel's EXCLUSIVE lock (every promise and posting holds a weaker one that conflicts
-- with it), so it takes no promise key one by one; by_keys, it takes the promise keys of
-- the pairs instead (in one statement, in order): for a change of a channel's own rules,
-- whose UPDATE already holds ROW EXCLUSIVE on channel (two such changes upgrading it to
-- EXCLUSIVE would wait for each other).
--
-- Under the EXCLUSIVE lock it is a handful of statements over every pair at once (a
-- channel joining a thousand locations of ten thousand items has ten million): the pairs
-- are gathered once, their location ATP computed in one grouped pass over the balances
-- into a temporary table, written to location_atp by one UPDATE of the rows that changed
-- and one INSERT of the missing ones (nobody else can be writing location_atp: every
-- writer holds channel's ROW SHARE lock), and every channel's sum taken from that table
-- in one aggregate. Then the channel ATP rows are moved as _channel_atp_move moves them.
CREATE FUNCTION _channel_atp_recompute(channel text, item gtin, cause text, by_keys boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
SET plan_cache_mode = force_custom_plan
-- its hashes and sorts hold every pair: in memory, not spilled to disk in batches
SET work_mem = '256MB'
-- (restored on return: its set statements turn nested loops off)
SET enable_nestloop = on
-- (compiling its plans' expressions costs seconds, more than the millions of rows save)
SET jit = off
AS $$
#variable_conflict use_variable
DECLARE
    p_items gtin[];
    p_locations gln[];
    s_channels text[];
    s_items gtin[];
    s_deltas numeric[];
    s_resum boolean[];
    s_stocks numeric[];
BEGIN
    IF by_keys THEN
        SELECT array_agg(p.item_gtin), array_agg(p.location) INTO p_items, p_locations
          FROM (SELECT DISTINCT p.item_gtin, p.location FROM inventory_sync._channel_pairs(channel, item) p) p;
        PERFORM inventory_sync._promise_keys_lock(p_items, p_locations);
        SELECT array_agg(x.channel ORDER BY x.channel, x.item_gtin), array_agg(x.item_gtin ORDER BY x.channel, x.item_gtin)
          INTO s_channels, s_items
          FROM (SELECT p.channel, p.item_gtin FROM inventory_sync._channel_pairs(channel, item) p
                UNION
                SELECT p.channel, p.item_gtin FROM inventory_sync._channel_published_pairs(channel, item) p) x;
        DELETE FROM inventory_sync.location_atp la
         WHERE (item IS NULL OR la.item_gtin = item)
           AND NOT EXISTS (SELECT FROM inventory_sync.channel_location cl
                             JOIN inventory_sync.channel c ON c.channel = cl.channel
                            WHERE cl.location = la.location AND c.min_shelf_life_days = la.min_shelf_life_days);
        RETURN inventory_sync._channel_atp_move(p_items, p_locations, s_channels, s_items, cause, NULL, NULL);
    END IF;
    LOCK TABLE inventory_sync.channel IN EXCLUSIVE MODE;
    -- every statement below reads millions of rows at once: hash joins, never a nested
    -- loop (location_atp written in this transaction, by a membership change before a
    -- refresh, still has the statistics of an empty table, and a nested loop over it
    -- would read it once per pair)
    PERFORM set_config('enable_nestloop', 'off', true);
    IF to_regclass('pg_temp.recompute_atp') IS NULL THEN
        CREATE TEMP TABLE recompute_atp (item gtin, location gln, shelf integer, atp numeric, old numeric,
                                         stored boolean) ON COMMIT DROP;
    END IF;
    TRUNCATE pg_temp.recompute_atp;
    -- the location ATP keys: every (item, location) with stock, a promise key or a stored
    -- location ATP at the locations recomputed (the channel's, or every channel's), once
    -- per shelf-life rule of the channels selling there; an in-transit location's stock
    -- is expected at its destination
    WITH ls AS (SELECT DISTINCT x.location, c.min_shelf_life_days AS shelf
                  FROM inventory_sync.channel_location m
                  LEFT JOIN inventory_sync.transit_route r ON r.in_transit = m.location
                  CROSS JOIN LATERAL (VALUES (m.location), (r.destination)) AS x(location)
                  JOIN inventory_sync.channel_location cl ON cl.location = x.location
                  JOIN inventory_sync.channel c ON c.channel = cl.channel
                 WHERE (channel IS NULL OR m.channel = channel)),
    e AS (SELECT b.item_gtin AS item, b.location, ls.shelf,
                 coalesce(sum(b.quantity) FILTER (WHERE bk.sellable AND (l.expiry IS NULL
                                                                         OR l.expiry >= current_date + ls.shelf)), 0)
                   AS eligible
            FROM inventory_sync.balance b
            JOIN ls ON ls.location = b.location
            JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket
            LEFT JOIN inventory_sync.lot l ON l.item_gtin = b.item_gtin AND l.lot = b.lot
           WHERE item IS NULL OR b.item_gtin = item
           GROUP BY 1, 2, 3),
    o AS (SELECT k.item_gtin AS item, k.location, ls.shelf
            FROM inventory_sync.promise_key k JOIN ls ON ls.location = k.location
           WHERE item IS NULL OR k.item_gtin = item
          UNION
          SELECT la.item_gtin, la.location, ls.shelf
            FROM inventory_sync.location_atp la JOIN ls ON ls.location = la.location
           WHERE item IS NULL OR la.item_gtin = item),
    k AS (SELECT coalesce(e.item, o.item) AS item, coalesce(e.location, o.location) AS location,
                 coalesce(e.shelf, o.shelf) AS shelf, coalesce(e.eligible, 0) AS eligible
            FROM e FULL JOIN o ON o.item = e.item AND o.location = e.location AND o.shelf = e.shelf)
    INSERT INTO pg_temp.recompute_atp (item, location, shelf, atp, old, stored)
    SELECT k.item, k.location, k.shelf,
           -- (as _location_atp_of computes it)
           greatest(k.eligible - coalesce(s.quantity, 0), 0) - coalesce(p.reserved, 0)
           - CASE WHEN (k.item, k.location) IN (SELECT v.item_gtin, v.location FROM inventory_sync.reservation v
                                                 WHERE v.status = 'open' AND v.promised_date IS NOT NULL
                                                   AND NOT v.fulfilling AND v.location IS NOT NULL)
                  THEN inventory_sync._backorder_shortfall(k.item, k.location) ELSE 0 END,
           la.atp, la.item_gtin IS NOT NULL
      FROM k
      LEFT JOIN inventory_sync.safety_stock s ON s.item_gtin = k.item AND s.location = k.location
      LEFT JOIN inventory_sync.promise_key p ON p.item_gtin = k.item AND p.location = k.location
      LEFT JOIN inventory_sync.location_atp la
        ON la.item_gtin = k.item AND la.location = k.location AND la.min_shelf_life_days = k.shelf;
    ANALYZE pg_temp.recompute_atp;
    -- location ATP no channel sums any more (its location or shelf-life rule left) is not
    -- kept up to date by anything: it goes (its pairs were recomputed above, at the
    -- shelf-life rules still there)
    DELETE FROM inventory_sync.location_atp la
     WHERE (item IS NULL OR la.item_gtin = item)
       AND NOT EXISTS (SELECT FROM inventory_sync.channel_location cl
                         JOIN inventory_sync.channel c ON c.channel = cl.channel
                        WHERE cl.location = la.location AND c.min_shelf_life_days = la.min_shelf_life_days);
    -- stored: the rows that changed (every row under REPEATABLE READ, so a concurrent
    -- change committed since the snapshot is a serialization failure rather than a lost
    -- update), and the missing ones
    IF current_setting('transaction_isolation') = 'read committed' THEN
        UPDATE inventory_sync.location_atp la SET atp = t.atp, computed_on = current_date
          FROM pg_temp.recompute_atp t
         WHERE t.stored AND la.item_gtin = t.item AND la.location = t.location AND la.min_shelf_life_days = t.shelf
           AND (la.atp, la.computed_on) IS DISTINCT FROM (t.atp, current_date);
        INSERT INTO inventory_sync.location_atp (item_gtin, location, min_shelf_life_days, atp, computed_on)
        SELECT t.item, t.location, t.shelf, t.atp, current_date FROM pg_temp.recompute_atp t WHERE NOT t.stored;
    ELSE
        INSERT INTO inventory_sync.location_atp AS la (item_gtin, location, min_shelf_life_days, atp, computed_on)
        SELECT t.item, t.location, t.shelf, t.atp, current_date FROM pg_temp.recompute_atp t
        ON CONFLICT ON CONSTRAINT location_atp_pkey
        DO UPDATE SET atp = excluded.atp, computed_on = excluded.computed_on;
    END IF;
    -- every channel recomputed is summed again (from the table: every location of it is
    -- there); another channel selling from a location recomputed (a channel's refresh)
    -- moves by the change of that location's contribution
    WITH sums AS (SELECT cl.channel, t.item, sum(greatest(t.atp, 0)) AS stock
                    FROM pg_temp.recompute_atp t
                    JOIN inventory_sync.channel_location cl ON cl.location = t.location
                    JOIN inventory_sync.channel c ON c.channel = cl.channel AND c.min_shelf_life_days = t.shelf
                   WHERE channel IS NULL OR cl.channel = channel
                   GROUP BY cl.channel, t.item),
    others AS (SELECT cl.channel, t.item, sum(greatest(t.atp, 0) - greatest(coalesce(t.old, 0), 0)) AS delta
                 FROM pg_temp.recompute_atp t
                 JOIN inventory_sync.channel_location cl ON cl.location = t.location
                 JOIN inventory_sync.channel c ON c.channel = cl.channel AND c.min_shelf_life_days = t.shelf
                WHERE channel IS NOT NULL AND cl.channel <> channel
                GROUP BY cl.channel, t.item
               HAVING sum(greatest(t.atp, 0) - greatest(coalesce(t.old, 0), 0)) <> 0),
    resum AS (SELECT x.channel, x.item FROM sums x
              UNION
              SELECT p.channel, p.item_gtin FROM inventory_sync._channel_published_pairs(channel, item) p),
    x AS (SELECT r.channel, r.item, 0 AS delta, true AS resum, coalesce(sm.stock, 0) AS stock
            FROM resum r LEFT JOIN sums sm ON sm.channel = r.channel AND sm.item = r.item
          UNION ALL
          SELECT o.channel, o.item, o.delta, false, NULL FROM others o
           WHERE NOT EXISTS (SELECT FROM resum r WHERE r.channel = o.channel AND r.item = o.item))
    SELECT array_agg(x.channel ORDER BY x.channel, x.item), array_agg(x.item ORDER BY x.channel, x.item),
           array_agg(x.delta ORDER BY x.channel, x.item), array_agg(x.resum ORDER BY x.channel, x.item),
           array_agg(x.stock ORDER BY x.channel, x.item)
      INTO s_channels, s_items, s_deltas, s_resum, s_stocks
      FROM x;
    PERFORM set_config('enable_nestloop', 'on', true);
    IF s_channels IS NULL THEN
        RETURN 0;
    END IF;
    -- the missing channel ATP rows, in (channel, item) order in one statement (nobody
    -- else holds or waits for one: every writer of them holds channel's ROW SHARE lock)
    INSERT INTO inventory_sync.channel_atp (channel, item_gtin, atp, version)
    SELECT u.channel, u.item, 0, 0 FROM unnest(s_channels, s_items) AS u(channel, item)
     WHERE NOT EXISTS (SELECT FROM inventory_sync.channel_atp a WHERE a.channel = u.channel AND a.item_gtin = u.item)
     ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN inventory_sync._channel_atp_apply(s_channels, s_items, s_deltas, s_resum, s_stocks, cause, NULL, NULL);
END
$$;
COMMENT ON FUNCTION _channel_atp_recompute(text, gtin, text, boolean) IS
  'Internal: recomputes, as set operations under channel''s EXCLUSIVE lock (or, by_keys, under the promise keys of every pair it computes), the location ATP and channel ATP of a channel, an item, or all; returns how many channel ATP rows changed';

CREATE FUNCTION refresh_channel_atp(channel text DEFAULT NULL, item gtin DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    RETURN inventory_sync._channel_atp_recompute($1, $2, 'refresh');
END
$$;
COMMENT ON FUNCTION refresh_channel_atp(text, gtin) IS
  'Recomputes published channel ATP (all channels and items, or one channel, or one item) where it changed without a posting or reservation, e.g. lots passing a shelf-life limit at midnight; returns the number of changes. Schedule it daily, e.g. with pg_cron';

-- ---------------------------------------------------------------------------
-- Every input of channel ATP that is not a posting or a reservation republishes it in
-- the transaction that changes it (the posting engine and the reservation functions
-- republish for theirs).
-- ---------------------------------------------------------------------------
CREATE FUNCTION _promise_input_changed()
RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    rows jsonb[] := '{}';
    j jsonb;
    k record;
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN     -- buckets: everything may change
        PERFORM inventory_sync._channel_atp_recompute(NULL, NULL, 'refresh');
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN rows := rows || to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN rows := rows || to_jsonb(NEW); END IF;
    FOREACH j IN ARRAY rows LOOP
        CASE TG_TABLE_NAME
        WHEN 'channel' THEN
            IF EXISTS (SELECT FROM inventory_sync.channel c WHERE c.channel = j->>'channel') THEN
                PERFORM inventory_sync._channel_atp_recompute(j->>'channel', NULL, 'refresh', true);
            END IF;
        WHEN 'channel_safety_stock' THEN
            IF EXISTS (SELECT FROM inventory_sync.channel c WHERE c.channel = j->>'channel') THEN
                LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
                PERFORM inventory_sync._channel_atp_publish(j->>'channel', (j->>'item_gtin')::inventory_sync.gtin,
                                                            'refresh', NULL, NULL);
            END IF;
        WHEN 'lot' THEN
            PERFORM inventory_sync._channel_atp_recompute(NULL, (j->>'item_gtin')::inventory_sync.gtin, 'refresh');
        WHEN 'transit_route' THEN
            FOR k IN SELECT DISTINCT cl.channel FROM inventory_sync.channel_location cl
                      WHERE cl.location = (j->>'destination')::inventory_sync.gln ORDER BY 1 LOOP
                PERFORM inventory_sync._channel_atp_recompute(k.channel, NULL, 'refresh');
            END LOOP;
        END CASE;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _promise_input_changed() IS
  'Trigger: republishes the channel ATP an input change affects (channel safety stock, channel rules, lot expiry, transit routes, buckets)';

-- Safety stock and supply change one (item, location) per row: a statement's rows move
-- channel ATP together, under the promise keys of every pair (taken in one statement, in
-- order), as a posting statement does. A statement of ten thousand rows is one move of
-- ten thousand pairs, each channel ATP row written once.
CREATE FUNCTION _promise_keys_changed()
RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    k_items inventory_sync.gtin[];
    k_locations inventory_sync.gln[];
BEGIN
    -- (a transition table exists only for the events that have it)
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(p.item_gtin ORDER BY p.item_gtin, p.location), array_agg(p.location ORDER BY p.item_gtin, p.location)
          INTO k_items, k_locations
          FROM (SELECT DISTINCT n.item_gtin, n.location FROM new_rows n) p
         WHERE EXISTS (SELECT FROM inventory_sync.channel_location cl WHERE cl.location = p.location);
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(p.item_gtin ORDER BY p.item_gtin, p.location), array_agg(p.location ORDER BY p.item_gtin, p.location)
          INTO k_items, k_locations
          FROM (SELECT n.item_gtin, n.location FROM new_rows n UNION SELECT o.item_gtin, o.location FROM old_rows o) p
         WHERE EXISTS (SELECT FROM inventory_sync.channel_location cl WHERE cl.location = p.location);
    ELSE
        SELECT array_agg(p.item_gtin ORDER BY p.item_gtin, p.location), array_agg(p.location ORDER BY p.item_gtin, p.location)
          INTO k_items, k_locations
          FROM (SELECT DISTINCT o.item_gtin, o.location FROM old_rows o) p
         WHERE EXISTS (SELECT FROM inventory_sync.channel_location cl WHERE cl.location = p.location);
    END IF;
    IF k_items IS NOT NULL THEN
        LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
        PERFORM inventory_sync._promise_keys_lock(k_items, k_locations);
        PERFORM inventory_sync._channel_atp_move(k_items, k_locations, NULL, NULL, 'refresh', NULL, NULL);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _promise_keys_changed() IS
  'Trigger: after a statement changing safety stock or supply, moves the channel ATP of every (item, location) it changed at channels'' locations, under their promise keys';

-- safety stock and supply: one (item, location) per row, every row of a statement at once
CREATE TRIGGER safety_stock_atp_insert AFTER INSERT ON safety_stock
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION _promise_keys_changed();
CREATE TRIGGER safety_stock_atp_update AFTER UPDATE ON safety_stock
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION _promise_keys_changed();
CREATE TRIGGER safety_stock_atp_delete AFTER DELETE ON safety_stock
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION _promise_keys_changed();
CREATE TRIGGER supply_atp_insert AFTER INSERT ON supply
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION _promise_keys_changed();
CREATE TRIGGER supply_atp_update AFTER UPDATE ON supply
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION _promise_keys_changed();
CREATE TRIGGER supply_atp_delete AFTER DELETE ON supply
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION _promise_keys_changed();
CREATE TRIGGER channel_safety_stock_atp AFTER INSERT OR UPDATE OR DELETE ON channel_safety_stock
    FOR EACH ROW EXECUTE FUNCTION _promise_input_changed();
CREATE TRIGGER channel_atp_rules AFTER UPDATE OF safety_stock, min_shelf_life_days ON channel
    FOR EACH ROW EXECUTE FUNCTION _promise_input_changed();
CREATE TRIGGER transit_route_atp AFTER INSERT OR UPDATE OR DELETE ON transit_route
    FOR EACH ROW EXECUTE FUNCTION _promise_input_changed();
-- the engine registers new lots without an expiry: only a stated expiry can change ATP
CREATE TRIGGER lot_expiry_atp AFTER INSERT ON lot
    FOR EACH ROW WHEN (NEW.expiry IS NOT NULL) EXECUTE FUNCTION _promise_input_changed();
CREATE TRIGGER lot_expiry_changed_atp AFTER UPDATE OF expiry ON lot
    FOR EACH ROW WHEN (NEW.expiry IS DISTINCT FROM OLD.expiry) EXECUTE FUNCTION _promise_input_changed();
CREATE TRIGGER bucket_atp AFTER INSERT OR UPDATE OR DELETE ON bucket
    FOR EACH STATEMENT EXECUTE FUNCTION _promise_input_changed();
