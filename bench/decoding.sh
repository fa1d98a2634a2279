#!/usr/bin/env bash
# bench/decoding.sh: the change feed's decoding speed and memory (the target: at least
# 2x wal2json (format 2) events per second on the same postings, flat memory).
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER, as pg_virtualenv sets them;
# needs a superuser, wal_level=logical, inventory_sync and wal2json in
# output_plugin_libraries, 2 x BENCH_DECODE_REPEATS + 4 x BENCH_DECODE_OTHER_REPEATS free
# replication slots), in a scratch database it creates and drops.
#
# Each workload is posted once, after one slot per plugin and run was created in front of
# it, so every plugin decodes exactly the same WAL. Each slot is then streamed
# by the real pg_recvlogical over a replication connection (what a consumer runs) to
# /dev/null up to the workload's end; the time from start to exit gives the rate, and the
# walsender's memory is sampled from /proc while it decodes.
#
#   plugins     ours           inventory_sync, default options (over the replication protocol:
#                              up to 64 events of a transaction per message)
#               ours_single    inventory_sync, batch-events=1 (one event per message)
#               ours_silent    inventory_sync, events=atp: the bench has no channels, so every
#                              event is filtered out and nothing is sent: the floor of reading
#                              and decoding this WAL, which every plugin pays
#               wal2json       wal2json format-version 2, add-tables=inventory_sync.balance_change
#                              (only the table the events come from: its fairest setting)
#               wal2json_all   wal2json format-version 2, every table (its default)
#               test_decoding  test_decoding, default options
#   workloads   small_txns     BENCH_DECODE_TXNS single-posting transactions (pgbench)
#               txn_200k       one transaction of 200,000 postings (INSERT ... SELECT)
#               txn_1m         one transaction of BENCH_DECODE_BIG (1,000,000) postings
#
# Rate: events per second, events = the balance_change rows of the workload (one per
# posting here: receipts), the same numerator for every plugin, so the ratios are
# ratios of decoding times. Ours and wal2json (the target's pair) are decoded in
# BENCH_DECODE_REPEATS pairs, one right after the other, the order alternating from pair
# to pair; the target ratio is the median of the pairs' ratios (wal2json's time / ours):
# one run of ours alone varies by up to 30% on a 2-vCPU machine, and a median of paired
# runs is steadier than the ratio of two best runs (reported beside it as .best_of).
# The other plugins are decoded BENCH_DECODE_OTHER_REPEATS times (reported, best taken).
# Memory: peak RssAnon (private memory, kB) of the walsender, over all its runs.
#
# Output: progress lines, "rate:"/"memory:" lines and, for the collector,
#   RESULT|<benchmark>|<ours>|<baseline>|<ratio>|<target>
#     decoding_small_txns_vs_wal2json     median of the pairs' ratios ("ours" holds it,
#                                         the baseline 1), target >= 2
#     decoding_txn_1m_vs_wal2json         the same, target >= 2
#     decoding_*_vs_wal2json.best_of      events/s, best run against best run (reported)
#     decoding_*_single_vs_wal2json       the same with batch-events=1 (reported, n/a)
#     decoding_*_vs_wal2json_all_tables, decoding_*_vs_test_decoding   (reported, n/a)
#     decoding_small_txns_floor_*         microseconds per transaction: the silent floor,
#                                         ours and wal2json (medians of their runs), the
#                                         floor's share of ours (reported, n/a)
#     decoding_memory_txn_1m_vs_txn_200k  ours' peak memory, 1M-posting transaction vs
#                                         200k-posting one: flat means <= 1.25
#     decoding_memory_txn_1m_vs_test_decoding  ours vs test_decoding at 1M (reported)
#
# Knobs: BENCH_DECODE_TXNS (200000), BENCH_DECODE_BIG (1000000), BENCH_DECODE_MID (200000),
# BENCH_DECODE_REPEATS (pairs of ours and wal2json, 5), BENCH_DECODE_OTHER_REPEATS (runs
# of the other plugins, 1), BENCH_DECODE_WORKLOADS (all three),
# BENCH_DB (inventory_sync_bench_decoding).
set -euo pipefail
BENCH_NAME=decoding
source "$(dirname "$0")/lib.sh"

DB=${BENCH_DB:-inventory_sync_bench_decoding}
TXNS=${BENCH_DECODE_TXNS:-200000}
BIG=${BENCH_DECODE_BIG:-1000000}
MID=${BENCH_DECODE_MID:-200000}
REPEATS=${BENCH_DECODE_REPEATS:-5}
OTHER_REPEATS=${BENCH_DECODE_OTHER_REPEATS:-1}
ITEMS=1000
LOCATIONS=10
PLUGINS=(ours ours_single ours_silent wal2json wal2json_all test_decoding)
WORKLOADS=${BENCH_DECODE_WORKLOADS:-small_txns txn_200k txn_1m}

