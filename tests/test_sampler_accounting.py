"""The sampler's accounting on recorded readings: no processes, each edge case on purpose.

The /proc files of a made-up tree are written under a temporary root and rewritten before each
tick; the processes' CPU clocks are a table (a reaped process's clock fails, as the kernel's
does). Membership, reads and accounting run as ``TreeSampler.sample()`` drives them, so the
parsers and the arithmetic are the ones a real run uses; only the readings are recorded.
"""

from __future__ import annotations

import errno
import itertools
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from gilwatt.probes import procfs
from gilwatt.sampler import CTX, DETAIL, SMAPS, STATUS
from gilwatt.sampler.accounting import TreeAccount
from gilwatt.sampler.membership import Membership
from gilwatt.sampler.reads import TreeReads
from gilwatt.sampler.tiers import TierSchedule

ROOT, CHILD = 100, 101
TICK_NS = procfs.NS_PER_TICK
MS = 1_000_000


@dataclass
class Readings:
    """What the kernel would show of one process (CPU in clock ticks, the clock in ns)."""

    ppid: int
    clock_ns: int
    user_ticks: int = 0
    sys_ticks: int = 0
    child_user_ticks: int = 0  # cutime: reaped children
    child_sys_ticks: int = 0
    state: str = "S"
    switches: dict[int, tuple[int, int]] = field(default_factory=dict)  # tid -> (vol, invol)


def _stat_line(pid: int, r: Readings) -> bytes:
    head = (f"{pid} (py thon) {r.state} {r.ppid} {pid} {pid} 0 -1 4194560 100 0 0 0 "
            f"{r.user_ticks} {r.sys_ticks} {r.child_user_ticks} {r.child_sys_ticks} 20 0 "
            f"{len(r.switches)} 0 99 1000 5 ")  # fmt: skip
    return (head + "0 " * 20).encode()


