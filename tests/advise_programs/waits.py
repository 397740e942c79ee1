"""I/O-like waiting split over N threads: more workers than CPUs still help.
Usage: waits.py N [TOTAL_SECONDS]."""

import sys
import threading
import time

n = int(sys.argv[1])
total = float(sys.argv[2]) if len(sys.argv) > 2 else 0.8
items = 16


def work(i: int) -> None:
    for _ in range(i, items, n):
        time.sleep(total / items)


threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done")
