#!/usr/bin/env python3
"""Prints the `permutation` lines of an isolation spec: every interleaving of the
sessions' steps that the isolation tester can run.

The tester runs one step at a time; a step that waits for a lock is left waiting and the
next step runs. A permutation is invalid when it schedules a step of a session that is
still waiting (the tester would wait for it until its step timeout), so "all
permutations" of sessions that block one another cannot be left to the tester: this
script simulates the one lock the sessions of a promise spec contend for and keeps the
orders the tester can run, each exactly once.

Model: each session has an acquire step and a release step (commit). An acquire waits
while another session holds the lock, then succeeds or fails by the spec's rule; a
failed acquire (an error) holds nothing. A session can be marked 'skip-locked': its
acquire never waits and fails when the lock is held. Orders in which two sessions wait
for the same lock at once are left out: when the row they wait for is updated, which of
them PostgreSQL lets through first is not fixed (each follows the update chain to the
new version and they race for it), so the expected output could not be.

Usage: permutations.py last_units | last_units_shared | resolve_once
"""
import itertools
import sys


def interleavings(sessions):
    """Every merge of the sessions' step lists, each keeping its own order."""
    total = sum(len(s) for s in sessions)
    def rec(idx, acc):
        if len(acc) == total:
            yield list(acc)
            return
        for i, s in enumerate(sessions):
            if idx[i] < len(s):
                idx[i] += 1
                acc.append(s[idx[i] - 1])
                yield from rec(idx, acc)
                acc.pop()
                idx[i] -= 1
    yield from rec([0] * len(sessions), [])


def valid(perm, sessions, rule, skip_locked=()):
    """Simulate; False if a step of a waiting session is scheduled."""
    state = rule.start()
    holder = None
    queue = []          # sessions waiting for the lock, in arrival order
    waiting = set()
    for step in perm:
        sess = next(s for s in sessions if step in s)[0][:-1]
        if sess in waiting:
            return False
        kind = 'acquire' if step == sessions_by[sess][0] else 'release'
        if kind == 'acquire':
            if holder is not None and holder != sess:
                if sess in skip_locked or rule.refuses_at_once(state, sess):
                    continue            # skips or is refused: holds nothing
                if queue:
                    return False        # two waiters: which one PostgreSQL wakes first is not fixed
                queue.append(sess)
                waiting.add(sess)
                continue
            if rule.acquire(state, sess):
                holder = sess
        else:
            if holder == sess:
                holder = None
                rule.commit(state, sess)
                # the queue drains: the first waiter decides, then the next if it failed
                while queue and holder is None:
                    nxt = queue.pop(0)
                    waiting.discard(nxt)
                    if rule.acquire(state, nxt):
                        holder = nxt
    return True


class LastUnits:
    """5 units; s1 wants 3, s2 3, s3 2: an acquire succeeds if that many are left.

    fast=True is reserve()'s fast path, which decides as UPDATE ... WHERE atp >= q does:
    when the committed ATP is already too small it is refused at once, without waiting
    for the session holding the row; otherwise it waits and decides on what that session
    committed. The general path locks the promise key first, so it always waits."""
    want = {'s1': 3, 's2': 3, 's3': 2}
    def __init__(self, fast):
        self.fast = fast
    def start(self):
        return {'left': 5, 'committed': 5, 'taken': {}}
    def refuses_at_once(self, st, s):
        return self.fast and st['committed'] < self.want[s]
    def acquire(self, st, s):
        if st['left'] >= self.want[s]:
            st['left'] -= self.want[s]
            st['taken'][s] = self.want[s]
            return True
        return False
    def commit(self, st, s):
        st['committed'] -= st['taken'].pop(s, 0)


class ResolveOnce:
    """One reservation: the first acquire resolves it; later ones fail (IS041)."""
    def start(self):
        return {'resolved': False}
    def refuses_at_once(self, st, s):
        return False
    def acquire(self, st, s):
        if st['resolved']:
            return False
        st['resolved'] = True
        return True
    def commit(self, st, s):
        pass


SPECS = {
    'last_units': ([['s1r', 's1c'], ['s2r', 's2c'], ['s3r', 's3c']], LastUnits(fast=True), ()),
    'last_units_shared': ([['s1r', 's1c'], ['s2r', 's2c'], ['s3r', 's3c']], LastUnits(fast=False), ()),
    'resolve_once': ([['f1', 'f2'], ['c1', 'c2'], ['e1', 'e2']], ResolveOnce(), ('e',)),
}

if __name__ == '__main__':
    sessions, rule, skip = SPECS[sys.argv[1]]
    sessions_by = {s[0][:-1]: s for s in sessions}
    n = 0
    for perm in interleavings(sessions):
        if valid(perm, sessions, rule, skip):
            print('permutation ' + ' '.join(perm))
            n += 1
    print('# %d of %d interleavings can run' % (n, len(list(interleavings(sessions)))), file=sys.stderr)
