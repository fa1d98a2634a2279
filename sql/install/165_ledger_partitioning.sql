-- since 0.2.0
-- ---------------------------------------------------------------------------
-- The ledger and its after-state tables range-partitioned by time, as a supported
-- operation.
--
--   partition_ledger()         converts the ledger, and with it balance_change (by
--                              recorded_at), reservation_change and channel_atp_change (by
--                              changed_at), once: each current table becomes the partition
--                              of everything before the first boundary, later ranges get
--                              partitions of their own;
--   maintain_partitions()      creates the partitions of the coming ranges (a scheduled
--                              job: a row outside every partition is refused), itself or
--                              through pg_partman's run_maintenance();
--   detach_ledger_partition()  archives the ledger partitions that ended before a time:
--                              detached (or dropped), their effects summed per key first
--                              (122_ledger_archive.sql), so verify() stays exact;
--   ledger_partitions(),
--   table_partitions()         list the partitions and their ranges.
--
-- The after-state partitions are not archived: a count computes the balance as of its
-- watermark from a key's after-states, verify() checks each key's version chain from
-- version 1, verify_promises() sums every reservation's changes and every channel's
-- versions from the first, and the feed's consumers catch up from them; archiving them
-- would need an anchor per key that nothing keeps yet. Partitioned, they are still read
-- and vacuumed by recent range. The event registry (ledger_event, 160_ledger_event.sql)
-- makes replays no-ops across ledger partitions, also detached and dropped ones.
--
-- The functions that change the tables run as the extension owner, for the admin role
-- only: they rename, create and detach tables the owner owns, register events in
-- ledger_event (which only a superuser may write outside the engine) and change the
-- extension's membership. Bounds are computed and named in UTC.
-- ---------------------------------------------------------------------------

CREATE TABLE ledger_partitioning (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    part_interval  interval NOT NULL,
    premake        integer NOT NULL,
    first_boundary timestamptz NOT NULL,
    after_states   boolean NOT NULL DEFAULT false,
    maintenance    text NOT NULL DEFAULT 'native' CHECK (maintenance IN ('native', 'pg_partman')),
    partitioned_at timestamptz NOT NULL DEFAULT now(),
    partitioned_by name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE ledger_partitioning IS
  'How partition_ledger() partitioned the ledger (one row, none while it is not partitioned): what maintain_partitions() follows';
COMMENT ON COLUMN ledger_partitioning.singleton IS 'Always true: the table has at most one row';
COMMENT ON COLUMN ledger_partitioning.part_interval IS 'The range of time each partition holds';
COMMENT ON COLUMN ledger_partitioning.premake IS 'How many intervals ahead of now maintain_partitions() keeps partitions for';
COMMENT ON COLUMN ledger_partitioning.first_boundary IS 'Where the converted tables'' range ends and the first partition of their own begins; every later boundary is first_boundary + k * part_interval';
COMMENT ON COLUMN ledger_partitioning.after_states IS 'balance_change, reservation_change and channel_atp_change were partitioned with the ledger';
COMMENT ON COLUMN ledger_partitioning.maintenance IS 'Who creates the coming partitions: native (maintain_partitions() itself) or pg_partman (its run_maintenance(), which maintain_partitions() calls)';
COMMENT ON COLUMN ledger_partitioning.partitioned_at IS 'When the ledger was partitioned';
COMMENT ON COLUMN ledger_partitioning.partitioned_by IS 'Who partitioned it';
CREATE TRIGGER ledger_partitioning_owner_only BEFORE INSERT OR UPDATE OR DELETE ON ledger_partitioning
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_partitioning_no_truncate BEFORE TRUNCATE ON ledger_partitioning
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
-- (an update from 0.1.0 runs the new parts after the roles' grants: readers read these,
-- and verify() and verify_promises(), which run as the caller, read the anchors)
GRANT SELECT ON ledger_partitioning, ledger_archive, ledger_archived_effect, after_state_archive,
                balance_change_anchor, reservation_change_anchor, channel_atp_anchor TO inventory_sync_reader;
SELECT pg_catalog.pg_extension_config_dump('ledger_partitioning', '');

-- The tables partition_ledger() partitions, each with its partition key.
CREATE FUNCTION _partitionable_tables()
RETURNS TABLE (table_name text, partition_key text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    VALUES ('ledger', 'recorded_at'), ('balance_change', 'recorded_at'),
           ('reservation_change', 'changed_at'), ('channel_atp_change', 'changed_at')
$$;
COMMENT ON FUNCTION _partitionable_tables() IS
  'The tables partition_ledger() partitions and their partition keys: the ledger and balance_change by recorded_at, reservation_change and channel_atp_change by changed_at';

-- The partitions of one of them with their bounds (NULL: MINVALUE or MAXVALUE), read
-- back from the catalog's bound expressions in this session's own rendering.
CREATE FUNCTION table_partitions(table_name text)
RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, estimated_rows bigint)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.relname::text,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM $r$FROM \('([^']*)'\)$r$)::timestamptz,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM $r$TO \('([^']*)'\)$r$)::timestamptz,
           greatest(c.reltuples, 0)::bigint
      FROM pg_class t
      JOIN pg_inherits i ON i.inhparent = t.oid
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE t.relname = table_name AND t.relnamespace = 'inventory_sync'::regnamespace
       AND table_name IN (SELECT p.table_name FROM inventory_sync._partitionable_tables() p)
     ORDER BY 3 NULLS LAST
$$;
COMMENT ON FUNCTION table_partitions(text) IS
  'The partitions of ledger, balance_change, reservation_change or channel_atp_change: name, range of its partition key (from inclusive, to exclusive; NULL where unbounded), estimated rows; none while the table is not partitioned';

CREATE FUNCTION ledger_partitions()
RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, estimated_rows bigint)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM inventory_sync.table_partitions('ledger')
$$;
COMMENT ON FUNCTION ledger_partitions() IS
  'The partitions of the ledger: name, range of recorded_at (from inclusive, to exclusive; NULL where unbounded), estimated rows; none while the ledger is not partitioned';

