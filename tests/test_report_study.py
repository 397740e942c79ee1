"""The study report, from synthetic study data run through the real analysis."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import report_fixtures as F
from gilwatt.analysis.result import analyse_data, find_gaps
from gilwatt.report import render_study_report


@pytest.fixture(scope="module")
def view():
    return analyse_data(F.study_data(), hosts=[F.host()], interpreters={"ft": F.interpreter()})


@pytest.fixture(scope="module")
def html(view) -> str:
    return render_study_report(view)


def svgs(html: str) -> list[ET.Element]:
    found = re.findall(r'<svg class="chart-svg.*?</svg>(?=</figure>)', html, re.S)
    return [ET.fromstring(s) for s in found]


def test_every_family_has_a_forest_plot_and_a_memory_chart(html: str) -> None:
    for family in ("sequential", "numpy", "threaded-numerical", "threaded-objects"):
        assert f'id="forest-{family}"' in html
        assert f'id="memory-{family}"' in html
    assert len(svgs(html)) >= 8


def test_forest_plot_shows_the_analysis_ratio_and_interval(view, html: str) -> None:
    cell = next(cs.cell for cs in view.analysis.cells if cs.cell.workload == "mandelbrot")
    comp = view.analysis.get(cell, "ft", "gil", "time_s")
    assert comp is not None and comp.estimate is not None and comp.estimate.has_ci
    est = comp.estimate
    assert 1.15 < est.geomean < 1.35  # the fixture makes sequential code 25% slower on ft
    tip = f"mandelbrot ×1 · time: ft/gil = {est.geomean:.3g}×"
    assert tip in html
    assert f"95% CI {est.t_low:.3g}×–{est.t_high:.3g}×" in html


def test_scaling_charts_with_fits_for_multi_worker_workloads(html: str) -> None:
    assert html.count('id="speedup-') == 2  # factorial and json_parse
    assert html.count('id="time-') == 2
    assert "USL σ=" in html or "Amdahl serial fraction" in html
    assert "ideal (S = N)" in html


def test_energy_time_regression_and_estimate_note(view, html: str) -> None:
    assert 'id="energy-time"' in html
    fit = view.energy_time.energy_vs_time
    assert fit is not None
    assert "R² = " in html and "energy = " in html
    assert "modelled from CPU use" in html


def test_findings_are_listed_with_verdicts(view, html: str) -> None:
    assert len(view.findings) == 6
    for f in view.findings:
        assert f"{f.number}. " in html
    assert html.count('class="finding"') == 6


def test_missing_cells_and_excluded_runs_are_listed(view, html: str) -> None:
    assert any("json_parse" in g and "× 2 workers, mode ft" in g for g in view.gaps)
    assert "Missing cells (1)" in html
    assert "Excluded runs (4)" in html  # 3 failed json_parse ×2 ft, 1 invalid factorial ×4 ft
    assert "GIL enabled at region begin in mode ft" in html


def test_hostile_strings_are_escaped(html: str) -> None:
    assert len(re.findall(r"<script", html)) == 2
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_study_with_one_mode_renders_what_exists() -> None:
    data = F.study_data(modes=("gil",))
    html = render_study_report(analyse_data(data))
    assert "No mode to compare against the GIL build" in html
    assert 'id="memory-sequential"' in html
    assert html.count('class="finding"') == 6


def test_study_without_energy_explains_it() -> None:
    data = F.study_data(energy_source="")
    for run in data.runs:
        run.metrics.update(energy_j=None, power_w=None)
    html = render_study_report(analyse_data(data))
    assert 'id="energy-time"' not in html
    assert "no valid run has an energy figure" in html
    svgs(html)


def test_gaps_name_the_reason() -> None:
    data = F.study_data(blocks=1)
    gaps = find_gaps(data)
    assert len(gaps) == 1
    assert gaps[0].startswith("json_parse [records=1000 tag=")
    assert "1× failed: exit code 1" in gaps[0]
