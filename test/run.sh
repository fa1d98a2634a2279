#!/usr/bin/env bash
# `make test`: installs what is missing, builds, installs, starts a throwaway PostgreSQL 15
# cluster (pg_virtualenv) configured for logical decoding, runs every suite, prints a summary
# and exits non-zero if anything failed. Leaves nothing running; works from any clone path.
#
# Other majors: `make test PG=17` (or PG=18, PG="15 17", PG=all) hands over to test/majors.sh,
# which runs this script once per major (17 and 18 in a cached Debian chroot that has them)
# and adds one summary line per major. PG_MAJOR=N runs this script against the major N
# installed here (test/install.sh); test/majors.sh sets it inside its chroots.
#
#   suites: regress   pg_regress stories       sql/*.sql -> expected/*.out (sql/SCHEDULE)
#           isolation isolation tester         test/isolation/specs/*.spec
#           pgtap     pgTAP through pg_prove   test/pgtap/*.sql
#           tap       Perl TAP, PostgreSQL::Test::Cluster (their own clusters)  test/tap/*.pl
#           docs      every ```sql example in README.md and docs/ (test/docs_examples.py)
#           security  the catalog against docs/security.md: search_paths, raised rights, grants,
#                     internal functions, append-only tables (test/security_check.py), on a
#                     fresh install and on one upgraded from the previous release
#           hostile   non-superuser login roles over TCP attack every function, the ledger, the
#                     plugin options and the search_path (test/hostile/hostile.py)
#           demo      `make demo`'s day (demo/run.sh --inside) in a fresh database: every step
#                     succeeds, every expected refusal happens, verify() is empty, no slot is left
#           prose     no text of the tree speaks of how it was made (work sessions, issues,
#                     notes, before/after figures) rather than of the product; one check per
#                     file, each hit printed as file:line (test/prose_check.py; no cluster)
#           package   META.json and the changelogs name the version; the Debian package built with
#                     pg_buildext, installed with dpkg, CREATE EXTENSION from it in a fresh
#                     database, removed, and this build installed again (test/package.sh)
#
# Run one suite: make test SUITES="regress pgtap"; some of one suite: ISOLATION_SPECS="a b"
# (spec names), PGTAP_FILES="test/pgtap/x.sql", TAP_FILES="test/tap/010_x.pl".
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ -n "${PG:-}" ] && [ "${1:-}" != "--inside" ] && [ "$PG" != "${PG_MAJOR:-15}" ]; then
  exec bash test/majors.sh $PG
fi
source test/install.sh
SUITES=${SUITES:-regress isolation pgtap tap docs security hostile demo package prose}

# Server settings every test cluster gets: logical decoding, our output plugin allowed
# (PostgreSQL 15.19+), slots and senders for the feed tests, clients for the stress tests.
CLUSTER_OPTS=(
  -o "wal_level=logical"
  -o "output_plugin_libraries=pgoutput, test_decoding, inventory_sync, wal2json"
  -o "max_replication_slots=32"
  -o "max_wal_senders=32"
  -o "max_connections=200"
  -o "fsync=off"
  -o "lc_messages=C"
)

