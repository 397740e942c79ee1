"""Sampling a process tree from outside, in tiers, through kept-open /proc descriptors.

One :meth:`TreeSampler.sample` call reads the whole tree and appends store rows to
:class:`Rows`. What a sample reads depends on its tier (the costs are for a loaded 2-vCPU VM):

- every tick: per process, ``statm`` (RSS, VMS) and the process CPU clock (ns, one
  ``clock_gettime`` of ``CPUCLOCK_SCHED``: the group's total including exited threads). Two
  syscalls per process: at 100 Hz and more, anything else a tick reads costs its share of the
  sampler's CPU budget, so the rest rides on the tiers below.
- status tier (``status_interval_ns``, 100 ms): per process ``stat`` (user/sys split, reaped
  children's time, thread count, state; a changed count re-lists the threads); every thread's
  ``task/<tid>/schedstat`` (ns); ``/proc/stat`` (per-core busy ticks, which only move in 10 ms
  steps, and the fork count) and a model energy meter (computed from the ticks); new children,
  when that fork count says some process was created since. A RAPL meter is read every tick.
- detail tier (``memory_interval_ns``, 1 s, and once 100 ms after the start; ``smaps_rollup``
  first 100 ms after the start, not at the first sample): ``smaps_rollup`` (USS/PSS), per process ``status`` (VmHWM,
  VmPeak, VmSwap), per-thread context
  switches (``task/<tid>/status``) and last core (``task/<tid>/stat``), the thread list and
  names, and the command line (it changes at exec).

Marker and final samples read the status tier, the peaks and swap, every thread, the context switches and cores,
and marker samples ``smaps_rollup`` when it was last read more than 100 ms before.

The tree's CPU is, over the processes alive or zombie in it, their own CPU plus what their
reaped children used (``cutime``/``cstime``), plus the rusage of processes gilwatt reaped itself
(orphans re-parented to it as child subreaper). Every process's time is counted once: while it
lives by itself, after it is reaped in its parent's children time. When a process leaves the
tree between two ticks, that tick re-reads every ``stat`` so the parent's children time is
current, and the tree's cumulative CPU is kept monotone across the hand-over. The processes'
own CPU (the exact clock) is split into user and sys by the tree's ``stat`` tick proportion at
the last status read; each part is kept monotone and they always add up to the total.

A child that lives shorter than the status tier may never be seen; its time is still counted
once its parent reaps it. Samples that did not read the energy meter store NULL energy (the
store carries the last reading over).
"""

from __future__ import annotations

import contextlib
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
from gilwatt.probes.procfs import NS_PER_TICK, NUM_THREADS_FIELD, PAGE_SIZE
from gilwatt.threadrecords import HookedThreads

# What a sample reads beyond the tick tier (flags; the tiers come due by themselves).
STATUS = 1  # stat and status of each process, /proc/stat, model energy, new children
CTX = 2  # every thread's CPU, context switches and last core
DETAIL = 4  # thread list and names, command lines (and SMAPS)
SMAPS = 8  # smaps_rollup (USS/PSS)
MARKER_SMAPS_GAP_NS = 100_000_000  # marker samples read smaps_rollup at most this often
NAME_CHECKS = 2  # detail tiers on which a new thread's name is re-read (it may be set late)
DEFAULT_STATUS_INTERVAL_NS = 100_000_000


class EnergyMeterLike(Protocol):
    """What the sampler needs of :class:`gilwatt.energy.EnergyMeter`."""

    estimate: bool

    def sample(self, t_ns: int, core_ticks: Any, *args: Any) -> tuple[int, dict[str, int]]: ...


@dataclass
class Rows:
    """Store rows produced since the last :meth:`TreeSampler.drain` (store column order)."""

    samples: list[tuple[Any, ...]] = field(default_factory=list)
    cores: list[tuple[int, int, int, int]] = field(default_factory=list)
    threads: list[tuple[int, int, int, int | None]] = field(default_factory=list)
    energy: list[tuple[int, str, int]] = field(default_factory=list)
    memory: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)


