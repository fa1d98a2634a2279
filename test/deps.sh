#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests, the demo and the benchmarks need,
# only when something is missing (so a second run is quick and offline).
set -euo pipefail

PKGS=(
  postgresql-15 postgresql-contrib postgresql-server-dev-15 postgresql-15-pgtap
  libtap-parser-sourcehandler-pgtap-perl libipc-run-perl
  postgresql-15-wal2json python3-psycopg2 build-essential
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# The server must be at least 15.19 (output_plugin_libraries) and match the headers we build against.
if [ ${#missing[@]} -eq 0 ]; then
  srv=$(dpkg-query -W -f='${Version}' postgresql-15)
  dev=$(dpkg-query -W -f='${Version}' postgresql-server-dev-15)
  [ "$srv" = "$dev" ] || missing+=(postgresql-15 postgresql-server-dev-15)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" postgresql-15 postgresql-server-dev-15 >/dev/null
