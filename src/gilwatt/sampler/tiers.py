"""What a tick reads: the tiers beyond the every-tick reads, and when each comes due.

- status tier (``status_interval_ns``, 100 ms): ``stat`` and every thread's ``schedstat``,
  ``/proc/stat`` and the model energy meter, new children.
- detail tier (``memory_interval_ns``, 1 s, and once 100 ms after the start): the status tier
  plus peaks and swap, every thread's context switches and last core, the thread names and the
  command lines.
- ``smaps_rollup`` (USS/PSS): every ``memory_interval_ns`` from 100 ms after the start (not at
  the first sample: the program has barely started), and at markers when it was last read more
  than 100 ms before.

Marker and final samples ask for the status tier and the context switches on top (``reads``).
"""

from __future__ import annotations

# What a sample reads beyond the tick tier (flags; the tiers come due by themselves).
STATUS = 1  # stat and status of each process, /proc/stat, model energy, new children
CTX = 2  # every thread's CPU, context switches and last core
DETAIL = 4  # thread list and names, command lines (and SMAPS)
SMAPS = 8  # smaps_rollup (USS/PSS)
MARKER_SMAPS_GAP_NS = 100_000_000  # marker samples read smaps_rollup at most this often
DEFAULT_STATUS_INTERVAL_NS = 100_000_000


class TierSchedule:
    """The deadlines of the status, detail and ``smaps_rollup`` tiers (no /proc access)."""

    def __init__(self, status_interval_ns: int, memory_interval_ns: int) -> None:
        self.status_interval_ns = status_interval_ns
        self.memory_interval_ns = memory_interval_ns
        self.next_status_ns = self.next_detail_ns = self.next_smaps_ns = self.last_smaps_ns = 0
        self.next_due_ns = 0  # the earliest of the three: a plain tick before it skips due()

    def due(self, t_ns: int, scheduled_ns: int | None, trigger: str, reads: int) -> int:
        """``reads`` plus the tiers that are due at ``t_ns`` (a sample is taken then)."""
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
