-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Backorder allocation: when stock becomes sellable (a receipt, a lot released, a
-- transfer in, supply landing), the backorders waiting at a location are filled from it,
-- in promised-date order and first come first among equal dates. A filled backorder is a
-- reservation held from stock: its promised_date is cleared (so it counts in the
-- location's promise key like any line held there, and the fast paths take the location
-- again once no backorder waits there), backorder_fill keeps the date it had been
-- promised, and a reservation_change row with action 'allocate' (delta 0) carries its
-- after-state to the feed.
--
-- What a fill may take. Filling a prefix P of a location's backorders (in that order)
-- changes the location's ATP by
--     delta(P) = shortfall(all) - quantity(P) - shortfall(the rest)
-- (never above zero: removing a backorder lowers the shortfall by at most its quantity),
-- the same for every shelf-life rule. The prefix is filled when -delta(P) fits both the
-- location's ATP (as the strictest shelf-life rule of the channels there sees it, less
-- the most any of them has protected from it) and the ATP of every channel selling from
-- the location (before its cap, which a fill does not move): no promise already made from stock, no pooled reservation, no channel
-- safety stock and no other channel's protection is taken. A backorder that does not fit
-- holds up the ones after it at its location (it keeps its place in the queue).
-- ---------------------------------------------------------------------------

