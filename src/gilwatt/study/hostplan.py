"""A cluster study's plan for one host: its cells, its interpreters, its study and its blocks.

A host runs every worker count up to its usable CPUs plus the smallest count above them (one
oversubscribed cell per workload and parameters), and only the cells whose estimated peak
memory fits the host: its worker's explicit ``--memory-limit``, else its MemTotal (Dask's
automatic limit, a share of the memory per worker thread, is ignored: a host measures one run
at a time). Each host is its own study in the store; its blocks are the unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gilwatt.readback import InterpreterInfo
from gilwatt.study.ledger import Ledger
from gilwatt.study.matrix import Cell, PlannedRun, block_seed, replicate
from gilwatt.study.remote import HostFacts, PairWanted
from gilwatt.study.resolve import InterpreterLike, ResolvedStudy
from gilwatt.study.session import Session, open_session
from gilwatt.units import format_bytes


@dataclass(frozen=True)
class HostInterpreter:
    """A host's interpreter as the client's ledger names it: the host's path, the client's
    pair's identity (the worker checked that they match)."""

    name: str
    executable: str
    version: str
    implementation: str
    free_threaded: bool
    error: str | None = None

    @classmethod
    def of(cls, client: InterpreterLike, executable: str) -> HostInterpreter:
        return cls(client.name, executable, client.version, client.implementation,
                   client.free_threaded)  # fmt: skip

    def info(self) -> InterpreterInfo:
        return InterpreterInfo(self.executable, self.version, self.implementation,
                               self.free_threaded, not self.free_threaded)  # fmt: skip


def wanted_pair(study: ResolvedStudy) -> PairWanted:
    """What every host's pair must match: the client's resolved pair."""
    gil = study.interpreters.get("gil") or next(iter(study.interpreters.values()))
    flags = None
    if hasattr(gil, "config_args"):
        from gilwatt.interpreters.discovery import normalised_flags

        flags = tuple(normalised_flags(gil))  # type: ignore[arg-type]
    return PairWanted(gil.version, flags)


def fit_cells(cells: Sequence[Cell], usable_cpus: int) -> tuple[Cell, ...]:
    """The cells a host with ``usable_cpus`` runs: worker counts up to its CPUs, plus the
    smallest count above them (one oversubscribed cell per workload and parameters)."""
    over: dict[tuple[str, str], int] = {}
    for c in cells:
        if c.workers > usable_cpus:
            key = (c.workload, c.params_json)
            over[key] = min(over.get(key, c.workers), c.workers)
    return tuple(
        c
        for c in cells
        if c.workers <= usable_cpus or over.get((c.workload, c.params_json)) == c.workers
    )


def memory_of(facts: HostFacts) -> tuple[int, str]:
    """The memory one run may use on the host of ``facts`` (0: unknown) and what it is."""
    if facts.memory_limit_bytes:
        return facts.memory_limit_bytes, "the worker's --memory-limit"
    return facts.memory_bytes, "MemTotal"


def fit_memory(study: ResolvedStudy, cells: Sequence[Cell], facts: HostFacts) -> tuple[Cell, ...]:
    """The ``cells`` whose estimated peak memory fits the host (all of them when either the
    host's memory or a cell's estimate is unknown)."""
    limit, _what = memory_of(facts)
    return tuple(c for c in cells if not limit or _need(study, c) <= limit)


def left_out(study: ResolvedStudy, facts: HostFacts, left: Sequence[Cell]) -> str:
    """The cells the host's memory leaves out, for its one warning line."""
    limit, what = memory_of(facts)
    shown = ", ".join(f"{c.label()} (~{format_bytes(_need(study, c))})" for c in left)
    return (
        f"{len(left)} cell(s) left out, their estimated peak memory above "
        f"{format_bytes(limit)} ({what}): {shown}"
    )


def _need(study: ResolvedStudy, cell: Cell) -> int:
    workload = study.workloads.get(cell.workload)
    estimate = getattr(workload, "estimate", None)
    if estimate is None:
        return 0
    need = estimate(cell.params, cell.workers)
    return int(need) if need is not None else 0


