"""Machine-wide busy time of each core from ``/proc/stat`` (clock ticks, ``CLK_TCK`` per second).

Per core: busy = user + nice + system + irq + softirq; total = busy + idle + iowait + steal.
``guest`` and ``guest_nice`` are already inside user and nice, so they are not added again.
Steal (time the hypervisor ran something else on this vCPU) counts toward the total but not
toward busy: the core did no work for anyone here.
"""

from __future__ import annotations

import os
from pathlib import Path

from gilwatt.errors import ProbeUnavailable
from gilwatt.probes import Availability

READ_SIZE = 1 << 16  # /proc/stat grows with cores and interrupts; one read must get the cpu lines


def available(root: Path = Path("/")) -> Availability:
    path = root / "proc" / "stat"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Availability(False, f"cannot read {path}: {exc.strerror}")
    if not parse_cores(data):
        return Availability(False, f"{path} has no per-core cpuN lines")
    return Availability(True, str(path))


def parse_cores(data: bytes) -> list[tuple[int, int]]:
    """(busy_ticks, total_ticks) per core, in the order of the cpuN lines."""
    cores: list[tuple[int, int]] = []
    for line in data.split(b"\n")[1:]:
        if not line.startswith(b"cpu"):
            break  # the cpuN lines are contiguous after the aggregate "cpu" line
        f = line.split()
        user, nice, system, idle, iowait, irq, softirq = (int(x) for x in f[1:8])
        steal = int(f[8]) if len(f) > 8 else 0
        busy = user + nice + system + irq + softirq
        cores.append((busy, busy + idle + iowait + steal))
    return cores


class CoreStatReader:
    """Keeps ``/proc/stat`` open; :meth:`read` returns the per-core (busy, total) ticks."""

    def __init__(self, root: Path = Path("/")) -> None:
        self.path = root / "proc" / "stat"
        try:
            self._fd: int | None = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise ProbeUnavailable("cpu", f"cannot open {self.path}: {exc.strerror}") from exc
        first = self.read()
        if not first:
            self.close()
            raise ProbeUnavailable("cpu", f"{self.path} has no per-core cpuN lines")
        self.cores = len(first)

    def read_raw(self) -> bytes:
        if self._fd is None:
            raise ProbeUnavailable("cpu", f"{self.path} is closed")
        return os.pread(self._fd, READ_SIZE, 0)

    def read(self) -> list[tuple[int, int]]:
        return parse_cores(self.read_raw())

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
