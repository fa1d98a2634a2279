#!/usr/bin/env bash
# bench/scale.sh: the posting engine at scale, in one run (not part of `make test`, nor of
# `make bench` unless named: BENCH=scale make bench).
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER, as pg_virtualenv sets them;
# needs a superuser and the extension installed), in a scratch database it creates and
# drops. The ledger is partitioned monthly by partition_ledger() first (SCALE_PARTITIONED=0
# keeps it one table), as a large deployment runs it. Then, at synchronous_commit=off:
#
#   load        SCALE_ROWS receipts by COPY in chunks of SCALE_CHUNK rows, spread round
#               robin over SCALE_KEYS balance keys (SCALE_KEYS / 100 items x 100 locations):
#               the rate of every chunk, and whether the last chunks run within 20% of
#               the first ones (flat: the cost of a posting does not grow with the ledger)
#   single      one-row postings (pgbench, prepared, SCALE_CLIENTS clients, SCALE_SECONDS s each) over
#               the first 1,000 keys and over all SCALE_KEYS keys, against a bare INSERT
#               into a trigger-less copy of the ledger plus the conditional UPDATE of a
#               bare copy of the balances in one statement, at the same two scales (same
#               key lookup, same event ids); two runs of each, alternating: the medians
#   verify      verify() over everything, verify(since => ...) over the last chunk
#   replay      a chunk posted again (every row a replay, found in the unique index or,
#               partitioned, the event registry): rows/s; one-row replays by pgbench
#   bytes       per ledger row, per balance key, per balance_change row and per registry
#               row: the heap (every partition's, with TOAST) and each index (a partitioned
#               one: every partition's) over the rows, after a VACUUM; the heap's free
#               space (pg_freespacemap) and dead rows, the average row as stored
#               (pg_column_size), and the share of the balances' updates that were HOT
#
# Output: progress lines and, for the collector (bench/run.sh),
#   RESULT|<benchmark>|<ours>|<baseline>|<ratio>|<target>
#
# Knobs: SCALE_KEYS (100000; a multiple of 100, at least 1000), SCALE_ROWS (1000000),
# SCALE_CHUNK (100000), SCALE_SECONDS (10), SCALE_CLIENTS (2), SCALE_PARTITIONED (1),
# BENCH_DB (inventory_sync_scale), SCALE_KEEP (0; 1 keeps the database for a look at it).
# The defaults take about two minutes on 2 cores; the full size, SCALE_KEYS=1000000 SCALE_ROWS=30000000 SCALE_CHUNK=1000000, loads in about a
# quarter of an hour there at the rates in docs/benchmarks.md, "Scale" (about 22 GB).
#
#   flock /tmp/inventory_sync.lock bash -c 'make -s && make -s install &&
#     pg_virtualenv -t -v 15 -o shared_buffers=1GB -o max_wal_size=8GB bash bench/scale.sh'
set -euo pipefail
BENCH_NAME=scale
source "$(dirname "$0")/lib.sh"

DB=${BENCH_DB:-inventory_sync_scale}
KEYS=${SCALE_KEYS:-100000}
ROWS=${SCALE_ROWS:-1000000}
CHUNK=${SCALE_CHUNK:-100000}
SECONDS_EACH=${SCALE_SECONDS:-10}
CLIENTS=${SCALE_CLIENTS:-2}
PARTITIONED=${SCALE_PARTITIONED:-1}
LOCATIONS=100
ITEMS=$((KEYS / LOCATIONS))
[ "$KEYS" -ge 1000 ] && [ $((KEYS % LOCATIONS)) -eq 0 ] || die "SCALE_KEYS must be a multiple of 100, at least 1000"
[ "$ROWS" -ge "$CHUNK" ] && [ "$CHUNK" -ge 1000 ] || die "SCALE_ROWS must be at least SCALE_CHUNK, and SCALE_CHUNK at least 1000"
CHUNKS=$((ROWS / CHUNK))

