#!/usr/bin/env bash
# bench/latency.sh: sync latency end to end, from a fact's COMMIT to the systems that follow
# the feed (the target: p99 commit -> consumer received under 5 ms at 2,000 postings/s and
# under 20 ms at the highest rate the machine sustains, one-row and 100-row statements; the
# consumer keeps up, its lag does not grow; a native subscriber's latency beside it).
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER/PGPASSWORD, as pg_virtualenv sets
# them; a superuser, PostgreSQL 15 or later, wal_level=logical, inventory_sync in
# output_plugin_libraries, four free replication slots and three walsenders), in two
# scratch databases it creates and drops: the master and a native subscriber's copy.
#
# The master is the omnichannel topology of the other benchmarks (bench/lib.sh, topo_build):
# 1,000 items stocked at a DC and 100 stores, channel web selling from every location and
# channel mkt from the DC (BENCH_LATENCY_CHANNELS=no: the same without channels). For each
# statement shape (one posting per statement and transaction; 100 postings per statement)
# and each rate, pgbench posts receipts into the sellable bucket at that fixed rate (-R,
# CLIENTS clients; every posting moves the ATP of the channels selling there) for
# BENCH_LATENCY_SECONDS while a system follows the feed:
#   consumer    bench/latency_consumer.py: the example consumer's copy over the replication
#               protocol (psycopg2), with the plugin's default batching (64 lines per message),
#               confirming twice a second. Per posting event: commit -> sent (the time the
#               walsender wrote the message, which the message carries), commit -> received
#               (the message read from the connection) and commit -> applied (in the local
#               copy), on this machine's clock against the commit time the event carries.
#   subscriber  CREATE SUBSCRIPTION to the publication from a second database: commit -> rows
#               visible there, per applied transaction. Nothing is added to the apply path:
#               the subscriber's commit record carries its own commit time and the master's
#               (its replication origin's), both read back from the WAL afterwards
#               (pg_walinspect); the local time is taken just before the commit record is
#               written, and the rows are visible once it is (the subscription commits
#               without waiting for a flush).
# By default (BENCH_LATENCY_SUBSCRIBER=separate) each shape and rate runs twice, once with
# only the subscriber following, then once with only the consumer, and the table puts both
# side by side: on a machine of two cores, a subscriber applying the same stream takes CPU
# from the consumer (and the reverse), which says more about the machine than about either.
# `beside` runs both in the same pass; `none` only the consumer.
# Every second the followers' rows of kpi_feed_delay are sampled (lag_bytes, and delay: the
# server's own measure of commit -> confirmed, reported beside the consumer's p99); "kept up"
# means the median of the last third of the run's lag samples is no higher than the first
# third's plus a second of the run's WAL (at least 64 kB). pgbench logs each transaction's
# own time, commit flush included ("txn ms", the schedule lag taken off), and pg_stat_wal
# gives the WAL flushes' mean time during the run (track_wal_io_timing in the writers).
# Then the highest rate is held for BENCH_LATENCY_KEEPUP_SECONDS (one-row statements, the
# consumer) to see whether the lag grows over minutes, and variants at that rate show what
# settings cost: synchronous_commit=off (the commit returns before its WAL is flushed; the
# walsender sees it when the WAL writer flushes, every wal_writer_delay), the same with
# wal_writer_delay=10ms (set with ALTER SYSTEM for that run and reset after), and for
# 100-posting statements batch-events=1 (a message per line) and batch-events=1000 (one
# message per transaction). Last, the decoding cost of one transaction of each shape:
# BENCH_LATENCY_DECODE_TXNS transactions posted by one client, then decoded through
# pg_logical_slot_get_changes with the consumer's options.
#
# Output: a table per part (sweep, hold and variants, decoding) and, for the collector,
#   RESULT|latency_p99_ms_<rate>_x<shape>|<p99 ms>|<bound ms>|<p99/bound>|<=1     p99 commit ->
#          consumer received against its bound: 5 ms at 2,000 postings/s, 20 ms at the highest
#          rate; at other rates the bound is 1 ms and the target n/a (the p99 in ms, reported)
#   RESULT|latency_subscriber_p99_ms_<rate>_x<shape>|<p99 ms>|<bound ms>|<ratio>|n/a
#          the same for commit -> visible at the subscriber (reported, no target)
#   RESULT|latency_keepup_lag_growth_<rate>|<last third>|<first third>|<ratio>|<=1   (slot lag)
#
# Knobs: BENCH_LATENCY_RATES (postings/s, "500 2000 5000"), BENCH_LATENCY_SHAPES ("1 100"),
# BENCH_LATENCY_SECONDS (30), BENCH_LATENCY_KEEPUP_SECONDS (300; 0 skips the hold and the
# variants), BENCH_LATENCY_CLIENTS (4), BENCH_LATENCY_SUBSCRIBER (separate | beside | none),
# BENCH_LATENCY_DECODE_TXNS (2000 one-posting, a tenth as many 100-posting; 0 skips),
# BENCH_LATENCY_BATCH_EVENTS (the consumer's batch-events outside the variants, 64),
# BENCH_LATENCY_CHANNELS (yes | no), BENCH_LATENCY_FSYNC (on | off | keep: the cluster's own
# setting; on by default, because a commit's flush is part of every delivery and throwaway
# clusters such as pg_virtualenv's run with fsync=off; set with ALTER SYSTEM and reset after),
# BENCH_LATENCY_WARM_WAL_MB (2048: WAL written and recycled before the first run, see below;
# 0 measures a fresh cluster as it is), BENCH_LATENCY_TRACE_DIR (unset; a directory: the
# consumer writes there a line per transaction of each run: commit time, events, ms from
# the commit to its first and last message's sending and receipt; and pgbench's log of the
# same run, each transaction's end as its client saw it), BENCH_DB (inventory_sync_bench_latency).
#
# WAL segments: a server that has been running has its next WAL segments already on disk
# (each checkpoint renames old ones into the names to come); a fresh cluster has not, and the
# commit whose WAL first reaches a new 16 MB segment waits while it is created, filled with
# zeros (wal_init_zero) and flushed: 10 to 60 ms on this machine's disk, put into that
# transaction's delivery. So before the first run the benchmark writes BENCH_LATENCY_WARM_WAL_MB
# of WAL (segment switches) and checkpoints, and checkpoints before every run so the segments
# the previous run used are renamed ahead again; runs then measure the server's steady state.
set -euo pipefail
BENCH_NAME=latency
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

