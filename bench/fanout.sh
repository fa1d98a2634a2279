#!/usr/bin/env bash
# bench/fanout.sh: what each consumer of the feed costs the systems that post.
#
# Every consumer of the feed has a slot of its own, and every slot has a walsender that
# reads and decodes the whole WAL again: N consumers decode it N times, on the same cores
# as the postings. This measures the posting rate with N consumers following the feed
# against the same posting with none, in the realistic topology.
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER, as pg_virtualenv sets them;
# needs a superuser, wal_level=logical, inventory_sync in output_plugin_libraries, and as
# many free replication slots and walsenders as the largest N: bench/run.sh sets 24), in a
# scratch database it creates and drops.
#
# The master is the omnichannel topology of the other benchmarks (bench/lib.sh,
# topo_build: BENCH_FANOUT_ITEMS items stocked at a DC and BENCH_FANOUT_STORES stores,
# channel web selling from every location, mkt from the DC). pgbench posts one receipt
# per statement into the sellable bucket (BENCH_FANOUT_CLIENTS clients, as fast as they
# can, synchronous_commit = on) for BENCH_FANOUT_SECONDS while N consumers follow: each is
# the real pg_recvlogical streaming its slot (inventory_sync, default options) over a
# replication connection, confirming every second. After the run the time until every
# consumer's walsender has sent the last posting is the catch-up: near zero for consumers
# that kept up, the backlog's decoding time for those that did not.
#
# Pairs: in each of BENCH_FANOUT_REPEATS rounds, every N in BENCH_FANOUT_CONSUMERS is run
# once right beside a run with no consumer (which goes first alternating from round to
# round, as the order of N does); the ratio for N is the median of its pairs' ratios.
#
# Beside the rate, the cluster's CPU time per posting (every process of the cluster,
# exited ones included, read from /proc: the cluster must run on this machine), which a
# busy machine disturbs far less than a rate: on a machine whose cores the postings keep
# busy, the rate with N consumers is the rate with none times (CPU per posting with none)
# / (CPU per posting with N).
#
# Output: progress lines and, for the collector,
#   RESULT|feed_fanout_<N>_consumers_vs_none|<median ratio>|1|<ratio>|n/a        (rates)
#   RESULT|feed_fanout_<N>_consumers_cpu_vs_none|<median ratio>|1|<ratio>|n/a    (CPU per posting,
#                                                                   none / with N)
#   RESULT|feed_fanout_<N>_consumers_walsender_us_per_posting|<us>|1|<us>|n/a   (median CPU of
#                                                  one walsender per posting, read before it stops)
#   RESULT|feed_fanout_<N>_consumers_catch_up_s|<seconds>|1|<seconds>|n/a   (median)
#
# Knobs: BENCH_FANOUT_CONSUMERS ("1 4 16"), BENCH_FANOUT_SECONDS (20),
# BENCH_FANOUT_REPEATS (3), BENCH_FANOUT_CLIENTS (4), BENCH_FANOUT_ITEMS (1000, at most
# 1000), BENCH_FANOUT_STORES (100, at most 998), BENCH_FANOUT_CATCH_UP_LIMIT (s, 300),
# BENCH_DB (inventory_sync_bench_fanout).
set -euo pipefail
BENCH_NAME=fanout
source "$(dirname "$0")/lib.sh"

DB=${BENCH_DB:-inventory_sync_bench_fanout}
CONSUMERS=${BENCH_FANOUT_CONSUMERS:-1 4 16}
SECONDS_RUN=${BENCH_FANOUT_SECONDS:-20}
REPEATS=${BENCH_FANOUT_REPEATS:-3}
CLIENTS=${BENCH_FANOUT_CLIENTS:-4}
ITEMS=${BENCH_FANOUT_ITEMS:-1000}
STORES=${BENCH_FANOUT_STORES:-100}
CATCH_UP_LIMIT=${BENCH_FANOUT_CATCH_UP_LIMIT:-300}
TOPO_STOCK=1000000000
((ITEMS >= 1 && ITEMS <= 1000 && STORES >= 1 && STORES <= 998)) \
  || die "BENCH_FANOUT_ITEMS must be 1..1000 and BENCH_FANOUT_STORES 1..998 (the pgbench key formulas)"
((SECONDS_RUN >= 1 && REPEATS >= 1 && CLIENTS >= 1 && CATCH_UP_LIMIT >= 1)) \
  || die "BENCH_FANOUT_SECONDS, _REPEATS, _CLIENTS and _CATCH_UP_LIMIT must be at least 1"
