"""Perturbation: how much slower a target runs while gilwatt samples it at 100 Hz.

    .venv/bin/python bench/bench_sampler_perturbation.py [--python PATH] [--pairs 10] [--threads 2]

Each pair runs the same CPU-bound target once under ``profile()`` (100 Hz) and once on its own,
in random order within the pair. The target times its own kernel (``perf_counter`` around it,
so interpreter start-up is not in the figure) and prints it. Reported: the median over pairs of
profiled / unprofiled, with the spread. Target: at most 1 % slower (ratio <= 1.01).

``--target churn`` runs a target that starts and ends many short threads instead (``--rounds``
rounds of ``--threads`` threads, each a few ms of CPU), so the thread hook reports two events
per thread. Target there: upper quartile of the ratio at most 1.02.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
from pathlib import Path

from _pythons import default_target_python

TARGET = """
import sys, threading, time
from gilwatt.markers import region
n, threads = int(sys.argv[1]), int(sys.argv[2])
def work(k):
    x = 0
    for i in range(k):
        x += i * i
t0, c0 = time.perf_counter(), time.process_time()
with region("kernel"):
    ts = [threading.Thread(target=work, args=(n // threads,)) for _ in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]
print(time.perf_counter() - t0, time.process_time() - c0)
"""


CHURN = """
import sys, threading, time
from gilwatt.markers import region
n, threads = int(sys.argv[1]), int(sys.argv[2])
rounds = 500
def work(k):
    x = 0
    for i in range(k):
        x += i * i
t0, c0 = time.perf_counter(), time.process_time()
with region("kernel"):
    for _ in range(rounds):
        ts = [threading.Thread(target=work, args=(n // threads // rounds,)) for _ in range(threads)]
        [t.start() for t in ts]
        [t.join() for t in ts]
print(time.perf_counter() - t0, time.process_time() - c0)
"""


def unprofiled(python: str, script: Path, n: int, threads: int) -> tuple[float, float]:
    from gilwatt.launcher import shim_dir

    env = dict(os.environ, PYTHONPATH=str(shim_dir()))
    env.pop("GILWATT_MARKER_FD", None)
    done = subprocess.run(
        [python, str(script), str(n), str(threads)], env=env, capture_output=True, check=True
    )
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def profiled(python: str, script: Path, n: int, threads: int, store: Path) -> tuple[float, float]:
    from gilwatt.profiler import ProfileRequest, profile
    from gilwatt.store import Store

    request = ProfileRequest(
        argv=[python, str(script), str(n), str(threads)], store_path=store,
        interval_ns=10_000_000, passthrough=False, handle_signals=False,
    )  # fmt: skip
    result = profile(request)
    with Store.open(store) as s:
        wall, cpu = s.output(result.run_id, "stdout").split()
        return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=None, help="target (default: the pair's GIL build)")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--n",
        type=int,
        default=30_000_000,
        help="loop iterations in the kernel (default: about 1 s; a 0.2 s kernel mostly measures the fixed cost of the two boundary samples, about 1-2 ms, not the sampling rate)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--target",
        choices=("compute", "churn"),
        default="compute",
        help="compute: threads that run the whole kernel; churn: 500 rounds of short threads",
    )
    args = parser.parse_args()
    args.python = args.python or default_target_python()
    rng = random.Random(args.seed)
    ratios, plain, under, cpu_ratios = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "target.py"
        script.write_text(CHURN if args.target == "churn" else TARGET)
        unprofiled(args.python, script, args.n // 10, args.threads)  # warm the page cache
        for i in range(args.pairs):
            first_profiled = rng.random() < 0.5
            if first_profiled:
                p, pc = profiled(args.python, script, args.n, args.threads, Path(tmp) / "p.db")
                u, uc = unprofiled(args.python, script, args.n, args.threads)
            else:
                u, uc = unprofiled(args.python, script, args.n, args.threads)
                p, pc = profiled(args.python, script, args.n, args.threads, Path(tmp) / "p.db")
            ratios.append(p / u)
            cpu_ratios.append(pc / uc)
            plain.append(u)
            under.append(p)
            print(f"  pair {i + 1:2d}: unprofiled {u:.4f} s, profiled {p:.4f} s, ratio {p / u:.4f}"
                  f" (target's own CPU: ratio {pc / uc:.4f})"
                  f" ({'profiled first' if first_profiled else 'unprofiled first'})")  # fmt: skip
    median = statistics.median(ratios)
    q = (
        statistics.quantiles(ratios, n=4)
        if len(ratios) >= 4
        else [min(ratios), median, max(ratios)]
    )
    print(
        f"perturbation at 100 Hz, {args.threads}-thread CPU-bound {args.target} target ({args.python}), {args.pairs} interleaved pairs:"
    )
    print(
        f"  median kernel time: unprofiled {statistics.median(plain):.4f} s, profiled {statistics.median(under):.4f} s"
    )
    qc = (
        statistics.quantiles(cpu_ratios, n=4)
        if len(cpu_ratios) >= 4
        else [min(cpu_ratios), max(cpu_ratios)]
    )
    print(f"  the target's own CPU (process_time), profiled / unprofiled: median"
          f" {statistics.median(cpu_ratios):.4f} (quartiles {qc[0]:.4f} .. {qc[-1]:.4f})")  # fmt: skip
    if args.target == "churn":
        threads_made = 500 * args.threads
        print(f"  {threads_made} threads started and ended per run (thread hook on)")
        print(f"  median ratio profiled / unprofiled: {median:.4f} (quartiles {q[0]:.4f} .. {q[-1]:.4f});"
              f" target upper quartile <= 1.02: {'met' if q[-1] <= 1.02 else 'NOT met'}")  # fmt: skip
    else:
        print(f"  median ratio profiled / unprofiled: {median:.4f} (quartiles {q[0]:.4f} .. {q[-1]:.4f});"
              f" target <= 1.01: {'met' if median <= 1.01 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