class RecordedTree:
    """A tree whose /proc files and clocks are recorded readings, sampled tick by tick."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: dict[int, Readings] = {}
        self.reaped: set[int] = set()
        self.members = Membership(ROOT, fs=root, use_clock=True)
        self.reads = TreeReads(self.members, clock=self._clock)
        self.account = TreeAccount()
        self.seq = 0
        self.t_ns = 1_000_000_000

    def _clock(self, clock_id: int) -> int:
        pid = next(p for p in self.procs if procfs.process_clock_id(p) == clock_id)
        if pid in self.reaped:
            raise ProcessLookupError(errno.ESRCH, "no such process")
        return self.procs[pid].clock_ns

    def _write(self, pid: int) -> None:
        r = self.procs[pid]
        base = self.root / "proc" / str(pid)
        (base / "task").mkdir(parents=True, exist_ok=True)
        (base / "stat").write_bytes(_stat_line(pid, r))
        (base / "statm").write_bytes(b"0 0 0 0 0 0 0\n" if r.state == "Z" else b"900 250 0 0\n")
        (base / "status").write_bytes(b"Name:\tpy thon\nVmPeak:\t3600 kB\nVmHWM:\t1000 kB\n")
        for tid, (vol, inv) in r.switches.items():
            task = base / "task" / str(tid)
            task.mkdir(exist_ok=True)
            (task / "schedstat").write_bytes(f"{r.clock_ns // len(r.switches)} 0 1\n".encode())
            (task / "stat").write_bytes(_stat_line(tid, r))
            (task / "status").write_bytes(
                f"Name:\tpy\nvoluntary_ctxt_switches:\t{vol}\n"
                f"nonvoluntary_ctxt_switches:\t{inv}\n".encode()
            )

    def add(self, pid: int, readings: Readings) -> None:
        """A process joins (as found among its parent's children)."""
        self.procs[pid] = readings
        self._write(pid)
        assert self.members.add_process(pid, self.t_ns)

    def end_thread(self, pid: int, tid: int) -> None:
        del self.procs[pid].switches[tid]
        shutil.rmtree(self.root / "proc" / str(pid) / "task" / str(tid))

    def tick(self, reads: int = 0) -> tuple[int, int, int]:
        """One sample's reads and accounting, as ``TreeSampler.sample()`` runs them."""
        for pid in self.procs.keys() - self.reaped:
            self._write(pid)
        self.t_ns += 10 * MS
        own, _, _, resum = self.reads.processes(self.seq, self.t_ns, reads, [])
        if reads & (CTX | SMAPS):
            self.reads.status(self.t_ns, reads, [])
        if reads & CTX:
            self.account.count_switches(self.members)
        self.seq += 1
        return self.account.cpu(own, self.members.procs, resum)


def test_a_child_reaped_between_ticks_is_counted_once(tmp_path: Path) -> None:
    tree = RecordedTree(tmp_path)
    tree.add(ROOT, Readings(1, 100 * MS, 8, 2, switches={ROOT: (0, 0)}))
    tree.add(CHILD, Readings(ROOT, 50 * MS, 5, 0, switches={CHILD: (0, 0)}))
    assert tree.tick(STATUS)[0] == 150 * MS
    # The child burns 20 ms more and its parent reaps it: its 70 ms move to the root's cutime.
    # A plain tick finds it gone and re-reads the root's stat: 170 ms, not 220.
    tree.procs[ROOT].child_user_ticks = 70 * MS // TICK_NS
    tree.reaped.add(CHILD)
    assert tree.tick()[0] == 170 * MS
    assert tree.members.pids() == [ROOT] and CHILD in tree.members.gone
    assert tree.tick(STATUS)[0] == 170 * MS


def test_a_reap_amid_a_status_ticks_reads_keeps_the_tree_monotone(tmp_path: Path) -> None:
    tree = RecordedTree(tmp_path)
    tree.add(ROOT, Readings(1, 100 * MS, 8, 2, switches={ROOT: (0, 0)}))
    tree.add(CHILD, Readings(ROOT, 50 * MS, 5, 0, switches={CHILD: (0, 0)}))
    assert tree.tick(STATUS) == (150 * MS, 130 * MS, 20 * MS)
    # The root's stat was read just before the reap, the child's clock just after it: for
    # one status tick the child's time is in neither, and the tree holds its last figures.
    tree.reaped.add(CHILD)
    assert tree.tick(STATUS) == (150 * MS, 130 * MS, 20 * MS)
    tree.procs[ROOT].child_user_ticks = 50 * MS // TICK_NS
    tree.procs[ROOT].clock_ns = 110 * MS
    cpu, user, system = tree.tick(STATUS)
    assert (cpu, user + system) == (160 * MS, cpu)


def test_a_process_gilwatt_reaped_is_counted_through_its_rusage(tmp_path: Path) -> None:
    tree = RecordedTree(tmp_path)
    tree.add(ROOT, Readings(1, 100 * MS, 10, 0, switches={ROOT: (10, 1)}))
    orphan = Readings(ROOT, 40 * MS, 4, 0, switches={CHILD: (5, 2), CHILD + 1: (3, 1)})
    tree.add(CHILD, orphan)
    assert tree.tick(STATUS | CTX)[0] == 140 * MS
    assert tree.account.switches == (18, 4)
    orphan.ppid, orphan.state = 1, "Z"  # re-parented to gilwatt, exited, not yet reaped
    tree.tick(STATUS | CTX)
    # gilwatt reaps it: the kernel's rusage (one more switch each than last read) replaces
    # its readings, its threads' switches included (they were once counted twice).
    tree.reaped.add(CHILD)
    usage = SimpleNamespace(ru_utime=0.04, ru_stime=0.0, ru_nvcsw=9, ru_nivcsw=4)
    tree.account.reaped(tree.members, CHILD, usage)
    assert tree.tick(STATUS | CTX)[0] == 140 * MS
    assert tree.account.switches == (10 + 9, 1 + 4)
    assert tree.members.gone[CHILD].cpu_ns == 40 * MS


def test_a_zombie_counts_until_it_is_reaped(tmp_path: Path) -> None:
    tree = RecordedTree(tmp_path)
    tree.add(ROOT, Readings(1, 100 * MS, 10, 0, switches={ROOT: (1, 0)}))
    child = Readings(ROOT, 30 * MS, 3, 0, switches={CHILD: (4, 2)})
    tree.add(CHILD, child)
    assert tree.tick(STATUS | CTX)[0] == 130 * MS
    assert tree.account.threads == 2
    child.state = "Z"
    assert tree.tick(STATUS | CTX)[0] == 130 * MS  # its own time stays in the tree...
    assert tree.members.pids() == [ROOT] and tree.members.zombies == 1
    assert tree.account.threads == 1  # ...its threads do not
    assert tree.account.switches == (5, 2)
    tree.procs[ROOT].child_user_ticks = 30 * MS // TICK_NS  # the root reaps it
    tree.reaped.add(CHILD)
    assert tree.tick()[0] == 130 * MS
    assert tree.members.zombies == 0 and CHILD in tree.members.gone
    assert tree.tick(STATUS | CTX)[0] == 130 * MS
    assert tree.account.switches == (5, 2)


def test_user_and_sys_are_each_kept_monotone(tmp_path: Path) -> None:
    tree = RecordedTree(tmp_path)
    root = Readings(1, 100 * MS, 9, 1, switches={ROOT: (0, 0)})
    tree.add(ROOT, root)
    seen = [tree.tick(STATUS)]
    assert seen[0] == (100 * MS, 90 * MS, 10 * MS)
    root.clock_ns, root.user_ticks, root.sys_ticks = 110 * MS, 5, 5  # the split turns
    seen.append(tree.tick(STATUS))
    assert seen[1] == (110 * MS, 90 * MS, 20 * MS)  # user does not step back
    root.clock_ns, root.user_ticks, root.sys_ticks = 200 * MS, 10, 0  # and turns again
    seen.append(tree.tick(STATUS))
    assert seen[2] == (200 * MS, 180 * MS, 20 * MS)  # nor does sys
    root.clock_ns = 230 * MS
    seen.append(tree.tick())  # a plain tick splits by the last proportion
    for column in range(3):
        assert all(b[column] >= a[column] for a, b in itertools.pairwise(seen))
    assert all(cpu == user + system for cpu, user, system in seen)


def test_an_ended_thread_keeps_its_switches(tmp_path: Path) -> None:
    tree = RecordedTree(tmp_path)
    root = Readings(1, 100 * MS, 10, 0, switches={ROOT: (10, 1), ROOT + 4: (20, 5)})
    tree.add(ROOT, root)
    tree.tick(STATUS | CTX)
    assert tree.account.switches == (30, 6)
    tree.end_thread(ROOT, ROOT + 4)  # stat's thread count drops: the threads are re-listed
    root.switches[ROOT] = (12, 1)
    tree.tick(STATUS | CTX)
    assert list(tree.members.procs[ROOT].threads) == [ROOT]
    assert ROOT + 4 in tree.members.dirty_threads  # its row is written once more
    assert tree.account.switches == (32, 6)


def _run(schedule: TierSchedule, times: list[tuple[int, int | None, str, int]]) -> list[int]:
    """Each sample's reads, as ``TreeSampler.sample()`` asks the schedule for them."""
    out = []
    for t_ns, scheduled_ns, trigger, reads in times:
        if reads or t_ns >= schedule.next_due_ns:
            reads = schedule.due(t_ns, scheduled_ns, trigger, reads)
        out.append(reads)
    return out


def test_tiers_land_on_every_nth_tick_whatever_the_wake_up_delay() -> None:
    start_ns = 5_000_000_000
    ticks = []
    for k in range(300):  # 3 s at 100 Hz, each wake-up late by 0-3 ms
        scheduled_ns = start_ns + k * 10 * MS
        ticks.append((scheduled_ns + (k * 7919 * 1000) % (3 * MS), scheduled_ns, "tick", 0))
    reads = _run(TierSchedule(100 * MS, 1000 * MS), ticks)
    assert [k for k, r in enumerate(reads) if r & STATUS] == list(range(0, 300, 10))
    # The detail tier: at the start, 100 ms in (the start-up peaks), then every second.
    assert [k for k, r in enumerate(reads) if r & DETAIL] == [0, 10, 110, 210]
    assert all(r & CTX for r in reads if r & DETAIL)
    assert not reads[0] & SMAPS  # smaps_rollup not at the first sample...
    smaps = [k for k, r in enumerate(reads) if r & SMAPS]
    assert len(smaps) == 3 and 10 <= smaps[0] <= 11  # ...but from 100 ms in, once a second
    assert all(b - a >= 99 for a, b in itertools.pairwise(smaps))


def test_markers_read_smaps_rollup_at_most_every_100_ms() -> None:
    start_ns = 5_000_000_000
    schedule = TierSchedule(100 * MS, 1000 * MS)
    samples = [(start_ns, start_ns, "tick", 0)]
    for k in range(1, 200):  # 2 s: a tick every 10 ms, a marker every 30 ms between them
        samples.append((start_ns + k * 10 * MS, start_ns + k * 10 * MS, "tick", 0))
        if k % 3 == 0:
            samples.append((start_ns + k * 10 * MS + 5 * MS, None, "marker", STATUS | CTX))
    reads = _run(schedule, samples)
    read_at = [t for (t, _, _, _), r in zip(samples, reads, strict=True) if r & SMAPS]
    assert all(b - a >= 100 * MS for a, b in itertools.pairwise(read_at))
    at_markers = [t for (t, _, trigger, _), r in zip(samples, reads, strict=True)
                  if r & SMAPS and trigger == "marker"]  # fmt: skip
    assert len(at_markers) >= 10  # region boundaries get USS/PSS...
    assert len(read_at) <= 2000 * MS // (100 * MS)  # ...never more often than every 100 ms
