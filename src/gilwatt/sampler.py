"""Sampling a process tree from outside, in tiers, through kept-open /proc descriptors.

One :meth:`TreeSampler.sample` call reads the whole tree and appends store rows to
:class:`Rows`. What a sample reads depends on its tier:

- every tick: ``/proc/<pid>/stat`` and the process CPU clock of every process in the tree
  (ns total, plus the reaped children's time and the user/sys split), ``task/<tid>/schedstat``
  of every thread (ns), ``/proc/stat`` (per-core busy ticks) and the energy meter;
- status tier (``status_interval_ns``, 100 ms): ``status`` of each process (VmHWM, VmPeak,
  VmSwap) and ``task/<tid>/stat`` of each thread (the core it last ran on);
- detail tier (``memory_interval_ns``, 1 s): ``smaps_rollup`` (USS/PSS), ``task/<tid>/status``
  (per-thread voluntary/involuntary context switches), the thread list and thread names.

Marker and final samples read the tick and status tiers and the context switches, and marker
samples ``smaps_rollup`` too when it was last read more than 100 ms before.

The tree's CPU is, over the processes alive or zombie in it, their own CPU plus what their
reaped children used (``cutime``/``cstime``), plus the rusage of processes gilwatt reaped itself
(orphans re-parented to it as child subreaper). Every process's time is thus counted once:
while it lives by itself, after it is reaped by its parent's children time. Processes are read
parents first, so a child reaped mid-sample is missed for that sample rather than counted twice;
the tree's cumulative CPU is kept monotone.

New processes are looked for when the pid of the last process created on the system
(``/proc/loadavg``) has moved, and on the detail tier; new threads when a process's thread
count changes, and on the detail tier.
"""

from __future__ import annotations

import os
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gilwatt.errors import ProbeUnavailable, ProcessGone
from gilwatt.probes import procfs
from gilwatt.probes.cpu import CoreStatReader
from gilwatt.probes.memory import SmapsRollupReader
from gilwatt.probes.procfs import NS_PER_TICK, PAGE_SIZE

# What a sample reads beyond the tick tier (flags; the tiers come due by themselves).
STATUS = 1  # process status and thread cores
CTX = 2  # per-thread context switches
DETAIL = 4  # thread list and names, children (and SMAPS)
SMAPS = 8  # smaps_rollup (USS/PSS)
MARKER_SMAPS_GAP_NS = 100_000_000  # marker samples read smaps_rollup at most this often
DEFAULT_STATUS_INTERVAL_NS = 100_000_000


class EnergyMeterLike(Protocol):
    """What the sampler needs of :class:`gilwatt.energy.EnergyMeter`."""

    def sample(self, t_ns: int, core_ticks: Any) -> tuple[int, dict[str, int]]: ...


@dataclass
class Rows:
    """Store rows produced since the last :meth:`drain` (tuples in the store's column order)."""

    samples: list[tuple[Any, ...]] = field(default_factory=list)
    cores: list[tuple[int, int, int, int]] = field(default_factory=list)
    threads: list[tuple[int, int, int, int | None]] = field(default_factory=list)
    energy: list[tuple[int, str, int]] = field(default_factory=list)
    memory: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)


class _Thread:
    __slots__ = ("core", "cpu_ns", "ctx_inv", "ctx_vol", "fd", "first_ns", "last_ns", "name",
                 "stat_fd", "status_fd", "tid")  # fmt: skip

    def __init__(self, tid: int, fd: int, t_ns: int) -> None:
        self.tid = tid
        self.fd = fd
        self.stat_fd = -1
        self.status_fd = -1
        self.cpu_ns = 0
        self.core: int | None = None
        self.name = ""
        self.first_ns = t_ns
        self.last_ns = t_ns
        self.ctx_vol = 0
        self.ctx_inv = 0


