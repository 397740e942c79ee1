"""How much memory a run may use: MemAvailable (``Workload.cells`` refuses a cell that would
not fit, with ``model.check_memory``, before anything starts)."""

from __future__ import annotations

from pathlib import Path

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
