-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Available-to-promise: at a location, for a channel, network-wide; expected supply;
-- channel ATP published with versions (channel_atp, channel_atp_change) and kept exact
-- when any of its inputs changes.
--
-- At a location (as a channel with a minimum remaining shelf life sees it):
--     max(eligible sellable on-hand - safety stock, 0) - reservations held there
--     - backorder shortfall (backorders placed there that the expected supply by their
--       promised dates does not cover take on-hand: APICS backward consumption)
-- For a channel:
--     max(sum over its locations of max(location ATP, 0) - channel safety stock, 0)
--     - its pooled reservations (anywhere in a dedicated channel)
-- Safety stock keeps stock back but never makes ATP negative; ATP below zero always
-- means promises exceed what is there (a fact, such as a sale at the till, took it).
-- Network-wide: sum over stock-holding locations of max(location ATP, 0) - every pool.
-- A location's shortfall is its own: it never takes ATP from another location.
-- ---------------------------------------------------------------------------

-- Sellable on-hand of an item at a location, leaving out lots that are expired or expire
-- within min_shelf_life_days of today.
CREATE FUNCTION eligible_on_hand(item gtin, location gln, min_shelf_life_days integer DEFAULT 0)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT coalesce(sum(b.quantity), 0)
      FROM balance b
      JOIN bucket bk ON bk.bucket = b.bucket AND bk.sellable
      LEFT JOIN lot l ON l.item_gtin = b.item_gtin AND l.lot = b.lot
     WHERE b.item_gtin = $1 AND b.location = $2
       AND (l.expiry IS NULL OR l.expiry >= current_date + coalesce($3, 0))
    );
END
$$;
COMMENT ON FUNCTION eligible_on_hand(gtin, gln, integer) IS
  'Sellable on-hand of an item at a location, without expired lots and lots expiring within the given number of days';

-- Expected receipts of an item at a location: open purchase and production orders
-- (supply), and stock in transit to it (an in-transit location routed there by
-- transit_route), dated by the ETA of the transfer_out postings that put it in transit
-- (the latest ones are still on the way). A date already past counts as today.
CREATE FUNCTION expected_supply(item gtin, location gln)
RETURNS TABLE (due_date date, quantity numeric, kind text, reference text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    SELECT greatest(s.due_date, current_date), s.quantity, s.kind, s.reference
      FROM supply s
     WHERE s.item_gtin = $1 AND s.location = $2
    UNION ALL
    (WITH in_transit AS (
         SELECT r.in_transit, b.balance_id, b.quantity AS total
           FROM transit_route r
           JOIN balance b ON b.location = r.in_transit AND b.item_gtin = $1 AND b.quantity > 0
          WHERE r.destination = $2),
     sent AS (
         SELECT t.in_transit, t.total, l.eta, c.delta AS q, l.source_event_id,
                sum(c.delta) OVER (PARTITION BY t.balance_id ORDER BY c.posting_id DESC) AS upto
           FROM in_transit t
           JOIN balance_change c ON c.balance_id = t.balance_id AND c.kind = 'transfer_out' AND c.delta > 0
           JOIN ledger l ON l.posting_id = c.posting_id)
     SELECT greatest(coalesce((s.eta AT TIME ZONE current_setting('TimeZone'))::date, current_date), current_date),
            least(s.q, s.total - (s.upto - s.q)), 'in_transit', s.source_event_id
       FROM sent s
      WHERE s.upto - s.q < s.total
     UNION ALL
     -- stock in transit that no transfer_out accounts for: expected now
     SELECT current_date, t.total - coalesce(sum(c.delta), 0), 'in_transit', t.in_transit::text
       FROM in_transit t
       LEFT JOIN balance_change c ON c.balance_id = t.balance_id AND c.kind = 'transfer_out' AND c.delta > 0
      GROUP BY t.in_transit, t.balance_id, t.total
     HAVING t.total > coalesce(sum(c.delta), 0));
END
$$;
COMMENT ON FUNCTION expected_supply(gtin, gln) IS
  'Expected receipts of an item at a location by date: purchase and production orders (supply) and stock in transit to it (transit_route), dated by ETA';

-- Backorders placed at a location whose promised dates the expected supply there does not
-- cover: the uncovered part is taken from on-hand (APICS backward consumption).
CREATE FUNCTION _backorder_shortfall(item gtin, location gln)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT CASE
      WHEN NOT EXISTS (SELECT FROM reservation v
                        WHERE v.item_gtin = $1 AND v.location = $2 AND v.status = 'open'
                          AND v.promised_date IS NOT NULL AND NOT v.fulfilling) THEN 0
      ELSE (SELECT greatest(0, -min(e.cum))
              FROM (SELECT sum(sum(x.q)) OVER (ORDER BY x.d) AS cum
                      FROM (SELECT s.due_date AS d, s.quantity AS q FROM expected_supply($1, $2) s
                            UNION ALL
                            SELECT greatest(v.promised_date, current_date), -v.open_quantity
                              FROM reservation v
                             WHERE v.item_gtin = $1 AND v.location = $2 AND v.status = 'open'
                               AND v.promised_date IS NOT NULL AND NOT v.fulfilling) x
                     GROUP BY x.d) e)
    END
    );
