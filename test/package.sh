#!/usr/bin/env bash
# The release files and the Debian package, checked for real:
#   - META.json (PGXN meta spec 1.0.0), CHANGELOG.md and debian/changelog name the version of
#     inventory_sync.control;
#   - dpkg-buildpackage builds postgresql-<major>-inventory-sync with pg_buildext from a
#     scratch copy of the working tree (nothing is written beside the tree);
#   - the package holds the library and the scripts where this major's pg_config says;
#   - dpkg -i installs it, CREATE EXTENSION (and an update from the previous release) work
#     from the package's files alone, dpkg -r removes it, and `make install` puts this build
#     back, so the machine is left as it was.
# Prints TAP lines; exits non-zero on a failure. Installing the package replaces the
# extension installed for the whole machine: hold /tmp/inventory_sync.lock.
#
#   test/package.sh            build, install, and test in a throwaway cluster of its own
#   test/package.sh --inside   on the running server (PGHOST, PGPORT... as for psql): the
#                              `package` suite of test/run.sh
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source test/install.sh

if [ "${1:-}" != "--inside" ]; then
  install_extension "test/package.sh"
  pg_virtualenv -t -v "$PG_MAJOR" -o lc_messages=C bash "$ROOT/test/package.sh" --inside 9>&-
  exit
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }

VERSION=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" inventory_sync.control)
PREV=$(sed -n 's/^PREVVERSION *= *//p' Makefile)
PKG=postgresql-$PG_MAJOR-inventory-sync
LIBDIR=$("$PG_CONFIG" --pkglibdir)
EXTDIR=$("$PG_CONFIG" --sharedir)/extension

# --- release files ----------------------------------------------------------------------
python3 - "$VERSION" <<'PY'
import json, re, sys
version = sys.argv[1]
meta = json.load(open("META.json"))
problems = [k for k in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec")
            if k not in meta]
if meta.get("meta-spec", {}).get("version") != "1.0.0":
    problems.append("meta-spec version is not 1.0.0")
if meta.get("version") != version:
    problems.append("version %s, control file %s" % (meta.get("version"), version))
ext = meta.get("provides", {}).get("inventory_sync", {})
if ext.get("version") != version or ext.get("file") != "sql/inventory_sync--%s.sql" % version:
    problems.append("provides.inventory_sync does not name %s and its install script" % version)
if meta.get("license") != "postgresql":
    problems.append("license is not postgresql")
pg = meta.get("prereqs", {}).get("runtime", {}).get("requires", {}).get("PostgreSQL", "")
if not re.fullmatch(r"15\.0\.0", pg):
    problems.append("runtime prereq PostgreSQL is %r, not 15.0.0" % pg)
if not re.search(r"^## %s\b" % re.escape(version), open("CHANGELOG.md").read(), re.M):
    problems.append("CHANGELOG.md has no section for %s" % version)
for p in problems:
    print("# " + p)