CREATE TABLE backorder_fill (
    reservation_id bigint PRIMARY KEY,
    channel        text NOT NULL,
    item_gtin      gtin NOT NULL,
    location       gln NOT NULL,
    quantity       numeric NOT NULL,
    promised_date  date NOT NULL,
    filled_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE backorder_fill IS 'Backorders filled from stock by allocate_backorders(): the date each had been promised, and when it was filled (written only by allocate_backorders())';
COMMENT ON COLUMN backorder_fill.promised_date IS 'The promised_date the backorder had (the reservation''s own is cleared: it is held from stock now)';
COMMENT ON COLUMN backorder_fill.quantity IS 'The open quantity filled';
GRANT SELECT ON backorder_fill TO inventory_sync_reader;
SELECT pg_catalog.pg_extension_config_dump('backorder_fill', '');

-- The backorders of one location to fill now, in fill order: the longest prefix of the
-- location's open backorders (promised date, then first come) whose fill fits what the
-- location and every channel selling from it can give (see the head of this file). The
-- caller holds the location's promise key and the ATP rows of those channels.
CREATE FUNCTION _backorders_to_fill(item gtin, location gln)
RETURNS TABLE (reservation_id bigint, quantity numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN QUERY
    WITH b AS (
        SELECT v.reservation_id AS id, v.open_quantity AS q, greatest(v.promised_date, current_date) AS d,
               row_number() OVER (ORDER BY v.promised_date, v.created_at, v.reservation_id) AS rn
          FROM reservation v
         WHERE v.item_gtin = $1 AND v.location = $2 AND v.status = 'open'
           AND v.promised_date IS NOT NULL AND NOT v.fulfilling),
    s AS (SELECT e.due_date AS d, e.quantity AS q FROM expected_supply($1, $2) e),
    -- the prefixes, the empty one (rn 0) first: what each takes, its quantity and the
    -- shortfall of the backorders left behind it
    k AS (SELECT 0::bigint AS rn, NULL::bigint AS id, 0::numeric AS q, 0::numeric AS filled
          UNION ALL
          SELECT b.rn, b.id, b.q, sum(b.q) OVER (ORDER BY b.rn) FROM b),
    cost AS (
        SELECT k.rn, k.id, k.q,
               k.filled + greatest(0, -(SELECT min(e.cum)
                                          FROM (SELECT sum(sum(x.q)) OVER (ORDER BY x.d) AS cum
                                                  FROM (SELECT s.d, s.q FROM s
                                                        UNION ALL
                                                        SELECT b.d, -b.q FROM b WHERE b.rn > k.rn) x
                                                 GROUP BY x.d) e)) AS taken
          FROM k),
    -- what every channel selling from the location can give: the location's ATP as it
    -- sees it (other channels' protections kept back) and its own ATP
    budget AS (
        SELECT least(l.atp - coalesce((SELECT max(_protected_from(cl.channel, $1, $2)) FROM channel_location cl
                                        WHERE cl.location = $2), 0),
                     -- (a cap is left out: a fill moves no reservation into or out of a channel)
                     (SELECT min(_channel_stock_atp(cl.channel, $1) - _channel_pool(cl.channel, $1))
                        FROM channel_location cl WHERE cl.location = $2))
               AS most
          FROM (SELECT _location_atp($1, $2, (SELECT coalesce(max(c.min_shelf_life_days), 0)
                                                FROM channel_location cl JOIN channel c ON c.channel = cl.channel
                                               WHERE cl.location = $2)) AS atp) l),
    fits AS (
        SELECT c.rn, c.id, c.q, c.taken - z.taken <= g.most AS ok
          FROM cost c CROSS JOIN budget g CROSS JOIN (SELECT c0.taken FROM cost c0 WHERE c0.rn = 0) z
         WHERE c.rn > 0)
    SELECT f.id, f.q FROM fits f
     WHERE f.rn < coalesce((SELECT min(f2.rn) FROM fits f2 WHERE NOT f2.ok), 'Infinity'::numeric)
     ORDER BY f.rn;
END
$$;
COMMENT ON FUNCTION _backorders_to_fill(gtin, gln) IS
  'Internal: the open backorders at a location to fill from stock now, in fill order (promised date, then first come): the longest prefix that takes no stock promised otherwise';

CREATE FUNCTION allocate_backorders(item gtin DEFAULT NULL, location gln DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    waiting bigint[];
    pair record;
    f record;
    r inventory_sync.reservation;
    n integer := 0;
BEGIN
    IF item IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = item) THEN
        RAISE EXCEPTION 'unknown item: gtin %', item USING ERRCODE = '23503',
              HINT = 'Items are listed in inventory_sync.item.';
    END IF;
    IF location IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.location l WHERE l.gln = location) THEN
        RAISE EXCEPTION 'unknown location: gln %', location USING ERRCODE = '23503',
              HINT = 'Locations are listed in inventory_sync.location.';
    END IF;
    -- the lock order of docs/reference/promises.md: channel (a membership change waits
    -- for this call), the backorders (skipping those another transaction is resolving),
    -- the promise keys of their locations in one statement, then the channel ATP rows the
    -- fills may move
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
    SELECT array_agg(v.reservation_id ORDER BY v.reservation_id) INTO waiting
      FROM (SELECT v.reservation_id FROM inventory_sync.reservation v
             WHERE v.status = 'open' AND v.promised_date IS NOT NULL AND v.location IS NOT NULL
               AND NOT v.fulfilling
               AND (item IS NULL OR v.item_gtin = item) AND (location IS NULL OR v.location = location)
             ORDER BY v.reservation_id FOR UPDATE SKIP LOCKED) v;
    IF waiting IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM inventory_sync._promise_keys_lock(array_agg(v.item_gtin), array_agg(v.location))
       FROM inventory_sync.reservation v WHERE v.reservation_id = ANY (waiting);
    PERFORM inventory_sync._channel_atp_lock(array_agg(x.channel), array_agg(x.item_gtin))
       FROM (SELECT v.channel, v.item_gtin FROM inventory_sync.reservation v WHERE v.reservation_id = ANY (waiting)
             UNION
             SELECT cl.channel, v.item_gtin FROM inventory_sync.reservation v
               JOIN inventory_sync.channel_location cl ON cl.location = v.location
              WHERE v.reservation_id = ANY (waiting)) x;
    FOR pair IN SELECT DISTINCT v.item_gtin, v.location FROM inventory_sync.reservation v
                 WHERE v.reservation_id = ANY (waiting) ORDER BY 1, 2
    LOOP
        FOR f IN SELECT * FROM inventory_sync._backorders_to_fill(pair.item_gtin, pair.location) LOOP
            -- one another transaction is resolving keeps its place: the ones after it wait
            EXIT WHEN NOT f.reservation_id = ANY (waiting);
            UPDATE inventory_sync.promise_key k SET reserved = k.reserved + f.quantity, version = k.version + 1
             WHERE k.item_gtin = pair.item_gtin AND k.location = pair.location;
            INSERT INTO inventory_sync.backorder_fill (reservation_id, channel, item_gtin, location, quantity,
                                                       promised_date)
            SELECT v.reservation_id, v.channel, v.item_gtin, v.location, v.open_quantity, v.promised_date
              FROM inventory_sync.reservation v WHERE v.reservation_id = f.reservation_id;
            UPDATE inventory_sync.reservation v SET promised_date = NULL
             WHERE v.reservation_id = f.reservation_id
            RETURNING * INTO r;
            PERFORM inventory_sync._reservation_record(r, 'allocate', 0, NULL);
            n := n + 1;
        END LOOP;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION allocate_backorders(gtin, gln) IS
  'Fills waiting backorders from sellable stock, per location in promised-date then first-come order, as far as stock promised to no one else allows (one item and/or location, or all); returns how many were filled. Schedule it, e.g. SELECT cron.schedule(''backorders'', ''*/5 * * * *'', ''SELECT inventory_sync.allocate_backorders()'')';

-- ---------------------------------------------------------------------------
-- Supply protection and allocation caps per channel.
--
-- A protection keeps a quantity of an item at a location for one channel: the other
-- channels selling from the location see its ATP there less what remains of it (the
-- quantity less what the protecting channel holds there from stock, never below zero);
-- the protecting channel sees the location's ATP. A cap is the most one channel may hold
-- of an item in open reservations (backorders included): its ATP is at most the cap less
-- what it holds.
--     ATP(location, as channel c sees it) = ATP(location) - protections of others there
--     ATP(channel c) = least(max(0, sum over its locations of max(0, ATP(location, as c
--                      sees it)) - channel safety stock) - its pooled reservations,
--                      cap - what c holds)
-- The engine's fast paths decline an item that has a protection or a cap anywhere (a
-- posting, a line held at a location): the SQL moves it, and a channel whose ATP a
-- protection or a cap limits is computed again from its inputs at each move. Which items
-- have one is cached with the engine's channel topology (invalidated by these tables'
-- statement triggers): without any, the fast paths look nothing up.
-- ---------------------------------------------------------------------------

