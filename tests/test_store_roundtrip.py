"""Every write method into a real SQLite file, read back through the readers.

The run below is small enough that every figure the readers derive is worked out by hand in
the comments next to the expected values.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gilwatt.errors import ConfigError, StoreError
from gilwatt.readback import HostInfo, InterpreterInfo
from gilwatt.store import Marker, Store
from gilwatt.store import writer as w

MS = 1_000_000
MB = 1_000_000
T0 = 1_000_000_000  # CLOCK_MONOTONIC of the launch
T = [T0 + k * 10 * MS for k in range(5)]  # sample times: every 10 ms

HOST = HostInfo("box", "AMD EPYC 7B13", 2, "6.1.0-18-amd64", 8 << 30, "avx2 sse4_2", {"vm": True})
FT = InterpreterInfo("/opt/py/bin/python3.13t", "3.13.5", "cpython", True, False, {"abi": "t"})
GIL = InterpreterInfo("/opt/py/bin/python3.13", "3.13.5", "cpython", False, None)


def write_hand_run(store: Store, *, finish: bool = True) -> int:
    host_id = store.ensure_host(HOST)
    interp_id = store.ensure_interpreter(FT)
    run_id = store.begin_run(
        host_id=host_id, interp_id=interp_id, command=["python3.13t", "work.py", "-n", "2"],
        cwd="/work", started_unix_ns=1_700_000_000_000_000_000, start_ns=T0,
        interval_ns=10 * MS, memory_interval_ns=30 * MS, env={"PYTHON_GIL": "0"}, label="hand",
        energy_source="model:test", energy_estimate=True, idle_power_uw=2_500_000,
    )  # fmt: skip
    #             seq t     sched  trigger    cpu     user    sys    rss      vms      swap
    store.add_samples(
        run_id,
        [
            (0, T[0], T[0], "tick", 0, 0, 0, 10 * MB, 100 * MB, 0, 1, 1, 0, 0, None),
            (1, T[1], T[1], "marker", 5 * MS, 4 * MS, 1 * MS, 30 * MB, 110 * MB, 0, 3, 1, 2, 0, 100),
        ],
    )  # fmt: skip
    store.flush()
    store.add_samples(
        run_id,
        [
            (2, T[2], None, "tick", 15 * MS, 12 * MS, 3 * MS, 20 * MB, 120 * MB, 0, 3, 2, 4, 1, None),
            (3, T[3], T[3], "marker", 25 * MS, 20 * MS, 5 * MS, 25 * MB, 115 * MB, 0, 2, 1, 6, 2, 300),
            (4, T[4], T[4], "final", 30 * MS, 24 * MS, 6 * MS, 15 * MB, 105 * MB, 0, 1, 1, 7, 2, 400),
        ],
    )  # fmt: skip
    # Machine-wide per-core ticks; seq 2 has none (e.g. a boundary sample between ticks).
    store.add_core_samples(
        run_id,
        [(0, 0, 0, 0), (0, 1, 0, 0), (1, 0, 1, 1), (1, 1, 0, 1),
         (3, 0, 2, 2), (3, 1, 0, 2), (4, 0, 2, 3), (4, 1, 1, 3)],
    )  # fmt: skip
    store.upsert_threads(run_id, [(11, 100, "MainThread", T[0], T[1]), (12, 100, "", T[0], T[1])])
    store.upsert_threads(run_id, [(12, 100, "worker-1", T[1], T[3])])  # merged into the row
    # Thread 11 also has a row for seq 9, which has no tree sample: it is dropped on read.
    store.add_thread_samples(
        run_id,
        [(0, 11, 0, 0), (0, 12, 0, 1), (1, 11, 3 * MS, 0), (3, 11, 10 * MS, 0),
         (3, 12, 5 * MS, None), (9, 11, 11 * MS, 0)],
    )  # fmt: skip
    # Process rows: version-1 width (7 columns) first, then the full width with VmPeak.
    store.upsert_processes(run_id, [(100, 1, "python3.13t work.py", T[0], T[2], 20 * MS, 33 * MB)])
    store.upsert_processes(
        run_id,
        [(100, None, "", T[1], T[4], 29 * MS, 35 * MB, 150 * MB),
         (101, 100, "child", T[2], T[3], 1 * MS, 5 * MB, 50 * MB)],
    )  # fmt: skip
    store.add_memory_samples(
        run_id,
        [(T[0], 100, 10 * MB, 7 * MB, 5 * MB, 0), (T[0], 101, 2 * MB, 2 * MB, 1 * MB, 0),
         (T[3], 100, 25 * MB, 9 * MB, 8 * MB, 0)],
    )  # fmt: skip
    store.add_energy_zones(run_id, [("model:test", "", None, None, 1)])
    store.add_energy_zones(run_id, [("model:test", "/sys/x", None, 2**32, 1)])  # replaces
    store.add_energy_samples(run_id, [(1, "model:test", 100), (3, "model:test", 300)])
    store.add_markers(
        run_id,
        [(0, "B", 100, 100, 0, "kernel", T[1], 4 * MS, 4 * MS, 0, '{"workers": 2}', 1),
         (1, "E", 100, 100, 1, "kernel", T[3], 21 * MS, 15 * MS, 0, "{}", 3),
         (2, "M", 100, 101, 0, "checkpoint", T[2], 10 * MS, 1 * MS, None, "{}", None)],
    )  # fmt: skip
    store.add_regions(
        run_id,
        [(0, "kernel", 100, 100, T[1], T[3], 1, 3, 4 * MS, 21 * MS, 4 * MS, 15 * MS, 0, 0,
          None, '{"workers": 2}'),
         (1, "setup", 100, 100, T[0], T[1], None, None, 0, 4 * MS, 0, 4 * MS, 1, None,
          12 * MB, "{}")],
    )  # fmt: skip
    store.append_output(run_id, "stdout", b"hello ")
    store.append_output(run_id, "stderr", b"\xff\xfe not utf-8")
    store.append_output(run_id, "stdout", b"world\n")
    store.update_run(run_id, achieved_interval_ns=10.0 * MS, missed_deadlines=0)
    if finish:
        store.finish_run(
            run_id, status="ok", exit_code=0, end_ns=T[4] + 5 * MS, ru_utime_ns=21 * MS,
            ru_stime_ns=4 * MS, ru_maxrss_bytes=32 * MB, attrs={"verified": True},
            warnings=["marker channel: 1 garbled line"],
        )  # fmt: skip
    else:
        store.flush()
    return run_id


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "results.db")
    yield s
    s.close()


def test_write_columns_match_the_schema(store: Store) -> None:
    """Row tuples are the schema's columns in order, without the leading run_id."""
    expected = {
        "samples": w.SAMPLE_COLUMNS, "core_samples": w.CORE_SAMPLE_COLUMNS,
        "threads": w.THREAD_COLUMNS, "thread_samples": w.THREAD_SAMPLE_COLUMNS,
        "processes": w.PROCESS_COLUMNS, "memory_samples": w.MEMORY_SAMPLE_COLUMNS,
        "energy_zones": w.ENERGY_ZONE_COLUMNS, "energy_samples": w.ENERGY_SAMPLE_COLUMNS,
        "markers": w.MARKER_COLUMNS, "regions": w.REGION_COLUMNS,
    }  # fmt: skip
    for table, columns in expected.items():
        actual = [r[1] for r in store._conn.execute(f"PRAGMA table_info({table})")]
        assert actual == ["run_id", *columns], table
    runs = [r[1] for r in store._conn.execute("PRAGMA table_info(runs)")]
    assert runs == ["run_id", *w.RUN_COLUMNS]


