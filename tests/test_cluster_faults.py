"""Cluster faults that need a cluster of their own (tests/cluster_fixtures.py): the scheduler
killed mid-study, then the same command against a new scheduler and worker; --reps auto over
two hosts, each stopping on its own; --provision-workers. No timing assertions: every wait is
bounded generously (these run at load 10 on a 2-core machine)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster_fixtures import (
    Cluster,
    check_complete,
    pair_or_skip,
    rows,
    run,
    study_argv,
    wait_until,
)

pytest.importorskip("distributed")

pytestmark = [pytest.mark.slow, pytest.mark.needs_pair]

STUDY_TIMEOUT_S = 600.0


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    return pair_or_skip()


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[list[Cluster]]:
    """Clusters a test starts (each in its own directory), all stopped at its end."""
    started: list[Cluster] = []
    yield started
    for c in started:
        c.close()


def new_cluster(clusters: list[Cluster], where: Path, *labels: str, **env: str) -> Cluster:
    where.mkdir()
    c = Cluster(where)
    clusters.append(c)
    for label in labels:
        c.add_worker(label, **env)
    c.wait_for(len(labels))
    return c


def some_done(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        return bool(rows(db, "SELECT 1 FROM study_runs WHERE status = 'done' LIMIT 1"))
    except sqlite3.OperationalError:  # the client is still creating the store
        return False


def test_a_lost_scheduler_stops_the_study_and_a_new_one_resumes_it(
    tmp_path: Path, pair: tuple[str, str], clusters: list[Cluster]
) -> None:
    db = tmp_path / "s.db"
    one = new_cluster(clusters, tmp_path / "one", "hostA")
    client = subprocess.Popen(
        study_argv(db, one.address, 3, "--worker-wait", "120"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: some_done(db), STUDY_TIMEOUT_S, "a stored run")
        os.kill(one.scheduler.pid, signal.SIGKILL)
        _out, err = client.communicate(timeout=STUDY_TIMEOUT_S)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    one.close()  # its worker too: the host comes back with a new scheduler
    assert client.returncode == 1, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("gilwatt: error:")]
    assert len(errors) == 1, err[-3000:]
    assert errors[0].startswith(f"gilwatt: error: lost the Dask scheduler at {one.address}")
    assert errors[0].endswith(
        f"every finished run is saved in {db}. Restart the scheduler and workers, then run "
        "the same command again to resume."
    )
    assert "Traceback" not in err and "distributed." not in err, err  # Dask's own log is silenced
    stored = rows(db, "SELECT COUNT(*) FROM runs")[0][0]
    assert isinstance(stored, int) and stored >= 1

    two = new_cluster(clusters, tmp_path / "two", "hostA")
    again = run(study_argv(db, two.address, 3, "--worker-wait", "120"), timeout=STUDY_TIMEOUT_S)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skipped" not in again.stderr
    resumed = re.search(
        r"gilwatt study on \S+~hostA: (\d+) runs, (\d+) already finished", again.stderr
    )
    assert resumed is not None, again.stderr[-3000:]
    assert int(resumed[2]) >= 1
    # 2 cells x 2 modes + 2 priming and 2 sentinel runs, per replicate; none stored twice
    assert list(check_complete(db, n_hosts=1).values()) == [24]


def test_reps_auto_over_two_hosts_each_stops_on_its_own(
    tmp_path: Path, pair: tuple[str, str], clusters: list[Cluster]
) -> None:
    c = new_cluster(clusters, tmp_path / "auto", "hostA", "hostB")
    db = tmp_path / "auto.db"
    argv = study_argv(db, c.address, "auto", "--max-reps", "5")
    done = run(argv, timeout=STUDY_TIMEOUT_S * 2)
    assert done.returncode == 0, done.stderr[-3000:]
    for label in ("hostA", "hostB"):
        assert re.search(rf"\[\S+~{label} \d+/\d+\] look after replicate 3 ", done.stderr)
    assert "not done" not in done.stderr, done.stderr[-3000:]
    check_complete(db)
    for spec_json, blocks in rows(
        db, "SELECT s.spec_json, MAX(r.block) FROM studies s JOIN study_runs r USING (study_id)"
        " GROUP BY s.study_id",
    ):  # fmt: skip
        looks = json.loads(str(spec_json))["looks"]
        # one look per replicate from the third, the last one stopping; each replicate run
        assert [x["replicate"] for x in looks] == list(range(3, int(str(blocks)) + 1))
        assert looks[-1]["stop"] and not any(x["stop"] for x in looks[:-1])
    # the same command again takes no look twice and runs nothing: every host had stopped
    looks = rows(db, "SELECT study_id, spec_json FROM studies ORDER BY 1")
    again = run(argv, timeout=STUDY_TIMEOUT_S)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 runs stored from 2 host(s)" in again.stderr, again.stderr[-3000:]
    after = rows(db, "SELECT study_id, spec_json FROM studies ORDER BY 1")
    assert [json.loads(str(s))["looks"] for _, s in after] == [
        json.loads(str(s))["looks"] for _, s in looks
    ]


def test_provision_workers(tmp_path: Path, pair: tuple[str, str], clusters: list[Cluster]) -> None:
    # hostA has the pair cached (a no-op); hostB's cache is a file, so provisioning fails
    broken = tmp_path / "not-a-dir"
    broken.write_text("")
    c = new_cluster(clusters, tmp_path / "prov", "hostA")
    c.add_worker("hostB", GILWATT_CACHE_DIR=str(broken))
    c.wait_for(2)
    db = tmp_path / "p.db"
    done = run(study_argv(db, c.address, 1, "--provision-workers"), timeout=STUDY_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("gilwatt: warning:")]
    assert len(warnings) == 1, done.stderr[-3000:]
    assert "~hostB" in warnings[0] and "skipped: no matched CPython" in warnings[0]
    assert "(provisioning failed: NotADirectoryError" in warnings[0]
    assert "the pair was already provisioned" in done.stderr
    assert list(check_complete(db, n_hosts=1).values()) == [8]
