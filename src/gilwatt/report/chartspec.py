"""One description per chart, whichever backend draws it.

A :class:`Chart` says what a study chart shows: its values in data units, axis labels with
their units, the legend, the notes under it, whether energy in it is an estimate, and the
host's CPU count where that bounds the y axis. ``report/study_charts.py`` builds it once from a
:class:`~gilwatt.analysis.result.StudyResult`; ``report/chart_svg.py`` draws it as SVG for the
HTML report and ``report/figures.py`` draws it with matplotlib for ``gilwatt plot``. Neither
backend computes a number of its own, so the report and a figure cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gilwatt.modes import Mode
from gilwatt.report.svg import PALETTE

ESTIMATE_CAVEAT = "energy and power are modelled from CPU use: an estimate, not a measurement."


@dataclass(frozen=True)
class ModeStyle:
    color: str  # a CSS colour, #rrggbb
    shape: str  # circle | diamond | square


# The one colour and shape per mode (Okabe-Ito colours; shapes for print in grey).
MODE_STYLES: dict[str, ModeStyle] = {
    Mode.GIL: ModeStyle("#0072B2", "circle"),
    Mode.FT: ModeStyle("#D55E00", "diamond"),
    Mode.FT_GIL: ModeStyle("#009E73", "square"),
}


def mode_style(mode: str) -> ModeStyle:
    """The style of ``mode``; a mode gilwatt does not know gets a palette colour and a circle."""
    return MODE_STYLES.get(mode, ModeStyle(PALETTE[hash(mode) % len(PALETTE)], "circle"))


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str
    style: str = "dot"  # dot | dash


def mode_legend(modes: list[str]) -> list[LegendItem]:
    """One legend entry per mode, in the mode's colour."""
    return [LegendItem(m, mode_style(m).color) for m in modes]


@dataclass(frozen=True)
class Point:
    """One mark with its own tooltip; ``lo``..``hi`` is a vertical error bar."""

    x: float
    y: float
    mode: str
    tip: str
    lo: float | None = None
    hi: float | None = None
    radius: float = 3.5


@dataclass(frozen=True)
class Line:
    """A line through data points: a mode's series, a fitted model or a reference."""

    label: str
    xs: list[float]
    ys: list[float]
    color: str
    dashed: bool = False
    width: float = 1  # an int prints as the SVG always had it


@dataclass
class XYPlot:
    """One x and one y axis: lines, marks and labelled horizontal reference lines."""

    x_label: str  # with the unit, e.g. "region time (s)"
    y_label: str
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]
    lines: list[Line] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    hlines: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    x_ticks: dict[float, str] | None = None  # fixed ticks and their labels
    log: bool = False  # both axes logarithmic
    tall: bool = False  # a chart that needs the full width and more height


@dataclass(frozen=True)
class RowPoint:
    """A value in one row of a row plot, with its interval; hollow: no interval (1 pair)."""

    row: int
    value: float
    lo: float | None
    hi: float | None
    mode: str
    tip: str
    offset: float = 0.0  # within the row, -0.5 .. 0.5 of its height
    hollow: bool = False


@dataclass
class RowPanel:
    title: str  # with the unit or the ratio it shows, e.g. "time ÷ gil"
    points: list[RowPoint] = field(default_factory=list)
    log: bool = False
    ref: float | None = None  # a reference value (1 for ratios)
    zero: bool = False  # a linear axis that includes 0
    empty_note: str = "no data"


@dataclass
class RowPlot:
    """One row per cell and side-by-side panels sharing the rows (a forest plot)."""

    rows: list[str]
    panels: list[RowPanel]
    sublabels: list[str] | None = None  # a second label per row (the worker count)
    separators: list[int] = field(default_factory=list)  # rows above which a line is drawn


@dataclass
class Chart:
    chart_id: str  # unique within a page
    title: str
    plot: XYPlot | RowPlot
    legend: list[LegendItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # plain text, one paragraph each
    estimate: str = ""  # energy in it is modelled: the caveat both backends show (else "")

    def values(self) -> list[float]:
        """Every value the chart marks (the geometric means of a forest), in drawing order."""
        if isinstance(self.plot, RowPlot):
            return [p.value for panel in self.plot.panels for p in panel.points]
        return [p.y for p in self.plot.points]
