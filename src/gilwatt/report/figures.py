"""Figures for papers (SVG, PNG or PDF) drawn with matplotlib, from the same data as the report.

matplotlib is the optional ``plot`` extra: it is imported only here and only when a figure is
made; figures are built on ``matplotlib.figure.Figure`` directly, so no pyplot state or GUI
backend is involved.
"""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gilwatt.errors import ConfigError
from gilwatt.readback import Region, RunInfo, Timeline
from gilwatt.report import fmt
from gilwatt.report.charts import min_step_ns, rate, seconds
from gilwatt.report.chartspec import Chart, LegendItem, RowPlot, XYPlot, mode_style
from gilwatt.report.svg import has_bar

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from gilwatt.analysis.result import StudyResult

KINDS = ("scaling", "ratios", "timeline", "energy-time")
FORMATS = ("svg", "png", "pdf")
MARKERS: dict[str, str] = {"circle": "o", "diamond": "D", "square": "s"}  # chartspec shapes


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
    ax.plot(
        seconds(t, info.start_ns), tree, color=mode_style("gil").color, lw=1, label="process tree"
    )
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


def scaling_figure(result: StudyResult) -> Figure:
    """Speed-up against workers per mode, one panel per workload, with the fitted model."""
    from gilwatt.report.study_charts import speedup_chart, speedup_groups

    groups = [(t, [c for c in g if c.speedup]) for t, g in speedup_groups(result)]
    charts = [speedup_chart(result, t, g, f"speedup-{i}") for i, (t, g) in enumerate(groups) if g]
    if not charts:
        raise ConfigError(
            "no workload in this study ran at more than one worker count with 1 worker.",
            hint="Run a study with a workers list that includes 1, e.g. the quick suite.",
        )
    n = len(charts)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = _figure(3.2 * cols, 2.7 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, chart in zip(axes, charts, strict=False):
        assert isinstance(chart.plot, XYPlot)
        draw_xy(ax, chart.plot)
        ax.set_title(chart.title.removesuffix(": speed-up"), fontsize=8)
        ax.legend(fontsize=7, frameon=False)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig


def ratios_figure(result: StudyResult) -> Figure:
    """Forest plot: each mode ÷ GIL build per cell, for time, energy, power, RSS and VMS."""
    from gilwatt.report.study_charts import forest_chart

    cells = result.analysis.cells
    chart = forest_chart(result, cells, "ratios") if cells else None
    if chart is None:
        raise ConfigError(
            "no mode to compare against the GIL build in this study.",
            hint="Run a study with modes gil and ft.",
        )
    return chart_figure(chart)


def energy_time_figure(result: StudyResult) -> Figure:
    """Energy against time for every valid run, with the least-squares line."""
    from gilwatt.report.energy_chart import energy_time_chart

    chart = energy_time_chart(result)
    if chart is None:
        raise ConfigError(
            "no valid run of this study has an energy figure.",
            hint="Energy needs RAPL or the CPU-time model; see 'gilwatt profile --help'.",
        )
    return chart_figure(chart)


# --- the matplotlib backend of chartspec ------------------------------------------------------


def chart_figure(chart: Chart) -> Figure:
    """One chart description as a figure: title, plot, legend, notes and the estimate caveat."""
    from matplotlib.lines import Line2D

    notes = [*chart.notes, *([f"estimate: {chart.estimate}"] if chart.estimate else [])]
    wrapped = [textwrap.fill(n, 110) for n in notes]
    note_lines = sum(w.count("\n") + 1 for w in wrapped)
    if isinstance(chart.plot, RowPlot):
        k = max(len(chart.plot.panels), 1)
        fig = _figure(2.0 * k + 2.2, 0.28 * len(chart.plot.rows) + 1.4 + 0.14 * note_lines)
        axes = list(np.atleast_1d(fig.subplots(1, k, sharey=True)))
        draw_rows(axes, chart.plot)
        legend_ax = axes[-1]
    else:
        fig = _figure(6.0, 4.4 + 0.14 * note_lines)
        legend_ax = fig.subplots()
        draw_xy(legend_ax, chart.plot)
    handles = [
        Line2D([], [], color=i.color, ls="--" if i.style == "dash" else "none", marker=_marker(i))
        for i in chart.legend
    ]
    legend_ax.legend(handles, [i.label for i in chart.legend], fontsize=7, frameon=False)
    fig.suptitle(chart.title, fontsize=9)
    if wrapped:
        fig.supxlabel("\n".join(wrapped), fontsize=6, ha="left", x=0.01, color="0.3")
    return fig


def draw_xy(ax: Axes, plot: XYPlot) -> None:
    """Lines, marks with error bars, reference lines, axis labels and fixed ticks."""
    for line in plot.lines:
        ax.plot(
            line.xs,
            line.ys,
            color=line.color,
            ls="--" if line.dashed else "-",
            lw=line.width,
            label=line.label,
        )
    for p in plot.points:
        look = mode_style(p.mode)
        if has_bar(p.lo, p.hi):
            assert p.lo is not None and p.hi is not None
            ax.plot([p.x, p.x], [p.lo, p.hi], color=look.color, lw=1)
        ax.plot([p.x], [p.y], marker=MARKERS[look.shape], ms=p.radius * 1.2, color=look.color)
    for y, label in plot.hlines:
        ax.axhline(y, color="0.5", ls=":", lw=0.8, label=label.split(":")[0])
    if plot.log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlim(*plot.x_domain)
    ax.set_ylim(*plot.y_domain)
    if plot.x_ticks:
        ax.set_xticks(list(plot.x_ticks), list(plot.x_ticks.values()))
    ax.set_xlabel(plot.x_label)
    ax.set_ylabel(plot.y_label)


def draw_rows(axes: list[Axes], plot: RowPlot) -> None:
    """One panel per axis sharing the rows: marks with their intervals and the reference line."""
    for ax, panel in zip(axes, plot.panels, strict=True):
        for p in panel.points:
            look = mode_style(p.mode)
            y = p.row + p.offset
            if has_bar(p.lo, p.hi):
                assert p.lo is not None and p.hi is not None
                ax.plot([p.lo, p.hi], [y, y], color=look.color, lw=1)
            ax.plot(
                [p.value],
                [y],
                marker=MARKERS[look.shape],
                ms=4,
                color=look.color,
                mfc="white" if p.hollow else look.color,
                ls="none",
            )
        if panel.ref is not None:
            ax.axvline(panel.ref, color="0.5", ls="--", lw=0.8)
        if panel.log:
            _log_ratio_axis(ax)
        elif panel.zero:
            ax.set_xlim(left=0)
        if not panel.points:
            ax.text(0.5, 0.5, panel.empty_note, transform=ax.transAxes, ha="center", fontsize=7)
        ax.set_title(panel.title, fontsize=8)
        ax.tick_params(labelsize=7)
    subs = plot.sublabels or [""] * len(plot.rows)
    labels = [f"{row} {sub}".strip() for row, sub in zip(plot.rows, subs, strict=True)]
    axes[0].set_yticks(range(len(plot.rows)), labels, fontsize=7)
    axes[0].invert_yaxis()
    for row in plot.separators:
        for ax in axes:
            ax.axhline(row - 0.5, color="0.8", lw=0.6)


def _marker(item: LegendItem) -> str:
    return "o" if item.style == "dot" else ""


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
