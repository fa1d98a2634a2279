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