CREATE TABLE channel_protection (
    channel   text NOT NULL,
    item_gtin gtin NOT NULL REFERENCES item,
    location  gln NOT NULL,
    quantity  numeric NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (channel, item_gtin, location),
    FOREIGN KEY (channel, location) REFERENCES channel_location (channel, location) ON DELETE CASCADE
);
CREATE INDEX channel_protection_item ON channel_protection (item_gtin, location);
COMMENT ON TABLE channel_protection IS 'Supply protected for one channel: a quantity of an item at one of its locations that other channels selling from there cannot promise';
COMMENT ON COLUMN channel_protection.quantity IS 'Protected units; what the channel holds there from stock uses it up, the rest is kept back from the other channels';
COMMENT ON INDEX channel_protection_item IS 'Protections by item and location (what other channels see there)';

CREATE TABLE channel_cap (
    channel   text NOT NULL REFERENCES channel ON DELETE CASCADE,
    item_gtin gtin NOT NULL REFERENCES item,
    quantity  numeric NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (channel, item_gtin)
);
COMMENT ON TABLE channel_cap IS 'Allocation caps: the most a channel may hold of an item in open reservations (backorders included); its ATP is at most the cap less what it holds';
GRANT SELECT ON channel_protection, channel_cap TO inventory_sync_reader;
GRANT INSERT, UPDATE, DELETE ON channel_protection, channel_cap TO inventory_sync_admin;
SELECT pg_catalog.pg_extension_config_dump('channel_protection', '');
SELECT pg_catalog.pg_extension_config_dump('channel_cap', '');
-- the engine caches which items have either (src/channel_move.c): a change tells it
CREATE TRIGGER channel_protection_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON channel_protection
    FOR EACH STATEMENT EXECUTE FUNCTION master_data_changed();
CREATE TRIGGER channel_cap_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON channel_cap
    FOR EACH STATEMENT EXECUTE FUNCTION master_data_changed();

