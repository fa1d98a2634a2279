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
