"""Derived figures computed on read from the stored cumulative counters (numpy, no row loops)."""

from __future__ import annotations

import numpy as np

from gilwatt.readback import FloatArray, IntArray

# Bump when a formula below changes: cached run_summaries rows of another version are ignored.
FORMULA_VERSION = 2  # 2: peak RSS of the largest process; spread CPU; hook threads

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


def spread_cpu(t_ns: IntArray, cpu_ns: IntArray, n_cpus: int) -> IntArray:
    """Cumulative CPU with no interval faster than ``n_cpus`` cores.

    CPU time can arrive in one step: a child's, when its parent reaps it (the sampler may
    never have seen a short-lived child, or last read it a tick before). Whatever an interval
    holds beyond its ``n_cpus`` x length was spent earlier, so it is moved back into the
    intervals before it, latest first, as far as each has room. The total is unchanged.
    """
    n = t_ns.shape[0]
    if n < 2 or n_cpus <= 0:
        return cpu_ns
    d = np.diff(cpu_ns).astype(np.float64)
    cap = np.diff(t_ns).astype(np.float64) * n_cpus
    over = np.flatnonzero(d > cap)
    if over.shape[0] == 0:
        return cpu_ns
    for i in over[::-1]:  # latest first: a later step's excess may land in an earlier one
        excess = d[i] - cap[i]
        if excess <= 0:
            continue
        d[i] = cap[i]
        j = i - 1
        while excess > 0 and j >= 0:
            room = cap[j] - d[j]
            if room > 0:
                take = min(room, excess)
                d[j] += take
                excess -= take
            j -= 1
        d[0] += excess  # nothing earlier had room: keep the total
    out = np.empty(n, dtype=np.int64)
    out[0] = cpu_ns[0]
    out[1:] = cpu_ns[0] + np.rint(np.cumsum(d)).astype(np.int64)
    out[-1] = cpu_ns[-1]
    return out


def max_concurrent(starts: IntArray, ends: IntArray) -> int:
    """The most intervals [start, end] open at once (an end at the same instant as a start
    is counted first)."""
    if starts.shape[0] == 0:
        return 0
    ends = np.maximum(ends, starts)
    t = np.concatenate((starts, ends))
    step = np.concatenate(
        (np.ones(starts.shape[0], dtype=np.int64), -np.ones(ends.shape[0], dtype=np.int64))
    )
    order = np.lexsort((step, t))
    return int(np.cumsum(step[order]).max())


def add_hook_points(
    series: dict[int, tuple[IntArray, IntArray]],
    rows: list[tuple[int, str, int | None, int | None, int | None]],
) -> None:
    """Add each hooked thread's start (CPU 0) and end (its exact CPU) to its CPU series.

    ``rows``: (tid, name, start_ns, end_ns, cpu_ns) from the threads table. A thread that
    lived between two samples has no other points.
    """
    for tid, _name, start, end, cpu in rows:
        t_extra: list[int] = []
        c_extra: list[int] = []
        if start is not None:
            t_extra.append(start)
            c_extra.append(0)
        if end is not None and cpu is not None:
            t_extra.append(end)
            c_extra.append(cpu)
        if not t_extra:
            continue
        t_old, c_old = series.get(tid, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        t = np.concatenate((t_old, np.array(t_extra, dtype=np.int64)))
        c = np.concatenate((c_old, np.array(c_extra, dtype=np.int64)))
        order = np.argsort(t, kind="stable")
        series[tid] = (t[order], np.maximum.accumulate(c[order]))