DB=${BENCH_DB:-inventory_sync_bench_latency}
SUB=${DB}_sub
RATES=${BENCH_LATENCY_RATES:-500 2000 5000}
SHAPES=${BENCH_LATENCY_SHAPES:-1 100}
RUN_SECONDS=${BENCH_LATENCY_SECONDS:-30}
KEEPUP_SECONDS=${BENCH_LATENCY_KEEPUP_SECONDS:-300}
CLIENTS=${BENCH_LATENCY_CLIENTS:-4}
MODE=${BENCH_LATENCY_SUBSCRIBER:-separate}
DECODE_TXNS=${BENCH_LATENCY_DECODE_TXNS:-2000}
BATCH=${BENCH_LATENCY_BATCH_EVENTS:-64}
case $MODE in
  separate | beside | none) ;;
  0) MODE=none ;;
  *) die "BENCH_LATENCY_SUBSCRIBER is separate, beside or none, not '$MODE'" ;;
esac
CHANNELS=${BENCH_LATENCY_CHANNELS:-yes}
case $CHANNELS in yes | no) ;; *) die "BENCH_LATENCY_CHANNELS is yes or no, not '$CHANNELS'" ;; esac
ITEMS=1000
LOCATIONS=101
PY=/usr/bin/python3
SUBSLOT=${DB}_subscriber
HOLDSLOT=${DB}_walhold
WORK=$(mktemp -d /tmp/inventory_sync_bench.XXXXXX)
chmod 777 "$WORK"
SAMPLER=
WALWRITER_SET=0
FSYNC=${BENCH_LATENCY_FSYNC:-on}
FSYNC_SET=0
WARM_WAL_MB=${BENCH_LATENCY_WARM_WAL_MB:-2048}
TRACE_DIR=${BENCH_LATENCY_TRACE_DIR:-}
[ -z "$TRACE_DIR" ] || mkdir -p "$TRACE_DIR"
[[ $WARM_WAL_MB =~ ^[0-9]+$ ]] || die "BENCH_LATENCY_WARM_WAL_MB is a number of megabytes, not '$WARM_WAL_MB'"
case $FSYNC in on | off | keep) ;; *) die "BENCH_LATENCY_FSYNC is on, off or keep, not '$FSYNC'" ;; esac

