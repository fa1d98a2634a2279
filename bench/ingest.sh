#!/usr/bin/env bash
# bench/ingest.sh: a one-million-row snapshot feed ingested with
# ingest_snapshot(), against a bare COPY of the same rows into a plain table, in one run.
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER, as pg_virtualenv sets them; needs
# a superuser and the extension installed), in a scratch database it creates and drops.
#
# The feed: BENCH_INGEST_ITEMS items (10000) x BENCH_INGEST_LOCATIONS locations (100) = one
# row per key, written once to a CSV file (gtin, gln, quantity as text, as a WMS exports it).
#
#   baseline  COPY of the file into a plain table (gtin text, gln text, quantity text)
#   ours      what an operator runs: COPY of the same file into a temp table, then
#             ingest_snapshot() of it (validation of every row, one count per key through
#             the posting engine, accuracy), in one transaction, timed end to end
#
# Two feeds, each measured against its own baseline COPY:
#   new_keys       the first feed: every key is new (balances are created)
#   existing_keys  the next morning's feed of the same keys, 2 % of them different: the
#                  usual case (counts against existing balances, as of the feed's time)
# and a second baseline for the usual case, the floor of any ingest through the posting
# engine: a COPY of the same number of counts (same keys, as of a later time) straight into
# the ledger, without validation, absent keys or variance:
#   existing_keys_vs_engine_copy   ours (existing_keys) / that COPY
#
# Output: progress lines, the ingest's NOTICEs time-stamped as the client receives them
# (they arrive while the statement runs: one per chunk of counts), "rate:" lines (rows/s)
# and, for the collector (bench/run.sh),
#   RESULT|<benchmark>|<ours rows/s>|<baseline rows/s>|<ratio>|<target>
# No target: target "-" (the ratio is how much slower than just loading the rows a
# validated, posted, reconciled feed is).
#
# Knobs (environment): BENCH_INGEST_ITEMS (10000), BENCH_INGEST_LOCATIONS (100),
# BENCH_INGEST_CHUNK (100000, ingest_snapshot's chunk_size), BENCH_DB (inventory_sync_bench_ingest).
#
#   BENCH=ingest make bench
set -euo pipefail
BENCH_NAME=ingest
source "$(dirname "$0")/lib.sh"

DB=${BENCH_DB:-inventory_sync_bench_ingest}
ITEMS=${BENCH_INGEST_ITEMS:-10000}
LOCATIONS=${BENCH_INGEST_LOCATIONS:-100}
CHUNK=${BENCH_INGEST_CHUNK:-100000}
ROWS=$((ITEMS * LOCATIONS))

WORK=$(mktemp -d /tmp/inventory_sync_bench_ingest.XXXXXX)
chmod 777 "$WORK"    # the server writes the feed file here
START=$(date +%s)


cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.1f", n / (ns / 1e9) }'; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }

log "cluster: $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1) on ${PGHOST:-local}:${PGPORT:-5432}"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null

log "setup: extension, $ITEMS items x $LOCATIONS locations, a WMS that owns them"
sql <<SQL
CREATE EXTENSION inventory_sync;
CREATE SCHEMA bench;
-- GS1 mod-10 check digit of a body (weights 3,1,3,... from the right).
CREATE FUNCTION bench.gs1_check(body text) RETURNS int LANGUAGE sql IMMUTABLE STRICT AS \$\$
  SELECT (10 - sum(substr(body, length(body) - i, 1)::int * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END)::int % 10) % 10
    FROM generate_series(0, length(body) - 1) i
\$\$;
CREATE TABLE bench.items AS
  SELECT i AS idx, lpad(b || bench.gs1_check(b), 14, '0') AS gtin
    FROM generate_series(0, $ITEMS - 1) i, LATERAL (SELECT (950600300000 + i)::text AS b) s;
CREATE TABLE bench.locations AS
  SELECT j AS idx, b || bench.gs1_check(b) AS gln
    FROM generate_series(0, $LOCATIONS - 1) j, LATERAL (SELECT (950600400000 + j)::text AS b) s;
INSERT INTO inventory_sync.source (source, name, kind, role) VALUES ('bench_wms', 'Benchmark WMS', 'wms', current_user);
INSERT INTO inventory_sync.item (gtin, name) SELECT gtin::inventory_sync.gtin, 'Bench item ' || idx FROM bench.items;
INSERT INTO inventory_sync.location (gln, name, kind)
  SELECT gln::inventory_sync.gln, 'Bench DC ' || idx, 'warehouse' FROM bench.locations;
