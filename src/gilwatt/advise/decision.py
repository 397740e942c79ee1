"""The advice rule, a pure function of the candidates' measurements.

Each candidate (build mode, workers, threads or processes) has one objective value per
replicate (seconds, joules or bytes; lower is better). The rule:

1. candidates that cannot be advised drop out, each with its reason: a diagnostic (``ft-gil``),
   the GIL turned back on, no valid run, peak memory (RSS for threads, the tree's summed PSS
   for processes) above ``--max-rss``, an energy figure from a model without
   ``--allow-estimate``;
2. the best is the lowest geometric mean; every option within the equivalence margin (5%) of
   it is as good, and the *simplest* of those is advised, by one total order: the GIL build
   before the free-threaded one, then fewer workers, then threads before processes;
3. ``confidence`` is the share of re-draws in which the advised option is still within the
   margin of the re-drawn best. A re-draw weights the replicates by Dirichlet(1, ..., 1) (the
   Bayesian bootstrap, as the claim decisions); when every candidate has the same replicates
   (blocks), one weight vector serves all, so the block's shared load cancels. A Dirichlet
   re-draw's spread is sqrt((n-1)/(n+1)) of the standard error s/sqrt(n), so deviations are
   scaled back up by its inverse: at 3 replicates the raw re-draws would halve the variance
   and call "high" too often. Fewer than 2 replicates: confidence 0 ("n = 1: no interval").

Levels: high >= 0.95, moderate >= 0.8, else low.

Under noise the level is capped at moderate: when the pooled CV of the runs (the standard
deviation of log values within each candidate, pooled over the candidates by their degrees of
freedom) is above ``NOISY_CV`` (12%). At that noise even the most blocks the plan runs (10) give
a paired log-ratio a standard error of about 0.12 * sqrt(2 / 10) = 5.4%, more than the 5% margin
itself: a difference at the margin cannot be placed, and "high" would rest on the normal tails of
the re-draws alone (on this VM two runs of one program gave two "high" picks that disagreed, at
a CV of 15-20%). pyperf warns from 10%; 12% leaves the quiet-machine case (2-5%) and the
simulation's 10% rows uncapped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import stats as sps

from gilwatt.modes import Mode

MARGIN = 0.05  # practical equivalence: options within 5% of the best are as good
HIGH = 0.95
MODERATE = 0.8
NOISY_CV = 0.12  # pooled CV of the runs above which the confidence is at most moderate
DRAWS = 2000
SEED = 20261127  # fixed: the same measurements always give the same confidence

_MODE_ORDER = {Mode.GIL.value: 0, Mode.FT.value: 1, Mode.FT_GIL.value: 2}
_PARALLELISM_ORDER = {"none": 0, "threads": 0, "processes": 1}


@dataclass(frozen=True, order=False)
class Option:
    """One configuration the user could run."""

    mode: str  # gil | ft | ft-gil
    workers: int
    parallelism: str  # threads | processes | none (the target takes no worker count)

    @property
    def key(self) -> str:
        if self.parallelism == "none":
            return self.mode
        return f"{self.mode} {self.parallelism}={self.workers}"

    def simplicity(self) -> tuple[int, int, int]:
        """The total order of simplicity: smaller is simpler."""
        return (
            _MODE_ORDER.get(self.mode, 3),
            self.workers,
            _PARALLELISM_ORDER.get(self.parallelism, 2),
        )


@dataclass
class Candidate:
    option: Option
    values: Sequence[float]  # the objective per replicate, in block order; > 0
    peak_rss_bytes: int | None = None
    blocked: str = ""  # why it may not be advised though measured (diagnostic, GIL back on)
    estimate: bool = False  # the objective is a model's estimate (energy without RAPL)


@dataclass
class Advice:
    option: Option | None  # None: nothing can be advised (see ``reason``)
    confidence: float  # share of re-draws with the advised option within the margin
    level: str  # high | moderate | low
    best: Option | None  # the lowest geometric mean among the advisable options
    estimate_by_key: dict[str, float] = field(default_factory=dict)  # geometric means
    ratio_by_key: dict[str, float] = field(default_factory=dict)  # vs the best
    excluded: dict[str, str] = field(default_factory=dict)  # key -> why not advisable
    runner_up: Option | None = None  # the best advisable option outside the margin
    reason: str = ""
    margin: float = MARGIN
    pooled_cv: float | None = None  # of the advisable candidates' runs; None below 2 runs each
    capped: str = ""  # why the level was lowered (noise), if it was


def level_of(confidence: float) -> str:
    if confidence >= HIGH:
        return "high"
    if confidence >= MODERATE:
        return "moderate"
    return "low"


def decide(
    candidates: Sequence[Candidate],
    *,
    margin: float = MARGIN,
    max_rss_bytes: int | None = None,
    allow_estimate: bool = False,
    draws: int = DRAWS,
    seed: int = SEED,
    noisy_cv: float = NOISY_CV,
) -> Advice:
    """The advice for these measurements (see the module docstring)."""
    excluded: dict[str, str] = {}
    estimates: dict[str, float] = {}
    usable: list[Candidate] = []
    for cand in candidates:
        values = [v for v in cand.values if v > 0 and math.isfinite(v)]
        key = cand.option.key
        if values:
            estimates[key] = math.exp(float(np.mean(np.log(values))))
        why = _why_not(cand, len(values), max_rss_bytes, allow_estimate)
        if why:
            excluded[key] = why
        else:
            usable.append(Candidate(cand.option, values, cand.peak_rss_bytes, "", cand.estimate))
    if not usable:
        return Advice(None, 0.0, "low", None, estimates, {}, excluded, None,
                      "no option can be advised: " + _summary(excluded), margin)  # fmt: skip
    logs = [np.log(np.asarray(c.values, dtype=float)) for c in usable]
    means = np.array([float(x.mean()) for x in logs])
    best_i = int(np.argmin(means))
    bound = math.log1p(margin)
    within = [i for i in range(len(usable)) if means[i] - means[best_i] <= bound]
    pick = min(within, key=lambda i: usable[i].option.simplicity())
    outside = [i for i in range(len(usable)) if i not in within]
    runner = min(outside, key=lambda i: means[i]) if outside else None
    confidence = _confidence(logs, pick, bound, draws, seed)
    ratios = {usable[i].option.key: math.exp(means[i] - means[best_i]) for i in range(len(usable))}
    reason = _reason(usable, pick, best_i, within, min(len(x) for x in logs))
    cv = pooled_cv(logs)
    level, capped = level_of(confidence), ""
    if level == "high" and cv is not None and cv > noisy_cv:
        level = "moderate"
        capped = (
            f"confidence capped at moderate: the runs' pooled CV is {cv:.0%} (above "
            f"{noisy_cv:.0%}), too noisy to place a difference at the {margin:.0%} margin"
        )
    return Advice(
        usable[pick].option, confidence, level, usable[best_i].option, estimates,
        ratios, excluded, None if runner is None else usable[runner].option, reason, margin,
        cv, capped,
    )  # fmt: skip


def pooled_cv(logs: Sequence[np.ndarray]) -> float | None:
    """The runs' CV, pooled: sqrt(sum (n_i - 1) var_i / sum (n_i - 1)) of the log values (the
    standard deviation of logs is the CV for small spreads). None without 2 runs somewhere."""
    dof = sum(len(x) - 1 for x in logs if len(x) >= 2)
    if dof == 0:
        return None
    ss = sum(float(np.var(x, ddof=1)) * (len(x) - 1) for x in logs if len(x) >= 2)
    return math.sqrt(ss / dof)


def _why_not(
    cand: Candidate, n_values: int, max_rss_bytes: int | None, allow_estimate: bool
) -> str:
    if cand.blocked:
        return cand.blocked
    if n_values == 0:
        return "no valid run"
    rss = cand.peak_rss_bytes
    if max_rss_bytes is not None and rss is not None and rss > max_rss_bytes:
        mib = rss / 2**20
        return f"peak memory {mib:.0f} MiB is above --max-rss ({max_rss_bytes / 2**20:.0f} MiB)"
    if cand.estimate and not allow_estimate:
        return "its energy is a model's estimate (decides only with --allow-estimate)"
    return ""


def _summary(excluded: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in excluded.items()) or "nothing was measured"


def _confidence(logs: list[np.ndarray], pick: int, bound: float, draws: int, seed: int) -> float:
    sizes = {len(x) for x in logs}
    if min(sizes) < 2 or draws <= 0:
        return 0.0
    rng = np.random.default_rng(seed)
    if len(sizes) == 1:  # the same blocks: one weight vector for all (paired)
        (n,) = sizes
        w = rng.dirichlet(np.ones(n), size=draws)
        redrawn = np.stack([_scaled(w, x) for x in logs], axis=1)
    else:
        redrawn = np.stack(
            [_scaled(rng.dirichlet(np.ones(len(x)), size=draws), x) for x in logs], axis=1
        )
    gap = redrawn[:, pick] - redrawn.min(axis=1)
    return float(np.mean(gap <= bound + 1e-12))


def _scaled(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Re-drawn means, their deviation from the observed mean scaled to the standard error."""
    n = len(x)
    mean = float(x.mean())
    redrawn: np.ndarray = mean + (weights @ x - mean) * _scale(n)
    return redrawn


@lru_cache(maxsize=64)
def _scale(n: int) -> float:
    """sqrt((n+1)/(n-1)) brings a Dirichlet re-draw's spread to s/sqrt(n); t(0.95, n-1) / z(0.95)
    widens it as Student's t does for few replicates (with the peeking of sequential stopping,
    the raw spread gave 7.5% false "high" in the simulation at a 10% CV)."""
    t_over_z = float(sps.t.ppf(0.95, n - 1) / sps.norm.ppf(0.95))
    return math.sqrt((n + 1) / (n - 1)) * t_over_z


def _reason(
    usable: list[Candidate], pick: int, best: int, within: list[int], replicates: int
) -> str:
    chosen, fastest = usable[pick].option, usable[best].option
    if pick == best and len(within) == 1:
        text = f"{chosen.key} is the best; every other option is more than 5% slower on average"
    elif pick == best:
        others = [usable[i].option.key for i in within if i != pick]
        text = f"{chosen.key} is the best and the simplest of {len(within)} equivalent options"
        text += f" (also within the margin: {', '.join(others)})"
    else:
        text = f"{chosen.key} is within the margin of the best ({fastest.key}) and simpler"
    if replicates < 2:
        text += "; n = 1: no interval"
    return text
