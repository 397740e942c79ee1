"""The "why" lines: what in the measurements explains the advice.

Effective parallelism (CPU / wall), the free-threaded build's one-thread cost (ft-gil and ft at
one worker against the GIL build), scaling (speed-up 1 -> N and the Amdahl serial fraction over
the worker counts within the CPUs, each with its interval over blocks: :mod:`.fits`),
system-time share and involuntary switches, memory per added worker per build and kind (the
slope of the memory figure: peak RSS for threads, the tree's summed PSS for processes, with its
interval), what was not measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gilwatt.advise import fits
from gilwatt.advise.decision import Option
from gilwatt.advise.measure import MEMORY_KINDS, Outcome


@dataclass
class OptionStats:
    option: Option
    runs: int
    valid: int
    wall_s: float | None  # geometric mean of valid runs
    cpu_s: float | None
    sys_share: float | None
    involuntary: float | None
    peak_memory_bytes: float | None  # mean of the runs' memory figure (Outcome.memory_bytes)
    energy_j: float | None
    gil_back_on: bool
    memory_kind: str = ""  # rss-exact | rss-vmhwm-read | pss-sampled (MEMORY_KINDS)
    disturbed: int = 0  # runs the machine gate found disturbed (left out, or kept after reruns)

    @property
    def parallelism(self) -> float | None:
        if self.cpu_s is None or not self.wall_s:
            return None
        return self.cpu_s / self.wall_s


def _gmean(xs: Sequence[float]) -> float | None:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def _mean(xs: Sequence[float]) -> float | None:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else None


def option_stats(option: Option, outcomes: Sequence[Outcome]) -> OptionStats:
    mine = [o for o in outcomes if o.option == option and o.block > 0]
    runs = [o for o in mine if not o.superseded]
    # a run whose GIL came back on is invalid for ft but shows what the user gets today
    timed = [o for o in runs if o.valid or (o.gil_back_on and o.status == "ok")]
    return OptionStats(
        option=option, runs=len(runs), valid=sum(o.valid for o in runs),
        wall_s=_gmean([o.wall_s for o in timed if o.wall_s]),
        cpu_s=_mean([o.cpu_s for o in timed if o.cpu_s is not None]),
        sys_share=_mean([o.sys_s / o.cpu_s for o in timed if o.cpu_s and o.sys_s is not None]),
        involuntary=_mean([float(o.involuntary) for o in timed if o.involuntary is not None]),
        peak_memory_bytes=_mean([m for o in timed if (m := o.memory_bytes)]),
        memory_kind=max((o.memory_kind for o in timed if o.memory_bytes), default=""),
        energy_j=_mean([o.energy_j for o in timed if o.energy_j is not None]),
        gil_back_on=any(o.gil_back_on for o in runs),
        disturbed=sum(bool(o.disturbed) for o in mine),
    )  # fmt: skip


Group = tuple[str, str]  # (mode, parallelism)


def _groups(outcomes: Sequence[Outcome]) -> dict[Group, list[Outcome]]:
    """The swept runs that count (valid, or timed with the GIL back on), by build and kind."""
    out: dict[Group, list[Outcome]] = {}
    for o in outcomes:
        if o.block <= 0 or o.superseded or o.option.mode not in ("gil", "ft"):
            continue
        if o.option.parallelism in ("threads", "processes") and (
            o.valid or (o.gil_back_on and o.status == "ok")
        ):
            out.setdefault((o.option.mode, o.option.parallelism), []).append(o)
    return out


def scaling_fits(outcomes: Sequence[Outcome], cpus: int) -> dict[Group, fits.Scaling]:
    """Speed-up and Amdahl serial fraction per build and kind, with intervals over blocks."""
    found = {}
    for group, runs in _groups(outcomes).items():
        by_block: dict[int, dict[int, list[float]]] = {}
        for o in runs:
            if o.wall_s:
                by_block.setdefault(o.block, {}).setdefault(o.option.workers, []).append(o.wall_s)
        fit = fits.scaling(by_block, cpus)
        if fit is not None:
            found[group] = fit
    return found


def memory_fits(outcomes: Sequence[Outcome]) -> dict[Group, tuple[fits.Slope, str]]:
    """Memory per added worker per build and kind (slope, kind of figure), every run a point."""
    found = {}
    for group, runs in _groups(outcomes).items():
        points = [(o.option.workers, m) for o in runs if (m := o.memory_bytes)]
        slope = fits.memory_slope(points)
        if slope is not None:
            kinds = sorted({o.memory_kind for o in runs if o.memory_bytes})
            found[group] = (slope, kinds[-1] if kinds else "")
    return found


def _ci(interval: tuple[float, float] | None, fmt: str, note: str = fits.NO_INTERVAL) -> str:
    if interval is None:
        return f" ({note})"
    return " [" + ", ".join(format(v, fmt) for v in interval) + "]"


def why_lines(
    stats: dict[str, OptionStats],
    advised: Option | None,
    cpus: int,
    outcomes: Sequence[Outcome] = (),
) -> list[str]:
    lines: list[str] = []
    if advised is not None and advised.key in stats:
        s = stats[advised.key]
        if s.parallelism is not None:
            lines.append(f"effective parallelism of {advised.key}: {s.parallelism:.2f} CPUs busy "
                         f"per wall second (CPU / wall)")  # fmt: skip
    g1 = _find(stats, "gil", 1)
    for mode, label in (("ft-gil", "with the GIL on (ft-gil)"), ("ft", "without the GIL")):
        other = _find(stats, mode, 1)
        if other is not None and other.gil_back_on:
            label = "(its GIL turned back on by an extension)"
        if g1 and other and g1.wall_s and other.wall_s:
            lines.append(f"the free-threaded build at 1 worker {label} takes x{other.wall_s / g1.wall_s:.2f} "
                         f"the GIL build's time")  # fmt: skip
    for (mode, par), fit in sorted(scaling_fits(outcomes, cpus).items()):
        one = _find(stats, mode, 1)
        back = " (GIL back on)" if one is not None and one.gil_back_on else ""
        text = f"{mode} {par}{back}: x{fit.speedup:.2f}{_ci(fit.speedup_interval, '.2f')} "
        text += f"from 1 to {fit.top} workers"
        if fit.serial is not None and fit.speedup > 1:
            text += f"; Amdahl serial fraction {fit.serial:.2f}{_ci(fit.serial_interval, '.2f')}"
        else:
            text += "; no parallel speed-up to fit"
        lines.append(text)
    top = max(
        (s for s in stats.values() if s.sys_share is not None),
        key=lambda s: s.option.workers,
        default=None,
    )
    if top is not None:
        over = [s for s in stats.values() if s.option.workers > cpus and s.involuntary is not None]
        text = f"system time {top.sys_share:.0%} of CPU at {top.option.key}"
        if over:
            inv = max(over, key=lambda s: s.involuntary or 0)
            text += f"; {inv.involuntary:.0f} involuntary switches a run at {inv.option.key} (oversubscribed)"
        lines.append(text)
    mem = _memory_line(memory_fits(outcomes))
    if mem:
        lines.append(mem)
    return lines


def _memory_line(found: dict[Group, tuple[fits.Slope, str]]) -> str:
    parts = []
    for (mode, par), (slope, kind) in sorted(found.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        what = "thread" if par == "threads" else "process"
        mib = slope.bytes_per_worker / 2**20
        low_high = slope.interval
        ci = _ci(None if low_high is None else (low_high[0] / 2**20, low_high[1] / 2**20), "+.1f")
        parts.append(f"{mode} {mib:+.1f} MiB{ci} per added {what} ({MEMORY_KINDS.get(kind, kind)})")
    return ("memory: " + "; ".join(parts)) if parts else ""


def not_measured_lines(
    cpus: int, notes: Sequence[str], outcomes: Sequence[Outcome] = ()
) -> list[str]:
    lines = list(notes)
    fit = scaling_fits(outcomes, cpus).get(("ft", "threads"))
    serial = None if fit is None or fit.speedup <= 1 else fit.serial
    text = f"this host has {cpus} usable CPUs: more cores than that were not measured"
    if serial is not None and 0 <= serial < 1:
        k = cpus * 2
        speed = 1 / (serial + (1 - serial) / k)
        text += (f"; ft threads at {k} workers would speed up about x{speed:.1f} over 1 by the "
                 f"Amdahl fit: an EXTRAPOLATION, run advise on the machine that will run it")  # fmt: skip
    lines.append(text)
    return lines


def _find(stats: dict[str, OptionStats], mode: str, workers: int) -> OptionStats | None:
    for s in stats.values():
        if (
            s.option.mode == mode
            and s.option.workers == workers
            and s.option.parallelism != "processes"
        ):
            return s
    return None
