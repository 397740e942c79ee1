"""The reads of one sample: every tick's, and the status and detail tiers' per process.

Every tick reads, per process, ``statm`` (RSS, VMS) and the process CPU clock (ns, one
``clock_gettime`` of ``CPUCLOCK_SCHED``: the group's total including exited threads). Two
syscalls per process: at 100 Hz and more, anything else a tick reads costs its share of the
sampler's CPU budget, so the rest rides on the tiers (:mod:`gilwatt.sampler.tiers`). The status
tier adds ``stat`` and every thread's ``schedstat``; the context-switch reads add per process
``status`` (VmHWM, VmPeak, VmSwap) and per thread ``task/<tid>/status`` (switches) and
``task/<tid>/stat`` (last core); the detail tier the thread names. Every file goes through a
parser of :mod:`gilwatt.probes.procfs`.

When a process leaves the tree between two status reads, that tick re-reads every ``stat``, so
its parent's children time is current when the tree's CPU is summed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from gilwatt.errors import ProbeUnavailable, ProcessGone
from gilwatt.probes import procfs
from gilwatt.sampler.membership import Membership, ProcRecord, ThreadRecord
from gilwatt.sampler.tiers import CTX, DETAIL, SMAPS


class TreeReads:
    """Reads the tree's processes and threads into their records (and thread and memory rows)."""

    def __init__(self, members: Membership, *, clock: Callable[[int], int] | None) -> None:
        self.members = members
        self.clock = clock  # time.clock_gettime_ns, or None: own CPU from stat's ticks

    def processes(
        self, seq: int, t_ns: int, reads: int, thread_rows: list[Any]
    ) -> tuple[int, int, int, bool]:
        """The tick tier of every process (and the status tier's stat and threads when ``reads``
        has any tier); return the tree's own CPU (ns), RSS and VMS (bytes), and whether a
        ``stat`` was read or a process left (the tree's sums of stat fields must be redone)."""
        members = self.members
        pread = os.pread
        parse_statm = procfs.parse_statm
        clock = self.clock
        with_stat = reads != 0 or clock is None
        detail = reads & DETAIL != 0
        own = rss = vms = 0
        gone: list[ProcRecord] | None = None
        for proc in members.procs.values():
            try:
                statm = pread(proc.statm_fd, 256, 0)  # first: it fails once the process is reaped
                if clock is not None:
                    proc.own_ns = clock(proc.clock)
            except OSError:
                gone = [*(gone or ()), proc]
                continue
            if with_stat and not members.read_stat(proc, t_ns, detail):
                gone = [*(gone or ()), proc]
                continue
            own += proc.own_ns
            if proc.state == "Z":
                proc.rss_bytes = proc.vms_bytes = 0
                continue
            v, r = parse_statm(statm)
            proc.vms_bytes = v
            proc.rss_bytes = r
            vms += v
            rss += r
            proc.last_ns = t_ns
            if not with_stat:
                continue
            for thread in proc.tlist:
                try:
                    raw = pread(thread.fd, 128, 0)
                except OSError:
                    members.drop_thread(proc, thread.tid)
                    proc.num_threads = -1  # the next stat read re-lists the threads
                    continue
                thread.cpu_ns = cpu_ns = procfs.schedstat_run_ns(raw)
                thread.last_ns = t_ns
                thread_rows.append((seq, thread.tid, cpu_ns, thread.core))
        if not gone:
            return own, rss, vms, with_stat
        for proc in gone:
            members.drop_process(proc)
        if not with_stat:  # the parents' children time now holds the leavers' time
            for proc in list(members.procs.values()):
                if not members.read_stat(proc, t_ns, False):
                    members.drop_process(proc)
        procs = members.procs.values()
        own = sum(p.own_ns for p in procs)
        rss = sum(p.rss_bytes for p in procs)
        vms = sum(p.vms_bytes for p in procs)
        return own, rss, vms, True

    def status(self, t_ns: int, reads: int, memory_rows: list[Any]) -> None:
        """With CTX: peaks, swap, threads' switches and cores; with SMAPS, USS/PSS.

        VmHWM and VmPeak only ever grow, so reading them once a second (and at every marker
        and the final sample) loses nothing while the process lives; the kernel's rusage
        (ru_maxrss, which takes in reaped children) covers what exits in between.
        """
        with_ctx = reads & CTX
        names = bool(reads & DETAIL)
        for proc in self.members.procs.values():
            if proc.state == "Z":
                continue
            if with_ctx:
                self._process_status(proc)
                for thread in proc.tlist:
                    self._thread_detail(proc, thread, names)
            if reads & SMAPS and proc.smaps is not None:
                detail = proc.smaps.read()
                if detail is not None:
                    memory_rows.append((t_ns, proc.pid, *detail))

    def _process_status(self, proc: ProcRecord) -> None:
        try:
            status = procfs.parse_status(os.pread(proc.status_fd, 4096, 0))
        except (OSError, ValueError):
            return
        hwm, vm_peak, swap = status.hwm_bytes, status.vm_peak_bytes, status.swap_bytes
        if hwm > proc.hwm_bytes or vm_peak > proc.vm_peak_bytes:
            proc.hwm_bytes = max(proc.hwm_bytes, hwm)
            proc.vm_peak_bytes = max(proc.vm_peak_bytes, vm_peak)
            self.members.dirty_procs.add(proc.pid)
        proc.swap_bytes = max(swap, 0)

    def _thread_detail(self, proc: ProcRecord, thread: ThreadRecord, names: bool) -> None:
        """A thread's context switches (task status) and last core (task stat)."""
        fs = self.members.fs
        try:
            if thread.status_fd < 0:
                task = fs / "proc" / str(proc.pid) / "task" / str(thread.tid)
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
            name = procfs.read_comm(fs, proc.pid, thread.tid)
            if name and name != thread.name:  # programs often name a thread after it started
                thread.name = name
                self.members.dirty_threads[thread.tid] = thread
