"""Processes and threads from ``/proc``: parsers for its files and the tree's shape.

The sampler keeps descriptors of ``/proc/<pid>/stat`` and ``/proc/<pid>/task/<tid>/schedstat``
open and re-reads them with ``os.pread``; these helpers open them (translating OS errors once,
here) and parse what they return. A descriptor stays bound to its process: after the process is
reaped a read fails with ESRCH even if the pid has been reused, so a kept-open file never reads
another process.

Units: ``stat`` gives CPU in clock ticks (``CLK_TCK``, normally 100 per second) and RSS in pages;
``schedstat`` gives nanoseconds; ``status`` gives kB. The parsed records are in ns and bytes.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import NamedTuple

from gilwatt.errors import ProbeUnavailable, ProcessGone
from gilwatt.probes import Availability

CLK_TCK = os.sysconf("SC_CLK_TCK")
NS_PER_TICK = 1_000_000_000 // CLK_TCK
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
READ_SIZE = 4096  # every file read here is shorter; status is about 1.4 kB
GONE_ERRNOS = (errno.ESRCH, errno.ENOENT)


class ProcStat(NamedTuple):
    """The fields of ``/proc/<pid>/stat`` the sampler uses (CPU in ns, memory in bytes)."""

    state: str
    ppid: int
    pgrp: int
    session: int
    utime_ns: int
    stime_ns: int
    cutime_ns: int  # reaped children (and their reaped children)
    cstime_ns: int
    num_threads: int
    vsize_bytes: int
    rss_bytes: int
    processor: int  # CPU the process (or thread) last ran on


class StatHead(NamedTuple):
    """The head of ``/proc/<pid>/stat`` the sampler reads at every status read.

    Own CPU stays in clock ticks: the sampler takes only their user/sys proportion from it
    (the exact total comes from the process's CPU clock).
    """

    state: str
    ppid: int
    user_ticks: int
    sys_ticks: int
    child_user_ns: int  # reaped children (and their reaped children)
    child_sys_ns: int
    num_threads: int


class ProcStatus(NamedTuple):
    """The fields of ``/proc/<pid>/status`` the sampler uses (bytes; -1 when absent)."""

    hwm_bytes: int  # VmHWM: peak RSS since exec (absent for zombies and kernel threads)
    vm_peak_bytes: int
    swap_bytes: int
    threads: int
    ctx_voluntary: int  # this thread's own switches: /proc/<pid>/status shows the leader's
    ctx_involuntary: int


def available(root: Path = Path("/")) -> Availability:
    """Whether ``<root>/proc`` has the per-process files the sampler reads."""
    proc = root / "proc"
    self_dir = proc / "self"
    if not (proc / "stat").exists():
        return Availability(False, f"{proc} is not a mounted procfs")
    if root == Path("/") and not (self_dir / "task").exists():
        return Availability(False, f"{self_dir}/task is missing (kernel without per-thread /proc)")
    return Availability(True, f"{proc}")


def process_clock_id(pid: int) -> int:
    """The CPU clock of another process's thread group (``CPUCLOCK_SCHED`` of ``pid``).

    The kernel encodes it as ``(~pid << 3) | 2`` in a signed 32-bit clockid; Linux lets any
    process read the process clock of any pid (thread clocks only inside the own group). One
    ``clock_gettime`` gives the group's total CPU in ns, including threads that have exited.
    """
    clock = ((~pid) << 3) | 2
    return (clock + 2**31) % 2**32 - 2**31


def read_clock_ns(clock_id: int) -> int | None:
    """The clock's value, or None when the kernel refuses (process reaped, foreign root)."""
    try:
        return time.clock_gettime_ns(clock_id)
    except OSError:
        return None


def open_file(path: Path, pid: int) -> int:
    """A read-only descriptor of a /proc file; ProcessGone if the process is gone."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in GONE_ERRNOS:
            raise ProcessGone(pid) from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ProbeUnavailable(
                "procfs", f"cannot read {path}: permission denied",
                hint="gilwatt can only sample processes of the same user (or run it as root).",
            ) from exc  # fmt: skip
        raise ProbeUnavailable("procfs", f"cannot open {path}: {exc.strerror}") from exc


def pread(fd: int, pid: int, size: int = READ_SIZE) -> bytes:
    """Re-read a kept-open /proc file from its start; ProcessGone when its process is gone."""
    try:
        return os.pread(fd, size, 0)
    except OSError as exc:
        if exc.errno in GONE_ERRNOS:
            raise ProcessGone(pid) from exc
        raise ProbeUnavailable("procfs", f"read failed for pid {pid}: {exc.strerror}") from exc


def read_text(path: Path) -> str | None:
    """A small /proc file's text, or None if it (or its process) is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # not open(): no io buffer objects
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, READ_SIZE):
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


NUM_THREADS_FIELD = 17  # stat_fields index of num_threads (field 20 in proc(5))