inside() {
  # Runs under pg_virtualenv: PGHOST/PGPORT/PGUSER/PGPASSWORD point at the throwaway cluster.
  local results=$1 failed_any=0
  : > "$results"
  PGXS_DIR=$("$PG_CONFIG" --pkglibdir)/pgxs   # pg_regress, pg_isolation_regress, Perl test modules

  record() { echo "$1 $2 $3" >> "$results"; }   # suite passed failed
  # what failed, by name, for the end of the output (a CI log is often read from its tail)
  failed_names() {
    grep -E '\.\.\. FAILED|^not ok |^[^ ].* \(Wstat: |^demo: |^# +Failed test' "$2" | grep -v ' # TODO ' \
      | sed "s/^/$1: /" | cut -c1-160 >> "$results.failed"
  }

  for suite in $SUITES; do
    echo
    echo "=== suite: $suite ==="
    case $suite in
    regress)
      rm -rf results regression.diffs regression.out
      make -s installcheck PG_CONFIG="$PG_CONFIG" 2>&1 | tee /tmp/inventory_sync_regress.$$
      local rc=${PIPESTATUS[0]} ok bad
      ok=$(grep -cE '\.\.\. ok|^ok ' /tmp/inventory_sync_regress.$$)
      bad=$(grep -cE '\.\.\. FAILED|^not ok ' /tmp/inventory_sync_regress.$$)
      if [ -f regression.diffs ] && [ -s regression.diffs ]; then
        echo "--- regression.diffs ---"; cat regression.diffs
        [ "$bad" -eq 0 ] && bad=1
      fi
      [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
      record regress "$ok" "$bad"
      failed_names regress /tmp/inventory_sync_regress.$$
      rm -f /tmp/inventory_sync_regress.$$
      ;;
    isolation)
      local specs
      specs=${ISOLATION_SPECS:-$(cd test/isolation/specs 2>/dev/null && ls *.spec 2>/dev/null | sed 's/\.spec$//')}
      if [ -z "$specs" ]; then record isolation 0 0; continue; fi
      rm -rf test/isolation/output; mkdir -p test/isolation/output
      "$PGXS_DIR/src/test/isolation/pg_isolation_regress" \
        --inputdir=test/isolation --outputdir=test/isolation/output \
        --bindir="$PGBIN" --load-extension=inventory_sync --dbname=isolation_regression \
        $specs 2>&1 | tee /tmp/inventory_sync_iso.$$
      rc=${PIPESTATUS[0]}
      ok=$(grep -cE '\.\.\. ok|^ok ' /tmp/inventory_sync_iso.$$)
      bad=$(grep -cE '\.\.\. FAILED|^not ok ' /tmp/inventory_sync_iso.$$)
      if [ -s test/isolation/output/regression.diffs ]; then
        echo "--- isolation regression.diffs ---"; cat test/isolation/output/regression.diffs
        [ "$bad" -eq 0 ] && bad=1
      fi
      [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
      record isolation "$ok" "$bad"
      failed_names isolation /tmp/inventory_sync_iso.$$
      rm -f /tmp/inventory_sync_iso.$$
      ;;
    pgtap)
      local files
      files=${PGTAP_FILES:-$(ls test/pgtap/*.sql 2>/dev/null)}
      if [ -z "$files" ]; then record pgtap 0 0; continue; fi
      dropdb --if-exists pgtap_regression >/dev/null 2>&1
      createdb pgtap_regression
      psql -qX -d pgtap_regression -v ON_ERROR_STOP=1 \
        -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION inventory_sync' >/dev/null
      pg_prove -d pgtap_regression --timer $files 2>&1 | tee /tmp/inventory_sync_pgtap.$$
      count_prove pgtap /tmp/inventory_sync_pgtap.$$ "$(echo "$files" | wc -w)"
      failed_names pgtap /tmp/inventory_sync_pgtap.$$
      rm -f /tmp/inventory_sync_pgtap.$$
      ;;
    tap)
      local tfiles
      tfiles=${TAP_FILES:-$(ls test/tap/*.pl 2>/dev/null)}
      if [ -z "$tfiles" ]; then record tap 0 0; continue; fi
      # initdb refuses to run as root: the TAP clusters run as the postgres user, in a
      # scratch copy of the tests it owns (the clone may not be readable by it).
      local scratch
      scratch=$(mktemp -d /tmp/inventory_sync_tap.XXXXXX)
      cp -r test/tap "$scratch/tap"
      [ -d examples ] && cp -r examples "$scratch/examples"
      chown -R postgres: "$scratch"
      # (TESTDIR: 15; TESTDATADIR and TESTLOGDIR: 17 and later, the same absolute places)
      local run=(env PATH="$PATH" TESTDIR="$scratch" TESTDATADIR="$scratch/tmp_check" TESTLOGDIR="$scratch/tmp_check/log" PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" PGHOST= PGPORT= PGUSER= PGPASSWORD= PGDATABASE=
                 prove -I "$PGXS_DIR/src/test/perl" -I "$scratch/tap" --timer $(for f in $tfiles; do echo "tap/$(basename "$f")"; done))
      if [ "$(id -u)" -eq 0 ]; then
        (cd "$scratch" && runuser -u postgres -- "${run[@]}") 2>&1 | tee /tmp/inventory_sync_tap.$$
      else
        (cd "$scratch" && "${run[@]}") 2>&1 | tee /tmp/inventory_sync_tap.$$
      fi
      count_prove tap /tmp/inventory_sync_tap.$$ "$(echo "$tfiles" | wc -w)"
      if ! grep -q '^Result: PASS' /tmp/inventory_sync_tap.$$; then
        for log in "$scratch"/tmp_check/log/*; do
          [ -f "$log" ] || continue
          echo "--- $(basename "$log") (tail) ---"; tail -n 40 "$log"
        done
      fi
      failed_names tap /tmp/inventory_sync_tap.$$
      rm -rf "$scratch" /tmp/inventory_sync_tap.$$
      ;;
    docs)
      local pages
      pages=$(ls README.md docs/*.md docs/*/*.md 2>/dev/null)
      python3 test/docs_examples.py $pages 2>&1 | tee /tmp/inventory_sync_docs.$$
      rc=${PIPESTATUS[0]}
      ok=$(grep -c '^ok ' /tmp/inventory_sync_docs.$$)
      bad=$(grep -c '^not ok ' /tmp/inventory_sync_docs.$$)
      [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
      record docs "$ok" "$bad"
      failed_names docs /tmp/inventory_sync_docs.$$
      rm -f /tmp/inventory_sync_docs.$$
      ;;
    security)
      local db ok=0 bad=0 prev
      prev=$(sed -n 's/^PREVVERSION *= *//p' Makefile)
      for db in security_fresh security_upgraded; do
        dropdb --if-exists "$db" >/dev/null 2>&1
        createdb "$db"
        if [ "$db" = security_upgraded ]; then
          psql -qX -d "$db" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION inventory_sync VERSION '$prev'" \
            -c 'ALTER EXTENSION inventory_sync UPDATE' >/dev/null
        else
          psql -qX -d "$db" -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION inventory_sync' >/dev/null
        fi
        echo "# $db"
        if python3 test/security_check.py "$db" docs/security.md; then ok=$((ok + 1))
        else bad=$((bad + 1)); echo "security: $db" >> "$results.failed"; fi
        dropdb --if-exists "$db" >/dev/null 2>&1
      done
      record security "$ok" "$bad"
      ;;
    hostile)
      # TAP lines; a known-open case is "not ok ... # TODO" and does not count as failed
      /usr/bin/python3 test/hostile/hostile.py 2>&1 | tee /tmp/inventory_sync_hostile.$$
      rc=${PIPESTATUS[0]}
      ok=$(grep -c '^ok ' /tmp/inventory_sync_hostile.$$)
      bad=$(grep '^not ok ' /tmp/inventory_sync_hostile.$$ | grep -vc ' # TODO ')
      [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
      record hostile "$ok" "$bad"
      failed_names hostile /tmp/inventory_sync_hostile.$$
      rm -f /tmp/inventory_sync_hostile.$$
      ;;
    demo)
      # The demo stops at the first failing statement (ON_ERROR_STOP), at a refusal that did
      # not happen or came with another SQLSTATE (demo.refused), at a web shop copy of ATP
      # that differs from the master's, and at any drift (demo.assert_no_drift).
      local demodb=demo_suite out=/tmp/inventory_sync_demo.$$ problems
      dropdb --if-exists "$demodb" >/dev/null 2>&1
      bash demo/run.sh --inside "$demodb" > "$out" 2>&1
      rc=$?
      cat "$out"
      if [ "$rc" -eq 0 ]; then
        problems=$(psql -X -At -d "$demodb" -c "SELECT (SELECT count(*) FROM inventory_sync.verify())
                                                   + (SELECT count(*) FROM inventory_sync.verify_promises())" 2>&1)
        [ "$problems" = 0 ] || { echo "demo: verify() and verify_promises() after the demo: $problems"; rc=1; }
        grep -q '^demo complete' "$out" || { echo "demo: did not reach its end"; rc=1; }
      else
        echo "demo: demo/run.sh --inside failed (exit $rc)"
      fi
      psql -X -q -d "$demodb" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                                   WHERE database = current_database()" >/dev/null 2>&1
      dropdb --if-exists "$demodb" >/dev/null 2>&1
      if [ "$rc" -eq 0 ]; then record demo 1 0; else record demo 0 1; echo "demo: exit $rc" >> "$results.failed"; fi
      rm -f "$out"
      ;;
    prose)
      /usr/bin/python3 test/prose_check.py "$ROOT" 2>&1 | tee /tmp/inventory_sync_prose.$$
      rc=${PIPESTATUS[0]}
      local summary files badfiles
      summary=$(sed -n 's/^prose: \([0-9]*\) files checked, [0-9]* hits in \([0-9]*\) files$/\1 \2/p' /tmp/inventory_sync_prose.$$)
      read -r files badfiles <<< "${summary:-0 0}"
      [ "$rc" -ne 0 ] && [ "$badfiles" -eq 0 ] && badfiles=1
      [ "$badfiles" -gt 0 ] && echo "prose: $badfiles files (file:line hits above)" >> "$results.failed"
      record prose "$((files - badfiles < 0 ? 0 : files - badfiles))" "$badfiles"
      rm -f /tmp/inventory_sync_prose.$$
      ;;
    package)
      bash test/package.sh --inside 2>&1 | tee /tmp/inventory_sync_package.$$
      rc=${PIPESTATUS[0]}
      ok=$(grep -c '^ok ' /tmp/inventory_sync_package.$$)
      bad=$(grep -c '^not ok ' /tmp/inventory_sync_package.$$)
      [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
      record package "$ok" "$bad"
      failed_names package /tmp/inventory_sync_package.$$
      rm -f /tmp/inventory_sync_package.$$
      ;;
    *) echo "unknown suite $suite"; record "$suite" 0 1 ;;
    esac
  done
}

