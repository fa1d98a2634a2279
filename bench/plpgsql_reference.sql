-- ---------------------------------------------------------------------------
-- bench/plpgsql_reference.sql: the posting engine written in plain PL/pgSQL.
--
-- The yardstick of the single-row posting target ("at least 1.5x a plain PL/pgSQL
-- implementation of the same posting rules"). It applies the rules of the C engine
-- (src/posting_validate.c, src/posting_apply.c) to its own copy of the ledger, balance and after-state tables in schema plref, reading the
-- extension's master data (item, item_pack, item_unit, unit, location, bucket,
-- reason_code, source, ownership) the way a PL/pgSQL author would: one query per
-- lookup, plans cached by PL/pgSQL, no cache of the results.
--
--   BEFORE ROW  plref.ledger_before_insert: source binding, replay detection, item
--               (through pack GTINs), locations, buckets, reason, kind rules,
--               ownership, lot/serial rules, unit conversion to signed base units;
--               sets item_gtin, base_quantity, recorded_at, actor.
--   AFTER STATEMENT plref.ledger_apply (transition table): effects in one global key
--               order (item, location, lot, bucket), each key locked or created,
--               counts as of their watermark, late-event and negative-balance
--               exceptions, strict locations, compare-and-set, one balance_change
--               row per effect, serial whereabouts, first-seen lots.
--   Guards:     balance, balance_change and serial_unit refuse writes from anyone but
--               the apply step; the ledger refuses UPDATE/DELETE/TRUNCATE.
--
-- Needs the inventory_sync extension (its types and master data). Run as superuser.
-- ---------------------------------------------------------------------------
DROP SCHEMA IF EXISTS plref CASCADE;
CREATE SCHEMA plref;

CREATE TABLE plref.ledger         (LIKE inventory_sync.ledger         INCLUDING ALL);
CREATE TABLE plref.balance        (LIKE inventory_sync.balance        INCLUDING ALL);
CREATE TABLE plref.balance_change (LIKE inventory_sync.balance_change INCLUDING ALL);
CREATE TABLE plref.exception      (LIKE inventory_sync.exception      INCLUDING ALL);
CREATE TABLE plref.serial_unit    (LIKE inventory_sync.serial_unit    INCLUDING ALL);
CREATE TABLE plref.lot            (LIKE inventory_sync.lot            INCLUDING ALL);

-- ---------------------------------------------------------------------------
-- Step 1: the row trigger.
-- ---------------------------------------------------------------------------
CREATE FUNCTION plref.ledger_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    keydesc     text;
    src_role    text;
    src_roleoid oid;
    orig        plref.ledger;
    diff        text;
    it_item     inventory_sync.gtin;
    it_pack     numeric;
    it_unit     text;
    it_lot      boolean;
    it_serial   boolean;
    it_whole    boolean;
    loc_transit boolean;
    loc_enforce boolean;
    to_transit  boolean;
    to_enforce  boolean;
    owner       text;
    dest        inventory_sync.gln;
    dest_bucket text;
    enforce     boolean;
    factor      numeric;
    whole       boolean;
    u_whole     boolean;
    u_factor    numeric;
    base        numeric;
    absq        numeric;
