"""One ``gilwatt advise`` session: readiness, calibration, replicates within the budget, advice.

Calibration runs (the GIL build at one worker, the free-threaded build at the most workers
within the CPUs) size the plan: a block runs every option once in a random order (the block is
the unit of replication; its shared load cancels in the paired re-draws). If fewer than
``MIN_BLOCKS`` blocks fit the budget, the oversubscribed cell and the larger ``ft-gil`` cell go
first. Blocks follow until the advice is high-confidence (after ``MIN_BLOCKS``), ``MAX_BLOCKS``
are done, or the next block would overrun the budget. Everything goes into a study named
"advise" (resumable: the same target and options on the same store continue its blocks).

Every run passes the study's machine gate: a run during which other programs took more than
``max_foreign_cpu`` cores is *disturbed*, left out, and run again at the end of its block, at
most ``MAX_RERUNS`` times and only while the budget lasts. When it is still disturbed then, its
last attempt is kept (a machine that stays busy must not leave nothing to advise on), marked so,
and the confidence is at most moderate.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilwatt.advise import plan as plan_mod
from gilwatt.advise import readiness as ready
from gilwatt.advise.decision import MARGIN, Advice, Candidate, Option, decide
from gilwatt.advise.measure import Outcome, read_outcome, run_one
from gilwatt.advise.target import Target
from gilwatt.errors import ConfigError
from gilwatt.study import machine

MIN_BLOCKS = 3
MAX_BLOCKS = 10
STUDY_NAME = "advise"
MIN_RUN_TIMEOUT_S = 20.0
LOSER_FACTOR = 2.0  # an option every run of which took more than 2x the best's is dropped
TIMEOUT_FACTOR = 10.0  # a run 10x slower than the slowest calibration run is stopped
RUN_OVERHEAD_S = 0.3  # launch, sampler start and store per run (measured: 0.2-0.4 s here)

# exit codes (the issue's)
ADVISED, FAILS_ON_GIL, BAD_INPUT, NO_VALID_RUN, FAILS_ON_FT = 0, 1, 2, 3, 4


@dataclass
class AdviseRequest:
    target: Target
    gil: Any  # discovered interpreters (gilwatt.interpreters.Interpreter)
    ft: Any
    store_path: Path
    budget_s: float = 300.0
    objective: str = "time"
    workers: list[int] | None = None
    max_rss_bytes: int | None = None
    allow_estimate: bool = False
    verify: str | None = None
    prepare: str | None = None
    cwd: Path | None = None
    timeout_s: float | None = None
    dry_run: bool = False
    cpus: int | None = None  # usable CPUs (default: counted here)
    seed: int = 13
    max_foreign_cpu: float | None = machine.DEFAULT_MAX_FOREIGN_CPU  # cores; None: no gate


@dataclass
class AdviseResult:
    request: AdviseRequest
    cpus: int
    options: list[Option]
    readiness: ready.Readiness
    outcomes: list[Outcome] = field(default_factory=list)
    advice: Advice | None = None
    blocks: int = 0
    elapsed_s: float = 0.0
    stopped: str = ""  # why the replicates stopped
    not_measured: list[str] = field(default_factory=list)
    exit_code: int = ADVISED
    study_id: int | None = None
    calibration_s: dict[str, float] = field(default_factory=dict)
    timed_out: dict[str, float] = field(default_factory=dict)  # option key -> timeout (s)
    dropped: dict[str, float] = field(default_factory=dict)  # clear losers: key -> x the best
    load_start: float | None = None  # the host's 1-minute load average
    load_end: float | None = None
    disturbed: int = 0  # runs left out for foreign load (and run again)
    kept_disturbed: int = 0  # runs still disturbed after the reruns, kept

    def python_for(self, option: Option) -> str:
        interp = self.request.gil if option.mode == "gil" else self.request.ft
        return str(interp.executable)


Event = Callable[[str], None]


def advise(request: AdviseRequest, on_event: Event | None = None) -> AdviseResult:
    say = on_event or (lambda _text: None)
    t0 = time.monotonic()
    target = request.target
    cpus = request.cpus or plan_mod.usable_cpus()
    workers = request.workers or (plan_mod.ladder(cpus) if target.takes_workers else [1])
    options = plan_mod.candidates(target, workers, cpus)
    readiness = ready.Readiness(findings=ready.check_pair(request.gil, request.ft))
    result = AdviseResult(request, cpus, options, readiness)
    result.load_start = _loadavg()
    if request.objective == "energy" and not request.allow_estimate and not _has_rapl():
        raise ConfigError(
            "--objective energy: this host has no energy counter (RAPL), so energy would be a "
            "model's estimate.", hint="Add --allow-estimate to decide on the estimate anyway.",
        )  # fmt: skip
    if request.dry_run:
        return result
    say("readiness: one untimed run on the free-threaded build (-v -X importtime)")
    _readiness(result, max([n for n in workers if n <= cpus] or [min(workers)]))
    store, study = _open_study(result)
    try:
        _measure(result, store, study, say, t0)
    finally:
        store.close()
    result.elapsed_s = time.monotonic() - t0
    result.load_end = _loadavg()
    _note_load(result)
    _conclude(result)
    _save_advice(result)
    return result


def _loadavg() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _note_load(result: AdviseResult) -> None:
    """Other programs' load: the CPU the program got is not the host's (see issue 12's gates)."""
    if result.disturbed:
        limit = result.request.max_foreign_cpu
        result.not_measured.append(
            f"{result.disturbed} run(s) disturbed (other programs took more than {limit:g} cores "
            f"while they ran): left out and run again"
            + (f"; {result.kept_disturbed} still disturbed after {machine.MAX_RERUNS} reruns "
               f"or at the end of the budget, kept" if result.kept_disturbed else "")
        )  # fmt: skip
    # the load at the start is other programs' (advise had run nothing); the end's includes ours
    start, end = result.load_start, result.load_end
    if start is not None and start > result.cpus / 2:
        result.not_measured.append(
            f"the host was busy: 1-minute load average {start:.1f} before the first run "
            f"({end if end is not None else float('nan'):.1f} at the end, with ours) on "
            f"{result.cpus} CPUs; other programs took CPU, so CPU / wall and any speed-up are "
            f"lower than on a quiet machine"
        )


def _has_rapl() -> bool:
    return Path("/sys/class/powercap/intel-rapl:0/energy_uj").exists()


# -- readiness ---------------------------------------------------------------------------------


def _readiness(result: AdviseResult, probe_workers: int) -> None:
    req, rd = result.request, result.readiness
    target = req.target
    ft = str(req.ft.executable)
    argv = target.argv(ft, probe_workers, wrap=False)
    if target.kind == "cmd":
        argv = [a.replace(ft, f"{ft}") for a in argv]
        argv = _add_flags_to_cmd(argv, ft)
    else:
        argv = [argv[0], "-v", "-X", "importtime", *argv[1:]]
    probe = ready.probe_run(argv, target.env(probe_workers), req.cwd, req.timeout_s or 600.0)
    rd.probe_exit, rd.probe_stdout = probe.exit_code, probe.stdout
    tail = [
        ln
        for ln in probe.stderr.splitlines()
        if not ln.startswith(("#", "import ", "import time:"))
    ]
    rd.probe_stderr_tail = "\n".join(tail[-15:])
    user_file = target.name if target.kind == "script" else ""
    rd.culprits = ready.parse_culprits(probe.stderr, user_file)
    rd.native_libs = probe.libs
    counts, audit = ready.audit(ft, rd.culprits)
    rd.distributions = counts
    rd.findings += ready.culprit_findings(rd.culprits) + audit
    rd.findings += ready.pool_findings(probe.libs, max(result.options, key=lambda o: o.workers).workers,
                                       result.cpus, target.env(1))  # fmt: skip
    if probe.exit_code != 0:
        rd.findings.append(ready.Finding(
            "run", "warning", f"the probe run on the free-threaded build exited {probe.exit_code}"
            + (" (timed out)" if probe.timed_out else "") + ": " + (tail[-1] if tail else ""),
        ))  # fmt: skip


def _add_flags_to_cmd(argv: list[str], ft: str) -> list[str]:
    out: list[str] = []
    for a in argv:
        out.append(a)
        if a == ft:
            out += ["-v", "-X", "importtime"]
    return out


# -- the study ---------------------------------------------------------------------------------


def _spec(result: AdviseResult) -> dict[str, Any]:
    req = result.request
    return {
        "kind": "advise",
        "target": req.target.definition(),
        "interpreters": {"gil": str(req.gil.executable), "ft": str(req.ft.executable)},
        "options": [o.key for o in result.options],
        "objective": req.objective,
        "workloads": {req.target.label: {"family": "advise", "region": req.target.region}},
    }


def _open_study(result: AdviseResult) -> tuple[Any, Any]:
    from gilwatt.store import Store

    spec = _spec(result)
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    store = Store.open(result.request.store_path)
    found = [s for s in store.studies() if s.name == STUDY_NAME and s.spec_hash == digest]
    study = (
        found[-1] if found else store.create_study(STUDY_NAME, digest, spec, result.request.seed)
    )
    result.study_id = study.study_id
    return store, study


def _resume(result: AdviseResult, store: Any, study: Any) -> None:
    by_key = {o.key: o for o in result.options}
    for row in store.study_runs(study.study_id):
        option = by_key.get(row.run_key.split("#")[0])
        if option is None or row.run_id is None or row.status == "pending":
            continue
        outcome = read_outcome(
            result.request.store_path, row.run_id, option, row.block, result.request.target
        )
        if row.status == "disturbed":  # left out (it was run again)
            outcome.valid, outcome.superseded = False, True
            outcome.disturbed = outcome.reason = row.reason
            result.disturbed += 1
        elif row.reason.startswith("kept after reruns"):
            outcome.extra["kept_disturbed"] = row.reason
            result.kept_disturbed += 1
        result.outcomes.append(outcome)
    result.blocks = max((o.block for o in result.outcomes), default=0)


def _measure(result: AdviseResult, store: Any, study: Any, say: Event, t0: float) -> None:
    req = result.request
    _resume(result, store, study)
    if result.blocks:
        say(f"resuming study {study.study_id}: {result.blocks} block(s) already measured")
    per_run = _calibrate(result, say) if not result.outcomes else _mean_times(result)
    if result.exit_code != ADVISED:
        return
    slowest = max(per_run.values(), default=1.0)
    run_timeout = req.timeout_s or max(MIN_RUN_TIMEOUT_S, TIMEOUT_FACTOR * slowest)
    block_s = sum(per_run.get(o.mode, 1.0) + RUN_OVERHEAD_S for o in result.options)
    left = req.budget_s - (time.monotonic() - t0)
    if left < MIN_BLOCKS * block_s:
        _trim(result)
        block_s = sum(per_run.get(o.mode, 1.0) + RUN_OVERHEAD_S for o in result.options)
    say(f"plan: {len(result.options)} options a block, about {block_s:.0f} s a block; "
        f"{max(1, int(left // block_s))} block(s) fit the budget ({req.budget_s:.0f} s)")  # fmt: skip
    rng = random.Random(req.seed + result.blocks)
    stop_from = MIN_BLOCKS
    if result.blocks >= MIN_BLOCKS and _decide(result).level == "high":
        result.stopped = f"already decided in the store ({result.blocks} blocks, confidence high)"
        return
    while True:
        block = result.blocks + 1
        elapsed = time.monotonic() - t0
        if block > MAX_BLOCKS:
            result.stopped = f"{MAX_BLOCKS} blocks (the most)"
            break
        if result.blocks >= 1 and elapsed + block_s > req.budget_s:
            result.stopped = f"budget spent ({elapsed:.0f} s of {req.budget_s:.0f} s)"
            break
        if result.blocks >= 2:
            _drop_clear_losers(result, say)
        skip = {**result.timed_out, **result.dropped}
        order = [o for o in result.options if o.key not in skip]
        rng.shuffle(order)
        began = time.monotonic()
        lost_s = _run_block(result, store, study.study_id, block, order, run_timeout,
                            t0 + req.budget_s)  # fmt: skip
        result.blocks = block
        block_s = max(block_s * 0.5, time.monotonic() - began - lost_s)
        say(f"block {block}: {time.monotonic() - began:.1f} s")
        if block == 1 and _fails_everywhere(result):
            result.stopped = "every run of a build failed in the first block"
            break
        if block == MIN_BLOCKS:
            added = _extend_for_io(result)
            for option in added:
                say(
                    f"I/O overlap at {option.mode} {option.workers // 2} workers: adding {option.key}"
                )
            if added:
                stop_from = block + 2  # the added cells need replicates too
        if block >= stop_from:
            advice = _decide(result)
            if advice.level == "high":
                result.stopped = f"decided after {block} blocks (confidence high)"
                break


def _run_block(
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
        if current.attempt >= machine.MAX_RERUNS or time.monotonic() + run_s > deadline:
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


def _calibrate(result: AdviseResult, say: Event) -> dict[str, float]:
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


def _mean_times(result: AdviseResult) -> dict[str, float]:
    times: dict[str, list[float]] = {}
    for o in result.outcomes:
        if o.wall_s:
            times.setdefault(o.option.mode, []).append(o.wall_s)
    return {k: sum(v) / len(v) for k, v in times.items()}


def _trim(result: AdviseResult) -> None:
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


def _drop_clear_losers(result: AdviseResult, say: Event) -> None:
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


def _extend_for_io(result: AdviseResult) -> list[Option]:
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


def _fails_everywhere(result: AdviseResult) -> bool:
    runs = [o for o in result.outcomes if o.block == 1]
    gil = [o for o in runs if o.option.mode == "gil"]
    return bool(gil) and all(o.status != "ok" for o in gil)


# -- the advice --------------------------------------------------------------------------------


def candidates_of(result: AdviseResult) -> list[Candidate]:
    rd = result.readiness
    out = []
    for option in result.options:
        runs = [o for o in result.outcomes
                if o.option == option and o.block > 0 and not o.superseded]  # fmt: skip
        values = [v for o in runs if o.valid and (v := o.objective(result.request.objective))]
        blocked = ""
        if option.mode == "ft-gil":
            blocked = plan_mod.DIAGNOSTIC
        elif option.mode == "ft" and (rd.gil_back_on or any(o.gil_back_on for o in runs)):
            names = ", ".join(c.module for c in rd.culprits) or "an extension"
            blocked = f"the GIL is turned back on ({names})"
        elif option.key in result.timed_out:
            blocked = f"timed out after {result.timed_out[option.key]:.0f} s"
        elif option.key in result.dropped:
            blocked = f"x{result.dropped[option.key]:.1f} the best's time: not run again"
        elif option.workers > result.cpus and (why := _not_waiting(result, option)):
            blocked = why
        elif any(o.status != "ok" for o in runs):
            bad = sum(o.status != "ok" for o in runs)
            blocked = f"the program failed in {bad} of {len(runs)} runs"
        elif any(o.verify_failed for o in runs):
            blocked = "--verify failed on its output"
        rss = [o.objective("memory") for o in runs if o.valid]
        peak = int(max(r for r in rss if r)) if any(rss) else None
        estimate = result.request.objective == "energy" and any(o.energy_estimate for o in runs)
        out.append(Candidate(option, values, peak, blocked, estimate))
    return out


def _not_waiting(result: AdviseResult, option: Option) -> str:
    """Why more workers than the usable CPUs cannot be advised: the program does not wait at
    one worker (CPU / wall not below WAITS_CPU_PER_WALL), or that is unknown. '' if it waits."""
    from gilwatt.advise.why import option_stats

    alone = None
    for par in dict.fromkeys((option.parallelism, "threads")):
        stats = option_stats(Option(option.mode, 1, par), result.outcomes)
        if stats.parallelism is not None:
            alone = stats.parallelism
            break
    limit = plan_mod.WAITS_CPU_PER_WALL
    if alone is not None and alone < limit:
        return ""
    seen = "not measured" if alone is None else f"{alone:.2f}"
    return (f"more workers than the {result.cpus} usable CPUs: advised only for a program that "
            f"waits (CPU / wall at 1 worker {seen}, not below {limit:g})")  # fmt: skip


def _decide(result: AdviseResult) -> Advice:
    req = result.request
    advice = decide(candidates_of(result), max_rss_bytes=req.max_rss_bytes,
                    allow_estimate=req.allow_estimate)  # fmt: skip
    if result.kept_disturbed and advice.level == "high":
        advice.level = "moderate"
        advice.capped = (
            f"confidence capped at moderate: {result.kept_disturbed} run(s) still disturbed "
            f"after {machine.MAX_RERUNS} reruns were kept (other programs took CPU)"
        )
    return advice


def _conclude(result: AdviseResult) -> None:
    rd = result.readiness
    swept = [o for o in result.outcomes if o.block > 0]
    outputs: dict[str, list[bytes]] = {}
    verify_failed: dict[str, int] = {}
    for o in swept:
        if o.status == "ok" and not o.verify_failed:
            outputs.setdefault(o.option.key, []).append(o.stdout)
        if o.verify_failed:
            verify_failed[o.option.key] = verify_failed.get(o.option.key, 0) + 1
    if result.request.verify is None:
        rd.findings += ready.compare_outputs(outputs, {})
    else:
        rd.findings += ready.compare_outputs({}, verify_failed) if verify_failed else [
            ready.Finding("safety", "ok", f"--verify passed on every run ({len(swept)} runs): "
                          "no difference seen in these runs")]  # fmt: skip
    if result.exit_code != ADVISED:
        return
    advice = _decide(result)
    result.advice = advice
    failed = [o for o in swept if o.status not in ("ok", "timeout")]  # slow is not failing
    gil_failed = [o for o in failed if o.option.mode == "gil"]
    ft_failed = [o for o in failed if o.option.mode != "gil"]
    if swept and len(gil_failed) * 2 > sum(o.option.mode == "gil" for o in swept):
        result.exit_code = FAILS_ON_GIL
    elif advice.option is None:
        result.exit_code = NO_VALID_RUN
    elif ft_failed and not gil_failed:
        result.exit_code = FAILS_ON_FT
        rd.findings.append(ready.Finding(
            "run", "blocker", f"the program failed on the free-threaded build in {len(ft_failed)} "
            f"run(s) and never on the GIL build", "a possible race: run the failing "
            "configuration again and read its stderr (gilwatt report)"))  # fmt: skip


def _save_advice(result: AdviseResult) -> None:
    """The advice into the study's spec, where ``gilwatt report`` finds it."""
    from gilwatt.advise.render import as_json
    from gilwatt.store import Store

    if result.study_id is None:
        return
    store = Store.open(result.request.store_path)
    try:
        study = next(s for s in store.studies() if s.study_id == result.study_id)
        spec = dict(study.spec)
        spec["advice"] = as_json(result)
        store.update_study_spec(result.study_id, spec)
    finally:
        store.close()
