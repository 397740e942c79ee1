"""Units: how gilwatt prints and parses durations, sizes, energies, powers and ratios.

One answer to "how is 1.5 ms printed": the terminal summary, the tables and the HTML report
all format through here, so the same value reads the same everywhere. Stdlib only.

Parsing: one duration grammar for every option and study file (``parse_duration_ns``): a
number of seconds or a number with a unit (``ns us µs ms s sec m min h``), and, where an
interval is meant, a rate (``100hz``, ``1khz``).
"""

from __future__ import annotations

import datetime as dt
import math
import re

from gilwatt.errors import ConfigError

MISSING = "–"  # a value the data does not have

_BYTE_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# -- formatting -------------------------------------------------------------------------------


def format_duration_ns(value: float | None, *, coarse: bool = False) -> str:
    """``2 min 30 s``, ``1.234 s``, ``1.50 ms``, ``250.0 µs``; ``coarse``: whole seconds
    (``45 s``, ``2 min 05 s``, ``1 h 05 min``), for elapsed times and estimates."""
    if value is None or not math.isfinite(value):
        return MISSING
    s = value / 1e9
    if coarse or abs(s) >= 120:
        whole = round(abs(s))
        sign = "-" if s < 0 and whole else ""
        if whole >= 3600:
            return f"{sign}{whole // 3600} h {whole % 3600 // 60:02d} min"
        if whole >= 60 and coarse:
            return f"{sign}{whole // 60} min {whole % 60:02d} s"
        if whole >= 60:
            return f"{sign}{whole // 60} min {whole % 60} s"
        return f"{sign}{whole} s"
    if abs(s) >= 1:
        return f"{s:.3f} s"
    if abs(s) >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def byte_unit(max_bytes: float) -> tuple[str, float]:
    """The unit to plot a byte series in (at least two of them at the top), and its divisor."""
    for name, size in _BYTE_UNITS:
        if max_bytes >= 2 * size:
            return name, float(size)
    return "B", 1.0


def format_bytes(value: float | None) -> str:
    """``1.5 KiB``, ``512 B``: binary units, one decimal."""
    if not _finite(value):
        return MISSING
    assert value is not None
    for name, size in _BYTE_UNITS:
        if abs(value) >= size:
            return f"{value / size:.1f} {name}"
    return f"{value:.0f} B"


def format_energy_uj(value: float | None) -> str:
    """``3.21 J``, ``45.6 J``, ``1.23 kJ`` from microjoules."""
    if not _finite(value):
        return MISSING
    assert value is not None
    j = value / 1e6
    if abs(j) >= 1000:
        return f"{j / 1000:.2f} kJ"
    return f"{j:.3g} J" if abs(j) < 10 else f"{j:.1f} J"


def format_power_w(value: float | None) -> str:
    if not _finite(value):
        return MISSING
    assert value is not None
    return f"{value:.3g} W" if abs(value) < 10 else f"{value:.1f} W"


def format_ratio(value: float | None) -> str:
    """``1.73×``: a ratio of two measurements (new / old)."""
    if not _finite(value):
        return MISSING
    assert value is not None
    return f"{value:.3g}×" if value < 10 else f"{value:.1f}×"


def format_number(value: float | None, digits: int = 3) -> str:
    """``digits`` significant figures (``0.953``, ``1.2e+03`` never for counts: use str)."""
    if not _finite(value):
        return MISSING
    return f"{value:.{digits}g}"


def format_short(value: float | None, digits: int = 3) -> str:
    """A short number for axis ticks and tooltips: 0.25, 12.5, 1500, 2.5e+06."""
    if not _finite(value):
        return MISSING
    assert value is not None
    if value == 0:
        return "0"
    mag = abs(value)
    if mag >= 1e6 or mag < 1e-3:
        return f"{value:.{max(digits - 1, 1)}e}"
    decimals = max(digits - 1 - math.floor(math.log10(mag)), 0)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_cores(value: float | None) -> str:
    """CPU utilisation in cores (1.00 = one core busy all the time)."""
    return MISSING if not _finite(value) else f"{value:.2f}"


def format_fixed(value: float | None, digits: int = 3) -> str:
    """Table cells: fixed decimals chosen by magnitude (12.34 -> 12.3, 1234.5 -> 1234, 0.5 ->
    0.500) and ``digits`` significant figures below 0.1 (0.003124 -> 0.00312), never
    scientific, so a column's numbers line up."""
    if not _finite(value):
        return MISSING
    assert value is not None
    mag = abs(value)
    if mag < 1e-9:
        return f"{0.0:.{digits}f}"  # no "-0.000"
    if mag >= 1000:
        return f"{value:.0f}"
    if mag >= 100:
        return f"{value:.1f}"
    if mag >= 10:
        return f"{value:.2f}"
    if mag >= 0.1:
        return f"{value:.{digits}f}"
    decimals = min(digits - 1 - math.floor(math.log10(mag)), 12)
    return f"{value:.{decimals}f}"


def format_unix_ns(value: int | None) -> str:
    if not value:
        return MISSING
    moment = dt.datetime.fromtimestamp(value / 1e9, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def is_estimate(energy_source: str) -> bool:
    """Energy from a model (``model:*``) is an estimate, not a measurement."""
    return energy_source.startswith("model:")


# -- parsing ----------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*([a-zµ]*)\s*$", re.IGNORECASE)
_TIME_UNITS = {"": 1e9, "s": 1e9, "sec": 1e9, "ms": 1e6, "us": 1e3, "µs": 1e3, "ns": 1.0,
               "m": 60e9, "min": 60e9, "h": 3600e9}  # fmt: skip
_RATE_UNITS = {"hz": 1.0, "khz": 1e3}


def parse_duration_ns(
    text: object, option: str, *, rates: bool = False, allow_zero: bool = False
) -> int:
    """``"10ms"``, ``"1.5s"``, ``"1min"``, ``"2h"`` or a number of seconds (a TOML number too),
    as nanoseconds; with ``rates`` an interval may be a rate (``"100hz"``). Zero only with
    ``allow_zero``. ConfigError naming ``option`` otherwise."""
    forms = "10ms, 0.01 (seconds), 100hz" if rates else "2s, 500ms, 1min, 1.5"
    value: float | None = None
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text) * 1e9
    elif isinstance(text, str) and (match := _DURATION.match(text)):
        number, unit = float(match.group(1)), match.group(2).lower()
        if unit in _TIME_UNITS:
            value = number * _TIME_UNITS[unit]
        elif rates and unit in _RATE_UNITS and number > 0:
            value = 1e9 / (number * _RATE_UNITS[unit])
    if value is None or not math.isfinite(value):
        raise ConfigError(f"{option} ({text!r}): not a duration.", hint=f"Write it like {forms}.")
    if value < 0 or (value == 0 and not allow_zero):
        need = "zero or more" if allow_zero else "more than zero"
        raise ConfigError(f"{option} ({text!r}) must be {need}.", hint=f"Write it like {forms}.")
    return round(value)
