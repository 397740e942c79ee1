"""Claim decisions: an estimand per claim, five verdicts, and how stable each verdict is.

A pure function of a dataset (:class:`DecisionData`: per-block log ratios ft/gil of each
cell, the host's usable CPUs, whether energy was measured), so it can be recomputed after every
replicate (a block: every cell once). Vectorised: the observed study and ``draws`` re-draws of
it are judged in one pass of matrix products.

**Units.** A *unit* is a workload, or a workload's variant where variants share differently
(``shared_state`` striped vs sharded). A unit's value in a replicate is the mean of its cells'
log ratios there (its sizes averaged). The claim's estimand averages its units within each
replicate; the interval is Student t across replicates (df = replicates - 1), so the unit of
inference is the replicate, and the population is these workloads on this host.

**Halves.** A claim splits into halves where it has them (direction, magnitude, energy, ...):

- *direction* (expecting higher or lower): ``mixed`` when one unit is significantly higher and
  another significantly lower, each by more than 10% (per-unit t intervals, Bonferroni over
  the claim's units); else ``confirms`` when the pooled 95% interval lies on the expected side
  and the estimate beyond 10% (the smallest effect of interest, the same margin as
  equivalence), with no unit significantly against; ``contradicts`` when the interval lies on
  the other side, or when its 90% interval lies inside +-10% (equivalent: the claimed effect is
  ruled out); else ``inconclusive``. Each claim is its own multiplicity family: the pooled
  test at alpha 0.05 decides confirms / contradicts, the per-unit tests (0.05 / units) only
  find ``mixed`` and block a confirmation;
- *equivalence* ("unchanged", "proportional"; TOST): ``confirms`` when every unit's 90%
  interval lies inside +-10% (intersection-union, no adjustment needed); ``contradicts`` when
  a unit's Bonferroni interval lies wholly beyond it (``mixed`` if units go both ways);
- *magnitude* ("up to 4x"): ``confirms`` when some unit's Bonferroni interval reaches a gain of
  4/1.1 or more, ``contradicts`` when every unit's stays below it.

Halves combine by ``all`` (every testable half must confirm; any contradicts -> contradicts;
any mixed -> mixed) or ``headline`` (the first half decides, the others are shown beside it).
A half that cannot be tested (no unit of its class; modelled energy; a 4x gain on fewer than
4 usable CPUs) is ``not testable``, decided from the design before any value is read; a claim
with no testable half is not testable. Each claim is its own multiplicity family.

**Stability.** The study is re-drawn ``draws`` times with Dirichlet(1, ..., 1) weights over
its replicates (the Bayesian bootstrap: smooth, and not degenerate at 3 replicates); each
re-draw is judged by the same rules (weighted mean, reliability-weighted variance, standard
error sd / sqrt(n): a re-draw stands for another study of the same size). ``stability`` is the share of re-draws giving the reported verdict.
A decided verdict (confirms, contradicts, mixed) needs 90% of the re-draws to agree; otherwise
it is reported ``inconclusive``.
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

FloatArray = npt.NDArray[np.float64]

CONFIRMS = "confirms"
CONTRADICTS = "contradicts"
MIXED = "mixed"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable"
VERDICTS = (CONFIRMS, CONTRADICTS, MIXED, INCONCLUSIVE, NOT_TESTABLE)
_C, _X, _M, _I = 0, 1, 2, 3  # codes of the first four verdicts in the vectorised pass

ALPHA = 0.05
ALPHA_POOLED = ALPHA  # the pooled test that confirms or contradicts a direction (two-sided)
ALPHA_UNITS = ALPHA  # the per-unit tests that find "mixed", Bonferroni over the claim's units
MARGIN = math.log(1.1)  # +-10%, symmetric in log space
MAGNITUDE = 4.0  # the paper's "up to 4x"
STABILITY_NEEDED = 0.9
DRAWS = 400
SEED = 20261127  # fixed: the same data always give the same stability
MAX_REPLICATES = 1000

INDEPENDENT = "independent"
SHARED_READ_ONLY = "shared-read-only"
SHARED_MUTABLE = "shared-mutable"
UNCLASSIFIED = "unclassified"
NO_SHARED_MUTABLE = frozenset({INDEPENDENT, SHARED_READ_ONLY})
# CPU-bound pure-Python threads; executors, read-only and mixed-io mix threads with processes
# or I/O, so they stay out of claims 2 and 4.
THREADED = frozenset({"threaded-numerical", "threaded-objects", "shared-state"})


@dataclass(frozen=True)
class CellSeries:
    """One cell's log(ft/gil) of one metric, per replicate of :attr:`DecisionData.blocks`."""

    workload: str
    params_json: str
    family: str
    sharing: str
    workers: int
    metric: str
    logs: tuple[float, ...]  # nan where the replicate has no pair

    @property
    def unit(self) -> str:
        """The workload, with its variant when it has one."""
        return _unit_name(self.workload, self.params_json)


