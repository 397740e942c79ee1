"""Machine state per study run, and the foreign-load gate: disturbed runs are kept, left out
of the analysis, and rerun (bounded)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gilwatt.study import machine
from gilwatt.study.machine import RegionCpu, Snapshot, foreign_cpu_cores, snapshot
from gilwatt.study.matrix import parse_rerun


def test_foreign_cpu_is_machine_busy_minus_the_tree_minus_gilwatt() -> None:
    tick_ns = 1e9 / machine.clock_ticks_per_s()
    # 1 s region on 2 cores: 150 ticks busy = 1.5 cores; the tree 1.0 core; gilwatt 0.1 core
    # over a 2 s run (so 0.05 core-s inside the region)
    region = RegionCpu(10**9, int(1.5e9 / tick_ns), 10**9, 2)
    foreign, allowance = foreign_cpu_cores(region, own_cpu_ns=10**8, run_wall_ns=2 * 10**9)
    assert foreign == pytest.approx(0.45, abs=0.011)
    assert allowance == pytest.approx(2 * 2 * tick_ns / 1e9)
    assert machine.disturbed_reason(foreign, allowance, 0.1) is not None
    assert machine.disturbed_reason(foreign, allowance, 0.5) is None
    # never below zero (the tree's counter can run ahead of the machine's ticks)
    assert foreign_cpu_cores(RegionCpu(10**9, 0, 10**9, 2), 0, 10**9)[0] == 0.0


def test_snapshot_reads_proc_and_sys_and_tolerates_missing_files(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "loadavg").write_text("0.52 0.40 0.30 3/120 999\n")
    (proc / "stat").write_text(
        "cpu  100 0 50 1000 5 0 3 42 0 0\ncpu0 50 0 25 500 2 0 1 21 0 0\nprocs_running 3\n"
    )
    (proc / "cpuinfo").write_text("cpu MHz\t\t: 2000.0\ncpu MHz\t\t: 3000.0\n")
    zone = tmp_path / "sys" / "class" / "thermal" / "thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "temp").write_text("47500\n")
    assert snapshot(tmp_path) == Snapshot(0.52, 3, 42, 2500.0, 47.5)
    assert snapshot(tmp_path / "nothing") == Snapshot(None, None, None, None, None)
    after = Snapshot(0.6, 1, 42 + machine.clock_ticks_per_s(), None, None)
    state = machine.state(snapshot(tmp_path), after, wall_ns=2 * 10**9, foreign_cpu_cores=0.2)
    assert state.steal_cores == pytest.approx(0.5) and state.procs_running == 2
    assert state.load1 == 0.6 and state.foreign_cpu_cores == 0.2


# a hog says "go" once its interpreter is up (at load 10 that can take seconds), then spins
HOG = (
    "import time\nend = time.monotonic() + 300\nprint('go', flush=True)\n"
    "while time.monotonic() < end: pass\n"
)
MEASURED_IN_WINDOW = 2  # measured runs that start and end while every hog spins


def _rows(db: Path) -> list[tuple[str, str, str, int | None, int, int, float | None]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(
            "SELECT sr.run_key, sr.status, sr.reason, sr.run_id, g.begin_ns, g.end_ns,"
            " m.foreign_cpu_cores FROM study_runs sr LEFT JOIN regions g ON g.run_id = sr.run_id"
            " LEFT JOIN run_machine m ON m.run_id = sr.run_id ORDER BY sr.block, sr.position"
        ).fetchall()
    finally:
        conn.close()


def _finished(db: Path, since_ns: int | None = None) -> int:
    """Runs finished (all of them; with ``since_ns``: measured runs begun since then)."""
    try:
        rows = _rows(db)
    except sqlite3.OperationalError:
        return 0  # not created yet
    if since_ns is None:
        return sum(1 for r in rows if r[1] != "pending")
    return sum(
        1
        for r in rows
        if r[1] != "pending" and r[4] is not None and r[4] >= since_ns
        and not r[0].endswith(("/priming", "/sentinel"))
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.needs_pair
def test_a_cpu_hog_in_the_middle_of_a_study_marks_its_runs_disturbed_and_they_are_rerun(
    tmp_path: Path,
) -> None:
    from gilwatt.interpreters import matched_pair

    found = matched_pair()
    if found is None:
        pytest.skip("no GIL / free-threaded interpreter pair on this machine")
    db = tmp_path / "study.db"
    # the tiny suite's preset, sized up so each measured region lasts 0.15 s or more: /proc's
    # 10 ms ticks cannot resolve 0.1 core of foreign load over a few tens of milliseconds
    suite = tmp_path / "hog.toml"
    suite.write_text(
        'name = "hog"\npreset = "tiny"\nreps = 3\nmodes = ["gil", "ft"]\n'
        "[workloads.bubble_sort]\nparams = { num_items = 1200 }\n"
        "[workloads.mandelbrot]\nparams = { size = 160 }\n"
    )
    args = [
        sys.executable, "-m", "gilwatt", "study", "--suite", str(suite),
        "--python", f"{found[0].executable},{found[1].executable}", "-o", str(db), "--no-report",
    ]  # fmt: skip
    study = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    hogs: list[subprocess.Popen[str]] = []
    try:
        deadline = time.monotonic() + 600  # generous: the machine may be at load 10
        while _finished(db) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        # one busy process per CPU: whatever the target runs on, the rest is foreign load
        hogs = [
            subprocess.Popen([sys.executable, "-c", HOG], stdout=subprocess.PIPE, text=True)
            for _ in range(len(os.sched_getaffinity(0)))
        ]
        assert all(hog.stdout and hog.stdout.readline().strip() == "go" for hog in hogs)
        hog_from = time.monotonic_ns()  # the window opens once every hog spins
        while (
            _finished(db, hog_from) < MEASURED_IN_WINDOW
            and study.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        hog_to = time.monotonic_ns()
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
            if hog.stdout:
                hog.stdout.close()
    _out, err = study.communicate(timeout=900)
    print("\n".join(line for line in err.splitlines() if "disturbed" in line))
    assert study.returncode in (0, 1), err
    rows = _rows(db)
    during = [r for r in rows if r[3] is not None and r[4] >= hog_from and r[5] <= hog_to]
    measured = [r for r in during if not r[0].endswith(("/priming", "/sentinel"))]
    keys = {r[0] for r in rows}
    assert measured, "no run fell inside the hog's window"
    for key, status, reason, _run_id, _b, _e, foreign in measured:
        assert status == "disturbed", (key, status, reason, foreign)
        assert "foreign CPU" in reason and foreign is not None and foreign > 0.5
        base, attempt = parse_rerun(key)
        if attempt < machine.MAX_RERUNS:  # run again, at most MAX_RERUNS times
            assert f"{base}~r{attempt + 1}" in keys, key
        else:
            assert f"{base}~r{attempt + 1}" not in keys
    # every launched run has its machine row; the summary counts the disturbed runs
    assert all(r[6] is not None for r in rows if r[3] is not None and r[4] is not None)
    assert " disturbed" in err and "disturbed: foreign CPU" in err
    # the analysis leaves disturbed runs out
    from gilwatt.analysis.dataset import load_study

    data = load_study(str(db))
    assert not any(r.valid for r in data.runs if r.status == "disturbed")


def test_machine_rows_round_trip_and_a_v3_file_without_the_table_gets_it(tmp_path: Path) -> None:
    from gilwatt.store import Store
    from study_fakes import HOST

    path = tmp_path / "s.db"
    with Store.open(path) as store:
        study = store.create_study("s", "hash", {}, 1)
        run_id = store.begin_run(
            host_id=store.ensure_host(HOST), command=["x"], cwd="/", started_unix_ns=1,
            start_ns=1, interval_ns=10, memory_interval_ns=10, study_id=study.study_id,
        )  # fmt: skip
        store.finish_run(run_id, status="ok", exit_code=0, end_ns=2)
    with sqlite3.connect(path) as raw:  # as a store written before run_machine joined v3
        raw.execute("DROP TABLE run_machine")
    with Store.open(path) as store:
        assert store.run_machine(study.study_id) == {}
        store.add_run_machine(run_id, (0.5, 2, 0.0, 0.03, 2100.0, None))
        assert store.run_machine(study.study_id) == {run_id: (0.5, 2, 0.0, 0.03, 2100.0, None)}
