#!/usr/bin/env bash
# `make bench`: runs every bench/*.sh (or BENCH="gtin_input posting") on one throwaway
# PostgreSQL cluster (15, or PG_MAJOR) and prints one table of ratios, each against the baseline the
# script measured in the same run. Also writes bench/results/latest.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source test/install.sh

if [ "${1:-}" = "--inside" ]; then
  out=$2
  # (scale.sh loads a large ledger: it runs only when named, BENCH=scale)
  for name in ${BENCH:-$(cd bench && ls *.sh | grep -v '^\(run\|lib\|scale\)\.sh$' | sed 's/\.sh$//')}; do
    echo "=== bench: $name ==="
    bash "bench/$name.sh" 2>&1 | tee -a "$out.log"
  done
  grep '^RESULT|' "$out.log" > "$out" || true
  exit 0
fi

install_extension "make bench"

results=$(mktemp /tmp/inventory_sync_bench.XXXXXX)
chmod 666 "$results"
pg_virtualenv -t -v "$PG_MAJOR" -o wal_level=logical -o shared_buffers=1GB -o max_wal_size=8GB \
  -o checkpoint_timeout=30min -o max_connections=200 -o max_replication_slots=24 -o max_wal_senders=24 \
  -o "output_plugin_libraries=pgoutput, test_decoding, inventory_sync, wal2json" \
  bash "$ROOT/bench/run.sh" --inside "$results" 9>&-

mkdir -p bench/results
{
  echo "| benchmark | ours | baseline | ratio | target | met |"
  echo "|---|---|---|---|---|---|"
  while IFS='|' read -r _ name ours base ratio target; do
    met=n/a
    if [[ $target =~ ^\>=([0-9.]+)$ ]]; then
      met=$(awk -v r="$ratio" -v t="${BASH_REMATCH[1]}" 'BEGIN { print (r >= t) ? "yes" : "no" }')
    elif [[ $target =~ ^\<=([0-9.]+)$ ]]; then
      met=$(awk -v r="$ratio" -v t="${BASH_REMATCH[1]}" 'BEGIN { print (r <= t) ? "yes" : "no" }')
    fi
    echo "| $name | $ours | $base | $ratio | $target | $met |"
  done < "$results"
} > bench/results/latest.md
echo
echo "=== benchmark ratios (also in bench/results/latest.md) ==="
awk -F'|' '!/---/ { printf "%-46s %-10s %-14s %8s %8s %5s\n", $2, $3, $4, $5, $6, $7 }' bench/results/latest.md
rm -f "$results" "$results.log"
