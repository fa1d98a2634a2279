-- pgTAP: snapshot ingest and the KPIs (sql/install/40*_snapshot_*.sql, 410_kpi.sql):
-- declarations and rights, every refusal with its SQLSTATE, nothing half-applied, the
-- option that posts the good rows and keeps the rejected ones.
-- (The stories, with variance reports, availability feeds, progress NOTICEs and every KPI
-- under real conditions, are sql/reconcile.sql and sql/reconcile_kpi.sql.)
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET client_min_messages = warning;
SELECT plan(98);

-- ---------------------------------------------------------------------------
-- Declarations
-- ---------------------------------------------------------------------------
SELECT volatility_is('inventory_sync', 'ingest_snapshot',
                     ARRAY['text', 'regclass', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'numeric', 'numeric', 'integer'],
                     'volatile', 'ingest_snapshot: volatile (it posts)');
SELECT volatility_is('inventory_sync', 'check_snapshot', ARRAY['text', 'regclass', 'text', 'timestamp with time zone'], 'volatile',
                     'check_snapshot: volatile (it fills work tables)');
SELECT volatility_is('inventory_sync', '_snapshot_load', ARRAY['text', 'regclass', 'text', 'timestamp with time zone', 'timestamp with time zone'],
                     'volatile', '_snapshot_load: volatile');
SELECT volatility_is('inventory_sync', 'snapshot_variance', ARRAY['bigint', 'numeric', 'numeric'], 'stable',
                     'snapshot_variance: stable (reads only)');
SELECT volatility_is('inventory_sync', '_snapshot_check_args', ARRAY['text', 'text', 'timestamp with time zone', 'timestamp with time zone'], 'stable',
                     '_snapshot_check_args: stable');
SELECT volatility_is('inventory_sync', '_snapshot_time', ARRAY['text'], 'stable',
                     '_snapshot_time: stable (text to timestamptz depends on TimeZone and DateStyle)');
SELECT volatility_is('inventory_sync', '_snapshot_counted_sql', ARRAY['text', 'text', 'bigint', 'bigint'], 'immutable',
                     '_snapshot_counted_sql: immutable (formats a query)');
SELECT volatility_is('inventory_sync', 'may_post_as', ARRAY['text'], 'stable', 'may_post_as: stable');
SELECT volatility_is('inventory_sync', 'kpi_source', ARRAY['interval'], 'stable', 'kpi_source: stable');
SELECT volatility_is('inventory_sync', 'kpi_count_accuracy', ARRAY['interval', 'numeric'], 'stable',
                     'kpi_count_accuracy: stable');

SELECT isnt_strict('inventory_sync', 'ingest_snapshot',
                   ARRAY['text', 'regclass', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'numeric', 'numeric', 'integer'],
                   'ingest_snapshot: not strict (a NULL argument is an error, not a silent nothing)');
SELECT isnt_strict('inventory_sync', 'check_snapshot', ARRAY['text', 'regclass', 'text', 'timestamp with time zone'],
                   'check_snapshot: not strict');
SELECT isnt_strict('inventory_sync', 'snapshot_variance', ARRAY['bigint', 'numeric', 'numeric'],
                   'snapshot_variance: not strict (NULL tolerance = the ingest''s)');
SELECT is_strict('inventory_sync', '_snapshot_time', ARRAY['text'], '_snapshot_time: strict');
SELECT is_strict('inventory_sync', 'may_post_as', ARRAY['text'], 'may_post_as: strict');

-- Parallel safety: the ones that write, fill temp tables or start subtransactions are unsafe.
SELECT results_eq(
  $$SELECT p.proname::text COLLATE "default", p.proparallel::text FROM pg_proc p
     WHERE p.pronamespace = 'inventory_sync'::regnamespace
       AND p.proname IN ('ingest_snapshot', 'check_snapshot', '_snapshot_load', '_snapshot_time', '_snapshot_check_args',
                         '_snapshot_counted_sql', 'may_post_as', 'snapshot_variance', 'kpi_source', 'kpi_count_accuracy')
     ORDER BY p.proname$$,
  $$VALUES ('_snapshot_check_args', 's'), ('_snapshot_counted_sql', 's'), ('_snapshot_load', 'u'),
           ('_snapshot_time', 'u'), ('check_snapshot', 'u'), ('ingest_snapshot', 'u'), ('kpi_count_accuracy', 's'),
           ('kpi_source', 's'), ('may_post_as', 's'), ('snapshot_variance', 's')$$,
  'PARALLEL: unsafe where it writes or catches errors, safe where it only reads');

