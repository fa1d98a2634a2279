#!/usr/bin/env bash
# bench/gtin_input.sh: how fast the gtin type takes in, sorts and indexes GTINs, against the
# same work done by contrib isn's ean13 and by a text column validated with a CHECK
# constraint (regex plus a check-digit SQL function), in the same run on the same cluster.
#
# Needs a running PostgreSQL reachable through PGHOST/PGPORT/PGUSER (pg_virtualenv sets them),
# with inventory_sync installed (make install) and contrib's isn available:
#
#   pg_virtualenv -v 15 bash bench/gtin_input.sh
#
# Each case is run ROUNDS times (default 3), rounds interleaving the variants, and the best
# time kept.  Rate = rows per second; ratio = gtin rate / baseline rate (above 1: gtin is
# faster).  Machine-readable lines:
#   RESULT|<benchmark>|<ours>|<baseline>|<ratio, 2 decimals>|<target>
set -euo pipefail

ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
DB=inventory_sync_bench_gtin_$$
WORK=$(mktemp -d /tmp/inventory_sync_bench_gtin.XXXXXX)
chmod 777 "$WORK"      # the server writes the COPY file here
DATA=$WORK/gtin13.txt

cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" >/dev/null

psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
     -v rows="$ROWS" -v rounds="$ROUNDS" -v datafile="$DATA" <<'SQL'
\set QUIET on
SET client_min_messages = warning;
CREATE EXTENSION isn;
CREATE EXTENSION inventory_sync;
-- Same conditions for every variant: no JIT, no parallel workers, sorts and index builds
-- in memory.
SET jit = off;
SET max_parallel_workers_per_gather = 0;
SET max_parallel_maintenance_workers = 0;
SET work_mem = '512MB';
SET maintenance_work_mem = '512MB';
SET search_path = public, inventory_sync;

