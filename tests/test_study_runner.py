"""The runner's bookkeeping, with a scripted profiler writing into a real store: block order,
gates, resume after Ctrl-C, adoption of orphaned runs, vanished interpreters, mismatch refusal.
(test_study_e2e.py runs the same paths with the real profiler and workloads.)"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from gilwatt.errors import RunError, StudyMismatch
from gilwatt.profiler import ProfileRequest
from gilwatt.store import Store
from gilwatt.study.ledger import Ledger
from gilwatt.study.progress import StudyEvent, StudyOutcome
from gilwatt.study.resolve import ResolvedStudy, resolve_study
from gilwatt.study.runner import run_study
from gilwatt.study.spec import parse_spec
from study_fakes import (
    FakeInterpreter,
    Outcome,
    ScriptedProfiler,
    fake_pair,
    fake_workloads,
    resolver_for,
)


def make_study(
    tmp_path: Path, text: str = "reps = 2\n", priming: bool = False, sentinel: bool = False
) -> ResolvedStudy:
    """The runner's bookkeeping without priming runs and sentinels (their tests turn them on)."""
    gil, ft = fake_pair(tmp_path)
    head = f"priming = {str(priming).lower()}\nsentinel = {str(sentinel).lower()}\n"
    spec = parse_spec(head + text + "\n[workloads.alpha]\n[workloads.seq]\n", "s.toml")
    return resolve_study(
        spec,
        workloads=fake_workloads(),
        resolver=resolver_for(gil, ft),
        pair_finder=lambda: (gil, ft),
    )


def probe(path: str) -> FakeInterpreter:
    name = os.path.basename(path)
    if not os.path.exists(path):
        return FakeInterpreter(name, path, version="", error="no such file")
    return FakeInterpreter(name, path, free_threaded=name.endswith("ft"))


def go(
    study: ResolvedStudy, db: Path, profiler: ScriptedProfiler, **kwargs: object
) -> StudyOutcome:
    return run_study(study, db, profile_fn=profiler, probe_fn=probe, sleep=lambda s: None, **kwargs)  # type: ignore[arg-type]


def ledger_rows(db: Path, study_id: int = 1) -> dict[str, tuple[str, str, int | None]]:
    with Store.open(db) as store:
        return {r.run_key: (r.status, r.reason, r.run_id) for r in Ledger(store).rows(study_id)}


def test_a_study_runs_every_planned_run_once_in_block_order(tmp_path: Path) -> None:
    study = make_study(tmp_path)
    profiler = ScriptedProfiler()
    events: list[StudyEvent] = []
    outcome = go(study, tmp_path / "s.db", profiler, on_event=events.append)
    # alpha: workers 1, 2; seq: 1 -> 3 cells x 3 modes x 2 blocks
    assert outcome.planned == 18 and outcome.counts == {"done": 18} and outcome.launched == 18
    labels = [r.label for r in profiler.requests]
    assert len(set(labels)) == 18
    with Store.open(tmp_path / "s.db") as store:
        planned = Ledger(store).rows(1)
    assert labels == [
        r.run_key for r in planned
    ]  # block 1 then block 2, each in its shuffled order
    for request in profiler.requests:
        block = request.label.rsplit("#b", 1)[1]
        assert request.env["GILWATT_BLOCK"] == block
        assert request.label.startswith(request.env["GILWATT_CELL"] + "#")
        assert request.passthrough is False and request.study_id == 1
        mode = request.env["GILWATT_CELL"].rsplit("/", 1)[1]
        assert request.env.get("PYTHON_GIL", "") == ("1" if mode == "ft-gil" else "")
        assert request.argv[0] == study.interpreter_for(mode).executable
    ends = [e for e in events if e.kind == "run-end"]
    assert [e.done for e in ends] == list(range(1, 19)) and all(e.total == 18 for e in ends)
    assert ends[-1].eta_s == 0