-- Rights: none of them raises rights; each pins its search_path.
SELECT is(count(*), 0::bigint, 'no reconciliation or KPI function is SECURITY DEFINER: the ingest runs as the caller')
  FROM pg_proc p
 WHERE p.pronamespace = 'inventory_sync'::regnamespace AND p.prosecdef
   AND (p.proname LIKE '%snapshot%' OR p.proname LIKE 'kpi\_%' OR p.proname = 'may_post_as')
   AND p.proname NOT IN ('location_snapshot', 'channel_snapshot');
SELECT is(count(*), 0::bigint, 'every one pins search_path')
  FROM pg_proc p
 WHERE p.pronamespace = 'inventory_sync'::regnamespace
   AND p.proname IN ('ingest_snapshot', 'check_snapshot', '_snapshot_load', '_snapshot_time', '_snapshot_check_args',
                     '_snapshot_counted_sql', 'may_post_as', 'snapshot_variance', 'kpi_source', 'kpi_count_accuracy')
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=pg\_catalog%');

-- Comments on every object, and every object belongs to the extension.
SELECT is(count(*), 0::bigint, 'every function has a comment')
  FROM pg_proc p
 WHERE p.pronamespace = 'inventory_sync'::regnamespace
   AND p.proname IN ('ingest_snapshot', 'check_snapshot', '_snapshot_load', '_snapshot_time', '_snapshot_check_args',
                     '_snapshot_counted_sql', 'may_post_as', 'snapshot_variance', 'kpi_source', 'kpi_count_accuracy')
   AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT is(count(*), 0::bigint, 'every table, view and index has a comment')
  FROM pg_class c
 WHERE c.relnamespace = 'inventory_sync'::regnamespace
   AND c.relname IN ('snapshot_ingest', 'snapshot_rejection', 'snapshot_key', 'snapshot_rejection_ingest',
                     'snapshot_key_ingest', 'ledger_source_recorded', 'balance_change_recorded', 'kpi_source',
                     'kpi_slot', 'kpi_feed_delay', 'kpi_count_accuracy', 'kpi_in_transit_shipment', 'kpi_in_transit')
   AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT is(count(*), 13::bigint, '(all thirteen of them exist)')
  FROM pg_class c
 WHERE c.relnamespace = 'inventory_sync'::regnamespace
   AND c.relname IN ('snapshot_ingest', 'snapshot_rejection', 'snapshot_key', 'snapshot_rejection_ingest',
                     'snapshot_key_ingest', 'ledger_source_recorded', 'balance_change_recorded', 'kpi_source',
                     'kpi_slot', 'kpi_feed_delay', 'kpi_count_accuracy', 'kpi_in_transit_shipment', 'kpi_in_transit');
SELECT is(count(*), 0::bigint, 'every row-level security policy has a comment')
  FROM pg_policy p
 WHERE p.polrelid IN ('snapshot_ingest'::regclass, 'snapshot_rejection'::regclass, 'snapshot_key'::regclass)
   AND obj_description(p.oid, 'pg_policy') IS NULL;
SELECT is(count(*), 0::bigint, 'every column of the ingest tables has a comment')
  FROM pg_attribute a
 WHERE a.attrelid IN ('snapshot_ingest'::regclass, 'snapshot_rejection'::regclass, 'snapshot_key'::regclass)
   AND a.attnum > 0 AND NOT a.attisdropped
   AND col_description(a.attrelid, a.attnum) IS NULL;
SELECT is(count(*), 0::bigint, 'every function, table and view belongs to the extension')
  FROM (SELECT 'pg_proc'::regclass AS classid, p.oid AS objid FROM pg_proc p
         WHERE p.pronamespace = 'inventory_sync'::regnamespace
           AND p.proname IN ('ingest_snapshot', 'check_snapshot', '_snapshot_load', '_snapshot_time', '_snapshot_check_args',
                             '_snapshot_counted_sql', 'may_post_as', 'snapshot_variance', 'kpi_source', 'kpi_count_accuracy')
        UNION ALL
        SELECT 'pg_class'::regclass, c.oid FROM pg_class c
         WHERE c.relnamespace = 'inventory_sync'::regnamespace
           AND c.relname IN ('snapshot_ingest', 'snapshot_rejection', 'snapshot_key', 'kpi_source', 'kpi_slot', 'kpi_feed_delay',
                             'kpi_count_accuracy', 'kpi_in_transit_shipment', 'kpi_in_transit')) o
 WHERE NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = o.classid AND d.objid = o.objid AND d.deptype = 'e'
                      AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'inventory_sync'));
