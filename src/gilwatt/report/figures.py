"""Figures for papers (SVG, PNG or PDF) drawn with matplotlib, from the same data as the report.

matplotlib is the optional ``plot`` extra: it is imported only here and only when a figure is
made; figures are built on ``matplotlib.figure.Figure`` directly, so no pyplot state or GUI
backend is involved.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gilwatt.errors import ConfigError
from gilwatt.modes import Mode
from gilwatt.readback import Region, RunInfo, Timeline
from gilwatt.report import fmt
from gilwatt.report.charts import min_step_ns, rate, seconds
from gilwatt.report.study_charts import RATIO_METRICS  # the report's ratio charts' metrics
from gilwatt.report.svg import mode_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from gilwatt.analysis.result import StudyResult
    from gilwatt.analysis.scaling import ScalingCurve

KINDS = ("scaling", "ratios", "timeline", "energy-time")
FORMATS = ("svg", "png", "pdf")
MODE_MARKERS: dict[str, str] = {Mode.GIL: "o", Mode.FT: "D", Mode.FT_GIL: "s"}


def _figure(width_in: float, height_in: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    return fig


def require_matplotlib() -> None:
    """ConfigError (exit 2) naming the extra to install when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "gilwatt plot needs matplotlib, which is not installed.",
            hint="Install it with: pip install 'gilwatt[plot]'",
        ) from exc


