#!/usr/bin/env python3
"""Runs every SQL example in the documentation, so the docs cannot rot.

For each Markdown file given (README.md, docs/**/*.md), the ```sql blocks are run in order,
as one psql script, in a fresh database with the extension installed and
search_path = inventory_sync, public. A page is a self-contained story: its examples
set up what they use. (A page whose first block runs CREATE EXTENSION inventory_sync,
such as the README's tour, gets a database without it.)

The errors a page shows are asserted: every error the script raises must be announced in
the page, in order, by a comment line

    -- ERROR:  <the message exactly as psql prints it>

right after the statement that raises it, and every such comment must be raised. Any
other error fails the page. Blocks fenced ```sql norun are shown, not run (server
configuration, procedures exercised elsewhere; the fence says why in a comment).

Coverage: after the pages, one more test checks that every object of the extension is
documented. An object belongs to the extension when pg_depend records it with deptype 'e'
(tables, views, types, functions; sequences, operators, operator classes and casts are
covered by the tables and types they belong to). Each must appear

  1. in a heading or a table row of a page under docs/reference/, as a code span that
     starts with its name (`ledger`, `atp(item, ...)`, `inventory_sync.verify()`), and
  2. in at least one runnable ```sql block of any page given, as SQL rather than in a
     comment: a function followed by "(", a table or view after FROM, JOIN, INTO,
     UPDATE, TABLE, COPY, ON or REFERENCES (or qualified with inventory_sync.), a type
     as a word.

Exempt, as internal: functions whose name begins with "_", trigger, aggregate and
planner-support functions; and, when their type is documented, the type's input/output,
send/receive, comparison, hash and cast functions and the functions behind its operators.

Two more kinds of things are held to the same rule, read from the sources: every option
the output plugin parses (src/decoder_options.c) must be in a reference table and passed, quoted,
in a runnable block; every SQLSTATE of the extension's own class IS raised in src/ or
sql/install/ must be in a table of a reference page (docs/reference/errors.md).
The missing ones are printed by name.

Usage: docs_examples.py [--no-coverage | --coverage-only] FILE.md...
       (PGHOST/PGPORT/PGUSER from the environment)
Prints one "ok"/"not ok" line per page and one for the coverage (TAP), exits 1 if any
failed. --no-coverage runs the pages only (for trying one page).
"""
import glob
import os
import re
import subprocess
import sys

FENCE = re.compile(r"^```(\S*)\s*(.*)$")
EXPECTED = re.compile(r"^\s*--\s*(ERROR:\s+.*?)\s*$")
ACTUAL = re.compile(r"^psql:[^:]*:\d+: (ERROR:\s+.*?)\s*$")


def blocks(path):
    """The runnable ```sql blocks of a page: (first line number, text)."""
    out, cur, start, lang, opts = [], None, 0, None, ""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = FENCE.match(line.rstrip("\n"))
            if cur is None and m and m.group(1):
                lang, opts, cur, start = m.group(1), m.group(2), [], n + 1
            elif cur is not None and line.startswith("```"):
                if lang == "sql" and "norun" not in opts.split():
                    out.append((start, "".join(cur)))
                cur = None
            elif cur is not None:
                cur.append(line)
    return out


def norm(s):
    return re.sub(r"\s+", " ", s.strip())


def run_page(path, index):
    runnable = blocks(path)
    if not runnable:
        return True, "no runnable examples"
    db = "docs_example_%d" % index
    script = "\n".join(
        "-- %s:%d\n%s" % (path, start, text) for start, text in runnable)
    expected = [norm(m.group(1)) for _, text in runnable
                for line in text.splitlines() if (m := EXPECTED.match(line))]
    env = dict(os.environ, PGOPTIONS="-c lc_messages=C")
    # a page that shows the installation (a tour) creates the extension itself
    creates = re.search(r"(?im)^\s*CREATE EXTENSION\s+(IF NOT EXISTS\s+)?inventory_sync\b", runnable[0][1])
    subprocess.run(["dropdb", "--if-exists", db], env=env, capture_output=True)
    subprocess.run(["createdb", db], env=env, check=True, capture_output=True)
    try:
        setup = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db,
             "-c", "SELECT 1" if creates else "CREATE EXTENSION inventory_sync",
             "-c", "ALTER DATABASE %s SET search_path = inventory_sync, public" % db],
            env=env, capture_output=True, text=True)
        if setup.returncode != 0:
            return False, "setup failed: " + setup.stderr.strip()
        res = subprocess.run(["psql", "-X", "-q", "-d", db, "-v", "ON_ERROR_STOP=0",
                              "-v", "VERBOSITY=default", "-f", "-"],
                             input=script, env=env, capture_output=True, text=True,
                             timeout=300)
    finally:
        subprocess.run(["dropdb", "--if-exists", db], env=env, capture_output=True)
    actual = [norm(m.group(1)) for line in res.stderr.splitlines()
              if (m := ACTUAL.match(line))]
    if res.returncode not in (0, 3) or "FATAL" in res.stderr:
        return False, "psql failed:\n" + res.stderr
    problems = []
    for i in range(max(len(actual), len(expected))):
        a = actual[i] if i < len(actual) else None
        e = expected[i] if i < len(expected) else None
        if a != e:
            problems.append("  error %d: page announces %r\n            psql raised     %r" % (i + 1, e, a))
    if problems:
        return False, "errors differ from the page's -- ERROR: comments:\n" + "\n".join(problems) + \
            "\n--- psql stderr ---\n" + res.stderr
    return True, "%d blocks, %d announced errors" % (len(runnable), len(expected))


