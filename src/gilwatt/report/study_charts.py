"""Study charts: forest plots of ratios, scaling with fitted models, memory per mode, and
energy against time (report/energy_chart.py). Each is described once (a :class:`~gilwatt.report.chartspec.Chart`) from
the StudyResult; the report draws it in SVG, ``gilwatt plot`` with matplotlib."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from gilwatt.analysis.result import StudyResult
from gilwatt.report import escape, fmt
from gilwatt.report.chart_svg import add_chart
from gilwatt.report.chartspec import (
    ESTIMATE_CAVEAT,
    Chart,
    LegendItem,
    Line,
    Point,
    RowPanel,
    RowPlot,
    RowPoint,
    XYPlot,
    mode_legend,
    mode_style,
)
from gilwatt.report.html import Page
from gilwatt.report.svg import padded_domain

if TYPE_CHECKING:
    from gilwatt.analysis.compare import Cell, CellStats
    from gilwatt.analysis.scaling import Fit, ScalingCurve

BASELINE = "gil"
RATIO_METRICS = (
    ("time_s", "time"),
    ("energy_j", "energy"),
    ("power_w", "power"),
    ("peak_rss_bytes", "peak RSS"),
    ("peak_vms_bytes", "peak VMS"),
)
MEMORY_METRICS = (
    ("peak_rss_bytes", "peak RSS (MiB)"),
    ("peak_vms_bytes", "peak VMS (MiB)"),
    ("peak_uss_bytes", "peak USS (MiB)"),
)
IDEAL = "#999999"  # the S = N line
MAX_ROW_LABEL = 36


def short_labels(cells: Iterable[Cell]) -> dict[tuple[str, str], str]:
    """(workload, params_json) -> the workload and only the parameters that vary between its
    cells (``executors · variant=thread``); the fixed ones are listed once per family."""
    params: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
    for cell in cells:
        params[cell.workload][cell.params_json] = _params(cell.params_json)
    labels = {}
    for workload, sets in params.items():
        keys = {k for p in sets.values() for k in p}
        varying = [k for k in sorted(keys) if len({repr(p.get(k)) for p in sets.values()}) > 1]
        for params_json, p in sets.items():
            shown = " ".join(f"{k}={p.get(k)}" for k in varying)
            label = workload + (f" · {shown}" if shown else "")
            labels[(workload, params_json)] = (
                label if len(label) <= MAX_ROW_LABEL else label[: MAX_ROW_LABEL - 1] + "…"
            )
    return labels


def fixed_params(cells: Iterable[Cell]) -> dict[str, str]:
    """workload -> its parameters that are the same in every cell, as ``k=v k=v``."""
    sets: dict[str, list[dict[str, object]]] = defaultdict(list)
    for cell in cells:
        sets[cell.workload].append(_params(cell.params_json))
    out = {}
    for workload, ps in sets.items():
        same = {k: v for k, v in ps[0].items() if all(repr(p.get(k)) == repr(v) for p in ps)}
        out[workload] = " ".join(f"{k}={v}" for k, v in same.items())
    return out


def _params(params_json: str) -> dict[str, object]:
    try:
        value = json.loads(params_json)
    except ValueError:
        return {"params": params_json}
    return value if isinstance(value, dict) else {"params": value}


def forest(page: Page, view: StudyResult, family: str, cells: list[CellStats]) -> None:
    chart = forest_chart(view, cells, page.new_id("forest", family))
    if chart is None:
        page.add(
            f'<p class="empty">No mode to compare against the GIL build ({escape.text(BASELINE)}) in this study.</p>'
        )
        return
    add_chart(page, chart)


def forest_chart(result: StudyResult, cells: list[CellStats], chart_id: str) -> Chart | None:
    """Each mode ÷ the GIL build per cell, one panel per ratio metric (None: no such pair)."""
    pairs = [(m, b) for m, b in result.analysis.pairs if b == BASELINE]
    if not pairs:
        return None
    labels = short_labels(cs.cell for cs in cells)
    rows = [labels[(cs.cell.workload, cs.cell.params_json)] for cs in cells]
    panels = []
    for metric, title in RATIO_METRICS:
        panel = RowPanel(f"{title} ÷ {BASELINE}", log=True, ref=1.0, empty_note="no pairs")
        for r, cs in enumerate(cells):
            for k, (mode, base) in enumerate(pairs):
                comp = result.analysis.get(cs.cell, mode, base, metric)
                if comp is None or comp.estimate is None:
                    continue
                est = comp.estimate
                offset = (k - (len(pairs) - 1) / 2) * 0.3
                ci = (
                    f"95% CI {fmt.ratio(est.t_low)}–{fmt.ratio(est.t_high)}"
                    if est.has_ci
                    else "no interval (1 pair)"
                )
                p = "" if comp.adjusted_p is None else f", adjusted p {comp.adjusted_p:.3g}"
                tip = (
                    f"{rows[r]} ×{cs.cell.workers} · {title}: {mode}/{base} = {fmt.ratio(est.geomean)}\n"
                    f"{ci}, {est.n} pairs{p}\n{comp.verdict}"
                )
                panel.points.append(
                    RowPoint(
                        r,
                        est.geomean,
                        est.t_low,
                        est.t_high,
                        mode,
                        tip,
                        offset,
                        hollow=not est.has_ci,
                    )
                )
        panels.append(panel)
    note = (
        "Geometric mean of ratios paired by block, with the 95% t interval in log space; "
        "hollow marks have one pair and no interval. Left of the dashed line: lower than on the GIL build."
    )
    return Chart(
        chart_id,
        "Ratios against the GIL build",
        RowPlot(rows, panels, [f"×{cs.cell.workers}" for cs in cells], _separators(cells)),
        [LegendItem(f"{m} ÷ {b}", mode_style(m).color) for m, b in pairs],
        [note],
        estimate=ESTIMATE_CAVEAT if result.data.energy_is_estimate else "",
    )


def _separators(cells: list[CellStats]) -> list[int]:
    return [i for i in range(1, len(cells)) if cells[i].cell.workload != cells[i - 1].cell.workload]


def scaling(page: Page, view: StudyResult, family: str) -> None:
    curves = [c for c in view.curves if c.family == family]
    if not curves:
        page.add(
            '<p class="empty">No workload of this family ran at more than one worker count.</p>'
        )
        return
    page.add('<h3>Scaling</h3><div class="grid2">')
    for title, group in speedup_groups(view, family):
        add_chart(page, speedup_chart(view, title, group, page.new_id("speedup", title)))
        add_chart(page, time_chart(title, group, page.new_id("time", title)))
    page.add("</div>")


def speedup_groups(
    result: StudyResult, family: str | None = None
) -> list[tuple[str, list[ScalingCurve]]]:
    """(row label, the curves of one workload and parameters) with a speed-up, per family."""
    curves = [c for c in result.curves if family is None or c.family == family]
    cells = [cs.cell for cs in result.analysis.cells if family is None or cs.cell.family == family]
    labels = short_labels(cells)
    groups: dict[tuple[str, str], list[ScalingCurve]] = defaultdict(list)
    for c in curves:
        groups[(c.workload, c.params_json)].append(c)
    return [(labels.get(key, key[0]), group) for key, group in groups.items()]


def _fit_curve(
    fit_usl: Fit | None, fit_amdahl: Fit | None, n_max: int
) -> tuple[str, list[float], list[float]] | None:
    import numpy as np

    from gilwatt.analysis.scaling import amdahl_speedup, usl_speedup

    ns = np.linspace(1.0, float(n_max), 60)
    if fit_usl is not None:
        ys = usl_speedup(ns, fit_usl.params["sigma"], fit_usl.params["kappa"])
        return "USL", ns.tolist(), list(map(float, ys))
    if fit_amdahl is not None:
        return "Amdahl", ns.tolist(), list(map(float, amdahl_speedup(ns, fit_amdahl.params["s"])))
    return None


def _fit_text(c: ScalingCurve) -> str:
    parts = []
    if c.usl is not None:
        peak = ""
        if c.usl_peak_workers and 1 < c.usl_peak_workers <= 8 * max(c.workers):
            peak = f", peak at N≈{c.usl_peak_workers:.1f}"
        kappa = c.usl.params["kappa"]
        kappa_text = "≈0" if kappa < 1e-6 else f"={kappa:.3g}"
        parts.append(f"USL σ={c.usl.params['sigma']:.3g} κ{kappa_text}{peak}")
    if c.amdahl is not None:
        parts.append(f"Amdahl serial fraction {c.amdahl.params['s']:.3f}")
    if c.note:
        parts.append(c.note)
    return f"{c.mode}: " + ("; ".join(parts) if parts else "no fit")


def speedup_chart(
    result: StudyResult, title: str, group: list[ScalingCurve], chart_id: str
) -> Chart:
    """Speed-up against workers per mode, the fitted model, ideal and the host's CPUs."""
    n_max = max(max(c.workers) for c in group)
    fits = []
    ys: list[float] = []
    for c in group:
        ys += c.speedup
        fit = _fit_curve(c.usl, c.amdahl, n_max)
        if fit is not None:
            fits.append((c, fit))
            ys += fit[2]
    plot = XYPlot(
        "workers",
        "speed-up vs 1 worker",
        (0.7, n_max + 0.3),
        padded_domain([*ys, 1.0], zero=True),
        x_ticks={float(w): str(w) for c in group for w in c.workers},
    )
    plot.lines.append(Line("ideal", [1.0, float(n_max)], [1.0, float(n_max)], IDEAL, dashed=True))
    for c, (model, xs, fys) in fits:
        color = mode_style(c.mode).color
        plot.lines.append(Line(f"{c.mode} {model} fit", xs, fys, color, dashed=True, width=1.2))
    for c in group:
        if not c.speedup:
            continue
        style = mode_style(c.mode)
        plot.lines.append(Line(c.mode, [float(w) for w in c.workers], c.speedup, style.color))
        for w, s, t, e in zip(c.workers, c.speedup, c.median_time_s, c.efficiency, strict=True):
            tip = f"{c.mode}, {w} workers: speed-up {s:.2f}× (efficiency {e:.0%})\nmedian time {t:.3g} s"
            plot.points.append(Point(float(w), s, c.mode, tip))
    cpus = max((h.logical_cpus for h in result.hosts), default=None)
    if cpus is not None:
        plot.hlines.append(
            (float(cpus), f"{cpus} logical CPUs: the most speed-up this host allows")
        )
    legend = [*mode_legend([c.mode for c in group]), LegendItem("ideal (S = N)", IDEAL, "dash")]
    note = " · ".join(_fit_text(c) for c in group) + " (dashed: fitted model)"
    return Chart(chart_id, f"{title}: speed-up", plot, legend, [note])


