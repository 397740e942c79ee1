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

from gilwatt.advise import blocks
from gilwatt.advise import conclude as conclude_mod
from gilwatt.advise import plan as plan_mod
from gilwatt.advise import readiness as ready
from gilwatt.advise.decision import Advice, Option
from gilwatt.advise.measure import Outcome, read_outcome
from gilwatt.advise.plan import (
    ADVISED,
    MAX_BLOCKS,
    MIN_BLOCKS,
    MIN_RUN_TIMEOUT_S,
    RUN_OVERHEAD_S,
    TIMEOUT_FACTOR,
)
from gilwatt.advise.target import Target
from gilwatt.errors import ConfigError
from gilwatt.study import machine

STUDY_NAME = "advise"


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
    reruns_futile: bool = False  # a whole block stayed disturbed: no more reruns

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
    conclude_mod.conclude(result)
    conclude_mod.save_advice(result)
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
    per_run = blocks.calibrate(result, say) if not result.outcomes else blocks.mean_times(result)
    if result.exit_code != ADVISED:
        return
    slowest = max(per_run.values(), default=1.0)
    run_timeout = req.timeout_s or max(MIN_RUN_TIMEOUT_S, TIMEOUT_FACTOR * slowest)
    block_s = sum(per_run.get(o.mode, 1.0) + RUN_OVERHEAD_S for o in result.options)
    left = req.budget_s - (time.monotonic() - t0)
    if left < MIN_BLOCKS * block_s:
        blocks.trim(result)
        block_s = sum(per_run.get(o.mode, 1.0) + RUN_OVERHEAD_S for o in result.options)
    say(f"plan: {len(result.options)} options a block, about {block_s:.0f} s a block; "
        f"{max(1, int(left // block_s))} block(s) fit the budget ({req.budget_s:.0f} s)")  # fmt: skip
    rng = random.Random(req.seed + result.blocks)
    stop_from = MIN_BLOCKS
    if result.blocks >= MIN_BLOCKS and conclude_mod.decide_now(result).level == "high":
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
            blocks.drop_clear_losers(result, say)
        skip = {**result.timed_out, **result.dropped}
        order = [o for o in result.options if o.key not in skip]
        rng.shuffle(order)
        began = time.monotonic()
        lost_s = blocks.run_block(result, store, study.study_id, block, order, run_timeout,
                            t0 + req.budget_s)  # fmt: skip
        result.blocks = block
        block_s = max(block_s * 0.5, time.monotonic() - began - lost_s)
        say(f"block {block}: {time.monotonic() - began:.1f} s")
        if block == 1 and blocks.fails_everywhere(result):
            result.stopped = "every run of a build failed in the first block"
            break
        if block == MIN_BLOCKS:
            added = blocks.extend_for_io(result)
            for option in added:
                say(
                    f"I/O overlap at {option.mode} {option.workers // 2} workers: adding {option.key}"
                )
            if added:
                stop_from = block + 2  # the added cells need replicates too
        if block >= stop_from:
            advice = conclude_mod.decide_now(result)
            if advice.level == "high":
                result.stopped = f"decided after {block} blocks (confidence high)"
                break