def test_run_info_round_trip(store: Store) -> None:
    run_id = write_hand_run(store)
    info = store.run_info(run_id)
    assert info.command == ["python3.13t", "work.py", "-n", "2"]
    assert (info.status, info.exit_code, info.exit_signal) == ("ok", 0, None)
    assert info.interpreter == FT
    assert info.host == HOST
    assert (info.start_ns, info.end_ns, info.interval_ns) == (T0, T[4] + 5 * MS, 10 * MS)
    assert info.achieved_interval_ns == 10.0 * MS
    assert info.energy_source == "model:test"
    assert info.idle_power_w == 2.5
    assert info.env == {"PYTHON_GIL": "0"}
    assert info.attrs == {"verified": True}
    assert info.warnings == ["marker channel: 1 garbled line"]
    assert (info.label, info.study_id) == ("hand", None)
    assert store.runs() == [info]
    assert store.host_info(store.ensure_host(HOST)) == HOST
    assert store.interpreter_info(store.ensure_interpreter(FT)) == FT


def test_hosts_and_interpreters_are_recorded_once(store: Store) -> None:
    assert store.ensure_host(HOST) == store.ensure_host(HOST)
    assert store.ensure_interpreter(FT) == store.ensure_interpreter(FT)
    assert store.ensure_interpreter(GIL) != store.ensure_interpreter(FT)
    assert store.interpreter_info(store.ensure_interpreter(GIL)).gil_enabled is None
    count = store._conn.execute("SELECT count(*) FROM interpreters").fetchone()[0]
    assert count == 2


