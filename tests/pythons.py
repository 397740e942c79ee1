"""The target interpreters the tests run: the matched GIL / free-threaded pair.

The pair is the one `make test` provisions (or finds): `gilwatt.interpreters.matched_pair()`.
Without a pair, tests that need one skip, unless GILWATT_REQUIRE_PAIR=1 (set by `make test`
and so by CI), where the session fails at once instead of silently skipping them.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

MISSING = Path("/nonexistent/gilwatt-test-python")
PY39 = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions/3.9.18/bin/python"


@functools.cache
def pair() -> tuple[Path, Path] | None:
    from gilwatt.interpreters import matched_pair

    found = matched_pair()
    if found is None:
        return None
    return Path(found[0].executable), Path(found[1].executable)


def gil_python() -> Path:
    found = pair()
    return found[0] if found else MISSING


def ft_python() -> Path:
    found = pair()
    return found[1] if found else MISSING
