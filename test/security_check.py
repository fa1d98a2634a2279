#!/usr/bin/env python3
"""The security rules of docs/security.md, checked against a database's catalog.

Run by the "security" suite of `make test` against a fresh database with the extension
installed (and against one upgraded from the previous release). Fails when:

  1. a function that runs with raised rights (SECURITY DEFINER) has no search_path, or
     any function's search_path does not end in pg_temp;
  2. the SECURITY DEFINER functions differ from the page's "Raised rights" table;
  3. an internal function (name starting with "_", or a trigger function) is executable
     by PUBLIC or one of the product's roles, unless the page's "Internal helpers" table
     lists it for exactly that role (and it then must not raise rights);
  4. an API function's EXECUTE grants differ from the page's "Function rights" table, or
     a function is missing from that table;
  5. a function has no COMMENT;
  6. an API role may UPDATE, DELETE or TRUNCATE the ledger or a change log.

Usage: security_check.py DBNAME [docs/security.md]   (PGHOST/PGPORT/PGUSER from the environment)
Prints TAP ("ok N - ..." / "not ok N - ...") and exits 1 when a check failed.
"""
import os
import re
import subprocess
import sys

ROLES = ["PUBLIC", "reader", "writer", "admin"]
ROLE_NAME = {"PUBLIC": "public", "reader": "inventory_sync_reader",
             "writer": "inventory_sync_writer", "admin": "inventory_sync_admin"}
# A role may execute what the roles it is a member of may (admin > writer > reader).
INCLUDES = {"PUBLIC": ["PUBLIC", "reader", "writer", "admin"], "reader": ["reader", "writer", "admin"],
            "writer": ["writer", "admin"], "admin": ["admin"], "no API role": []}

ROW = re.compile(r"^\|\s*`([a-z_0-9]+\([^`]*\))`\s*\|\s*([^|]*?)\s*\|(?:\s*([^|]*?)\s*\|)?")


