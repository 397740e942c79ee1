"""One Mode type: one order, one interpreter per mode, one GIL rule for the gates and the
analysis (an unknown GIL state passes neither)."""

from __future__ import annotations

from pathlib import Path

from gilwatt.analysis.dataset import MODE_ORDER, load_study
from gilwatt.modes import MODES, Mode, gil_mismatch, in_order, interpreter_slot
from gilwatt.readback import InterpreterInfo, Region
from gilwatt.report.chartspec import MODE_STYLES
from gilwatt.store.synthetic import SyntheticRun, write_study
from gilwatt.study.gates import RunFacts, judge
from gilwatt.study.spec import MODES as SPEC_MODES


def test_one_order_everywhere() -> None:
    assert [str(m) for m in MODES] == ["gil", "ft", "ft-gil"]
    assert SPEC_MODES == MODE_ORDER == MODES
    assert in_order(["ft-gil", "other", "gil", "ft"]) == ["gil", "ft", "ft-gil", "other"]
    assert list(MODE_STYLES) == list(MODES)
    assert MODE_STYLES["ft-gil"] == MODE_STYLES[Mode.FT_GIL]  # plain strings find them too
    assert [interpreter_slot(m) for m in MODES] == ["gil", "ft", "ft"]


def _region(gil: bool | None) -> Region:
    return Region(
        name="kernel", pid=1, tid=1, begin_ns=0, end_ns=10, wall_ns=10, process_cpu_ns=5, thread_cpu_ns=5,
        tree_cpu_ns=None, energy_uj=None, peak_rss_bytes=None, gil_begin=gil, gil_end=gil,
    )  # fmt: skip


def test_an_unknown_gil_state_fails_the_gates_and_the_analysis(tmp_path: Path) -> None:
    interp = InterpreterInfo("/x/python3", "3.13.5", "cpython", False, True)
    facts = RunFacts("ok", 0, None, {"verified": True}, [_region(None)], interp)
    verdict = judge(facts, "gil", "kernel")
    assert verdict.status == "invalid"
    expected = "GIL was unknown at kernel start, mode gil needs it on"
    assert verdict.reason.startswith(expected)
    assert judge(
        RunFacts("ok", 0, None, {"verified": True}, [_region(True)], interp), "gil", "kernel"
    ).status == "done"  # fmt: skip
    write_study(tmp_path / "s.db", [SyntheticRun("w", 1, "gil", 1, 1.0, gil=None)])
    (run,) = load_study(tmp_path / "s.db").runs
    assert not run.valid and run.exclusion.startswith(expected)
    assert gil_mismatch("ft", "kernel", "end", [False, 0]) == ""
