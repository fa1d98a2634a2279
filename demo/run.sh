#!/usr/bin/env bash
# `make demo`: installs what is missing, builds, installs, starts a throwaway PostgreSQL 15
# cluster and plays demo/[0-9]*.sql in order. Leaves nothing running.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source test/install.sh

if [ "${1:-}" = "--inside" ]; then
  createdb demo
  psql -X -q -d demo -c 'CREATE EXTENSION inventory_sync' 
  for f in demo/[0-9]*.sql; do
    title=$(sed -n '1s/^-- title: *//p' "$f")
    printf '\n\033[1m== %s ==\033[0m\n\n' "${title:-$f}"
    psql -X -q -d demo -v ON_ERROR_STOP=1 -P border=2 -P footer=off < "$f"
  done
  printf '\n\033[1mdemo complete\033[0m: every section above ran on a throwaway cluster, now removed.\n'
  exit 0
fi

cat <<'TXT'
inventory_sync demo: builds and installs the extension, starts a throwaway PostgreSQL 15
cluster (pg_virtualenv), plays demo/*.sql in order, and removes the cluster.
TXT
install_extension "make demo"
pg_virtualenv -t -v 15 -o wal_level=logical \
  -o "output_plugin_libraries='pgoutput, test_decoding, inventory_sync'" -o lc_messages=C \
  bash "$ROOT/demo/run.sh" --inside 9>&-
