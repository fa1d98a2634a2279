#!/usr/bin/python3
"""A consumer of the inventory_sync change feed, in Python with psycopg2.

It keeps a local copy of one channel's available-to-promise (or of one location's
balances) and follows the feed over a logical replication connection:

  first run   creates the slot with an exported snapshot, reads the hard-reset snapshot
              (channel_snapshot / location_snapshot) under that snapshot, and streams
              from the slot's consistent point: nothing missed, nothing counted twice;
  every run   applies each event whose version is newer than the one it holds for the
              key (delivery is at-least-once: a repeat is skipped by its version),
              and, at a commit (at most twice a second) or when idle, writes its state
              file and only then confirms that commit's end LSN to the server
              (send_feedback): a crash at any point loses nothing, and a restart resumes
              after the last confirmed commit (what came after it comes again, and is
              skipped by version where it was already applied);
  when idle   confirms the server's WAL end, so transactions it filtered out do not
              hold WAL on the server.

Usage (the connection string is libpq's; PGHOST etc. work too):

  feed_consumer.py --dsn 'dbname=shop' --slot web_atp --channel web --state web.json
  feed_consumer.py --dsn 'dbname=shop' --slot dc_stock --location 0614141000012 --state dc.json

Stops on Ctrl-C, after --max-seconds, once --idle-exit seconds pass without events, or
once it has confirmed --until-lsn; then prints its copy as JSON. Needs Debian's
python3-psycopg2; docs/reference/feed.md explains the protocol it follows.
"""
import argparse
import json
import os
import re
import select
import signal
import sys
import time

import psycopg2
import psycopg2.extras


def lsn_to_int(lsn):
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def int_to_lsn(value):
    return "%X/%X" % (value >> 32, value & 0xFFFFFFFF)


class Copy:
    """The local copy: key -> (value, version), the mode's snapshot query and event test."""

    def __init__(self, mode, scope):
        self.mode, self.scope, self.rows = mode, scope, {}

    def plugin_options(self):
        # Only what this copy needs: the plugin filters on the server. Over the replication
        # protocol a message carries up to 64 lines of a transaction (batch-events).
        if self.mode == "channel":
            return {"channels": self.scope, "events": "atp", "envelopes": "on"}
        return {"locations": self.scope, "events": "posting", "envelopes": "on"}

    def load_snapshot(self, cur):
        if self.mode == "channel":
            cur.execute("SELECT gtin::text, atp::text, version FROM inventory_sync.channel_snapshot(%s)",
                        (self.scope,))
            for gtin, atp, version in cur.fetchall():
                self.offer(gtin, atp, version)
        else:
            cur.execute("SELECT gtin::text, coalesce(lot::text, ''), bucket, quantity::text, version"
                        "  FROM inventory_sync.location_snapshot(%s)", (self.scope,))
            for gtin, lot, bucket, quantity, version in cur.fetchall():
                self.offer("%s|%s|%s" % (gtin, lot, bucket), quantity, version)

    def offer(self, key, value, version):
        """Keep the state with the highest version; a repeat or an older one changes nothing."""
        held = self.rows.get(key)
        if held is None or version > held[1]:
            self.rows[key] = (value, version)
            return True
        return False

    def apply(self, event):
        if self.mode == "channel" and event["type"] == "atp" and event["channel"] == self.scope:
            return self.offer(event["gtin"], event["atp"], event["version"])
        if self.mode == "location" and event["type"] == "posting" and event["gln"] == self.scope:
            key = "%s|%s|%s" % (event["gtin"], event["lot"] or "", event["bucket"])
            return self.offer(key, event["quantity_after"], event["version"])
        return False