SELECT ok((SELECT extconfig @> ARRAY['snapshot_ingest'::regclass, 'snapshot_rejection'::regclass, 'snapshot_key'::regclass,
                                     'snapshot_ingest_ingest_id_seq'::regclass]::oid[]
             FROM pg_extension WHERE extname = 'inventory_sync'),
          'the ingest tables and their sequence are dumped by pg_dump (pg_extension_config_dump)');
SELECT ok((SELECT bool_and(relrowsecurity) FROM pg_class
            WHERE oid IN ('snapshot_ingest'::regclass, 'snapshot_rejection'::regclass, 'snapshot_key'::regclass)),
          'row-level security on the three ingest tables');

-- GRANTs to the three roles.
SELECT table_privs_are('inventory_sync', 'snapshot_ingest', 'inventory_sync_reader', ARRAY['SELECT'],
                       'readers read ingest runs');
SELECT table_privs_are('inventory_sync', 'snapshot_rejection', 'inventory_sync_reader', ARRAY['SELECT'],
                       'readers read rejections');
SELECT table_privs_are('inventory_sync', 'snapshot_key', 'inventory_sync_reader', ARRAY['SELECT'], 'readers read key notes');
SELECT table_privs_are('inventory_sync', 'snapshot_ingest', 'inventory_sync_writer', ARRAY['INSERT', 'SELECT'],
                       'writers start runs (INSERT) and read them');
SELECT table_privs_are('inventory_sync', 'snapshot_rejection', 'inventory_sync_writer', ARRAY['INSERT', 'SELECT'],
                       'writers record rejections');
SELECT table_privs_are('inventory_sync', 'snapshot_ingest', 'inventory_sync_admin', ARRAY['INSERT', 'SELECT'],
                       'admins as writers (no DELETE: runs are history)');
SELECT column_privs_are('inventory_sync', 'snapshot_ingest', 'accuracy', 'inventory_sync_writer',
                        ARRAY['INSERT', 'SELECT', 'UPDATE'], 'writers finish a run: its results are updatable');
SELECT column_privs_are('inventory_sync', 'snapshot_ingest', 'feed_id', 'inventory_sync_writer', ARRAY['INSERT', 'SELECT'],
                        'but not what it was: feed id, source, terms');
SELECT function_privs_are('inventory_sync', 'ingest_snapshot',
                          ARRAY['text', 'regclass', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'numeric', 'numeric', 'integer'],
                          'inventory_sync_writer', ARRAY['EXECUTE'], 'writers ingest');
SELECT function_privs_are('inventory_sync', 'ingest_snapshot',
                          ARRAY['text', 'regclass', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'numeric', 'numeric', 'integer'],
                          'inventory_sync_admin', ARRAY['EXECUTE'], 'admins ingest');
SELECT function_privs_are('inventory_sync', 'ingest_snapshot',
                          ARRAY['text', 'regclass', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'numeric', 'numeric', 'integer'],
                          'inventory_sync_reader', ARRAY[]::text[], 'readers do not');
SELECT function_privs_are('inventory_sync', 'ingest_snapshot',
                          ARRAY['text', 'regclass', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'numeric', 'numeric', 'integer'],
                          'public', ARRAY[]::text[], 'nor PUBLIC');
SELECT function_privs_are('inventory_sync', 'check_snapshot', ARRAY['text', 'regclass', 'text', 'timestamp with time zone'],
                          'inventory_sync_writer', ARRAY['EXECUTE'], 'writers check feeds');
SELECT function_privs_are('inventory_sync', 'check_snapshot', ARRAY['text', 'regclass', 'text', 'timestamp with time zone'],
                          'public', ARRAY[]::text[], 'PUBLIC does not');
SELECT function_privs_are('inventory_sync', 'snapshot_variance', ARRAY['bigint', 'numeric', 'numeric'],
                          'inventory_sync_reader', ARRAY['EXECUTE'], 'readers read variance reports');
SELECT function_privs_are('inventory_sync', 'snapshot_variance', ARRAY['bigint', 'numeric', 'numeric'],
                          'public', ARRAY[]::text[], 'PUBLIC does not');
SELECT function_privs_are('inventory_sync', 'kpi_source', ARRAY['interval'], 'inventory_sync_reader', ARRAY['EXECUTE'],
                          'readers read source KPIs');
