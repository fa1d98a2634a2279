-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Logistic units (SSCC): cases and pallets packed, moved, transferred, received,
-- shipped, unpacked and counted as one.
--
-- A unit is a record of which stock is in it, not a stock key: balances stay per
-- (item, location, lot, bucket). So an operation that moves a unit moves its contents as
-- ordinary postings, one ledger row per content line, all in one INSERT into the ledger:
-- the posting engine checks them like any posting (the caller's binding to the source,
-- ownership, lots, units), and balances, after-states and the feed follow from them. The
-- unit's own event is a row of logistic_unit_event. The postings' event ids are derived
-- from the caller's: <event>/<sscc>/<line>. A call repeated with the same event id is
-- recognised by the unit's history, posts nothing and returns what the first call posted;
-- the same event id with other terms is refused (IS002).
--
-- Packing posts nothing (the stock stays where it is) but allocates it: the packed lines
-- of a location, lot and bucket never exceed its balance (IS004), so the same stock is
-- never in two units. Facts posted outside the unit functions are never refused for
-- that; count_unit() reconciles a unit with what is found in it. A recall is the one
-- operation outside them that changes lines: it blocks a key's whole balance, so the
-- lines of that key in units there move with it (_recall_units, at the end).
--
-- Rights: the unit tables are written by these functions only. Each API function is an
-- entry point like recall() (src/caller.c): it runs with the caller's rights, remembers
-- the caller and calls its implementation _<name>, SECURITY DEFINER: the unit tables are
-- written with the owner's rights, the postings are checked against (and recorded as)
-- the caller. Packing and unpacking post nothing, so they check the caller's binding to
-- the source, and the source's ownership of the stock's buckets, as the engine would.
--
-- Lock order: units first (the unit a call names and the units it names, in SSCC order;
-- then the units inside it), then balance rows in the engine's order (item, location,
-- lot, bucket), taken by packing or by the postings. A unit a call creates has no row to
-- lock beforehand: its INSERT waits for a concurrent call creating the same SSCC, and
-- once that one has committed, the call goes on as if the unit had been there (a replay,
-- or the unit's rules), so no caller ever sees a unique violation for an SSCC.
-- ---------------------------------------------------------------------------

CREATE TYPE logistic_unit_status AS ENUM ('packed', 'in_transit', 'shipped', 'unpacked');
COMMENT ON TYPE logistic_unit_status IS 'Where a logistic unit is in its life: packed at a location, in transit, shipped to a customer, unpacked';

CREATE TYPE logistic_unit_event_kind AS ENUM ('packed', 'moved', 'transferred', 'received', 'shipped', 'unpacked', 'counted');
COMMENT ON TYPE logistic_unit_event_kind IS 'What happened to a logistic unit (a row of logistic_unit_event)';

CREATE TABLE logistic_unit (
    sscc       sscc PRIMARY KEY,
    parent     sscc REFERENCES logistic_unit,
    location   gln NOT NULL REFERENCES location,
    status     logistic_unit_status NOT NULL DEFAULT 'packed',
    created_at timestamptz NOT NULL DEFAULT now(),
    changed_at timestamptz NOT NULL DEFAULT now(),
    CHECK (parent OPERATOR(inventory_sync.<>) sscc)
);
COMMENT ON TABLE logistic_unit IS 'Logistic units (cases, pallets) by SSCC: where each is, in which unit, in which state (written by the unit functions only)';
COMMENT ON COLUMN logistic_unit.parent IS 'The unit it is packed in (NULL: none); it moves with that unit';
COMMENT ON COLUMN logistic_unit.location IS 'Where it is: while in transit, the in-transit location; once shipped, where it left from';
CREATE INDEX logistic_unit_parent ON logistic_unit (parent) WHERE parent IS NOT NULL;
COMMENT ON INDEX logistic_unit_parent IS 'The units packed in a unit';

CREATE TABLE logistic_unit_content (
    sscc      sscc NOT NULL REFERENCES logistic_unit,
    line_no   integer NOT NULL CHECK (line_no > 0),
    item_gtin gtin NOT NULL REFERENCES item,
    lot       lot_number,
    bucket    text NOT NULL REFERENCES bucket,
    quantity  numeric NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (sscc, line_no)
);
COMMENT ON TABLE logistic_unit_content IS 'The stock in each logistic unit, one line per item, lot and bucket, in base units (the units inside it have their own lines)';
COMMENT ON COLUMN logistic_unit_content.line_no IS 'The line''s number in its unit: the last part of the event ids of its postings';
CREATE INDEX logistic_unit_content_stock ON logistic_unit_content (item_gtin, bucket);
COMMENT ON INDEX logistic_unit_content_stock IS 'Packed stock of an item (what packing may still allocate)';

CREATE TABLE logistic_unit_event (
    unit_event_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sscc            sscc NOT NULL REFERENCES logistic_unit,
    kind            logistic_unit_event_kind NOT NULL,
    via             sscc,
    source          text NOT NULL,
    source_event_id text NOT NULL,
    location        gln NOT NULL,
    to_location     gln,
    to_bucket       text,
    parent          sscc,
    contents        jsonb,
    posting_ids     bigint[] NOT NULL DEFAULT '{}',
    terms           jsonb,
    reference       text,
    actor           text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE logistic_unit_event IS 'History of logistic units: one row per unit an operation reached (append-only, written by the unit functions only)';
COMMENT ON COLUMN logistic_unit_event.via IS 'NULL on the row of the unit the call named; on a unit inside it (or packed into it, or taken out of it), that unit';
COMMENT ON COLUMN logistic_unit_event.location IS 'Where the unit was (for a receipt from a notice: where it arrived)';
COMMENT ON COLUMN logistic_unit_event.to_location IS 'transferred: the in-transit location; received from transit: the receiving location';
COMMENT ON COLUMN logistic_unit_event.to_bucket IS 'moved, received: the bucket its contents entered';
COMMENT ON COLUMN logistic_unit_event.parent IS 'packed: the unit it was packed into; unpacked: the unit it was in';
COMMENT ON COLUMN logistic_unit_event.contents IS 'packed: the lines and units packed; unpacked: the lines released and the units taken out; counted: each line as recorded and as counted';
COMMENT ON COLUMN logistic_unit_event.posting_ids IS 'The ledger postings of this unit''s lines (event ids <source_event_id>/<sscc>/<line>)';
COMMENT ON COLUMN logistic_unit_event.terms IS 'On the named unit''s row: what the call stated; a call with the same event id must state the same (a replay) or is refused';
COMMENT ON COLUMN logistic_unit_event.actor IS 'The role that called the unit function';
CREATE UNIQUE INDEX logistic_unit_event_call ON logistic_unit_event (source, source_event_id) WHERE via IS NULL;
COMMENT ON INDEX logistic_unit_event_call IS 'One call per (source, source_event_id): a concurrent call of the same event for another unit waits and fails (23505); for the same unit it waits on the unit and is a replay';
CREATE INDEX logistic_unit_event_unit ON logistic_unit_event (sscc, unit_event_id);
COMMENT ON INDEX logistic_unit_event_unit IS 'A unit''s history in order';

CREATE TRIGGER logistic_unit_event_append_only BEFORE UPDATE OR DELETE ON logistic_unit_event
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER logistic_unit_event_no_truncate BEFORE TRUNCATE ON logistic_unit_event
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['logistic_unit', 'logistic_unit_content', 'logistic_unit_event'] LOOP
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
        EXECUTE format('GRANT SELECT ON %I TO inventory_sync_reader', t);
        PERFORM pg_catalog.pg_extension_config_dump(t::regclass, '');
    END LOOP;
    PERFORM pg_catalog.pg_extension_config_dump(
        pg_catalog.pg_get_serial_sequence('logistic_unit_event', 'unit_event_id')::regclass, '');
END
$$;

-- ---------------------------------------------------------------------------
-- Checks shared by the unit functions.
-- ---------------------------------------------------------------------------

-- The role that called the entry point (inside the implementation, current_user is the
-- owner): the role set with SET ROLE, else the login role, as recall() records it.
CREATE FUNCTION _unit_caller()
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)
$$;
COMMENT ON FUNCTION _unit_caller() IS 'The role that called a unit function: the role set with SET ROLE, else the login role';

CREATE FUNCTION _unit_not_null(fn text, names text[], nulls boolean[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    FOR i IN 1 .. pg_catalog.array_length(names, 1) LOOP
        IF nulls[i] THEN
            RAISE EXCEPTION '%(): % must not be NULL', fn, names[i]
                  USING ERRCODE = 'null_value_not_allowed',
                        HINT = format('Every argument of %s() without a default is required.', fn);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION _unit_not_null(text, text[], boolean[]) IS
  'Refuses a unit function''s call with a NULL required argument (22004), naming the first one';

-- The caller must be bound to the source, as for any posting; packing and unpacking post
-- nothing, so this is where they are checked.
CREATE FUNCTION _unit_check_source(fn text, source text, source_event_id text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    caller text := inventory_sync._unit_caller();
    bound text;
BEGIN
    IF length(source_event_id) NOT BETWEEN 1 AND 160 THEN
        RAISE EXCEPTION '%(): invalid source_event_id "%"', fn, left(source_event_id, 200)
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'A unit operation''s event id has 1 to 160 characters (its postings add /<sscc>/<line>).';
    END IF;
    SELECT s.role INTO bound FROM inventory_sync.source s WHERE s.source = source;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown source "%"', source
              USING ERRCODE = 'foreign_key_violation',
                    HINT = 'Register it: INSERT INTO inventory_sync.source (source, name, kind, role) VALUES (...), with role the database role that posts as it.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r
                    WHERE r.rolname = bound AND pg_catalog.pg_has_role(caller, r.oid, 'USAGE')) THEN
        RAISE EXCEPTION 'role "%" may not post as source "%"', caller, source
              USING ERRCODE = 'insufficient_privilege',
                    DETAIL = format('Source "%s" is bound to role "%s".', source, bound),
                    HINT = format('Post as a member of role "%s".', bound);
    END IF;
END
$$;
COMMENT ON FUNCTION _unit_check_source(text, text, text) IS
  'Refuses an event id that is empty or too long (22023), an unknown source (23503), a caller not bound to the source (42501)';

-- The engine's ownership rule, for packing and unpacking (which post nothing).
CREATE FUNCTION _unit_owner_check(source text, location gln, buckets text[])
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r record;
BEGIN
    FOR r IN SELECT b.bucket, coalesce(o1.source, o0.source) AS owner
               FROM (SELECT DISTINCT x AS bucket FROM pg_catalog.unnest(buckets) x) b
               JOIN inventory_sync.location l ON l.gln OPERATOR(inventory_sync.=) location AND l.enforce_ownership
               LEFT JOIN inventory_sync.ownership o1 ON o1.location OPERATOR(inventory_sync.=) l.gln AND o1.bucket = b.bucket
               LEFT JOIN inventory_sync.ownership o0 ON o0.location OPERATOR(inventory_sync.=) l.gln AND o0.bucket IS NULL
              ORDER BY b.bucket LOOP
        IF r.owner IS NOT NULL AND r.owner <> source THEN
            RAISE EXCEPTION 'source "%" is not the system of record for bucket "%" at location %', source, r.bucket, location
                  USING ERRCODE = 'IS001',
                        DETAIL = format('The system of record is "%s".', r.owner),
                        HINT = format('Pack and unpack through "%s", or change inventory_sync.ownership.', r.owner);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION _unit_owner_check(text, gln, text[]) IS
  'Refuses (IS001) a source that is not the system of record of a bucket at a location that enforces ownership';

-- in_transit: the location must be an in-transit one (transfers), or must not be (packing,
-- receiving), as the engine requires of transfers.
CREATE FUNCTION _unit_check_location(fn text, location gln, in_transit boolean)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    k inventory_sync.location_kind;
BEGIN
    SELECT l.kind INTO k FROM inventory_sync.location l WHERE l.gln OPERATOR(inventory_sync.=) location;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown location: gln %', location
              USING ERRCODE = 'foreign_key_violation', HINT = 'Locations are in inventory_sync.location.';
    END IF;
    IF in_transit AND k <> 'in_transit' THEN
        RAISE EXCEPTION '%(): location % is a %, not an in_transit location', fn, location, k
              USING ERRCODE = 'IS023', HINT = 'A unit travels through a location of kind in_transit, and is received from it.';
    ELSIF NOT in_transit AND k = 'in_transit' THEN
        RAISE EXCEPTION '%(): location % is an in_transit location', fn, location
              USING ERRCODE = 'IS023', HINT = 'Units are packed and received at a warehouse, store, plant or supplier; transfer_unit() puts one in transit.';
    END IF;
END
$$;
COMMENT ON FUNCTION _unit_check_location(text, gln, boolean) IS
  'Refuses an unknown location (23503), or one of the wrong kind for the operation (IS023)';

CREATE FUNCTION _unit_check_bucket(bucket text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF NOT EXISTS (SELECT FROM inventory_sync.bucket b WHERE b.bucket = bucket) THEN
        RAISE EXCEPTION 'unknown bucket "%"', bucket
              USING ERRCODE = 'foreign_key_violation', HINT = 'Buckets are in inventory_sync.bucket.';
    END IF;
END
$$;
COMMENT ON FUNCTION _unit_check_bucket(text) IS 'Refuses an unknown bucket (23503)';

-- A unit and every unit inside it, at any depth (the nesting has no cycles: packing
-- refuses them; the depth bound only guards the walk).
CREATE FUNCTION _unit_tree(sscc sscc)
RETURNS TABLE (sscc sscc, depth integer)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    WITH RECURSIVE t(sscc, depth) AS (
        SELECT $1, 0
        UNION ALL
        SELECT u.sscc, t.depth + 1
          FROM t JOIN inventory_sync.logistic_unit u ON u.parent OPERATOR(inventory_sync.=) t.sscc
         WHERE t.depth < 1000)
    SELECT t.sscc, t.depth FROM t
$$;
COMMENT ON FUNCTION _unit_tree(sscc) IS 'A logistic unit (depth 0) and every unit inside it';

-- Locks a unit, then the units inside it in SSCC order; nothing can be packed into or
-- out of a locked unit, so the set is stable once its root is locked.
CREATE FUNCTION _unit_lock(fn text, sscc sscc)
RETURNS logistic_unit
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    u inventory_sync.logistic_unit;
BEGIN
    SELECT * INTO u FROM inventory_sync.logistic_unit x WHERE x.sscc OPERATOR(inventory_sync.=) sscc FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%(): unknown logistic unit: sscc %', fn, sscc
              USING ERRCODE = 'IS054',
                    HINT = 'Pack it with pack_unit(), or receive it with receive_unit() and its advance ship notice.';
    END IF;
    PERFORM FROM inventory_sync.logistic_unit x
     WHERE x.sscc IN (SELECT t.sscc FROM inventory_sync._unit_tree(sscc) t WHERE t.depth > 0)
     ORDER BY x.sscc
       FOR UPDATE;
    RETURN u;
END
$$;
COMMENT ON FUNCTION _unit_lock(text, sscc) IS
  'Locks a logistic unit and the units inside it (unknown: IS054) and returns it';

-- A unit operation needs its unit in a state; top: the unit must not be inside another
-- (it moves with that one).
CREATE FUNCTION _unit_require(fn text, u logistic_unit, status logistic_unit_status, top boolean)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF u.status <> status THEN
        RAISE EXCEPTION '%(): logistic unit % is %, not %', fn, u.sscc,
                        pg_catalog.replace(u.status::text, '_', ' '), pg_catalog.replace(status::text, '_', ' ')
              USING ERRCODE = 'IS055',
                    DETAIL = format('It is at location %s.', u.location),
                    HINT = CASE u.status
                               WHEN 'in_transit' THEN 'Receive it first: receive_unit() with its label, at its destination.'
                               WHEN 'shipped' THEN 'A shipped unit has left the network.'
                               WHEN 'unpacked' THEN 'An unpacked unit holds nothing; an SSCC names one unit: label a new one.'
                               ELSE 'Only a unit in transit is received from transit; scan it at its destination.' END;
    END IF;
    IF top AND u.parent IS NOT NULL THEN
        RAISE EXCEPTION '%(): logistic unit % is inside unit %', fn, u.sscc, u.parent
              USING ERRCODE = 'IS055',
                    HINT = format('It moves with unit %s: unpack that unit first to handle this one on its own.', u.parent);
    END IF;
END
$$;
COMMENT ON FUNCTION _unit_require(text, logistic_unit, logistic_unit_status, boolean) IS
  'Refuses (IS055) an operation on a unit that is not in the state it needs, or that is inside another unit';

-- A call whose (source, source_event_id) named a unit operation before: true when it is
-- the same call (a replay), IS002 when it stated other terms.
CREATE FUNCTION _unit_replay(source text, source_event_id text, terms jsonb)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e inventory_sync.logistic_unit_event;
BEGIN
    SELECT * INTO e FROM inventory_sync.logistic_unit_event x
     WHERE x.source = source AND x.source_event_id = source_event_id AND x.via IS NULL;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF e.terms = terms THEN
        RETURN true;
    END IF;
    RAISE EXCEPTION 'event "%" of source "%" was already recorded with other terms', source_event_id, source
          USING ERRCODE = 'IS002',
                DETAIL = format('It recorded logistic unit %s as %s.', e.sscc, e.kind),
                HINT = 'An event id names one fact: send the new operation under a new id.';
END
$$;
COMMENT ON FUNCTION _unit_replay(text, text, jsonb) IS
  'True when a unit operation''s event was recorded before with the same terms (a replay); IS002 when with other terms';

-- The postings a recorded unit operation made (what a replay returns).
CREATE FUNCTION _unit_postings(source text, source_event_id text)
RETURNS SETOF ledger
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT l.* FROM inventory_sync.ledger l
     WHERE l.posting_id IN (SELECT pg_catalog.unnest(e.posting_ids) FROM inventory_sync.logistic_unit_event e
                             WHERE e.source = $1 AND e.source_event_id = $2)
     ORDER BY l.posting_id
$$;
COMMENT ON FUNCTION _unit_postings(text, text) IS 'The ledger postings a recorded unit operation made';

CREATE FUNCTION _unit_line_event(source_event_id text, sscc sscc, line_no integer)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT $1 || '/' || inventory_sync.text($2) || '/' || $3::text
$$;
COMMENT ON FUNCTION _unit_line_event(text, sscc, integer) IS
  'The event id of a content line''s posting: <source_event_id>/<sscc>/<line_no>';

-- ---------------------------------------------------------------------------
-- Contents and notices as JSON.
-- ---------------------------------------------------------------------------

-- One line is an object {"gtin", "quantity", "lot", "bucket"} or an array [gtin,
-- quantity, lot, bucket] (lot and bucket optional); packing also takes {"sscc": ...}, a
-- unit to put inside. A pack GTIN counts packs. Lines come back in base units of the
-- item, checked against the master data as the engine checks a posting.
-- mode: 'pack' (units allowed), 'count' (zero allowed), 'notice' (no bucket: the receipt's).
CREATE FUNCTION _unit_contents(contents jsonb, mode text, default_bucket text)
RETURNS TABLE (n integer, item_gtin gtin, quantity numeric, lot lot_number, bucket text, child sscc)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    keys constant text[] := CASE mode WHEN 'pack' THEN ARRAY['gtin', 'quantity', 'lot', 'bucket', 'sscc']
                                      WHEN 'count' THEN ARRAY['gtin', 'quantity', 'lot', 'bucket']
                                      ELSE ARRAY['gtin', 'quantity', 'lot'] END;
    e jsonb;
    i integer := 0;
    k text;
    g inventory_sync.gtin;
    it inventory_sync.item;
    factor numeric;
    whole boolean;
    q numeric;
BEGIN
    IF pg_catalog.jsonb_typeof(contents) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'contents must be a JSON array of lines, not %', left(contents::text, 100)
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'A line is {"gtin": "...", "quantity": 12, "lot": "...", "bucket": "released"} or ["<gtin>", 12, "<lot>", "<bucket>"].';
    END IF;
    FOR e IN SELECT x.value FROM pg_catalog.jsonb_array_elements(contents) x LOOP
        i := i + 1;
        IF pg_catalog.jsonb_typeof(e) = 'array' THEN
            IF pg_catalog.jsonb_array_length(e) NOT BETWEEN 2 AND 4 THEN
                RAISE EXCEPTION 'line %: % is not [gtin, quantity, lot, bucket]', i, left(e::text, 100)
                      USING ERRCODE = 'invalid_parameter_value', HINT = 'Lot and bucket may be left out, or null.';
            END IF;
            e := pg_catalog.jsonb_build_object('gtin', e->0, 'quantity', e->1, 'lot', e->2, 'bucket', e->3);
        ELSIF pg_catalog.jsonb_typeof(e) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'line %: % is neither an object nor an array', i, left(e::text, 100)
                  USING ERRCODE = 'invalid_parameter_value',
                        HINT = 'A line is {"gtin": "...", "quantity": 12, "lot": "...", "bucket": "released"} or ["<gtin>", 12, "<lot>", "<bucket>"].';
        END IF;
        e := pg_catalog.jsonb_strip_nulls(e);
        SELECT min(x) INTO k FROM pg_catalog.jsonb_object_keys(e) x WHERE x <> ALL (keys);
        IF k IS NOT NULL THEN
            RAISE EXCEPTION 'line %: unknown key "%"', i, left(k, 100)
                  USING ERRCODE = 'invalid_parameter_value',
                        HINT = format('A line here has the keys %s.', pg_catalog.array_to_string(keys, ', '));
        END IF;
        IF e ? 'sscc' THEN
            IF e <> pg_catalog.jsonb_build_object('sscc', e->'sscc') THEN
                RAISE EXCEPTION 'line %: a unit line names only its "sscc"', i
                      USING ERRCODE = 'invalid_parameter_value', HINT = 'The contents of the unit inside are its own.';
            END IF;
            n := i; item_gtin := NULL; quantity := NULL; lot := NULL; bucket := NULL;
            child := (e->>'sscc')::inventory_sync.sscc;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF NOT (e ? 'gtin' AND e ? 'quantity') THEN
            RAISE EXCEPTION 'line %: "gtin" and "quantity" are required', i
                  USING ERRCODE = 'invalid_parameter_value';
        END IF;
        g := (e->>'gtin')::inventory_sync.gtin;
        SELECT p.item_gtin, p.quantity INTO it.gtin, factor FROM inventory_sync.item_pack p WHERE p.pack_gtin OPERATOR(inventory_sync.=) g;
        IF NOT FOUND THEN
            it.gtin := g;
            factor := 1;
        END IF;
        SELECT * INTO it FROM inventory_sync.item x WHERE x.gtin OPERATOR(inventory_sync.=) it.gtin;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown item: gtin %', g
                  USING ERRCODE = 'foreign_key_violation', DETAIL = format('Line %s.', i),
                        HINT = 'Add the item to inventory_sync.item, or its pack GTIN to inventory_sync.item_pack, first.';
        END IF;
        q := (e->>'quantity')::numeric;
        IF NOT ((q > 0 OR (mode = 'count' AND q = 0)) AND q < 'Infinity'::numeric) THEN
            RAISE EXCEPTION 'line %: quantity % of gtin % is not %', i, q, g,
                            CASE mode WHEN 'count' THEN 'a count' ELSE 'positive' END
                  USING ERRCODE = 'IS020';
        END IF;
        SELECT u.whole_numbers INTO whole FROM inventory_sync.unit u WHERE u.unit = it.base_unit;
        IF (factor <> 1 AND q % 1 <> 0) OR (whole AND (q * factor) % 1 <> 0) THEN
            RAISE EXCEPTION 'line %: quantity % of gtin % is not a whole number of %', i, q, g,
                            CASE WHEN factor <> 1 THEN 'packs' ELSE it.base_unit END
                  USING ERRCODE = 'IS020';
        END IF;
        IF it.serial_tracked THEN
            RAISE EXCEPTION 'line %: item % is serial-tracked', i, it.gtin
                  USING ERRCODE = 'IS022',
                        HINT = 'The contents of a logistic unit carry no serials: post serialised units one by one.';
        END IF;
        lot := (e->>'lot')::inventory_sync.lot_number;
        IF it.lot_tracked AND lot IS NULL THEN
            RAISE EXCEPTION 'line %: item % is lot-tracked: name its lot', i, it.gtin USING ERRCODE = 'IS021';
        ELSIF NOT it.lot_tracked AND lot IS NOT NULL THEN
            RAISE EXCEPTION 'line %: item % is not lot-tracked: lot % is not allowed', i, it.gtin, lot USING ERRCODE = 'IS021';
        END IF;
        bucket := coalesce(e->>'bucket', default_bucket);
        IF bucket IS NULL THEN
            RAISE EXCEPTION 'line %: name the bucket of gtin %: the unit holds stock in several', i, g
                  USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM inventory_sync._unit_check_bucket(bucket);
        n := i; item_gtin := it.gtin; quantity := q * factor; child := NULL;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION _unit_contents(jsonb, text, text) IS
  'The lines of a JSON contents list, checked against the master data and in base units (pack: units to put inside too; count: zero allowed; notice: no bucket)';

-- Contents as the sorted, summed lines a unit operation states (its terms) and writes.
CREATE FUNCTION _unit_lines(contents jsonb, mode text, default_bucket text)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        'item_gtin', x.item_gtin, 'lot', x.lot, 'bucket', x.bucket, 'quantity', x.quantity, 'first', x.first)
                    ORDER BY x.item_gtin, x.lot NULLS FIRST, x.bucket), '[]')
      FROM (SELECT c.item_gtin, c.lot, c.bucket, sum(c.quantity) AS quantity, min(c.n) AS first
              FROM inventory_sync._unit_contents($1, $2, $3) c
             WHERE c.child IS NULL
             GROUP BY c.item_gtin, c.lot, c.bucket) x
$$;
COMMENT ON FUNCTION _unit_lines(jsonb, text, text) IS
  'A contents list as sorted lines, one per item, lot and bucket, quantities summed in base units';

-- An advance ship notice: one unit {"sscc", "contents", "units"}, the units inside it
-- listed the same way under "units", to any depth. Returns every unit, parents first.
CREATE FUNCTION _unit_notice(notice jsonb)
RETURNS TABLE (sscc sscc, parent sscc, depth integer, contents jsonb)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    level jsonb := pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('node', notice));
    next_level jsonb;
    e jsonb;
    node jsonb;
    k text;
    seen inventory_sync.sscc[] := '{}';
    d integer := 0;
BEGIN
    IF pg_catalog.jsonb_typeof(notice) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'an advance ship notice is a JSON object, not %', left(notice::text, 100)
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'One unit: {"sscc": "...", "contents": [...], "units": [{"sscc": "...", "contents": [...]}]}.';
    END IF;
    WHILE pg_catalog.jsonb_array_length(level) > 0 LOOP
        IF d >= 32 THEN
            RAISE EXCEPTION 'the advance ship notice nests units deeper than 32 levels'
                  USING ERRCODE = 'invalid_parameter_value';
        END IF;
        next_level := '[]';
        FOR e IN SELECT x.value FROM pg_catalog.jsonb_array_elements(level) x LOOP
            node := e->'node';
            IF pg_catalog.jsonb_typeof(node) IS DISTINCT FROM 'object' THEN
                RAISE EXCEPTION 'a unit of the advance ship notice is %, not an object', left(node::text, 100)
                      USING ERRCODE = 'invalid_parameter_value';
            END IF;
            node := pg_catalog.jsonb_strip_nulls(node);
            SELECT min(x) INTO k FROM pg_catalog.jsonb_object_keys(node) x WHERE x <> ALL (ARRAY['sscc', 'contents', 'units']);
            IF k IS NOT NULL THEN
                RAISE EXCEPTION 'a unit of the advance ship notice has an unknown key "%"', left(k, 100)
                      USING ERRCODE = 'invalid_parameter_value', HINT = 'A unit has the keys sscc, contents and units.';
            END IF;
            IF NOT node ? 'sscc' THEN
                RAISE EXCEPTION 'a unit of the advance ship notice has no "sscc"' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            sscc := (node->>'sscc')::inventory_sync.sscc;
            IF sscc OPERATOR(inventory_sync.=) ANY (seen) THEN
                RAISE EXCEPTION 'logistic unit % is listed twice in the advance ship notice', sscc
                      USING ERRCODE = 'invalid_parameter_value';
            END IF;
            seen := seen || sscc;
            IF pg_catalog.jsonb_typeof(coalesce(node->'units', '[]')) <> 'array' THEN
                RAISE EXCEPTION 'the "units" of logistic unit % must be a JSON array', sscc
                      USING ERRCODE = 'invalid_parameter_value';
            END IF;
            parent := (e->>'parent')::inventory_sync.sscc;
            depth := d;
            contents := coalesce(node->'contents', '[]');
            RETURN NEXT;
            next_level := next_level || coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('node', c.value, 'parent', inventory_sync.text(sscc)))
                                                    FROM pg_catalog.jsonb_array_elements(coalesce(node->'units', '[]')) c), '[]');
        END LOOP;
        level := next_level;
        d := d + 1;
    END LOOP;
