-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Order brokering: where each line of an order ships from, chosen by the channel's rules
-- (data, not code), and held as reservations in the same transaction.
--
-- broker() plans the whole order first (read only: location ATP of every item at every
-- location of the channel, less what the plan already took), then takes its locks in the
-- global order of the promise layer (205_promise_locks.sql: the capacity rows of the
-- locations it uses, then every promise key, then the channel ATP rows) and holds each
-- part with reserve(... location => chosen). reserve() checks ATP again under its locks:
-- a part it refuses refuses the whole order (or, with partial, is reported unallocated),
-- so nothing is promised beyond ATP whatever runs at the same time.
--
-- Rules are tried in order (rule_no); within a rule, the whole order at one location
-- (when the rule prefers one shipment), then each line at one location, then, where the
-- rule allows it, each remaining line split over several. Among the eligible locations of
-- a rule the nearest to the ship-to point is taken first, then the channel's priority,
-- then the GLN: the same order and the same stock always give the same answer.
-- ---------------------------------------------------------------------------

CREATE TABLE location_group (
    location_group text PRIMARY KEY CONSTRAINT location_group_name_format CHECK (location_group ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    name           text NOT NULL CONSTRAINT location_group_name_length CHECK (length(name) BETWEEN 1 AND 200)
);
COMMENT ON TABLE location_group IS 'Named groups of locations (a region, the stores that ship) that brokering rules choose among';
COMMENT ON COLUMN location_group.location_group IS 'The group''s key: 1 to 64 letters, digits, _ . : -';

CREATE TABLE location_group_member (
    location_group text NOT NULL REFERENCES location_group ON DELETE CASCADE,
    location       gln NOT NULL REFERENCES location,
    PRIMARY KEY (location_group, location)
);
COMMENT ON TABLE location_group_member IS 'The locations of each location group (a location may be in several)';

CREATE TABLE broker_location (
    location             gln PRIMARY KEY REFERENCES location,
    closed               boolean NOT NULL DEFAULT false,
    daily_order_capacity integer CONSTRAINT broker_location_capacity_positive CHECK (daily_order_capacity > 0)
);
COMMENT ON TABLE broker_location IS 'What brokering needs to know of a location beyond the channel: closed, and how many orders a day it can take (no row: open, no limit)';
COMMENT ON COLUMN broker_location.closed IS 'Closed locations are never chosen by broker() (their stock still counts in ATP and may be reserved by name)';
COMMENT ON COLUMN broker_location.daily_order_capacity IS 'Most orders broker() sends to the location per day (every order brokered to it since midnight counts, rejected or not); NULL: no limit';

CREATE TABLE broker_rule (
    channel                text NOT NULL REFERENCES channel ON DELETE CASCADE,
    rule_no                integer NOT NULL CONSTRAINT broker_rule_no_range CHECK (rule_no BETWEEN 1 AND 1000),
    location_group         text REFERENCES location_group,
    location_kind          location_kind,
    max_distance_km        numeric CONSTRAINT broker_rule_max_distance_range CHECK (max_distance_km > 0 AND max_distance_km <= 20040),
    allow_split            boolean NOT NULL DEFAULT false,
    max_shipments          integer NOT NULL DEFAULT 1 CONSTRAINT broker_rule_max_shipments_range CHECK (max_shipments BETWEEN 1 AND 10),
    min_split_quantity     numeric NOT NULL DEFAULT 1
                           CONSTRAINT broker_rule_min_split_range CHECK (min_split_quantity > 0 AND min_split_quantity < 1e15),
    prefer_single_shipment boolean NOT NULL DEFAULT false,
    PRIMARY KEY (channel, rule_no),
    CONSTRAINT broker_rule_split_shipments CHECK (allow_split = (max_shipments > 1))
);
COMMENT ON TABLE broker_rule IS 'Brokering rules of a channel, tried in rule_no order: which of the channel''s locations a line may ship from and whether it may be split (no rule: every location, one shipment per line)';
COMMENT ON COLUMN broker_rule.rule_no IS 'Order in which the channel''s rules are tried (1 to 1000; lower first)';
COMMENT ON COLUMN broker_rule.location_group IS 'Only the channel''s locations in this group (NULL: any)';
COMMENT ON COLUMN broker_rule.location_kind IS 'Only the channel''s locations of this kind (NULL: any)';
COMMENT ON COLUMN broker_rule.max_distance_km IS 'Only locations at most this far (great circle) from the ship-to point; a location without coordinates, or an order without a ship-to point, is then not eligible (NULL: any distance)';
COMMENT ON COLUMN broker_rule.allow_split IS 'A line no single location covers may be split over several locations (then max_shipments is above 1)';
COMMENT ON COLUMN broker_rule.max_shipments IS 'Most locations one line is split over (1 when allow_split is false)';
COMMENT ON COLUMN broker_rule.min_split_quantity IS 'A line of fewer units than this is never split';
COMMENT ON COLUMN broker_rule.prefer_single_shipment IS 'Try first to ship every line still to place from one location';

CREATE TABLE broker_order (
    channel           text NOT NULL,
    order_ref         text NOT NULL,
    lines             jsonb NOT NULL,
    ship_to_latitude  double precision,
    ship_to_longitude double precision,
    pickup_location   gln,
    partial           boolean NOT NULL,
    brokered_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, order_ref)
);
COMMENT ON TABLE broker_order IS 'Orders broker() has held, with the terms they were brokered on (brokering the same order again returns its allocation)';
COMMENT ON COLUMN broker_order.lines IS 'The order''s lines as given: [{"line_ref", "item", "quantity"}, ...]';
COMMENT ON COLUMN broker_order.pickup_location IS 'The location the customer collects from, when named (the whole order is held there)';

CREATE TABLE broker_allocation (
    allocation_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel        text NOT NULL,
    order_ref      text NOT NULL,
    line_ref       text NOT NULL,
    unit_ref       text NOT NULL,
    part           integer NOT NULL,
    item_gtin      gtin NOT NULL,
    location       gln,
    quantity       numeric NOT NULL,
    rule_no        integer,
    distance_km    numeric,
    reservation_id bigint UNIQUE,
    status         text NOT NULL CONSTRAINT broker_allocation_status CHECK (status IN ('held', 'rejected', 'unallocated')),
    brokered_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (channel, order_ref) REFERENCES broker_order
);
CREATE INDEX broker_allocation_order ON broker_allocation (channel, order_ref, unit_ref);
CREATE INDEX broker_allocation_location ON broker_allocation (location, brokered_at);
COMMENT ON TABLE broker_allocation IS 'Every part of every brokered line: where it is held (its reservation), rejected, or left unallocated';
COMMENT ON COLUMN broker_allocation.unit_ref IS 'What is placed as one: the line (or, for a kit, the components that ship together or one that does not); a part''s reservation line_ref is it, or it followed by #<part>';
COMMENT ON COLUMN broker_allocation.part IS 'Number of the part within its unit (1, 2, ...; a part placed after a rejection takes the next number)';
COMMENT ON COLUMN broker_allocation.rule_no IS 'The broker_rule that chose the location (NULL: a pickup location named by the caller, or a channel without rules)';
COMMENT ON COLUMN broker_allocation.distance_km IS 'Great-circle distance from the ship-to point, km to one decimal (NULL: unknown)';
COMMENT ON COLUMN broker_allocation.status IS 'held (reserved), rejected (the location could not ship it: see broker_rejection), unallocated (partial brokering found no stock for it)';
COMMENT ON INDEX broker_allocation_order IS 'An order''s allocation, unit by unit';
COMMENT ON INDEX broker_allocation_location IS 'Orders brokered to a location per day (daily capacity), parts per location (KPI)';

