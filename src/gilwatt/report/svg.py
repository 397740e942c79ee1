"""A small SVG chart builder: scales, ticks, axes, and an XY chart with lines, points,
error bars, shaded x-ranges and reference lines.

Charts are drawn in Python so a report reads (and prints) without JavaScript; the page's
script only adds hover read-outs and timeline zoom. The marks of a chart live in a nested
``<svg class="plot">`` whose viewBox the script narrows to zoom, so everything inside uses
plot-local pixel coordinates and non-scaling strokes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gilwatt.report import escape
from gilwatt.units import format_short

Values = Sequence[float] | npt.NDArray[np.float64]

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and in print.
PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#999999",
    "#8C564B",
    "#7F7F00",
)


def has_bar(lo: float | None, hi: float | None) -> bool:
    """Whether a mark has an error bar to draw (both ends known and finite)."""
    return lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)


fmt_num = format_short  # ticks and tooltips


def nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = float(10 ** math.floor(math.log10(raw)))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * power:
            return mult * power
    return 10 * power


def linear_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    step = nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks for a log axis: 1-2-5 per decade when the range is short, decades otherwise."""
    lo_e, hi_e = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mults: tuple[float, ...] = (1, 2, 5) if hi_e - lo_e <= 2 else (1,)
    if hi_e - lo_e <= 1:
        mults = (1, 1.25, 1.5, 2, 3, 4, 5, 6, 8)
    ticks = [m * 10.0**e for e in range(lo_e, hi_e + 1) for m in mults]
    ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    if len(ticks) < 3:  # a narrow range: evenly spaced values read better than one lone tick
        ticks = sorted({*ticks, *(t for t in linear_ticks(lo, hi, 4) if t > 0)})
    return ticks


@dataclass(frozen=True)
class Scale:
    """Maps a data domain onto a pixel range, linearly or on a log axis."""

    d0: float
    d1: float
    p0: float
    p1: float
    log: bool = False

    def __call__(self, value: float) -> float:
        a, b, v = self.d0, self.d1, value
        if self.log:
            a, b, v = math.log10(a), math.log10(b), math.log10(max(v, 1e-300))
        if b == a:
            return (self.p0 + self.p1) / 2
        return self.p0 + (v - a) / (b - a) * (self.p1 - self.p0)

    def ticks(self, count: int = 5) -> list[float]:
        if self.log:
            return log_ticks(self.d0, self.d1)
        return linear_ticks(self.d0, self.d1, count)


