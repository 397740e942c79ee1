"""The paper's claims (arXiv 2603.04782) set beside this study's evidence.

Each claim gets one verdict -- confirms, contradicts, or cannot tell -- by an explicit rule over
the per-cell verdicts of :mod:`gilwatt.analysis.compare` (Holm-corrected, free-threaded vs
GIL build), with the numbers behind it. "Informative" cells have at least 2 paired blocks.

Direction rule (claims 1, 2, 5): expecting ratios above (or below) 1, a metric *confirms* when
at least one informative cell goes the expected way and none the opposite way, *contradicts*
when at least one goes the opposite way and none the expected way; mixed results, or no
detectable difference anywhere, cannot tell -- except that when every informative cell's 95% CI
lies inside [1/1.1, 1.1] the claimed effect (a cost or a gain) is ruled out: contradicts.

1. Sequential code costs more time and energy on the free-threaded build (paper: +13-43%
   energy): direction rule, expecting higher, on time and on energy, sequential cells.
   Confirms if both confirm; contradicts if either contradicts and neither confirms.
2. Independent-data threaded workloads run faster on the free-threaded build than on the GIL
   build (they scale with workers): direction rule,
   expecting lower (faster), on time, independent-data cells at their largest worker count > 1.
3. NumPy is unchanged: equivalence. Confirms when every informative numpy cell's time CI lies
   inside [1/1.1, 1.1]; contradicts when some cell differs significantly with its geometric
   mean outside that band; otherwise cannot tell.
4. Shared-object contention erodes the gain: at their largest worker count > 1, confirms if
   any contended cell is slower on the free-threaded build, or if contended cells' log time
   ratios are significantly larger than independent-data cells' (Welch, p < 0.05); contradicts
   if significantly smaller; otherwise cannot tell.
5. Memory grows, VMS more than RSS: memory grows when the direction rule confirms for peak RSS
   or peak VMS over all cells; "VMS more than RSS" is the mean over every paired (cell, block)
   of log(VMS ratio) - log(RSS ratio), significantly above 0 (t-test, p < 0.05). Confirms when
   both hold; contradicts when both RSS and VMS contradict (memory shrinks) or the difference is
   significantly below 0; otherwise cannot tell.
6. Energy is proportional to time: the log-log slope rule of
   :mod:`gilwatt.analysis.energy_time`, on measured energy only. Energy from a model is a
   function of CPU utilisation and time, so its relation to time restates the utilisation:
   cannot tell (the slope is still shown).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gilwatt.analysis import stats
from gilwatt.analysis.compare import Comparison, StudyAnalysis
from gilwatt.analysis.energy_time import EnergyTime
from gilwatt.analysis.metrics import METRICS
from gilwatt.analysis.scaling import ScalingCurve

CONFIRMS = "confirms"
CONTRADICTS = "contradicts"
CANNOT_TELL = "cannot tell"

SEQUENTIAL = frozenset({"sequential"})
NUMPY = frozenset({"numpy"})
# The paper's categories: threads_numerical (factorial, matmul, nbody: independent data) and
# threads_objects (json, object lists: threads on shared objects); gilwatt's shared-state
# workloads are contended by design. Executors, read-only and mixed-io mix threads with
# processes or I/O, so they stay out of claims 2 and 4.
INDEPENDENT = frozenset({"threaded-numerical"})
CONTENDED = frozenset({"threaded-objects", "shared-state"})

PAPER_SEQUENTIAL_ENERGY = (1.13, 1.43)

CLAIMS = {
    1: "sequential code costs more time and energy on the free-threaded build (paper: +13–43% energy)",
    2: "independent-data threaded workloads run faster with threads on the free-threaded build than on the GIL build (paper: up to 4×)",
    3: "NumPy workloads are unchanged",
    4: "contention on shared objects erodes the gain, or reverses it",
    5: "memory grows on the free-threaded build, VMS more than RSS",
    6: "energy is proportional to time (power barely changes)",
}


@dataclass(frozen=True)
class Finding:
    number: int
    claim: str
    verdict: str  # CONFIRMS | CONTRADICTS | CANNOT_TELL
    why: str
    evidence: list[str] = field(default_factory=list)


def fmt_ratio(est: stats.RatioEstimate | None) -> str:
    if est is None:
        return "no pair"
    if est.t_low is None or est.t_high is None:
        return f"×{est.geomean:.3f} (n={est.n}, no CI)"
    return f"×{est.geomean:.3f} [{est.t_low:.3f}, {est.t_high:.3f}] (n={est.n})"


def direction_rule(comps: Sequence[Comparison], expected: int) -> tuple[str, str]:
    """The direction rule of the module docstring over one metric's cells."""
    informative = [c for c in comps if c.direction is not None]
    if not informative:
        return CANNOT_TELL, _no_info_reason(comps)
    went = sum(c.direction == expected for c in informative)
    against = sum(c.direction == -expected for c in informative)
    k = len(informative)
    if went and not against:
        return CONFIRMS, f"{went} of {_cells(k)} {_word(informative[0], expected)}"
    if against and not went:
        return CONTRADICTS, f"{against} of {_cells(k)} {_word(informative[0], -expected)}"
    if went and against:
        return CANNOT_TELL, (
            f"mixed: {went} of {_cells(k)} {_word(informative[0], expected)}, "
            f"{against} {_word(informative[0], -expected)}"
        )
    if all(
        stats.within_margin(c.estimate.t_low, c.estimate.t_high) for c in informative if c.estimate
    ):
        return CONTRADICTS, f"no detectable difference in {_cells(k)}, each CI within ±10%"
    return (
        CANNOT_TELL,
        f"no detectable difference in {_cells(k)} (CIs too wide to rule out an effect)",
    )


