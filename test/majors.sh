#!/usr/bin/env bash
# `make test PG="15 17 18"` (or PG=all): runs test/run.sh once per PostgreSQL major and prints
# one summary line per major and the total. The host's own major (15, Debian 12) runs on the
# host exactly as `make test` does; every other major runs in a Debian chroot that has it
# (17: trixie, 18: sid), kept under a cache directory and reused, so only the first run
# downloads anything:
#
#   $INVENTORY_SYNC_CACHE (default /var/cache/inventory_sync)/chroot-<suite>
#
# For such a major this script (as root) creates the chroot if needed (debootstrap
# --variant=minbase, postgresql-common with no main cluster), mounts /proc and /dev into it,
# copies the working tree (tracked and untracked files, not ignored ones) to /build in it and
# runs `PG_MAJOR=<major> test/run.sh` there: test/deps.sh installs that major's packages,
# and the suites run as at home (the clusters belong to the chroot's postgres user). On exit,
# whatever way it exits, nothing started in the chroot is left running and nothing is left
# mounted. SUITES is passed through.
#
#   test/majors.sh 17            one major
#   test/majors.sh 15 17 18      several, in order; `all` means 15 17 18
#   test/majors.sh --shell 17    an interactive shell in that major's chroot (same mounts)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOST_MAJOR=15
ALL_MAJORS="15 17 18"
CACHE=${INVENTORY_SYNC_CACHE:-/var/cache/inventory_sync}

# The Debian suite that ships each major (its postgresql-N, -server-dev-N, -pgtap, -wal2json).
suite_of() {
  case $1 in
  17) echo trixie ;;
  18) echo sid ;;
  *) return 1 ;;
  esac
}

CHROOT=
MOUNTED=()

