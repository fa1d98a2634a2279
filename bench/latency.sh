#!/usr/bin/env bash
# bench/latency.sh: sync latency end to end, from a fact's COMMIT to the systems that follow
# the feed (the target: p99 commit -> consumer received under 5 ms at 2,000 postings/s and
# under 20 ms at the highest rate the machine sustains, one-row and 100-row statements; the
# consumer keeps up, its lag does not grow).
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER/PGPASSWORD, as pg_virtualenv sets
# them; a superuser, wal_level=logical, inventory_sync in output_plugin_libraries, three free
# replication slots and walsenders), in two scratch databases it creates and drops: the
# master and a native subscriber's copy.
#
# For each statement shape (one posting per statement and transaction; 100 postings per
# statement) and each rate, pgbench posts receipts at that fixed rate (-R, CLIENTS clients)
# for BENCH_LATENCY_SECONDS while two systems follow:
#   consumer    bench/latency_consumer.py: the example consumer's copy over the replication
#               protocol (psycopg2), with the plugin's default batching (64 lines per message),
#               confirming twice a second. Per posting event: commit -> received (the message
#               read from the connection) and commit -> applied (in the local copy), on this
#               machine's clock against the commit time the event carries.
#   subscriber  CREATE SUBSCRIPTION to the publication from a second database; an ALWAYS
#               trigger on its copy of balance notes clock_timestamp() - updated_at as each
#               row is applied: commit -> row visible, measured from the transaction's start
#               (updated_at is now() on the master), so an upper bound by the statement's own
#               duration.
# Every second the consumer's row of kpi_feed_delay is sampled (lag_bytes, and delay: the
# server's own measure of commit -> confirmed, reported beside the consumer's p99); "kept up" means the last
# third of the run's samples is no higher than the first third's (median, 64 kB slack).
# Then the highest rate is held for BENCH_LATENCY_KEEPUP_SECONDS (one-row statements) to see
# whether the lag grows over minutes, and two variants at that rate show what settings cost:
# synchronous_commit=off (the commit returns before its WAL is flushed; the walsender sees it
# when the WAL writer flushes, every wal_writer_delay) and batch-events=1.
#
# Output: a table per run and, for the collector,
#   RESULT|latency_p99_ms_<rate>_x<shape>|<p99 ms>|<bound ms>|<p99/bound>|<=1     p99 commit ->
#          consumer received against its bound: 5 ms at 2,000 postings/s, 20 ms at the highest
#          rate; at other rates the bound is 1 ms and the target n/a (the p99 in ms, reported)
#   RESULT|latency_keepup_lag_growth_<rate>|<last third>|<first third>|<ratio>|<=1   (slot lag)
#
# Knobs: BENCH_LATENCY_RATES (postings/s, "500 2000 5000"), BENCH_LATENCY_SHAPES ("1 100"),
# BENCH_LATENCY_SECONDS (30), BENCH_LATENCY_KEEPUP_SECONDS (300; 0 skips the hold and the
# variants), BENCH_LATENCY_CLIENTS (4), BENCH_LATENCY_SUBSCRIBER (1; 0 runs without the
# native subscriber, to see what its apply work costs the consumer on a small machine),
# BENCH_DB (inventory_sync_bench_latency).
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
SUBSCRIBER=${BENCH_LATENCY_SUBSCRIBER:-1}
ITEMS=1000
LOCATIONS=20
PY=/usr/bin/python3
SUBSLOT=${DB}_subscriber
WORK=$(mktemp -d /tmp/inventory_sync_bench.XXXXXX)
chmod 777 "$WORK"
SAMPLER=

subsql() { psql -X -v ON_ERROR_STOP=1 -q -At -d "$SUB" "$@"; }

cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
  pkill -f "latency_consumer.py .*--slot ${DB}_" 2>/dev/null || true
  psql -X -q -d "$SUB" -c "ALTER SUBSCRIPTION latency DISABLE" >/dev/null 2>&1 || true
  psql -X -q -d "$SUB" -c "ALTER SUBSCRIPTION latency SET (slot_name = NONE)" >/dev/null 2>&1 || true
  psql -X -q -d "$SUB" -c "DROP SUBSCRIPTION latency" >/dev/null 2>&1 || true
  sleep 1
  psql -X -q -At -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                                  WHERE slot_name LIKE '${DB}_%' AND NOT active" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $SUB" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# Setup: master data on the master, the publication, the subscriber's copy with its clock.