def save_state(path, slot, copy, confirmed):
    """Written whole to a temporary file and renamed: never half-written."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"slot": slot, "mode": copy.mode, "scope": copy.scope,
                   "confirmed_lsn": int_to_lsn(confirmed),
                   "rows": {k: {"value": v, "version": n} for k, (v, n) in sorted(copy.rows.items())}},
                  f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="", help="libpq connection string (default: from PG* variables)")
    ap.add_argument("--slot", required=True)
    scope = ap.add_mutually_exclusive_group(required=True)
    scope.add_argument("--channel", help="keep the channel's ATP per item")
    scope.add_argument("--location", help="keep the location's balances per (item, lot, bucket)")
    ap.add_argument("--state", required=True, help="state file (JSON); created on the first run")
    ap.add_argument("--idle-exit", type=float, help="stop after this many seconds without events")
    ap.add_argument("--max-seconds", type=float, help="stop after this many seconds (at a commit)")
    ap.add_argument("--until-lsn", help="stop once everything up to this LSN is confirmed")
    args = ap.parse_args()
    if not re.fullmatch(r"[a-z0-9_]{1,63}", args.slot):
        ap.error("a slot name is 1 to 63 of a-z, 0-9 and _")

    copy = Copy("channel", args.channel) if args.channel else Copy("location", args.location)
    repl = psycopg2.connect(args.dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection)
    rcur = repl.cursor()

    if os.path.exists(args.state):
        # A restart: the slot resumes after the last commit we confirmed.
        with open(args.state) as f:
            state = json.load(f)
        if (state["slot"], state["mode"], state["scope"]) != (args.slot, copy.mode, copy.scope):
            sys.exit("state file %s belongs to another slot or scope" % args.state)
        copy.rows = {k: (r["value"], r["version"]) for k, r in state["rows"].items()}
        confirmed = lsn_to_int(state["confirmed_lsn"])
        print("resuming slot %s after %s with %d keys" % (args.slot, state["confirmed_lsn"], len(copy.rows)),
              file=sys.stderr)
    else:
        # First run: the slot's exported snapshot and its consistent point are the same
        # moment, so the snapshot read under it plus the stream from that point is exact.
        rcur.execute("CREATE_REPLICATION_SLOT %s LOGICAL inventory_sync (SNAPSHOT 'export')" % args.slot)
        _, consistent_point, snapshot_name, _ = rcur.fetchone()
        conn = psycopg2.connect(args.dsn)
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot_name,))
            copy.load_snapshot(cur)
        conn.rollback()
        conn.close()
        confirmed = lsn_to_int(consistent_point)
        save_state(args.state, args.slot, copy, confirmed)
        print("created slot %s at %s, snapshot of %d keys" % (args.slot, consistent_point, len(copy.rows)),
              file=sys.stderr)

    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    until = lsn_to_int(args.until_lsn) if args.until_lsn else None
    started = last_event = last_save = time.monotonic()
    in_txn = False
    applied = messages = lines = 0
    committed = confirmed      # end of the last commit applied, confirmed or not

    rcur.start_replication(slot_name=args.slot, decode=True, start_lsn=int_to_lsn(confirmed),
                           options=copy.plugin_options(), status_interval=5)

    def confirm(lsn):
        nonlocal confirmed, last_save
        if lsn > confirmed:
            save_state(args.state, args.slot, copy, lsn)   # first the state, then the promise
            confirmed = lsn
            last_save = time.monotonic()
        rcur.send_feedback(flush_lsn=confirmed, force=True)

    while True:
        msg = rcur.read_message()
        if msg is not None:
            # JSON Lines: a message holds one or more lines (events, begin and commit objects)
            messages += 1
            for line in msg.payload.splitlines():
                lines += 1
                event = json.loads(line)
                if event["type"] == "begin":
                    in_txn = True
                elif event["type"] == "commit":
                    in_txn = False
                    # a commit object ends its message, whose position is the commit's end
                    # LSN: once confirmed, the transaction is never sent again
                    committed = msg.data_start
                    if time.monotonic() - last_save >= 0.5:
                        confirm(committed)
                elif copy.apply(event):
                    applied += 1
            last_event = time.monotonic()
            continue
        now = time.monotonic()
        if not in_txn:
            # Caught up: everything the server has sent is applied. Confirming its WAL end
            # lets it release WAL behind transactions the filters left out.
            if max(committed, rcur.wal_end or 0) > confirmed:
                confirm(max(committed, rcur.wal_end or 0))
            if (stop["now"] or (until is not None and confirmed >= until)
                    or (args.idle_exit is not None and now - last_event >= args.idle_exit)
                    or (args.max_seconds is not None and now - started >= args.max_seconds)):
                break
        select.select([rcur], [], [], 0.2)

    rcur.send_feedback(flush_lsn=confirmed, force=True)
    repl.close()
    print(json.dumps({"slot": args.slot, "mode": copy.mode, "scope": copy.scope,
                      "confirmed_lsn": int_to_lsn(confirmed), "applied": applied,
                      "messages": messages, "lines": lines,
                      "rows": {k: {"value": v, "version": n} for k, (v, n) in sorted(copy.rows.items())}},
                     sort_keys=True))


if __name__ == "__main__":
    main()
