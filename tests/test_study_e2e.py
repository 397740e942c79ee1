"""Real studies: the real profiler, the bundled workloads and the GIL / free-threaded pair.

A study is killed midway (Ctrl-C, then SIGKILL) and resumed; the GIL re-enabled by a real
extension import and a corrupted kernel are caught by the gates; a store holding another
study is refused unless --force-new.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import pythons

pytestmark = [pytest.mark.slow, pytest.mark.needs_pair]

DEV_PAIR = (pythons.gil_python(), pythons.ft_python())
# threaded + single-threaded, stdlib only, each well under a second at the tiny preset
WORKLOADS = "factorial,bubble_sort"


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    if all(p.exists() for p in DEV_PAIR):
        return str(DEV_PAIR[0]), str(DEV_PAIR[1])
    from gilwatt.interpreters import matched_pair

    found = matched_pair()
    if found is None:
        pytest.skip("no GIL / free-threaded interpreter pair on this machine")
    return found[0].executable, found[1].executable


def extra(key: str) -> bool:
    """A priming run or a sentinel: not a measurement of the study's cells."""
    return key.endswith(("/priming", "/sentinel"))


def study_args(pair: tuple[str, str], db: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "gilwatt", "study", "--suite", "tiny", "--python", ",".join(pair),
        "--workloads", WORKLOADS, "-o", str(db), "--no-report",
        # these tests are about resuming and gates, not foreign load: another process on a
        # shared machine must not turn their runs into disturbed reruns
        "--max-foreign-cpu", "64", *extra,
    ]  # fmt: skip


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=600
    )


def ledger(db: Path) -> dict[str, tuple[str, str, int | None]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT run_key, status, reason, run_id FROM study_runs").fetchall()
    finally:
        conn.close()
    return {key: (status, reason, run_id) for key, status, reason, run_id in rows}


def finished_labels(db: Path) -> Counter[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT label FROM runs WHERE status NOT IN ('running', 'interrupted')"
        ).fetchall()
    finally:
        conn.close()
    return Counter(label for (label,) in rows)


def wait_for_finished(
    db: Path, count: int, proc: subprocess.Popen[str], timeout_s: float = 240
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the study ended before it could be interrupted"
        if db.exists():
            try:
                if sum(1 for v in ledger(db).values() if v[0] != "pending") >= count:
                    return
            except sqlite3.OperationalError:
                pass  # the schema is being created
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} runs finished within {timeout_s}s")


@pytest.mark.parametrize("how", ["sigint", "sigkill"])
def test_a_killed_study_resumes_without_repeating_a_run(
    pair: tuple[str, str], tmp_path: Path, how: str
) -> None:
    db = tmp_path / "study.db"
    args = study_args(pair, db, "--modes", "gil,ft", "--reps", "3")
    # (factorial w1, w2; bubble_sort) x 2 modes x 3 replicates, + 2 priming runs and 2
    # sentinels per replicate
    planned = 3 * 2 * 3 + 2 * 3 + 2 * 3
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        wait_for_finished(db, 5, proc)
        before = {k: v for k, v in ledger(db).items() if v[0] != "pending"}
        if how == "sigint":
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the study
        else:
            os.killpg(proc.pid, signal.SIGKILL)  # the study and its target, no clean-up at all
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if how == "sigint":
        assert proc.returncode == 130, err
        assert "Run the same command again to resume" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    at_kill = ledger(db)
    assert len(at_kill) == planned
    assert {k: at_kill[k] for k in before} == before  # finished runs are kept as they were
    assert any(v[0] == "pending" for v in at_kill.values())

    resumed = run(args)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed" in resumed.stderr
    final = ledger(db)
    assert len(final) == planned
    wanted = {k: k.rsplit("/", 1)[1] if extra(k) else "done" for k in final}
    assert {k: v[0] for k, v in final.items()} == wanted, final
    finished_at_kill = {k: v for k, v in at_kill.items() if v[0] != "pending"}
    assert {k: final[k] for k in finished_at_kill} == finished_at_kill  # not redone
    labels = finished_labels(db)
    assert set(labels) == set(final) and max(labels.values()) == 1  # no run_key measured twice


SITE = """\
import sys
if getattr(sys, "_is_gil_enabled", lambda: True)() is False:
    # a real extension that does not declare free-threading support: importing it turns the
    # GIL back on for the rest of the process, as a third-party extension would
    import importlib.machinery, importlib.util, _testmultiphase
    name = "_testmultiphase_null_slots"
    loader = importlib.machinery.ExtensionFileLoader(name, _testmultiphase.__file__)
    loader.exec_module(importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader)))
"""


def test_an_extension_re_enabling_the_gil_makes_ft_runs_invalid(
    pair: tuple[str, str], tmp_path: Path
) -> None:
    check = subprocess.run([pair[1], "-c", "import _testmultiphase"], capture_output=True)
    if check.returncode:
        pytest.skip("this free-threaded build has no _testmultiphase test module")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITE)
    db = tmp_path / "study.db"
    done = run(
        study_args(pair, db, "--modes", "gil,ft,ft-gil", "--reps", "1", "--workloads", "factorial"),
        env={"PYTHONPATH": str(site)},
    )
    assert done.returncode == 0, done.stderr
    rows = ledger(db)
    assert sum(extra(k) for k in rows) == 4  # a priming run and a sentinel per interpreter
    rows = {k: v for k, v in rows.items() if not extra(k)}
    assert len(rows) == 6
    for key, (status, reason, run_id) in rows.items():
        mode = key.split("#")[0].rsplit("/", 1)[1]
        if mode == "ft":
            assert status == "invalid", key
            assert "GIL was on at kernel start, mode ft needs it off" in reason
            assert "an extension re-enabled the GIL: _testmultiphase_null_slots" in reason
            assert run_id is not None
        else:
            assert status == "done", (key, reason)
    # the progress lines show the verdict, its reason, and the profiler's warnings about it
    assert " ft  invalid " in done.stderr and "(GIL was on at kernel start" in done.stderr
    assert "note: " in done.stderr and "_testmultiphase_null_slots" in done.stderr


