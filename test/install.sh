# Sourced by test/run.sh, demo/run.sh and bench/run.sh: the Debian packages, then a build
# and install of the extension, holding the machine-wide lock (the install replaces files
# in the server's shared directories; one command at a time may use them). The lock stays
# held on fd 9 until the caller exits; start servers with 9>&- so they never inherit it.
#
# The PostgreSQL to use is PG_CONFIG's: when PG_CONFIG alone is given, its major becomes
# PG_MAJOR; otherwise PG_MAJOR (default 15, Debian 12's) picks PG_CONFIG when it is of that
# major, else Debian's layout for that major, else the first pg_config on PATH of that major.
# PGBIN is that pg_config's --bindir and leads PATH. Resolved again after test/deps.sh (on a
# fresh machine the server is not installed yet when this file is sourced).
major_of() { "$1" --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p'; }
if [ -z "${PG_MAJOR:-}" ] && [ -n "${PG_CONFIG:-}" ] && [ -x "$(command -v "$PG_CONFIG")" ]; then
  PG_MAJOR=$(major_of "$PG_CONFIG")
fi
PG_MAJOR=${PG_MAJOR:-15}
resolve_pg_config() {
  local c
  for c in "${PG_CONFIG:-}" "/usr/lib/postgresql/$PG_MAJOR/bin/pg_config" "$(command -v pg_config)"; do
    [ -n "$c" ] && [ -x "$(command -v "$c")" ] && [ "$(major_of "$c")" = "$PG_MAJOR" ] || continue
    PG_CONFIG=$(command -v "$c")
    PGBIN=$("$PG_CONFIG" --bindir)
    export PG_CONFIG PATH=$PGBIN:$PATH
    return 0
  done
  return 1
}
resolve_pg_config || true
export PG_MAJOR

install_extension() {
  local who=$1
  exec 9>/tmp/inventory_sync.make-test.lock
  flock 9
  bash test/deps.sh || { echo "$who: could not install the packages it needs"; exit 1; }
  resolve_pg_config || { echo "$who: no pg_config of PostgreSQL $PG_MAJOR (set PG_CONFIG)"; exit 1; }
  echo "=== build and install ==="
  make -s PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "$who: build failed"; exit 1; }
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "$who: install failed"; exit 1; }
}
