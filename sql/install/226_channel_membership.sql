-- since 0.2.0
-- ---------------------------------------------------------------------------
-- What the promise layer does when master data it rests on changes: a channel's
-- membership (below), a channel's deletion or renaming, an item's deletion.
--
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
        SELECT b.location, b.atp INTO best
          FROM inventory_sync.channel c,
               inventory_sync._channel_best_location(v.channel, v.item_gtin, c.min_shelf_life_days, NULL) b
         WHERE c.channel = v.channel;
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