-- The baseline's check digit: GTIN-13 body of 12 digits, weights 1, 3, 1, ... from the left.
-- Plain SQL, inlined by the planner.
CREATE FUNCTION ean13_check_digit(body text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT (10 - (      substr(body, 1, 1)::int + 3 * substr(body, 2, 1)::int
                +     substr(body, 3, 1)::int + 3 * substr(body, 4, 1)::int
                +     substr(body, 5, 1)::int + 3 * substr(body, 6, 1)::int
                +     substr(body, 7, 1)::int + 3 * substr(body, 8, 1)::int
                +     substr(body, 9, 1)::int + 3 * substr(body, 10, 1)::int
                +     substr(body, 11, 1)::int + 3 * substr(body, 12, 1)::int) % 10) % 10
$$;
-- The CHECK: spelt out on its argument, and not STRICT (its AND is not strict), so the
-- planner inlines it into the constraint and the queries.
CREATE FUNCTION text_gtin13_ok(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT s ~ '^[0-9]{13}$'
     AND (10 - (      substr(s, 1, 1)::int + 3 * substr(s, 2, 1)::int
                +     substr(s, 3, 1)::int + 3 * substr(s, 4, 1)::int
                +     substr(s, 5, 1)::int + 3 * substr(s, 6, 1)::int
                +     substr(s, 7, 1)::int + 3 * substr(s, 8, 1)::int
                +     substr(s, 9, 1)::int + 3 * substr(s, 10, 1)::int
                +     substr(s, 11, 1)::int + 3 * substr(s, 12, 1)::int) % 10) % 10
         = substr(s, 13, 1)::int
$$;

-- One million valid GTIN-13 strings in random order, computed in SQL (not by gtin).
SELECT setseed(0.5) AS seed \gset
CREATE TABLE src AS
  SELECT body || ean13_check_digit(body) AS s
  FROM (SELECT lpad(floor(random() * 1e12)::bigint::text, 12, '0') AS body
        FROM generate_series(1, :rows)) AS b;
-- isn treats 13 digits starting with 0 as a UPC-A but still takes them as ean13.
SELECT count(*) FILTER (WHERE NOT text_gtin13_ok(s)) = 0 AS all_valid FROM src \gset
\if :all_valid
\else
  \echo 'generated data is not valid'
  \quit
\endif
ANALYZE src;
COPY src TO :'datafile';

CREATE TABLE t_gtin (v gtin);
CREATE TABLE t_ean13 (v ean13);
CREATE TABLE t_text (v text COLLATE "C" CHECK (text_gtin13_ok(v)));

CREATE TABLE timing (ord int, bench text, variant text, round int, ms float8);
CREATE TABLE cases (ord int, bench text, variant text, setup text, measured text);
INSERT INTO cases VALUES
  (1, 'input function', 'gtin', NULL, 'SELECT count(inventory_sync.gtin_in(s::cstring)) FROM src'),
  (1, 'input function', 'isn.ean13', NULL, 'SELECT count(public.ean13_in(s::cstring)) FROM src'),
  (1, 'input function', 'text+CHECK', NULL,
   'SELECT count(*) FILTER (WHERE text_gtin13_ok(s)) FROM src'),
  (2, 'cast from text', 'gtin', NULL, 'SELECT count(s::gtin) FROM src'),
  (2, 'cast from text', 'isn.ean13', NULL, 'SELECT count(s::ean13) FROM src'),
  (3, 'COPY load', 'gtin', 'TRUNCATE t_gtin', format('COPY t_gtin FROM %L', :'datafile')),
  (3, 'COPY load', 'isn.ean13', 'TRUNCATE t_ean13', format('COPY t_ean13 FROM %L', :'datafile')),
  (3, 'COPY load', 'text+CHECK', 'TRUNCATE t_text', format('COPY t_text FROM %L', :'datafile')),
  (4, 'sort', 'gtin', NULL, 'SELECT v FROM t_gtin ORDER BY v OFFSET 100000000'),
  (4, 'sort', 'isn.ean13', NULL, 'SELECT v FROM t_ean13 ORDER BY v OFFSET 100000000'),
  (4, 'sort', 'text+CHECK', NULL, 'SELECT v FROM t_text ORDER BY v OFFSET 100000000'),
  (5, 'btree index build', 'gtin', 'DROP INDEX IF EXISTS i_gtin',
   'CREATE INDEX i_gtin ON t_gtin (v)'),
  (5, 'btree index build', 'isn.ean13', 'DROP INDEX IF EXISTS i_ean13',
   'CREATE INDEX i_ean13 ON t_ean13 (v)'),
  (5, 'btree index build', 'text+CHECK', 'DROP INDEX IF EXISTS i_text',
   'CREATE INDEX i_text ON t_text (v)');

-- Runs benchmarks first..last; rounds interleave a benchmark's variants so drift hits them
-- alike; each benchmark commits, so truncated and dropped files are let go.
CREATE PROCEDURE run_bench(first int, last int, rounds int)
LANGUAGE plpgsql AS $$
DECLARE
  b int;
  r int;
  c record;
  t0 timestamptz;
BEGIN
  FOR b IN SELECT DISTINCT ord FROM cases WHERE ord BETWEEN first AND last ORDER BY ord LOOP
    FOR r IN 1..rounds LOOP
      FOR c IN SELECT * FROM cases WHERE ord = b ORDER BY variant LOOP
        IF c.setup IS NOT NULL THEN
          EXECUTE c.setup;
        END IF;
        t0 := clock_timestamp();
        EXECUTE c.measured;
        INSERT INTO timing
          VALUES (b, c.bench, c.variant, r,
                  extract(epoch FROM clock_timestamp() - t0) * 1000);
      END LOOP;
    END LOOP;
    COMMIT;
  END LOOP;
END
$$;

CALL run_bench(1, 3, :rounds);
-- Sorts and index builds read settled, all-visible pages.
VACUUM ANALYZE t_gtin, t_ean13, t_text;
CALL run_bench(4, 5, :rounds);

\echo
\echo 'gtin vs isn.ean13 vs text+CHECK (regex + check-digit SQL function), best of rounds'
\set QUIET off
SELECT current_setting('server_version') AS server, :rows AS rows,
       (SELECT max(round) FROM timing) AS rounds;
WITH best AS (
  SELECT ord, bench, variant, min(ms) AS ms FROM timing GROUP BY ord, bench, variant
)
SELECT b.bench AS benchmark, b.variant, round(b.ms::numeric, 1) AS best_ms,
       round(:rows / (b.ms / 1000))::bigint AS rows_per_s,
       CASE WHEN b.variant <> 'gtin' THEN round((b.ms / g.ms)::numeric, 2) END AS gtin_ratio
FROM best b JOIN best g ON g.bench = b.bench AND g.variant = 'gtin'
ORDER BY b.ord, b.variant <> 'gtin', b.variant;

SELECT pg_column_size('9506000134352'::gtin) AS gtin_bytes,
       pg_column_size('9506000134352'::ean13) AS ean13_bytes,
       pg_column_size('9506000134352'::text) AS text_bytes,
       pg_size_pretty(pg_relation_size('i_gtin')) AS gtin_index,
       pg_size_pretty(pg_relation_size('i_ean13')) AS ean13_index,
       pg_size_pretty(pg_relation_size('i_text')) AS text_index;

\set QUIET on
\pset tuples_only on
\pset format unaligned
-- ratio = gtin rate / baseline rate = baseline time / gtin time
WITH best AS (
  SELECT ord, bench, variant, min(ms) AS ms FROM timing GROUP BY ord, bench, variant
)
SELECT format('RESULT|gtin %s (%s GTIN-13)|gtin|%s|%s|>=1.0',
              b.bench, :rows, b.variant, to_char(b.ms / g.ms, 'FM9999990.00'))
FROM best b JOIN best g ON g.bench = b.bench AND g.variant = 'gtin'
WHERE b.variant <> 'gtin'
ORDER BY b.ord, b.variant;
SELECT format('RESULT|column size bytes|gtin=%s|isn.ean13=%s|%s|<=1.0',
              pg_column_size('9506000134352'::gtin), pg_column_size('9506000134352'::ean13),
              to_char(pg_column_size('9506000134352'::gtin)::numeric
                      / pg_column_size('9506000134352'::ean13), 'FM990.00'));
SQL