def test_timeline(store: Store) -> None:
    run_id = write_hand_run(store)
    tl = store.timeline(run_id)
    assert tl.t_ns.tolist() == T
    assert tl.t_ns.dtype == np.int64
    assert tl.cpu_ns.tolist() == [0, 5 * MS, 15 * MS, 25 * MS, 30 * MS]
    assert tl.cpu_user_ns.tolist() == [0, 4 * MS, 12 * MS, 20 * MS, 24 * MS]
    assert tl.rss_bytes.tolist() == [10 * MB, 30 * MB, 20 * MB, 25 * MB, 15 * MB]
    assert tl.threads.tolist() == [1, 3, 3, 2, 1]
    assert tl.processes.tolist() == [1, 1, 2, 1, 1]
    assert tl.ctx_voluntary.tolist() == [0, 2, 4, 6, 7]
    # NULL energy readings carry the last reading forward; none before the first is 0.
    assert tl.energy_uj.tolist() == [0, 100, 100, 300, 400]
    # Core 0 cumulative busy/total at each sample (seq 2 has no row: seq 1's carry over):
    # busy 0,1,1,2,2 / total 0,1,1,2,3 -> intervals ending at samples 1, 3, 4 moved the
    # counters with shares 1, 1, 0; sample 0 and sample 2 take the share of the interval
    # they lie in (the next one that moved).
    assert tl.core_busy.shape == (5, 2)
    assert tl.core_busy[:, 0].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert tl.core_busy[:, 1].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert set(tl.thread_cpu_ns) == {11, 12}
    t11, cpu11 = tl.thread_cpu_ns[11]
    assert t11.tolist() == [T[0], T[1], T[3]]  # seq 9 has no tree sample: dropped
    assert cpu11.tolist() == [0, 3 * MS, 10 * MS]
    assert [a.tolist() for a in tl.thread_cpu_ns[12]] == [[T[0], T[3]], [0, 5 * MS]]
    assert tl.thread_names == {11: "MainThread", 12: "worker-1"}
    # USS/PSS are summed over the processes sampled at the same instant.
    assert tl.mem_t_ns.tolist() == [T[0], T[3]]
    assert tl.uss_bytes.tolist() == [6 * MB, 8 * MB]
    assert tl.pss_bytes.tolist() == [9 * MB, 9 * MB]


def test_regions_use_boundary_samples(store: Store) -> None:
    run_id = write_hand_run(store)
    kernel, setup = store.regions(run_id)
    assert (kernel.name, kernel.pid, kernel.tid) == ("kernel", 100, 100)
    assert kernel.wall_ns == 20 * MS
    assert kernel.process_cpu_ns == 17 * MS and kernel.thread_cpu_ns == 11 * MS
    assert kernel.tree_cpu_ns == 20 * MS  # cpu_ns at seq 3 minus seq 1
    assert kernel.energy_uj == 200  # 300 - 100
    assert kernel.peak_rss_bytes == 30 * MB  # not stored: max rss of samples 1..3
    assert (kernel.gil_begin, kernel.gil_end) == (False, False)
    assert kernel.attrs == {"workers": 2}
    # No boundary samples: no tree figures; the stored peak RSS is used as is.
    assert (setup.tree_cpu_ns, setup.energy_uj, setup.peak_rss_bytes) == (None, None, 12 * MB)
    assert (setup.gil_begin, setup.gil_end) == (True, None)


