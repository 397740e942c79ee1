"""A run's timelines: CPU, threads, memory, power and energy on one zoomable time axis, with
the marked regions shaded on every chart and drawn as labelled bars in their own lanes."""

from __future__ import annotations

import numpy as np

from gilwatt.readback import FloatArray, IntArray, Region, RunInfo, Timeline
from gilwatt.report import escape, fmt
from gilwatt.report.charts import Line, decimate, min_step_ns, rate, seconds, thread_cpu_lines
from gilwatt.report.html import Page
from gilwatt.report.svg import PALETTE, Series, XBand, XYChart, padded_domain
from gilwatt.store import derive

MAX_BANDS = 200  # regions shaded on the timelines (the table lists more)
ZOOM_GROUP = "timeline"
MAX_LANES = 12
MAX_CORE_LINES = 16


def _bands(regions: list[Region], start_ns: int) -> list[XBand]:
    chosen = sorted(range(len(regions)), key=lambda i: regions[i].wall_ns, reverse=True)[:MAX_BANDS]
    return [
        XBand(
            (regions[i].begin_ns - start_ns) / 1e9,
            (regions[i].end_ns - start_ns) / 1e9,
            f"{regions[i].name} · {fmt.duration_ns(regions[i].wall_ns)}",
            i,
        )
        for i in sorted(chosen)
    ]


def _x_domain(info: RunInfo, timeline: Timeline, regions: list[Region]) -> tuple[float, float]:
    ends = [0.0]
    if len(timeline.t_ns):
        ends.append(float(seconds(timeline.t_ns[-1:], info.start_ns)[0]))
    if info.end_ns is not None:
        ends.append((info.end_ns - info.start_ns) / 1e9)
    ends.extend((r.end_ns - info.start_ns) / 1e9 for r in regions)
    hi = max(ends)
    return 0.0, hi if hi > 0 else 1.0


