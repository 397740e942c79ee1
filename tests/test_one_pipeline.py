"""One analysis behind ``compare``, ``report`` and ``plot``: what each shows of the golden
study is the same number, verdict and stability, because all three draw one StudyResult."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import textwrap
from html import unescape
from pathlib import Path

import pytest

from analysis_fixtures import build_golden_store
from gilwatt.cli import main
from gilwatt.report import fmt
from gilwatt.report.chartspec import Chart, Point, RowPlot, RowPoint, XYPlot

TIP = re.compile(r'data-tip="([^"]*)"')
RATIO_TITLES = {
    "time_s": "time",
    "energy_j": "energy",
    "power_w": "power",
    "peak_rss_bytes": "peak RSS",
    "peak_vms_bytes": "peak VMS",
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    tmp = tmp_path_factory.mktemp("one")
    store = build_golden_store(tmp / "study.db")
    json_path, html_path = tmp / "compare.json", tmp / "study.html"
    assert main(["compare", str(store), "--format", "json", "-o", str(json_path)]) == 0
    assert main(["report", str(store), "-o", str(html_path)]) == 0
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    return doc, html_path.read_text(encoding="utf-8"), store


def _expected_tip_tail(c: dict) -> str:
    est = c["estimate"]
    has_ci = est["t_low"] is not None and est["t_high"] is not None and est["n"] > 1
    ci = (
        f"95% CI {fmt.ratio(est['t_low'])}–{fmt.ratio(est['t_high'])}"
        if has_ci
        else ("no interval (1 pair)")
    )
    p = "" if c["p_adjusted"] is None else f", adjusted p {c['p_adjusted']:.3g}"
    return f"= {fmt.ratio(est['geomean'])}\n{ci}, {est['n']} pairs{p}\n{c['verdict']}"


def test_report_forest_tooltips_equal_compare_json(outputs: tuple[dict, str, Path]) -> None:
    doc, html, _store = outputs
    tips = [unescape(t) for t in TIP.findall(html)]
    checked = 0
    for c in doc["comparisons"]:
        if c["base"] != "gil" or c["metric"] not in RATIO_TITLES or c["estimate"] is None:
            continue
        title = RATIO_TITLES[c["metric"]]
        lead = f" ×{c['workers']} · {title}: {c['mode']}/gil "
        own = re.compile(re.escape(c["workload"]) + r"( · [^×]*)? ×")
        found = [t for t in tips if lead in t.splitlines()[0] and own.match(t)]
        matching = [t for t in found if t.endswith(_expected_tip_tail(c))]
        assert matching, (c["workload"], c["workers"], title, c["mode"], found)
        checked += 1
    assert checked >= 20  # every ratio cell of the golden study, not a lucky few


def test_report_verdicts_and_stabilities_equal_compare_json(
    outputs: tuple[dict, str, Path],
) -> None:
    doc, html, _store = outputs
    shown = re.findall(
        r'<div class="finding"><span class="badge \w+">([^<]+)</span>'
        r'<span class="note">([^<]*)</span> <strong>(\d+)\. ',
        html,
    )
    assert len(shown) == len(doc["findings"]) == 6
    for (verdict, stability, number), f in zip(shown, doc["findings"], strict=True):
        assert int(number) == f["number"]
        assert unescape(verdict) == f["verdict"]
        expected = "" if f["stability"] is None else f" stability {f['stability']:.2f}"
        assert stability == expected


def test_plot_draws_the_geometric_means_of_compare_json(outputs: tuple[dict, str, Path]) -> None:
    pytest.importorskip("matplotlib")
    from gilwatt.analysis.result import analyse_study
    from gilwatt.report import figures

    doc, _html, store = outputs
    fig = figures.ratios_figure(analyse_study(store))
    drawn = sorted(
        float(line.get_xdata()[0])
        for ax in fig.axes
        for line in ax.get_lines()
        if len(line.get_xdata()) == 1 and line.get_marker() not in ("None", None, "")
    )
    expected = sorted(
        c["estimate"]["geomean"]
        for c in doc["comparisons"]
        if c["base"] == "gil" and c["metric"] in RATIO_TITLES and c["estimate"] is not None
    )
    assert len(drawn) == len(expected) > 20
    for got, want in zip(drawn, expected, strict=True):
        assert math.isclose(got, want, rel_tol=1e-12)


BLOCK_MATPLOTLIB = """
import sys

