"""Time `gilwatt compare` on a synthetic study of 1,000 runs and 10 million samples.

Target: the compare output (every analysis, text rendering) in at most 10 s on this machine,
with bounded memory (peak RSS reported). The store is built once (in a child process, so its
memory does not count) and cached:

    .venv/bin/python bench/bench_compare.py            # build if missing, then measure
    .venv/bin/python bench/bench_compare.py --rebuild  # force a fresh store

The study: 25 cells (sequential, numpy, threaded-numerical, threaded-objects, shared-state,
read-only families; 1, 2 and 4 workers for the threaded ones) x 2 modes x 20 blocks = 1,000
runs of 10,000 samples each.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 10.0
RUNS_PER_STORE = 1000
SAMPLES_PER_RUN = 10_000
CACHE = Path(os.environ.get("GILWATT_BENCH_STORE", "/tmp/gilwatt-bench-compare-v2.db"))

FAMILIES = {
    "mandelbrot": "sequential",
    "bubble_sort": "sequential",
    "prime_sieve": "sequential",
    "numpy_blas": "numpy",
    "numpy_fft": "numpy",
    "factorial": "threaded-numerical",
    "matmul": "threaded-numerical",
    "nbody": "threaded-numerical",
    "json_threads": "threaded-objects",
    "object_lists": "threaded-objects",
    "shared_counter": "shared-state",
    "dict_reader": "read-only",
    "list_reader": "read-only",
}
THREADED = {"threaded-numerical", "threaded-objects", "shared-state"}


def cells() -> list[tuple[str, int]]:
    out = []
    for workload, family in FAMILIES.items():
        for workers in (1, 2, 4) if family in THREADED else (1,):
            out.append((workload, workers))
    return out


def build(path: Path) -> None:
    from gilwatt.store.synthetic import SyntheticRun, write_study

    rng = random.Random(2026)
    cell_list = cells()
    blocks = RUNS_PER_STORE // (2 * len(cell_list))
    runs = []
    for block in range(1, blocks + 1):
        for workload, workers in cell_list:
            family = FAMILIES[workload]
            for mode in ("gil", "ft"):
                t = 1.0
                if mode == "ft":
                    t *= {"sequential": 1.2, "numpy": 1.0, "shared-state": 1.3}.get(family, 1.05)
                    if family in ("threaded-numerical", "read-only"):
                        t /= min(workers, 2)
                t *= rng.uniform(0.97, 1.03)
                runs.append(
                    SyntheticRun(workload, workers, mode, block, t, params={"size": 100},
                                 energy_j=t * rng.uniform(9.5, 10.5),
                                 rss_bytes=int(50e6 * (1.1 if mode == "ft" else 1.0)),
                                 vms_bytes=int(400e6 * (1.8 if mode == "ft" else 1.0)))
                )  # fmt: skip
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    write_study(
        tmp, runs, name="bench", seed=2026, samples_per_run=SAMPLES_PER_RUN, families=FAMILIES
    )
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    tmp.rename(path)


def measure(path: Path) -> int:
    """Stage times in this process, then the real command end to end in a child."""
    from gilwatt.analysis.compare import analyse
    from gilwatt.analysis.dataset import load_study
    from gilwatt.analysis.energy_time import analyse_energy_time
    from gilwatt.analysis.findings import findings
    from gilwatt.analysis.result import compare_study
    from gilwatt.analysis.scaling import scaling_curves
    from gilwatt.analysis.tables import render

    t0 = time.perf_counter()
    data = load_study(path)
    t1 = time.perf_counter()
    analysis = analyse(data)
    t2 = time.perf_counter()
    curves = scaling_curves(analysis)
    et = analyse_energy_time(data.runs)
    findings(analysis, et, curves)
    t3 = time.perf_counter()
    text = render(compare_study(path), "text")
    t4 = time.perf_counter()
    in_process_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"store: {path} ({path.stat().st_size / 2**20:.0f} MiB, {len(data.runs)} runs)")
    print(
        f"stages: load {t1 - t0:.2f} s, ratios+CIs {t2 - t1:.2f} s, "
        f"scaling+energy+findings {t3 - t2:.2f} s; whole compare_study+render {t4 - t3:.2f} s "
        f"({len(text.splitlines())} lines); peak RSS {in_process_mib:.0f} MiB"
    )
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gilwatt", "compare", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    total = time.perf_counter() - start
    child_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"`gilwatt compare` end to end: {total:.2f} s (target {TARGET_S:.0f} s, ratio {total / TARGET_S:.2f})"
    )
    print(f"`gilwatt compare` peak RSS: {child_mib:.0f} MiB")
    return 0 if total <= TARGET_S else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="build the synthetic store again")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build(CACHE)
        return 0
    if args.rebuild or not CACHE.exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--build-only"], check=True)
        print(f"built {CACHE} in {time.perf_counter() - t0:.0f} s")
        # the builder's RSS is now in RUSAGE_CHILDREN: measure in a fresh process
        return subprocess.run([sys.executable, __file__], check=False).returncode
    return measure(CACHE)


if __name__ == "__main__":
    sys.exit(main())
