"""Robust summaries, ratios in log space, and corrections for many comparisons.

Ratios are estimated on logarithms: per block, log(metric(mode) / metric(baseline)); the mean
of the logs exponentiates to the geometric mean ratio, and its 95% interval is the Student t
interval of the mean log (``scipy.stats.t.ppf``, any n >= 2) exponentiated, so "1.10x slower"
and "0.909x faster" are the same statement. A percentile bootstrap over the same log ratios
(fixed seed, so reruns print the same numbers) is reported beside it as a check that does not
assume normality, from 10 pairs on: below that a percentile bootstrap is close to [min, max] of
the ratios (at 3 pairs each extreme is resampled with probability 1/27 > 2.5%, so its "95%"
covers about 76%); the t interval stands alone there ("n too small").

Verdict rule (one cell, one metric): with fewer than 2 pairs we cannot tell; otherwise the
two-sided one-sample t-test of the mean log ratio against 0 gives a p-value, the p-values of
one family (every cell of one comparison and metric) are Holm-adjusted, and a cell whose
adjusted p is below alpha = 0.05 is lower (ratio < 1) or higher (ratio > 1); any other cell
shows no detectable difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

FloatArray = npt.NDArray[np.float64]

CONFIDENCE = 0.95
ALPHA = 0.05
BOOTSTRAP_SEED = 20260304  # fixed: the same store always prints the same intervals
BOOTSTRAP_RESAMPLES = 5000
BOOTSTRAP_MIN_N = 10  # below, the percentile bootstrap under-covers badly (see the docstring)
MODIFIED_Z_OUTLIER = 3.5  # Iglewicz & Hoaglin: flag, never drop
EQUIVALENCE_MARGIN = 0.10  # "unchanged" means the whole CI lies inside [1/1.1, 1.1]

LOWER = -1  # ratio significantly below 1
NO_DIFFERENCE = 0
HIGHER = 1  # ratio significantly above 1


@dataclass(frozen=True)
class Summary:
    """Median and spread of one metric over the valid runs of one cell and mode."""

    n: int
    median: float
    q1: float  # quartiles by linear interpolation (numpy's default, Hyndman-Fan type 7)
    q3: float
    mad: float  # median absolute deviation, unscaled
    min: float
    max: float
    mean: float
    outliers: int  # runs with |modified z| > 3.5 (flagged, kept)

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def _finite(values: Sequence[float | None] | FloatArray) -> FloatArray:
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    return arr[np.isfinite(arr)]


def summarize(values: Sequence[float | None] | FloatArray) -> Summary | None:
    """Summary of the finite values; None when there are none."""
    arr = _finite(values)
    if arr.size == 0:
        return None
    median = float(np.median(arr))
    q1, q3 = (float(q) for q in np.percentile(arr, [25.0, 75.0]))
    mad = float(np.median(np.abs(arr - median)))
    return Summary(
        n=int(arr.size),
        median=median,
        q1=q1,
        q3=q3,
        mad=mad,
        min=float(arr.min()),
        max=float(arr.max()),
        mean=float(arr.mean()),
        outliers=int(np.count_nonzero(outlier_mask(arr))),
    )


def outlier_mask(values: FloatArray) -> npt.NDArray[np.bool_]:
    """Modified z-score |0.6745 (x - median) / MAD| > 3.5; all False when MAD is 0."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return np.zeros(0, dtype=bool)
    median = np.median(arr)
    mad = np.median(np.abs(arr - median))
    if mad == 0:
        return np.zeros(arr.shape, dtype=bool)
    z = 0.6745 * (arr - median) / mad
    mask: npt.NDArray[np.bool_] = np.abs(z) > MODIFIED_Z_OUTLIER
    return mask


def geometric_mean(values: Sequence[float] | FloatArray) -> float:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0 or np.any(arr <= 0) or not np.all(np.isfinite(arr)):
        raise ValueError("geometric mean needs at least one finite positive value")
    return float(np.exp(np.mean(np.log(arr))))


@dataclass(frozen=True)
class RatioEstimate:
    """Geometric mean of paired ratios with its intervals and test."""

    n: int  # pairs used
    dropped: int  # pairs that could not be formed or had a non-positive value
    geomean: float
    log_mean: float
    log_sd: float | None  # None for n = 1
    t_low: float | None  # log-space t interval, exponentiated; None for n = 1
    t_high: float | None
    boot_low: float | None  # percentile bootstrap of the geometric mean; None for n < 3
    boot_high: float | None
    p_value: float | None  # two-sided one-sample t-test of mean log ratio = 0; None for n = 1
    note: str = ""

    @property
    def has_ci(self) -> bool:
        return self.t_low is not None and self.t_high is not None


