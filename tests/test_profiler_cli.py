"""``gilwatt profile`` as a user runs it: bad input, exit statuses, Ctrl-C, --json."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from gilwatt.errors import ConfigError
from gilwatt.store import Store
from gilwatt.units import parse_duration_ns
from profiler_fixtures import gil_python


def gilwatt(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gilwatt", "profile", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def runs(db: Path) -> list[tuple[str, int | None]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT status, exit_code FROM runs").fetchall()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--", "missing.py"), "script not found (missing.py)"),
        (("-m", "no_such_module_here"), "module not found (no_such_module_here)"),
        (("--python", "/nonexistent/python3", "--", "t.py"), "/nonexistent/python3"),
        (("--python", "/bin/true", "--", "t.py"), "/bin/true"),
        (("--interval", "fast", "--", "t.py"), "--interval ('fast'): not a duration"),
        (("--env", "NOEQUALS", "--", "t.py"), "--env (NOEQUALS)"),
        (("--cmd", "no-such-command-anywhere"), "command not found (no-such-command-anywhere)"),
        (("-o", "file.txt/x.db", "--", "t.py"), "file.txt"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_run(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "t.py").write_text("print('hi')\n")
    (tmp_path / "file.txt").write_text("not a directory\n")
    done = (
        gilwatt(tmp_path, "-o", "out.db", *args) if "-o" not in args else gilwatt(tmp_path, *args)
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gilwatt: error: ") and message in lines[0], (
        lines
    )
    assert not (tmp_path / "out.db").exists()


def test_a_store_of_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("print('hi')\n")
    db = tmp_path / "new.db"
    Store.open(db).close()
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
        conn.commit()
    done = gilwatt(tmp_path, "--python", gil_python(), "-o", "new.db", "--", "t.py")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "schema version 999" in lines[0]
    assert runs(db) == []


def test_exit_status_follows_the_target(tmp_path: Path) -> None:
    (tmp_path / "fail.py").write_text(
        "import sys\nprint('bad thing', file=sys.stderr)\nsys.exit(3)\n"
    )
    done = gilwatt(tmp_path, "-q", "--python", gil_python(), "--", "fail.py")
    assert done.returncode == 3
    assert "failed (exit 3)" in done.stderr and "bad thing" in done.stderr  # the tail, since -q
    (tmp_path / "kill.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    done = gilwatt(tmp_path, "--python", gil_python(), "--", "kill.py")
    assert done.returncode == 128 + 9 and "signal 9" in done.stderr
    assert runs(tmp_path / "gilwatt.db") == [("failed", 3), ("signaled", None)]


def test_timeout_exits_124_and_keeps_the_run(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(60)\n")
    done = gilwatt(tmp_path, "--timeout", "0.5s", "--python", gil_python(), "--", "slow.py")
    assert done.returncode == 124
    assert runs(tmp_path / "gilwatt.db") == [("timeout", None)]


def test_ctrl_c_stops_the_target_and_saves_the_samples(tmp_path: Path) -> None:
    (tmp_path / "loop.py").write_text(
        "import os, time\nprint(os.getpid(), flush=True)\nwhile True:\n    time.sleep(0.01)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gilwatt", "profile", "--python", gil_python(), "--", "loop.py"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        target = int(proc.stdout.readline())
        time.sleep(0.7)  # more than one store batch
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    with closing(sqlite3.connect(tmp_path / "gilwatt.db")) as conn:
        (status,) = conn.execute("SELECT status FROM runs").fetchone()
        (count,) = conn.execute("SELECT count(*) FROM samples").fetchone()
    assert status == "interrupted" and count > 30
    with pytest.raises(ProcessLookupError):
        os.kill(target, 0)


def test_json_summary_on_stdout_and_target_output_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text(
        "from gilwatt.markers import region\nwith region('k'):\n    print('target says hi')\n"
    )
    done = gilwatt(
        tmp_path, "--json", "--interval", "200hz", "--python", gil_python(), "--", "t.py"
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["status"] == "ok" and payload["run"]["interval_ns"] == 5_000_000
    assert [r["name"] for r in payload["summary"]["regions"]] == ["k"]
    assert payload["summary"]["energy_source"]
    assert "target says hi" in done.stderr
    # exact only where it is: the kernel's peak and the hook's thread count; tree sums sampled
    assert payload["summary"]["peak_rss_exact"] and payload["summary"]["max_threads_exact"]
    kinds = payload["figure_kinds"]
    assert kinds["peak_rss_bytes"].startswith("largest process, exact")
    assert "sampled" in kinds["peak_pss_bytes"] and kinds["max_threads"] == "exact (thread hook)"


def test_cmd_runs_a_non_python_command(tmp_path: Path) -> None:
    done = gilwatt(tmp_path, "--cmd", "sh", "-c", "echo from-shell; exit 4")
    assert done.returncode == 4
    assert "from-shell" in done.stdout
    assert "interpreter" not in done.stderr  # no Python interpreter was involved
    assert runs(tmp_path / "gilwatt.db") == [("failed", 4)]


def test_summary_text_names_every_figure(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text(
        "import threading\nfrom gilwatt.markers import region\n"
        "def w():\n    sum(range(300_000))\n"
        "with region('kernel'):\n"
        "    ts = [threading.Thread(target=w) for _ in range(2)]\n"
        "    [t.start() for t in ts]; [t.join() for t in ts]\n"
    )
    done = gilwatt(tmp_path, "--python", gil_python(), "--", "t.py")
    assert done.returncode == 0, done.stderr
    for word in ("wall", "CPU", "user", "sys", "utilisation", "core balance", "context switches",
                 "peak RSS", "VMS", "USS", "PSS", "energy", "achieved", "kernel"):  # fmt: skip
        assert word in done.stderr, word
    assert "ESTIMATE" in done.stderr  # no RAPL here: the model's figure says so


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("10ms", 10_000_000),
        ("0.01", 10_000_000),
        ("1khz", 1_000_000),
        ("100Hz", 10_000_000),
        ("2s", 2_000_000_000),
        ("500us", 500_000),
        ("1.5", 1_500_000_000),
    ],
)
def test_durations(text: str, ns: int) -> None:
    assert parse_duration_ns(text, "--interval", rates=True) == ns


@pytest.mark.parametrize("text", ["", "fast", "-1ms", "0", "10 parsecs", "0hz"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration_ns(text, "--interval", rates=True)


def _thread_read_share(db: Path) -> float:
    with closing(sqlite3.connect(db)) as conn:
        with_threads = conn.execute("SELECT count(DISTINCT seq) FROM thread_samples").fetchone()[0]
        ticks = conn.execute("SELECT count(*) FROM samples WHERE trigger = 'tick'").fetchone()[0]
    return float(with_threads) / ticks


def test_thread_interval_sets_how_often_threads_are_read(tmp_path: Path) -> None:
    script = tmp_path / "spin.py"
    script.write_text("import time\nend = time.time() + 0.6\nwhile time.time() < end: pass\n")
    common = ("--python", gil_python(), "--interval", "10ms", "--no-report", "-q")
    every = gilwatt(
        tmp_path, *common, "--thread-interval", "10ms", "-o", "every.db", "--", "spin.py"
    )
    tiered = gilwatt(tmp_path, *common, "-o", "tiered.db", "--", "spin.py")
    assert every.returncode == 0 and tiered.returncode == 0, every.stderr + tiered.stderr
    assert _thread_read_share(tmp_path / "every.db") > 0.8  # every tick reads the threads
    assert _thread_read_share(tmp_path / "tiered.db") < 0.3  # the default: every 100 ms