SELECT function_privs_are('inventory_sync', 'kpi_count_accuracy', ARRAY['interval', 'numeric'], 'public', ARRAY[]::text[],
                          'PUBLIC does not read KPIs');
SELECT ok((SELECT bool_and(has_table_privilege('inventory_sync_reader', v, 'SELECT'))
             FROM unnest(ARRAY['kpi_source', 'kpi_slot', 'kpi_feed_delay', 'kpi_count_accuracy', 'kpi_in_transit_shipment', 'kpi_in_transit']) v),
          'readers read every KPI view');

-- ---------------------------------------------------------------------------
-- Data: item A (and its case of 6), lot-tracked B; a DC owned by the WMS, a store owned
-- by the store system. Each system posts as its own role.
-- ---------------------------------------------------------------------------
INSERT INTO item (gtin, name) VALUES ('09506000600017', 'A');
INSERT INTO item_pack (pack_gtin, item_gtin, quantity, name) VALUES ('19506000600014', '09506000600017', 6, 'Case of 6 A');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000600024', 'B', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141600014', 'DC', 'warehouse'), ('0614141600021', 'Store', 'store');
CREATE ROLE is_tap_recon_wms NOLOGIN IN ROLE inventory_sync_writer;
CREATE ROLE is_tap_recon_sim NOLOGIN IN ROLE inventory_sync_writer;
CREATE ROLE is_tap_recon_reader NOLOGIN IN ROLE inventory_sync_reader;
INSERT INTO source (source, name, kind, role) VALUES ('t_wms', 'WMS', 'wms', 'is_tap_recon_wms'),
                                                     ('t_sim', 'Stores', 'store', 'is_tap_recon_sim');
INSERT INTO ownership (location, bucket, source) VALUES ('0614141600014', NULL, 't_wms'), ('0614141600021', NULL, 't_sim');
SET ROLE is_tap_recon_wms;
DO $$ BEGIN
  PERFORM inventory_sync.receive('t_wms', 'GR-1', '19506000600014', '0614141600014', 10, 'released', event_time => now() - interval '1 day');
  PERFORM inventory_sync.receive('t_wms', 'GR-2', '09506000600024', '0614141600014', 20, 'released', lot => 'L1', event_time => now() - interval '1 day');
END $$;
RESET ROLE;

-- The SQLSTATE and DETAIL of an error, or NULL when the statement succeeds.
CREATE FUNCTION public.is_tap_recon_err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text;
    dt text;
BEGIN
    EXECUTE stmt;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, dt = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || dt;
END
$$;
-- What a refusal must leave untouched.
CREATE FUNCTION public.is_tap_recon_state() RETURNS text LANGUAGE sql AS $$
    SELECT format('ledger %s, changes %s, on hand %s, runs %s, rejections %s, key notes %s',
                  (SELECT count(*) FROM inventory_sync.ledger), (SELECT count(*) FROM inventory_sync.balance_change),
                  (SELECT sum(quantity) FROM inventory_sync.balance),
                  (SELECT count(*) FROM inventory_sync.snapshot_ingest),
                  (SELECT count(*) FROM inventory_sync.snapshot_rejection),
                  (SELECT count(*) FROM inventory_sync.snapshot_key))
$$;
GRANT EXECUTE ON FUNCTION public.is_tap_recon_err(text), public.is_tap_recon_state() TO PUBLIC;
CREATE TEMP TABLE tap_state AS SELECT public.is_tap_recon_state() AS before;
GRANT SELECT ON tap_state TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Refusals: a feed with a bad row is refused whole (IS080), the DETAIL lists the row.
-- Each feed has one good line (line 1) and one bad one (line 2).
-- ---------------------------------------------------------------------------
SET ROLE is_tap_recon_wms;
CREATE TEMP TABLE f_gtin (line int, gtin text, gln text, lot text, quantity text, as_of text);
INSERT INTO f_gtin VALUES (1, '09506000600017', '0614141600014', NULL, '60', NULL),
                          (2, '09506000600048', '0614141600014', NULL, '1', NULL);
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_gtin', 'on_hand', now() - interval '1 hour', 'T-GTIN')$$,
                 'IS080', 'snapshot T-GTIN of source "t_wms" refused: 1 of 2 rows are bad',
                 'unknown GTIN: the feed is refused (IS080)');
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_gtin', 'on_hand', now() - interval '1 hour', 'T-GTIN')$$),
          'IS080: line 2: unknown item: gtin 09506000600048', 'the DETAIL names the line and the GTIN');