WORK=$(mktemp -d /tmp/inventory_sync_decoding.XXXXXX)
chmod 777 "$WORK"
START=$(date +%s)


cleanup() {
  local pids
  pids=$(jobs -p) && [ -n "$pids" ] && kill $pids 2>/dev/null || true
  psql -X -q -At -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                                  WHERE database = '$DB' AND NOT active" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

plugin_of() {
  case $1 in
    ours|ours_single|ours_silent) echo inventory_sync ;;
    wal2json|wal2json_all) echo wal2json ;;
    test_decoding) echo test_decoding ;;
  esac
}
plugin_opts() {
  case $1 in
    ours_single) echo "-o batch-events=1" ;;
    ours_silent) echo "-o events=atp" ;;
    wal2json) echo "-o format-version=2 -o add-tables=inventory_sync.balance_change" ;;
    wal2json_all) echo "-o format-version=2" ;;
    *) echo "" ;;
  esac
}

log "cluster: $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1) on ${PGHOST:-local}:${PGPORT:-5432}"
[ "$(psql -X -At -d postgres -c 'SHOW wal_level')" = logical ] || die "wal_level must be logical"
slots=$((2 * REPEATS + 4 * OTHER_REPEATS))
[ "$(psql -X -At -d postgres -c "SELECT current_setting('max_replication_slots')::int - count(*) FROM pg_replication_slots")" -ge "$slots" ] \
  || die "needs $slots free replication slots (max_replication_slots; bench/run.sh sets 24)"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null

log "setup: extension, $ITEMS items x $LOCATIONS locations"
sql <<'SQL'
CREATE EXTENSION inventory_sync;
CREATE SCHEMA bench;
CREATE FUNCTION bench.gs1_check(body text) RETURNS int LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT (10 - sum(substr(body, length(body) - i, 1)::int * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END)::int % 10) % 10
    FROM generate_series(0, length(body) - 1) i
$$;
CREATE TABLE bench.items AS
  SELECT i AS idx, lpad(b || bench.gs1_check(b), 14, '0')::inventory_sync.gtin AS gtin
    FROM generate_series(0, 999) i, LATERAL (SELECT (950600100000 + i)::text AS b) s;
CREATE TABLE bench.locations AS
  SELECT j AS idx, (b || bench.gs1_check(b))::inventory_sync.gln AS gln
    FROM generate_series(0, 9) j, LATERAL (SELECT (950600200000 + j)::text AS b) s;
INSERT INTO inventory_sync.source (source, name, kind, role) VALUES ('bench_wms', 'Benchmark WMS', 'wms', current_user);
INSERT INTO inventory_sync.item (gtin, name) SELECT gtin, 'Bench item ' || idx FROM bench.items;
INSERT INTO inventory_sync.location (gln, name, kind) SELECT gln, 'Bench DC ' || idx, 'warehouse' FROM bench.locations;
SQL

# pgbench: one receipt per transaction, keys spread over every (item, location)
cat > "$WORK/one.sql" <<EOF
\\set i random(0, $((ITEMS - 1)))
\\set j random(0, $((LOCATIONS - 1)))
\\set gtin (950600100000 + :i) * 10 + (10 - (43 + 3 * (:i / 100) + (:i / 10) % 10 + 3 * (:i % 10)) % 10) % 10
\\set gln (950600200000 + :j) * 10 + (10 - (44 + 3 * :j) % 10) % 10
\\set n :n + 1
\\set eid :client_id * 1000000000 + :n
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity) VALUES ('receipt', 'bench_wms', 'small-' || :eid, :gtin, :gln, 1 + :n % 5);
EOF

post_workload() {   # name -> posts it, prints nothing
  case $1 in
    small_txns)
      pgbench -n -M prepared -f "$WORK/one.sql" -c 4 -j 2 -t $((TXNS / 4)) -D n=0 "$DB" > "$WORK/pgbench.out" 2>&1 \
        || { cat "$WORK/pgbench.out"; die "pgbench"; }
      ;;
    txn_*)
      local n=$MID
      [ "$1" = txn_1m ] && n=$BIG
      sql -c "INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
              SELECT 'receipt', 'bench_wms', '$1-' || g, it.gtin, lo.gln, 1 + g % 5
                FROM generate_series(1, $n) g
                JOIN bench.items it ON it.idx = g % $ITEMS
                JOIN bench.locations lo ON lo.idx = (g / $ITEMS) % $LOCATIONS"
      ;;
  esac
}