CREATE TABLE broker_rejection (
    rejection_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    allocation_id  bigint NOT NULL REFERENCES broker_allocation,
    reservation_id bigint NOT NULL,
    location       gln NOT NULL,
    reason         text NOT NULL,
    rejected_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX broker_rejection_allocation ON broker_rejection (allocation_id);
COMMENT ON TABLE broker_rejection IS 'Parts a location rejected (reject_allocation()): why and when';
COMMENT ON INDEX broker_rejection_allocation IS 'The rejection of an allocated part';

-- Written only by broker() and reject_allocation() (owner's rights); read by readers.
GRANT SELECT ON location_group, location_group_member, broker_location, broker_rule, broker_order,
                broker_allocation, broker_rejection TO inventory_sync_reader;
GRANT INSERT, UPDATE, DELETE ON location_group, location_group_member, broker_location, broker_rule
   TO inventory_sync_admin;
SELECT pg_catalog.pg_extension_config_dump('location_group', '');
SELECT pg_catalog.pg_extension_config_dump('location_group_member', '');
SELECT pg_catalog.pg_extension_config_dump('broker_location', '');
SELECT pg_catalog.pg_extension_config_dump('broker_rule', '');
SELECT pg_catalog.pg_extension_config_dump('broker_order', '');
SELECT pg_catalog.pg_extension_config_dump('broker_allocation', '');
SELECT pg_catalog.pg_extension_config_dump('broker_rejection', '');
SELECT pg_catalog.pg_extension_config_dump('broker_allocation_allocation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('broker_rejection_rejection_id_seq', '');
-- the brokering plan keeps each channel's locations per backend (src/broker_plan.c), with
-- their groups, closing and capacity, and the channel's rules: a change tells it (as
-- channel_location's and location's own triggers do)
CREATE TRIGGER broker_location_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON broker_location
    FOR EACH STATEMENT EXECUTE FUNCTION master_data_changed();
CREATE TRIGGER location_group_member_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON location_group_member
    FOR EACH STATEMENT EXECUTE FUNCTION master_data_changed();
CREATE TRIGGER broker_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON broker_rule
    FOR EACH STATEMENT EXECUTE FUNCTION master_data_changed();

CREATE VIEW kpi_broker_rejection AS
SELECT a.location,
       count(*) AS parts_allocated,
       count(*) FILTER (WHERE a.status = 'rejected') AS parts_rejected,
       round(count(*) FILTER (WHERE a.status = 'rejected')::numeric / count(*), 4) AS rejection_rate
  FROM inventory_sync.broker_allocation a
 WHERE a.location IS NOT NULL
 GROUP BY a.location;
COMMENT ON VIEW kpi_broker_rejection IS 'Per location: parts broker() allocated there, how many it rejected, and the rejection rate (rejected / allocated)';
GRANT SELECT ON kpi_broker_rejection TO inventory_sync_reader;

-- Great-circle distance on a sphere of the Earth's mean radius (haversine): accurate to
-- about half a percent, which is all a choice between locations needs.
CREATE FUNCTION great_circle_km(lat1 double precision, lon1 double precision,
                                lat2 double precision, lon2 double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 2 * 6371.0088 * asin(least(1, sqrt(
               power(sin(radians($3 - $1) / 2), 2)
             + cos(radians($1)) * cos(radians($3)) * power(sin(radians($4 - $2) / 2), 2))))
$$;
COMMENT ON FUNCTION great_circle_km(double precision, double precision, double precision, double precision) IS
  'Great-circle distance in km between two points given as latitude and longitude in degrees (haversine, mean Earth radius)';

-- The order's lines checked and expanded into units (what is placed as one): a line is
-- one unit when it is one component; a kit's components that ship together are one unit
-- (the line_ref), each other component its own (line_ref/<n>). Every component carries
-- the line_ref its reservations take (then #<part> when a unit is split).
CREATE FUNCTION _broker_units(order_ref text, lines jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    e jsonb;
    n integer := 0;
    ref text;
    item_text text;
    qty numeric;
    seen text[] := '{}';
    units jsonb;
BEGIN
    IF lines IS NULL THEN
        RAISE EXCEPTION 'broker() needs the order''s lines' USING ERRCODE = '22004', DETAIL = format('Order "%s".', order_ref),
              HINT = 'lines is a JSON array of {"line_ref": "1", "item": "<GTIN>", "quantity": 2}.';
    END IF;
    IF jsonb_typeof(lines) <> 'array' OR jsonb_array_length(lines) NOT BETWEEN 1 AND 500 THEN
        RAISE EXCEPTION 'the lines of order "%" must be a JSON array of 1 to 500 lines, not %', order_ref, left(lines::text, 100)
              USING ERRCODE = '22023', HINT = 'lines is a JSON array of {"line_ref": "1", "item": "<GTIN>", "quantity": 2}.';
    END IF;
    FOR e IN SELECT x FROM jsonb_array_elements(lines) x LOOP
        n := n + 1;
        IF jsonb_typeof(e) <> 'object' OR jsonb_typeof(e->'line_ref') IS DISTINCT FROM 'string'
           OR length(e->>'line_ref') NOT BETWEEN 1 AND 180 OR (e->>'line_ref') ~ '[#/]' THEN
            RAISE EXCEPTION 'line % of order "%" has no valid line_ref: %', n, order_ref, left(e::text, 100)
                  USING ERRCODE = '22023',
                        HINT = 'Each line is an object whose "line_ref" is a string of 1 to 180 characters without # or /.';
        END IF;
        ref := e->>'line_ref';
        IF ref = ANY (seen) THEN
            RAISE EXCEPTION 'line "%" is given twice in order "%"', ref, order_ref USING ERRCODE = '22023',
                  HINT = 'A line_ref names one line of the order.';
        END IF;
        seen := seen || ref;
        item_text := e->>'item';
        IF jsonb_typeof(e->'item') IS DISTINCT FROM 'string' OR NOT inventory_sync.gtin_is_valid(item_text) THEN
            RAISE EXCEPTION 'line "%" of order "%": item % is not a valid GTIN', ref, order_ref, coalesce((e->'item')::text, 'NULL')
                  USING ERRCODE = '22P02', HINT = 'Give the item''s GTIN as a string of 8, 12, 13 or 14 digits.';
        END IF;
        IF NOT EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = item_text::inventory_sync.gtin)
           AND NOT EXISTS (SELECT FROM inventory_sync.kit k WHERE k.gtin = item_text::inventory_sync.gtin) THEN
            RAISE EXCEPTION 'line "%" of order "%": unknown item: gtin %', ref, order_ref, item_text USING ERRCODE = '23503',
                  HINT = 'A line sells an item or a kit (inventory_sync.item, inventory_sync.kit).';
        END IF;
        IF jsonb_typeof(e->'quantity') IS DISTINCT FROM 'number' THEN
            RAISE EXCEPTION 'line "%" of order "%": quantity % must be a positive number', ref, order_ref,
                  coalesce((e->'quantity')::text, 'NULL') USING ERRCODE = 'IS020', HINT = 'Give it as a JSON number.';
        END IF;
        qty := (e->>'quantity')::numeric;
        IF qty <= 0 OR qty >= 1e15 THEN
            RAISE EXCEPTION 'line "%" of order "%": quantity % must be positive', ref, order_ref, qty USING ERRCODE = 'IS020';
        END IF;
    END LOOP;
    -- every line checked: their components and units in one statement (a statement per line
    -- would plan _order_line_components again for each); a line without components makes
    -- the whole NULL, as concatenating line by line would. Materialized: each line's
    -- components are read once, and the plan's estimate stays below JIT's threshold.
    WITH l AS MATERIALIZED (SELECT x.n, x.e->>'line_ref' AS ref,
                      (SELECT jsonb_agg(jsonb_build_object('item', c.component::text, 'quantity', c.quantity,
                                                           'together', c.ships_together) ORDER BY c.ord)
                         FROM inventory_sync._order_line_components((x.e->>'item')::inventory_sync.gtin, (x.e->>'quantity')::numeric)
                              WITH ORDINALITY c(component, quantity, ships_together, ord)) AS comps
                 FROM jsonb_array_elements(lines) WITH ORDINALITY x(e, n))
    SELECT CASE WHEN bool_and(l.comps IS NOT NULL)
                THEN coalesce(jsonb_agg(u.u ORDER BY l.n, u.k) FILTER (WHERE u.u IS NOT NULL), '[]') END
      INTO units
      FROM l LEFT JOIN LATERAL jsonb_array_elements(inventory_sync._broker_line_units(l.ref, l.comps)) WITH ORDINALITY u(u, k)
           ON true;
    RETURN units;
END
$$;
COMMENT ON FUNCTION _broker_units(text, jsonb) IS
  'Internal: checks an order''s lines (22004, 22023, 22P02, 23503, IS020) and expands them into the units broker() places';

-- The same in C (src/broker_hold.c) for an order whose every line is right and of one
-- component (an item, or a kit of one): one unit a line, what each line's GTIN takes
-- kept per backend (src/broker_units.c: dropped when item, kit or kit_component change
-- or _order_line_components() is replaced), the lines not kept read in one query. NULL
-- for any other order: _broker_units() expands it, or says what
-- is wrong with it.
CREATE FUNCTION _broker_units_placed(order_ref text, lines jsonb)
RETURNS jsonb
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS 'MODULE_PATHNAME', 'broker_units_placed';
COMMENT ON FUNCTION _broker_units_placed(text, jsonb) IS
  'Internal: the units of an order whose every line is right and of one component, in C; NULL: _broker_units() expands it or refuses it';

-- A line's components as units: all in one when there is one component, the ones that
-- ship together in one (the line_ref), each other one alone (line_ref/<n>).
CREATE FUNCTION _broker_line_units(line_ref text, comps jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN   -- PL/pgSQL, not SQL: the statement is planned once per backend, not once per line
    RETURN (SELECT CASE WHEN jsonb_array_length(comps) = 1 THEN
                jsonb_build_array(jsonb_build_object('line_ref', line_ref, 'unit_ref', line_ref, 'splittable', true,
                    'comps', jsonb_build_array(jsonb_build_object('item', comps->0->>'item', 'quantity', comps->0->'quantity',
                                                                  'ref', line_ref))))
           ELSE coalesce((SELECT jsonb_agg(u ORDER BY u->>'unit_ref') FROM (
                    SELECT jsonb_build_object('line_ref', line_ref, 'unit_ref', line_ref, 'splittable', false,
                               'comps', jsonb_agg(jsonb_build_object('item', c.e->>'item', 'quantity', c.e->'quantity',
                                                                     'ref', line_ref || '/' || c.n) ORDER BY c.n)) AS u
                      FROM jsonb_array_elements(comps) WITH ORDINALITY c(e, n)
                     WHERE (c.e->>'together')::boolean
                    HAVING count(*) > 0
                    UNION ALL
                    SELECT jsonb_build_object('line_ref', line_ref, 'unit_ref', line_ref || '/' || c.n, 'splittable', true,
                               'comps', jsonb_build_array(jsonb_build_object('item', c.e->>'item', 'quantity', c.e->'quantity',
                                                                             'ref', line_ref || '/' || c.n)))
                      FROM jsonb_array_elements(comps) WITH ORDINALITY c(e, n)
                     WHERE NOT (c.e->>'together')::boolean) s), '[]')
           END);
END
$$;
COMMENT ON FUNCTION _broker_line_units(text, jsonb) IS
  'Internal: the units one order line is placed as (its components that ship together as one, each other one alone)';

-- The locations a rule lets broker() choose, nearest first (then the channel's priority,
-- then the GLN): the channel's, open, under their daily order capacity (this order not
-- counted), in the rule's group and of its kind, within its distance, not excluded. With a
-- pickup location, that one alone (the rule is not asked); without a rule, all of them.
CREATE FUNCTION _broker_candidates(channel text, rule_no integer, latitude double precision, longitude double precision,
                                   pickup gln, order_ref text, exclude gln[])
RETURNS TABLE (location gln, distance_km numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT cl.location, round(inventory_sync.great_circle_km($3, $4, l.latitude, l.longitude)::numeric, 1) AS d
      FROM inventory_sync.channel_location cl
      JOIN inventory_sync.location l ON l.gln = cl.location
      LEFT JOIN inventory_sync.broker_location b ON b.location = cl.location
      LEFT JOIN inventory_sync.broker_rule r ON r.channel = cl.channel AND r.rule_no = $2 AND $5 IS NULL
     WHERE cl.channel = $1
       AND ($5 IS NULL OR cl.location = $5)
       AND NOT coalesce(b.closed, false)
       AND NOT (cl.location = ANY (coalesce($7, '{}')))
       AND (b.daily_order_capacity IS NULL
            OR (SELECT count(DISTINCT (a.channel, a.order_ref)) FROM inventory_sync.broker_allocation a
                 WHERE a.location = cl.location AND a.brokered_at >= date_trunc('day', now())
                   AND a.status <> 'unallocated' AND NOT (a.channel = $1 AND a.order_ref = $6))
               < b.daily_order_capacity)
       AND ($2 IS NULL OR $5 IS NOT NULL OR (
                (r.location_group IS NULL OR EXISTS (SELECT FROM inventory_sync.location_group_member m
                                                      WHERE m.location_group = r.location_group AND m.location = cl.location))
            AND (r.location_kind IS NULL OR l.kind = r.location_kind)
            AND (r.max_distance_km IS NULL OR inventory_sync.great_circle_km($3, $4, l.latitude, l.longitude) <= r.max_distance_km)))
     ORDER BY d NULLS LAST, cl.priority, cl.location;
END
$$;
COMMENT ON FUNCTION _broker_candidates(text, integer, double precision, double precision, gln, text, gln[]) IS
  'Internal: the locations of a channel a brokering rule may choose, nearest first (then channel priority, then GLN)';

-- What stock offers the plan: the ATP of each item at each location of the channel (as
-- the channel sees it: its shelf-life rule), keyed "<gtin>@<gln>", and the channel's ATP
-- of each item, keyed "<gtin>" (a line held at a location takes from both). Location ATP
-- is read where it is stored and of today (location_atp, kept exact by every change of
-- its inputs), and computed only where it is not.
CREATE FUNCTION _broker_stock(channel text, items gtin[])
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    RETURN coalesce((
        WITH k AS (SELECT i.item, cl.location, c.min_shelf_life_days AS shelf, la.atp, la.computed_on
                     FROM (SELECT DISTINCT u AS item FROM unnest($2) u) i
                    CROSS JOIN inventory_sync.channel_location cl
                     JOIN inventory_sync.channel c ON c.channel = cl.channel
                     LEFT JOIN inventory_sync.location_atp la
                            ON la.item_gtin = i.item AND la.location = cl.location
                           AND la.min_shelf_life_days = c.min_shelf_life_days
                    WHERE cl.channel = $1),
             stale AS (SELECT array_agg(k.item) AS its, array_agg(k.location) AS locs, array_agg(k.shelf) AS shelves
                         FROM k WHERE k.computed_on IS DISTINCT FROM current_date)
        -- as the channel sees it: what other channels' protections keep back there is not its
        SELECT jsonb_object_agg(x.item::text || '@' || x.location::text,
                                x.atp - CASE WHEN x.item = ANY (p.items)
                                             THEN inventory_sync._protected_from($1, x.item, x.location) ELSE 0 END)
          FROM (SELECT array_agg(DISTINCT cp.item_gtin) AS items FROM inventory_sync.channel_protection cp
                 WHERE cp.item_gtin = ANY ($2)) p,
               (SELECT k.item, k.location, k.atp FROM k WHERE k.computed_on = current_date
                UNION ALL
                SELECT a.item_gtin, a.location, a.atp
                  FROM stale, inventory_sync._location_atp_of(stale.its, stale.locs, stale.shelves) a
                 WHERE stale.its IS NOT NULL) x), '{}')
        || coalesce((SELECT jsonb_object_agg(i.item::text, inventory_sync._channel_atp_now($1, i.item))
                       FROM (SELECT DISTINCT u AS item FROM unnest($2) u) i), '{}');
END
$$;
COMMENT ON FUNCTION _broker_stock(text, gtin[]) IS
  'Internal: the ATP a brokering plan starts from: each item at each location of the channel as the channel sees it (stored location ATP of today, else computed; other channels'' protections kept back), and in the channel';

-- What the plan may still take of an item at a location: its ATP there and the channel's,
-- less what the plan took already.
CREATE FUNCTION _broker_available(stock jsonb, used jsonb, item text, location text)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT least(coalesce(($1->>($3 || '@' || $4))::numeric, 0) - coalesce(($2->>($3 || '@' || $4))::numeric, 0),
                 coalesce(($1->>$3)::numeric, 0) - coalesce(($2->>$3)::numeric, 0))
$$;
COMMENT ON FUNCTION _broker_available(jsonb, jsonb, text, text) IS
  'Internal: what a brokering plan may still take of an item at a location (its ATP there and in the channel, less the plan''s)';

-- The plan's use of stock after taking a quantity of an item at a location.
CREATE FUNCTION _broker_use(used jsonb, item text, location text, quantity numeric)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT $1 || jsonb_build_object($2 || '@' || $3, coalesce(($1->>($2 || '@' || $3))::numeric, 0) + $4,
                                    $2, coalesce(($1->>$2)::numeric, 0) + $4)
$$;
COMMENT ON FUNCTION _broker_use(jsonb, text, text, numeric) IS
  'Internal: a brokering plan''s use of stock after one more part';

-- The first of the given locations (its position) at which every component of the given
-- units fits; NULL when none: one statement, not a call per location.
CREATE FUNCTION _broker_first_fit(stock jsonb, used jsonb, units jsonb, locs gln[])
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    WITH q AS (SELECT c->>'item' AS item, sum((c->>'quantity')::numeric) AS quantity
                 FROM jsonb_array_elements($3) u, jsonb_array_elements(u->'comps') c
                GROUP BY 1)
    SELECT l.n::integer FROM unnest($4) WITH ORDINALITY l(loc, n)
     WHERE NOT EXISTS (SELECT FROM q WHERE inventory_sync._broker_available($1, $2, q.item, l.loc::text) < q.quantity)
     ORDER BY l.n LIMIT 1
$$;
COMMENT ON FUNCTION _broker_first_fit(jsonb, jsonb, jsonb, gln[]) IS
  'Internal: the position of the first of the given locations at which every component of the given units fits (NULL: none)';

-- The parts of a unit held whole at one location (one per component).
CREATE FUNCTION _broker_unit_parts(unit jsonb, part integer, suffix boolean, location text, rule_no integer,
                                   distance_km numeric)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_agg(jsonb_build_object('line_ref', $1->>'line_ref', 'unit_ref', $1->>'unit_ref', 'part', $2,
                                        'item', c->>'item', 'quantity', c->'quantity', 'location', $4,
                                        'rule_no', $5, 'distance_km', $6,
                                        'reservation_line_ref', (c->>'ref') || CASE WHEN $3 THEN '#' || $2 ELSE '' END))
      FROM jsonb_array_elements($1->'comps') c
$$;
COMMENT ON FUNCTION _broker_unit_parts(jsonb, integer, boolean, text, integer, numeric) IS
  'Internal: the parts (one per component) of a unit held whole at one location';

-- A one-component unit taken from the given locations in their order, as much as each
-- has, over at most max_parts of them: {"parts", "used", "left"} (the parts numbered from
-- part_from, every one with its #<part> suffix).
CREATE FUNCTION _broker_greedy(stock jsonb, used jsonb, unit jsonb, locs gln[], dists numeric[], max_parts integer,
                               part_from integer, rule_no integer)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    item text := unit->'comps'->0->>'item';
    need numeric := (unit->'comps'->0->>'quantity')::numeric;
    parts jsonb := '[]';
    a numeric;
    take numeric;
    k integer := 0;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(locs), 0) LOOP
        EXIT WHEN need <= 0 OR k >= max_parts;
        a := inventory_sync._broker_available(stock, used, item, locs[i]::text);
        CONTINUE WHEN a <= 0;
        take := least(a, need);
        parts := parts || inventory_sync._broker_unit_parts(jsonb_set(unit, '{comps,0,quantity}', to_jsonb(take)),
                                                              part_from + k, true, locs[i]::text, rule_no, dists[i]);
        used := inventory_sync._broker_use(used, item, locs[i]::text, take);
        need := need - take;
        k := k + 1;
    END LOOP;
    RETURN jsonb_build_object('parts', parts, 'used', used, 'left', need);
END
$$;
COMMENT ON FUNCTION _broker_greedy(jsonb, jsonb, jsonb, gln[], numeric[], integer, integer, integer) IS
  'Internal: a unit split over the given locations in their order (nearest first), at most max_parts of them';

-- The refusal of an order one of whose units no rule can place (IS040).
CREATE FUNCTION _broker_refuse(channel text, order_ref text, unit jsonb, stock jsonb)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN
    PERFORM inventory_sync._refuse_beyond_atp(
        format('insufficient ATP to broker order "%s" of channel "%s": line "%s" fits no location its rules allow',
               order_ref, channel, unit->>'line_ref'),
        format('Line "%s" asks %s; the channel has %s.', unit->>'line_ref',
               (SELECT string_agg(format('%s of gtin %s', c->>'quantity', c->>'item'), ', ') FROM jsonb_array_elements(unit->'comps') c),
               (SELECT string_agg(format('%s of gtin %s', greatest(coalesce((stock->>(c->>'item'))::numeric, 0), 0), c->>'item'), ', ')
                  FROM jsonb_array_elements(unit->'comps') c)),
        'Broker with partial => true to hold what there is, let a rule split lines (broker_rule.allow_split), or widen the rules.');
END
$$;
COMMENT ON FUNCTION _broker_refuse(text, text, jsonb, jsonb) IS
  'Internal: refuses an order one of whose lines no brokering rule can place (IS040, naming the line)';

-- The rules broker() tries, in order: the channel's; a pickup order, or a channel without
-- rules, has one rule of number NULL (every location it may use, one shipment a line).
CREATE FUNCTION _broker_rules(channel text, pickup gln)
RETURNS TABLE (rule_no integer, allow_split boolean, max_shipments integer, min_split_quantity numeric,
               prefer_single_shipment boolean)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT r.rule_no, r.allow_split, r.max_shipments, r.min_split_quantity, r.prefer_single_shipment
      FROM inventory_sync.broker_rule r WHERE r.channel = $1 AND $2 IS NULL
    UNION ALL
    SELECT NULL, false, 1, 1, false
     WHERE $2 IS NOT NULL OR NOT EXISTS (SELECT FROM inventory_sync.broker_rule r WHERE r.channel = $1)
    ORDER BY 1
$$;
COMMENT ON FUNCTION _broker_rules(text, gln) IS
  'Internal: the brokering rules of a channel in order (one rule without number for a pickup order or a channel without rules)';

-- The plan: where each unit goes (see the head of this file), in SQL: every order the C
-- plan (_broker_plan_placed) leaves to it. Returns the parts; with partial, what is not
-- placed is a part without location; otherwise it refuses (IS040).
CREATE FUNCTION _broker_plan_general(channel text, order_ref text, units jsonb, latitude double precision,
                             longitude double precision, pickup gln, partial boolean, exclude gln[],
                             part_from integer, suffix boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    stock jsonb;
    used jsonb := '{}';
    parts jsonb := '[]';
    pending jsonb := units;
    rest jsonb;
    u jsonb;
    g jsonb;
    rule record;
    locs gln[];
    dists numeric[];
    placed boolean;
    i integer;
    comp jsonb;
BEGIN
    stock := inventory_sync._broker_stock(channel,
                 (SELECT array_agg(DISTINCT (c->>'item')::inventory_sync.gtin)
                    FROM jsonb_array_elements(units) x, jsonb_array_elements(x->'comps') c));
    FOR rule IN SELECT * FROM inventory_sync._broker_rules(channel, pickup) LOOP
        EXIT WHEN jsonb_array_length(pending) = 0;
        SELECT array_agg(c.location ORDER BY c.n), array_agg(c.distance_km ORDER BY c.n) INTO locs, dists
          FROM inventory_sync._broker_candidates(channel, rule.rule_no, latitude, longitude, pickup, order_ref, exclude)
               WITH ORDINALITY c(location, distance_km, n);
        CONTINUE WHEN locs IS NULL;
        IF rule.prefer_single_shipment AND jsonb_array_length(pending) > 1 THEN
            i := inventory_sync._broker_first_fit(stock, used, pending, locs);
            IF i IS NOT NULL THEN
                FOR u IN SELECT x FROM jsonb_array_elements(pending) x LOOP
                    parts := parts || inventory_sync._broker_unit_parts(u, part_from, suffix, locs[i]::text, rule.rule_no, dists[i]);
                END LOOP;
                pending := '[]';
            END IF;
        END IF;
        rest := '[]';
        FOR u IN SELECT x FROM jsonb_array_elements(pending) x LOOP
            placed := false;
            i := inventory_sync._broker_first_fit(stock, used, jsonb_build_array(u), locs);
            IF i IS NOT NULL THEN
                parts := parts || inventory_sync._broker_unit_parts(u, part_from, suffix, locs[i]::text, rule.rule_no, dists[i]);
                FOR comp IN SELECT x FROM jsonb_array_elements(u->'comps') x LOOP
                    used := inventory_sync._broker_use(used, comp->>'item', locs[i]::text, (comp->>'quantity')::numeric);
                END LOOP;
                placed := true;
            END IF;
            IF NOT placed AND rule.allow_split AND (u->>'splittable')::boolean
               AND (u->'comps'->0->>'quantity')::numeric >= rule.min_split_quantity THEN
                g := inventory_sync._broker_greedy(stock, used, u, locs, dists, rule.max_shipments, part_from, rule.rule_no);
                IF (g->>'left')::numeric = 0 THEN
                    parts := parts || (g->'parts');
                    used := g->'used';
                    placed := true;
                END IF;
            END IF;
            IF NOT placed THEN
                rest := rest || jsonb_build_array(u);
            END IF;
        END LOOP;
        pending := rest;
    END LOOP;
    FOR u IN SELECT x FROM jsonb_array_elements(pending) x LOOP
        IF NOT partial THEN
            PERFORM inventory_sync._broker_refuse(channel, order_ref, u, stock);
        END IF;
        g := inventory_sync._broker_partial(channel, order_ref, u, stock, used, latitude, longitude, pickup, exclude, part_from);
        parts := parts || (g->'parts');
        used := g->'used';
    END LOOP;
    RETURN parts;
END
$$;
COMMENT ON FUNCTION _broker_plan_general(text, text, jsonb, double precision, double precision, gln, boolean, gln[], integer, boolean) IS
  'Internal: where each unit of an order goes under the channel''s rules, in SQL (read only); refuses (IS040) a unit no rule places unless partial';

-- The same plan in C (src/broker_plan.c), for an order every unit of which a rule places:
-- the rules, the locations ranked once and the stock read once per order, the units placed
-- over arrays. NULL when a unit is left (a refusal or partial brokering) or the units are
-- not as _broker_units() makes them: _broker_plan_general() plans that order.
CREATE FUNCTION _broker_plan_placed(channel text, order_ref text, units jsonb, latitude double precision,
                                    longitude double precision, pickup text, exclude text[], part_from integer,
                                    suffix boolean)
RETURNS jsonb
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS 'MODULE_PATHNAME', 'broker_plan_placed';
COMMENT ON FUNCTION _broker_plan_placed(text, text, jsonb, double precision, double precision, text, text[], integer, boolean) IS
  'Internal: the plan of an order every unit of which a brokering rule places, in C (read only); NULL: the SQL plans it';

CREATE FUNCTION _broker_plan(channel text, order_ref text, units jsonb, latitude double precision,
                             longitude double precision, pickup gln, partial boolean, exclude gln[],
                             part_from integer, suffix boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
BEGIN   -- PL/pgSQL, not SQL: its statement is planned once per backend, not once per order
    RETURN coalesce(inventory_sync._broker_plan_placed(channel, order_ref, units, latitude, longitude, pickup::text,
                                                        exclude::text[], part_from, suffix),
                    inventory_sync._broker_plan_general(channel, order_ref, units, latitude, longitude, pickup, partial,
                                                        exclude, part_from, suffix));
END
$$;
COMMENT ON FUNCTION _broker_plan(text, text, jsonb, double precision, double precision, gln, boolean, gln[], integer, boolean) IS
  'Internal: where each unit of an order goes under the channel''s rules (read only): in C where every unit is placed, else in SQL; refuses (IS040) a unit no rule places unless partial';

-- Partial brokering of a unit no rule places whole: what the rule that can take the most
-- of it takes (split as that rule allows; the first such rule among equals), and the rest
-- as a part without location. A kit's
-- components that ship together are not taken apart: they are left unallocated whole.
CREATE FUNCTION _broker_partial(channel text, order_ref text, unit jsonb, stock jsonb, used jsonb,
                                latitude double precision, longitude double precision, pickup gln, exclude gln[],
                                part_from integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    rule record;
    locs gln[];
    dists numeric[];
    g jsonb := jsonb_build_object('parts', '[]'::jsonb, 'used', used, 'left', unit->'comps'->0->'quantity');
    t jsonb;
    n integer;
BEGIN
    IF (unit->>'splittable')::boolean THEN
        FOR rule IN SELECT * FROM inventory_sync._broker_rules(channel, pickup) LOOP
            SELECT array_agg(c.location ORDER BY c.n), array_agg(c.distance_km ORDER BY c.n) INTO locs, dists
              FROM inventory_sync._broker_candidates(channel, rule.rule_no, latitude, longitude, pickup, order_ref, exclude)
                   WITH ORDINALITY c(location, distance_km, n);
            t := inventory_sync._broker_greedy(stock, used, unit, locs, dists,
                     CASE WHEN rule.allow_split AND (unit->'comps'->0->>'quantity')::numeric >= rule.min_split_quantity
                          THEN rule.max_shipments ELSE 1 END, part_from, rule.rule_no);
            IF (t->>'left')::numeric < (g->>'left')::numeric THEN
                g := t;
            END IF;
        END LOOP;
        n := part_from + jsonb_array_length(g->'parts');
        IF (g->>'left')::numeric > 0 THEN
            g := jsonb_set(g, '{parts}', (g->'parts') || jsonb_build_array(jsonb_build_object(
                     'line_ref', unit->>'line_ref', 'unit_ref', unit->>'unit_ref', 'part', n,
                     'item', unit->'comps'->0->>'item', 'quantity', g->'left', 'location', NULL)));
        END IF;
        RETURN g;
    END IF;
    RETURN jsonb_build_object('used', used, 'parts',
        (SELECT jsonb_agg(jsonb_build_object('line_ref', unit->>'line_ref', 'unit_ref', unit->>'unit_ref', 'part', part_from,
                                             'item', c->>'item', 'quantity', c->'quantity', 'location', NULL))
           FROM jsonb_array_elements(unit->'comps') c));
END
$$;
COMMENT ON FUNCTION _broker_partial(text, text, jsonb, jsonb, jsonb, double precision, double precision, gln, gln[], integer) IS
  'Internal: with partial brokering, what the first rule with stock can take of a unit no rule places whole, and the rest left unallocated';

-- The locks of holding a plan, in the global order of the promise layer
-- (205_promise_locks.sql), before any reservation is made: the capacity rows of the
-- locations it uses (then their capacity is counted again: another order may have taken
-- the last of it meanwhile), then the promise keys of every (item, location) reserve()
-- will lock (every location of the channel for an item whose channel ATP is from an
-- earlier day, as reserve() does), then the channel ATP rows of every channel selling
-- from those locations. Without them two orders placing lines at the same locations in
-- different orders could each hold a key the other waits for. In C (src/broker_hold.c):
-- the same statements, prepared once per backend with generic plans (they read by key: a
-- custom plan would be planned for every order), the promise keys taken as
-- _promise_keys_lock() takes them, and the channels whose rows are locked kept per backend.
CREATE FUNCTION _broker_lock(channel text, order_ref text, items gtin[], locations gln[])
RETURNS void
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS 'MODULE_PATHNAME', 'broker_lock';
COMMENT ON FUNCTION _broker_lock(text, text, gtin[], gln[]) IS
  'Internal: takes the locks of holding a brokering plan in the global order (capacity rows, promise keys, channel ATP rows); IS040 when a location''s daily order capacity was taken meanwhile';

-- Holds the located parts of a plan (reserve() at the chosen location) and records the
-- allocation. A part reserve() refuses refuses the order, or with partial is recorded
-- unallocated. Returns the parts with their reservation ids.
CREATE FUNCTION _broker_hold(channel text, order_ref text, parts jsonb, partial boolean, expires_at timestamptz,
                             due_date date)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    u record;
    p jsonb;
    r inventory_sync.reservation;
    placed jsonb;
    held jsonb := '[]';
    m text;
    d text;
BEGIN
    -- part by part of each unit: the components of a kit that ship together are one part,
    -- held all or none (the locks are taken already, so the order here decides no wait)
    FOR u IN SELECT x->>'unit_ref' AS unit_ref, (x->>'part')::integer AS part,
                    jsonb_agg(x ORDER BY x->>'item', x->>'location') AS parts
               FROM jsonb_array_elements(parts) x
              GROUP BY 1, 2 ORDER BY min(x->>'item'), min(x->>'location'), 1, 2 LOOP
        placed := '[]';
        BEGIN
            FOR p IN SELECT x FROM jsonb_array_elements(u.parts) x LOOP
                IF p->>'location' IS NOT NULL THEN
                    r := inventory_sync.reserve(channel, order_ref, p->>'reservation_line_ref',
                                                (p->>'item')::inventory_sync.gtin, (p->>'quantity')::numeric,
                                                (p->>'location')::inventory_sync.gln, expires_at, due_date);
                    IF r.promised_date IS NOT NULL THEN   -- a backorder channel promised it against supply
                        PERFORM inventory_sync._refuse_beyond_atp(
                            format('%s of gtin %s is not in stock at %s', p->>'quantity', p->>'item', p->>'location'),
                            format('Reservation %s.',
                                   inventory_sync._reservation_key(channel, order_ref, p->>'reservation_line_ref')),
                            NULL);
                    END IF;
                    p := p || jsonb_build_object('reservation_id', r.reservation_id);
                END IF;
                placed := placed || jsonb_build_array(p);
            END LOOP;
        EXCEPTION WHEN SQLSTATE 'IS040' THEN
            IF NOT partial THEN   -- the stock the plan read was taken meanwhile: the order is refused
                GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
                PERFORM inventory_sync._refuse_beyond_atp(
                    format('insufficient ATP to broker order "%s" of channel "%s": line "%s" (%s)',
                           order_ref, channel, p->>'line_ref', m),
                    d, 'Another promise took the stock meanwhile: broker the order again to place it elsewhere.');
            END IF;
            -- the whole part goes unallocated: none of its reservations was kept
            SELECT jsonb_agg(x || jsonb_build_object('location', NULL, 'rule_no', NULL, 'distance_km', NULL,
                                                     'reservation_id', NULL))
              INTO placed FROM jsonb_array_elements(u.parts) x;
        END;
        held := held || placed;
    END LOOP;
    -- the allocation in one statement, part by part in the order they were held
    INSERT INTO inventory_sync.broker_allocation (channel, order_ref, line_ref, unit_ref, part, item_gtin, location,
                                                  quantity, rule_no, distance_km, reservation_id, status)
    SELECT channel, order_ref, x->>'line_ref', x->>'unit_ref', (x->>'part')::integer,
           (x->>'item')::inventory_sync.gtin, (x->>'location')::inventory_sync.gln, (x->>'quantity')::numeric,
           (x->>'rule_no')::integer, (x->>'distance_km')::numeric, (x->>'reservation_id')::bigint,
           CASE WHEN x->>'location' IS NULL THEN 'unallocated' ELSE 'held' END
      FROM jsonb_array_elements(held) WITH ORDINALITY AS e(x, n)
     ORDER BY e.n;
    RETURN held;
END
$$;
COMMENT ON FUNCTION _broker_hold(text, text, jsonb, boolean, timestamptz, date) IS
  'Internal: reserves each located part of a brokering plan at its location and records the allocation (IS040 refuses the order unless partial; then the part, all its components, goes unallocated)';

-- The same in C (src/broker_hold.c) for an order brokered all or nothing: the parts
-- reserved in the same order with reserve(), without a subtransaction (a part refused
-- refuses the whole order, worded as _broker_hold() words it; and the rows _broker_lock()
-- locked are then updated by the transaction that locked them, not a subtransaction of
-- it, which would give each a multixact), and the allocation appended without an
-- executor (src/broker_allocation.c: the order's row locked FOR KEY SHARE first, as the
-- foreign key's check does).
-- NULL, with nothing done, when the parts are not as a plan makes them: _broker_hold()
-- holds them.
CREATE FUNCTION _broker_hold_placed(channel text, order_ref text, parts jsonb, expires_at timestamptz, due_date date)
RETURNS jsonb
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS 'MODULE_PATHNAME', 'broker_hold_placed';
COMMENT ON FUNCTION _broker_hold_placed(text, text, jsonb, timestamptz, date) IS
  'Internal: holds the parts of an order brokered all or nothing and records its allocation, in C (IS040 refuses the order); NULL: _broker_hold() holds them';

-- What broker() does with the plan of an order brokered all or nothing, in one call
-- (src/broker_hold.c): _broker_lock() of the located parts' items and locations, then
-- _broker_hold_placed(). NULL when the parts are not as a plan makes them: the locks are
-- taken, and _broker_hold() holds the parts.
CREATE FUNCTION _broker_lock_hold_placed(channel text, order_ref text, parts jsonb, expires_at timestamptz, due_date date)
RETURNS jsonb
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS 'MODULE_PATHNAME', 'broker_lock_hold_placed';
COMMENT ON FUNCTION _broker_lock_hold_placed(text, text, jsonb, timestamptz, date) IS
  'Internal: takes the locks of a brokering plan (_broker_lock()) and holds an order brokered all or nothing (_broker_hold_placed()) in one call; NULL: locked, and _broker_hold() holds the parts';

-- An order's current allocation (held and unallocated parts), as broker() returns it.
CREATE FUNCTION _broker_result(channel text, order_ref text)
RETURNS TABLE (line_ref text, part integer, item gtin, location gln, quantity numeric, rule_no integer,
               distance_km numeric, reservation_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT a.line_ref, a.part, a.item_gtin, a.location, a.quantity, a.rule_no, a.distance_km, a.reservation_id
      FROM inventory_sync.broker_allocation a
     WHERE a.channel = $1 AND a.order_ref = $2 AND a.status <> 'rejected'
     ORDER BY a.line_ref, a.unit_ref, a.part, a.item_gtin
$$;
COMMENT ON FUNCTION _broker_result(text, text) IS
  'Internal: an order''s current allocation (held and unallocated parts) in line order';

CREATE FUNCTION broker(channel text, order_ref text, lines jsonb,
                       ship_to_latitude double precision DEFAULT NULL, ship_to_longitude double precision DEFAULT NULL,
                       pickup_location gln DEFAULT NULL, partial boolean DEFAULT false, dry_run boolean DEFAULT false,
                       expires_at timestamptz DEFAULT NULL, due_date date DEFAULT NULL)
RETURNS TABLE (line_ref text, part integer, item gtin, location gln, quantity numeric, rule_no integer,
               distance_km numeric, reservation_id bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    units jsonb;
    parts jsonb;
    prior inventory_sync.broker_order;
BEGIN
    -- the arguments other than the lines (22004, 22023, 23503, IS043), here rather than in a
    -- function of their own: a call and its statement fewer an order
    IF $1 IS NULL OR $2 IS NULL OR $7 IS NULL OR $8 IS NULL THEN
        RAISE EXCEPTION 'broker() needs channel, order_ref, partial and dry_run' USING ERRCODE = '22004',
              DETAIL = format('Channel %s, order %s.', coalesce(quote_literal($1), 'NULL'), coalesce(quote_literal($2), 'NULL')),
              HINT = 'order_ref is the caller''s key that makes brokering idempotent.';
    END IF;
    IF length($2) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'order_ref must have 1 to 200 characters' USING ERRCODE = '22023',
              DETAIL = format('Order "%s".', left($2, 60));
    END IF;
    IF NOT EXISTS (SELECT FROM inventory_sync.channel c WHERE c.channel = $1) THEN
        RAISE EXCEPTION 'unknown channel "%"', $1 USING ERRCODE = '23503',
              HINT = 'Channels are listed in inventory_sync.channel.';
    END IF;
    IF ($4 IS NULL) <> ($5 IS NULL) OR $4 NOT BETWEEN -90 AND 90 OR $5 NOT BETWEEN -180 AND 180 THEN
        RAISE EXCEPTION 'invalid ship-to point (%, %) for order "%"', coalesce($4::text, 'NULL'),
              coalesce($5::text, 'NULL'), $2 USING ERRCODE = '22023',
              HINT = 'Give both ship_to_latitude (-90 to 90) and ship_to_longitude (-180 to 180) in degrees, or neither.';
    END IF;
    IF $6 IS NOT NULL AND NOT EXISTS (SELECT FROM inventory_sync.channel_location cl
                                       WHERE cl.channel = $1 AND cl.location = $6) THEN
        RAISE EXCEPTION 'pickup location % is not a location of channel "%"', $6, $1 USING ERRCODE = 'IS043',
              DETAIL = format('Order "%s".', $2),
              HINT = 'The channel sells from the locations in inventory_sync.channel_location.';
    END IF;
    units := coalesce(inventory_sync._broker_units_placed($2, $3), inventory_sync._broker_units($2, $3));
    -- before any row: a membership change (EXCLUSIVE on channel) waits for it, as for reserve()
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
    IF NOT dry_run THEN   -- the order's key first: the same order brokered at once waits here, then finds it
        INSERT INTO inventory_sync.broker_order (channel, order_ref, lines, ship_to_latitude, ship_to_longitude,
                                                 pickup_location, partial)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            SELECT * INTO prior FROM inventory_sync.broker_order o WHERE o.channel = $1 AND o.order_ref = $2;
        END IF;
    ELSE
        SELECT * INTO prior FROM inventory_sync.broker_order o WHERE o.channel = $1 AND o.order_ref = $2;
    END IF;
    IF prior.order_ref IS NOT NULL THEN
        IF prior.lines <> $3 OR prior.pickup_location IS DISTINCT FROM $6 THEN
            RAISE EXCEPTION 'order "%" of channel "%" was brokered with other lines', $2, $1 USING ERRCODE = 'IS044',
                  DETAIL = format('It was brokered with lines %s.', left(prior.lines::text, 200)),
                  HINT = 'An order_ref names one order: reject or cancel its parts, or broker a new order_ref.';
        END IF;
        RETURN QUERY SELECT * FROM inventory_sync._broker_result($1, $2);
        RETURN;
    END IF;
    -- _broker_plan()'s two steps called here, one call fewer an order
    parts := coalesce(inventory_sync._broker_plan_placed($1, $2, units, $4, $5, $6::text, NULL, 1, false),
                      inventory_sync._broker_plan_general($1, $2, units, $4, $5, $6, $7, NULL, 1, false));
    IF NOT dry_run THEN
        IF $7 THEN   -- a part refused goes unallocated: a subtransaction a part
            PERFORM inventory_sync._broker_lock($1, $2, array_agg((x->>'item')::inventory_sync.gtin),
                                                array_agg((x->>'location')::inventory_sync.gln))
               FROM jsonb_array_elements(parts) x WHERE x->>'location' IS NOT NULL;
            parts := inventory_sync._broker_hold($1, $2, parts, $7, $9, $10);
        ELSE   -- the same locks, then the parts held, in one call (NULL: locked, held by _broker_hold())
            parts := coalesce(inventory_sync._broker_lock_hold_placed($1, $2, parts, $9, $10),
                              inventory_sync._broker_hold($1, $2, parts, $7, $9, $10));
        END IF;
    END IF;
    RETURN QUERY
    SELECT p.line_ref, p.part, p.item::inventory_sync.gtin, p.location::inventory_sync.gln, p.quantity, p.rule_no,
           p.distance_km, p.reservation_id
      FROM jsonb_to_recordset(parts) AS p(line_ref text, unit_ref text, part integer, item text, location text,
                                          quantity numeric, rule_no integer, distance_km numeric, reservation_id bigint)
     ORDER BY p.line_ref, p.unit_ref, p.part, p.item;
END
$$;
COMMENT ON FUNCTION broker(text, text, jsonb, double precision, double precision, gln, boolean, boolean, timestamptz, date) IS
  'Chooses where every line of an order ships from by the channel''s brokering rules and holds it as reservations (all or nothing, or partial); dry_run explains without holding; idempotent on (channel, order_ref)';

-- A location rejects a part broker() allocated to it (the goods cannot be found): the part
-- (every component of it, for a kit that ships together) is cancelled, the rejection
-- recorded, and its open quantity placed again by the same rules at the next-best
-- locations, none of which rejected this unit before, in one transaction. When nowhere
-- fits, nothing changes (IS040). Returns the new parts.
CREATE FUNCTION reject_allocation(part_reservation_id bigint, reason text)
RETURNS TABLE (line_ref text, part integer, item gtin, location gln, quantity numeric, rule_no integer,
               distance_km numeric, reservation_id bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    a inventory_sync.broker_allocation;
    o inventory_sync.broker_order;
    r inventory_sync.reservation;
    gone record;
    unit jsonb;
    parts jsonb;
    excluded gln[];
    next_part integer;
BEGIN
    IF $1 IS NULL OR $2 IS NULL THEN
        RAISE EXCEPTION 'reject_allocation() needs a reservation_id and a reason' USING ERRCODE = '22004',
              HINT = 'The reason is kept in broker_rejection.';
    END IF;
    IF length($2) NOT BETWEEN 1 AND 500 THEN
        RAISE EXCEPTION 'the reason of a rejection must have 1 to 500 characters' USING ERRCODE = '22023',
              DETAIL = format('Reservation %s.', $1);
    END IF;
    LOCK TABLE inventory_sync.channel IN ROW SHARE MODE;
    SELECT * INTO a FROM inventory_sync.broker_allocation x WHERE x.reservation_id = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reservation % was not brokered', $1 USING ERRCODE = '23503',
              HINT = 'Only a part broker() allocated can be rejected; cancel other reservations (cancel_reservation()).';
    END IF;
    -- the order's key first, as broker() takes it: two rejections of one order (two parts of
    -- a split line) number their new parts one after the other
    PERFORM FROM inventory_sync.broker_order x WHERE x.channel = a.channel AND x.order_ref = a.order_ref FOR UPDATE;
    -- level 1 of the lock order: the part's reservations, by id (IS041 when one is resolved)
    FOR gone IN SELECT x.reservation_id FROM inventory_sync.broker_allocation x
                 WHERE x.channel = a.channel AND x.order_ref = a.order_ref AND x.unit_ref = a.unit_ref
                   AND x.part = a.part AND x.status = 'held' ORDER BY x.reservation_id LOOP
        r := inventory_sync._reservation_lock_open(gone.reservation_id, 'reject');
    END LOOP;
    IF (SELECT x.status FROM inventory_sync.broker_allocation x WHERE x.allocation_id = a.allocation_id) <> 'held' THEN
        RAISE EXCEPTION 'the part held by reservation % was rejected already', $1 USING ERRCODE = 'IS041',
              HINT = 'A part is rejected once; its quantity was placed again (see broker_allocation).';
    END IF;
    SELECT * INTO o FROM inventory_sync.broker_order x WHERE x.channel = a.channel AND x.order_ref = a.order_ref;
    SELECT jsonb_build_object('line_ref', a.line_ref, 'unit_ref', a.unit_ref, 'splittable', count(*) = 1,
               'comps', jsonb_agg(jsonb_build_object('item', v.item_gtin::text, 'quantity', v.open_quantity,
                                                     'ref', regexp_replace(v.line_ref, '#[0-9]+$', ''))
                                  ORDER BY v.line_ref))
      INTO unit
      FROM inventory_sync.broker_allocation x JOIN inventory_sync.reservation v ON v.reservation_id = x.reservation_id
     WHERE x.channel = a.channel AND x.order_ref = a.order_ref AND x.unit_ref = a.unit_ref AND x.part = a.part
       AND x.status = 'held';
    SELECT array_agg(DISTINCT j.location) || a.location INTO excluded
      FROM inventory_sync.broker_rejection j JOIN inventory_sync.broker_allocation x ON x.allocation_id = j.allocation_id
     WHERE x.channel = a.channel AND x.order_ref = a.order_ref AND x.unit_ref = a.unit_ref;
    SELECT max(x.part) + 1 INTO next_part FROM inventory_sync.broker_allocation x
     WHERE x.channel = a.channel AND x.order_ref = a.order_ref AND x.unit_ref = a.unit_ref;
    parts := inventory_sync._broker_plan(a.channel, a.order_ref, jsonb_build_array(unit), o.ship_to_latitude,
                                         o.ship_to_longitude, o.pickup_location, false, excluded, next_part, true);
    PERFORM inventory_sync._broker_lock(a.channel, a.order_ref,
                                        (SELECT array_agg((c->>'item')::inventory_sync.gtin) FROM jsonb_array_elements(unit->'comps') c)
                                        || array_agg((x->>'item')::inventory_sync.gtin),
                                        (SELECT array_agg(a.location) FROM jsonb_array_elements(unit->'comps') c)
                                        || array_agg((x->>'location')::inventory_sync.gln))
       FROM jsonb_array_elements(parts) x;
    FOR gone IN SELECT x.allocation_id, x.reservation_id FROM inventory_sync.broker_allocation x
                 WHERE x.channel = a.channel AND x.order_ref = a.order_ref AND x.unit_ref = a.unit_ref
                   AND x.part = a.part AND x.status = 'held' ORDER BY x.reservation_id LOOP
        PERFORM inventory_sync.cancel_reservation(gone.reservation_id);
        UPDATE inventory_sync.broker_allocation x SET status = 'rejected' WHERE x.allocation_id = gone.allocation_id;
        INSERT INTO inventory_sync.broker_rejection (allocation_id, reservation_id, location, reason)
             VALUES (gone.allocation_id, gone.reservation_id, a.location, $2);
    END LOOP;
    parts := inventory_sync._broker_hold(a.channel, a.order_ref, parts, false,
                                         CASE WHEN r.expires_at > now() THEN r.expires_at END, r.due_date);
    RETURN QUERY
    SELECT p.line_ref, p.part, p.item::inventory_sync.gtin, p.location::inventory_sync.gln, p.quantity, p.rule_no,
           p.distance_km, p.reservation_id
      FROM jsonb_to_recordset(parts) AS p(line_ref text, unit_ref text, part integer, item text, location text,
                                          quantity numeric, rule_no integer, distance_km numeric, reservation_id bigint)
     ORDER BY p.line_ref, p.unit_ref, p.part, p.item;
END
$$;
COMMENT ON FUNCTION reject_allocation(bigint, text) IS
  'A location rejects a brokered part: cancels it, records why (broker_rejection) and places its quantity again by the channel''s rules, excluding every location that rejected the line (IS040 when none fits: nothing changes)';