END
$$;
COMMENT ON FUNCTION _unit_notice(jsonb) IS
  'The units of an advance ship notice (one unit, the units inside it under "units"), parents first; refuses a malformed notice (22023)';

-- ---------------------------------------------------------------------------
-- Writing.
-- ---------------------------------------------------------------------------

-- Packing allocates stock: the packed lines of a key at a location never exceed its
-- balance. The balance rows are locked in the engine's order first, so two packings of
-- the same stock take turns and the second sees the first's lines.
CREATE FUNCTION _unit_allocate(sscc sscc, location gln, lines jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    s record;
BEGIN
    PERFORM FROM inventory_sync.balance b
      JOIN pg_catalog.jsonb_array_elements(lines) l
        ON b.item_gtin OPERATOR(inventory_sync.=) (l.value->>'item_gtin')::inventory_sync.gtin
       AND b.location OPERATOR(inventory_sync.=) location
       AND b.lot IS NOT DISTINCT FROM (l.value->>'lot')::inventory_sync.lot_number
       AND b.bucket = l.value->>'bucket'
     ORDER BY b.item_gtin, b.location, b.lot, b.bucket
       FOR NO KEY UPDATE OF b;
    SELECT x.* INTO s
      FROM (SELECT (l.value->>'item_gtin')::inventory_sync.gtin AS item_gtin,
                   (l.value->>'lot')::inventory_sync.lot_number AS lot, l.value->>'bucket' AS bucket,
                   (l.value->>'quantity')::numeric AS quantity
              FROM pg_catalog.jsonb_array_elements(lines) l) k,
           LATERAL (SELECT k.item_gtin, k.lot, k.bucket, k.quantity,
                           coalesce((SELECT b.quantity FROM inventory_sync.balance b
                                      WHERE b.item_gtin OPERATOR(inventory_sync.=) k.item_gtin
                                        AND b.location OPERATOR(inventory_sync.=) location
                                        AND b.lot IS NOT DISTINCT FROM k.lot AND b.bucket = k.bucket), 0) AS on_hand,
                           coalesce((SELECT sum(c.quantity) FROM inventory_sync.logistic_unit_content c
                                       JOIN inventory_sync.logistic_unit u ON u.sscc OPERATOR(inventory_sync.=) c.sscc
                                      WHERE u.status = 'packed' AND u.location OPERATOR(inventory_sync.=) location
                                        AND c.item_gtin OPERATOR(inventory_sync.=) k.item_gtin
                                        AND c.lot IS NOT DISTINCT FROM k.lot AND c.bucket = k.bucket), 0) AS packed) x
     WHERE x.quantity > x.on_hand - x.packed
     ORDER BY x.item_gtin, x.lot, x.bucket
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
              MESSAGE = format('cannot pack %s of gtin %s%s in bucket "%s" at location %s: %s on hand, %s of it packed',
                               s.quantity, s.item_gtin, ' lot ' || s.lot::text, s.bucket, location,
                               s.on_hand, s.packed),
              ERRCODE = 'IS004',
                    DETAIL = format('Logistic unit %s.', sscc),
                    HINT = 'Pack what is on hand and in no other unit: post the missing receipt first, or unpack the unit that holds it.';
    END IF;
    -- a line of the same item, lot and bucket grows; the others are new lines
    UPDATE inventory_sync.logistic_unit_content c
       SET quantity = c.quantity + (l.value->>'quantity')::numeric
      FROM pg_catalog.jsonb_array_elements(lines) l
     WHERE c.sscc OPERATOR(inventory_sync.=) sscc
       AND c.item_gtin OPERATOR(inventory_sync.=) (l.value->>'item_gtin')::inventory_sync.gtin
       AND c.lot IS NOT DISTINCT FROM (l.value->>'lot')::inventory_sync.lot_number
       AND c.bucket = l.value->>'bucket'
       AND c.line_no = (SELECT min(c2.line_no) FROM inventory_sync.logistic_unit_content c2
                         WHERE c2.sscc OPERATOR(inventory_sync.=) c.sscc
                           AND c2.item_gtin OPERATOR(inventory_sync.=) c.item_gtin
                           AND c2.lot IS NOT DISTINCT FROM c.lot AND c2.bucket = c.bucket);
    INSERT INTO inventory_sync.logistic_unit_content (sscc, line_no, item_gtin, lot, bucket, quantity)
    SELECT sscc,
           coalesce((SELECT max(c.line_no) FROM inventory_sync.logistic_unit_content c
                      WHERE c.sscc OPERATOR(inventory_sync.=) sscc), 0)
             + row_number() OVER (ORDER BY (l.value->>'first')::integer),
           (l.value->>'item_gtin')::inventory_sync.gtin, (l.value->>'lot')::inventory_sync.lot_number,
           l.value->>'bucket', (l.value->>'quantity')::numeric
      FROM pg_catalog.jsonb_array_elements(lines) l
     WHERE NOT EXISTS (SELECT FROM inventory_sync.logistic_unit_content c
                        WHERE c.sscc OPERATOR(inventory_sync.=) sscc
                          AND c.item_gtin OPERATOR(inventory_sync.=) (l.value->>'item_gtin')::inventory_sync.gtin
                          AND c.lot IS NOT DISTINCT FROM (l.value->>'lot')::inventory_sync.lot_number
                          AND c.bucket = l.value->>'bucket');
END
$$;
COMMENT ON FUNCTION _unit_allocate(sscc, gln, jsonb) IS
  'Adds lines to a unit when the stock is on hand and in no other unit at the location (else IS004); balance rows locked in the engine''s order';

-- The history: a row for the named unit, and one for each other unit the call reached.
CREATE FUNCTION _unit_record(kind logistic_unit_event_kind, source text, source_event_id text, sscc sscc,
                             members sscc[], location gln, to_location gln, to_bucket text, parent sscc,
                             contents jsonb, posting_ids bigint[], terms jsonb, reference text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    INSERT INTO inventory_sync.logistic_unit_event (sscc, kind, via, source, source_event_id, location, to_location,
                                                    to_bucket, parent, contents, posting_ids, terms, reference, actor)
    SELECT m.s, kind, CASE WHEN NOT m.named THEN sscc END, source, source_event_id, location, to_location, to_bucket,
           CASE WHEN m.named THEN parent WHEN kind IN ('packed', 'unpacked') THEN sscc END,
           CASE WHEN m.named THEN contents END,
           ARRAY(SELECT l.posting_id FROM inventory_sync.ledger l
                  WHERE l.posting_id = ANY (posting_ids)
                    AND left(l.source_event_id, length(source_event_id) + 20)
                        = source_event_id || '/' || inventory_sync.text(m.s) || '/'
                  ORDER BY l.posting_id),
           CASE WHEN m.named THEN terms END, reference, inventory_sync._unit_caller()
      FROM (SELECT sscc AS s, true AS named
            UNION ALL
            SELECT x, false FROM pg_catalog.unnest(members) x) m
     ORDER BY NOT m.named, m.s;
END
$$;
COMMENT ON FUNCTION _unit_record(logistic_unit_event_kind, text, text, sscc, sscc[], gln, gln, text, sscc, jsonb, bigint[], jsonb, text) IS
  'Records a unit operation in logistic_unit_event: the named unit''s row (with the call''s terms) and one per other unit it reached, each with its own postings';

-- The units inside a unit (not the unit itself).
CREATE FUNCTION _unit_inside(sscc sscc)
RETURNS sscc[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT coalesce(pg_catalog.array_agg(t.sscc ORDER BY t.sscc), '{}') FROM inventory_sync._unit_tree($1) t WHERE t.depth > 0
$$;
COMMENT ON FUNCTION _unit_inside(sscc) IS 'The units inside a logistic unit, at any depth';

-- ---------------------------------------------------------------------------
-- Packing and unpacking.
-- ---------------------------------------------------------------------------

CREATE FUNCTION _pack_unit(source text, source_event_id text, sscc sscc, location gln, contents jsonb,
                           parent sscc, reference text)
RETURNS logistic_unit
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    u inventory_sync.logistic_unit;
    x inventory_sync.logistic_unit;
    lines jsonb;
    kids inventory_sync.sscc[];
    k inventory_sync.sscc;
    terms jsonb;
BEGIN
    PERFORM inventory_sync._unit_not_null('pack_unit', ARRAY['source', 'source_event_id', 'sscc', 'location', 'contents'],
                                          ARRAY[source IS NULL, source_event_id IS NULL, sscc IS NULL, location IS NULL, contents IS NULL]);
    PERFORM inventory_sync._unit_check_source('pack_unit', source, source_event_id);
    PERFORM inventory_sync._unit_check_location('pack_unit', location, false);
    lines := inventory_sync._unit_lines(contents, 'pack', 'released');
    kids := ARRAY(SELECT DISTINCT c.child FROM inventory_sync._unit_contents(contents, 'pack', 'released') c
                   WHERE c.child IS NOT NULL ORDER BY c.child);
    IF sscc OPERATOR(inventory_sync.=) parent OR sscc OPERATOR(inventory_sync.=) ANY (kids) THEN
        RAISE EXCEPTION 'pack_unit(): logistic unit % cannot be packed into itself', sscc
              USING ERRCODE = 'IS055', HINT = 'A unit holds other units, never itself.';
    END IF;
    terms := pg_catalog.jsonb_build_object('op', 'pack', 'sscc', sscc, 'location', location, 'parent', parent,
                                           'lines', lines, 'units', pg_catalog.to_jsonb(kids));
    PERFORM FROM inventory_sync.logistic_unit y
     WHERE y.sscc OPERATOR(inventory_sync.=) sscc OR y.sscc OPERATOR(inventory_sync.=) parent
        OR y.sscc OPERATOR(inventory_sync.=) ANY (kids)
     ORDER BY y.sscc
       FOR UPDATE;
    IF inventory_sync._unit_replay(source, source_event_id, terms) THEN
        RETURN (SELECT y FROM inventory_sync.logistic_unit y WHERE y.sscc OPERATOR(inventory_sync.=) sscc);
    END IF;

    -- the unit: a new one, or one packed here already that gets more. A new SSCC has no
    -- row to lock: a concurrent call creating the same unit is waited for by the INSERT,
    -- and once it has committed this call finds the unit it created, locks it and goes on
    -- as if the unit had been there (a replay, more stock for it, or a refusal), never
    -- with a unique violation.
    INSERT INTO inventory_sync.logistic_unit (sscc, location, status) VALUES (sscc, location, 'packed')
        ON CONFLICT DO NOTHING RETURNING * INTO u;
    IF NOT FOUND THEN
        SELECT * INTO u FROM inventory_sync.logistic_unit y WHERE y.sscc OPERATOR(inventory_sync.=) sscc FOR UPDATE;
        IF inventory_sync._unit_replay(source, source_event_id, terms) THEN
            RETURN u;
        END IF;
        PERFORM inventory_sync._unit_require('pack_unit', u, 'packed', false);
        IF u.location OPERATOR(inventory_sync.<>) location THEN
            RAISE EXCEPTION 'pack_unit(): logistic unit % is at location %, not %', sscc, u.location, location
                  USING ERRCODE = 'IS055', HINT = 'Pack into a unit where it is.';
        END IF;
    END IF;

    -- the unit it goes into, and the units that go into it: packed, here, not inside another
    IF parent IS NOT NULL THEN
        SELECT * INTO x FROM inventory_sync.logistic_unit y WHERE y.sscc OPERATOR(inventory_sync.=) parent;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'pack_unit(): unknown logistic unit: sscc %', parent
                  USING ERRCODE = 'IS054', HINT = 'Pack the outer unit first.';
        END IF;
        PERFORM inventory_sync._unit_require('pack_unit', x, 'packed', false);
        IF x.location OPERATOR(inventory_sync.<>) location THEN
            RAISE EXCEPTION 'pack_unit(): logistic unit % is at location %, not %', parent, x.location, location
                  USING ERRCODE = 'IS055', HINT = 'A unit is packed into a unit at the same location.';
        END IF;
        IF u.parent IS NOT NULL AND u.parent OPERATOR(inventory_sync.<>) parent THEN
            RAISE EXCEPTION 'pack_unit(): logistic unit % is inside unit % already', sscc, u.parent
                  USING ERRCODE = 'IS055', HINT = format('Unpack unit %s first.', u.parent);
        END IF;
        UPDATE inventory_sync.logistic_unit y SET parent = parent, changed_at = now()
         WHERE y.sscc OPERATOR(inventory_sync.=) sscc AND y.parent IS NULL;
    END IF;
    FOREACH k IN ARRAY kids LOOP
        SELECT * INTO x FROM inventory_sync.logistic_unit y WHERE y.sscc OPERATOR(inventory_sync.=) k;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'pack_unit(): unknown logistic unit: sscc %', k
                  USING ERRCODE = 'IS054', HINT = 'Pack the inner unit first.';
        END IF;
        PERFORM inventory_sync._unit_require('pack_unit', x, 'packed', false);
        IF x.location OPERATOR(inventory_sync.<>) location THEN
            RAISE EXCEPTION 'pack_unit(): logistic unit % is at location %, not %', x.sscc, x.location, location
                  USING ERRCODE = 'IS055', HINT = 'A unit is packed into a unit at the same location.';
        END IF;
        IF x.parent IS NOT NULL AND x.parent OPERATOR(inventory_sync.<>) sscc THEN
            RAISE EXCEPTION 'pack_unit(): logistic unit % is inside unit % already', x.sscc, x.parent
                  USING ERRCODE = 'IS055', HINT = format('Unpack unit %s first.', x.parent);
        END IF;
    END LOOP;
    UPDATE inventory_sync.logistic_unit y SET parent = sscc, changed_at = now()
     WHERE y.sscc OPERATOR(inventory_sync.=) ANY (kids) AND y.parent IS NULL;
    -- every new nesting passes through this unit: a cycle would lead back to it
    IF EXISTS (WITH RECURSIVE up(s) AS (
                   SELECT y.parent FROM inventory_sync.logistic_unit y WHERE y.sscc OPERATOR(inventory_sync.=) sscc
                   UNION
                   SELECT y.parent FROM up JOIN inventory_sync.logistic_unit y ON y.sscc OPERATOR(inventory_sync.=) up.s)
               SELECT FROM up WHERE up.s OPERATOR(inventory_sync.=) sscc) THEN
        RAISE EXCEPTION 'pack_unit(): logistic unit % would be inside itself', sscc
              USING ERRCODE = 'IS055', DETAIL = 'One of the units packed into it holds the unit it is packed into.',
                    HINT = 'A unit cannot hold a unit it is inside.';
    END IF;

    PERFORM inventory_sync._unit_owner_check(source, location,
                                             ARRAY(SELECT l.value->>'bucket' FROM pg_catalog.jsonb_array_elements(lines) l));
    PERFORM inventory_sync._unit_allocate(sscc, location, lines);
    UPDATE inventory_sync.logistic_unit y SET changed_at = now() WHERE y.sscc OPERATOR(inventory_sync.=) sscc RETURNING * INTO u;
    PERFORM inventory_sync._unit_record('packed', source, source_event_id, sscc, kids, location, NULL, NULL, parent,
                                        pg_catalog.jsonb_build_object('lines', lines, 'units', pg_catalog.to_jsonb(kids)),
                                        '{}', terms, reference);
    RETURN u;
END
$$;
COMMENT ON FUNCTION _pack_unit(text, text, sscc, gln, jsonb, sscc, text) IS
  'The implementation behind pack_unit(): creates the unit (or adds to one packed at the location), nests it and the units it names, allocates the stock lines';

CREATE FUNCTION pack_unit(source text, source_event_id text, sscc sscc, location gln, contents jsonb,
                          parent sscc DEFAULT NULL, reference text DEFAULT NULL)
RETURNS logistic_unit
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp;
COMMENT ON FUNCTION pack_unit(text, text, sscc, gln, jsonb, sscc, text) IS
  'Packs stock on hand (and units) into a logistic unit at a location, optionally inside another unit; posts nothing, allocates the stock (IS004 beyond what is on hand and unpacked)';

CREATE FUNCTION _unpack_unit(source text, source_event_id text, sscc sscc, reference text)
RETURNS logistic_unit
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    u inventory_sync.logistic_unit;
    kids inventory_sync.sscc[];
    lines jsonb;
    terms jsonb;
    was_in inventory_sync.sscc;
BEGIN
    PERFORM inventory_sync._unit_not_null('unpack_unit', ARRAY['source', 'source_event_id', 'sscc'],
                                          ARRAY[source IS NULL, source_event_id IS NULL, sscc IS NULL]);
    PERFORM inventory_sync._unit_check_source('unpack_unit', source, source_event_id);
    terms := pg_catalog.jsonb_build_object('op', 'unpack', 'sscc', sscc);
    u := inventory_sync._unit_lock('unpack_unit', sscc);
    IF inventory_sync._unit_replay(source, source_event_id, terms) THEN
        RETURN u;
    END IF;
    PERFORM inventory_sync._unit_require('unpack_unit', u, 'packed', false);
    was_in := u.parent;
    SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('line_no', c.line_no, 'item_gtin', c.item_gtin,
                                            'lot', c.lot, 'bucket', c.bucket, 'quantity', c.quantity) ORDER BY c.line_no), '[]')
      INTO lines
      FROM inventory_sync.logistic_unit_content c WHERE c.sscc OPERATOR(inventory_sync.=) sscc;
    PERFORM inventory_sync._unit_owner_check(source, u.location,
                                             ARRAY(SELECT l.value->>'bucket' FROM pg_catalog.jsonb_array_elements(lines) l));
    kids := ARRAY(SELECT y.sscc FROM inventory_sync.logistic_unit y
                   WHERE y.parent OPERATOR(inventory_sync.=) sscc ORDER BY y.sscc);
    -- unpacking releases stock and units: with neither, the call names the wrong unit
    IF pg_catalog.jsonb_array_length(lines) = 0 AND pg_catalog.cardinality(kids) = 0 THEN
        RAISE EXCEPTION 'unpack_unit(): logistic unit % is empty', sscc
              USING ERRCODE = 'IS055',
                    DETAIL = format('It holds no stock and no unit at location %s.', u.location),
                    HINT = 'Check the SSCC scanned; an empty unit stays packed and can still be packed into.';
    END IF;
    DELETE FROM inventory_sync.logistic_unit_content c WHERE c.sscc OPERATOR(inventory_sync.=) sscc;
    UPDATE inventory_sync.logistic_unit y SET parent = NULL, changed_at = now()
     WHERE y.parent OPERATOR(inventory_sync.=) sscc;
    UPDATE inventory_sync.logistic_unit y SET status = 'unpacked', parent = NULL, changed_at = now()
     WHERE y.sscc OPERATOR(inventory_sync.=) sscc
    RETURNING * INTO u;
    PERFORM inventory_sync._unit_record('unpacked', source, source_event_id, sscc, kids, u.location, NULL, NULL,
                                        was_in,
                                        pg_catalog.jsonb_build_object('lines', lines, 'units', pg_catalog.to_jsonb(kids)),
                                        '{}', terms, reference);
    RETURN u;
END
$$;
COMMENT ON FUNCTION _unpack_unit(text, text, sscc, text) IS
  'The implementation behind unpack_unit(): releases the unit''s lines and the units inside it, marks it unpacked';

CREATE FUNCTION unpack_unit(source text, source_event_id text, sscc sscc, reference text DEFAULT NULL)
RETURNS logistic_unit
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp;
COMMENT ON FUNCTION unpack_unit(text, text, sscc, text) IS
  'Unpacks a logistic unit where it is: its stock is loose again, the units inside it stand on their own; posts nothing';

-- ---------------------------------------------------------------------------
-- Operations that move the contents: one INSERT into the ledger per call.
-- ---------------------------------------------------------------------------

-- Posts one ledger row per content line of a unit and the units inside it (a move skips
-- the lines already in to_bucket), all in one statement; returns their posting ids.
CREATE FUNCTION _unit_post(kind posting_kind, source text, source_event_id text, sscc sscc, location gln,
                           to_location gln, to_bucket text, reason text, reference text, eta timestamptz)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    events text[];
BEGIN
    events := ARRAY(SELECT inventory_sync._unit_line_event(source_event_id, c.sscc, c.line_no)
                      FROM inventory_sync.logistic_unit_content c
                      JOIN inventory_sync._unit_tree(sscc) t ON t.sscc OPERATOR(inventory_sync.=) c.sscc
                     WHERE kind <> 'move' OR c.bucket <> to_bucket);
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, to_location, lot, bucket,
                                       to_bucket, quantity, reason, reference, eta)
    SELECT kind, source, inventory_sync._unit_line_event(source_event_id, c.sscc, c.line_no), c.item_gtin,
           location, to_location, c.lot, c.bucket, to_bucket, c.quantity, reason, reference, eta
      FROM inventory_sync.logistic_unit_content c
      JOIN inventory_sync._unit_tree(sscc) t ON t.sscc OPERATOR(inventory_sync.=) c.sscc
     WHERE kind <> 'move' OR c.bucket <> to_bucket
     ORDER BY c.sscc, c.line_no;
    RETURN ARRAY(SELECT l.posting_id FROM inventory_sync.ledger l
                  WHERE l.source = source AND l.source_event_id = ANY (events) ORDER BY l.posting_id);
END
$$;
COMMENT ON FUNCTION _unit_post(posting_kind, text, text, sscc, gln, gln, text, text, text, timestamptz) IS
  'Posts the contents of a unit and the units inside it, one ledger row per line (event ids <event>/<sscc>/<line>) in one INSERT; returns the posting ids';

CREATE FUNCTION _unit_postings_of(posting_ids bigint[])
RETURNS SETOF ledger
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT l.* FROM inventory_sync.ledger l WHERE l.posting_id = ANY ($1) ORDER BY l.posting_id
$$;
COMMENT ON FUNCTION _unit_postings_of(bigint[]) IS 'Ledger rows by posting id, in order';

CREATE FUNCTION _move_unit(source text, source_event_id text, sscc sscc, to_bucket text, reason text, reference text)
RETURNS SETOF ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    u inventory_sync.logistic_unit;
    terms jsonb;
    ids bigint[];
BEGIN
    PERFORM inventory_sync._unit_not_null('move_unit', ARRAY['source', 'source_event_id', 'sscc', 'to_bucket'],
                                          ARRAY[source IS NULL, source_event_id IS NULL, sscc IS NULL, to_bucket IS NULL]);
    PERFORM inventory_sync._unit_check_source('move_unit', source, source_event_id);
    PERFORM inventory_sync._unit_check_bucket(to_bucket);
    terms := pg_catalog.jsonb_build_object('op', 'move', 'sscc', sscc, 'to_bucket', to_bucket);
    u := inventory_sync._unit_lock('move_unit', sscc);
    IF inventory_sync._unit_replay(source, source_event_id, terms) THEN
        RETURN QUERY SELECT * FROM inventory_sync._unit_postings(source, source_event_id);
        RETURN;
    END IF;
    PERFORM inventory_sync._unit_require('move_unit', u, 'packed', true);
    ids := inventory_sync._unit_post('move', source, source_event_id, sscc, u.location, NULL, to_bucket, reason, reference, NULL);
    UPDATE inventory_sync.logistic_unit_content c SET bucket = to_bucket
     WHERE c.sscc IN (SELECT t.sscc FROM inventory_sync._unit_tree(sscc) t) AND c.bucket <> to_bucket;
    UPDATE inventory_sync.logistic_unit y SET changed_at = now()
     WHERE y.sscc IN (SELECT t.sscc FROM inventory_sync._unit_tree(sscc) t);
    PERFORM inventory_sync._unit_record('moved', source, source_event_id, sscc, inventory_sync._unit_inside(sscc),
                                        u.location, NULL, to_bucket, NULL, NULL, ids, terms, reference);
    RETURN QUERY SELECT * FROM inventory_sync._unit_postings_of(ids);