# prove prints "Files=N, Tests=M" and, on failure, "Failed K/N test programs".
count_prove() {
  local suite=$1 log=$2 nfiles=$3 bad
  # the summary report lists one "<file> (Wstat: ...)" line per failed test program
  bad=$(grep -cE '^[^ ].* \(Wstat: ' "$log")
  if grep -q '^Result: PASS' "$log"; then bad=0; else bad=${bad:-$nfiles}; [ "$bad" -eq 0 ] && bad=1; fi
  echo "$suite $((nfiles - bad < 0 ? 0 : nfiles - bad)) $bad" >> "$RESULTS"
}

if [ "${1:-}" = "--inside" ]; then
  RESULTS=$2
  inside "$RESULTS"
  exit 0
fi

install_extension "make test"

RESULTS=$(mktemp /tmp/inventory_sync_results.XXXXXX)
: > "$RESULTS.failed"
chmod 666 "$RESULTS" "$RESULTS.failed"
# -t: a temporary cluster directory even as root, removed with the cluster.
# 9>&-: the server must not inherit the lock, or a leaked cluster would hold it forever.
pg_virtualenv -t -v "$PG_MAJOR" "${CLUSTER_OPTS[@]}" bash "$ROOT/test/run.sh" --inside "$RESULTS" 9>&-
venv_rc=$?

echo
echo "=== summary ==="
total_ok=0; total_bad=0
while read -r suite ok bad; do
  printf '  %-10s %4d passed  %4d failed\n' "$suite" "$ok" "$bad"
  total_ok=$((total_ok + ok)); total_bad=$((total_bad + bad))
done < "$RESULTS"
if [ -s "$RESULTS.failed" ]; then
  echo "=== what failed ==="
  head -n 20 "$RESULTS.failed" | sed 's/^/  /'
fi
rm -f "$RESULTS" "$RESULTS.failed"
if [ $venv_rc -ne 0 ]; then
  echo "  the throwaway cluster failed (pg_virtualenv exit $venv_rc)"
  total_bad=$((total_bad + 1))
fi
echo "$total_ok passed, $total_bad failed"
[ $total_bad -eq 0 ]