class _Proc:
    __slots__ = ("alive", "clock", "cmdline", "cpu_ns", "ctx_inv", "ctx_vol", "dead_inv",
                 "dead_vol", "first_ns", "hwm_bytes", "last_ns", "num_threads", "pid", "ppid",
                 "smaps", "state", "stat_fd", "status_fd", "threads", "vm_peak_bytes", "swap_bytes")  # fmt: skip

    def __init__(self, pid: int, t_ns: int) -> None:
        self.pid = pid
        self.ppid = 0
        self.stat_fd = -1
        self.status_fd = -1
        self.clock = procfs.process_clock_id(pid)
        self.smaps: SmapsRollupReader | None = None
        self.threads: dict[int, _Thread] = {}
        self.num_threads = -1
        self.state = "R"
        self.cmdline = ""
        self.first_ns = t_ns
        self.last_ns = t_ns
        self.cpu_ns = 0  # own + reaped children, last reading
        self.hwm_bytes = 0
        self.vm_peak_bytes = 0
        self.swap_bytes = 0
        self.ctx_vol = 0
        self.ctx_inv = 0
        self.dead_vol = 0  # switches of threads that have exited
        self.dead_inv = 0
        self.alive = True


class TreeSampler:
    """Samples the tree rooted at ``root_pid``; see the module docstring for what and when."""

    def __init__(
        self,
        root_pid: int,
        *,
        session: int | None = None,
        meter: EnergyMeterLike | None = None,
        memory_interval_ns: int = 1_000_000_000,
        status_interval_ns: int = DEFAULT_STATUS_INTERVAL_NS,
        root: Path = Path("/"),
        use_clock: bool = True,
        start_ns: int | None = None,
    ) -> None:
        self.root_pid = root_pid
        self.session = session
        self.meter = meter
        self.fs = root
        self.use_clock = use_clock and root == Path("/")
        self.memory_interval_ns = memory_interval_ns
        self.status_interval_ns = status_interval_ns
        self.rows = Rows()
        self.seq = 0
        self.procs: dict[int, _Proc] = {}
        self.gone: dict[int, _Proc] = {}  # processes that left the tree, for the processes table
        self.dirty_procs: set[int] = set()
        self.dirty_threads: dict[int, _Thread] = {}
        self.thread_pid: dict[int, int] = {}
        self.warnings: list[str] = []
        # Time and switches of processes gilwatt reaped itself (their rusage, children included).
        self.reaped_user_ns = 0
        self.reaped_sys_ns = 0
        self.reaped_vol = 0
        self.reaped_inv = 0
        self.gone_vol = 0  # last known switches of processes that left without our reaping
        self.gone_inv = 0
        self.last = (0, 0, 0)  # tree (cpu, user, sys) of the previous sample
        self.ctx = (0, 0)
        self.tree_rss = array("q")  # per sample seq: tree RSS, for region peaks
        self.hwm_at: dict[int, dict[int, int]] = {}  # seq -> {pid: VmHWM} for marker samples
        self.next_status_ns = 0
        self.next_detail_ns = 0
        self.last_smaps_ns = 0
        self.sample_cpu_ns = 0  # this sampler's own CPU spent inside sample()
        self.samples_taken = 0
        self.cpu = CoreStatReader(root)
        self._loadavg_fd = _open_optional(root / "proc" / "loadavg")
        self._last_pid = b""
        self._my_pid = os.getpid()
        if not self.add_process(root_pid, time.monotonic_ns() if start_ns is None else start_ns):
            self.cpu.close()
            _close(self._loadavg_fd)
            raise ProcessGone(root_pid)

    # -- tree membership --------------------------------------------------------------------------

    def add_process(self, pid: int, t_ns: int) -> bool:
        if pid in self.procs:
            return True
        proc = _Proc(pid, t_ns)
        base = self.fs / "proc" / str(pid)
        try:
            proc.stat_fd = procfs.open_file(base / "stat", pid)
            proc.status_fd = procfs.open_file(base / "status", pid)
        except (ProcessGone, ProbeUnavailable):
            _close(proc.stat_fd)
            return False
        try:
            proc.smaps = SmapsRollupReader(pid, self.fs)
        except (ProcessGone, ProbeUnavailable):
            proc.smaps = None
        proc.cmdline = procfs.read_cmdline(self.fs, pid)
        self.procs[pid] = proc
        self.dirty_procs.add(pid)
        self._rescan_threads(proc, t_ns)
        return True

    def _rescan_threads(self, proc: _Proc, t_ns: int) -> None:
        tids = procfs.list_threads(self.fs, proc.pid)
        current = set(tids)
        for tid in [t for t in proc.threads if t not in current]:
            self._drop_thread(proc, tid)
        task = self.fs / "proc" / str(proc.pid) / "task"
        for tid in tids:
            if tid in proc.threads:
                continue
            try:
                fd = procfs.open_file(task / str(tid) / "schedstat", tid)
            except (ProcessGone, ProbeUnavailable):
                continue
            thread = _Thread(tid, fd, t_ns)
            thread.name = procfs.read_comm(self.fs, proc.pid, tid)
            try:
                thread.stat_fd = procfs.open_file(task / str(tid) / "stat", tid)
            except (ProcessGone, ProbeUnavailable):
                thread.stat_fd = -1
            proc.threads[tid] = thread
            self.thread_pid[tid] = proc.pid
            self.dirty_threads[tid] = thread

    def _drop_thread(self, proc: _Proc, tid: int) -> None:
        thread = proc.threads.pop(tid)
        _close(thread.fd)
        _close(thread.stat_fd)
        _close(thread.status_fd)
        proc.dead_vol += thread.ctx_vol
        proc.dead_inv += thread.ctx_inv
        self.dirty_threads[tid] = thread

    def _drop_process(self, proc: _Proc) -> None:
        """The process left /proc: its time now sits in its parent's children time."""
        for tid in list(proc.threads):
            self._drop_thread(proc, tid)
        _close(proc.stat_fd)
        _close(proc.status_fd)
        if proc.smaps is not None:
            proc.smaps.close()
        proc.alive = False
        del self.procs[proc.pid]
        self.gone[proc.pid] = proc
        self.gone_vol += proc.dead_vol
        self.gone_inv += proc.dead_inv
        self.dirty_procs.add(proc.pid)

    def account_reaped(self, pid: int, rusage: Any) -> None:
        """gilwatt reaped ``pid`` (wait4): its rusage replaces its /proc readings."""
        proc = self.procs.get(pid)
        if proc is not None:
            proc.ctx_vol = proc.ctx_inv = proc.dead_vol = proc.dead_inv = 0
            proc.cpu_ns = int((rusage.ru_utime + rusage.ru_stime) * 1e9)
            self._drop_process(proc)
        self.reaped_user_ns += int(rusage.ru_utime * 1e9)
        self.reaped_sys_ns += int(rusage.ru_stime * 1e9)
        self.reaped_vol += rusage.ru_nvcsw
        self.reaped_inv += rusage.ru_nivcsw

    def find_children(self, t_ns: int) -> None:
        """Adopt new children of tree processes, and orphans re-parented to gilwatt."""
        for proc in list(self.procs.values()):
            if not proc.alive or proc.state == "Z":
                continue
            for child in procfs.children_of(self.fs, proc.pid, list(proc.threads) or None):
                if child not in self.procs:
                    self.add_process(child, t_ns)
        if self.session is None:
            return
        for child in procfs.children_of(self.fs, self._my_pid):
            if child in self.procs:
                continue
            data = procfs.read_text(self.fs / "proc" / str(child) / "stat")
            if data and procfs.parse_stat(data.encode()).session == self.session:
                self.add_process(child, t_ns)

    def zombie_orphans(self) -> list[int]:
        """Tree processes that are zombies waiting for gilwatt (not the root) to reap them."""
        return [
            p.pid
            for p in self.procs.values()
            if p.state == "Z" and p.ppid == self._my_pid and p.pid != self.root_pid
        ]

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs.values() if p.state != "Z"]

    # -- sampling ---------------------------------------------------------------------------------

    def _new_pid_created(self) -> bool:
        if self._loadavg_fd < 0:
            return True
        try:
            last = os.pread(self._loadavg_fd, 128, 0).rsplit(b" ", 1)[-1]
        except OSError:
            return True
        if last == self._last_pid:
            return False
        self._last_pid = last
        return True

    def sample(self, trigger: str = "tick", scheduled_ns: int | None = None, reads: int = 0) -> int:
        """Read the tree now (plus the ``reads`` flags and any tier due); return the sample seq."""
        cpu_start = time.thread_time_ns()
        t_ns = time.monotonic_ns()
        if t_ns >= self.next_status_ns:
            reads |= STATUS
            self.next_status_ns = t_ns + self.status_interval_ns
        if t_ns >= self.next_detail_ns:
            reads |= DETAIL | STATUS | CTX | SMAPS
            self.next_detail_ns = t_ns + self.memory_interval_ns
        elif trigger == "marker" and t_ns - self.last_smaps_ns >= MARKER_SMAPS_GAP_NS:
            reads |= SMAPS  # USS/PSS at region boundaries too, unless markers come thick and fast
        if reads & SMAPS:
            self.last_smaps_ns = t_ns
        if reads & DETAIL or self._new_pid_created():
            self.find_children(t_ns)
        seq = self.seq
        self.seq += 1
        rows = self.rows
        cpu, user, system, rss, vms, threads = self._read_processes(seq, t_ns, reads & DETAIL)
        if reads:
            self._read_status(t_ns, reads)
        cores = self.cpu.read()
        core_rows = rows.cores
        for index, (busy, total) in enumerate(cores):
            core_rows.append((seq, index, busy, total))
        energy: int | None = None
        if self.meter is not None:
            energy, zones = self.meter.sample(t_ns, cores)
            for zone, value in zones.items():
                rows.energy.append((seq, zone, value))
        cpu += self.reaped_user_ns + self.reaped_sys_ns
        user += self.reaped_user_ns
        system += self.reaped_sys_ns
        if cpu < self.last[0]:  # a child reaped between two reads: keep the tree monotone
            cpu, user, system = self.last
        self.last = (cpu, user, system)
        vol, inv = self.ctx
        swap = 0
        for proc in self.procs.values():
            swap += proc.swap_bytes
        rows.samples.append(
            (seq, t_ns, scheduled_ns, trigger, cpu, user, system, rss, vms, swap, threads,
             len(self.procs), vol, inv, energy)
        )  # fmt: skip
        self.tree_rss.append(rss)
        if trigger == "marker":
            self.hwm_at[seq] = {p.pid: p.hwm_bytes for p in self.procs.values()}
        self.samples_taken += 1
        self.sample_cpu_ns += time.thread_time_ns() - cpu_start
        return seq

    def _read_processes(self, seq: int, t_ns: int, rescan: int) -> tuple[int, int, int, int, int, int]:
        """Tick tier of every process and thread; returns tree (cpu, user, sys, rss, vms, threads)."""
        pread = os.pread
        clock = time.clock_gettime_ns if self.use_clock else None
        thread_rows = self.rows.threads
        cpu = user = system = rss = vms = threads = 0
        gone: list[_Proc] = []
        for proc in self.procs.values():
            try:
                data = pread(proc.stat_fd, 1024, 0)
            except OSError:
                gone.append(proc)
                continue
            f = data[data.rfind(b")") + 2 :].split()
            ut, st, cut, cst = int(f[11]), int(f[12]), int(f[13]), int(f[14])
            own_ns = (ut + st) * NS_PER_TICK
            if clock is not None:
                try:
                    own_ns = clock(proc.clock)
                except OSError:
                    pass
            own_user = own_ns * ut // (ut + st) if ut + st else own_ns
            cpu += own_ns + (cut + cst) * NS_PER_TICK
            user += own_user + cut * NS_PER_TICK
            system += own_ns - own_user + cst * NS_PER_TICK
            proc.cpu_ns = own_ns + (cut + cst) * NS_PER_TICK
            proc.last_ns = t_ns
            if f[0] == b"Z":
                if proc.state != "Z":
                    proc.state = "Z"
                    proc.ppid = int(f[1])
                    self.dirty_procs.add(proc.pid)
                continue
            rss += int(f[21]) * PAGE_SIZE
            vms += int(f[20])
            n = int(f[17])
            threads += n
            if n != proc.num_threads or rescan:
                proc.ppid = int(f[1])
                proc.num_threads = n
                self._rescan_threads(proc, t_ns)
                if rescan:  # after an exec the command line is the new program's
                    cmdline = procfs.read_cmdline(self.fs, proc.pid)
                    if cmdline and cmdline != proc.cmdline:
                        proc.cmdline = cmdline
            for thread in tuple(proc.threads.values()):
                try:
                    raw = pread(thread.fd, 128, 0)
                except OSError:
                    self._drop_thread(proc, thread.tid)
                    continue
                thread.cpu_ns = cpu_ns = int(raw[: raw.find(b" ")])
                thread.last_ns = t_ns
                thread_rows.append((seq, thread.tid, cpu_ns, thread.core))
        for proc in gone:
            self._drop_process(proc)
        return cpu, user, system, rss, vms, threads

    def _read_status(self, t_ns: int, reads: int) -> None:
        """Peaks, swap and thread cores; context switches (CTX) and smaps_rollup (DETAIL)."""
        pread = os.pread
        with_ctx = bool(reads & CTX)
        for proc in self.procs.values():
            if proc.state == "Z":
                continue
            try:
                status = procfs.parse_status(pread(proc.status_fd, 4096, 0))
            except (OSError, ValueError):
                continue
            if status.hwm_bytes > proc.hwm_bytes or status.vm_peak_bytes > proc.vm_peak_bytes:
                proc.hwm_bytes = max(proc.hwm_bytes, status.hwm_bytes)
                proc.vm_peak_bytes = max(proc.vm_peak_bytes, status.vm_peak_bytes)
                self.dirty_procs.add(proc.pid)
            proc.swap_bytes = max(status.swap_bytes, 0)
            for thread in tuple(proc.threads.values()):
                if thread.stat_fd >= 0:
                    try:
                        thread.core = int(procfs.stat_fields(pread(thread.stat_fd, 1024, 0))[36])
                    except (OSError, IndexError, ValueError):
                        pass
                if with_ctx:
                    self._read_thread_ctx(proc, thread, reads & DETAIL)
            if with_ctx:
                proc.ctx_vol = proc.dead_vol + sum(t.ctx_vol for t in proc.threads.values())
                proc.ctx_inv = proc.dead_inv + sum(t.ctx_inv for t in proc.threads.values())
            if reads & SMAPS and proc.smaps is not None:
                detail = proc.smaps.read()
                if detail is not None:
                    self.rows.memory.append((t_ns, proc.pid, *detail))
        if with_ctx:
            vol = self.gone_vol + self.reaped_vol + sum(p.ctx_vol for p in self.procs.values())
            inv = self.gone_inv + self.reaped_inv + sum(p.ctx_inv for p in self.procs.values())
            self.ctx = (max(vol, self.ctx[0]), max(inv, self.ctx[1]))

    def _read_thread_ctx(self, proc: _Proc, thread: _Thread, names: int) -> None:
        task = self.fs / "proc" / str(proc.pid) / "task" / str(thread.tid)
        try:
            if thread.status_fd < 0:
                thread.status_fd = procfs.open_file(task / "status", thread.tid)
            status = procfs.parse_status(os.pread(thread.status_fd, 4096, 0))
        except (OSError, ProcessGone, ProbeUnavailable, ValueError):
            return
        if status.ctx_voluntary >= 0:
            thread.ctx_vol = status.ctx_voluntary
            thread.ctx_inv = status.ctx_involuntary
        if names:
            name = procfs.read_comm(self.fs, proc.pid, thread.tid)
            if name and name != thread.name:  # programs often name a thread after it started
                thread.name = name
                self.dirty_threads[thread.tid] = thread

    # -- rows for the store -----------------------------------------------------------------------

    def drain(self) -> tuple[Rows, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The rows since the last drain, plus process and thread rows that changed."""
        rows, self.rows = self.rows, Rows()
        procs = []
        for pid in self.dirty_procs:
            p = self.procs.get(pid) or self.gone[pid]
            procs.append((pid, p.ppid or None, p.cmdline, p.first_ns, p.last_ns, p.cpu_ns,
                          p.hwm_bytes or None, p.vm_peak_bytes or None))  # fmt: skip
        threads = [
            (t.tid, self.thread_pid.get(t.tid, 0), t.name, t.first_ns, t.last_ns)
            for t in self.dirty_threads.values()
        ]
        # Live threads' last_ns moves every tick; refresh them at each drain.
        self.dirty_procs = set(self.procs)
        self.dirty_threads = {t.tid: t for p in self.procs.values() for t in p.threads.values()}
        return rows, procs, threads

    def peak_hwm_bytes(self) -> int:
        """The highest VmHWM read of any process of the tree (exact up to the last read)."""
        values = [p.hwm_bytes for p in (*self.procs.values(), *self.gone.values())]
        return max(values, default=0)

    def close(self) -> None:
        for proc in list(self.procs.values()):
            self._drop_process(proc)
        self.cpu.close()
        _close(self._loadavg_fd)
        self._loadavg_fd = -1


def _open_optional(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return -1


def _close(fd: int) -> None:
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass
