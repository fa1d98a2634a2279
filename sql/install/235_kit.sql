-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Kits and bundles: a GTIN sold as a set of component items (a gift box of three items,
-- a bundle of two), never stocked as such. A kit is not an item: it has no balance, a
-- posting of its GTIN is refused like any GTIN the master data does not know (23503), and
-- its GTIN may be no item's and no pack's. Its components are items, so a kit never holds
-- another kit (no nesting, hence no cycle) and never itself.
--
-- What a kit can be promised is what its components allow, read from their ATP (safety
-- stock, shelf life, reservations and channel rules all count):
--   at a location:  min over components of floor(component ATP there / quantity per kit)
--   in a channel:   components that ship together: the best single location of the
--                   channel; components that may ship separately: min over components of
--                   floor(component channel ATP / quantity per kit)
-- Reserving a kit reserves each component with reserve(), all or nothing, line_ref
-- "<line_ref>/<component gtin>", after taking every lock of every component in the lock
-- order of 205_promise_locks.sql (so two kits sharing components never deadlock).
-- ---------------------------------------------------------------------------

CREATE TABLE kit (
    gtin             gtin PRIMARY KEY,
    name             text NOT NULL,
    ships_separately boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE kit IS 'Kits and bundles: a GTIN sold as a set of component items, never stocked itself (no item or pack has its GTIN)';
COMMENT ON COLUMN kit.gtin IS 'The GTIN the kit is sold by; not an item''s or a pack''s';
COMMENT ON COLUMN kit.name IS 'What the kit is called';
COMMENT ON COLUMN kit.ships_separately IS 'Its components may ship from different locations of a channel (false: a kit line is held at one location)';
COMMENT ON COLUMN kit.created_at IS 'When the kit was defined';

CREATE TABLE kit_component (
    kit       gtin NOT NULL REFERENCES kit ON UPDATE CASCADE ON DELETE CASCADE,
    component gtin NOT NULL REFERENCES item,
    quantity  numeric NOT NULL CHECK (quantity > 0 AND quantity < 'Infinity'),
    PRIMARY KEY (kit, component)
);
CREATE INDEX kit_component_component ON kit_component (component);
COMMENT ON TABLE kit_component IS 'The items a kit is made of, and how many base units of each one kit holds';
COMMENT ON COLUMN kit_component.kit IS 'The kit';
COMMENT ON COLUMN kit_component.component IS 'A component item (an item GTIN, not a pack''s or a kit''s)';
COMMENT ON COLUMN kit_component.quantity IS 'Base units of the component in one kit (above zero; whole where the item''s unit needs it)';
COMMENT ON INDEX kit_component_component IS 'The kits an item is a component of';

-- Which component reservations make up a kit line (written only by reserve_kit()).
CREATE TABLE kit_reservation (
    reservation_id     bigint PRIMARY KEY REFERENCES reservation,
    channel            text NOT NULL,
    order_ref          text NOT NULL,
    line_ref           text NOT NULL,
    kit                gtin NOT NULL,
    kit_quantity       numeric NOT NULL,
    component          gtin NOT NULL,
    component_quantity numeric NOT NULL
);
CREATE INDEX kit_reservation_line ON kit_reservation (channel, order_ref, line_ref);
COMMENT ON TABLE kit_reservation IS 'The component reservations of each kit line reserved by reserve_kit() (one row per component)';
COMMENT ON COLUMN kit_reservation.reservation_id IS 'The component''s reservation (its line_ref is the kit line''s, "/", the component GTIN)';
COMMENT ON COLUMN kit_reservation.channel IS 'Channel of the kit line';
COMMENT ON COLUMN kit_reservation.order_ref IS 'Order of the kit line';
COMMENT ON COLUMN kit_reservation.line_ref IS 'The caller''s line_ref of the kit line';
COMMENT ON COLUMN kit_reservation.kit IS 'The kit reserved';
COMMENT ON COLUMN kit_reservation.kit_quantity IS 'Kits reserved on the line';
COMMENT ON COLUMN kit_reservation.component IS 'The component this reservation holds';
COMMENT ON COLUMN kit_reservation.component_quantity IS 'Base units of the component reserved (kits times the quantity per kit)';
COMMENT ON INDEX kit_reservation_line IS 'The component reservations of a kit line, by its key';

-- A GTIN names an item, a pack or a kit, never two. Writers of kits and writers of items
-- and packs serialise on one advisory lock, keyed by the kit table's oid (kits take it
-- exclusive, items and packs shared), so the check of each sees what the other committed.
-- The triggers run as the writer, so they call nothing internal.
CREATE FUNCTION _kit_check() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    IF NEW.gtin IS NULL THEN
        RETURN NEW;   -- the NOT NULL constraint refuses it (23502)
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock('inventory_sync.kit'::pg_catalog.regclass::pg_catalog.oid::bigint);
    IF EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = NEW.gtin)
       OR EXISTS (SELECT FROM inventory_sync.item_pack p WHERE p.pack_gtin = NEW.gtin) THEN
        RAISE EXCEPTION 'gtin % is an item or a pack: a kit''s GTIN names nothing stocked', NEW.gtin
              USING ERRCODE = 'IS060', DETAIL = format('Kit "%s".', NEW.name),
                    HINT = 'Give the kit a GTIN of its own; its components are items (inventory_sync.kit_component).';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION _kit_check() IS
  'Internal trigger: a kit''s GTIN may not be an item''s or a pack''s (IS060)';
