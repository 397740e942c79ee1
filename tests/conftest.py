from __future__ import annotations

import os

import pytest

from pythons import pair


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("GILWATT_REQUIRE_PAIR") == "1" and pair() is None:
        raise pytest.UsageError(
            "no matched GIL / free-threaded interpreter pair found (GILWATT_REQUIRE_PAIR=1). "
            "Run 'gilwatt interpreters provision' first."
        )
