"""The paper's claims (arXiv 2603.04782) set beside this study's evidence.

The verdicts come from :mod:`gilwatt.analysis.decide` (estimands, five verdicts, stability);
this module feeds it the study's paired ratios, the host's usable CPUs and the energy source,
and adds the evidence lines and the context a reader needs (interpreter version and usable
CPUs against the paper's).

1. Sequential code costs more time and energy on the free-threaded build (paper: +13-43%
   energy). Halves time and energy (measured only), combined by all.
2. Threaded workloads without shared mutable data run faster on the free-threaded build, at
   the largest worker count within the usable CPUs (paper: up to 4x). Halves direction
   (decides), magnitude (needs 4 usable CPUs), energy (measured only).
3. NumPy workloads are unchanged: equivalence within +-10%.
4. Contention on shared objects erodes the gain: difference in differences, shared-mutable
   workloads against the others.
5. Memory grows (RSS), VMS more than RSS: two halves, combined by all.
6. Energy is proportional to time: the per-workload power ratio is equivalent within +-10%,
   on measured energy only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gilwatt.analysis import decide as dec
from gilwatt.analysis import stats
from gilwatt.analysis.compare import Comparison, StudyAnalysis
from gilwatt.analysis.energy_time import EnergyTime
from gilwatt.analysis.scaling import ScalingCurve

CONFIRMS = dec.CONFIRMS
CONTRADICTS = dec.CONTRADICTS
MIXED = dec.MIXED
INCONCLUSIVE = dec.INCONCLUSIVE
NOT_TESTABLE = dec.NOT_TESTABLE

ALPHA = dec.ALPHA  # the claims' error rate over a whole sequential plan
PAPER_SEQUENTIAL_ENERGY = (1.13, 1.43)
PAPER_PYTHON = "3.14.2"
PAPER_MAX_WORKERS = 12
MIN_ALPHA = 1e-12
DECISION_METRICS = ("time_s", "energy_j", "power_w", "peak_rss_bytes", "peak_vms_bytes")

CLAIMS = {
    1: "sequential code costs more time and energy on the free-threaded build (paper: +13–43% energy)",
    2: "independent-data threaded workloads run faster with threads on the free-threaded build than on the GIL build (paper: up to 4×)",
    3: "NumPy workloads are unchanged",
    4: "contention on shared objects erodes the gain, or reverses it",
    5: "memory grows on the free-threaded build, VMS more than RSS",
    6: "energy is proportional to time (power barely changes)",
}


@dataclass(frozen=True)
class Context:
    """What the claims depend on beyond the runs: where and with what the study ran."""

    usable_cpus: int | None = None
    affinity_cpus: int | None = None
    cgroup_cpu_quota: float | None = None
    versions: dict[str, str] = field(default_factory=dict)  # mode -> version
    # the last look of the study's alpha-spending plan (reps = "auto"): the verdicts are
    # decided at its alpha; None (fixed reps): at decide's defaults (0.05)
    plan_alpha: float | None = None
    plan_replicate: int | None = None
    plan_spent: float | None = None

    @property
    def alpha(self) -> float | None:
        """The alpha the claims are decided at (None: decide's defaults). A look that had
        nothing left to spend decides nothing: a vanishing alpha, never 0.05."""
        return None if self.plan_alpha is None else max(self.plan_alpha, MIN_ALPHA)


@dataclass(frozen=True)
class Finding:
    number: int
    claim: str
    verdict: str  # one of decide.VERDICTS
    why: str  # the reason
    evidence: list[str] = field(default_factory=list)
    estimand: str = ""
    unit: str = ""
    stability: float | None = None
    estimate: float | None = None
    interval: tuple[float, float] | None = None
    replicates_needed: int | None = None
    workloads: list[dec.UnitResult] = field(default_factory=list)
    halves: list[dec.HalfResult] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return self.why


def fmt_ratio(est: stats.RatioEstimate | None) -> str:
    if est is None:
        return "no pair"
    if est.t_low is None or est.t_high is None:
        return f"×{est.geomean:.3f} (n={est.n}, no CI)"
    return f"×{est.geomean:.3f} [{est.t_low:.3f}, {est.t_high:.3f}] (n={est.n})"


def pooled(comps: Sequence[Comparison]) -> stats.RatioEstimate | None:
    """Geometric mean over cells (cells as units; t CI across cells), or the one cell's."""
    with_est = [c.estimate for c in comps if c.estimate is not None]
    if not with_est:
        return None
    if len(with_est) == 1:
        return with_est[0]
    return stats.ratio_estimate([math.exp(e.log_mean) for e in with_est])


def default_sharing_of(workload: str, params_json: str) -> str:
    """The bundled workload's sharing class for these parameters; unclassified otherwise."""
    try:
        from gilwatt import workloads

        found = workloads.get_workload(workload)
        params = json.loads(params_json or "{}")
        return str(found.sharing_of(params if isinstance(params, dict) else {}))
    except Exception:  # a user workload or an unknown name: it stays out of claims 2 and 4
        return dec.UNCLASSIFIED


def decision_data(
    analysis: StudyAnalysis,
    *,
    usable_cpus: int | None,
    energy_measured: bool,
    sharing_of: Callable[[str, str], str] = default_sharing_of,
) -> dec.DecisionData:
    """What :func:`gilwatt.analysis.decide.decide` reads, from the paired ft/gil ratios."""
    blocks = sorted({r.block for r in analysis.data.runs})
    spec_sharing = _spec_sharing(analysis.data.study.spec)
    known: dict[tuple[str, str], str] = {}
    rows = []
    for c in analysis.comparisons:
        if (c.mode, c.base) != ("ft", "gil") or c.metric not in DECISION_METRICS:
            continue
        key = (c.cell.workload, c.cell.params_json)
        if key not in known:
            known[key] = spec_sharing.get(c.cell.workload) or sharing_of(*key)
        rows.append(
            (
                c.cell.workload,
                c.cell.params_json,
                c.cell.family,
                known[key],
                c.cell.workers,
                c.metric,
                c.ratios,
            )
        )
    return dec.from_rows(blocks, rows, usable_cpus=usable_cpus, energy_measured=energy_measured)


def _spec_sharing(spec: dict[str, Any]) -> dict[str, str]:
    """Sharing classes recorded with a study's definition ({"sharing": {workload: class}})."""
    flat = spec.get("sharing")
    if not isinstance(flat, dict):
        return {}
    classes = (dec.INDEPENDENT, dec.SHARED_READ_ONLY, dec.SHARED_MUTABLE, dec.UNCLASSIFIED)
    return {str(k): v for k, v in flat.items() if isinstance(v, str) and v in classes}


def _select(
    analysis: StudyAnalysis,
    metric: str,
    families: frozenset[str],
    pair: tuple[str, str] = ("ft", "gil"),
) -> list[Comparison]:
    return [
        c
        for c in analysis.comparisons
        if (c.mode, c.base) == pair and c.metric == metric and c.cell.family in families
    ]


def _unit_lines(decision: dec.Decision) -> list[str]:
    lines = []
    shown: list[str] = []
    for half in decision.halves:
        if len(decision.halves) > 1:
            lines.append(f"{half.name}: {half.verdict} — {half.reason}")
        names = [u.name for u in half.units]
        if names == shown and all(u.sign == 0 for u in half.units):
            continue  # the same workloads as the half above: listed once
        shown = names
        for u in half.units:
            ci = "" if u.low is None or u.high is None else f" [{u.low:.3f}, {u.high:.3f}]"
            ratio = "–" if u.ratio is None else f"×{u.ratio:.3f}"
            at = f"N={u.workers}" if u.workers else "its cells"
            lines.append(f"  {u.name} ({at}): {ratio}{ci} (n={u.n})")
    return lines


def scaling_evidence(curves: Sequence[ScalingCurve], families: frozenset[str]) -> list[str]:
    """Median speed-up at the largest N within the usable CPUs, and the Amdahl fit, per mode."""
    lines = []
    for mode in ("gil", "ft-gil", "ft"):
        chosen = [c for c in curves if c.mode == mode and c.family in families and c.speedup]
        tops = [(c, c.fit_top) for c in chosen if c.fit_top is not None]
        if not tops:
            continue
        values = [c.speedup[c.workers.index(n)] for c, n in tops]
        ns = sorted({n for _, n in tops})
        text = (
            f"{mode} speed-up at N={','.join(map(str, ns))} (within the usable CPUs): "
            f"median {float(np.median(values)):.2f} over {len(tops)} workload(s)"
        )
        serial = [c.amdahl.params["s"] for c, _ in tops if c.amdahl is not None]
        if serial:
            text += f", Amdahl serial fraction (median) {float(np.median(serial)):.2f}"
        lines.append(text)
    return lines


def _evidence(
    number: int,
    analysis: StudyAnalysis,
    energy_time: EnergyTime,
    curves: Sequence[ScalingCurve],
    decision: dec.Decision,
    estimate_note: str,
) -> list[str]:
    lines: list[str] = []
    if decision.stability is not None:
        lines.append(
            f"stability: {decision.stability:.0%} of {dec.DRAWS} re-draws give this verdict"
        )
    if decision.replicates_needed is not None:
        lines.append(f"about {decision.replicates_needed} replicates would likely decide it")
    lines += _unit_lines(decision)
    if number == 1:
        overhead = _select(analysis, "time_s", frozenset({"sequential"}), pair=("ft-gil", "gil"))
        if overhead:
            lines.append(f"ft-gil/gil time (the build, GIL on): {fmt_ratio(pooled(overhead))}")
        energy = pooled(_select(analysis, "energy_j", frozenset({"sequential"})))
        if energy is not None and not energy_time.estimate:
            low, high = PAPER_SEQUENTIAL_ENERGY
            where = (
                "inside"
                if low <= energy.geomean <= high
                else ("below" if energy.geomean < low else "above")
            )
            lines.append(
                f"energy ratio {energy.geomean:.3f} is {where} the paper's measured {low:.2f}–{high:.2f}"
            )
    if number == 2:
        lines += scaling_evidence(curves, dec.THREADED)
    if number == 6 and energy_time.energy_vs_time is not None:
        f = energy_time.energy_vs_time
        r2 = "n/a" if f.r2 is None else f"{f.r2:.3f}"
        lines.append(
            f"description: energy = {f.intercept:.3g} J + {f.slope:.3g} W × time, R²={r2}, "
            f"{energy_time.n} runs{estimate_note}"
        )
    return lines


def plan_line(context: Context) -> str:
    """The alpha the verdicts are decided at, when a sequential plan set it."""
    if context.plan_alpha is None:
        return ""
    after = f" (after replicate {context.plan_replicate})" if context.plan_replicate else ""
    spent = ""
    if context.plan_spent is not None:
        spent = f", {context.plan_spent:.3g} of {ALPHA:g} spent in all"
    return (
        f"decisions at alpha {context.plan_alpha:.3g}: the last look{after} of the study's "
        f"alpha-spending plan{spent}"
    )


def context_lines(context: Context, energy_measured: bool) -> list[str]:
    """The study's setting against the paper's, and what it means for each claim."""
    versions = sorted(set(context.versions.values()))
    shown = ", ".join(f"{m} {v}" for m, v in sorted(context.versions.items())) or "unknown"
    lines = [line for line in [plan_line(context)] if line]
    lines.append(f"interpreters: {shown}; the paper used CPython {PAPER_PYTHON}")
    if versions and not all(v.startswith("3.14") for v in versions):
        lines.append(
            "  3.13's free-threaded build runs without the specialising interpreter: its one-thread "
            "cost (claim 1, and the N=1 baseline of claims 2 and 4) is larger than on 3.14"
        )
    cpus = context.usable_cpus
    parts = []
    if context.affinity_cpus is not None:
        parts.append(f"affinity {context.affinity_cpus}")
    if context.cgroup_cpu_quota is not None:
        parts.append(f"cgroup quota {context.cgroup_cpu_quota:g}")
    where = f" ({', '.join(parts)})" if parts else ""
    lines.append(
        f"usable CPUs: {cpus if cpus is not None else 'unknown'}{where}; the paper ran up to "
        f"{PAPER_MAX_WORKERS} workers"
    )
    if cpus is not None:
        lines.append(
            f"  claims 2 and 4 are judged at the largest N ≤ {cpus}; cells with more workers are "
            "oversubscribed: shown, kept out of claims and scaling fits"
        )
        if cpus < dec.MAGNITUDE:
            lines.append(f"  claim 2's {dec.MAGNITUDE:g}× cannot be tested on {cpus} CPUs")
    if not energy_measured:
        lines.append(
            "energy is modelled, not measured: claim 1 is decided on time alone, claim 2's energy "
            "half and claim 6 are not testable"
        )
    return lines


def findings(
    analysis: StudyAnalysis,
    energy_time: EnergyTime,
    curves: Sequence[ScalingCurve] = (),
    *,
    context: Context | None = None,
    sharing_of: Callable[[str, str], str] = default_sharing_of,
    draws: int = dec.DRAWS,
) -> list[Finding]:
    """The six claims, in order, each with its verdict, reason, stability and evidence."""
    context = context or Context()
    sources = ", ".join(energy_time.sources)
    note = f" (estimate: {sources})" if energy_time.estimate else ""
    measured = bool(energy_time.sources) and not energy_time.estimate
    if ("ft", "gil") not in analysis.pairs:
        why = "the study has no ft vs gil pair of modes"
        return [Finding(i, CLAIMS[i], NOT_TESTABLE, why) for i in range(1, 7)]
    data = decision_data(
        analysis, usable_cpus=context.usable_cpus, energy_measured=measured, sharing_of=sharing_of
    )
    decisions = dec.decide(data, draws=draws, alpha=context.alpha)
    out = []
    for number in range(1, 7):
        d = decisions[number]
        out.append(
            Finding(
                number=number,
                claim=CLAIMS[number],
                verdict=d.verdict,
                why=d.reason,
                evidence=_evidence(number, analysis, energy_time, curves, d, note),
                estimand=d.estimand,
                unit=d.unit,
                stability=d.stability,
                estimate=d.estimate,
                interval=d.interval,
                replicates_needed=d.replicates_needed,
                workloads=d.workloads,
                halves=d.halves,
            )
        )
    return out