@lru_cache(maxsize=4096)
def _unit_name(workload: str, params_json: str) -> str:
    try:
        params = json.loads(params_json or "{}")
    except ValueError:
        params = {}
    variant = params.get("variant") if isinstance(params, dict) else None
    return f"{workload}[{variant}]" if isinstance(variant, str) else workload


@dataclass(frozen=True)
class DecisionData:
    blocks: tuple[int, ...]
    cells: tuple[CellSeries, ...]
    usable_cpus: int | None  # None: unknown (every worker count counts as within)
    energy_measured: bool


@dataclass(frozen=True)
class UnitResult:
    name: str
    workers: int
    n: int
    ratio: float | None
    low: float | None  # Bonferroni interval over the half's units
    high: float | None
    sign: int  # +1 significantly above, -1 below, 0 neither


@dataclass(frozen=True)
class HalfResult:
    name: str
    verdict: str
    reason: str
    estimate: float | None = None
    interval: tuple[float, float] | None = None
    level: float | None = None  # of the interval
    n: int = 0
    units: list[UnitResult] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    number: int
    verdict: str
    reason: str
    estimand: str
    unit: str
    combine: str
    stability: float | None
    estimate: float | None
    interval: tuple[float, float] | None
    replicates_needed: int | None
    workloads: list[UnitResult]
    halves: list[HalfResult]


# -- per-claim inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Half:
    name: str
    kind: str  # direction | equivalence | magnitude
    expect: int  # +1 higher, -1 lower (direction and magnitude)
    words: tuple[str, str]  # what "higher" and "lower" mean here
    units: tuple[str, ...] = ()
    unit_workers: tuple[int, ...] = ()
    logs: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    untestable: str = ""


def _within(cell: CellSeries, cpus: int | None) -> bool:
    return cpus is None or cell.workers <= cpus


def _matrix(
    cells: Sequence[CellSeries], n_blocks: int, pick: Callable[[str], int | None] | None = None
) -> tuple[tuple[str, ...], tuple[int, ...], FloatArray]:
    """Units x replicates: each unit's cells averaged per replicate (at N = pick(unit) if given)."""
    by_unit: dict[str, list[CellSeries]] = {}
    for c in cells:
        by_unit.setdefault(c.unit, []).append(c)
    names, workers, rows = [], [], []
    for name in sorted(by_unit):
        chosen = by_unit[name]
        n = pick(name) if pick else None
        if pick is not None:
            if n is None:
                continue
            chosen = [c for c in chosen if c.workers == n]
        stack = np.asarray([c.logs for c in chosen], dtype=np.float64).reshape(-1, n_blocks)
        if stack.shape[0] == 1:
            row = stack[0]
        else:
            with np.errstate(invalid="ignore"), _quiet():
                row = np.nanmean(stack, axis=0) if stack.size else np.full(n_blocks, np.nan)
        names.append(name)
        workers.append(n if n is not None else 0)  # 0: every cell of the unit averaged
        rows.append(row)
    logs = np.asarray(rows, dtype=np.float64).reshape(len(rows), n_blocks)
    return tuple(names), tuple(workers), logs


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's "mean of empty slice" warnings (an all-nan column stays nan)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _top_n(cells: Sequence[CellSeries], cpus: int | None) -> dict[str, int]:
    """Per unit, the largest worker count above 1 within the usable CPUs."""
    top: dict[str, int] = {}
    for c in cells:
        if c.workers > 1 and _within(c, cpus):
            top[c.unit] = max(top.get(c.unit, 0), c.workers)
    return top


def _select(
    data: DecisionData, metric: str, keep: Callable[[CellSeries], bool]
) -> list[CellSeries]:
    return [c for c in data.cells if c.metric == metric and keep(c)]


