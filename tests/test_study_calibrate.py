"""Sizes calibrated to the host (study/calibrate.py): after replicate 1 of an auto study with
a budget, a workload whose block took over 3x its share has its work halved 1-3 times by its
own scaling; recorded in the spec, so a resume keeps it; old-size runs become `calibration`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gilwatt.profiler import ProfileRequest
from gilwatt.store import Store
from gilwatt.study import calibrate, runner
from gilwatt.study.ledger import Ledger
from gilwatt.study.matrix import Cell
from gilwatt.study.runner import run_study
from study_fakes import Outcome, ScriptedProfiler
from test_study_runner import make_study, probe


def test_the_work_halves_by_the_workloads_own_scaling_to_two_digits() -> None:
    assert calibrate.scaled(6000, 2, 3) == 2100  # bubble_sort (n^2), halved 3 times
    assert calibrate.scaled(2_700_000, 1, 2) == 680_000
    assert calibrate.scaled(236, 3, 1) == 190
    assert calibrate.halvings(3.0, 1.0) == 0  # within 3 shares: left alone
    assert [calibrate.halvings(s, 1.0) for s in (3.5, 4.0, 5.0, 9.0, 100.0)] == [2, 2, 3, 3, 3]
    cells = [Cell.of("bubble_sort", {"num_items": 6000}, 1), Cell.of("mandelbrot", {"size": 60}, 1)]
    found = calibrate.decide({cells[0]: 3.2, cells[1]: 0.1}, cells, budget_s=2.0)
    assert [(c.workload, c.before, c.after, c.halvings) for c in found] == [
        ("bubble_sort", 6000, 2100, 3)
    ]
    assert calibrate.apply(cells, found)[0] == Cell.of("bubble_sort", {"num_items": 2100}, 1)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    @staticmethod
    def monotonic_ns() -> int:
        return time.monotonic_ns()


def _n(request: ProfileRequest) -> int:
    return int(next(a for a in request.argv if a.startswith("--n=")).split("=")[1])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    found = _Clock()
    monkeypatch.setattr(runner, "time", found)
    monkeypatch.setitem(calibrate.SCALING, "alpha", ("n", 2))
    return found


def _profiler(clock: _Clock) -> ScriptedProfiler:
    def timed(request: ProfileRequest) -> Outcome:
        # alpha (n^2): 10 s at n = 100; seq: 1 s
        n = _n(request)
        clock.now += 10.0 * (n / 100) ** 2 if request.label.startswith("alpha") else 1.0
        return Outcome()

    return ScriptedProfiler(timed)


def test_a_workload_over_3_shares_is_scaled_down_once_and_a_resume_keeps_it(
    tmp_path: Path, clock: _Clock
) -> None:
    # 3 cells x 3 modes; alpha's blocks take 30 s against a share of 72 s / 3 cells / 3 = 8 s
    study = make_study(tmp_path, 'reps = "auto"\nmax_reps = 10\nbudget = "72s"\n')
    db = tmp_path / "s.db"
    first = _profiler(clock)
    outcome = run_study(study, db, profile_fn=first, probe_fn=probe, sleep=lambda s: None)  # type: ignore[arg-type]
    assert outcome.replicates == 3
    assert sorted({_n(r) for r in first.requests if r.label.startswith("alpha")}) == [50, 100]
    old = [r for r in first.requests if r.label.startswith("alpha") and _n(r) == 100]
    assert len(old) == 2 * 3 and all("#b1" in r.label for r in old)  # only replicate 1
    with Store.open(db) as store:
        (record,) = Ledger(store).studies()
        rows = Ledger(store).rows(1)
    (cal,) = calibrate.recorded(record.spec)
    assert (cal.workload, cal.param, cal.before, cal.after, cal.halvings) == (
        "alpha",
        "n",
        100,
        50,
        2,
    )
    assert cal.share_s == pytest.approx(8.0) and cal.block_s == pytest.approx(30.0)
    statuses = {(r.run_key, r.status) for r in rows if '"n":100' in r.run_key}
    assert {s for _k, s in statuses} == {"calibration"}
    measured = [r for r in rows if '"n":100' in r.run_key and r.run_id is not None]
    assert len(measured) == 6  # the old-size runs keep their measurements
    done = [r for r in rows if r.status == "done" and r.workload == "alpha"]
    assert {r.block for r in done} == {1, 2, 3} and all('"n":50' in r.run_key for r in done)
    assert outcome.counts.get("calibration") == 3 * 6
    assert any("calibrated to the budget: alpha: n 100 -> 50" in n for n in outcome.notes)
    # a resumed session plans the calibrated cells: nothing to run, nothing pending
    again = _profiler(clock)
    outcome = run_study(study, db, profile_fn=again, probe_fn=probe, sleep=lambda s: None)  # type: ignore[arg-type]
    assert again.requests == [] and outcome.counts.get("pending", 0) == 0


def test_no_calibrate_and_fixed_reps_keep_the_sizes(tmp_path: Path, clock: _Clock) -> None:
    for i, text in enumerate(
        ['reps = "auto"\nmax_reps = 10\nbudget = "72s"\ncalibrate = false\n', "reps = 3\n"]
    ):
        profiler = _profiler(clock)
        db = tmp_path / f"{i}.db"
        run_study(
            make_study(tmp_path, text),
            db,
            profile_fn=profiler,
            probe_fn=probe,
            sleep=lambda s: None,
        )  # type: ignore[arg-type]
        assert {_n(r) for r in profiler.requests if r.label.startswith("alpha")} == {100}
        with Store.open(db) as store:
            assert "calibration" not in Ledger(store).studies()[0].spec
