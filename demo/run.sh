#!/usr/bin/env bash
# `make demo`: installs what is missing, builds, installs, starts a throwaway PostgreSQL
# cluster (pg_virtualenv; 15, or PG_MAJOR=N for Debian's postgresql-N) and plays an
# omnichannel day: demo/lib.sql (presentation helpers), then demo/[0-9]*.sql in order,
# each printed under the title on its first line. Leaves nothing running.
#
#   demo/run.sh                     the whole thing (what `make demo` runs)
#   demo/run.sh --inside [DBNAME]   play the day on a running server (PGHOST, PGPORT, PGUSER...
#                                   as for psql), in a new database DBNAME (default demo), which
#                                   is left in place; wal_level=logical and inventory_sync in
#                                   output_plugin_libraries are needed. test/run.sh's demo suite
#                                   uses this.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source test/install.sh

if [ "${1:-}" = "--inside" ]; then
  export PGDATABASE=${2:-demo}
  bold=; plain=
  if [ -t 1 ]; then bold=$'\033[1m'; plain=$'\033[0m'; fi
  start=$EPOCHREALTIME
  createdb "$PGDATABASE"
  PSQL=(psql -X -q -v ON_ERROR_STOP=1 -P border=2 -P footer=off)
  "${PSQL[@]}" -c 'CREATE EXTENSION inventory_sync'
  "${PSQL[@]}" -f demo/lib.sql
  for f in demo/[0-9]*.sql; do
    title=$(sed -n '1s/^-- title: *//p' "$f")
    printf '\n%s== %s ==%s\n' "$bold" "${title:-$f}" "$plain"
    "${PSQL[@]}" -f "$f"
  done
  printf '\n%sdemo complete%s: the day played in %s s.\n' "$bold" "$plain" \
    "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
  exit 0
fi

cat <<'TXT'
inventory_sync demo: builds and installs the extension, starts a throwaway PostgreSQL
cluster (pg_virtualenv), plays one omnichannel day (demo/*.sql), and removes the cluster.
TXT
install_extension "make demo"
# pg_virtualenv quotes each -o value itself: no quotes inside the list.
pg_virtualenv -t -v "$PG_MAJOR" -o wal_level=logical \
  -o "output_plugin_libraries=pgoutput, test_decoding, inventory_sync" -o lc_messages=C \
  bash "$ROOT/demo/run.sh" --inside demo 9>&-
echo "The throwaway cluster is gone; nothing is left running."
