#!/usr/bin/env bash
# bench/trace.sh: lot genealogy on a generated graph of BENCH_TRACE_LOTS lots (100 000).
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER, as pg_virtualenv sets them;
# needs a superuser and the extension installed), in a scratch database it creates and
# drops. The graph has BENCH_TRACE_LAYERS layers (10) of lots: every lot above the first
# is produced by one production order that consumed two random lots of the layer below
# (so a lot is consumed by two orders on average, and paths meet again), all posted
# through the ledger as consumption and production postings. Then, for BENCH_TRACE_CALLS
# (20) random lots each way:
#
#   trace_forward   trace_forward() of a first-layer lot (every descendant, with its
#                   balances and shipments) vs a bare recursive CTE over an edge table
#                   (parent, child; indexed both ways) that only collects the lots
#   trace_back      trace_back() of a last-layer lot, against the same kind of CTE
#
# Output: the graph's size, ms per call of both, and for the collector
#   RESULT|<benchmark>|<ours ms>|<baseline ms>|<ratio>|<target>
# The target is a ratio (ours over the bare walk, which reads no ledger and reports no
# balances): at most 25.
#
#   flock /tmp/inventory_sync.lock bash -c 'make -s && make -s install &&
#     pg_virtualenv -t -v 15 bash bench/trace.sh'
set -euo pipefail
BENCH_NAME=trace
source "$(dirname "$0")/lib.sh"

DB=${BENCH_DB:-inventory_sync_bench_trace}
LOTS=${BENCH_TRACE_LOTS:-100000}
LAYERS=${BENCH_TRACE_LAYERS:-10}
CALLS=${BENCH_TRACE_CALLS:-20}
PER_LAYER=$((LOTS / LAYERS))

dropdb --if-exists "$DB" >/dev/null 2>&1 || true
createdb "$DB"
trap 'dropdb --if-exists "$DB" >/dev/null 2>&1 || true' EXIT
sql -c 'CREATE EXTENSION inventory_sync' -c 'SET search_path = inventory_sync'

log "graph: $LAYERS layers of $PER_LAYER lots"
sql <<SQL
SET search_path = inventory_sync, public;
SELECT setseed(0.42);
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134383', 'Product', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141000043', 'Plant', 'plant');
INSERT INTO source (source, name, kind, role) VALUES ('mes', 'MES', 'mes', current_user);
-- the graph as an edge table: lot (layer, n) consumed by the order of lot (layer + 1, m)
CREATE TABLE public.bench_edge (parent text NOT NULL, child text NOT NULL);
INSERT INTO public.bench_edge
SELECT 'L' || (l - 1) || '-' || (floor(random() * $PER_LAYER))::int, 'L' || l || '-' || n
  FROM generate_series(1, $LAYERS - 1) l, generate_series(0, $PER_LAYER - 1) n, generate_series(1, 2) k;
CREATE INDEX ON public.bench_edge (parent);
CREATE INDEX ON public.bench_edge (child);
ANALYZE public.bench_edge;
-- first layer: raw material received; every other lot: its order's production
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
SELECT 'receipt', 'mes', 'R-' || n, '09506000134383', '0614141000043', 'L0-' || n, 'released', 100, NULL
  FROM generate_series(0, $PER_LAYER - 1) n;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
SELECT 'production', 'mes', 'P-' || l || '-' || n, '09506000134383', '0614141000043', 'L' || l || '-' || n,
       'released', 100, 'WO-' || l || '-' || n
  FROM generate_series(1, $LAYERS - 1) l, generate_series(0, $PER_LAYER - 1) n;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
SELECT 'consumption', 'mes', 'C-' || e.child || '-' || row_number() OVER (PARTITION BY e.child ORDER BY e.parent),
       '09506000134383', '0614141000043', e.parent, 'released', 1, 'WO-' || substr(e.child, 2)
  FROM public.bench_edge e;
ANALYZE ledger;
ANALYZE balance;
SQL
log "ledger: $(sql -c 'SELECT count(*) FROM inventory_sync.ledger') postings, $(sql -c 'SELECT count(*) FROM inventory_sync.lot') lots"

# ms per call, over CALLS lots drawn the same way for both
time_calls() {   # sql-template-with-%s-for-lot lots
  local tmpl=$1 lots=$2 f
  f=$(mktemp)
  {
    echo '\timing on'
    for lot in $lots; do printf "SELECT count(*) FROM ($tmpl) t;\n" "$lot"; done
  } > "$f"
  psql -X -q -d "$DB" -f "$f" | awk '/^Time:/ { s += $2; n++ } END { printf "%.2f", s / n }'
  rm -f "$f"
}

FIRST=$(sql -c "SELECT string_agg('L0-' || (floor(random() * $PER_LAYER))::int, ' ') FROM generate_series(1, $CALLS)")
LAST=$(sql -c "SELECT string_agg('L$((LAYERS - 1))-' || (floor(random() * $PER_LAYER))::int, ' ') FROM generate_series(1, $CALLS)")

BARE_FWD="WITH RECURSIVE w(lot) AS (SELECT '%s'::text UNION SELECT e.child FROM public.bench_edge e JOIN w ON e.parent = w.lot) SELECT * FROM w"
BARE_BACK="WITH RECURSIVE w(lot) AS (SELECT '%s'::text UNION SELECT e.parent FROM public.bench_edge e JOIN w ON e.child = w.lot) SELECT * FROM w"
OURS_FWD="SELECT * FROM inventory_sync.trace_forward('09506000134383', '%s')"
OURS_BACK="SELECT * FROM inventory_sync.trace_back('09506000134383', '%s')"

time_calls "$OURS_FWD" "$FIRST" >/dev/null   # warm the caches
n_fwd=$(for lot in $FIRST; do sql -c "SELECT count(*) FROM inventory_sync.trace_forward('09506000134383', '$lot')"; done | awk '{ s += $1 } END { printf "%.0f", s / NR }')
n_back=$(for lot in $LAST; do sql -c "SELECT count(*) FROM inventory_sync.trace_back('09506000134383', '$lot')"; done | awk '{ s += $1 } END { printf "%.0f", s / NR }')
log "lots per trace: forward $n_fwd, back $n_back (averages)"

ours=$(time_calls "$OURS_FWD" "$FIRST"); base=$(time_calls "$BARE_FWD" "$FIRST")
log "trace_forward: $ours ms per call, bare CTE $base ms"
result trace_forward "$ours" "$base" "<=25"
ours=$(time_calls "$OURS_BACK" "$LAST"); base=$(time_calls "$BARE_BACK" "$LAST")
log "trace_back: $ours ms per call, bare CTE $base ms"
result trace_back "$ours" "$base" "<=25"