CREATE TEMP TABLE f_malformed_gtin (line int, gtin text, gln text, quantity text);
INSERT INTO f_malformed_gtin VALUES (1, '09506000600017', '0614141600014', '60'), (2, '09506000600018', '0614141600014', '1');
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_malformed_gtin', 'on_hand', now())$$),
          'IS080: line 2: gtin "09506000600018" is not a valid GTIN', 'a GTIN with a wrong check digit (IS080)');

CREATE TEMP TABLE f_gln (line int, gtin text, gln text, quantity text);
INSERT INTO f_gln VALUES (1, '09506000600017', '0614141600014', '60'), (2, '09506000600017', '0614141600090', '1');
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_gln', 'on_hand', now())$$),
          'IS080: line 2: unknown location: gln 0614141600090', 'unknown GLN (IS080)');

CREATE TEMP TABLE f_negative (line int, gtin text, gln text, quantity text);
INSERT INTO f_negative VALUES (1, '09506000600017', '0614141600014', '60'), (2, '19506000600014', '0614141600014', '-1');
-- (the case GTIN names the same key as line 1: the duplicate is listed too)
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_negative', 'on_hand', now())$$),
          E'IS080: line 1: the same key (gtin 09506000600017, gln 0614141600014, lot -, bucket "released") is also on line 2\n'
          'line 2: quantity -1 is negative; the same key (gtin 09506000600017, gln 0614141600014, lot -, bucket "released") is also on line 1',
          'negative quantity (IS080), and a case GTIN is the same key as its item''s');

CREATE TEMP TABLE f_malformed (line int, gtin text, gln text, bucket text, quantity text);
INSERT INTO f_malformed VALUES (1, '09506000600017', '0614141600014', NULL, '60'),
                               (2, '09506000600017', '0614141600014', 'damaged', '1,5');
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_malformed', 'on_hand', now())$$),
          'IS080: line 2: quantity "1,5" is not a number', 'malformed quantity (IS080)');
UPDATE f_malformed SET quantity = '1.5' WHERE line = 2;
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_malformed', 'on_hand', now())$$),
          'IS080: line 2: quantity 1.5 is not a whole number of EA', 'a fraction of a unit that only comes whole (IS080)');
UPDATE f_malformed SET quantity = NULL WHERE line = 2;
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_malformed', 'on_hand', now())$$),
          'IS080: line 2: quantity is missing', 'a missing quantity (IS080)');
UPDATE f_malformed SET quantity = 'NaN' WHERE line = 2;
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_malformed', 'on_hand', now())$$),
          'IS080: line 2: quantity "NaN" is not a number', 'NaN is not a quantity (IS080)');

CREATE TEMP TABLE f_dup (line int, gtin text, gln text, lot text, quantity text);
INSERT INTO f_dup VALUES (1, '09506000600024', '0614141600014', 'L1', '20'), (2, '09506000600024', '0614141600014', 'L1', '19');
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_dup', 'on_hand', now())$$),
          E'IS080: line 1: the same key (gtin 09506000600024, gln 0614141600014, lot L1, bucket "released") is also on line 2\n'
          'line 2: the same key (gtin 09506000600024, gln 0614141600014, lot L1, bucket "released") is also on line 1',
          'the same key twice (IS080): both lines listed, each naming the other');

CREATE TEMP TABLE f_future (line int, gtin text, gln text, quantity text, as_of timestamptz);
INSERT INTO f_future VALUES (1, '09506000600017', '0614141600014', '60', NULL),
                            (2, '09506000600024', '0614141600014', '1', now() + interval '1 day');
SELECT matches(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_future', 'on_hand', now())$$),
               '^IS080: line 2: item 09506000600024 is lot-tracked: the row needs a lot; as_of .* is in the future$',
               'a row as of the future (IS080), with every other problem of the row');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_gtin', 'on_hand', now() + interval '1 minute')$$, 'IS081', NULL,
                 'a feed as of the future (IS081)');

CREATE TEMP TABLE f_owner (line int, gtin text, gln text, quantity text);
INSERT INTO f_owner VALUES (1, '09506000600017', '0614141600014', '60'), (2, '09506000600017', '0614141600021', '1');
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_owner', 'on_hand', now())$$),
          'IS080: line 2: source "t_wms" is not the system of record for bucket "released" at location 0614141600021 (the owner is "t_sim")',
          'a location the source does not own (IS080)');