subsql() { psql -X -v ON_ERROR_STOP=1 -q -At -d "$SUB" "$@"; }

drop_subscription() {
  psql -X -q -d "$SUB" -c "ALTER SUBSCRIPTION latency DISABLE" >/dev/null 2>&1 || true
  psql -X -q -d "$SUB" -c "ALTER SUBSCRIPTION latency SET (slot_name = NONE)" >/dev/null 2>&1 || true
  psql -X -q -d "$SUB" -c "DROP SUBSCRIPTION latency" >/dev/null 2>&1 || true
}

cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
  pkill -f "latency_consumer.py .*--slot ${DB}_" 2>/dev/null || true
  if [ "$FSYNC_SET" = 1 ]; then
    psql -X -q -d postgres -c "ALTER SYSTEM RESET fsync" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
  fi
  if [ "$WALWRITER_SET" = 1 ]; then
    psql -X -q -d postgres -c "ALTER SYSTEM RESET wal_writer_delay" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
  fi
  drop_subscription
  sleep 1
  psql -X -q -At -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                                  WHERE slot_name LIKE '${DB}_%' AND NOT active" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $SUB" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# Setup: master data on the master, the publication, the subscriber's copy.
# ---------------------------------------------------------------------------
if [ "$FSYNC" != keep ] && [ "$(psql -X -At -d postgres -c 'SHOW fsync')" != "$FSYNC" ]; then
  FSYNC_SET=1
  psql -X -q -d postgres -c "ALTER SYSTEM SET fsync = $FSYNC" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 1
fi
log "cluster: $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1) on ${PGHOST:-local}:${PGPORT:-5432}"
log "settings: synchronous_commit=$(psql -X -At -d postgres -c 'SHOW synchronous_commit'), wal_writer_delay=$(psql -X -At -d postgres -c 'SHOW wal_writer_delay'), fsync=$(psql -X -At -d postgres -c 'SHOW fsync'), wal_sync_method=$(psql -X -At -d postgres -c 'SHOW wal_sync_method')"
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for d in "$SUB" "$DB"; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null; done
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null

log "setup: $ITEMS items x $LOCATIONS locations, channels: $CHANNELS, publication (subscriber: $MODE)"
sql -c "CREATE EXTENSION inventory_sync" -c "CREATE SCHEMA bench" -c "CREATE SEQUENCE bench.eid"
topo_build "$ITEMS" "$LOCATIONS" "$CHANNELS"
sql -c "CREATE UNIQUE INDEX ON bench.items (idx)" -c "CREATE UNIQUE INDEX ON bench.locations (idx)" -c "ANALYZE"

# (an empty value must not be written: libpq would read the next keyword as the value)
CONNINFO="dbname=$DB host=${PGHOST:-localhost} port=${PGPORT:-5432} user=${PGUSER:-postgres}${PGPASSWORD:+ password=$PGPASSWORD}"
if [ "$MODE" != none ]; then
  sql <<SQL
CREATE EXTENSION pg_walinspect;
SELECT inventory_sync.create_publication();
SELECT 'slot' FROM pg_create_logical_replication_slot('$SUBSLOT', 'pgoutput');
SQL
  psql -X -q -d postgres -c "CREATE DATABASE $SUB" >/dev/null
  subsql -c "CREATE EXTENSION inventory_sync"
  # the slot is made on the master first: a subscription creating its own slot in the
  # same cluster would wait for its own transaction
  subsql -c "CREATE SUBSCRIPTION latency CONNECTION '$CONNINFO' PUBLICATION inventory_sync
             WITH (create_slot = false, slot_name = '$SUBSLOT')"
  # the initial copy of the master data must be over before anything is measured
  for _ in $(seq 1 600); do
    [ "$(subsql -c "SELECT count(*) FILTER (WHERE srsubstate <> 'r') = 0 AND count(*) > 0 FROM pg_subscription_rel")" = t ] && break
    sleep 0.2
  done
  [ "$(subsql -c "SELECT count(*) FILTER (WHERE srsubstate <> 'r') FROM pg_subscription_rel")" = 0 ] \
    || die "the subscriber's initial copy did not finish in 120 s"
