"""A bundled example: a pure-Python CPU-bound loop split over threads.

    gilwatt profile --python 3.13.5t -- count_threads.py --threads 2 --n 4000000

On a GIL build the threads take turns; on a free-threaded build they run at once.
Runs on CPython 3.9+; uses only the standard library and gilwatt.markers.
"""

import argparse
import sys
import threading

from gilwatt.markers import annotate, region


def count(n):
    total = 0
    for i in range(n):
        total += i & 7
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=4_000_000, help="loop iterations in all")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    share = args.n // args.threads
    results = [0] * args.threads

    def worker(k):
        results[k] = count(share)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.threads)]
    with region("count", threads=args.threads, n=args.n):
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    expected = count(share) * args.threads
    ok = sum(results) == expected
    annotate(verified=ok, gil=getattr(sys, "_is_gil_enabled", lambda: True)())
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
