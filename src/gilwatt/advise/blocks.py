"""The runs of one ``gilwatt advise`` session: calibration, one block at a time, the reruns of
disturbed runs, and the plan's adjustments between blocks (trimmed to the budget, clear losers
dropped, more workers where the program waits).

A disturbed run (the study's machine gate: other programs took more than ``max_foreign_cpu``
cores while it ran) is left out and run again at the end of its block, at most
``machine.MAX_RERUNS`` times and while the budget lasts; still disturbed then, its last attempt
is kept and marked, so a machine that stays busy still gets an answer (at most moderate). When
every run of a block ends so, the machine stays busy: later disturbed runs are kept at once
(their reruns would triple the cost of a block and change nothing).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from gilwatt.advise import plan as plan_mod
from gilwatt.advise.decision import MARGIN, Option
from gilwatt.advise.measure import Outcome, run_one
from gilwatt.advise.plan import (
    FAILS_ON_FT,
    FAILS_ON_GIL,
    LOSER_FACTOR,
    MIN_BLOCKS,
    RUN_OVERHEAD_S,
    TIMEOUT_FACTOR,
)
from gilwatt.study import machine

if TYPE_CHECKING:
    from collections.abc import Callable

    from gilwatt.advise.session import AdviseResult

    Event = Callable[[str], None]


def run_block(
    result: AdviseResult,
    store: Any,
    study_id: int,
    block: int,
    order: list[Option],
    run_timeout: float,
    deadline: float,
) -> float:
    """Run one block in ``order``, then the disturbed runs again (before ``deadline``, a
    monotonic time); return the seconds lost to runs that timed out."""
    from gilwatt.store.studies import StudyRunRow

    req = result.request
    rows = [StudyRunRow(f"{o.key}#b{block}", block, i, req.target.label,
                        json.dumps({"parallelism": o.parallelism}), o.workers, o.mode,
                        result.python_for(o), "pending", "", None)
            for i, o in enumerate(order)]  # fmt: skip
    store.add_study_runs(study_id, rows)
    lost_s = 0.0  # time in runs that timed out (they are not run again)
    for row, option in zip(rows, order, strict=True):
        run_began = time.monotonic()
        outcome = run_one(
            target=req.target, option=option, python=result.python_for(option),
            interpreter=(req.gil if option.mode == "gil" else req.ft).info(),
            store_path=req.store_path, study_id=study_id, label=row.run_key,
            block=block, cwd=req.cwd, timeout_s=run_timeout, prepare=req.prepare,
            verify=req.verify, max_foreign_cpu=req.max_foreign_cpu,
        )  # fmt: skip
        if outcome.status == "timeout":  # not run again: it would eat the budget
            lost_s += time.monotonic() - run_began
            result.timed_out[option.key] = run_timeout
            result.not_measured.append(
                f"{option.key}: stopped after {run_timeout:.0f} s (timed out: more than "
                f"{TIMEOUT_FACTOR:.0f}x the slowest calibration run); not run again"
            )
        store.set_study_run_status(study_id, row.run_key, _status(outcome), outcome.reason,
                                   outcome.run_id)  # fmt: skip
        result.outcomes.append(outcome)
    for row, option in zip(rows, order, strict=True):
        _rerun_disturbed(result, store, study_id, row, option, run_timeout, deadline)
    kept = [o for o in result.outcomes if o.block == block and not o.superseded]
    if kept and not result.reruns_futile and all("kept_disturbed" in o.extra for o in kept):
        result.reruns_futile = True  # the machine stays busy: reruns would only eat the budget
        result.not_measured.append(
            f"every run of block {block} was still disturbed after its reruns: the machine "
            f"stays busy, so later disturbed runs were kept without reruns"
        )
    return lost_s


def _status(outcome: Outcome) -> str:
    if outcome.disturbed and not outcome.valid:
        return "disturbed"
    return "done" if outcome.valid else "invalid"


def _rerun_disturbed(
    result: AdviseResult,
    store: Any,
    study_id: int,
    row: Any,
    option: Option,
    run_timeout: float,
    deadline: float,
) -> None:
    """Run a disturbed run again, at most MAX_RERUNS times and while the budget lasts; the
    last attempt, still disturbed, is kept (marked) so a busy machine still gets an answer."""
    from gilwatt.store.studies import StudyRunRow

    req = result.request
    current = next(o for o in reversed(result.outcomes) if o.option == option
                   and o.block == row.block)  # fmt: skip
    key = row.run_key
    while current.disturbed and not current.valid:
        result.disturbed += 1
        run_s = (current.wall_s or 1.0) + RUN_OVERHEAD_S
        last = current.attempt >= machine.MAX_RERUNS or result.reruns_futile
        if last or time.monotonic() + run_s > deadline:
            current.valid, current.reason = True, ""
            current.extra["kept_disturbed"] = current.disturbed
            result.kept_disturbed += 1
            store.set_study_run_status(study_id, key, "done", "kept after reruns: "
                                       + current.disturbed, current.run_id)  # fmt: skip
            return
        current.superseded = True
        key = f"{row.run_key}#r{current.attempt + 1}"
        again = StudyRunRow(key, row.block, row.position + 1000 * (current.attempt + 1),
                            row.workload, row.params_json, row.workers, row.mode,
                            row.interpreter, "pending", "", None)  # fmt: skip
        store.add_study_runs(study_id, [again])
        current = run_one(
            target=req.target, option=option, python=result.python_for(option),
            interpreter=(req.gil if option.mode == "gil" else req.ft).info(),
            store_path=req.store_path, study_id=study_id, label=key, block=row.block,
            cwd=req.cwd, timeout_s=run_timeout, prepare=req.prepare, verify=req.verify,
            max_foreign_cpu=req.max_foreign_cpu, attempt=current.attempt + 1,
        )  # fmt: skip
        store.set_study_run_status(study_id, key, _status(current), current.reason,
                                   current.run_id)  # fmt: skip
        result.outcomes.append(current)


def calibrate(result: AdviseResult, say: Event) -> dict[str, float]:
    """One run of the GIL build at 1 worker and the free-threaded build at the most workers
    within the CPUs: how long a run takes (sizes the plan), whether the program runs at all."""
    req = result.request
    threads = (
        result.options[0].parallelism if result.options[0].parallelism != "processes" else "threads"
    )
    top = max((o.workers for o in result.options if o.workers <= result.cpus), default=1)
    times: dict[str, float] = {}
    for option in (Option("gil", 1, threads), Option("ft", top, threads)):
        say(f"calibration: {option.key}")
        outcome = run_one(
            target=req.target, option=option, python=result.python_for(option),
            interpreter=(req.gil if option.mode == "gil" else req.ft).info(),
            store_path=req.store_path, study_id=None, label=f"calibration {option.key}",
            block=0, cwd=req.cwd, timeout_s=req.timeout_s or req.budget_s, prepare=req.prepare,
            verify=req.verify, max_foreign_cpu=None,
        )  # fmt: skip
        outcome.extra["calibration"] = True
        result.outcomes.append(outcome)
        if outcome.wall_s:
            times[option.mode] = outcome.wall_s
            result.calibration_s[option.key] = outcome.wall_s
    gil_ok = result.outcomes[-2].status == "ok"
    ft_ok = result.outcomes[-1].status == "ok" and result.readiness.probe_exit == 0
    if not gil_ok:
        result.exit_code = FAILS_ON_GIL
        result.stopped = "the program fails on the GIL build: " + result.outcomes[-2].reason
    elif not ft_ok and result.readiness.probe_exit != 0 and result.outcomes[-1].status != "ok":
        result.exit_code = FAILS_ON_FT
        result.stopped = (
            "the program fails only on the free-threaded build: " + result.outcomes[-1].reason
        )
    times.setdefault("ft", times.get("gil", 1.0))
    times["ft-gil"] = times["ft"] * 1.0
    return times


def mean_times(result: AdviseResult) -> dict[str, float]:
    times: dict[str, list[float]] = {}
    for o in result.outcomes:
        if o.wall_s:
            times.setdefault(o.option.mode, []).append(o.wall_s)
    return {k: sum(v) / len(v) for k, v in times.items()}


def trim(result: AdviseResult) -> None:
    cpus = result.cpus
    keep, dropped = [], []
    biggest_ftgil = max((o.workers for o in result.options if o.mode == "ft-gil"), default=0)
    for o in result.options:
        if o.workers > cpus or (
            o.mode == "ft-gil" and o.workers == biggest_ftgil and o.workers > 1
        ):
            dropped.append(o.key)
        else:
            keep.append(o)
    if dropped and keep:
        result.options = keep
        result.not_measured.append("to fit the budget, not measured: " + ", ".join(dropped))


def drop_clear_losers(result: AdviseResult, say: Event) -> None:
    """From the third block on, stop running an option whose every run took more than twice the best
    option's typical time: it cannot come within the 5% margin, and such runs (lock convoys on
    the free-threaded build) can eat the budget. It stays in the table, not advisable."""
    by_key: dict[str, list[float]] = {}
    for o in result.outcomes:
        if o.block > 0 and o.status == "ok" and o.wall_s and not o.superseded:
            by_key.setdefault(o.option.key, []).append(o.wall_s)
    typical = {k: sorted(v)[len(v) // 2] for k, v in by_key.items() if len(v) >= 2}
    advisable = [t for k, t in typical.items() if not k.startswith("ft-gil")]
    if not advisable or result.request.objective != "time":
        return
    best = min(advisable)
    for key, times in by_key.items():
        if key in result.dropped or len(times) < 2 or min(times) <= LOSER_FACTOR * best:
            continue
        result.dropped[key] = min(times) / best
        say(f"{key}: every run took more than x{LOSER_FACTOR:.0f} the best's time; not run again")
    if result.dropped:
        listed = ", ".join(f"{k} (x{v:.1f})" for k, v in result.dropped.items())
        note = "not run again (every run more than twice the best's time): " + listed
        result.not_measured = [n for n in result.not_measured if not n.startswith("not run again")]
        result.not_measured.append(note)


def extend_for_io(result: AdviseResult) -> list[Option]:
    """More workers where the program waits (I/O): alone (1 worker) it keeps the CPU less than
    a quarter busy, and the oversubscribed cell is faster than the one at the usable CPUs by
    more than twice the margin over the first blocks. CPU / wall of the oversubscribed cell
    alone would not do: on a loaded host a CPU-bound program gets half a CPU too. Only on the
    default ladder (a --workers list is the user's)."""
    from gilwatt.advise.why import option_stats

    cpus, top = result.cpus, max(o.workers for o in result.options)
    if result.request.workers or top <= cpus:
        return []
    added = []
    for option in [o for o in result.options if o.workers == top and o.mode in ("gil", "ft")]:
        par = option.parallelism
        alone = option_stats(Option(option.mode, 1, par), result.outcomes)
        base = option_stats(Option(option.mode, cpus, par), result.outcomes)
        over = option_stats(option, result.outcomes)
        if not (over.wall_s and base.wall_s and alone.parallelism is not None):
            continue
        waits = alone.parallelism < plan_mod.WAITS_CPU_PER_WALL
        if over.wall_s * (1 + 2 * MARGIN) < base.wall_s and waits:
            added.append(Option(option.mode, top * 2, par))
    if added:
        result.options = sorted([*result.options, *added], key=Option.simplicity)
        result.not_measured.append(
            f"added after block {MIN_BLOCKS} for I/O overlap (fewer replicates): "
            + ", ".join(o.key for o in added)
        )
    return added


def fails_everywhere(result: AdviseResult) -> bool:
    runs = [o for o in result.outcomes if o.block == 1]
    gil = [o for o in runs if o.option.mode == "gil"]
    return bool(gil) and all(o.status != "ok" for o in gil)