# Stream one slot to its end with pg_recvlogical; prints "<seconds> <peak RssAnon kB>".
decode_slot() {   # slot variant endpos
  local slot=$1 variant=$2 endpos=$3 pid="" peak=0 t0 t1 recv k v
  t0=$(date +%s%N)
  # shellcheck disable=SC2046
  local out=/dev/null
  [ "$variant" = ours_silent ] && out=$WORK/silent.out   # checked empty below
  pg_recvlogical -d "$DB" --slot "$slot" --start --no-loop --endpos "$endpos" -f "$out" \
    $(plugin_opts "$variant") 2> "$WORK/recv.err" &
  recv=$!
  while kill -0 "$recv" 2>/dev/null; do
    if [ -z "$pid" ]; then
      pid=$(psql -X -At -d postgres -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '$slot'" 2>/dev/null || true)
    fi
    if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
      while read -r k v _; do
        [ "$k" = RssAnon: ] && [ "$v" -gt "$peak" ] && peak=$v
      done < "/proc/$pid/status" 2>/dev/null || true
    fi
    sleep 0.02
  done
  wait "$recv" || { cat "$WORK/recv.err" >&2; die "pg_recvlogical $slot"; }
  if [ "$out" != /dev/null ] && [ -s "$out" ]; then
    head -c 300 "$out" >&2
    die "$variant was to send nothing (the bench has no channels, so no atp events)"
  fi
  t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) -v p="$peak" 'BEGIN { printf "%.3f %d\n", ns / 1e9, p }'
}

