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


def parse_cores(data: bytes, max_cores: int = -1) -> list[tuple[int, int]]:
    """(busy_ticks, total_ticks) per core, in the order of the cpuN lines.

    ``max_cores`` (when the count is known) stops the line split before the long lines that
    follow the cpu lines (intr, softirq); a core beyond it is still found.
    """
    cores: list[tuple[int, int]] = []
    lines = data.split(b"\n", max_cores + 2) if max_cores >= 0 else data.split(b"\n")
    for line in lines[1:]:
        if not line.startswith(b"cpu"):
            break  # the cpuN lines are contiguous after the aggregate "cpu" line
        f = line.split(None, 10)
        busy = (
            int(f[1]) + int(f[2]) + int(f[3]) + int(f[6]) + int(f[7])
        )  # user nice system irq softirq
        rest = int(f[4]) + int(f[5]) + (int(f[8]) if len(f) > 8 else 0)  # idle iowait steal
        cores.append((busy, busy + rest))
    if max_cores >= 0 and len(cores) > max_cores:
        return parse_cores(data)  # the last line held more than cores: read them all
    return cores


class CoreStatReader:
    """Keeps ``/proc/stat`` open; :meth:`read` returns the per-core (busy, total) ticks."""

    def __init__(self, root: Path = Path("/")) -> None:
        self.path = root / "proc" / "stat"
        try:
            self._fd: int | None = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise ProbeUnavailable("cpu", f"cannot open {self.path}: {exc.strerror}") from exc
        self.cores = -1
        self.forks: int | None = None  # the "processes" line: tasks created since boot
        self._size = READ_SIZE
        first = self.read()
        if not first:
            self.close()
            raise ProbeUnavailable("cpu", f"{self.path} has no per-core cpuN lines")
        self.cores = len(first)
        # /proc/stat is read whole each time: a buffer just above its size, not 64 kB.
        self._size = min(READ_SIZE, 2 * len(self.read_raw()) + 4096)

    def read_raw(self) -> bytes:
        if self._fd is None:
            raise ProbeUnavailable("cpu", f"{self.path} is closed")
        data = os.pread(self._fd, self._size, 0)
        if len(data) >= self._size < READ_SIZE:  # it grew (interrupt counts): read it all
            self._size = READ_SIZE
            data = os.pread(self._fd, READ_SIZE, 0)
        return data

    def read(self) -> list[tuple[int, int]]:
        """Per-core (busy, total) ticks; also sets :attr:`forks` (None if /proc/stat lacks it)."""
        data = self.read_raw()
        at = data.find(b"\nprocesses ")
        self.forks = int(data[at + 11 : data.find(b"\n", at + 11)]) if at >= 0 else None
        return parse_cores(data, self.cores)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