# ---------------------------------------------------------------------------
# Coverage: every object of the extension documented, with an executed example.
# ---------------------------------------------------------------------------

# The extension's members, each with the type it serves when it is one of that type's
# support functions (I/O, comparison, hash, cast, operator implementation).
MEMBERS_SQL = r"""
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'inventory_sync'),
members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
type_support AS (                       -- function oid -> the type it supports
    SELECT f AS fn, t.oid AS typ FROM pg_type t,
           unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::oid[]) f
     WHERE f <> 0
    UNION ALL
    SELECT p.amproc, p.amproclefttype FROM pg_amproc p
    UNION ALL
    SELECT o.oprcode, o.oprleft FROM pg_operator o WHERE o.oprleft <> 0
    UNION ALL
    SELECT c.castfunc, CASE WHEN c.casttarget IN (SELECT objid FROM members
                                                   WHERE classid = 'pg_type'::regclass)
                            THEN c.casttarget ELSE c.castsource END
      FROM pg_cast c WHERE c.castfunc <> 0)
SELECT 'table', c.relname, NULL FROM members m JOIN pg_class c ON c.oid = m.objid
 WHERE m.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p')
UNION ALL
SELECT 'view', c.relname, NULL FROM members m JOIN pg_class c ON c.oid = m.objid
 WHERE m.classid = 'pg_class'::regclass AND c.relkind IN ('v', 'm')
UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'c' THEN 'composite type' WHEN 'd' THEN 'domain'
                      ELSE 'type' END, t.typname, NULL
  FROM members m JOIN pg_type t ON t.oid = m.objid WHERE m.classid = 'pg_type'::regclass
   AND NOT EXISTS (SELECT FROM pg_type e WHERE e.typarray = t.oid)  -- array types (members from 17 on)
UNION ALL
SELECT DISTINCT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, p.proname,
       (SELECT ts.typ::regtype::text FROM type_support ts WHERE ts.fn = p.oid LIMIT 1)
  FROM members m JOIN pg_proc p ON p.oid = m.objid
 WHERE m.classid = 'pg_proc'::regclass
   AND p.proname NOT LIKE '\_%'
   AND p.prokind <> 'a'
   AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
   AND NOT EXISTS (SELECT 1 FROM pg_proc s WHERE s.prosupport = p.oid)
ORDER BY 1, 2
"""

CODE_SPAN = re.compile(r"`([^`]+)`")
RELATION_BEFORE = re.compile(r"(?i)\b(from|join|into|update|table|copy|on|references)\s+(inventory_sync\.)?$")


def members(env):
    """[(kind, name, supported type or None)] of the extension, from a fresh database."""
    db = "docs_coverage"
    subprocess.run(["dropdb", "--if-exists", db], env=env, capture_output=True)
    subprocess.run(["createdb", db], env=env, check=True, capture_output=True)
    try:
        res = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", db,
                              "-c", "CREATE EXTENSION inventory_sync", "-c", MEMBERS_SQL],
                             env=env, capture_output=True, text=True)
    finally:
        subprocess.run(["dropdb", "--if-exists", db], env=env, capture_output=True)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip())
    out = []
    for line in res.stdout.splitlines():
        kind, name, typ = line.split("\t")
        out.append((kind, name, typ.split(".")[-1] or None))
    return out


def reference_names(paths):
    """Names written as a code span in a heading or a table row of a reference page."""
    names = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            in_fence = False
            for line in f:
                if line.startswith("```"):
                    in_fence = not in_fence
                    continue
                if in_fence or not (line.startswith("#") or line.lstrip().startswith("|")):
                    continue
                for span in CODE_SPAN.findall(line):
                    m = re.match(r"\s*(?:inventory_sync\.)?([A-Za-z_][A-Za-z0-9_-]*)", span)
                    if m:
                        names.add(m.group(1).lower())
    return names


def strip_comments(sql):
    """The SQL without -- comments (quotes respected, so '--' in a literal stays)."""
    out = []
    for line in sql.splitlines():
        quoted, i = False, 0
        while i < len(line):
            if line[i] == "'":
                quoted = not quoted
            elif not quoted and line.startswith("--", i):
                line = line[:i]
                break
            i += 1
        out.append(line)
    return "\n".join(out)