def _direction_half(
    name: str,
    cells: Sequence[CellSeries],
    data: DecisionData,
    expect: int,
    words: tuple[str, str],
    *,
    at_top: bool = False,
    missing: str = "",
) -> _Half:
    cpus = data.usable_cpus
    if at_top:
        top = _top_n(cells, cpus)
        units, workers, logs = _matrix(cells, len(data.blocks), top.get)
    else:
        within = [c for c in cells if _within(c, cpus)]
        units, workers, logs = _matrix(within, len(data.blocks))
    untestable = "" if units else missing
    return _Half(name, "direction", expect, words, units, workers, logs, untestable)


def _claim_halves(data: DecisionData, number: int) -> tuple[list[_Half], str]:
    """The halves of claim ``number`` and how they combine."""
    cpus = data.usable_cpus
    faster = ("slower", "faster")
    more = ("higher", "lower")
    no_energy = "energy is modelled from CPU time, not measured: it would restate the time"
    if number == 1:
        seq = lambda c: c.family == "sequential"  # noqa: E731
        time = _direction_half(
            "time",
            _select(data, "time_s", seq),
            data,
            +1,
            faster,
            missing="no sequential workload compared ft with gil",
        )
        energy = _direction_half(
            "energy",
            _select(data, "energy_j", seq),
            data,
            +1,
            more,
            missing="no sequential workload has energy on both builds",
        )
        if not data.energy_measured:
            energy = _Half("energy", "direction", +1, more, untestable=no_energy)
        return [time, energy], "all"
    if number == 2:
        pop = lambda c: c.family in THREADED and c.sharing in NO_SHARED_MUTABLE  # noqa: E731
        missing = (
            "no threaded workload without shared mutable data ran with 2 or more workers "
            f"within the {cpus} usable CPU{'s' if cpus != 1 else ''}"
        )
        direction = _direction_half(
            "direction",
            _select(data, "time_s", pop),
            data,
            -1,
            faster,
            at_top=True,
            missing=missing,
        )
        magnitude = _Half(
            "magnitude (4×)",
            "magnitude",
            -1,
            faster,
            direction.units,
            direction.unit_workers,
            direction.logs,
            direction.untestable,
        )
        if cpus is not None and cpus < MAGNITUDE:
            magnitude = _Half(
                "magnitude (4×)",
                "magnitude",
                -1,
                faster,
                untestable=f"a {MAGNITUDE:g}× gain needs at least {MAGNITUDE:g} usable CPUs; this host has {cpus}",
            )
        elif not magnitude.untestable and max(direction.unit_workers) < MAGNITUDE:
            magnitude = _Half(
                "magnitude (4×)",
                "magnitude",
                -1,
                faster,
                untestable=f"no cell ran with {MAGNITUDE:g} or more workers within the usable CPUs",
            )
        energy = _direction_half(
            "energy",
            _select(data, "energy_j", pop),
            data,
            -1,
            more,
            at_top=True,
            missing=missing,
        )
        if not data.energy_measured:
            energy = _Half("energy", "direction", -1, more, untestable=no_energy)
        return [direction, magnitude, energy], "headline"
    if number == 3:
        cells = [c for c in _select(data, "time_s", lambda c: c.family == "numpy")]
        half = _direction_half(
            "unchanged", cells, data, 0, faster, missing="no NumPy workload in this study"
        )
        return [_as(half, "equivalence")], "all"
    if number == 4:
        return [_did_half(data)], "all"
    if number == 5:
        every = lambda c: True  # noqa: E731
        grows = _direction_half(
            "RSS grows",
            _select(data, "peak_rss_bytes", every),
            data,
            +1,
            more,
            missing="no cell has peak RSS on both builds",
        )
        return [grows, _vms_half(data)], "all"
    if number == 6:
        cells = _select(data, "power_w", lambda c: True)
        half = _as(
            _direction_half(
                "power unchanged", cells, data, 0, more, missing="no cell has power on both builds"
            ),
            "equivalence",
        )
        if not data.energy_measured:
            half = _Half("power unchanged", "equivalence", 0, more, untestable=no_energy)
        return [half], "all"
    raise ValueError(f"no claim {number}")


def _as(half: _Half, kind: str) -> _Half:
    return _Half(
        half.name,
        kind,
        half.expect,
        half.words,
        half.units,
        half.unit_workers,
        half.logs,
        half.untestable,
    )