END
$$;
COMMENT ON FUNCTION _move_unit(text, text, sscc, text, text, text) IS
  'The implementation behind move_unit(): moves every line of the unit and the units inside it into to_bucket, in one statement';

CREATE FUNCTION move_unit(source text, source_event_id text, sscc sscc, to_bucket text,
                          reason text DEFAULT NULL, reference text DEFAULT NULL)
RETURNS SETOF ledger
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp;
COMMENT ON FUNCTION move_unit(text, text, sscc, text, text, text) IS
  'Moves a logistic unit''s contents (units inside it included) into another bucket where it is: one move posting per line, in one INSERT';

CREATE FUNCTION _transfer_unit(source text, source_event_id text, sscc sscc, in_transit gln, eta timestamptz,
                               reference text)
RETURNS SETOF ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    u inventory_sync.logistic_unit;
    terms jsonb;
    ids bigint[];
BEGIN
    PERFORM inventory_sync._unit_not_null('transfer_unit', ARRAY['source', 'source_event_id', 'sscc', 'in_transit'],
                                          ARRAY[source IS NULL, source_event_id IS NULL, sscc IS NULL, in_transit IS NULL]);
    PERFORM inventory_sync._unit_check_source('transfer_unit', source, source_event_id);
    PERFORM inventory_sync._unit_check_location('transfer_unit', in_transit, true);
    terms := pg_catalog.jsonb_build_object('op', 'transfer', 'sscc', sscc, 'in_transit', in_transit);
    u := inventory_sync._unit_lock('transfer_unit', sscc);
    IF inventory_sync._unit_replay(source, source_event_id, terms) THEN
        RETURN QUERY SELECT * FROM inventory_sync._unit_postings(source, source_event_id);
        RETURN;
    END IF;
    PERFORM inventory_sync._unit_require('transfer_unit', u, 'packed', true);
    ids := inventory_sync._unit_post('transfer_out', source, source_event_id, sscc, u.location, in_transit, NULL,
                                     NULL, reference, eta);
    UPDATE inventory_sync.logistic_unit y SET location = in_transit, status = 'in_transit', changed_at = now()
     WHERE y.sscc IN (SELECT t.sscc FROM inventory_sync._unit_tree(sscc) t);
    PERFORM inventory_sync._unit_record('transferred', source, source_event_id, sscc, inventory_sync._unit_inside(sscc),
                                        u.location, in_transit, NULL, NULL, NULL, ids, terms, reference);
    RETURN QUERY SELECT * FROM inventory_sync._unit_postings_of(ids);
