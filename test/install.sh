# Sourced by test/run.sh, demo/run.sh and bench/run.sh: the Debian packages, then a build
# and install of the extension, holding the machine-wide lock (the install replaces files
# in the server's shared directories; one command at a time may use them). The lock stays
# held on fd 9 until the caller exits; start servers with 9>&- so they never inherit it.
#
# The PostgreSQL major is PG_MAJOR (default 15, Debian 12's), or that of PG_CONFIG when only
# PG_CONFIG is given; PGBIN, PG_CONFIG and PATH follow it.
if [ -z "${PG_MAJOR:-}" ] && [ -n "${PG_CONFIG:-}" ] && [ -x "$PG_CONFIG" ]; then
  PG_MAJOR=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
  PGBIN=$("$PG_CONFIG" --bindir)
else
  PG_MAJOR=${PG_MAJOR:-15}
  PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
  PG_CONFIG=$PGBIN/pg_config
fi
export PG_MAJOR PG_CONFIG
export PATH=$PGBIN:$PATH

install_extension() {
  local who=$1
  exec 9>/tmp/inventory_sync.make-test.lock
  flock 9
  bash test/deps.sh || { echo "$who: could not install the packages it needs"; exit 1; }
  echo "=== build and install ==="
  make -s PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "$who: build failed"; exit 1; }
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "$who: install failed"; exit 1; }
}
