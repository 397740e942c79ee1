"""The "why" lines: what in the measurements explains the advice.

Effective parallelism (CPU / wall), the free-threaded build's one-thread cost (ft-gil and ft at
one worker against the GIL build), scaling with an Amdahl fit (1/S = s + (1 - s)/N by least
squares over the worker counts within the CPUs), system-time share and involuntary switches,
memory per added worker (threads vs processes: peak RSS of the tree, PSS summed over processes
where measured; the per-process exact peaks come with issue 9's tree figures), what was not
measured, and the command that runs the advice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gilwatt.advise.decision import Option
from gilwatt.advise.measure import Outcome


@dataclass
class OptionStats:
    option: Option
    runs: int
    valid: int
    wall_s: float | None  # geometric mean of valid runs
    cpu_s: float | None
    sys_share: float | None
    involuntary: float | None
    peak_rss_bytes: float | None
    energy_j: float | None
    gil_back_on: bool
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
        peak_rss_bytes=_mean([float(o.objective("memory") or 0) for o in timed if o.objective("memory")]),
        energy_j=_mean([o.energy_j for o in timed if o.energy_j is not None]),
        gil_back_on=any(o.gil_back_on for o in runs),
        disturbed=sum(bool(o.disturbed) for o in mine),
    )  # fmt: skip


def amdahl(points: Sequence[tuple[int, float]]) -> float | None:
    """Serial fraction s from (N, T(N)) points (T(1) among them), least squares on 1/S."""
    base = dict(points).get(1)
    pts = [(n, t) for n, t in points if n > 1]
    if not base or not pts:
        return None
    # 1/S - 1/N = s (1 - 1/N): a line through the origin in x = 1 - 1/N
    xs = [1 - 1 / n for n, _ in pts]
    ys = [t / base - 1 / n for n, t in pts]
    denom = sum(x * x for x in xs)
    return sum(x * y for x, y in zip(xs, ys, strict=True)) / denom if denom else None


def why_lines(
    stats: dict[str, OptionStats], advised: Option | None, cpus: int, command: str
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
    for mode in ("gil", "ft"):
        for par in ("threads", "processes"):
            pts = sorted((s.option.workers, s.wall_s) for s in stats.values()
                         if s.option.mode == mode and s.option.parallelism == par and s.wall_s
                         and s.option.workers <= cpus)  # fmt: skip
            if len(pts) < 2 or pts[0][0] != 1:
                continue
            n_top, t_top = pts[-1]
            speedup = pts[0][1] / t_top
            serial = amdahl(pts)
            if serial is None or not 0 <= serial <= 1:
                fit = "; no parallel speed-up to fit"
            else:
                fit = f"; Amdahl serial fraction {serial:.2f}"
            one = _find(stats, mode, 1)
            back = " (GIL back on)" if one is not None and one.gil_back_on else ""
            lines.append(f"{mode} {par}{back}: x{speedup:.2f} from 1 to {n_top} workers{fit}")
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
    mem = _memory_line(stats, cpus)
    if mem:
        lines.append(mem)
    return lines


def _memory_line(stats: dict[str, OptionStats], cpus: int) -> str:
    parts = []
    for par, what in (("threads", "thread"), ("processes", "process")):
        for mode in ("gil", "ft"):
            pts = sorted((s.option.workers, s.peak_rss_bytes) for s in stats.values()
                         if s.option.mode == mode and s.option.parallelism == par and s.peak_rss_bytes
                         and s.option.workers <= cpus)  # fmt: skip
            if len(pts) >= 2:
                (n0, m0), (n1, m1) = pts[0], pts[-1]
                per = (m1 - m0) / (n1 - n0) / 2**20
                parts.append(f"{mode} {per:+.1f} MiB per added {what}")
    return (
        ("memory: " + ", ".join(parts) + " (peak RSS of the tree; PSS for processes)")
        if parts
        else ""
    )


def not_measured_lines(stats: dict[str, OptionStats], cpus: int, notes: Sequence[str]) -> list[str]:
    lines = list(notes)
    best_ft = [
        s for s in stats.values() if s.option.mode == "ft" and s.option.parallelism == "threads"
    ]
    pts = sorted(
        (s.option.workers, s.wall_s) for s in best_ft if s.wall_s and s.option.workers <= cpus
    )
    serial = amdahl(pts) if len(pts) >= 2 and pts[0][0] == 1 else None
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
