"""USS, PSS and swap of a process from ``/proc/<pid>/smaps_rollup`` (Linux 4.14+).

This is the costly read (the kernel walks the page tables under the target's mmap lock, about
0.1 ms for a small Python process and more for large or many-threaded ones), so the sampler
reads it on its slow tier only (``memory_interval_ns``, default 1 s).

USS is the memory only this process maps: Private_Clean + Private_Dirty + Private_Hugetlb,
the same definition as psutil's ``memory_full_info().uss``. PSS splits shared pages between
their sharers, so PSS of a tree adds up without double counting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from gilwatt.errors import ProbeUnavailable, ProcessGone
from gilwatt.probes import Availability
from gilwatt.probes.procfs import GONE_ERRNOS

READ_SIZE = 4096


class MemoryDetail(NamedTuple):
    rss_bytes: int
    pss_bytes: int
    uss_bytes: int
    swap_bytes: int


def available(root: Path = Path("/")) -> Availability:
    path = root / "proc" / "self" / "smaps_rollup"
    try:
        parse_smaps_rollup(path.read_bytes())
    except OSError as exc:
        return Availability(False, f"cannot read {path} ({exc.strerror}; needs Linux 4.14+)")
    except ValueError as exc:
        return Availability(False, f"{path}: {exc}")
    return Availability(True, str(path))


def parse_smaps_rollup(data: bytes) -> MemoryDetail:
    values: dict[bytes, int] = {}
    for line in data.split(b"\n")[1:]:  # the first line is the address range header
        key, _, rest = line.partition(b":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * 1024  # every value is in kB
    if b"Rss" not in values or b"Pss" not in values:
        raise ValueError("no Rss/Pss lines in smaps_rollup")
    uss = sum(values.get(k, 0) for k in (b"Private_Clean", b"Private_Dirty", b"Private_Hugetlb"))
    return MemoryDetail(values[b"Rss"], values[b"Pss"], uss, values.get(b"Swap", 0))


class SmapsRollupReader:
    """Reads one process's ``smaps_rollup``, opening it for each read.

    Unlike ``stat`` or ``status``, an open ``smaps_rollup`` is bound to the address space the
    process had when it was opened, so a descriptor kept across an ``exec`` would go on
    reading the old one. The open costs little next to the page-table walk of the read.
    """

    def __init__(self, pid: int, root: Path = Path("/")) -> None:
        self.pid = pid
        self.path = root / "proc" / str(pid) / "smaps_rollup"
        if not self.path.parent.exists():
            raise ProcessGone(pid)

    def read(self) -> MemoryDetail | None:
        """The current figures; None for a process that has exited (no address space)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno in GONE_ERRNOS:
                return None
            raise ProbeUnavailable("memory", f"cannot open {self.path}: {exc.strerror}") from exc
        try:
            data = os.read(fd, READ_SIZE)
        except OSError as exc:
            if exc.errno in GONE_ERRNOS:
                return None
            raise ProbeUnavailable("memory", f"smaps_rollup of {self.pid}: {exc.strerror}") from exc
        finally:
            os.close(fd)
        if not data:
            return None  # a zombie's smaps_rollup is empty
        try:
            return parse_smaps_rollup(data)
        except ValueError:
            return None

    def close(self) -> None:
        """Nothing is kept open (kept for symmetry with the other readers)."""
