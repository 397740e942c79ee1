"""Row charts: one row per cell, several side-by-side panels sharing the rows.

A forest plot is a row chart of ratios on log axes with a reference line at 1; the memory
chart is the same layout on linear axes. Marks carry their own tooltip text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gilwatt.report import escape
from gilwatt.report.svg import Scale, fmt_num, has_bar, num, padded_domain, shape


@dataclass(frozen=True)
class RowMark:
    row: int
    value: float
    lo: float | None
    hi: float | None
    color: str
    tip: str
    offset: float = 0.0  # within the row, -0.5 .. 0.5 of its height
    hollow: bool = False  # no interval (a single pair)
    shape: str = "circle"


@dataclass
class Panel:
    title: str
    marks: list[RowMark] = field(default_factory=list)
    log: bool = False
    ref: float | None = None  # a vertical reference line (1 for ratios)
    zero: bool = False  # include 0 in a linear domain
    empty_note: str = "no data"


@dataclass
class RowChart:
    chart_id: str
    rows: list[str]
    panels: list[Panel]
    sublabels: list[str] | None = None  # a second, right-aligned label per row
    separators: list[int] = field(default_factory=list)  # rows above which a line is drawn
    width: float = 960
    label_width: float = 250
    row_height: float = 22
    top: float = 24
    bottom: float = 30
    gap: float = 16

    def render(self) -> str:
        n = max(len(self.rows), 1)
        height = self.top + n * self.row_height + self.bottom
        k = max(len(self.panels), 1)
        pw = (self.width - self.label_width - self.gap * k) / k
        ph = n * self.row_height
        out = [
            f'<svg class="chart-svg row-chart" id="{escape.attr(self.chart_id)}" '
            f'viewBox="0 0 {num(self.width)} {num(height)}" xmlns="http://www.w3.org/2000/svg" role="img">'
        ]
        for i, label in enumerate(self.rows):
            y = self.top + (i + 0.5) * self.row_height
            if i % 2 == 0:
                out.append(
                    f'<rect x="0" y="{num(y - self.row_height / 2)}" width="{num(self.width)}" '
                    f'height="{num(self.row_height)}" fill="#f7f8fa"/>'
                )
            out.append(
                f'<text class="row-label" x="4" y="{num(y + 4)}">{escape.text(label)}</text>'
            )
            if self.sublabels:
                out.append(
                    f'<text x="{num(self.label_width - 8)}" y="{num(y + 4)}" text-anchor="end">'
                    f"{escape.text(self.sublabels[i])}</text>"
                )
        for row in self.separators:
            y = self.top + row * self.row_height
            out.append(
                f'<line x1="0" x2="{num(self.width)}" y1="{num(y)}" y2="{num(y)}" stroke="#c9ced6"/>'
            )
        for p, panel in enumerate(self.panels):
            left = self.label_width + self.gap / 2 + p * (pw + self.gap)
            out.append(self._panel(panel, left, pw, ph))
        out.append("</svg>")
        return "".join(out)

    def _panel(self, panel: Panel, left: float, pw: float, ph: float) -> str:
        top = self.top
        out = [
            f'<text class="panel-title" x="{num(left + pw / 2)}" y="{num(top - 8)}" text-anchor="middle">'
            f"{escape.text(panel.title)}</text>",
            f'<rect class="frame" x="{num(left)}" y="{num(top)}" width="{num(pw)}" height="{num(ph)}"/>',
        ]
        values = [
            v
            for m in panel.marks
            for v in (m.value, m.lo, m.hi)
            if v is not None and math.isfinite(v)
        ]
        if panel.ref is not None:
            values.append(panel.ref)
        if not panel.marks:
            out.append(
                f'<text x="{num(left + pw / 2)}" y="{num(top + ph / 2)}" text-anchor="middle">'
                f"{escape.text(panel.empty_note)}</text>"
            )
            return "".join(out)
        domain = padded_domain(values, log=panel.log, zero=panel.zero, pad=0.08)
        sx = Scale(*domain, left, left + pw, panel.log)
        for t in spaced(thin(sx.ticks(4), 5, keep=panel.ref), sx, MIN_TICK_GAP_PX, panel.ref):
            px = sx(t)
            out.append(
                f'<line class="grid" x1="{num(px)}" x2="{num(px)}" y1="{num(top)}" y2="{num(top + ph)}"/>'
                f'<text x="{num(px)}" y="{num(top + ph + 14)}" text-anchor="middle">{escape.text(fmt_num(t, 2))}</text>'
            )
        if panel.ref is not None:
            px = sx(panel.ref)
            out.append(
                f'<line class="refline" x1="{num(px)}" x2="{num(px)}" y1="{num(top)}" y2="{num(top + ph)}"/>'
            )
        for m in panel.marks:
            if not math.isfinite(m.value) or (panel.log and m.value <= 0):
                continue
            y = top + (m.row + 0.5 + m.offset) * self.row_height
            px = sx(m.value)
            color = escape.attr(m.color)
            bar = ""
            if has_bar(m.lo, m.hi):
                assert m.lo is not None and m.hi is not None
                x0, x1 = sx(max(m.lo, domain[0])), sx(min(m.hi, domain[1]))
                bar = (
                    f'<line x1="{num(x0)}" x2="{num(x1)}" y1="{num(y)}" y2="{num(y)}" stroke="{color}" stroke-width="1.6"/>'
                    f'<line x1="{num(x0)}" x2="{num(x0)}" y1="{num(y - 3)}" y2="{num(y + 3)}" stroke="{color}"/>'
                    f'<line x1="{num(x1)}" x2="{num(x1)}" y1="{num(y - 3)}" y2="{num(y + 3)}" stroke="{color}"/>'
                )
            dot = shape(m.shape, px, y, 3.6, color)
            if m.hollow:
                dot = dot.replace(
                    f'fill="{color}"', f'fill="#fff" stroke="{color}" stroke-width="1.5"'
                )
            out.append(f'<g class="mark" data-tip="{escape.attr(m.tip)}">{bar}{dot}</g>')
        return "".join(out)


MIN_TICK_GAP_PX = 26.0  # labels closer than this overlap (e.g. 25, 50, 75 at a log axis' end)


def spaced(
    ticks: list[float], scale: Scale, gap_px: float, keep: float | None = None
) -> list[float]:
    """Ticks at least ``gap_px`` apart on ``scale``, left to right, always keeping ``keep``."""
    kept: list[float] = []
    for t in ticks:
        if kept and abs(scale(t) - scale(kept[-1])) < gap_px:
            if t != keep:
                continue
            if kept[-1] != keep:
                kept.pop()  # the reference line's label wins over its neighbour
        kept.append(t)
    return kept


def thin(ticks: list[float], most: int, keep: float | None = None) -> list[float]:
    """At most ``most`` ticks, evenly chosen, always keeping ``keep`` if it is a tick."""
    if len(ticks) <= most:
        return ticks
    step = math.ceil(len(ticks) / most)
    anchor = ticks.index(keep) if keep in ticks else 0
    return [t for i, t in enumerate(ticks) if (i - anchor) % step == 0]
