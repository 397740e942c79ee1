"""Energy against time, and power against CPU utilisation, across every valid run.

The study's claim is that energy is proportional to execution time (power barely changes
even when CPU utilisation rises). Three regressions test it:

- energy_j = a + b * time_s (OLS): b is the average power in W, a an offset in J;
- log energy = c + d * log time: proportionality means d = 1. Rule: the claim holds when the
  95% CI of d lies inside [0.9, 1.1]; it fails when the CI lies wholly outside that band;
  otherwise (CI too wide, or straddling an edge) we cannot tell;
- power_w = e + f * cpu_util: f is watts per busy core; how much the fitted power changes over
  the observed utilisation range is reported beside it.

When the energy source is a model (``model:*``), energy is an estimate derived from CPU
utilisation, and so is every conclusion here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from gilwatt.analysis.dataset import RunRecord

CONFIDENCE = 0.95
PROPORTIONAL_BAND = (0.9, 1.1)


@dataclass(frozen=True)
class LinearFit:
    n: int
    slope: float
    intercept: float
    r2: float | None  # None when y does not vary
    slope_low: float | None  # None for n < 3
    slope_high: float | None
    intercept_low: float | None
    intercept_high: float | None


def ols(x: Sequence[float], y: Sequence[float], confidence: float = CONFIDENCE) -> LinearFit | None:
    """Least squares y = intercept + slope x with t intervals; None if x does not vary."""
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    n = int(xa.size)
    if n < 2:
        return None
    x_mean, y_mean = float(xa.mean()), float(ya.mean())
    sxx = float(np.sum((xa - x_mean) ** 2))
    if sxx == 0.0:
        return None
    slope = float(np.sum((xa - x_mean) * (ya - y_mean))) / sxx
    intercept = y_mean - slope * x_mean
    resid = ya - (intercept + slope * xa)
    ss_res = float(np.sum(resid**2))
    ss_tot = float(np.sum((ya - y_mean) ** 2))
    r2 = None if ss_tot == 0.0 else 1.0 - ss_res / ss_tot
    if n < 3:
        return LinearFit(n, slope, intercept, r2, None, None, None, None)
    s2 = ss_res / (n - 2)
    se_slope = math.sqrt(s2 / sxx)
    se_intercept = math.sqrt(s2 * (1.0 / n + x_mean**2 / sxx))
    t = float(sps.t.ppf(0.5 + confidence / 2.0, n - 2))
    return LinearFit(
        n,
        slope,
        intercept,
        r2,
        slope - t * se_slope,
        slope + t * se_slope,
        intercept - t * se_intercept,
        intercept + t * se_intercept,
    )


@dataclass(frozen=True)
class EnergyTime:
    n: int  # runs with time and energy
    energy_vs_time: LinearFit | None
    loglog: LinearFit | None
    power_vs_util: LinearFit | None
    power_change: float | None  # fitted power at max util / at min util - 1
    util_range: tuple[float, float] | None
    sources: list[str]
    estimate: bool
    proportional: int | None  # 1 holds, -1 fails, None cannot tell (see module docstring)
    reason: str


def proportionality(
    loglog: LinearFit | None, band: tuple[float, float] = PROPORTIONAL_BAND
) -> tuple[int | None, str]:
    if loglog is None:
        return None, "no log-log fit (fewer than 2 runs, or one duration only)"
    if loglog.slope_low is None or loglog.slope_high is None:
        return None, "only 2 runs: no interval for the log-log slope"
    lo, hi = loglog.slope_low, loglog.slope_high
    shown = f"log-log slope {loglog.slope:.3f} [{lo:.3f}, {hi:.3f}]"
    if band[0] <= lo and hi <= band[1]:
        return 1, f"{shown} lies inside [{band[0]:g}, {band[1]:g}]"
    if hi < band[0] or lo > band[1]:
        return -1, f"{shown} lies outside [{band[0]:g}, {band[1]:g}]"
    return None, f"{shown} is too wide or straddles [{band[0]:g}, {band[1]:g}]"


def analyse_energy_time(runs: Sequence[RunRecord]) -> EnergyTime:
    """The three regressions over the valid runs that have both time and energy."""
    pts: list[tuple[float, float, float | None]] = []
    for r in runs:
        # the energy's own window (boundary samples), not the markers' region time
        t = r.metrics.get("window_s") or r.metrics.get("time_s")
        e = r.metrics.get("energy_j")
        if r.valid and t is not None and e is not None and t > 0 and e > 0:
            pts.append((t, e, r.metrics.get("cpu_util")))
    sources = sorted({r.energy_source for r in runs if r.valid and r.energy_source})
    estimate = any(
        r.energy_estimate or r.energy_source.startswith("model:") for r in runs if r.valid
    )
    times = [p[0] for p in pts]
    energies = [p[1] for p in pts]
    linear = ols(times, energies)
    loglog = ols(np.log(times).tolist(), np.log(energies).tolist()) if pts else None
    with_util = [(u, e / t) for t, e, u in pts if u is not None]
    power_fit = ols([u for u, _ in with_util], [w for _, w in with_util]) if with_util else None
    util_range = (min(u for u, _ in with_util), max(u for u, _ in with_util)) if with_util else None
    change = None
    if power_fit is not None and util_range is not None:
        at_min = power_fit.intercept + power_fit.slope * util_range[0]
        at_max = power_fit.intercept + power_fit.slope * util_range[1]
        change = at_max / at_min - 1.0 if at_min > 0 else None
    verdict, reason = proportionality(loglog)
    if not pts:
        reason = "no valid run has an energy figure"
    return EnergyTime(
        len(pts), linear, loglog, power_fit, change, util_range, sources, estimate, verdict, reason
    )
