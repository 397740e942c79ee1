"""The machine gate in an advise session (disturbed runs left out, rerun, bounded; then kept),
and the rule on more workers than CPUs. The runs are stand-ins: nothing here is timed."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gilwatt.advise import blocks, conclude
from gilwatt.advise.decision import Option
from gilwatt.advise.measure import Outcome
from gilwatt.advise.readiness import Readiness
from gilwatt.advise.session import AdviseRequest, AdviseResult
from gilwatt.store import Store
from gilwatt.study import machine

GIL1 = Option("gil", 1, "threads")
FT2 = Option("ft", 2, "threads")


def _result(tmp_path: Path, options: list[Option], cpus: int = 2) -> AdviseResult:
    interp = SimpleNamespace(executable="/usr/bin/python3", info=lambda: None)
    request = AdviseRequest(target=SimpleNamespace(label="prog.py"), gil=interp, ft=interp,
                            store_path=tmp_path / "advise.db")  # fmt: skip
    return AdviseResult(request, cpus, options, Readiness())


def _fake_runs(monkeypatch: pytest.MonkeyPatch, disturbed_attempts: int) -> list[int]:
    """run_one stand-in: attempts below ``disturbed_attempts`` are disturbed."""
    calls: list[int] = []

    def run_one(**kw: Any) -> Outcome:
        attempt = kw.get("attempt", 0)
        calls.append(attempt)
        out = Outcome(kw["option"], kw["block"], 100 + len(calls), "ok", True, wall_s=0.5,
                      cpu_s=0.5, attempt=attempt)  # fmt: skip
        if attempt < disturbed_attempts:
            why = "disturbed: foreign CPU 0.90 cores over the region (limit 0.1 + 0.05 tick resolution)"
            out.valid, out.disturbed, out.reason = False, why, why
        return out

    monkeypatch.setattr(blocks, "run_one", run_one)
    return calls


def _block(result: AdviseResult, deadline: float, count: int = 1) -> dict[str, tuple[str, str]]:
    store = Store.open(result.request.store_path)
    try:
        study = store.create_study("advise", "h", {}, 1)
        for block in range(1, count + 1):
            blocks.run_block(result, store, study.study_id, block, [GIL1], 60.0, deadline)
        return {r.run_key: (r.status, r.reason) for r in store.study_runs(study.study_id)}
    finally:
        store.close()


def test_a_disturbed_run_is_left_out_and_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_runs(monkeypatch, disturbed_attempts=1)
    result = _result(tmp_path, [GIL1])
    ledger = _block(result, time.monotonic() + 600)
    assert calls == [0, 1]
    assert ledger["gil threads=1#b1"][0] == "disturbed"
    assert ledger["gil threads=1#b1#r1"] == ("done", "")
    first, again = result.outcomes
    assert first.superseded and not first.valid and again.valid and not again.superseded
    assert result.disturbed == 1 and result.kept_disturbed == 0


def test_reruns_are_bounded_then_the_last_attempt_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_runs(monkeypatch, disturbed_attempts=99)
    result = _result(tmp_path, [GIL1])
    ledger = _block(result, time.monotonic() + 600)
    assert calls == list(range(machine.MAX_RERUNS + 1))
    last = result.outcomes[-1]
    assert last.valid and "kept_disturbed" in last.extra and result.kept_disturbed == 1
    status, reason = ledger[f"gil threads=1#b1#r{machine.MAX_RERUNS}"]
    assert status == "done" and reason.startswith("kept after reruns: disturbed")


def test_a_block_that_stays_disturbed_ends_the_reruns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_runs(monkeypatch, disturbed_attempts=99)
    result = _result(tmp_path, [GIL1])
    _block(result, time.monotonic() + 600, count=2)
    assert calls == [*range(machine.MAX_RERUNS + 1), 0]  # block 2: kept at once
    assert result.reruns_futile and result.kept_disturbed == 2
    assert any("machine stays busy" in note for note in result.not_measured)


def test_no_rerun_past_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_runs(monkeypatch, disturbed_attempts=99)
    result = _result(tmp_path, [GIL1])
    _block(result, deadline=time.monotonic() - 1)  # the budget is spent
    assert calls == [0] and result.kept_disturbed == 1 and result.outcomes[0].valid


def _outcome(option: Option, block: int, wall_s: float, cpu_s: float) -> Outcome:
    return Outcome(option, block, None, "ok", True, wall_s=wall_s, cpu_s=cpu_s)


def test_a_kept_disturbed_run_caps_the_confidence(tmp_path: Path) -> None:
    result = _result(tmp_path, [GIL1, FT2])
    for b in (1, 2, 3, 4):
        result.outcomes += [_outcome(GIL1, b, 1.0 + b / 100, 1.0), _outcome(FT2, b, 0.5, 1.0)]
    assert conclude.decide_now(result).level == "high"
    result.kept_disturbed = 1
    capped = conclude.decide_now(result)
    assert capped.level == "moderate" and "still disturbed" in capped.capped


@pytest.mark.parametrize(("cpu_at_one", "advisable"), [(0.95, False), (0.05, True)])
def test_more_workers_than_cpus_only_for_a_program_that_waits(
    tmp_path: Path, cpu_at_one: float, advisable: bool
) -> None:
    gil4 = Option("gil", 4, "threads")
    result = _result(tmp_path, [GIL1, gil4], cpus=2)
    for b in (1, 2, 3):  # 4 threads look 30% faster (on a busy host, by chance)
        result.outcomes += [_outcome(GIL1, b, 1.0, cpu_at_one), _outcome(gil4, b, 0.7, 0.7)]
    advice = conclude.decide_now(result)
    if advisable:
        assert advice.option == gil4
    else:
        assert advice.option == GIL1
        assert "advised only for a program that waits" in advice.excluded["gil threads=4"]