class _Thread:
    __slots__ = ("children_fd", "core", "cpu_ns", "ctx_inv", "ctx_vol", "fd", "first_ns",
                 "last_ns", "name", "name_checks", "stat_fd", "status_fd", "tid")  # fmt: skip

    def __init__(self, tid: int, fd: int, t_ns: int) -> None:
        self.tid = tid
        self.fd = fd  # task/<tid>/schedstat
        self.stat_fd = -1  # opened on first use
        self.status_fd = -1
        self.children_fd = -1
        self.name_checks = NAME_CHECKS
        self.cpu_ns = 0
        self.core: int | None = None
        self.name = ""
        self.first_ns = t_ns
        self.last_ns = t_ns
        self.ctx_vol = 0
        self.ctx_inv = 0


class _Proc:
    __slots__ = ("child_sys_ns", "child_user_ns", "clock", "cmdline", "cpu_ns", "ctx_inv",
                 "ctx_vol", "dead_inv", "dead_vol", "first_ns", "hwm_bytes", "last_ns",
                 "num_threads", "own_ns", "pid", "ppid", "rss_bytes", "smaps",
                 "stat_fd", "state", "statm_fd", "status_fd", "swap_bytes", "sys_ticks",
                 "threads", "tlist", "user_ticks", "vm_peak_bytes", "vms_bytes")  # fmt: skip

    def __init__(self, pid: int, t_ns: int) -> None:
        self.pid = pid
        self.ppid = 0
        self.stat_fd = self.statm_fd = self.status_fd = -1
        self.clock = procfs.process_clock_id(pid)
        self.smaps: SmapsRollupReader | None = None
        self.threads: dict[int, _Thread] = {}
        self.tlist: list[_Thread] = []  # threads' values, rebuilt (never mutated) on changes
        self.num_threads = -1  # -1 until the first stat read
        self.state = "R"
        self.cmdline = ""
        self.first_ns = self.last_ns = t_ns
        self.own_ns = 0  # own CPU (clock), last reading
        self.user_ticks = self.sys_ticks = 0  # stat's split of own CPU, for its proportion
        self.child_user_ns = self.child_sys_ns = 0  # reaped children, last stat
        self.cpu_ns = 0  # own + reaped children
        self.rss_bytes = self.vms_bytes = 0
        self.hwm_bytes = self.vm_peak_bytes = self.swap_bytes = 0
        self.ctx_vol = self.ctx_inv = 0
        self.dead_vol = self.dead_inv = 0  # switches of threads that have exited


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
        measure_cost: bool = True,
    ) -> None:
        self.root_pid = root_pid
        self.session = session
        self.meter = meter
        # RAPL is read at every tick; a model that follows the tree's CPU too (its machine-wide
        # zone is fed when the per-core ticks are read, on the status tier).
        self.meter_follows_tree = bool(getattr(meter, "follows_tree", False))
        self.meter_every_tick = meter is not None and (
            not getattr(meter, "estimate", True) or self.meter_follows_tree
        )
        self.fs = root
        self.use_clock = use_clock and root == Path("/")
        self.memory_interval_ns = memory_interval_ns
        self.status_interval_ns = status_interval_ns
        self.measure_cost = measure_cost
        self.rows = Rows()
        self.seq = 0
        self.procs: dict[int, _Proc] = {}  # parents before their children
        self.gone: dict[int, _Proc] = {}  # processes that left the tree, for the processes table
        self.dirty_procs: set[int] = set()
        self.dirty_threads: dict[int, _Thread] = {}
        self.thread_pid: dict[int, int] = {}
        self.hooked = HookedThreads()  # what the in-process thread hook reported
        self.warnings: list[str] = []
        # Time and switches of processes gilwatt reaped itself (their rusage, children included).
        self.reaped_user_ns = self.reaped_sys_ns = 0
        self.reaped_vol = self.reaped_inv = 0
        self.gone_vol = self.gone_inv = 0  # last known switches of processes that left
        self.last = (0, 0, 0)  # tree (cpu, user, sys) of the previous sample
        self.ctx = (0, 0)
        self.cores: list[tuple[int, int]] = []
        self.tree_rss = array("q")  # per sample seq: tree RSS, for region peaks
        self.hwm_at: dict[int, dict[int, int]] = {}  # seq -> {pid: VmHWM} for marker samples
        self.next_status_ns = self.next_detail_ns = self.next_smaps_ns = self.last_smaps_ns = 0
        self.next_due_ns = 0  # the earliest of the three: a plain tick before it skips _due
        # Tree sums of what only moves when stat or status is read (see _sum_slow).
        self._slow = (0, 0, 0, 0, 0, 0)
        self._slow_stale = True
        self._live: list[int] | None = None  # pids(), until the tree changes
        self._zombies = 0  # zombies in self.procs
        self._own_children: dict[int, int] = {}  # gilwatt's own tid -> kept-open children fd
        self.sample_cpu_ns = 0  # this sampler's own CPU inside sample() (if measure_cost)
        self.samples_taken = 0
        self.cpu = CoreStatReader(root)
        self._forks_seen: int | None = -1  # /proc/stat's fork count when children were last sought
        self._my_pid = os.getpid()
        if not self.add_process(root_pid, time.monotonic_ns() if start_ns is None else start_ns):
            self.cpu.close()
            raise ProcessGone(root_pid)

    # -- tree membership --------------------------------------------------------------------------

    def add_process(self, pid: int, t_ns: int) -> bool:
        if pid in self.procs:
            return True
        proc = _Proc(pid, t_ns)
        base = self.fs / "proc" / str(pid)
        try:
            proc.stat_fd = procfs.open_file(base / "stat", pid)
            proc.statm_fd = procfs.open_file(base / "statm", pid)
            proc.status_fd = procfs.open_file(base / "status", pid)
            proc.smaps = SmapsRollupReader(pid, self.fs)
        except (ProcessGone, ProbeUnavailable):
            for fd in (proc.stat_fd, proc.statm_fd, proc.status_fd):
                _close(fd)
            return False
        proc.cmdline = procfs.read_cmdline(self.fs, pid)
        self.procs[pid] = proc
        self._live = None
        self.dirty_procs.add(pid)
        if not self._read_stat(proc, t_ns, DETAIL):
            self._drop_process(proc)
            return False
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
            proc.threads[tid] = thread
            self.thread_pid[tid] = proc.pid
            self.dirty_threads[tid] = thread
        proc.tlist = list(proc.threads.values())

    def _drop_thread(self, proc: _Proc, tid: int) -> None:
        thread = proc.threads.pop(tid)
        proc.tlist = list(proc.threads.values())
        for fd in (thread.fd, thread.stat_fd, thread.status_fd, thread.children_fd):
            _close(fd)
        proc.dead_vol += thread.ctx_vol
        proc.dead_inv += thread.ctx_inv
        self.dirty_threads[tid] = thread

    def _drop_process(self, proc: _Proc) -> None:
        """The process left /proc: its time now sits in its parent's children time."""
        for tid in list(proc.threads):
            self._drop_thread(proc, tid)
        for fd in (proc.stat_fd, proc.statm_fd, proc.status_fd):
            _close(fd)
        proc.stat_fd = proc.statm_fd = proc.status_fd = -1
        if self.procs.pop(proc.pid, None) is not None:
            self._live = None
            self._zombies -= proc.state == "Z"
        self.gone[proc.pid] = proc
        self.gone_vol += proc.dead_vol
        self.gone_inv += proc.dead_inv
        self.dirty_procs.add(proc.pid)
        self._slow_stale = True

    def account_reaped(self, pid: int, rusage: Any) -> None:
        """gilwatt reaped ``pid`` (wait4): its rusage replaces its /proc readings."""
        proc = self.procs.get(pid)
        if proc is not None:
            proc.ctx_vol = proc.ctx_inv = proc.dead_vol = proc.dead_inv = 0
            proc.cpu_ns = round((rusage.ru_utime + rusage.ru_stime) * 1e9)
            self._drop_process(proc)
        self.reaped_user_ns += round(rusage.ru_utime * 1e9)
        self.reaped_sys_ns += round(rusage.ru_stime * 1e9)
        self.reaped_vol += rusage.ru_nvcsw
        self.reaped_inv += rusage.ru_nivcsw
        self._slow_stale = True

    def find_children(self, t_ns: int, refresh_own: bool = False) -> None:
        """Adopt new children of tree processes, and orphans re-parented to gilwatt; the
        children of those it adopts too, so one look finds every descendant there is."""
        self._adopt_descendants(list(self.procs.values()), t_ns)
        if self.session is None:
            return
        orphans = []
        for child in self._own_children_now(refresh_own or not self._own_children):
            if child in self.procs:
                continue
            data = procfs.read_text(self.fs / "proc" / str(child) / "stat")
            in_session = data and procfs.parse_stat(data.encode()).session == self.session
            if in_session and self.add_process(child, t_ns):
                orphans.append(self.procs[child])
        self._adopt_descendants(orphans, t_ns)

    def _adopt_descendants(self, todo: list[_Proc], t_ns: int) -> None:
        while todo:
            proc = todo.pop(0)
            if proc.state == "Z":
                continue
            for child in self._children(proc):
                if child not in self.procs and self.add_process(child, t_ns):
                    todo.append(self.procs[child])

    def _own_children_now(self, refresh: bool) -> set[int]:
        """gilwatt's own children (orphans re-parented to it), through kept-open descriptors."""
        if refresh:  # gilwatt's own threads: listed at the detail tier, not at every check
            tids = procfs.list_threads(self.fs, self._my_pid)
            for tid in [t for t in self._own_children if t not in tids]:
                _close(self._own_children.pop(tid))
            for tid in tids:
                if tid not in self._own_children:
                    path = self.fs / "proc" / str(self._my_pid) / "task" / str(tid) / "children"
                    self._own_children[tid] = _open_optional(path)
        found: set[int] = set()
        for fd in self._own_children.values():
            if fd < 0:
                continue
            try:
                found.update(int(word) for word in os.pread(fd, 65536, 0).split())
            except OSError:
                continue
        return found

    def _children(self, proc: _Proc) -> set[int]:
        """Children forked by any thread of ``proc`` (kept-open ``task/<tid>/children``)."""
        found: set[int] = set()
        task = self.fs / "proc" / str(proc.pid) / "task"
        for thread in proc.tlist:
            try:
                if thread.children_fd < 0:
                    thread.children_fd = procfs.open_file(
                        task / str(thread.tid) / "children", thread.tid
                    )
                data = os.pread(thread.children_fd, 65536, 0)
            except (OSError, ProcessGone, ProbeUnavailable):
                continue
            if data:
                found.update(int(word) for word in data.split())
        return found

    def zombie_orphans(self) -> list[int]:
        """Tree processes that are zombies waiting for gilwatt (not the root) to reap them."""
        if not self._zombies:  # the profiler asks at every tick
            return []
        return [
            p.pid
            for p in self.procs.values()
            if p.state == "Z" and p.ppid == self._my_pid and p.pid != self.root_pid
        ]

    def pids(self) -> list[int]:
        """Live (not zombie) processes of the tree (a list kept between changes: do not modify)."""
        if self._live is None:
            self._live = [p.pid for p in self.procs.values() if p.state != "Z"]
        return self._live

    def thread_event(self, event: Any) -> None:
        """A thread's start (kind S) or end (X) from the thread hook: exact times and CPU.

        No /proc read: a thread that lives between two ticks is recorded all the same.
        """
        self.hooked.add(event)
        self.thread_pid.setdefault(event.tid, event.pid)
        if event.tid not in self.dirty_threads:
            pid = self.thread_pid[event.tid]
            proc = self.procs.get(pid) or self.gone.get(pid)
            seen = proc.threads.get(event.tid) if proc is not None else None
            self.dirty_threads[event.tid] = seen or _Thread(event.tid, -1, event.t_ns)

    # -- sampling ---------------------------------------------------------------------------------

    def sample(self, trigger: str = "tick", scheduled_ns: int | None = None, reads: int = 0) -> int:
        """Read the tree now (plus the ``reads`` flags and any tier due); return the sample seq."""
        cpu_start = time.thread_time_ns() if self.measure_cost else 0
        t_ns = time.monotonic_ns()
        seq = self.seq
        self.seq = seq + 1
        rows = self.rows
        cores_read = False
        if reads or t_ns >= self.next_due_ns:
            cores_read = True
            reads = self._due(t_ns, scheduled_ns, trigger, reads)
            cores = self.cores = self.cpu.read()
            core_rows = rows.cores
            for index, (busy, total) in enumerate(cores):
                core_rows.append((seq, index, busy, total))
            # New children are sought when some process (or thread) was created anywhere since
            # the last look: /proc/stat is read before the children lists, so none is missed.
            forks = self.cpu.forks
            if forks is None or forks != self._forks_seen:
                self._forks_seen = forks
                self.find_children(t_ns, bool(reads & DETAIL))
        own, rss, vms = self._read_processes(seq, t_ns, reads)
        if reads & (CTX | SMAPS):
            self._read_status(t_ns, reads)
        if self._slow_stale:
            self._sum_slow()
        child_user, child_sys, user_ticks, ticks, swap, threads = self._slow
        # The processes' own CPU is the exact clock; stat's user/sys tick proportion (summed
        # over the tree at the last stat read) splits it. Reaped children's time is exact.
        cpu = own + child_user + child_sys
        user = (own * user_ticks // ticks if ticks else own) + child_user
        last_cpu, last_user, last_sys = self.last
        if cpu < last_cpu:  # a child was reaped between two reads: keep the tree monotone
            cpu, user, system = self.last
        else:  # user and sys each too (the split is an estimate until the kernel's rusage)
            if user < last_user:
                user = last_user
            elif user > cpu - last_sys:
                user = cpu - last_sys
            system = cpu - user
            self.last = (cpu, user, system)
        energy: int | None = None
        if self.meter is not None and (reads or self.meter_every_tick):
            if self.meter_follows_tree:
                energy, zones = self.meter.sample(t_ns, self.cores if cores_read else (), cpu)
            else:
                energy, zones = self.meter.sample(t_ns, self.cores)
            for zone, value in zones.items():
                rows.energy.append((seq, zone, value))
        vol, inv = self.ctx
        rows.samples.append(
            (seq, t_ns, scheduled_ns, trigger, cpu, user, system, rss, vms, swap, threads,
             len(self.procs), vol, inv, energy)
        )  # fmt: skip
        self.tree_rss.append(rss)
        if trigger == "marker":
            self.hwm_at[seq] = {p.pid: p.hwm_bytes for p in self.procs.values()}
        self.samples_taken += 1
        if self.measure_cost:
            self.sample_cpu_ns += time.thread_time_ns() - cpu_start
        return seq

    def _sum_slow(self) -> None:
        """Tree sums of the fields stat and status set: reaped children's user and sys ns,
        own user and total ticks, swap, threads of live processes."""
        child_user, child_sys = self.reaped_user_ns, self.reaped_sys_ns
        user_ticks = ticks = swap = threads = 0
        for p in self.procs.values():
            child_user += p.child_user_ns
            child_sys += p.child_sys_ns
            user_ticks += p.user_ticks
            ticks += p.user_ticks + p.sys_ticks
            swap += p.swap_bytes
            if p.state != "Z":
                threads += p.num_threads
        self._slow = (child_user, child_sys, user_ticks, ticks, swap, threads)
        self._slow_stale = False

    def _due(self, t_ns: int, scheduled_ns: int | None, trigger: str, reads: int) -> int:
        """``reads`` plus the tiers that are due at ``t_ns``."""
        # Tier deadlines follow the tick's schedule, not its (always later) wake-up, so a tier
        # whose interval is a multiple of the tick interval lands on every n-th tick exactly.
        anchor = t_ns if scheduled_ns is None else min(scheduled_ns, t_ns)
        if t_ns >= self.next_status_ns:
            reads |= STATUS
            self.next_status_ns = anchor + self.status_interval_ns
        if t_ns >= self.next_detail_ns:
            reads |= STATUS | CTX | DETAIL
            # The first read finds the program barely started: read again 100 ms in, so a short
            # run has its start-up peaks (VmHWM), threads and names read once it is going.
            first = self.next_detail_ns == 0
            gap = min(MARKER_SMAPS_GAP_NS, self.memory_interval_ns) if first else 0
            self.next_detail_ns = anchor + (gap or self.memory_interval_ns)
        if self.next_smaps_ns == 0:  # not at the first sample: the program has barely started
            self.next_smaps_ns = t_ns + min(MARKER_SMAPS_GAP_NS, self.memory_interval_ns)
        elif t_ns >= self.next_smaps_ns:
            reads |= SMAPS
        elif trigger == "marker" and t_ns - self.last_smaps_ns >= MARKER_SMAPS_GAP_NS:
            reads |= SMAPS  # USS/PSS at region boundaries too, unless markers come thick and fast
        if reads & SMAPS:
            self.last_smaps_ns = t_ns
            self.next_smaps_ns = t_ns + self.memory_interval_ns
        self.next_due_ns = min(self.next_status_ns, self.next_detail_ns, self.next_smaps_ns)
        return reads

    def _read_processes(self, seq: int, t_ns: int, reads: int) -> tuple[int, int, int]:
        """The tick tier of every process (and the status tier's stat and threads when ``reads``
        has any tier); return the tree's own CPU (ns), RSS and VMS (bytes)."""
        pread = os.pread
        clock = time.clock_gettime_ns if self.use_clock else None
        thread_rows = self.rows.threads
        with_stat = reads != 0 or clock is None
        own = rss = vms = 0
        gone: list[_Proc] | None = None
        for proc in self.procs.values():
            try:
                statm = pread(proc.statm_fd, 256, 0)  # first: it fails once the process is reaped
                if clock is not None:
                    proc.own_ns = clock(proc.clock)
            except OSError:
                gone = [*(gone or ()), proc]
                continue
            if with_stat and not self._read_stat(proc, t_ns, reads & DETAIL):
                gone = [*(gone or ()), proc]
                continue
            own += proc.own_ns
            if proc.state == "Z":
                proc.rss_bytes = proc.vms_bytes = 0
                continue
            f = statm.split(None, 2)
            proc.vms_bytes = v = int(f[0]) * PAGE_SIZE
            proc.rss_bytes = r = int(f[1]) * PAGE_SIZE
            vms += v
            rss += r
            proc.last_ns = t_ns
            if not with_stat:
                continue
            for thread in proc.tlist:
                try:
                    raw = pread(thread.fd, 128, 0)
                except OSError:
                    self._drop_thread(proc, thread.tid)
                    proc.num_threads = -1  # the next stat read re-lists the threads
                    continue
                thread.cpu_ns = cpu_ns = procfs.schedstat_run_ns(raw)
                thread.last_ns = t_ns
                thread_rows.append((seq, thread.tid, cpu_ns, thread.core))
        if gone:
            for proc in gone:
                self._drop_process(proc)
            if not with_stat:  # the parents' children time now holds the leavers' time
                for proc in list(self.procs.values()):
                    if not self._read_stat(proc, t_ns, 0):
                        self._drop_process(proc)
            procs = self.procs.values()
            own = sum(p.own_ns for p in procs)
            rss = sum(p.rss_bytes for p in procs)
            vms = sum(p.vms_bytes for p in procs)
        return own, rss, vms

    def _read_stat(self, proc: _Proc, t_ns: int, detail: int) -> bool:
        """``stat``: the user/sys split, children time, thread count, state; False if gone.

        The thread list is re-read when the count changed (or a thread's read failed, which
        sets the count to -1: one thread may have ended as another started); with ``detail``
        the command line too (it changes at exec).
        """
        try:
            data = os.pread(proc.stat_fd, 1024, 0)
        except OSError:
            return False
        f = procfs.stat_fields(data, NUM_THREADS_FIELD)
        self._slow_stale = True
        proc.user_ticks, proc.sys_ticks = int(f[11]), int(f[12])
        proc.child_user_ns = int(f[13]) * NS_PER_TICK
        proc.child_sys_ns = int(f[14]) * NS_PER_TICK
        if not self.use_clock:
            proc.own_ns = (proc.user_ticks + proc.sys_ticks) * NS_PER_TICK
        proc.cpu_ns = proc.own_ns + proc.child_user_ns + proc.child_sys_ns
        proc.last_ns = t_ns
        if f[0] == b"Z":
            if proc.state != "Z":
                proc.state = "Z"
                self._live = None
                self._zombies += 1
                proc.ppid = int(f[1])
                self.dirty_procs.add(proc.pid)
            return True
        n = int(f[17])
        if n != proc.num_threads:
            proc.num_threads = n
            self._rescan_threads(proc, t_ns)
        if detail:
            ppid = int(f[1])  # an orphan's parent becomes gilwatt
            if ppid != proc.ppid:
                proc.ppid = ppid
                self.dirty_procs.add(proc.pid)
            cmdline = procfs.read_cmdline(self.fs, proc.pid)
            if cmdline and cmdline != proc.cmdline:
                proc.cmdline = cmdline
                self.dirty_procs.add(proc.pid)
        return True

    def _read_status(self, t_ns: int, reads: int) -> None:
        """With CTX: peaks, swap, threads' switches and cores; with SMAPS, USS/PSS.

        VmHWM and VmPeak only ever grow, so reading them once a second (and at every marker
        and the final sample) loses nothing while the process lives; the kernel's rusage
        (ru_maxrss, which takes in reaped children) covers what exits in between.
        """
        with_ctx = reads & CTX
        for proc in self.procs.values():
            if proc.state == "Z":
                continue
            if with_ctx:
                self._read_process_status(proc)
                for thread in proc.tlist:
                    self._read_thread_detail(proc, thread, reads & DETAIL)
                proc.ctx_vol = proc.dead_vol + sum(t.ctx_vol for t in proc.tlist)
                proc.ctx_inv = proc.dead_inv + sum(t.ctx_inv for t in proc.tlist)
            if reads & SMAPS and proc.smaps is not None:
                detail = proc.smaps.read()
                if detail is not None:
                    self.rows.memory.append((t_ns, proc.pid, *detail))
        if with_ctx:
            vol = self.gone_vol + self.reaped_vol + sum(p.ctx_vol for p in self.procs.values())
            inv = self.gone_inv + self.reaped_inv + sum(p.ctx_inv for p in self.procs.values())
            self.ctx = (max(vol, self.ctx[0]), max(inv, self.ctx[1]))

    def _read_process_status(self, proc: _Proc) -> None:
        try:
            status = procfs.parse_status(os.pread(proc.status_fd, 4096, 0))
        except (OSError, ValueError):
            return
        hwm, vm_peak, swap = status.hwm_bytes, status.vm_peak_bytes, status.swap_bytes
        if hwm > proc.hwm_bytes or vm_peak > proc.vm_peak_bytes:
            proc.hwm_bytes = max(proc.hwm_bytes, hwm)
            proc.vm_peak_bytes = max(proc.vm_peak_bytes, vm_peak)
            self.dirty_procs.add(proc.pid)
        proc.swap_bytes = max(swap, 0)
        self._slow_stale = True

    def _read_thread_detail(self, proc: _Proc, thread: _Thread, names: int) -> None:
        """A thread's context switches (task status) and last core (task stat)."""
        try:
            if thread.status_fd < 0:
                task = self.fs / "proc" / str(proc.pid) / "task" / str(thread.tid)
                thread.status_fd = procfs.open_file(task / "status", thread.tid)
                thread.stat_fd = procfs.open_file(task / "stat", thread.tid)
            status = procfs.parse_status(os.pread(thread.status_fd, 4096, 0))
            thread.core = procfs.parse_stat(os.pread(thread.stat_fd, 1024, 0)).processor
        except (OSError, ProcessGone, ProbeUnavailable, ValueError, IndexError):
            return
        if status.ctx_voluntary >= 0:
            thread.ctx_vol, thread.ctx_inv = status.ctx_voluntary, status.ctx_involuntary
        if names and thread.name_checks > 0:
            thread.name_checks -= 1
            name = procfs.read_comm(self.fs, proc.pid, thread.tid)
            if name and name != thread.name:  # programs often name a thread after it started
                thread.name = name
                self.dirty_threads[thread.tid] = thread

    # -- rows for the store -----------------------------------------------------------------------

    def drain(
        self, everything: bool = True
    ) -> tuple[Rows, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The rows since the last drain, plus process and thread rows that changed.

        Live processes' and threads' ``last_ns`` (and processes' ``cpu_ns``) move at every
        tick; they are in the process and thread rows only when ``everything`` (the profiler
        asks for them every few flushes and at the end, not at every flush).
        """
        rows, self.rows = self.rows, Rows()
        if everything:
            self.dirty_procs.update(self.procs)
            for p in self.procs.values():
                for t in p.tlist:
                    self.dirty_threads[t.tid] = t
        procs = []
        for pid in self.dirty_procs:
            p = self.procs.get(pid) or self.gone[pid]
            procs.append((pid, p.ppid or None, p.cmdline, p.first_ns, p.last_ns, p.cpu_ns,
                          p.hwm_bytes or None, p.vm_peak_bytes or None))  # fmt: skip
        threads = [self._thread_row(t) for t in self.dirty_threads.values()]
        self.dirty_procs = set()
        self.dirty_threads = {}
        return rows, procs, threads

    def _thread_row(self, t: _Thread) -> tuple[Any, ...]:
        """(tid, pid, name, first_ns, last_ns, cpu_ns, start_ns, end_ns), as seen from /proc
        and merged with what the thread hook reported."""
        seen = (t.tid, self.thread_pid.get(t.tid, 0), t.name, t.first_ns, t.last_ns, t.cpu_ns)
        return self.hooked.row(*seen)

    def peak_hwm_bytes(self) -> int:
        """The highest VmHWM read of any process of the tree (exact up to the last read)."""
        values = [p.hwm_bytes for p in (*self.procs.values(), *self.gone.values())]
        return max(values, default=0)

    def close(self) -> None:
        for proc in list(self.procs.values()):
            self._drop_process(proc)
        self.cpu.close()


def _open_optional(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return -1


def _close(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