END
$$;
COMMENT ON FUNCTION _transfer_unit(text, text, sscc, gln, timestamptz, text) IS
  'The implementation behind transfer_unit(): transfers every line of the unit and the units inside it into an in-transit location, in one statement';

CREATE FUNCTION transfer_unit(source text, source_event_id text, sscc sscc, in_transit gln,
                              eta timestamptz DEFAULT NULL, reference text DEFAULT NULL)
RETURNS SETOF ledger
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp;
COMMENT ON FUNCTION transfer_unit(text, text, sscc, gln, timestamptz, text) IS
  'Sends a logistic unit (units inside it included) into an in-transit location: one transfer_out posting per line, in one INSERT; receive_unit() at the destination brings it in';

CREATE FUNCTION _ship_unit(source text, source_event_id text, sscc sscc, reference text)
RETURNS SETOF ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    u inventory_sync.logistic_unit;
    terms jsonb;
    ids bigint[];
BEGIN
    PERFORM inventory_sync._unit_not_null('ship_unit', ARRAY['source', 'source_event_id', 'sscc'],
                                          ARRAY[source IS NULL, source_event_id IS NULL, sscc IS NULL]);
    PERFORM inventory_sync._unit_check_source('ship_unit', source, source_event_id);
    terms := pg_catalog.jsonb_build_object('op', 'ship', 'sscc', sscc);
    u := inventory_sync._unit_lock('ship_unit', sscc);
    IF inventory_sync._unit_replay(source, source_event_id, terms) THEN
        RETURN QUERY SELECT * FROM inventory_sync._unit_postings(source, source_event_id);
        RETURN;
    END IF;
    PERFORM inventory_sync._unit_require('ship_unit', u, 'packed', true);
    ids := inventory_sync._unit_post('issue', source, source_event_id, sscc, u.location, NULL, NULL, NULL, reference, NULL);
    UPDATE inventory_sync.logistic_unit y SET status = 'shipped', changed_at = now()
     WHERE y.sscc IN (SELECT t.sscc FROM inventory_sync._unit_tree(sscc) t);
    PERFORM inventory_sync._unit_record('shipped', source, source_event_id, sscc, inventory_sync._unit_inside(sscc),
                                        u.location, NULL, NULL, NULL, NULL, ids, terms, reference);
    RETURN QUERY SELECT * FROM inventory_sync._unit_postings_of(ids);
END
$$;
COMMENT ON FUNCTION _ship_unit(text, text, sscc, text) IS
  'The implementation behind ship_unit(): issues every line of the unit and the units inside it, in one statement, and marks them shipped';

CREATE FUNCTION ship_unit(source text, source_event_id text, sscc sscc, reference text DEFAULT NULL)
RETURNS SETOF ledger
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp;
COMMENT ON FUNCTION ship_unit(text, text, sscc, text) IS
  'Ships a logistic unit (units inside it included) to a customer: one issue posting per line, in one INSERT';

-- An SSCC names one unit: a notice announcing a unit the network knows is refused.
CREATE FUNCTION _unit_refuse_known(units jsonb)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    known inventory_sync.logistic_unit;
BEGIN
    SELECT y.* INTO known FROM inventory_sync.logistic_unit y
     WHERE y.sscc IN (SELECT (x.value->>'sscc')::inventory_sync.sscc FROM pg_catalog.jsonb_array_elements(units) x)
     ORDER BY y.sscc LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'receive_unit(): logistic unit % is known already', known.sscc
              USING ERRCODE = 'IS055',
                    DETAIL = format('It is %s at location %s.', pg_catalog.replace(known.status::text, '_', ' '), known.location),
                    HINT = 'A unit in transit is received by its label; an SSCC names one unit.';
    END IF;
END
$$;
COMMENT ON FUNCTION _unit_refuse_known(jsonb) IS
  'Refuses (IS055) a notice that announces a logistic unit the network knows already, naming the first one';

