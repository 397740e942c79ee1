"""Everything ``gilwatt compare`` shows, computed once from a study store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gilwatt.analysis import stats
from gilwatt.analysis.compare import StudyAnalysis, analyse
from gilwatt.analysis.dataset import StudyData, load_study, open_readonly
from gilwatt.analysis.energy_time import EnergyTime, analyse_energy_time
from gilwatt.analysis.findings import Context, Finding, findings
from gilwatt.analysis.idle import NET, IdleBaseline, add_net_energy, read_idle
from gilwatt.analysis.metrics import METRICS, RATIO_COLUMNS
from gilwatt.analysis.quality import RunQuality, run_quality
from gilwatt.analysis.scaling import ScalingCurve, scaling_curves
from gilwatt.store import Store


@dataclass
class CompareResult:
    source: str  # the store path as given
    metric: str  # the metric the main tables lead with (a METRICS key)
    analysis: StudyAnalysis
    curves: list[ScalingCurve]
    energy_time: EnergyTime
    findings: list[Finding]
    context: Context
    quality: RunQuality | None = None  # analysis/quality.py; None: not read
    idle: list[IdleBaseline] = field(default_factory=list)  # analysis/idle.py

    @property
    def data(self) -> StudyData:
        return self.analysis.data


def compare_study(
    source: str | Path | Store,
    study_id: int | None = None,
    *,
    metric: str = "time_s",
    correction: str = "holm",
    n_resamples: int = stats.BOOTSTRAP_RESAMPLES,
    family_of: Callable[[str], str] | None = None,
) -> CompareResult:
    """Load a study and run every analysis on it."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    data = load_study(source, study_id, family_of=family_of)
    context = study_context(source, data.study.study_id)
    ratio_metrics = list(RATIO_COLUMNS) + ([metric] if metric not in RATIO_COLUMNS else [])
    idle = read_idle(source, data.study.study_id)
    if add_net_energy(data, idle) and NET not in ratio_metrics:
        ratio_metrics.append(NET)  # derived from the idle baselines, never stored
    analysis = analyse(data, metrics=ratio_metrics, correction=correction, n_resamples=n_resamples)
    curves = scaling_curves(analysis, usable_cpus=context.usable_cpus)
    et = analyse_energy_time(data.runs)
    name = source if isinstance(source, str | Path) else "(connection)"
    found = findings(analysis, et, curves, context=context)
    quality = run_quality(source, data.study.study_id)
    return CompareResult(str(name), metric, analysis, curves, et, found, context, quality, idle)


def study_context(source: str | Path | Store, study_id: int) -> Context:
    """Usable CPUs, interpreter versions and the alpha-spending plan's last look of a study,
    read from its store."""
    store = source if isinstance(source, Store) else open_readonly(source)
    try:
        ctx = store.study_context(study_id)
    finally:
        if store is not source:
            store.close()
    return Context(
        ctx.usable_cpus, ctx.affinity_cpus, ctx.cgroup_cpu_quota, ctx.versions,
        ctx.plan_alpha, ctx.plan_replicate, ctx.plan_spent,
    )  # fmt: skip
