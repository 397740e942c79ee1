"""Validity gates on hand-made run facts: each gate, and the reasons it gives."""

from __future__ import annotations

import pytest

from gilwatt.readback import InterpreterInfo, Region
from gilwatt.study.gates import RunFacts, judge

GIL_BUILD = InterpreterInfo("/py/gil", "3.13.5", "cpython", False, True)
FT_BUILD = InterpreterInfo("/py/ft", "3.13.5t", "cpython", True, False)


def region(gil_begin: bool | None, gil_end: bool | None, name: str = "kernel") -> Region:
    return Region(
        name=name, pid=1, tid=1, begin_ns=0, end_ns=10, wall_ns=10, process_cpu_ns=5,
        thread_cpu_ns=5, tree_cpu_ns=None, energy_uj=None, peak_rss_bytes=None,
        gil_begin=gil_begin, gil_end=gil_end,
    )  # fmt: skip


def facts(**changes: object) -> RunFacts:
    base: dict[str, object] = {
        "status": "ok",
        "exit_code": 0,
        "exit_signal": None,
        "attrs": {"verified": True},
        "regions": [region(False, False)],
        "interpreter": FT_BUILD,
    }
    base.update(changes)
    return RunFacts(**base)  # type: ignore[arg-type]


def test_a_clean_run_is_done_in_each_mode() -> None:
    assert judge(facts(), "ft", "kernel").status == "done"
    on = [region(True, True)]
    assert judge(facts(regions=on), "ft-gil", "kernel").status == "done"
    assert judge(facts(regions=on, interpreter=GIL_BUILD), "gil", "kernel").status == "done"


@pytest.mark.parametrize(
    ("changes", "mode", "reason"),
    [
        (
            {"regions": [region(True, True)]},
            "ft",
            "GIL was on at kernel start, mode ft needs it off; GIL was on at kernel end",
        ),
        (
            {"regions": [region(False, True)]},
            "ft",
            "GIL was on at kernel end, mode ft needs it off",
        ),
        (
            {"regions": [region(False, False)]},
            "ft-gil",
            "GIL was off at kernel start, mode ft-gil needs it on",
        ),
        ({"regions": [region(None, False)]}, "ft", "GIL was unknown at kernel start"),
        ({"regions": [region(False, False, "setup")]}, "ft", "no 'kernel' region recorded"),
        (
            {"regions": [region(True, True)]},
            "gil",
            "interpreter /py/ft is a free-threaded build, mode gil needs a GIL build",
        ),
        ({"interpreter": None}, "ft", "interpreter identity not recorded"),
        (
            {
                "exit_code": 3,
                "status": "failed",
                "attrs": {"verified": False, "detail": "sum 41 != 42"},
            },
            "ft",
            "verification failed: sum 41 != 42 (exit 3)",
        ),
        ({"attrs": {}}, "ft", "workload not verified (verified=None)"),
        (
            {"exit_code": 1, "status": "failed", "stderr_tail": "Traceback\nValueError: boom\n"},
            "ft",
            "exit status 1: ValueError: boom",
        ),
        ({"exit_code": None, "exit_signal": 9, "status": "signaled"}, "ft", "killed by signal 9"),
        ({"exit_code": None, "status": "timeout", "timeout_s": 60.0}, "ft", "timed out after 60s"),
    ],
)
def test_each_gate_makes_a_run_invalid_with_its_reason(
    changes: dict[str, object], mode: str, reason: str
) -> None:
    verdict = judge(facts(**changes), mode, "kernel")
    assert verdict.status == "invalid"
    assert reason in verdict.reason


def test_the_extension_that_re_enabled_the_gil_is_named() -> None:
    warning = (
        "<frozen importlib._bootstrap>:488: RuntimeWarning: The global interpreter lock (GIL) has been "
        "enabled to load module 'fastthing._speedups', which has not declared that it can run safely without the GIL."
    )
    verdict = judge(facts(regions=[region(True, True)], stderr_tail=warning), "ft", "kernel")
    assert "an extension re-enabled the GIL: fastthing._speedups" in verdict.reason


def test_exit_4_is_skipped_and_interrupted_is_pending() -> None:
    skipped = judge(
        facts(exit_code=4, status="failed", attrs={"skipped": "numpy missing"}), "ft", "kernel"
    )
    assert (skipped.status, skipped.reason) == (
        "skipped",
        "workload cannot run here: numpy missing",
    )
    from_stderr = judge(
        facts(exit_code=4, status="failed", attrs={}, stderr_tail="needs numpy\n"), "ft", "kernel"
    )
    assert from_stderr.reason == "workload cannot run here: needs numpy"
    for status in ("interrupted", "running"):
        assert judge(facts(status=status, exit_code=None), "ft", "kernel").status == "pending"