def stat_fields(data: bytes, upto: int = -1) -> list[bytes]:
    """The fields of a stat line after ``comm`` (which may contain spaces and parentheses).

    Index 0 is ``state`` (field 3 in proc(5)); field N of proc(5) is index N - 3. With
    ``upto``, fields up to that index are split apart and the rest stays in one last item
    (the sampler needs only the first 18 at every status read).
    """
    return data[data.rfind(b")") + 2 :].split(None, upto + 1 if upto >= 0 else -1)


def parse_stat(data: bytes) -> ProcStat:
    f = stat_fields(data)
    if len(f) < 37:
        raise ValueError(f"short /proc stat line ({len(f)} fields)")
    return ProcStat(
        state=f[0].decode(),
        ppid=int(f[1]),
        pgrp=int(f[2]),
        session=int(f[3]),
        utime_ns=int(f[11]) * NS_PER_TICK,
        stime_ns=int(f[12]) * NS_PER_TICK,
        cutime_ns=int(f[13]) * NS_PER_TICK,
        cstime_ns=int(f[14]) * NS_PER_TICK,
        num_threads=int(f[17]),
        vsize_bytes=int(f[20]),
        rss_bytes=int(f[21]) * PAGE_SIZE,
        processor=int(f[36]),
    )


def parse_stat_head(data: bytes) -> StatHead:
    """The fields of ``stat`` up to ``num_threads``, the rest left unsplit (a status read's
    share of the sampler's per-tick budget)."""
    f = stat_fields(data, NUM_THREADS_FIELD)
    if len(f) <= NUM_THREADS_FIELD:
        raise ValueError(f"short /proc stat line ({len(f)} fields)")
    return StatHead(  # positional: keywords cost a NamedTuple about a microsecond
        f[0].decode(),  # state
        int(f[1]),  # ppid
        int(f[11]),  # utime (ticks)
        int(f[12]),  # stime
        int(f[13]) * NS_PER_TICK,  # cutime
        int(f[14]) * NS_PER_TICK,  # cstime
        int(f[NUM_THREADS_FIELD]),
    )


def parse_statm(data: bytes) -> tuple[int, int]:
    """(VMS, RSS) in bytes from ``statm`` (its first two fields, in pages); read every tick."""
    f = data.split(None, 2)
    return int(f[0]) * PAGE_SIZE, int(f[1]) * PAGE_SIZE


def parse_pids(data: bytes) -> list[int]:
    """The pids of a ``task/<tid>/children`` file (space-separated; empty when none)."""
    return [int(word) for word in data.split()]


def _status_value(data: bytes, key: bytes) -> int:
    start = data.find(key)
    if start < 0:
        return -1
    start += len(key)
    end = data.find(b"\n", start)
    value = data[start:end] if end >= 0 else data[start:]
    parts = value.split()
    return int(parts[0]) if parts else -1


def parse_status(data: bytes) -> ProcStatus:
    """Parse ``status``; kB values become bytes. Fields a zombie lacks are -1."""

    def kb(key: bytes) -> int:
        value = _status_value(data, key)
        return value * 1024 if value >= 0 else -1

    return ProcStatus(
        hwm_bytes=kb(b"\nVmHWM:"),
        vm_peak_bytes=kb(b"\nVmPeak:"),
        swap_bytes=kb(b"\nVmSwap:"),
        threads=_status_value(data, b"\nThreads:"),
        ctx_voluntary=_status_value(data, b"\nvoluntary_ctxt_switches:"),
        ctx_involuntary=_status_value(data, b"\nnonvoluntary_ctxt_switches:"),
    )


def schedstat_run_ns(data: bytes) -> int:
    """The first ``schedstat`` field (ns on CPU) alone: read for every thread at a status read."""
    return int(data[: data.find(b" ")])


def parse_schedstat(data: bytes) -> tuple[int, int, int]:
    """(ns on CPU, ns waiting on a run queue, times scheduled in) from ``schedstat``."""
    run, wait, slices = data.split()[:3]
    return int(run), int(wait), int(slices)


def list_threads(root: Path, pid: int) -> list[int]:
    """The thread ids of ``pid`` (empty if it is gone)."""
    try:
        return sorted(int(name) for name in os.listdir(root / "proc" / str(pid) / "task"))
    except OSError:
        return []


def children_of(root: Path, pid: int, tids: list[int] | None = None) -> set[int]:
    """Direct children of ``pid``, forked by any of its threads (``task/<tid>/children``).

    The file lists the children whose parent is that thread, zombies included, so a child
    that has exited but was not reaped is still found.
    """
    found: set[int] = set()
    for tid in tids if tids is not None else list_threads(root, pid):
        text = read_text(root / "proc" / str(pid) / "task" / str(tid) / "children")
        if text:
            found.update(parse_pids(text.encode()))
    return found


def read_cmdline(root: Path, pid: int) -> str:
    """The command line with arguments joined by spaces ('' if unreadable or a zombie)."""
    text = read_text(root / "proc" / str(pid) / "cmdline")
    return text.rstrip("\0").replace("\0", " ") if text else ""


def read_comm(root: Path, pid: int, tid: int) -> str:
    """A thread's name (3.14+ CPython exports ``threading.Thread`` names here)."""
    text = read_text(root / "proc" / str(pid) / "task" / str(tid) / "comm")
    return text.strip() if text else ""