fi

# pgbench scripts: receipts into the sellable bucket at random (item, location) keys, event
# ids from a sequence.
cat > "$WORK/x1.sql" <<EOF
\\set i random(0, $((ITEMS - 1)))
\\set j random(0, $((LOCATIONS - 1)))
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
SELECT 'receipt', 'bench_wms', 'lat-' || nextval('bench.eid'), it.gtin::inventory_sync.gtin,
       lo.gln::inventory_sync.gln, 'released', 1
  FROM bench.items it, bench.locations lo WHERE it.idx = :i AND lo.idx = :j;
EOF
cat > "$WORK/x100.sql" <<EOF
\\set i random(0, $((ITEMS - 1)))
\\set j random(0, $((LOCATIONS - 1)))
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
SELECT 'receipt', 'bench_wms', 'lat-' || nextval('bench.eid'), it.gtin::inventory_sync.gtin,
       lo.gln::inventory_sync.gln, 'released', 1
  FROM generate_series(1, 100) g
  JOIN bench.items it ON it.idx = (:i + 7 * g) % $ITEMS
  JOIN bench.locations lo ON lo.idx = (:j + g) % $LOCATIONS;
EOF

drop_slot() {   # slot: once its walsender has let go of it
  for _ in $(seq 1 100); do
    [ "$(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$1' AND active")" = 0 ] && break
    sleep 0.1
  done
  sql -c "SELECT pg_drop_replication_slot('$1')" >/dev/null
}

wait_subscriber() {   # lsn: until the subscriber has confirmed everything up to it
  local lsn=$1
  for _ in $(seq 1 600); do
    [ "$(sql -c "SELECT coalesce(confirmed_flush_lsn >= '$lsn', false) FROM pg_replication_slots WHERE slot_name = '$SUBSLOT'")" = t ] && return 0
    sleep 0.2
  done
  die "the subscriber did not catch up with $lsn in 120 s"
}

sample_lag() {   # file slots...: one "slot lag_bytes delay_ms" line per slot a second until killed
  local file=$1 list
  shift
  list=$(printf "'%s'," "$@")
  while sleep 1; do
    psql -X -At -F ' ' -d "$DB" -c "SELECT slot_name, lag_bytes, coalesce(round(extract(epoch FROM delay) * 1000, 1), -1)
                                     FROM inventory_sync.kpi_feed_delay WHERE slot_name IN (${list%,})" >> "$file" 2>/dev/null || true
  done
}

# One run, with the consumer (WITH_CONSUMER=1) and/or the subscriber (WITH_SUBSCRIBER=1)
# following: shape, rate (postings/s), seconds, label, extra PGOPTIONS, batch-events.
# Appends one JSON object with every figure to $WORK/runs.jsonl.
RUN=0
# Writes WARM_WAL_MB of WAL (a logical message and a segment switch per segment) and
# checkpoints, which renames those segments into the names the runs will write next.
warm_wal() {
  local segments
  segments=$(( WARM_WAL_MB / 16 ))
  [ "$segments" -gt 0 ] || return 0
  log "WAL: $segments segments written and recycled before the runs"
  psql -X -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
DO \$\$
BEGIN
  FOR i IN 1..$segments LOOP
    PERFORM pg_logical_emit_message(false, 'inventory_sync_bench', 'warm');
    PERFORM pg_switch_wal();
  END LOOP;
END
\$\$;
CHECKPOINT;
SQL
}