def test_gates_mark_runs_invalid_or_skipped_and_the_study_goes_on(tmp_path: Path) -> None:
    study = make_study(tmp_path, "reps = 1\n")

    def decide(request: ProfileRequest) -> Outcome:
        cell = request.env["GILWATT_CELL"]
        if cell.startswith("alpha") and cell.endswith("/w1/ft"):
            return Outcome(gil=True)  # an extension turned the GIL back on
        if cell.startswith("alpha") and cell.endswith("/w2/gil"):
            return Outcome(exit_code=3, status="failed", verified=False)
        if cell.startswith("seq"):
            return Outcome(
                exit_code=4, status="failed", verified=None, skipped="numpy is not installed"
            )
        return Outcome()

    outcome = go(study, tmp_path / "s.db", ScriptedProfiler(decide))
    assert outcome.counts == {"done": 4, "invalid": 2, "skipped": 3}
    rows = ledger_rows(tmp_path / "s.db")
    ft = next(v for k, v in rows.items() if k.startswith("alpha") and "/w1/ft#" in k)
    assert ft[0] == "invalid" and "GIL was on at kernel start, mode ft needs it off" in ft[1]
    bad = next(v for k, v in rows.items() if k.startswith("alpha") and "/w2/gil#" in k)
    assert bad[0] == "invalid" and "verification failed" in bad[1]
    for key, (status, reason, run_id) in rows.items():
        if key.startswith("seq"):
            assert status == "skipped" and "numpy is not installed" in reason and run_id is not None


def test_ctrl_c_leaves_the_current_run_pending_and_resume_finishes_without_redoing(
    tmp_path: Path,
) -> None:
    study = make_study(tmp_path)
    db = tmp_path / "s.db"

    def stop_on_fifth(request: ProfileRequest) -> Outcome:
        return Outcome(raise_exc=KeyboardInterrupt()) if len(first.requests) == 5 else Outcome()

    first = ScriptedProfiler(stop_on_fifth)
    with pytest.raises(KeyboardInterrupt):
        go(study, db, first)
    rows = ledger_rows(db)
    done_before = {k: v[2] for k, v in rows.items() if v[0] == "done"}
    assert len(done_before) == 4
    interrupted = first.requests[4].label
    assert rows[interrupted][0] == "pending" and "interrupted" in rows[interrupted][1]

    second = ScriptedProfiler()
    outcome = go(study, db, second)
    assert outcome.resumed and outcome.counts == {"done": 18} and outcome.launched == 14
    redone = {r.label for r in second.requests}
    assert interrupted in redone and not redone & set(done_before)
    after = ledger_rows(db)
    assert {k: after[k][2] for k in done_before} == done_before  # same run ids: not redone


def test_an_interrupted_result_stops_the_study(tmp_path: Path) -> None:
    study = make_study(tmp_path, "reps = 1\n")
    profiler = ScriptedProfiler(lambda r: Outcome(status="interrupted", exit_code=None))
    with pytest.raises(KeyboardInterrupt):
        go(study, tmp_path / "s.db", profiler)
    assert len(profiler.requests) == 1
    assert {v[0] for v in ledger_rows(tmp_path / "s.db").values()} == {"pending"}


def test_a_run_finished_but_not_recorded_is_adopted_on_resume(tmp_path: Path) -> None:
    """Killed between the profiler's commit and the ledger's: the stored run counts."""
    study = make_study(tmp_path, "reps = 1\n")
    db = tmp_path / "s.db"
    scripted = ScriptedProfiler()
    with pytest.raises(KeyboardInterrupt):
        run_study(
            study,
            db,
            profile_fn=lambda r: _once(scripted, r, die_at=2),
            probe_fn=probe,
            sleep=lambda s: None,
        )
    orphan = scripted.requests[1].label
    assert ledger_rows(db)[orphan][0] == "pending"
    again = ScriptedProfiler()
    outcome = go(study, db, again)
    assert orphan not in {r.label for r in again.requests}
    assert ledger_rows(db)[orphan][0] == "done"
    assert outcome.counts == {"done": 9} and any("adopted" in n for n in outcome.notes)


def _once(scripted: ScriptedProfiler, request: ProfileRequest, die_at: int):  # type: ignore[no-untyped-def]
    result = scripted(request)  # the run is stored, then the study dies
    if len(scripted.requests) == die_at:
        raise KeyboardInterrupt
    return result


