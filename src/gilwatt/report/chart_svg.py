"""The SVG backend of :mod:`gilwatt.report.chartspec`: a chart description as inline SVG with
its caption, legend, notes and estimate caveat, for the HTML report."""

from __future__ import annotations

from gilwatt.report import escape
from gilwatt.report.chartspec import Chart, RowPlot, XYPlot, mode_style
from gilwatt.report.html import Page, figure_html
from gilwatt.report.row_chart import Panel, RowChart, RowMark
from gilwatt.report.svg import Mark, Series, XYChart

HALF_WIDTH_PX = 470  # two charts side by side (the scaling grid)
HALF_HEIGHT_PX = 240
TALL_HEIGHT_PX = 380


def to_svg(chart: Chart) -> XYChart | RowChart:
    """The SVG chart object that draws ``chart``."""
    if isinstance(chart.plot, RowPlot):
        return _rows(chart.chart_id, chart.plot)
    return _xy(chart.chart_id, chart.plot)


def add_chart(page: Page, chart: Chart) -> None:
    """Add ``chart`` to ``page`` as a figure: caption, legend, notes, caveat, then the SVG."""
    legend = [(item.label, item.color, item.style) for item in chart.legend]
    note = "<br>".join(escape.text(n) for n in chart.notes)
    if chart.estimate:
        note += '<br><span class="badge estimate">estimate</span> ' + escape.text(chart.estimate)
    drawn = to_svg(chart)
    if isinstance(drawn, XYChart):
        page.figure(drawn, chart.title, legend, note)
    else:
        page.add(figure_html(drawn.render(), chart.title, legend, note, drawn.chart_id))


def _xy(chart_id: str, plot: XYPlot) -> XYChart:
    if plot.tall:
        svg = XYChart(chart_id, plot.x_label, plot.y_label, plot.x_domain, plot.y_domain)
        svg.height = TALL_HEIGHT_PX
    else:
        svg = XYChart(
            chart_id,
            plot.x_label,
            plot.y_label,
            plot.x_domain,
            plot.y_domain,
            width=HALF_WIDTH_PX,
            height=HALF_HEIGHT_PX,
            margin=(12, 12, 34, 52),
        )
    svg.x_log = svg.y_log = plot.log
    svg.x_tick_labels = plot.x_ticks
    svg.hlines = list(plot.hlines)
    for line in plot.lines:
        style = "dash" if line.dashed else "line"
        svg.series.append(
            Series(
                line.label, line.xs, line.ys, line.color, style=style, hover=False, width=line.width
            )
        )
    for p in plot.points:
        look = mode_style(p.mode)
        svg.marks.append(Mark(p.x, p.y, look.color, p.tip, p.lo, p.hi, p.radius, look.shape))
    return svg


def _rows(chart_id: str, plot: RowPlot) -> RowChart:
    panels = []
    for rp in plot.panels:
        panel = Panel(rp.title, log=rp.log, ref=rp.ref, zero=rp.zero, empty_note=rp.empty_note)
        for p in rp.points:
            look = mode_style(p.mode)
            panel.marks.append(
                RowMark(
                    p.row, p.value, p.lo, p.hi, look.color, p.tip, p.offset, p.hollow, look.shape
                )
            )
        panels.append(panel)
    return RowChart(
        chart_id, plot.rows, panels, sublabels=plot.sublabels, separators=plot.separators
    )
