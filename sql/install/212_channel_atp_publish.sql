-- since 0.2.0
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

CREATE FUNCTION _channel_atp_publish(channel text, item gtin, cause text, posting_id bigint, reservation_id bigint,
                                     OUT atp numeric, OUT version bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cur inventory_sync.channel_atp;
BEGIN
    cur := inventory_sync._channel_atp_lock_key(channel, item);
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
