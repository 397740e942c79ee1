"""The study report's energy-against-time chart: every valid run, the least-squares line,
its fit and the estimate caveat, described once (a chartspec Chart) for both backends."""

from __future__ import annotations

import math

from gilwatt.analysis.result import StudyResult
from gilwatt.report import escape
from gilwatt.report.chart_svg import add_chart
from gilwatt.report.chartspec import Chart, LegendItem, Line, Point, XYPlot, mode_legend
from gilwatt.report.html import Page
from gilwatt.report.svg import fmt_num, padded_domain

REGRESSION = "#444444"  # the least-squares line


def energy_time(page: Page, view: StudyResult) -> None:
    page.add('<section class="energy-time"><h2>Energy against time</h2>')
    chart = energy_time_chart(view)
    if chart is None:
        page.add(f'<p class="empty">{escape.text(view.energy_time.reason)}</p></section>')
        return
    add_chart(page, chart)
    page.add("</section>")


def energy_time_chart(result: StudyResult) -> Chart | None:
    """Energy against time for every valid run with the least-squares line (None: no energy)."""
    et = result.energy_time
    points = [
        r
        for r in result.data.valid_runs
        if (r.metrics.get("time_s") or 0) > 0 and (r.metrics.get("energy_j") or 0) > 0
    ]
    if not points:
        return None
    times = [float(r.metrics["time_s"] or 0) for r in points]
    energies = [float(r.metrics["energy_j"] or 0) for r in points]
    log = max(times) / min(times) > 30
    fit = et.energy_vs_time
    x_dom = padded_domain(times, log=log, zero=not log)
    plot = XYPlot(
        "region time (s)",
        "energy (J)",
        x_dom,
        padded_domain(energies, log=log, zero=not log),
        log=log,
        tall=True,
    )
    if fit is not None:
        lo, hi = x_dom
        xs = (
            [lo * (hi / lo) ** (i / 59) for i in range(60)]
            if log
            else [lo + (hi - lo) * i / 59 for i in range(60)]
        )
        ys = [fit.intercept + fit.slope * x for x in xs]
        plot.lines.append(
            Line(
                "regression",
                xs,
                [y if y > 0 or not log else math.nan for y in ys],
                REGRESSION,
                dashed=True,
                width=1.2,
            )
        )
    for r, t, e in zip(points, times, energies, strict=True):
        tip = (
            f"run {r.run_id} · {r.workload} ×{r.workers} · {r.mode} (block {r.block})\n"
            f"{t:.3g} s, {e:.3g} J, {e / t:.3g} W"
        )
        plot.points.append(Point(t, e, r.mode, tip, radius=3.2))
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
    caveat = (
        "energy is modelled from CPU use ("
        + ", ".join(et.sources)
        + "): a regression of a model on its own input says little about real power."
    )
    legend = [
        *mode_legend(result.data.modes),
        LegendItem("least-squares line", REGRESSION, "dash"),
    ]
    return Chart(
        "energy-time",
        "Energy against time, every valid run" + (" (log-log)" if log else ""),
        plot,
        legend,
        lines,
        estimate=caveat if et.estimate else "",
    )


def fit_num(v: float | None) -> str:
    return "–" if v is None else fmt_num(v)