def log_t_interval(
    log_values: FloatArray, confidence: float = CONFIDENCE
) -> tuple[float, float, float, float]:
    """(mean, sd, low, high) of the mean of ``log_values`` by Student t; needs n >= 2."""
    n = int(log_values.size)
    if n < 2:
        raise ValueError("a t interval needs at least 2 values")
    mean = float(np.mean(log_values))
    sd = float(np.std(log_values, ddof=1))
    half = float(sps.t.ppf(0.5 + confidence / 2.0, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def t_test_p(mean: float, sd: float, n: int) -> float:
    """Two-sided p of a one-sample t-test of the mean against 0 (exact for sd = 0)."""
    if sd == 0.0:
        return 1.0 if mean == 0.0 else 0.0
    t_stat = mean / (sd / math.sqrt(n))
    return float(2.0 * sps.t.sf(abs(t_stat), n - 1))


def bootstrap_interval(
    log_values: FloatArray,
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``log_values`` (resampling pairs)."""
    n = int(log_values.size)
    if n < 2:
        raise ValueError("a bootstrap interval needs at least 2 values")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    means = log_values[idx].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def ratio_estimate(
    ratios: Sequence[float] | FloatArray,
    *,
    dropped: int = 0,
    confidence: float = CONFIDENCE,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> RatioEstimate | None:
    """Summarise paired ratios; None when no usable ratio is left.

    Non-positive or non-finite ratios cannot be logged: they are dropped and counted.
    """
    arr = np.asarray(ratios, dtype=np.float64)
    usable = arr[np.isfinite(arr) & (arr > 0)]
    dropped += int(arr.size - usable.size)
    n = int(usable.size)
    if n == 0:
        return None
    logs = np.log(usable)
    if n == 1:
        value = float(usable[0])
        return RatioEstimate(
            n=1,
            dropped=dropped,
            geomean=value,
            log_mean=float(logs[0]),
            log_sd=None,
            t_low=None,
            t_high=None,
            boot_low=None,
            boot_high=None,
            p_value=None,
            note="no CI: only 1 pair",
        )
    mean, sd, low, high = log_t_interval(logs, confidence)
    boot: tuple[float | None, float | None] = (None, None)
    if n >= BOOTSTRAP_MIN_N:
        b_low, b_high = bootstrap_interval(
            logs, confidence=confidence, n_resamples=n_resamples, seed=seed
        )
        boot = (math.exp(b_low), math.exp(b_high))
    return RatioEstimate(
        n=n,
        dropped=dropped,
        geomean=math.exp(mean),
        log_mean=mean,
        log_sd=sd,
        t_low=math.exp(low),
        t_high=math.exp(high),
        boot_low=boot[0],
        boot_high=boot[1],
        p_value=t_test_p(mean, sd, n),
        note=""
        if n >= BOOTSTRAP_MIN_N
        else f"n too small for a bootstrap interval (needs {BOOTSTRAP_MIN_N} pairs)",
    )


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values; None entries (no test) stay None and do not count."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate); None entries stay None."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    out: list[float | None] = [None] * len(p_values)
    running = 1.0
    for rank in range(m - 1, -1, -1):
        p, i = indexed[rank]
        running = min(running, min(1.0, p * m / (rank + 1)))
        out[i] = running
    return out


def direction(
    estimate: RatioEstimate | None, adjusted_p: float | None, alpha: float = ALPHA
) -> int | None:
    """LOWER, HIGHER or NO_DIFFERENCE by the rule in the module docstring; None: cannot tell."""
    if estimate is None or estimate.n < 2 or adjusted_p is None:
        return None
    if adjusted_p >= alpha:
        return NO_DIFFERENCE
    return LOWER if estimate.log_mean < 0 else HIGHER


def within_margin(
    low: float | None, high: float | None, margin: float = EQUIVALENCE_MARGIN
) -> bool:
    """True when the interval lies inside [1/(1+margin), 1+margin] (practically unchanged)."""
    if low is None or high is None:
        return False
    return low >= 1.0 / (1.0 + margin) and high <= 1.0 + margin


@dataclass(frozen=True)
class LogDifference:
    """Welch comparison of two groups of log ratios: exp(mean a - mean b) with its CI."""

    n_a: int
    n_b: int
    ratio: float
    low: float
    high: float
    p_value: float


def welch_log_difference(
    log_a: FloatArray, log_b: FloatArray, confidence: float = CONFIDENCE
) -> LogDifference | None:
    """Welch t on two groups of logs (each n >= 2); None when either group is too small."""
    na, nb = int(log_a.size), int(log_b.size)
    if na < 2 or nb < 2:
        return None
    va = float(np.var(log_a, ddof=1)) / na
    vb = float(np.var(log_b, ddof=1)) / nb
    diff = float(np.mean(log_a) - np.mean(log_b))
    se = math.sqrt(va + vb)
    if se == 0.0:
        p = 1.0 if diff == 0.0 else 0.0
        return LogDifference(na, nb, math.exp(diff), math.exp(diff), math.exp(diff), p)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = float(sps.t.ppf(0.5 + confidence / 2.0, df)) * se
    p = float(2.0 * sps.t.sf(abs(diff / se), df))
    return LogDifference(na, nb, math.exp(diff), math.exp(diff - half), math.exp(diff + half), p)
