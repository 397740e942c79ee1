"""Cluster studies on a real Dask cluster (tests/cluster_fixtures.py): a `dask scheduler` and two
`dask worker` processes on 127.0.0.1, the pair and the bundled workloads; the two workers are
two hosts. Subprocesses throughout: the study is the CLI."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster_fixtures import (
    Cluster,
    check_complete,
    free_port,
    pair_or_skip,
    rows,
    run,
    study_argv,
    wait_until,
)

pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

pytestmark = [pytest.mark.slow, pytest.mark.needs_pair]


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    return pair_or_skip()


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
