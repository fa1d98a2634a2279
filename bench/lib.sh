# bench/lib.sh: what every bench/*.sh shares (sourced, not run: bench/run.sh skips it).
# The sourcing script sets BENCH_NAME (its log prefix) and DB (its scratch database).

log() { echo "[$BENCH_NAME $(date +%T)] $*"; }
die() { echo "[$BENCH_NAME] FAILED: $*" >&2; exit 1; }
sql() { psql -X -v ON_ERROR_STOP=1 -q -At -d "$DB" "$@"; }

# One line for the collector (bench/run.sh): RESULT|name|ours|baseline|ratio|target.
result() {   # name ours baseline target
  awk -v name="$1" -v a="$2" -v b="$3" -v t="$4" \
    'BEGIN { printf "RESULT|%s|%.1f|%.1f|%.2f|%s\n", name, a, b, (b > 0 ? a / b : 0), t }'
}

# The median of whitespace-separated numbers (one run of ratios, pair by pair).
median() {   # numbers...
  printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# a / b, for a list of paired ratios.
ratio() {   # a b
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'
}

# A collector line for a ratio measured directly (a median of paired ratios): the ratio
# stands in "ours", the baseline is 1.
result_ratio() {   # name ratio target
  awk -v name="$1" -v r="$2" -v t="$3" 'BEGIN { printf "RESULT|%s|%s|1|%.2f|%s\n", name, r, r, t }'
}

# A target judged on paired runs: logs the ratios one by one and their median, then the
# collector line of the median.
result_paired() {   # name target "ratios" label
  local med
  # shellcheck disable=SC2086
  med=$(median $3)
  log "$4:$3 (median $med)"
  result_ratio "$1" "$med" "$2"
}

# ---------------------------------------------------------------------------
# The omnichannel topology the posting and reserving benchmarks run in, built in $DB
# (the extension created, schema bench present):
#   bench.items      idx 0..items-1, GTIN (950600100000 + idx) with its check digit
#   bench.locations  idx 0..locations-1, GLN (950600200000 + idx) with its check digit;
#                    idx 0 is the DC (a warehouse), every other one a store
#   sources bench_wms (system of record of every bucket everywhere) and bench_oms;
#   with channels: `web` (kind web) selling from every location, `mkt` (kind marketplace)
#   selling from the DC only, so the DC is shared by both ("web": `mkt` exists and sells
#   from nowhere yet);
#   stock: TOPO_STOCK released units of every item at every location, posted as receipts.
# Channels are created before the stock is posted (the membership of a stocked location
# is measured on its own, below). pgbench scripts compute the same GTINs and GLNs from an
# index with topo_pgbench_keys (items and locations below 1,000 each).
# ---------------------------------------------------------------------------
TOPO_STOCK=1000000000

topo_build() {   # items locations channels(yes: web and mkt | web: web only | no)
  local items=$1 locations=$2 channels=$3
  sql <<SQL
CREATE OR REPLACE FUNCTION bench.gs1_check(body text) RETURNS int LANGUAGE sql IMMUTABLE STRICT AS \$\$
  SELECT (10 - sum(substr(body, length(body) - i, 1)::int * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END)::int % 10) % 10
    FROM generate_series(0, length(body) - 1) i
\$\$;
CREATE TABLE bench.items AS
  SELECT i AS idx, lpad(b || bench.gs1_check(b), 14, '0') AS gtin
    FROM generate_series(0, $items - 1) i, LATERAL (SELECT (950600100000 + i)::text AS b) s;
CREATE TABLE bench.locations AS
  SELECT j AS idx, b || bench.gs1_check(b) AS gln
    FROM generate_series(0, $locations - 1) j, LATERAL (SELECT (950600200000 + j)::text AS b) s;
INSERT INTO inventory_sync.source (source, name, kind, role)
  VALUES ('bench_wms', 'Benchmark WMS', 'wms', current_user), ('bench_oms', 'Benchmark OMS', 'oms', current_user);
INSERT INTO inventory_sync.item (gtin, name)
  SELECT gtin::inventory_sync.gtin, 'Bench item ' || idx FROM bench.items;
INSERT INTO inventory_sync.location (gln, name, kind)
  SELECT gln::inventory_sync.gln, CASE WHEN idx = 0 THEN 'Bench DC' ELSE 'Bench store ' || idx END,
         CASE WHEN idx = 0 THEN 'warehouse' ELSE 'store' END::inventory_sync.location_kind
    FROM bench.locations;
INSERT INTO inventory_sync.ownership (location, bucket, source)
  SELECT gln::inventory_sync.gln, NULL, 'bench_wms' FROM bench.locations;
SQL
  if [ "$channels" != no ]; then
    sql <<SQL
INSERT INTO inventory_sync.channel (channel, name, kind, reservation_ttl, fulfilment_source) VALUES
  ('web', 'Web shop', 'web', interval '1 day', 'bench_oms'),
  ('mkt', 'Marketplace', 'marketplace', interval '1 day', 'bench_oms');
INSERT INTO inventory_sync.channel_location (channel, location)
  SELECT 'web', gln::inventory_sync.gln FROM bench.locations;
SQL
  fi
  if [ "$channels" = yes ]; then
    sql -c "INSERT INTO inventory_sync.channel_location (channel, location)
              SELECT 'mkt', gln::inventory_sync.gln FROM bench.locations WHERE idx = 0"
  fi
  sql <<SQL
INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
  SELECT 'receipt', 'bench_wms', 'stock-' || it.idx || '-' || lo.idx, it.gtin::inventory_sync.gtin,
         lo.gln::inventory_sync.gln, 'released', $TOPO_STOCK
    FROM bench.items it CROSS JOIN bench.locations lo ORDER BY lo.idx, it.idx;
SQL
}

# pgbench lines setting :gtin and :gln from :i and :j (GS1 check digits, i and j < 1000).
topo_pgbench_keys() {
  cat <<'EOF2'
\set gtin (950600100000 + :i) * 10 + (10 - (43 + 3 * (:i / 100) + (:i / 10) % 10 + 3 * (:i % 10)) % 10) % 10
\set gln (950600200000 + :j) * 10 + (10 - (44 + 3 * (:j / 100) + (:j / 10) % 10 + 3 * (:j % 10)) % 10) % 10
EOF2
}

# Runs one SQL statement under statement_timeout and prints its seconds, or "timed out
# after N s" (and returns 1) when the limit cancelled it.
timed_sql() {   # limit_s statement
  local t0 t1 err
  t0=$(date +%s%N)
  if err=$(PGOPTIONS="-c statement_timeout=${1}s" sql -c "$2" 2>&1 >/dev/null); then
    t1=$(date +%s%N)
    awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f\n", ns / 1e9 }'
  elif [[ $err == *"statement timeout"* ]]; then
    echo "timed out after $1 s"
    return 1
  else
    echo "$err" >&2
    die "timed statement failed: $2"
  fi
}

# A collector line for a measured time in seconds (or "timed out after N s"): ours holds
# the time, the baseline the time limit.
result_seconds() {   # name seconds-or-text limit
  local r=n/a
  [[ $2 =~ ^[0-9.]+$ ]] && r=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", a / b }')
  echo "RESULT|$1|$2|$3|$r|n/a"
}