max_n=0
for n in $CONSUMERS; do
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1)) || die "BENCH_FANOUT_CONSUMERS holds counts of at least 1, not '$n'"
  ((n > max_n)) && max_n=$n
done
free=$(psql -X -At -d postgres -c "SELECT least(current_setting('max_replication_slots')::int
                                                - (SELECT count(*) FROM pg_replication_slots),
                                                current_setting('max_wal_senders')::int
                                                - (SELECT count(*) FROM pg_stat_replication))")
((free >= max_n)) || die "needs $max_n free replication slots and walsenders (bench/run.sh sets 24), has $free"

WORK=$(mktemp -d /tmp/inventory_sync_bench.XXXXXX)
RECV_PIDS=()
stop_consumers() {
  local p
  for p in "${RECV_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${RECV_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  RECV_PIDS=()
  psql -X -q -At -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                                  WHERE slot_name LIKE 'bench_fanout_%'" >/dev/null 2>&1 || true
}
cleanup() {
  stop_consumers
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "cluster: $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1) on ${PGHOST:-local}:${PGPORT:-5432}"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
sql -c "CREATE EXTENSION inventory_sync" -c "CREATE SCHEMA bench"
t0=$(date +%s)
topo_build "$ITEMS" $((STORES + 1)) yes
sql -c "VACUUM ANALYZE" -c "CHECKPOINT"
log "topology: $ITEMS items x $((STORES + 1)) locations stocked, web over all, mkt at the DC, in $(( $(date +%s) - t0 ))s"

# one receipt per statement into the sellable bucket at any location: every posting
# moves the ATP of the channels selling there, so every consumer gets its atp events too
{
  echo "\\set i random(0, $((ITEMS - 1)))"
  echo "\\set j random(0, $STORES)"
  topo_pgbench_keys
  echo '\set q random(1, 10)'
  echo '\set n :n + 1'
  echo '\set eid :base + :client_id * 1000000000 + :n'
  echo "INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
          VALUES ('receipt', 'bench_wms', :eid, :gtin, :gln, 'released', :q);"
} > "$WORK/post.sql"

start_consumers() {   # n
  local i
  for ((i = 1; i <= $1; i++)); do
    sql -c "SELECT 'ok' FROM pg_create_logical_replication_slot('bench_fanout_$i', 'inventory_sync')" >/dev/null
    pg_recvlogical -d "$DB" --slot "bench_fanout_$i" --start --status-interval 1 -f - \
      >/dev/null 2>>"$WORK/recv.err" &
    RECV_PIDS+=($!)
  done
  # every consumer streaming before the postings start
  for ((i = 0; i < 50; i++)); do
    [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_replication_slots
                                      WHERE slot_name LIKE 'bench_fanout_%' AND active")" -eq "$1" ] && return 0
    sleep 0.1
  done
  cat "$WORK/recv.err" >&2
  die "$1 consumers did not all start streaming"
}

# seconds until every consumer's walsender has sent the WAL up to the position given (the
# sent position, not the confirmed one, which moves only at the consumers' status interval)
catch_up() {   # lsn
  local t0 t1 behind
  t0=$(date +%s%N)
  while :; do
    behind=$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_replication_slots s
                                           LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
                                          WHERE s.slot_name LIKE 'bench_fanout_%'
                                            AND (r.sent_lsn IS NULL OR r.sent_lsn < '$1')")
    [ "$behind" -eq 0 ] && break
    (( ($(date +%s%N) - t0) / 1000000000 >= CATCH_UP_LIMIT )) && { echo "over $CATCH_UP_LIMIT"; return; }
    sleep 0.05
  done
  t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f\n", ns / 1e9 }'
}

# CPU time (clock ticks) the whole cluster has used: the postmaster and its live children,
# and the children it has reaped (backends and walsenders that have exited)
cluster_cpu() {
  local pm=$1 total c
  total=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat")
  for c in $(pgrep -P "$pm"); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

run_once() {   # n (0: no consumer); sets RUN_RATE, RUN_CATCH_UP (seconds) and RUN_CPU (us/posting)
  local n=$1 base out rate lsn cu=0 cpu0 cpu1 done_txns
  cpu0=$(cluster_cpu "$POSTMASTER")
  ((n > 0)) && start_consumers "$n"
  base=$(( $(date +%s%N) / 1000 ))
  out=$(pgbench -n -M prepared -f "$WORK/post.sql" -c "$CLIENTS" -j 2 -T "$SECONDS_RUN" -D n=0 -D base="$base" "$DB" 2>&1) \
    || { echo "$out" >&2; die "pgbench failed with $n consumers"; }
  rate=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p')
  [ -n "$rate" ] || { echo "$out" >&2; die "no rate from pgbench with $n consumers"; }
  done_txns=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
  lsn=$(psql -X -At -d postgres -c "SELECT pg_current_wal_lsn()")
  RUN_WALSENDER=0
  if ((n > 0)); then
    cu=$(catch_up "$lsn")
    # the walsenders' own CPU (they start with their consumers), per posting and consumer
    RUN_WALSENDER=$(psql -X -At -d postgres -c "SELECT active_pid FROM pg_replication_slots
                                                 WHERE slot_name LIKE 'bench_fanout_%'" \
      | while read -r p; do awk '{ print $14 + $15 }' "/proc/$p/stat"; done \
      | awk -v hz="$HZ" -v n="$done_txns" -v c="$n" '{ t += $1 } END { printf "%.1f", t / hz * 1e6 / n / c }')
  fi
  stop_consumers
  cpu1=$(cluster_cpu "$POSTMASTER")
  sql -c "CHECKPOINT" >/dev/null
  RUN_RATE=$rate
  RUN_CATCH_UP=$cu
  RUN_CPU=$(awk -v t=$((cpu1 - cpu0)) -v hz="$HZ" -v n="$done_txns" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
}

# the cluster runs on this machine (loopback only): its processes are read from /proc
POSTMASTER=$(awk '{ print $4 }' "/proc/$(psql -X -At -d postgres -c "SELECT pid FROM pg_stat_activity
                                                                       WHERE backend_type = 'checkpointer'")/stat" \
             2>/dev/null || true)
[ -n "$POSTMASTER" ] && [ -r "/proc/$POSTMASTER/stat" ] || die "the cluster's processes are not readable in /proc (it must run on this machine)"
HZ=$(getconf CLK_TCK)

declare -A RATIOS CATCH CPUS WALSENDER
for ((r = 1; r <= REPEATS; r++)); do
  order=$CONSUMERS
  ((r % 2 == 0)) && order=$(printf '%s\n' $CONSUMERS | tac | xargs)
  for n in $order; do
    # each run with consumers is paired with one without, the pair's order alternating
    if ((r % 2 == 1)); then
      run_once 0; none=$RUN_RATE cpu_none=$RUN_CPU
      run_once "$n"; rate=$RUN_RATE cu=$RUN_CATCH_UP cpu=$RUN_CPU walsender=$RUN_WALSENDER
    else
      run_once "$n"; rate=$RUN_RATE cu=$RUN_CATCH_UP cpu=$RUN_CPU walsender=$RUN_WALSENDER
      run_once 0; none=$RUN_RATE cpu_none=$RUN_CPU
    fi
    log "round $r: $n consumers: $rate postings/s, none: $none ($(ratio "$rate" "$none")), caught up in ${cu}s;" \
        "cluster CPU per posting $cpu us, none $cpu_none us ($(ratio "$cpu_none" "$cpu")), each walsender $walsender us;" \
        "load $(cut -d' ' -f1 /proc/loadavg)"
    WALSENDER[$n]+="$walsender "
    RATIOS[$n]+="$(ratio "$rate" "$none") "
    CPUS[$n]+="$(ratio "$cpu_none" "$cpu") "
    CATCH[$n]+="${cu// /_} "
  done
done

for n in $CONSUMERS; do
  m=$(median ${RATIOS[$n]})
  log "$n consumers: ratios ${RATIOS[$n]}-> median $m; catch-up ${CATCH[$n]}"
  result_ratio "feed_fanout_${n}_consumers_vs_none" "$m" n/a
  c=$(median ${CPUS[$n]})
  log "$n consumers: CPU per posting, none / with them: ${CPUS[$n]}-> median $c"
  result_ratio "feed_fanout_${n}_consumers_cpu_vs_none" "$c" n/a
  w=$(median ${WALSENDER[$n]})
  log "$n consumers: CPU of each walsender per posting (us): ${WALSENDER[$n]}-> median $w"
  echo "RESULT|feed_fanout_${n}_consumers_walsender_us_per_posting|$w|1|$w|n/a"
  if [[ ! ${CATCH[$n]} =~ over ]]; then
    c=$(median ${CATCH[$n]})
    echo "RESULT|feed_fanout_${n}_consumers_catch_up_s|$c|1|$c|n/a"
  else
    echo "RESULT|feed_fanout_${n}_consumers_catch_up_s|over $CATCH_UP_LIMIT|1|n/a|n/a"
  fi
done
