#!/usr/bin/env bash
# `make test-valgrind`: the pg_regress stories (sql/SCHEDULE) and the pgTAP suite
# (test/pgtap/*.sql), run once against a server whose every process runs under valgrind
# memcheck. Prints each memcheck report that has a frame in inventory_sync.so and exits
# non-zero if there is one. Optional and slow (see docs/operations.md); not part of
# `make test`.
#
# The server is a private copy of the PostgreSQL tree that PG_CONFIG (or Debian's for
# PG_MAJOR, default 15) describes (bin, lib, share, in their relative layout under a scratch
# prefix) with this build of the extension installed into
# it; PostgreSQL finds its share and lib directories relative to its own binaries, so
# nothing system-wide is read from our extension or written, and no lock is needed while
# the slow run goes on. Its socket lives in the scratch directory and it listens on no TCP
# port.
#
# The output plugin is exercised too: the regress story `feed` decodes through
# pg_logical_slot_get_changes(), so the decoder runs inside that backend under valgrind.
# Streaming over a walsender (the TAP tests) is not run here.
#
#   exit 0  no report in our code
#        1  at least one report with a frame in inventory_sync.so (printed)
#        2  the run itself could not be made (packages, build, copy, server start)
#        3  no report in our code, but a suite failed under valgrind: the run is incomplete
#           (usually a report elsewhere, a false positive to suppress, ended a session)
#
# VALGRIND_REGRESS="gtin feed" and VALGRIND_PGTAP="test/pgtap/posting.sql" run a subset (an
# empty value skips that suite). VALGRIND_ERROR_EXITCODE=0 lets a process with a report carry
# on instead of exiting 128 (no crash restarts: every report of the run is collected; useful
# when extending the suppressions). KEEP=1 keeps the scratch directory (logs, suite output)
# after a clean run too.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source test/install.sh   # PG_MAJOR and PG_CONFIG, as for make test
START=$SECONDS

die() { echo "test-valgrind: $*" >&2; exit 2; }
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# --- packages and build ---------------------------------------------------------------
bash test/deps.sh || die "could not install the packages the build needs"
resolve_pg_config || die "no pg_config of PostgreSQL $PG_MAJOR (set PG_CONFIG)"
# The server's tree as its pg_config describes it: bin and lib under one directory, share.
SYS_PG_CONFIG=$PG_CONFIG
SYS_PGDIR=$(dirname "$("$PG_CONFIG" --bindir)")
SYS_SHARE=$("$PG_CONFIG" --sharedir)
if ! command -v valgrind >/dev/null; then
  echo "test-valgrind: installing valgrind"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null \
    || { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq --no-install-recommends valgrind >/dev/null; } \
    || die "could not install valgrind"
fi
make -s PG_CONFIG="$SYS_PG_CONFIG" >/dev/null || die "build failed"

# --- a private PostgreSQL installation ------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/inventory_sync_valgrind.XXXXXX")
chmod 755 "$WORK"
PREFIX=$WORK/pg
PGDIR=$PREFIX$SYS_PGDIR
BIN=$PGDIR/bin
mkdir -p "$(dirname "$PGDIR")" "$(dirname "$PREFIX$SYS_SHARE")"
cp -a "$SYS_PGDIR" "$PGDIR" && cp -a "$SYS_SHARE" "$PREFIX$SYS_SHARE" || die "could not copy the PostgreSQL tree"
[ "$("$BIN/pg_config" --sharedir)" = "$PREFIX$SYS_SHARE" ] \
  || die "the copy's pg_config --sharedir is $("$BIN/pg_config" --sharedir), not inside $PREFIX"
[ "$("$BIN/pg_config" --pkglibdir)" = "$PGDIR/lib" ] || die "the copy's pkglibdir is not inside $PREFIX"
# Whatever version of the extension the machine had installed goes; this build comes in.
rm -rf "$PREFIX$SYS_SHARE"/extension/inventory_sync[-.]* "$PGDIR"/lib/inventory_sync.so "$PGDIR"/lib/bitcode/inventory_sync*
make -s install PG_CONFIG="$BIN/pg_config" >/dev/null || die "install into $PREFIX failed"
[ -f "$PGDIR/lib/inventory_sync.so" ] || die "inventory_sync.so did not land in $PGDIR/lib"

# --- the server, under valgrind -------------------------------------------------------
# initdb refuses to run as root: the cluster belongs to the postgres user then.
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
DATA=$WORK/data SOCK=$WORK/sock LOGS=$WORK/valgrind OUT=$WORK/out PORT=5432
mkdir -p "$DATA" "$SOCK" "$LOGS" "$OUT"
chmod 700 "$DATA"
[ "$(id -u)" -eq 0 ] && chown postgres: "$DATA" "$SOCK" "$LOGS" "$OUT"
as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >"$OUT/initdb.log" 2>&1 \
  || { cat "$OUT/initdb.log"; die "initdb failed"; }

# Memcheck as PostgreSQL's developers run it (the wiki's Valgrind page, the buildfarm's
# use_valgrind): a process with a report exits 128, which the postmaster treats as a crash,
# so a report also shows up as a failing test. --fullpath-after= names our frames by their
# full source path, which is how they are recognised below.
VALGRIND=(valgrind --quiet --trace-children=yes --track-origins=yes --read-var-info=yes
          --num-callers=30 --error-limit=no --leak-check=no --error-exitcode="${VALGRIND_ERROR_EXITCODE:-128}"
          --gen-suppressions=all --suppressions="$ROOT/test/valgrind.supp"
          --fullpath-after= --log-file="$LOGS/%p.log")