def psql(db, sql):
    # the page's signatures name the extension's types unqualified
    env = dict(os.environ, PGOPTIONS="-c search_path=inventory_sync")
    out = subprocess.run(["psql", "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit("security_check: psql failed: " + out.stderr.strip())
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def tables(page):
    """Rows of the page's tables, by the heading they stand under: {heading: [(sig, c2, c3)]}."""
    found, heading = {}, None
    with open(page, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                heading = line.strip("# \n")
            m = ROW.match(line)
            if m:
                found.setdefault(heading, []).append(m.groups())
    return found


def main():
    db = sys.argv[1]
    page = sys.argv[2] if len(sys.argv) > 2 else "docs/security.md"
    doc = tables(page)
    results = []

    def check(name, problems):
        results.append((name, problems))

    # The page's signatures, resolved by the server (so spelling and spacing do not matter).
    def resolve(rows):
        if not rows:
            return {}
        values = ", ".join("(%d, %s)" % (i, "'" + sig.replace("'", "''") + "'") for i, (sig, _, _) in enumerate(rows))
        got = psql(db, "SELECT i, to_regprocedure(s)::oid FROM (VALUES %s) v(i, s)" % values)
        return {int(i): (oid or None) for i, oid in got}

    funcs = psql(db, r"""
        SELECT p.oid, p.oid::regprocedure::text, p.prosecdef,
               coalesce((SELECT c FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%'), ''),
               p.proname LIKE '\_%' OR p.prorettype = 'trigger'::regtype,
               EXISTS (SELECT FROM pg_type t WHERE p.oid = ANY (ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::oid[]))
               OR EXISTS (SELECT FROM pg_operator o WHERE o.oprcode = p.oid)
               OR EXISTS (SELECT FROM pg_amproc a WHERE a.amproc = p.oid)
               OR EXISTS (SELECT FROM pg_cast c WHERE c.castfunc = p.oid),
               has_function_privilege('public', p.oid, 'EXECUTE'),
               has_function_privilege('inventory_sync_reader', p.oid, 'EXECUTE'),
               has_function_privilege('inventory_sync_writer', p.oid, 'EXECUTE'),
               has_function_privilege('inventory_sync_admin', p.oid, 'EXECUTE'),
               obj_description(p.oid, 'pg_proc') IS NOT NULL
          FROM pg_proc p WHERE p.pronamespace = 'inventory_sync'::regnamespace ORDER BY 2""")
    info = {}
    for oid, sig, secdef, sp, internal, support, pub, rd, wr, ad, commented in funcs:
        info[oid] = dict(sig=sig, secdef=secdef == "t", sp=sp, internal=internal == "t", support=support == "t",
                         may={"PUBLIC": pub == "t", "reader": rd == "t", "writer": wr == "t", "admin": ad == "t"},
                         commented=commented == "t")

    # 1. search_path
    bad = []
    for f in info.values():
        if f["secdef"] and not f["sp"]:
            bad.append("%s runs with raised rights and has no search_path" % f["sig"])
        elif f["sp"] and not re.search(r"(^|[ ,=])pg_temp$", f["sp"]):
            bad.append("%s: %s does not end in pg_temp" % (f["sig"], f["sp"]))
    check("every SECURITY DEFINER function fixes its search_path, and every search_path ends in pg_temp", bad)

    # 2. raised rights as documented
    raised = doc.get("Raised rights", [])
    oids = resolve(raised)
    bad = ["documented but not found: %s" % raised[i][0] for i, o in oids.items() if not o]
    documented = {o for o in oids.values() if o}
    bad += ["runs with raised rights but is not in the table: %s" % f["sig"]
            for o, f in info.items() if f["secdef"] and o not in documented]
    bad += ["in the table but does not run with raised rights: %s" % info[o]["sig"]
            for o in documented if o in info and not info[o]["secdef"]]
    check("the functions that run with raised rights are exactly the page's \"Raised rights\" table", bad)

    # 3. internal functions
    helpers = doc.get("Internal helpers an API role may execute", [])
    oids = resolve(helpers)
    allowed = {}
    bad = ["documented but not found: %s" % helpers[i][0] for i, o in oids.items() if not o]
    for i, o in oids.items():
        if o:
            allowed[o] = helpers[i][1]
    for o, f in info.items():
        if not f["internal"]:
            continue
        want = INCLUDES.get(allowed.get(o, "no API role"))
        if want is None:
            bad.append("%s: unknown role %r in the page" % (f["sig"], allowed[o]))
            continue
        got = [r for r in ROLES if f["may"][r]]
        if got != want:
            bad.append("%s is executable by %s (wanted: %s)" % (f["sig"], got or "no API role", want or "no API role"))
        if o in allowed and f["secdef"]:
            bad.append("%s is executable by an API role and raises rights" % f["sig"])
    check("internal functions are executable by no API role (but the documented invoker helpers)", bad)

    # 4. API functions' grants
    rights = doc.get("Function rights", [])
    oids = resolve(rights)
    bad = ["documented but not found: %s" % rights[i][0] for i, o in oids.items() if not o]
    documented = {}
    for i, o in oids.items():
        if o:
            documented[o] = rights[i]
    for o, f in info.items():
        if f["internal"] or f["support"]:
            continue
        if o not in documented:
            bad.append("not in the page's \"Function rights\" table: %s" % f["sig"])
            continue
        _, role, runs = documented[o]
        want = INCLUDES.get(role)
        if want is None:
            bad.append("%s: unknown role %r in the page" % (f["sig"], role))
            continue
        got = [r for r in ROLES if f["may"][r]]
        if got != want:
            bad.append("%s is executable by %s (the page says %s)" % (f["sig"], got or "no API role", role))
        if runs not in ("caller", "owner"):
            bad.append("%s: 'runs with' must be caller or owner, not %r" % (f["sig"], runs))
        elif (runs == "owner") != f["secdef"]:
            bad.append("%s runs with the %s's rights (the page says %s)"
                       % (f["sig"], "owner" if f["secdef"] else "caller", runs))
    for f in info.values():
        if f["support"] and not f["may"]["PUBLIC"]:
            bad.append("type support function %s is not executable by PUBLIC" % f["sig"])
    check("API functions' EXECUTE grants are the page's \"Function rights\" table", bad)

    # 5. comments
    check("every function has a COMMENT", ["no comment: %s" % f["sig"] for f in info.values() if not f["commented"]])

    # 6. append-only
    rows = psql(db, r"""
        SELECT c.relname, r.rolname, p.priv
          FROM pg_class c
         CROSS JOIN (VALUES ('public'), ('inventory_sync_reader'), ('inventory_sync_writer'), ('inventory_sync_admin')) r(rolname)
         CROSS JOIN (VALUES ('UPDATE'), ('DELETE'), ('TRUNCATE')) p(priv)
         WHERE c.relnamespace = 'inventory_sync'::regnamespace AND c.relkind IN ('r', 'p')
           AND (c.relname IN ('ledger', 'balance', 'balance_change', 'serial_unit') OR c.relname LIKE '%\_change')
           AND has_table_privilege(r.rolname, c.oid, p.priv)""")
    check("no API role may rewrite the ledger, balances or a change log",
          ["%s may %s %s" % (role, priv, rel) for rel, role, priv in rows])

    failed = 0
    for n, (name, problems) in enumerate(results, 1):
        if problems:
            failed += 1
            print("not ok %d - %s" % (n, name))
            for p in problems:
                print("#   " + p)
        else:
            print("ok %d - %s" % (n, name))
    print("1..%d" % len(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
