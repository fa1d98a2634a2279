#!/usr/bin/env bash
# bench/posting.sh: write-path benchmarks of the posting engine.
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER, as pg_virtualenv sets them;
# needs a superuser and the extension installed), in scratch databases it creates and
# drops. Every target is a ratio against a baseline measured in the same run on the
# same cluster, at synchronous_commit=off (the CPU path, where targets are decided) and
# again at synchronous_commit=on (reported, target n/a):
#
#   single_row_vs_bare   one-row INSERT through the ledger triggers vs the same INSERT into
#                        a trigger-less copy of the ledger (same indexes)         >= 0.6
#   single_row_vs_plpgsql  the same INSERT vs the PL/pgSQL reference engine
#                        (bench/plpgsql_reference.sql)                            >= 1.5
#                        (both in rounds of the three variants side by side, the order
#                        rotating from round to round: the ratios are the medians of the
#                        rounds' ratios, best-of ratios printed beside them as .best_of)
#   copy_vs_bare         COPY of BENCH_COPY_ROWS receipts vs a bare COPY          >= 0.4
#                        (pairs of both COPYs side by side, the order alternating from
#                        pair to pair, each from the same file into a table that grows
#                        by the same rows: the ratio is the median of the pairs' ratios,
#                        the best-of ratio printed beside it as .best_of; every COPY
#                        starts from vacuumed, checkpointed tables, so that the previous
#                        COPY's autovacuum does not land on the next; a single COPY of a
#                        million rows is too noisy on a small machine to be judged alone)
#
# The three above run on 1,000 items x 10 warehouses with no channel (receipts into the
# receiving bucket), as they always have. The same workloads then run in the omnichannel
# topology (bench/lib.sh, topo_build): BENCH_TOPO_ITEMS items at a DC and BENCH_TOPO_STORES
# stores, all stocked, channel web selling from every location and channel mkt from the
# DC; receipts go into the sellable bucket at any location, so every posting moves the
# ATP of the channels selling there. The no-channel figure beside it is the same workload
# in a twin database with the same items, locations and stock and no channel; the bare
# INSERT / COPY goes into a trigger-less ledger copy in the topology database:
#
#   single_row_topology_vs_no_channel   one-row INSERT, topology vs no channel      >= 0.7
#   single_row_topology_vs_bare_insert  the same vs the bare INSERT                 >= 0.5
#                        (rounds of the three variants, order rotating, medians of the
#                        rounds' ratios; BENCH_TOPO_REPEATS rounds at off, BENCH_TOPO_REPEATS_ON
#                        at on)
#   copy_<rows>_topology_vs_bare_copy   COPY of BENCH_TOPO_COPY_ROWS receipts over every
#                        (item, location) key vs the bare COPY                    >= 0.3
#   copy_<rows>_topology_vs_no_channel  the same vs the no-channel COPY           n/a
#                        (rounds of the three COPYs, order rotating; each COPY limited to
#                        BENCH_TOPO_TIMEOUT s by statement_timeout: a COPY cancelled there
#                        is logged as "timed out after N s" and counted at rows / limit,
#                        an upper bound of its rate)
# Every topology target is reported at synchronous_commit=off (target as above) and, when
# its rounds at on are not 0, at on (n/a). The topology's books are checked after the
# runs: ledger, balance and after-states agree in both databases and verify_promises()
# finds the published channel ATP exact.
#
# Output: progress lines, plain "rate:" lines (rows/s) and, for the collector,
#   RESULT|<benchmark>|<ours>|<baseline>|<ratio>|<target>   (each name with .sync_off or
#   .sync_on; <rows> is 1m for a million)
#
# Knobs (environment): BENCH_DURATION (s per pgbench run, 10), BENCH_REPEATS (rounds at
# synchronous_commit=off, 5), BENCH_REPEATS_ON (rounds at on, 2), BENCH_CLIENTS (4), BENCH_THREADS (2), BENCH_COPY_ROWS (1000000),
# BENCH_COPY_REPEATS (pairs at synchronous_commit=off, 3), BENCH_COPY_REPEATS_ON (pairs
# at on, 1), BENCH_DB (inventory_sync_bench; the topology and its twin in
# <BENCH_DB>_topology and <BENCH_DB>_no_channel).
# Topology: BENCH_TOPO_STORES (100, at most 998), BENCH_TOPO_ITEMS (1000, at most 1000),
# BENCH_TOPO_REPEATS (rounds at off, 3), BENCH_TOPO_REPEATS_ON (rounds at on, 1),
# BENCH_TOPO_COPY_ROWS (BENCH_COPY_ROWS), BENCH_TOPO_COPY_REPEATS (rounds at off, 1),
# BENCH_TOPO_COPY_REPEATS_ON (rounds at on, 0), BENCH_TOPO_TIMEOUT (s per COPY, 600).
#
#   flock /tmp/inventory_sync.lock bash -c 'make -s && make -s install &&
#     pg_virtualenv -t -v 15 -o shared_buffers=1GB -o max_wal_size=8GB -o wal_level=logical \
#       bash bench/posting.sh'
set -euo pipefail
BENCH_NAME=posting
source "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
DB=${BENCH_DB:-inventory_sync_bench}
DURATION=${BENCH_DURATION:-10}
REPEATS=${BENCH_REPEATS:-5}
REPEATS_ON=${BENCH_REPEATS_ON:-2}
CLIENTS=${BENCH_CLIENTS:-4}
THREADS=${BENCH_THREADS:-2}
COPY_ROWS=${BENCH_COPY_ROWS:-1000000}
COPY_REPEATS=${BENCH_COPY_REPEATS:-3}
COPY_REPEATS_ON=${BENCH_COPY_REPEATS_ON:-1}
DB_TOPO=${DB}_topology
DB_NOCHAN=${DB}_no_channel
TOPO_STORES=${BENCH_TOPO_STORES:-100}
TOPO_ITEMS=${BENCH_TOPO_ITEMS:-1000}
TOPO_REPEATS=${BENCH_TOPO_REPEATS:-3}
TOPO_REPEATS_ON=${BENCH_TOPO_REPEATS_ON:-1}
TOPO_COPY_ROWS=${BENCH_TOPO_COPY_ROWS:-$COPY_ROWS}
TOPO_COPY_REPEATS=${BENCH_TOPO_COPY_REPEATS:-1}
TOPO_COPY_REPEATS_ON=${BENCH_TOPO_COPY_REPEATS_ON:-0}
TOPO_TIMEOUT=${BENCH_TOPO_TIMEOUT:-600}
((TOPO_STORES >= 1 && TOPO_STORES <= 998 && TOPO_ITEMS >= 1 && TOPO_ITEMS <= 1000)) \
  || die "BENCH_TOPO_STORES must be 1..998 and BENCH_TOPO_ITEMS 1..1000 (the pgbench key formulas)"