sys.exit(1 if problems else 0)
PY
ok $? "META.json (meta spec 1.0.0) and CHANGELOG.md describe $VERSION"
debver=$(dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
[ "$debver" = "$VERSION" ]; ok $? "debian/changelog's version ($debver) is the control file's ($VERSION)"
grep -q 'PostgreSQL' LICENSE && grep -q 'the inventory_sync authors' LICENSE; ok $? "LICENSE: the PostgreSQL licence"

# --- build ------------------------------------------------------------------------------
SCRATCH=$(mktemp -d /tmp/inventory_sync_package.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
mkdir "$SCRATCH/src"
git ls-files -z --cached --others --exclude-standard 2>/dev/null |
  xargs -0 -I{} sh -c '[ -e "$1" ] && printf "%s\0" "$1"' _ {} |
  tar --null -T - -cf - | tar -C "$SCRATCH/src" -xf -
[ -f "$SCRATCH/src/debian/rules" ] || { rm -rf "$SCRATCH/src"; mkdir "$SCRATCH/src"
  tar --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | tar -C "$SCRATCH/src" -xf -; }
start=$SECONDS
# debian/control lists the package of each major this machine builds for (pg_buildext
# updatecontrol): regenerated here for the majors installed, not checked against Debian 12's.
(cd "$SCRATCH/src" && PG_UPDATECONTROL=yes dpkg-buildpackage -us -uc -b) > "$SCRATCH/build.log" 2>&1
rc=$?
DEB=$(ls "$SCRATCH"/${PKG}_"$VERSION"_*.deb 2>/dev/null | head -n 1)
[ "$rc" = 0 ] && [ -n "$DEB" ]; ok $? "dpkg-buildpackage -us -uc -b built ${PKG}_$VERSION in $((SECONDS - start)) s"
if [ -z "$DEB" ]; then
  tail -n 30 "$SCRATCH/build.log" | sed 's/^/# /'
  echo "1..$n"; exit 1
fi
dpkg-deb -c "$DEB" | awk '{ print $NF }' | sed 's|^\./|/|' > "$SCRATCH/contents"
missing=
for f in "$LIBDIR/inventory_sync.so" "$EXTDIR/inventory_sync.control" "$EXTDIR/inventory_sync--$VERSION.sql" \
         "$EXTDIR/inventory_sync--$PREV.sql" "$EXTDIR/inventory_sync--$PREV--$VERSION.sql"; do
  grep -qx "$f" "$SCRATCH/contents" || missing="$missing $f"
done
[ -z "$missing" ]; ok $? "the package holds the library and the scripts where pg_config says${missing:+ (missing:$missing)}"
dpkg-deb -f "$DEB" Depends | grep -q "postgresql-$PG_MAJOR"; ok $? "it depends on postgresql-$PG_MAJOR ($(dpkg-deb -f "$DEB" Depends))"

# --- install, use, remove ---------------------------------------------------------------
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'install ok installed'; then
  skip "$PKG was installed before this run: left alone, not reinstalled or removed"
  echo "1..$n"; [ "$failed" = 0 ]; exit
fi
$SUDO dpkg -i "$DEB" > "$SCRATCH/dpkg.log" 2>&1; rc=$?
[ "$rc" = 0 ] || sed 's/^/# /' "$SCRATCH/dpkg.log"
ok $rc "dpkg -i installs $PKG"
owner=$(dpkg-query -S "$LIBDIR/inventory_sync.so" 2>/dev/null | cut -d: -f1)
[ "$owner" = "$PKG" ]; ok $? "inventory_sync.so belongs to $PKG"

dropdb --if-exists package_check >/dev/null 2>&1; dropdb --if-exists package_upgrade >/dev/null 2>&1
createdb package_check && createdb package_upgrade
got=$(psql -X -At -v ON_ERROR_STOP=1 -d package_check -c 'CREATE EXTENSION inventory_sync' \
        -c "SELECT extversion FROM pg_extension WHERE extname = 'inventory_sync'" \
        -c "SELECT inventory_sync.gtin('9506000134352')::text" \
        -c 'SELECT count(*) FROM inventory_sync.verify()' 2>&1 | tr '\n' ' ')
[ "$got" = "CREATE EXTENSION $VERSION 09506000134352 0 " ]; ok $? "CREATE EXTENSION from the package: version, the library's gtin, verify() ($got)"
got=$(psql -X -At -v ON_ERROR_STOP=1 -d package_upgrade -c "CREATE EXTENSION inventory_sync VERSION '$PREV'" \
        -c 'ALTER EXTENSION inventory_sync UPDATE' \
        -c "SELECT extversion FROM pg_extension WHERE extname = 'inventory_sync'" 2>&1 | tr '\n' ' ')
[ "$got" = "CREATE EXTENSION ALTER EXTENSION $VERSION " ]; ok $? "CREATE EXTENSION VERSION '$PREV' then UPDATE from the package's scripts ($got)"
dropdb package_check; dropdb package_upgrade

$SUDO dpkg -r "$PKG" > "$SCRATCH/dpkg.log" 2>&1; rc=$?
[ "$rc" = 0 ] && [ ! -e "$LIBDIR/inventory_sync.so" ] && [ ! -e "$EXTDIR/inventory_sync.control" ]
ok $? "dpkg -r removes it, library and control file with it"
$SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1 && [ -f "$LIBDIR/inventory_sync.so" ]
ok $? "make install puts this build back"

echo "1..$n"
[ "$failed" = 0 ]
