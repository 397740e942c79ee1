"""The in-process thread hook: every Python thread stored with its exact start, end and CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from gilwatt.readback import RunSummary
from gilwatt.store import Store
from profiler_fixtures import FT_PY, PY39, output, python_or_skip, query, run

# 40 threads one after another, each burning about 8 ms of CPU (measured in the thread itself,
# so the test does not depend on how fast the machine is or how loaded it is).
SEQUENTIAL = """
import threading, time
def burn():
    end = time.thread_time_ns() + 8_000_000
    while time.thread_time_ns() < end:
        pass
for i in range(40):
    t = threading.Thread(target=burn, name=f"worker-{i}")
    t.start()
    t.join()
"""


def _summary(tmp_path: Path) -> RunSummary:
    with Store.open(tmp_path / "runs.db", create=False) as store:
        return store.summary(1)


def test_forty_short_threads_are_all_stored_with_their_cpu(tmp_path: Path) -> None:
    result = run(tmp_path, SEQUENTIAL)
    assert result.status == "ok"
    workers = query(
        tmp_path,
        "SELECT tid, name, start_ns, end_ns, cpu_ns FROM threads WHERE name LIKE 'worker-%'",
    )
    assert len(workers) == 40
    assert sorted(name for _, name, *_ in workers) == sorted(f"worker-{i}" for i in range(40))
    for _tid, _name, start, end, cpu in workers:
        assert start is not None and end is not None and end > start
        assert cpu >= 8_000_000  # the hook's own reading at the thread's end
    summary = _summary(tmp_path)
    assert summary.max_threads == 2 and summary.max_threads_exact  # main + one worker at a time
    # Every thread's stored CPU against the kernel's account of the process (wait4), which
    # the sampler does not read: the two measures are independent.
    ((stored,),) = query(tmp_path, "SELECT sum(cpu_ns) FROM threads")
    ((kernel,),) = query(tmp_path, "SELECT ru_utime_ns + ru_stime_ns FROM runs")
    assert abs(stored - kernel) <= 0.05 * kernel, (stored, kernel)


def test_threads_shorter_than_a_tick_are_in_the_timeline(tmp_path: Path) -> None:
    run(tmp_path, SEQUENTIAL, status_interval_ns=1_000_000_000)
    with Store.open(tmp_path / "runs.db", create=False) as store:
        timeline = store.timeline(1)
    named = {tid for tid, name in timeline.thread_names.items() if name.startswith("worker-")}
    assert len(named) == 40
    for tid in named:
        t, cpu = timeline.thread_cpu_ns[tid]
        assert len(t) >= 2 and cpu[-1] >= 8_000_000


def test_a_sitecustomize_the_program_had_still_runs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import builtins\nbuiltins.FROM_SITECUSTOMIZE = 42\n")
    code = """
    import builtins, threading
    t = threading.Thread(target=lambda: None, name="short")
    t.start(); t.join()
    print(getattr(builtins, "FROM_SITECUSTOMIZE", None))
    """
    result = run(tmp_path, code, env={"PYTHONPATH": str(site)})
    assert result.status == "ok"
    assert output(tmp_path).decode().strip() == "42"
    assert query(tmp_path, "SELECT count(*) FROM threads WHERE name = 'short'")[0][0] == 1


def test_no_thread_hook_leaves_the_program_alone(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import builtins\nbuiltins.FROM_SITECUSTOMIZE = 7\n")
    code = """
    import builtins, os, sys
    print(getattr(builtins, "FROM_SITECUSTOMIZE", None), "gilwatt.threadhook" in sys.modules)
    """
    result = run(tmp_path, code, env={"PYTHONPATH": str(site)}, thread_hook=False)
    assert result.status == "ok"
    assert output(tmp_path).decode().split() == ["7", "False"]
    assert query(tmp_path, "SELECT count(*) FROM threads WHERE start_ns IS NOT NULL")[0][0] == 0
    assert not _summary(tmp_path).max_threads_exact


def test_the_hook_keeps_the_gil_off_on_a_free_threaded_build(tmp_path: Path) -> None:
    python = python_or_skip(FT_PY)
    code = """
    import sys, threading
    t = threading.Thread(target=lambda: None); t.start(); t.join()
    print(sys._is_gil_enabled(), "gilwatt.threadhook" in sys.modules)
    """
    result = run(tmp_path, code, python=python)
    assert result.status == "ok"
    assert output(tmp_path).decode().split() == ["False", "True"]
    assert not result.warnings or not any("GIL was enabled" in w for w in result.warnings)


@pytest.mark.skipif(not PY39.exists(), reason="CPython 3.9 is not installed here")
def test_the_hook_runs_on_python_3_9(tmp_path: Path) -> None:
    result = run(tmp_path, SEQUENTIAL.replace("range(40)", "range(3)"), python=str(PY39))
    assert result.status == "ok"
    assert query(tmp_path, "SELECT count(*) FROM threads WHERE end_ns IS NOT NULL")[0][0] == 4


def test_a_forked_child_reports_its_threads_under_its_own_pid(tmp_path: Path) -> None:
    code = """
    import os, threading
    pid = os.fork()
    if pid == 0:
        t = threading.Thread(target=lambda: None, name="in-child")
        t.start(); t.join()
        os._exit(0)
    os.waitpid(pid, 0)
    print(pid)
    """
    result = run(tmp_path, code)
    assert result.status == "ok"
    child = int(output(tmp_path).decode())
    assert query(tmp_path, "SELECT pid FROM threads WHERE name = 'in-child'") == [(child,)]
    # the child's one thread at the fork is reported as starting there, under the child's pid
    hooked = query(
        tmp_path, "SELECT count(*) FROM threads WHERE pid = ? AND start_ns IS NOT NULL", (child,)
    )
    assert hooked == [(2,)]


def test_hooked_rows_merge_proc_readings_and_a_reused_tid_starts_afresh() -> None:
    from gilwatt.channel import MarkerEvent
    from gilwatt.threadrecords import HookedThreads

    def event(kind: str, t_ns: int, cpu_ns: int = 0, name: str = "w") -> MarkerEvent:
        return MarkerEvent(kind, 10, 11, 0, t_ns, 0, cpu_ns, None, name, {})

    hooked = HookedThreads()
    hooked.add(event("S", 100))
    hooked.add(event("X", 200, 50))
    # /proc saw it later than it started and read less CPU than the hook's end reading
    assert hooked.row(11, 10, "w-comm", 120, 190, 40) == (11, 10, "w", 100, 200, 50, 100, 200)
    hooked.add(event("S", 300, name="again"))  # the kernel reused the tid for a new thread
    assert hooked.row(11, 10, "", 300, 300, 0) == (11, 10, "again", 300, 300, None, 300, None)
    assert HookedThreads().row(12, 10, "bg", 5, 9, 7) == (12, 10, "bg", 5, 9, 7, None, None)


def test_a_thread_that_ran_before_the_hook_has_no_exact_start() -> None:
    """The interpreter's main thread is reported once start-up has spent CPU: the hook does
    not know when it started, so it claims no start (a (start, CPU 0) point would bill the
    start-up CPU to a few milliseconds and draw one thread above one core)."""
    from gilwatt.channel import MarkerEvent
    from gilwatt.threadrecords import HookedThreads

    hooked = HookedThreads()
    hooked.add(MarkerEvent("S", 10, 10, 0, 100, 0, 25_000_000, None, "MainThread", {}))
    hooked.add(MarkerEvent("X", 10, 10, 0, 900, 0, 60_000_000, None, "MainThread", {}))
    assert hooked.row(10, 10, "python", 50, 880, 55_000_000) == (
        10, 10, "MainThread", 50, 900, 60_000_000, None, 900,
    )  # fmt: skip