SERVER_OPTS=(-D "$DATA" -p "$PORT" -k "$SOCK" -c listen_addresses=
             -c wal_level=logical
             -c "output_plugin_libraries=pgoutput, test_decoding, inventory_sync, wal2json"
             -c max_replication_slots=32 -c max_wal_senders=32 -c max_connections=50
             -c fsync=off -c lc_messages=C -c jit=off)
echo "=== test-valgrind: server under valgrind ($WORK) ==="
as_owner "${VALGRIND[@]}" "$BIN/postgres" "${SERVER_OPTS[@]}" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 300 stop >/dev/null 2>&1 || kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=
}
# Nothing is left running, whatever happens.
trap stop_server EXIT
trap 'exit 2' INT TERM
export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres PATH=$BIN:$PATH
# Waits until the server accepts connections: at the start, and again before each suite
# (a report in the previous one made the postmaster restart after a crash).
wait_ready() {
  for _ in $(seq 300); do
    pg_isready -q && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server.log"; die "the server stopped"; }
    sleep 1
  done
  cat "$OUT/server.log"; die "the server did not accept connections"
}
wait_ready

# --- the suites -------------------------------------------------------------------------
# The suites' outcome is shown, not judged: under valgrind a process with a report exits 128
# and takes its session down with it, so a failing story usually points at a report below.
suite_summary=()
REGRESS_TESTS=${VALGRIND_REGRESS-$(grep -v '^\s*#' sql/SCHEDULE)}
PGTAP_FILES=${VALGRIND_PGTAP-$(ls test/pgtap/*.sql)}
suites_failed=0
if [ -n "$REGRESS_TESTS" ]; then
  wait_ready
  echo "=== regress: $(echo $REGRESS_TESTS) ==="
  "$PGDIR/lib/pgxs/src/test/regress/pg_regress" --inputdir="$ROOT" --outputdir="$OUT/regress" \
    --bindir="$BIN" --dbname=contrib_regression_inventory_sync --load-extension=inventory_sync \
    $REGRESS_TESTS 2>&1 | tee "$OUT/regress.log"
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then suite_summary+=("regress: passed")
  else suite_summary+=("regress: FAILED under valgrind (diffs: $OUT/regress/regression.diffs)"); suites_failed=1; fi
fi
if [ -n "$PGTAP_FILES" ]; then
  wait_ready
  echo "=== pgtap: $(echo $PGTAP_FILES) ==="
  createdb pgtap_regression && psql -qX -d pgtap_regression -v ON_ERROR_STOP=1 \
    -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION inventory_sync' >/dev/null
  pg_prove -d pgtap_regression --timer $PGTAP_FILES 2>&1 | tee "$OUT/pgtap.log"
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then suite_summary+=("pgtap: passed")
  else suite_summary+=("pgtap: FAILED under valgrind ($OUT/pgtap.log)"); suites_failed=1; fi
fi

stop_server

# --- the reports --------------------------------------------------------------------------
# A log holds one file per process. A report is a run of "==PID== " lines ended by a blank
# "==PID== " line and followed by the suppression valgrind generated for it ({ ... }). It is
# ours when a frame, of the error or of where the memory came from, is in our .so (with
# debug information valgrind names our source file instead of the object).
REPORTS=$OUT/ours.txt
awk -v ours="$ROOT/src/" '
  function flush() {
    if (block ~ /(at|by) 0x/) {
      if (index(block, ours) || index(block, "inventory_sync.so")) { n_ours++; printf "%s\n", block }
      else n_other++
    }
    block = ""; ended = 0
  }
  FNR == 1             { flush() }
  /^==[0-9]+== *$/     { ended = 1; next }
  /^\{$/               { insup = 1 }
  insup                { block = block $0 "\n"; if ($0 ~ /^\}$/) insup = 0; next }
  /^==[0-9]+== /       { if (ended) flush(); block = block $0 "\n" }
  END                  { flush(); printf "%d %d\n", n_ours, n_other > "/dev/stderr" }
' "$LOGS"/*.log >"$REPORTS" 2>"$OUT/counts"
read -r n_ours n_other <"$OUT/counts"

echo
echo "=== test-valgrind summary ==="
printf '  %s\n' "${suite_summary[@]}"
echo "  processes traced: $(ls "$LOGS" | wc -l); reports in inventory_sync: $n_ours; elsewhere (PostgreSQL, libraries): $n_other"
echo "  run time: $((SECONDS - START)) s"
if [ "$n_ours" -gt 0 ]; then
  echo
  echo "=== memcheck reports with a frame in inventory_sync ==="
  cat "$REPORTS"
  echo "logs kept in $LOGS"
  exit 1
fi
if [ "$suites_failed" -eq 1 ]; then
  # No report of ours, but the run did not go through: a report elsewhere crashed a session
  # (a false positive to suppress), or a test fails under valgrind's slowness.
  echo "  incomplete run: a suite failed; logs kept in $LOGS"
  exit 3
fi
if [ "$n_other" -gt 0 ]; then
  echo "  logs kept in $LOGS: add PostgreSQL's own false positives to test/valgrind.supp"
elif [ "${KEEP:-0}" = 1 ]; then
  echo "  logs kept in $LOGS"
else
  rm -rf "$WORK"
fi
exit 0
