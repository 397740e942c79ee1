"""The tree sampler: one :meth:`TreeSampler.sample` per tick, and the rows it produces.

A sample reads the tiers that are due (:mod:`~gilwatt.sampler.tiers`): on any tier,
``/proc/stat`` (per-core busy ticks, which only move in 10 ms steps, and the fork count), new
children when that count says some process was created since, then every process
(:mod:`~gilwatt.sampler.reads`, which keeps :mod:`~gilwatt.sampler.membership` current), then
the tree's CPU and switches (:mod:`~gilwatt.sampler.accounting`) and the energy meter. A RAPL
meter (or a model that follows the tree's CPU) is read every tick, a model from ``/proc/stat``
on the status tier; samples that did not read the meter store NULL energy (the store carries
the last reading over).
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gilwatt.errors import ProcessGone
from gilwatt.probes.cpu import CoreStatReader
from gilwatt.sampler.accounting import TreeAccount
from gilwatt.sampler.membership import Membership, ThreadRecord
from gilwatt.sampler.reads import TreeReads
from gilwatt.sampler.tiers import CTX, DEFAULT_STATUS_INTERVAL_NS, DETAIL, SMAPS, TierSchedule
from gilwatt.threadrecords import HookedThreads


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


class TreeSampler:
    """Samples the tree rooted at ``root_pid``; see :mod:`gilwatt.sampler` for what and when."""

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
        self.meter = meter
        # RAPL is read at every tick; a model that follows the tree's CPU too (its machine-wide
        # zone is fed when the per-core ticks are read, on the status tier).
        self.meter_follows_tree = bool(getattr(meter, "follows_tree", False))
        self.meter_every_tick = meter is not None and (
            not getattr(meter, "estimate", True) or self.meter_follows_tree
        )
        use_clock = use_clock and root == Path("/")
        self.members = Membership(root_pid, session=session, fs=root, use_clock=use_clock)
        self.reads = TreeReads(self.members, clock=time.clock_gettime_ns if use_clock else None)
        self.tiers = TierSchedule(status_interval_ns, memory_interval_ns)
        self.account = TreeAccount()
        self.measure_cost = measure_cost
        self.rows = Rows()
        self.seq = 0
        self.hooked = HookedThreads()  # what the in-process thread hook reported
        self.warnings: list[str] = []
        self.cores: list[tuple[int, int]] = []
        self.tree_rss = array("q")  # per sample seq: tree RSS, for region peaks
        self.hwm_at: dict[int, dict[int, int]] = {}  # seq -> {pid: VmHWM} for marker samples
        self.sample_cpu_ns = 0  # this sampler's own CPU inside sample() (if measure_cost)
        self.samples_taken = 0
        self.cpu = CoreStatReader(root)
        self._forks_seen: int | None = -1  # /proc/stat's fork count when children were last sought
        t_ns = time.monotonic_ns() if start_ns is None else start_ns
        if not self.members.add_process(root_pid, t_ns):
            self.cpu.close()
            raise ProcessGone(root_pid)

    # -- sampling ---------------------------------------------------------------------------------

    def sample(self, trigger: str = "tick", scheduled_ns: int | None = None, reads: int = 0) -> int:
        """Read the tree now (plus the ``reads`` flags and any tier due); return the sample seq."""
        cpu_start = time.thread_time_ns() if self.measure_cost else 0
        t_ns = time.monotonic_ns()
        seq = self.seq
        self.seq = seq + 1
        rows = self.rows
        members = self.members
        cores_read = False
        if reads or t_ns >= self.tiers.next_due_ns:
            cores_read = True
            reads = self.tiers.due(t_ns, scheduled_ns, trigger, reads)
            cores = self.cores = self.cpu.read()
            core_rows = rows.cores
            for index, (busy, total) in enumerate(cores):
                core_rows.append((seq, index, busy, total))
            # New children are sought when some process (or thread) was created anywhere since
            # the last look: /proc/stat is read before the children lists, so none is missed.
            forks = self.cpu.forks
            if forks is None or forks != self._forks_seen:
                self._forks_seen = forks
                members.find_children(t_ns, bool(reads & DETAIL))
        own, rss, vms, resum = self.reads.processes(seq, t_ns, reads, rows.threads)
        if reads & (CTX | SMAPS):
            self.reads.status(t_ns, reads, rows.memory)
        account = self.account
        if reads & CTX:
            account.count_switches(members)
        cpu, user, system = account.cpu(own, members.procs, resum)
        energy: int | None = None
        if self.meter is not None and (reads or self.meter_every_tick):
            if self.meter_follows_tree:
                energy, zones = self.meter.sample(t_ns, self.cores if cores_read else (), cpu)
            else:
                energy, zones = self.meter.sample(t_ns, self.cores)
            for zone, value in zones.items():
                rows.energy.append((seq, zone, value))
        vol, inv = account.switches
        rows.samples.append(
            (seq, t_ns, scheduled_ns, trigger, cpu, user, system, rss, vms, account.swap_bytes,
             account.threads, len(members.procs), vol, inv, energy)
        )  # fmt: skip
        self.tree_rss.append(rss)
        if trigger == "marker":
            self.hwm_at[seq] = {p.pid: p.hwm_bytes for p in members.procs.values()}
        self.samples_taken += 1
        if self.measure_cost:
            self.sample_cpu_ns += time.thread_time_ns() - cpu_start
        return seq

    # -- what the profiler tells and asks ---------------------------------------------------------

    def account_reaped(self, pid: int, rusage: Any) -> None:
        """gilwatt reaped ``pid`` (wait4): its rusage replaces its /proc readings."""
        self.account.reaped(self.members, pid, rusage)

    def thread_event(self, event: Any) -> None:
        """A thread's start (kind S) or end (X) from the thread hook: exact times and CPU.

        No /proc read: a thread that lives between two ticks is recorded all the same.
        """
        self.hooked.add(event)
        members = self.members
        members.thread_pid.setdefault(event.tid, event.pid)
        if event.tid not in members.dirty_threads:
            pid = members.thread_pid[event.tid]
            proc = members.procs.get(pid) or members.gone.get(pid)
            seen = proc.threads.get(event.tid) if proc is not None else None
            members.dirty_threads[event.tid] = seen or ThreadRecord(event.tid, -1, event.t_ns)

    def zombie_orphans(self) -> list[int]:
        """Tree processes that are zombies waiting for gilwatt (not the root) to reap them."""
        return self.members.zombie_orphans()

    def pids(self) -> list[int]:
        """Live (not zombie) processes of the tree (a list kept between changes: do not modify)."""
        return self.members.pids()

    def peak_hwm_bytes(self) -> int:
        """The highest VmHWM read of any process of the tree (exact up to the last read)."""
        members = self.members
        values = [p.hwm_bytes for p in (*members.procs.values(), *members.gone.values())]
        return max(values, default=0)

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
        members = self.members
        if everything:
            members.dirty_procs.update(members.procs)
            for p in members.procs.values():
                for t in p.tlist:
                    members.dirty_threads[t.tid] = t
        procs = []
        for pid in members.dirty_procs:
            p = members.procs.get(pid) or members.gone[pid]
            procs.append((pid, p.ppid or None, p.cmdline, p.first_ns, p.last_ns, p.cpu_ns,
                          p.hwm_bytes or None, p.vm_peak_bytes or None))  # fmt: skip
        threads = [self._thread_row(t) for t in members.dirty_threads.values()]
        members.dirty_procs = set()
        members.dirty_threads = {}
        return rows, procs, threads

    def _thread_row(self, t: ThreadRecord) -> tuple[Any, ...]:
        """(tid, pid, name, first_ns, last_ns, cpu_ns, start_ns, end_ns), as seen from /proc
        and merged with what the thread hook reported."""
        pid = self.members.thread_pid.get(t.tid, 0)
        return self.hooked.row(t.tid, pid, t.name, t.first_ns, t.last_ns, t.cpu_ns)

    def close(self) -> None:
        """Close every kept-open file (the tree's and gilwatt's own ``children``)."""
        self.members.close()
        self.cpu.close()
