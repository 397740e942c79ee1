"""Energy net of the idle baseline: what a run cost above the machine sitting idle.

A study with ``idle_baseline`` measures the machine's idle power before each replicate (a
``sleep`` under the profiler, the ``idle_baselines`` table). A run's net energy is derived
here, never stored:

    energy_net_j = energy_j - idle power of the run's replicate x the energy's own window

where the window is the time between the two boundary samples the energy was read at
(``window_s``, analysis/metrics.py), not the region's wall time: gross energy and the idle
share come from the same window. Only runs whose energy source is the baseline's get it.
The claims are decided on gross energy; the net figure is shown beside it (compare's energy
section and ``energy_net_j`` column, the JSON, the report's "Energy net of idle" section).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gilwatt.analysis.dataset import StudyData
from gilwatt.store import Store

NET = "energy_net_j"


@dataclass(frozen=True)
class IdleBaseline:
    block: int
    power_w: float
    duration_s: float
    source: str


def read_idle(source: str | Path | Store, study_id: int) -> list[IdleBaseline]:
    """The study's idle baselines, one per replicate that measured one, in block order."""
    store = source if isinstance(source, Store) else Store.open_study(source)
    try:
        found = store.idle_baselines(study_id)
    finally:
        if store is not source:
            store.close()
    return [
        IdleBaseline(block, energy_uj / 1e6 / (duration_ns / 1e9), duration_ns / 1e9, src)
        for block, (duration_ns, energy_uj, src) in sorted(found.items())
        if duration_ns > 0
    ]


def net_energy_j(energy_j: float, window_s: float, idle_power_w: float) -> float:
    return energy_j - idle_power_w * window_s


def add_net_energy(data: StudyData, baselines: list[IdleBaseline]) -> int:
    """Give every valid run with a baseline of its replicate (same energy source) its
    ``energy_net_j``; return how many got one."""
    by_block = {b.block: b for b in baselines}
    count = 0
    for run in data.valid_runs:
        base = by_block.get(run.block)
        energy, window = run.metrics.get("energy_j"), run.metrics.get("window_s")
        if base is None or energy is None or not window or run.energy_source != base.source:
            continue
        run.metrics[NET] = net_energy_j(energy, window, base.power_w)
        count += 1
    return count


def idle_lines(data: StudyData, baselines: list[IdleBaseline]) -> list[str]:
    """compare's lines on the idle baseline and net energy ([] without a baseline)."""
    if not baselines:
        return []
    powers = [b.power_w for b in baselines]
    sources = ", ".join(sorted({b.source for b in baselines}))
    lines = [
        f"idle baseline: {len(baselines)} replicate(s), idle power median "
        f"{float(np.median(powers)):.2f} W (range {min(powers):.2f}–{max(powers):.2f}; {sources})"
    ]
    runs = [r for r in data.valid_runs if r.metrics.get(NET) is not None]
    if not runs:
        return [*lines, "energy net of idle: no valid run has a baseline of its replicate"]
    parts = []
    for mode in data.modes:
        mine = [r for r in runs if r.mode == mode]
        if mine:
            gross = float(np.median([r.metrics["energy_j"] or 0.0 for r in mine]))
            net = float(np.median([r.metrics[NET] or 0.0 for r in mine]))
            parts.append(f"{mode} median {net:.3g} J net of {gross:.3g} J gross")
    lines.append(f"energy net of idle ({len(runs)} runs): {'; '.join(parts)}")
    return lines