-- Every bad row at once: one line each in the DETAIL, and check_snapshot() lists the same rows.
CREATE TEMP TABLE f_all (line int, gtin text, gln text, lot text, quantity text, as_of text);
INSERT INTO f_all
SELECT line, gtin, gln, lot, quantity, as_of FROM f_gtin WHERE line = 2
UNION ALL SELECT 3, gtin, gln, NULL, quantity, NULL FROM f_gln WHERE line = 2
UNION ALL SELECT 4, gtin, gln, NULL, quantity, NULL FROM f_negative WHERE line = 2
UNION ALL SELECT 5, gtin, gln, NULL, 'ten', NULL FROM f_malformed WHERE line = 1
UNION ALL SELECT 6, gtin, gln, lot, quantity, NULL FROM f_dup
UNION ALL SELECT 8, '09506000600024', '0614141600014', 'L2', '1', '3000-01-01'
UNION ALL SELECT 9, '09506000600024', '0614141600014', 'L3', '1', 'yesterday-ish';
UPDATE f_all SET line = 7 WHERE line = 6 AND quantity = '19';
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_all', 'on_hand', now())$$) ~ '^IS080: ',
          true, 'a feed of bad rows: IS080');
SELECT is(array_length(string_to_array(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_all', 'on_hand', now())$$), E'\n'), 1),
          8, 'the DETAIL has one line per bad row (8 of 8)');
SELECT results_eq($$SELECT line, problems[1] FROM check_snapshot('t_wms', 'f_all', 'on_hand', now())$$,
  $$VALUES (2::bigint, 'unknown item: gtin 09506000600048'), (3, 'unknown location: gln 0614141600090'),
           (4, 'quantity -1 is negative'), (5, 'quantity "ten" is not a number'),
           (6, 'the same key (gtin 09506000600024, gln 0614141600014, lot L1, bucket "released") is also on line 7'),
           (7, 'the same key (gtin 09506000600024, gln 0614141600014, lot L1, bucket "released") is also on line 6'),
           (8, 'as_of 3000-01-01 00:00:00+00 is in the future'), (9, 'as_of "yesterday-ish" is not a timestamp')$$,
  'check_snapshot: every bad row as a row, in line order');

-- Whole-feed refusals.
SELECT throws_ok($$SELECT ingest_snapshot('nosuch', 'f_gtin', 'on_hand', now())$$, '23503', 'unknown source "nosuch"',
                 'unknown source (23503)');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_gtin', 'physical', now())$$, '22023', NULL, 'unknown kind (22023)');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_gtin', 'on_hand', now(), absent => 'drop')$$, '22023', NULL,
                 'unknown absent option (22023)');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_gtin', 'on_hand', now(), scope => 'all')$$, '22023', NULL,
                 'unknown scope option (22023)');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_gtin', 'on_hand', now(), on_error => 'ignore')$$, '22023', NULL,
                 'unknown on_error option (22023)');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_gtin', 'on_hand', now(), tolerance => -1)$$, '22023', NULL,
                 'negative tolerance (22023)');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_gtin', 'on_hand', now(), chunk_size => 0)$$, '22023', NULL,
                 'chunk_size 0 (22023)');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_gtin', 'on_hand', NULL)$$, '22004', NULL, 'no as_of (22004)');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', NULL, 'on_hand', now())$$, '22004', NULL, 'no feed (22004)');
CREATE TEMP TABLE f_noqty (gtin text, gln text);
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_noqty', 'on_hand', now())$$, '42703',
                 'feed f_noqty has no column "quantity"', 'a feed without a quantity column (42703)');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_nosuch', 'on_hand', now())$$, '42P01', NULL,
                 'a feed table that does not exist (42P01)');
RESET ROLE;

-- A role may only ingest as the sources bound to it; readers may not ingest at all.
SET ROLE is_tap_recon_sim;
CREATE TEMP TABLE f_sim (gtin text, gln text, quantity text);
INSERT INTO f_sim VALUES ('09506000600017', '0614141600021', '3');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_sim', 'on_hand', now())$$, '42501',
                 'role "is_tap_recon_sim" may not post as source "t_wms"', 'posting as another role''s source (42501)');
SELECT is(public.is_tap_recon_err($$SELECT inventory_sync.ingest_snapshot('t_wms', 'f_sim', 'on_hand', now())$$),
          '42501: Source "t_wms" is bound to role "is_tap_recon_wms".', 'the DETAIL names the role it is bound to');