-- A partition's name: the table's, _p and its lower bound (UTC), with the time when it is
-- not midnight.
CREATE FUNCTION _partition_name(table_name text, lower_bound timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT table_name || '_p' || CASE WHEN (lower_bound AT TIME ZONE 'UTC')::time = '00:00'
                                      THEN to_char(lower_bound AT TIME ZONE 'UTC', 'YYYYMMDD')
                                      ELSE to_char(lower_bound AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISS') END
$$;
COMMENT ON FUNCTION _partition_name(text, timestamptz) IS
  'The name of the partition of a table starting at a bound: <table>_pYYYYMMDD (UTC; _HH24MISS appended when the bound is not midnight)';

-- The partitions from each partitioned table's latest upper bound on, until now() +
-- premake intervals is covered; returns how many it created. The caller holds the lock
-- that serialises it.
CREATE FUNCTION _ledger_extend_partitions(part_interval interval, premake integer, first_boundary timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    t record;
    upper_bound timestamptz;
    k bigint;
    created integer := 0;
    target timestamptz := now() + premake * part_interval;
BEGIN
    FOR t IN
        SELECT p.table_name FROM _partitionable_tables() p
          JOIN pg_class c ON c.relname = p.table_name AND c.relnamespace = 'inventory_sync'::regnamespace
         WHERE c.relkind = 'p'
    LOOP
        SELECT max(p.range_to) INTO upper_bound FROM table_partitions(t.table_name) p;
        upper_bound := greatest(upper_bound, first_boundary);
        -- the next boundary of the series at or after the latest upper bound (a partition
        -- made by hand may end off the series: the next one starts where it ends)
        WHILE upper_bound < target LOOP
            k := floor(extract(epoch FROM upper_bound - first_boundary)
                       / extract(epoch FROM part_interval))::bigint + 1;
            WHILE first_boundary + k * part_interval <= upper_bound LOOP
                k := k + 1;
            END LOOP;
            WHILE k > 1 AND first_boundary + (k - 1) * part_interval > upper_bound LOOP
                k := k - 1;
            END LOOP;
            EXECUTE format('CREATE TABLE inventory_sync.%I PARTITION OF inventory_sync.%I FOR VALUES FROM (%L) TO (%L)',
                           _partition_name(t.table_name, upper_bound), t.table_name,
                           upper_bound, first_boundary + k * part_interval);
            -- readers read a partition as they read its table; only the table is written
            EXECUTE format('GRANT SELECT ON inventory_sync.%I TO inventory_sync_reader',
                           _partition_name(t.table_name, upper_bound));
            upper_bound := first_boundary + k * part_interval;
            created := created + 1;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION _ledger_extend_partitions(interval, integer, timestamptz) IS
  'Creates the partitions of every partitioned table from its latest upper bound on, on the series first_boundary + k * part_interval, until now() + premake intervals is covered; returns how many';

-- Converts one table into a table range-partitioned by key: the current one is renamed
-- <table>_until_<boundary> and becomes the partition of everything before the boundary
-- (from lower_bound, or MINVALUE); the new table takes its place in the extension with
-- its columns, defaults, identity (continued), comments, indexes (the converted table's
-- own are adopted), triggers, rights and the views over it. unique_keys: the primary and
-- unique keys of the new table, each with the partition key (a unique index of a
-- partitioned table contains it); a table with a key or a unique index and no
-- unique_keys is refused, since the guarantee it gives would be lost. Returns the name
-- of the converted table. The caller holds the table's ACCESS EXCLUSIVE lock.
CREATE FUNCTION _partition_convert(table_name text, partition_key text, boundary timestamptz,
                                   lower_bound timestamptz, unique_keys text)
RETURNS text
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    rel regclass := format('inventory_sync.%I', table_name)::regclass;
    old_name text := table_name || '_until_' || substr(_partition_name(table_name, boundary), length(table_name) + 3);
    table_comment text := obj_description(rel, 'pg_class');
    idx record;
    idx_names text[] := '{}';
    idx_defs text[] := '{}';
    idx_comments text[] := '{}';
    trg record;
    trg_names text[] := '{}';
    trg_defs text[] := '{}';
    trg_comments text[] := '{}';
    vw record;
    view_defs text[] := '{}';
    col record;
    id_cols text[] := '{}';
    id_seqs regclass[] := '{}';
    id_last bigint[] := '{}';
    con record;
    acl record;
    last_value bigint;
    uniques text;
BEGIN
    -- a key or a unique index the partitioned table could not keep as it is
    SELECT string_agg(ic.relname, ', ') INTO uniques
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
     WHERE i.indrelid = rel AND i.indisunique;
    IF uniques IS NOT NULL AND unique_keys IS NULL THEN
        RAISE EXCEPTION 'table % has unique indexes (%) that a table partitioned by % cannot keep', table_name, uniques, partition_key
            USING ERRCODE = 'IS090',
                  HINT = 'A unique index of a partitioned table contains its partition key: the table cannot be partitioned by partition_ledger() as it is.';
    END IF;

    -- its own indexes and triggers, as defined on it, to create on the partitioned table
    -- under the same names
    FOR idx IN
        SELECT ic.relname::text AS name, pg_get_indexdef(i.indexrelid) AS def,
               obj_description(i.indexrelid, 'pg_class') AS comment
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = rel
           AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
    LOOP
        idx_names := idx_names || idx.name;
        idx_defs := idx_defs || idx.def;
        idx_comments := idx_comments || idx.comment;
    END LOOP;
    FOR trg IN
        SELECT t.tgname::text AS name, pg_get_triggerdef(t.oid) AS def,
               obj_description(t.oid, 'pg_trigger') AS comment
          FROM pg_trigger t
         WHERE t.tgrelid = rel AND NOT t.tgisinternal
    LOOP
        trg_names := trg_names || trg.name;
        trg_defs := trg_defs || trg.def;
        trg_comments := trg_comments || trg.comment;
    END LOOP;
    -- the views over it (the product's and any other), to define again over the
    -- partitioned table: a view refers to a table by its identity, and the renamed one
    -- becomes a single partition
    FOR vw IN
        SELECT DISTINCT format('CREATE OR REPLACE VIEW %I.%I%s AS %s', v.relnamespace::regnamespace, v.relname,
                               CASE WHEN v.reloptions IS NULL THEN ''
                                    ELSE ' WITH (' || array_to_string(v.reloptions, ', ') || ')' END,
                               pg_get_viewdef(v.oid)) AS def
          FROM pg_depend d
          JOIN pg_rewrite r ON r.oid = d.objid
          JOIN pg_class v ON v.oid = r.ev_class
         WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.refobjid = rel AND v.relkind = 'v'
    LOOP
        view_defs := view_defs || vw.def;
    END LOOP;
    -- identity columns: the partitioned table's own identity continues each
    FOR col IN
        SELECT a.attname::text AS name FROM pg_attribute a
         WHERE a.attrelid = rel AND a.attidentity <> '' AND NOT a.attisdropped ORDER BY a.attnum
    LOOP
        id_cols := id_cols || col.name;
        id_seqs := id_seqs || pg_get_serial_sequence(rel::text, col.name)::regclass;
    END LOOP;

    EXECUTE format('ALTER TABLE inventory_sync.%I RENAME TO %I', table_name, old_name);
    FOR i IN 1 .. coalesce(array_length(trg_names, 1), 0) LOOP
        EXECUTE format('DROP TRIGGER %I ON inventory_sync.%I', trg_names[i], old_name);
    END LOOP;
    IF unique_keys IS NOT NULL THEN
        FOR con IN
            SELECT k.conname::text AS name FROM pg_constraint k WHERE k.conrelid = rel AND k.contype IN ('p', 'u')
        LOOP
            EXECUTE format('ALTER TABLE inventory_sync.%I DROP CONSTRAINT %I', old_name, con.name);
        END LOOP;
        EXECUTE format('ALTER TABLE inventory_sync.%I ADD %s', old_name, replace(unique_keys, '), ', '), ADD '));
    END IF;
    FOR i IN 1 .. coalesce(array_length(idx_names, 1), 0) LOOP
        EXECUTE format('ALTER INDEX inventory_sync.%I RENAME TO %I', idx_names[i],
                       CASE WHEN starts_with(idx_names[i], table_name || '_')
                            THEN old_name || substr(idx_names[i], length(table_name) + 1)
                            ELSE old_name || '_' || idx_names[i] END);
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(id_cols, 1), 0) LOOP
        EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', id_seqs[i], old_name || '_' || id_cols[i] || '_seq');
    END LOOP;

    EXECUTE format($c$CREATE TABLE inventory_sync.%I (
                          LIKE inventory_sync.%I INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING COMMENTS%s)
                       PARTITION BY RANGE (%I)$c$,
                   table_name, old_name, CASE WHEN unique_keys IS NULL THEN '' ELSE ', ' || unique_keys END, partition_key);
    IF table_comment IS NOT NULL THEN
        EXECUTE format('COMMENT ON TABLE inventory_sync.%I IS %L', table_name, table_comment);
    END IF;
    -- identities continue where the old ones stopped; a partition takes its parent's
    -- identity (PostgreSQL 17 and later refuse one with its own); the converted table
    -- leaves the extension, so it can be archived like any other partition
    FOR i IN 1 .. coalesce(array_length(id_cols, 1), 0) LOOP
        EXECUTE format('SELECT max(%I) FROM inventory_sync.%I', id_cols[i], old_name) INTO last_value;
        last_value := greatest(coalesce(pg_sequence_last_value(id_seqs[i]), 0), coalesce(last_value, 0));
        IF last_value > 0 THEN
            PERFORM setval(pg_get_serial_sequence(format('inventory_sync.%I', table_name), id_cols[i]), last_value);
        END IF;
        EXECUTE format('ALTER EXTENSION inventory_sync DROP SEQUENCE %s', id_seqs[i]);
        EXECUTE format('ALTER TABLE inventory_sync.%I ALTER COLUMN %I DROP IDENTITY', old_name, id_cols[i]);
    END LOOP;
    EXECUTE format('ALTER EXTENSION inventory_sync DROP TABLE inventory_sync.%I', old_name);
    EXECUTE format('ALTER TABLE inventory_sync.%I ATTACH PARTITION inventory_sync.%I FOR VALUES FROM (%s) TO (%L)',
                   table_name, old_name, coalesce(quote_literal(lower_bound), 'MINVALUE'), boundary);
    -- a partition is written through its table only (the ledger's statement trigger
    -- applies the postings; the engine writes the after-states): the rights on the table
    -- move to the partitioned one
    FOR acl IN
        SELECT a.grantee, a.privilege_type
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = rel AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON inventory_sync.%I TO %s', acl.privilege_type, table_name,
                       CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(acl.grantee::regrole::text) END);
        EXECUTE format('REVOKE %s ON inventory_sync.%I FROM %s', acl.privilege_type, old_name,
                       CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(acl.grantee::regrole::text) END);
    END LOOP;
    EXECUTE format('GRANT SELECT ON inventory_sync.%I TO inventory_sync_reader', old_name);

    -- on every partition, present and future (the converted table's own are adopted)
    FOR i IN 1 .. coalesce(array_length(idx_names, 1), 0) LOOP
        EXECUTE idx_defs[i];
        IF idx_comments[i] IS NOT NULL THEN
            EXECUTE format('COMMENT ON INDEX inventory_sync.%I IS %L', idx_names[i], idx_comments[i]);
        END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(trg_names, 1), 0) LOOP
        EXECUTE trg_defs[i];
        IF trg_comments[i] IS NOT NULL THEN
            EXECUTE format('COMMENT ON TRIGGER %I ON inventory_sync.%I IS %L', trg_names[i], table_name, trg_comments[i]);
        END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(view_defs, 1), 0) LOOP
        EXECUTE view_defs[i];
    END LOOP;
    EXECUTE format('ALTER EXTENSION inventory_sync ADD TABLE inventory_sync.%I', table_name);
    RETURN old_name;
END
$$;
COMMENT ON FUNCTION _partition_convert(text, text, timestamptz, timestamptz, text) IS
  'Converts one table into a table range-partitioned by a key: the current one becomes the partition of everything before the boundary, the new one takes over its columns, identity, comments, indexes, triggers, rights, views and extension membership; refuses a table whose unique indexes it could not keep; returns the converted table''s name';

-- pg_partman's schema and major version, or NULL when it is not installed.
CREATE FUNCTION _partman()
RETURNS TABLE (schema_name text, major integer)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT x.extnamespace::regnamespace::text, split_part(x.extversion, '.', 1)::integer
      FROM pg_extension x WHERE x.extname = 'pg_partman'
$$;
COMMENT ON FUNCTION _partman() IS 'The schema and major version of pg_partman, when it is installed (no row otherwise)';

-- Hands a partitioned table to pg_partman: create_parent() from the boundary on (4.x:
-- p_type 'native'; 5.x: 'range' and no default partition), its default partition dropped
-- (a row outside every range is refused, as natively), the converted table renamed the
-- way pg_partman names a partition by its lower bound (its run_maintenance() orders a
-- set's partitions by the date in their names).
CREATE FUNCTION _partman_register(table_name text, partition_key text, old_name text, lower_bound timestamptz,
                                  boundary timestamptz, part_interval interval, premake integer)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    pm record;
    parent text := format('inventory_sync.%I', table_name);
    start text := to_char(boundary AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00';
    datetime_string text;
    p record;
BEGIN
    SELECT * INTO pm FROM _partman();
    IF pm.major >= 5 THEN
        EXECUTE format('SELECT %I.create_parent(p_parent_table => %L, p_control => %L, p_interval => %L, p_type => %L, p_premake => %s, p_start_partition => %L, p_default_table => false)',
                       pm.schema_name, parent, partition_key, part_interval::text, 'range', premake, start);
    ELSE
        EXECUTE format('SELECT %I.create_parent(p_parent_table => %L, p_control => %L, p_type => %L, p_interval => %L, p_premake => %s, p_start_partition => %L)',
                       pm.schema_name, parent, partition_key, 'native', part_interval::text, premake, start);
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS inventory_sync.%I', table_name || '_default');
    EXECUTE format('SELECT c.datetime_string FROM %I.part_config c WHERE c.parent_table = %L', pm.schema_name, parent)
       INTO datetime_string;
    EXECUTE format('ALTER TABLE inventory_sync.%I RENAME TO %I', old_name,
                   table_name || '_p' || to_char(lower_bound AT TIME ZONE 'UTC', datetime_string));
    -- readers read a partition as they read its table; only the table is written
    FOR p IN SELECT tp.partition_name FROM table_partitions(table_name) tp LOOP
        EXECUTE format('GRANT SELECT ON inventory_sync.%I TO inventory_sync_reader', p.partition_name);
    END LOOP;
END
$$;
COMMENT ON FUNCTION _partman_register(text, text, text, timestamptz, timestamptz, interval, integer) IS
  'Registers a partitioned table with pg_partman (create_parent from the boundary on, no default partition) and renames its converted partition the way pg_partman names partitions';

CREATE FUNCTION partition_ledger(part_interval interval DEFAULT '1 month', premake integer DEFAULT 4,
                                 first_boundary timestamptz DEFAULT NULL, after_states boolean DEFAULT true,
                                 maintenance text DEFAULT 'native')
RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz)
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
    boundary timestamptz := first_boundary;
    lower_bound timestamptz;
    t record;
    latest timestamptz;
    earliest timestamptz;
    converted text[] := '{}';
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = 'inventory_sync.ledger'::regclass) = 'p' THEN
        RAISE EXCEPTION 'the ledger is partitioned already'
            USING ERRCODE = 'IS090',
                  DETAIL = format('Partitions: %s.', (SELECT string_agg(p.partition_name, ', ') FROM ledger_partitions() p)),
                  HINT = 'maintain_partitions() creates the coming partitions; detach_ledger_partition() archives old ones.';
    END IF;
    IF part_interval IS NULL OR part_interval < interval '1 hour' THEN
        RAISE EXCEPTION 'partition interval % is too short', coalesce(part_interval::text, 'NULL')
            USING ERRCODE = 'IS090', HINT = 'Give an interval of an hour or more, e.g. ''1 month'' or ''1 day''.';
    END IF;
    IF premake IS NULL OR premake < 1 OR premake > 1000 THEN
        RAISE EXCEPTION 'premake % is out of range', coalesce(premake::text, 'NULL')
            USING ERRCODE = 'IS090', HINT = 'Keep between 1 and 1000 partitions ahead of now.';
    END IF;
    IF after_states IS NULL OR maintenance IS NULL OR maintenance NOT IN ('native', 'pg_partman') THEN
        RAISE EXCEPTION 'maintenance % is not native or pg_partman', coalesce(quote_literal(maintenance), 'NULL')
            USING ERRCODE = 'IS090', HINT = 'Give maintenance => ''native'' (maintain_partitions() creates partitions) or ''pg_partman'', and after_states true or false.';
    END IF;
    IF maintenance = 'pg_partman' AND NOT EXISTS (SELECT FROM _partman()) THEN
        RAISE EXCEPTION 'pg_partman is not installed in this database'
            USING ERRCODE = 'IS090', HINT = 'CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman; or partition with maintenance => ''native''.';
    END IF;

    -- nothing posts while the tables change shape (the ledger first: every writer of the
    -- after-states holds it, or a promise table locked before them)
    LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE;
    IF after_states THEN
        LOCK TABLE balance_change, reservation_change, channel_atp_change IN ACCESS EXCLUSIVE MODE;
    END IF;
    IF boundary IS NULL THEN
        -- the start of the next interval, counted from the start of the current month,
        -- day or hour (the largest unit the interval has)
        boundary := date_trunc(CASE WHEN extract(month FROM part_interval) > 0 OR extract(year FROM part_interval) > 0 THEN 'month'
                                    WHEN extract(day FROM part_interval) > 0 THEN 'day'
                                    ELSE 'hour' END, now()) + part_interval;
    END IF;
    -- pg_partman lays partitions on the starts of its units (date_trunc): the first
    -- boundary must be one, or its first partition would overlap the converted table
    IF maintenance = 'pg_partman'
       AND boundary <> date_trunc(CASE WHEN extract(year FROM part_interval) > 0 AND extract(month FROM part_interval) = 0 THEN 'year'
                                       WHEN extract(month FROM part_interval) > 0 OR extract(year FROM part_interval) > 0 THEN 'month'
                                       WHEN extract(day FROM part_interval) = 7 THEN 'week'
                                       WHEN extract(day FROM part_interval) > 0 THEN 'day'
                                       ELSE 'hour' END, boundary) THEN
        RAISE EXCEPTION 'first boundary % is not the start of a % pg_partman partition', boundary, part_interval
            USING ERRCODE = 'IS090',
                  HINT = 'With maintenance => ''pg_partman'' give a boundary at the start of a day, week, month or year (UTC) as the interval has, or none.';
    END IF;
    FOR t IN SELECT p.table_name, p.partition_key FROM _partitionable_tables() p
              WHERE p.table_name = 'ledger' OR after_states LOOP
        EXECUTE format('SELECT max(%1$I), min(%1$I) FROM inventory_sync.%2$I', t.partition_key, t.table_name)
           INTO latest, earliest;
        IF boundary <= latest THEN
            RAISE EXCEPTION 'first boundary % is not after the latest % of %, %', boundary, t.partition_key, t.table_name, latest
                USING ERRCODE = 'IS090',
                      HINT = 'Everything recorded so far must fall before the first boundary: give a later one, or none.';
        END IF;
        -- pg_partman reads a partition's lower bound (MINVALUE is none): the converted
        -- tables start on the series, at or before the earliest row
        IF maintenance = 'pg_partman' THEN
            lower_bound := coalesce(lower_bound, boundary - part_interval);
            WHILE lower_bound > earliest LOOP
                lower_bound := lower_bound - part_interval;
            END LOOP;
        END IF;
    END LOOP;

    converted := converted || _partition_convert('ledger', 'recorded_at', boundary, lower_bound,
                                                 'PRIMARY KEY (posting_id, recorded_at), UNIQUE (source, source_event_id, recorded_at)');
    -- every event posted so far, into the registry a partitioned ledger finds replays in
    EXECUTE format($i$INSERT INTO inventory_sync.ledger_event (source, source_event_id, posting_id, recorded_at, payload_hash)
                      SELECT l.source, l.source_event_id, l.posting_id, l.recorded_at,
                             inventory_sync._event_fingerprint(l.kind, l.gtin, l.location, l.to_location, l.lot, l.serial,
                                                               l.bucket, l.to_bucket, l.quantity, l.unit)
                        FROM inventory_sync.%I l$i$, converted[1]);
    IF after_states THEN
        FOR t IN SELECT p.table_name, p.partition_key FROM _partitionable_tables() p WHERE p.table_name <> 'ledger' LOOP
            converted := converted || _partition_convert(t.table_name, t.partition_key, boundary, lower_bound, NULL);
        END LOOP;
    END IF;

    IF maintenance = 'native' THEN
        PERFORM _ledger_extend_partitions(part_interval, premake, boundary);
    ELSE
        FOR t IN SELECT p.table_name, p.partition_key, row_number() OVER () AS n FROM _partitionable_tables() p
                  WHERE p.table_name = 'ledger' OR after_states LOOP
            PERFORM _partman_register(t.table_name, t.partition_key, converted[t.n], lower_bound, boundary,
                                      part_interval, premake);
        END LOOP;
    END IF;

    INSERT INTO ledger_partitioning (part_interval, premake, first_boundary, after_states, maintenance)
    VALUES (part_interval, premake, boundary, after_states, maintenance);
    RETURN QUERY SELECT p.partition_name, p.range_from, p.range_to FROM ledger_partitions() p;
END
$$;
COMMENT ON FUNCTION partition_ledger(interval, integer, timestamptz, boolean, text) IS
  'Converts the ledger (and, with after_states, balance_change, reservation_change and channel_atp_change), once, into tables range-partitioned by time: each current table holds everything before first_boundary (default: the start of the next interval), partitions of part_interval follow for premake intervals ahead, created natively or by pg_partman (maintenance); indexes, triggers and rights move to the partitioned tables, every event posted so far is registered in ledger_event; returns the ledger''s partitions';

-- The identities of the partitioned tables brought up to the highest id they hold: a
-- restored dump loads the partitions' rows, and a partitioned table's identity sequence is
-- not among what the dump sets (it was created after CREATE EXTENSION); returns how many
-- it moved.
CREATE FUNCTION _partition_identities_catch_up()
RETURNS integer
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    col record;
    highest bigint;
    moved integer := 0;
BEGIN
    FOR col IN
        SELECT c.relname::text AS table_name, a.attname::text AS column_name,
               pg_get_serial_sequence(c.oid::regclass::text, a.attname)::regclass AS seq
          FROM _partitionable_tables() p
          JOIN pg_class c ON c.relname = p.table_name AND c.relnamespace = 'inventory_sync'::regnamespace AND c.relkind = 'p'
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> '' AND NOT a.attisdropped
    LOOP
        EXECUTE format('SELECT max(%I) FROM inventory_sync.%I', col.column_name, col.table_name) INTO highest;
        IF highest > coalesce(pg_sequence_last_value(col.seq), 0) THEN
            PERFORM setval(col.seq, highest);
            moved := moved + 1;
        END IF;
    END LOOP;
    RETURN moved;
END
$$;
COMMENT ON FUNCTION _partition_identities_catch_up() IS
  'Sets the identity sequence of each partitioned table to the highest id it holds when it is behind (after a restore); returns how many it moved';

-- Before a dump of a partitioned deployment is loaded into a new database: the tables
-- partition_ledger() partitioned become partitioned tables with no partition, which the
-- dump then creates and attaches, with their rows (the dump's CREATE EXTENSION creates
-- them as single tables, to which no partition attaches).
CREATE FUNCTION prepare_partitioned_restore(after_states boolean DEFAULT true)
RETURNS TABLE (table_name text, partition_key text)
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
    t record;
    old_name text;
    stamp text := to_char(clock_timestamp(), 'YYYYMMDD"_"HH24MISS');
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = 'inventory_sync.ledger'::regclass) = 'p' THEN
        RAISE EXCEPTION 'the ledger is partitioned already'
            USING ERRCODE = 'IS090', HINT = 'Prepare a new database, with the extension just created, before loading the dump.';
    END IF;
    IF EXISTS (SELECT FROM ledger) OR EXISTS (SELECT FROM ledger_partitioning) THEN
        RAISE EXCEPTION 'the ledger is not empty: this is not a database to restore into'
            USING ERRCODE = 'IS090', HINT = 'Create a new database and the extension in it, prepare it, then load the dump.';
    END IF;
    LOCK TABLE ledger, balance_change, reservation_change, channel_atp_change IN ACCESS EXCLUSIVE MODE;
    FOR t IN SELECT p.table_name, p.partition_key FROM _partitionable_tables() p
              WHERE p.table_name = 'ledger' OR after_states LOOP
        old_name := _partition_convert(t.table_name, t.partition_key, now(), NULL,
                                       CASE WHEN t.table_name = 'ledger'
                                            THEN 'PRIMARY KEY (posting_id, recorded_at), UNIQUE (source, source_event_id, recorded_at)' END);
        EXECUTE format('ALTER TABLE inventory_sync.%I DETACH PARTITION inventory_sync.%I', t.table_name, old_name);
        IF t.table_name = 'ledger' THEN
            -- the posting API's functions return its row type (post() RETURNS ledger was
            -- created with it): it stays, empty, under a name no dump uses
            EXECUTE format('ALTER TABLE inventory_sync.%I RENAME TO %I', old_name, 'ledger_unpartitioned_' || stamp);
            EXECUTE format('REVOKE ALL ON inventory_sync.%I FROM PUBLIC, inventory_sync_writer, inventory_sync_admin',
                           'ledger_unpartitioned_' || stamp);
            EXECUTE format('COMMENT ON TABLE inventory_sync.%I IS %L', 'ledger_unpartitioned_' || stamp,
                           'The table the ledger was before prepare_partitioned_restore(), empty: kept for its row type, which the posting API returns');
        ELSE
            EXECUTE format('DROP TABLE inventory_sync.%I', old_name);
        END IF;
        table_name := t.table_name;
        partition_key := t.partition_key;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION prepare_partitioned_restore(boolean) IS
  'In a new database with the extension just created, before a dump of a partitioned deployment is loaded: turns the ledger (and, with after_states, balance_change, reservation_change and channel_atp_change) into partitioned tables with no partition, for the dump to create and attach its partitions; run maintain_partitions() after loading; returns the tables';

