"""Studies drawn from known truths, judged by the same function ``compare`` calls.

A scenario is a truth: the true ft/gil ratio of every (workload, workers, metric) of a
quick-suite-shaped study (the 13 study workloads, workers 1, 2, 4), the noise of each cell,
the usable CPUs and whether energy is measured, and the verdict each claim should get. A draw
adds noise per replicate (log-normal, a shared per-replicate shift plus per-cell noise) and
runs :func:`gilwatt.analysis.decide.decide` on it. :func:`run` tallies the verdicts over many
draws; ``bench/bench_decisions.py`` prints the table and the test suite checks it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from gilwatt.analysis import decide as dec

# (workload, family, sharing, worker counts)
ROSTER: tuple[tuple[str, str, str, tuple[int, ...]], ...] = (
    ("mandelbrot", "sequential", dec.INDEPENDENT, (1,)),
    ("bubble_sort", "sequential", dec.INDEPENDENT, (1,)),
    ("prime_sieve", "sequential", dec.INDEPENDENT, (1,)),
    ("numpy_vectorized", "numpy", dec.INDEPENDENT, (1,)),
    ("numpy_blas", "numpy", dec.INDEPENDENT, (1,)),
    ("numpy_fft", "numpy", dec.INDEPENDENT, (1,)),
    ("factorial", "threaded-numerical", dec.INDEPENDENT, (1, 2, 4)),
    ("matmul", "threaded-numerical", dec.SHARED_READ_ONLY, (1, 2, 4)),
    ("nbody", "threaded-numerical", dec.SHARED_READ_ONLY, (1, 2, 4)),
    ("json_parse", "threaded-objects", dec.SHARED_READ_ONLY, (1, 2, 4)),
    ("object_lists_nocopy", "threaded-objects", dec.SHARED_MUTABLE, (1, 2, 4)),
    ("object_lists_copy", "threaded-objects", dec.SHARED_READ_ONLY, (1, 2, 4)),
    ("object_lists", "threaded-objects", dec.SHARED_READ_ONLY, (1, 2, 4)),
)
SEQUENTIAL = frozenset(w for w, family, _, _ in ROSTER if family == "sequential")
METRICS = ("time_s", "energy_j", "power_w", "peak_rss_bytes", "peak_vms_bytes")
BLOCK_SD = 0.01  # a shift shared by every cell of one replicate (machine state)

# (workload, workers, metric) -> (true ratio, log-sd per replicate)
Truth = Callable[[str, str, int, str, int], tuple[float, float]]


@dataclass(frozen=True)
class Scenario:
    name: str
    truth: Truth  # (workload, sharing, workers, metric, usable_cpus) -> (ratio, sd)
    expected: dict[int, str]
    usable_cpus: int = 2
    energy_measured: bool = False
    replicates: int = 3
    effect_claims: tuple[int, ...] = ()  # claims whose true effect is 20% or more


def _noise(workers: int, cpus: int, metric: str) -> float:
    if metric == "peak_rss_bytes":
        return 0.02
    if metric == "peak_vms_bytes":
        return 0.05
    if metric == "power_w":
        return 0.02
    if workers > cpus:
        return 0.15  # oversubscribed
    return 0.03 if workers == 1 else 0.05


def paper_like(
    *,
    sequential: float = 1.30,
    numpy: tuple[float, ...] = (1.0, 1.0, 1.0),
    penalty: float = 1.5,
    at_n: dict[str, float] | None = None,
    mutable_at_n: float = 3.0,
    rss: float = 1.3,
    vms: float = 3.0,
    power: float = 1.0,
    noisy: tuple[str, int] | None = None,
) -> Truth:
    """A truth like this machine's 3.13 pair: ft sequential cost, a one-thread penalty, the
    threaded gain (ft/gil at the largest N within the CPUs, default penalty / N) and the
    shared-mutable workload's loss."""
    numpy_names = ("numpy_vectorized", "numpy_blas", "numpy_fft")

    def truth(
        workload: str, sharing: str, workers: int, metric: str, cpus: int
    ) -> tuple[float, float]:
        sd = _noise(workers, cpus, metric)
        if noisy == (workload, workers):
            sd = 0.30
        if metric == "peak_rss_bytes":
            return rss, sd
        if metric == "peak_vms_bytes":
            return vms, sd
        if metric == "power_w":
            return power, sd
        if workload in numpy_names:
            ratio = numpy[numpy_names.index(workload)]
        elif workload in SEQUENTIAL:
            ratio = sequential
        elif workers == 1:
            ratio = penalty
        elif sharing == dec.SHARED_MUTABLE:
            ratio = mutable_at_n if workers <= cpus else mutable_at_n * 1.5
        else:
            top = min(workers, cpus)
            ratio = (at_n or {}).get(workload, penalty / top)
            if workers > cpus:
                ratio *= 1.2
        if metric == "energy_j":
            return ratio * power, sd
        return ratio, sd

    return truth