def time_chart(title: str, group: list[ScalingCurve], chart_id: str) -> Chart:
    """Median region time against workers per mode."""
    n_max = max(max(c.workers) for c in group)
    ys = [t for c in group for t in c.median_time_s]
    plot = XYPlot(
        "workers",
        "median time (s)",
        (0.7, n_max + 0.3),
        padded_domain(ys, zero=True),
        x_ticks={float(w): str(w) for c in group for w in c.workers},
    )
    for c in group:
        xs = [float(w) for w in c.workers]
        plot.lines.append(Line(c.mode, xs, c.median_time_s, mode_style(c.mode).color))
        for w, t in zip(c.workers, c.median_time_s, strict=True):
            plot.points.append(
                Point(float(w), t, c.mode, f"{c.mode}, {w} workers: median {t:.3g} s")
            )
    return Chart(
        chart_id,
        f"{title}: time",
        plot,
        mode_legend([c.mode for c in group]),
        ["Median region time per mode; lower is faster."],
    )


def memory(page: Page, view: StudyResult, family: str, cells: list[CellStats]) -> None:
    page.add("<h3>Memory per mode</h3>")
    add_chart(page, memory_chart(view, cells, page.new_id("memory", family)))


def memory_chart(result: StudyResult, cells: list[CellStats], chart_id: str) -> Chart:
    """Median peak memory per mode and cell with the range over runs, one panel per measure."""
    modes = result.data.modes
    labels = short_labels(cs.cell for cs in cells)
    rows = [labels[(cs.cell.workload, cs.cell.params_json)] for cs in cells]
    mib = 1 << 20
    panels = []
    for metric, title in MEMORY_METRICS:
        panel = RowPanel(title, zero=True, empty_note="not measured")
        for r, cs in enumerate(cells):
            for k, mode in enumerate(modes):
                s = cs.summaries.get(mode, {}).get(metric)
                if s is None:
                    continue
                offset = (k - (len(modes) - 1) / 2) * 0.28
                tip = (
                    f"{rows[r]} ×{cs.cell.workers} · {mode}: {title} median {s.median / mib:.1f} MiB\n"
                    f"quartiles {s.q1 / mib:.1f}–{s.q3 / mib:.1f} MiB, {s.n} runs"
                )
                panel.points.append(
                    RowPoint(r, s.median / mib, s.min / mib, s.max / mib, mode, tip, offset)
                )
        panels.append(panel)
    note = "Median per mode with the range over runs. VMS counts reserved address space, most of it untouched."
    return Chart(
        chart_id,
        "Peak memory",
        RowPlot(rows, panels, [f"×{cs.cell.workers}" for cs in cells], _separators(cells)),
        mode_legend(modes),
        [note],
    )
