"""An adaptive study killed with SIGKILL mid-replicate, then resumed by the same command.

A real ``gilwatt study`` (reps auto, the tiny preset, one workload) is killed with SIGKILL
(no cleanup at all) once a run of replicate 4 is stored, then the same command runs again.
The look recorded before the kill stays as it was, each later look spends exactly what the
plan allows by then minus what was spent (the budget's final analysis: the rest of alpha),
and no run whose result was stored is launched again. Robust under load: the test polls the
store and waits with generous timeouts; nothing depends on how long a run takes.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gilwatt.study import sequential

MAX_REPS = 20  # early looks get almost nothing: the study cannot stop at look 3
KILL_IN = 4


def _read(db: Path, sql: str) -> list[tuple[Any, ...]]:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    except sqlite3.OperationalError:
        return []
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        conn.close()


def _finished(db: Path) -> dict[str, tuple[int, str]]:
    """run_key -> (run_id, status) of every study run with a final status."""
    rows = _read(db, "SELECT run_key, run_id, status FROM study_runs WHERE status != 'pending'")
    return {str(k): (int(r), str(s)) for k, r, s in rows if r is not None}


def _looks(db: Path) -> list[dict[str, Any]]:
    rows = _read(db, "SELECT spec_json FROM studies")
    return list(json.loads(rows[0][0]).get("looks", [])) if rows else []


@pytest.mark.slow
@pytest.mark.needs_pair
def test_a_sigkilled_auto_study_resumes_without_losing_alpha_or_repeating_a_run(
    tmp_path: Path,
) -> None:
    from gilwatt.interpreters import matched_pair

    found = matched_pair()
    if found is None:
        pytest.skip("no GIL / free-threaded interpreter pair on this machine")
    db = tmp_path / "study.db"
    suite = tmp_path / "auto.toml"
    suite.write_text(
        f'name = "kill"\npreset = "tiny"\nreps = "auto"\nmax_reps = {MAX_REPS}\n'
        'budget = "4m"\nmodes = ["gil", "ft"]\n[workloads.mandelbrot]\n'
    )
    args = [
        sys.executable, "-m", "gilwatt", "study", "--suite", str(suite),
        "--python", f"{found[0].executable},{found[1].executable}", "-o", str(db), "--no-report",
    ]  # fmt: skip
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 600  # generous: the machine may be at load 10
        while time.monotonic() < deadline and first.poll() is None:
            if any(f"#b{KILL_IN}" in key for key in _finished(db)):
                break
            time.sleep(0.05)
        assert first.poll() is None, "the study ended before replicate 4"
        os.killpg(first.pid, signal.SIGKILL)  # the study and the run it was measuring
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        log.close()
    assert first.returncode == -signal.SIGKILL
    stored = _finished(db)
    before = _looks(db)
    assert [x["replicate"] for x in before] == [3]  # replicate 4 had not been looked at
    second = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert second.returncode in (0, 1), second.stderr
    looks = _looks(db)
    assert looks[0] == before[0]  # the look before the kill is unchanged
    assert [x["replicate"] for x in looks] == list(range(3, 3 + len(looks)))
    assert len(looks) >= 2, second.stderr
    for earlier, look in itertools.pairwise(looks):
        r = look["replicate"]
        planned = sequential.spent_by(r / MAX_REPS) - earlier["spent"]
        if look["stop"] and look["stop"] != sequential.DECIDED_STOP:
            planned = sequential.ALPHA - earlier["spent"]  # the final analysis: the rest
        assert look["alpha"] == pytest.approx(planned, rel=1e-9, abs=1e-15), look
        assert look["spent"] == pytest.approx(earlier["spent"] + look["alpha"], rel=1e-9)
    # no run whose result was stored before the kill was launched again
    after = _finished(db)
    assert all(after[key] == value for key, value in stored.items())
    labels = [str(r[0]) for r in _read(db, "SELECT label FROM runs WHERE label LIKE '%#b%'")]
    launched = {key: labels.count(key) for key in stored}
    assert all(n == 1 for n in launched.values()), launched
    for look in looks:
        print(f"look after replicate {look['replicate']}: alpha {look['alpha']:.3g}, "
              f"spent {look['spent']:.3g}, stop {look['stop'] or '-'}")  # fmt: skip
    print(f"{len(stored)} runs stored before the kill, each launched once")