def _cells(k: int) -> str:
    return f"{k} cell" if k == 1 else f"{k} cells"


def _word(comp: Comparison, direction: int) -> str:
    spec = METRICS[comp.metric]
    return spec.lower if direction == stats.LOWER else spec.higher


def _no_info_reason(comps: Sequence[Comparison]) -> str:
    if not comps:
        return "no such cell in this study"
    if all(c.estimate is None for c in comps):
        return "no paired runs: every block lost one side"
    return "only 1 pair per cell (one block, or the others lost a side): no confidence interval"


def pooled(comps: Sequence[Comparison]) -> stats.RatioEstimate | None:
    """Geometric mean over cells (cells as units; t CI across cells), or the one cell's."""
    with_est = [c.estimate for c in comps if c.estimate is not None]
    if not with_est:
        return None
    if len(with_est) == 1:
        return with_est[0]
    return stats.ratio_estimate([math.exp(e.log_mean) for e in with_est])


def _select(
    analysis: StudyAnalysis,
    metric: str,
    families: frozenset[str],
    *,
    largest_n: bool = False,
    pair: tuple[str, str] = ("ft", "gil"),
) -> list[Comparison]:
    comps = [
        c
        for c in analysis.comparisons
        if (c.mode, c.base) == pair and c.metric == metric and c.cell.family in families
    ]
    if largest_n:
        comps = [c for c in comps if c.cell.workers > 1]
        top: dict[tuple[str, str], int] = {}
        for c in comps:
            key = (c.cell.workload, c.cell.params_json)
            top[key] = max(top.get(key, 0), c.cell.workers)
        comps = [c for c in comps if c.cell.workers == top[(c.cell.workload, c.cell.params_json)]]
    return comps


def _evidence_line(label: str, comps: Sequence[Comparison]) -> str:
    est = pooled(comps)
    cells = len(comps)
    return f"{label}: {fmt_ratio(est)} over {cells} cell{'s' if cells != 1 else ''}"


