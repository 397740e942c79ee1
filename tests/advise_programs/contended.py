"""Threads contending on one shared structure: every update reads and writes one dict (on the
free-threaded build each access takes the dict's lock). More threads only add contention.
Usage: contended.py N [UPDATES]."""

import sys
import threading

n = int(sys.argv[1])
updates = int(sys.argv[2]) if len(sys.argv) > 2 else 2_400_000
shared: dict[int, int] = {}


def work() -> None:
    for k in range(updates // n):
        shared[k % 64] = shared.get(k % 64, 0) + 1


threads = [threading.Thread(target=work) for _ in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(shared))
