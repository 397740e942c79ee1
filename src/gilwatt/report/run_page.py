"""The report of one profiled run: metadata, summary, timelines on one time axis, regions."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping

from gilwatt.readback import Region, RunInfo, RunSummary, Timeline
from gilwatt.report import escape, fmt
from gilwatt.report.html import Page, definition_list, table
from gilwatt.report.timelines import Timelines, energy_source_html

MAX_TABLE_REGIONS = 1000
OUTPUT_TAIL_BYTES = 8192


def render_run_page(
    info: RunInfo,
    timeline: Timeline,
    regions: list[Region],
    summary: RunSummary | None = None,
    outputs: Mapping[str, bytes] | None = None,
) -> str:
    """The complete HTML of a run report."""
    label = info.label or (shlex.join(info.command) if info.command else "")
    page = Page(title=f"gilwatt run {info.run_id}: {label}"[:200], kind="run")
    page.add(_header(info, label))
    page.add(_metadata(info, regions))
    if info.warnings:
        items = "".join(f"<li>{escape.text(w)}</li>" for w in info.warnings)
        page.add(f'<section class="warnings"><h2>Warnings</h2><ul>{items}</ul></section>')
    if summary is not None:
        page.add(_cards(summary, info))
    page.add(
        '<section class="timelines"><h2>Timelines</h2><div class="layout"><div class="charts">'
    )
    page.add(
        '<div class="toolbar no-print"><button type="button" class="reset-zoom" disabled>Reset zoom</button>'
        "<span>Drag across a chart to zoom all timelines; double-click to reset. "
        "Hover for values.</span></div>"
    )
    Timelines(page, info, timeline, regions).add_all()
    page.add("</div>")
    page.add(_region_table(regions, info))
    page.add("</div></section>")
    if outputs:
        page.add(_outputs(outputs))
    return page.render()


def _header(info: RunInfo, label: str) -> str:
    status_cls = {"ok": "ok", "running": "untested"}.get(info.status, "bad")
    badges = [f'<span class="badge {status_cls}">{escape.text(info.status)}</span>']
    if fmt.is_estimate(info.energy_source):
        badges.append('<span class="badge estimate">energy: estimate</span>')
    return (
        f'<header><h1>Run {info.run_id}<span class="sub">{escape.text(label)}</span></h1>'
        f'<div class="badges">{"".join(badges)}</div></header>'
    )


def gil_state(info: RunInfo, regions: list[Region]) -> tuple[str, bool]:
    """How the GIL was during the run, and whether that contradicts the build (a warning)."""
    interp = info.interpreter
    if interp is None:
        return "not a Python target (or interpreter unknown)", False
    build = "free-threaded build" if interp.free_threaded else "GIL build"
    seen = {r.gil_begin for r in regions} | {r.gil_end for r in regions}
    seen.discard(None)
    forced = info.env.get("PYTHON_GIL")
    parts = [build]
    if forced is not None:
        parts.append(f"PYTHON_GIL={forced}")
    if seen == {True}:
        state = "enabled"
    elif seen == {False}:
        state = "disabled"
    elif seen:
        state = "changed during the run"
    elif interp.gil_enabled is None:
        state = "enabled" if not interp.free_threaded else "unknown"
    else:
        state = ("enabled" if interp.gil_enabled else "disabled") + " (at probe time)"
    surprise = interp.free_threaded and forced != "1" and (True in seen)
    text = f"{state} · {', '.join(parts)}"
    if surprise:
        text += (
            " · the GIL was re-enabled at run time (an extension without free-threading support?)"
        )
    return text, surprise


def _metadata(info: RunInfo, regions: list[Region]) -> str:
    interp = info.interpreter
    gil_text, gil_warn = gil_state(info, regions)
    items: list[tuple[str, str]] = [
        ("Command", f"<code>{escape.text(shlex.join(info.command))}</code>"),
    ]
    if interp is not None:
        items.append(
            (
                "Interpreter",
                escape.text(f"{interp.implementation} {interp.version}")
                + f" · <code>{escape.text(interp.executable)}</code>",
            )
        )
    items.append(
        ("GIL", f'<span class="{"warn" if gil_warn else ""}">{escape.text(gil_text)}</span>')
    )
    host = info.host
    items.append(
        (
            "Host",
            escape.text(
                f"{host.hostname} · {host.cpu_model} · {host.logical_cpus} logical CPUs · "
                f"{fmt.bytes_(host.memory_bytes)} · Linux {host.kernel}"
            ),
        )
    )
    items.append(("Started", escape.text(fmt.unix_ns(info.started_unix_ns))))
    if info.end_ns is not None:
        items.append(("Duration", escape.text(fmt.duration_ns(info.end_ns - info.start_ns))))
    exit_text = (
        f"killed by signal {info.exit_signal}"
        if info.exit_signal
        else f"exit code {info.exit_code}"
    )
    items.append(("Exit", escape.text(f"{info.status} · {exit_text}")))
    achieved = fmt.duration_ns(info.achieved_interval_ns) if info.achieved_interval_ns else "–"
    items.append(
        (
            "Sampling",
            escape.text(
                f"requested every {fmt.duration_ns(info.interval_ns)}, achieved {achieved} on average"
            ),
        )
    )
    items.append(("Energy source", energy_source_html(info.energy_source, info.idle_power_w)))
    if info.env:
        env = " ".join(f"{k}={v}" for k, v in sorted(info.env.items()))
        items.append(("Environment set", f"<code>{escape.text(env)}</code>"))
    if info.attrs:
        items.append(("Annotations", f"<code>{escape.text(_compact(info.attrs))}</code>"))
    if info.study_id is not None:
        items.append(("Study", escape.text(str(info.study_id))))
    return f'<section class="metadata"><h2>Run</h2>{definition_list(items)}</section>'


def _compact(obj: object, limit: int = 400) -> str:
    text = json.dumps(obj, ensure_ascii=False, default=str, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cards(summary: RunSummary, info: RunInfo) -> str:
    wall_s = summary.wall_ns / 1e9
    cards = [
        ("Wall time", fmt.duration_ns(summary.wall_ns)),
        (
            "CPU user + sys",
            f"{fmt.duration_ns(summary.cpu_user_ns)} + {fmt.duration_ns(summary.cpu_sys_ns)}",
        ),
        ("Cores busy", f"{summary.mean_cpu_util:.2f} mean · {summary.peak_cpu_util:.2f} peak"),
        ("Core balance", fmt.number(summary.core_balance, 2)),
        (
            "Peak RSS, largest process" + (" (exact)" if summary.peak_rss_exact else " (read)"),
            fmt.bytes_(summary.peak_rss_bytes),
        ),
        ("Peak tree PSS (sampled)", fmt.bytes_(summary.peak_pss_bytes)),
        ("Peak tree USS (sampled)", fmt.bytes_(summary.peak_uss_bytes)),
        ("Peak VMS", fmt.bytes_(summary.peak_vms_bytes)),
        (
            "Threads (max" + (", exact)" if summary.max_threads_exact else ", sampled)"),
            str(summary.max_threads),
        ),
        ("Context switches", f"{summary.ctx_voluntary} vol · {summary.ctx_involuntary} invol"),
    ]
    if summary.energy_uj is not None:
        est = " (estimate)" if fmt.is_estimate(summary.energy_source) else ""
        power = summary.energy_uj / 1e6 / wall_s if wall_s > 0 else None
        cards.insert(2, ("Energy" + est, fmt.energy_uj(summary.energy_uj)))
        cards.insert(3, ("Mean power" + est, fmt.power_w(power)))
    html = "".join(
        f'<div class="card"><div class="k">{escape.text(k)}</div><div class="v">{escape.text(v)}</div></div>'
        for k, v in cards
    )
    return f'<section class="cards">{html}</section>'


def _region_table(regions: list[Region], info: RunInfo) -> str:
    if not regions:
        return '<aside class="regions"><h3>Regions</h3><p class="empty">none</p></aside>'
    rows, attrs = [], []
    for i, r in enumerate(regions[:MAX_TABLE_REGIONS]):
        util = r.process_cpu_ns / r.wall_ns if r.wall_ns > 0 else None
        gil = "?" if r.gil_begin is None else ("on" if r.gil_begin else "off")
        if r.gil_end is not None and r.gil_end != r.gil_begin:
            gil += "→" + ("on" if r.gil_end else "off")
        detail = f"pid {r.pid} tid {r.tid} · CPU {fmt.duration_ns(r.process_cpu_ns)} · GIL {gil}"
        if r.attrs:
            detail += f" · {_compact(r.attrs, 160)}"
        rows.append(
            [
                str(i),
                escape.text(r.name) + f'<div class="attrs">{escape.text(detail)}</div>',
                escape.text(f"{(r.begin_ns - info.start_ns) / 1e9:.3f}"),
                escape.text(fmt.duration_ns(r.wall_ns)),
                escape.text(fmt.number(util, 3)),
                escape.text(fmt.energy_uj(r.energy_uj)),
                escape.text(fmt.bytes_(r.peak_rss_bytes)),
            ]
        )
        attrs.append(f' data-region="{i}"')
    more = ""
    if len(regions) > MAX_TABLE_REGIONS:
        more = f'<p class="note">{len(regions) - MAX_TABLE_REGIONS} more regions not listed.</p>'
    energy_h = "energy (est.)" if fmt.is_estimate(info.energy_source) else "energy"
    headers = ["#", "region", "start s", "wall", "cores busy", energy_h, "peak RSS"]
    return (
        '<aside class="regions"><h3>Regions</h3>'
        + table(headers, rows, "region-table", attrs)
        + more
        + "</aside>"
    )


def _outputs(outputs: Mapping[str, bytes]) -> str:
    parts = []
    for stream in ("stdout", "stderr"):
        data = outputs.get(stream, b"")
        if not data:
            continue
        tail = data[-OUTPUT_TAIL_BYTES:]
        cut = (
            f" (last {OUTPUT_TAIL_BYTES} of {len(data)} bytes)"
            if len(data) > OUTPUT_TAIL_BYTES
            else ""
        )
        text = tail.decode("utf-8", "replace")
        parts.append(
            f"<details><summary>{stream}{escape.text(cut)}</summary><pre>{escape.text(text)}</pre></details>"
        )
    return f'<section class="output"><h2>Output</h2>{"".join(parts)}</section>' if parts else ""
