"""The report's names for the formatters of :mod:`gilwatt.units` (one formatting everywhere)."""

from __future__ import annotations

from gilwatt.units import MISSING, byte_unit, is_estimate
from gilwatt.units import format_bytes as bytes_
from gilwatt.units import format_duration_ns as duration_ns
from gilwatt.units import format_energy_uj as energy_uj
from gilwatt.units import format_number as number
from gilwatt.units import format_power_w as power_w
from gilwatt.units import format_ratio as ratio
from gilwatt.units import format_unix_ns as unix_ns

__all__ = [
    "MISSING",
    "byte_unit",
    "bytes_",
    "duration_ns",
    "energy_uj",
    "is_estimate",
    "number",
    "power_w",
    "ratio",
    "unix_ns",
]