CREATE TRIGGER kit_check BEFORE INSERT OR UPDATE OF gtin ON kit
    FOR EACH ROW EXECUTE FUNCTION _kit_check();

-- Checked before the constraints, so that each refusal names the value and what to do;
-- NULLs are left to the NOT NULL constraints (23502).
CREATE FUNCTION _kit_component_check() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    whole boolean;
    what text := format('Kit %s, component %s.', NEW.kit, NEW.component);
BEGIN
    IF NEW.kit IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.kit k WHERE k.gtin = NEW.kit) THEN
        RAISE EXCEPTION 'unknown kit: gtin %', NEW.kit USING ERRCODE = '23503', DETAIL = what,
              HINT = 'Define the kit in inventory_sync.kit first.';
    END IF;
    IF NEW.component IS NOT NULL AND NEW.component = NEW.kit THEN
        RAISE EXCEPTION 'kit % cannot contain itself', NEW.kit USING ERRCODE = 'IS061', DETAIL = what,
              HINT = 'List the items the kit is made of.';
    END IF;
    IF NEW.component IS NOT NULL AND EXISTS (SELECT FROM inventory_sync.kit k WHERE k.gtin = NEW.component) THEN
        RAISE EXCEPTION 'component % of kit % is a kit: kits do not nest', NEW.component, NEW.kit
              USING ERRCODE = 'IS061', DETAIL = what,
                    HINT = 'List the items of the inner kit as components of this one, their quantities multiplied.';
    END IF;
    IF NEW.component IS NOT NULL THEN
        SELECT u.whole_numbers INTO whole
          FROM inventory_sync.item i JOIN inventory_sync.unit u ON u.unit = i.base_unit WHERE i.gtin = NEW.component;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown item: gtin % (component of kit %)', NEW.component, NEW.kit
                  USING ERRCODE = '23503', DETAIL = what,
                        HINT = CASE WHEN EXISTS (SELECT FROM inventory_sync.item_pack p WHERE p.pack_gtin = NEW.component)
                                    THEN 'It is a pack GTIN: name its item and the base units the kit holds.'
                                    ELSE 'Add the item to inventory_sync.item first.' END;
        END IF;
    END IF;
    IF NEW.quantity IS NOT NULL AND (NEW.quantity <= 0 OR NEW.quantity >= 'Infinity'
                                     OR (whole AND NEW.quantity <> trunc(NEW.quantity))) THEN
        RAISE EXCEPTION 'kit component quantity % must be %', NEW.quantity,
              CASE WHEN whole THEN 'a whole number above zero' ELSE 'above zero and finite' END
              USING ERRCODE = 'IS020', DETAIL = what,
                    HINT = 'The quantity is in the component''s base units per kit.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION _kit_component_check() IS
  'Internal trigger: a kit component names a known kit and an item that is not a kit, with a quantity above zero (whole where its unit needs it)';
