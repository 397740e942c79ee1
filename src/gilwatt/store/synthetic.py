"""Synthetic runs and studies with known figures, written through the Store API.

For tests and benchmarks (reading speed, analysis of large stores) that need a realistic
store without profiling anything. Every figure is derived from the arguments, so tests can
check what the readers compute against what went in.

- :func:`write_run`: one profiled run, sampled densely (the run readers, the report).
- :func:`write_study`: a study of described runs (:class:`SyntheticRun`), each a ``runs`` row,
  ``samples`` whose cumulative counters move linearly so that the region's boundary samples
  differ by exactly the described CPU time, energy and context switches, a ``regions`` row,
  memory and core samples, and the ``studies`` / ``study_runs`` rows (the analysis, compare).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gilwatt.modes import expected_gil, interpreter_slot
from gilwatt.readback import HostInfo, InterpreterInfo
from gilwatt.store.core import Store
from gilwatt.store.studies import StudyRunRow

HOST = HostInfo("synthetic", "Synthetic CPU", 2, "6.1.0-synthetic", 8 << 30, "avx2", {})
INTERPRETER = InterpreterInfo("/opt/python3.13t", "3.13.5", "cpython", True, False, {})


@dataclass(frozen=True)
class WrittenRun:
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
    gil: bool = False,
    finish: bool = True,
) -> WrittenRun:
    """Write one run of ``samples`` tree samples at ``util`` cores busy, flushed in batches.

    ``gil``: the GIL state the markers and the region report (off: a free-threaded run)."""
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
        [(0, "B", 1000, 1000, 0, "kernel", int(t[a]), int(cpu[a]), int(cpu[a]) // threads, int(gil), attrs, a),
         (1, "E", 1000, 1000, 1, "kernel", int(t[b]), int(cpu[b]), int(cpu[b]) // threads, int(gil), "{}", b)],
    )  # fmt: skip
    store.add_regions(
        run_id,
        [(0, "kernel", 1000, 1000, int(t[a]), int(t[b]), a, b, int(cpu[a]), int(cpu[b]),
          int(cpu[a]) // threads, int(cpu[b]) // threads, int(gil), int(gil), None, attrs)],
    )  # fmt: skip
    store.append_output(run_id, "stdout", b"synthetic run\n")
    if finish:
        store.finish_run(
            run_id, status="ok", exit_code=0, end_ns=int(t[-1]),
            achieved_interval_ns=float(np.diff(t).mean()) if samples > 1 else None,
        )  # fmt: skip
    else:
        store.flush()
    return WrittenRun(
        run_id=run_id, start_ns=start, end_ns=int(t[-1]), interval_ns=interval_ns,
        samples=samples, threads=threads, cores=cores, util=util, cpu_ns=int(cpu[-1]),
        peak_rss_bytes=int(rss.max()), hwm_bytes=hwm, energy_uj=int(energy[-1]),
        region_begin_seq=a, region_end_seq=b,
    )  # fmt: skip


# -- studies ----------------------------------------------------------------------------------

START_NS = 1_000_000_000
GAP_NS = 500_000_000  # between runs
CREATED_UNIX_NS = 1_700_000_000_000_000_000


@dataclass
class SyntheticRun:
    """One planned run of a synthetic study, and what its rows should say."""

    workload: str
    workers: int
    mode: str
    block: int
    time_s: float
    params: dict[str, Any] = field(default_factory=dict)
    cpu_s: float | None = None  # default: time_s * min(workers, 2)
    energy_j: float | None = None  # default: 10 W average
    rss_bytes: int = 50 * 2**20
    vms_bytes: int = 400 * 2**20
    uss_bytes: int = 40 * 2**20
    ctx_voluntary: int = 100
    ctx_involuntary: int = 10
    sys_share: float = 0.02
    core_busy_ticks: tuple[int, ...] = (100, 100)
    status: str = "done"  # study_runs.status
    reason: str = ""
    run_status: str = "ok"  # runs.status (pending and skipped study runs have no run row)
    gil: int | None = -1  # GIL state at region start/end; -1: what the mode expects
    has_region: bool = True


def write_study(
    path: str | Path,
    runs: Sequence[SyntheticRun],
    *,
    name: str = "synthetic",
    seed: int = 1,
    samples_per_run: int = 20,
    energy_source: str = "model:ccf-linear",
    families: dict[str, str] | None = None,
    host: HostInfo | None = None,
) -> int:
    """Write one study of ``runs`` into the store at ``path``; returns its study_id.

    ``host``: the study is that host's study of a cluster study (its spec names the host)."""
    if samples_per_run < 4:
        raise ValueError("samples_per_run must be at least 4 (two around the region)")
    with Store.open(path) as store:
        host_id = store.ensure_host(
            host or HostInfo("synthetic", "Synthetic CPU", 2, "6.1", 8 << 30, "", {})
        )
        interp = {
            slot: store.ensure_interpreter(
                InterpreterInfo(
                    f"/synthetic/{slot}/python3", "3.13.5", "cpython", slot == "ft", slot != "ft"
                )
            )
            for slot in ("gil", "ft")
        }
        spec: dict[str, Any] = {"name": name, "seed": seed, "families": families or {},
                                "synthetic": True}  # fmt: skip
        if host is not None:
            spec["host"] = {"hostname": host.hostname, "cpu_model": host.cpu_model,
                            "logical_cpus": host.logical_cpus, "usable_cpus": host.logical_cpus,
                            "memory_bytes": host.memory_bytes}  # fmt: skip
        study_id = store.create_study(
            name,
            f"synthetic-{seed}{'-' + host.hostname if host else ''}",
            spec,
            seed,
            created_unix_ns=CREATED_UNIX_NS,
        ).study_id
        rows: list[StudyRunRow] = []
        clock = START_NS
        positions: dict[int, int] = {}
        for run in runs:
            pos = positions.get(run.block, 0)
            positions[run.block] = pos + 1
            run_id = None
            if run.status not in ("pending", "skipped"):
                run_id, clock = _write_study_run(
                    store, run, study_id, host_id, interp[interpreter_slot(run.mode)], clock,
                    samples_per_run, energy_source,
                )  # fmt: skip
            params_json = json.dumps(run.params, sort_keys=True, separators=(",", ":"))
            rows.append(
                StudyRunRow(
                    run_key=f"{run.workload}{params_json}/w{run.workers}/{run.mode}#b{run.block}",
                    block=run.block,
                    position=pos,
                    workload=run.workload,
                    params_json=params_json,
                    workers=run.workers,
                    mode=run.mode,
                    interpreter=interpreter_slot(run.mode),
                    status=run.status,
                    reason=run.reason,
                    run_id=run_id,
                )
            )
        store.add_study_runs(study_id, rows)
    return study_id