END
$$;
COMMENT ON FUNCTION _backorder_shortfall(gtin, gln) IS
  'Internal: what backorders placed at a location take from its on-hand because expected supply by their promised dates falls short';

-- ATP at one location, as a channel sees it (shelf-life rule) when one is given.
CREATE FUNCTION _location_atp(item gtin, location gln, min_shelf_life_days integer)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT greatest(eligible_on_hand($1, $2, $3)
                    - coalesce((SELECT s.quantity FROM safety_stock s WHERE s.item_gtin = $1 AND s.location = $2), 0), 0)
           - coalesce((SELECT k.reserved FROM promise_key k WHERE k.item_gtin = $1 AND k.location = $2), 0)
           - _backorder_shortfall($1, $2)
    );
END
$$;
COMMENT ON FUNCTION _location_atp(gtin, gln, integer) IS
  'Internal: eligible sellable on-hand minus reservations held there minus safety stock minus backorder shortfall, at one location';

CREATE FUNCTION _channel_safety(channel text, item gtin)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT coalesce((SELECT s.quantity FROM channel_safety_stock s WHERE s.channel = $1 AND s.item_gtin = $2),
                    (SELECT c.safety_stock FROM channel c WHERE c.channel = $1), 0)
    );
END
$$;
COMMENT ON FUNCTION _channel_safety(text, gtin) IS 'Internal: the safety stock a channel keeps back for an item';

CREATE FUNCTION _channel_pool(channel text, item gtin)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT coalesce(sum(v.open_quantity), 0) FROM reservation v
     WHERE v.channel = $1 AND v.item_gtin = $2 AND v.status = 'open' AND v.location IS NULL
       AND NOT v.fulfilling
    );
END
$$;
COMMENT ON FUNCTION _channel_pool(text, gtin) IS
  'Internal: open pooled reservations of a channel for an item (anywhere in a dedicated channel)';

CREATE FUNCTION channel_is_dedicated(channel text)
RETURNS boolean
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT NOT EXISTS (SELECT FROM channel_location a
                         JOIN channel_location b ON b.location = a.location AND b.channel <> a.channel
                        WHERE a.channel = $1)
    );
END
$$;
COMMENT ON FUNCTION channel_is_dedicated(text) IS
  'True when no other channel sells from any of the channel''s locations: its anywhere reservations are pooled, and reserving locks one row';

-- The channel's ATP (not clamped: below zero when facts took promised stock).
CREATE FUNCTION _channel_atp(channel text, item gtin)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT greatest(coalesce((SELECT sum(greatest(_location_atp($2, cl.location, c.min_shelf_life_days), 0))
                                FROM channel_location cl WHERE cl.channel = c.channel), 0)
                    - _channel_safety($1, $2), 0)
           - _channel_pool($1, $2)
      FROM channel c WHERE c.channel = $1
    );
