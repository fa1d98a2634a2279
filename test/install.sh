# Sourced by test/run.sh, demo/run.sh and bench/run.sh: the Debian packages, then a build
# and install of the extension, holding the machine-wide lock (the install replaces files
# in the server's shared directories; one command at a time may use them). The lock stays
# held on fd 9 until the caller exits; start servers with 9>&- so they never inherit it.
PGBIN=/usr/lib/postgresql/15/bin
export PG_CONFIG=$PGBIN/pg_config
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