CREATE FUNCTION maintain_partitions(premake integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
    cfg ledger_partitioning;
    pm record;
    t record;
    part record;
    before bigint;
    after bigint;
BEGIN
    -- two runs at once: the second waits, then finds the partitions made
    LOCK TABLE ledger_partitioning IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO cfg FROM ledger_partitioning;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the ledger is not partitioned by partition_ledger()'
            USING ERRCODE = 'IS090', HINT = 'Partition it first: SELECT inventory_sync.partition_ledger().';
    END IF;
    IF premake IS NOT NULL AND (premake < 1 OR premake > 1000) THEN
        RAISE EXCEPTION 'premake % is out of range', premake
            USING ERRCODE = 'IS090', HINT = 'Keep between 1 and 1000 partitions ahead of now.';
    END IF;
    -- (after a restore: ids continue after the highest restored)
    PERFORM _partition_identities_catch_up();
    IF cfg.maintenance = 'native' THEN
        RETURN _ledger_extend_partitions(cfg.part_interval, coalesce(premake, cfg.premake), cfg.first_boundary);
    END IF;
    SELECT * INTO pm FROM _partman();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the ledger is maintained by pg_partman, which is not installed in this database'
            USING ERRCODE = 'IS090', HINT = 'Install pg_partman again in the schema it was in.';
    END IF;
    SELECT count(*) INTO before FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent
     WHERE c.relnamespace = 'inventory_sync'::regnamespace AND c.relname IN (SELECT p.table_name FROM _partitionable_tables() p);
    FOR t IN SELECT p.table_name FROM _partitionable_tables() p WHERE p.table_name = 'ledger' OR cfg.after_states LOOP
        IF premake IS NOT NULL THEN
            EXECUTE format('UPDATE %I.part_config SET premake = %s WHERE parent_table = %L',
                           pm.schema_name, premake, format('inventory_sync.%I', t.table_name));
        END IF;
        EXECUTE format('SELECT %I.run_maintenance(p_parent_table => %L)', pm.schema_name, format('inventory_sync.%I', t.table_name));
        -- readers read a partition as they read its table; only the table is written
        FOR part IN SELECT tp.partition_name FROM table_partitions(t.table_name) tp LOOP
            EXECUTE format('GRANT SELECT ON inventory_sync.%I TO inventory_sync_reader', part.partition_name);
        END LOOP;
    END LOOP;
    SELECT count(*) INTO after FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent
     WHERE c.relnamespace = 'inventory_sync'::regnamespace AND c.relname IN (SELECT p.table_name FROM _partitionable_tables() p);
    RETURN after - before;
END
$$;
COMMENT ON FUNCTION maintain_partitions(integer) IS
  'Creates the partitions of the coming intervals, up to premake (default: as partitioned) ahead of now, natively or through pg_partman''s run_maintenance(); returns how many. Idempotent and safe to run concurrently: schedule it, e.g. daily with pg_cron';

-- The after-state partitions of the archived range, archived with the ledger's (by
-- detach_ledger_partition(), in its transaction): what the retained history needs of them
-- goes to the anchors (122_ledger_archive.sql) before each is detached. Partitions are
-- taken oldest first, so a later partition's last version of a key replaces an earlier's.
CREATE FUNCTION _archive_after_states(before timestamptz, drop_partition boolean)
RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
    p record;
    n bigint;
    archived bigint := 0;
