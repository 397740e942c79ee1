"""Synthetic study stores with known figures, for tests and the ``compare`` benchmark.

Each described run becomes real rows in a real store (schema from ``gilwatt.store``): a
``runs`` row, ``samples`` whose cumulative counters move linearly so that the region's
boundary samples differ by exactly the described CPU time, energy and context switches, a
``regions`` row, memory and core samples, and the ``studies`` / ``study_runs`` rows. Nothing
is measured; the values are whatever the caller asks for.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gilwatt.store.schema import connect

START_NS = 1_000_000_000
GAP_NS = 500_000_000  # between runs
EXPECTED_GIL = {"gil": 1, "ft-gil": 1, "ft": 0}


@dataclass
class SyntheticRun:
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
    run_status: str = "ok"  # runs.status; None-like statuses skip the run row (see below)
    gil: int | None = -1  # GIL state at region start/end; -1: what the mode expects
    has_region: bool = True


def _create(path: Path) -> sqlite3.Connection:
    conn = connect(path, create=True)
    conn.execute("PRAGMA synchronous = OFF")
    return conn


def write_study(
    path: str | Path,
    runs: Sequence[SyntheticRun],
    *,
    name: str = "synthetic",
    seed: int = 1,
    samples_per_run: int = 20,
    energy_source: str = "model:ccf-linear",
    families: dict[str, str] | None = None,
    batch_rows: int = 500_000,
) -> int:
    """Write one study of ``runs`` into the store at ``path``; returns its study_id."""
    if samples_per_run < 4:
        raise ValueError("samples_per_run must be at least 4 (two around the region)")
    conn = _create(Path(path))
    try:
        conn.execute("BEGIN")
        host_id = _host(conn)
        interp = {m: _interpreter(conn, m) for m in {"gil", "ft"}}
        spec = {"name": name, "seed": seed, "families": families or {}, "synthetic": True}
        cur = conn.execute(
            "INSERT INTO studies (name, spec_hash, spec_json, seed, created_unix_ns) VALUES (?, ?, ?, ?, ?)",
            (
                name,
                f"synthetic-{seed}",
                json.dumps(spec, sort_keys=True),
                seed,
                1_700_000_000_000_000_000,
            ),
        )
        study_id = int(cur.lastrowid or 0)
        pending: list[tuple[Any, ...]] = []
        clock = START_NS
        positions: dict[int, int] = {}
        for run in runs:
            pos = positions.get(run.block, 0)
            positions[run.block] = pos + 1
            run_id = None
            if run.status not in ("pending", "skipped"):
                run_id, clock = _write_run(
                    conn,
                    run,
                    study_id,
                    host_id,
                    interp,
                    clock,
                    samples_per_run,
                    energy_source,
                    pending,
                )
            if len(pending) >= batch_rows:
                _flush(conn, pending)
            params_json = json.dumps(run.params, sort_keys=True, separators=(",", ":"))
            key = f"{run.workload}{params_json}/w{run.workers}/{run.mode}#b{run.block}"
            conn.execute(
                "INSERT INTO study_runs (study_id, run_key, block, position, workload, params_json,"
                " workers, mode, interpreter, status, reason, run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    study_id,
                    key,
                    run.block,
                    pos,
                    run.workload,
                    params_json,
                    run.workers,
                    run.mode,
                    "ft" if run.mode.startswith("ft") else "gil",
                    run.status,
                    run.reason,
                    run_id,
                ),
            )
        _flush(conn, pending)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return study_id


def _host(conn: sqlite3.Connection) -> int:
    conn.execute(
        "INSERT OR IGNORE INTO hosts (fingerprint, hostname, cpu_model, logical_cpus, kernel, memory_bytes)"
        " VALUES ('synthetic', 'synthetic', 'Synthetic CPU', 2, '6.1', 8589934592)"
    )
    row = conn.execute("SELECT host_id FROM hosts WHERE fingerprint = 'synthetic'").fetchone()
    return int(row[0])


def _interpreter(conn: sqlite3.Connection, slot: str) -> int:
    fp = f"synthetic-{slot}"
    conn.execute(
        "INSERT OR IGNORE INTO interpreters (fingerprint, executable, version, implementation,"
        " free_threaded, gil_enabled) VALUES (?, ?, '3.13.5', 'cpython', ?, ?)",
        (fp, f"/synthetic/{slot}/python3", int(slot == "ft"), int(slot != "ft")),
    )
    row = conn.execute("SELECT interp_id FROM interpreters WHERE fingerprint = ?", (fp,)).fetchone()
    return int(row[0])


def _flush(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        conn.executemany("INSERT INTO samples VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        rows.clear()


def _write_run(
    conn: sqlite3.Connection,
    run: SyntheticRun,
    study_id: int,
    host_id: int,
    interp: dict[str, int],
    clock: int,
    n: int,
    energy_source: str,
    pending: list[tuple[Any, ...]],
) -> tuple[int, int]:
    """Insert one run's rows; returns (run_id, the clock after it)."""
    region_ns = round(run.time_s * 1e9)
    step = max(region_ns // (n - 3), 1)
    start, end = clock, clock + step * (n - 1)
    cpu_ns = round((run.cpu_s if run.cpu_s is not None else run.time_s * min(run.workers, 2)) * 1e9)
    energy_uj = round((run.energy_j if run.energy_j is not None else run.time_s * 10.0) * 1e6)
    exit_code = 0 if run.run_status == "ok" else 1
    cur = conn.execute(
        "INSERT INTO runs (study_id, host_id, interp_id, label, command_json, cwd, started_unix_ns,"
        " start_ns, end_ns, status, exit_code, interval_ns, memory_interval_ns, energy_source,"
        " energy_estimate, ru_utime_ns, ru_stime_ns, ru_maxrss_bytes, ru_nvcsw, ru_nivcsw)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            study_id,
            host_id,
            interp["ft" if run.mode.startswith("ft") else "gil"],
            run.workload,
            json.dumps(["python", run.workload]),
            "/",
            1_700_000_000_000_000_000 + clock,
            start,
            end,
            run.run_status,
            exit_code,
            step,
            1_000_000_000,
            energy_source,
            int(energy_source.startswith("model:")),
            round(cpu_ns * (1 - run.sys_share)),
            round(cpu_ns * run.sys_share),
            run.rss_bytes + 2**20,
            run.ctx_voluntary,
            run.ctx_involuntary,
        ),
    )
    run_id = int(cur.lastrowid or 0)
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
    pending.extend(
        zip(
            [run_id] * n,
            seq.tolist(),
            t.tolist(),
            t.tolist(),
            trigger,
            cpu.tolist(),
            (cpu - sys_).tolist(),
            sys_.tolist(),
            rss.tolist(),
            vms.tolist(),
            [0] * n,
            [threads] * n,
            [1] * n,
            vol.tolist(),
            inv.tolist(),
            energy.tolist(),
            strict=True,
        )
    )
    gil = EXPECTED_GIL.get(run.mode) if run.gil == -1 else run.gil
    if run.has_region:
        conn.execute(
            "INSERT INTO regions (run_id, region_idx, name, pid, tid, begin_ns, end_ns,"
            " begin_sample_seq, end_sample_seq, process_cpu_begin_ns, process_cpu_end_ns,"
            " thread_cpu_begin_ns, thread_cpu_end_ns, gil_begin, gil_end, peak_rss_bytes)"
            " VALUES (?, 0, 'kernel', 100, 100, ?, ?, 1, ?, 0, ?, 0, ?, ?, ?, ?)",
            (
                run_id,
                int(t[1]),
                int(t[1]) + region_ns,
                n - 2,
                cpu_ns,
                cpu_ns // max(run.workers, 1),
                gil,
                gil,
                run.rss_bytes,
            ),
        )
    conn.executemany(
        "INSERT INTO memory_samples VALUES (?, ?, 100, ?, ?, ?, 0)",
        [
            (
                run_id,
                int(t[i]),
                run.rss_bytes // 2,
                run.uss_bytes // 2,
                run.uss_bytes if i == n // 2 else run.uss_bytes // 2,
            )
            for i in (0, n // 2, n - 1)
        ],
    )
    conn.executemany(
        "INSERT INTO threads (run_id, tid, pid, name, first_ns, last_ns) VALUES (?, ?, 100, ?, ?, ?)",
        [
            (run_id, 100 + i, "MainThread" if i == 0 else f"worker-{i}", start, end)
            for i in range(threads)
        ],
    )
    conn.executemany(
        "INSERT INTO core_samples VALUES (?, ?, ?, ?, ?)",
        [
            (run_id, s, core, busy if s == n - 2 else 0, 1000 if s == n - 2 else 0)
            for s in (1, n - 2)
            for core, busy in enumerate(run.core_busy_ticks)
        ],
    )
    return run_id, end + GAP_NS


def runs_for(
    cells: Iterable[tuple[str, dict[str, Any], int]],
    modes: Sequence[str],
    blocks: int,
    time_of: Any,
) -> list[SyntheticRun]:
    """Every (cell, mode) once per block; ``time_of(workload, workers, mode, block)`` -> s."""
    out = []
    cell_list = list(cells)
    for block in range(1, blocks + 1):
        for workload, params, workers in cell_list:
            for mode in modes:
                out.append(
                    SyntheticRun(
                        workload,
                        workers,
                        mode,
                        block,
                        time_of(workload, workers, mode, block),
                        params,
                    )
                )
    return out
