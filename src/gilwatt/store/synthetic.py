"""Synthetic runs with known figures, written through the public Store API.

For tests and benchmarks (reading speed, analysis of large stores) that need a realistic
store without profiling anything. Every figure is derived from the arguments, so tests can
check what the readers compute against what went in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from gilwatt.records import HostInfo, InterpreterInfo
from gilwatt.store.core import Store

HOST = HostInfo("synthetic", "Synthetic CPU", 2, "6.1.0-synthetic", 8 << 30, "avx2", {})
INTERPRETER = InterpreterInfo("/opt/python3.13t", "3.13.5", "cpython", True, False, {})


@dataclass(frozen=True)
class SyntheticRun:
    """What went into a synthetic run (the figures the readers should give back)."""

    run_id: int
    start_ns: int
    end_ns: int
    interval_ns: int
    samples: int
    threads: int
    cores: int
    util: float  # cores busy, constant over the run
    cpu_ns: int  # tree CPU at the last sample
    peak_rss_bytes: int  # highest sampled RSS
    hwm_bytes: int  # VmHWM written for the main process (larger than any sample)
    energy_uj: int  # at the last sample
    region_begin_seq: int
    region_end_seq: int


def write_run(
    store: Store,
    *,
    samples: int = 10_000,
    threads: int = 4,
    cores: int = 2,
    interval_ns: int = 10_000_000,
    util: float = 1.5,
    power_w: float = 20.0,
    seed: int = 0,
    study_id: int | None = None,
    label: str = "synthetic",
    finish: bool = True,
) -> SyntheticRun:
    """Write one run of ``samples`` tree samples at ``util`` cores busy, flushed in batches."""
    rng = np.random.default_rng(seed)
    host_id = store.ensure_host(HOST)
    interp_id = store.ensure_interpreter(INTERPRETER)
    start = 1_000_000_000_000
    run_id = store.begin_run(
        host_id=host_id, interp_id=interp_id, command=["python3", "synthetic.py"], cwd="/tmp",
        started_unix_ns=1_700_000_000_000_000_000, start_ns=start, interval_ns=interval_ns,
        memory_interval_ns=100 * interval_ns, env={"PYTHON_GIL": "0"}, label=label,
        study_id=study_id, energy_source="model:synthetic", energy_estimate=True,
    )  # fmt: skip
    seq = np.arange(samples, dtype=np.int64)
    jitter = rng.integers(0, interval_ns // 20 + 1, samples)
    t = start + seq * interval_ns + jitter
    cpu = ((t - start) * util).astype(np.int64)
    rss = 50_000_000 + (seq * 1000) + rng.integers(0, 100_000, samples)
    energy = ((t - start) * power_w / 1000).astype(np.int64)  # W * ns / 1000 = uJ
    trigger = np.full(samples, "tick", dtype=object)
    a, b = samples // 4, (3 * samples) // 4  # the "kernel" region's boundary samples
    trigger[[a, b]] = "marker"
    sample_rows = list(
        zip(
            seq.tolist(), t.tolist(), (start + seq * interval_ns).tolist(), trigger.tolist(),
            cpu.tolist(), (cpu * 9 // 10).tolist(), (cpu - cpu * 9 // 10).tolist(),
            rss.tolist(), (rss * 8).tolist(), [0] * samples, [threads] * samples,
            [1] * samples, (seq // 10).tolist(), (seq // 50).tolist(), energy.tolist(),
            strict=True,
        )
    )  # fmt: skip
    # Core ticks: USER_HZ=100 per core; core 0 busier than the others.
    total_ticks = (t - start) // 10_000_000
    core_rows = []
    for c in range(cores):
        share = min(1.0, util / cores * (1.2 if c == 0 else 0.8))
        busy_ticks = (total_ticks * share).astype(np.int64)
        core_rows.append(np.stack([seq, np.full(samples, c), busy_ticks, total_ticks], axis=1))
    core_table = np.concatenate(core_rows)
    core_table = core_table[np.lexsort((core_table[:, 1], core_table[:, 0]))]
    thread_table = np.stack(
        [np.repeat(seq, threads), np.tile(np.arange(1000, 1000 + threads), samples),
         np.repeat(cpu // threads, threads), np.tile(np.arange(threads) % cores, samples)],
        axis=1,
    )  # fmt: skip
    batch = max(1, int(500_000_000 // interval_ns))  # what the profiler flushes every 0.5 s
    for lo in range(0, samples, batch):
        hi = min(samples, lo + batch)
        store.add_samples(run_id, sample_rows[lo:hi])
        store.add_core_samples(run_id, core_table[lo * cores : hi * cores].tolist())
        store.add_thread_samples(run_id, thread_table[lo * threads : hi * threads].tolist())
        store.flush()
    store.upsert_threads(
        run_id,
        [(1000 + i, 1000, "MainThread" if i == 0 else f"worker-{i}", int(t[0]), int(t[-1]))
         for i in range(threads)],
    )  # fmt: skip
    hwm = int(rss.max()) + 1_000_000
    store.upsert_processes(
        run_id, [(1000, 1, "python3 synthetic.py", int(t[0]), int(t[-1]), int(cpu[-1]), hwm, None)]
    )
    mem_idx = seq[::100]
    store.add_memory_samples(
        run_id,
        [
            (int(t[i]), 1000, int(rss[i]), int(rss[i]) * 3 // 4, int(rss[i]) // 2, 0)
            for i in mem_idx
        ],
    )
    store.add_energy_zones(run_id, [("model:synthetic", "", None, None, 1)])
    store.add_energy_samples(
        run_id, list(zip(seq.tolist(), ["model:synthetic"] * samples, energy.tolist(), strict=True))
    )
    attrs = json.dumps({"workers": threads})
    store.add_markers(
        run_id,
        [(0, "B", 1000, 1000, 0, "kernel", int(t[a]), int(cpu[a]), int(cpu[a]) // threads, 0, attrs, a),
         (1, "E", 1000, 1000, 1, "kernel", int(t[b]), int(cpu[b]), int(cpu[b]) // threads, 0, "{}", b)],
    )  # fmt: skip
    store.add_regions(
        run_id,
        [(0, "kernel", 1000, 1000, int(t[a]), int(t[b]), a, b, int(cpu[a]), int(cpu[b]),
          int(cpu[a]) // threads, int(cpu[b]) // threads, 0, 0, None, attrs)],
    )  # fmt: skip
    store.append_output(run_id, "stdout", b"synthetic run\n")
    if finish:
        store.finish_run(
            run_id, status="ok", exit_code=0, end_ns=int(t[-1]),
            achieved_interval_ns=float(np.diff(t).mean()) if samples > 1 else None,
        )  # fmt: skip
    else:
        store.flush()
    return SyntheticRun(
        run_id=run_id, start_ns=start, end_ns=int(t[-1]), interval_ns=interval_ns,
        samples=samples, threads=threads, cores=cores, util=util, cpu_ns=int(cpu[-1]),
        peak_rss_bytes=int(rss.max()), hwm_bytes=hwm, energy_uj=int(energy[-1]),
        region_begin_seq=a, region_end_seq=b,
    )  # fmt: skip
