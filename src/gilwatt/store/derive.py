"""Derived figures computed on read from the stored cumulative counters (numpy, no row loops)."""

from __future__ import annotations

import numpy as np

from gilwatt.readback import FloatArray, IntArray

# Bump when a formula below changes: cached run_summaries rows of another version are ignored.
FORMULA_VERSION = 1

# Peak CPU utilisation is taken over windows of at least this long (or two sampling intervals):
# /proc CPU times move in 10 ms ticks, and boundary samples can be microseconds apart, so a
# per-interval peak would measure quantisation, not load.
PEAK_WINDOW_NS = 100_000_000


def align_cumulative(sample_seq: IntArray, row_seq: IntArray, values: IntArray) -> IntArray:
    """``values`` (rows keyed by ascending ``row_seq``) at each sample: the last row at or before
    it, or the first row for samples before any row."""
    if row_seq.shape[0] == 0:
        return np.zeros(sample_seq.shape[0], dtype=np.int64)
    index = np.searchsorted(row_seq, sample_seq, side="right") - 1
    np.maximum(index, 0, out=index)
    return values[index]


def interval_utilisation(busy: IntArray, total: IntArray) -> FloatArray:
    """Busy share of each sample's interval from cumulative busy/total ticks.

    A sample whose tick counters did not move since the previous one (the first sample, and
    samples closer together than one tick) gets the share of the interval it lies in: the
    next interval over which the counters did move.
    """
    n = busy.shape[0]
    util = np.zeros(n, dtype=np.float64)
    if n < 2:
        return util
    d_total = np.diff(total)
    moved = np.flatnonzero(d_total > 0) + 1  # sample indices that end a measurable interval
    if moved.shape[0] == 0:
        return util
    share = (busy[moved] - busy[moved - 1]) / (total[moved] - total[moved - 1])
    which = np.searchsorted(moved, np.arange(n), side="left")
    np.minimum(which, moved.shape[0] - 1, out=which)
    util[:] = share[which]
    return np.clip(util, 0.0, 1.0)


def core_busy_matrix(
    sample_seq: IntArray, core_seq: IntArray, core: IntArray, busy: IntArray, total: IntArray
) -> FloatArray:
    """Shape (samples, cores): each core's utilisation 0..1 in each sample's interval."""
    cores = np.unique(core)
    result = np.zeros((sample_seq.shape[0], cores.shape[0]), dtype=np.float64)
    for column, c in enumerate(cores):
        mine = core == c
        seqs = core_seq[mine]
        b = align_cumulative(sample_seq, seqs, busy[mine])
        t = align_cumulative(sample_seq, seqs, total[mine])
        result[:, column] = interval_utilisation(b, t)
    return result


def mean_utilisation(t_ns: IntArray, cpu_ns: IntArray) -> float:
    """Cores busy on average between the first and last sample (1.0 = one core)."""
    if t_ns.shape[0] < 2 or t_ns[-1] <= t_ns[0]:
        return 0.0
    return float(cpu_ns[-1] - cpu_ns[0]) / float(t_ns[-1] - t_ns[0])


def peak_utilisation(t_ns: IntArray, cpu_ns: IntArray, window_ns: int) -> float:
    """Highest cores-busy over any stretch of at least ``window_ns`` between two samples.

    Runs shorter than the window get their mean.
    """
    n = t_ns.shape[0]
    if n < 2:
        return 0.0
    end = np.searchsorted(t_ns, t_ns + window_ns, side="left")
    valid = end < n
    if not valid.any():
        return mean_utilisation(t_ns, cpu_ns)
    start = np.flatnonzero(valid)
    stop = end[valid]
    rates = (cpu_ns[stop] - cpu_ns[start]) / (t_ns[stop] - t_ns[start])
    return float(rates.max())


def core_balance(busy_per_core: IntArray | FloatArray) -> float:
    """1 - normalised Gini coefficient of per-core busy time: 1.0 even, 0.0 all on one core.

    The Gini of n values is at most (n - 1) / n, so it is divided by that to span 0..1.
    """
    x = np.sort(np.asarray(busy_per_core, dtype=np.float64))
    n = x.shape[0]
    total = float(x.sum())
    if n < 2 or total <= 0.0:
        return 1.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    gini = 2.0 * float((ranks * x).sum()) / (n * total) - (n + 1) / n
    normalised = gini * n / (n - 1)
    return float(min(1.0, max(0.0, 1.0 - normalised)))


def peak_window_ns(interval_ns: int) -> int:
    return max(PEAK_WINDOW_NS, 2 * interval_ns)


def per_thread(
    sample_seq: IntArray, sample_t: IntArray, seq: IntArray, tid: IntArray, cpu: IntArray
) -> dict[int, tuple[IntArray, IntArray]]:
    """tid -> (t_ns, cumulative cpu ns), from thread rows ordered by (seq, tid)."""
    if seq.shape[0] == 0 or sample_seq.shape[0] == 0:
        return {}
    pos = np.searchsorted(sample_seq, seq)
    np.minimum(pos, sample_seq.shape[0] - 1, out=pos)
    known = sample_seq[pos] == seq  # rows of a seq with no tree sample are dropped
    if not known.any():
        return {}
    t = sample_t[pos]
    order = np.argsort(tid[known], kind="stable")  # stable: each thread stays in seq order
    tids, t_sorted, cpu_sorted = tid[known][order], t[known][order], cpu[known][order]
    cuts = np.flatnonzero(np.diff(tids)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [tids.shape[0]]))
    return {
        int(tids[a]): (t_sorted[a:b].copy(), cpu_sorted[a:b].copy())
        for a, b in zip(starts, ends, strict=True)
    }
