"""Time reading one run back: the timeline and summary of a 10,000-sample run (4 threads, 2 cores).

Target: the timeline read in well under 100 ms on this machine (the report and `plot` read it for
every run page). Prints the best of 5 reads, and beside it the cached summary read of the same
run (an in-run baseline of the store's fixed cost per call).

    .venv/bin/python bench/bench_store_read.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from gilwatt.store import Store
from gilwatt.store.synthetic import write_run


def best_of(n: int, fn: object) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.db"
        with Store.open(path) as store:
            run = write_run(store, samples=10_000, threads=4, cores=2)
        with Store.open(path, create=False) as store:
            timeline_s = best_of(5, lambda: store.timeline(run.run_id))
            summary_s = best_of(5, lambda: store.summary(run.run_id))
    print(f"timeline of 10,000 samples: {timeline_s * 1e3:.1f} ms (target < 100 ms)")
    print(f"summary of the same run: {summary_s * 1e3:.1f} ms; ratio {timeline_s / summary_s:.2f}")


if __name__ == "__main__":
    main()
