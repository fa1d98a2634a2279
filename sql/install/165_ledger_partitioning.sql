-- since 0.2.0
-- ---------------------------------------------------------------------------
-- The ledger range-partitioned by recorded_at, as a supported operation.
--
--   partition_ledger()         converts the ledger, once: the current table becomes the
--                              partition of everything recorded before the first
--                              boundary, later ranges get partitions of their own;
--   maintain_partitions()      creates the partitions of the coming ranges (a scheduled
--                              job: a posting outside every partition is refused);
--   detach_ledger_partition()  archives the partitions that ended before a time:
--                              detached (or dropped), their effects summed per key first
--                              (122_ledger_archive.sql), so verify() stays exact;
--   ledger_partitions()        lists the partitions and their ranges.
--
-- Only the ledger is partitioned. balance_change stays one table: a count computes the
-- balance as of its watermark from a key's after-states, verify() checks each key's
-- version chain from version 1, and the feed's consumers catch up from it; archiving
-- after-states would need an anchor per key that nothing keeps yet. The event registry
-- (ledger_event, 160_ledger_event.sql) makes replays no-ops across partitions, also
-- detached and dropped ones.
--
-- The three that change the ledger run as the extension owner, for the admin role only:
-- they rename, create and detach tables the owner owns, register events in ledger_event
-- (which only a superuser may write outside the engine) and change the extension's
-- membership. Bounds are computed and named in UTC.
-- ---------------------------------------------------------------------------

CREATE TABLE ledger_partitioning (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    part_interval  interval NOT NULL,
    premake        integer NOT NULL,
    first_boundary timestamptz NOT NULL,
    partitioned_at timestamptz NOT NULL DEFAULT now(),
    partitioned_by name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE ledger_partitioning IS
  'How partition_ledger() partitioned the ledger (one row, none while it is not partitioned): what maintain_partitions() follows';
COMMENT ON COLUMN ledger_partitioning.singleton IS 'Always true: the table has at most one row';
COMMENT ON COLUMN ledger_partitioning.part_interval IS 'The range of recorded_at each partition holds';
COMMENT ON COLUMN ledger_partitioning.premake IS 'How many intervals ahead of now maintain_partitions() keeps partitions for';
COMMENT ON COLUMN ledger_partitioning.first_boundary IS 'Where the converted table''s range ends and the first partition of its own begins; every later boundary is first_boundary + k * part_interval';
COMMENT ON COLUMN ledger_partitioning.partitioned_at IS 'When the ledger was partitioned';
COMMENT ON COLUMN ledger_partitioning.partitioned_by IS 'Who partitioned it';
CREATE TRIGGER ledger_partitioning_owner_only BEFORE INSERT OR UPDATE OR DELETE ON ledger_partitioning
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_partitioning_no_truncate BEFORE TRUNCATE ON ledger_partitioning
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
GRANT SELECT ON ledger_partitioning, ledger_archive, ledger_archived_effect TO inventory_sync_reader;
SELECT pg_catalog.pg_extension_config_dump('ledger_partitioning', '');

-- The partitions of the ledger with their bounds (NULL: MINVALUE or MAXVALUE), read back
-- from the catalog's bound expressions in this session's own rendering.
CREATE FUNCTION ledger_partitions()
RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz, estimated_rows bigint)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.relname::text,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM $r$FROM \('([^']*)'\)$r$)::timestamptz,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM $r$TO \('([^']*)'\)$r$)::timestamptz,
           greatest(c.reltuples, 0)::bigint
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'inventory_sync.ledger'::regclass
     ORDER BY 3 NULLS LAST
$$;
COMMENT ON FUNCTION ledger_partitions() IS
  'The partitions of the ledger: name, range of recorded_at (from inclusive, to exclusive; NULL where unbounded), estimated rows; none while the ledger is not partitioned';