# every target is reported at both settings: each needs at least one round or pair
for n in "$REPEATS" "$REPEATS_ON" "$COPY_REPEATS" "$COPY_REPEATS_ON"; do
  [ "$n" -ge 1 ] 2>/dev/null || die "BENCH_REPEATS, BENCH_REPEATS_ON, BENCH_COPY_REPEATS and BENCH_COPY_REPEATS_ON must be at least 1"
done

# The pgbench scripts compute GTINs and GLNs with their check digits from an index;
# the formulas below cover 1000 items (950600100000+i) and 10 locations (950600200000+j).
ITEMS=1000
LOCATIONS=10

WORK=$(mktemp -d /tmp/inventory_sync_bench.XXXXXX)
chmod 777 "$WORK"    # the server writes and reads the COPY files here
START=$(date +%s)


cleanup() {
  for d in "$DB" "$DB_TOPO" "$DB_NOCHAN"; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT


# ---------------------------------------------------------------------------
# Setup: extension, master data (valid GS1 check digits), the trigger-less copy of
# the ledger, the PL/pgSQL reference engine.
# ---------------------------------------------------------------------------
log "cluster: $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1) on ${PGHOST:-local}:${PGPORT:-5432}"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
# the PL/pgSQL reference resolves the GS1 types' operators through the search_path
psql -X -q -d postgres -c "ALTER DATABASE $DB SET search_path = \"\$user\", public, inventory_sync" >/dev/null

log "setup: extension, $ITEMS items x $LOCATIONS locations, bare ledger copy, PL/pgSQL reference"
sql <<'SQL'
CREATE EXTENSION inventory_sync;
CREATE SCHEMA bench;

-- GS1 mod-10 check digit of a body (weights 3,1,3,... from the right).
CREATE FUNCTION bench.gs1_check(body text) RETURNS int LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT (10 - sum(substr(body, length(body) - i, 1)::int * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END)::int % 10) % 10
    FROM generate_series(0, length(body) - 1) i
$$;
DO $$ BEGIN
  IF bench.gs1_check('0950600013435') <> 2 OR bench.gs1_check('061414100001') <> 2 THEN
    RAISE EXCEPTION 'gs1_check is wrong';
  END IF;
END $$;

CREATE TABLE bench.items AS
  SELECT i AS idx, lpad(b || bench.gs1_check(b), 14, '0') AS gtin
    FROM generate_series(0, 999) i, LATERAL (SELECT (950600100000 + i)::text AS b) s;
CREATE TABLE bench.locations AS
  SELECT j AS idx, b || bench.gs1_check(b) AS gln
    FROM generate_series(0, 9) j, LATERAL (SELECT (950600200000 + j)::text AS b) s;
-- the pgbench scripts compute the same numbers client-side
DO $$ BEGIN
  IF EXISTS (SELECT FROM bench.items WHERE gtin::bigint <>
               (950600100000 + idx) * 10 + (10 - (43 + 3 * (idx / 100) + (idx / 10) % 10 + 3 * (idx % 10)) % 10) % 10)
     OR EXISTS (SELECT FROM bench.locations WHERE gln::bigint <>
               (950600200000 + idx) * 10 + (10 - (44 + 3 * idx) % 10) % 10) THEN
    RAISE EXCEPTION 'pgbench check-digit formula disagrees with gs1_check';
  END IF;
END $$;

INSERT INTO inventory_sync.source (source, name, kind, role)
  VALUES ('bench_wms', 'Benchmark WMS', 'wms', current_user);
INSERT INTO inventory_sync.item (gtin, name)
  SELECT gtin::inventory_sync.gtin, 'Bench item ' || idx FROM bench.items;
INSERT INTO inventory_sync.location (gln, name, kind)
  SELECT gln::inventory_sync.gln, 'Bench DC ' || idx, 'warehouse' FROM bench.locations;
-- the WMS is the system of record for every bucket of every location (exercises the check)
INSERT INTO inventory_sync.ownership (location, bucket, source)
  SELECT gln::inventory_sync.gln, NULL, 'bench_wms' FROM bench.locations;

-- Baseline: the ledger's definition, indexes and constraints, no triggers.
CREATE TABLE bench.bare (LIKE inventory_sync.ledger INCLUDING ALL);
SQL
sql -f "$HERE/plpgsql_reference.sql" >/dev/null

# The baseline must carry the ledger's indexes and constraints and no trigger.
idx_ours=$(sql -c "SELECT count(*) FROM pg_index WHERE indrelid = 'inventory_sync.ledger'::regclass")
idx_bare=$(sql -c "SELECT count(*) FROM pg_index WHERE indrelid = 'bench.bare'::regclass")
trg_bare=$(sql -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'bench.bare'::regclass")
con_bare=$(sql -c "SELECT string_agg(contype::text, '' ORDER BY contype) FROM pg_constraint WHERE conrelid = 'bench.bare'::regclass")
[ "$idx_ours" = "$idx_bare" ] && [ "$trg_bare" = 0 ] || die "bench.bare: $idx_bare indexes (ledger: $idx_ours), $trg_bare triggers"
log "baseline bench.bare: $idx_bare indexes, constraints [$con_bare] (c=check p=pk u=unique), no triggers"

# ---------------------------------------------------------------------------
# Single-row posting (pgbench, one INSERT per transaction).
# ---------------------------------------------------------------------------
write_script() {   # file table
  cat > "$1" <<EOF
\\set i random(0, $((ITEMS - 1)))
\\set j random(0, $((LOCATIONS - 1)))
\\set gtin (950600100000 + :i) * 10 + (10 - (43 + 3 * (:i / 100) + (:i / 10) % 10 + 3 * (:i % 10)) % 10) % 10
\\set gln (950600200000 + :j) * 10 + (10 - (44 + 3 * :j) % 10) % 10
\\set q random(1, 10)
\\set n :n + 1
\\set eid :base + :client_id * 1000000000 + :n
INSERT INTO $2 (kind, source, source_event_id, gtin, location, bucket, quantity) VALUES ('receipt', 'bench_wms', :eid, :gtin, :gln, 'receiving', :q);
EOF
}
write_script "$WORK/ours.sql" inventory_sync.ledger
write_script "$WORK/bare.sql" bench.bare
write_script "$WORK/plpgsql.sql" plref.ledger

declare -A TABLE=([ours]=inventory_sync.ledger [bare]=bench.bare [plpgsql]=plref.ledger)
declare -A BEST=()
RUN=0

# Quick check that every variant posts: one row each, and the engines' effects.
for v in ours bare plpgsql; do
  sql -c "INSERT INTO ${TABLE[$v]} (kind, source, source_event_id, gtin, location, bucket, quantity)
          SELECT 'receipt', 'bench_wms', 'smoke-1', it.gtin::inventory_sync.gtin, lo.gln::inventory_sync.gln, 'receiving', 1
            FROM bench.items it, bench.locations lo WHERE it.idx = 0 AND lo.idx = 0" \
    || die "smoke insert into ${TABLE[$v]}"
done
[ "$(sql -c "SELECT count(*) FROM inventory_sync.balance_change")" = 1 ] || die "no after-state from the C engine"
[ "$(sql -c "SELECT count(*) FROM plref.balance_change")" = 1 ] || die "no after-state from the PL/pgSQL engine"

run_pgbench() {   # variant sync
  local v=$1 sync=$2 out=$WORK/pgbench.out before after tps txns
  RUN=$((RUN + 1))
  sql -c "CHECKPOINT"
  before=$(sql -c "SELECT count(*) FROM ${TABLE[$v]}")
  PGOPTIONS="-c synchronous_commit=$sync" \
    pgbench -n -M prepared -f "$WORK/$v.sql" -c "$CLIENTS" -j "$THREADS" -T "$DURATION" \
            -D n=0 -D base=$((RUN * 10000000000000)) "$DB" > "$out" 2>&1 \
    || { cat "$out"; die "pgbench $v"; }
  grep -q 'aborted' "$out" && { cat "$out"; die "pgbench $v: clients aborted"; }
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$out")
  txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
  after=$(sql -c "SELECT count(*) FROM ${TABLE[$v]}")
  # a replayed event id would be skipped silently by the engines: every transaction must add a row
  [ $((after - before)) -eq "$txns" ] || die "$v: $txns transactions but $((after - before)) new rows"
  log "  $v sync=$sync: $tps rows/s ($txns rows in ${DURATION}s)"
  LAST_TPS[$v]=$tps
  local key="single.$v.$sync"
  if [ -z "${BEST[$key]:-}" ] || awk -v a="$tps" -v b="${BEST[$key]}" 'BEGIN { exit !(a > b) }'; then
    BEST[$key]=$tps
  fi
}

declare -A LAST_TPS=() SINGLE_PAIRED=()
ORDERS=("bare ours plpgsql" "ours plpgsql bare" "plpgsql bare ours")
for sync in off on; do
  rounds=$REPEATS
  [ "$sync" = on ] && rounds=$REPEATS_ON
  log "single-row INSERT, synchronous_commit=$sync: $CLIENTS clients, $rounds rounds of ${DURATION}s per variant (order rotating)"
  for ((r = 1; r <= rounds; r++)); do
    for v in ${ORDERS[$(( (r - 1) % 3 ))]}; do run_pgbench "$v" "$sync"; done
    for b in bare plpgsql; do
      SINGLE_PAIRED[$b.$sync]="${SINGLE_PAIRED[$b.$sync]:-} $(ratio "${LAST_TPS[ours]}" "${LAST_TPS[$b]}")"
    done
  done
done

# The engines' books must balance: one after-state per posting, balances = ledger.
for s in inventory_sync plref; do
  chk=$(sql -c "SELECT (SELECT count(*) FROM $s.ledger) = (SELECT count(*) FROM $s.balance_change)
                   AND (SELECT sum(base_quantity) FROM $s.ledger) = (SELECT sum(quantity) FROM $s.balance)")
  [ "$chk" = t ] || die "$s: ledger, balance and balance_change disagree"
done
log "check: ledger, balance and balance_change agree for both engines"
sql -c "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || true
log "info: balance updates (all/HOT): $(sql -c "SELECT n_tup_upd || '/' || n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'inventory_sync.balance'::regclass")"

# ---------------------------------------------------------------------------
# COPY of many receipts, spread over every (item, location) key.
# ---------------------------------------------------------------------------
copy_file() {   # tag -> path of a CSV with fresh source event ids
  local f=$WORK/copy_$1.csv
  sql -c "COPY (SELECT 'receipt', 'bench_wms', 'copy-$1-' || g, it.gtin, lo.gln, 'receiving', 1 + g % 10
                  FROM generate_series(1, $COPY_ROWS) g
                  JOIN bench.items it ON it.idx = g % $ITEMS
                  JOIN bench.locations lo ON lo.idx = (g / $ITEMS) % $LOCATIONS
                 ORDER BY g) TO '$f' WITH (FORMAT csv)"
  echo "$f"
}

time_copy() {   # table file sync -> rows/s
  local t0 t1
  # every COPY starts from vacuumed tables and a checkpoint: the previous COPY's
  # autovacuum (a million new rows each) must not land on the next one
  sql -c "VACUUM inventory_sync.ledger, inventory_sync.balance, inventory_sync.balance_change, bench.bare"
  sql -c "CHECKPOINT"
  t0=$(date +%s%N)
  PGOPTIONS="-c synchronous_commit=$3" \
    sql -c "COPY $1 (kind, source, source_event_id, gtin, location, bucket, quantity) FROM '$2' WITH (FORMAT csv)"
  t1=$(date +%s%N)
  awk -v n="$COPY_ROWS" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }'
}

copy_name=$([ "$COPY_ROWS" -eq 1000000 ] && echo 1m || echo "$COPY_ROWS")
declare -A COPY_PAIRED=() PAIR_RATE=()
for sync in off on; do
  pairs=$COPY_REPEATS
  [ "$sync" = on ] && pairs=$COPY_REPEATS_ON
  log "COPY of $COPY_ROWS receipts, synchronous_commit=$sync: $pairs pair(s) of bare and ours, the order alternating"
  for ((r = 1; r <= pairs; r++)); do
    f=$(copy_file "$sync$r")
    if ((r % 2)); then order="bare ours"; else order="ours bare"; fi
    for v in $order; do
      rate=$(time_copy "${TABLE[$v]}" "$f" "$sync")
      log "  pair $r, $v sync=$sync: $rate rows/s"
      PAIR_RATE[$v]=$rate
      key="copy.$v.$sync"
      if [ -z "${BEST[$key]:-}" ] || awk -v a="$rate" -v b="${BEST[$key]}" 'BEGIN { exit !(a > b) }'; then
        BEST[$key]=$rate
      fi
    done
    COPY_PAIRED[$sync]="${COPY_PAIRED[$sync]:-} $(ratio "${PAIR_RATE[ours]}" "${PAIR_RATE[bare]}")"
    rm -f "$f"
  done
done
chk=$(sql -c "SELECT (SELECT count(*) FROM inventory_sync.ledger) = (SELECT count(*) FROM inventory_sync.balance_change)
                 AND (SELECT sum(base_quantity) FROM inventory_sync.ledger) = (SELECT sum(quantity) FROM inventory_sync.balance)")
[ "$chk" = t ] || die "after COPY: ledger, balance and balance_change disagree"

# ---------------------------------------------------------------------------
# The omnichannel topology (bench/lib.sh, topo_build): the same single-row and COPY
# workloads, receipts into the sellable bucket at every location, in a database where a
# web channel sells from all locations and a marketplace shares the DC, against the same
# workload in a database with the same items, locations and stock and no channel, and a
# bare INSERT / COPY into a trigger-less ledger copy in the topology database.
# ---------------------------------------------------------------------------
TOPO_LOCATIONS=$((TOPO_STORES + 1))
declare -A TDB=([topo]=$DB_TOPO [nochan]=$DB_NOCHAN [bare]=$DB_TOPO)
declare -A TTABLE=([topo]=inventory_sync.ledger [nochan]=inventory_sync.ledger [bare]=bench.bare)
for d in "$DB_TOPO" "$DB_NOCHAN"; do
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null
  psql -X -q -d postgres -c "CREATE DATABASE $d" >/dev/null
  DB=$d sql -c "CREATE EXTENSION inventory_sync" -c "CREATE SCHEMA bench"
done
t0=$(date +%s)
DB=$DB_TOPO topo_build "$TOPO_ITEMS" "$TOPO_LOCATIONS" yes
log "topology: $TOPO_ITEMS items x (1 DC + $TOPO_STORES stores) stocked, channel web over all $TOPO_LOCATIONS locations, mkt over the DC, built in $(( $(date +%s) - t0 ))s"
t0=$(date +%s)
DB=$DB_NOCHAN topo_build "$TOPO_ITEMS" "$TOPO_LOCATIONS" no
log "no-channel twin: the same items, locations and stock, no channel, built in $(( $(date +%s) - t0 ))s"
DB=$DB_TOPO sql -c "CREATE TABLE bench.bare (LIKE inventory_sync.ledger INCLUDING ALL)"
chk=$(DB=$DB_TOPO sql -c "SELECT (SELECT count(*) FROM bench.items WHERE gtin::bigint <>
               (950600100000 + idx) * 10 + (10 - (43 + 3 * (idx / 100) + (idx / 10) % 10 + 3 * (idx % 10)) % 10) % 10)
            + (SELECT count(*) FROM bench.locations WHERE gln::bigint <>
               (950600200000 + idx) * 10 + (10 - (44 + 3 * (idx / 100) + (idx / 10) % 10 + 3 * (idx % 10)) % 10) % 10)")
[ "$chk" = 0 ] || die "topology: pgbench check-digit formula disagrees with gs1_check"

{
  echo "\\set i random(0, $((TOPO_ITEMS - 1)))"
  echo "\\set j random(0, $((TOPO_LOCATIONS - 1)))"
  topo_pgbench_keys
  echo '\set q random(1, 10)'
  echo '\set n :n + 1'
  echo '\set eid :base + :client_id * 1000000000 + :n'
} > "$WORK/topo_head.sql"
for v in topo nochan bare; do
  { cat "$WORK/topo_head.sql"
    echo "INSERT INTO ${TTABLE[$v]} (kind, source, source_event_id, gtin, location, bucket, quantity) VALUES ('receipt', 'bench_wms', :eid, :gtin, :gln, 'released', :q);"
  } > "$WORK/t_$v.sql"
done

run_topo() {   # variant sync
  local v=$1 sync=$2 out=$WORK/pgbench.out before after tps txns
  RUN=$((RUN + 1))
  DB=${TDB[$v]} sql -c "CHECKPOINT"
  before=$(DB=${TDB[$v]} sql -c "SELECT count(*) FROM ${TTABLE[$v]}")
  PGOPTIONS="-c synchronous_commit=$sync" \
    pgbench -n -M prepared -f "$WORK/t_$v.sql" -c "$CLIENTS" -j "$THREADS" -T "$DURATION" \
            -D n=0 -D base=$((RUN * 10000000000000)) "${TDB[$v]}" > "$out" 2>&1 \
    || { cat "$out"; die "pgbench topology $v"; }
  grep -q 'aborted' "$out" && { cat "$out"; die "pgbench topology $v: clients aborted"; }
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$out")
  txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
  after=$(DB=${TDB[$v]} sql -c "SELECT count(*) FROM ${TTABLE[$v]}")
  [ $((after - before)) -eq "$txns" ] || die "topology $v: $txns transactions but $((after - before)) new rows"
  log "  $v sync=$sync: $tps rows/s ($txns rows in ${DURATION}s)"
  LAST_TPS[$v]=$tps
}

declare -A TOPO_PAIRED=()
TORDERS=("bare nochan topo" "topo bare nochan" "nochan topo bare")
for sync in off on; do
  rounds=$TOPO_REPEATS
  [ "$sync" = on ] && rounds=$TOPO_REPEATS_ON
  ((rounds > 0)) || continue
  log "topology, single-row INSERT, synchronous_commit=$sync: $CLIENTS clients, $rounds rounds of ${DURATION}s per variant (order rotating)"
  for ((r = 1; r <= rounds; r++)); do
    for v in ${TORDERS[$(( (r - 1) % 3 ))]}; do run_topo "$v" "$sync"; done
    for b in nochan bare; do
      TOPO_PAIRED[$b.$sync]="${TOPO_PAIRED[$b.$sync]:-} $(ratio "${LAST_TPS[topo]}" "${LAST_TPS[$b]}")"
    done
  done
done

topo_copy_file() {   # tag -> path of a CSV of receipts into the sellable bucket, every key
  local f=$WORK/tcopy_$1.csv
  DB=$DB_TOPO sql -c "COPY (SELECT 'receipt', 'bench_wms', 'tcopy-$1-' || g, it.gtin, lo.gln, 'released', 1 + g % 10
                  FROM generate_series(1, $TOPO_COPY_ROWS) g
                  JOIN bench.items it ON it.idx = g % $TOPO_ITEMS
                  JOIN bench.locations lo ON lo.idx = (g / $TOPO_ITEMS) % $TOPO_LOCATIONS
                 ORDER BY g) TO '$f' WITH (FORMAT csv)"
  echo "$f"
}

topo_time_copy() {   # variant file sync -> rows/s, or "timeout"
  local v=$1 t0 t1 d=${TDB[$1]}
  DB=$d sql -c "VACUUM" 
  DB=$d sql -c "CHECKPOINT"
  t0=$(date +%s%N)
  if ! PGOPTIONS="-c synchronous_commit=$3 -c statement_timeout=${TOPO_TIMEOUT}s" \
      DB=$d sql -c "COPY ${TTABLE[$v]} (kind, source, source_event_id, gtin, location, bucket, quantity) FROM '$2' WITH (FORMAT csv)" 2>"$WORK/copy.err"; then
    grep -q 'statement timeout' "$WORK/copy.err" || { cat "$WORK/copy.err" >&2; die "topology COPY into $v"; }
    echo timeout
    return
  fi
  t1=$(date +%s%N)
  awk -v n="$TOPO_COPY_ROWS" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }'
}

