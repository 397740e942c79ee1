"""CPU-bound pure-Python work over N threads or N processes. Usage: with_processes.py
threads|processes N [LOOPS]. On the GIL build only processes run in parallel."""

import sys
import threading
from multiprocessing import Pool


def work(loops: int) -> int:
    s = 0
    for k in range(loops):
        s += k % 7
    return s


if __name__ == "__main__":
    kind, n = sys.argv[1], int(sys.argv[2])
    loops = int(sys.argv[3]) if len(sys.argv) > 3 else 4_000_000
    if kind == "processes":
        with Pool(n) as pool:
            total = sum(pool.map(work, [loops // n] * n))
    else:
        results = [0] * n

        def run(i: int) -> None:
            results[i] = work(loops // n)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = sum(results)
    print(total)