-- A partition's name: ledger_p and its lower bound (UTC), with the time when it is not
-- midnight.
CREATE FUNCTION _ledger_partition_name(lower_bound timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'ledger_p' || CASE WHEN (lower_bound AT TIME ZONE 'UTC')::time = '00:00'
                              THEN to_char(lower_bound AT TIME ZONE 'UTC', 'YYYYMMDD')
                              ELSE to_char(lower_bound AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISS') END
$$;
COMMENT ON FUNCTION _ledger_partition_name(timestamptz) IS
  'The name of the ledger partition starting at a bound: ledger_pYYYYMMDD (UTC; _HH24MISS appended when the bound is not midnight)';

-- The partitions from the latest upper bound on, until now() + premake intervals is
-- covered; returns how many it created. The caller holds the lock that serialises it.
CREATE FUNCTION _ledger_extend_partitions(part_interval interval, premake integer, first_boundary timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    upper_bound timestamptz;
    k bigint;
    created integer := 0;
    target timestamptz := now() + premake * part_interval;
BEGIN
    SELECT max(p.range_to) INTO upper_bound FROM ledger_partitions() p;
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
        EXECUTE format('CREATE TABLE inventory_sync.%I PARTITION OF inventory_sync.ledger FOR VALUES FROM (%L) TO (%L)',
                       _ledger_partition_name(upper_bound), upper_bound, first_boundary + k * part_interval);
        -- readers read a partition as they read the ledger; only the ledger is written
        EXECUTE format('GRANT SELECT ON inventory_sync.%I TO inventory_sync_reader', _ledger_partition_name(upper_bound));
        upper_bound := first_boundary + k * part_interval;
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION _ledger_extend_partitions(interval, integer, timestamptz) IS
  'Creates the ledger partitions from the latest upper bound on, on the series first_boundary + k * part_interval, until now() + premake intervals is covered; returns how many';

CREATE FUNCTION partition_ledger(part_interval interval DEFAULT '1 month', premake integer DEFAULT 4,
                                 first_boundary timestamptz DEFAULT NULL)
RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz)
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
    boundary timestamptz := first_boundary;
    last_recorded timestamptz;
    last_id bigint;
    old_name text;
    old_seq regclass;
    table_comment text;
    idx record;
    idx_names text[] := '{}';
    idx_defs text[] := '{}';
    idx_comments text[] := '{}';
    trg record;
    trg_names text[] := '{}';
    trg_defs text[] := '{}';
    trg_comments text[] := '{}';
    i integer;
    vw record;
    view_names text[] := '{}';
    view_defs text[] := '{}';
    con record;
    acl record;
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

    -- nothing posts while the ledger changes shape
    LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE;
    SELECT max(l.recorded_at), max(l.posting_id) INTO last_recorded, last_id FROM ledger l;
    IF boundary IS NULL THEN
        -- the start of the next interval, counted from the start of the current month,
        -- day or hour (the largest unit the interval has)
        boundary := date_trunc(CASE WHEN extract(month FROM part_interval) > 0 OR extract(year FROM part_interval) > 0 THEN 'month'
                                    WHEN extract(day FROM part_interval) > 0 THEN 'day'
                                    ELSE 'hour' END, now()) + part_interval;
    END IF;
    IF boundary <= last_recorded THEN
        RAISE EXCEPTION 'first boundary % is not after the latest posting, recorded at %', boundary, last_recorded
            USING ERRCODE = 'IS090',
                  HINT = 'Every posting recorded so far must fall before the first boundary: give a later one, or none.';
    END IF;
    old_name := 'ledger_until_' || substr(_ledger_partition_name(boundary), 9);
    old_seq := pg_get_serial_sequence('inventory_sync.ledger', 'posting_id')::regclass;
    table_comment := obj_description('inventory_sync.ledger'::regclass, 'pg_class');

    -- the ledger's own indexes and triggers, as defined on it, to create on the
    -- partitioned table under the same names
    FOR idx IN
        SELECT ic.relname::text AS name, pg_get_indexdef(i.indexrelid) AS def,
               obj_description(i.indexrelid, 'pg_class') AS comment
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = 'inventory_sync.ledger'::regclass
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
         WHERE t.tgrelid = 'inventory_sync.ledger'::regclass AND NOT t.tgisinternal
    LOOP
        trg_names := trg_names || trg.name;
        trg_defs := trg_defs || trg.def;
        trg_comments := trg_comments || trg.comment;
    END LOOP;

    -- the views over the ledger (the product's and any other), to define again over the
    -- partitioned table: a view refers to a table by its identity, and the renamed one
    -- becomes a single partition
    FOR vw IN
        SELECT DISTINCT v.oid::regclass::text AS name,
               format('CREATE OR REPLACE VIEW %I.%I%s AS %s', v.relnamespace::regnamespace, v.relname,
                      CASE WHEN v.reloptions IS NULL THEN ''
                           ELSE ' WITH (' || array_to_string(v.reloptions, ', ') || ')' END,
                      pg_get_viewdef(v.oid)) AS def
          FROM pg_depend d
          JOIN pg_rewrite r ON r.oid = d.objid
          JOIN pg_class v ON v.oid = r.ev_class
         WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.refobjid = 'inventory_sync.ledger'::regclass AND v.relkind = 'v'
    LOOP
        view_names := view_names || vw.name;
        view_defs := view_defs || vw.def;
    END LOOP;

    EXECUTE format('ALTER TABLE inventory_sync.ledger RENAME TO %I', old_name);
    FOR i IN 1 .. coalesce(array_length(trg_names, 1), 0) LOOP
        EXECUTE format('DROP TRIGGER %I ON inventory_sync.%I', trg_names[i], old_name);
    END LOOP;
    -- a unique index of a partitioned table contains the partition key
    FOR con IN
        SELECT k.conname::text AS name FROM pg_constraint k
         WHERE k.conrelid = ('inventory_sync.' || quote_ident(old_name))::regclass AND k.contype IN ('p', 'u')
    LOOP
        EXECUTE format('ALTER TABLE inventory_sync.%I DROP CONSTRAINT %I', old_name, con.name);
    END LOOP;
    EXECUTE format('ALTER TABLE inventory_sync.%I ADD PRIMARY KEY (posting_id, recorded_at), ADD UNIQUE (source, source_event_id, recorded_at)',
                   old_name);
    FOR i IN 1 .. coalesce(array_length(idx_names, 1), 0) LOOP
        EXECUTE format('ALTER INDEX inventory_sync.%I RENAME TO %I', idx_names[i], old_name || substr(idx_names[i], 7));
    END LOOP;
    EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', old_seq, old_name || '_posting_id_seq');

    EXECUTE format($c$CREATE TABLE inventory_sync.ledger (
                          LIKE inventory_sync.%I INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING COMMENTS,
                          PRIMARY KEY (posting_id, recorded_at),
                          UNIQUE (source, source_event_id, recorded_at))
                       PARTITION BY RANGE (recorded_at)$c$, old_name);
    EXECUTE format('COMMENT ON TABLE inventory_sync.ledger IS %L', table_comment);
    -- posting ids continue where the old identity stopped
    last_id := greatest(coalesce(pg_sequence_last_value(old_seq), 0), coalesce(last_id, 0));
    IF last_id > 0 THEN
        PERFORM setval(pg_get_serial_sequence('inventory_sync.ledger', 'posting_id'), last_id);
    END IF;
    -- a partition takes its parent's identity (PostgreSQL 17 and later refuse one with
    -- its own); the converted table leaves the extension, so it can be archived like
    -- any other partition
    EXECUTE format('ALTER EXTENSION inventory_sync DROP SEQUENCE %s', old_seq);
    EXECUTE format('ALTER TABLE inventory_sync.%I ALTER COLUMN posting_id DROP IDENTITY', old_name);
    EXECUTE format('ALTER EXTENSION inventory_sync DROP TABLE inventory_sync.%I', old_name);
    EXECUTE format('ALTER TABLE inventory_sync.ledger ATTACH PARTITION inventory_sync.%I FOR VALUES FROM (MINVALUE) TO (%L)',
                   old_name, boundary);
    -- a partition is written through the ledger only (its statement trigger applies the
    -- postings): the rights on the table move to the partitioned one
    FOR acl IN
        SELECT a.grantee, a.privilege_type
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.relname = old_name AND c.relnamespace = 'inventory_sync'::regnamespace AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON inventory_sync.ledger TO %s', acl.privilege_type,
                       CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(acl.grantee::regrole::text) END);
        EXECUTE format('REVOKE %s ON inventory_sync.%I FROM %s', acl.privilege_type, old_name,
                       CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(acl.grantee::regrole::text) END);
    END LOOP;
    EXECUTE format('GRANT SELECT ON inventory_sync.%I TO inventory_sync_reader', old_name);

    -- every event posted so far, into the registry a partitioned ledger finds replays in
    EXECUTE format($i$INSERT INTO inventory_sync.ledger_event (source, source_event_id, posting_id, recorded_at, payload_hash)
                      SELECT l.source, l.source_event_id, l.posting_id, l.recorded_at,
                             inventory_sync._event_fingerprint(l.kind, l.gtin, l.location, l.to_location, l.lot, l.serial,
                                                               l.bucket, l.to_bucket, l.quantity, l.unit)
                        FROM inventory_sync.%I l$i$, old_name);

    PERFORM _ledger_extend_partitions(part_interval, premake, boundary);
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
            EXECUTE format('COMMENT ON TRIGGER %I ON inventory_sync.ledger IS %L', trg_names[i], trg_comments[i]);
        END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(view_defs, 1), 0) LOOP
        EXECUTE view_defs[i];
    END LOOP;
    ALTER EXTENSION inventory_sync ADD TABLE ledger;

    INSERT INTO ledger_partitioning (part_interval, premake, first_boundary)
    VALUES (part_interval, premake, boundary);
    RETURN QUERY SELECT p.partition_name, p.range_from, p.range_to FROM ledger_partitions() p;