repeats_of() {   # plugin -> how many runs it gets
  case $1 in ours|wal2json) echo "$REPEATS" ;; *) echo "$OTHER_REPEATS" ;; esac
}
declare -A RATE=() MEM=() EVENTS=() PAIRED=() SECS=() ALLSECS=()
decode_run() {   # workload plugin repeat endpos events
  local w=$1 p=$2 r=$3 out secs peak rate key="$1.$2"
  out=$(decode_slot "bench_${w}_${p}_$r" "$p" "$4")
  read -r secs peak <<< "$out"
  SECS[$p]=$secs
  ALLSECS[$key]="${ALLSECS[$key]:-} $secs"
  rate=$(awk -v n="$5" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
  log "  $p run $r: ${secs}s, $rate events/s, walsender peak RssAnon ${peak} kB"
  if [ -z "${RATE[$key]:-}" ] || awk -v a="$rate" -v b="${RATE[$key]}" 'BEGIN { exit !(a > b) }'; then
    RATE[$key]=$rate
  fi
  if [ -z "${MEM[$key]:-}" ] || [ "$peak" -gt "${MEM[$key]}" ]; then
    MEM[$key]=$peak
  fi
  sql -c "SELECT pg_drop_replication_slot('bench_${w}_${p}_$r')" >/dev/null
}
for w in $WORKLOADS; do
  log "workload $w: one slot per plugin and run, then the postings"
  for p in "${PLUGINS[@]}"; do
    for ((r = 1; r <= $(repeats_of "$p"); r++)); do
      sql -c "SELECT 'ok' FROM pg_create_logical_replication_slot('bench_${w}_${p}_$r', '$(plugin_of "$p")')" >/dev/null
    done
  done
  before=$(sql -c "SELECT count(*) FROM inventory_sync.balance_change")
  t0=$(date +%s%N)
  post_workload "$w"
  t1=$(date +%s%N)
  endpos=$(sql -c "SELECT pg_current_wal_lsn()")
  events=$(( $(sql -c "SELECT count(*) FROM inventory_sync.balance_change") - before ))
  EVENTS[$w]=$events
  log "  posted $events postings in $(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')s, WAL up to $endpos"
  sql -c "CHECKPOINT"
  # ours and wal2json in pairs, side by side, the order alternating from pair to pair
  for ((r = 1; r <= REPEATS; r++)); do
    if ((r % 2)); then order="ours wal2json"; else order="wal2json ours"; fi
    for p in $order; do decode_run "$w" "$p" "$r" "$endpos" "$events"; done
    PAIRED[$w]="${PAIRED[$w]:-} $(ratio "${SECS[wal2json]}" "${SECS[ours]}")"
  done
  for p in ours_single ours_silent wal2json_all test_decoding; do
    for ((r = 1; r <= OTHER_REPEATS; r++)); do decode_run "$w" "$p" "$r" "$endpos" "$events"; done
  done
done

# A check that the feed carried every posting: a fresh slot over a small batch, counted.
sql -c "SELECT 'ok' FROM pg_create_logical_replication_slot('bench_check', 'inventory_sync')" >/dev/null
sql -c "INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
        SELECT 'receipt', 'bench_wms', 'check-' || g, it.gtin, lo.gln, 1
          FROM generate_series(1, 1000) g JOIN bench.items it ON it.idx = g % $ITEMS
          JOIN bench.locations lo ON lo.idx = 0"
n=$(sql -c "SELECT count(*) FROM pg_logical_slot_get_changes('bench_check', NULL, NULL) WHERE data::json->>'type' = 'posting'")
sql -c "SELECT pg_drop_replication_slot('bench_check')" >/dev/null
[ "$n" = 1000 ] || die "the feed carried $n of 1000 postings"
log "check: the feed carried 1000 of 1000 postings"


echo
for w in $WORKLOADS; do
  echo "rate: $w (${EVENTS[$w]} events): ours ${RATE[$w.ours]}, ours batch-events=1 ${RATE[$w.ours_single]}, ours sending nothing ${RATE[$w.ours_silent]}, wal2json ${RATE[$w.wal2json]}, wal2json all tables ${RATE[$w.wal2json_all]}, test_decoding ${RATE[$w.test_decoding]} events/s"
  echo "memory: $w: walsender peak RssAnon kB: ours ${MEM[$w.ours]}, wal2json ${MEM[$w.wal2json]}, wal2json all tables ${MEM[$w.wal2json_all]}, test_decoding ${MEM[$w.test_decoding]}"
done
[ "$BIG" -eq 1000000 ] || echo "note: txn_1m measured with $BIG postings, not 1,000,000 (BENCH_DECODE_BIG)"
log "total time: $(( $(date +%s) - START ))s"
echo
for w in small_txns txn_1m; do
  [[ " $WORKLOADS " == *" $w "* ]] || continue
  result_paired "decoding_${w}_vs_wal2json" '>=2' "${PAIRED[$w]}" "$w: wal2json time / ours, pair by pair"
  result "decoding_${w}_vs_wal2json.best_of" "${RATE[$w.ours]}" "${RATE[$w.wal2json]}" n/a
  result "decoding_${w}_single_vs_wal2json" "${RATE[$w.ours_single]}" "${RATE[$w.wal2json]}" n/a
  result "decoding_${w}_vs_wal2json_all_tables" "${RATE[$w.ours]}" "${RATE[$w.wal2json_all]}" n/a
  result "decoding_${w}_vs_test_decoding" "${RATE[$w.ours]}" "${RATE[$w.test_decoding]}" n/a
done
if [[ " $WORKLOADS " == *" small_txns "* ]]; then
  # Where a one-posting transaction's time goes: the floor every plugin pays (reading and
  # decoding the WAL; ours with every event filtered out, sending nothing), and above it
  # what each plugin's messages cost (ours: one per transaction; wal2json: begin, the
  # row, commit). Medians of each plugin's runs, microseconds per transaction.
  us() {   # plugin -> median seconds of its runs, as microseconds per transaction
    # shellcheck disable=SC2086
    awk -v s="$(median ${ALLSECS[small_txns.$1]})" -v n="${EVENTS[small_txns]}" 'BEGIN { printf "%.2f", s * 1e6 / n }'
  }
  floor=$(us ours_silent) ours_us=$(us ours) w2j_us=$(us wal2json)
  log "small_txns, per transaction: floor ${floor} us (decoding the WAL, nothing sent); ours ${ours_us} us" \
      "(floor + $(awk -v a="$ours_us" -v f="$floor" 'BEGIN { printf "%.2f", a - f }')), wal2json ${w2j_us} us" \
      "(floor + $(awk -v a="$w2j_us" -v f="$floor" 'BEGIN { printf "%.2f", a - f }'))"
  result decoding_small_txns_floor_us_vs_ours_us "$floor" "$ours_us" n/a
  result decoding_small_txns_floor_us_vs_wal2json_us "$floor" "$w2j_us" n/a
fi
[[ " $WORKLOADS " == *" txn_1m "* && " $WORKLOADS " == *" txn_200k "* ]] || exit 0
result "decoding_memory_txn_1m_vs_txn_200k" "${MEM[txn_1m.ours]}" "${MEM[txn_200k.ours]}" '<=1.25'
result "decoding_memory_txn_1m_vs_test_decoding" "${MEM[txn_1m.ours]}" "${MEM[txn_1m.test_decoding]}" n/a
