"""One host of a running cluster study, on the client: its pending blocks, its workers, its
progress, its looks (``--reps auto``: each host stops on its own), and how a finished block
is copied into the one store.

A block comes back as the bytes of the worker's own store; ``store_block`` copies its runs in
(the client is the only writer), and a run already final in the ledger (the block came back
twice) is not copied again. A block with no run of its keys is not done: its keys are still
pending, and the client runs it again.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from gilwatt.store import Store
from gilwatt.study import sequential
from gilwatt.study.hostplan import block_units, plan_replicate
from gilwatt.study.ledger import FINAL_STATUSES, Ledger
from gilwatt.study.matrix import PlannedRun, parse_rerun
from gilwatt.study.remote import BlockResult, BlockRun, HostFacts
from gilwatt.study.resolve import ResolvedStudy
from gilwatt.study.runner import LookFn, look_after
from gilwatt.study.session import Session

Unit = tuple[str, ...]  # a block's run keys


@dataclass
class HostOutcome:
    facts: HostFacts
    study_id: int
    planned: int
    counts: dict[str, int]
    blocks_done: int = 0
    elapsed_s: float = 0.0
    lost: list[str] = field(default_factory=list)
    stopped: str = ""  # why an adaptive host study stopped


@dataclass
class HostState:
    facts: HostFacts
    study: ResolvedStudy
    session: Session
    units: list[Unit]  # pending blocks, in run order
    workers: set[str]
    planned: dict[str, PlannedRun]
    total: int
    started: float = field(default_factory=time.monotonic)
    block_s: list[float] = field(default_factory=list)
    gone_since: float | None = None
    attempts: dict[Unit, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    done: int = 0  # runs with a final status
    stopped: str = ""  # why its adaptive study stopped ('' while it goes on)

    @property
    def name(self) -> str:
        return self.facts.hostname

    @property
    def study_id(self) -> int:
        return self.session.record.study_id

    def eta_s(self) -> float | None:
        if not self.block_s:
            return None
        return sum(self.block_s) / len(self.block_s) * len(self.units)

    def replicate_of(self, unit: Unit) -> int:
        return max(self.planned[k].block for k in unit if k in self.planned)

    def last_replicate(self) -> int:
        return max((r.block for r in self.planned.values()), default=0)

    def pending(self, ledger: Ledger) -> int:
        rows = ledger.rows(self.study_id)
        return sum(1 for r in rows if r.run_key in self.planned and r.status not in FINAL_STATUSES)

    def outcome(self, ledger: Ledger) -> HostOutcome:
        counts: dict[str, int] = {}
        for row in ledger.rows(self.study_id):
            if row.run_key in self.planned:
                counts[row.status] = counts.get(row.status, 0) + 1
        return HostOutcome(self.facts, self.study_id, self.total, counts, len(self.block_s),
                           time.monotonic() - self.started, self.lost, self.stopped)  # fmt: skip

    def replicate_s(self) -> float | None:
        """The typical wall time of one replicate on this host (its blocks so far)."""
        if not self.block_s:
            return None
        cells = len({r.cell for r in self.planned.values() if not (r.priming or r.sentinel)})
        return sum(self.block_s) / len(self.block_s) * max(1, cells)


def look_and_extend(
    store: Store,
    ledger: Ledger,
    host: HostState,
    look_fn: LookFn,
    note: Callable[[str], None],
) -> sequential.Look | None:
    """With ``--reps auto``, once every block of the host's last replicate is done: the local
    runner's look on the host's study (study.runner.look_after, recorded in its spec); it
    stops the host (``host.stopped``) or plans the host's next replicate. None: no look due
    (a fixed study, a host stopped or with blocks still to run or lost)."""
    spec = host.study.spec
    if not spec.reps_auto or host.stopped or host.units or host.lost:
        return None
    block = host.last_replicate()
    status = {r.run_key: r.status for r in ledger.rows(host.study_id)}
    last = [k for k, r in host.planned.items() if r.block == block]
    if block < sequential.FIRST_LOOK or any(status.get(k, "pending") == "pending" for k in last):
        return None
    budget_left_s = None
    if spec.budget_ns:
        budget_left_s = spec.budget_ns / 1e9 - (time.monotonic() - host.started)
    look = look_after(ledger, store, host.study, host.study_id, block, look_fn,
                      budget_left_s=budget_left_s, replicate_s=host.replicate_s(), note=note)  # fmt: skip
    if look.stop:
        host.stopped = look.stop
        return look
    runs = plan_replicate(ledger, host.study, host.study_id, block + 1)
    host.planned.update((r.run_key, r) for r in runs)
    host.total += len(runs)
    host.units = block_units(ledger, host.study_id, host.planned)
    return look


def look_line(look: sequential.Look) -> str:
    """A look as the local study's progress shows it."""
    shown = ", ".join(f"{n}: {v}" for n, v in sorted(look.verdicts.items())) or "none"
    return (
        f"look after replicate {look.replicate} (alpha {look.alpha:.2g}, spent "
        f"{look.spent:.2g} of {sequential.ALPHA:g}): {shown}"
        + (f"; stop: {look.stop}" if look.stop else "")
    )


def store_block(
    store: Store,
    ledger: Ledger,
    study_id: int,
    planned: dict[str, PlannedRun],
    study: ResolvedStudy,
    result: BlockResult,
) -> list[BlockRun]:
    """Copy a block's runs into the study's store; the runs stored. A run already final in
    the ledger (the block came back twice) is not copied again. Reruns of disturbed runs
    the worker added are planned here too (and added to ``planned``)."""
    status = {r.run_key: r.status for r in ledger.rows(study_id)}
    fresh = [r for r in result.runs if status.get(r.run_key, "pending") == "pending"]
    for r in fresh:
        base, attempt = parse_rerun(r.run_key)
        if attempt and r.run_key not in planned and base in planned:
            again = replace(planned[base], position=r.position, attempt=attempt)
            ledger.plan(study_id, [again], lambda m: study.interpreter_for(m).executable)
            planned[again.run_key] = again
    judged = {r.run_id for r in result.runs if r.run_id is not None}
    keep = {r.run_id for r in fresh if r.run_id is not None}
    # idle baselines and other study runs of the block's store go along with the block
    keep |= {i for i in result.run_ids if i not in judged} if fresh else set()
    with tempfile.NamedTemporaryFile(prefix="gilwatt-block-", suffix=".db") as tmp:
        tmp.write(result.store)
        tmp.flush()
        ids = store.import_runs(Path(tmp.name), keep, study_id=study_id, executor=result.worker)
    for r in fresh:
        new_id = ids.get(r.run_id) if r.run_id is not None else None
        ledger.set_status(study_id, r.run_key, r.status, r.reason, new_id)
    return fresh
