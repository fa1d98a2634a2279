#!/usr/bin/env bash
# bench/membership.sh: the set operations that recompute channel ATP in bulk, and how long
# a posting waits for them.
#
# Runs against an existing cluster (PGHOST/PGPORT/PGUSER, as pg_virtualenv sets them;
# needs a superuser and the extension installed), in a scratch database it creates and
# drops. BENCH_MEMBER_ITEMS items stocked at BENCH_MEMBER_LOCATIONS locations (bench/lib.sh,
# topo_build without channels: location 0 is the DC, the others stores), then, one after
# the other in that database, each one statement under statement_timeout
# (BENCH_MEMBER_TIMEOUT s; a statement cancelled there is reported as "timed out after N s"):
#
#   membership_new_channel_<L>_locations_x_<N>_items_s   INSERT INTO channel_location of
#                            a new channel (wide) over all L stocked locations of N items:
#                            L x N location ATP rows and N channel ATP rows written.
#   membership_join_dc_<R>_open_reservations_s   wide holds R open pooled reservations
#                            (BENCH_MEMBER_RESERVATIONS, made while it was dedicated, spread
#                            over the items); channel mkt joins the DC, so wide shares it and
#                            every pool is placed at one of its locations. After it, every
#                            reservation must still be open and verify_promises() empty.
#   membership_safety_stock_<N>_items_s   one UPDATE of the safety stock of every item at
#                            the DC (set beforehand, untimed, to 0): N location ATP changes
#                            moving two channels each.
#   membership_refresh_channel_atp_s   refresh_channel_atp(): every location ATP and
#                            channel ATP computed again (nothing changes).
#
# Each time is compared with a bare statement writing as many rows in the same database
# (baseline column; the ratio is ours / bare, so larger is slower):
#   new channel: INSERT ... SELECT of L x N rows into a table shaped like location_atp;
#   the others: the same of R, N and L x N rows.
#
# Posting stalls: while each statement runs, one client posts single receipts at a key
# the statement recomputes (the first item at the DC), one transaction after the other;
#   membership_<step>_posting_stall_max_s   the longest of those postings (seconds;
#                            baseline column: the median posting when nothing else runs).
# A posting waits for a membership change or a refresh (they hold channel's EXCLUSIVE
# lock from their start) and for the safety-stock change's promise keys.
#
# At the end verify() and verify_promises() must be empty and no channel ATP below zero
# (the run fails otherwise).
#
# Output: progress lines (with the load average before each step) and, for the collector,
#   RESULT|<benchmark>|<ours>|<baseline>|<ratio>|<target>
#
# Knobs (environment): BENCH_MEMBER_LOCATIONS (1000), BENCH_MEMBER_ITEMS (1000; 10000
# for the full size, which takes about ten minutes to stock), BENCH_MEMBER_RESERVATIONS
# (100000), BENCH_MEMBER_TIMEOUT (s per statement, 600), BENCH_DB
# (inventory_sync_bench_membership).
set -euo pipefail
BENCH_NAME=membership
source "$(dirname "$0")/lib.sh"

DB=${BENCH_DB:-inventory_sync_bench_membership}
LOCATIONS=${BENCH_MEMBER_LOCATIONS:-1000}
ITEMS=${BENCH_MEMBER_ITEMS:-1000}
RESERVATIONS=${BENCH_MEMBER_RESERVATIONS:-100000}
TIMEOUT=${BENCH_MEMBER_TIMEOUT:-600}
((LOCATIONS >= 2 && ITEMS >= 1 && RESERVATIONS >= 0 && TIMEOUT >= 1)) \
  || die "BENCH_MEMBER_LOCATIONS must be at least 2, BENCH_MEMBER_ITEMS and BENCH_MEMBER_TIMEOUT at least 1"

WORK=$(mktemp -d /tmp/inventory_sync_bench_membership.XXXXXX)
chmod 777 "$WORK"
START=$(date +%s)