-- A change of a protection moves the channels selling from its location (under the
-- location's promise key, like a change of safety stock); a change of a cap sums its
-- channel again (under the channel's ATP row, like channel safety stock).
CREATE FUNCTION _allocation_limit_changed()
RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    rows jsonb[] := '{}';
    j jsonb;
    k_item inventory_sync.gtin;
    k_location inventory_sync.gln;
BEGIN
    IF TG_OP <> 'INSERT' THEN rows := rows || to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN rows := rows || to_jsonb(NEW); END IF;
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
    FOREACH j IN ARRAY rows LOOP
        k_item := (j->>'item_gtin')::inventory_sync.gtin;
        IF TG_TABLE_NAME = 'channel_protection' THEN
            k_location := (j->>'location')::inventory_sync.gln;
            PERFORM inventory_sync._promise_keys_lock(ARRAY[k_item], ARRAY[k_location]);
            PERFORM inventory_sync._channel_atp_move(ARRAY[k_item], ARRAY[k_location], array_agg(cl.channel ORDER BY cl.channel),
                                                     array_agg(k_item ORDER BY cl.channel), 'refresh', NULL, NULL)
               FROM inventory_sync.channel_location cl WHERE cl.location = k_location;
        ELSIF EXISTS (SELECT FROM inventory_sync.channel c WHERE c.channel = j->>'channel') THEN
            PERFORM inventory_sync._channel_atp_publish(j->>'channel', k_item, 'refresh', NULL, NULL);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _allocation_limit_changed() IS
  'Trigger: a change of a protection or a cap republishes the channel ATP it affects';
CREATE TRIGGER channel_protection_atp AFTER INSERT OR UPDATE OR DELETE ON channel_protection
    FOR EACH ROW EXECUTE FUNCTION _allocation_limit_changed();
CREATE TRIGGER channel_cap_atp AFTER INSERT OR UPDATE OR DELETE ON channel_cap
    FOR EACH ROW EXECUTE FUNCTION _allocation_limit_changed();

-- What the protections of other channels keep back from a channel at a location: each
-- one's quantity less what its channel holds there from stock, never below zero.
CREATE FUNCTION _protected_from(channel text, item gtin, location gln)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN coalesce((
        SELECT sum(greatest(p.quantity - coalesce((SELECT sum(v.open_quantity) FROM reservation v
                                                    WHERE v.item_gtin = p.item_gtin AND v.location = p.location
                                                      AND v.status = 'open' AND v.channel = p.channel
                                                      AND v.promised_date IS NULL AND NOT v.fulfilling), 0), 0))
          FROM channel_protection p
         WHERE p.item_gtin = $2 AND p.location = $3 AND p.channel IS DISTINCT FROM $1), 0);
END
$$;
COMMENT ON FUNCTION _protected_from(text, gtin, gln) IS
  'Internal: what other channels'' protections keep back from a channel at a location (each protection less what its channel holds there from stock)';

-- The room a channel's cap leaves: the cap less every open reservation of the channel for
-- the item (backorders included); NULL when it has no cap.
CREATE FUNCTION _channel_cap_room(channel text, item gtin)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN (SELECT c.quantity - coalesce((SELECT sum(v.open_quantity) FROM reservation v
                                           WHERE v.item_gtin = c.item_gtin AND v.status = 'open'
                                             AND v.channel = c.channel), 0)
              FROM channel_cap c WHERE c.channel = $1 AND c.item_gtin = $2);
END
$$;
COMMENT ON FUNCTION _channel_cap_room(text, gtin) IS
  'Internal: what a channel''s cap on an item leaves it to promise (the cap less its open reservations); NULL without a cap';

-- Whether a protection or a cap limits a channel's ATP for an item: a cap of its own, or
-- a protection of another channel at one of its locations. Such a channel's ATP is
-- computed again from its inputs at every move.
CREATE FUNCTION _channel_limited(channel text, item gtin)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: its plans are kept for the session; a SQL function would plan per call)
    RETURN EXISTS (SELECT FROM channel_cap c WHERE c.channel = $1 AND c.item_gtin = $2)
        OR EXISTS (SELECT FROM channel_protection p JOIN channel_location cl ON cl.location = p.location
                    WHERE p.item_gtin = $2 AND cl.channel = $1 AND p.channel <> $1);
END
$$;
COMMENT ON FUNCTION _channel_limited(text, gtin) IS
  'Internal: true when a cap of the channel or another channel''s protection at one of its locations limits its ATP for the item';

-- What an IS040 refusal says when a cap or a protection limits the line: '' when none does.
CREATE FUNCTION _allocation_limit_note(channel text, item gtin, location gln)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    room numeric := _channel_cap_room($1, $2);
    kept numeric := CASE WHEN $3 IS NULL THEN 0 ELSE _protected_from($1, $2, $3) END;
BEGIN
    RETURN CASE WHEN room IS NOT NULL
                THEN format(' (a cap of %s on channel "%s" leaves %s)',
                            (SELECT c.quantity FROM channel_cap c WHERE c.channel = $1 AND c.item_gtin = $2),
                            $1, greatest(room, 0))
                ELSE '' END
        || CASE WHEN kept > 0 THEN format(' (other channels'' protections keep %s back at %s)', kept, $3)
                ELSE '' END;
END
$$;
COMMENT ON FUNCTION _allocation_limit_note(text, gtin, gln) IS
  'Internal: the words an IS040 refusal adds when a cap of the channel or other channels'' protections at the location limit the line';