BEGIN
    -- no change is in flight while a partition is summed and detached
    LOCK TABLE balance_change, reservation_change, channel_atp_change IN ACCESS EXCLUSIVE MODE;
    FOR p IN
        SELECT t.tbl, tp.partition_name AS name, tp.range_from, tp.range_to
          FROM unnest(ARRAY['balance_change', 'reservation_change', 'channel_atp_change']) WITH ORDINALITY AS t(tbl, o)
         CROSS JOIN LATERAL table_partitions(t.tbl) tp
         WHERE tp.range_to <= before
         ORDER BY tp.range_to, t.o
    LOOP
        IF p.tbl = 'balance_change' THEN
            EXECUTE format($s$
                INSERT INTO inventory_sync.balance_change_anchor AS a (balance_id, version, quantity_after, last_event_time)
                SELECT DISTINCT ON (c.balance_id) c.balance_id, c.version, c.quantity_after,
                       max(c.event_time) OVER (PARTITION BY c.balance_id)
                  FROM inventory_sync.%1$I c
                 ORDER BY c.balance_id, c.version DESC
                ON CONFLICT (balance_id) DO UPDATE
                   SET version = greatest(a.version, excluded.version),
                       quantity_after = CASE WHEN excluded.version > a.version THEN excluded.quantity_after
                                             ELSE a.quantity_after END,
                       last_event_time = greatest(a.last_event_time, excluded.last_event_time)$s$, p.name);
            -- a count's delta is taken from its after-state: the archived ones are summed
            -- with the archived postings' effects
            EXECUTE format($s$
                INSERT INTO inventory_sync.ledger_archived_effect AS a (item_gtin, location, lot, bucket, quantity, postings)
                SELECT c.item_gtin, c.location, c.lot, c.bucket, sum(c.delta), count(*)
                  FROM inventory_sync.%1$I c WHERE c.kind = 'count'
                 GROUP BY 1, 2, 3, 4
                ON CONFLICT (item_gtin, location, lot, bucket)
                DO UPDATE SET quantity = a.quantity + excluded.quantity, postings = a.postings + excluded.postings$s$,
                p.name);
        ELSIF p.tbl = 'reservation_change' THEN
            EXECUTE format($s$
                INSERT INTO inventory_sync.reservation_change_anchor AS a (reservation_id, delta, changes)
                SELECT c.reservation_id, sum(c.delta), count(*)
                  FROM inventory_sync.%1$I c GROUP BY 1
                ON CONFLICT (reservation_id)
                DO UPDATE SET delta = a.delta + excluded.delta, changes = a.changes + excluded.changes$s$, p.name);
        END IF;
        IF p.tbl IN ('reservation_change', 'channel_atp_change') THEN
            -- a channel's ATP history is in both (channel_atp_history): the last version wins
            EXECUTE format($s$
                INSERT INTO inventory_sync.channel_atp_anchor AS a (channel, item_gtin, version, atp_after)
                SELECT DISTINCT ON (c.channel, c.item_gtin) c.channel, c.item_gtin, c.version, c.atp_after
                  FROM inventory_sync.%1$I c %2$s
                 ORDER BY c.channel, c.item_gtin, c.version DESC
                ON CONFLICT (channel, item_gtin) DO UPDATE
                   SET version = greatest(a.version, excluded.version),
                       atp_after = CASE WHEN excluded.version > a.version THEN excluded.atp_after
                                        ELSE a.atp_after END$s$,
                p.name, CASE WHEN p.tbl = 'reservation_change' THEN 'WHERE c.atp_before IS NOT NULL' ELSE '' END);
        END IF;
        EXECUTE format('SELECT count(*) FROM inventory_sync.%I', p.name) INTO n;
        INSERT INTO after_state_archive (partition_name, table_name, range_from, range_to, changes, dropped)
        VALUES (p.name, p.tbl, p.range_from, p.range_to, n, drop_partition);
        EXECUTE format('ALTER TABLE inventory_sync.%I DETACH PARTITION inventory_sync.%I', p.tbl, p.name);
        IF drop_partition AND NOT EXISTS (
               SELECT FROM pg_depend d JOIN pg_class c ON c.reltype = d.refobjid
                WHERE d.refclassid = 'pg_type'::regclass AND c.relname = p.name
                  AND c.relnamespace = 'inventory_sync'::regnamespace AND d.deptype = 'n') THEN
            EXECUTE format('DROP TABLE inventory_sync.%I', p.name);
        ELSE
            -- kept as a read-only archive (or, dropped, emptied: something uses its row type)
            IF drop_partition THEN
                EXECUTE format('TRUNCATE inventory_sync.%I', p.name);
            END IF;
            EXECUTE format('REVOKE ALL ON inventory_sync.%I FROM PUBLIC, inventory_sync_writer, inventory_sync_admin', p.name);
            EXECUTE format('GRANT SELECT ON inventory_sync.%I TO inventory_sync_reader', p.name);
            EXECUTE format('COMMENT ON TABLE inventory_sync.%I IS %L', p.name,
                           format('Archived %s partition: changes from %s to %s (detach_ledger_partition(), see after_state_archive)',
                                  p.tbl, coalesce(p.range_from::text, 'the first'), p.range_to));
        END IF;
        archived := archived + 1;
    END LOOP;
    RETURN archived;
