"""The default target interpreter for benchmarks: the GIL member of the matched pair."""

from __future__ import annotations

import sys


def default_target_python() -> str:
    from gilwatt.interpreters import matched_pair

    found = matched_pair()
    return found[0].executable if found else sys.executable
