"""Sampling a process tree from outside, in tiers, through kept-open /proc descriptors.

    from gilwatt.sampler import TreeSampler

    sampler = TreeSampler(pid)
    sampler.sample()  # once per tick; what it reads depends on the tiers that are due
    rows, processes, threads = sampler.drain()

One :meth:`TreeSampler.sample` call reads the whole tree and appends store rows to
:class:`Rows`. Every tick reads each process's ``statm`` and CPU clock; the status tier (100 ms)
``stat``, every thread's ``schedstat`` and ``/proc/stat``; the detail tier (1 s) peaks, swap,
context switches, cores, names and command lines; ``smaps_rollup`` rides on its own schedule.
Marker and final samples read the status tier, the peaks and swap, every thread, the context
switches and cores. The parts, one module each:

- ``tree.py``: :class:`TreeSampler`, its one per-tick method ``sample()``, and the store rows.
- ``membership.py``: the processes and threads of the tree, adoption, leaving, reaping.
- ``tiers.py``: what a tick reads (the tier flags and their deadlines).
- ``reads.py``: the every-tick and status reads, through the parsers of ``probes/procfs.py``.
- ``accounting.py``: the tree's CPU and context switches, kept monotone (no /proc access).
"""

from gilwatt.sampler.membership import NAME_CHECKS
from gilwatt.sampler.tiers import (
    CTX,
    DEFAULT_STATUS_INTERVAL_NS,
    DETAIL,
    MARKER_SMAPS_GAP_NS,
    SMAPS,
    STATUS,
)
from gilwatt.sampler.tree import EnergyMeterLike, Rows, TreeSampler

__all__ = [
    "CTX",
    "DEFAULT_STATUS_INTERVAL_NS",
    "DETAIL",
    "MARKER_SMAPS_GAP_NS",
    "NAME_CHECKS",
    "SMAPS",
    "STATUS",
    "EnergyMeterLike",
    "Rows",
    "TreeSampler",
]
