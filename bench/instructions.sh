#!/usr/bin/env bash
# bench/instructions.sh: what one posting costs the server's processor, counted in
# instructions rather than timed, so that the figure does not move with whatever else
# the machine is running.
#
# The posting targets are rates of pgbench runs (bench/posting.sh), and on a machine of
# two cores shared with other work single rounds of those range widely. The rates follow
# the processor time a posting costs (the postings are at synchronous_commit=off and at
# random keys, so they rarely wait for each other), and that cost is counted here
# exactly: each variant's postings run in one backend in single-user mode under
# valgrind's callgrind, on a copy of the benchmark's databases, first N and then 5N of
# them after the same warm-up, and the difference of the two totals over 4N is the
# instructions of one posting (start-up, the warm-up and the caches' first fills cancel
# out). A rate ratio of two variants is then about the inverse ratio of their
# instructions; the counts also say where the difference goes
# (callgrind_annotate on the kept profiles, BENCH_INSTR_KEEP).
#
# The variants are those of posting.sh's topology targets: one receipt into the sellable
# bucket at a random key of the omnichannel topology (bench/lib.sh, topo_build: 1,000
# items at a DC and 100 stores, `web` selling from all of them, `mkt` from the DC), the
# same in a twin without channels, and the same row inserted into a trigger-less copy of
# the ledger (same indexes and constraints). Every statement is prepared and executed
# with its values, as pgbench's `-M prepared` does.
#
#   posting_topology_vs_no_channel.instructions   no channel / topology          >= 0.7
#   posting_topology_vs_bare_insert.instructions  bare INSERT / topology         >= 0.5
#   (the instructions of each variant are logged; the targets are those of the rates,
#   which posting.sh measures: this is a second view of the same ones)
#
# Needs valgrind (installed when missing, as test/valgrind.sh does), pg_basebackup and a
# superuser (PGHOST/PGPORT/PGUSER as pg_virtualenv sets them). The copy is taken with
# pg_basebackup and started in single-user mode as the operating-system user that owns
# the cluster; nothing is changed in the cluster itself but the scratch databases, which
# are dropped at the end.
#
# The first thousand or so postings after the build cost less than later ones (the rows
# they rewrite still have room for their new versions on their pages; pruning those pages
# comes later), so N much below the default understates a posting: with N = 100 the
# topology's ratios come out near 0.54 and 0.45.
#
# Knobs (environment): BENCH_INSTR_POSTINGS (N, 400), BENCH_INSTR_KEEP (a directory to
# keep the callgrind profiles in), BENCH_DB (inventory_sync_bench; databases
# <BENCH_DB>_instr_topology and <BENCH_DB>_instr_no_channel).
set -euo pipefail
cd "$(dirname "$0")"
BENCH_NAME=instructions
source ./lib.sh