class Timelines:
    """Adds the timeline charts of one run to a page, all on one zoomable time axis."""

    def __init__(
        self, page: Page, info: RunInfo, timeline: Timeline, regions: list[Region]
    ) -> None:
        self.page, self.info, self.tl, self.regions = page, info, timeline, regions
        self.x_domain = _x_domain(info, timeline, regions)
        self.bands = _bands(regions, info.start_ns)
        self.step = min_step_ns(timeline, info.achieved_interval_ns, info.interval_ns)
        self.count = 0

    def secs(self, t_ns: IntArray | FloatArray) -> FloatArray:
        return seconds(t_ns, self.info.start_ns)

    def rate(self, counter: IntArray, scale: float = 1.0) -> tuple[FloatArray, FloatArray]:
        t, r = rate(self.tl.t_ns, counter, self.step, scale)
        return self.secs(t), r

    def chart(
        self,
        title: str,
        y_label: str,
        lines: list[Line],
        *,
        height: float = 170,
        hlines: list[tuple[float, str]] | None = None,
        note: str = "",
        styles: dict[str, str] | None = None,
    ) -> None:
        lines = [ln for ln in lines if len(ln.x_s)]
        if not lines:
            self.page.add(f'<p class="empty">{escape.text(title)}: no samples.</p>')
            return
        lines = _decimate_lines(lines)
        values = [float(v) for ln in lines for v in ln.y[np.isfinite(ln.y)]]
        values += [y for y, _ in (hlines or [])]
        chart = XYChart(
            chart_id=f"tl-{self.count}",
            x_label="time since start (s)",
            y_label=y_label,
            x_domain=self.x_domain,
            y_domain=padded_domain(values, zero=True),
            height=height,
            zoom=ZOOM_GROUP,
            x_unit="s",
            bands=self.bands,
            hlines=hlines or [],
        )
        self.count += 1
        legend = []
        for i, ln in enumerate(lines):
            color = PALETTE[i % len(PALETTE)]
            style = (styles or {}).get(ln.name, "line")
            chart.series.append(Series(ln.name, ln.x_s, ln.y, color, ln.unit, style=style))
            legend.append((ln.name, color, style))
        self.page.figure(chart, title, legend, note)

    def add_all(self) -> None:
        info, tl = self.info, self.tl
        self.lanes()
        self.chart(
            "CPU per core",
            "busy (%)",
            _core_lines(tl, info, self.step),
            note="Machine-wide, from /proc/stat: includes other processes.",
        )
        cpus = info.host.logical_cpus
        # CPU that arrived in one step (a reaped child's) is spread back over the time before
        # it, as in the summary: no interval shows more cores busy than there are.
        x, total = self.rate(derive.spread_cpu(tl.t_ns, tl.cpu_ns, cpus), 1e-9)
        _, user = self.rate(derive.spread_cpu(tl.t_ns, tl.cpu_user_ns, cpus), 1e-9)
        _, sys_ = self.rate(derive.spread_cpu(tl.t_ns, tl.cpu_sys_ns, cpus), 1e-9)
        self.chart(
            "Process-tree CPU",
            "cores busy",
            [
                Line("total", x, total, "cores"),
                Line("user", x, user, "cores"),
                Line("system", x, sys_, "cores"),
            ],
            hlines=[(float(cpus), f"all {cpus} logical CPUs")],
            styles={"total": "area"},
        )
        threads = thread_cpu_lines(tl, info.start_ns, self.step)
        note = (
            f"{threads.hidden} less busy threads are summed into one line."
            if threads.hidden
            else ""
        )
        self.chart("CPU per thread", "cores busy", threads.lines, note=note)
        self.memory()
        self.energy()
        x_all = self.secs(tl.t_ns)
        self.chart(
            "Threads and processes",
            "count",
            [
                Line("threads", x_all, tl.threads.astype(np.float64), ""),
                Line("processes", x_all, tl.processes.astype(np.float64), ""),
            ],
            height=130,
            note="Read from /proc every 100 ms: a thread shorter than that may not show here; the"
            " thread hook's exact maximum is in the cards and every thread is in the CPU per"
            " thread chart.",
        )
        xc, vol = self.rate(tl.ctx_voluntary)
        _, invol = self.rate(tl.ctx_involuntary)
        self.chart(
            "Context switches",
            "per second",
            [Line("voluntary", xc, vol, "/s"), Line("involuntary", xc, invol, "/s")],
            height=130,
        )

    def memory(self) -> None:
        tl = self.tl
        x, xm = self.secs(tl.t_ns), self.secs(tl.mem_t_ns)
        arrays = (tl.rss_bytes, tl.uss_bytes, tl.pss_bytes, tl.swap_bytes)
        peak = max([float(np.max(a)) for a in arrays if len(a)] or [0.0])
        unit, div = fmt.byte_unit(peak)
        lines = [Line("RSS", x, tl.rss_bytes / div, unit)]
        if len(tl.mem_t_ns):
            lines.append(Line("USS", xm, tl.uss_bytes / div, unit))
            lines.append(Line("PSS", xm, tl.pss_bytes / div, unit))
        if len(tl.swap_bytes) and np.any(tl.swap_bytes > 0):
            lines.append(Line("swap", x, tl.swap_bytes / div, unit))
        self.chart(
            "Memory (resident)",
            unit,
            lines,
            note="RSS at every tick; USS and PSS from smaps_rollup at a slower rate.",
        )
        vms_peak = float(np.max(tl.vms_bytes)) if len(tl.vms_bytes) else 0.0
        vunit, vdiv = fmt.byte_unit(vms_peak)
        self.chart(
            "Virtual memory (VMS)",
            vunit,
            [Line("VMS", x, tl.vms_bytes / vdiv, vunit)],
            height=130,
            note="Address space reserved, much of it untouched: a large VMS is not memory in use.",
        )

    def energy(self) -> None:
        info, tl = self.info, self.tl
        if not info.energy_source or len(tl.energy_uj) < 2 or not np.any(tl.energy_uj):
            self.page.add('<p class="empty">Energy: no source was available for this run.</p>')
            return
        estimate = fmt.is_estimate(info.energy_source)
        tag = " (estimate)" if estimate else ""
        source = "Source: " + energy_source_html(info.energy_source, None)
        x, power = self.rate(tl.energy_uj, 1e-6)
        idle = [(info.idle_power_w, "idle power")] if info.idle_power_w is not None else None
        lines = [Line("power", x, power, "W")]
        if tl.machine_energy is not None and len(tl.machine_energy[0]) >= 2:
            # A model fed by the run's own tree CPU; the same model on the machine-wide ticks
            # (other programs' load included, in 10 ms steps) is shown apart, for comparison.
            t_m, uj_m = tl.machine_energy
            tm, pm = rate(t_m, uj_m, self.step, 1e-6)
            lines[0] = Line("power (this run's CPU)", x, power, "W")
            lines.append(Line("machine-wide (all programs)", self.secs(tm), pm, "W"))
            source += escape.text(
                " · The run's power is the model at its own process tree's CPU, every tick;"
                " the machine-wide line is the model at /proc/stat's per-core ticks (every"
                " program on the machine), not part of the run's energy."
            )
        self.chart("Power" + tag, "W", lines, hlines=idle, note=source)
        self.chart(
            "Cumulative energy" + tag,
            "J",
            [Line("energy", self.secs(tl.t_ns), tl.energy_uj / 1e6, "J")],
            height=130,
            note=source,
            styles={"energy": "area"},
        )

    def lanes(self) -> None:
        """One lane per (region name, thread); bars zoom with the timelines, labels follow."""
        regions, start_ns = self.regions, self.info.start_ns
        if not regions:
            self.page.add(
                '<p class="empty">No marked regions: mark one with gilwatt.markers.region().</p>'
            )
            return
        shown = [b.index for b in self.bands]
        lanes: dict[tuple[str, int], int] = {}
        for i in shown:
            lanes.setdefault((regions[i].name, regions[i].tid), len(lanes))
        lane_h = 18.0
        n_lanes = min(len(lanes), MAX_LANES)
        chart = XYChart(
            chart_id="tl-regions",
            x_label="time since start (s)",
            y_label="regions",
            x_domain=self.x_domain,
            y_domain=(0.0, 1.0),
            height=12 + 34 + lane_h * n_lanes + 4,
            zoom=ZOOM_GROUP,
            x_unit="s",
            y_ticks=False,
        )
        sx, _ = chart.scales()
        left, top, _, _ = chart.plot_box
        for i in shown:
            r = regions[i]
            lane = lanes[(r.name, r.tid)]
            if lane >= n_lanes:
                continue
            x0, x1 = sx((r.begin_ns - start_ns) / 1e9), sx((r.end_ns - start_ns) / 1e9)
            y = 2 + lane * lane_h
            begin_s = (r.begin_ns - start_ns) / 1e9
            tip = f"{r.name} (tid {r.tid}): {fmt.duration_ns(r.wall_ns)} from {begin_s:.3f} s"
            chart.plot_extra.append(
                f'<rect class="lane-bar" data-region="{i}" data-tip="{escape.attr(tip)}" '
                f'x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 0.8):.1f}" height="{lane_h - 4:.1f}" '
                f'fill="{PALETTE[lane % len(PALETTE)]}"/>'
            )
            chart.overlay.append(
                f'<text class="lane-label" data-x0="{x0:.1f}" data-x1="{x1:.1f}" '
                f'x="{left + x0 + 3:.1f}" y="{top + y + lane_h - 8:.1f}">{escape.text(r.name)}</text>'
            )
        note = ""
        if len(lanes) > n_lanes or len(shown) < len(regions):
            note = escape.text(
                f"Showing {len(shown)} of {len(regions)} regions in {n_lanes} of {len(lanes)} lanes; "
                "the table lists them all."
            )
        self.page.figure(chart, "Marked regions", None, note)


