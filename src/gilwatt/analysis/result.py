"""One analysis pipeline: everything ``compare``, ``report`` and ``plot`` show, computed once.

:func:`analyse_study` reads a study, its context (usable CPUs, interpreter versions), its hosts
and interpreters through one store connection, then :func:`analyse_data` runs ratios, scaling,
energy against time, the findings and the gaps. Every renderer (the compare tables, the
end-of-study summary, the cluster view, the HTML report and the matplotlib figures) draws that
one :class:`StudyResult`, so they cannot disagree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gilwatt.analysis import stats
from gilwatt.analysis.compare import Cell, StudyAnalysis, analyse
from gilwatt.analysis.dataset import StudyData, load_study, open_readonly
from gilwatt.analysis.energy_time import EnergyTime, analyse_energy_time
from gilwatt.analysis.findings import Context, Finding, findings
from gilwatt.analysis.idle import NET, IdleBaseline, add_net_energy, read_idle
from gilwatt.analysis.metrics import METRICS, RATIO_COLUMNS
from gilwatt.analysis.quality import RunQuality, run_quality
from gilwatt.analysis.scaling import ScalingCurve, scaling_curves
from gilwatt.readback import HostInfo, InterpreterInfo
from gilwatt.store import Store


@dataclass
class StudyResult:
    source: str  # the store path as given
    metric: str  # the metric the main tables lead with (a METRICS key)
    analysis: StudyAnalysis
    curves: list[ScalingCurve]
    energy_time: EnergyTime
    findings: list[Finding]
    context: Context
    gaps: list[str] = field(default_factory=list)  # planned cells and modes with no valid run
    hosts: list[HostInfo] = field(default_factory=list)
    interpreters: dict[str, InterpreterInfo] = field(default_factory=dict)  # mode -> interpreter
    quality: RunQuality | None = None  # analysis/quality.py; None: not read
    idle: list[IdleBaseline] = field(default_factory=list)  # analysis/idle.py

    @property
    def data(self) -> StudyData:
        return self.analysis.data


CompareResult = StudyResult  # the name before the report shared this pipeline


def analyse_study(
    source: str | Path | Store,
    study_id: int | None = None,
    *,
    metric: str = "time_s",
    correction: str = "holm",
    n_resamples: int = stats.BOOTSTRAP_RESAMPLES,
    family_of: Callable[[str], str] | None = None,
) -> StudyResult:
    """Load study ``study_id`` (the newest when None) from a store and run every analysis."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    store = source if isinstance(source, Store) else open_readonly(source)
    try:
        data = load_study(store, study_id, family_of=family_of)
        context = _context(store, data.study.study_id)
        hosts, interpreters = _hosts_and_interpreters(store, data)
        idle = read_idle(store, data.study.study_id)
        quality = run_quality(store, data.study.study_id)
    finally:
        if store is not source:
            store.close()
    name = str(source) if isinstance(source, str | Path) else (store.path or "(connection)")
    return analyse_data(
        data,
        context,
        metric=metric,
        correction=correction,
        n_resamples=n_resamples,
        source=name,
        hosts=hosts,
        interpreters=interpreters,
        idle=idle,
        quality=quality,
    )


compare_study = analyse_study  # the name ``gilwatt compare`` knew it by


def analyse_data(
    data: StudyData,
    context: Context | None = None,
    *,
    metric: str = "time_s",
    correction: str = "holm",
    n_resamples: int = stats.BOOTSTRAP_RESAMPLES,
    source: str = "",
    hosts: list[HostInfo] | None = None,
    interpreters: dict[str, InterpreterInfo] | None = None,
    idle: list[IdleBaseline] | None = None,
    quality: RunQuality | None = None,
) -> StudyResult:
    """Ratios, then scaling, energy against time, findings and gaps of already-loaded runs."""
    context = context or Context()
    ratio_metrics = list(RATIO_COLUMNS) + ([metric] if metric not in RATIO_COLUMNS else [])
    idle = idle or []
    if add_net_energy(data, idle) and NET not in ratio_metrics:
        ratio_metrics.append(NET)  # derived from the idle baselines, never stored
    analysis = analyse(data, metrics=ratio_metrics, correction=correction, n_resamples=n_resamples)
    curves = scaling_curves(analysis, usable_cpus=context.usable_cpus)
    et = analyse_energy_time(data.runs)
    found = findings(analysis, et, curves, context=context)
    return StudyResult(
        source,
        metric,
        analysis,
        curves,
        et,
        found,
        context,
        find_gaps(data),
        hosts or [],
        interpreters or {},
        quality,
        idle,
    )


def study_context(source: str | Path | Store, study_id: int) -> Context:
    """Usable CPUs, interpreter versions and the alpha-spending plan's last look of a study,
    read from its store."""
    store = source if isinstance(source, Store) else open_readonly(source)
    try:
        return _context(store, study_id)
    finally:
        if store is not source:
            store.close()


def _context(store: Store, study_id: int) -> Context:
    ctx = store.study_context(study_id)
    return Context(
        ctx.usable_cpus, ctx.affinity_cpus, ctx.cgroup_cpu_quota, ctx.versions,
        ctx.plan_alpha, ctx.plan_replicate, ctx.plan_spent,
    )  # fmt: skip


def _hosts_and_interpreters(
    store: Store, data: StudyData
) -> tuple[list[HostInfo], dict[str, InterpreterInfo]]:
    hosts: dict[str, HostInfo] = {}
    interpreters: dict[str, InterpreterInfo] = {}
    mode_of = {r.run_id: r.mode for r in data.runs if r.run_id is not None}
    for info in store.runs(data.study.study_id):
        hosts.setdefault(info.host.hostname, info.host)
        mode = mode_of.get(info.run_id)
        if mode is not None and info.interpreter is not None:
            interpreters.setdefault(mode, info.interpreter)
    return list(hosts.values()), interpreters


def find_gaps(data: StudyData) -> list[str]:
    """Cells and modes that the study planned but has no valid run for, and why."""
    by_cell: dict[tuple[str, str, int], dict[str, list[str]]] = defaultdict(
        lambda: defaultdict(list)
    )
    valid: Counter[tuple[str, str, int, str]] = Counter()
    for run in data.runs:
        by_cell[run.cell][run.mode].append(run.exclusion or "valid")
        if run.valid:
            valid[(*run.cell, run.mode)] += 1
    gaps = []
    for (workload, params, workers), modes in by_cell.items():
        for mode in data.modes:
            if valid[(workload, params, workers, mode)]:
                continue
            reasons = Counter(_short(r) for r in modes.get(mode, []))
            why = ", ".join(f"{n}× {r}" for r, n in reasons.most_common()) or "not planned"
            label = _cell_label(workload, params, workers)
            gaps.append(f"{label}, mode {mode}: no valid run ({why})")
    return gaps


def _short(reason: str) -> str:
    return reason if len(reason) <= 80 else reason[:79] + "…"


def _cell_label(workload: str, params_json: str, workers: int) -> str:
    params = Cell(0, "", workload, params_json, workers).params_label
    return f"{workload}" + (f" [{params}]" if params else "") + f" × {workers} workers"
