"""Human formatting of measured values for report text (never for stored data)."""

from __future__ import annotations

import datetime as dt
import math

_BYTE_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def byte_unit(max_bytes: float) -> tuple[str, float]:
    """The unit to plot a byte series in, and its divisor."""
    for name, size in _BYTE_UNITS:
        if max_bytes >= 2 * size:
            return name, float(size)
    return "B", 1.0


def bytes_(value: float | None) -> str:
    if value is None:
        return "–"
    name, size = byte_unit(abs(value))
    return f"{value / size:.1f} {name}" if size > 1 else f"{value:.0f} B"


def duration_ns(value: float | None) -> str:
    if value is None:
        return "–"
    s = value / 1e9
    if abs(s) >= 120:
        m, sec = divmod(s, 60)
        return f"{int(m)} min {sec:.0f} s"
    if abs(s) >= 1:
        return f"{s:.3f} s"
    if abs(s) >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def energy_uj(value: float | None) -> str:
    if value is None:
        return "–"
    j = value / 1e6
    if abs(j) >= 1000:
        return f"{j / 1000:.2f} kJ"
    return f"{j:.3g} J" if abs(j) < 10 else f"{j:.1f} J"


def power_w(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3g} W" if abs(value) < 10 else f"{value:.1f} W"


def ratio(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3g}×" if value < 10 else f"{value:.1f}×"


def number(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}"


def unix_ns(value: int | None) -> str:
    if not value:
        return "–"
    moment = dt.datetime.fromtimestamp(value / 1e9, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def is_estimate(energy_source: str) -> bool:
    """Energy from a model (``model:*``) is an estimate, not a measurement."""
    return energy_source.startswith("model:")
