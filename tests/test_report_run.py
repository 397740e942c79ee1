"""The run report, rendered from synthetic records: content, escaping, size, edge cases."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np

import report_fixtures as F
from gilwatt.report import render_run_report
from gilwatt.report.run_page import gil_state

SVG_RE = re.compile(r'<svg class="chart-svg.*?</svg></figure>', re.S)


def page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="gw-data">(.*?)</script>', html, re.S)
    assert m
    return json.loads(m.group(1))


def chart_svgs(html: str) -> list[ET.Element]:
    """Every chart's SVG, parsed as XML: escaping mistakes make this fail."""
    return [ET.fromstring(m.group(0)[: -len("</figure>")]) for m in SVG_RE.finditer(html)]


def test_run_report_has_metadata_charts_and_region_table() -> None:
    info, tl, regs, summary = F.run()
    html = render_run_report(info, tl, regs, summary, {"stdout": b"out <b>put</b>", "stderr": b""})
    for text in ("cpython 3.13.5", "free-threaded build", "testhost", "2 logical CPUs",
                 "achieved 10.20 ms", "idle power 12.5 W", "PYTHON_GIL=0"):  # fmt: skip
        assert text in html, text
    titles = re.findall(r'<span class="title">(.*?)</span>', html)
    assert titles == [
        "Marked regions", "CPU per core", "Process-tree CPU", "CPU per thread", "Memory (resident)",
        "Virtual memory (VMS)", "Power (estimate)", "Cumulative energy (estimate)",
        "Threads and processes", "Context switches",
    ]  # fmt: skip
    svgs = chart_svgs(html)
    assert len(svgs) == len(titles)
    data = page_data(html)
    assert len(data["charts"]) == len(titles)
    # all timelines share one time axis and zoom together
    assert {tuple(c["xd"]) for c in data["charts"]} == {(0.0, 3.0)}
    assert {c["zoom"] for c in data["charts"]} == {"timeline"}
    # regions: three in the table, shaded on every timeline
    assert html.count('<tr data-region="') == 3
    assert all(len(c["b"]) == 3 for c in data["charts"] if c["id"] != "tl-regions")
    assert "workers" in html  # region attrs shown


def test_estimated_energy_is_labelled_as_an_estimate() -> None:
    info, tl, regs, summary = F.run()
    html = render_run_report(info, tl, regs, summary)
    assert "model:ccf-linear" in html
    assert html.count("estimate") >= 4
    measured = render_run_report(replace(info, energy_source="rapl:package-0"), tl, regs, summary)
    assert "Power (estimate)" not in measured and "Power" in measured


def test_hostile_strings_are_escaped_everywhere() -> None:
    info, tl, regs, summary = F.run()
    html = render_run_report(info, tl, regs, summary, {"stderr": F.XSS.encode()})
    # exactly two script elements: the JSON data and the page's own script
    assert len(re.findall(r"<script", html)) == 2
    assert "alert(1)" in html  # the text is there, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    data = page_data(html)
    assert any(F.XSS in c[2] for chart in data["charts"] for c in chart["b"])
    chart_svgs(html)  # well-formed


def test_long_run_is_decimated_but_keeps_its_peak_and_stays_small() -> None:
    info, _, _, _ = F.run()
    tl = F.timeline(duration_s=600.0, threads=8)
    info = replace(info, end_ns=F.START_NS + int(600e9))
    html = render_run_report(info, tl, F.regions(600.0), None)
    assert len(html.encode()) < 1_500_000
    data = page_data(html)
    for chart in data["charts"]:
        for xs in chart["xs"]:
            assert len(xs) <= 1700
    memory = next(c for c in data["charts"] if c["s"] and c["s"][0]["n"] == "RSS")
    assert max(memory["s"][0]["y"]) == 400  # the one-sample 400 MiB peak survived


def test_run_without_regions_energy_or_summary_still_renders() -> None:
    info, tl, _, _ = F.run()
    empty = replace(tl, energy_uj=np.zeros_like(tl.energy_uj))
    html = render_run_report(replace(info, energy_source="", warnings=[]), empty, [], None)
    assert "No marked regions" in html
    assert "no source was available" in html
    assert "Warnings" not in html
    chart_svgs(html)


def test_run_with_a_single_sample() -> None:
    info, _, _, _ = F.run()
    one = F.timeline(duration_s=0.0, marker_samples=False)
    html = render_run_report(replace(info, end_ns=info.start_ns), one, [], None)
    assert "no samples" in html
    chart_svgs(html)


def test_gil_state_flags_a_gil_re_enabled_on_a_free_threaded_build() -> None:
    info, _, regs, _ = F.run()
    text, warn = gil_state(info, regs)
    assert text.startswith("disabled") and not warn
    reenabled = [replace(r, gil_begin=True, gil_end=True) for r in regs]
    text, warn = gil_state(info, reenabled)
    assert warn and "re-enabled" in text
    forced = replace(info, env={"PYTHON_GIL": "1"})
    assert gil_state(forced, reenabled) == ("enabled · free-threaded build, PYTHON_GIL=1", False)