-- A unit the network does not know arrives: its units and lines are created, and
-- received as one receipt posting per line.
CREATE FUNCTION _unit_receive_new(source text, source_event_id text, notice jsonb, location gln, bucket text,
                                  reference text, terms jsonb)
RETURNS SETOF ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    units jsonb;
    top inventory_sync.sscc;
    created bigint;
    ids bigint[];
BEGIN
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('sscc', n.sscc, 'parent', n.parent, 'depth', n.depth,
                                    'lines', inventory_sync._unit_lines(n.contents, 'notice', bucket))
                                ORDER BY n.depth, n.sscc)
      INTO units FROM inventory_sync._unit_notice(notice) n;
    top := (units->0->>'sscc')::inventory_sync.sscc;
    terms := coalesce(terms, pg_catalog.jsonb_build_object('op', 'receive', 'location', location, 'bucket', bucket,
                                                          'units', units));
    PERFORM FROM inventory_sync.logistic_unit y
     WHERE y.sscc IN (SELECT (x.value->>'sscc')::inventory_sync.sscc FROM pg_catalog.jsonb_array_elements(units) x)
     ORDER BY y.sscc
       FOR UPDATE;
    IF inventory_sync._unit_replay(source, source_event_id, terms) THEN
        RETURN QUERY SELECT * FROM inventory_sync._unit_postings(source, source_event_id);
        RETURN;
    END IF;
    PERFORM inventory_sync._unit_refuse_known(units);
    -- A concurrent call receiving one of these units is waited for by the INSERT; once it
    -- has committed, its units are known: this call is its replay, or is refused as a
    -- unit known already, never with a unique violation.
    INSERT INTO inventory_sync.logistic_unit (sscc, parent, location, status)
    SELECT (x.value->>'sscc')::inventory_sync.sscc, (x.value->>'parent')::inventory_sync.sscc, location, 'packed'
      FROM pg_catalog.jsonb_array_elements(units) x
     ORDER BY (x.value->>'depth')::integer
        ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS created = ROW_COUNT;
    IF created < pg_catalog.jsonb_array_length(units) THEN
        IF inventory_sync._unit_replay(source, source_event_id, terms) THEN
            RETURN QUERY SELECT * FROM inventory_sync._unit_postings(source, source_event_id);
            RETURN;
        END IF;
        PERFORM inventory_sync._unit_refuse_known(units);
    END IF;
    INSERT INTO inventory_sync.logistic_unit_content (sscc, line_no, item_gtin, lot, bucket, quantity)
    SELECT (x.value->>'sscc')::inventory_sync.sscc,
           row_number() OVER (PARTITION BY x.value->>'sscc' ORDER BY (l.value->>'first')::integer),
           (l.value->>'item_gtin')::inventory_sync.gtin, (l.value->>'lot')::inventory_sync.lot_number,
           l.value->>'bucket', (l.value->>'quantity')::numeric
      FROM pg_catalog.jsonb_array_elements(units) x, pg_catalog.jsonb_array_elements(x.value->'lines') l;
    ids := inventory_sync._unit_post('receipt', source, source_event_id, top, location, NULL, NULL, NULL, reference, NULL);
    PERFORM inventory_sync._unit_record('received', source, source_event_id, top, inventory_sync._unit_inside(top),
                                        location, NULL, bucket, NULL, NULL, ids, terms, reference);
    RETURN QUERY SELECT * FROM inventory_sync._unit_postings_of(ids);
END
$$;
COMMENT ON FUNCTION _unit_receive_new(text, text, jsonb, gln, text, text, jsonb) IS
  'Receives units the network does not know yet, from a notice: creates them and their lines, one receipt posting per line in one INSERT';

CREATE FUNCTION _receive_unit(source text, source_event_id text, notice jsonb, location gln, bucket text,
                              reference text)
RETURNS SETOF ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    PERFORM inventory_sync._unit_not_null('receive_unit', ARRAY['source', 'source_event_id', 'notice', 'location', 'bucket'],
                                          ARRAY[source IS NULL, source_event_id IS NULL, notice IS NULL, location IS NULL, bucket IS NULL]);
    PERFORM inventory_sync._unit_check_source('receive_unit', source, source_event_id);
    PERFORM inventory_sync._unit_check_location('receive_unit', location, false);
    PERFORM inventory_sync._unit_check_bucket(bucket);
    RETURN QUERY SELECT * FROM inventory_sync._unit_receive_new(source, source_event_id, notice, location, bucket, reference, NULL);
END
$$;
COMMENT ON FUNCTION _receive_unit(text, text, jsonb, gln, text, text) IS
  'The implementation behind receive_unit() from an advance ship notice: receives the unit and the units inside it';

CREATE FUNCTION receive_unit(source text, source_event_id text, notice jsonb, location gln,
                             bucket text DEFAULT 'receiving', reference text DEFAULT NULL)
RETURNS SETOF ledger
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp;
COMMENT ON FUNCTION receive_unit(text, text, jsonb, gln, text, text) IS
  'Receives a whole unit (a pallet and the units inside it) from its advance ship notice: creates the units, one receipt posting per line, in one INSERT';

CREATE FUNCTION _receive_unit(source text, source_event_id text, label text, location gln, bucket text,
                              reference text)
RETURNS SETOF ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    p inventory_sync.gs1_element_string;
    u inventory_sync.logistic_unit;
    terms jsonb;
    ids bigint[];
BEGIN
    PERFORM inventory_sync._unit_not_null('receive_unit', ARRAY['source', 'source_event_id', 'label', 'location', 'bucket'],
                                          ARRAY[source IS NULL, source_event_id IS NULL, label IS NULL, location IS NULL, bucket IS NULL]);
    PERFORM inventory_sync._unit_check_source('receive_unit', source, source_event_id);
    PERFORM inventory_sync._unit_check_location('receive_unit', location, false);
    PERFORM inventory_sync._unit_check_bucket(bucket);
    p := inventory_sync.gs1_parse(label);
    IF p.sscc IS NULL THEN
        RAISE EXCEPTION 'receive_unit(): label "%" has no SSCC (AI 00)', left(label, 100)
              USING ERRCODE = 'invalid_parameter_value', HINT = 'Scan the logistic unit''s label: its SSCC is AI 00.';
    END IF;
    terms := pg_catalog.jsonb_build_object('op', 'receive', 'sscc', p.sscc, 'location', location, 'bucket', bucket,
                                           'content_gtin', p.content_gtin, 'count', p.count, 'lot', p.lot);
    IF NOT EXISTS (SELECT FROM inventory_sync.logistic_unit y WHERE y.sscc OPERATOR(inventory_sync.=) p.sscc) THEN
        -- a unit from outside the network whose label states what is in it
        IF p.content_gtin IS NULL OR p.count IS NULL THEN
            RAISE EXCEPTION 'receive_unit(): unknown logistic unit: sscc %', p.sscc
                  USING ERRCODE = 'IS054',
                        HINT = 'Receive it with its advance ship notice (receive_unit() with the notice as jsonb), or scan a label that states its contents (AI 02 and 37).';
        END IF;
        RETURN QUERY SELECT * FROM inventory_sync._unit_receive_new(
            source, source_event_id,
            pg_catalog.jsonb_build_object('sscc', p.sscc, 'contents', pg_catalog.jsonb_build_array(
                pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('gtin', p.content_gtin, 'quantity', p.count, 'lot', p.lot)))),
            location, bucket, reference, terms);
        RETURN;
    END IF;
    u := inventory_sync._unit_lock('receive_unit', p.sscc);
    IF inventory_sync._unit_replay(source, source_event_id, terms) THEN
        RETURN QUERY SELECT * FROM inventory_sync._unit_postings(source, source_event_id);
        RETURN;
    END IF;
    PERFORM inventory_sync._unit_require('receive_unit', u, 'in_transit', true);
    ids := inventory_sync._unit_post('transfer_in', source, source_event_id, u.sscc, u.location, location, bucket,
                                     NULL, reference, NULL);
    UPDATE inventory_sync.logistic_unit_content c SET bucket = bucket
     WHERE c.sscc IN (SELECT t.sscc FROM inventory_sync._unit_tree(u.sscc) t);
    UPDATE inventory_sync.logistic_unit y SET location = location, status = 'packed', changed_at = now()
     WHERE y.sscc IN (SELECT t.sscc FROM inventory_sync._unit_tree(u.sscc) t);
    PERFORM inventory_sync._unit_record('received', source, source_event_id, u.sscc, inventory_sync._unit_inside(u.sscc),
                                        u.location, location, bucket, NULL, NULL, ids, terms, reference);
    RETURN QUERY SELECT * FROM inventory_sync._unit_postings_of(ids);
END
$$;
COMMENT ON FUNCTION _receive_unit(text, text, text, gln, text, text) IS
  'The implementation behind receive_unit() from a scanned label: a unit in transit is received from transit; an unknown one whose label states its contents is received as new';

CREATE FUNCTION receive_unit(source text, source_event_id text, label text, location gln,
                             bucket text DEFAULT 'receiving', reference text DEFAULT NULL)
RETURNS SETOF ledger
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp;
COMMENT ON FUNCTION receive_unit(text, text, text, gln, text, text) IS
  'Receives a logistic unit by its scanned label (GS1 element string with AI 00): from transit (one transfer_in posting per line, in one INSERT), or, unknown, from the contents its label states (AI 02, 37, 10)';

-- ---------------------------------------------------------------------------
-- Counting.
-- ---------------------------------------------------------------------------

