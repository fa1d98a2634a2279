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
    RETURN (SELECT a.eligible FROM _location_atp_of(ARRAY[$1], ARRAY[$2], ARRAY[coalesce($3, 0)]) a);
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

-- ATP at a set of (item, location, shelf-life rule) keys, in one statement (a posting
-- statement, a membership change or a refresh computes every key it touches at once):
--     max(eligible sellable on-hand - safety stock, 0) - reservations held there
--     - backorder shortfall
-- Safety stock keeps stock back but never makes ATP negative. The one place the rule of a
-- location's ATP is written; eligible_on_hand() and _location_atp() read it from here.
CREATE FUNCTION _location_atp_of(items gtin[], locations gln[], shelves integer[])
RETURNS TABLE (item_gtin gtin, location gln, min_shelf_life_days integer, eligible numeric, free numeric,
               atp numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    IF cardinality($1) > 10000 THEN
        -- many pairs (a membership change, a refresh): one pass over their balances, planned
        -- for this many (a hash join), not an index probe per pair
        RETURN QUERY EXECUTE $q$
        WITH k AS MATERIALIZED (
                 SELECT DISTINCT u.item, u.location, coalesce(u.shelf, 0) AS shelf
                   FROM unnest($1, $2, $3) AS u(item, location, shelf)
                  WHERE u.item IS NOT NULL AND u.location IS NOT NULL),
             e AS (SELECT k.item, k.location, k.shelf, sum(b.quantity) AS eligible
                     FROM k
                     JOIN inventory_sync.balance b ON b.item_gtin = k.item AND b.location = k.location
                     JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket AND bk.sellable
                     LEFT JOIN inventory_sync.lot l ON l.item_gtin = b.item_gtin AND l.lot = b.lot
                    WHERE l.expiry IS NULL OR l.expiry >= current_date + k.shelf
                    GROUP BY 1, 2, 3)
        SELECT k.item, k.location, k.shelf, f.eligible, f.free,
               f.free - coalesce(p.reserved, 0)
               -- (the pairs with backorders in one hashed set, not a probe per pair)
               - CASE WHEN (k.item, k.location) IN (SELECT v.item_gtin, v.location FROM inventory_sync.reservation v
                                                     WHERE v.status = 'open' AND v.promised_date IS NOT NULL
                                                       AND NOT v.fulfilling AND v.location IS NOT NULL)
                      THEN inventory_sync._backorder_shortfall(k.item, k.location) ELSE 0 END
          FROM k
          LEFT JOIN e ON e.item = k.item AND e.location = k.location AND e.shelf = k.shelf
          LEFT JOIN inventory_sync.safety_stock s ON s.item_gtin = k.item AND s.location = k.location
          CROSS JOIN LATERAL (SELECT coalesce(e.eligible, 0) AS eligible,
                                     greatest(coalesce(e.eligible, 0) - coalesce(s.quantity, 0), 0) AS free) f
          LEFT JOIN inventory_sync.promise_key p ON p.item_gtin = k.item AND p.location = k.location
        $q$ USING $1, $2, $3;
        RETURN;
    END IF;
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    SELECT k.item, k.location, k.shelf, f.eligible, f.free,
           f.free - coalesce(p.reserved, 0)
           - CASE WHEN EXISTS (SELECT FROM reservation v
                                WHERE v.item_gtin = k.item AND v.location = k.location AND v.status = 'open'
                                  AND v.promised_date IS NOT NULL AND NOT v.fulfilling)
                  THEN _backorder_shortfall(k.item, k.location) ELSE 0 END
      FROM (SELECT DISTINCT u.item, u.location, coalesce(u.shelf, 0) AS shelf
              FROM unnest($1, $2, $3) AS u(item, location, shelf)
             WHERE u.item IS NOT NULL AND u.location IS NOT NULL) k
      LEFT JOIN LATERAL (
           SELECT sum(b.quantity) AS eligible
             FROM balance b
             JOIN bucket bk ON bk.bucket = b.bucket AND bk.sellable
             LEFT JOIN lot l ON l.item_gtin = b.item_gtin AND l.lot = b.lot
            WHERE b.item_gtin = k.item AND b.location = k.location
              AND (l.expiry IS NULL OR l.expiry >= current_date + k.shelf)) e ON true
      LEFT JOIN safety_stock s ON s.item_gtin = k.item AND s.location = k.location
      CROSS JOIN LATERAL (SELECT coalesce(e.eligible, 0) AS eligible,
                                 greatest(coalesce(e.eligible, 0) - coalesce(s.quantity, 0), 0) AS free) f
      LEFT JOIN promise_key p ON p.item_gtin = k.item AND p.location = k.location;
END
$$;
COMMENT ON FUNCTION _location_atp_of(gtin[], gln[], integer[]) IS
  'Internal: eligible sellable on-hand, free stock (beyond safety stock, never below zero) and ATP (free stock less reservations held there and backorder shortfall) at each (item, location, minimum shelf life) given';

-- Free stock at a location: eligible sellable on-hand beyond its safety stock.
CREATE FUNCTION _location_free_stock(item gtin, location gln, min_shelf_life_days integer)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (SELECT a.free FROM _location_atp_of(ARRAY[$1], ARRAY[$2], ARRAY[coalesce($3, 0)]) a);
END
$$;
COMMENT ON FUNCTION _location_free_stock(gtin, gln, integer) IS
  'Internal: eligible sellable on-hand at a location beyond its safety stock, never below zero';

-- ATP at one location, as a channel sees it (shelf-life rule) when one is given.
CREATE FUNCTION _location_atp(item gtin, location gln, min_shelf_life_days integer)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (SELECT a.atp FROM _location_atp_of(ARRAY[$1], ARRAY[$2], ARRAY[coalesce($3, 0)]) a);
END
$$;
COMMENT ON FUNCTION _location_atp(gtin, gln, integer) IS
  'Internal: eligible sellable on-hand minus reservations held there minus safety stock minus backorder shortfall, at one location';

-- The location of a channel with the most ATP for an item, the first in the channel's
-- priority order among equals (or the one given): where a line held at one location goes,
-- and where a pooled reservation ships from. No row when the channel has no location.
CREATE FUNCTION _channel_best_location(channel text, item gtin, min_shelf_life_days integer, at_location gln)
RETURNS TABLE (location gln, atp numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    -- (as the channel sees it: other channels' protections there kept back)
    RETURN QUERY
    SELECT a.location, a.atp - _protected_from($1, $2, a.location) AS atp
      FROM (SELECT array_agg(cl.location) AS locations FROM channel_location cl
             WHERE cl.channel = $1 AND ($4 IS NULL OR cl.location = $4)) m,
           _location_atp_of(array_fill($2, ARRAY[cardinality(m.locations)]), m.locations,
                            array_fill(coalesce($3, 0), ARRAY[cardinality(m.locations)])) a
      JOIN channel_location cl ON cl.channel = $1 AND cl.location = a.location
     WHERE m.locations IS NOT NULL
     ORDER BY 2 DESC, cl.priority, cl.location
     LIMIT 1;
END
$$;
COMMENT ON FUNCTION _channel_best_location(text, gtin, integer, gln) IS
  'Internal: the location of a channel with the most ATP for an item as the channel sees it (other channels'' protections kept back; priority order among equals), or the one given, and that ATP';

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

-- What a channel's stock offers before its pooled reservations: the sum over its locations
-- of their ATP as it sees them (other channels' protections kept back; none below zero),
-- less the channel's safety stock, never below zero. NULL for an unknown channel.
CREATE FUNCTION _channel_stock_atp(channel text, item gtin)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT greatest(coalesce((SELECT sum(greatest(a.atp - _protected_from($1, $2, a.location), 0))
                                FROM (SELECT array_agg(cl.location) AS locations FROM channel_location cl
                                       WHERE cl.channel = c.channel) m,
                                     _location_atp_of(array_fill($2, ARRAY[cardinality(m.locations)]), m.locations,
                                                      array_fill(c.min_shelf_life_days, ARRAY[cardinality(m.locations)])) a
                               WHERE m.locations IS NOT NULL), 0)
                    - _channel_safety($1, $2), 0)
      FROM channel c WHERE c.channel = $1
    );
END
$$;
COMMENT ON FUNCTION _channel_stock_atp(text, gtin) IS
  'Internal: a channel''s ATP from its locations'' stock (other channels'' protections kept back) less its safety stock, before its pooled reservations';

-- The channel's ATP (not clamped: below zero when facts took promised stock), within the
-- room its cap leaves.
CREATE FUNCTION _channel_atp(channel text, item gtin)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (
    SELECT least(_channel_stock_atp($1, $2) - _channel_pool($1, $2), _channel_cap_room($1, $2))
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
    SELECT coalesce((SELECT _channel_stock_atp($1, $2) - a.atp
                       FROM channel_atp a
                       JOIN channel_atp_state s ON s.channel = a.channel AND s.item_gtin = a.item_gtin
                      WHERE a.channel = $1 AND a.item_gtin = $2 AND s.computed_on = current_date
                        AND NOT EXISTS (SELECT FROM channel_cap c WHERE c.channel = $1 AND c.item_gtin = $2)),
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
            -- what the channel can promise there: the location's ATP less what other
            -- channels' protections keep back there, within the channel's
            RETURN least(inventory_sync._location_atp(item, location, ch.min_shelf_life_days)
                         - inventory_sync._protected_from(channel, item, location),
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
               backorder_shortfall numeric, atp numeric, protected numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    SELECT cl.location,
           (SELECT coalesce(sum(b.quantity), 0) FROM balance b JOIN bucket bk ON bk.bucket = b.bucket AND bk.sellable
             WHERE b.item_gtin = $1 AND b.location = cl.location),
           eligible_on_hand($1, cl.location, c.min_shelf_life_days),
           coalesce((SELECT k.reserved FROM promise_key k WHERE k.item_gtin = $1 AND k.location = cl.location), 0),
           coalesce((SELECT s.quantity FROM inventory_sync.safety_stock s WHERE s.item_gtin = $1 AND s.location = cl.location), 0),
           _backorder_shortfall($1, cl.location),
           _location_atp($1, cl.location, c.min_shelf_life_days) - p.protected,
           p.protected
      FROM inventory_sync.channel_location cl JOIN inventory_sync.channel c ON c.channel = cl.channel
     CROSS JOIN LATERAL (SELECT _protected_from($2, $1, cl.location) AS protected) p
     WHERE cl.channel = $2
     ORDER BY cl.priority, cl.location;
END
$$;
COMMENT ON FUNCTION atp_detail(gtin, text) IS
  'How a channel''s ATP for an item is made up, location by location: atp is the location''s as the channel sees it, less protected (what other channels'' protections keep back there); pooled reservations, channel safety stock and a cap come off the sum';
