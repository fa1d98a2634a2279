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

Usage: docs_examples.py FILE.md...   (PGHOST/PGPORT/PGUSER from the environment)
Prints one "ok"/"not ok" line per page (TAP), exits 1 if any page failed.
"""
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


def main(paths):
    print("1..%d" % len(paths))
    failed = 0
    for i, path in enumerate(paths, 1):
        ok, detail = run_page(path, i)
        print("%s %d - %s (%s)" % ("ok" if ok else "not ok", i, path, detail.splitlines()[0]))
        if not ok:
            failed += 1
            for line in detail.splitlines()[1:]:
                print("# " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