def _claim1(analysis: StudyAnalysis, estimate_note: str) -> Finding:
    time_c = _select(analysis, "time_s", SEQUENTIAL)
    energy_c = _select(analysis, "energy_j", SEQUENTIAL)
    if not time_c:
        return Finding(
            1, CLAIMS[1], CANNOT_TELL, "no sequential workload compared ft vs gil in this study"
        )
    tv, tw = direction_rule(time_c, stats.HIGHER)
    ev, ew = direction_rule(energy_c, stats.HIGHER)
    evidence = [
        _evidence_line("ft/gil time", time_c),
        _evidence_line(f"ft/gil energy{estimate_note}", energy_c),
    ]
    energy = pooled(energy_c)
    if energy is not None:
        low, high = PAPER_SEQUENTIAL_ENERGY
        where = (
            "inside"
            if low <= energy.geomean <= high
            else ("below" if energy.geomean < low else "above")
        )
        evidence.append(
            f"energy ratio {energy.geomean:.3f} is {where} the paper's {low:.2f}–{high:.2f}"
        )
    # With ft-gil runs, split the cost: the build itself (ft-gil/gil) vs the GIL's absence.
    overhead = _select(analysis, "time_s", SEQUENTIAL, pair=("ft-gil", "gil"))
    if overhead:
        evidence.append(_evidence_line("ft-gil/gil time (the build, GIL on)", overhead))
    why = f"time: {tw}; energy: {ew}"
    if tv == CONFIRMS and ev == CONFIRMS:
        verdict = CONFIRMS
    elif CONTRADICTS in (tv, ev) and CONFIRMS not in (tv, ev):
        verdict = CONTRADICTS
    else:
        verdict = CANNOT_TELL
    return Finding(1, CLAIMS[1], verdict, why, evidence)


def _claim2(analysis: StudyAnalysis, curves_note: list[str]) -> Finding:
    comps = _select(analysis, "time_s", INDEPENDENT, largest_n=True)
    if not comps:
        why = "no independent-data threaded workload ran with more than 1 worker on both builds"
        return Finding(2, CLAIMS[2], CANNOT_TELL, why, curves_note)
    verdict, why = direction_rule(comps, stats.LOWER)
    ns = sorted({c.cell.workers for c in comps})
    evidence = [_evidence_line(f"ft/gil time at N={','.join(map(str, ns))}", comps)]
    best = min(
        (c for c in comps if c.estimate),
        key=lambda c: c.estimate.geomean if c.estimate else 1.0,
        default=None,
    )
    if best is not None and best.estimate is not None:
        evidence.append(
            f"best: {best.cell.workload} N={best.cell.workers} {fmt_ratio(best.estimate)}"
        )
    return Finding(2, CLAIMS[2], verdict, why, evidence + curves_note)


def _claim3(analysis: StudyAnalysis) -> Finding:
    comps = _select(analysis, "time_s", NUMPY)
    informative = [c for c in comps if c.direction is not None and c.estimate is not None]
    evidence = [_evidence_line("ft/gil time", comps)] if comps else []
    if not informative:
        why = "no NumPy workload in this study" if not comps else _no_info_reason(comps)
        return Finding(3, CLAIMS[3], CANNOT_TELL, why, evidence)
    inside = [
        c
        for c in informative
        if c.estimate and stats.within_margin(c.estimate.t_low, c.estimate.t_high)
    ]
    if len(inside) == len(informative):
        return Finding(
            3, CLAIMS[3], CONFIRMS, f"every CI within ±10% ({_cells(len(inside))})", evidence
        )
    moved = [
        c
        for c in informative
        if c.direction != stats.NO_DIFFERENCE
        and c.estimate
        and not stats.within_margin(c.estimate.geomean, c.estimate.geomean)
    ]
    if moved:
        worst = max(moved, key=lambda c: abs(c.estimate.log_mean) if c.estimate else 0.0)
        why = f"{len(moved)} of {len(informative)} cells differ by more than 10%, e.g. {worst.cell.workload} {fmt_ratio(worst.estimate)}"
        return Finding(3, CLAIMS[3], CONTRADICTS, why, evidence)
    why = f"the CI reaches beyond ±10% in {len(informative) - len(inside)} of {_cells(len(informative))}"
    return Finding(3, CLAIMS[3], CANNOT_TELL, why, evidence)


