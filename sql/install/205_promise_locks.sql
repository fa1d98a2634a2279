-- since 0.2.0
-- ---------------------------------------------------------------------------
-- The lock order of the promise layer, and the functions that take locks in it.
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

-- Locks one channel ATP row, creating it (ATP 0, version 0) where missing: INSERT ... ON
-- CONFLICT DO NOTHING waits for a transaction that inserted or updated the row, exactly as
-- a row lock would, so creating it is a lock taken at that key. Returns the row as locked.
CREATE FUNCTION _channel_atp_lock_key(channel text, item gtin)
RETURNS channel_atp
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cur inventory_sync.channel_atp;
BEGIN
    SELECT * INTO cur FROM inventory_sync.channel_atp a
     WHERE a.channel = channel AND a.item_gtin = item FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO inventory_sync.channel_atp (channel, item_gtin, atp, version)
             VALUES (channel, item, 0, 0) ON CONFLICT DO NOTHING;
        SELECT * INTO cur FROM inventory_sync.channel_atp a
         WHERE a.channel = channel AND a.item_gtin = item FOR UPDATE;
    END IF;
    RETURN cur;
END
$$;
COMMENT ON FUNCTION _channel_atp_lock_key(text, gtin) IS
  'Internal: locks one channel ATP row, creating it where missing, and returns it (level 4 of the lock order of docs/reference/promises.md)';

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
        PERFORM inventory_sync._channel_atp_lock_key(k.channel, k.item);
    END LOOP;
END
$$;
COMMENT ON FUNCTION _channel_atp_lock(text[], gtin[]) IS
  'Internal: locks the channel ATP rows of the given (channel, item) pairs one at a time in (channel, item) order, creating missing ones in place (the lock order of docs/reference/promises.md)';