SELECT throws_ok($$INSERT INTO snapshot_ingest (source, feed_id, kind, as_of, scope, absent, on_error, tolerance, tolerance_pct, feed)
                   VALUES ('t_wms', 'forged', 'on_hand', now(), 'feed', 'keep', 'refuse', 0, 0, 'x')$$,
                 '42501', 'new row violates row-level security policy for table "snapshot_ingest"',
                 'nor can it forge a run of that source');
RESET ROLE;
GRANT SELECT ON f_sim TO is_tap_recon_reader;
SET ROLE is_tap_recon_reader;
SELECT throws_ok($$SELECT ingest_snapshot('t_sim', 'f_sim', 'on_hand', now())$$, '42501',
                 'permission denied for function ingest_snapshot', 'a reader may not ingest (42501)');
SELECT throws_ok($$SELECT * FROM check_snapshot('t_sim', 'f_sim', 'on_hand', now())$$, '42501',
                 'permission denied for function check_snapshot', 'nor check feeds');
RESET ROLE;

-- Nothing of any refused feed was written anywhere.
SELECT is(public.is_tap_recon_state(), (SELECT before FROM tap_state), 'every refusal left ledger, balances and run records as they were');

-- A failure while posting (after chunk 1 of 2 was posted) takes the chunks before it
-- back too: one statement, one transaction.
CREATE FUNCTION public.is_tap_recon_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.source_event_id LIKE 'T-BOOM:%:09506000600024:%' THEN
        RAISE EXCEPTION 'boom at %', NEW.source_event_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER zz_is_tap_recon_boom BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION public.is_tap_recon_boom();
SET ROLE is_tap_recon_wms;
CREATE TEMP TABLE f_two (gtin text, gln text, lot text, quantity text);
INSERT INTO f_two VALUES ('09506000600017', '0614141600014', NULL, '59'), ('09506000600024', '0614141600014', 'L1', '19');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_two', 'on_hand', now(), 'T-BOOM', chunk_size => 1)$$, 'P0001',
                 'boom at T-BOOM:0614141600014:09506000600024:released:L1', 'the second chunk fails');
RESET ROLE;
DROP TRIGGER zz_is_tap_recon_boom ON ledger;
SELECT is(public.is_tap_recon_state(), (SELECT before FROM tap_state), 'and the first chunk''s counts are gone with it');

-- ---------------------------------------------------------------------------
-- on_error => 'skip': the good rows are posted, the bad ones kept (and returned).
-- ---------------------------------------------------------------------------
SET ROLE is_tap_recon_wms;
CREATE TEMP TABLE f_mixed (line int, gtin text, gln text, lot text, quantity text);
INSERT INTO f_mixed VALUES (1, '19506000600014', '0614141600014', NULL, '9'),        -- 54 A: good
                           (2, '09506000600024', '0614141600014', 'L1', '20'),       -- good, accurate
                           (3, '09506000600048', '0614141600014', NULL, '1'),        -- unknown item
                           (4, '09506000600024', '0614141600014', 'L2', '-3'),       -- negative
                           (5, '09506000600017', '0614141600090', NULL, '1');        -- unknown location
SELECT results_eq(
  $$SELECT status, rows_read, rows_rejected, keys_counted, keys_accurate, accuracy
      FROM ingest_snapshot('t_wms', 'f_mixed', 'on_hand', now() - interval '1 hour', 'T-MIXED', on_error => 'skip')$$,
  $$VALUES ('partial', 5::bigint, 3::bigint, 2::bigint, 1::bigint, 0.5::numeric)$$,
  'skip: a partial run, 3 of 5 rows rejected, 2 counted, one of them accurate');
SELECT results_eq(
  $$SELECT r.line, r.gtin, r.gln, r.quantity, r.problems FROM snapshot_rejection r
      JOIN snapshot_ingest i USING (ingest_id) WHERE i.feed_id = 'T-MIXED' ORDER BY r.line$$,
  $$VALUES (3::bigint, '09506000600048', '0614141600014', '1', ARRAY['unknown item: gtin 09506000600048']),
           (4, '09506000600024', '0614141600014', '-3', ARRAY['quantity -3 is negative']),
           (5, '09506000600017', '0614141600090', '1', ARRAY['unknown location: gln 0614141600090'])$$,
  'the rejected rows, as the feed stated them, with their problems');
SELECT results_eq(
  $$SELECT item_gtin::text, lot::text, ours, theirs, difference, within_tolerance, status
      FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'T-MIXED'))$$,
  $$VALUES ('09506000600017', NULL::text, 60::numeric, 54::numeric, -6::numeric, false, 'counted'),
           ('09506000600024', 'L1', 20, 20, 0, true, 'counted')$$,
  'the good rows were counted: the variance report');