CREATE TRIGGER kit_component_check BEFORE INSERT OR UPDATE ON kit_component
    FOR EACH ROW EXECUTE FUNCTION _kit_component_check();

-- An item or pack GTIN written where a kit has it: refused, once per statement.
CREATE FUNCTION _kit_gtin_taken() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    taken gtin;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock_shared('inventory_sync.kit'::pg_catalog.regclass::pg_catalog.oid::bigint);
    IF TG_TABLE_NAME = 'item' THEN
        SELECT k.gtin INTO taken FROM new_rows n JOIN inventory_sync.kit k ON k.gtin = n.gtin LIMIT 1;
    ELSE
        SELECT k.gtin INTO taken FROM new_rows n JOIN inventory_sync.kit k ON k.gtin = n.pack_gtin LIMIT 1;
    END IF;
    IF taken IS NOT NULL THEN
        RAISE EXCEPTION 'gtin % is a kit: it cannot be % too', taken, CASE TG_TABLE_NAME WHEN 'item' THEN 'an item' ELSE 'a pack' END
              USING ERRCODE = 'IS060',
                    HINT = 'A kit is never stocked: post its components. Delete the kit first if the GTIN is to name an item.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _kit_gtin_taken() IS
  'Internal trigger: an item or pack GTIN may not be a kit''s (IS060)';
CREATE TRIGGER item_kit_gtin_insert AFTER INSERT ON item REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION _kit_gtin_taken();
CREATE TRIGGER item_kit_gtin_update AFTER UPDATE ON item REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION _kit_gtin_taken();
CREATE TRIGGER item_pack_kit_gtin_insert AFTER INSERT ON item_pack REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION _kit_gtin_taken();
CREATE TRIGGER item_pack_kit_gtin_update AFTER UPDATE ON item_pack REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION _kit_gtin_taken();

-- brokering keeps what each order line's GTIN takes per backend (src/broker_units.c): a
-- change of a kit tells it (as item's own trigger does)
CREATE TRIGGER kit_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON kit
    FOR EACH STATEMENT EXECUTE FUNCTION master_data_changed();
CREATE TRIGGER kit_component_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON kit_component
    FOR EACH STATEMENT EXECUTE FUNCTION master_data_changed();

-- What an order line of a GTIN asks of stock: a kit's components times the quantity, or
-- the item itself. The broker splits and places lines by this.
-- (SQL: PL/pgSQL refuses an output column named like an argument, and these are the
-- names the broker calls it with.)
CREATE FUNCTION _order_line_components(item gtin, quantity numeric)
RETURNS TABLE (component gtin, quantity numeric, ships_together boolean)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT c.component, c.quantity * $2, NOT k.ships_separately
      FROM inventory_sync.kit k JOIN inventory_sync.kit_component c ON c.kit = k.gtin
     WHERE k.gtin = $1
    UNION ALL
    SELECT $1, $2, true
     WHERE NOT EXISTS (SELECT FROM inventory_sync.kit k WHERE k.gtin = $1)
     ORDER BY 1
$$;
COMMENT ON FUNCTION _order_line_components(gtin, numeric) IS
  'Internal: the items an order line of a GTIN takes and how many of each (a kit: its components times the quantity; ships_together when they may not ship separately), else the item itself';

-- The kit named, with its components; refuses an unknown kit (23503) and a kit without
-- components (IS061).
CREATE FUNCTION _kit_of(kit gtin)
RETURNS kit
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    k inventory_sync.kit;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'a kit GTIN is needed' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO k FROM inventory_sync.kit x WHERE x.gtin = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown kit: gtin %', $1 USING ERRCODE = '23503',
              HINT = CASE WHEN EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = $1)
                          THEN 'It is an item: use atp() and reserve().'
                          ELSE 'Kits are listed in inventory_sync.kit.' END;
    END IF;
    IF NOT EXISTS (SELECT FROM inventory_sync.kit_component c WHERE c.kit = $1) THEN
        RAISE EXCEPTION 'kit % has no components', $1 USING ERRCODE = 'IS061',
              HINT = 'Add its items to inventory_sync.kit_component.';
    END IF;
    RETURN k;
