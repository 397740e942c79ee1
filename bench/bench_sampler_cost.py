"""Sampler cost: CPU per tick against an 8-thread CPU-bound target, and CPU share at 100 Hz / 1 kHz.

    .venv/bin/python bench/bench_sampler_cost.py [--python PATH] [--seconds 3] [--rates 100,1000]
        [--part 1|2|3|all]

Part 1 samples one target alternately with gilwatt's TreeSampler and with the study's psutil
recipe (``Process.cpu_percent()``, ``psutil.cpu_percent(percpu=True)``,
``Process.memory_full_info()``), in interleaved blocks at the same interval, and reports the
CPU per tick of each (``time.thread_time_ns`` of the sampling thread, sleeps excluded but the
wake-ups included) and their ratio. Target: gilwatt <= 30 us per tick.

Part 2 profiles a 2-thread CPU-bound target with ``profile()`` at each rate and reports the whole
sampling loop's CPU (store writes included) as a share of one core. Targets: <= 0.5 % at
100 Hz, <= 5 % at 1 kHz. As a baseline it also measures, against the same kind of target, a
loop that only waits in ``select`` for the same deadlines: the floor any sampler pays for
waking up that often on this machine.

Part 3 times ``TreeSampler.sample()``'s code path alone against the 8-thread target: ticks back
to back (no sleeps, so no cache or frequency effects of waking up), in blocks of 20, the
minimum per tick over 30 blocks, for a plain tick (the tiers never come due) and for a status
tick (``reads=STATUS``: ``stat``, every thread's ``schedstat``, ``/proc/stat``). It is the
number to compare two versions of the sampler by; part 1 is the one to compare tools by.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _pythons import default_target_python

TARGET = """
import threading, time
def spin(end):
    x = 0
    while time.monotonic() < end:
        x += 1
