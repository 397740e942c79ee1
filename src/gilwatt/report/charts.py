"""Chart data for a run's timelines: rates from cumulative counters, and decimation.

Counters in the store are cumulative; rates are computed here over steps of at least half
the achieved interval, so an extra sample taken at a marker a few microseconds after a tick
does not turn into a spike. Long timelines are decimated to a fixed number of buckets
keeping each bucket's minimum and maximum, so peaks survive.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gilwatt.readback import FloatArray, IntArray, Timeline
from gilwatt.store.derive import spread_cpu

MAX_BUCKETS = 800  # up to 2 points per bucket: ~1600 points per line


@dataclass(frozen=True)
class Line:
    """One plotted series: x in seconds from the run's start, y in display units."""

    name: str
    x_s: FloatArray
    y: FloatArray
    unit: str


def steady_mask(t_ns: IntArray, min_step_ns: float) -> npt.NDArray[np.bool_]:
    """Samples at least ``min_step_ns`` after the previous kept sample (the first is kept)."""
    keep = np.zeros(len(t_ns), dtype=bool)
    if len(t_ns) == 0:
        return keep
    last = int(t_ns[0])
    keep[0] = True
    for i in range(1, len(t_ns)):
        t = int(t_ns[i])
        if t - last >= min_step_ns:
            keep[i] = True
            last = t
    return keep


def rate(
    t_ns: IntArray, counter: IntArray, min_step_ns: float, scale: float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """Per-second rate of a cumulative counter, placed at the end of each step.

    Returns (t_ns of each step end, rate × scale). Steps shorter than ``min_step_ns`` are
    merged into the next one.
    """
    if len(t_ns) < 2:
        return np.zeros(0), np.zeros(0)
    keep = steady_mask(t_ns, min_step_ns)
    t = t_ns[keep].astype(np.float64)
    c = counter[keep].astype(np.float64)
    if len(t) < 2:
        return np.zeros(0), np.zeros(0)
    dt = np.diff(t)
    dc = np.diff(c)
    # A cumulative counter of a process tree falls when a process leaves the tree (its CPU
    # goes with it): that step has no meaningful rate, so it becomes a gap, not a dip.
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where((dt > 0) & (dc >= 0), dc / dt * 1e9, np.nan) * scale
    return t[1:], r


def decimate(
    x: FloatArray, ys: list[FloatArray], buckets: int = MAX_BUCKETS
) -> tuple[FloatArray, list[FloatArray]]:
    """Keep the first, last, and the min and max of every series in each of ``buckets`` bins.

    All series share x, so the same indices are kept for all of them: the union of each
    bucket's argmin and argmax over every series, with fewer buckets for more series so the
    total stays near ``2 * buckets`` points. NaNs are ignored for the extremes.
    """
    n = len(x)
    if n <= 2 * buckets:
        return x, ys
    buckets = max(buckets // max(len(ys), 1), 100)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    for y in ys:
        filled_lo = np.where(np.isnan(y), np.inf, y)
        filled_hi = np.where(np.isnan(y), -np.inf, y)
        for a, b in itertools.pairwise(edges):
            if b <= a:
                continue
            keep[a + int(np.argmin(filled_lo[a:b]))] = True
            keep[a + int(np.argmax(filled_hi[a:b]))] = True
    return x[keep], [y[keep] for y in ys]


def seconds(t_ns: IntArray | FloatArray, start_ns: int) -> FloatArray:
    return (np.asarray(t_ns, dtype=np.float64) - float(start_ns)) / 1e9


def min_step_ns(timeline: Timeline, achieved_interval_ns: float | None, interval_ns: int) -> float:
    """Half of the typical spacing between ticks."""
    if achieved_interval_ns and achieved_interval_ns > 0:
        return 0.5 * achieved_interval_ns
    if len(timeline.t_ns) >= 3:
        return 0.5 * float(np.median(np.diff(timeline.t_ns)))
    return 0.5 * interval_ns


@dataclass(frozen=True)
class ThreadLines:
    lines: list[Line]
    hidden: int  # threads folded into "other threads"


def thread_cpu_lines(
    timeline: Timeline, start_ns: int, min_step: float, top: int = 10
) -> ThreadLines:
    """CPU of each thread in cores busy (1.0 = one core); the busiest ``top`` are kept, the
    rest are summed into one "other threads" line on the tree's sample times."""
    totals = []
    for tid, (_, c) in timeline.thread_cpu_ns.items():
        if len(c) >= 2:
            totals.append((int(c[-1] - c[0]), tid))
    totals.sort(reverse=True)
    shown = [tid for _, tid in totals[:top]]
    rest = [tid for _, tid in totals[top:]]
    lines = []
    for tid in shown:
        t, c = timeline.thread_cpu_ns[tid]
        # one thread runs on one core at most: a faster step is two clocks' jitter (a /proc read
        # beside the hook's exact end), so its excess goes back where there was room
        tt, r = rate(t, spread_cpu(t, c, 1), min_step, 1e-9)
        name = timeline.thread_names.get(tid, "") or "thread"
        lines.append(Line(f"{name} ({tid})", seconds(tt, start_ns), r, "cores"))
    if rest and len(timeline.t_ns) >= 2:
        grid = timeline.t_ns.astype(np.float64)
        total = np.zeros(len(grid))
        for tid in rest:
            t, c = timeline.thread_cpu_ns[tid]
            # a thread adds nothing before it appears or after it ends
            total += np.interp(grid, t.astype(np.float64), c.astype(np.float64), left=float(c[0]))
        tt, r = rate(timeline.t_ns, total.astype(np.int64), min_step, 1e-9)
        lines.append(Line(f"other threads ({len(rest)})", seconds(tt, start_ns), r, "cores"))
    return ThreadLines(lines, len(rest))
