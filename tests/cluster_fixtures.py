"""A real Dask cluster on 127.0.0.1 for the cluster tests: a `dask scheduler` and `dask worker`
processes on free ports, started and stopped by the test (only those). GILWATT_TEST_HOST_LABEL
(a fake for tests only) makes each worker its own host. Subprocesses throughout: the study is
the CLI, and the test process never holds a Dask client."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60.0
# the scheduler frees a dead worker's host lock after 2 s (30 s by default)
DASK_ENV = {
    "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_TIMEOUT": "2s",
    "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_VALIDATION_INTERVAL": "500ms",
    "DASK_DISTRIBUTED__ADMIN__LOG_LENGTH": "0",
}


def pair_or_skip() -> tuple[str, str]:
    import pytest

    from gilwatt.interpreters import matched_pair

    found = matched_pair()
    if found is None:
        pytest.skip("no GIL / free-threaded interpreter pair on this machine")
    return found[0].executable, found[1].executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Cluster:
    """A scheduler and workers this test started (and only stops those)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._spawn(
            "scheduler",
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", port,
             "--no-dashboard"],
            {},
        )  # fmt: skip

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 -- the process keeps it
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **DASK_ENV, **env},
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.procs.append(proc)
        return proc

    def add_worker(self, label: str, **env: str) -> subprocess.Popen[bytes]:
        proc = self._spawn(
            f"worker-{label}",
            [str(BIN / "dask"), "worker", self.address, "--nthreads", "1", "--no-nanny",
             "--no-dashboard", "--name", f"{label}-{len(self.procs)}", "--host", "127.0.0.1"],
            {"GILWATT_TEST_HOST_LABEL": label, **env},
        )  # fmt: skip
        self.workers[label] = proc
        return proc

    def wait_for(self, n_workers: int) -> None:
        """Block until the scheduler has ``n_workers`` (bounded; in a subprocess, so the
        test process never holds a Dask client)."""
        code = (
            "import sys; from distributed import Client\n"
            f"c = Client({self.address!r}, timeout={START_TIMEOUT_S})\n"
            + (f"c.wait_for_workers({n_workers}, timeout={START_TIMEOUT_S})\n" if n_workers else "")
            + "n = len(c.scheduler_info()['workers']); c.close(); sys.exit(n != "
            + str(n_workers)
            + ")"
        )
        done = subprocess.run([sys.executable, "-c", code], timeout=START_TIMEOUT_S * 2 + 10,
                              capture_output=True, env={**os.environ, **DASK_ENV})  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()[-2000:]

    def close(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)


def study_argv(db: Path, scheduler: str, reps: int | str = 1, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "gilwatt", "study", "--suite", "tiny", "--workloads", "factorial",
        "--workers", "1,2", "--modes", "gil,ft", "--reps", str(reps),
        # the two fake hosts share this machine's 2 CPUs: every run would be 'disturbed'
        "--max-foreign-cpu", "100", "--scheduler", scheduler, "-o", str(db), "--no-report",
        *extra,
    ]  # fmt: skip


def run(argv: list[str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def rows(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def check_complete(db: Path, n_hosts: int = 2) -> dict[str, int]:
    """Every planned run final, each stored once; the runs per host."""
    studies = rows(db, "SELECT study_id, spec_json FROM studies")
    assert len(studies) == n_hosts
    statuses = rows(db, "SELECT status, COUNT(*) FROM study_runs GROUP BY status")
    assert {s for s, _ in statuses} <= {"done", "priming", "sentinel"}, statuses
    # one stored run per ledger row with a run; no run stored twice, none stored unledgered
    ledgered = rows(db, "SELECT COUNT(*) FROM study_runs WHERE run_id IS NOT NULL")[0][0]
    assert rows(db, "SELECT COUNT(*) FROM runs")[0][0] == ledgered
    assert rows(db, "SELECT study_id, label FROM runs GROUP BY 1, 2 HAVING COUNT(*) > 1") == []
    per_host = dict(
        rows(db, "SELECT h.hostname, COUNT(*) FROM runs r JOIN hosts h USING (host_id) GROUP BY 1")
    )
    return {str(k): int(v) for k, v in per_host.items()}


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