INSERT INTO inventory_sync.ownership (location, bucket, source)
  SELECT gln::inventory_sync.gln, NULL, 'bench_wms' FROM bench.locations;
-- the baseline: a plain table with the feed's columns
CREATE TABLE bench.bare_feed (gtin text, gln text, quantity text);
SQL

# feed_file <tag> <changed-every>: the CSV of one row per key; every <changed-every>-th key
# one unit more than in feed 1 (0: feed 1 itself).
feed_file() {
  local f=$WORK/feed_$1.csv
  sql -c "COPY (SELECT it.gtin, lo.gln, (1 + (g * 7) % 50 + CASE WHEN $2 > 0 AND g % GREATEST($2, 1) = 0 THEN 1 ELSE 0 END)::text
                  FROM generate_series(0, $ROWS - 1) g
                  JOIN bench.items it ON it.idx = g % $ITEMS
                  JOIN bench.locations lo ON lo.idx = g / $ITEMS
                 ORDER BY g) TO '$f' WITH (FORMAT csv)"
  echo "$f"
}

# The baseline: a bare COPY of the file into the plain table (emptied first).
time_bare() {   # file -> ns
  local t0 t1
  sql -c "TRUNCATE bench.bare_feed" -c "CHECKPOINT"
  t0=$(now_ns)
  sql -c "COPY bench.bare_feed FROM '$1' WITH (FORMAT csv)"
  t1=$(now_ns)
  [ "$(sql -c 'SELECT count(*) FROM bench.bare_feed')" = "$ROWS" ] || die "bare COPY loaded the wrong number of rows"
  echo $((t1 - t0))
}

# Ours: COPY into a temp table + ingest_snapshot, one transaction, one session. The
# NOTICEs go to stderr as they arrive; each is stamped with the client's clock.
time_ours() {   # file feed_id as_of_offset -> ns; writes $WORK/run_<feed_id>.txt
  local t0 t1
  sql -c "CHECKPOINT"
  t0=$(now_ns)
  sql -v ON_ERROR_STOP=1 > "$WORK/run_$2.txt" 2> >(while IFS= read -r line; do
      printf '[ingest %s] +%ss  %s\n' "$(date +%T)" "$(secs $(( $(now_ns) - t0 )))" "$line"; done >&2) <<SQL
BEGIN;
CREATE TEMP TABLE feed (gtin text, gln text, quantity text) ON COMMIT DROP;
COPY feed FROM '$1' WITH (FORMAT csv);
SELECT ingest_id, status, rows_read, rows_rejected, keys_counted, keys_accurate, accuracy,
       round(extract(epoch FROM finished_at - started_at)::numeric, 2)
  FROM inventory_sync.ingest_snapshot('bench_wms', 'feed', 'on_hand', now() - interval '$3', '$2',
                                      chunk_size => $CHUNK);
COMMIT;
SQL
  t1=$(now_ns)
  sleep 0.2   # let the NOTICE stamper finish its lines
  echo $((t1 - t0))
}

declare -A OURS=() BARE=()
for feed in new_keys existing_keys; do
  if [ $feed = new_keys ]; then f=$(feed_file 1 0); off='2 hours'; else f=$(feed_file 2 50); off='1 hour'; fi
  log "feed $feed: $ROWS rows, $(du -h "$f" | cut -f1) CSV"
  BARE[$feed]=$(time_bare "$f")
  log "  baseline: bare COPY into a plain table: $(secs ${BARE[$feed]}) s"
  log "  ours: COPY into a temp table + ingest_snapshot(chunk_size => $CHUNK):"
  OURS[$feed]=$(time_ours "$f" "BENCH-$feed" "$off")
  IFS='|' read -r id status read rejected counted accurate accuracy fn_secs < "$WORK/run_BENCH-$feed.txt"
  log "  ours: $(secs ${OURS[$feed]}) s end to end (ingest_snapshot alone: ${fn_secs} s); ingest $id: $status,"
  log "        $read rows read, $rejected rejected, $counted keys counted, $accurate accurate (accuracy $accuracy)"
  [ "$status" = applied ] && [ "$read" = "$ROWS" ] && [ "$counted" = "$ROWS" ] && [ "$rejected" = 0 ] \
    || die "feed $feed: not applied whole"
  if [ $feed = new_keys ]; then
    [ "$accurate" = 0 ] || die "feed $feed: new keys cannot be accurate"
  else
    want=$(( ROWS - (ROWS + 49) / 50 ))
    [ "$accurate" = "$want" ] || die "feed $feed: $accurate keys accurate, expected $want"
  fi
  rm -f "$f"
