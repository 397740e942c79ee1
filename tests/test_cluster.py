"""Cluster studies on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
127.0.0.1, free ports, the pair and the bundled workloads. GILWATT_TEST_HOST_LABEL (a fake for
tests only) makes the two workers two hosts. Subprocesses throughout: the study is the CLI."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

pytestmark = [pytest.mark.slow, pytest.mark.needs_pair]

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60.0
# the scheduler frees a dead worker's host lock after 2 s (30 s by default)
DASK_ENV = {
    "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_TIMEOUT": "2s",
    "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_VALIDATION_INTERVAL": "500ms",
    "DASK_DISTRIBUTED__ADMIN__LOG_LENGTH": "0",
}


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
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


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pair: tuple[str, str]) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        c.add_worker("hostA")
        c.add_worker("hostB")
        c.wait_for(2)
        yield c
    finally:
        c.close()


def study_argv(db: Path, scheduler: str, reps: int = 1, *extra: str) -> list[str]:
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


def test_a_study_over_two_hosts(cluster: Cluster, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    done = run(study_argv(db, cluster.address, 2))
    assert done.returncode == 0, done.stderr[-3000:]
    per_host = check_complete(db)
    # 2 cells x 2 modes x 2 replicates + 2 priming and 2 sentinel runs per replicate, per host
    assert sorted(per_host.values()) == [16, 16]
    assert sorted(h.rsplit("~", 1)[1] for h in per_host) == ["hostA", "hostB"]
    # every run names its Dask worker, and each host's runs come from that host's worker
    executors = rows(
        db, "SELECT h.hostname, COUNT(DISTINCT r.executor), SUM(r.executor IS NULL)"
        " FROM runs r JOIN hosts h USING (host_id) GROUP BY 1",
    )  # fmt: skip
    assert [(n, missing) for _, n, missing in executors] == [(1, 0), (1, 0)]
    # one measured run at a time per host
    for (host_id,) in rows(db, "SELECT host_id FROM hosts"):
        spans = rows(db, "SELECT start_ns, end_ns FROM runs WHERE host_id = ? ORDER BY 1", host_id)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end
    assert "[" in done.stderr and "~hostA" in done.stderr and "ETA" in done.stderr
    # the per-host analysis is the local runner's: each host's study compares on its own
    for (study_id,) in rows(db, "SELECT study_id FROM studies"):
        compared = run([sys.executable, "-m", "gilwatt", "compare", str(db), "--study",
                        str(study_id), "--format", "json"], timeout=120)  # fmt: skip
        assert compared.returncode == 0, compared.stderr
        assert '"findings"' in compared.stdout


def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_block_loses_only_that_block(cluster: Cluster, tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    client = subprocess.Popen(
        study_argv(db, cluster.address, 2), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        victim = psutil.Process(cluster.workers["hostA"].pid)

        # mid-block: the worker has a measured process running
        def measuring() -> bool:
            with contextlib.suppress(psutil.Error):
                for child in victim.children(recursive=True):
                    if "factorial" in " ".join(child.cmdline()):
                        return True
            return False

        wait_until(measuring, 120, "a run on hostA")
        os.kill(victim.pid, signal.SIGKILL)
        cluster.workers["hostA"].wait(timeout=10)
        cluster.add_worker("hostA")  # the host comes back (a new worker, a new address)
        _out, err = client.communicate(timeout=240)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, err[-3000:]
    assert "left during a block; the block runs again on this host" in err
    assert sorted(check_complete(db).values()) == [16, 16]


def test_the_client_killed_and_restarted_resumes(cluster: Cluster, tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    argv = study_argv(db, cluster.address, 2)
    client = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def some_done() -> bool:
            if not db.exists():
                return False
            try:
                return bool(rows(db, "SELECT 1 FROM study_runs WHERE status = 'done' LIMIT 1"))
            except sqlite3.OperationalError:
                return False

        wait_until(some_done, 120, "a stored run")
        client.send_signal(signal.SIGKILL)
        client.wait(timeout=10)
    finally:
        if client.poll() is None:
            client.kill()
    before = rows(db, "SELECT COUNT(*) FROM runs")[0][0]
    assert before < 32  # it was killed mid-study
    again = run(argv)
    assert again.returncode == 0, again.stderr[-3000:]
    finished = [int(line.split(", ")[1].split()[0]) for line in again.stderr.splitlines()
                if line.startswith("gilwatt study on ")]  # fmt: skip
    assert sum(finished) >= 1  # resumed, not restarted
    assert sorted(check_complete(db).values()) == [16, 16]


def test_bad_cluster_input_is_one_line_and_exit_2(tmp_path: Path, pair: tuple[str, str]) -> None:
    # nothing listens on a fresh free port
    db = tmp_path / "bad.db"
    unreachable = run(study_argv(db, f"tcp://127.0.0.1:{free_port()}"), timeout=120)
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith("gilwatt: error: cannot reach the Dask scheduler")
    assert len(unreachable.stderr.strip().splitlines()) == 1

    lonely = Cluster(tmp_path)
    try:
        lonely.wait_for(0)
        empty = run(study_argv(db, lonely.address, 1, "--worker-wait", "2"), timeout=120)
        assert empty.returncode == 2
        assert "has no workers after 2s" in empty.stderr
        assert len(empty.stderr.strip().splitlines()) == 1
        # a worker whose host has no matched pair (an empty gilwatt cache)
        (tmp_path / "empty-cache").mkdir()
        lonely.add_worker("nopair", GILWATT_CACHE_DIR=str(tmp_path / "empty-cache"))
        lonely.wait_for(1)
        none = run(study_argv(db, lonely.address, 1), timeout=120)
        assert none.returncode == 2
        lines = none.stderr.strip().splitlines()
        assert lines[0].startswith("gilwatt: warning: host ") and "skipped: no matched" in lines[0]
        assert lines[1].startswith("gilwatt: error: no eligible host")
        assert len(lines) == 2
    finally:
        lonely.close()
    # nothing was run, so nothing is lost: the store holds no runs
    if db.exists():
        assert rows(db, "SELECT COUNT(*) FROM runs")[0][0] == 0
