"""The three ways a study runs a program, and the one rule of what each must show.

- ``gil``: the default (GIL) build;
- ``ft``: the free-threaded build, GIL off;
- ``ft-gil``: the free-threaded build with ``PYTHON_GIL=1`` (the build's cost, GIL on).

``MODES`` is the one order (tables, charts, legends). A run is a valid measurement of its mode
only if the GIL state the program reported is the mode's; a state the interpreter could not
report does not pass. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Mode(StrEnum):
    GIL = "gil"
    FT = "ft"
    FT_GIL = "ft-gil"


MODES: tuple[Mode, ...] = tuple(Mode)


def interpreter_slot(mode: str) -> str:
    """Which interpreter of the pair runs ``mode``: ``"gil"`` or ``"ft"``."""
    return "gil" if Mode(mode) is Mode.GIL else "ft"


def needs_free_threaded(mode: str) -> bool:
    return Mode(mode) is not Mode.GIL


def expected_gil(mode: str) -> bool:
    """The GIL state ``mode`` must show inside the measured region."""
    return Mode(mode) is not Mode.FT


def gil_word(state: bool | int | None) -> str:
    return "unknown" if state is None else ("on" if state else "off")


def gil_mismatch(mode: str, region: str, edge: str, seen: Iterable[bool | int | None]) -> str:
    """Why the GIL states seen at a region's ``edge`` ("begin"/"end") do not fit ``mode``;
    empty when every one is the mode's (an unknown state never is)."""
    wanted = expected_gil(mode)
    states = {None if s is None else bool(s) for s in seen}
    wrong = sorted((s for s in states if s is not wanted), key=str)
    if not wrong:
        return ""
    shown = "/".join(gil_word(s) for s in wrong)
    where = "start" if edge == "begin" else "end"
    return f"GIL was {shown} at {region} {where}, mode {mode} needs it {gil_word(wanted)}"


def in_order(modes: Iterable[str]) -> list[str]:
    """``modes`` in the one order, modes gilwatt does not know last (sorted)."""
    present = set(modes)
    return [m for m in MODES if m in present] + sorted(present - set(MODES))