WORK=$(mktemp -d /tmp/inventory_sync_scale.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export PGOPTIONS="-c synchronous_commit=off"

log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
log "setup: $ITEMS items x $LOCATIONS locations = $KEYS keys, partitioned=$PARTITIONED"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
sql <<SQL
CREATE EXTENSION inventory_sync;
CREATE EXTENSION pg_freespacemap;
CREATE SCHEMA bench;
CREATE FUNCTION bench.gs1_check(body text) RETURNS int LANGUAGE sql IMMUTABLE STRICT AS \$\$
  SELECT (10 - sum(substr(body, length(body) - i, 1)::int * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END)::int % 10) % 10
    FROM generate_series(0, length(body) - 1) i
\$\$;
INSERT INTO inventory_sync.source (source, name, kind, role) VALUES ('bench_wms', 'Benchmark WMS', 'wms', current_user);
INSERT INTO inventory_sync.item (gtin, name)
  SELECT (lpad(b || bench.gs1_check(b), 14, '0'))::inventory_sync.gtin, 'Scale item ' || i
    FROM generate_series(0, $ITEMS - 1) i, LATERAL (SELECT (950600100000 + i)::text AS b) s;
INSERT INTO inventory_sync.location (gln, name, kind)
  SELECT (b || bench.gs1_check(b))::inventory_sync.gln, 'Scale warehouse ' || j, 'warehouse'
    FROM generate_series(0, $LOCATIONS - 1) j, LATERAL (SELECT (950600200000 + j)::text AS b) s;
-- key k: item k / 100 at location k % 100, so the first 1,000 keys are 10 items everywhere
CREATE TABLE bench.keys AS
  SELECT k, lpad(bi || bench.gs1_check(bi), 14, '0')::inventory_sync.gtin AS gtin,
         (bl || bench.gs1_check(bl))::inventory_sync.gln AS gln
    FROM generate_series(0, $KEYS - 1) k,
         LATERAL (SELECT (950600100000 + k / $LOCATIONS)::text AS bi, (950600200000 + k % $LOCATIONS)::text AS bl) s;
ALTER TABLE bench.keys ADD PRIMARY KEY (k);
CREATE SEQUENCE bench.ev;
SQL
if [ "$PARTITIONED" = 1 ]; then
  sql -c "SELECT count(*) FROM inventory_sync.partition_ledger('1 month', 2)" >/dev/null
fi
sql -c "\\copy (SELECT gtin, gln FROM bench.keys ORDER BY k) TO '$WORK/keys.tsv'"

# chunk c: rows c*CHUNK .. (c+1)*CHUNK-1, row r at key r % KEYS, event id "load-r"
make_chunk() {   # chunk-number file
  awk -v c="$1" -v n="$CHUNK" -v keys="$KEYS" -F'\t' '
    { g[NR - 1] = $1; l[NR - 1] = $2 }
    END { for (r = c * n; r < (c + 1) * n; r++) { k = r % keys
            printf "receipt\tbench_wms\tload-%d\t%s\t%s\t1\n", r, g[k], l[k] } }' "$WORK/keys.tsv" > "$2"
}
copy_seconds() {   # file
  local t0 t1
  t0=$(date +%s%N)
  sql -c "\\copy inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity) FROM '$1'"
  t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", ns / 1e9 }'
}

# ---------------------------------------------------------------------------------------
log "load: $ROWS receipts in $CHUNKS COPY chunks of $CHUNK"
rates=()
since=""
for ((c = 0; c < CHUNKS; c++)); do
  make_chunk "$c" "$WORK/chunk.tsv"
  [ "$c" -eq $((CHUNKS - 1)) ] && since=$(sql -c "SELECT clock_timestamp()")
  s=$(copy_seconds "$WORK/chunk.tsv")
  rate=$(awk -v n="$CHUNK" -v s="$s" 'BEGIN { printf "%.0f", n / s }')
  rates+=("$rate")
  log "chunk $((c + 1))/$CHUNKS: $s s, $rate rows/s (load average $(cut -d' ' -f1 /proc/loadavg))"
done
sql -c "VACUUM ANALYZE" >/dev/null
# flat: the median of the last third of the chunks against the median of the first third
third=$(( CHUNKS >= 3 ? CHUNKS / 3 : 1 ))
first=$(median "${rates[@]:0:$third}")
last=$(median "${rates[@]:$((CHUNKS - third)):$third}")
log "COPY rate: first chunks $first rows/s, last chunks $last rows/s (chunks from $(printf '%s\n' "${rates[@]}" | sort -n | head -1) to $(printf '%s\n' "${rates[@]}" | sort -n | tail -1))"
result "scale_copy_last_vs_first_chunks" "$last" "$first" ">=0.8"

# ---------------------------------------------------------------------------------------
# Single-row postings at two scales, against the bare INSERT + conditional UPDATE.
sql <<SQL
CREATE TABLE bench.bare_ledger (LIKE inventory_sync.ledger INCLUDING DEFAULTS INCLUDING IDENTITY);
ALTER TABLE bench.bare_ledger ADD PRIMARY KEY (posting_id), ADD UNIQUE (source, source_event_id);
CREATE TABLE bench.bare_balance AS SELECT item_gtin, location, lot, bucket, quantity, version FROM inventory_sync.balance;
CREATE UNIQUE INDEX ON bench.bare_balance (item_gtin, location, lot, bucket) NULLS NOT DISTINCT;
VACUUM ANALYZE bench.bare_balance;
SQL
cat > "$WORK/ours.sql" <<'EOF'
\set k random(0, :nkeys - 1)
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
SELECT 'receipt', 'bench_wms', 'one-' || nextval('bench.ev'), gtin, gln, 1 FROM bench.keys WHERE k = :k;
EOF
cat > "$WORK/bare.sql" <<'EOF'
\set k random(0, :nkeys - 1)
WITH key AS (SELECT gtin, gln FROM bench.keys WHERE k = :k),
     posted AS (INSERT INTO bench.bare_ledger (kind, source, source_event_id, gtin, item_gtin, location, quantity, base_quantity)
                SELECT 'receipt', 'bench_wms', 'one-' || nextval('bench.ev'), gtin, gtin, gln, 1, 1 FROM key)
UPDATE bench.bare_balance b SET quantity = b.quantity + 1, version = b.version + 1
  FROM key WHERE b.item_gtin OPERATOR(inventory_sync.=) key.gtin AND b.location OPERATOR(inventory_sync.=) key.gln
             AND b.lot IS NULL AND b.bucket = 'released';
EOF
tps() {   # script nkeys
  pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_EACH" -D nkeys="$2" -f "$1" "$DB" 2>&1 \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1
}
for n in $(printf "%s\n" 1000 "$KEYS" | sort -un); do
  ours=$(tps "$WORK/ours.sql" "$n")
  bare=$(tps "$WORK/bare.sql" "$n")
  ours2=$(tps "$WORK/ours.sql" "$n")
  bare2=$(tps "$WORK/bare.sql" "$n")
  o=$(median "$ours" "$ours2"); b=$(median "$bare" "$bare2")
  log "single-row over $n keys: ours $ours, $ours2 postings/s; bare INSERT + UPDATE $bare, $bare2 (load average $(cut -d' ' -f1 /proc/loadavg))"
  result "scale_single_row_${n}_keys_vs_bare" "$o" "$b" "n/a"
  eval "single_$n=$o"
done
eval "small=\$single_1000; large=\$single_$KEYS"
result "scale_single_row_${KEYS}_vs_1000_keys" "$large" "$small" "n/a"

# ---------------------------------------------------------------------------------------
log "verify"
t=$(timed_sql 3600 "SELECT count(*) FROM inventory_sync.verify()") || true
total=$(sql -c "SELECT count(*) FROM inventory_sync.ledger")
log "verify() over $total postings: $t s"
result_seconds "scale_verify_full_s" "$t" 3600
t=$(timed_sql 3600 "SELECT count(*) FROM inventory_sync.verify(since => '$since')") || true
log "verify(since => ...) over the last chunk ($CHUNK postings and the single-row runs'): $t s"
result_seconds "scale_verify_since_last_chunk_s" "$t" 3600
[ "$(sql -c "SELECT count(*) FROM inventory_sync.verify()")" = 0 ] || die "verify() found differences"

# ---------------------------------------------------------------------------------------
log "replay"
make_chunk 0 "$WORK/chunk.tsv"
before=$(sql -c "SELECT count(*) FROM inventory_sync.ledger")
s=$(copy_seconds "$WORK/chunk.tsv")
[ "$(sql -c "SELECT count(*) FROM inventory_sync.ledger")" = "$before" ] || die "a replayed chunk posted rows"
replay=$(awk -v n="$CHUNK" -v s="$s" 'BEGIN { printf "%.0f", n / s }')
log "COPY of $CHUNK replays: $s s, $replay rows/s"
result "scale_copy_replay_vs_last_chunks" "$replay" "$last" "n/a"
cat > "$WORK/replay.sql" <<EOF
\\set r random(0, $CHUNK - 1)
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
SELECT 'receipt', 'bench_wms', 'load-' || :r, gtin, gln, 1 FROM bench.keys WHERE k = :r % $KEYS;
EOF
rp=$(tps "$WORK/replay.sql" "$KEYS")
log "single-row replays: $rp /s against $large postings/s"
result "scale_single_row_replay_vs_posting" "$rp" "$large" "n/a"

# ---------------------------------------------------------------------------------------
log "bytes"
# Per table: its heap (every partition's, with TOAST) and each index (a partitioned index:
# every partition's) over the rows; the average row as stored (pg_column_size of 100,000
# rows); after a VACUUM, the heap's free space (the free space map) and dead rows.
sql -c "VACUUM" >/dev/null
for what in ledger balance balance_change ledger_event; do
  read -r n heap free dead avg upd hot < <(sql -F ' ' -c "
    WITH parts AS (SELECT relid FROM pg_partition_tree('inventory_sync.$what') WHERE isleaf
                   UNION SELECT 'inventory_sync.$what'::regclass WHERE NOT EXISTS (SELECT FROM pg_partition_tree('inventory_sync.$what')))
    SELECT (SELECT count(*) FROM inventory_sync.$what),
           (SELECT sum(pg_table_size(relid)) FROM parts),
           (SELECT coalesce(sum(f.avail), 0) FROM parts p, pg_freespace(p.relid) f),
           (SELECT coalesce(sum(s.n_dead_tup), 0) FROM parts p JOIN pg_stat_user_tables s USING (relid)),
           (SELECT coalesce(round(avg(pg_column_size(r.*))), 0) FROM (SELECT * FROM inventory_sync.$what LIMIT 100000) r),
           (SELECT coalesce(sum(s.n_tup_upd), 0) FROM parts p JOIN pg_stat_user_tables s USING (relid)),
           (SELECT coalesce(sum(s.n_tup_hot_upd), 0) FROM parts p JOIN pg_stat_user_tables s USING (relid))")
  [ "$n" -gt 0 ] || continue
  total=$heap
  while read -r idx size; do
    total=$((total + size))
    per=$(awk -v t="$size" -v n="$n" 'BEGIN { printf "%.1f", t / n }')
    log "  $what index $idx: $per bytes per row"
    echo "RESULT|scale_bytes_per_${what}_row_index_${idx}|$per|0|n/a|n/a"
  done < <(sql -F ' ' -c "
    SELECT i.indexrelid::regclass::text,
           coalesce((SELECT sum(pg_relation_size(p.relid)) FROM pg_partition_tree(i.indexrelid) p), pg_relation_size(i.indexrelid))
      FROM pg_index i WHERE i.indrelid = 'inventory_sync.$what'::regclass ORDER BY 1" | sed 's/^inventory_sync\.//')
  per=$(awk -v t="$total" -v n="$n" 'BEGIN { printf "%.0f", t / n }')
  perheap=$(awk -v t="$heap" -v n="$n" 'BEGIN { printf "%.0f", t / n }')
  perfree=$(awk -v t="$free" -v n="$n" 'BEGIN { printf "%.0f", t / n }')
  log "$what: $n rows, $per bytes per row with indexes, $perheap in the heap ($perfree of it free space; $dead dead rows), $avg per row as stored"
  [ "$upd" = 0 ] || log "$what: $upd updates, $(awk -v h="$hot" -v u="$upd" 'BEGIN { printf "%.0f", 100 * h / u }')% of them HOT (no new index entries)"
  echo "RESULT|scale_bytes_per_${what}_row|$per|$perheap|n/a|n/a"
done

[ "${SCALE_KEEP:-0}" = 1 ] || psql -X -q -d postgres -c "DROP DATABASE $DB"
log "done (load average $(cut -d' ' -f1-3 /proc/loadavg))"