cleanup() {
  [ -f "$WORK/poster.pid" ] && kill "$(cat "$WORK/poster.pid")" 2>/dev/null || true
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# One receipt of 1 unit of the first item at the DC per transaction, one after the other,
# each one's seconds appended to $1, until $WORK/stop exists.
poster() {   # out
  local n=0 t0 t1
  while [ ! -f "$WORK/stop" ]; do
    n=$((n + 1))
    t0=$(date +%s%N)
    sql -c "INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
              SELECT 'receipt', 'bench_wms', 'stall-$BASHPID-$n-' || clock_timestamp(), it.gtin::inventory_sync.gtin,
                     lo.gln::inventory_sync.gln, 'released', 1
                FROM bench.items it, bench.locations lo WHERE it.idx = 0 AND lo.idx = 0" >/dev/null
    t1=$(date +%s%N)
    awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.4f\n", ns / 1e9 }' >> "$1"
  done
}

# Times one statement while the poster runs; prints "<seconds or timed out> <max stall>".
with_poster() {   # label statement
  local out=$WORK/stall.$1 secs stall
  rm -f "$WORK/stop" "$out"
  : > "$out"
  poster "$out" &
  echo $! > "$WORK/poster.pid"
  sleep 1   # a few postings before the statement starts
  secs=$(timed_sql "$TIMEOUT" "$2") || true
  touch "$WORK/stop"
  wait "$(cat "$WORK/poster.pid")" || true
  rm -f "$WORK/poster.pid"
  stall=$(sort -n "$out" | tail -1)
  echo "${secs// /_} ${stall:-0}"
}

# A bare INSERT ... SELECT of n rows shaped like location_atp, in seconds.
bare_insert() {   # rows
  sql -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench.bare" \
      -c "CREATE TABLE bench.bare (item_gtin bigint, location bigint, min_shelf_life_days int, atp numeric,
                                   computed_on date, PRIMARY KEY (item_gtin, location, min_shelf_life_days))"
  timed_sql "$TIMEOUT" "INSERT INTO bench.bare SELECT g / $LOCATIONS, g % $LOCATIONS, 0, g, current_date
                          FROM generate_series(0, $1 - 1) g"
}

report() {   # name secs stall bare posting_median
  local secs=${2//_/ }
  if [[ $secs =~ ^[0-9.]+$ ]]; then
    echo "RESULT|$1_s|$secs|$4|$(awk -v a="$secs" -v b="$4" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')|n/a"
  else
    echo "RESULT|$1_s|$secs|$4|n/a|n/a"
  fi
  echo "RESULT|$1_posting_stall_max_s|$3|$5|$(awk -v a="$3" -v b="$5" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')|n/a"
}

log "cluster: $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1) on ${PGHOST:-local}:${PGPORT:-5432}"
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
sql -c "CREATE EXTENSION inventory_sync" -c "CREATE SCHEMA bench"
t0=$(date +%s)
topo_build "$ITEMS" "$LOCATIONS" no
sql -c "INSERT INTO inventory_sync.channel (channel, name, kind, reservation_ttl) VALUES
          ('wide', 'Endless aisle', 'endless_aisle', interval '1 day'),
          ('mkt', 'Marketplace', 'marketplace', interval '1 day')" \
    -c "VACUUM ANALYZE"
log "$ITEMS items x $LOCATIONS locations stocked in $(( $(date +%s) - t0 ))s (load average $(loadavg))"

# the posting alone
rm -f "$WORK/stop"; : > "$WORK/idle"
( poster "$WORK/idle" ) & p=$!
sleep 3; touch "$WORK/stop"; wait $p || true
POST_MEDIAN=$(median $(cat "$WORK/idle"))
log "single-row posting at the DC, nothing else running: median ${POST_MEDIAN}s over $(wc -l < "$WORK/idle") postings"

# (a) a new channel over every location
log "new channel over $LOCATIONS locations x $ITEMS items (load average $(loadavg))"
BARE_A=$(bare_insert $((LOCATIONS * ITEMS)))
read -r SECS_A STALL_A < <(with_poster new "INSERT INTO inventory_sync.channel_location (channel, location)
                                            SELECT 'wide', gln::inventory_sync.gln FROM bench.locations")
log "  INSERT INTO channel_location: $SECS_A s (bare INSERT of $((LOCATIONS * ITEMS)) rows: $BARE_A s); longest posting meanwhile: $STALL_A s"
n=$(sql -c "SELECT count(*) FROM inventory_sync.channel_atp WHERE channel = 'wide'")
[ "$n" = "$ITEMS" ] || die "new channel: $n channel ATP rows, expected $ITEMS"

# (b) a channel joining the DC of a channel holding pooled reservations
t0=$(date +%s)
if ((RESERVATIONS > 0)); then
  sql -c "SELECT count(inventory_sync.reserve('wide', 'open-' || g, '1', it.gtin::inventory_sync.gtin, 1))
            FROM generate_series(1, $RESERVATIONS) g JOIN bench.items it ON it.idx = g % $ITEMS" >/dev/null
fi
sql -c "VACUUM ANALYZE"
log "$RESERVATIONS open pooled reservations in wide made in $(( $(date +%s) - t0 ))s; mkt joins the DC (load average $(loadavg))"
BARE_B=$(bare_insert "$RESERVATIONS")
read -r SECS_B STALL_B < <(with_poster join "INSERT INTO inventory_sync.channel_location (channel, location)
                                             SELECT 'mkt', gln::inventory_sync.gln FROM bench.locations WHERE idx = 0")
log "  INSERT INTO channel_location of mkt at the DC: $SECS_B s (bare INSERT of $RESERVATIONS rows: $BARE_B s); longest posting meanwhile: $STALL_B s"
if [[ $SECS_B =~ ^[0-9.]+$ ]]; then
  chk=$(sql -c "SELECT (SELECT count(*) FROM inventory_sync.verify_promises()) || '/'
                       || (SELECT count(*) FROM inventory_sync.reservation WHERE status = 'open' AND location IS NOT NULL)")
  [ "$chk" = "0/$RESERVATIONS" ] || die "after mkt joined: verify_promises() rows / reservations held at a location = $chk"
  log "check: after mkt joined, $RESERVATIONS reservations open, each held at a location; verify_promises() holds"
fi

# (c) the safety stock of every item at the DC
sql -c "INSERT INTO inventory_sync.safety_stock (item_gtin, location, quantity)
          SELECT it.gtin::inventory_sync.gtin, lo.gln::inventory_sync.gln, 0
            FROM bench.items it, bench.locations lo WHERE lo.idx = 0" -c "VACUUM ANALYZE"
log "safety stock of $ITEMS items at the DC (load average $(loadavg))"
BARE_C=$(bare_insert "$ITEMS")
read -r SECS_C STALL_C < <(with_poster safety "UPDATE inventory_sync.safety_stock SET quantity = 5")
log "  UPDATE safety_stock: $SECS_C s (bare INSERT of $ITEMS rows: $BARE_C s); longest posting meanwhile: $STALL_C s"

# (d) refresh_channel_atp()
log "refresh_channel_atp() (load average $(loadavg))"
BARE_D=$(bare_insert $((LOCATIONS * ITEMS)))
read -r SECS_D STALL_D < <(with_poster refresh "SELECT inventory_sync.refresh_channel_atp()")
log "  refresh_channel_atp(): $SECS_D s (bare INSERT of $((LOCATIONS * ITEMS)) rows: $BARE_D s); longest posting meanwhile: $STALL_D s"

chk=$(sql -c "SELECT (SELECT count(*) FROM inventory_sync.verify_promises()) || '/' || (SELECT count(*) FROM inventory_sync.verify())
                     || '/' || (SELECT min(atp) >= 0 FROM inventory_sync.channel_atp)")
[ "$chk" = "0/0/true" ] || die "verify_promises()/verify()/ATP >= 0 = $chk"
log "check: verify(), verify_promises() hold; no channel ATP below zero"

echo
log "total time: $(( $(date +%s) - START ))s, load average $(loadavg)"
report "membership_new_channel_${LOCATIONS}_locations_x_${ITEMS}_items" "$SECS_A" "$STALL_A" "$BARE_A" "$POST_MEDIAN"
report "membership_join_dc_${RESERVATIONS}_open_reservations" "$SECS_B" "$STALL_B" "$BARE_B" "$POST_MEDIAN"
report "membership_safety_stock_${ITEMS}_items" "$SECS_C" "$STALL_C" "$BARE_C" "$POST_MEDIAN"
report "membership_refresh_channel_atp" "$SECS_D" "$STALL_D" "$BARE_D" "$POST_MEDIAN"
