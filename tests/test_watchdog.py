"""No orphans: when gilwatt dies, even by SIGKILL, the watchdog ends the target's session."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from gilwatt import launcher
from profiler_fixtures import gil_python

# A process pool: the target (session leader), its pool workers (children) and, through a
# worker's own child, a grandchild. It writes its pid (its session's id) then waits.
POOL = """
import concurrent.futures, os, subprocess, sys, time
def work(_):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(60)
if __name__ == "__main__":
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        futures = [pool.submit(work, i) for i in range(2)]
        time.sleep(0.5)
        with open(sys.argv[1] + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        [f.result() for f in futures]
"""


def _session_members(sid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process of session ``sid`` that is not a zombie."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append((int(entry), fields[0]))
    return found


@pytest.mark.parametrize("deaf", [False, True], ids=["stops-on-SIGTERM", "ignores-SIGTERM"])
def test_kill_9_of_gilwatt_ends_the_targets_session_within_2_s(tmp_path: Path, deaf: bool) -> None:
    script = tmp_path / "pool.py"
    # SIG_IGN is inherited through fork and exec: the whole tree then needs the SIGKILL
    deafen = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if deaf else ""
    script.write_text(deafen + POOL)
    flag = tmp_path / "started"
    db = tmp_path / "runs.db"
    gilwatt = subprocess.Popen(
        [sys.executable, "-m", "gilwatt", "profile", "-o", str(db), "--no-report", "-q",
         "--python", gil_python(), "--", str(script), str(flag)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert gilwatt.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        with closing(sqlite3.connect(db)) as conn:
            ((command,),) = conn.execute("SELECT command_json FROM runs").fetchall()
        sid = int(flag.read_text())
        assert _session(sid) == sid
        while len(_session_members(sid)) < 5:  # target, two workers, two grandchildren
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.6)  # a flush of samples
    finally:
        os.kill(gilwatt.pid, signal.SIGKILL)
        gilwatt.wait()
    killed_at = time.monotonic()
    while _session_members(sid) and time.monotonic() - killed_at < 2.0:
        time.sleep(0.05)
    assert _session_members(sid) == [], "processes of the target's session outlived gilwatt"
    with closing(sqlite3.connect(db)) as conn:  # what was flushed before the kill is readable
        ((samples,),) = conn.execute("SELECT count(*) FROM samples").fetchall()
        ((status,),) = conn.execute("SELECT status FROM runs").fetchall()
    assert samples > 10 and status == "running" and str(script) in command


def test_a_run_that_ends_normally_disarms_the_watchdog(tmp_path: Path) -> None:
    dog = launcher.Watchdog()
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert dog.pid is not None
        dog.arm(sleeper.pid)
        dog.disarm()  # gilwatt is done: the watchdog leaves the session alone and exits
        time.sleep(0.2)
        assert sleeper.poll() is None
        assert not Path(f"/proc/{dog.pid}").exists() or _state(dog.pid) == "Z"
    finally:
        sleeper.kill()
        sleeper.wait()


def _session(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2 :].split()[3])


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat[stat.rfind(")") + 2 :].split()[0]
