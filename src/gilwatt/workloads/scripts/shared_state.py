"""Threads updating shared counters and dicts under four locking patterns (beyond the study).

Every item (key, value) costs ``work`` pure-Python arithmetic steps and then updates two
shared dicts, ``counts[key] += 1`` and ``sums[key] += result``. Threads take contiguous
ranges of the immutable input tuple. ``--variant``:

* ``global-lock``: one lock around every update;
* ``striped``: ``stripes`` locks, the one for ``key % stripes`` around the update;
* ``sharded``: per-thread dicts, merged by the main thread at the end (inside the region);
* ``queue``: threads hand batches of ``batch`` results to the main thread, which alone owns
  the dicts (a queue hand-off);
* ``unlocked``: no lock at all. Not in any preset: it is a data race, and verification is
  expected to catch it on a free-threaded build (a demonstration).

Verified: both dicts equal, exactly, the ones computed from the closed form of the arithmetic.
"""

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from _harness import check_equal, chunks, measured, parse_args, passed
from _kernels import MASK, lcg, lcg_jump

NAME = "shared_state"
VARIANTS = ("global-lock", "striped", "sharded", "queue", "unlocked")


def build_items(count, keys):
    return tuple(((i * 2654435761) % keys, i % 1000) for i in range(count))


def run_locked(items, start, end, work, counts, sums, locks):
    stripes = len(locks)
    for key, value in items[start:end]:
        result = lcg(value, work)
        with locks[key % stripes]:
            counts[key] += 1
            sums[key] += result


def run_unlocked(items, start, end, work, counts, sums):
    for key, value in items[start:end]:
        result = lcg(value, work)
        counts[key] += 1
        sums[key] += result


def run_sharded(items, start, end, work):
    counts, sums = {}, {}
    for key, value in items[start:end]:
        result = lcg(value, work)
        counts[key] = counts.get(key, 0) + 1
        sums[key] = sums.get(key, 0) + result
    return counts, sums


def run_producer(items, start, end, work, batch, out):
    try:
        pending = []
        for key, value in items[start:end]:
            pending.append((key, lcg(value, work)))
            if len(pending) >= batch:
                out.put(pending)
                pending = []
        out.put(pending)
    finally:
        out.put(None)  # always, so that the owner thread never waits for a dead producer


def kernel(args, items):
    keys, work = args.num_keys, args.work
    counts = dict.fromkeys(range(keys), 0)
    sums = dict.fromkeys(range(keys), 0)
    ranges = chunks(len(items), args.workers, args.corrupt)
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        if args.variant in ("global-lock", "striped"):
            stripes = 1 if args.variant == "global-lock" else args.stripes
            locks = [threading.Lock() for _ in range(stripes)]
            futures = [
                pool.submit(run_locked, items, s, e, work, counts, sums, locks) for s, e in ranges
            ]
        elif args.variant == "unlocked":
            futures = [
                pool.submit(run_unlocked, items, s, e, work, counts, sums) for s, e in ranges
            ]
        elif args.variant == "sharded":
            futures = [pool.submit(run_sharded, items, s, e, work) for s, e in ranges]
            for future in futures:
                part_counts, part_sums = future.result()
                for key, count in part_counts.items():
                    counts[key] += count
                for key, total in part_sums.items():
                    sums[key] += total
        else:
            handoff = queue.Queue(maxsize=64)
            futures = [
                pool.submit(run_producer, items, s, e, work, args.batch, handoff) for s, e in ranges
            ]
            running = len(futures)
            while running:
                pending = handoff.get()
                if pending is None:
                    running -= 1
                    continue
                for key, result in pending:
                    counts[key] += 1
                    sums[key] += result
        for future in futures:
            future.result()
    return counts, sums


def reference(items, keys, work):
    mult, add = lcg_jump(work)
    mixed = [(mult * value + add) & MASK for value in range(1000)]
    counts = dict.fromkeys(range(keys), 0)
    sums = dict.fromkeys(range(keys), 0)
    for key, value in items:
        counts[key] += 1
        sums[key] += mixed[value]
    return counts, sums


def main():
    args = parse_args(
        __doc__,
        [
            ("variant", "str", "global-lock", "locking pattern", VARIANTS),
            ("num_items", "int", 20000, "items (shared-dict updates)"),
            ("num_keys", "int", 64, "distinct keys in the shared dicts"),
            ("work", "int", 20, "arithmetic steps per item"),
            ("stripes", "int", 16, "locks (striped only)"),
            ("batch", "int", 256, "items per queue hand-off (queue only)"),
        ],
    )
    items = build_items(args.num_items, args.num_keys)

    with measured(NAME, args):
        counts, sums = kernel(args, items)

    want_counts, want_sums = reference(items, args.num_keys, args.work)
    for key in range(args.num_keys):
        check_equal("updates of key %d" % key, counts[key], want_counts[key])
        check_equal("sum of key %d" % key, sums[key], want_sums[key])
    passed(sum(sums.values()) & MASK)


if __name__ == "__main__":
    main()