def test_summary(store: Store) -> None:
    run_id = write_hand_run(store)
    s = store.summary(run_id)
    assert s.run_id == run_id
    assert s.wall_ns == 45 * MS  # end_ns - start_ns
    assert (s.cpu_user_ns, s.cpu_sys_ns) == (21 * MS, 4 * MS)  # the kernel's (wait4) figures
    assert s.peak_rss_bytes == 35 * MB  # the largest process: max(ru_maxrss 32, VmHWM 35)
    assert s.peak_rss_exact and not s.max_threads_exact
    assert s.peak_vms_bytes == 150 * MB  # max(VmPeak 150, sampled 120)
    assert (s.peak_uss_bytes, s.peak_pss_bytes) == (8 * MB, 9 * MB)
    assert (s.ctx_voluntary, s.ctx_involuntary) == (7, 2)  # no ru_nvcsw: the last sample
    assert (s.energy_uj, s.energy_source) == (400, "model:test")
    assert s.max_threads == 3
    assert s.mean_cpu_util == pytest.approx(0.75)  # 30 ms of CPU over 40 ms of samples
    assert s.peak_cpu_util == pytest.approx(0.75)  # run shorter than the 100 ms window
    # Busy ticks over the run: core 0: 2, core 1: 1. Gini of (1, 2) is 1/6, at most 1/2 for
    # two values, so normalised 1/3 and balance 2/3.
    assert s.core_balance == pytest.approx(2 / 3)
    assert [r.name for r in s.regions] == ["kernel", "setup"]


def test_summary_cache_matches_computation_and_is_invalidated(store: Store) -> None:
    run_id = write_hand_run(store)
    cached = store._conn.execute(
        "SELECT count(*) FROM run_summaries WHERE run_id = ?", (run_id,)
    ).fetchone()[0]
    assert cached == 1
    from_cache = store.summary(run_id)
    assert store.compute_figures(run_id) == {
        k: v for k, v in vars(from_cache).items() if k not in ("run_id", "regions")
    }
    # A later write drops the cached row, so the summary sees it.
    store.add_samples(
        run_id, [(5, T[4] + MS, None, "final", 31 * MS, 25 * MS, 6 * MS, 90 * MB, 300 * MB,
                  0, 1, 1, 7, 2, 400)],
    )  # fmt: skip
    store.flush()
    assert store.summary(run_id).peak_vms_bytes == 300 * MB
    assert store.refresh_summaries() == 1
    assert store.summary(run_id).peak_vms_bytes == 300 * MB


def test_running_run_summary_uses_last_sample(store: Store) -> None:
    run_id = write_hand_run(store, finish=False)
    s = store.summary(run_id)
    assert s.wall_ns == 40 * MS  # no end_ns yet: up to the last sample
    assert (s.cpu_user_ns, s.cpu_sys_ns) == (24 * MS, 6 * MS)  # no rusage yet: last sample
    assert s.peak_rss_bytes == 35 * MB
    assert store.refresh_summaries() == 0  # running runs are never cached
    assert store.run_info(run_id).status == "running"


def test_markers_and_output(store: Store) -> None:
    run_id = write_hand_run(store)
    markers = store.markers(run_id)
    assert [m.kind for m in markers] == ["B", "E", "M"]
    assert markers[0] == Marker(
        idx=0, kind="B", pid=100, tid=100, seq=0, name="kernel", t_ns=T[1],
        process_cpu_ns=4 * MS, thread_cpu_ns=4 * MS, gil=False, sample_seq=1,
        attrs={"workers": 2},
    )  # fmt: skip
    assert (markers[2].gil, markers[2].sample_seq) == (None, None)
    assert store.output(run_id, "stdout") == b"hello world\n"
    assert store.output(run_id, "stderr") == b"\xff\xfe not utf-8"
    with pytest.raises(ValueError, match="stream"):
        store.output(run_id, "stdin")


def test_merges_of_upserts(store: Store) -> None:
    run_id = write_hand_run(store)
    conn = store._conn
    threads = conn.execute(
        "SELECT tid, name, first_ns, last_ns FROM threads WHERE run_id = ? ORDER BY tid", (run_id,)
    ).fetchall()
    assert threads == [(11, "MainThread", T[0], T[1]), (12, "worker-1", T[0], T[3])]
    procs = conn.execute(
        "SELECT pid, ppid, cmdline, first_ns, last_ns, cpu_ns, hwm_bytes, vm_peak_bytes"
        " FROM processes WHERE run_id = ? ORDER BY pid",
        (run_id,),
    ).fetchall()
    assert procs[0] == (100, 1, "python3.13t work.py", T[0], T[4], 29 * MS, 35 * MB, 150 * MB)
    zones = conn.execute("SELECT path, max_range_uj FROM energy_zones").fetchall()
    assert zones == [("/sys/x", 2**32)]