def test_an_interpreter_that_disappears_has_its_remaining_runs_skipped(tmp_path: Path) -> None:
    study = make_study(tmp_path)
    ft_path = study.interpreters["ft"].executable

    def vanish_after_third(request: ProfileRequest) -> Outcome:
        if len(profiler.requests) == 3:
            os.unlink(ft_path)
        return Outcome()

    profiler = ScriptedProfiler(vanish_after_third)
    outcome = go(study, tmp_path / "s.db", profiler)
    rows = ledger_rows(tmp_path / "s.db")
    gil_rows = [v for k, v in rows.items() if k.split("#")[0].endswith("/gil")]
    assert {v[0] for v in gil_rows} == {"done"} and len(gil_rows) == 6
    skipped = [v for v in rows.values() if v[0] == "skipped"]
    assert skipped and all("disappeared" in v[1] or "unusable" in v[1] for v in skipped)
    assert all(v[2] is None for v in skipped)
    assert outcome.counts["done"] + outcome.counts["skipped"] == 18
    assert any("remaining run(s) on it skipped" in n for n in outcome.notes)


def test_a_launch_failure_is_recorded_as_failed(tmp_path: Path) -> None:
    study = make_study(tmp_path, "reps = 1\n")
    profiler = ScriptedProfiler(
        lambda r: Outcome(raise_exc=RunError("cannot start")) if "seq" in r.label else Outcome()
    )
    outcome = go(study, tmp_path / "s.db", profiler)
    assert outcome.counts == {"done": 6, "failed": 3}
    assert all(
        "could not run: cannot start" in v[1]
        for k, v in ledger_rows(tmp_path / "s.db").items()
        if "seq" in k
    )


def test_a_different_study_is_refused_unless_forced_and_the_same_one_resumes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    go(make_study(tmp_path, "reps = 1\n"), db, ScriptedProfiler())
    other = make_study(tmp_path, 'reps = 1\nmodes = ["gil", "ft"]\n')
    with pytest.raises(StudyMismatch) as info:
        go(other, db, ScriptedProfiler())
    message = str(info.value)
    assert "holds a different study" in message and "modes" in message and "--force-new" in message
    assert ledger_rows(db, 2) == {}  # nothing was added

    forced = go(other, db, ScriptedProfiler(), force_new=True)
    assert forced.study_id == 2 and forced.counts == {"done": 6}
    again = ScriptedProfiler()
    resumed = go(other, db, again)  # the newest study with this definition
    assert resumed.study_id == 2 and resumed.resumed and again.requests == []
    more = go(make_study(tmp_path, "reps = 2\n"), db, ScriptedProfiler())  # more blocks: same study
    assert more.study_id == 1 and more.launched == 9 and more.counts == {"done": 18}


def test_idle_baselines_and_cooldowns(tmp_path: Path) -> None:
    study = make_study(
        tmp_path, 'reps = 2\ncooldown = "0.25s"\nidle_baseline = "1s"\nmodes = ["gil"]\n'
    )
    slept: list[float] = []
    profiler = ScriptedProfiler()
    run_study(study, tmp_path / "s.db", profile_fn=profiler, probe_fn=probe, sleep=slept.append)
    idle = [r for r in profiler.requests if r.label.startswith("idle-baseline")]
    assert [r.argv for r in idle] == [["sleep", "1"], ["sleep", "1"]]
    assert slept == [0.25] * 5  # between runs, not after the last
    with Store.open(tmp_path / "s.db") as store:
        rows = store._conn.execute(
            "SELECT block, energy_uj, source FROM idle_baselines ORDER BY block"
        ).fetchall()
    assert rows == [(1, 1000, "model:test"), (2, 1000, "model:test")]


def test_spec_json_records_definition_sessions_and_block_seeds(tmp_path: Path) -> None:
    study = make_study(tmp_path, "reps = 2\n")
    go(study, tmp_path / "s.db", ScriptedProfiler())
    go(
        dataclasses.replace(study, spec=dataclasses.replace(study.spec, reps=3)),
        tmp_path / "s.db",
        ScriptedProfiler(),
    )
    with Store.open(tmp_path / "s.db") as store:
        (record,) = Ledger(store).studies()
    spec = record.spec
    assert len(spec["sessions"]) == 2 and spec["sessions"][1]["reps"] == 3
    assert set(spec["schedule"]["block_seeds"]) == {"1", "2", "3"}
    assert spec["workloads"]["alpha"] == {"family": "sequential", "region": "kernel"}
    import hashlib

    from gilwatt.study.matrix import canonical_json

    rest = {k: v for k, v in spec.items() if k not in ("sessions", "schedule", "quality")}
    assert hashlib.sha256(canonical_json(rest).encode()).hexdigest() == record.spec_hash