def test_a_corrupted_kernel_fails_verification_and_is_invalid(
    pair: tuple[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "study.db"
    done = run(
        study_args(pair, db, "--modes", "gil,ft", "--reps", "1", "--workloads", "bubble_sort"),
        env={"GILWATT_WORKLOAD_CORRUPT": "1"},
    )
    assert done.returncode == 1, done.stderr  # no valid run at all
    rows = ledger(db)
    primes = [v for k, v in rows.items() if k.endswith("/priming")]
    assert len(primes) == 2 and all(
        v[0] == "priming" and "invalid: verification failed" in v[1] for v in primes
    )
    rows = {k: v for k, v in rows.items() if not extra(k)}
    assert len(rows) == 2
    for status, reason, run_id in rows.values():
        assert status == "invalid" and "verification failed" in reason and run_id is not None


def test_another_study_in_the_store_is_refused_unless_force_new(
    pair: tuple[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "study.db"
    first = run(study_args(pair, db, "--modes", "gil", "--reps", "1", "--workloads", "bubble_sort"))
    assert first.returncode == 0, first.stderr
    other = study_args(pair, db, "--modes", "gil,ft", "--reps", "1", "--workloads", "bubble_sort")
    refused = run(other)
    assert refused.returncode == 2
    assert "holds a different study" in refused.stderr and "--force-new" in refused.stderr
    assert "modes ['gil'] vs ['gil', 'ft']" in refused.stderr
    # nothing ran, nothing was mixed in: the first study's run, its priming run and sentinel
    assert sum(finished_labels(db).values()) == 3

    forced = run([*other, "--force-new"])
    assert forced.returncode == 0, forced.stderr
    again = run(other)  # resumes the new study: nothing left to run
    assert again.returncode == 0 and "0 launched in" in again.stderr
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    studies = conn.execute("SELECT study_id, spec_json FROM studies ORDER BY study_id").fetchall()
    per_study = dict(
        conn.execute("SELECT study_id, COUNT(*) FROM study_runs GROUP BY study_id").fetchall()
    )
    conn.close()
    # each with its priming runs and sentinels (one of each per interpreter)
    assert [s for s, _ in studies] == [1, 2] and per_study == {1: 1 + 2, 2: 2 + 4}
    assert json.loads(studies[1][1])["modes"] == ["gil", "ft"]


def test_a_workload_missing_its_dependency_is_skipped_and_the_study_goes_on(tmp_path: Path) -> None:
    bare = next(
        (p for p in ("/root/.pyenv/versions/3.12.1/bin/python", "/root/.pyenv/versions/3.10.13/bin/python")
         if Path(p).exists() and subprocess.run([p, "-c", "import numpy"], capture_output=True).returncode),
        None,
    )  # fmt: skip
    if bare is None:
        pytest.skip("no GIL interpreter without numpy here")
    db = tmp_path / "study.db"
    done = run(
        [sys.executable, "-m", "gilwatt", "study", "--suite", "tiny", "--python", bare, "--modes", "gil",
         "--workloads", "numpy_blas,bubble_sort", "--reps", "1", "-o", str(db), "--no-report",
         "--max-foreign-cpu", "64"]
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {key.split("{")[0]: v for key, v in ledger(db).items() if not extra(key)}
    assert rows["bubble_sort"][0] == "done"
    status, reason, run_id = rows["numpy_blas"]
    assert status == "skipped" and "numpy" in reason and run_id is not None


def test_an_interpreter_that_disappears_mid_study(pair: tuple[str, str], tmp_path: Path) -> None:
    link = tmp_path / "python3-gil"
    link.symlink_to(pair[0])  # a real interpreter reached through a path we can take away
    db = tmp_path / "study.db"
    args = study_args((str(link), pair[1]), db, "--modes", "gil,ft", "--reps", "3")
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        wait_for_finished(db, 4, proc)
        link.unlink()
        _, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    rows = ledger(db)
    assert len(rows) == 18 + 4 * 3  # a priming run and a sentinel per interpreter per replicate
    rows = {k: v for k, v in rows.items() if not extra(k)}
    on_ft = [v for k, v in rows.items() if k.split("#")[0].endswith("/ft")]
    assert {v[0] for v in on_ft} == {"done"}  # the rest went on
    gone = [v for k, v in rows.items() if k.split("#")[0].endswith("/gil") and v[0] != "done"]
    assert gone and all(v[0] == "skipped" and str(link) in v[1] for v in gone)
    assert "remaining run(s) on it skipped" in err