tcopy_name=$([ "$TOPO_COPY_ROWS" -eq 1000000 ] && echo 1m || echo "$TOPO_COPY_ROWS")
declare -A TCOPY_PAIRED=() TCOPY_TIMEOUT=()
for sync in off on; do
  pairs=$TOPO_COPY_REPEATS
  [ "$sync" = on ] && pairs=$TOPO_COPY_REPEATS_ON
  ((pairs > 0)) || continue
  log "topology, COPY of $TOPO_COPY_ROWS receipts, synchronous_commit=$sync: $pairs round(s) of bare, no-channel and topology (order rotating; each COPY limited to ${TOPO_TIMEOUT}s)"
  for ((r = 1; r <= pairs; r++)); do
    f=$(topo_copy_file "$sync$r")
    for v in ${TORDERS[$(( (r - 1) % 3 ))]}; do
      rate=$(topo_time_copy "$v" "$f" "$sync")
      if [ "$rate" = timeout ]; then
        log "  round $r, $v sync=$sync: timed out after ${TOPO_TIMEOUT} s"
        TCOPY_TIMEOUT[$sync]=1
        rate=$(awk -v n="$TOPO_COPY_ROWS" -v s="$TOPO_TIMEOUT" 'BEGIN { printf "%.1f", n / s }')
        log "  (counted as $rate rows/s, an upper bound)"
      else
        log "  round $r, $v sync=$sync: $rate rows/s"
      fi
      PAIR_RATE[$v]=$rate
    done
    for b in nochan bare; do
      TCOPY_PAIRED[$b.$sync]="${TCOPY_PAIRED[$b.$sync]:-} $(ratio "${PAIR_RATE[topo]}" "${PAIR_RATE[$b]}")"
    done
    rm -f "$f"
  done