def test_two_studies_cannot_write_one_store_at_once(tmp_path: Path) -> None:
    import fcntl

    from gilwatt.errors import ConfigError

    db = tmp_path / "s.db"
    Store.open(db).close()
    with open(db, "rb") as other:  # what a running `gilwatt study` holds
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConfigError, match="being written by another gilwatt study"):
            go(make_study(tmp_path), db, ScriptedProfiler())
    assert go(make_study(tmp_path, "reps = 1\n"), db, ScriptedProfiler()).counts == {"done": 9}


def test_priming_runs_come_first_in_each_replicate_and_the_analysis_ignores_them(
    tmp_path: Path,
) -> None:
    study = make_study(tmp_path, priming=True)
    db = tmp_path / "s.db"
    profiler = ScriptedProfiler()
    outcome = go(study, db, profiler)
    # 3 cells x 3 modes + 2 priming runs (one per interpreter), 2 replicates
    assert outcome.counts == {"done": 18, "priming": 4} and outcome.launched == 22
    labels = [r.label for r in profiler.requests]
    for block in (1, 2):
        these = [label for label in labels if f"#b{block}" in label]
        assert [label.endswith("/priming") for label in these[:2]] == [True, True]
        assert not any(label.endswith("/priming") for label in these[2:])
    from gilwatt.analysis.dataset import load_study

    data = load_study(str(db))
    primes = [r for r in data.runs if r.run_key.endswith("/priming")]
    assert len(primes) == 4 and not any(r.valid for r in primes)
    assert sum(r.valid for r in data.runs) == 18
    # resuming a finished study runs nothing, not even priming
    again = ScriptedProfiler()
    assert go(study, db, again).launched == 0 and not again.requests


def test_pin_prefixes_taskset_for_cells_that_fit_and_leaves_the_others(tmp_path: Path) -> None:
    study = make_study(tmp_path, "reps = 1\npin = true\n")
    profiler = ScriptedProfiler()
    outcome = run_study(
        study, tmp_path / "s.db", profile_fn=profiler, probe_fn=probe,  # type: ignore[arg-type]
        sleep=lambda s: None, usable_cpus=1,
    )  # fmt: skip
    assert outcome.counts == {"done": 9}
    first_cpu = str(min(os.sched_getaffinity(0)))
    for request in profiler.requests:
        workers = int(request.env["GILWATT_CELL"].split("/w")[1].split("/")[0])
        if workers == 1:
            assert request.argv[0].endswith("taskset") and request.argv[1:3] == [
                "--cpu-list", first_cpu,
            ]  # fmt: skip
        else:
            assert not request.argv[0].endswith("taskset")
    with Store.open(tmp_path / "s.db") as store:
        (record,) = Ledger(store).studies()
    session = record.spec["sessions"][-1]
    assert session["pin"] is True and session["environment"]["usable_cpus"] == 1


def test_a_resumed_study_runs_the_reruns_an_earlier_session_planned(tmp_path: Path) -> None:
    from gilwatt.study.session import open_session

    study = make_study(tmp_path, "reps = 1\n")
    db = tmp_path / "s.db"
    go(study, db, ScriptedProfiler())
    with Store.open(db) as store:
        ledger = Ledger(store)
        row = ledger.rows(1)[0]
        # what the runner does with a disturbed run when the study is killed right after it
        ledger.set_status(1, row.run_key, "disturbed", "disturbed: foreign CPU 0.90 cores")
        original = next(
            p for p in open_session(ledger, study, db).planned if p.run_key == row.run_key
        )
        ledger.plan(1, [original.rerun(99)], lambda m: study.interpreter_for(m).executable)
    second = ScriptedProfiler()
    outcome = go(study, db, second)
    assert [r.label for r in second.requests] == [f"{row.run_key}~r1"]
    assert outcome.counts == {"done": 9, "disturbed": 1} and outcome.planned == 10


