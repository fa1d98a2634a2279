#!/usr/bin/env python3
"""The product speaks of the product: fails on text about how it was made.

Every text file of the tree (code, comments, SQL, docs, benchmarks, tests, demo, examples)
is read with its lines joined (comment leaders stripped, so a phrase wrapped over two
lines is found too). A line fails when it refers to the work that produced the product
instead of to the product: numbered work sessions, issues or notes, sections of a
specification kept outside the tree, who measured what and when, before/after figures of
a change. Comments give the reason for a design; docs/benchmarks.md gives the method and
today's figures.

PostgreSQL's own vocabulary is not flagged: a database session, session_user,
session_replication_role, isolation spec sessions ("session s1"), an `issue` posting,
the snapshot's key notes.

Files: what git would commit (tracked and untracked, not ignored) when the tree is a git
checkout, else every file below the root except build and test output. Binary files are
skipped, and so is this file (it spells the patterns out).

Usage: prose_check.py [ROOT]
First checks its own patterns against MUST_FLAG and MUST_PASS (exit 2 if one is wrong).
Prints one "file:line: text" line per hit, then a summary line
"prose: N files checked, M hits in K files"; exits 1 if there is any hit.
"""
import os
import re
import subprocess
import sys

# (pattern, flags): each names a way text slips from the product to its making.
PATTERNS = [
    # numbered or named work sessions and helpers
    (r"\bsessions? [0-9]", re.I),
    (r"\bsessions?[-_#][0-9]", re.I),
    (r"\bhelper sessions?\b", re.I),
    (r"\bsubagents?\b", re.I),
    (r"\bmeasured (on|in|during) (a |the |that |this )?(work |helper )?session\b", re.I),
    # issues and notes as sources
    (r"\bissue notes\b", re.I),
    (r"\bissue #?[0-9]", re.I),
    (r"\bissues (#?[0-9]|nos?\.? ?[0-9])", re.I),
    (r"\bissue (no\.?|number) ?#?[0-9]", re.I),
    (r"\b(from|in|see|per) (the|my|our) notes\b", re.I),
    (r"\b(session|work) (notes?|log|diary)\b", re.I),
    # a specification outside the tree
    (r"\bSPEC section", re.I),
    (r"\bSPEC\b", 0),
    (r"\bSPEC\.md\b", re.I),
    (r"§ ?[0-9]", 0),
    # who measured what when, and before/after figures of a change
    (r"\b(measured|profiled|benchmarked) (on|in) 20[0-9][0-9]-[0-9][0-9]", re.I),
    (r"\b(i|we) (measured|profiled|benchmarked)\b", re.I),
    (r"\bearlier protocol\b", re.I),
    (r"\bmeasured in paired runs\b", re.I),
    (r"\b(measured|profiled) (with|in|on) [0-9]+ (clients|runs|pairs|rounds)\b", re.I),
    (r"[0-9]\.[0-9]+x? ?(->|→|=>) ?[0-9]+\.[0-9]+", 0),
    (r"\b(took|went|moved|rose|dropped|fell|improved|grew)\b[^.;]{0,60}\bfrom (about )?[0-9]+\.[0-9]+\S* to", re.I),
]
COMPILED = [re.compile(p, f) for p, f in PATTERNS]

# build and test output (mirrors .gitignore) when the tree is not a git checkout
SKIP_DIRS = {".git", "results", "tmp_check", "log", "output", "__pycache__"}
SKIP_FILE = re.compile(r"(\.(o|so|bc|pyc)$|^sql/inventory_sync--[0-9][^/]*\.sql$|^regression\.(diffs|out)$)")
SELF = "test/prose_check.py"


def files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
        return sorted(p for p in out.decode().split("\0") if p)
    except (OSError, subprocess.CalledProcessError):
        found = []
        for d, dirs, names in os.walk(root):
            dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS
                             and os.path.relpath(os.path.join(d, x), root) != "bench/results")
            for n in names:
                rel = os.path.relpath(os.path.join(d, n), root)
                if not SKIP_FILE.search(rel):
                    found.append(rel)
        return sorted(found)


# The checker's own cases: text it must flag, and PostgreSQL and domain text it must not.
MUST_FLAG = [
    "see session 5's runs", "sessions 5 and 6 measured it", "(profiles in the issue notes)",
    "bench scripts citing SPEC section 11, issue 4", "as measured on session 3", "-- from the notes",
    "a helper session found", "a subagent ran it", "paired runs, 64 clients: 0.80 -> 0.87",
    "dropping the indexes took it from about 0.72 to 0.80", "fixes issue #12", "No SPEC target",
    "-- measured with\n-- 64 clients on one item", "values from the earlier protocol",
]
MUST_PASS = [
    "SET session_replication_role = replica", "another database session", "session_user",
    "session s1", "Parsed test spec with 4 sessions", "an issue of 5 units at 13:00",
    "('issue', 'pos', 'S-1', '09506000134352')", "upstream magento/inventory#2727",
    "readers read key notes", "GS1 General Specifications 7.12", "the isolation spec",
    "unit KGM -> 0.5 EA", "no change row (not 0 -> 0)", "every session's cache is invalidated",
    "fulfil() posts the issue as the caller", "one issue per lot", "printed as a note",
]


def self_test():
    bad = [t for t in MUST_FLAG if not hit_lines(t.split("\n"))]
    bad += [t for t in MUST_PASS if hit_lines(t.split("\n"))]
    for t in bad:
        print("prose_check.py self-test: wrong verdict on %r" % t)
    return not bad


LEADER = re.compile(r"^\s*(--+|#+|//+|/?\*+/?|;+|>+)?\s*")


def hit_lines(lines):
    """Line numbers (1-based) where a pattern matches. Lines are joined with their comment
    leaders (--, #, //, *) stripped, so a phrase wrapped over two lines is found too; a
    hit is reported at the line where it starts."""
    text, starts = [], []
    pos = 0
    for line in lines:
        body = LEADER.sub("", line, count=1).rstrip()
        starts.append(pos)
        text.append(body)
        pos += len(body) + 1
    joined = " ".join(text)
    found = set()
    for p in COMPILED:
        for m in p.finditer(joined):
            lo, hi = 0, len(starts) - 1       # the last line starting at or before the match
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if starts[mid] <= m.start():
                    lo = mid
                else:
                    hi = mid - 1
            found.add(lo + 1)
    return sorted(found)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    if not self_test():
        return 2
    checked = hits = 0
    bad_files = set()
    for rel in files(root):
        path = os.path.join(root, rel)
        if rel == SELF or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        if b"\0" in data:
            continue
        checked += 1
        lines = data.decode("utf-8", "replace").splitlines()
        for n in hit_lines(lines):
            print("%s:%d: %s" % (rel, n, lines[n - 1].strip()[:200]))
            hits += 1
            bad_files.add(rel)
    print("prose: %d files checked, %d hits in %d files" % (checked, hits, len(bad_files)))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
