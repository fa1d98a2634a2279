-- since 0.2.0
-- ---------------------------------------------------------------------------
-- The reservation lifecycle: every resolution locks the open reservation first (exactly
-- one wins), then closes it; its open quantity returns to ATP. Cancel, expire, and the
-- expiry sweep.
-- ---------------------------------------------------------------------------

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
    -- The location's promise key, a backorder's too: closing it rewrites the location's ATP
    -- (_reservation_record), which only the key's holder may do, before the channel ATP
    -- rows; without the key it would meet a reservation there holding the key and those
    -- rows and waiting for the location ATP row (a deadlock).
    IF r.location IS NOT NULL AND r.promised_date IS NOT NULL THEN   -- (created where missing)
        PERFORM inventory_sync._promise_keys_lock(ARRAY[r.item_gtin], ARRAY[r.location]);
    ELSIF r.location IS NOT NULL THEN
        PERFORM 1 FROM inventory_sync.promise_key k
          WHERE k.item_gtin = r.item_gtin AND k.location = r.location FOR UPDATE;
    END IF;
    IF r.location IS NOT NULL AND r.promised_date IS NULL AND NOT r.fulfilling THEN   -- (fulfil released it already)
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
    -- before any row: a membership change (EXCLUSIVE on channel) waits for it
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
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
    -- before any row: a membership change (EXCLUSIVE on channel) waits for it
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
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
    -- before any row: a membership change (EXCLUSIVE on channel) waits for it
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
    -- reservations another transaction is resolving right now are skipped, not waited for
    SELECT array_agg(v.reservation_id ORDER BY v.reservation_id) INTO due
      FROM (SELECT v.reservation_id FROM inventory_sync.reservation v
             WHERE v.status = 'open' AND v.expires_at <= coalesce(as_of, now())
             ORDER BY v.reservation_id FOR UPDATE SKIP LOCKED) v;
    IF due IS NULL THEN
        RETURN 0;
    END IF;
    -- Every other lock of every expiry, up front and in the global order (the lock order
    -- of docs/reference/promises.md): the promise keys they are held at (a backorder's
    -- too: closing it rewrites its location's ATP), then the channel ATP rows they move
    -- (their own channel's, and those of every channel selling from their location). Locking them expiry by expiry would hold one expiry's channel ATP
    -- while waiting for the next one's promise key: a cycle with any promise in between.
    PERFORM inventory_sync._promise_keys_lock(array_agg(v.item_gtin), array_agg(v.location))
       FROM inventory_sync.reservation v
      WHERE v.reservation_id = ANY (due) AND v.location IS NOT NULL AND NOT v.fulfilling;
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
