#!/usr/bin/env bash
# bench/broker.sh: order brokering against single-line promises on the same channel.
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER, as pg_virtualenv sets them;
# needs a superuser and the extension installed), in a scratch database it creates and
# drops. The omnichannel topology of bench/lib.sh with BENCH_BROKER_LOCATIONS locations
# (a DC and stores; web sells from all of them, mkt from the DC), BENCH_BROKER_ITEMS
# items, every location given coordinates spread over about 1,000 km, and web given two
# brokering rules: (1) stores within 300 km of the customer, (2) anywhere, a line split
# over up to 3 shipments.
#
#   broker_3_lines_vs_reserve_1_line_16   BENCH_BROKER_CLIENTS clients each brokering
#                            orders of 3 lines (3 different items, 1 unit each, a random
#                            ship-to point) with broker(), vs the same clients each
#                            reserving 1 unit of one item anywhere in web with reserve(),
#                            in BENCH_BROKER_REPEATS pairs of runs (the order inside a pair
#                            alternating); orders per second over lines per second, the
#                            median of the pairs' ratios (target >= 0.3).
#
# After the runs verify() and verify_promises() must hold and every brokered order must
# hold 3 lines.
#
# Output: progress lines and, for the collector,
#   RESULT|<benchmark>|<ours>|<baseline>|<ratio>|<target>
#
# Knobs (environment): BENCH_DURATION (s per pgbench run, 10), BENCH_BROKER_REPEATS (3),
# BENCH_BROKER_CLIENTS (16), BENCH_THREADS (2), BENCH_BROKER_LOCATIONS (100),
# BENCH_BROKER_ITEMS (50), BENCH_DB (inventory_sync_bench_broker).
set -euo pipefail
BENCH_NAME=broker
source "$(dirname "$0")/lib.sh"

DURATION=${BENCH_DURATION:-10}
REPEATS=${BENCH_BROKER_REPEATS:-3}
CLIENTS=${BENCH_BROKER_CLIENTS:-16}
THREADS=${BENCH_THREADS:-2}
LOCATIONS=${BENCH_BROKER_LOCATIONS:-100}
ITEMS=${BENCH_BROKER_ITEMS:-50}
TOPO_STOCK=1000000
DB=${BENCH_DB:-inventory_sync_bench_broker}
WORK=$(mktemp -d /tmp/inventory_sync_bench_broker.XXXXXX)

cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
sql -c "CREATE EXTENSION inventory_sync" -c "CREATE SCHEMA bench"
log "topology: $ITEMS items at $LOCATIONS locations"
topo_build "$ITEMS" "$LOCATIONS" yes
sql <<SQL
SET search_path = inventory_sync, public;
-- coordinates on a grid of about 1,000 km by 1,000 km
UPDATE inventory_sync.location l SET latitude = 47 + (b.idx % 10) * 0.9, longitude = 5 + (b.idx / 10 % 10) * 1.3
  FROM bench.locations b WHERE l.gln = b.gln::inventory_sync.gln;
INSERT INTO inventory_sync.location_group VALUES ('stores', 'Stores');
INSERT INTO inventory_sync.location_group_member
  SELECT 'stores', gln::inventory_sync.gln FROM bench.locations WHERE idx > 0;
INSERT INTO inventory_sync.broker_rule (channel, rule_no, location_group, max_distance_km) VALUES ('web', 1, 'stores', 300);
INSERT INTO inventory_sync.broker_rule (channel, rule_no, allow_split, max_shipments) VALUES ('web', 2, true, 3);
VACUUM ANALYZE;
SQL

cat > "$WORK/broker.sql" <<EOF2
\set i random(0, $ITEMS - 3)
\set r random(1, 1000000000000)
\set lat random(470, 560)
\set lon random(50, 180)
SELECT count(*) FROM inventory_sync.broker('web', 'o-' || :client_id || '-' || :r,
  jsonb_build_array(jsonb_build_object('line_ref', '1', 'item', (SELECT gtin FROM bench.items WHERE idx = :i), 'quantity', 1),
                    jsonb_build_object('line_ref', '2', 'item', (SELECT gtin FROM bench.items WHERE idx = :i + 1), 'quantity', 1),
                    jsonb_build_object('line_ref', '3', 'item', (SELECT gtin FROM bench.items WHERE idx = :i + 2), 'quantity', 1)),
  :lat / 10.0, :lon / 10.0);
EOF2
cat > "$WORK/reserve.sql" <<EOF2
\set i random(0, $ITEMS - 1)
\set r random(1, 1000000000000)
SELECT reservation_id FROM inventory_sync.reserve('web', 'r-' || :client_id || '-' || :r, '1',
  (SELECT gtin FROM bench.items WHERE idx = :i)::inventory_sync.gtin, 1);
EOF2

run() {   # variant -> tps
  local out=$WORK/$1.out
  pgbench -n -M prepared -f "$WORK/$1.sql" -c "$CLIENTS" -j "$THREADS" -T "$DURATION" "$DB" > "$out" 2>&1 \
    || { cat "$out"; die "pgbench $1"; }
  grep -q 'aborted' "$out" && { cat "$out"; die "pgbench $1: clients aborted"; }
  sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -1
}

ratios=""
best_b=0; best_r=0
for n in $(seq 1 "$REPEATS"); do
  if [ $((n % 2)) -eq 1 ]; then b=$(run broker); r=$(run reserve); else r=$(run reserve); b=$(run broker); fi
  log "pair $n: broker $b orders/s, reserve $r lines/s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  ratios="$ratios $(ratio "$b" "$r")"
  best_b=$(awk -v a="$best_b" -v b="$b" 'BEGIN { print (b > a) ? b : a }')
  best_r=$(awk -v a="$best_r" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
done

problems=$(sql -c "SELECT (SELECT count(*) FROM inventory_sync.verify()) + (SELECT count(*) FROM inventory_sync.verify_promises())
                   + (SELECT count(*) FROM (SELECT 1 FROM inventory_sync.broker_allocation GROUP BY channel, order_ref
                                             HAVING count(DISTINCT line_ref) <> 3) x)")
[ "$problems" = 0 ] || die "$problems problems after the runs (verify, verify_promises, orders without 3 lines)"
log "best: broker $best_b orders/s, reserve $best_r lines/s"
result_paired broker_3_lines_vs_reserve_1_line_$CLIENTS 0.3 "$ratios" "orders/s over lines/s"
