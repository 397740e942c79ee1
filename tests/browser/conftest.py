"""Headless Chromium (Debian's package) driven by Playwright, with the network blocked.

Every page is opened from a file:// URL; any other request is recorded and aborted, and the
tests assert none was attempted. Console errors, uncaught exceptions and dialogs are recorded
too, so a test can assert the page ran cleanly and that no injected script fired.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # browser_helpers
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: report_fixtures

from browser_helpers import OpenedPage

CHROMIUM = Path(os.environ.get("GILWATT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is absent: install Debian's chromium package (apt-get install chromium)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[Path], OpenedPage]]:
    contexts = []

    def opener(path: Path, width: int = 1400, height: int = 900) -> OpenedPage:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        opened = OpenedPage(page)

        def route(r: Any) -> None:
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                opened.blocked.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page.on(
            "request",
            lambda req: (
                None if req.url.startswith(("file:", "data:")) else opened.blocked.append(req.url)
            ),
        )
        page.on(
            "console", lambda msg: opened.errors.append(msg.text) if msg.type == "error" else None
        )
        page.on("pageerror", lambda exc: opened.errors.append(str(exc)))

        def dialog(d: Any) -> None:
            opened.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("html[data-gw-ready]", state="attached", timeout=10_000)
        return opened

    yield opener
    for context in contexts:
        context.close()
