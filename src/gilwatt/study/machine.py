"""The machine's state around one study run, and the gate on foreign load.

Read before and after each run: load average, runnable threads, steal, CPU MHz and
temperature where readable. *Foreign CPU* is what the rest of the machine did while the run's
region was measured: machine-wide busy time (``/proc/stat``, stored per sample in
``core_samples``) minus the run's tree CPU minus gilwatt's own CPU (its process), in cores. A run
above the limit is *disturbed*: kept, left out of the analysis, and run again.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_FOREIGN_CPU = 0.1  # cores
MAX_RERUNS = 2  # per run key: a machine that stays busy cannot hold the study forever
# Both tick counters move in whole ticks at each end of the region, per core.
QUANTUM_TICKS_PER_CORE = 2


def clock_ticks_per_s() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError):
        return 100


@dataclass(frozen=True)
class Snapshot:
    """The machine at one moment; None where a source is unreadable."""

    load1: float | None
    procs_running: int | None  # runnable threads machine-wide, this reader included
    steal_ticks: int | None
    cpu_mhz: float | None
    temp_c: float | None


def snapshot(root: Path = Path("/")) -> Snapshot:
    load1 = None
    loadavg = _read(root / "proc" / "loadavg").split()
    if loadavg:
        load1 = float(loadavg[0])
    procs = steal = None
    for line in _read(root / "proc" / "stat").splitlines():
        if line.startswith("cpu "):
            fields = line.split()
            steal = int(fields[8]) if len(fields) > 8 else None
        elif line.startswith("procs_running "):
            procs = int(line.split()[1])
    return Snapshot(load1, procs, steal, _cpu_mhz(root), _temp_c(root))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""


def _cpu_mhz(root: Path) -> float | None:
    values = [
        float(line.split(":", 1)[1])
        for line in _read(root / "proc" / "cpuinfo").splitlines()
        if line.startswith("cpu MHz")
    ]
    return sum(values) / len(values) if values else None


def _temp_c(root: Path) -> float | None:
    found = []
    base = root / "sys" / "class" / "thermal"
    for zone in sorted(base.glob("thermal_zone*")) if base.is_dir() else []:
        text = _read(zone / "temp").strip()
        if text.lstrip("-").isdigit():
            found.append(int(text) / 1000)
    return max(found) if found else None


@dataclass(frozen=True)
class MachineState:
    """One ``run_machine`` row: the state around one run (None: not readable)."""

    load1: float | None
    procs_running: int | None  # runnable just before the launch, gilwatt's reader excluded
    steal_cores: float | None
    foreign_cpu_cores: float | None
    cpu_mhz: float | None
    temp_c: float | None


def state(
    before: Snapshot, after: Snapshot, wall_ns: int, foreign_cpu_cores: float | None
) -> MachineState:
    steal = None
    if before.steal_ticks is not None and after.steal_ticks is not None and wall_ns > 0:
        steal_ns = (after.steal_ticks - before.steal_ticks) * 1e9 / clock_ticks_per_s()
        steal = max(0.0, steal_ns / wall_ns)
    procs = None if before.procs_running is None else max(0, before.procs_running - 1)
    return MachineState(after.load1, procs, steal, foreign_cpu_cores, after.cpu_mhz, after.temp_c)


@dataclass(frozen=True)
class RegionCpu:
    """Counters over the samples that bracket a run's measured region."""

    span_ns: int  # between the bracketing samples
    machine_busy_ticks: int  # all cores
    tree_cpu_ns: int
    cores: int


def own_cpu_ns() -> int:
    """gilwatt's own CPU so far (every thread of this process: the sampler, the store writer)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


def foreign_cpu_cores(region: RegionCpu, own_cpu_ns: int, run_wall_ns: int) -> tuple[float, float]:
    """(foreign CPU in cores, its quantisation allowance in cores) over the region.

    gilwatt's own CPU is known for the whole run only: its share of the region is taken in
    proportion to time. The allowance is the tick counters' resolution at both ends.
    """
    if region.span_ns <= 0:
        return 0.0, 0.0
    tick_ns = 1e9 / clock_ticks_per_s()
    own_ns = own_cpu_ns * min(1.0, region.span_ns / run_wall_ns) if run_wall_ns else 0
    foreign_ns = region.machine_busy_ticks * tick_ns - region.tree_cpu_ns - own_ns
    allowance = QUANTUM_TICKS_PER_CORE * region.cores * tick_ns / region.span_ns
    return max(0.0, foreign_ns / region.span_ns), allowance


def disturbed_reason(foreign: float, allowance: float, limit: float) -> str | None:
    """Why a run is disturbed, or None if its foreign load is within the limit."""
    if foreign - allowance <= limit:
        return None
    return (
        f"disturbed: foreign CPU {foreign:.2f} cores over the region "
        f"(limit {limit:g} + {allowance:.2f} tick resolution)"
    )