def test_readers_keep_runs_apart(store: Store) -> None:
    first = write_hand_run(store)
    second = write_hand_run(store)
    assert second != first
    assert store.timeline(second).t_ns.tolist() == T
    store._conn.execute("INSERT INTO studies VALUES (7, 's', 'h', '{}', 1, 0)")
    store.update_run(second, study_id=7)
    store.flush()
    assert [r.run_id for r in store.runs(study_id=7)] == [second]
    assert [r.run_id for r in store.runs()] == [first, second]


def test_missing_run_names_the_runs_that_exist(store: Store) -> None:
    run_id = write_hand_run(store)
    for read in (store.run_info, store.timeline, store.summary, store.regions, store.markers):
        with pytest.raises(ConfigError, match=rf"run 99 is not in store .* Runs in it: {run_id}\."):
            read(99)
    with pytest.raises(ConfigError, match="host 5"):
        store.host_info(5)


def test_delete_run_leaves_nothing(store: Store) -> None:
    keep = write_hand_run(store)
    gone = write_hand_run(store)
    store.delete_run(gone)
    conn = store._conn
    for table in (*w.RUN_TABLES, "runs", "run_summaries"):
        n = conn.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?", (gone,)).fetchone()[0]
        assert n == 0, table
    assert store.run_ids() == [keep]
    assert store.output(keep, "stdout") == b"hello world\n"


def test_update_and_finish_check_their_arguments(store: Store) -> None:
    run_id = write_hand_run(store, finish=False)
    with pytest.raises(TypeError, match="unknown runs column 'bogus'"):
        store.update_run(run_id, bogus=1)
    with pytest.raises(ValueError, match="status 'running'"):
        store.finish_run(run_id, status="running")
    with pytest.raises(StoreError, match="run 42 is not in store"):
        store.update_run(42, label="x")
    store.update_run(run_id, command=["a", "b"], energy_estimate=False)
    store.flush()
    row = store._conn.execute(
        "SELECT command_json, energy_estimate FROM runs WHERE run_id = ?", (run_id,)
    ).fetchone()
    assert (json.loads(row[0]), row[1]) == (["a", "b"], 0)


def test_duplicate_rows_are_a_store_error(store: Store) -> None:
    run_id = write_hand_run(store)
    with pytest.raises(StoreError, match="written twice"):
        store.add_samples(run_id, [(0, T[0], None, "tick", 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, None)])
    store.flush()  # the batch goes on; the bad row is not in it
    assert store.timeline(run_id).t_ns.shape == (5,)


def test_close_commits_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with Store.open(path) as store:
        run_id = write_hand_run(store, finish=False)
        store.add_samples(
            run_id,
            [(5, T[4] + MS, None, "final", 31 * MS, 25 * MS, 6 * MS, 1, 1, 0, 1, 1, 7, 2, None)],
        )  # not flushed: close() commits it
        store.close()
        store.close()  # twice is fine
    with Store.open(path, create=False) as again:
        assert again.timeline(run_id).t_ns.shape == (6,)
    # Another connection (another process) sees it too.
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM samples").fetchone()[0] == 6
    conn.close()


def test_empty_run_reads_as_empty(store: Store) -> None:
    run_id = store.begin_run(
        host_id=store.ensure_host(HOST), command=["true"], cwd="/", started_unix_ns=0,
        start_ns=T0, interval_ns=10 * MS, memory_interval_ns=MS,
    )  # fmt: skip
    tl = store.timeline(run_id)
    assert tl.t_ns.shape == (0,) and tl.core_busy.shape == (0, 0)
    assert tl.thread_cpu_ns == {} and tl.uss_bytes.shape == (0,)
    s = store.summary(run_id)
    assert (s.wall_ns, s.peak_rss_bytes, s.energy_uj, s.peak_uss_bytes) == (0, 0, None, None)
    assert (s.mean_cpu_util, s.core_balance) == (0.0, 1.0)
    assert store.run_info(run_id).interpreter is None