def _did_half(data: DecisionData) -> _Half:
    """Claim 4: per shared-mutable unit, d = log(ft/gil at N) - log(ft/gil at 1), minus the
    mean d of the units without shared mutable data, per replicate."""
    cpus = data.usable_cpus
    words = ("gains less", "gains more")
    cells = _select(data, "time_s", lambda c: c.family in THREADED)
    mutable = [c for c in cells if c.sharing == SHARED_MUTABLE]
    other = [c for c in cells if c.sharing in NO_SHARED_MUTABLE]
    name = "contention (difference in differences)"
    if not mutable:
        return _Half(
            name, "direction", +1, words, untestable="no shared-mutable workload in this study"
        )
    if not other:
        return _Half(
            name,
            "direction",
            +1,
            words,
            untestable="no workload without shared mutable data to compare with",
        )
    nb = len(data.blocks)

    def diffs(group: list[CellSeries]) -> tuple[tuple[str, ...], tuple[int, ...], FloatArray]:
        top = _top_n(group, cpus)
        one = {u: 1 for u in top if any(c.unit == u and c.workers == 1 for c in group)}
        names_n, workers, at_n = _matrix(group, nb, lambda u: top.get(u) if u in one else None)
        names_1, _, at_1 = _matrix(group, nb, one.get)
        assert names_n == names_1
        return names_n, workers, at_n - at_1

    m_names, m_workers, m_d = diffs(mutable)
    o_names, _, o_d = diffs(other)
    if not m_names or not o_names:
        why = (
            "needs each workload at 1 worker and at 2 or more within the "
            f"{cpus} usable CPU{'s' if cpus != 1 else ''}"
        )
        return _Half(name, "direction", +1, words, untestable=why)
    with _quiet():
        baseline = np.nanmean(o_d, axis=0)
    return _Half(name, "direction", +1, words, m_names, m_workers, m_d - baseline)


def _vms_half(data: DecisionData) -> _Half:
    """Claim 5's second half: per unit, log(VMS ratio) - log(RSS ratio), expected above 0."""
    name = "VMS more than RSS"
    rss = {
        (c.workload, c.params_json, c.workers): c
        for c in data.cells
        if c.metric == "peak_rss_bytes"
    }
    paired = []
    for c in data.cells:
        r = rss.get((c.workload, c.params_json, c.workers))
        if c.metric == "peak_vms_bytes" and r is not None and _within(c, data.usable_cpus):
            excess = tuple(v - w for v, w in zip(c.logs, r.logs, strict=True))
            paired.append(
                CellSeries(
                    c.workload, c.params_json, c.family, c.sharing, c.workers, "vms-rss", excess
                )
            )
    units, workers, logs = _matrix(paired, len(data.blocks))
    untestable = "" if units else "no cell has both peak VMS and peak RSS on both builds"
    return _Half(name, "direction", +1, ("more", "less"), units, workers, logs, untestable)


# -- the vectorised judge -------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _t(q: float, df: int) -> float:
    return float(sps.t.ppf(q, df)) if df >= 1 else math.nan


def _tq(q: float, df: npt.NDArray[np.int64]) -> FloatArray:
    return np.asarray([_t(q, int(d)) for d in df], dtype=np.float64)


