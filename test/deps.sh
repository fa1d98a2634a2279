#!/usr/bin/env bash
# Installs the Debian packages the build, the tests, the package build, the demo and the
# benchmarks need for PostgreSQL $PG_MAJOR (default 15: Debian 12's; test/majors.sh runs this in a trixie chroot
# for 17 and a sid one for 18), only when something is missing (so a second run is quick and
# offline).
set -euo pipefail

M=${PG_MAJOR:-15}
PKGS=(
  postgresql-$M postgresql-server-dev-$M postgresql-$M-pgtap postgresql-$M-partman
  libtap-parser-sourcehandler-pgtap-perl libipc-run-perl
  postgresql-$M-wal2json python3-psycopg2 build-essential
  debhelper postgresql-server-dev-all dpkg-dev
)
# The tools users put around the extension, for the TAP tests 030-032: installed where the
# distribution ships them for this major; a test whose tool is missing skips, saying so.
TOOLS=(pgbouncer postgresql-$M-cron prometheus-postgres-exporter)
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

# (a tool apt does not know, for this major or at all, is left out: that keeps a second run offline)
tools=()
for p in "${TOOLS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
  [ ${#missing[@]} -gt 0 ] || apt-cache show "$p" >/dev/null 2>&1 && tools+=("$p")
done

[ ${#missing[@]} -eq 0 ] && [ ${#tools[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]} ${tools[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" postgresql-$M postgresql-server-dev-$M >/dev/null
fi
for p in "${tools[@]}"; do
  if apt-cache show "$p" >/dev/null 2>&1; then
    $SUDO apt-get install -y -qq --no-install-recommends "$p" >/dev/null || echo "deps: could not install $p (its test skips)"
  else
    echo "deps: $p is not in this distribution (its test skips)"
  fi
done
