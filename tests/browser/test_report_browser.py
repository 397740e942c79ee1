"""The reports in a real browser: every plot renders, nothing is fetched, escaping holds,
hover shows values, timelines zoom together, and the page prints."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import OpenedPage, save_screenshot

import report_fixtures as F
from gilwatt.analysis.result import analyse_data
from gilwatt.report import render_run_report, render_study_report

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def run_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    info, tl, regs, summary = F.run(12.0)
    path = tmp_path_factory.mktemp("run") / "run.html"
    path.write_text(
        render_run_report(info, tl, regs, summary, {"stderr": F.XSS.encode()}), encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def study_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    view = analyse_data(F.study_data(), hosts=[F.host()], interpreters={"ft": F.interpreter()})
    path = tmp_path_factory.mktemp("study") / "study.html"
    path.write_text(render_study_report(view), encoding="utf-8")
    return path


def assert_clean(opened: OpenedPage) -> None:
    assert opened.blocked == [], f"the page tried to fetch: {opened.blocked}"
    assert opened.errors == [], f"console errors: {opened.errors}"
    assert opened.dialogs == [], f"a dialog fired: {opened.dialogs}"


def assert_every_chart_drawn(page: Any) -> int:
    """Each figure has one SVG with a non-empty box and at least one drawn mark."""
    figures = page.locator("figure.chart")
    count = figures.count()
    assert count > 0
    for i in range(count):
        fig = figures.nth(i)
        svg = fig.locator("svg.chart-svg")
        assert svg.count() == 1
        box = svg.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 60
        drawn = fig.locator("path.series, g.mark, rect.lane-bar, circle").count()
        assert drawn > 0, f"chart {i} ({fig.get_attribute('data-chart')}) drew nothing"
    return count


def plot_center(page: Any, chart_id: str, fx: float = 0.5) -> tuple[float, float]:
    page.locator(f"#{chart_id}").scroll_into_view_if_needed()
    box = page.locator(f"#{chart_id} svg.plot").bounding_box()
    assert box is not None
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.5


def test_network_guard_sees_external_requests(open_page: Any, tmp_path: Path) -> None:
    """The guard the other tests rely on: a page that fetches is caught."""
    page = tmp_path / "fetches.html"
    page.write_text('<img src="https://example.invalid/x.png"><html data-gw-ready="0"></html>')
    opened = open_page(page)
    opened.page.wait_for_timeout(200)
    assert any("example.invalid" in url for url in opened.blocked)


def test_run_report_renders_offline_and_escapes(
    open_page: Any, run_html: Path, tmp_path: Path
) -> None:
    opened = open_page(run_html)
    page = opened.page
    assert int(page.get_attribute("html", "data-gw-ready") or 0) == 10
    assert assert_every_chart_drawn(page) == 10
    assert page.locator("rect.lane-bar").count() == 3
    # the hostile region name is shown as text, in the table and as a lane label
    assert page.locator("aside.regions td", has_text=F.XSS).count() == 1
    assert page.get_by_text(F.XSS, exact=True).first.is_visible()
    assert page.locator("script").count() == 2
    save_screenshot(opened, tmp_path, "report-run.png")
    assert_clean(opened)


def test_hover_shows_values_on_every_timeline(open_page: Any, run_html: Path) -> None:
    opened = open_page(run_html)
    page = opened.page
    x, y = plot_center(page, "tl-1")  # process-tree CPU
    page.mouse.move(x, y)
    tip = page.locator("#gw-tip")
    assert tip.is_visible()
    text = tip.inner_text()
    assert re.search(r"t = [\d.]+ s", text)
    assert re.search(r"total: [\d.]+ cores", text)
    assert "region kernel" in text  # the middle of the run is inside the kernel region
    # the crosshair is drawn on every timeline at once
    visible = page.locator("line.crosshair[visibility=visible]").count()
    assert visible == 10
    page.mouse.move(5, 5)
    assert tip.is_hidden()
    assert_clean(opened)


def test_hover_on_a_region_bar_highlights_its_table_row(open_page: Any, run_html: Path) -> None:
    opened = open_page(run_html)
    page = opened.page
    bar = page.locator('rect.lane-bar[data-region="1"]')
    bar.hover()
    assert "kernel" in page.locator("#gw-tip").inner_text()
    assert page.locator('tr.hl[data-region="1"]').count() == 1
    assert_clean(opened)


def test_drag_zooms_all_timelines_and_double_click_resets(open_page: Any, run_html: Path) -> None:
    opened = open_page(run_html)
    page = opened.page
    before = page.locator("#tl-3 g.xaxis text").all_text_contents()
    x0, y = plot_center(page, "tl-0", 0.25)
    x1, _ = plot_center(page, "tl-0", 0.5)
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=5)
    page.mouse.up()
    boxes = page.eval_on_selector_all("svg.plot", "els => els.map(e => e.getAttribute('viewBox'))")
    zoomed = [b for b in boxes if not b.startswith("0 ")]
    assert len(zoomed) == 10, boxes  # every timeline, including the region lanes
    after = page.locator("#tl-3 g.xaxis text").all_text_contents()
    assert after != before
    assert float(after[0]) >= 3.0 and float(after[-1]) <= 6.0  # about 3 s .. 6 s of 12 s
    assert page.locator("button.reset-zoom").is_enabled()
    page.mouse.dblclick(x0, y)
    boxes = page.eval_on_selector_all("svg.plot", "els => els.map(e => e.getAttribute('viewBox'))")
    assert all(b.startswith("0 ") for b in boxes)
    assert page.locator("button.reset-zoom").is_disabled()
    assert_clean(opened)


def test_study_report_renders_offline(open_page: Any, study_html: Path, tmp_path: Path) -> None:
    opened = open_page(study_html)
    page = opened.page
    count = assert_every_chart_drawn(page)
    assert count >= 13  # 4 forest + 4 memory + 2×2 scaling + energy-time
    assert page.locator("div.finding").count() == 6
    assert page.locator("#energy-time g.mark").count() == 59  # every valid run
    assert page.get_by_text("quick " + F.XSS, exact=True).is_visible()
    save_screenshot(opened, tmp_path, "report-study.png")
    assert_clean(opened)


def test_hover_on_a_forest_mark_shows_the_ratio(open_page: Any, study_html: Path) -> None:
    opened = open_page(study_html)
    page = opened.page
    mark = page.locator("#forest-sequential g.mark").first
    mark.hover()
    text = page.locator("#gw-tip").inner_text()
    assert re.search(r"time: ft/gil = [\d.]+×", text)
    assert "95% CI" in text
    assert_clean(opened)


def test_print_hides_controls_and_makes_a_pdf(
    open_page: Any, run_html: Path, tmp_path: Path
) -> None:
    opened = open_page(run_html)
    page = opened.page
    page.emulate_media(media="print")
    assert page.locator(".toolbar").is_hidden()
    pdf = page.pdf(format="A4")
    assert pdf[:5] == b"%PDF-" and len(pdf) > 20_000
    (tmp_path / "run.pdf").write_bytes(pdf)
    assert_clean(opened)


def test_injected_inline_script_is_blocked_by_the_page_policy(
    open_page: Any, run_html: Path, tmp_path: Path
) -> None:
    """Defence in depth: even markup that escaped escaping could not run a script."""
    html = run_html.read_text(encoding="utf-8")
    hostile = tmp_path / "hostile.html"
    hostile.write_text(
        html.replace("<main>", "<main><script>alert('csp')</script><img src=x onerror=alert(2)>", 1)
    )
    opened = open_page(hostile)
    opened.page.wait_for_timeout(200)
    assert opened.dialogs == []
    assert any("Content Security Policy" in e for e in opened.errors)


@pytest.mark.skipif(
    not os.environ.get("GILWATT_REPORT_HTML"),
    reason="set GILWATT_REPORT_HTML to check a real report",
)
def test_a_real_report(open_page: Any, tmp_path: Path) -> None:
    """Checks a report made by a real profile or study, e.g. the quick study's, and saves its
    screenshot (to $GILWATT_SCREENSHOT_DIR when set, for the README)."""
    path = Path(os.environ["GILWATT_REPORT_HTML"])
    opened = open_page(path)
    assert_every_chart_drawn(opened.page)
    assert path.stat().st_size < 2_000_000
    save_screenshot(opened, tmp_path, f"report-{path.stem}.png")
    assert_clean(opened)