def weighted_stats(
    logs: FloatArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """Per draw and unit: weighted mean, its standard error, and the unit's replicates.

    ``logs`` is units x replicates (nan: missing), ``weights`` draws x replicates. Missing
    replicates drop out and the rest are renormalised; the variance is the reliability-weighted
    one (equal weights give the usual sd), the standard error sd * sqrt(sum w^2).
    """
    present = np.isfinite(logs)
    x = np.where(present, logs, 0.0)
    m = present.astype(np.float64)
    sw = weights @ m.T
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (weights @ x.T) / sw
        second = (weights @ (x * x).T) / sw
        q = ((weights * weights) @ m.T) / (sw * sw)
        var = np.maximum(second - mean * mean, 0.0) / np.maximum(1.0 - q, 1e-12)
    n = present.sum(axis=1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(var / n)
    se[:, n < 2] = np.nan
    return mean, se, n


def _pooled(logs: FloatArray) -> FloatArray:
    with _quiet():
        return np.nanmean(logs, axis=0, keepdims=True) if logs.size else logs


@dataclass(frozen=True)
class _Levels:
    """The error rates of one decision: the defaults, or one look's share of a sequential plan."""

    pooled: float = ALPHA_POOLED  # two-sided, the pooled direction test
    units: float = ALPHA_UNITS  # Bonferroni over the claim's units
    tost: float = ALPHA  # each one-sided test of an equivalence (TOST): a 1 - 2 alpha interval

    @classmethod
    def of(cls, alpha: float | None) -> _Levels:
        if alpha is None:
            return cls()
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), not {alpha!r}")
        return cls(alpha, alpha, alpha)


def _judge_half(half: _Half, weights: FloatArray, levels: _Levels = _Levels()) -> FloatArray:
    """Verdict codes of one testable half, one per draw."""
    k = half.logs.shape[0]
    mean_u, se_u, n_u = weighted_stats(half.logs, weights)
    t_k = _tq(1.0 - levels.units / (2 * k), n_u - 1)
    low_u, high_u = mean_u - t_k * se_u, mean_u + t_k * se_u
    if half.kind == "magnitude":
        bound = math.log(1.1 / MAGNITUDE)
        reach = np.any(high_u < bound, axis=1)
        short = np.all(low_u > bound, axis=1)
        return np.where(reach, _C, np.where(short, _X, _I)).astype(np.float64)
    if half.kind == "equivalence":
        t90 = _tq(1.0 - levels.tost, n_u - 1)
        inside = np.all(np.abs(mean_u) + t90 * se_u < MARGIN, axis=1)
        above = np.any(low_u > MARGIN, axis=1)
        below = np.any(high_u < -MARGIN, axis=1)
        code = np.where(above & below, _M, np.where(above | below, _X, np.where(inside, _C, _I)))
        return code.astype(np.float64)
    mean_pp, se_pp, n_p = weighted_stats(_pooled(half.logs), weights)
    mean_p, se_p = mean_pp[:, 0], se_pp[:, 0]
    df = int(n_p[0]) - 1
    t95, t90p = _t(1.0 - levels.pooled / 2, df), _t(1.0 - levels.tost, df)
    e = half.expect
    # a side counts when significant and beyond the +-10% margin (the smallest effect of
    # interest): a 3% difference is neither a confirmation nor a disagreement
    up = np.any((low_u > 0) & (mean_u > MARGIN), axis=1)
    down = np.any((high_u < 0) & (mean_u < -MARGIN), axis=1)
    against = down if e > 0 else up
    mixed = up & down
    confirm = (e * mean_p - t95 * se_p > 0) & (e * mean_p > MARGIN) & ~against
    opposite = e * mean_p + t95 * se_p < 0
    equivalent = np.abs(mean_p) + t90p * se_p < MARGIN
    code = np.where(mixed, _M, np.where(confirm, _C, np.where(opposite | equivalent, _X, _I)))
    return code.astype(np.float64)


def _combine(codes: FloatArray, how: str) -> FloatArray:
    """halves x draws -> draws (see the module docstring)."""
    if how == "headline" or codes.shape[0] == 1:
        first: FloatArray = codes[0]
        return first
    mixed = np.any(codes == _M, axis=0)
    against = np.any(codes == _X, axis=0)
    every = np.all(codes == _C, axis=0)
    return np.where(mixed, _M, np.where(against, _X, np.where(every, _C, _I))).astype(np.float64)


def redraw_weights(n_blocks: int, draws: int = DRAWS, seed: int = SEED) -> FloatArray:
    """Row 0: the observed study (equal weights); then ``draws`` Dirichlet(1, ..., 1) rows."""
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(max(n_blocks, 1)), size=draws) if n_blocks else np.zeros((draws, 0))
    return np.vstack([np.full((1, n_blocks), 1.0 / max(n_blocks, 1)), w])


def verdict_codes(
    data: DecisionData, weights: FloatArray, *, alpha: float | None = None
) -> dict[int, FloatArray | None]:
    """Raw verdict codes per claim and draw (None: not testable); what :func:`decide` uses."""
    levels = _Levels.of(alpha)
    out: dict[int, FloatArray | None] = {}
    for number in range(1, 7):
        halves, how = _claim_halves(data, number)
        testable = [h for h in halves if not h.untestable]
        if not testable:
            out[number] = None
            continue
        out[number] = _combine(np.vstack([_judge_half(h, weights, levels) for h in testable]), how)
    return out


# -- reporting ----------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _t_over_root_n(q: float) -> tuple[npt.NDArray[np.int64], FloatArray]:
    ns = np.arange(2, MAX_REPLICATES + 1)
    return ns, sps.t.ppf(q, ns - 1) / np.sqrt(ns)


