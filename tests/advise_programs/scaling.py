"""CPU-bound work split over threads: scales on the free-threaded build, not on the GIL build.
Usage: scaling.py N [SIZE]. Prints a checksum that does not depend on N."""

import math
import sys
import threading

n = int(sys.argv[1])
size = int(sys.argv[2]) if len(sys.argv) > 2 else 64
results = [0] * n


def work(i: int) -> None:
    total = 0
    for _ in range(size // n + (1 if i < size % n else 0)):
        total += math.factorial(20000) % 1000003
    results[i] = total


threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sum(results))