# Stops what this run started inside the chroot (processes whose root is the chroot), then
# unmounts, innermost first. Runs from the EXIT trap.
release_chroot() {
  [ -n "$CHROOT" ] || return 0
  local pid root tries
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    local left=()
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
      root=$(readlink "/proc/$pid/root" 2>/dev/null) || continue
      [ "$root" = "$CHROOT" ] && left+=("$pid")
    done
    [ ${#left[@]} -eq 0 ] && break
    if [ "$tries" -eq 1 ]; then
      echo "majors: stopping ${#left[@]} process(es) left in $CHROOT"
      kill -TERM "${left[@]}" 2>/dev/null
    elif [ "$tries" -ge 5 ]; then
      kill -KILL "${left[@]}" 2>/dev/null
    fi
    sleep 1
  done
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount -R "${MOUNTED[$i]}" 2>/dev/null || umount -R -l "${MOUNTED[$i]}" ||
      echo "majors: could not unmount ${MOUNTED[$i]}"
  done
  MOUNTED=()
  CHROOT=
}
trap release_chroot EXIT
trap 'exit 130' INT TERM

mount_chroot() {
  local dir=$1
  CHROOT=$dir
  mountpoint -q "$dir/proc" || { mount -t proc proc "$dir/proc" && MOUNTED+=("$dir/proc"); }
  if ! mountpoint -q "$dir/dev"; then
    # recursive (the server needs /dev/shm), and slave: nothing mounted below it here
    # reaches the host's /dev, and unmounting it here leaves the host's alone
    mount --rbind /dev "$dir/dev" && mount --make-rslave "$dir/dev" && MOUNTED+=("$dir/dev")
  fi
}

# The first port from $1 on that nothing listens on.
free_port() {
  local p
  for ((p = $1; p < $1 + 20; p++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "$1"
}

in_chroot() {
  local dir=$1; shift
  chroot "$dir" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# Creates $CACHE/chroot-<suite> once: a minimal Debian with postgresql-common configured to
# create no cluster on its own, and apt allowed to use sid's Release file past its date.
# test/deps.sh adds the major's packages on the first run.
provision() {
  local suite=$1 dir=$2
  [ -f "$dir/.inventory_sync-chroot" ] && return 0
  command -v debootstrap >/dev/null || {
    echo "majors: installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || return 1
  }
  echo "majors: creating the $suite chroot in $dir (once; later runs reuse it)"
  if [ ! -x "$dir.new/usr/bin/apt-get" ] || [ ! -f "$dir.new/.debootstrap-done" ]; then
    rm -rf "$dir.new"
    debootstrap --variant=minbase "$suite" "$dir.new" > "$CACHE/debootstrap-$suite.log" 2>&1 || {
      echo "majors: debootstrap $suite failed, see $CACHE/debootstrap-$suite.log"; return 1; }
    touch "$dir.new/.debootstrap-done"
  fi
  printf '%s\n' 'Acquire::Check-Valid-Until "false";' 'APT::Install-Recommends "false";' \
    > "$dir.new/etc/apt/apt.conf.d/90inventory-sync"
  # no service starts inside the chroot while packages are installed
  printf '#!/bin/sh\nexit 101\n' > "$dir.new/usr/sbin/policy-rc.d"
  chmod 755 "$dir.new/usr/sbin/policy-rc.d"
  mount_chroot "$dir.new"
  in_chroot "$dir.new" bash -c '
    set -e
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql-common >/dev/null
    sed -i "s/^#\? *create_main_cluster *=.*/create_main_cluster = false/" /etc/postgresql-common/createcluster.conf
    grep -q "^create_main_cluster = false" /etc/postgresql-common/createcluster.conf' || {
      echo "majors: could not install postgresql-common in the $suite chroot"; release_chroot; return 1; }
  release_chroot
  touch "$dir.new/.inventory_sync-chroot"
  mv "$dir.new" "$dir"
}

# Copies the working tree (what git would commit: tracked and untracked, not ignored) into
# the chroot, replacing the previous copy.
copy_tree() {
  local dest=$1
  rm -rf "$dest"; mkdir -p "$dest"
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
       xargs -0 -I{} sh -c '[ -e "$1" ] && printf "%s\0" "$1"' _ {} |
       tar --null -T - -cf -) | tar -C "$dest" -xf -
  else
    (cd "$ROOT" && tar --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - .) | tar -C "$dest" -xf -
  fi
}

# Runs the suites for one major (test/run.sh's output and exit status).
run_major() {
  local major=$1 suite dir rc
  if [ "$major" = "$HOST_MAJOR" ]; then
    (cd "$ROOT" && env -u PG PG_MAJOR="$major" bash test/run.sh)
    return
  fi
  suite=$(suite_of "$major") || { echo "majors: PostgreSQL $major is not supported (supported: $ALL_MAJORS)"; return 2; }
  [ "$(id -u)" -eq 0 ] || { echo "majors: PostgreSQL $major runs in a chroot and needs root"; return 2; }
  mkdir -p "$CACHE"
  dir=$CACHE/chroot-$suite
  exec 8>"$CACHE/chroot-$suite.lock"
  flock 8
  provision "$suite" "$dir" || return 1
  copy_tree "$dir/build/inventory_sync"
  mount_chroot "$dir"
  # The chroot shares the host's network but not its cluster list: its throwaway cluster
  # gets a port of its own, away from the host's (5432 and up).
  in_chroot "$dir" env PG_MAJOR="$major" SUITES="${SUITES:-}" PGPORT="$(free_port $((5400 + major * 20)))" \
    bash -c 'cd /build/inventory_sync && [ -n "$SUITES" ] || unset SUITES; exec bash test/run.sh'
  rc=$?
  release_chroot
  exec 8>&-
  return $rc
}

if [ "${1:-}" = "--shell" ]; then
  suite=$(suite_of "${2:-}") || { echo "usage: test/majors.sh --shell 17|18"; exit 2; }
  dir=$CACHE/chroot-$suite
  exec 8>"$CACHE/chroot-$suite.lock"; flock 8
  provision "$suite" "$dir" || exit 1
  mount_chroot "$dir"
  in_chroot "$dir" bash -l
  exit
fi

majors=()
for m in "$@"; do
  if [ "$m" = all ]; then majors+=($ALL_MAJORS); else majors+=($m); fi
done
[ ${#majors[@]} -gt 0 ] || majors=($HOST_MAJOR)

lines=()
failures=()
total_ok=0; total_bad=0
for major in "${majors[@]}"; do
  echo
  echo "######## PostgreSQL $major ########"
  log=$(mktemp /tmp/inventory_sync_major.XXXXXX)
  start=$SECONDS
  # (not a pipeline: run_major must run in this shell, whose EXIT trap releases the chroot)
  run_major "$major" > >(tee "$log") 2>&1
  rc=$?
  wait $!
  secs=$((SECONDS - start))
  # test/run.sh ends with "N passed, M failed"
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  ok=0; bad=1
  if [ -n "$last" ]; then
    ok=${last%% passed*}; bad=${last#*, }; bad=${bad%% failed}
    [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
  fi
  # test/run.sh lists what failed, by name, after its summary
  while IFS= read -r f; do failures+=("PostgreSQL $major ${f#  }"); done \
    < <(sed -n '/^=== what failed ===$/,/^[0-9]* passed, [0-9]* failed$/p' "$log" | grep '^  ')
  rm -f "$log"
  lines+=("$(printf '  PostgreSQL %-3s %5d passed  %4d failed  %5d s' "$major" "$ok" "$bad" "$secs")")
  total_ok=$((total_ok + ok)); total_bad=$((total_bad + bad))
done

echo
echo "=== summary by major ==="
printf '%s\n' "${lines[@]}"
echo "$total_ok passed, $total_bad failed"
if [ ${#failures[@]} -gt 0 ]; then
  echo "=== what failed ==="
  printf '  %s\n' "${failures[@]:0:20}"
fi
[ "$total_bad" -eq 0 ]