measure() {
  local shape=$1 rate=$2 seconds=$3 label=$4 pgopts=${5:-} batch=${6:-$BATCH}
  local slot="${DB}_c$RUN" tps out=$WORK/pgbench.out before expected lsn l0 l1 consumer='' slots=()
  RUN=$((RUN + 1))
  rm -f "$WORK/ready" "$WORK/stop" "$WORK/run.json" "$WORK/lag" "$WORK/sub.txt" "$WORK"/pgb.*
  echo '{}' > "$WORK/run.json"
  before=$(sql -c "SELECT coalesce(max(posting_id), 0) FROM inventory_sync.ledger")
  if [ "$WITH_CONSUMER" = 1 ]; then
    "$PY" "$HERE/latency_consumer.py" --dsn "$CONNINFO" --slot "$slot" --ready "$WORK/ready" --stop "$WORK/stop" \
          --out "$WORK/run.json" --batch-events "$batch" \
          ${TRACE_DIR:+--trace "$TRACE_DIR/run$RUN-x$shape-$rate.txt"} 2> "$WORK/consumer.err" &
    consumer=$!
    for _ in $(seq 1 100); do [ -f "$WORK/ready" ] && break; sleep 0.1; done
    [ -f "$WORK/ready" ] || { cat "$WORK/consumer.err"; die "the consumer did not start"; }
    slots+=("$slot")
  fi
  if [ "$WITH_SUBSCRIBER" = 1 ]; then
    # the run's WAL stays until its commit records are read back
    sql -c "SELECT 'hold' FROM pg_create_physical_replication_slot('$HOLDSLOT', true)" >/dev/null
    l0=$(sql -c "SELECT pg_current_wal_lsn()")
    slots+=("$SUBSLOT")
  fi
  sample_lag "$WORK/lag" "${slots[@]}" &
  SAMPLER=$!
  [ "$WARM_WAL_MB" -gt 0 ] && psql -X -q -d postgres -c CHECKPOINT >/dev/null
  sql -F ' ' -c "SELECT wal_sync, wal_sync_time, wal_bytes FROM pg_stat_wal" > "$WORK/wal0"
  tps=$(awk -v r="$rate" -v s="$shape" 'BEGIN { printf "%.2f", r / s }')
  PGOPTIONS="-c track_wal_io_timing=on $pgopts" pgbench -n -M prepared -f "$WORK/x$shape.sql" -c "$CLIENTS" -j 2 \
      -R "$tps" -T "$seconds" -l --log-prefix="$WORK/pgb" "$DB" > "$out" 2>&1 || { cat "$out"; die "pgbench"; }
  [ -z "$TRACE_DIR" ] || cat "$WORK"/pgb.* > "$TRACE_DIR/run$RUN-x$shape-$rate.pgbench"
  grep -q 'aborted' "$out" && { cat "$out"; die "pgbench: clients aborted"; }
  sql -F ' ' -c "SELECT wal_sync, wal_sync_time, wal_bytes FROM pg_stat_wal" > "$WORK/wal1"
  expected=$(sql -c "SELECT count(*) FROM inventory_sync.balance_change WHERE posting_id > $before")
  lsn=$(sql -c "SELECT pg_current_wal_lsn()")
  if [ -n "$consumer" ]; then
    echo "$expected" > "$WORK/stop"
    wait "$consumer" || { cat "$WORK/consumer.err"; die "the consumer failed"; }
    drop_slot "$slot"
  fi
  kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
  if [ "$WITH_SUBSCRIBER" = 1 ]; then
    wait_subscriber "$lsn"
    l1=$(sql -c "SELECT pg_current_wal_flush_lsn()")
    # per applied transaction: its local commit time and its origin's (the master's)
    sql -c "SELECT extract(epoch FROM (split_part(description, ';', 1)::timestamptz
                      - substring(description FROM '; origin: node [0-9]+, lsn [0-9A-F/]+, at ([^;]+)')::timestamptz)) * 1000
              FROM pg_get_wal_records_info('$l0', '$l1')
             WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT'
               AND description LIKE '%; origin: node %'" > "$WORK/sub.txt"
    sql -c "SELECT pg_drop_replication_slot('$HOLDSLOT')" >/dev/null
  fi
  "$PY" - "$WORK" "$label" "$shape" "$rate" "$expected" "$WITH_CONSUMER" "$WITH_SUBSCRIBER" "$batch" "$pgopts" "$slot" "$SUBSLOT" \
      >> "$WORK/runs.jsonl" <<'PY'