def no_effect(
    workload: str, sharing: str, workers: int, metric: str, cpus: int
) -> tuple[float, float]:
    return 1.0, _noise(workers, cpus, metric)


def contention_only(
    workload: str, sharing: str, workers: int, metric: str, cpus: int
) -> tuple[float, float]:
    if sharing == dec.SHARED_MUTABLE and workers > 1 and metric in ("time_s", "energy_j"):
        return 6.3, _noise(workers, cpus, metric)
    return 1.0, _noise(workers, cpus, metric)


C, X, M, NT = dec.CONFIRMS, dec.CONTRADICTS, dec.MIXED, dec.NOT_TESTABLE

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("no effect", no_effect, {1: X, 2: X, 3: C, 4: X, 5: X, 6: NT}),
    Scenario(
        "opposite effects",
        paper_like(at_n={"factorial": 0.69, "matmul": 0.85, "nbody": 1.70, "object_lists": 1.3}),
        {1: C, 2: M, 3: C, 4: C, 5: C, 6: NT},
        effect_claims=(1, 2, 4, 5),
    ),
    Scenario(
        "large contention effect",
        contention_only,
        {1: X, 2: X, 3: C, 4: C, 5: X, 6: NT},
        effect_claims=(4,),
    ),
    Scenario(
        "equivalence (measured energy)",
        paper_like(numpy=(1.03, 0.98, 1.0), power=1.02),
        {1: C, 2: C, 3: C, 4: C, 5: C, 6: C},
        energy_measured=True,
        effect_claims=(1, 2, 4, 5),
    ),
    Scenario(
        "one noisy cell",
        paper_like(noisy=("nbody", 2)),
        {1: C, 2: C, 3: C, 4: C, 5: C, 6: NT},
        effect_claims=(1, 2, 4, 5),
    ),
    Scenario(
        "2 usable CPUs",
        paper_like(),
        {1: C, 2: C, 3: C, 4: C, 5: C, 6: NT},
        effect_claims=(1, 2, 4, 5),
    ),
    Scenario(
        "16 usable CPUs",
        paper_like(),
        {1: C, 2: C, 3: C, 4: C, 5: C, 6: NT},
        usable_cpus=16,
        effect_claims=(1, 2, 4, 5),
    ),
)


@dataclass(frozen=True)
class _Layout:
    meta: list[tuple[str, str, str, str, int, str]]  # workload, params, family, sharing, N, metric
    mu: np.ndarray
    sd: np.ndarray


def _layout(s: Scenario) -> _Layout:
    meta, mu, sd = [], [], []
    for workload, family, sharing, workers in ROSTER:
        for n in workers:
            for metric in METRICS:
                ratio, noise = s.truth(workload, sharing, n, metric, s.usable_cpus)
                meta.append((workload, "{}", family, sharing, n, metric))
                mu.append(math.log(ratio))
                sd.append(noise)
    return _Layout(meta, np.asarray(mu), np.asarray(sd))


def draw_logs(s: Scenario, rng: np.random.Generator, draws: int) -> tuple[_Layout, np.ndarray]:
    """draws x cells x replicates of log ratios."""
    lay = _layout(s)
    b = s.replicates
    shift = rng.normal(0.0, BLOCK_SD, size=(draws, 1, b))
    noise = rng.normal(0.0, 1.0, size=(draws, lay.mu.size, b)) * lay.sd[None, :, None]
    return lay, lay.mu[None, :, None] + shift + noise


