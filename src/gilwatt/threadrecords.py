"""What the in-process thread hook (:mod:`gilwatt.threadhook`) reported, merged into the
thread rows the sampler reads from /proc.

A hooked thread has an exact start and end (CLOCK_MONOTONIC in the thread itself) and, at its
end, its exact CPU time; /proc gives first/last seen and the CPU at the last read. A row holds
both: first/last widened to the hook's times, the highest CPU reading, and the hook's own
start and end in columns of their own.
"""

from __future__ import annotations

from typing import Any


class _Hooked:
    __slots__ = ("cpu_ns", "end_ns", "name", "pid", "start_ns")

    def __init__(self, pid: int, name: str, start_ns: int | None) -> None:
        self.pid = pid
        self.name = name
        self.start_ns = start_ns
        self.end_ns: int | None = None
        self.cpu_ns: int | None = None


# A start event whose thread already spent this much CPU came from a thread that ran before the
# hook loaded (the interpreter's main thread, through start-up): its start is not known.
_RAN_BEFORE_HOOK_NS = 1_000_000


class HookedThreads:
    """tid -> the hook's start (S) and end (X) events."""

    def __init__(self) -> None:
        self._by_tid: dict[int, _Hooked] = {}

    def __len__(self) -> int:
        return len(self._by_tid)

    def add(self, event: Any) -> None:
        """A :class:`gilwatt.channel.MarkerEvent` of kind S or X."""
        hooked = self._by_tid.get(event.tid)
        if hooked is None or (event.kind == "S" and hooked.end_ns is not None):  # tid reused
            ran_before = event.thread_cpu_ns > _RAN_BEFORE_HOOK_NS
            start = event.t_ns if event.kind == "S" and not ran_before else None
            hooked = self._by_tid[event.tid] = _Hooked(event.pid, event.name, start)
        hooked.pid = event.pid
        if event.name:
            hooked.name = event.name  # Python's name, not comm's first 15 bytes
        if event.kind == "X":
            hooked.end_ns = event.t_ns
            hooked.cpu_ns = event.thread_cpu_ns

    def row(
        self, tid: int, pid: int, name: str, first_ns: int, last_ns: int, cpu_ns: int
    ) -> tuple[Any, ...]:
        """The threads-table row of a thread seen from /proc (or a placeholder for one that
        only the hook saw): (tid, pid, name, first_ns, last_ns, cpu_ns, start_ns, end_ns)."""
        h = self._by_tid.get(tid)
        if h is None:
            return (tid, pid, name, first_ns, last_ns, cpu_ns or None, None, None)
        first = min(first_ns, h.start_ns or first_ns)
        last = max(last_ns, h.end_ns or last_ns)
        cpu = max(cpu_ns, h.cpu_ns or 0) or None
        return (tid, h.pid, h.name or name, first, last, cpu, h.start_ns, h.end_ns)