import glob, json, sys
work, label, shape, rate, n, with_c, with_s, batch, pgopts, cslot, sslot = sys.argv[1:12]

def pct(v):
    v = sorted(v)
    if not v:
        return None
    at = lambda p: round(v[min(len(v) - 1, int(p * len(v)))], 3)
    return {"n": len(v), "p50": at(.5), "p95": at(.95), "p99": at(.99), "max": round(v[-1], 3)}

out = open(work + "/pgbench.out").read()
tps = float(out.split("\ntps = ")[1].split()[0])
txn = []                       # pgbench log: client txn time(us) script epoch us schedule_lag(us)
for f in glob.glob(work + "/pgb.*"):
    for line in open(f):
        p = line.split()
        if len(p) >= 7:
            txn.append((int(p[2]) - int(p[6])) / 1000.0)
w0 = open(work + "/wal0").read().split()
w1 = open(work + "/wal1").read().split()
syncs = int(w1[0]) - int(w0[0])
# the lag a follower may gain and still have kept up: a second of the run's WAL (a native
# subscriber confirms only what its own WAL writer has flushed), at least 64 kB
slack = max(65536, int((float(w1[2]) - float(w0[2])) / float(out.split("duration: ")[1].split()[0])))
lag = {}
for line in open(work + "/lag"):
    p = line.split()
    if len(p) == 3:
        lag.setdefault(p[0], []).append((int(p[1]), float(p[2])))

