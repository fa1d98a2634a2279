#!/usr/bin/python3
"""Feed consumer for bench/latency.sh: follows the feed over the replication protocol as
examples/feed_consumer.py does, and measures, for every posting event, how long after its
commit it was sent, received and applied.

The clock is this machine's: an event carries its transaction's commit time (taken by the
server just before the commit record is written); every message carries the time the
walsender wrote it to the connection (sent: after the flush, the walsender's wake-up and the
decoding of what the message holds); the consumer notes the wall-clock time at which the
message holding the event was read from the connection (received) and at which the event
was applied to the local copy (applied). Server and consumer share the clock, so each
difference is a latency without any clock skew, and the stages add up: commit -> sent is
the server's part, sent -> received the connection's and the consumer's wake-up (and its
work on the messages before), received -> applied its parsing and applying.

The local copy is the example consumer's (newest version per key wins), over every
location. What the example adds on top, writing its state file before each confirmation,
is left out: it runs at most twice a second and off the path of an event's delivery.

Usage: latency_consumer.py --slot NAME --ready FILE --stop FILE --out FILE
  creates the slot (no snapshot), writes FILE --ready once streaming, and stops once it has
  received as many posting events as the number written into the --stop file; then writes
  its figures to --out (JSON: percentiles in ms of each latency and stage, messages, lines).
"""
import argparse
import importlib.util
import json
import os
import select
import time
from datetime import datetime

import psycopg2
import psycopg2.extras

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "feed_consumer", os.path.join(HERE, "..", "examples", "feed_consumer.py"))
feed_consumer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(feed_consumer)


class AllLocations(feed_consumer.Copy):
    """The example's location copy, for every location at once (key: gln|gtin|lot|bucket)."""

    def __init__(self):
        super().__init__("location", None)

    def apply(self, event):
        if event["type"] != "posting":
            return False
        key = "%s|%s|%s|%s" % (event["gln"], event["gtin"], event["lot"] or "", event["bucket"])
        return self.offer(key, event["quantity_after"], event["version"])


def percentiles(values):
    if not values:
        return {"n": 0}
    v = sorted(values)

    def at(p):
        return round(v[min(len(v) - 1, int(p * len(v)))], 3)
    return {"n": len(v), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(v[-1], 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="")
    ap.add_argument("--slot", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch-events", default="64")
    ap.add_argument("--trace", help="also write one line per transaction: commit time, events, "
                    "ms from commit to its first and last message sent and received")
    args = ap.parse_args()

    copy = AllLocations()
    repl = psycopg2.connect(args.dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection)
    rcur = repl.cursor()
    rcur.execute("CREATE_REPLICATION_SLOT %s LOGICAL inventory_sync (SNAPSHOT 'nothing')" % args.slot)
    rcur.start_replication(slot_name=args.slot, decode=True,
                           options={"events": "posting", "envelopes": "on",
                                    "batch-events": args.batch_events},
                           status_interval=1)
    with open(args.ready, "w") as f:
        f.write("ready\n")

    sent, received, applied = [], [], []
    messages = lines = 0
    per_second = {}            # second since start -> worst received latency (ms)
    commit_clock = {}          # commit_time text -> epoch seconds (one parse per transaction)
    started = time.time()
    confirmed = committed = 0
    last_confirm = time.monotonic()
    stop_at = None
    in_txn = False
    trace = open(args.trace, "w") if args.trace else None
    txn = None                 # [commit epoch, events, first sent, last sent, first received, last received]

    while True:
        msg = rcur.read_message()
        if msg is not None:
            t_recv = time.time()
            t_sent = msg.send_time.timestamp()
            messages += 1
            for line in msg.payload.splitlines():
                lines += 1
                event = json.loads(line)
                kind = event["type"]
                if kind == "begin":
                    in_txn = True
                    continue
                if kind == "commit":
                    in_txn = False
                    committed = msg.data_start
                    if trace is not None and txn is not None:
                        trace.write("%.6f %d %.3f %.3f %.3f %.3f\n" % tuple(txn))
                    txn = None
                    continue
                ct = event["commit_time"]
                t_commit = commit_clock.get(ct)
                if t_commit is None:
                    commit_clock.clear()
                    t_commit = commit_clock[ct] = datetime.fromisoformat(ct).timestamp()
                copy.apply(event)
                t_app = time.time()
                lat = (t_recv - t_commit) * 1000.0
                sent.append((t_sent - t_commit) * 1000.0)
                received.append(lat)
                applied.append((t_app - t_commit) * 1000.0)
                sec = int(t_recv - started)
                if trace is not None:
                    s_ms, r_ms = (t_sent - t_commit) * 1000.0, lat
                    if txn is None:
                        txn = [t_commit, 0, s_ms, s_ms, r_ms, r_ms]
                    txn[1] += 1
                    txn[3], txn[5] = s_ms, r_ms
                if lat > per_second.get(sec, 0.0):
                    per_second[sec] = lat
            if time.monotonic() - last_confirm >= 0.5 and committed > confirmed:
                confirmed = committed
                rcur.send_feedback(write_lsn=confirmed, flush_lsn=confirmed)
                last_confirm = time.monotonic()
            continue
        if not in_txn:
            end = max(committed, rcur.wal_end or 0)
            if end > confirmed:
                confirmed = end
                rcur.send_feedback(write_lsn=confirmed, flush_lsn=confirmed, force=True)
                last_confirm = time.monotonic()
            if stop_at is None and os.path.exists(args.stop):
                with open(args.stop) as f:
                    text = f.read().strip()
                if text:
                    stop_at = int(text)
            if stop_at is not None and len(received) >= stop_at:
                break
        select.select([rcur], [], [], 0.05)

    rcur.send_feedback(flush_lsn=confirmed, force=True)
    repl.close()
    if trace is not None:
        trace.close()
    with open(args.out, "w") as f:
        json.dump({"sent_ms": percentiles(sent), "received_ms": percentiles(received),
                   "applied_ms": percentiles(applied),
                   "sent_to_received_ms": percentiles([r - s for s, r in zip(sent, received)]),
                   "received_to_applied_ms": percentiles([a - r for r, a in zip(received, applied)]),
                   "messages": messages, "lines": lines,
                   "worst_per_second_ms": [round(per_second.get(s, 0.0), 3)
                                           for s in range(max(per_second, default=-1) + 1)],
                   "keys": len(copy.rows)}, f)


if __name__ == "__main__":
    main()
