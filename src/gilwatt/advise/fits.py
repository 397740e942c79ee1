"""Fits over the worker counts, each with its 95% t interval: memory per added worker and the
scaling from 1 to N workers.

- Memory per added worker: a least-squares line through every valid run's memory figure against
  its worker count, per build and kind (threads, processes). The figure is the one the memory
  objective and ``--max-rss`` read (:func:`gilwatt.advise.measure.Outcome.memory_bytes`): the
  process's peak RSS for threads (one process: its own pages, exact from the kernel's account,
  or the highest VmHWM read), the peak of the tree's summed PSS for processes (sampled; pages
  shared after fork count once, split among their sharers: a sum of RSS would count them once
  per process). The interval is the slope's t interval on the residual degrees of freedom; with
  fewer than ``MIN_DOF`` of them: "n too small for an interval".
- Scaling: the speed-up T(1) / T(N) to the largest N within the usable CPUs (the ratio of
  geometric means) and the Amdahl serial fraction from the study's fit
  (:func:`gilwatt.analysis.scaling.fit_amdahl`) on the geometric means; each with a t interval
  from the same figure on each complete block (every N of the fit measured in it): at least
  ``MIN_BLOCKS`` of them, else "n too small for an interval".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from gilwatt.analysis.scaling import fit_amdahl, t_interval

MIN_DOF = 3  # residual degrees of freedom for a slope's interval
MIN_BLOCKS = 3  # complete blocks for a scaling interval
NO_INTERVAL = "n too small for an interval"


@dataclass(frozen=True)
class Slope:
    """Bytes per added worker, by least squares over (workers, bytes) points."""

    bytes_per_worker: float
    interval: tuple[float, float] | None  # 95% t interval; None: see ``note``
    points: int
    dof: int
    note: str = ""


@dataclass(frozen=True)
class Scaling:
    """Speed-up 1 -> ``top`` workers and the Amdahl serial fraction, with their intervals."""

    top: int
    speedup: float
    speedup_interval: tuple[float, float] | None
    serial: float | None  # None: the fit failed (no worker count above 1)
    serial_interval: tuple[float, float] | None
    blocks: int  # complete blocks behind the intervals
    note: str = ""


def memory_slope(points: Sequence[tuple[int, float]]) -> Slope | None:
    """The slope through ``points`` (workers, bytes); None without two worker counts."""
    xs = np.asarray([float(w) for w, _ in points])
    ys = np.asarray([float(b) for _, b in points])
    if len(set(xs.tolist())) < 2:
        return None
    x_mean = float(xs.mean())
    sxx = float(np.sum((xs - x_mean) ** 2))
    slope = float(np.sum((xs - x_mean) * (ys - ys.mean())) / sxx)
    dof = len(xs) - 2
    if dof < MIN_DOF:
        return Slope(slope, None, len(xs), dof, NO_INTERVAL)
    resid = ys - (float(ys.mean()) + slope * (xs - x_mean))
    se = math.sqrt(float(np.sum(resid**2)) / dof / sxx)
    half = float(sps.t.ppf(0.975, dof)) * se
    return Slope(slope, (slope - half, slope + half), len(xs), dof)


def _gmean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _serial(workers: Sequence[int], times: dict[int, float]) -> float | None:
    fit = fit_amdahl(workers, [times[1] / times[w] for w in workers])
    return None if fit is None else fit.params["s"]


def scaling(by_block: dict[int, dict[int, list[float]]], cpus: int) -> Scaling | None:
    """From wall times per block and worker count; None without 1 worker and one more within
    the usable CPUs (above them the cores cap the speed-up, which a fit would read as serial)."""
    pooled: dict[int, list[float]] = {}
    for per in by_block.values():
        for w, ts in per.items():
            if w <= cpus:
                pooled.setdefault(w, []).extend(t for t in ts if t > 0)
    ws = sorted(w for w, ts in pooled.items() if ts)
    if 1 not in ws or len(ws) < 2:
        return None
    means = {w: _gmean(pooled[w]) for w in ws}
    top = ws[-1]
    per_speedup: list[float] = []
    per_serial: list[float] = []
    for per in by_block.values():
        times = {w: _gmean(ts) for w, ts in per.items() if w in means and ts and min(ts) > 0}
        if set(times) != set(ws):
            continue
        per_speedup.append(times[1] / times[top])
        serial = _serial(ws, times)
        if serial is not None:
            per_serial.append(serial)
    enough = len(per_speedup) >= MIN_BLOCKS
    serial_ci = t_interval(per_serial) if len(per_serial) >= MIN_BLOCKS else None
    if serial_ci is not None:  # the fit's bounds
        serial_ci = (max(serial_ci[0], 0.0), min(serial_ci[1], 1.0))
    return Scaling(
        top=top, speedup=means[1] / means[top],
        speedup_interval=t_interval(per_speedup) if enough else None,
        serial=_serial(ws, means), serial_interval=serial_ci, blocks=len(per_speedup),
        note="" if enough else f"{NO_INTERVAL} ({len(per_speedup)} complete blocks)",
    )  # fmt: skip
