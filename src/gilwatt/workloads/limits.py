"""Refuse a run that would not fit in memory, before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gilwatt.errors import ConfigError

if TYPE_CHECKING:
    from gilwatt.workloads.model import Cell

MEMINFO = Path("/proc/meminfo")


def memory_available(meminfo: Path = MEMINFO) -> int | None:
    """MemAvailable in bytes, or None where /proc/meminfo does not say (no check then)."""
    try:
        text = meminfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            fields = line.split()
            try:
                return int(fields[1]) * 1024  # the kernel reports kB (KiB)
            except (IndexError, ValueError):
                return None
    return None


def check_memory(cell: Cell, available_bytes: int) -> None:
    """ConfigError if the cell's estimated peak memory exceeds ``available_bytes``."""
    need = cell.workload.estimate(cell.params, cell.workers)
    if need is None or need <= available_bytes:
        return
    raise ConfigError(
        f"{cell.label()}: needs about {_gib(need)} of memory but only {_gib(available_bytes)} "
        "is available (MemAvailable in /proc/meminfo).",
        hint="Use a smaller size (--param, or --preset quick) or free memory first.",
    )


def _gib(count: int) -> str:
    if count >= 1 << 30:
        return f"{count / (1 << 30):.1f} GiB"
    return f"{count / (1 << 20):.0f} MiB"