def _core_lines(timeline: Timeline, info: RunInfo, step: float) -> list[Line]:
    busy = np.asarray(timeline.core_busy, dtype=np.float64)
    if busy.ndim != 2 or busy.shape[0] == 0 or len(timeline.t_ns) != busy.shape[0]:
        return []
    # Drop the extra samples taken at markers: their interval is too short to mean anything.
    keep = np.concatenate([[False], np.diff(timeline.t_ns) >= step])
    x = seconds(timeline.t_ns[keep], info.start_ns)
    busy = busy[keep] * 100.0
    cores = busy.shape[1]
    if cores <= MAX_CORE_LINES:
        return [Line(f"cpu{i}", x, busy[:, i], "%") for i in range(cores)]
    return [
        Line(f"mean of {cores} cores", x, busy.mean(axis=1), "%"),
        Line("busiest core", x, busy.max(axis=1), "%"),
        Line("idlest core", x, busy.min(axis=1), "%"),
    ]


def _decimate_lines(lines: list[Line]) -> list[Line]:
    """Decimate lines that share an x array together, so they keep the same points."""
    groups: dict[int, list[int]] = {}
    for i, ln in enumerate(lines):
        groups.setdefault(id(ln.x_s), []).append(i)
    out: dict[int, Line] = {}
    for idx in groups.values():
        x, ys = decimate(lines[idx[0]].x_s, [lines[i].y.astype(np.float64) for i in idx])
        for i, y in zip(idx, ys, strict=True):
            out[i] = Line(lines[i].name, x, y, lines[i].unit)
    return [out[i] for i in range(len(lines))]


def energy_source_html(source: str, idle_power_w: float | None) -> str:
    if not source:
        return "none (no energy probe was available)"
    html = f"<code>{escape.text(source)}</code>"
    if fmt.is_estimate(source):
        html += ' <span class="badge estimate">estimate</span> modelled from CPU use, not measured'
    if idle_power_w is not None:
        html += escape.text(f" · idle power {fmt.power_w(idle_power_w)}")
    return html
