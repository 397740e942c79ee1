"""Helpers shared by the browser tests (kept out of conftest.py so they import by name)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class OpenedPage:
    page: Any  # playwright.sync_api.Page
    blocked: list[str] = field(default_factory=list)  # non-file requests (all aborted)
    errors: list[str] = field(default_factory=list)  # console errors and page exceptions
    dialogs: list[str] = field(default_factory=list)


def save_screenshot(opened: OpenedPage, tmp_path: Path, name: str) -> Path:
    """Screenshot to the test's tmp dir, and to $GILWATT_SCREENSHOT_DIR (e.g. docs/img) if set."""
    shot = tmp_path / name
    opened.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    target = os.environ.get("GILWATT_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        height = min(opened.page.evaluate("document.documentElement.scrollHeight"), 2200)
        clip = {"x": 0, "y": 0, "width": opened.page.viewport_size["width"], "height": height}
        opened.page.screenshot(path=str(Path(target) / name), full_page=True, clip=clip)
    return shot