end = time.monotonic() + {seconds}
ts = [threading.Thread(target=spin, args=(end,)) for _ in range({threads})]
[t.start() for t in ts]
[t.join() for t in ts]
"""


def start_target(python: str, threads: int, seconds: float) -> subprocess.Popen[bytes]:
    code = TARGET.format(threads=threads, seconds=seconds)
    proc = subprocess.Popen([python, "-c", code])
    time.sleep(0.3)  # let the threads start
    return proc


def gilwatt_block(sampler: object, ticks: int, interval_s: float) -> float:
    """CPU ns per tick of TreeSampler.sample() at ``interval_s`` (sleep not counted)."""
    spent = 0
    for _ in range(ticks):
        t0 = time.thread_time_ns()
        sampler.sample()  # type: ignore[attr-defined]
        spent += time.thread_time_ns() - t0
        time.sleep(interval_s)
    sampler.drain()  # type: ignore[attr-defined]
    return spent / ticks


def psutil_block(pid: int, ticks: int, interval_s: float) -> float:
    import psutil

    proc = psutil.Process(pid)
    spent = 0
    for _ in range(ticks):
        t0 = time.thread_time_ns()
        proc.cpu_percent()
        psutil.cpu_percent(percpu=True)
        proc.memory_full_info()
        spent += time.thread_time_ns() - t0
        time.sleep(interval_s)
    return spent / ticks


def part1(python: str, seconds: float, interval_s: float) -> None:
    from gilwatt.energy import open_meter
    from gilwatt.sampler import TreeSampler

    target = start_target(python, 8, seconds + 1)
    try:
        sampler = TreeSampler(target.pid, meter=open_meter(), measure_cost=False)
        sampler.sample()
        ours: list[float] = []
        theirs: list[float] = []
        blocks = max(2, int(seconds / (2 * 20 * interval_s)))
        for _ in range(blocks):  # interleaved blocks of 20 ticks each
            ours.append(gilwatt_block(sampler, 20, interval_s))
            theirs.append(psutil_block(target.pid, 20, interval_s))
        sampler.close()
    finally:
        target.kill()
        target.wait()
    g, p = statistics.median(ours), statistics.median(theirs)
    print(f"part 1: 8-thread CPU-bound target ({python}), interval {interval_s * 1e3:g} ms, "
          f"{blocks} interleaved blocks of 20 ticks")  # fmt: skip
    print(f"  gilwatt TreeSampler.sample(): {g / 1e3:8.1f} us CPU per tick (median of blocks)")
    print(f"  psutil recipe (study):        {p / 1e3:8.1f} us CPU per tick")
    print(
        f"  ratio gilwatt / psutil:       {g / p:8.3f}   (target <= 30 us: {'met' if g <= 30e3 else 'NOT met'})"
    )


def part3(python: str, blocks: int = 30, ticks: int = 20) -> None:
    from gilwatt.energy import open_meter
    from gilwatt.sampler import STATUS, TreeSampler

    never_ns = 10**15  # tiers that never come due: every tick is a plain one unless forced
    target = start_target(python, 8, 60)
    try:
        sampler = TreeSampler(
            target.pid, meter=open_meter(), measure_cost=False,
            status_interval_ns=never_ns, memory_interval_ns=never_ns,
        )  # fmt: skip
        sampler.sample()
        time.sleep(0.15)  # past the first smaps_rollup read (100 ms after the start)
        sampler.sample()
        plain: list[float] = []
        status: list[float] = []
        for _ in range(blocks):
            for reads, found in ((0, plain), (STATUS, status)):
                t0 = time.thread_time_ns()
                for _ in range(ticks):
                    sampler.sample("tick", None, reads)
                found.append((time.thread_time_ns() - t0) / ticks)
                sampler.drain(False)
        sampler.close()
    finally:
        target.kill()
        target.wait()
    print(f"part 3: code path alone, 8-thread CPU-bound target ({python}), ticks back to back,")
    print(f"  min over {blocks} blocks of {ticks} ticks (median in brackets)")
    for name, values in (("plain tick", plain), ("status tick", status)):
        print(
            f"  {name + ':':13} {min(values) / 1e3:7.1f} us CPU per tick"
            f" ({statistics.median(values) / 1e3:.1f})"
        )


def wake_floor(python: str, seconds: float, rate: float) -> float:
    """CPU share of one core of a loop that only waits for each deadline (select on 4 pipes)."""
    target = start_target(python, 2, seconds + 0.5)
    pipes = [os.pipe() for _ in range(2)]
    fds = [fd for pair in pipes for fd in pair]
    try:
        interval = round(1e9 / rate)
        start = time.monotonic_ns()
        cpu0 = time.thread_time_ns()
        k = 0
        while time.monotonic_ns() - start < seconds * 1e9:
            k += 1
            wait = start + k * interval - time.monotonic_ns()
            select.select(fds[::2], [], [], max(0, wait) / 1e9)
        share = (time.thread_time_ns() - cpu0) / (time.monotonic_ns() - start)
    finally:
        for fd in fds:
            os.close(fd)
        target.kill()
        target.wait()
    return share


def part2(python: str, seconds: float, rates: list[float]) -> None:
    from gilwatt.profiler import ProfileRequest, profile

    print(f"part 2: profile() of a 2-thread CPU-bound target for {seconds:g} s ({python})")
    with tempfile.TemporaryDirectory() as tmp:
        for rate in rates:
            request = ProfileRequest(
                argv=[python, "-c", TARGET.format(threads=2, seconds=seconds)],
                store_path=Path(tmp) / "bench.db", interval_ns=round(1e9 / rate),
                passthrough=False, handle_signals=False,
            )  # fmt: skip
            result = profile(request)
            floor = wake_floor(python, min(seconds, 2.0), rate)
            wall = result.summary.wall_ns
            share = result.sampler_cpu_ns / wall
            limit = 0.005 if rate <= 100 else 0.05
            print(
                f"  {rate:6g} Hz: loop CPU {result.sampler_cpu_ns / 1e6:7.1f} ms over {wall / 1e9:.2f} s"
                f" = {100 * share:5.2f} % of a core ({result.sampler_cpu_ns / max(1, result.ticks) / 1e3:.1f}"
                f" us per tick; achieved interval {(result.achieved_interval_ns or 0) / 1e6:.3f} ms,"
                f" {result.missed_deadlines} missed; store writes {100 * result.flush_cpu_ns / max(1, result.sampler_cpu_ns):.0f} % of it)  target <= {100 * limit:g} %:"
                f" {'met' if share <= limit else 'NOT met'}"
            )
            print(
                f"          baseline: waking alone costs {100 * floor:5.2f} % of a core here;"
                f" sampler / baseline = {share / floor:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=None, help="target (default: the pair's GIL build)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--interval-ms", type=float, default=10.0)
    parser.add_argument("--rates", default="100,1000")
    parser.add_argument("--part", choices=("1", "2", "3", "all"), default="all")
    args = parser.parse_args()
    args.python = args.python or default_target_python()
    if args.part in ("1", "all"):
        part1(args.python, args.seconds, args.interval_ms / 1e3)
    if args.part in ("2", "all"):
        part2(args.python, args.seconds, [float(r) for r in args.rates.split(",")])
    if args.part in ("3", "all"):
        part3(args.python)


if __name__ == "__main__":
    main()
