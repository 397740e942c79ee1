"""What a study report shows, computed by :mod:`gilwatt.analysis` from a study's runs.

The report adds no statistics of its own: ratios and their intervals, scaling fits, the
energy-time regressions and the findings all come from the analysis modules, so the report
and ``gilwatt compare`` always agree. Only presentation summaries (which cells are missing)
are worked out here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gilwatt.readback import HostInfo, InterpreterInfo

if TYPE_CHECKING:
    from gilwatt.analysis.compare import StudyAnalysis
    from gilwatt.analysis.dataset import StudyData
    from gilwatt.analysis.energy_time import EnergyTime
    from gilwatt.analysis.findings import Context, Finding
    from gilwatt.analysis.idle import IdleBaseline
    from gilwatt.analysis.quality import RunQuality
    from gilwatt.analysis.scaling import ScalingCurve
    from gilwatt.store import Store


@dataclass
class StudyView:
    data: StudyData
    analysis: StudyAnalysis
    curves: list[ScalingCurve]
    energy_time: EnergyTime
    findings: list[Finding]
    hosts: list[HostInfo] = field(default_factory=list)
    interpreters: dict[str, InterpreterInfo] = field(default_factory=dict)  # mode -> interpreter
    source: str = ""  # where the study was read from
    gaps: list[str] = field(default_factory=list)
    context: Context | None = None
    quality: RunQuality | None = None  # analysis/quality.py
    idle: list[IdleBaseline] = field(default_factory=list)  # analysis/idle.py


def build_study_view(
    data: StudyData,
    *,
    hosts: list[HostInfo] | None = None,
    interpreters: dict[str, InterpreterInfo] | None = None,
    source: str = "",
    context: Context | None = None,
) -> StudyView:
    """Run the analyses over ``data`` and collect what the page needs."""
    from gilwatt.analysis.compare import analyse
    from gilwatt.analysis.energy_time import analyse_energy_time
    from gilwatt.analysis.findings import Context, findings
    from gilwatt.analysis.scaling import scaling_curves

    context = context or Context()
    analysis = analyse(data)
    curves = scaling_curves(analysis, usable_cpus=context.usable_cpus)
    energy_time = analyse_energy_time(data.runs)
    return StudyView(
        data=data,
        analysis=analysis,
        curves=curves,
        energy_time=energy_time,
        findings=findings(analysis, energy_time, curves, context=context),
        hosts=hosts or [],
        interpreters=interpreters or {},
        source=source,
        gaps=find_gaps(data),
        context=context,
    )


def load_study_view(store: Store, study_id: int | None, *, store_path: str = "") -> StudyView:
    """Read study ``study_id`` (the newest when None) from an open store and analyse it."""
    from gilwatt.analysis.dataset import load_study
    from gilwatt.analysis.idle import add_net_energy, read_idle

    data = load_study(store, study_id)
    idle = read_idle(store, data.study.study_id)
    add_net_energy(data, idle)  # derived, never stored
    hosts: dict[str, HostInfo] = {}
    interpreters: dict[str, InterpreterInfo] = {}
    mode_of = {r.run_id: r.mode for r in data.runs if r.run_id is not None}
    for info in store.runs(data.study.study_id):
        hosts.setdefault(info.host.hostname, info.host)
        mode = mode_of.get(info.run_id)
        if mode is not None and info.interpreter is not None:
            interpreters.setdefault(mode, info.interpreter)
    from gilwatt.analysis.quality import run_quality
    from gilwatt.analysis.result import study_context

    context = study_context(store, data.study.study_id)
    view = build_study_view(
        data,
        hosts=list(hosts.values()),
        interpreters=interpreters,
        source=store_path,
        context=context,
    )
    view.quality = run_quality(store, data.study.study_id)
    view.idle = idle
    return view


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
    from gilwatt.analysis.compare import Cell

    params = Cell(0, "", workload, params_json, workers).params_label
    return f"{workload}" + (f" [{params}]" if params else "") + f" × {workers} workers"
