"""The ladder of worker counts, the candidates, and the usable CPUs.

Usable CPUs as loky counts them: the affinity mask, then a cgroup quota (rounded down). The
ladder is 1, 2, 4, ... up to the usable CPUs, the usable count itself, and one oversubscribed
cell (twice the usable CPUs): more workers than CPUs pays only when the program waits
(I/O), which that cell shows. ``ft-gil`` (the free-threaded build with ``PYTHON_GIL=1``) runs
at 1 and at the largest N within the CPUs: it separates the build's cost from the GIL's and is
never advised. Processes (``--processes``) run on the GIL build: on the free-threaded build a
process pays the build's single-thread cost and gains nothing from the missing GIL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from gilwatt.advise.decision import Option
from gilwatt.advise.target import Target

DIAGNOSTIC = "diagnostic: separates the free-threaded build's cost from the GIL's"
MIN_BLOCKS = 3
MAX_BLOCKS = 10
MIN_RUN_TIMEOUT_S = 20.0
LOSER_FACTOR = 2.0  # an option every run of which took more than 2x the best's is dropped
TIMEOUT_FACTOR = 10.0  # a run 10x slower than the slowest calibration run is stopped
RUN_OVERHEAD_S = 0.3  # launch, sampler start and store per run (measured: 0.2-0.4 s here)

# exit codes (the issue's)
ADVISED, FAILS_ON_GIL, BAD_INPUT, NO_VALID_RUN, FAILS_ON_FT = 0, 1, 2, 3, 4

# A program waits (I/O, sleeps, locks held elsewhere) when, alone at one worker, it keeps less
# than a quarter of a CPU busy: only then may more workers than the usable CPUs be advised.
WAITS_CPU_PER_WALL = 0.25


def usable_cpus() -> int:
    from gilwatt import hostinfo

    info = hostinfo.collect()
    return hostinfo.usable_cpus(info.logical_cpus or os.cpu_count() or 1, info.extra)


def ladder(cpus: int) -> list[int]:
    counts = []
    n = 1
    while n < cpus:
        counts.append(n)
        n *= 2
    counts.append(cpus)
    counts.append(cpus * 2)
    return sorted(set(counts))


def candidates(target: Target, workers: Sequence[int], cpus: int) -> list[Option]:
    """Every option to measure, in the simplicity order."""
    if not target.takes_workers:
        return [Option("gil", 1, "none"), Option("ft", 1, "none"), Option("ft-gil", 1, "none")]
    threads = target.parallelism  # "processes" when the program's own {n} starts processes
    options = [Option("gil", n, threads) for n in workers]
    options += [Option("ft", n, threads) for n in workers]
    within = [n for n in workers if n <= cpus] or [min(workers)]
    options += [Option("ft-gil", n, threads) for n in sorted({min(workers), max(within)})]
    if target.processes_args is not None:
        # one process is the threads' one worker plus a pool's start-up: not an option
        options += [Option("gil", n, "processes") for n in workers if n > 1]
    return sorted(options, key=Option.simplicity)