# ---------------------------------------------------------------------------
log "cluster: $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1) on ${PGHOST:-local}:${PGPORT:-5432}"
log "settings: synchronous_commit=$(psql -X -At -d postgres -c 'SHOW synchronous_commit'), wal_writer_delay=$(psql -X -At -d postgres -c 'SHOW wal_writer_delay'), fsync=$(psql -X -At -d postgres -c 'SHOW fsync')"
for d in "$SUB" "$DB"; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null; done
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $SUB" >/dev/null

log "setup: $ITEMS items x $LOCATIONS locations, publication, subscriber"
sql <<SQL
CREATE EXTENSION inventory_sync;
CREATE SCHEMA bench;
CREATE SEQUENCE bench.eid;
CREATE TABLE bench.items AS
  SELECT i AS idx, inventory_sync.gtin_complete(lpad((950600100000 + i)::text, 13, '0')) AS gtin
    FROM generate_series(0, $ITEMS - 1) i;
CREATE TABLE bench.locations AS
  SELECT j AS idx, inventory_sync.gln_complete((950600200000 + j)::text) AS gln
    FROM generate_series(0, $LOCATIONS - 1) j;
CREATE UNIQUE INDEX ON bench.items (idx);
CREATE UNIQUE INDEX ON bench.locations (idx);
INSERT INTO inventory_sync.source (source, name, kind, role) VALUES ('bench_wms', 'Benchmark WMS', 'wms', current_user);
INSERT INTO inventory_sync.item (gtin, name) SELECT gtin, 'Bench item ' || idx FROM bench.items;
INSERT INTO inventory_sync.location (gln, name, kind) SELECT gln, 'Bench store ' || idx, 'store' FROM bench.locations;
INSERT INTO inventory_sync.ownership (location, bucket, source) SELECT gln, NULL, 'bench_wms' FROM bench.locations;
SELECT inventory_sync.create_publication();
SELECT 'slot' FROM pg_create_logical_replication_slot('$SUBSLOT', 'pgoutput');
SQL

# (an empty value must not be written: libpq would read the next keyword as the value)
CONNINFO="dbname=$DB host=${PGHOST:-localhost} port=${PGPORT:-5432} user=${PGUSER:-postgres}${PGPASSWORD:+ password=$PGPASSWORD}"
subsql <<SQL
CREATE EXTENSION inventory_sync;
CREATE SCHEMA lat;
CREATE TABLE lat.seen (ms float8 NOT NULL);
CREATE FUNCTION lat.note() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS \$\$
BEGIN
    INSERT INTO lat.seen VALUES (extract(epoch FROM clock_timestamp() - NEW.updated_at) * 1000);
    RETURN NULL;
END \$\$;
CREATE TRIGGER lat_note AFTER INSERT OR UPDATE ON inventory_sync.balance
    FOR EACH ROW EXECUTE FUNCTION lat.note();
ALTER TABLE inventory_sync.balance ENABLE ALWAYS TRIGGER lat_note;
SQL
if [ "$SUBSCRIBER" = 1 ]; then
  subsql -c "CREATE SUBSCRIPTION latency CONNECTION '$CONNINFO' PUBLICATION inventory_sync
             WITH (create_slot = false, slot_name = '$SUBSLOT')"
  # the initial copy of the master data must be over before anything is measured
  for _ in $(seq 1 600); do
    [ "$(subsql -c "SELECT count(*) FILTER (WHERE srsubstate <> 'r') = 0 AND count(*) > 0 FROM pg_subscription_rel")" = t ] && break
    sleep 0.2
  done
  [ "$(subsql -c "SELECT count(*) FILTER (WHERE srsubstate <> 'r') FROM pg_subscription_rel")" = 0 ] \
    || die "the subscriber's initial copy did not finish in 120 s"
else
  sql -c "SELECT pg_drop_replication_slot('$SUBSLOT')" >/dev/null
fi

# pgbench scripts: receipts at random (item, location) keys, event ids from a sequence.
cat > "$WORK/x1.sql" <<'EOF'
\set i random(0, 999)
\set j random(0, 19)
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
SELECT 'receipt', 'bench_wms', 'lat-' || nextval('bench.eid'), it.gtin, lo.gln, 'receiving', 1
  FROM bench.items it, bench.locations lo WHERE it.idx = :i AND lo.idx = :j;
