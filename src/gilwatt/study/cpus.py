"""Workers against CPUs: which cells are oversubscribed, and pinning the others.

A cell with more workers than the CPUs the study may use measures the scheduler's time
slicing, not scaling; the analysis keeps such cells out of its claims, and the study labels
them. ``--pin`` gives a cell with N <= CPUs its own N CPUs through ``taskset`` (affinity is
inherited, so the target and its threads stay there; the sampler, in gilwatt's process, is
not pinned).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence

from gilwatt.study.matrix import Cell


def usable_cpus() -> int:
    """CPUs this process's runs could use at once (affinity, then the cgroup quota)."""
    from gilwatt import hostinfo

    info = hostinfo.collect()
    return hostinfo.usable_cpus(info.logical_cpus, info.extra)


def allowed_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def oversubscribed(cells: Iterable[Cell], cpus: int) -> dict[int, list[Cell]]:
    """Worker counts above ``cpus`` and their cells, by worker count."""
    found: dict[int, list[Cell]] = {}
    for cell in sorted(cells, key=lambda c: (c.workers, c.key)):
        if cell.workers > cpus:
            found.setdefault(cell.workers, []).append(cell)
    return found


def warning_lines(cells: Iterable[Cell], cpus: int) -> list[str]:
    """One line per worker count above the usable CPUs (the CLI prints them at start)."""
    lines = []
    for workers, over in oversubscribed(cells, cpus).items():
        names = ", ".join(dict.fromkeys(c.workload for c in over))
        lines.append(
            f"{workers} workers exceed the {cpus} usable CPUs: {len(over)} cell(s) ({names}) are "
            "oversubscribed; they are measured and labelled, and kept out of the claims"
        )
    return lines


def pin_prefix(workers: int, cpus: Sequence[int], usable: int) -> list[str]:
    """``taskset`` arguments that pin a cell of ``workers`` to its own CPUs; [] to leave it
    unpinned (oversubscribed, or no taskset here)."""
    taskset = shutil.which("taskset")
    if taskset is None or workers > usable or workers > len(cpus):
        return []
    return [taskset, "--cpu-list", ",".join(str(c) for c in cpus[:workers])]