def used_in(sql, kind, name):
    """Is the object used as SQL in the text (see the module docstring)?"""
    word = re.compile(r"(?i)(?<![A-Za-z0-9_$])%s(?![A-Za-z0-9_$])" % re.escape(name))
    for m in word.finditer(sql):
        before, after = sql[max(0, m.start() - 60):m.start()], sql[m.end():m.end() + 20]
        qualified = before.lower().endswith("inventory_sync.")
        if not qualified and before.endswith("."):
            continue                                    # a column of an alias or another schema
        if kind in ("function", "procedure"):
            if re.match(r"\s*\(", after):
                return True
        elif kind in ("table", "view"):
            if qualified or RELATION_BEFORE.search(before):
                return True
        else:
            return True
    return False


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plugin_options():
    """The options the output plugin parses, from its source."""
    try:
        with open(os.path.join(ROOT, "src", "decoder_options.c"), encoding="utf-8") as f:
            return sorted(set(re.findall(r'strcmp\(elem->defname, "([a-z-]+)"\)', f.read())))
    except OSError:
        return []


def own_sqlstates():
    """The SQLSTATEs of class IS that the C code or the install script can raise."""
    codes = set()
    for pattern in ("src/*.c", "src/*.h", "sql/install/*.sql"):
        for path in glob.glob(os.path.join(ROOT, pattern)):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            codes.update(re.findall(r"ERRCODE\s*=\s*'(IS\d{3})'", text))
            codes.update("IS" + "".join(m) for m in
                         re.findall(r"MAKE_SQLSTATE\('I',\s*'S',\s*'(\d)',\s*'(\d)',\s*'(\d)'\)", text))
    return sorted(codes)


def coverage(paths, env):
    """(ok, detail): every member of the extension documented and shown."""
    refs = [p for p in paths if os.path.basename(os.path.dirname(p)) == "reference"]
    if not refs:
        return False, "no docs/reference page given"
    documented = reference_names(refs)
    sql = "\n".join(strip_comments(text) for p in paths for _, text in blocks(p))
    objs = members(env)
    names = {n for _, n, _ in objs}
    undocumented, unshown, orphans = [], [], {}
    for kind, name, typ in objs:
        if typ is not None and typ in names:
            if typ not in documented:                   # counted with its type, listed once
                orphans.setdefault(typ, []).append(name)
            continue                                    # support function of a documented type
        label = "%s %s" % (kind, name)
        if name.lower() not in documented:
            undocumented.append(label)
        if not used_in(sql, kind, name):
            unshown.append(label)
    options = plugin_options()
    for opt in options:
        if opt not in documented:
            undocumented.append("plugin option %s" % opt)
        if not re.search(r"'%s'" % re.escape(opt), sql):
            unshown.append("plugin option %s" % opt)
    codes = own_sqlstates()
    for code in codes:
        if code.lower() not in documented:
            undocumented.append("SQLSTATE %s" % code)
    total = len(objs) + len(options) + len(codes)
    n = len(set(undocumented) | set(unshown)) + sum(len(v) for v in orphans.values())
    if not n:
        return True, "%d objects, %d plugin options and %d SQLSTATEs documented in %d reference pages" % (
            len(objs), len(options), len(codes), len(refs))
    lines = ["%d of %d objects, plugin options and SQLSTATEs not covered" % (n, total)]
    if undocumented:
        lines.append("not in a heading or table of docs/reference/*.md (as a `code span`):")
        lines += ["    " + u for u in undocumented]
    if unshown:
        lines.append("not used in any runnable ```sql block:")
        lines += ["    " + u for u in unshown]
    for typ, fns in sorted(orphans.items()):
        lines.append("support functions of type %s, exempt once the type is documented: %s" % (
            typ, ", ".join(sorted(set(fns)))))
    return False, "\n".join(lines)


def main(args):
    check_pages = "--coverage-only" not in args
    check_coverage = "--no-coverage" not in args
    paths = [a for a in args if not a.startswith("--")]
    print("1..%d" % ((len(paths) if check_pages else 0) + (1 if check_coverage else 0)))
    failed, n = 0, 0
    if check_pages:
        for path in paths:
            n += 1
            ok, detail = run_page(path, n)
            print("%s %d - %s (%s)" % ("ok" if ok else "not ok", n, path, detail.splitlines()[0]))
            if not ok:
                failed += 1
                for line in detail.splitlines()[1:]:
                    print("# " + line)
            sys.stdout.flush()
    if check_coverage:
        n += 1
        env = dict(os.environ, PGOPTIONS="-c lc_messages=C")
        try:
            ok, detail = coverage(paths, env)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            ok, detail = False, "could not list the extension's objects\n%s" % e
        print("%s %d - documentation coverage (%s)" % ("ok" if ok else "not ok", n, detail.splitlines()[0]))
        if not ok:
            failed += 1
            for line in detail.splitlines()[1:]:
                print("# " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