EOF
cat > "$WORK/x100.sql" <<'EOF'
\set i random(0, 999)
\set j random(0, 19)
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
SELECT 'receipt', 'bench_wms', 'lat-' || nextval('bench.eid'), it.gtin, lo.gln, 'receiving', 1
  FROM generate_series(1, 100) g
  JOIN bench.items it ON it.idx = (:i + 7 * g) % 1000
  JOIN bench.locations lo ON lo.idx = (:j + g) % 20;
EOF

wait_subscriber() {   # lsn: until the subscriber has confirmed everything up to it
  local lsn=$1 t
  for t in $(seq 1 600); do
    [ "$(sql -c "SELECT coalesce(confirmed_flush_lsn >= '$lsn', false) FROM pg_replication_slots WHERE slot_name = '$SUBSLOT'")" = t ] && return 0
    sleep 0.2
  done
  die "the subscriber did not catch up with $lsn in 120 s"
}

sample_lag() {   # slot file: one "lag_bytes delay_ms" sample a second (kpi_feed_delay) until killed
  while sleep 1; do
    psql -X -At -F ' ' -d "$DB" -c "SELECT lag_bytes, coalesce(round(extract(epoch FROM delay) * 1000, 1), -1)
                                     FROM inventory_sync.kpi_feed_delay WHERE slot_name = '$1'" >> "$2" 2>/dev/null || true
  done
}