class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Blocker())
"""


def test_plot_without_matplotlib_names_the_extra(
    outputs: tuple[dict, str, Path], tmp_path: Path
) -> None:
    _doc, _html, store = outputs
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(BLOCK_MATPLOTLIB))
    env = {"PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"}
    argv = ["plot", str(store), "--kind", "ratios", "-o", str(tmp_path / "r.svg")]
    proc = subprocess.run(
        [sys.executable, "-m", "gilwatt", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "gilwatt: error: gilwatt plot needs matplotlib, which is not installed. "
        "Install it with: pip install 'gilwatt[plot]'"
    )
    assert not (tmp_path / "r.svg").exists()
    # the report needs no matplotlib: it draws its own SVG
    html = tmp_path / "s.html"
    proc = subprocess.run(
        [sys.executable, "-m", "gilwatt", "report", str(store), "-o", str(html)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in html.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def described(outputs: tuple[dict, str, Path]) -> tuple[Chart, Chart]:
    """One forest and one speed-up description of the golden study."""
    from gilwatt.analysis.result import analyse_study
    from gilwatt.report.study_charts import forest_chart, speedup_chart, speedup_groups

    result = analyse_study(outputs[2])
    forest = forest_chart(result, result.analysis.cells, "forest-all")
    assert forest is not None
    title, group = next((t, g) for t, g in speedup_groups(result) if any(c.speedup for c in g))
    return forest, speedup_chart(result, title, group, "speedup-one")


def _labels(chart: Chart) -> list[str]:
    plot = chart.plot
    texts = [chart.title, *(i.label for i in chart.legend), *chart.notes]
    texts += [chart.estimate] if chart.estimate else []
    if isinstance(plot, RowPlot):
        texts += [*plot.rows, *(plot.sublabels or []), *(p.title for p in plot.panels)]
    else:
        assert isinstance(plot, XYPlot)
        texts += [plot.x_label, plot.y_label, *(plot.x_ticks or {}).values()]
        texts += [label for _y, label in plot.hlines]
    return texts


def test_both_backends_draw_one_description(described: tuple[Chart, Chart], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from gilwatt.report import figures
    from gilwatt.report.chart_svg import add_chart
    from gilwatt.report.html import Page

    for chart in described:
        page = Page(title="t", kind="study")
        add_chart(page, chart)
        html = unescape(page.render())
        missing = [t for t in _labels(chart) if t not in html]
        assert missing == [], chart.chart_id
        assert sorted(unescape(t) for t in TIP.findall(page.render())) == sorted(
            p.tip for p in _points(chart)
        )

        fig = figures.chart_figure(chart)
        assert fig.get_suptitle() == chart.title
        drawn = [
            float(line.get_xdata()[0] if isinstance(chart.plot, RowPlot) else line.get_ydata()[0])
            for ax in fig.axes
            for line in ax.get_lines()
            if len(line.get_xdata()) == 1 and line.get_marker() not in ("None", None, "")
        ]
        assert drawn == chart.values()
        legend = [
            t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()
        ]
        assert legend == [i.label for i in chart.legend]
        if isinstance(chart.plot, RowPlot):
            assert [ax.get_title() for ax in fig.axes] == [p.title for p in chart.plot.panels]
            ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
            subs = chart.plot.sublabels or []
            assert ticks == [f"{r} {s}" for r, s in zip(chart.plot.rows, subs, strict=True)]
        else:
            assert isinstance(chart.plot, XYPlot)
            (ax,) = fig.axes
            assert (ax.get_xlabel(), ax.get_ylabel()) == (chart.plot.x_label, chart.plot.y_label)
            assert [t.get_text() for t in ax.get_xticklabels()] == list(
                (chart.plot.x_ticks or {}).values()
            )
        png = figures.save(fig, tmp_path / f"{chart.chart_id}.png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = figures.save(fig, tmp_path / f"{chart.chart_id}.svg")
        assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def _points(chart: Chart) -> list[RowPoint | Point]:
    if isinstance(chart.plot, RowPlot):
        return [p for panel in chart.plot.panels for p in panel.points]
    return list(chart.plot.points)