END
$$;
COMMENT ON FUNCTION _kit_of(gtin) IS 'Internal: the kit with this GTIN; 22004, 23503 or IS061 when there is none or it has no components';

-- The channel and location of a kit ATP question or kit reservation, checked.
CREATE FUNCTION _kit_channel_check(channel text, location gln)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'a kit''s ATP is a channel''s: a channel is needed' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT FROM inventory_sync.channel c WHERE c.channel = $1) THEN
        RAISE EXCEPTION 'unknown channel "%"', $1 USING ERRCODE = '23503',
              HINT = 'Channels are listed in inventory_sync.channel.';
    END IF;
    IF $2 IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.location l WHERE l.gln = $2) THEN
        RAISE EXCEPTION 'unknown location: gln %', $2 USING ERRCODE = '23503';
    END IF;
    IF $2 IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.channel_location cl
                                       WHERE cl.channel = $1 AND cl.location = $2) THEN
        RAISE EXCEPTION 'location % is not a location of channel "%"', $2, $1 USING ERRCODE = 'IS043',
              HINT = 'The channel sells from the locations in inventory_sync.channel_location.';
    END IF;
END
$$;
COMMENT ON FUNCTION _kit_channel_check(text, gln) IS
  'Internal: refuses a NULL or unknown channel (22004, 23503), an unknown location (23503) or one the channel does not sell from (IS043)';

CREATE FUNCTION _kit_args(kit gtin, channel text, location gln)
RETURNS kit
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    k inventory_sync.kit := inventory_sync._kit_of($1);
BEGIN
    PERFORM inventory_sync._kit_channel_check($2, $3);
    RETURN k;
END
$$;
COMMENT ON FUNCTION _kit_args(gtin, text, gln) IS
  'Internal: the kit of a kit ATP question, its channel and location checked (_kit_of, _kit_channel_check)';

