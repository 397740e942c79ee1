"""Accuracy of what the sampler records, against references measured in the same run.

    .venv/bin/python bench/bench_sampler_accuracy.py [--python PATH] [--runs 3]

1. Tree CPU vs the kernel's own account: a target whose threads, children (one exiting early)
   and an orphaned grandchild burn CPU, then idles 0.3 s; the last tick taken while the root was
   still alive is compared with the tree's ``wait4`` rusage (root + orphans gilwatt reaped).
   Target: within 2 %.
2. Region CPU vs what the program measured itself: the tree CPU between a region's boundary
   samples against ``process_time`` deltas the program took at the region's edges (the marker's
   own readings), for 2-thread regions of about 0.1-0.7 s. Target: within 1 %. (The boundary
   sample is taken when the marker arrives; on a loaded machine that can be milliseconds
   later, which shows in regions of a few tens of ms.)
3. Peak RSS of a 200 MB allocation held for less than one sampling interval (1 s interval):
   the run's peak RSS and the region's against the program's RSS just before + 200 MB.
   Target: within 1 %.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
from contextlib import closing
from pathlib import Path

from _pythons import default_target_python

TREE = """
import os, subprocess, sys, threading, time
burn = "x = 0\\nfor i in range(4_000_000): x += i\\n"
def work():
    exec(burn)
early = subprocess.Popen([sys.executable, "-c", burn])
ts = [threading.Thread(target=work) for _ in range(2)]
[t.start() for t in ts]
late = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)\\n" + burn])
# a grandchild orphaned at once: its parent exits, gilwatt (child subreaper) reaps it
subprocess.run([sys.executable, "-c",
    "import subprocess, sys; subprocess.Popen([sys.executable, '-c', sys.argv[1]])", burn])
[t.join() for t in ts]
early.wait(); late.wait()
time.sleep(1.0)   # the orphan finishes; then nothing runs until exit
os._exit(0)       # no interpreter finalisation: no CPU after the last tick
"""

REGION = """
import sys, threading, time
from gilwatt.markers import region
def work(n):
    x = 0
    for i in range(n):
        x += i
for size in (4_000_000, 8_000_000, 16_000_000):
    with region("kernel", size=size):
        ts = [threading.Thread(target=work, args=(size // 2,)) for _ in range(2)]
        [t.start() for t in ts]
        [t.join() for t in ts]
    time.sleep(0.05)
"""

SPIKE = """
import time
from gilwatt.markers import region
time.sleep(0.3)
rss = int(open('/proc/self/statm').read().split()[1]) * 4096
with region("spike"):
    block = bytearray(200_000_000)
    block[::4096] = b'x' * len(block[::4096])
    del block
time.sleep(0.3)
print(rss)
"""


def profile_code(python: str, code: str, store: Path, **options: object):  # type: ignore[no-untyped-def]
    from gilwatt.profiler import ProfileRequest, profile

    script = store.parent / "target.py"
    script.write_text(code)
    request = ProfileRequest(
        argv=[python, str(script)], store_path=store, passthrough=False, handle_signals=False,
        **options,  # type: ignore[arg-type]
    )  # fmt: skip
    result = profile(request)
    assert result.status == "ok", (result.status, result.stderr_tail)
    return result


def tree_cpu(python: str, tmp: Path) -> float:
    store = tmp / "tree.db"
    result = profile_code(python, TREE, store)
    with closing(sqlite3.connect(store)) as conn:
        (kernel,) = conn.execute(
            "SELECT ru_utime_ns + ru_stime_ns FROM runs WHERE run_id = ?", (result.run_id,)
        ).fetchone()
        (sampled,) = conn.execute(
            "SELECT cpu_ns FROM samples WHERE run_id = ? AND trigger = 'tick'"
            " AND seq < (SELECT seq FROM samples WHERE run_id = ? AND trigger = 'final')"
            " ORDER BY seq DESC LIMIT 1",
            (result.run_id, result.run_id),
        ).fetchone()
    error = (sampled - kernel) / kernel
    print(
        f"  tree CPU: sampled {sampled / 1e9:.4f} s, wait4 {kernel / 1e9:.4f} s, error {100 * error:+.2f} %"
    )
    return abs(error)


def region_cpu(python: str, tmp: Path) -> list[float]:
    result = profile_code(python, REGION, tmp / "region.db")
    errors = []
    for r in result.summary.regions:
        assert r.tree_cpu_ns is not None
        error = (r.tree_cpu_ns - r.process_cpu_ns) / r.process_cpu_ns
        errors.append(abs(error))
        print(f"  region {r.attrs.get('size')}: boundary samples {r.tree_cpu_ns / 1e6:8.2f} ms, program"
              f" {r.process_cpu_ns / 1e6:8.2f} ms, error {100 * error:+.2f} %")  # fmt: skip
    return errors


def spike_rss(python: str, tmp: Path) -> list[float]:
    store = tmp / "spike.db"
    result = profile_code(python, SPIKE, store, interval_ns=1_000_000_000)
    from gilwatt.store import Store

    with Store.open(store) as s:
        expected = int(s.output(result.run_id, "stdout")) + 200_000_000
    run_error = (result.summary.peak_rss_bytes - expected) / expected
    (region,) = result.summary.regions
    assert region.peak_rss_bytes is not None
    region_error = (region.peak_rss_bytes - expected) / expected
    print(f"  200 MB spike: expected {expected / 1e6:.1f} MB, run peak {result.summary.peak_rss_bytes / 1e6:.1f}"
          f" MB ({100 * run_error:+.2f} %), region peak {region.peak_rss_bytes / 1e6:.1f} MB ({100 * region_error:+.2f} %)")  # fmt: skip
    return [abs(run_error), abs(region_error)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=None, help="target (default: the pair's GIL build)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    args.python = args.python or default_target_python()
    tree, region, spike = [], [], []
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        for i in range(args.runs):
            print(f"run {i + 1} ({args.python}):")
            tree.append(tree_cpu(args.python, tmp))
            region.extend(region_cpu(args.python, tmp))
            spike.extend(spike_rss(args.python, tmp))
    for name, errors, limit in (("tree CPU vs wait4", tree, 0.02), ("region CPU vs program", region, 0.01),
                                ("peak RSS of a 200 MB spike", spike, 0.01)):  # fmt: skip
        worst = max(errors)
        print(
            f"{name}: median |error| {100 * statistics.median(errors):.2f} %, worst {100 * worst:.2f} %;"
            f" target <= {100 * limit:g} %: {'met' if worst <= limit else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
