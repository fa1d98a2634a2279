-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Available-to-promise, reservations, FEFO fulfilment, time-phased ATP.
-- ---------------------------------------------------------------------------

-- Sellable on-hand of an item at a location, leaving out lots that are expired or expire
-- within min_shelf_life_days of today.
CREATE FUNCTION eligible_on_hand(item gtin, location gln, min_shelf_life_days integer DEFAULT 0)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync
AS $$
    SELECT coalesce(sum(b.quantity), 0)
      FROM balance b
      JOIN bucket bk ON bk.bucket = b.bucket AND bk.sellable
      LEFT JOIN lot l ON l.item_gtin = b.item_gtin AND l.lot = b.lot
     WHERE b.item_gtin = $1 AND b.location = $2
       AND (l.expiry IS NULL OR l.expiry >= current_date + coalesce($3, 0))
$$;
COMMENT ON FUNCTION eligible_on_hand(gtin, gln, integer) IS
  'Sellable on-hand of an item at a location, without expired lots and lots expiring within the given number of days';

-- ATP at one location, as a channel sees it (shelf-life rule) when one is given.
CREATE FUNCTION _location_atp(item gtin, location gln, min_shelf_life_days integer)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync
AS $$
    SELECT eligible_on_hand($1, $2, $3)
           - coalesce((SELECT k.reserved FROM promise_key k WHERE k.item_gtin = $1 AND k.location = $2), 0)
           - coalesce((SELECT s.quantity FROM safety_stock s WHERE s.item_gtin = $1 AND s.location = $2), 0)
$$;
COMMENT ON FUNCTION _location_atp(gtin, gln, integer) IS
  'Internal: eligible sellable on-hand minus open reservations minus safety stock at one location';

CREATE FUNCTION _channel_safety(channel text, item gtin)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync
AS $$
    SELECT coalesce((SELECT s.quantity FROM channel_safety_stock s WHERE s.channel = $1 AND s.item_gtin = $2),
                    (SELECT c.safety_stock FROM channel c WHERE c.channel = $1), 0)
$$;
COMMENT ON FUNCTION _channel_safety(text, gtin) IS 'Internal: the safety stock a channel keeps back for an item';

CREATE FUNCTION atp(item gtin, location gln DEFAULT NULL, channel text DEFAULT NULL)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    ch inventory_sync.channel;
    total numeric := 0;
BEGIN
    IF NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = item) THEN
        RAISE EXCEPTION 'unknown item: gtin %', item USING ERRCODE = '23503';
    END IF;
    IF location IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.location l WHERE l.gln = location) THEN
        RAISE EXCEPTION 'unknown location: gln %', location USING ERRCODE = '23503';
    END IF;
    IF channel IS NOT NULL THEN
        SELECT * INTO ch FROM inventory_sync.channel c WHERE c.channel = channel;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown channel "%"', channel USING ERRCODE = '23503';
        END IF;
        IF location IS NOT NULL THEN
            IF NOT EXISTS (SELECT FROM inventory_sync.channel_location cl
                            WHERE cl.channel = channel AND cl.location = location) THEN
                RAISE EXCEPTION 'location % is not a location of channel "%"', location, channel
                      USING ERRCODE = 'IS043',
                            HINT = 'The channel sells from the locations in inventory_sync.channel_location.';
            END IF;
            RETURN inventory_sync._location_atp(item, location, ch.min_shelf_life_days);
        END IF;
        SELECT coalesce(sum(greatest(inventory_sync._location_atp(item, cl.location, ch.min_shelf_life_days), 0)), 0)
          INTO total
          FROM inventory_sync.channel_location cl WHERE cl.channel = channel;
        RETURN greatest(total - inventory_sync._channel_safety(channel, item), 0);
    END IF;
    IF location IS NOT NULL THEN
        RETURN inventory_sync._location_atp(item, location, 0);
    END IF;
    -- the whole network: every location that holds stock of its own
    SELECT coalesce(sum(greatest(inventory_sync._location_atp(item, l.gln, 0), 0)), 0) INTO total
      FROM inventory_sync.location l
     WHERE l.kind IN ('warehouse', 'store', 'plant');
    RETURN total;