def padded_domain(
    values: Sequence[float], *, log: bool = False, zero: bool = False, pad: float = 0.05
) -> tuple[float, float]:
    """A domain that contains every finite value (and 0 when ``zero``), with a margin."""
    finite = [v for v in values if v is not None and math.isfinite(v) and (v > 0 or not log)]
    if not finite:
        return (1.0, 10.0) if log else (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    if log:
        if lo == hi:
            return lo / 1.5, hi * 1.5
        f = (hi / lo) ** pad
        return lo / f, hi * f
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if lo == hi:
        return (lo - 1, hi + 1) if lo != 0 else (0.0, 1.0)
    span = hi - lo
    return (lo if zero and lo == 0 else lo - span * pad), (
        hi if zero and hi == 0 else hi + span * pad
    )


def num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if v == v else "0"


def path_data(xs: Values, ys: Values) -> str:
    """An SVG path through the points; a NaN or None y breaks the line."""
    parts: list[str] = []
    pen_down = False
    for x, y in zip(xs, ys, strict=True):
        if y is None or not math.isfinite(y) or not math.isfinite(x):
            pen_down = False
            continue
        parts.append(("L" if pen_down else "M") + num(x) + "," + num(y))
        pen_down = True
    return "".join(parts)


@dataclass
class Series:
    """One line (or set of points) on an XY chart, in data units."""

    name: str
    x: Values
    y: Values
    color: str
    unit: str = ""
    style: str = "line"  # line | dash | points | area
    hover: bool = True  # listed in the hover read-out
    width: float = 1.5


@dataclass
class XBand:
    """A shaded x-range (a marked region) with a label."""

    x0: float
    x1: float
    label: str
    index: int  # row in the region table, for cross-highlighting


@dataclass
class Mark:
    """A point with optional vertical error bar and its own tooltip text."""

    x: float
    y: float
    color: str
    tip: str
    lo: float | None = None
    hi: float | None = None
    radius: float = 3.5
    shape: str = "circle"  # circle | square | diamond


@dataclass
class XYChart:
    """A chart with one x and one y axis. ``zoom`` names the group of charts that zoom together."""

    chart_id: str
    x_label: str
    y_label: str
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]
    width: float = 960
    height: float = 170
    x_log: bool = False
    y_log: bool = False
    zoom: str | None = None
    x_unit: str = ""
    margin: tuple[float, float, float, float] = (12, 16, 34, 64)  # top right bottom left
    series: list[Series] = field(default_factory=list)
    bands: list[XBand] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    hlines: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    x_tick_labels: dict[float, str] | None = None
    y_ticks: bool = True
    plot_extra: list[str] = field(default_factory=list)  # raw SVG in plot coordinates (zooms)
    overlay: list[str] = field(default_factory=list)  # raw SVG in chart coordinates (on top)

    @property
    def plot_box(self) -> tuple[float, float, float, float]:
        top, right, bottom, left = self.margin
        return left, top, self.width - left - right, self.height - top - bottom

    def scales(self) -> tuple[Scale, Scale]:
        _, _, pw, ph = self.plot_box
        return (
            Scale(*self.x_domain, 0, pw, self.x_log),
            Scale(*self.y_domain, ph, 0, self.y_log),
        )

    def render(self) -> str:
        """The chart as an ``<svg>`` element followed by its hover data (JSON)."""
        left, top, pw, ph = self.plot_box
        sx, sy = self.scales()
        out = [
            f'<svg class="chart-svg" id="{escape.attr(self.chart_id)}" viewBox="0 0 {num(self.width)} {num(self.height)}" '
            f'role="img" aria-label="{escape.attr(self.y_label)}" xmlns="http://www.w3.org/2000/svg">',
            f'<rect class="frame" x="{num(left)}" y="{num(top)}" width="{num(pw)}" height="{num(ph)}"/>',
        ]
        out.append(self._y_axis(sy, left, top, pw))
        out.append(self._x_axis(sx, left, top, ph))
        out.append(
            f'<svg class="plot" x="{num(left)}" y="{num(top)}" width="{num(pw)}" height="{num(ph)}" '
            f'viewBox="0 0 {num(pw)} {num(ph)}" preserveAspectRatio="none">'
        )
        for band in self.bands:
            x0, x1 = sx(band.x0), sx(band.x1)
            out.append(
                f'<rect class="region-band" data-region="{band.index}" x="{num(x0)}" y="0" '
                f'width="{num(max(x1 - x0, 0.6))}" height="{num(ph)}"/>'
            )
        for y, label in self.hlines:
            py = sy(y)
            out.append(
                f'<line class="refline" x1="0" x2="{num(pw)}" y1="{num(py)}" y2="{num(py)}">'
                f"<title>{escape.text(label)}</title></line>"
            )
        for s in self.series:
            out.append(self._series(s, sx, sy, ph))
        out.extend(self.plot_extra)
        out.append("</svg>")
        out.extend(self._marks(sx, sy, left, top))
        out.extend(self.overlay)
        out.append("</svg>")
        return "".join(out)

    def _y_axis(self, sy: Scale, left: float, top: float, pw: float) -> str:
        parts = ['<g class="axis yaxis">']
        for t in sy.ticks(4) if self.y_ticks else []:
            py = top + sy(t)
            parts.append(
                f'<line class="grid" x1="{num(left)}" x2="{num(left + pw)}" y1="{num(py)}" y2="{num(py)}"/>'
                f'<text x="{num(left - 6)}" y="{num(py + 3.5)}" text-anchor="end">{escape.text(fmt_num(t))}</text>'
            )
        _, _, _, ph = self.plot_box
        cy = top + ph / 2
        parts.append(
            f'<text class="axis-label" transform="translate(14 {num(cy)}) rotate(-90)" '
            f'text-anchor="middle">{escape.text(self.y_label)}</text></g>'
        )
        return "".join(parts)

    def _x_axis(self, sx: Scale, left: float, top: float, ph: float) -> str:
        base = top + ph
        parts = [f'<g class="axis xaxis" data-left="{num(left)}" data-base="{num(base)}">']
        ticks = sorted(self.x_tick_labels) if self.x_tick_labels is not None else sx.ticks(8)
        for t in ticks:
            label = self.x_tick_labels[t] if self.x_tick_labels is not None else fmt_num(t)
            px = left + sx(t)
            parts.append(
                f'<line class="tick" x1="{num(px)}" x2="{num(px)}" y1="{num(base)}" y2="{num(base + 4)}"/>'
                f'<text x="{num(px)}" y="{num(base + 15)}" text-anchor="middle">{escape.text(label)}</text>'
            )
        parts.append("</g>")
        _, _, pw, _ = self.plot_box
        parts.append(
            f'<text class="axis-label" x="{num(left + pw / 2)}" y="{num(self.height - 3)}" '
            f'text-anchor="middle">{escape.text(self.x_label)}</text>'
        )
        return "".join(parts)

    def _series(self, s: Series, sx: Scale, sy: Scale, ph: float) -> str:
        color = escape.attr(s.color)
        if s.style == "points":
            dots = "".join(
                f'<circle cx="{num(sx(x))}" cy="{num(sy(y))}" r="2"/>'
                for x, y in zip(s.x, s.y, strict=True)
                if y is not None and math.isfinite(y)
            )
            return f'<g class="series points" fill="{color}">{dots}</g>'
        xs = [sx(x) for x in s.x]
        ys = [sy(y) if y is not None and math.isfinite(y) else math.nan for y in s.y]
        d = path_data(xs, ys)
        if not d:
            return ""
        if s.style == "area":
            first = next(i for i, y in enumerate(ys) if math.isfinite(y))
            last = max(i for i, y in enumerate(ys) if math.isfinite(y))
            area = d + f"L{num(xs[last])},{num(ph)}L{num(xs[first])},{num(ph)}Z"
            return (
                f'<path class="series area" d="{area}" fill="{color}" fill-opacity="0.18" stroke="none"/>'
                f'<path class="series line" d="{d}" stroke="{color}" stroke-width="{s.width}" fill="none"/>'
            )
        dash = ' stroke-dasharray="5 4"' if s.style == "dash" else ""
        return f'<path class="series line" d="{d}" stroke="{color}" stroke-width="{s.width}" fill="none"{dash}/>'

    def _marks(self, sx: Scale, sy: Scale, left: float, top: float) -> list[str]:
        out = []
        for m in self.marks:
            px, py = left + sx(m.x), top + sy(m.y)
            tip = escape.attr(m.tip)
            color = escape.attr(m.color)
            bar = ""
            if has_bar(m.lo, m.hi):
                assert m.lo is not None and m.hi is not None
                y0, y1 = top + sy(m.lo), top + sy(m.hi)
                bar = (
                    f'<line x1="{num(px)}" x2="{num(px)}" y1="{num(y0)}" y2="{num(y1)}" stroke="{color}"/>'
                    f'<line x1="{num(px - 3)}" x2="{num(px + 3)}" y1="{num(y0)}" y2="{num(y0)}" stroke="{color}"/>'
                    f'<line x1="{num(px - 3)}" x2="{num(px + 3)}" y1="{num(y1)}" y2="{num(y1)}" stroke="{color}"/>'
                )
            out.append(
                f'<g class="mark" data-tip="{tip}">{bar}{shape(m.shape, px, py, m.radius, color)}</g>'
            )
        return out

    def hover_data(self) -> dict[str, Any]:
        """What the page script needs to show values under the pointer and to zoom."""
        left, top, pw, ph = self.plot_box
        xs: list[list[float | None]] = []
        index: dict[int, int] = {}
        series = []
        for s in self.series:
            if not s.hover:
                continue
            key = id(s.x)
            if key not in index:
                index[key] = len(xs)
                xs.append([round_sig(v) for v in s.x])
            series.append(
                {
                    "n": s.name,
                    "c": s.color,
                    "u": s.unit,
                    "xi": index[key],
                    "y": [round_sig(v) for v in s.y],
                }
            )
        return {
            "id": self.chart_id,
            "box": [left, top, pw, ph],
            "xd": list(self.x_domain),
            "xlog": self.x_log,
            "xu": self.x_unit,
            "zoom": self.zoom,
            "xs": xs,
            "s": series,
            "b": [[round_sig(b.x0, 7), round_sig(b.x1, 7), b.label] for b in self.bands],
        }


def shape(kind: str, px: float, py: float, r: float, color: str) -> str:
    if kind == "square":
        return f'<rect x="{num(px - r)}" y="{num(py - r)}" width="{num(2 * r)}" height="{num(2 * r)}" fill="{color}"/>'
    if kind == "diamond":
        pts = f"{num(px)},{num(py - r * 1.3)} {num(px + r * 1.3)},{num(py)} {num(px)},{num(py + r * 1.3)} {num(px - r * 1.3)},{num(py)}"
        return f'<polygon points="{pts}" fill="{color}"/>'
    return f'<circle cx="{num(px)}" cy="{num(py)}" r="{num(r)}" fill="{color}"/>'


def round_sig(value: float | None, digits: int = 5) -> float | None:
    """Round for the embedded JSON: enough digits to read, few enough to keep the file small."""
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v):
        return None
    if v == 0:
        return 0.0
    return round(v, max(digits - 1 - math.floor(math.log10(abs(v))), 0))