END
$$;
COMMENT ON FUNCTION partition_ledger(interval, integer, timestamptz) IS
  'Converts the ledger, once, into a table range-partitioned by recorded_at: the current table holds everything before first_boundary (default: the start of the next interval), partitions of part_interval follow for premake intervals ahead; indexes, triggers and rights move to the partitioned table, every event posted so far is registered in ledger_event; returns the partitions';

CREATE FUNCTION maintain_partitions(premake integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
    cfg ledger_partitioning;
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
    RETURN _ledger_extend_partitions(cfg.part_interval, coalesce(premake, cfg.premake), cfg.first_boundary);
END
$$;
COMMENT ON FUNCTION maintain_partitions(integer) IS
  'Creates the ledger partitions of the coming intervals, up to premake (default: as partitioned) ahead of now; returns how many. Idempotent and safe to run concurrently: schedule it, e.g. daily with pg_cron';

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
END
$$;
COMMENT ON FUNCTION detach_ledger_partition(timestamptz, boolean) IS
  'Archives every ledger partition whose range ends at or before a time: sums its postings'' effects per balance key into ledger_archived_effect, records it in ledger_archive, detaches it (kept read-only) or drops it (the converted table is emptied instead: the posting API returns its row type); balances, after-states, the event registry and verify() stay exact; returns what it archived';