END
$$;
COMMENT ON FUNCTION atp(gtin, gln, text) IS
  'Available-to-promise: sellable on-hand - open reservations - safety stock, without expired lots; at a location, for a channel (its locations, shelf-life rule and safety stock), or network-wide';

CREATE FUNCTION atp_detail(item gtin, channel text)
RETURNS TABLE (location gln, on_hand numeric, eligible numeric, reserved numeric, safety_stock numeric, atp numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync
AS $$
    SELECT cl.location,
           (SELECT coalesce(sum(b.quantity), 0) FROM balance b JOIN bucket bk ON bk.bucket = b.bucket AND bk.sellable
             WHERE b.item_gtin = $1 AND b.location = cl.location),
           eligible_on_hand($1, cl.location, c.min_shelf_life_days),
           coalesce((SELECT k.reserved FROM promise_key k WHERE k.item_gtin = $1 AND k.location = cl.location), 0),
           coalesce((SELECT s.quantity FROM safety_stock s WHERE s.item_gtin = $1 AND s.location = cl.location), 0),
           _location_atp($1, cl.location, c.min_shelf_life_days)
      FROM channel_location cl JOIN channel c ON c.channel = cl.channel
     WHERE cl.channel = $2
     ORDER BY cl.priority, cl.location
$$;
COMMENT ON FUNCTION atp_detail(gtin, text) IS 'How a channel''s ATP for an item is made up, location by location';

-- ---------------------------------------------------------------------------
-- Channel ATP as published state: channel_atp + channel_atp_change.
-- ---------------------------------------------------------------------------
CREATE FUNCTION _channel_atp_publish(channel text, item gtin, cause text, posting_id bigint, reservation_id bigint,
                                     OUT atp numeric, OUT version bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    cur inventory_sync.channel_atp;
BEGIN
    INSERT INTO inventory_sync.channel_atp AS a (channel, item_gtin, atp, version)
         VALUES (channel, item, 0, 0) ON CONFLICT DO NOTHING;
    SELECT * INTO cur FROM inventory_sync.channel_atp a
     WHERE a.channel = channel AND a.item_gtin = item FOR UPDATE;
    atp := inventory_sync.atp(item, NULL, channel);
    IF atp = cur.atp AND cur.version > 0 THEN
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
  'Internal: recomputes a channel''s ATP for an item and, when it changed, bumps its version and records the change';

CREATE FUNCTION _channel_atp_refresh(items gtin[], locations gln[], posting_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync
AS $$
DECLARE
    k record;
BEGIN
    -- in (channel, item) order, the order every writer of channel_atp locks in
    FOR k IN SELECT DISTINCT cl.channel, i.item
               FROM unnest(items, locations) AS i(item, location)
               JOIN inventory_sync.channel_location cl ON cl.location = i.location
              ORDER BY 1, 2
    LOOP
        PERFORM inventory_sync._channel_atp_publish(k.channel, k.item, 'posting', posting_id, NULL);
    END LOOP;
END
$$;
COMMENT ON FUNCTION _channel_atp_refresh(gtin[], gln[], bigint) IS
  'Internal (called by the posting engine): republishes the ATP of every channel selling from the locations whose sellable stock a statement changed';

CREATE FUNCTION refresh_channel_atp(channel text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync
AS $$
#variable_conflict use_variable
DECLARE
    k record;
    before bigint;
    n integer := 0;
    v record;
BEGIN
    FOR k IN SELECT DISTINCT cl.channel, b.item_gtin
               FROM inventory_sync.channel_location cl
               JOIN inventory_sync.balance b ON b.location = cl.location
              WHERE channel IS NULL OR cl.channel = channel
             UNION
             SELECT a.channel, a.item_gtin FROM inventory_sync.channel_atp a
              WHERE channel IS NULL OR a.channel = channel
              ORDER BY 1, 2
    LOOP
        SELECT a.version INTO before FROM inventory_sync.channel_atp a
         WHERE a.channel = k.channel AND a.item_gtin = k.item_gtin;
        v := inventory_sync._channel_atp_publish(k.channel, k.item_gtin, 'refresh', NULL, NULL);
        IF before IS DISTINCT FROM v.version THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION refresh_channel_atp(text) IS
  'Republishes channel ATP where it changed without a posting or reservation (lots passing their shelf-life limit, safety-stock or channel changes); returns the number of changes. Schedule it daily, e.g. with pg_cron';