N=${BENCH_INSTR_POSTINGS:-400}
[[ $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_INSTR_POSTINGS must be a positive integer"
TP=${BENCH_DB:-inventory_sync_bench}_instr_topology
NC=${BENCH_DB:-inventory_sync_bench}_instr_no_channel

if ! command -v valgrind >/dev/null; then
  log "installing valgrind"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null \
    || die "could not install valgrind"
fi

DB=postgres
BINDIR=$(sql -c "SELECT setting FROM pg_config WHERE name = 'BINDIR'")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/inventory_sync_instr.XXXXXX")
chmod 755 "$WORK"
cleanup() {
  rm -rf "$WORK"
  DB=postgres sql -c "DROP DATABASE IF EXISTS $TP" -c "DROP DATABASE IF EXISTS $NC" >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "building the topology and its twin without channels"
for d in "$TP" "$NC"; do
  sql -c "DROP DATABASE IF EXISTS $d" -c "CREATE DATABASE $d"
  DB=$d sql -c "CREATE EXTENSION inventory_sync" -c "CREATE SCHEMA bench"
done
DB=$TP topo_build 1000 101 yes
DB=$NC topo_build 1000 101 no
DB=$TP sql -c "CREATE TABLE bench.bare (LIKE inventory_sync.ledger INCLUDING ALL)"
sql -c "CHECKPOINT"

log "copying the cluster (pg_basebackup)"
pg_basebackup -D "$WORK/data" -X stream -c fast
OSUSER=$(stat -c %U "$(sql -c 'SHOW data_directory')")
# the copy's configuration: the server's own settings may live outside its data directory
: > "$WORK/data/postgresql.conf"
: > "$WORK/data/postgresql.auto.conf"
chown -R "$OSUSER" "$WORK"
chmod 700 "$WORK/data"

# The statements: the warm-up posts each item once (at location idx mod the locations),
# then n receipts at random keys (the same seed for every variant).
script() {   # db table n tag
  DB=$1 sql <<SQL
SELECT format('PREPARE p(text, text, text, numeric) AS INSERT INTO %s (kind, source, source_event_id, gtin, location, bucket, quantity) VALUES (''receipt'', ''bench_wms'', \$1, \$2::inventory_sync.gtin, \$3::inventory_sync.gln, ''released'', \$4);', '$2');
SELECT format('EXECUTE p(%L, %L, %L, 1);', 'instr-warm-$4-' || it.idx, it.gtin, lo.gln)
  FROM bench.items it JOIN bench.locations lo ON lo.idx = it.idx % (SELECT count(*) FROM bench.locations)
 ORDER BY it.idx;
SELECT setseed(0.5);
SELECT format('EXECUTE p(%L, %L, %L, %s);', 'instr-$4-' || g, it.gtin, lo.gln, 1 + (g % 10))
  FROM generate_series(1, $3) g,
       LATERAL (SELECT floor(random() * 1000)::int AS i, floor(random() * 101)::int AS j, g AS k) r
  JOIN bench.items it ON it.idx = r.i JOIN bench.locations lo ON lo.idx = r.j
 ORDER BY g;
SQL
}

# Instructions of the whole single-user run of a script.
counted() {   # db script out
  runuser -u "$OSUSER" -- valgrind --tool=callgrind --callgrind-out-file="$3" \
    "$BINDIR/postgres" --single -D "$WORK/data" -c synchronous_commit=off -c shared_buffers=512MB \
    -c autovacuum=off "$1" < "$2" > "$3.out" 2> "$3.err" \
    || die "the single-user run of $2 failed: $(tail -n 3 "$3.err")"
  if grep -q 'ERROR:' "$3.err"; then
    die "a statement of $2 failed: $(grep -m 1 'ERROR:' "$3.err")"
  fi
  sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$3" | head -n 1
}

# Instructions per posting of one variant.
per_posting() {   # name db table
  local small large a b
  script "$2" "$3" "$N" "$1-s" > "$WORK/$1.small.sql"
  script "$2" "$3" $((5 * N)) "$1-l" > "$WORK/$1.large.sql"
  chmod 644 "$WORK/$1".*.sql
  a=$(counted "$2" "$WORK/$1.small.sql" "$WORK/$1.small.cg")
  b=$(counted "$2" "$WORK/$1.large.sql" "$WORK/$1.large.cg")
  if [ -n "${BENCH_INSTR_KEEP:-}" ]; then
    mkdir -p "$BENCH_INSTR_KEEP"
    cp "$WORK/$1.small.cg" "$WORK/$1.large.cg" "$BENCH_INSTR_KEEP/"
  fi
  awk -v a="$a" -v b="$b" -v n=$((4 * N)) 'BEGIN { printf "%.0f\n", (b - a) / n }'
}

log "counting $N and $((5 * N)) postings of each variant under callgrind"
topo=$(per_posting topology "$TP" inventory_sync.ledger)
log "topology: $topo instructions per posting"
nochan=$(per_posting no_channel "$NC" inventory_sync.ledger)
log "no channel: $nochan instructions per posting"
bare=$(per_posting bare_insert "$TP" bench.bare)
log "bare INSERT: $bare instructions per posting"
[ "$topo" -gt 0 ] && [ "$nochan" -gt 0 ] && [ "$bare" -gt 0 ] || die "a count came out empty"

result_ratio posting_topology_vs_no_channel.instructions "$(ratio "$nochan" "$topo")" '>=0.7'
result_ratio posting_topology_vs_bare_insert.instructions "$(ratio "$bare" "$topo")" '>=0.5'