def _n_needed(mean: float, sd: float, target: float, q: float) -> int | None:
    """Smallest n >= 2 with t(q, n-1) sd / sqrt(n) < target; None beyond MAX_REPLICATES."""
    if not (math.isfinite(mean) and math.isfinite(sd)) or target <= 0:
        return None
    if sd == 0:
        return 2
    ns, scale = _t_over_root_n(q)
    half = scale * sd
    ok = np.nonzero(half < target)[0]
    return int(ns[ok[0]]) if ok.size else None


def _ratio_ci(mean: float, half: float) -> tuple[float, float] | None:
    if not (math.isfinite(mean) and math.isfinite(half)):
        return None
    return (math.exp(mean - half), math.exp(mean + half))


def _fmt(x: float | None) -> str:
    return "–" if x is None or not math.isfinite(x) else f"×{x:.3f}"


def _fmt_ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f" [{ci[0]:.3f}, {ci[1]:.3f}]"


def _describe(half: _Half, code: int, levels: _Levels = _Levels()) -> HalfResult:
    """Numbers and a reason for one half on the observed data (equal weights)."""
    if half.untestable:
        return HalfResult(half.name, NOT_TESTABLE, half.untestable)
    nb = half.logs.shape[1]
    w = np.full((1, nb), 1.0 / nb)
    k = half.logs.shape[0]
    mean_u, se_u, n_u = weighted_stats(half.logs, w)
    t_k = _tq(1.0 - levels.units / (2 * k), n_u - 1)
    t_show = _tq(1.0 - levels.tost, n_u - 1) if half.kind == "equivalence" else t_k  # TOST
    units = []
    for i, name in enumerate(half.units):
        m, h = float(mean_u[0, i]), float(t_k[i] * se_u[0, i])
        ci = _ratio_ci(m, float(t_show[i] * se_u[0, i]))
        sign = 0
        if math.isfinite(h):
            sign = 1 if m - h > 0 and m > MARGIN else (-1 if m + h < 0 and m < -MARGIN else 0)
        if half.kind == "equivalence" and math.isfinite(h):
            sign = 1 if m - h > MARGIN else (-1 if m + h < -MARGIN else 0)
        units.append(
            UnitResult(
                name,
                half.unit_workers[i],
                int(n_u[i]),
                math.exp(m) if math.isfinite(m) else None,
                None if ci is None else ci[0],
                None if ci is None else ci[1],
                sign,
            )
        )
    mean_p, se_p, n_p = weighted_stats(_pooled(half.logs), w)
    m, se, n = float(mean_p[0, 0]), float(se_p[0, 0]), int(n_p[0])
    level = 1.0 - 2 * levels.tost if half.kind == "equivalence" else 1.0 - levels.pooled
    ci = _ratio_ci(m, _t(0.5 + level / 2, n - 1) * se) if n >= 2 else None
    verdict = VERDICTS[code]
    where = f"{_fmt(math.exp(m) if math.isfinite(m) else None)}{_fmt_ci(ci)} over {_count(k)}"
    half90 = _t(1.0 - levels.tost, n - 1) * se if n >= 2 else math.nan
    small = ci is not None and (ci[0] > 1 or ci[1] < 1) and abs(m) <= MARGIN
    reason = _reason(half, verdict, where, units, bool(abs(m) + half90 < MARGIN), small)
    return HalfResult(
        half.name,
        verdict,
        reason,
        math.exp(m) if math.isfinite(m) else None,
        ci,
        level if ci else None,
        n,
        units,
    )


def _count(k: int) -> str:
    return f"{k} workload" + ("s" if k != 1 else "")


def _named(units: Sequence[UnitResult], sign: int) -> str:
    return ", ".join(f"{u.name} {_fmt(u.ratio)}" for u in units if u.sign == sign)


