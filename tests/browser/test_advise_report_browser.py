"""The advice section of an advise study's report, in Chromium (offline), with a screenshot
(``GILWATT_SCREENSHOT_DIR=docs/img`` keeps it as docs/img/advise-report.png)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import OpenedPage, save_screenshot

import pythons
from advise_fixtures import cext_program


def assert_clean(opened: OpenedPage) -> None:
    assert opened.blocked == [], f"the page tried to fetch: {opened.blocked}"
    assert opened.errors == [], f"console errors: {opened.errors}"
    assert opened.dialogs == [], f"a dialog fired: {opened.dialogs}"


@pytest.mark.skipif(pythons.pair() is None, reason="no GIL / free-threaded pair")
def test_advice_section_renders_the_verdict_readiness_and_candidates(
    open_page: Any, tmp_path: Path
) -> None:
    gil, ft = pythons.pair() or (Path(), Path())
    script = cext_program(str(ft), str(gil), tmp_path)
    subprocess.run(
        [sys.executable, "-m", "gilwatt", "advise", "--budget", "15s", "--workers", "1,2",
         "--max-foreign-cpu", "64", "-o", "advise.db", "--", script.name, "{n}", "600000"],
        cwd=tmp_path, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    opened = open_page(tmp_path / "advise.html")
    page = opened.page
    section = page.locator("section.advice")
    assert section.count() == 1
    assert section.locator("p.verdict strong").inner_text().startswith("Run the GIL build")
    assert section.get_by_text("cext_b", exact=False).first.is_visible()
    assert section.locator("table.advice-candidates tbody tr").count() == 6
    assert page.locator("section.findings-section").count() == 0  # the paper's claims: not here
    save_screenshot(opened, tmp_path, "advise-report.png")
    assert_clean(opened)