END
$$;
COMMENT ON FUNCTION _channel_atp(text, gtin) IS
  'Internal: a channel''s ATP computed from its inputs (what channel_atp holds)';

-- Reading ATP: the published value is exact (every change of an input republishes it in
-- the same transaction) as long as it was computed today; it is read instead of summing
-- every open pooled reservation.
CREATE FUNCTION _channel_atp_now(channel text, item gtin)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT coalesce((SELECT a.atp FROM channel_atp a
                       JOIN channel_atp_state s ON s.channel = a.channel AND s.item_gtin = a.item_gtin
                      WHERE a.channel = $1 AND a.item_gtin = $2 AND s.computed_on = current_date),
                    _channel_atp($1, $2))
    );
END
$$;
COMMENT ON FUNCTION _channel_atp_now(text, gtin) IS
  'Internal: a channel''s ATP, read from channel_atp when it was computed today, else computed';

-- A channel's pooled reservations as of now: what the published ATP holds back beyond
-- its stock (computed today), else their sum.
CREATE FUNCTION _channel_pool_now(channel text, item gtin)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT coalesce((SELECT greatest(coalesce((SELECT sum(greatest(_location_atp($2, cl.location, c.min_shelf_life_days), 0))
                                                 FROM channel_location cl WHERE cl.channel = c.channel), 0)
                                     - _channel_safety($1, $2), 0) - a.atp
                       FROM channel c
                       JOIN channel_atp a ON a.channel = c.channel AND a.item_gtin = $2
                       JOIN channel_atp_state s ON s.channel = a.channel AND s.item_gtin = a.item_gtin
                      WHERE c.channel = $1 AND s.computed_on = current_date),
                    _channel_pool($1, $2))
    );
END
$$;
COMMENT ON FUNCTION _channel_pool_now(text, gtin) IS
  'Internal: open pooled reservations of a channel for an item, from its published ATP when computed today';

CREATE FUNCTION atp(item gtin, location gln DEFAULT NULL, channel text DEFAULT NULL)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ch inventory_sync.channel;
    loc_atp numeric;
    pooled record;
BEGIN
    IF item IS NULL THEN
        RAISE EXCEPTION 'atp() needs an item' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = item) THEN
        RAISE EXCEPTION 'unknown item: gtin %', item USING ERRCODE = '23503';
    END IF;
    IF location IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.location l WHERE l.gln = location) THEN
        RAISE EXCEPTION 'unknown location: gln %', location USING ERRCODE = '23503';
    END IF;
    IF channel IS NOT NULL THEN
        SELECT * INTO ch FROM inventory_sync.channel c WHERE c.channel = channel;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown channel "%"', channel USING ERRCODE = '23503',
                  HINT = 'Channels are listed in inventory_sync.channel.';
        END IF;
        IF location IS NOT NULL THEN
            IF NOT EXISTS (SELECT FROM inventory_sync.channel_location cl
                            WHERE cl.channel = channel AND cl.location = location) THEN
                RAISE EXCEPTION 'location % is not a location of channel "%"', location, channel
                      USING ERRCODE = 'IS043',
                            HINT = 'The channel sells from the locations in inventory_sync.channel_location.';
            END IF;
            -- what the channel can promise there: the location's ATP, within the channel's
            RETURN least(inventory_sync._location_atp(item, location, ch.min_shelf_life_days),
                         inventory_sync._channel_atp_now(channel, item));
        END IF;
        RETURN inventory_sync._channel_atp_now(channel, item);
    END IF;
    IF location IS NOT NULL THEN
        loc_atp := inventory_sync._location_atp(item, location, 0);
        -- a pool of the (dedicated) channel selling from here may need this location's stock
        SELECT c.channel, c.min_shelf_life_days, inventory_sync._channel_pool_now(c.channel, item) AS pool
          INTO pooled
          FROM inventory_sync.channel_location cl JOIN inventory_sync.channel c ON c.channel = cl.channel
         WHERE cl.location = location AND inventory_sync.channel_is_dedicated(c.channel);
        IF FOUND AND pooled.pool > 0 THEN
            loc_atp := least(loc_atp,
                             (SELECT sum(greatest(inventory_sync._location_atp(item, cl.location, pooled.min_shelf_life_days), 0))
                                FROM inventory_sync.channel_location cl WHERE cl.channel = pooled.channel)
                             - pooled.pool);
        END IF;
        RETURN loc_atp;
    END IF;
    -- the whole network: every location that holds stock of its own, less every pool
    RETURN coalesce((SELECT sum(greatest(inventory_sync._location_atp(item, l.gln, 0), 0))
                       FROM inventory_sync.location l WHERE l.kind IN ('warehouse', 'store', 'plant')), 0)
           - coalesce((SELECT sum(inventory_sync._channel_pool_now(p.channel, item))
                         FROM (SELECT c.channel FROM inventory_sync.channel c
                                WHERE inventory_sync.channel_is_dedicated(c.channel)) p), 0);