def host_study(study: ResolvedStudy, facts: HostFacts) -> ResolvedStudy:
    """``study`` as ``facts``' host runs it: its cells fitted to the host's usable CPUs and
    memory, its interpreters at the host's paths, the host in the definition."""
    interpreters: dict[str, InterpreterLike] = {
        s: HostInterpreter.of(i, facts.executables[s])
        for s, i in study.interpreters.items()
        if s in facts.executables
    }
    cells = fit_memory(study, fit_cells(study.cells, facts.usable_cpus), facts)
    return replace(study, cells=cells, host=facts.descriptor(), interpreters=interpreters)


def open_host_session(
    ledger: Ledger, study: ResolvedStudy, store_path: Path, force_new: bool
) -> Session:
    """The host's study: resumed if the store has it; else new beside the other hosts'
    studies of this cluster study (same definition but the host), else refused."""
    if ledger.find(study.spec_hash()) is not None:
        return open_session(ledger, study, store_path)
    base = {
        k: v for k, v in study.definition().items() if k not in ("host", "cells", "interpreters")
    }
    others = ledger.studies()
    related = all(
        {k: v for k, v in o.spec.items() if k in base} == base and "host" in o.spec for o in others
    )
    if others and not related and not force_new:
        return open_session(ledger, study, store_path)  # raises StudyMismatch, naming both
    return open_session(ledger, study, store_path, force_new=True)


def block_units(
    ledger: Ledger, study_id: int, planned: dict[str, PlannedRun]
) -> list[tuple[str, ...]]:
    """A host study's blocks with a pending run, in run order: a cell's runs in one replicate
    (reruns included), the replicate's priming and sentinel runs with its first block. A
    lead-in whose block has finished is marked not run."""
    status = {r.run_key: r.status for r in ledger.rows(study_id)}
    groups: dict[tuple[int, Cell], list[str]] = {}
    lead: dict[int, list[str]] = {}
    for run in sorted(planned.values(), key=lambda r: (r.block, r.position)):
        if lead_in(run):
            lead.setdefault(run.block, []).append(run.run_key)
            continue
        key = (run.block, run.cell)
        if key not in groups:
            groups[key] = [*lead.pop(run.block, [])]
        groups[key].append(run.run_key)
    units = []
    for keys in groups.values():
        pending = [k for k in keys if status.get(k) == "pending"]
        leading = [k for k in pending if lead_in(planned[k])]
        if len(leading) < len(pending):
            units.append(tuple(keys))
            continue
        for k in leading:  # its measured runs all finished earlier
            status_of = "priming" if planned[k].priming else "sentinel"
            ledger.set_status(study_id, k, status_of, "not run: its block had finished")
    return units


def plan_replicate(
    ledger: Ledger, study: ResolvedStudy, study_id: int, block: int
) -> list[PlannedRun]:
    """Plan replicate ``block`` of an auto study (after a look that goes on) as pending runs,
    its seed in the schedule; the runs planned. On the client for the next replicate of a
    host's study, and on a worker so a block of replicate 4+ finds its runs."""
    spec = study.spec
    runs = replicate(study.cells, spec.modes, spec.seed, block, priming=spec.priming,
                     sentinel=spec.sentinel)  # fmt: skip
    ledger.plan(study_id, runs, lambda mode: study.interpreter_for(mode).executable)
    doc = dict(ledger.study(study_id).spec)
    schedule = dict(doc.get("schedule", {}))
    schedule["block_seeds"] = {**schedule.get("block_seeds", {}),
                               str(block): block_seed(spec.seed, block)}  # fmt: skip
    doc["schedule"] = schedule
    ledger.update_spec(study_id, doc)
    return runs


def lead_in(run: PlannedRun) -> bool:
    """A priming or sentinel run: not a measured run of its block's cell."""
    return run.priming or run.sentinel
