"""Run a study: every pending run of every block, through the profiler, one at a time.

Each run is committed to the ledger as it finishes, with its verdict from the validity gates,
so the study can be killed at any moment and resumed by running the same command again:
finished runs are never redone. Ctrl-C lets the profiler clean up the current target, leaves
that run pending, and re-raises KeyboardInterrupt. The runner never prints; it reports
through ``on_event``.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import astuple, replace
from pathlib import Path
from typing import IO, Any

from gilwatt.errors import ConfigError, GilwattError, StoreError
from gilwatt.modes import interpreter_slot
from gilwatt.profiler import ProfileRequest, ProfileResult
from gilwatt.store import Store
from gilwatt.study import calibrate, cpus, machine, sequential, watch
from gilwatt.study.gates import RunFacts, Verdict, judge
from gilwatt.study.ledger import FINAL_STATUSES, Ledger
from gilwatt.study.matrix import (
    PRIMING_SUFFIX,
    SENTINEL_CELL,
    SENTINEL_SUFFIX,
    Cell,
    PlannedRun,
    block_seed,
    plan,
)
from gilwatt.study.progress import EventFn, StudyEvent, StudyOutcome
from gilwatt.study.resolve import InterpreterLike, ResolvedStudy, WorkloadLike
from gilwatt.study.sequential import FIRST_LOOK
from gilwatt.study.session import Session, open_session

IDLE_INTERVAL_NS = 100_000_000  # an idle baseline needs no fine sampling


def _no_events(event: StudyEvent) -> None:
    """The default: library code never prints."""


ProfileFn = Callable[[ProfileRequest], ProfileResult]
LookFn = Callable[[int, float], Mapping[int, str]]
ProbeFn = Callable[[str], InterpreterLike]


def run_study(
    study: ResolvedStudy,
    store_path: Path,
    *,
    force_new: bool = False,
    on_event: EventFn = _no_events,
    profile_fn: ProfileFn | None = None,
    probe_fn: ProbeFn | None = None,
    sleep: Callable[[float], None] = time.sleep,
    usable_cpus: int | None = None,
    look_fn: LookFn | None = None,
    only_keys: Collection[str] | None = None,
) -> StudyOutcome:
    """Run (or resume) ``study`` into the store at ``store_path``; see the module docstring.

    ``usable_cpus``: the CPUs runs may use (default: measured here); cells with more workers
    are oversubscribed, and only the others are pinned (``spec.pin``). ``look_fn(study_id,
    alpha)``: the claims' verdicts on the store so far at one look's alpha; with ``reps =
    "auto"`` it decides when to stop (see gilwatt.study.sequential; without it an auto study
    runs its first three replicates). ``only_keys``: run just these planned runs (and their
    reruns): one block on a Dask worker (study/remote.py)."""
    if usable_cpus is None:
        usable_cpus = cpus.usable_cpus()
    store = Store.open(store_path)
    try:
        with _lock_store(store_path):
            ledger = Ledger(store)
            session = open_session(
                ledger, study, store_path, force_new=force_new, usable_cpus=usable_cpus
            )
            done = calibrate.recorded(session.record.spec)  # sizes calibrated earlier
            study = replace(study, cells=calibrate.apply(study.cells, done))
            runner = _Runner(
                study, store, ledger, session, store_path, on_event, profile_fn, probe_fn, sleep
            )
            runner.usable_cpus = usable_cpus
            runner.look_fn = look_fn
            if only_keys is not None:
                runner.only(set(only_keys))
            return runner.run()
    finally:
        store.close()


def _lock_store(store_path: Path) -> IO[bytes]:
    """Hold an exclusive flock on the store file while the study runs: two studies writing
    one store would run the same pending runs twice. (SQLite's own locks are fcntl locks,
    which flock does not touch.)"""
    handle = open(store_path, "rb")  # noqa: SIM115 -- held until the study ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigError(
            f"store ({store_path}) is being written by another gilwatt study.",
            hint="Wait for it to finish, or write this study to another file with -o.",
        ) from None
    return handle


class _Runner:
    def __init__(
        self,
        study: ResolvedStudy,
        store: Store,
        ledger: Ledger,
        session: Session,
        store_path: Path,
        on_event: EventFn,
        profile_fn: ProfileFn | None,
        probe_fn: ProbeFn | None,
        sleep: Callable[[float], None],
    ) -> None:
        if profile_fn is None:
            from gilwatt.profiler import profile

            profile_fn = profile
        if probe_fn is None:
            from gilwatt.interpreters import probe

            probe_fn = probe
        self.study, self.store, self.ledger, self.session = study, store, ledger, session
        self.store_path = store_path
        self.emit_fn, self.profile_fn, self.probe_fn, self.sleep = (
            on_event,
            profile_fn,
            probe_fn,
            sleep,
        )
        self.study_id = session.record.study_id
        self.planned = list(session.planned)  # reruns of disturbed runs are appended
        self.keys = {r.run_key for r in self.planned}
        self.total = len(self.planned)
        self.launched = 0
        self.started = time.monotonic()
        self.notes: list[str] = []
        # the executables stay as resolved (the ledger names them); identities are re-probed
        self.executables = {slot: i.executable for slot, i in study.interpreters.items()}
        self.identity: dict[str, InterpreterLike] = dict(study.interpreters)
        self.usable_cpus = len(cpus.allowed_cpus())
        self.look_fn: LookFn | None = None
        self.replicate_s: list[float] = []  # wall time of each replicate run in this session
        self.stopped = ""  # why an adaptive study stopped
        self.allowed = cpus.allowed_cpus()
        self.partial = False  # only some runs (a cluster worker's block): no study-wide checks
        self.block_s: dict[Cell, float] = {}  # replicate 1's blocks, for calibration

    def only(self, keys: set[str]) -> None:
        self.planned = [r for r in self.planned if r.run_key in keys]
        self.keys = {r.run_key for r in self.planned}
        self.total = len(self.planned)
        self.partial = True

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> StudyOutcome:
        self.emit("start", message="resumed" if self.session.resumed else "new")
        self._close_stale_runs()
        self._adopt_orphans()
        block = 1
        while block <= self._last_block():
            self._replicate(block)
            if block == 1 and self._calibrate():
                self._replicate(block)  # the calibrated cells' first replicate
            self._watch(block)
            looks = self._adaptive() and block == self._last_block() and block >= FIRST_LOOK
            if looks and not self._look(block):
                break
            block += 1
        self.emit("end")
        return StudyOutcome(
            self.study_id, self.store_path, self.session.resumed, self.total, self._counts(), self.launched,
            time.monotonic() - self.started, self.notes, self._replicates_done(), self.stopped,
        )  # fmt: skip

    def _replicates_done(self) -> int:
        status = {r.run_key: r.status for r in self.ledger.rows(self.study_id)}
        return sum(
            1
            for b in range(1, self._last_block() + 1)
            if all(status.get(r.run_key) != "pending" for r in self.planned if r.block == b)
        )

    def _last_block(self) -> int:
        return max((r.block for r in self.planned), default=0)

    def _adaptive(self) -> bool:
        return self.study.spec.reps_auto and self.look_fn is not None

    def _replicate(self, block: int) -> None:
        pending = self._pending(block)
        if all(r.priming or r.sentinel for r in pending):
            self._drop_priming(pending)  # its measured runs all finished earlier
            return
        of = "" if self.study.spec.reps_auto else f" of {self._last_block()}"
        self.emit("block", message=f"replicate {block}{of}")
        began = time.monotonic()
        self._check_interpreters(block)
        self._idle_baseline(block)
        # one at a time from the ledger: a disturbed run adds its rerun to this replicate
        while pending := self._pending(block):
            self._run_one(pending[0])
            if self.study.spec.cooldown_ns and self._pending_count():
                self.sleep(self.study.spec.cooldown_ns / 1e9)
        self.replicate_s.append(time.monotonic() - began)

    def _calibrate(self) -> bool:
        """After replicate 1 of an auto study with a budget: scale down the workloads whose
        block took over 3x its share (study/calibrate.py), once. True: cells changed."""
        spec = self.study.spec
        if not (spec.reps_auto and spec.budget_ns and spec.calibrate) or self.partial:
            return False
        found = calibrate.after_first_replicate(
            self.ledger, self.study_id, self.study, self.block_s, self._last_block(),
            lambda mode: self.executables[interpreter_slot(mode)],
        )  # fmt: skip
        if found is None:
            return False
        for c in found.calibrations:
            self.note(f"calibrated to the budget: {c.describe()}")
        self.study = replace(self.study, cells=found.cells)
        kept = [r for r in self.planned if r.run_key not in found.gone]
        self.planned = sorted([*kept, *found.runs], key=lambda r: (r.block, r.position))
        self.keys.update(r.run_key for r in found.runs)
        self.total += len(found.runs)
        return True

    def _watch(self, block: int) -> None:
        """Record the bimodal cells and the sentinel's drift after replicate ``block`` (once;
        not on a cluster worker, which holds only its own blocks)."""
        doc = self.ledger.study(self.study_id).spec
        earlier = watch.recorded(doc)
        if self.partial or block in earlier:
            return
        regions = {name: w.region for name, w in self.study.workloads.items()}
        name = SENTINEL_CELL.workload
        sentinel = (name, self._workload(name).region) if self.study.spec.sentinel else None
        found = watch.check(self.store, self.study_id, regions, sentinel)
        for line in watch.notes(found, earlier, block):
            self.note(line)
        self.ledger.update_spec(self.study_id, watch.record(doc, block, found))

    def _look(self, block: int) -> bool:
        """The interim analysis after replicate ``block`` (recorded, so never taken twice);
        plan the next replicate unless the study stops here. False: stop."""
        assert self.look_fn is not None
        budget_left = None
        if self.study.spec.budget_ns:
            budget_left = self.study.spec.budget_ns / 1e9 - (time.monotonic() - self.started)
        look = look_after(
            self.ledger, self.store, self.study, self.study_id, block, self.look_fn,
            budget_left_s=budget_left,
            replicate_s=max(self.replicate_s) if self.replicate_s else None,
            note=self.note,
        )  # fmt: skip
        shown = ", ".join(f"{n}: {v}" for n, v in sorted(look.verdicts.items())) or "none"
        self.emit(
            "look",
            message=f"look after replicate {block} (alpha {look.alpha:.2g}, spent "
            f"{look.spent:.2g} of {sequential.ALPHA:g}): {shown}"
            + (f"; stop: {look.stop}" if look.stop else ""),
        )
        if look.stop:
            self.stopped = look.stop
            return False
        self._add_replicate(block + 1)
        return True

    def _add_replicate(self, block: int) -> None:
        spec = self.study.spec
        runs = plan(
            self.study.cells,
            spec.modes,
            block,
            spec.seed,
            priming=spec.priming,
            sentinel=spec.sentinel,
            first=block,
        )
        self.ledger.plan(self.study_id, runs, lambda mode: self.executables[interpreter_slot(mode)])
        doc = dict(self.ledger.study(self.study_id).spec)
        schedule = dict(doc.get("schedule", {}))
        seeds = dict(schedule.get("block_seeds", {}))
        seeds[str(block)] = block_seed(spec.seed, block)
        schedule["block_seeds"] = seeds
        doc["schedule"] = schedule
        self.ledger.update_spec(self.study_id, doc)
        self.planned += runs
        self.keys.update(r.run_key for r in runs)
        self.total += len(runs)

    def _pending(self, block: int) -> list[PlannedRun]:
        status = {r.run_key: r.status for r in self.ledger.rows(self.study_id)}
        return [r for r in self.planned if r.block == block and status.get(r.run_key) == "pending"]

    def _drop_priming(self, pending: list[PlannedRun]) -> None:
        for planned in pending:
            self.ledger.set_status(
                self.study_id,
                planned.run_key,
                "priming" if planned.priming else "sentinel",
                "not run: its replicate had finished",
            )

    def _workload(self, name: str) -> WorkloadLike:
        """A study workload, or a bundled one (the sentinel's)."""
        found = self.study.workloads.get(name)
        if found is None:
            from gilwatt.workloads import get_workload

            found = get_workload(name)
        return found

    def _pending_count(self) -> int:
        return sum(
            1
            for r in self.ledger.rows(self.study_id)
            if r.run_key in self.keys and r.status == "pending"
        )

    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.ledger.rows(self.study_id):
            if row.run_key in self.keys:
                counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def _done(self) -> int:
        return sum(n for status, n in self._counts().items() if status in FINAL_STATUSES)

    def emit(self, kind: str, **fields: Any) -> None:
        done = self._done()
        eta = None
        if self.launched:
            remaining = self.total - done
            eta = (time.monotonic() - self.started) / self.launched * remaining
        self.emit_fn(StudyEvent(kind, done, self.total, eta_s=eta, **fields))

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.emit("note", message=message)

    # -- one run ----------------------------------------------------------------------------

    def _run_one(self, planned: PlannedRun) -> None:
        mode = planned.mode
        executable = self.executables[interpreter_slot(mode)]
        if not os.access(executable, os.X_OK):
            self._interpreter_gone(
                executable, f"interpreter {executable} disappeared (block {planned.block})"
            )
            return
        workload = self._workload(planned.cell.workload)
        warnings: list[str] = []  # shown only for a run that is not valid: they may explain it
        argv = workload.argv(executable, planned.cell.params, planned.cell.workers)
        if self.study.spec.pin:
            argv = [*cpus.pin_prefix(planned.cell.workers, self.allowed, self.usable_cpus), *argv]
        request = ProfileRequest(
            argv=argv,
            store_path=self.store_path,
            interval_ns=self.study.spec.interval_ns,
            timeout_s=self.study.spec.timeout_s,
            env=child_env(planned, self.study_id),
            interpreter=self.identity[interpreter_slot(mode)].info(),
            label=planned.run_key,
            study_id=self.study_id,
            passthrough=False,
            on_warning=warnings.append,
        )
        self.emit("run-start", run=planned)
        began = time.monotonic()
        self.launched += 1
        before = machine.snapshot()
        own_before = machine.own_cpu_ns()
        try:
            result = self.profile_fn(request)
        except KeyboardInterrupt:
            self.ledger.set_status(
                self.study_id, planned.run_key, "pending", "interrupted; runs again on resume"
            )
            raise
        except StoreError:
            raise
        except (GilwattError, OSError) as exc:
            self._launch_failed(planned, executable, exc, time.monotonic() - began)
            return
        facts = self._facts(result.run_id, result.stderr_tail)
        verdict = judge(facts, mode, workload.region)
        own_cpu_ns = machine.own_cpu_ns() - own_before
        disturbed = self._machine(result, before, own_cpu_ns, facts, workload.region)
        if disturbed and verdict.status == "done" and not (planned.priming or planned.sentinel):
            verdict = Verdict("disturbed", disturbed)
        gone = verdict.status in ("invalid", "skipped") and not os.access(executable, os.X_OK)
        if gone:  # it failed because the interpreter went away while it started
            verdict = Verdict(
                "skipped", f"interpreter {executable} disappeared (block {planned.block})"
            )
        if (planned.priming or planned.sentinel) and verdict.status != "pending":
            why = "" if verdict.status == "done" else f" ({verdict.status}: {verdict.reason})"
            verdict = (
                Verdict("priming", f"discarded warm-up{why}")
                if planned.priming
                else Verdict("sentinel", f"fixed work, for drift{why}")
            )
        self.ledger.set_status(
            self.study_id, planned.run_key, verdict.status, verdict.reason, result.run_id
        )
        if verdict.status not in ("done", "priming", "sentinel", "disturbed"):
            for text in dict.fromkeys(warnings):
                self.note(f"{planned.run_key}: {text}")
        duration_s = time.monotonic() - began
        self.emit(
            "run-end", run=planned, status=verdict.status, reason=verdict.reason,
            duration_s=duration_s,
        )  # fmt: skip
        if planned.block == 1 and not (planned.priming or planned.sentinel or planned.attempt):
            self.block_s[planned.cell] = self.block_s.get(planned.cell, 0.0) + duration_s
        if verdict.status == "disturbed":
            self._rerun(planned)
        if gone:
            self._interpreter_gone(executable, verdict.reason)
        if result.status == "interrupted":
            raise KeyboardInterrupt

    def _machine(
        self,
        result: ProfileResult,
        before: machine.Snapshot,
        own_cpu_ns: int,
        facts: RunFacts,
        region: str,
    ) -> str | None:
        """Store the machine's state around the run; the reason it is disturbed, if it is."""
        after = machine.snapshot()
        foreign = allowance = None
        measured = [r for r in facts.regions if r.name == region]
        if measured:
            span = (min(r.begin_ns for r in measured), max(r.end_ns for r in measured))
            counters = machine.RegionCpu(*self.store.region_cpu(result.run_id, *span))
            if counters.cores:
                foreign, allowance = machine.foreign_cpu_cores(
                    counters, own_cpu_ns, result.summary.wall_ns
                )
        row = machine.state(before, after, result.summary.wall_ns, foreign)
        self.store.add_run_machine(result.run_id, astuple(row))
        if foreign is None or allowance is None:
            return None
        return machine.disturbed_reason(foreign, allowance, self.study.spec.max_foreign_cpu)

    def _rerun(self, planned: PlannedRun) -> None:
        """Run a disturbed run again at the end of its replicate, at most MAX_RERUNS times."""
        if planned.attempt >= machine.MAX_RERUNS:
            self.note(f"{planned.run_key}: disturbed {planned.attempt + 1} times; not rerun again")
            return
        position = 1 + max(r.position for r in self.planned if r.block == planned.block)
        again = planned.rerun(position)
        self.ledger.plan(
            self.study_id, [again], lambda mode: self.executables[interpreter_slot(mode)]
        )
        self.planned.append(again)
        self.keys.add(again.run_key)
        self.total += 1

    def _launch_failed(
        self, planned: PlannedRun, executable: str, exc: BaseException, duration_s: float
    ) -> None:
        if not os.access(executable, os.X_OK):
            self._interpreter_gone(
                executable, f"interpreter {executable} disappeared (block {planned.block}): {exc}"
            )
            return
        self.ledger.set_status(self.study_id, planned.run_key, "failed", f"could not run: {exc}")
        self.emit(
            "run-end",
            run=planned,
            status="failed",
            reason=f"could not run: {exc}",
            duration_s=duration_s,
        )

    def _facts(self, run_id: int, stderr_tail: str = "") -> RunFacts:
        info = self.store.run_info(run_id)
        if not stderr_tail:
            stderr_tail = self.store.output(run_id, "stderr")[-4000:].decode("utf-8", "replace")
        return RunFacts(
            status=info.status,
            exit_code=info.exit_code,
            exit_signal=info.exit_signal,
            attrs=info.attrs,
            regions=self.store.regions(run_id),
            interpreter=info.interpreter,
            stderr_tail=stderr_tail,
            timeout_s=self.study.spec.timeout_s,
        )

    def _adopt_orphans(self) -> None:
        """Pending runs whose process the profiler finished and stored just before the study
        was killed: judge them now instead of running them again."""
        for row in self.ledger.rows(self.study_id):
            if row.status != "pending" or row.run_key not in self.keys:
                continue
            run_id = self.ledger.finished_run(self.study_id, row.run_key)
            if run_id is None:
                continue
            verdict = judge(self._facts(run_id), row.mode, self._workload(row.workload).region)
            if verdict.status != "pending" and row.run_key.endswith(PRIMING_SUFFIX):
                verdict = Verdict("priming", "discarded warm-up (adopted)")
            if verdict.status != "pending" and row.run_key.endswith(SENTINEL_SUFFIX):
                verdict = Verdict("sentinel", "fixed work, for drift (adopted)")
            if verdict.status != "pending":
                self.ledger.set_status(
                    self.study_id, row.run_key, verdict.status, verdict.reason, run_id
                )
                self.note(f"{row.run_key}: recorded run {run_id} adopted ({verdict.status})")

    # -- interpreters and idle baselines --------------------------------------------------------

    def _check_interpreters(self, block: int) -> None:
        """Re-probe each interpreter before a block: one that vanished or changed build has
        its remaining runs skipped; the rest of the study goes on."""
        for slot, executable in self.executables.items():
            known = self.identity[slot]
            fresh = self.probe_fn(executable)
            if fresh.error:
                self._interpreter_gone(
                    executable, f"interpreter {executable} unusable at block {block}: {fresh.error}"
                )
            elif fresh.free_threaded != known.free_threaded or fresh.version != known.version:
                now = f"{fresh.version}{' free-threaded' if fresh.free_threaded else ''}"
                self._interpreter_gone(
                    executable, f"interpreter {executable} changed at block {block} (now {now})"
                )
            else:
                self.identity[slot] = fresh

    def _close_stale_runs(self) -> None:
        """Runs of this study still 'running' were cut off by a killed session (this session
        holds the store lock, so nothing else is running them): mark them interrupted."""
        for run_id in self.store.run_ids(self.study_id, status="running"):
            self.store.finish_run(run_id, status="interrupted")

    def _interpreter_gone(self, executable: str, reason: str) -> None:
        skipped = self.ledger.skip_pending(self.study_id, executable, reason)
        self.note(f"{reason}; {skipped} remaining run(s) on it skipped")

    def _idle_baseline(self, block: int) -> None:
        seconds = self.study.spec.idle_baseline_ns / 1e9
        if not seconds or block in self.store.idle_baseline_blocks(self.study_id):
            return
        self.emit("idle", message=f"idle baseline {seconds:g}s before block {block}")
        request = ProfileRequest(
            argv=["sleep", f"{seconds:g}"],
            store_path=self.store_path,
            interval_ns=IDLE_INTERVAL_NS,
            label=f"idle-baseline#b{block}",
            study_id=self.study_id,
            passthrough=False,
        )
        result = self.profile_fn(request)
        summary = result.summary
        if summary.energy_uj is None:
            self.note(
                f"idle baseline of block {block} has no energy reading ({summary.energy_source or 'no energy source'})"
            )
            return
        self.store.add_idle_baseline(
            self.study_id,
            block,
            time.monotonic_ns(),
            summary.wall_ns,
            summary.energy_uj,
            summary.energy_source,
            result.run_id,
        )


def child_env(planned: PlannedRun, study_id: int) -> dict[str, str]:
    """Variables set for one run: where it sits in the study, and the GIL switch of its mode.

    ``gil`` never sets PYTHON_GIL. ``ft`` does not set it either: a free-threaded build runs
    without the GIL by default, and forcing PYTHON_GIL=0 would hide an extension re-enabling
    it, which the validity gate must see. ``ft-gil`` sets PYTHON_GIL=1. An inherited
    PYTHON_GIL is blanked (CPython reads an empty value as unset), so it cannot override a mode.
    """
    env = {
        "GILWATT_STUDY": str(study_id),
        "GILWATT_CELL": planned.cell_key,
        "GILWATT_BLOCK": str(planned.block),
    }
    if planned.mode == "ft-gil":
        env["PYTHON_GIL"] = "1"
    elif "PYTHON_GIL" in os.environ:
        env["PYTHON_GIL"] = ""
    return env


def look_after(
    ledger: Ledger,
    store: Store,
    study: ResolvedStudy,
    study_id: int,
    block: int,
    look_fn: LookFn,
    *,
    budget_left_s: float | None = None,
    replicate_s: float | None = None,
    note: Callable[[str], None] = lambda line: None,
) -> sequential.Look:
    """The interim look after replicate ``block`` of the auto study ``study_id``, as the local
    runner takes it (the same alpha spending, ``--max-reps``, budget, bimodal and drift notes),
    for a caller holding the store: a cluster host's study. Recorded in the study's spec; a
    look already recorded there is returned as it is (a look is never taken twice)."""
    spec = study.spec
    record = ledger.study(study_id)
    looks = sequential.recorded(record.spec)
    taken = next((x for x in looks if x.replicate == block), None)
    if taken is not None:
        return taken
    # the local runner's watch after the replicate (recorded once), then its look
    base = dict(record.spec)
    earlier = watch.recorded(base)
    seen = earlier.get(block)
    if seen is None:
        regions = {name: w.region for name, w in study.workloads.items()}
        name = SENTINEL_CELL.workload
        sentinel = study.workloads.get(name)
        if sentinel is None:
            from gilwatt.workloads import get_workload

            sentinel = get_workload(name)
        seen = watch.check(
            store, study_id, regions, (name, sentinel.region) if spec.sentinel else None
        )
        for line in watch.notes(seen, earlier, block):
            note(line)
        base = watch.record(base, block, seen)
    flagged = {c for x in looks for c in x.bimodal}
    new = [c for c in seen.bimodal if c not in flagged]
    alpha, verdicts, stop = sequential.interim(
        block, spec.max_reps, looks, lambda a: look_fn(study_id, a),
        budget_left_s=budget_left_s, replicate_s=replicate_s, new_bimodal=bool(new),
    )  # fmt: skip
    look = sequential.Look(
        block, alpha, sequential.spent(looks) + alpha, verdicts, stop, tuple(new)
    )
    doc = dict(base)
    doc["looks"] = [*(x.to_json() for x in looks), look.to_json()]
    doc["sequential"] = sequential.PLAN_NAME
    ledger.update_spec(study_id, doc)
    return look