def _reason(
    half: _Half,
    verdict: str,
    where: str,
    units: Sequence[UnitResult],
    equivalent: bool = False,
    small: bool = False,
) -> str:
    high, low = half.words
    if verdict == MIXED:
        return f"workloads disagree: {high} {_named(units, 1)}; {low} {_named(units, -1)}"
    if half.kind == "equivalence":
        if verdict == CONFIRMS:
            return f"{where}: every workload's 90% interval inside ±10%"
        if verdict == CONTRADICTS:
            beyond = ", ".join(f"{u.name} {_fmt(u.ratio)}" for u in units if u.sign)
            return f"{where}: beyond ±10%: {beyond}"
        return f"{where}: not every workload shown within ±10%, none shown beyond"
    if half.kind == "magnitude":
        best = min((u for u in units if u.ratio), key=lambda u: u.ratio or 1.0, default=None)
        best_ci = (best.low, best.high) if best and best.low and best.high else None
        shown = (
            ""
            if best is None
            else f"; best {best.name} N={best.workers} {_fmt(best.ratio)}{_fmt_ci(best_ci)}"
        )
        if verdict == CONFIRMS:
            return f"a gain of {MAGNITUDE / 1.1:.2f}× or more reached{shown}"
        if verdict == CONTRADICTS:
            return f"every workload's gain stays below {MAGNITUDE / 1.1:.2f}×{shown}"
        return f"not resolved whether a gain reaches {MAGNITUDE / 1.1:.2f}×{shown}"
    expected = high if half.expect > 0 else low
    if verdict == CONFIRMS:
        return f"{where}: {expected}"
    if verdict == CONTRADICTS:
        opposite = low if half.expect > 0 else high
        if equivalent:
            return f"{where}: equivalent within ±10% (90% interval), so the claimed effect is ruled out"
        return f"{where}: {opposite}, against the claim"
    if small:
        return f"{where}: a difference, but not shown to exceed 10% nor to stay within it"
    return f"{where}: neither clearly {expected} nor within ±10%"


def _needed(half: _Half, result: HalfResult) -> int | None:
    """Replicates that would likely decide an undecided half, from the observed spread."""
    if half.untestable or half.kind == "magnitude" or result.n < 2:
        return None
    nb = half.logs.shape[1]
    w = np.full((1, nb), 1.0 / nb)
    if half.kind == "equivalence":
        mean_u, se_u, n_u = weighted_stats(half.logs, w)
        sd_u = se_u[0] * np.sqrt(n_u)
        k = len(half.units)
        inside = [
            _n_needed(m, s, MARGIN - abs(m), 0.95) for m, s in zip(mean_u[0], sd_u, strict=True)
        ]
        beyond = [
            _n_needed(m, s, abs(m) - MARGIN, 1.0 - ALPHA_UNITS / (2 * k))
            for m, s in zip(mean_u[0], sd_u, strict=True)
        ]
        routes = [max(inside) if all(v is not None for v in inside) and inside else None]  # type: ignore[type-var]
        routes += [min((v for v in beyond if v is not None), default=None)]
        found = [r for r in routes if r is not None]
        return min(found) if found else None
    mean_p, se_p, n_p = weighted_stats(_pooled(half.logs), w)
    m, sd = float(mean_p[0, 0]), float(se_p[0, 0]) * math.sqrt(int(n_p[0]))
    routes2 = [
        _n_needed(m, sd, abs(m), 1.0 - ALPHA_POOLED / 2) if abs(m) > MARGIN else None,
        _n_needed(m, sd, MARGIN - abs(m), 0.95),
    ]
    found2 = [r for r in routes2 if r is not None]
    return min(found2) if found2 else None


ESTIMANDS: dict[int, tuple[str, str]] = {
    1: (
        "mean over sequential workloads of log(ft/gil time), per replicate; energy half the same on "
        "measured energy (with modelled energy the claim is decided on time alone); "
        "halves combine by all",
        "the replicate; workloads fixed",
    ),
    2: (
        "mean over threaded workloads without shared mutable data of log(ft/gil time) at each "
        "workload's largest N (2 or more) within the usable CPUs; magnitude: the best workload's "
        "gain against 4×/1.1; energy half on measured energy; the direction decides (headline), "
        "the other halves are shown beside it",
        "the replicate; workloads fixed",
    ),
    3: (
        "per NumPy workload, log(ft/gil time): equivalence (TOST), every 90% interval inside ±10%",
        "the replicate, per workload",
    ),
    4: (
        "difference in differences: per shared-mutable workload, log(ft/gil at N) − log(ft/gil at 1), "
        "minus the same mean over workloads without shared mutable data, at the largest N within "
        "the usable CPUs; above 0 means contention erodes the gain",
        "the replicate; workloads fixed",
    ),
    5: (
        "grows: mean over workloads of log(ft/gil peak RSS); VMS more than RSS: mean over workloads of "
        "log(VMS ratio) − log(RSS ratio); cells within the usable CPUs; halves combine by all",
        "the replicate; workloads fixed",
    ),
    6: (
        "per workload, log(ft/gil average power) over its cells within the usable CPUs: "
        "equivalence (TOST), every 90% interval inside ±10%; measured energy only",
        "the replicate, per workload",
    ),
}


