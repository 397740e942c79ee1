"""The tree's CPU and context switches, from the records' last readings (no /proc access).

The tree's CPU is, over the processes alive or zombie in it, their own CPU plus what their
reaped children used (``cutime``/``cstime``), plus the rusage of processes gilwatt reaped itself
(orphans re-parented to it as child subreaper). Every process's time is counted once: while it
lives by itself, after it is reaped in its parent's children time (the tick it leaves re-reads
every ``stat``, :mod:`gilwatt.sampler.reads`), and the tree's cumulative CPU is kept monotone
across the hand-over. The processes' own CPU (the exact clock) is split into user and sys by the
tree's ``stat`` tick proportion at the last status read; each part is kept monotone and they
always add up to the total.

A child that lives shorter than the status tier may never be seen; its time is still counted
once its parent reaps it. Context switches are summed the same way: every thread's, those of
threads that ended (kept on their process), of processes that left (kept by the membership),
and the rusage of processes gilwatt reaped; the tree's total is kept monotone too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gilwatt.sampler.membership import Membership, ProcRecord


class TreeAccount:
    """The tree's cumulative CPU (ns) and context switches, each kept monotone."""

    def __init__(self) -> None:
        # Time and switches of processes gilwatt reaped itself (their rusage, children included).
        self.reaped_user_ns = self.reaped_sys_ns = 0
        self.reaped_vol = self.reaped_inv = 0
        self.last = (0, 0, 0)  # tree (cpu, user, sys) of the previous sample
        self.switches = (0, 0)  # tree (voluntary, involuntary) of the last switch read
        # Tree sums of the fields only stat and status reads set: reaped children's user and
        # sys ns (gilwatt's own reaps included), own user and total ticks (the split), swap
        # and the threads of live processes.
        self.sums = (0, 0, 0, 0)
        self.swap_bytes = self.threads = 0
        self.stale = True  # sums must be redone: a reap since the last sample

    def reaped(self, members: Membership, pid: int, rusage: Any) -> None:
        """gilwatt reaped ``pid`` (wait4): its rusage replaces its readings, switches too."""
        proc = members.procs.get(pid)
        if proc is not None:
            proc.cpu_ns = round((rusage.ru_utime + rusage.ru_stime) * 1e9)
            members.drop_process(proc, switches_kept=False)
        self.reaped_user_ns += round(rusage.ru_utime * 1e9)
        self.reaped_sys_ns += round(rusage.ru_stime * 1e9)
        self.reaped_vol += rusage.ru_nvcsw
        self.reaped_inv += rusage.ru_nivcsw
        self.stale = True

    def cpu(
        self, own_ns: int, procs: Mapping[int, ProcRecord], resum: bool
    ) -> tuple[int, int, int]:
        """The tree's (cpu, user, sys) ns given its processes' own CPU ``own_ns``; ``resum``
        when a ``stat`` or ``status`` was read or a process left since the last call."""
        if resum or self.stale:
            self._sum(procs.values())
        child_user, child_sys, user_ticks, ticks = self.sums
        # The processes' own CPU is the exact clock; stat's user/sys tick proportion (summed
        # over the tree at the last stat read) splits it. Reaped children's time is exact.
        cpu = own_ns + child_user + child_sys
        user = (own_ns * user_ticks // ticks if ticks else own_ns) + child_user
        last_cpu, last_user, last_sys = self.last
        if cpu < last_cpu:  # a child was reaped between two reads: keep the tree monotone
            return self.last
        # user and sys each too (the split is an estimate until the kernel's rusage)
        if user < last_user:
            user = last_user
        elif user > cpu - last_sys:
            user = cpu - last_sys
        self.last = (cpu, user, cpu - user)
        return self.last

    def _sum(self, procs: Iterable[ProcRecord]) -> None:
        child_user, child_sys = self.reaped_user_ns, self.reaped_sys_ns
        user_ticks = ticks = swap = threads = 0
        for p in procs:
            child_user += p.child_user_ns
            child_sys += p.child_sys_ns
            user_ticks += p.user_ticks
            ticks += p.user_ticks + p.sys_ticks
            swap += p.swap_bytes
            if p.state != "Z":
                threads += p.num_threads
        self.sums = (child_user, child_sys, user_ticks, ticks)
        self.swap_bytes, self.threads = swap, threads
        self.stale = False

    def count_switches(self, members: Membership) -> tuple[int, int]:
        """The tree's (voluntary, involuntary) switches after the threads' switches were read."""
        vol = members.left_vol + self.reaped_vol
        inv = members.left_inv + self.reaped_inv
        for p in members.procs.values():
            if p.state != "Z":  # a zombie's threads are no longer read: its last sums stand
                p.ctx_vol = p.dead_vol + sum(t.ctx_vol for t in p.tlist)
                p.ctx_inv = p.dead_inv + sum(t.ctx_inv for t in p.tlist)
            vol += p.ctx_vol
            inv += p.ctx_inv
        self.switches = (max(vol, self.switches[0]), max(inv, self.switches[1]))
        return self.switches