def _log_pairs(comps: Sequence[Comparison]) -> np.ndarray:
    return np.log(
        np.asarray([r for c in comps for r in c.ratios.values() if r > 0], dtype=np.float64)
    )


def _claim4(analysis: StudyAnalysis) -> Finding:
    contended = _select(analysis, "time_s", CONTENDED, largest_n=True)
    independent = _select(analysis, "time_s", INDEPENDENT, largest_n=True)
    if not contended:
        why = "no shared-object workload ran with more than 1 worker on both builds"
        return Finding(4, CLAIMS[4], CANNOT_TELL, why)
    evidence = [_evidence_line("contended ft/gil time", contended)]
    if independent:
        evidence.append(_evidence_line("independent-data ft/gil time", independent))
    slower = [c for c in contended if c.direction == stats.HIGHER]
    if slower:
        names = ", ".join(sorted({c.cell.workload for c in slower}))
        return Finding(
            4,
            CLAIMS[4],
            CONFIRMS,
            f"{len(slower)} contended cell{'s' if len(slower) != 1 else ''} slower on ft ({names})",
            evidence,
        )
    diff = (
        stats.welch_log_difference(_log_pairs(contended), _log_pairs(independent))
        if independent
        else None
    )
    if diff is None:
        why = (
            "no independent-data workload to compare the gain with"
            if not independent
            else "too few pairs to compare contended with independent-data cells"
        )
        return Finding(4, CLAIMS[4], CANNOT_TELL, why, evidence)
    evidence.append(
        f"contended / independent ratio of ratios: ×{diff.ratio:.3f} [{diff.low:.3f}, {diff.high:.3f}], Welch p={diff.p_value:.3g}"
    )
    if diff.p_value < stats.ALPHA and diff.ratio > 1:
        return Finding(4, CLAIMS[4], CONFIRMS, "contended cells gain significantly less", evidence)
    if diff.p_value < stats.ALPHA and diff.ratio < 1:
        return Finding(
            4, CLAIMS[4], CONTRADICTS, "contended cells gain significantly more", evidence
        )
    return Finding(
        4,
        CLAIMS[4],
        CANNOT_TELL,
        "contended and independent-data gains not distinguishable",
        evidence,
    )


def _claim5(analysis: StudyAnalysis) -> Finding:
    every = frozenset(c.cell.family for c in analysis.comparisons)
    rss = _select(analysis, "peak_rss_bytes", every)
    vms = _select(analysis, "peak_vms_bytes", every)
    if not rss and not vms:
        return Finding(5, CLAIMS[5], CANNOT_TELL, "no ft vs gil comparison in this study")
    rv, rw = direction_rule(rss, stats.HIGHER)
    vv, vw = direction_rule(vms, stats.HIGHER)
    evidence = [_evidence_line("ft/gil peak RSS", rss), _evidence_line("ft/gil peak VMS", vms)]
    vms_by_cell = {c.cell.key: c.ratios for c in vms}
    excess = [
        math.log(vms_by_cell[c.cell.key][b]) - math.log(r)
        for c in rss
        for b, r in c.ratios.items()
        if c.cell.key in vms_by_cell
        and b in vms_by_cell[c.cell.key]
        and r > 0
        and vms_by_cell[c.cell.key][b] > 0
    ]
    diff = stats.ratio_estimate(np.exp(excess)) if excess else None
    evidence.append(f"VMS ratio / RSS ratio, all paired blocks: {fmt_ratio(diff)}")
    grows = CONFIRMS in (rv, vv)
    shrinks = rv == CONTRADICTS and vv == CONTRADICTS
    vms_more = diff is not None and diff.p_value is not None and diff.p_value < stats.ALPHA
    why = f"RSS: {rw}; VMS: {vw}"
    if shrinks or (vms_more and diff is not None and diff.log_mean < 0):
        return Finding(
            5,
            CLAIMS[5],
            CONTRADICTS,
            why + ("; RSS grows more than VMS" if not shrinks else ""),
            evidence,
        )
    if grows and vms_more and diff is not None and diff.log_mean > 0:
        return Finding(5, CLAIMS[5], CONFIRMS, why + "; VMS grows more than RSS", evidence)
    return Finding(
        5,
        CLAIMS[5],
        CANNOT_TELL,
        why + "; VMS vs RSS: " + ("significant" if vms_more else "not resolved"),
        evidence,
    )


