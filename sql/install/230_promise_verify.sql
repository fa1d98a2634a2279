-- since 0.2.0
-- ---------------------------------------------------------------------------
-- verify_promises(): the promise layer's invariants, recomputed from scratch; zero rows
-- when every published number agrees with what it is made of (like verify() for the
-- ledger). The tests run it after every concurrent scenario.
-- ---------------------------------------------------------------------------
CREATE FUNCTION verify_promises()
RETURNS TABLE (problem text, channel text, item_gtin gtin, location gln, reservation_id bigint,
               published numeric, recomputed numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    -- (a) published channel ATP = its inputs now (a value from an earlier day may differ
    --     by lots that expired since: refresh_channel_atp() brings it up to date)
    SELECT CASE WHEN s.computed_on = current_date THEN 'published channel ATP differs from its inputs'
                ELSE 'published channel ATP is from an earlier day and differs' END,
           a.channel, a.item_gtin, NULL::gln, NULL::bigint, a.atp, f.atp
      FROM channel_atp a
      JOIN channel c ON c.channel = a.channel
      LEFT JOIN channel_atp_state s ON s.channel = a.channel AND s.item_gtin = a.item_gtin
      CROSS JOIN LATERAL (SELECT _channel_atp(a.channel, a.item_gtin) AS atp) f
     WHERE a.atp <> f.atp
    UNION ALL
    -- (b) the version of a channel's ATP counts its changes, and each change starts where
    --     the one before ended (its history: channel_atp_change and the reservation
    --     changes that record their channel's move themselves)
    SELECT 'channel ATP versions and changes disagree', a.channel, a.item_gtin, NULL, NULL,
           a.version, coalesce(an.version, 0) + coalesce(x.n, 0)
      FROM channel_atp a
      -- its early history archived: the retained one continues from the anchor
      LEFT JOIN channel_atp_anchor an ON an.channel = a.channel AND an.item_gtin = a.item_gtin
      LEFT JOIN (SELECT c.channel, c.item_gtin, count(*) AS n, max(c.version) AS top,
                        count(*) FILTER (WHERE c.atp_before <> c.prev_after) AS broken,
                        (array_agg(c.atp_after ORDER BY c.version DESC))[1] AS last_after
                   FROM (SELECT c.*, coalesce(lag(c.atp_after) OVER (PARTITION BY c.channel, c.item_gtin ORDER BY c.version),
                                              ca.atp_after) AS prev_after
                           FROM channel_atp_history c
                           LEFT JOIN channel_atp_anchor ca ON ca.channel = c.channel AND ca.item_gtin = c.item_gtin) c
                  GROUP BY c.channel, c.item_gtin) x ON x.channel = a.channel AND x.item_gtin = a.item_gtin
     WHERE a.version <> coalesce(an.version, 0) + coalesce(x.n, 0) OR a.version <> coalesce(x.top, an.version, 0)
        OR x.broken > 0 OR coalesce(x.last_after, an.atp_after) <> a.atp
    UNION ALL
    -- (b2) the stored location ATP channel ATP is summed from = its inputs now (computed
    --      today), and each channel's running sum = the sum of its locations' parts
    SELECT 'stored location ATP differs from its inputs', NULL, la.item_gtin, la.location, NULL, la.atp, f.atp
      FROM location_atp la
      JOIN _location_atp_of((SELECT array_agg(x.item_gtin) FROM location_atp x),
                            (SELECT array_agg(x.location) FROM location_atp x),
                            (SELECT array_agg(x.min_shelf_life_days) FROM location_atp x)) f
        ON (f.item_gtin, f.location, f.min_shelf_life_days) = (la.item_gtin, la.location, la.min_shelf_life_days)
     WHERE la.computed_on = current_date AND f.atp <> la.atp
    UNION ALL
    SELECT 'channel ATP running sum differs from its locations', s.channel, s.item_gtin, NULL, NULL, s.stock,
           coalesce(x.stock, 0)
      FROM channel_atp_state s
      JOIN channel c ON c.channel = s.channel
      LEFT JOIN LATERAL (SELECT sum(greatest(la.atp, 0)) AS stock
                           FROM channel_location cl
                           JOIN location_atp la ON la.item_gtin = s.item_gtin AND la.location = cl.location
                                               AND la.min_shelf_life_days = c.min_shelf_life_days
                          WHERE cl.channel = s.channel) x ON true
     WHERE s.stock <> coalesce(x.stock, 0)
    UNION ALL
    -- (c) a location's promise key holds exactly its open reservations from stock
    SELECT 'promise key differs from the reservations held there', NULL, k.item_gtin, k.location, NULL,
           k.reserved, coalesce(r.held, 0)
      FROM promise_key k
      LEFT JOIN (SELECT v.item_gtin, v.location, sum(v.open_quantity) AS held
                   FROM reservation v
                  WHERE v.status = 'open' AND v.location IS NOT NULL AND v.promised_date IS NULL
                    AND NOT v.fulfilling
                  GROUP BY 1, 2) r ON r.item_gtin = k.item_gtin AND r.location = k.location
     WHERE k.reserved <> coalesce(r.held, 0)
    UNION ALL
    SELECT 'reservations held at a location without a promise key', NULL, r.item_gtin, r.location, NULL, NULL, r.held
      FROM (SELECT v.item_gtin, v.location, sum(v.open_quantity) AS held
              FROM reservation v
             WHERE v.status = 'open' AND v.location IS NOT NULL AND v.promised_date IS NULL
             GROUP BY 1, 2) r
     WHERE NOT EXISTS (SELECT FROM promise_key k WHERE k.item_gtin = r.item_gtin AND k.location = r.location)
    UNION ALL
    -- (d) each reservation: quantities in range, resolved ones hold nothing, pooled ones
    --     only in a channel no other sells beside, and its changes add up to what it holds
    SELECT CASE WHEN v.open_quantity < 0 OR v.open_quantity > v.quantity OR v.quantity <= 0
                     OR v.fulfilled_quantity < 0 OR v.fulfilled_quantity > v.quantity
                     THEN 'reservation quantities out of range'
                WHEN v.status <> 'open' AND v.open_quantity <> 0 THEN 'resolved reservation still holds stock'
                WHEN v.fulfilling THEN 'reservation left marked as being fulfilled'
                WHEN v.status = 'open' AND v.location IS NULL AND NOT channel_is_dedicated(v.channel)
                     THEN 'pooled reservation in a channel that shares a location'
                ELSE 'reservation changes do not add up to its open quantity' END,
           v.channel, v.item_gtin, v.location, v.reservation_id, v.open_quantity, ch.total
      FROM reservation v
      -- every reservation's changes summed in one pass (reservation_change has no btree
      -- index: a lookup per reservation would read it once per reservation), with the
      -- sum of its archived changes
      LEFT JOIN (SELECT coalesce(c.reservation_id, ra.reservation_id) AS reservation_id,
                        coalesce(c.total, 0) + coalesce(ra.delta, 0) AS total
                   FROM (SELECT c.reservation_id, sum(c.delta) AS total FROM reservation_change c
                          GROUP BY c.reservation_id) c
                   FULL JOIN reservation_change_anchor ra ON ra.reservation_id = c.reservation_id) ch
        ON ch.reservation_id = v.reservation_id
     WHERE v.open_quantity < 0 OR v.open_quantity > v.quantity OR v.quantity <= 0
        OR v.fulfilled_quantity < 0 OR v.fulfilled_quantity > v.quantity
        OR (v.status <> 'open' AND v.open_quantity <> 0) OR v.fulfilling
        OR (v.status = 'open' AND v.location IS NULL AND NOT channel_is_dedicated(v.channel))
        OR coalesce(ch.total, 0) <> v.open_quantity
$$;
COMMENT ON FUNCTION verify_promises() IS
  'Recomputes the promise layer''s numbers (published channel ATP, its version history, promise keys, reservations and their changes; archived history through its anchors); returns what differs: none when healthy';