def as_data(s: Scenario, lay: _Layout, logs: np.ndarray) -> dec.DecisionData:
    """One draw (cells x replicates) as the decision function's input."""
    cells = tuple(
        dec.CellSeries(w, p, f, sh, n, m, tuple(float(v) for v in row))
        for (w, p, f, sh, n, m), row in zip(lay.meta, logs, strict=True)
    )
    return dec.DecisionData(
        tuple(range(1, s.replicates + 1)), cells, s.usable_cpus, s.energy_measured
    )


@dataclass
class Tally:
    scenario: Scenario
    draws: int
    counts: dict[int, Counter[str]] = field(default_factory=dict)

    def decided(self, claim: int) -> int:
        c = self.counts[claim]
        return c[dec.CONFIRMS] + c[dec.CONTRADICTS] + c[dec.MIXED]

    def right_when_decided(self, claim: int) -> float | None:
        d = self.decided(claim)
        return None if d == 0 else self.counts[claim][self.scenario.expected[claim]] / d

    def share(self, claim: int, verdict: str) -> float:
        return self.counts[claim][verdict] / self.draws


def clopper_pearson_upper(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided upper bound of a binomial proportion."""
    if k >= n:
        return 1.0
    return float(sps.beta.ppf(confidence, k + 1, n - k))


def run(s: Scenario, draws: int = 1000, seed: int = 1, redraws: int = dec.DRAWS) -> Tally:
    rng = np.random.default_rng(seed)
    lay, logs = draw_logs(s, rng, draws)
    tally = Tally(s, draws, {k: Counter() for k in range(1, 7)})
    for i in range(draws):
        found = dec.decide(as_data(s, lay, logs[i]), draws=redraws, detail=False)
        for k, d in found.items():
            tally.counts[k][d.verdict] += 1
    return tally


def table(tallies: list[Tally]) -> list[str]:
    """The simulation table, one row per (scenario, claim)."""
    head = f"{'scenario':<30} {'claim':>5}  {'expected':<12} {'decided':>7} {'right|decided':>13}  verdict shares"
    lines = [head, "-" * len(head)]
    for t in tallies:
        for k in range(1, 7):
            right = t.right_when_decided(k)
            shares = ", ".join(f"{v} {t.share(k, v):.1%}" for v in dec.VERDICTS if t.counts[k][v])
            lines.append(
                f"{t.scenario.name:<30} {k:>5}  {t.scenario.expected[k]:<12} "
                f"{t.decided(k) / t.draws:>7.1%} {'–' if right is None else f'{right:.1%}':>13}  {shares}"
            )
    return lines


FALSE_CONFIRMS_BOUND = 0.075
RIGHT_WHEN_DECIDED = 0.95
DECIDED_FOR_EFFECTS = 0.80


def criteria(tally: Tally) -> list[tuple[str, bool]]:
    """The checks of the decisions issue on one scenario: (what, held)."""
    s = tally.scenario
    out = []
    for k in range(1, 7):
        right = tally.right_when_decided(k)
        if right is not None:
            out.append(
                (f"claim {k}: right when decided {right:.1%} >= 95%", right >= RIGHT_WHEN_DECIDED)
            )
        if s.name == "no effect" and s.expected[k] == dec.CONTRADICTS:
            confirms = tally.counts[k][dec.CONFIRMS]
            upper = clopper_pearson_upper(confirms, tally.draws)
            out.append(
                (
                    f"claim {k}: false confirms {confirms}/{tally.draws}, Clopper-Pearson upper "
                    f"{upper:.2%} <= 7.5%",
                    upper <= FALSE_CONFIRMS_BOUND,
                )
            )
        if k in s.effect_claims:
            share = tally.decided(k) / tally.draws
            out.append((f"claim {k}: decided {share:.1%} >= 80%", share >= DECIDED_FOR_EFFECTS))
    return out