# -- reps = "auto": the stopping rule, driven by synthetic decisions --------------------------

# log(ft/gil) of three sequential workloads per replicate: ft 1.49x slower, a little noise
SYNTHETIC = [0.49, 0.31, 0.40, 0.43, 0.37, 0.46, 0.34, 0.40, 0.43, 0.37]


def synthetic_verdicts(replicates: int, alpha: float | None) -> dict[int, str]:
    """The real decision function on a synthetic study of ``replicates`` replicates."""
    import math

    from gilwatt.analysis import decide as dec

    rows = [
        (w, "{}", "sequential", dec.UNCLASSIFIED, 1, "time_s",
         {b: math.exp(SYNTHETIC[(b + shift) % len(SYNTHETIC)]) for b in range(1, replicates + 1)})
        for shift, w in enumerate(("mandelbrot", "bubble_sort", "prime_sieve"))
    ]  # fmt: skip
    data = dec.from_rows(range(1, replicates + 1), rows, usable_cpus=2, energy_measured=False)
    return {n: d.verdict for n, d in dec.decide(data, alpha=alpha, detail=False).items()}


class SyntheticLooks:
    """A look function: the synthetic study as far as the store's replicates go."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.calls: list[tuple[int, float]] = []

    def __call__(self, study_id: int, alpha: float) -> dict[int, str]:
        with Store.open(self.db) as store:
            rows = Ledger(store).rows(study_id)
        done = max(r.block for r in rows if r.status == "done")
        self.calls.append((done, alpha))
        return synthetic_verdicts(done, alpha)


def test_an_auto_study_stops_at_the_replicate_where_every_claim_is_decided(tmp_path: Path) -> None:
    from gilwatt.study import sequential

    # the synthetic study decides claim 1 at replicate 4 under the plan, and would already
    # "decide" at replicate 3 if every look spent the full 0.05: peeking needs the plan
    assert synthetic_verdicts(3, sequential.look_alpha(3, 10, []))[1] == "inconclusive"
    assert synthetic_verdicts(3, 0.05)[1] == "confirms"
    study = make_study(tmp_path, 'reps = "auto"\nmax_reps = 10\n')
    db = tmp_path / "s.db"
    looks = SyntheticLooks(db)
    events: list[StudyEvent] = []
    outcome = run_study(
        study, db, profile_fn=ScriptedProfiler(), probe_fn=probe,  # type: ignore[arg-type]
        sleep=lambda s: None, look_fn=looks, on_event=events.append,
    )  # fmt: skip
    assert outcome.replicates == 4 and outcome.stopped == "every claim decided or not testable"
    assert outcome.counts == {"done": 4 * 9}
    first = sequential.spent_by(0.3)
    assert looks.calls == [
        (3, pytest.approx(first)),
        (4, pytest.approx(sequential.spent_by(0.4) - first)),
    ]
    with Store.open(db) as store:
        (record,) = Ledger(store).studies()
        assert max(r.block for r in Ledger(store).rows(1)) == 4  # no fifth replicate planned
    recorded = sequential.recorded(record.spec)
    assert [x.replicate for x in recorded] == [3, 4] and recorded[-1].stop
    assert recorded[-1].spent == pytest.approx(sequential.spent_by(0.4))
    assert recorded[-1].spent < 0.05
    assert record.spec["sequential"] == sequential.PLAN_NAME
    assert set(record.spec["schedule"]["block_seeds"]) == {"1", "2", "3", "4"}
    shown = [e.message for e in events if e.kind == "look"]
    assert len(shown) == 2 and "1: inconclusive" in shown[0] and "stop: every claim" in shown[1]


def test_an_auto_study_stops_at_max_reps_and_a_fixed_count_turns_stopping_off(
    tmp_path: Path,
) -> None:
    undecided = lambda study_id, alpha: {1: "inconclusive"}  # noqa: E731
    study = make_study(tmp_path, 'reps = "auto"\nmax_reps = 5\n')
    outcome = run_study(
        study, tmp_path / "a.db", profile_fn=ScriptedProfiler(), probe_fn=probe,  # type: ignore[arg-type]
        sleep=lambda s: None, look_fn=undecided,
    )  # fmt: skip
    assert outcome.replicates == 5 and outcome.stopped == "max-reps (5) reached"
    fixed = make_study(tmp_path, "reps = 4\n")
    calls: list[float] = []
    outcome = run_study(
        fixed, tmp_path / "f.db", profile_fn=ScriptedProfiler(), probe_fn=probe,  # type: ignore[arg-type]
        sleep=lambda s: None, look_fn=lambda i, a: calls.append(a) or {1: "confirms"},
    )  # fmt: skip
    assert outcome.replicates == 4 and not outcome.stopped and calls == []


def test_a_resumed_auto_study_keeps_its_spent_alpha_and_repeats_no_run_or_look(
    tmp_path: Path,
) -> None:
    from gilwatt.study import sequential

    study = make_study(tmp_path, 'reps = "auto"\nmax_reps = 10\n')
    db = tmp_path / "s.db"
    first_looks = SyntheticLooks(db)

    def stop_in_replicate_4(request: ProfileRequest) -> Outcome:
        return Outcome(raise_exc=KeyboardInterrupt()) if "#b4" in request.label else Outcome()

    first = ScriptedProfiler(stop_in_replicate_4)
    with pytest.raises(KeyboardInterrupt):
        run_study(
            study, db, profile_fn=first, probe_fn=probe, sleep=lambda s: None,  # type: ignore[arg-type]
            look_fn=first_looks,
        )  # fmt: skip
    assert [c[0] for c in first_looks.calls] == [3]  # the look after replicate 3 is recorded
    second_looks = SyntheticLooks(db)
    second = ScriptedProfiler()
    outcome = run_study(
        study, db, profile_fn=second, probe_fn=probe, sleep=lambda s: None,  # type: ignore[arg-type]
        look_fn=second_looks,
    )  # fmt: skip
    # only replicate 4 ran again, and only its look was taken, at the alpha left by the plan
    assert {r.label.split("#b")[1][0] for r in second.requests} == {"4"}
    assert second_looks.calls == [
        (4, pytest.approx(sequential.spent_by(0.4) - sequential.spent_by(0.3)))
    ]
    assert outcome.replicates == 4 and outcome.stopped
    labels = [r.label for r in first.requests[:-1] + second.requests]
    assert len(labels) == len(set(labels)) == 4 * 9  # no run measured twice


def test_a_bimodal_cell_gets_another_replicate_before_a_decided_study_stops(
    tmp_path: Path,
) -> None:
    study = make_study(tmp_path, 'reps = "auto"\nmax_reps = 10\n')

    def slow_once(request: ProfileRequest) -> Outcome:
        # one cell's gil runs take twice as long in replicate 2: two machine states
        slow = request.label.startswith("seq") and "/gil#b2" in request.label
        return Outcome(region_ns=2_000_000 if slow else 1_000_000)

    events: list[StudyEvent] = []
    outcome = run_study(
        study, tmp_path / "s.db", profile_fn=ScriptedProfiler(slow_once), probe_fn=probe,  # type: ignore[arg-type]
        sleep=lambda s: None, look_fn=lambda i, a: {1: "confirms"}, on_event=events.append,
    )  # fmt: skip
    assert outcome.replicates == 4 and outcome.stopped == "every claim decided or not testable"
    with Store.open(tmp_path / "s.db") as store:
        (record,) = Ledger(store).studies()
    from gilwatt.study import sequential

    looks = sequential.recorded(record.spec)
    assert [x.replicate for x in looks] == [3, 4]
    assert looks[0].stop == "" and len(looks[0].bimodal) == 1
    assert looks[0].bimodal[0].startswith("seq") and looks[0].bimodal[0].endswith("/w1/gil")
    assert looks[1].bimodal == ()  # flagged once: it does not hold the study forever
    assert any("bimodal (max/min 2.00 within the mode)" in e.message for e in events)


def test_sentinels_run_each_replicate_on_both_builds_and_their_drift_is_noted(
    tmp_path: Path,
) -> None:
    study = make_study(tmp_path, 'reps = "auto"\nmax_reps = 4\n', sentinel=True)

    def warming(request: ProfileRequest) -> Outcome:
        # the machine slows down replicate by replicate: the sentinel shows it
        block = int(request.label.split("#b")[1].split("/")[0].split("~")[0])
        return Outcome(region_ns=1_000_000 * (10 + 2 * block))

    events: list[StudyEvent] = []
    profiler = ScriptedProfiler(warming)
    outcome = run_study(
        study, tmp_path / "s.db", profile_fn=profiler, probe_fn=probe,  # type: ignore[arg-type]
        sleep=lambda s: None, look_fn=lambda i, a: {1: "inconclusive"}, on_event=events.append,
    )  # fmt: skip
    assert outcome.replicates == 4 and outcome.counts == {"done": 4 * 9, "sentinel": 4 * 2}
    sentinels = [r for r in profiler.requests if r.label.endswith("/sentinel")]
    assert len(sentinels) == 8 and {r.env["GILWATT_CELL"].split("/")[-1] for r in sentinels} == {
        "gil", "ft",
    }  # fmt: skip
    assert all(r.label.startswith("mandelbrot") for r in sentinels)
    notes = [e.message for e in events if e.kind == "note" and "sentinel on" in e.message]
    assert any("sentinel on gil: +" in n and "over 4 replicates" in n for n in notes), notes


class _Clock:
    """The runner's clock: 10 s per run launched, nothing else (a budget without timing)."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    @staticmethod
    def monotonic_ns() -> int:
        return time.monotonic_ns()