done

for d in "$DB_TOPO" "$DB_NOCHAN"; do
  chk=$(DB=$d sql -c "SELECT (SELECT count(*) FROM inventory_sync.ledger) = (SELECT count(*) FROM inventory_sync.balance_change)
                   AND (SELECT sum(base_quantity) FROM inventory_sync.ledger) = (SELECT sum(quantity) FROM inventory_sync.balance)")
  [ "$chk" = t ] || die "$d: ledger, balance and balance_change disagree"
done
[ "$(DB=$DB_TOPO sql -c 'SELECT count(*) FROM inventory_sync.verify_promises()')" = 0 ] \
  || die "topology: verify_promises() reports differences"
log "check: topology and no-channel books balance; the published channel ATP agrees with verify_promises()"

# ---------------------------------------------------------------------------
# Results.
# ---------------------------------------------------------------------------

echo
log "absolute rates (rows/s), best of runs:"
for sync in off on; do
  echo "rate: single-row INSERT sync=$sync: ours ${BEST[single.ours.$sync]}, bare ${BEST[single.bare.$sync]}, plpgsql ${BEST[single.plpgsql.$sync]}"
  echo "rate: COPY $COPY_ROWS rows sync=$sync: ours ${BEST[copy.ours.$sync]}, bare ${BEST[copy.bare.$sync]}"
done
[ "$COPY_ROWS" -eq 1000000 ] || echo "note: COPY measured with $COPY_ROWS rows, not 1,000,000 (BENCH_COPY_ROWS)"
log "total time: $(( $(date +%s) - START ))s"
echo
for sync in off on; do
  if [ "$sync" = off ]; then t1='>=0.6' t2='>=1.5' t3='>=0.4'; else t1=n/a t2=n/a t3=n/a; fi
  for b in bare plpgsql; do
    if [ "$b" = bare ]; then name=single_row_vs_bare_insert t=$t1; else name=single_row_vs_plpgsql t=$t2; fi
    result_paired "$name.sync_$sync" "$t" "${SINGLE_PAIRED[$b.$sync]}" "single-row sync=$sync: ours / $b, round by round"
    result "$name.sync_$sync.best_of" "${BEST[single.ours.$sync]}" "${BEST[single.$b.$sync]}" n/a
  done
  result_paired "copy_${copy_name}_vs_bare_copy.sync_$sync" "$t3" "${COPY_PAIRED[$sync]}" "COPY sync=$sync: ours / bare, pair by pair"
  result "copy_${copy_name}_vs_bare_copy.sync_$sync.best_of" "${BEST[copy.ours.$sync]}" "${BEST[copy.bare.$sync]}" n/a
done
for sync in off on; do
  if [ "$sync" = off ]; then t1='>=0.7' t2='>=0.5' t3='>=0.3'; else t1=n/a t2=n/a t3=n/a; fi
  if [ -n "${TOPO_PAIRED[nochan.$sync]:-}" ]; then
    result_paired "single_row_topology_vs_no_channel.sync_$sync" "$t1" "${TOPO_PAIRED[nochan.$sync]}" "topology single-row sync=$sync: topology / no channel, round by round"
    result_paired "single_row_topology_vs_bare_insert.sync_$sync" "$t2" "${TOPO_PAIRED[bare.$sync]}" "topology single-row sync=$sync: topology / bare, round by round"
  fi
  if [ -n "${TCOPY_PAIRED[nochan.$sync]:-}" ]; then
    [ -n "${TCOPY_TIMEOUT[$sync]:-}" ] && log "topology COPY sync=$sync: a COPY timed out; its rate is counted as rows / time limit, an upper bound"
    result_paired "copy_${tcopy_name}_topology_vs_bare_copy.sync_$sync" "$t3" "${TCOPY_PAIRED[bare.$sync]}" "topology COPY sync=$sync: topology / bare, round by round"
    result_paired "copy_${tcopy_name}_topology_vs_no_channel.sync_$sync" n/a "${TCOPY_PAIRED[nochan.$sync]}" "topology COPY sync=$sync: topology / no channel, round by round"
  fi
done