def figure_format(out_path: str | os.PathLike[str]) -> str:
    suffix = Path(out_path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ConfigError(
            f"unknown figure format ({Path(out_path).name}).",
            hint=f"End the -o file name in one of: {', '.join('.' + f for f in FORMATS)}.",
        )
    return suffix


def timeline_figure(info: RunInfo, timeline: Timeline, regions: list[Region]) -> Figure:
    """CPU, memory and power of one run, stacked on one time axis, regions shaded."""
    step = min_step_ns(timeline, info.achieved_interval_ns, info.interval_ns)
    has_energy = (
        bool(info.energy_source)
        and len(timeline.energy_uj) > 1
        and bool(np.any(timeline.energy_uj))
    )
    rows = 3 if has_energy else 2
    fig = _figure(8, 2.0 * rows + 0.4)
    axes = fig.subplots(rows, 1, sharex=True)
    t, tree = rate(timeline.t_ns, timeline.cpu_ns, step, 1e-9)
    ax = axes[0]
    ax.plot(seconds(t, info.start_ns), tree, color=mode_color("gil"), lw=1, label="process tree")
    ax.axhline(
        info.host.logical_cpus,
        color="0.5",
        ls=":",
        lw=0.8,
        label=f"{info.host.logical_cpus} logical CPUs",
    )
    ax.set_ylabel("cores busy")
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax = axes[1]
    peak = float(max(np.max(timeline.rss_bytes, initial=0), np.max(timeline.uss_bytes, initial=0)))
    unit, div = fmt.byte_unit(peak)
    ax.plot(seconds(timeline.t_ns, info.start_ns), timeline.rss_bytes / div, lw=1, label="RSS")
    if len(timeline.mem_t_ns):
        ax.plot(
            seconds(timeline.mem_t_ns, info.start_ns), timeline.uss_bytes / div, lw=1, label="USS"
        )
    ax.set_ylabel(unit)
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    if has_energy:
        ax = axes[2]
        pt, power = rate(timeline.t_ns, timeline.energy_uj, step, 1e-6)
        label = "power" + (" (estimate)" if fmt.is_estimate(info.energy_source) else "")
        ax.plot(seconds(pt, info.start_ns), power, lw=1, color="#D55E00", label=label)
        ax.set_ylabel("W")
        ax.legend(
            loc="upper right", fontsize=7, frameon=False, title=info.energy_source, title_fontsize=7
        )
    for ax in axes:
        top = ax.dataLim.y1 if np.isfinite(ax.dataLim.y1) else 1.0
        ax.set_ylim(0, max(top * 1.12, 1e-9))
        for r in regions[:200]:
            ax.axvspan(
                (r.begin_ns - info.start_ns) / 1e9,
                (r.end_ns - info.start_ns) / 1e9,
                color="#f2b600",
                alpha=0.15,
                lw=0,
            )
    for r in regions[:12]:
        axes[0].annotate(
            r.name,
            ((r.begin_ns - info.start_ns) / 1e9, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            va="bottom",
            annotation_clip=False,
        )
    axes[-1].set_xlabel("time since start (s)")
    fig.suptitle(f"run {info.run_id}: {info.label or ' '.join(info.command)}"[:90], fontsize=9)
    return fig


def scaling_figure(view: StudyResult) -> Figure:
    """Speed-up against workers per mode, one panel per workload, with the fitted model."""
    from gilwatt.analysis.scaling import amdahl_speedup, usl_speedup

    groups: dict[tuple[str, str], list[ScalingCurve]] = defaultdict(list)
    for c in view.curves:
        if c.speedup:
            groups[(c.workload, c.params_label)].append(c)
    if not groups:
        raise ConfigError(
            "no workload in this study ran at more than one worker count with 1 worker.",
            hint="Run a study with a workers list that includes 1, e.g. the quick suite.",
        )
    n = len(groups)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = _figure(3.2 * cols, 2.7 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, ((workload, params), curves) in zip(axes, groups.items(), strict=False):
        n_max = max(max(c.workers) for c in curves)
        ns = np.linspace(1, n_max, 60)
        ax.plot([1, n_max], [1, n_max], color="0.6", ls="--", lw=0.8, label="ideal")
        for c in curves:
            color = mode_color(c.mode)
            ax.plot(
                c.workers,
                c.speedup,
                color=color,
                marker=MODE_MARKERS.get(c.mode, "o"),
                ms=4,
                lw=1,
                label=c.mode,
            )
            if c.usl is not None:
                ax.plot(
                    ns,
                    usl_speedup(ns, c.usl.params["sigma"], c.usl.params["kappa"]),
                    color=color,
                    ls=":",
                    lw=1,
                )
            elif c.amdahl is not None:
                ax.plot(ns, amdahl_speedup(ns, c.amdahl.params["s"]), color=color, ls=":", lw=1)
        ax.set_title(workload + (f"\n{params}" if params else ""), fontsize=8)
        ax.set_xlabel("workers")
        ax.set_ylabel("speed-up")
        ax.set_xticks(sorted({w for c in curves for w in c.workers}))
        top = max(max(c.speedup) for c in curves)
        ax.set_ylim(0, max(top * 1.2, 1.5))
        ax.legend(fontsize=7, frameon=False)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig


def ratios_figure(view: StudyResult) -> Figure:
    """Forest plot: each mode ÷ GIL build per cell, for time, energy, power, RSS and VMS."""
    pairs = [(m, b) for m, b in view.analysis.pairs if b == "gil"]
    cells = view.analysis.cells
    if not pairs or not cells:
        raise ConfigError(
            "no mode to compare against the GIL build in this study.",
            hint="Run a study with modes gil and ft.",
        )
    fig = _figure(2.0 * len(RATIO_METRICS) + 2.2, 0.28 * len(cells) + 1.2)
    axes = fig.subplots(1, len(RATIO_METRICS), sharey=True)
    labels = [f"{cs.cell.workload} ×{cs.cell.workers}" for cs in cells]
    for ax, (metric, title) in zip(axes, RATIO_METRICS, strict=True):
        for k, (mode, base) in enumerate(pairs):
            offset = (k - (len(pairs) - 1) / 2) * 0.25
            for i, cs in enumerate(cells):
                comp = view.analysis.get(cs.cell, mode, base, metric)
                if comp is None or comp.estimate is None:
                    continue
                est = comp.estimate
                y = i + offset
                if est.has_ci:
                    assert est.t_low is not None and est.t_high is not None
                    ax.plot([est.t_low, est.t_high], [y, y], color=mode_color(mode), lw=1)
                ax.plot(
                    [est.geomean],
                    [y],
                    marker=MODE_MARKERS.get(mode, "o"),
                    ms=4,
                    color=mode_color(mode),
                    mfc=mode_color(mode) if est.has_ci else "white",
                    ls="none",
                    label=f"{mode} ÷ {base}" if i == 0 else None,
                )
        ax.axvline(1.0, color="0.5", ls="--", lw=0.8)
        _log_ratio_axis(ax)
        ax.set_title(f"{title} ÷ gil", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_yticks(range(len(cells)), labels, fontsize=7)
    axes[0].invert_yaxis()
    axes[-1].legend(fontsize=7, frameon=False, loc="lower right")
    return fig


def _log_ratio_axis(ax: Axes) -> None:
    """A log x axis with plain tick labels (0.5, 1, 2) chosen like the HTML report's."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    from gilwatt.report.row_chart import thin
    from gilwatt.report.svg import fmt_num, log_ticks

    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    lo, hi = min(lo, 0.95), max(hi, 1.05)
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(thin(log_ticks(lo, hi), 4, keep=1.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_num(v, 2)))
    ax.xaxis.set_minor_formatter(NullFormatter())


def energy_time_figure(view: StudyResult) -> Figure:
    """Energy against time for every valid run, with the least-squares line."""
    runs = [
        r
        for r in view.data.valid_runs
        if (r.metrics.get("time_s") or 0) > 0 and (r.metrics.get("energy_j") or 0) > 0
    ]
    if not runs:
        raise ConfigError(
            "no valid run of this study has an energy figure.",
            hint="Energy needs RAPL or the CPU-time model; see 'gilwatt profile --help'.",
        )
    fig = _figure(5.5, 4.2)
    ax = fig.subplots()
    for mode in view.data.modes:
        pts = [(r.metrics["time_s"], r.metrics["energy_j"]) for r in runs if r.mode == mode]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.scatter(
                xs,
                ys,
                s=14,
                color=mode_color(mode),
                marker=MODE_MARKERS.get(mode, "o"),
                label=mode,
                alpha=0.85,
            )
    fit = view.energy_time.energy_vs_time
    if fit is not None:
        times = [float(r.metrics["time_s"] or 0) for r in runs]
        xs_line = np.linspace(0, max(times) * 1.05, 50)
        r2 = "" if fit.r2 is None else f", R²={fit.r2:.3f}"
        ax.plot(
            xs_line,
            fit.intercept + fit.slope * xs_line,
            color="0.25",
            ls="--",
            lw=1,
            label=f"E = {fit.intercept:.3g} J + {fit.slope:.3g} W·t{r2}",
        )
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("region time (s)")
    estimate = " (estimate)" if view.energy_time.estimate else ""
    ax.set_ylabel(f"energy (J){estimate}")
    ax.legend(fontsize=7, frameon=False)
    return fig


def save(fig: Figure, out_path: str | os.PathLike[str]) -> Path:
    from gilwatt.report.html import check_writable

    kind = figure_format(out_path)
    path = check_writable(out_path)
    try:
        fig.savefig(
            path, format=kind, dpi=200 if kind == "png" else "figure", metadata=_metadata(kind)
        )
    except OSError as exc:
        raise ConfigError(
            f"cannot write figure ({path}): {exc.strerror or exc}.",
            hint="Choose a writable path with -o.",
        ) from exc
    return path


def _metadata(kind: str) -> dict[str, str | None]:
    # Reproducible files: no creation date in SVG/PDF.
    if kind == "svg":
        return {"Date": None}
    if kind == "pdf":
        return {"CreationDate": None}
    return {}