def kept(slot):
    a = [b for b, _ in lag.get(slot, [])]
    k = len(a) // 3
    if not k:
        return None
    med = lambda v: sorted(v)[(len(v) - 1) // 2]
    first, last = med(a[:k]), med(a[-k:])
    return {"kept": last <= first + slack, "first": first, "last": last, "slack": slack}

r = {"label": label, "shape": int(shape), "rate": int(rate), "achieved": round(tps * int(shape)),
     "events": int(n), "batch": int(batch), "pgopts": pgopts, "txn_ms": pct(txn),
     "load": float(open("/proc/loadavg").read().split()[0]),
     "wal_sync_ms": round((float(w1[1]) - float(w0[1])) / syncs, 3) if syncs > 0 else None}
if with_c == "1":
    c = json.load(open(work + "/run.json"))
    r["consumer"] = c
    d = sorted(x for _, x in lag.get(cslot, []) if x >= 0)
    r["kpi_delay_ms"] = {"median": d[len(d) // 2], "max": d[-1]} if d else None
    r["consumer_kept"] = kept(cslot)
if with_s == "1":
    r["subscriber"] = pct([float(l) for l in open(work + "/sub.txt") if l.strip()])
    d = sorted(x for _, x in lag.get(sslot, []) if x >= 0)
    r["sub_kpi_delay_ms"] = {"median": d[len(d) // 2], "max": d[-1]} if d else None
    r["subscriber_kept"] = kept(sslot)
print(json.dumps(r))
PY
  log "$(tail -1 "$WORK/runs.jsonl" | "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read()); c=r.get("consumer",{}).get("received_ms") or {}; s=r.get("subscriber") or {};
print("%s x%d at %d/s: achieved %d/s, consumer p99 %s ms, subscriber p99 %s ms" % (r["label"], r["shape"], r["rate"], r["achieved"], c.get("p99", "-"), s.get("p99", "-")))')"
}

# ---------------------------------------------------------------------------
# The sweep: every shape at every rate, the subscriber's pass and the consumer's.
# ---------------------------------------------------------------------------
TOP=$(printf '%s\n' $RATES | sort -n | tail -1)
warm_wal
log "sweep: shapes $SHAPES, rates $RATES postings/s, ${RUN_SECONDS}s each, $CLIENTS clients, subscriber $MODE"
: > "$WORK/runs.jsonl"
if [ "$MODE" = separate ]; then
  WITH_CONSUMER=0 WITH_SUBSCRIBER=1
  for shape in $SHAPES; do
    for rate in $RATES; do measure "$shape" "$rate" "$RUN_SECONDS" "subscriber"; done
  done
  # the consumer's passes run without it: nothing applies the stream but the consumer
  drop_subscription
  drop_slot "$SUBSLOT"
fi
WITH_CONSUMER=1 WITH_SUBSCRIBER=$([ "$MODE" = beside ] && echo 1 || echo 0)
for shape in $SHAPES; do
  for rate in $RATES; do measure "$shape" "$rate" "$RUN_SECONDS" "consumer"; done
done

# ---------------------------------------------------------------------------
# The hold at the highest rate, then what settings cost at that rate.
# ---------------------------------------------------------------------------
if [ "$KEEPUP_SECONDS" -gt 0 ]; then
  log "hold: $TOP postings/s for ${KEEPUP_SECONDS}s, then the variants"
  measure 1 "$TOP" "$KEEPUP_SECONDS" "held"
  measure 1 "$TOP" "$RUN_SECONDS" "synchronous_commit=off" "-c synchronous_commit=off"
  WALWRITER_SET=1
  psql -X -q -d postgres -c "ALTER SYSTEM SET wal_writer_delay = '10ms'" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 1
  measure 1 "$TOP" "$RUN_SECONDS" "synchronous_commit=off, wal_writer_delay=10ms" "-c synchronous_commit=off"
  psql -X -q -d postgres -c "ALTER SYSTEM RESET wal_writer_delay" -c "SELECT pg_reload_conf()" >/dev/null
  WALWRITER_SET=0
  if printf '%s\n' $SHAPES | grep -qx 100; then
    measure 100 "$TOP" "$RUN_SECONDS" "batch-events=1" "" 1
    measure 100 "$TOP" "$RUN_SECONDS" "batch-events=1000" "" 1000
  fi
fi

# ---------------------------------------------------------------------------
# Decoding one transaction: posted first, then decoded through the SQL functions.
# ---------------------------------------------------------------------------
if [ "$DECODE_TXNS" -gt 0 ]; then
  : > "$WORK/decode.txt"
  for shape in $SHAPES; do
    n=$(( shape == 1 ? DECODE_TXNS : (DECODE_TXNS + 9) / 10 ))
    sql -c "SELECT 'slot' FROM pg_create_logical_replication_slot('${DB}_decode', 'inventory_sync')" >/dev/null
    pgbench -n -M prepared -f "$WORK/x$shape.sql" -c 1 -t "$n" "$DB" > "$WORK/pgbench.out" 2>&1 || { cat "$WORK/pgbench.out"; die "pgbench"; }
    ms=$(sql <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
\\timing on
SELECT count(*) FROM pg_logical_slot_get_changes('${DB}_decode', NULL, NULL, 'events', 'posting',
                                                 'envelopes', 'on', 'batch-events', '64');
SQL
)
    sql -c "SELECT pg_drop_replication_slot('${DB}_decode')" >/dev/null
    echo "$shape $n $ms" >> "$WORK/decode.txt"
  done
fi

# ---------------------------------------------------------------------------
# The report.
# ---------------------------------------------------------------------------
"$PY" - "$WORK/runs.jsonl" "$WORK/decode.txt" "$TOP" <<'PY'
import json, os, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
top = int(sys.argv[3])
f = lambda v, k="p99": "-" if not v else ("%.2f" % v[k] if v[k] < 100 else "%.0f" % v[k])
four = lambda v: "-" if not v else " / ".join(f(v, k) for k in ("p50", "p95", "p99", "max"))
two = lambda v: "-" if not v else "%s / %s" % (f(v, "p50"), f(v, "p99"))
kept = lambda k: "-" if not k else ("yes" if k["kept"] else "NO") + " (lag %d -> %d B)" % (k["first"], k["last"])
kpi = lambda d: "-" if not d else "%.1f / %.1f" % (d["median"], d["max"])

def row(c, s):
    base = c or s
    cc = (c or {}).get("consumer", {})
    return "| %s | x%d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        base["label"], base["shape"], base["rate"],
        " / ".join(str(r["achieved"]) if r else "-" for r in (c, s)),
        two(c["txn_ms"]) if c else "-", two(cc.get("sent_ms")), four(cc.get("received_ms")),
        f(cc.get("applied_ms")), kpi((c or {}).get("kpi_delay_ms")), kept((c or {}).get("consumer_kept")),
        four((s or {}).get("subscriber")), kpi((s or {}).get("sub_kpi_delay_ms")), kept((s or {}).get("subscriber_kept")),
        "-" if not c or c["wal_sync_ms"] is None else "%.2f" % c["wal_sync_ms"],
        "%d/%d" % (cc["messages"], cc["lines"]) if cc.get("messages") else "-",
        " / ".join("%.1f" % r["load"] if r else "-" for r in (c, s)))

print()
print("| run | stmt | asked/s | achieved/s (consumer / subscriber pass) | txn ms p50 / p99 | commit->sent ms p50 / p99 | commit->received ms p50 / p95 / p99 / max | applied p99 | kpi_feed_delay ms median / max | kept up | subscriber commit->visible ms p50 / p95 / p99 / max | subscriber kpi_feed_delay ms median / max | subscriber kept up | WAL flush ms (mean) | messages/lines | load (1 min, consumer / subscriber pass) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
keys = []
for r in runs:
    if r["label"] in ("consumer", "subscriber") and (r["shape"], r["rate"]) not in keys:
        keys.append((r["shape"], r["rate"]))
for k in keys:
    c = next((r for r in runs if r["label"] == "consumer" and (r["shape"], r["rate"]) == k), None)
    s = next((r for r in runs if r["label"] == "subscriber" and (r["shape"], r["rate"]) == k), None)
    if c and s is None and c.get("subscriber"):
        s = dict(c, label="consumer")        # beside: the subscriber's figures of the same pass
    print(row(c, s))
for r in runs:
    if r["label"] not in ("consumer", "subscriber"):
        print(row(r, r if r.get("subscriber") else None))

print()
print("Stages of commit -> applied at %d postings/s (consumer's pass, per event, ms p50 / p99):" % top)
print()
print("| stmt | txn (commit flush included) | commit -> sent | sent -> received | received -> applied | commit -> applied |")
print("|---|---|---|---|---|---|")
for r in runs:
    if r["label"] == "consumer" and r["rate"] == top:
        c = r["consumer"]
        print("| x%d | %s | %s | %s | %s | %s |" % (r["shape"], two(r["txn_ms"]), two(c["sent_ms"]),
              two(c["sent_to_received_ms"]), two(c["received_to_applied_ms"]), two(c["applied_ms"])))
if os.path.getsize(sys.argv[2]) if os.path.exists(sys.argv[2]) else 0:
    print()
    print("| decoding (pg_logical_slot_get_changes, batch-events 64) | transactions | ms per transaction | us per posting |")
    print("|---|---|---|---|")
    for line in open(sys.argv[2]):
        shape, n, ms = line.split()
        print("| x%s | %s | %.3f | %.1f |" % (shape, n, float(ms) / int(n), float(ms) * 1000 / int(n) / int(shape)))
print()
for r in runs:
    if r["label"] == "consumer":
        bound = 5 if r["rate"] == 2000 else 20 if r["rate"] == top else 1
        p99 = r["consumer"]["received_ms"]["p99"]
        print("RESULT|latency_p99_ms_%d_x%d|%.1f|%.1f|%.2f|%s" % (r["rate"], r["shape"], p99, bound, p99 / bound,
              "<=1" if bound > 1 else "n/a"))
for r in runs:
    sub = r.get("subscriber")
    if r["label"] in ("consumer", "subscriber") and sub:
        bound = 5 if r["rate"] == 2000 else 20 if r["rate"] == top else 1
        print("RESULT|latency_subscriber_p99_ms_%d_x%d|%.1f|%.1f|%.2f|n/a" % (r["rate"], r["shape"], sub["p99"], bound, sub["p99"] / bound))
for r in runs:
    if r["label"] == "held" and r.get("consumer_kept"):
        k = r["consumer_kept"]
        print("RESULT|latency_keepup_lag_growth_%d|%.1f|%.1f|%.2f|<=1" % (r["rate"], k["last"] + 1, k["first"] + k["slack"] + 1,
              (k["last"] + 1) / (k["first"] + k["slack"] + 1)))
PY
