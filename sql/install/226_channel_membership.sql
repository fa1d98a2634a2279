-- since 0.2.0
-- ---------------------------------------------------------------------------
-- What the promise layer does when master data it rests on changes: a channel's
-- membership (below), a channel's deletion or renaming, an item's deletion.
--
-- Channel membership changes: pooled reservations are only possible while their channel
-- is dedicated. The change waits for promises and postings in flight (each holds a ROW
-- SHARE lock on channel from its start), then places the pools of channels that now share
-- a location, and recomputes every channel's ATP, as set operations.
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

-- Pooled reservations of channels that now share a location are each placed at one of
-- their channel's locations, as set operations: per (channel, item), the locations in
-- order of ATP (priority, then location, among equals) lay their ATP end to end, the
-- reservations in order of id lay their quantities end to end, and a reservation goes to
-- the location whose stretch holds all of it. The few that straddle two stretches are
-- then placed one at a time where the most ATP is left (IS046 where none has enough).
CREATE FUNCTION _pools_place()
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
-- its sets are as big as every pool times every location of its channel, and the planner
-- takes a set-returning function for a thousand rows: hash joins, not nested loops over
-- a hundred thousand rows each (nor merge joins on the pool's channel and item alone,
-- filtering every pool's reservations against every location of it)
SET enable_nestloop = off
SET enable_mergejoin = off
-- (and it groups a million rows it takes for a few: by hashing, not by sorting them; the
-- sorts its windows need stay)
SET enable_sort = off
-- (its sorts and hashes hold every pool and every location of its channel: in memory)
SET work_mem = '256MB'
-- (compiling its plans' expressions costs seconds; it runs once per membership change)
SET jit = off
AS $$
DECLARE
    placed integer;
    one record;
    best record;
BEGIN
    IF to_regclass('pg_temp.pool_place') IS NULL THEN
        CREATE TEMP TABLE pool_place (reservation_id bigint PRIMARY KEY, channel text, item gtin, quantity numeric,
                                      location gln) ON COMMIT DROP;
    END IF;
    TRUNCATE pg_temp.pool_place;
    WITH pools AS (
         SELECT r.reservation_id, r.channel, r.item_gtin, r.open_quantity AS q,
                sum(r.open_quantity) OVER (PARTITION BY r.channel, r.item_gtin ORDER BY r.reservation_id) AS r_end
           FROM inventory_sync.reservation r
          WHERE r.status = 'open' AND r.location IS NULL
            AND r.channel IN (SELECT a.channel FROM inventory_sync.channel_location a
                                JOIN inventory_sync.channel_location b ON b.location = a.location AND b.channel <> a.channel)),
    totals AS (SELECT p.channel, p.item_gtin, max(p.r_end) AS total FROM pools p GROUP BY 1, 2),
    keys AS (SELECT p.channel, p.item_gtin, cl.location, cl.priority, c.min_shelf_life_days AS shelf
               FROM (SELECT DISTINCT p.channel, p.item_gtin FROM pools p) p
               JOIN inventory_sync.channel c ON c.channel = p.channel
               JOIN inventory_sync.channel_location cl ON cl.channel = p.channel),
    -- each location's ATP as stored (every posting there keeps it current), computed
    -- again only where no value of today is stored (a key without stock, or one last
    -- computed on an earlier day, when lots may have expired since)
    stored AS MATERIALIZED (
             SELECT k.channel, k.item_gtin, k.location, k.priority, k.shelf, la.atp
               FROM keys k
               LEFT JOIN inventory_sync.location_atp la
                 ON la.item_gtin = k.item_gtin AND la.location = k.location AND la.min_shelf_life_days = k.shelf
                AND la.computed_on = current_date),
    atp AS (SELECT s.channel, s.item_gtin, s.location, s.priority, s.atp FROM stored s WHERE s.atp IS NOT NULL
            UNION ALL
            SELECT s.channel, s.item_gtin, s.location, s.priority, a.atp
              FROM stored s
              JOIN inventory_sync._location_atp_of((SELECT array_agg(s2.item_gtin) FROM stored s2 WHERE s2.atp IS NULL),
                                                   (SELECT array_agg(s2.location) FROM stored s2 WHERE s2.atp IS NULL),
                                                   (SELECT array_agg(s2.shelf) FROM stored s2 WHERE s2.atp IS NULL)) a
                ON a.item_gtin = s.item_gtin AND a.location = s.location AND a.min_shelf_life_days = s.shelf
             WHERE s.atp IS NULL),
    -- the location a pool comes to first: the most ATP, then priority, then location,
    -- found by aggregates rather than by sorting every location of the channel
    mx AS (SELECT a.channel, a.item_gtin, max(a.atp) AS m FROM atp a GROUP BY 1, 2),
    -- (priority, location) as one number in the same order: a GLN has 13 digits)
    first AS (SELECT a.channel, a.item_gtin, max(a.atp) AS cap,
                     min((a.priority::numeric + 2147483648) * 10000000000000 + a.location::bigint) AS k
                FROM atp a JOIN mx ON mx.channel = a.channel AND mx.item_gtin = a.item_gtin AND a.atp = mx.m
               GROUP BY 1, 2),
    -- a pool that location holds whole goes there, every reservation of it (the first
    -- stretch holds them all); only the other pools lay every location end to end
    whole AS MATERIALIZED (
             SELECT f.channel, f.item_gtin, mod(f.k, 10000000000000)::bigint::gln AS location FROM first f
               JOIN totals t ON t.channel = f.channel AND t.item_gtin = f.item_gtin
              WHERE f.cap > 0 AND f.cap >= t.total),
    caps AS (SELECT a.channel, a.item_gtin, a.location, greatest(a.atp, 0) AS cap,
                    sum(greatest(a.atp, 0)) OVER (PARTITION BY a.channel, a.item_gtin
                                                  ORDER BY a.atp DESC, a.priority, a.location) AS l_end
               FROM atp a
              WHERE NOT EXISTS (SELECT FROM whole w WHERE w.channel = a.channel AND w.item_gtin = a.item_gtin)),
    -- only a stretch that begins before the pool ends can hold one of its reservations
    -- (the stretch a reservation ends in begins where the one before ends, before it)
    held AS MATERIALIZED (
             SELECT c.* FROM caps c
               JOIN totals t ON t.channel = c.channel AND t.item_gtin = c.item_gtin
              WHERE c.cap > 0 AND c.l_end - c.cap < t.total),
    -- the stretch a reservation ends in: the first location's end at or after its own,
    -- found by one pass over both lists merged and read backwards (a location's end before
    -- a reservation's at the same place), not by comparing every reservation with every
    -- location of its channel
    stream AS (SELECT c.channel, c.item_gtin, c.l_end AS pos, 0 AS kind, c.l_end, NULL::bigint AS reservation_id,
                      NULL::numeric AS q
                 FROM held c
               UNION ALL
               SELECT p.channel, p.item_gtin, p.r_end, 1, NULL, p.reservation_id, p.q FROM pools p
                WHERE NOT EXISTS (SELECT FROM whole w WHERE w.channel = p.channel AND w.item_gtin = p.item_gtin)),
    found AS (SELECT s.reservation_id, s.channel, s.item_gtin, s.q, s.pos AS r_end, s.kind,
                     min(s.l_end) OVER (PARTITION BY s.channel, s.item_gtin ORDER BY s.pos DESC, s.kind
                                        ROWS UNBOUNDED PRECEDING) AS l_end
                FROM stream s)
    INSERT INTO pg_temp.pool_place
    SELECT f.reservation_id, f.channel, f.item_gtin, f.q, c.location
      FROM found f
      LEFT JOIN held c ON c.channel = f.channel AND c.item_gtin = f.item_gtin AND c.l_end = f.l_end
                      AND c.l_end - c.cap <= f.r_end - f.q
     WHERE f.kind = 1
    UNION ALL
    SELECT p.reservation_id, p.channel, p.item_gtin, p.q, w.location
      FROM pools p JOIN whole w ON w.channel = p.channel AND w.item_gtin = p.item_gtin;
    -- the straddling ones, one at a time, where the most is left
    FOR one IN SELECT * FROM pg_temp.pool_place x WHERE x.location IS NULL ORDER BY x.reservation_id LOOP
        SELECT b.location, b.atp - coalesce((SELECT sum(x.quantity) FROM pg_temp.pool_place x
                                              WHERE x.item = one.item AND x.location = b.location), 0) AS left
          INTO best
          FROM inventory_sync.channel c,
               LATERAL (SELECT cl.location, a.atp, cl.priority
                          FROM inventory_sync.channel_location cl,
                               inventory_sync._location_atp_of(ARRAY[one.item], ARRAY[cl.location],
                                                               ARRAY[c.min_shelf_life_days]) a
                         WHERE cl.channel = one.channel) b
         WHERE c.channel = one.channel
         ORDER BY 2 DESC, b.priority, b.location
         LIMIT 1;
        IF best.location IS NULL OR best.left < one.quantity THEN
            RAISE EXCEPTION 'channel "%" would share a location, but its reservation % (% of gtin %, anywhere) fits no single location',
                  one.channel, one.reservation_id, one.quantity, one.item
                  USING ERRCODE = 'IS046',
                        DETAIL = format('The most ATP left at one of its locations is %s.', greatest(coalesce(best.left, 0), 0)),
                        HINT = 'Resolve or reduce its open anywhere reservations first, or keep its locations its own.';
        END IF;
        UPDATE pg_temp.pool_place x SET location = best.location WHERE x.reservation_id = one.reservation_id;
    END LOOP;
    -- held where placed: the reservation and the promise key there
    UPDATE inventory_sync.reservation r SET location = x.location
      FROM pg_temp.pool_place x WHERE r.reservation_id = x.reservation_id;
    GET DIAGNOSTICS placed = ROW_COUNT;
    INSERT INTO inventory_sync.promise_key (item_gtin, location)
    SELECT DISTINCT x.item, x.location FROM pg_temp.pool_place x
    ON CONFLICT DO NOTHING;
    UPDATE inventory_sync.promise_key k SET reserved = k.reserved + x.q, version = k.version + 1
      FROM (SELECT x.item, x.location, sum(x.quantity) AS q FROM pg_temp.pool_place x GROUP BY 1, 2) x
     WHERE k.item_gtin = x.item AND k.location = x.location;
    RETURN placed;
END
$$;
COMMENT ON FUNCTION _pools_place() IS
  'Internal (membership changes): places the pooled reservations of channels that now share a location at one of their locations each, as set operations (IS046 if one fits nowhere); returns how many';

-- A change of membership holds channel's EXCLUSIVE lock (_channel_location_lock): no
-- promise or posting at a channel's location is in flight, so it changes everything as
-- set operations, without row locks one by one. It computes again only what the change
-- can move (refresh_channel_atp() computes everything):
--   - every channel whose locations changed (its rows in the statement): the location ATP
--     of each of its locations now, its ATP summed again, and every other channel selling
--     from those locations moved by the change of their contribution;
--   - the pairs where pools were placed: their location ATP (their promise keys hold
--     more), every channel selling there moved, the pooled channel summed again;
--   - every other channel selling from a location the statement named whose "dedicated"
--     changed (it shares a location now, or no longer): summed again, every item of it.
-- A channel selling only from locations the statement did not name keeps its sums: its
-- locations, their ATP and whether it shares one are as they were.
CREATE FUNCTION _channel_location_changed()
RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
SET plan_cache_mode = force_custom_plan
-- (its sets are every item of the channels involved: in memory, no JIT; restored on
-- return: its sums turn nested loops off)
SET work_mem = '256MB'
SET enable_nestloop = on
SET jit = off
AS $$
DECLARE
    changed text[];
    places gln[];
    one text;
    k_items gtin[];
    k_locations gln[];
    s_channels text[];
    s_items gtin[];
    s_stocks numeric[];
BEGIN
    -- (a transition table exists only for the events that have it)
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.channel), array_agg(DISTINCT n.location) INTO changed, places FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT x.channel), array_agg(DISTINCT x.location) INTO changed, places
          FROM (SELECT n.channel, n.location FROM new_rows n UNION ALL SELECT o.channel, o.location FROM old_rows o) x;
    ELSE
        SELECT array_agg(DISTINCT o.channel), array_agg(DISTINCT o.location) INTO changed, places FROM old_rows o;
    END IF;
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM inventory_sync._pools_place();
    -- the channels whose locations changed, one after the other in name order
    FOREACH one IN ARRAY changed LOOP
        PERFORM inventory_sync._channel_atp_recompute(one, NULL, 'refresh');
    END LOOP;
    -- the pairs where pools were placed: their location ATP, and every channel selling
    -- there moved by the change
    SELECT array_agg(p.item ORDER BY p.item, p.location), array_agg(p.location ORDER BY p.item, p.location)
      INTO k_items, k_locations
      FROM (SELECT DISTINCT x.item, x.location FROM pg_temp.pool_place x) p;
    IF k_items IS NOT NULL THEN
        PERFORM inventory_sync._channel_atp_move(k_items, k_locations, NULL, NULL, 'refresh', NULL, NULL);
    END IF;
    -- summed again: each pooled channel's items that had a pool, and every item of another
    -- channel at the locations named whose "dedicated" changed; their sums in one grouped
    -- pass over their locations' stored ATP (a channel of a thousand locations and a
    -- thousand items sums a million), hash joins
    PERFORM set_config('enable_nestloop', 'off', true);
    WITH d AS MATERIALIZED (
             SELECT o.channel,
                    NOT EXISTS (SELECT FROM inventory_sync.channel_location a
                                  JOIN inventory_sync.channel_location b
                                    ON b.location = a.location AND b.channel <> a.channel
                                 WHERE a.channel = o.channel) AS dedicated
               FROM (SELECT DISTINCT cl.channel FROM inventory_sync.channel_location cl
                      WHERE cl.location = ANY (places) AND cl.channel <> ALL (changed)) o),
    r AS MATERIALIZED (
          SELECT s.channel, s.item_gtin FROM inventory_sync.channel_atp_state s
            JOIN d ON d.channel = s.channel
           WHERE s.dedicated <> d.dedicated
          UNION
          SELECT x.channel, x.item FROM pg_temp.pool_place x WHERE x.channel <> ALL (changed)),
    sm AS (SELECT r.channel, r.item_gtin, sum(greatest(la.atp, 0)) AS stock
             FROM r
             JOIN inventory_sync.channel c ON c.channel = r.channel
             JOIN inventory_sync.channel_location cl ON cl.channel = r.channel
             JOIN inventory_sync.location_atp la
               ON la.item_gtin = r.item_gtin AND la.location = cl.location AND la.min_shelf_life_days = c.min_shelf_life_days
            GROUP BY r.channel, r.item_gtin)
    SELECT array_agg(r.channel ORDER BY r.channel, r.item_gtin), array_agg(r.item_gtin ORDER BY r.channel, r.item_gtin),
           array_agg(coalesce(sm.stock, 0) ORDER BY r.channel, r.item_gtin)
      INTO s_channels, s_items, s_stocks
      FROM r LEFT JOIN sm ON sm.channel = r.channel AND sm.item_gtin = r.item_gtin;
    PERFORM set_config('enable_nestloop', 'on', true);
    IF s_channels IS NOT NULL THEN
        PERFORM inventory_sync._channel_atp_apply(s_channels, s_items, array_fill(0::numeric, ARRAY[cardinality(s_items)]),
                                                  array_fill(true, ARRAY[cardinality(s_items)]), s_stocks, 'refresh',
                                                  NULL, NULL);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _channel_location_changed() IS
  'Trigger: after a change of channel membership, places the pooled reservations of channels that now share a location (IS046 if one fits nowhere) and recomputes the location ATP and channel ATP the change can move, as set operations';

CREATE TRIGGER channel_location_10_lock BEFORE INSERT OR UPDATE OR DELETE ON channel_location
    FOR EACH STATEMENT EXECUTE FUNCTION _channel_location_lock();
-- (a transition table is given to a trigger of one event only: one trigger per event)
CREATE TRIGGER channel_location_20_atp_insert AFTER INSERT ON channel_location
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION _channel_location_changed();
CREATE TRIGGER channel_location_20_atp_update AFTER UPDATE ON channel_location
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION _channel_location_changed();
CREATE TRIGGER channel_location_20_atp_delete AFTER DELETE ON channel_location
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION _channel_location_changed();

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
