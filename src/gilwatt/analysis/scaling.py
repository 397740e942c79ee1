"""Speed-up against worker count, with Amdahl and Universal Scalability Law fits.

Per (workload, params, mode): S(N) = T(1) / T(N) from the median region times, and
efficiency E(N) = S(N) / N. The fits are least squares on S(N) with bounds:

- Amdahl: S = 1 / (s + (1 - s) / N), serial fraction s in [0, 1];
- USL (Gunther): S = N / (1 + sigma (N - 1) + kappa N (N - 1)), contention sigma in [0, 1],
  coherency kappa in [0, 10]; a kappa > 0 puts the peak at N* = sqrt((1 - sigma) / kappa).

S(1) = 1 by construction, so only worker counts above 1 inform a fit: Amdahl needs one; USL
is fitted only with a spare degree of freedom (three worker counts above 1), so an exactly
determined curve never prints a peak. Strong scaling is assumed (the workload splits a fixed
amount of work among its workers).

Fits use only worker counts within the host's usable CPUs: above them the cores cap the
speed-up, which a fit would read as serial code (S = [1, 1.96, 1.96] at N = 1, 2, 4 on two
CPUs gives Amdahl s = 0.30). Those cells are listed as oversubscribed and kept out. Each
parameter gets a 95% t interval across replicates from the same fit on each replicate's own
times (``intervals``; empty with fewer than 2 complete replicates).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import optimize

from gilwatt.analysis.compare import Cell, StudyAnalysis
from gilwatt.analysis.dataset import MODE_ORDER

FloatArray = np.ndarray


@dataclass(frozen=True)
class Fit:
    params: dict[str, float]
    r2: float | None  # over every point including N = 1; None when S does not vary
    rmse: float
    dof: int  # informative points (N > 1) minus parameters
    note: str = ""
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # 95%, by replicate


@dataclass(frozen=True)
class ScalingCurve:
    family: str
    workload: str
    params_json: str
    params_label: str
    mode: str
    workers: list[int]
    median_time_s: list[float]
    speedup: list[float]  # empty when there is no 1-worker run
    efficiency: list[float]
    amdahl: Fit | None
    usl: Fit | None
    usl_peak_workers: float | None
    note: str = ""
    oversubscribed: list[int] = field(default_factory=list)  # worker counts above the CPUs
    fit_top: int | None = None  # the largest N > 1 within the usable CPUs

    @property
    def fit_workers(self) -> list[int]:
        return [w for w in self.workers if w not in self.oversubscribed]


def amdahl_speedup(n: FloatArray, s: float) -> FloatArray:
    result: FloatArray = 1.0 / (s + (1.0 - s) / n)
    return result


def usl_speedup(n: FloatArray, sigma: float, kappa: float) -> FloatArray:
    result: FloatArray = n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))
    return result


def _fit(
    model: Callable[..., FloatArray],
    names: Sequence[str],
    workers: Sequence[int],
    speedup: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
    starts: Sequence[Sequence[float]],
) -> Fit | None:
    n = np.asarray(workers, dtype=np.float64)
    s = np.asarray(speedup, dtype=np.float64)
    informative = int(np.count_nonzero(n > 1))
    k = len(names)
    if informative < k:
        return None
    best = None
    for start in starts:
        res = optimize.least_squares(
            lambda p: model(n, *p) - s,
            x0=np.asarray(start, dtype=np.float64),
            bounds=(lower, upper),
            method="trf",
            xtol=1e-12,
            ftol=1e-12,
            gtol=1e-12,
        )
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    resid = model(n, *best.x) - s
    ss_res = float(np.sum(resid**2))
    ss_tot = float(np.sum((s - s.mean()) ** 2))
    dof = informative - k
    note = "no spare point: fit quality cannot be judged" if dof == 0 else ""
    return Fit(
        params={name: float(v) for name, v in zip(names, best.x, strict=True)},
        r2=None if ss_tot == 0 else 1.0 - ss_res / ss_tot,
        rmse=math.sqrt(ss_res / len(s)),
        dof=dof,
        note=note,
    )


def fit_amdahl(workers: Sequence[int], speedup: Sequence[float]) -> Fit | None:
    """Serial fraction ``s``; None without a worker count above 1."""
    return _fit(amdahl_speedup, ("s",), workers, speedup, [0.0], [1.0], [[0.5], [0.05], [0.95]])


def fit_usl(workers: Sequence[int], speedup: Sequence[float]) -> Fit | None:
    """``sigma`` and ``kappa``; None without a spare point (three worker counts above 1)."""
    if sum(w > 1 for w in workers) < 3:
        return None
    starts = [[0.1, 0.01], [0.5, 0.0], [0.9, 0.1], [0.01, 1.0]]
    return _fit(usl_speedup, ("sigma", "kappa"), workers, speedup, [0.0, 0.0], [1.0, 10.0], starts)


def usl_peak(sigma: float, kappa: float) -> float | None:
    """Worker count where the USL curve peaks; None when it never turns down (kappa = 0)."""
    if kappa <= 0:
        return None
    return math.sqrt(max(1.0 - sigma, 0.0) / kappa)


def curve(
    workers: Sequence[int], median_time_s: Sequence[float]
) -> tuple[list[float], list[float], Fit | None, Fit | None, str]:
    """Speed-up, efficiency, both fits and a note, for one (workload, mode)."""
    order = sorted(range(len(workers)), key=lambda i: workers[i])
    ws = [workers[i] for i in order]
    ts = [median_time_s[i] for i in order]
    if 1 not in ws:
        return [], [], None, None, "no 1-worker run: speed-up needs T(1)"
    t1 = ts[ws.index(1)]
    speedup = [t1 / t for t in ts]
    efficiency = [s / w for s, w in zip(speedup, ws, strict=True)]
    above = sum(w > 1 for w in ws)
    notes = []
    if above == 0:
        notes.append("only 1 worker: nothing to fit")
    elif above < 3:
        notes.append("USL needs 3 worker counts above 1 (a spare degree of freedom)")
    return speedup, efficiency, fit_amdahl(ws, speedup), fit_usl(ws, speedup), "; ".join(notes)


def t_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """The 95% t interval of the mean; None below two values."""
    from scipy import stats as sps

    arr = np.asarray(values, dtype=np.float64)
    if arr.size < 2:
        return None
    half = float(sps.t.ppf(0.975, arr.size - 1)) * float(np.std(arr, ddof=1)) / math.sqrt(arr.size)
    return (float(arr.mean()) - half, float(arr.mean()) + half)


def _with_intervals(
    fit: Fit | None,
    fitter: Callable[[Sequence[int], Sequence[float]], Fit | None],
    ws: Sequence[int],
    by_block: dict[int, dict[int, float]],
) -> Fit | None:
    """``fit`` with a t interval per parameter from the per-replicate fits."""
    if fit is None or 1 not in ws:
        return fit
    per: dict[str, list[float]] = defaultdict(list)
    for times in by_block.values():
        if not all(w in times for w in ws) or any(times[w] <= 0 for w in ws):
            continue
        one = fitter(ws, [times[1] / times[w] for w in ws])
        if one is not None:
            for name, value in one.params.items():
                per[name].append(value)
    # clipped to the parameters' bounds (s, sigma in [0, 1], kappa >= 0)
    intervals = {
        k: (max(ci[0], 0.0), min(ci[1], 1.0) if k != "kappa" else ci[1])
        for k, v in per.items()
        if (ci := t_interval(v)) is not None
    }
    return replace(fit, intervals=intervals)


def scaling_curves(
    analysis: StudyAnalysis, metric: str = "time_s", usable_cpus: int | None = None
) -> list[ScalingCurve]:
    """One curve per (workload, params, mode) that ran with more than one worker count; fits
    on the worker counts within ``usable_cpus`` (all when None)."""
    groups: dict[tuple[int, str, str, str, str, str], list[tuple[int, float]]] = defaultdict(list)
    for cs in analysis.cells:
        cell: Cell = cs.cell
        for mode, per_metric in cs.summaries.items():
            summary = per_metric.get(metric)
            if summary is not None:
                key = (
                    cell.family_rank,
                    cell.family,
                    cell.workload,
                    cell.params_json,
                    cell.params_label,
                    mode,
                )
                groups[key].append((cell.workers, summary.median))
    blocks: dict[tuple[str, str, str], dict[int, dict[int, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for run in analysis.data.runs:
        value = run.metrics.get(metric)
        if run.valid and value is not None:
            blocks[(run.workload, run.params_json, run.mode)][run.block][run.workers].append(value)
    out = []
    mode_rank = {m: i for i, m in enumerate(MODE_ORDER)}
    for (_rank, family, workload, params_json, label, mode), points in sorted(
        groups.items(), key=lambda kv: (kv[0][:5], mode_rank.get(kv[0][5], 9), kv[0][5])
    ):
        if len({w for w, _ in points}) < 2:
            continue
        points.sort()
        ws = [w for w, _ in points]
        ts = [t for _, t in points]
        over = [w for w in ws if usable_cpus is not None and w > usable_cpus]
        speedup, efficiency, _a, _u, note = curve(ws, ts)
        fit_ws = [w for w in ws if w not in over]
        fit_ts = [t for w, t in zip(ws, ts, strict=True) if w not in over]
        amdahl = usl = None
        if speedup and 1 in fit_ws:
            _s, _e, amdahl, usl, fit_note = curve(fit_ws, fit_ts)
            by_block = {
                b: {w: float(np.median(v)) for w, v in per.items()}
                for b, per in blocks[(workload, params_json, mode)].items()
            }
            amdahl = _with_intervals(amdahl, fit_amdahl, fit_ws, by_block)
            usl = _with_intervals(usl, fit_usl, fit_ws, by_block)
            note = fit_note
        if over:
            note = "; ".join(
                x for x in (note, f"oversubscribed N={','.join(map(str, over))}: not fitted") if x
            )
        peak = usl_peak(usl.params["sigma"], usl.params["kappa"]) if usl else None
        top = max((w for w in fit_ws if w > 1), default=None)
        out.append(
            ScalingCurve(
                family,
                workload,
                params_json,
                label,
                mode,
                ws,
                ts,
                speedup,
                efficiency,
                amdahl,
                usl,
                peak,
                note,
                over,
                top if speedup else None,
            )
        )
    return out