def _write_study_run(
    store: Store,
    run: SyntheticRun,
    study_id: int,
    host_id: int,
    interp_id: int,
    clock: int,
    n: int,
    energy_source: str,
) -> tuple[int, int]:
    """Write one run's rows; returns (run_id, the clock after it)."""
    region_ns = round(run.time_s * 1e9)
    step = max(region_ns // (n - 3), 1)
    start, end = clock, clock + step * (n - 1)
    cpu_ns = round((run.cpu_s if run.cpu_s is not None else run.time_s * min(run.workers, 2)) * 1e9)
    energy_uj = round((run.energy_j if run.energy_j is not None else run.time_s * 10.0) * 1e6)
    run_id = store.begin_run(
        host_id=host_id, interp_id=interp_id, command=["python", run.workload], cwd="/",
        started_unix_ns=CREATED_UNIX_NS + clock, start_ns=start, interval_ns=step,
        memory_interval_ns=1_000_000_000, label=run.workload, study_id=study_id,
        energy_source=energy_source, energy_estimate=energy_source.startswith("model:"),
    )  # fmt: skip
    # Counters move linearly from 0 at seq 1 (region begin) to the totals at seq n-2 (end).
    seq = np.arange(n, dtype=np.int64)
    frac = np.clip((seq - 1) / (n - 3), 0.0, None)
    t = start + seq * step
    t[n - 2] = t[1] + region_ns  # the end marker's sample, exactly region_ns after the begin
    cpu = np.round(frac * cpu_ns).astype(np.int64)
    sys_ = np.round(frac * cpu_ns * run.sys_share).astype(np.int64)
    rss = np.full(n, run.rss_bytes // 2, dtype=np.int64)
    vms = np.full(n, run.vms_bytes // 2, dtype=np.int64)
    rss[n // 2], vms[n // 2] = run.rss_bytes, run.vms_bytes
    vol = np.round(frac * run.ctx_voluntary).astype(np.int64)
    inv = np.round(frac * run.ctx_involuntary).astype(np.int64)
    energy = np.round(frac * energy_uj).astype(np.int64)
    trigger = ["tick"] * n
    trigger[1] = trigger[n - 2] = "marker"
    trigger[-1] = "final"
    threads = run.workers + 1
    store.add_samples(
        run_id,
        zip(
            seq.tolist(), t.tolist(), t.tolist(), trigger, cpu.tolist(), (cpu - sys_).tolist(),
            sys_.tolist(), rss.tolist(), vms.tolist(), [0] * n, [threads] * n, [1] * n,
            vol.tolist(), inv.tolist(), energy.tolist(), strict=True,
        ),
    )  # fmt: skip
    gil = int(expected_gil(run.mode)) if run.gil == -1 else run.gil
    if run.has_region:
        store.add_regions(
            run_id,
            [(0, "kernel", 100, 100, int(t[1]), int(t[1]) + region_ns, 1, n - 2, 0, cpu_ns,
              0, cpu_ns // max(run.workers, 1), gil, gil, run.rss_bytes, "{}")],
        )  # fmt: skip
    store.add_memory_samples(
        run_id,
        [
            (int(t[i]), 100, run.rss_bytes // 2, run.uss_bytes // 2,
             run.uss_bytes if i == n // 2 else run.uss_bytes // 2, 0)
            for i in (0, n // 2, n - 1)
        ],
    )  # fmt: skip
    store.upsert_threads(
        run_id,
        [(100 + i, 100, "MainThread" if i == 0 else f"worker-{i}", start, end)
         for i in range(threads)],
    )  # fmt: skip
    store.add_core_samples(
        run_id,
        [
            (s, core, busy if s == n - 2 else 0, 1000 if s == n - 2 else 0)
            for s in (1, n - 2)
            for core, busy in enumerate(run.core_busy_ticks)
        ],
    )
    store.finish_run(
        run_id, status=run.run_status, exit_code=0 if run.run_status == "ok" else 1,
        end_ns=end, ru_utime_ns=round(cpu_ns * (1 - run.sys_share)),
        ru_stime_ns=round(cpu_ns * run.sys_share), ru_maxrss_bytes=run.rss_bytes + 2**20,
        ru_nvcsw=run.ctx_voluntary, ru_nivcsw=run.ctx_involuntary,
    )  # fmt: skip
    return run_id, end + GAP_NS


def runs_for(
    cells: Iterable[tuple[str, dict[str, Any], int]],
    modes: Sequence[str],
    blocks: int,
    time_of: Any,
) -> list[SyntheticRun]:
    """Every (cell, mode) once per block; ``time_of(workload, workers, mode, block)`` -> s."""
    cell_list = list(cells)
    return [
        SyntheticRun(
            workload, workers, mode, block, time_of(workload, workers, mode, block), params
        )
        for block in range(1, blocks + 1)
        for workload, params, workers in cell_list
        for mode in modes
    ]