END
$$;
COMMENT ON FUNCTION atp(gtin, gln, text) IS
  'Available-to-promise: sellable on-hand - open reservations - safety stock, without expired lots; at a location, for a channel (its locations, shelf-life rule and safety stock), at a location as a channel sees it, or network-wide';

CREATE FUNCTION atp_detail(item gtin, channel text)
RETURNS TABLE (location gln, on_hand numeric, eligible numeric, reserved numeric, safety_stock numeric,
               backorder_shortfall numeric, atp numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT cl.location,
           (SELECT coalesce(sum(b.quantity), 0) FROM balance b JOIN bucket bk ON bk.bucket = b.bucket AND bk.sellable
             WHERE b.item_gtin = $1 AND b.location = cl.location),
           eligible_on_hand($1, cl.location, c.min_shelf_life_days),
           coalesce((SELECT k.reserved FROM promise_key k WHERE k.item_gtin = $1 AND k.location = cl.location), 0),
           coalesce((SELECT s.quantity FROM safety_stock s WHERE s.item_gtin = $1 AND s.location = cl.location), 0),
           _backorder_shortfall($1, cl.location),
           _location_atp($1, cl.location, c.min_shelf_life_days)
      FROM channel_location cl JOIN channel c ON c.channel = cl.channel
     WHERE cl.channel = $2
     ORDER BY cl.priority, cl.location
$$;
COMMENT ON FUNCTION atp_detail(gtin, text) IS
  'How a channel''s ATP for an item is made up, location by location (pooled reservations and channel safety stock come off the sum)';

-- ---------------------------------------------------------------------------
-- Channel ATP as published state: channel_atp + its history (channel_atp_change, and
-- reservation_change rows with atp_before: see channel_atp_history).
--
-- Lock order (docs/reference/promises.md, "Lock order"): every call takes its
-- channel_atp rows after its reservation, promise_key and balance rows, one key at a
-- time in (channel, item) order, creating a missing row at its place in that order
-- (INSERT ... ON CONFLICT DO NOTHING waits for a transaction that inserted or updated
-- the row, exactly as a row lock would: it is a lock taken at that key).
-- ---------------------------------------------------------------------------

-- Locks (creating where missing) the channel ATP rows of the given (channel, item) pairs,
-- one at a time in (channel, item) order: for a call that would otherwise lock them as it
-- goes, interleaved with other locks (the expiry sweep, a reservation's channels).
CREATE FUNCTION _channel_atp_lock(channels text[], items gtin[])
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    k record;
BEGIN
    FOR k IN SELECT DISTINCT u.channel, u.item FROM unnest(channels, items) AS u(channel, item)
              WHERE u.channel IS NOT NULL AND u.item IS NOT NULL
              ORDER BY 1, 2
    LOOP
        PERFORM 1 FROM inventory_sync.channel_atp a
          WHERE a.channel = k.channel AND a.item_gtin = k.item FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO inventory_sync.channel_atp (channel, item_gtin, atp, version)
                 VALUES (k.channel, k.item, 0, 0) ON CONFLICT DO NOTHING;
            PERFORM 1 FROM inventory_sync.channel_atp a
              WHERE a.channel = k.channel AND a.item_gtin = k.item FOR UPDATE;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION _channel_atp_lock(text[], gtin[]) IS
  'Internal: locks the channel ATP rows of the given (channel, item) pairs one at a time in (channel, item) order, creating missing ones in place (the lock order of docs/reference/promises.md)';
CREATE FUNCTION _channel_atp_publish(channel text, item gtin, cause text, posting_id bigint, reservation_id bigint,
                                     OUT atp numeric, OUT version bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cur inventory_sync.channel_atp;
BEGIN
    INSERT INTO inventory_sync.channel_atp AS a (channel, item_gtin, atp, version)
         VALUES (channel, item, 0, 0) ON CONFLICT DO NOTHING;
    SELECT * INTO cur FROM inventory_sync.channel_atp a
     WHERE a.channel = channel AND a.item_gtin = item FOR UPDATE;
    -- read after the lock: a statement started now sees every change committed before it
    atp := inventory_sync._channel_atp(channel, item);
    INSERT INTO inventory_sync.channel_atp_state AS s (channel, item_gtin, computed_on, dedicated)
         VALUES (channel, item, current_date, inventory_sync.channel_is_dedicated(channel))
    ON CONFLICT ON CONSTRAINT channel_atp_state_pkey
    DO UPDATE SET computed_on = excluded.computed_on, dedicated = excluded.dedicated
         WHERE (s.computed_on, s.dedicated) IS DISTINCT FROM (excluded.computed_on, excluded.dedicated);
    -- no change, no row and no new version: version counts changes of ATP, and a new
    -- row starts at ATP 0, version 0 (a first publication of 0 changes nothing)
    IF atp = cur.atp THEN
        version := cur.version;
        RETURN;
    END IF;
    version := cur.version + 1;
    UPDATE inventory_sync.channel_atp a SET atp = atp, version = version, updated_at = now()
     WHERE a.channel = channel AND a.item_gtin = item;
    INSERT INTO inventory_sync.channel_atp_change (channel, item_gtin, atp_before, atp_after, version, cause,
                                                   posting_id, reservation_id)
         VALUES (channel, item, cur.atp, atp, version, cause, posting_id, reservation_id);
END
$$;
COMMENT ON FUNCTION _channel_atp_publish(text, gtin, text, bigint, bigint) IS
  'Internal: recomputes a channel''s ATP for an item under its row lock and, when it changed, bumps its version and records the change';

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

-- Locations whose stock changes the expected supply elsewhere: an in-transit location
-- counts for the destination it is routed to.
CREATE FUNCTION _channel_atp_refresh(items gtin[], locations gln[], posting_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    k record;
BEGIN
    -- in (channel, item) order, the order every writer of channel_atp locks in
    FOR k IN SELECT DISTINCT cl.channel, i.item
               FROM unnest(items, locations) AS i(item, location)
               LEFT JOIN inventory_sync.transit_route r ON r.in_transit = i.location
               JOIN inventory_sync.channel_location cl ON cl.location IN (i.location, r.destination)
              ORDER BY 1, 2
    LOOP
        PERFORM inventory_sync._channel_atp_publish(k.channel, k.item, 'posting', posting_id, NULL);
    END LOOP;
END
$$;
COMMENT ON FUNCTION _channel_atp_refresh(gtin[], gln[], bigint) IS
  'Internal (called by the posting engine): republishes the ATP of every channel selling from (or expecting transit stock at) the locations whose stock a statement changed';

CREATE FUNCTION refresh_channel_atp(channel text DEFAULT NULL, item gtin DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    k record;
    before bigint;
    n integer := 0;
    pub record;
BEGIN
    FOR k IN SELECT DISTINCT cl.channel, b.item_gtin
               FROM inventory_sync.channel_location cl
               JOIN inventory_sync.balance b ON b.location = cl.location
              WHERE (channel IS NULL OR cl.channel = channel) AND (item IS NULL OR b.item_gtin = item)
             UNION
             SELECT a.channel, a.item_gtin FROM inventory_sync.channel_atp a
               JOIN inventory_sync.channel c ON c.channel = a.channel
              WHERE (channel IS NULL OR a.channel = channel) AND (item IS NULL OR a.item_gtin = item)
             UNION
             SELECT v.channel, v.item_gtin FROM inventory_sync.reservation v
              WHERE v.status = 'open' AND (channel IS NULL OR v.channel = channel) AND (item IS NULL OR v.item_gtin = item)
              ORDER BY 1, 2
    LOOP
        SELECT a.version INTO before FROM inventory_sync.channel_atp a
         WHERE a.channel = k.channel AND a.item_gtin = k.item_gtin;
        pub := inventory_sync._channel_atp_publish(k.channel, k.item_gtin, 'refresh', NULL, NULL);
        IF before IS DISTINCT FROM pub.version THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
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
        PERFORM inventory_sync.refresh_channel_atp();
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN rows := rows || to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN rows := rows || to_jsonb(NEW); END IF;
    FOREACH j IN ARRAY rows LOOP
        CASE TG_TABLE_NAME
        WHEN 'channel' THEN
            IF EXISTS (SELECT FROM inventory_sync.channel c WHERE c.channel = j->>'channel') THEN
                PERFORM inventory_sync.refresh_channel_atp(j->>'channel');
            END IF;
        WHEN 'channel_safety_stock' THEN
            IF EXISTS (SELECT FROM inventory_sync.channel c WHERE c.channel = j->>'channel') THEN
                PERFORM inventory_sync._channel_atp_publish(j->>'channel', (j->>'item_gtin')::inventory_sync.gtin,
                                                            'refresh', NULL, NULL);
            END IF;
        WHEN 'lot' THEN
            PERFORM inventory_sync.refresh_channel_atp(NULL, (j->>'item_gtin')::inventory_sync.gtin);
        WHEN 'transit_route' THEN
            FOR k IN SELECT DISTINCT cl.channel FROM inventory_sync.channel_location cl
                      WHERE cl.location = (j->>'destination')::inventory_sync.gln ORDER BY 1 LOOP
                PERFORM inventory_sync.refresh_channel_atp(k.channel);
            END LOOP;
        ELSE    -- safety_stock, supply: one item at one location
            FOR k IN SELECT DISTINCT cl.channel FROM inventory_sync.channel_location cl
                      WHERE cl.location = (j->>'location')::inventory_sync.gln ORDER BY 1 LOOP
                PERFORM inventory_sync._channel_atp_publish(k.channel, (j->>'item_gtin')::inventory_sync.gtin,
                                                            'refresh', NULL, NULL);
            END LOOP;
        END CASE;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _promise_input_changed() IS
  'Trigger: republishes the channel ATP an input change affects (safety stock, channel rules, lot expiry, expected supply, transit routes, buckets)';

CREATE TRIGGER safety_stock_atp AFTER INSERT OR UPDATE OR DELETE ON safety_stock
    FOR EACH ROW EXECUTE FUNCTION _promise_input_changed();
CREATE TRIGGER channel_safety_stock_atp AFTER INSERT OR UPDATE OR DELETE ON channel_safety_stock
    FOR EACH ROW EXECUTE FUNCTION _promise_input_changed();
CREATE TRIGGER channel_atp_rules AFTER UPDATE OF safety_stock, min_shelf_life_days ON channel
    FOR EACH ROW EXECUTE FUNCTION _promise_input_changed();
CREATE TRIGGER supply_atp AFTER INSERT OR UPDATE OR DELETE ON supply
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