END
$$;
COMMENT ON FUNCTION _archive_after_states(timestamptz, boolean) IS
  'Archives the after-state partitions (balance_change, reservation_change, channel_atp_change) whose range ends at or before a time: records per balance key, reservation and channel what the retained history starts from (the anchors), adds archived counts'' deltas to ledger_archived_effect, records each in after_state_archive and detaches or drops it; returns how many (called by detach_ledger_partition())';

CREATE FUNCTION detach_ledger_partition(before timestamptz, drop_partition boolean DEFAULT false)
RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, postings bigint, dropped boolean)
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
    p record;
    n bigint;
    first_id bigint;
    last_id bigint;
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = 'inventory_sync.ledger'::regclass) <> 'p' THEN
        RAISE EXCEPTION 'the ledger is not partitioned'
            USING ERRCODE = 'IS090', HINT = 'Partition it first: SELECT inventory_sync.partition_ledger().';
    END IF;
    IF before > now() THEN
        RAISE EXCEPTION 'cannot archive the ledger before %: that is later than now', before
            USING ERRCODE = 'IS091', HINT = 'Archive only what was recorded in the past, e.g. before now() - interval ''13 months''.';
    END IF;
    -- no posting is in flight while its partition's effects are summed and it is detached
    LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE;
    FOR p IN
        SELECT lp.partition_name AS name, lp.range_from, lp.range_to
          FROM ledger_partitions() lp
         WHERE lp.range_to <= before
         ORDER BY lp.range_to
    LOOP
        EXECUTE format($s$
            WITH effect AS (
                SELECT l.item_gtin, l.location, l.lot, l.bucket, l.base_quantity AS delta
                  FROM inventory_sync.%1$I l WHERE l.kind <> 'count'
                UNION ALL
                SELECT l.item_gtin, coalesce(l.to_location, l.location), l.lot,
                       coalesce(l.to_bucket, l.bucket), -l.base_quantity
                  FROM inventory_sync.%1$I l WHERE l.kind IN ('move', 'transfer_out', 'transfer_in')
            )
            INSERT INTO inventory_sync.ledger_archived_effect AS a (item_gtin, location, lot, bucket, quantity, postings)
            SELECT e.item_gtin, e.location, e.lot, e.bucket, sum(e.delta), count(*)
              FROM effect e GROUP BY 1, 2, 3, 4
            ON CONFLICT (item_gtin, location, lot, bucket)
            DO UPDATE SET quantity = a.quantity + excluded.quantity, postings = a.postings + excluded.postings$s$,
            p.name);
        EXECUTE format('SELECT count(*), min(posting_id), max(posting_id) FROM inventory_sync.%I', p.name)
           INTO n, first_id, last_id;
        INSERT INTO ledger_archive (partition_name, range_from, range_to, postings, first_posting, last_posting, dropped)
        VALUES (p.name, p.range_from, p.range_to, n, first_id, last_id, drop_partition);
        EXECUTE format('ALTER TABLE inventory_sync.ledger DETACH PARTITION inventory_sync.%I', p.name);
        IF drop_partition AND EXISTS (
               SELECT FROM pg_depend d JOIN pg_class c ON c.reltype = d.refobjid
                WHERE d.refclassid = 'pg_type'::regclass AND c.relname = p.name
                  AND c.relnamespace = 'inventory_sync'::regnamespace AND d.deptype = 'n') THEN
            -- the table partition_ledger() converted: the posting API's functions return
            -- its row type (post() RETURNS ledger was created with it), so it stays, empty
            EXECUTE format('TRUNCATE inventory_sync.%I', p.name);
            EXECUTE format('REVOKE ALL ON inventory_sync.%I FROM PUBLIC, inventory_sync_writer, inventory_sync_admin', p.name);
            EXECUTE format('GRANT SELECT ON inventory_sync.%I TO inventory_sync_reader', p.name);
            EXECUTE format('COMMENT ON TABLE inventory_sync.%I IS %L', p.name,
                           'The table the ledger was before it was partitioned, emptied by detach_ledger_partition(): kept for its row type, which the posting API returns');
        ELSIF drop_partition THEN
            EXECUTE format('DROP TABLE inventory_sync.%I', p.name);
        ELSE
            -- kept as a read-only archive: readers may read it, nobody writes it
            EXECUTE format('REVOKE ALL ON inventory_sync.%I FROM PUBLIC, inventory_sync_writer, inventory_sync_admin', p.name);
            EXECUTE format('GRANT SELECT ON inventory_sync.%I TO inventory_sync_reader', p.name);
            EXECUTE format('COMMENT ON TABLE inventory_sync.%I IS %L', p.name,
                           format('Archived ledger partition: postings recorded from %s to %s (detach_ledger_partition(), see ledger_archive)',
                                  coalesce(p.range_from::text, 'the first'), p.range_to));
        END IF;
        partition_name := p.name;
        range_from := p.range_from;
        range_to := p.range_to;
        postings := n;
        dropped := drop_partition;
        RETURN NEXT;
    END LOOP;
    -- the after-state partitions of the same range go with them
    IF (SELECT lp.after_states FROM ledger_partitioning lp) THEN
        PERFORM _archive_after_states(before, drop_partition);
    END IF;
END
$$;
COMMENT ON FUNCTION detach_ledger_partition(timestamptz, boolean) IS
  'Archives every ledger partition whose range ends at or before a time: sums its postings'' effects per balance key into ledger_archived_effect, records it in ledger_archive, detaches it (kept read-only) or drops it (the converted table is emptied instead: the posting API returns its row type); with the after-state tables partitioned, archives their partitions of the same range too, keeping anchors the retained history starts from; balances, versions, the event registry, verify() and verify_promises() stay exact; returns the ledger partitions it archived';
