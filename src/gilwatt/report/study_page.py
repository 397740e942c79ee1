"""The report of a study: findings, per-family ratios, scaling, energy vs time, memory, gaps."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from gilwatt.report import escape, fmt
from gilwatt.report.html import Page, definition_list, figure_html, table
from gilwatt.report.row_chart import Panel, RowChart, RowMark
from gilwatt.report.study_data import StudyView
from gilwatt.report.svg import Mark, Series, XYChart, fmt_num, mode_color, padded_domain

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
MODE_SHAPES = {"gil": "circle", "ft": "diamond", "ft-gil": "square"}
VERDICT_CLASS = {"confirms": "supported", "contradicts": "contradicted", "cannot tell": "untested"}
MAX_ROW_LABEL = 36


def render_study_page(view: StudyView) -> str:
    study = view.data.study
    page = Page(title=f"gilwatt study {study.study_id}: {study.name}"[:200], kind="study")
    page.add(_header(view))
    page.add(_metadata(view))
    page.add(_findings(view))
    families = view.analysis.families()
    if not families:
        page.add('<p class="empty">No cell of this study has a valid run yet.</p>')
    for family in families:
        _family_section(page, view, family)
    _energy_time(page, view)
    page.add(_gaps_and_exclusions(view))
    page.add(_all_runs(view))
    return page.render()


# --- header -----------------------------------------------------------------------------------


def _header(view: StudyView) -> str:
    study = view.data.study
    badges = []
    if view.data.energy_is_estimate:
        badges.append('<span class="badge estimate">energy: estimate</span>')
    excluded = len(view.data.excluded)
    if excluded:
        badges.append(f'<span class="badge bad">{excluded} runs excluded</span>')
    return (
        f'<header><h1>Study {study.study_id}<span class="sub">{escape.text(study.name)}</span></h1>'
        f'<div class="badges">{"".join(badges)}</div></header>'
    )


def _metadata(view: StudyView) -> str:
    data = view.data
    study = data.study
    statuses = Counter(r.status for r in data.runs)
    status_text = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    items: list[tuple[str, str]] = [
        ("Created", escape.text(fmt.unix_ns(study.created_unix_ns))),
        ("Seed", escape.text(study.seed)),
        (
            "Runs",
            escape.text(f"{len(data.runs)} planned: {status_text}; {len(data.valid_runs)} valid"),
        ),
        ("Modes", escape.text(", ".join(data.modes))),
    ]
    for mode in data.modes:
        interp = view.interpreters.get(mode)
        names = sorted({r.interpreter for r in data.runs if r.mode == mode})
        text = escape.text(", ".join(names))
        if interp is not None:
            build = "free-threaded" if interp.free_threaded else "GIL"
            text += escape.text(f" · {interp.implementation} {interp.version}, {build} build · ")
            text += f"<code>{escape.text(interp.executable)}</code>"
        items.append((f"Interpreter ({mode})", text))
    for host in view.hosts:
        items.append(
            (
                "Host",
                escape.text(
                    f"{host.hostname} · {host.cpu_model} · {host.logical_cpus} logical CPUs · Linux {host.kernel}"
                ),
            )
        )
    sources = data.energy_sources
    energy = ", ".join(f"<code>{escape.text(s)}</code>" for s in sources) or "none"
    if data.energy_is_estimate:
        energy += (
            ' <span class="badge estimate">estimate</span> modelled from CPU use, not measured'
        )
    items.append(("Energy source", energy))
    for key, value in study.spec.items():
        if isinstance(value, str | int | float | bool):
            items.append((f"spec: {key}", escape.text(value)))
    if view.source:
        items.append(("Store", f"<code>{escape.text(view.source)}</code>"))
    if data.other_studies:
        others = ", ".join(f"{s.study_id} ({s.name})" for s in data.other_studies)
        items.append(("Other studies in the store", escape.text(others)))
    spec = json.dumps(study.spec, indent=1, ensure_ascii=False, default=str)
    return (
        f'<section class="metadata"><h2>Study</h2>{definition_list(items)}'
        f"<details><summary>Full specification</summary><pre>{escape.text(spec)}</pre></details></section>"
    )


def _findings(view: StudyView) -> str:
    parts = []
    for f in view.findings:
        cls = VERDICT_CLASS.get(f.verdict, "untested")
        evidence = "".join(f"<li>{escape.text(e)}</li>" for e in f.evidence)
        parts.append(
            f'<div class="finding"><span class="badge {cls}">{escape.text(f.verdict)}</span> '
            f"<strong>{f.number}. {escape.text(f.claim)}</strong>"
            f'<div class="claim">{escape.text(f.why)}</div>'
            + (f"<ul>{evidence}</ul>" if evidence else "")
            + "</div>"
        )
    note = (
        '<p class="note">Each claim of the paper (arXiv 2603.04782) is set beside this study\'s '
        "evidence by the rules of <code>gilwatt compare</code>: free-threaded vs GIL build, "
        "Holm-corrected, 95% intervals.</p>"
    )
    if view.data.energy_is_estimate:
        note += '<p class="note warn">Energy here is an estimate from a model, not a measurement: every energy and power finding inherits that.</p>'
    return f'<section class="findings-section"><h2>Findings</h2>{note}<div class="findings">{"".join(parts)}</div></section>'


# --- per family -------------------------------------------------------------------------------


def _cell_label(cell: Cell) -> str:
    label = cell.workload + (f" · {cell.params_label}" if cell.params_label else "")
    return label if len(label) <= MAX_ROW_LABEL else label[: MAX_ROW_LABEL - 1] + "…"


def _family_section(page: Page, view: StudyView, family: str) -> None:
    cells = [cs for cs in view.analysis.cells if cs.cell.family == family]
    workloads = sorted({cs.cell.workload for cs in cells})
    page.add(
        f'<section class="family"><h2>Family: {escape.text(family)}</h2>'
        f'<p class="note">{escape.text(", ".join(workloads))}</p>'
    )
    _forest(page, view, family, cells)
    _scaling(page, view, family)
    _memory(page, view, family, cells)
    page.add("</section>")


def _mode_legend(modes: list[str]) -> list[tuple[str, str, str]]:
    return [(m, mode_color(m), "dot") for m in modes]


def _forest(page: Page, view: StudyView, family: str, cells: list[CellStats]) -> None:
    pairs = [(m, b) for m, b in view.analysis.pairs if b == BASELINE]
    if not pairs:
        page.add(
            f'<p class="empty">No mode to compare against the GIL build ({escape.text(BASELINE)}) in this study.</p>'
        )
        return
    rows = [_cell_label(cs.cell) for cs in cells]
    sub = [f"×{cs.cell.workers}" for cs in cells]
    panels = []
    for metric, title in RATIO_METRICS:
        panel = Panel(f"{title} ÷ {BASELINE}", log=True, ref=1.0, empty_note="no pairs")
        for r, cs in enumerate(cells):
            for k, (mode, base) in enumerate(pairs):
                comp = view.analysis.get(cs.cell, mode, base, metric)
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
                    f"{cs.cell.workload} ×{cs.cell.workers} · {title}: {mode}/{base} = {fmt.ratio(est.geomean)}\n"
                    f"{ci}, {est.n} pairs{p}\n{comp.verdict}"
                )
                panel.marks.append(
                    RowMark(
                        r,
                        est.geomean,
                        est.t_low,
                        est.t_high,
                        mode_color(mode),
                        tip,
                        offset,
                        hollow=not est.has_ci,
                        shape=MODE_SHAPES.get(mode, "circle"),
                    )
                )
        panels.append(panel)
    chart = RowChart(
        f"forest-{_slug(family)}", rows, panels, sublabels=sub, separators=_separators(cells)
    )
    legend = [(f"{m} ÷ {b}", mode_color(m), "dot") for m, b in pairs]
    note = (
        "Geometric mean of ratios paired by block, with the 95% t interval in log space; "
        "hollow marks have one pair and no interval. Left of the dashed line: lower than on the GIL build."
    )
    page.add(
        figure_html(
            chart.render(),
            "Ratios against the GIL build",
            legend,
            escape.text(note),
            chart.chart_id,
        )
    )


def _separators(cells: list[CellStats]) -> list[int]:
    return [i for i in range(1, len(cells)) if cells[i].cell.workload != cells[i - 1].cell.workload]


def _scaling(page: Page, view: StudyView, family: str) -> None:
    curves = [c for c in view.curves if c.family == family]
    if not curves:
        page.add(
            '<p class="empty">No workload of this family ran at more than one worker count.</p>'
        )
        return
    groups: dict[tuple[str, str], list[ScalingCurve]] = defaultdict(list)
    for c in curves:
        groups[(c.workload, c.params_label)].append(c)
    cpus = max((h.logical_cpus for h in view.hosts), default=None)
    page.add('<h3>Scaling</h3><div class="grid2">')
    for (workload, params), group in groups.items():
        title = workload + (f" · {params}" if params else "")
        page.figure(*_speedup_chart(f"{family}-{workload}-{params}", title, group, cpus))
        page.figure(*_time_chart(f"{family}-{workload}-{params}", title, group))
    page.add("</div>")


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
        if c.usl_peak_workers and c.usl_peak_workers <= 8 * max(c.workers):
            peak = f", peak at N≈{c.usl_peak_workers:.1f}"
        parts.append(f"USL σ={c.usl.params['sigma']:.3g} κ={c.usl.params['kappa']:.3g}{peak}")
    if c.amdahl is not None:
        parts.append(f"Amdahl serial fraction {c.amdahl.params['s']:.3f}")
    if c.note:
        parts.append(c.note)
    return f"{c.mode}: " + ("; ".join(parts) if parts else "no fit")


def _speedup_chart(
    key: str, title: str, group: list[ScalingCurve], cpus: int | None
) -> tuple[XYChart, str, list[tuple[str, str, str]], str]:
    n_max = max(max(c.workers) for c in group)
    fits = []
    ys: list[float] = []
    for c in group:
        ys += c.speedup
        fit = _fit_curve(c.usl, c.amdahl, n_max)
        if fit is not None:
            fits.append((c, fit))
            ys += fit[2]
    chart = XYChart(
        chart_id=f"speedup-{_slug(key)}",
        x_label="workers",
        y_label="speed-up vs 1 worker",
        x_domain=(0.7, n_max + 0.3),
        y_domain=padded_domain([*ys, 1.0], zero=True),
        width=470,
        height=240,
        margin=(12, 12, 34, 52),
        x_tick_labels={float(w): str(w) for c in group for w in c.workers},
    )
    chart.series.append(
        Series(
            "ideal",
            [1.0, float(n_max)],
            [1.0, float(n_max)],
            "#999999",
            style="dash",
            hover=False,
            width=1,
        )
    )
    for c, (model, xs, fys) in fits:
        chart.series.append(
            Series(
                f"{c.mode} {model} fit",
                xs,
                fys,
                mode_color(c.mode),
                style="dash",
                hover=False,
                width=1.2,
            )
        )
    for c in group:
        if not c.speedup:
            continue
        chart.series.append(
            Series(
                c.mode,
                [float(w) for w in c.workers],
                c.speedup,
                mode_color(c.mode),
                hover=False,
                width=1,
            )
        )
        for w, s, t, e in zip(c.workers, c.speedup, c.median_time_s, c.efficiency, strict=True):
            tip = f"{c.mode}, {w} workers: speed-up {s:.2f}× (efficiency {e:.0%})\nmedian time {t:.3g} s"
            chart.marks.append(
                Mark(float(w), s, mode_color(c.mode), tip, shape=MODE_SHAPES.get(c.mode, "circle"))
            )
    if cpus is not None:
        chart.hlines.append(
            (float(cpus), f"{cpus} logical CPUs: the most speed-up this host allows")
        )
    legend = [*_mode_legend([c.mode for c in group]), ("ideal (S = N)", "#999999", "dash")]
    note = escape.text(" · ".join(_fit_text(c) for c in group)) + escape.text(
        " (dashed: fitted model)"
    )
    return chart, f"{title}: speed-up", legend, note


def _time_chart(
    key: str, title: str, group: list[ScalingCurve]
) -> tuple[XYChart, str, list[tuple[str, str, str]], str]:
    n_max = max(max(c.workers) for c in group)
    ys = [t for c in group for t in c.median_time_s]
    chart = XYChart(
        chart_id=f"time-{_slug(key)}",
        x_label="workers",
        y_label="median time (s)",
        x_domain=(0.7, n_max + 0.3),
        y_domain=padded_domain(ys, zero=True),
        width=470,
        height=240,
        margin=(12, 12, 34, 52),
        x_tick_labels={float(w): str(w) for c in group for w in c.workers},
    )
    for c in group:
        xs = [float(w) for w in c.workers]
        chart.series.append(
            Series(c.mode, xs, c.median_time_s, mode_color(c.mode), hover=False, width=1)
        )
        for w, t in zip(c.workers, c.median_time_s, strict=True):
            chart.marks.append(
                Mark(
                    float(w),
                    t,
                    mode_color(c.mode),
                    f"{c.mode}, {w} workers: median {t:.3g} s",
                    shape=MODE_SHAPES.get(c.mode, "circle"),
                )
            )
    return (
        chart,
        f"{title}: time",
        _mode_legend([c.mode for c in group]),
        escape.text("Median region time per mode; lower is faster."),
    )


def _memory(page: Page, view: StudyView, family: str, cells: list[CellStats]) -> None:
    modes = view.data.modes
    rows = [_cell_label(cs.cell) for cs in cells]
    panels = []
    for metric, title in MEMORY_METRICS:
        panel = Panel(title, zero=True, empty_note="not measured")
        for r, cs in enumerate(cells):
            for k, mode in enumerate(modes):
                s = cs.summaries.get(mode, {}).get(metric)
                if s is None:
                    continue
                mib = 1 << 20
                offset = (k - (len(modes) - 1) / 2) * 0.28
                tip = (
                    f"{cs.cell.workload} ×{cs.cell.workers} · {mode}: {title} median {s.median / mib:.1f} MiB\n"
                    f"quartiles {s.q1 / mib:.1f}–{s.q3 / mib:.1f} MiB, {s.n} runs"
                )
                panel.marks.append(
                    RowMark(
                        r,
                        s.median / mib,
                        s.min / mib,
                        s.max / mib,
                        mode_color(mode),
                        tip,
                        offset,
                        shape=MODE_SHAPES.get(mode, "circle"),
                    )
                )
        panels.append(panel)
    chart = RowChart(
        f"memory-{_slug(family)}",
        rows,
        panels,
        sublabels=[f"×{cs.cell.workers}" for cs in cells],
        separators=_separators(cells),
    )
    note = escape.text(
        "Median per mode with the range over runs. VMS counts reserved address space, most of it untouched."
    )
    page.add("<h3>Memory per mode</h3>")
    page.add(figure_html(chart.render(), "Peak memory", _mode_legend(modes), note, chart.chart_id))


# --- energy vs time ---------------------------------------------------------------------------


def _energy_time(page: Page, view: StudyView) -> None:
    et = view.energy_time
    page.add('<section class="energy-time"><h2>Energy against time</h2>')
    points = [
        r
        for r in view.data.valid_runs
        if (r.metrics.get("time_s") or 0) > 0 and (r.metrics.get("energy_j") or 0) > 0
    ]
    if not points:
        page.add(f'<p class="empty">{escape.text(et.reason)}</p></section>')
        return
    times = [float(r.metrics["time_s"] or 0) for r in points]
    energies = [float(r.metrics["energy_j"] or 0) for r in points]
    log = max(times) / min(times) > 30
    fit = et.energy_vs_time
    x_dom = padded_domain(times, log=log, zero=not log)
    chart = XYChart(
        chart_id="energy-time",
        x_label="region time (s)",
        y_label="energy (J)",
        x_domain=x_dom,
        y_domain=padded_domain(energies, log=log, zero=not log),
        x_log=log,
        y_log=log,
        height=380,
    )
    if fit is not None:
        lo, hi = x_dom
        xs = (
            [lo * (hi / lo) ** (i / 59) for i in range(60)]
            if log
            else [lo + (hi - lo) * i / 59 for i in range(60)]
        )
        ys = [fit.intercept + fit.slope * x for x in xs]
        chart.series.append(
            Series(
                "regression",
                xs,
                [y if y > 0 or not log else math.nan for y in ys],
                "#444444",
                style="dash",
                hover=False,
                width=1.2,
            )
        )
    for r, t, e in zip(points, times, energies, strict=True):
        tip = (
            f"run {r.run_id} · {r.workload} ×{r.workers} · {r.mode} (block {r.block})\n"
            f"{t:.3g} s, {e:.3g} J, {e / t:.3g} W"
        )
        chart.marks.append(
            Mark(t, e, mode_color(r.mode), tip, radius=3.2, shape=MODE_SHAPES.get(r.mode, "circle"))
        )
    lines = []
    if fit is not None:
        r2 = "n/a" if fit.r2 is None else f"{fit.r2:.3f}"
        ci = (
            ""
            if fit.slope_low is None
            else f" [{fit_num(fit.slope_low)}, {fit_num(fit.slope_high)}]"
        )
        lines.append(
            f"energy = {fmt_num(fit.intercept)} J + {fmt_num(fit.slope)}{ci} W × time, R² = {r2}, {et.n} runs"
        )
    lines.append(et.reason)
    if et.power_vs_util is not None and et.util_range is not None and et.power_change is not None:
        lines.append(
            f"power vs utilisation: {fmt_num(et.power_vs_util.slope)} W per busy core; fitted power changes "
            f"{et.power_change:+.1%} over {et.util_range[0]:.2f}–{et.util_range[1]:.2f} cores busy"
        )
    note = "<br>".join(escape.text(x) for x in lines)
    if et.estimate:
        note += '<br><span class="badge estimate">estimate</span> ' + escape.text(
            "energy is modelled from CPU use ("
            + ", ".join(et.sources)
            + "): a regression of a model on its own input says little about real power."
        )
    legend = [*_mode_legend(view.data.modes), ("least-squares line", "#444444", "dash")]
    page.figure(
        chart, "Energy against time, every valid run" + (" (log-log)" if log else ""), legend, note
    )
    page.add("</section>")


def fit_num(v: float | None) -> str:
    return "–" if v is None else fmt_num(v)


# --- gaps, exclusions, runs -------------------------------------------------------------------


def _gaps_and_exclusions(view: StudyView) -> str:
    parts = ['<section class="gaps"><h2>Missing cells and excluded runs</h2>']
    if view.gaps:
        items = "".join(f"<li>{escape.text(g)}</li>" for g in view.gaps)
        parts.append(
            f'<h3>Missing cells ({len(view.gaps)})</h3><p class="note">The report shows what exists; these cells and modes have no valid run.</p><ul>{items}</ul>'
        )
    else:
        parts.append(
            '<p class="note">Every planned cell has at least one valid run in every mode.</p>'
        )
    excluded = view.data.excluded
    if excluded:
        rows = [
            [
                escape.text(r.run_key),
                escape.text(r.workload),
                escape.text(r.workers),
                escape.text(r.mode),
                escape.text(r.block),
                escape.text(r.status),
                escape.text(r.exclusion or r.reason),
                escape.text("–" if r.run_id is None else r.run_id),
            ]
            for r in excluded
        ]
        headers = [
            "run",
            "workload",
            "workers",
            "mode",
            "block",
            "status",
            "why it does not count",
            "run id",
        ]
        parts.append(f"<h3>Excluded runs ({len(excluded)})</h3>" + table(headers, rows, "excluded"))
    else:
        parts.append('<p class="note">No run was excluded by the validity gates.</p>')
    parts.append("</section>")
    return "".join(parts)


def _all_runs(view: StudyView) -> str:
    rows = []
    for r in view.data.runs:
        m = r.metrics
        rows.append(
            [
                escape.text(r.run_key),
                escape.text(r.family),
                escape.text(r.workload),
                escape.text(r.workers),
                escape.text(r.mode),
                escape.text(r.block),
                escape.text("valid" if r.valid else r.status),
                escape.text(_num(m.get("time_s"), "s")),
                escape.text(_num(m.get("energy_j"), "J")),
                escape.text(fmt.bytes_(m.get("peak_rss_bytes"))),
                escape.text(fmt.bytes_(m.get("peak_vms_bytes"))),
                escape.text("–" if r.run_id is None else r.run_id),
            ]
        )
    headers = [
        "run",
        "family",
        "workload",
        "workers",
        "mode",
        "block",
        "status",
        "time",
        "energy",
        "peak RSS",
        "peak VMS",
        "run id",
    ]
    return (
        f'<section class="runs"><h2>All runs</h2><details><summary>{len(rows)} runs</summary>'
        + table(headers, rows, "runs")
        + "</details></section>"
    )


def _num(v: float | None, unit: str) -> str:
    return "–" if v is None else f"{fmt_num(v)} {unit}"


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    return "-".join(p for p in out.split("-") if p)[:60] or "x"