-- The difference between a unit's lines and what was counted in it, key by key; lines
-- that stay keep their number, new ones are numbered after the last.
CREATE FUNCTION _unit_count_report(sscc sscc, counted jsonb)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    WITH rec AS (
        SELECT c.item_gtin, c.lot, c.bucket, sum(c.quantity) AS quantity, min(c.line_no) AS line_no
          FROM inventory_sync.logistic_unit_content c WHERE c.sscc OPERATOR(inventory_sync.=) $1
         GROUP BY c.item_gtin, c.lot, c.bucket),
    cnt AS (
        SELECT (l.value->>'item_gtin')::inventory_sync.gtin AS item_gtin, (l.value->>'lot')::inventory_sync.lot_number AS lot,
               l.value->>'bucket' AS bucket, (l.value->>'quantity')::numeric AS quantity
          FROM pg_catalog.jsonb_array_elements($2) l),
    k AS (
        SELECT r.item_gtin, r.lot, r.bucket FROM rec r UNION SELECT c.item_gtin, c.lot, c.bucket FROM cnt c),
    j AS (
        SELECT k.item_gtin, k.lot, k.bucket, coalesce(r.quantity, 0) AS recorded, coalesce(c.quantity, 0) AS counted,
               r.line_no
          FROM k
          LEFT JOIN rec r ON r.item_gtin OPERATOR(inventory_sync.=) k.item_gtin AND r.lot IS NOT DISTINCT FROM k.lot
                         AND r.bucket = k.bucket
          LEFT JOIN cnt c ON c.item_gtin OPERATOR(inventory_sync.=) k.item_gtin AND c.lot IS NOT DISTINCT FROM k.lot
                         AND c.bucket = k.bucket
         WHERE r.quantity IS NOT NULL OR c.quantity > 0)
    SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'line_no', n.line_no, 'item_gtin', n.item_gtin, 'lot', n.lot, 'bucket', n.bucket,
               'recorded', n.recorded, 'counted', n.counted, 'difference', n.counted - n.recorded) ORDER BY n.line_no), '[]')
      FROM (SELECT j.item_gtin, j.lot, j.bucket, j.recorded, j.counted,
                   coalesce(j.line_no,
                            (SELECT coalesce(max(c.line_no), 0) FROM inventory_sync.logistic_unit_content c
                              WHERE c.sscc OPERATOR(inventory_sync.=) $1)
                            + row_number() OVER (PARTITION BY j.line_no IS NULL ORDER BY j.item_gtin, j.lot NULLS FIRST, j.bucket)) AS line_no
              FROM j) n
$$;
COMMENT ON FUNCTION _unit_count_report(sscc, jsonb) IS
  'A unit''s lines against the lines counted in it: per item, lot and bucket the recorded and counted quantities and the line number';

CREATE FUNCTION _count_unit(source text, source_event_id text, sscc sscc, contents jsonb, reference text)
RETURNS TABLE (line_no integer, item_gtin gtin, lot lot_number, bucket text, recorded numeric, counted numeric,
               difference numeric, posting_id bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    u inventory_sync.logistic_unit;
    default_bucket text;
    lines jsonb;
    report jsonb;
    terms jsonb;
    ids bigint[];
BEGIN
    PERFORM inventory_sync._unit_not_null('count_unit', ARRAY['source', 'source_event_id', 'sscc', 'contents'],
                                          ARRAY[source IS NULL, source_event_id IS NULL, sscc IS NULL, contents IS NULL]);
    PERFORM inventory_sync._unit_check_source('count_unit', source, source_event_id);
    -- the count as stated: how its lines read depends on the unit's lines, which it changes
    terms := pg_catalog.jsonb_build_object('op', 'count', 'sscc', sscc, 'contents', contents);
    u := inventory_sync._unit_lock('count_unit', sscc);
    IF NOT inventory_sync._unit_replay(source, source_event_id, terms) THEN
        PERFORM inventory_sync._unit_require('count_unit', u, 'packed', false);
        -- a counted line without a bucket is in the unit's bucket, when its lines share one
        SELECT CASE count(DISTINCT c.bucket) WHEN 0 THEN 'released' WHEN 1 THEN min(c.bucket) END INTO default_bucket
          FROM inventory_sync.logistic_unit_content c WHERE c.sscc OPERATOR(inventory_sync.=) sscc;
        lines := inventory_sync._unit_lines(contents, 'count', default_bucket);
        report := inventory_sync._unit_count_report(sscc, lines);
        INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reason, reference)
        SELECT 'adjustment', source, inventory_sync._unit_line_event(source_event_id, sscc, (r.value->>'line_no')::integer),
               (r.value->>'item_gtin')::inventory_sync.gtin, u.location, (r.value->>'lot')::inventory_sync.lot_number,
               r.value->>'bucket', (r.value->>'difference')::numeric, 'count', reference
          FROM pg_catalog.jsonb_array_elements(report) r
         WHERE (r.value->>'difference')::numeric <> 0
         ORDER BY (r.value->>'line_no')::integer;
        SELECT coalesce(pg_catalog.jsonb_agg(r.value || pg_catalog.jsonb_build_object('posting_id', l.posting_id)
                                             ORDER BY (r.value->>'line_no')::integer), '[]')
          INTO report
          FROM pg_catalog.jsonb_array_elements(report) r
          LEFT JOIN inventory_sync.ledger l
            ON (r.value->>'difference')::numeric <> 0 AND l.source = source
           AND l.source_event_id = inventory_sync._unit_line_event(source_event_id, sscc, (r.value->>'line_no')::integer);
        ids := ARRAY(SELECT (r.value->>'posting_id')::bigint FROM pg_catalog.jsonb_array_elements(report) r
                      WHERE r.value->>'posting_id' IS NOT NULL ORDER BY 1);
        DELETE FROM inventory_sync.logistic_unit_content c WHERE c.sscc OPERATOR(inventory_sync.=) sscc;
        INSERT INTO inventory_sync.logistic_unit_content (sscc, line_no, item_gtin, lot, bucket, quantity)
        SELECT sscc, (r.value->>'line_no')::integer, (r.value->>'item_gtin')::inventory_sync.gtin,
               (r.value->>'lot')::inventory_sync.lot_number, r.value->>'bucket', (r.value->>'counted')::numeric
          FROM pg_catalog.jsonb_array_elements(report) r
         WHERE (r.value->>'counted')::numeric > 0;
        UPDATE inventory_sync.logistic_unit y SET changed_at = now() WHERE y.sscc OPERATOR(inventory_sync.=) sscc;
        PERFORM inventory_sync._unit_record('counted', source, source_event_id, sscc, '{}', u.location, NULL, NULL, NULL,
                                            report, ids, terms, reference);
    END IF;
    RETURN QUERY
    SELECT (r.value->>'line_no')::integer, (r.value->>'item_gtin')::inventory_sync.gtin,
           (r.value->>'lot')::inventory_sync.lot_number, r.value->>'bucket', (r.value->>'recorded')::numeric,
           (r.value->>'counted')::numeric, (r.value->>'difference')::numeric, (r.value->>'posting_id')::bigint
      FROM inventory_sync.logistic_unit_event e, pg_catalog.jsonb_array_elements(e.contents) r
     WHERE e.source = source AND e.source_event_id = source_event_id AND e.via IS NULL
     ORDER BY 1;
END
$$;
COMMENT ON FUNCTION _count_unit(text, text, sscc, jsonb, text) IS
  'The implementation behind count_unit(): compares the unit''s lines with what was counted in it, posts each difference as an adjustment (reason count) in one INSERT, and makes the lines what was counted';

CREATE FUNCTION count_unit(source text, source_event_id text, sscc sscc, contents jsonb, reference text DEFAULT NULL)
RETURNS TABLE (line_no integer, item_gtin gtin, lot lot_number, bucket text, recorded numeric, counted numeric,
               difference numeric, posting_id bigint)
AS 'MODULE_PATHNAME', 'api_entry' LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp;
COMMENT ON FUNCTION count_unit(text, text, sscc, jsonb, text) IS
  'Counts what is in a logistic unit (its own lines; a unit inside it is counted by its own SSCC): posts each difference as an adjustment with reason count and returns every line as recorded and counted';

-- ---------------------------------------------------------------------------
-- A recall reaches the units (called by _recall_block in 520_recall.sql).
-- ---------------------------------------------------------------------------

-- The logistic units at the keys a recall blocked: a move takes the key's whole balance,
-- so every line of it in a unit packed at that location, or in transit through it, is
-- now in the blocking bucket too; a pallet of recalled trays cannot be shipped as if it
-- still held sellable stock. Each unit reached gets a "moved" row in its history, event
-- <recall_ref>/<sscc>, with the recall's postings of its keys. Only the lines are
-- written (their rows are locked after the balance rows, as a unit operation locks them
-- after its own postings); the units' rows are not, so the recall never waits on a unit
-- operation that waits on it.
CREATE FUNCTION _recall_units(r recall, posting_ids bigint[])
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    WITH reached AS (
        UPDATE inventory_sync.logistic_unit_content c SET bucket = r.to_bucket
          FROM inventory_sync.ledger l, inventory_sync.logistic_unit u
         WHERE l.posting_id = ANY (posting_ids) AND l.serial IS NULL
           AND u.sscc OPERATOR(inventory_sync.=) c.sscc AND u.status IN ('packed', 'in_transit')
           AND u.location OPERATOR(inventory_sync.=) l.location
           AND c.item_gtin OPERATOR(inventory_sync.=) l.item_gtin AND c.lot OPERATOR(inventory_sync.=) l.lot
           AND c.bucket = l.bucket
        RETURNING c.sscc, u.location, l.posting_id)
    INSERT INTO inventory_sync.logistic_unit_event (sscc, kind, source, source_event_id, location, to_bucket,
                                                    posting_ids, terms, reference, actor)
    SELECT x.sscc, 'moved', r.source, r.recall_ref || '/' || inventory_sync.text(x.sscc), x.location, r.to_bucket,
           pg_catalog.array_agg(DISTINCT x.posting_id ORDER BY x.posting_id),
           pg_catalog.jsonb_build_object('op', 'recall', 'recall_ref', r.recall_ref), r.recall_ref,
           inventory_sync._unit_caller()
      FROM reached x
     GROUP BY x.sscc, x.location
     ORDER BY x.sscc
    ON CONFLICT (source, source_event_id) WHERE via IS NULL DO NOTHING;
END
$$;
COMMENT ON FUNCTION _recall_units(recall, bigint[]) IS
  'Moves the lines of the logistic units at the keys a recall blocked into its blocking bucket and records a "moved" row in each unit''s history';