BEGIN
    keydesc := format('source "%s", event "%s", gtin %s, location %s',
                      NEW.source, NEW.source_event_id, NEW.gtin, NEW.location);

    -- The source, and the right to post as it.
    SELECT r.oid, s.role INTO src_roleoid, src_role
      FROM inventory_sync.source s LEFT JOIN pg_catalog.pg_roles r ON r.rolname = s.role
     WHERE s.source = NEW.source;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown source "%"', NEW.source USING ERRCODE = '23503',
            DETAIL = format('Event "%s".', NEW.source_event_id),
            HINT = 'Register it with inventory_sync.add_source().';
    END IF;
    IF src_roleoid IS NULL OR NOT pg_has_role(current_user, src_roleoid, 'USAGE') THEN
        RAISE EXCEPTION 'role "%" may not post as source "%"', current_user, NEW.source
            USING ERRCODE = '42501',
            DETAIL = format('Source "%s" is bound to role "%s".', NEW.source, src_role);
    END IF;

    -- Replays: the same event with the same payload changes nothing.
    SELECT * INTO orig FROM plref.ledger l
     WHERE l.source = NEW.source AND l.source_event_id = NEW.source_event_id;
    IF FOUND THEN
        diff := CASE
            WHEN NEW.kind        IS DISTINCT FROM orig.kind        THEN 'kind'
            WHEN NEW.gtin        IS DISTINCT FROM orig.gtin        THEN 'gtin'
            WHEN NEW.location    IS DISTINCT FROM orig.location    THEN 'location'
            WHEN NEW.to_location IS DISTINCT FROM orig.to_location THEN 'to_location'
            WHEN NEW.lot         IS DISTINCT FROM orig.lot         THEN 'lot'
            WHEN NEW.serial      IS DISTINCT FROM orig.serial      THEN 'serial'
            WHEN NEW.bucket      IS DISTINCT FROM orig.bucket      THEN 'bucket'
            WHEN NEW.to_bucket   IS DISTINCT FROM orig.to_bucket   THEN 'to_bucket'
            WHEN NEW.quantity    IS DISTINCT FROM orig.quantity    THEN 'quantity'
            WHEN NEW.unit        IS DISTINCT FROM orig.unit        THEN 'unit'
        END;
        IF diff IS NOT NULL THEN
            RAISE EXCEPTION 'event "%" of source "%" was already posted with a different %',
                NEW.source_event_id, NEW.source, diff USING ERRCODE = 'IS002',
                DETAIL = format('The original is posting %s.', orig.posting_id),
                HINT = 'A source event id names one fact forever: post a correction under a new event id.';
        END IF;
        RETURN NULL;
    END IF;

    -- Item, through a pack GTIN if that is what was scanned.
    SELECT x.item, x.pack, x.base_unit, x.lot_tracked, x.serial_tracked, x.whole_numbers
      INTO it_item, it_pack, it_unit, it_lot, it_serial, it_whole
      FROM (SELECT i.gtin AS item, 1::numeric AS pack, i.base_unit, i.lot_tracked, i.serial_tracked, u.whole_numbers
              FROM inventory_sync.item i JOIN inventory_sync.unit u ON u.unit = i.base_unit
             WHERE i.gtin = NEW.gtin
            UNION ALL
            SELECT i.gtin, p.quantity, i.base_unit, i.lot_tracked, i.serial_tracked, u.whole_numbers
              FROM inventory_sync.item_pack p JOIN inventory_sync.item i ON i.gtin = p.item_gtin
              JOIN inventory_sync.unit u ON u.unit = i.base_unit
             WHERE p.pack_gtin = NEW.gtin) x
     LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown item: gtin %', NEW.gtin USING ERRCODE = '23503',
            DETAIL = format('Source "%s", event "%s".', NEW.source, NEW.source_event_id);
    END IF;

    SELECT l.kind = 'in_transit', l.enforce_ownership INTO loc_transit, loc_enforce
      FROM inventory_sync.location l WHERE l.gln = NEW.location;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown location: gln %', NEW.location USING ERRCODE = '23503',
            DETAIL = format('Source "%s", event "%s".', NEW.source, NEW.source_event_id);
    END IF;
    IF NEW.to_location IS NOT NULL THEN
        SELECT l.kind = 'in_transit', l.enforce_ownership INTO to_transit, to_enforce
          FROM inventory_sync.location l WHERE l.gln = NEW.to_location;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown location: to_location gln %', NEW.to_location USING ERRCODE = '23503';
        END IF;
    END IF;

    PERFORM FROM inventory_sync.bucket b WHERE b.bucket = NEW.bucket;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown bucket "%"', NEW.bucket USING ERRCODE = '23503', DETAIL = keydesc || '.';
    END IF;
    IF NEW.to_bucket IS NOT NULL THEN
        PERFORM FROM inventory_sync.bucket b WHERE b.bucket = NEW.to_bucket;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown bucket "%"', NEW.to_bucket USING ERRCODE = '23503', DETAIL = 'to_bucket of ' || keydesc || '.';
        END IF;
    END IF;
    IF NEW.reason IS NOT NULL THEN
        PERFORM FROM inventory_sync.reason_code r WHERE r.reason = NEW.reason;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown reason code "%"', NEW.reason USING ERRCODE = '23503', DETAIL = keydesc || '.';
        END IF;
    END IF;

    -- Which keys the kind touches, and what it needs.
    CASE NEW.kind
    WHEN 'move' THEN
        IF NEW.to_bucket IS NULL OR NEW.to_bucket = NEW.bucket THEN
            RAISE EXCEPTION 'a move needs a to_bucket different from bucket "%"', NEW.bucket USING ERRCODE = 'IS023';
        END IF;
        IF NEW.to_location IS NOT NULL AND NEW.to_location <> NEW.location THEN
            RAISE EXCEPTION 'a move stays at one location' USING ERRCODE = 'IS023';
        END IF;
    WHEN 'transfer_out' THEN
        IF NEW.to_location IS NULL OR NOT to_transit THEN
            RAISE EXCEPTION 'transfer_out needs to_location to be an in_transit location' USING ERRCODE = 'IS023';
        END IF;
    WHEN 'transfer_in' THEN
        IF NOT loc_transit OR NEW.to_location IS NULL OR to_transit THEN
            RAISE EXCEPTION 'transfer_in moves stock from an in_transit location to a receiving to_location' USING ERRCODE = 'IS023';
        END IF;
    ELSE
        IF NEW.kind = 'adjustment' AND NEW.reason IS NULL THEN
            RAISE EXCEPTION 'an adjustment needs a reason code' USING ERRCODE = 'IS023';
        END IF;
        IF NEW.to_location IS NOT NULL OR NEW.to_bucket IS NOT NULL THEN
            RAISE EXCEPTION 'a % posting touches one key: to_location and to_bucket must be empty', NEW.kind USING ERRCODE = 'IS023';
        END IF;
    END CASE;

    -- Ownership: the source must be the system of record where it posts.
    IF loc_enforce THEN
        SELECT o.source INTO owner FROM inventory_sync.ownership o
         WHERE o.location = NEW.location AND (o.bucket = NEW.bucket OR o.bucket IS NULL)
         ORDER BY o.bucket NULLS LAST LIMIT 1;
        IF FOUND AND owner <> NEW.source THEN
            RAISE EXCEPTION 'source "%" is not the system of record for bucket "%" at location %',
                NEW.source, NEW.bucket, NEW.location USING ERRCODE = 'IS001',
                DETAIL = format('The system of record is "%s" (event "%s").', owner, NEW.source_event_id);
        END IF;
    END IF;
    IF NEW.kind IN ('transfer_out', 'transfer_in', 'move') THEN
        dest := coalesce(NEW.to_location, NEW.location);
        dest_bucket := coalesce(NEW.to_bucket, NEW.bucket);
        enforce := CASE WHEN NEW.to_location IS NOT NULL THEN to_enforce ELSE loc_enforce END;
        IF enforce THEN
            SELECT o.source INTO owner FROM inventory_sync.ownership o
             WHERE o.location = dest AND (o.bucket = dest_bucket OR o.bucket IS NULL)
             ORDER BY o.bucket NULLS LAST LIMIT 1;
            IF FOUND AND owner <> NEW.source THEN
                RAISE EXCEPTION 'source "%" is not the system of record for bucket "%" at location %',
                    NEW.source, dest_bucket, dest USING ERRCODE = 'IS001';
            END IF;
        END IF;
    END IF;

    -- Lot and serial rules.
    IF it_lot AND NEW.lot IS NULL THEN
        RAISE EXCEPTION 'item % is lot-tracked: the posting needs a lot', it_item USING ERRCODE = 'IS021';
    ELSIF NOT it_lot AND NEW.lot IS NOT NULL THEN
        RAISE EXCEPTION 'item % is not lot-tracked: the posting must not name a lot', it_item USING ERRCODE = 'IS021';
    END IF;
    IF it_serial AND NEW.serial IS NULL THEN
        RAISE EXCEPTION 'item % is serial-tracked: the posting needs a serial', it_item USING ERRCODE = 'IS022';
    ELSIF NOT it_serial AND NEW.serial IS NOT NULL THEN
        RAISE EXCEPTION 'item % is not serial-tracked: the posting must not name a serial', it_item USING ERRCODE = 'IS022';
    END IF;

    -- Quantity: to base units, with the kind's sign.
    IF NEW.quantity IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'quantity % is not a number of units', NEW.quantity USING ERRCODE = 'IS020';
    END IF;
    IF NEW.unit IS NULL THEN
        factor := it_pack;
        whole := CASE WHEN it_item = NEW.gtin THEN it_whole ELSE true END;
    ELSE
        IF it_item <> NEW.gtin THEN
            RAISE EXCEPTION 'a pack GTIN is counted in packs: unit must be empty for gtin %', NEW.gtin USING ERRCODE = 'IS020';
        END IF;
        SELECT u.whole_numbers, CASE WHEN u.unit = i.base_unit THEN 1::numeric ELSE iu.factor END
          INTO u_whole, u_factor
          FROM inventory_sync.unit u
          JOIN inventory_sync.item i ON i.gtin = it_item
          LEFT JOIN inventory_sync.item_unit iu ON iu.item_gtin = i.gtin AND iu.unit = u.unit
         WHERE u.unit = NEW.unit;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown unit "%"', NEW.unit USING ERRCODE = '23503';
        END IF;
        IF u_factor IS NULL THEN
            RAISE EXCEPTION 'unit "%" does not convert to the base unit "%" of item %', NEW.unit, it_unit, it_item
                USING ERRCODE = 'IS020';
        END IF;
        factor := u_factor;
        whole := u_whole;
    END IF;
    IF whole AND NEW.quantity <> trunc(NEW.quantity) THEN
        RAISE EXCEPTION 'quantity % is not a whole number', NEW.quantity USING ERRCODE = 'IS020';
    END IF;
    base := NEW.quantity * factor;
    IF it_whole AND base <> trunc(base) THEN
        RAISE EXCEPTION 'quantity % % is % %: not a whole number of base units',
            NEW.quantity, coalesce(NEW.unit, ''), base, it_unit USING ERRCODE = 'IS020';
    END IF;
    IF NEW.kind = 'count' THEN
        IF NEW.quantity < 0 THEN
            RAISE EXCEPTION 'a count states an absolute quantity: % is negative', NEW.quantity USING ERRCODE = 'IS020';
        END IF;
    ELSIF NEW.quantity = 0 THEN
        RAISE EXCEPTION 'quantity must not be zero' USING ERRCODE = 'IS020';
    ELSIF NEW.kind NOT IN ('adjustment') THEN
        IF NEW.quantity < 0 THEN
            RAISE EXCEPTION 'quantity % must be positive for a % posting', NEW.quantity, NEW.kind USING ERRCODE = 'IS020';
        END IF;
        IF NEW.kind IN ('issue', 'consumption', 'transfer_out', 'transfer_in', 'move') THEN
            base := -base;
        END IF;
    END IF;
    IF it_serial THEN
        absq := abs(base);
        IF (NEW.kind = 'count' AND absq > 1) OR (NEW.kind <> 'count' AND absq <> 1) THEN
            RAISE EXCEPTION 'a serialised unit moves alone: quantity % is not one base unit', base USING ERRCODE = 'IS022';
        END IF;
    END IF;

    -- What the ledger sets.
    NEW.item_gtin := it_item;
    NEW.base_quantity := base;
    NEW.recorded_at := transaction_timestamp();
    NEW.actor := current_user;
    RETURN NEW;
