"""A cluster block without Dask: the worker's side (run one block into its own store) and the
client's (copy it in), with the real pair, profiler and SQLite. A block that comes back twice
is stored once; the copied runs keep every row and name their worker."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gilwatt.store import Store
from gilwatt.study.hostplan import block_units, host_study, plan_replicate, wanted_pair
from gilwatt.study.hoststate import store_block
from gilwatt.study.ledger import Ledger
from gilwatt.study.remote import BlockTask, _run_locked, describe
from gilwatt.study.resolve import resolve_study
from gilwatt.study.session import open_session
from gilwatt.study.spec import load_suite

pytestmark = [pytest.mark.slow, pytest.mark.needs_pair]


def test_a_block_stored_twice_is_stored_once(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    spec = load_suite("tiny").override("--reps", reps=1).override("--modes", modes=("gil", "ft"))
    spec = spec.override("--max-foreign-cpu", max_foreign_cpu=100.0)
    study = resolve_study(spec, only=["factorial"])
    facts = describe(wanted_pair(study))
    if facts.problem:
        pytest.skip(facts.problem)
    hosted = host_study(study, facts)
    db = tmp_path / "client.db"
    with Store.open(db) as store:
        ledger = Ledger(store)
        session = open_session(ledger, hosted, db)
        study_id = session.record.study_id
        planned = {r.run_key: r for r in session.planned}
        units = block_units(ledger, study_id, planned)
        first = units[0]
        assert any(planned[k].priming for k in first)  # the replicate's lead-in goes first
        task = BlockTask(
            "0", spec, hosted.host or {}, hosted.cells, first, {}, ()
        )  # the version is checked in run_block, not here
        result = _run_locked(task, facts.fingerprint)
        assert {r.run_key for r in result.runs} == set(first)
        stored = store_block(store, ledger, study_id, planned, hosted, result)
        again = store_block(store, ledger, study_id, planned, hosted, result)
        assert len(stored) == len(first) and again == []
        statuses = {r.run_key: r.status for r in ledger.rows(study_id)}
        assert all(statuses[k] in ("done", "priming", "sentinel") for k in first)
        # the next unit is still pending; the finished one is not offered again
        assert block_units(ledger, study_id, planned)[0] == units[1]
    conn = sqlite3.connect(db)
    try:
        runs = conn.execute("SELECT run_id, executor, label FROM runs").fetchall()
        assert len(runs) == len(first)
        assert {executor for _, executor, _ in runs} == {"local"}
        assert sorted(label for *_, label in runs) == sorted(first)
        # every copied run has its samples and its region, like a run profiled here
        for run_id, _, _ in runs:
            assert (
                conn.execute("SELECT COUNT(*) FROM samples WHERE run_id = ?", (run_id,)).fetchone()[
                    0
                ]
                > 0
            )
            assert (
                conn.execute("SELECT COUNT(*) FROM regions WHERE run_id = ?", (run_id,)).fetchone()[
                    0
                ]
                > 0
            )
    finally:
        conn.close()


def test_a_block_of_replicate_4_runs_on_the_worker(tmp_path: Path) -> None:
    """An auto study's worker plans the block's replicate: a new session plans only the first
    look's three, so without BlockTask.replicate a block of replicate 4 ran nothing."""
    pytest.importorskip("distributed")
    spec = (
        load_suite("tiny")
        .override("--reps", reps_auto=True)
        .override("--modes", modes=("gil", "ft"))
    )
    spec = spec.override("--max-foreign-cpu", max_foreign_cpu=100.0)
    study = resolve_study(spec, only=["factorial"])
    facts = describe(wanted_pair(study))
    if facts.problem:
        pytest.skip(facts.problem)
    hosted = host_study(study, facts)
    db = tmp_path / "client.db"
    with Store.open(db) as store:
        ledger = Ledger(store)
        session = open_session(ledger, hosted, db)
        runs = plan_replicate(ledger, hosted, session.record.study_id, 4)
        planned = {r.run_key: r for r in runs}
        unit = next(u for u in block_units(ledger, session.record.study_id, planned))
        assert {planned[k].block for k in unit} == {4}
    task = BlockTask("0", spec, hosted.host or {}, hosted.cells, unit, {}, (), replicate=4)
    result = _run_locked(task, facts.fingerprint)
    assert {r.run_key for r in result.runs} == set(unit)