done

# The books: one count per key per feed, balances equal to the second feed.
chk=$(sql -c "SELECT (SELECT count(*) FROM inventory_sync.ledger WHERE kind = 'count') = 2 * $ROWS
                 AND (SELECT count(*) FROM inventory_sync.balance) = $ROWS
                 AND (SELECT sum(quantity) FROM inventory_sync.balance)
                     = (SELECT sum(quantity::numeric) FROM bench.bare_feed)")
[ "$chk" = t ] || die "ledger, balances and the feed disagree"
log "check: $((2 * ROWS)) counts in the ledger, $ROWS balances equal to the last feed"
log "variance report of the second feed: $(sql -c "SELECT count(*) FILTER (WHERE difference <> 0) || ' of ' || count(*) || ' keys differ'
                                                     FROM inventory_sync.snapshot_variance((SELECT ingest_id FROM inventory_sync.snapshot_ingest WHERE feed_id = 'BENCH-existing_keys'))")"

# The engine floor: the same number of counts on the same keys (the first feed's
# quantities, as of 30 minutes ago), COPY'd straight into the ledger.
f=$WORK/engine.csv
sql -c "COPY (SELECT 'count', 'bench_wms', 'ENGINE-' || g, (now() - interval '30 minutes')::text, it.gtin, lo.gln,
                     (1 + (g * 7) % 50)::text, 'count'
                FROM generate_series(0, $ROWS - 1) g
                JOIN bench.items it ON it.idx = g % $ITEMS
                JOIN bench.locations lo ON lo.idx = g / $ITEMS
               ORDER BY g) TO '$f' WITH (FORMAT csv)"
sql -c "CHECKPOINT"
log "engine floor: COPY of $ROWS counts straight into the ledger"
t0=$(now_ns)
sql -c "COPY inventory_sync.ledger (kind, source, source_event_id, event_time, gtin, location, quantity, reason)
          FROM '$f' WITH (FORMAT csv)"
t1=$(now_ns)
ENGINE=$((t1 - t0))
log "  $(secs $ENGINE) s"
chk=$(sql -c "SELECT (SELECT count(*) FROM inventory_sync.ledger WHERE kind = 'count') = 3 * $ROWS
                 AND (SELECT sum(quantity) FROM inventory_sync.balance)
                     = (SELECT sum(quantity) FROM inventory_sync.ledger WHERE source_event_id LIKE 'ENGINE-%')")
[ "$chk" = t ] || die "after the engine COPY: ledger and balances disagree"
rm -f "$f"
log "total time: $(( $(date +%s) - START ))s"

echo
rows_name=$([ "$ROWS" -eq 1000000 ] && echo 1m || echo "$ROWS")
for feed in new_keys existing_keys; do
  o=$(rate "$ROWS" "${OURS[$feed]}"); b=$(rate "$ROWS" "${BARE[$feed]}")
  echo "rate: feed $feed, $ROWS rows: ours $o rows/s ($(secs ${OURS[$feed]}) s), bare COPY $b rows/s ($(secs ${BARE[$feed]}) s)"
done
echo "rate: engine floor, $ROWS counts COPY'd into the ledger: $(rate "$ROWS" "$ENGINE") rows/s ($(secs $ENGINE) s)"
[ "$ROWS" -eq 1000000 ] || echo "note: measured with $ROWS rows, not 1,000,000 (BENCH_INGEST_ITEMS x BENCH_INGEST_LOCATIONS)"
echo
for feed in new_keys existing_keys; do
  awk -v name="ingest_${rows_name}_${feed}_vs_bare_copy" -v a="$(rate "$ROWS" "${OURS[$feed]}")" \
      -v b="$(rate "$ROWS" "${BARE[$feed]}")" \
    'BEGIN { printf "RESULT|%s|%.1f|%.1f|%.3f|-\n", name, a, b, a / b }'
done
awk -v name="ingest_${rows_name}_existing_keys_vs_engine_copy_of_counts" -v a="$(rate "$ROWS" "${OURS[existing_keys]}")" \
    -v b="$(rate "$ROWS" "$ENGINE")" 'BEGIN { printf "RESULT|%s|%.1f|%.1f|%.3f|-\n", name, a, b, a / b }'