def test_a_budget_ended_study_spends_the_rest_of_alpha_at_its_last_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gilwatt.study import runner, sequential

    clock = _Clock()
    monkeypatch.setattr(runner, "time", clock)

    def ten_seconds(request: ProfileRequest) -> Outcome:
        clock.now += 10.0
        return Outcome()

    # 9 runs a replicate, 90 s: after replicate 4 (360 s) the 400 s budget holds no fifth
    study = make_study(tmp_path, 'reps = "auto"\nmax_reps = 10\nbudget = "400s"\n')
    db = tmp_path / "s.db"
    calls: list[float] = []

    def looks(study_id: int, alpha: float) -> dict[int, str]:
        calls.append(alpha)
        return {1: "confirms" if alpha > 0.03 else "inconclusive"}

    outcome = run_study(
        study, db, profile_fn=ScriptedProfiler(ten_seconds), probe_fn=probe,  # type: ignore[arg-type]
        sleep=lambda s: None, look_fn=looks,
    )  # fmt: skip
    assert (
        outcome.replicates == 4 and outcome.stopped == "the budget would not hold another replicate"
    )
    first, second = sequential.spent_by(0.3), sequential.spent_by(0.4) - sequential.spent_by(0.3)
    # the data alone did not stop it at replicate 4; the final analysis gets all that is left
    assert calls == [
        pytest.approx(first), pytest.approx(second), pytest.approx(sequential.ALPHA - first)
    ]  # fmt: skip
    with Store.open(db) as store:
        (record,) = Ledger(store).studies()
    last = sequential.recorded(record.spec)[-1]
    assert last.replicate == 4 and last.alpha == pytest.approx(sequential.ALPHA - first)
    assert last.spent == pytest.approx(sequential.ALPHA) and last.verdicts == {1: "confirms"}


def test_a_newly_bimodal_cell_does_not_carry_a_decided_study_past_max_reps(
    tmp_path: Path,
) -> None:
    study = make_study(tmp_path, 'reps = "auto"\nmax_reps = 3\n')

    def slow_once(request: ProfileRequest) -> Outcome:
        slow = request.label.startswith("seq") and "/gil#b2" in request.label
        return Outcome(region_ns=2_000_000 if slow else 1_000_000)

    outcome = run_study(
        study, tmp_path / "s.db", profile_fn=ScriptedProfiler(slow_once), probe_fn=probe,  # type: ignore[arg-type]
        sleep=lambda s: None, look_fn=lambda i, a: {1: "confirms"},
    )  # fmt: skip
    assert outcome.replicates == 3 and outcome.stopped == "max-reps (3) reached"
    with Store.open(tmp_path / "s.db") as store:
        assert max(r.block for r in Ledger(store).rows(1)) == 3  # no fourth replicate planned
