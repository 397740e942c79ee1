"""Data sources read by the sampler, one module per source.

- :mod:`gilwatt.probes.procfs`: processes and threads of the target tree (``/proc/<pid>/...``).
- :mod:`gilwatt.probes.cpu`: machine-wide per-core busy time (``/proc/stat``).
- :mod:`gilwatt.probes.memory`: USS / PSS / swap per process (``/proc/<pid>/smaps_rollup``).
- :mod:`gilwatt.probes.rapl`, :mod:`gilwatt.probes.energy_model`: energy (the energy helper's).

Each module has ``available(root) -> Availability``: whether it works on this machine and, if
not, why. Readers take a ``root`` (``/`` on a real machine, a captured fake tree in tests) and
keep their files open, reading them with ``os.pread`` at offset 0, which makes the kernel
regenerate the file's text without an open/close per read.
"""

from __future__ import annotations

from typing import NamedTuple


class Availability(NamedTuple):
    """Whether a probe works here; ``reason`` says why not (or what it reads when it does)."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:  # `if procfs.available(root):` reads naturally
        return self.ok


__all__ = ["Availability"]