END
$fn$;

-- ---------------------------------------------------------------------------
-- Step 2: the statement trigger (runs with the owner's rights, like ledger_apply).
-- ---------------------------------------------------------------------------
CREATE FUNCTION plref.ledger_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, inventory_sync, pg_temp AS $fn$
DECLARE
    e           record;
    p           record;
    f           record;
    have_key    boolean := false;
    k_item      inventory_sync.gtin;
    k_loc       inventory_sync.gln;
    k_lot       inventory_sync.lot_number;
    k_bucket    text;
    bid         bigint;
    qty         numeric;
    ver         bigint;
    count_at    timestamptz;
    last_pid    bigint;
    loc_strict  boolean;
    before      numeric;
    delta       numeric;
    later       numeric;
    any_lot     boolean := false;
    any_serial  boolean := false;
    known_at    inventory_sync.gln;
    has_at      boolean;
    last_bucket text;
BEGIN
    PERFORM pg_catalog.set_config('plref.engine_writing', 'on', true);

    -- Every effect of the statement, in the one global key order, then posting order.
    FOR e IN
        SELECT n.posting_id, n.kind, n.source, n.source_event_id, n.item_gtin, n.lot, n.serial,
               n.base_quantity, n.expected_quantity, n.event_time, n.recorded_at,
               x.location, x.bucket, x.entering, x.delta
          FROM new_postings n
         CROSS JOIN LATERAL (
                SELECT n.location, n.bucket, false,
                       CASE WHEN n.kind = 'count' THEN NULL ELSE n.base_quantity END, 0
                UNION ALL
                SELECT coalesce(n.to_location, n.location), coalesce(n.to_bucket, n.bucket), true,
                       -n.base_quantity, 1
                 WHERE n.kind IN ('transfer_out', 'transfer_in', 'move')
              ) x(location, bucket, entering, delta, ord)
         ORDER BY n.item_gtin, x.location, n.lot::text COLLATE "C" NULLS FIRST, x.bucket COLLATE "C",
                  n.posting_id, x.ord
    LOOP
        IF NOT have_key OR e.item_gtin <> k_item OR e.location <> k_loc
           OR e.lot IS DISTINCT FROM k_lot OR e.bucket <> k_bucket THEN
            IF have_key THEN
                UPDATE plref.balance SET quantity = qty, version = ver, last_posting_id = last_pid,
                       last_count_at = count_at, updated_at = now()
                 WHERE balance_id = bid;
            END IF;
            -- Lock the key, creating it if it is new (someone may race us).
            LOOP
                IF e.lot IS NULL THEN
                    SELECT b.balance_id, b.quantity, b.version, b.last_count_at INTO bid, qty, ver, count_at
                      FROM plref.balance b
                     WHERE b.item_gtin = e.item_gtin AND b.location = e.location AND b.lot IS NULL
                       AND b.bucket = e.bucket
                       FOR NO KEY UPDATE;
                ELSE
                    SELECT b.balance_id, b.quantity, b.version, b.last_count_at INTO bid, qty, ver, count_at
                      FROM plref.balance b
                     WHERE b.item_gtin = e.item_gtin AND b.location = e.location AND b.lot = e.lot
                       AND b.bucket = e.bucket
                       FOR NO KEY UPDATE;
                END IF;
                EXIT WHEN FOUND;
                INSERT INTO plref.balance (item_gtin, location, lot, bucket)
                VALUES (e.item_gtin, e.location, e.lot, e.bucket)
                ON CONFLICT DO NOTHING
                RETURNING balance_id, quantity, version, last_count_at INTO bid, qty, ver, count_at;
                EXIT WHEN FOUND;
            END LOOP;
            SELECT l.strict INTO loc_strict FROM inventory_sync.location l WHERE l.gln = e.location;
            have_key := true;
            k_item := e.item_gtin; k_loc := e.location; k_lot := e.lot; k_bucket := e.bucket;
            any_lot := any_lot OR e.lot IS NOT NULL;
        END IF;
        any_serial := any_serial OR e.serial IS NOT NULL;

        before := qty;
        delta := e.delta;
        IF e.kind = 'count' THEN
            -- delta = count - balance as of the watermark (this statement's earlier
            -- effects are already in balance_change: they are inserted as we go)
            SELECT coalesce(sum(c.delta), 0) INTO later FROM plref.balance_change c
             WHERE c.balance_id = bid AND c.event_time > e.event_time;
            delta := e.base_quantity - (qty - later);
            IF count_at IS NULL OR e.event_time > count_at THEN
                count_at := e.event_time;
            END IF;
        ELSIF count_at IS NOT NULL AND e.event_time < count_at THEN
            INSERT INTO plref.exception (kind, posting_id, item_gtin, location, lot, serial, bucket, detail)
            VALUES ('late_event', e.posting_id, e.item_gtin, e.location, e.lot, e.serial, e.bucket,
                    format('event "%s" of source "%s" happened at %s, before the count of %s it arrived after',
                           e.source_event_id, e.source, e.event_time, count_at));
        END IF;

        IF e.expected_quantity IS NOT NULL AND NOT e.entering AND e.expected_quantity <> before THEN
            RAISE EXCEPTION 'balance of gtin % at location %, bucket "%" is %, not the expected %',
                e.item_gtin, e.location, e.bucket, before, e.expected_quantity USING ERRCODE = 'IS003';
        END IF;

        qty := qty + delta;
        ver := ver + 1;
        last_pid := e.posting_id;

        IF delta < 0 AND qty < 0 THEN
            IF loc_strict THEN
                RAISE EXCEPTION 'insufficient stock: gtin % at location %, bucket "%" has %, the posting takes %',
                    e.item_gtin, e.location, e.bucket, before, -delta USING ERRCODE = 'IS004';
            END IF;
            INSERT INTO plref.exception (kind, posting_id, item_gtin, location, lot, serial, bucket, detail)
            VALUES ('negative_balance', e.posting_id, e.item_gtin, e.location, e.lot, e.serial, e.bucket,
                    format('balance went from %s to %s', before, qty));
        END IF;

        INSERT INTO plref.balance_change
        VALUES (e.posting_id, bid, e.item_gtin, e.location, e.lot, e.bucket, delta, qty, ver,
                e.kind, e.source, e.source_event_id, e.event_time, e.recorded_at);
    END LOOP;
    IF have_key THEN
        UPDATE plref.balance SET quantity = qty, version = ver, last_posting_id = last_pid,
               last_count_at = count_at, updated_at = now()
         WHERE balance_id = bid;
    END IF;

    -- Serials: one place at a time, conflicts become exceptions.
    IF any_serial THEN
        FOR p IN SELECT n.* FROM new_postings n WHERE n.serial IS NOT NULL
                  ORDER BY n.item_gtin, n.serial::text COLLATE "C", n.posting_id
        LOOP
            SELECT s.location INTO known_at FROM plref.serial_unit s
             WHERE s.item_gtin = p.item_gtin AND s.serial = p.serial FOR UPDATE;
            has_at := FOUND AND known_at IS NOT NULL;
            -- this posting's effects, leaving before entering
            FOR f IN SELECT c.location, c.bucket, c.delta FROM plref.balance_change c
                      WHERE c.posting_id = p.posting_id ORDER BY c.delta
            LOOP
                IF f.delta < 0 THEN
                    IF NOT has_at OR known_at <> f.location THEN
                        INSERT INTO plref.exception (kind, posting_id, item_gtin, location, lot, serial, bucket, detail)
                        VALUES ('serial_conflict', p.posting_id, p.item_gtin, f.location, p.lot, p.serial, f.bucket,
                                CASE WHEN has_at
                                     THEN format('serial leaves location %s but is known to be at %s', f.location, known_at)
                                     ELSE format('serial leaves location %s but is not known to be on hand', f.location) END);
                    END IF;
                    has_at := false;
                ELSIF f.delta > 0 THEN
                    IF has_at AND known_at <> f.location THEN
                        INSERT INTO plref.exception (kind, posting_id, item_gtin, location, lot, serial, bucket, detail)
                        VALUES ('serial_conflict', p.posting_id, p.item_gtin, f.location, p.lot, p.serial, f.bucket,
                                format('serial arrives at location %s but is known to be at %s', f.location, known_at));
                    END IF;
                    has_at := true;
                    known_at := f.location;
                END IF;
                last_bucket := f.bucket;
            END LOOP;
            INSERT INTO plref.serial_unit AS s (item_gtin, serial, location, lot, bucket, posting_id)
            VALUES (p.item_gtin, p.serial, CASE WHEN has_at THEN known_at END, p.lot,
                    CASE WHEN has_at THEN last_bucket END, p.posting_id)
            ON CONFLICT (item_gtin, serial) DO UPDATE SET location = excluded.location, lot = excluded.lot,
                bucket = excluded.bucket, posting_id = excluded.posting_id;
        END LOOP;
    END IF;

    -- Lots seen for the first time are registered.
    IF any_lot THEN
        INSERT INTO plref.lot (item_gtin, lot)
        SELECT DISTINCT n.item_gtin, n.lot FROM new_postings n WHERE n.lot IS NOT NULL
        ON CONFLICT DO NOTHING;
    END IF;

    PERFORM pg_catalog.set_config('plref.engine_writing', 'off', true);
    RETURN NULL;
END
$fn$;

-- ---------------------------------------------------------------------------
-- Guards, as in the extension.
-- ---------------------------------------------------------------------------
CREATE FUNCTION plref.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF current_setting('plref.engine_writing', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_NARGS > 0 AND TG_ARGV[0] = 'superuser'
       AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% of % is not allowed', TG_OP, TG_TABLE_NAME USING ERRCODE = 'IS030';
END
$fn$;

CREATE TRIGGER ledger_10_validate BEFORE INSERT ON plref.ledger
    FOR EACH ROW EXECUTE FUNCTION plref.ledger_before_insert();
CREATE TRIGGER ledger_20_apply AFTER INSERT ON plref.ledger
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION plref.ledger_apply();
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON plref.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION plref.refuse_change('superuser');
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON plref.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION plref.refuse_change('superuser');
CREATE TRIGGER balance_engine_only BEFORE INSERT OR UPDATE OR DELETE ON plref.balance
    FOR EACH STATEMENT EXECUTE FUNCTION plref.refuse_change();
CREATE TRIGGER balance_change_engine_only BEFORE INSERT OR UPDATE OR DELETE ON plref.balance_change
    FOR EACH STATEMENT EXECUTE FUNCTION plref.refuse_change();
CREATE TRIGGER serial_unit_engine_only BEFORE INSERT OR UPDATE OR DELETE ON plref.serial_unit
    FOR EACH STATEMENT EXECUTE FUNCTION plref.refuse_change();