-- Each component's ATP and the kits it allows, by location: at the location given; for
-- components that may ship separately, anywhere in the channel (location NULL); else at
-- every location of the channel. atp() reads each (it applies every rule of the channel).
CREATE FUNCTION _kit_atp_rows(kit gtin, channel text, at gln)
RETURNS TABLE (location gln, component gtin, quantity numeric, component_atp numeric, kits numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT x.location, x.component, x.quantity, x.atp, floor(greatest(x.atp, 0) / x.quantity)
      FROM (SELECT l.location, c.component, c.quantity,
                   inventory_sync.atp(c.component, l.location, $2) AS atp
              FROM inventory_sync.kit k
              JOIN inventory_sync.kit_component c ON c.kit = k.gtin
              CROSS JOIN LATERAL (
                   SELECT $3 AS location WHERE $3 IS NOT NULL OR k.ships_separately
                   UNION ALL
                   SELECT cl.location FROM inventory_sync.channel_location cl
                    WHERE cl.channel = $2 AND $3 IS NULL AND NOT k.ships_separately) l
             WHERE k.gtin = $1) x;
END
$$;
COMMENT ON FUNCTION _kit_atp_rows(gtin, text, gln) IS
  'Internal: each component''s ATP (atp()) and the whole kits it allows, at the location given, anywhere in the channel (components that ship separately), or at each of the channel''s locations';

-- Kits the components allow at each location of the rows (NULL: anywhere in the channel),
-- and the component that limits them there (the first by GTIN among equals).
CREATE FUNCTION _kit_atp_by_location(kit gtin, channel text, at gln)
RETURNS TABLE (location gln, kits numeric, limited_by gtin)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT DISTINCT ON (r.location) r.location, r.kits, r.component
      FROM inventory_sync._kit_atp_rows($1, $2, $3) r
     ORDER BY r.location, r.kits, r.component;
END
$$;
COMMENT ON FUNCTION _kit_atp_by_location(gtin, text, gln) IS
  'Internal: the whole kits the components allow per location (NULL: anywhere in the channel) and the component that limits them';

CREATE FUNCTION _kit_best_location(kit gtin, channel text, at gln)
RETURNS TABLE (location gln, kits numeric, limited_by gtin)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT b.location, b.kits, b.limited_by
      FROM inventory_sync._kit_atp_by_location($1, $2, $3) b
      LEFT JOIN inventory_sync.channel_location cl ON cl.channel = $2 AND cl.location = b.location
     ORDER BY b.kits DESC, cl.priority, b.location
     LIMIT 1;
END
$$;
COMMENT ON FUNCTION _kit_best_location(gtin, text, gln) IS
  'Internal: where the most whole kits can be promised (the channel''s priority, then the GLN, among equals), how many, and the component that limits them';

CREATE FUNCTION kit_atp(kit gtin, channel text, location gln DEFAULT NULL)
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    PERFORM inventory_sync._kit_args($1, $2, $3);
    RETURN coalesce((SELECT b.kits FROM inventory_sync._kit_best_location($1, $2, $3) b), 0);
END
$$;
COMMENT ON FUNCTION kit_atp(gtin, text, gln) IS
  'Whole kits a channel can promise (at a location, when given): the least over components of floor(component ATP / quantity per kit), at the best single location when the components ship together, never below zero';

-- (SQL: PL/pgSQL refuses an output column named like an argument.) The arguments are
-- checked first: the rows are read laterally after the check.
CREATE FUNCTION kit_atp_detail(kit gtin, channel text, location gln DEFAULT NULL)
RETURNS TABLE (location gln, component gtin, quantity numeric, component_atp numeric, kits numeric,
               limiting boolean)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT r.location, r.component, r.quantity, r.component_atp, r.kits,
           r.kits = min(r.kits) OVER (PARTITION BY r.location)
      FROM inventory_sync._kit_args($1, $2, $3) k
     CROSS JOIN LATERAL inventory_sync._kit_atp_rows(k.gtin, $2, $3) r
      LEFT JOIN inventory_sync.channel_location cl ON cl.channel = $2 AND cl.location = r.location
     ORDER BY cl.priority, r.location, r.component
$$;
COMMENT ON FUNCTION kit_atp_detail(gtin, text, gln) IS
  'How a kit''s ATP is made up: per location (NULL: anywhere in the channel, for components that ship separately) each component''s ATP, the whole kits it allows, and whether it is the one that limits the kit there';

-- reserve_kit()'s own arguments: whole kits (IS020), references with room for the
-- component suffix (22004, 22023), the kit, the channel and the location.
CREATE FUNCTION _kit_reserve_check(channel text, order_ref text, line_ref text, kit gtin, quantity numeric,
                                   location gln)
RETURNS kit
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    detail text := 'Kit line ' || inventory_sync._reservation_key($1, $2, $3) || '.';
BEGIN
    IF $5 IS NULL OR $5 <= 0 OR $5 >= 'Infinity' OR $5 <> trunc($5) THEN
        RAISE EXCEPTION 'kit quantity % must be a whole number above zero', coalesce($5::text, 'NULL')
              USING ERRCODE = 'IS020', DETAIL = detail, HINT = 'Kits are promised whole.';
    END IF;
    IF $2 IS NULL OR $3 IS NULL THEN
        RAISE EXCEPTION 'a kit reservation needs order_ref and line_ref' USING ERRCODE = '22004',
              DETAIL = detail, HINT = 'They are the caller''s key that makes reserving idempotent.';
    END IF;
    IF length($2) NOT BETWEEN 1 AND 200 OR length($3) NOT BETWEEN 1 AND 185 THEN
        RAISE EXCEPTION 'a kit line needs an order_ref of 1 to 200 characters and a line_ref of 1 to 185'
              USING ERRCODE = '22023', DETAIL = detail,
                    HINT = 'Each component is reserved as line "<line_ref>/<component gtin>", which has 200 characters at most.';
    END IF;
    PERFORM inventory_sync._kit_channel_check($1, $6);
    RETURN inventory_sync._kit_of($4);
END
$$;
COMMENT ON FUNCTION _kit_reserve_check(text, text, text, gtin, numeric, gln) IS
  'Internal: checks reserve_kit()''s arguments (IS020, 22004, 22023, 23503, IS043, IS061) and returns the kit';

-- Every lock a kit line's component reservations take, up front, in the global order:
-- the promise keys of each component where reserve() would lock them (the location given
-- when its channel ATP is today's, else every location of the channel), then the channel
-- ATP rows of each component in this channel and every channel sharing one of its
-- locations. reserve() then finds them held.
CREATE FUNCTION _kit_lock(channel text, items gtin[], location gln)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    PERFORM inventory_sync._promise_keys_lock(array_agg(i.item), array_agg(cl.location))
       FROM unnest($2) AS i(item)
       JOIN inventory_sync.channel_location cl ON cl.channel = $1
      WHERE $3 IS NULL OR cl.location = $3
         OR NOT EXISTS (SELECT FROM inventory_sync.channel_atp_state s
                         WHERE s.channel = $1 AND s.item_gtin = i.item AND s.computed_on = current_date);
    PERFORM inventory_sync._channel_atp_lock(array_agg(x.channel), array_agg(i.item))
       FROM unnest($2) AS i(item)
      CROSS JOIN (SELECT c2.channel FROM inventory_sync.channel_location c1
                    JOIN inventory_sync.channel_location c2 ON c2.location = c1.location
                   WHERE c1.channel = $1
                  UNION SELECT $1) x;
END
$$;
COMMENT ON FUNCTION _kit_lock(text, gtin[], gln) IS
  'Internal: takes the locks of every component reservation of a kit line up front, in the global lock order (promise keys, then channel ATP rows)';

-- A kit line reserved before: its component reservations, if the terms are the same.
CREATE FUNCTION _kit_line_existing(channel text, order_ref text, line_ref text, kit gtin, quantity numeric,
                                   location gln)
RETURNS SETOF reservation
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    held record;
BEGIN
    SELECT k.kit, k.kit_quantity, bool_and($6 IS NULL OR r.location IS NOT DISTINCT FROM $6) AS same_place
      INTO held
      FROM inventory_sync.kit_reservation k JOIN inventory_sync.reservation r ON r.reservation_id = k.reservation_id
     WHERE k.channel = $1 AND k.order_ref = $2 AND k.line_ref = $3
     GROUP BY k.kit, k.kit_quantity;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF held.kit <> $4 OR held.kit_quantity <> $5 OR NOT held.same_place THEN
        RAISE EXCEPTION 'kit line % exists with different terms', inventory_sync._reservation_key($1, $2, $3)
              USING ERRCODE = 'IS044',
                    DETAIL = format('It holds %s of kit %s; this call asks %s of kit %s%s.', held.kit_quantity, held.kit,
                                    $5, $4, coalesce(' at ' || $6::text, '')),
                    HINT = 'A reservation key names one promise: use a new line_ref, or cancel the kit line first.';
    END IF;
    RETURN QUERY SELECT r.* FROM inventory_sync.kit_reservation k
                   JOIN inventory_sync.reservation r ON r.reservation_id = k.reservation_id
                  WHERE k.channel = $1 AND k.order_ref = $2 AND k.line_ref = $3
                  ORDER BY k.component;
END
$$;
COMMENT ON FUNCTION _kit_line_existing(text, text, text, gtin, numeric, gln) IS
  'Internal: the component reservations of a kit line reserved before (none if new); IS044 when its terms differ';

-- Where a kit line whose components ship together is held: the location with the most
-- kits (priority, then GLN, among equals); IS040 naming the limiting component when no
-- location has enough and the channel takes no backorders (a backorder channel places
-- the components at that location, each against stock or expected supply).
CREATE FUNCTION _kit_place(channel text, order_ref text, line_ref text, kit gtin, quantity numeric,
                           location gln, allow_backorder boolean)
RETURNS gln
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    best record;
BEGIN
    SELECT * INTO best FROM inventory_sync._kit_best_location($4, $1, $6);
    IF coalesce(best.kits, 0) >= $5 OR ($7 AND best.location IS NOT NULL) THEN
        RETURN coalesce($6, best.location);
    END IF;
    PERFORM inventory_sync._refuse_beyond_atp(
        format('insufficient ATP: %s of kit %s asked, %s available %s', $5, $4, coalesce(best.kits, 0),
               CASE WHEN $6 IS NULL THEN format('at one location of channel "%s"', $1) ELSE 'at ' || $6::text END),
        format('Kit line %s. %s; nothing is held.', inventory_sync._reservation_key($1, $2, $3),
               CASE WHEN best.location IS NULL THEN 'The channel has no location'
                    ELSE format('Limited by component %s at %s', best.limited_by, best.location) END),
        CASE WHEN $6 IS NULL THEN 'Reserve fewer kits, or let its components ship separately (kit.ships_separately).'
             ELSE 'Reserve fewer kits, or elsewhere.' END);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _kit_place(text, text, text, gtin, numeric, gln, boolean) IS
  'Internal: the location a kit line whose components ship together is held at, or IS040 naming the component that limits it';

-- Each component reserved with reserve(); a refusal of one (IS040) is raised again naming
-- the kit line and the component, and undoes every component reserved before it.
CREATE FUNCTION _kit_reserve_components(channel text, order_ref text, line_ref text, kit gtin, quantity numeric,
                                        location gln, expires_at timestamptz, due_date date)
RETURNS SETOF reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    c record;
    r inventory_sync.reservation;
    msg text;
    det text;
BEGIN
    FOR c IN SELECT * FROM inventory_sync._order_line_components($4, $5) ORDER BY 1 LOOP
        r := inventory_sync.reserve($1, $2, $3 || '/' || c.component::text, c.component, c.quantity, $6, $7, $8);
        INSERT INTO inventory_sync.kit_reservation VALUES (r.reservation_id, $1, $2, $3, $4, $5, c.component, c.quantity);
        RETURN NEXT r;
    END LOOP;
EXCEPTION WHEN SQLSTATE 'IS040' THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    PERFORM inventory_sync._refuse_beyond_atp(
        format('insufficient ATP: %s of kit %s asked; its component %s: %s', $5, $4, c.component,
               regexp_replace(msg, '^insufficient ATP: ', '')),
        format('Kit line %s; nothing is held. %s', inventory_sync._reservation_key($1, $2, $3), det),
        'Reserve fewer kits, elsewhere, or later.');
END
$$;
COMMENT ON FUNCTION _kit_reserve_components(text, text, text, gtin, numeric, gln, timestamptz, date) IS
  'Internal: reserves each component of a kit line with reserve() and records it in kit_reservation; IS040 naming the component undoes them all';

CREATE FUNCTION reserve_kit(channel text, order_ref text, line_ref text, kit gtin, quantity numeric,
                            location gln DEFAULT NULL, expires_at timestamptz DEFAULT NULL, due_date date DEFAULT NULL)
RETURNS SETOF reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    k inventory_sync.kit := inventory_sync._kit_reserve_check($1, $2, $3, $4, $5, $6);
    at gln := $6;
BEGIN
    -- before any row: a membership change (EXCLUSIVE on channel) waits for it
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
    RETURN QUERY SELECT * FROM inventory_sync._kit_line_existing($1, $2, $3, $4, $5, $6);
    IF FOUND THEN
        RETURN;
    END IF;
    PERFORM inventory_sync._kit_lock($1, (SELECT array_agg(c.component) FROM inventory_sync.kit_component c
                                           WHERE c.kit = $4), $6);
    IF NOT k.ships_separately THEN
        at := inventory_sync._kit_place($1, $2, $3, $4, $5, $6,
                                        (SELECT c.allow_backorder FROM inventory_sync.channel c WHERE c.channel = $1));
    END IF;
    RETURN QUERY SELECT * FROM inventory_sync._kit_reserve_components($1, $2, $3, $4, $5, at, $7, $8);
END
$$;
COMMENT ON FUNCTION reserve_kit(text, text, text, gtin, numeric, gln, timestamptz, date) IS
  'Reserves a quantity of a kit: each component with reserve() (line "<line_ref>/<component gtin>"), all or nothing (IS040 naming the component), at one location when the components ship together; returns the component reservations; idempotent on (channel, order_ref, line_ref)';

CREATE FUNCTION cancel_kit_reservation(channel text, order_ref text, line_ref text)
RETURNS SETOF reservation
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    ids bigint[];
    r inventory_sync.reservation;
BEGIN
    -- before any row: a membership change (EXCLUSIVE on channel) waits for it
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
    SELECT array_agg(k.reservation_id ORDER BY k.reservation_id) INTO ids
      FROM inventory_sync.kit_reservation k WHERE k.channel = $1 AND k.order_ref = $2 AND k.line_ref = $3;
    IF ids IS NULL THEN
        RAISE EXCEPTION 'unknown kit line %', inventory_sync._reservation_key($1, $2, $3) USING ERRCODE = '23503',
              HINT = 'Kit lines reserved with reserve_kit() are listed in inventory_sync.kit_reservation.';
    END IF;
    -- every lock up front, level by level (the lock order of 205_promise_locks.sql):
    -- the reservations, their promise keys, the channel ATP rows they move
    SELECT array_agg(v.reservation_id ORDER BY v.reservation_id) INTO ids
      FROM (SELECT v.reservation_id FROM inventory_sync.reservation v
             WHERE v.reservation_id = ANY (ids) AND v.status = 'open'
             ORDER BY v.reservation_id FOR UPDATE) v;
    IF ids IS NULL THEN
        RAISE EXCEPTION 'cannot cancel: kit line % is already resolved', inventory_sync._reservation_key($1, $2, $3)
              USING ERRCODE = 'IS041', HINT = 'Its component reservations are fulfilled, cancelled or expired.';
    END IF;
    PERFORM inventory_sync._promise_keys_lock(array_agg(v.item_gtin), array_agg(v.location))
       FROM inventory_sync.reservation v
      WHERE v.reservation_id = ANY (ids) AND v.location IS NOT NULL;
    PERFORM inventory_sync._channel_atp_lock(array_agg(x.channel), array_agg(x.item_gtin))
       FROM (SELECT v.channel, v.item_gtin FROM inventory_sync.reservation v WHERE v.reservation_id = ANY (ids)
             UNION
             SELECT cl.channel, v.item_gtin FROM inventory_sync.reservation v
               JOIN inventory_sync.channel_location cl ON cl.location = v.location
              WHERE v.reservation_id = ANY (ids)) x;
    FOR r IN SELECT * FROM inventory_sync.reservation v WHERE v.reservation_id = ANY (ids) ORDER BY v.reservation_id LOOP
        RETURN NEXT inventory_sync._reservation_close(r, 'cancelled', 0, NULL);
    END LOOP;
END
$$;
COMMENT ON FUNCTION cancel_kit_reservation(text, text, text) IS
  'Cancels every open component reservation of a kit line (reserve_kit()) in one go: their quantities return to ATP; IS041 when none is open';

-- Rights: reading is for readers, kits are master data for admins, the kit lines are
-- written by reserve_kit() only (functions: 900_privileges.sql).
REVOKE ALL ON kit_reservation FROM PUBLIC;
GRANT SELECT ON kit, kit_component, kit_reservation TO inventory_sync_reader;
GRANT INSERT, UPDATE, DELETE ON kit, kit_component TO inventory_sync_admin;
SELECT pg_catalog.pg_extension_config_dump('kit', '');
SELECT pg_catalog.pg_extension_config_dump('kit_component', '');
SELECT pg_catalog.pg_extension_config_dump('kit_reservation', '');