def _claim6(et: EnergyTime, estimate_note: str) -> Finding:
    evidence = []
    if et.energy_vs_time is not None:
        f = et.energy_vs_time
        r2 = "n/a" if f.r2 is None else f"{f.r2:.3f}"
        evidence.append(
            f"energy = {f.intercept:.3g} J + {f.slope:.3g} W × time, R²={r2}, {et.n} runs{estimate_note}"
        )
    if et.power_vs_util is not None and et.util_range is not None:
        p = et.power_vs_util
        change = (
            ""
            if et.power_change is None
            else f"; power changes {et.power_change:+.1%} over that range"
        )
        evidence.append(
            f"power = {p.intercept:.3g} W + {p.slope:.3g} W/core × util, util {et.util_range[0]:.2f}–{et.util_range[1]:.2f}{change}"
        )
    verdict = {1: CONFIRMS, -1: CONTRADICTS}.get(et.proportional or 0, CANNOT_TELL)
    why = et.reason
    if et.estimate:  # a utilisation model makes power a function of utilisation by design
        verdict = CANNOT_TELL
        why = f"energy is modelled from CPU use, not measured (needs RAPL); on the model, {why}"
    return Finding(6, CLAIMS[6], verdict, why, evidence)


def scaling_evidence(
    curves: Sequence[ScalingCurve], families: frozenset[str] = INDEPENDENT
) -> list[str]:
    """Median speed-up at the largest worker count and Amdahl serial fraction, per mode."""
    lines = []
    for mode in ("gil", "ft-gil", "ft"):
        chosen = [c for c in curves if c.mode == mode and c.family in families and c.speedup]
        if not chosen:
            continue
        top = [c.speedup[-1] for c in chosen]
        serial = [c.amdahl.params["s"] for c in chosen if c.amdahl is not None]
        ns = sorted({c.workers[-1] for c in chosen})
        text = f"{mode} speed-up at N={','.join(map(str, ns))}: median {float(np.median(top)):.2f} over {len(chosen)} workload(s)"
        if serial:
            text += f", Amdahl serial fraction {float(np.median(serial)):.2f}"
        lines.append(text)
    return lines


def findings(
    analysis: StudyAnalysis, energy_time: EnergyTime, curves: Sequence[ScalingCurve] = ()
) -> list[Finding]:
    """The six claims, in order, each with its verdict, reason and evidence lines."""
    sources = ", ".join(energy_time.sources)
    note = f" (estimate: {sources})" if energy_time.estimate else ""
    if ("ft", "gil") not in analysis.pairs:
        why = "the study has no ft vs gil pair of modes"
        out = [Finding(i, CLAIMS[i], CANNOT_TELL, why) for i in range(1, 6)]
        return [*out, _claim6(energy_time, note)]
    return [
        _claim1(analysis, note),
        _claim2(analysis, scaling_evidence(curves)),
        _claim3(analysis),
        _claim4(analysis),
        _claim5(analysis),
        _claim6(energy_time, note),
    ]
