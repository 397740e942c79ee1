"""Which processes and threads make up the tree: their records, adoption, leaving and reaping.

A process joins when it is the root, a child of a tree process (any of its threads may have
forked it), or an orphan of the root's session re-parented to gilwatt (child subreaper). It
leaves when its files can no longer be read (its parent reaped it: its time now sits in the
parent's children time) or when gilwatt reaps it (its rusage replaces its readings). A zombie
stays in the tree until then, with its last readings. A thread joins when its process's
``stat`` shows a new thread count and leaves when its ``schedstat`` can no longer be read; the
switches of threads that left are kept on their process, those of processes that left here.

Each process keeps its ``stat``, ``statm`` and ``status`` open, each thread its ``schedstat``
(and, once used, its ``stat``, ``status`` and ``children``); a kept-open file fails once its
process is reaped, so it never reads a pid's next owner.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gilwatt.errors import ProbeUnavailable, ProcessGone
from gilwatt.probes import procfs
from gilwatt.probes.memory import SmapsRollupReader

NAME_CHECKS = 2  # detail tiers on which a new thread's name is re-read (it may be set late)


class ThreadRecord:
    """One thread of the tree: its kept-open files and last readings."""

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


class ProcRecord:
    """One process of the tree: its kept-open files, threads and last readings."""

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
        self.threads: dict[int, ThreadRecord] = {}
        self.tlist: list[ThreadRecord] = []  # threads' values, rebuilt (never mutated) on changes
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
        self.ctx_vol = self.ctx_inv = 0  # its threads' switches, those that ended included
        self.dead_vol = self.dead_inv = 0  # switches of threads that have ended


class Membership:
    """The processes and threads of the tree rooted at ``root_pid``, read under ``fs``."""

    def __init__(
        self, root_pid: int, *, session: int | None = None, fs: Path = Path("/"), use_clock: bool
    ) -> None:
        self.root_pid = root_pid
        self.session = session
        self.fs = fs
        self.use_clock = use_clock  # own CPU from the process clock, else from stat's ticks
        self.procs: dict[int, ProcRecord] = {}  # parents before their children
        self.gone: dict[int, ProcRecord] = {}  # processes that left the tree, for their rows
        self.dirty_procs: set[int] = set()  # processes and threads whose rows changed
        self.dirty_threads: dict[int, ThreadRecord] = {}
        self.thread_pid: dict[int, int] = {}
        self.left_vol = self.left_inv = 0  # last known switches of processes that left /proc
        self._live: list[int] | None = None  # pids(), until the tree changes
        self.zombies = 0  # zombies in self.procs
        self._own_children: dict[int, int] = {}  # gilwatt's own tid -> kept-open children fd
        self._my_pid = os.getpid()

    # -- joining ----------------------------------------------------------------------------------

    def add_process(self, pid: int, t_ns: int) -> bool:
        """Open ``pid``'s files and read its ``stat``; False if it is gone (or unreadable)."""
        if pid in self.procs:
            return True
        proc = ProcRecord(pid, t_ns)
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
        self.track(proc)
        if not self.read_stat(proc, t_ns, True):
            self.drop_process(proc)
            return False
        return True

    def track(self, proc: ProcRecord) -> None:
        """Count ``proc`` in the tree (its files opened, or none: tests feed it readings)."""
        self.procs[proc.pid] = proc
        self._live = None
        self.dirty_procs.add(proc.pid)

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

    def _adopt_descendants(self, todo: list[ProcRecord], t_ns: int) -> None:
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
            task = self.fs / "proc" / str(self._my_pid) / "task"
            for tid in tids:
                if tid not in self._own_children:
                    self._own_children[tid] = _open_optional(task / str(tid) / "children", tid)
        found: set[int] = set()
        for fd in self._own_children.values():
            if fd < 0:
                continue
            try:
                found.update(procfs.parse_pids(os.pread(fd, 65536, 0)))
            except OSError:
                continue
        return found

    def _children(self, proc: ProcRecord) -> set[int]:
        """Children forked by any thread of ``proc`` (kept-open ``task/<tid>/children``)."""
        found: set[int] = set()
        task = self.fs / "proc" / str(proc.pid) / "task"
        for thread in proc.tlist:
            if thread.children_fd < 0:
                thread.children_fd = _open_optional(task / str(thread.tid) / "children", thread.tid)
            if thread.children_fd < 0:
                continue
            try:
                data = os.pread(thread.children_fd, 65536, 0)
            except OSError:
                continue
            if data:  # mostly empty: threads seldom fork
                found.update(procfs.parse_pids(data))
        return found

    # -- what stat says ---------------------------------------------------------------------------

    def read_stat(self, proc: ProcRecord, t_ns: int, detail: bool) -> bool:
        """``stat``: the user/sys split, children time, thread count, state; False if gone.

        The thread list is re-read when the count changed (or a thread's read failed, which
        sets the count to -1: one thread may have ended as another started); with ``detail``
        the parent (an orphan's becomes gilwatt) and the command line (it changes at exec).
        """
        try:
            data = os.pread(proc.stat_fd, 1024, 0)
        except OSError:
            return False
        state, ppid, user_ticks, sys_ticks, child_user_ns, child_sys_ns, num_threads = (
            procfs.parse_stat_head(data)
        )
        proc.user_ticks, proc.sys_ticks = user_ticks, sys_ticks
        proc.child_user_ns, proc.child_sys_ns = child_user_ns, child_sys_ns
        if not self.use_clock:
            proc.own_ns = (user_ticks + sys_ticks) * procfs.NS_PER_TICK
        proc.cpu_ns = proc.own_ns + child_user_ns + child_sys_ns
        proc.last_ns = t_ns
        if state == "Z":
            if proc.state != "Z":
                proc.state = "Z"
                self._live = None
                self.zombies += 1
                proc.ppid = ppid
                self.dirty_procs.add(proc.pid)
            return True
        if num_threads != proc.num_threads:
            proc.num_threads = num_threads
            self._rescan_threads(proc, t_ns)
        if detail:
            if ppid != proc.ppid:
                proc.ppid = ppid
                self.dirty_procs.add(proc.pid)
            cmdline = procfs.read_cmdline(self.fs, proc.pid)
            if cmdline and cmdline != proc.cmdline:
                proc.cmdline = cmdline
                self.dirty_procs.add(proc.pid)
        return True

    def _rescan_threads(self, proc: ProcRecord, t_ns: int) -> None:
        tids = procfs.list_threads(self.fs, proc.pid)
        current = set(tids)
        for tid in [t for t in proc.threads if t not in current]:
            self.drop_thread(proc, tid)
        task = self.fs / "proc" / str(proc.pid) / "task"
        for tid in tids:
            if tid in proc.threads:
                continue
            try:
                fd = procfs.open_file(task / str(tid) / "schedstat", tid)
            except (ProcessGone, ProbeUnavailable):
                continue
            thread = ThreadRecord(tid, fd, t_ns)
            thread.name = procfs.read_comm(self.fs, proc.pid, tid)
            self.add_thread(proc, thread)

    # -- leaving ----------------------------------------------------------------------------------

    def add_thread(self, proc: ProcRecord, thread: ThreadRecord) -> None:
        proc.threads[thread.tid] = thread
        proc.tlist = list(proc.threads.values())
        self.thread_pid[thread.tid] = proc.pid
        self.dirty_threads[thread.tid] = thread

    def drop_thread(self, proc: ProcRecord, tid: int) -> None:
        """The thread ended: its switches stay on its process."""
        thread = proc.threads.pop(tid)
        proc.tlist = list(proc.threads.values())
        for fd in (thread.fd, thread.stat_fd, thread.status_fd, thread.children_fd):
            _close(fd)
        thread.fd = thread.stat_fd = thread.status_fd = thread.children_fd = -1
        proc.dead_vol += thread.ctx_vol
        proc.dead_inv += thread.ctx_inv
        self.dirty_threads[tid] = thread

    def drop_process(self, proc: ProcRecord, *, switches_kept: bool = True) -> None:
        """The process left the tree: its time now sits in its parent's children time.

        Its switches are kept as those of a process that left, unless ``switches_kept`` is
        False (gilwatt reaped it, and its rusage carries them).
        """
        for tid in list(proc.threads):
            self.drop_thread(proc, tid)
        for fd in (proc.stat_fd, proc.statm_fd, proc.status_fd):
            _close(fd)
        proc.stat_fd = proc.statm_fd = proc.status_fd = -1
        if self.procs.pop(proc.pid, None) is not None:
            self._live = None
            self.zombies -= proc.state == "Z"
        self.gone[proc.pid] = proc
        if switches_kept:
            self.left_vol += proc.dead_vol
            self.left_inv += proc.dead_inv
        self.dirty_procs.add(proc.pid)

    def zombie_orphans(self) -> list[int]:
        """Tree processes that are zombies waiting for gilwatt (not the root) to reap them."""
        if not self.zombies:  # the profiler asks at every tick
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

    def close(self) -> None:
        """Close every kept-open file, gilwatt's own threads' ``children`` too."""
        for proc in list(self.procs.values()):
            self.drop_process(proc)
        for fd in self._own_children.values():
            _close(fd)
        self._own_children.clear()


def _open_optional(path: Path, pid: int) -> int:
    """A kept-open /proc file, or -1 when it cannot be opened (the thread is gone)."""
    try:
        return procfs.open_file(path, pid)
    except (ProcessGone, ProbeUnavailable):
        return -1


def _close(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
