#!/usr/bin/env bash
# Installs the Debian packages the build, the tests, the demo and the benchmarks need for
# PostgreSQL $PG_MAJOR (default 15: Debian 12's; test/majors.sh runs this in a trixie chroot
# for 17 and a sid one for 18), only when something is missing (so a second run is quick and
# offline).
set -euo pipefail

M=${PG_MAJOR:-15}
PKGS=(
  postgresql-$M postgresql-server-dev-$M postgresql-$M-pgtap
  libtap-parser-sourcehandler-pgtap-perl libipc-run-perl
  postgresql-$M-wal2json python3-psycopg2 build-essential
)
# (contrib is part of postgresql-N; the metapackage is kept where it always was)
[ "$M" = 15 ] && PKGS+=(postgresql-contrib)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# The server must be at least 15.19 (output_plugin_libraries) and match the headers we build against.
if [ ${#missing[@]} -eq 0 ]; then
  srv=$(dpkg-query -W -f='${Version}' postgresql-$M)
  dev=$(dpkg-query -W -f='${Version}' postgresql-server-dev-$M)
  [ "$srv" = "$dev" ] || missing+=(postgresql-$M postgresql-server-dev-$M)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" postgresql-$M postgresql-server-dev-$M >/dev/null