# lag_thirds file: "last_third first_third", the medians of the lag samples' first and last thirds
lag_thirds() {
  "$PY" - "$1" <<'PY'
import sys
a = [int(l.split()[0]) for l in open(sys.argv[1]) if l.split()]
n = len(a) // 3
med = lambda v: sorted(v)[(len(v) - 1) // 2]
print("%d %d" % ((med(a[-n:]), med(a[:n])) if n else (0, 0)))
PY
}

RUN=0
# One run: shape, rate (postings/s), seconds, label, extra PGOPTIONS, batch-events.
# Prints a table row and leaves the consumer's figures in $WORK/run.json.
measure() {
  local shape=$1 rate=$2 seconds=$3 label=$4 pgopts=${5:-} batch=${6:-64}
  local slot="${DB}_c$RUN" tps out=$WORK/pgbench.out before expected lsn achieved thirds txn_ms
  RUN=$((RUN + 1))
  rm -f "$WORK/ready" "$WORK/stop" "$WORK/run.json" "$WORK/lag"
  subsql -c "TRUNCATE lat.seen"
  before=$(sql -c "SELECT coalesce(max(posting_id), 0) FROM inventory_sync.ledger")
  "$PY" "$HERE/latency_consumer.py" --dsn "$CONNINFO" --slot "$slot" --ready "$WORK/ready" --stop "$WORK/stop" \
        --out "$WORK/run.json" --batch-events "$batch" 2> "$WORK/consumer.err" &
  local consumer=$!
  for _ in $(seq 1 100); do [ -f "$WORK/ready" ] && break; sleep 0.1; done
  [ -f "$WORK/ready" ] || { cat "$WORK/consumer.err"; die "the consumer did not start"; }
  sample_lag "$slot" "$WORK/lag" &
  SAMPLER=$!
  tps=$(awk -v r="$rate" -v s="$shape" 'BEGIN { printf "%.2f", r / s }')
  PGOPTIONS="$pgopts" pgbench -n -M prepared -f "$WORK/x$shape.sql" -c "$CLIENTS" -j 2 \
      -R "$tps" -T "$seconds" "$DB" > "$out" 2>&1 || { cat "$out"; die "pgbench"; }
  grep -q 'aborted' "$out" && { cat "$out"; die "pgbench: clients aborted"; }
  achieved=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$out")
  achieved=$(awk -v t="$achieved" -v s="$shape" 'BEGIN { printf "%d", t * s }')
  # the transaction's own time as its client saw it, commit flush included (with -R the
  # latency pgbench reports counts from the scheduled start: the schedule lag comes off)
  txn_ms=$(awk '/^latency average/ { l = $4 } /^rate limit schedule lag/ { g = $6 }
                END { printf "%.2f", l - g }' "$out")
  expected=$(sql -c "SELECT count(*) FROM inventory_sync.balance_change WHERE posting_id > $before")
  lsn=$(sql -c "SELECT pg_current_wal_lsn()")
  echo "$expected" > "$WORK/stop"
  wait "$consumer" || { cat "$WORK/consumer.err"; die "the consumer failed"; }
  kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
  [ "$SUBSCRIBER" = 1 ] && wait_subscriber "$lsn"
  sql -c "SELECT pg_drop_replication_slot('$slot')" >/dev/null
  thirds=$(lag_thirds "$WORK/lag")
  local sub
  sub=$([ "$SUBSCRIBER" = 1 ] && subsql -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) || ' ' ||
                          round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2) || ' ' ||
                          round(max(ms)::numeric, 2) FROM lat.seen" || true)
  "$PY" - "$WORK/run.json" "$label" "$shape" "$rate" "$achieved" "$expected" "$sub" "$thirds" "$WORK/lag" "$txn_ms" <<'PY'
import json, sys
f, label, shape, rate, achieved, n, sub, thirds, lagfile, txn = sys.argv[1:11]
delays = sorted(float(l.split()[1]) for l in open(lagfile) if len(l.split()) == 2 and float(l.split()[1]) >= 0)
kpi = "%.1f / %.1f" % (delays[len(delays) // 2], delays[-1]) if delays else "-"
r = json.load(open(f))
rc, ap = r["received_ms"], r["applied_ms"]
last, first = (int(x) for x in thirds.split())
kept = "yes" if last <= first + 65536 else "NO"
s = sub.split() if sub else ["-", "-", "-"]
print("| %s | x%s | %s | %s | %s | %s | %.2f / %.2f / %.2f / %.1f | %.2f / %.2f / %.2f / %.1f | %s / %s / %s | %s | %s (lag %d -> %d B) |"
      % (label, shape, rate, achieved, n, txn, rc["p50"], rc["p95"], rc["p99"], rc["max"],
         ap["p50"], ap["p95"], ap["p99"], ap["max"], s[0], s[1], s[2], kpi, kept, first, last))
PY
}

header() {
  echo "| run | stmt | asked/s | achieved/s | events | txn ms | commit->received ms p50 / p95 / p99 / max | commit->applied ms p50 / p95 / p99 / max | subscriber ms p50 / p99 / max | kpi_feed_delay ms median / max | kept up |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
}

p99_of() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["received_ms"]["p99"])' "$WORK/run.json"; }

# ---------------------------------------------------------------------------
# The sweep: every shape at every rate.
# ---------------------------------------------------------------------------
TOP=$(printf '%s\n' $RATES | sort -n | tail -1)
log "sweep: shapes $SHAPES, rates $RATES postings/s, ${RUN_SECONDS}s each, $CLIENTS clients"
header
RESULTS=()
for shape in $SHAPES; do
  for rate in $RATES; do
    measure "$shape" "$rate" "$RUN_SECONDS" "rate"
    case $rate in
      2000) RESULTS+=("$(result "latency_p99_ms_${rate}_x$shape" "$(p99_of)" 5 "<=1")") ;;
      "$TOP") RESULTS+=("$(result "latency_p99_ms_${rate}_x$shape" "$(p99_of)" 20 "<=1")") ;;
      *) RESULTS+=("$(result "latency_p99_ms_${rate}_x$shape" "$(p99_of)" 1 "n/a")") ;;
    esac
  done
done

# ---------------------------------------------------------------------------
# The hold at the highest rate, then what two settings cost at that rate.
# ---------------------------------------------------------------------------
if [ "$KEEPUP_SECONDS" -gt 0 ]; then
  log "hold: $TOP postings/s for ${KEEPUP_SECONDS}s, then synchronous_commit=off and batch-events=1"
  header
  measure 1 "$TOP" "$KEEPUP_SECONDS" "hold"
  thirds=$(lag_thirds "$WORK/lag")
  RESULTS+=("$(result "latency_keepup_lag_growth_$TOP" "$(( ${thirds% *} + 1 ))" "$(( ${thirds#* } + 65537 ))" "<=1")")
  measure 1 "$TOP" "$RUN_SECONDS" "sync_commit=off" "-c synchronous_commit=off"
  measure 1 "$TOP" "$RUN_SECONDS" "batch-events=1" "" 1
fi

printf '%s\n' "${RESULTS[@]}"