def decide(
    data: DecisionData,
    *,
    draws: int = DRAWS,
    seed: int = SEED,
    detail: bool = True,
    alpha: float | None = None,
) -> dict[int, Decision]:
    """Every claim's decision on ``data``, with its stability over ``draws`` re-draws.

    ``detail=False`` gives the same verdicts and stability without the numbers and reasons
    (what a simulation or a stopping rule needs, about twice as fast). ``alpha``: one look's
    error rate in a sequential plan (gilwatt.study.sequential), used by every test of the
    claim in place of the defaults (0.05 pooled and per unit, TOST at 0.05 a side); None
    keeps the defaults."""
    levels = _Levels.of(alpha)
    weights = redraw_weights(len(data.blocks), draws, seed)
    out: dict[int, Decision] = {}
    for number in range(1, 7):
        halves, how = _claim_halves(data, number)
        testable = [h for h in halves if not h.untestable]
        estimand, unit = ESTIMANDS[number]
        if not testable:
            reason = "; ".join(f"{h.name}: {h.untestable}" for h in halves)
            results = [HalfResult(h.name, NOT_TESTABLE, h.untestable) for h in halves]
            out[number] = Decision(
                number,
                NOT_TESTABLE,
                reason,
                estimand,
                unit,
                how,
                None,
                None,
                None,
                None,
                [],
                results,
            )
            continue
        per_half = np.vstack([_judge_half(h, weights, levels) for h in testable])
        codes = _combine(per_half, how)
        raw = int(codes[0])
        agree = float(np.mean(codes[1:] == raw)) if draws else 1.0
        half_codes = {h.name: int(c) for h, c in zip(testable, per_half[:, 0], strict=True)}
        if not detail:
            final = raw if raw == _I or agree >= STABILITY_NEEDED else _I
            share = agree if final == raw else float(np.mean(codes[1:] == _I))
            out[number] = Decision(
                number, VERDICTS[final], "", estimand, unit, how, share, None, None, None, [], []
            )
            continue
        results = [_describe(h, half_codes.get(h.name, _I), levels) for h in halves]
        primary_half = testable[0]
        primary = next(r for r in results if r.name == primary_half.name)
        verdict = VERDICTS[raw]
        shown = [r for r in results if r.verdict != NOT_TESTABLE or len(halves) > 1]
        reason = primary.reason
        if len(halves) > 1:
            others = "; ".join(f"{r.name}: {r.verdict}" for r in shown if r is not primary)
            reason = f"{primary.name}: {primary.reason}; {others}"
        stability = agree
        if raw != _I and agree < STABILITY_NEEDED:
            verdict = INCONCLUSIVE
            reason = (
                f"{VERDICTS[raw]} in only {agree:.0%} of re-draws (needs {STABILITY_NEEDED:.0%}); "
                + reason
            )
            stability = float(np.mean(codes[1:] == _I)) if draws else 0.0
        needed = None
        if verdict == INCONCLUSIVE:
            needed = _needed(primary_half, primary)
            n_now = primary.n
            if needed is not None and needed <= n_now:
                needed = n_now + 1
        out[number] = Decision(
            number=number,
            verdict=verdict,
            reason=reason,
            estimand=estimand,
            unit=unit,
            combine=how,
            stability=stability,
            estimate=primary.estimate,
            interval=primary.interval,
            replicates_needed=needed,
            workloads=primary.units,
            halves=results,
        )
    return out


def from_rows(
    blocks: Sequence[int],
    rows: Sequence[tuple[str, str, str, str, int, str, dict[int, float]]],
    *,
    usable_cpus: int | None,
    energy_measured: bool,
) -> DecisionData:
    """A :class:`DecisionData` from (workload, params_json, family, sharing, workers, metric,
    {block: ratio}) rows; non-positive ratios count as missing."""
    order = tuple(sorted(blocks))
    cells = []
    for workload, params_json, family, sharing, workers, metric, ratios in rows:
        logs = tuple(
            math.log(ratios[b])
            if b in ratios and ratios[b] > 0 and math.isfinite(ratios[b])
            else math.nan
            for b in order
        )
        cells.append(CellSeries(workload, params_json, family, sharing, workers, metric, logs))
    return DecisionData(order, tuple(cells), usable_cpus, energy_measured)


def to_json(decision: Decision) -> dict[str, Any]:
    """The JSON form of one decision (``gilwatt compare --format json``, schema 2)."""
    from dataclasses import asdict

    doc = asdict(decision)
    doc["interval"] = list(decision.interval) if decision.interval else None
    return doc