SELECT results_eq(
  $$SELECT item_gtin::text, within_tolerance FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'T-MIXED'), 0, 10)$$,
  $$VALUES ('09506000600017', true), ('09506000600024', true)$$,
  'a 10 % tolerance makes the 6-of-60 difference accurate');
SELECT results_eq($$SELECT item_gtin::text, lot::text, quantity FROM balance WHERE location = '0614141600014' ORDER BY 1, 2$$,
                  $$VALUES ('09506000600017', NULL::text, 54::numeric), ('09506000600024', 'L1', 20)$$,
                  'balances: the counts applied');
SELECT is((SELECT count(*) FROM ledger WHERE reference = 'T-MIXED' AND kind = 'count' AND source = 't_wms'
                                          AND actor = 'is_tap_recon_wms'), 2::bigint,
          'two counts in the ledger, posted by the WMS''s role as the WMS');
-- the same feed id again: the first run, nothing posted
SELECT results_eq($$SELECT status, keys_counted FROM ingest_snapshot('t_wms', 'f_mixed', 'on_hand', now() - interval '1 hour', 'T-MIXED', on_error => 'skip')$$,
                  $$VALUES ('partial', 2::bigint)$$, 'the same feed id again returns the first run');
SELECT is((SELECT count(*) FROM ledger WHERE reference = 'T-MIXED'), 2::bigint, '... and posts nothing');
SELECT throws_ok($$SELECT ingest_snapshot('t_wms', 'f_mixed', 'on_hand', now() - interval '2 hours', 'T-MIXED', on_error => 'skip')$$,
                 'IS002', 'feed "T-MIXED" of source "t_wms" was already ingested with different terms',
                 'the same feed id with other terms (IS002)');
-- a count as of a time before the key's last count is stale
CREATE TEMP TABLE f_stale (gtin text, gln text, quantity int);
INSERT INTO f_stale VALUES ('09506000600017', '0614141600014', 50);
SELECT matches((SELECT problems[1] FROM check_snapshot('t_wms', 'f_stale', 'on_hand', now() - interval '2 hours')),
               '^stale: the key was counted as of .*, later than this row''s .*$', 'a row older than the key''s last count is stale');
RESET ROLE;

-- absent => 'zero' with scope => 'owned': everything the WMS owns and the feed does not name becomes 0.
SET ROLE is_tap_recon_wms;
CREATE TEMP TABLE f_reset (gtin text, gln text, quantity text);
INSERT INTO f_reset VALUES ('09506000600017', '0614141600014', '54');
SELECT results_eq(
  $$SELECT keys_counted, keys_zeroed, keys_unmentioned, accuracy
      FROM ingest_snapshot('t_wms', 'f_reset', 'on_hand', now() - interval '30 minutes', 'T-RESET', absent => 'zero', scope => 'owned')$$,
  $$VALUES (1::bigint, 1::bigint, 0::bigint, 0.5::numeric)$$, 'a full hard reset: the lot not in the feed is zeroed');
SELECT is((SELECT quantity FROM balance WHERE item_gtin = '09506000600024' AND location = '0614141600014' AND lot = 'L1'),
          0::numeric, 'its balance is 0');
RESET ROLE;

-- Readers read runs, rejections, variance and KPIs.
SET ROLE is_tap_recon_reader;
SELECT is((SELECT count(*) FROM snapshot_variance((SELECT ingest_id FROM snapshot_ingest WHERE feed_id = 'T-RESET'))),
          2::bigint, 'a reader reads a variance report');
SELECT is((SELECT rows_rejected FROM kpi_source WHERE source = 't_wms'), 3::bigint, 'and the rejections per source');
SELECT is((SELECT counts FROM kpi_count_accuracy WHERE source = 't_wms'), 4::bigint, 'and the accuracy from counts');
SELECT throws_ok($$SELECT * FROM snapshot_variance(-1)$$, '23503', 'snapshot ingest -1 does not exist', 'an unknown ingest (23503)');
SELECT throws_ok($$SELECT * FROM snapshot_variance((SELECT min(ingest_id) FROM snapshot_ingest), -1)$$, '22023', NULL,
                 'a negative tolerance (22023)');
RESET ROLE;

SELECT is(count(*), 0::bigint, 'verify(): balances equal the ledger') FROM verify();
SELECT * FROM finish();
ROLLBACK;
