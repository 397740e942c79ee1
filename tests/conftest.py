from __future__ import annotations

import os
import signal

import pytest

from pythons import pair


def pytest_sessionstart(session: pytest.Session) -> None:
    # A job started in the background by a non-interactive shell (nohup, `&`, some CI runners)
    # starts with SIGINT ignored, and exec'd children inherit that. The Ctrl-C tests need the
    # disposition a terminal gives: a handler here, so every child starts with the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get("GILWATT_REQUIRE_PAIR") == "1" and pair() is None:
        raise pytest.UsageError(
            "no matched GIL / free-threaded interpreter pair found (GILWATT_REQUIRE_PAIR=1). "
            "Run 'gilwatt interpreters provision' first."
        )
