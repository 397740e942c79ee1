"""Run a study across the hosts of a Dask cluster (the worker side is study/remote.py).

Each host is its own study in the one store: its own replicates of every cell, its cells
fitted to its usable CPUs and memory (study/hostplan.py), so every paired ratio is within a
host and no result of two hosts is pooled. The unit of work and of retry is a block on one
host; a host has at most one block in flight (and the block holds the host's lock while it
runs), so hosts run in parallel and a host measures one run at a time. The client is the only
writer of the store (study/hoststate.py copies each block in). Killing the client loses only
blocks in flight; the same command resumes. Nothing here prints: progress goes through
``on_event``.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilwatt import __version__
from gilwatt.errors import ClusterError, GilwattError, SchedulerLost
from gilwatt.store import Store
from gilwatt.study.hostplan import (
    block_units,
    fit_cells,
    host_study,
    lead_in,
    left_out,
    open_host_session,
    wanted_pair,
)
from gilwatt.study.hoststate import (
    HostOutcome,
    HostState,
    Unit,
    look_and_extend,
    look_line,
    store_block,
)
from gilwatt.study.ledger import FINAL_STATUSES, Ledger
from gilwatt.study.progress import EventFn, StudyEvent
from gilwatt.study.remote import BlockResult, BlockTask, HostFacts
from gilwatt.study.resolve import ResolvedStudy
from gilwatt.study.runner import LookFn, _lock_store
from gilwatt.study.scheduler import ClusterOptions, connect, dask, live_workers, lost
from gilwatt.study.survey import NO_ANSWER, eligible, survey

POLL_S = 0.5
SCHEDULER_GRACE_S = 10.0  # a scheduler silent this long is gone
DESCRIBE_TRIES = 3  # a worker that joins mid-study is surveyed this often before it is left out

Flight = dict[str, tuple[Any, Unit, str, float]]  # fingerprint -> (future, unit, worker, began)


@dataclass
class ClusterOutcome:
    store_path: Path
    hosts: list[HostOutcome]
    skipped: list[str]  # one line per host left out
    launched: int
    elapsed_s: float
    notes: list[str] = field(default_factory=list)


def run_cluster_study(
    study: ResolvedStudy,
    store_path: Path,
    options: ClusterOptions,
    *,
    force_new: bool = False,
    on_event: EventFn | None = None,
    on_warning: Callable[[str], None] | None = None,
    files: tuple[dict[str, bytes], tuple[str, ...]] = ({}, ()),
    look_fn: LookFn | None = None,
) -> ClusterOutcome:
    """Run (or resume) ``study`` on every eligible host of the cluster; see the module docstring.
    ``look_fn`` as for the local runner: with ``--reps auto`` each host's study takes its own
    looks and stops on its own (without it, its first three replicates)."""
    emit = on_event or (lambda event: None)
    warn = on_warning or (lambda line: None)
    started = time.monotonic()
    client = connect(options)
    try:
        try:
            client.wait_for_workers(1, timeout=options.worker_wait_s)
        except TimeoutError:
            raise ClusterError(
                f"the Dask scheduler at {options.where()} has no workers after "
                f"{options.worker_wait_s:g}s.",
                hint="Start one per host: dask worker ADDRESS --nthreads 1",
            ) from None
        run = _ClusterRun(client, study, store_path, options, emit, warn, files)
        run.look_fn = look_fn
        return run.go(force_new, started)
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=5)


class _ClusterRun:
    def __init__(
        self,
        client: Any,
        study: ResolvedStudy,
        store_path: Path,
        options: ClusterOptions,
        emit: EventFn,
        warn: Callable[[str], None],
        files: tuple[dict[str, bytes], tuple[str, ...]],
    ) -> None:
        self.client, self.study, self.store_path, self.options = client, study, store_path, options
        self.emit_fn, self.warn, self.files = emit, warn, files
        self.wanted = wanted_pair(study)
        self.facts: dict[str, HostFacts] = {}  # worker address -> its answer
        self.hosts: dict[str, HostState] = {}  # fingerprint -> host
        self.skipped: list[str] = []
        self.notes: list[str] = []
        self.launched = 0
        self.tag = uuid.uuid4().hex[:8]
        self.describe_tries: dict[str, int] = {}
        self.look_fn: LookFn | None = None

    # -- workers and hosts ----------------------------------------------------------------

    def _workers(self) -> set[str]:
        try:
            return set(live_workers(self.client))
        except Exception as exc:
            raise lost(self.options, self.store_path, exc) from None

    def _survey(self, workers: set[str], *, provision: bool) -> None:
        try:
            found = survey(self.client, workers, self.wanted, self.options,
                           provision=provision, note=self.note)  # fmt: skip
        except Exception as exc:  # the scheduler could not be asked
            raise lost(self.options, self.store_path, exc) from None
        self.facts.update(found)

    def plan_hosts(self, force_new: bool, ledger: Ledger) -> None:
        workers = self._workers()
        self._survey(workers, provision=self.options.provision)
        by_host: dict[str, list[HostFacts]] = {}
        for w in sorted(workers):
            facts = self.facts[w]
            problem = eligible(facts)
            if problem:
                line = f"host {facts.hostname} (worker {w}) skipped: {problem}"
                self.skipped.append(line)
                self.warn(line)
                continue
            by_host.setdefault(facts.fingerprint, []).append(facts)
        if not by_host:
            raise ClusterError(
                f"no eligible host among the {len(workers)} worker(s) of {self.options.where()}.",
                hint="Each host needs the same gilwatt and a matched pair "
                "(gilwatt interpreters provision, or --provision-workers).",
            )
        for fp, group in sorted(by_host.items(), key=lambda kv: kv[1][0].hostname):
            host = self._host(group, ledger, force_new)
            if host is not None:
                self.hosts[fp] = host
        if not self.hosts:
            raise ClusterError(
                f"no eligible host among the {len(workers)} worker(s) of {self.options.where()}: "
                "no cell fits any host's memory.",
                hint="Use a smaller size (--param, or --preset quick) or hosts with more memory.",
            )

    def _host(self, group: list[HostFacts], ledger: Ledger, force_new: bool) -> HostState | None:
        """The host of ``group``'s workers, planned; None (and one warning) if no cell fits."""
        facts = group[0]
        study = host_study(self.study, facts)
        fitted = fit_cells(self.study.cells, facts.usable_cpus)
        left = [c for c in fitted if c not in study.cells]
        if left:
            why = left_out(self.study, facts, left)
            if study.cells:
                self.warn(f"host {facts.hostname}: {why}")
            else:
                line = f"host {facts.hostname} (worker {facts.worker}) skipped: {why}"
                self.skipped.append(line)
                self.warn(line)
        if not study.cells:
            return None
        session = open_host_session(ledger, study, self.store_path, force_new)
        planned = {r.run_key: r for r in session.planned}
        host = HostState(facts, study, session, [], {f.worker for f in group}, planned,
                         len(session.planned))  # fmt: skip
        host.units = block_units(ledger, host.study_id, planned)
        return host

    # -- the loop ---------------------------------------------------------------------------

    def go(self, force_new: bool, started: float) -> ClusterOutcome:
        store = Store.open(self.store_path)
        try:
            with _lock_store(self.store_path):
                ledger = Ledger(store)
                self.plan_hosts(force_new, ledger)
                for host in self.hosts.values():
                    host.done = host.total - host.pending(ledger)
                    self.emit("start", host, message=f"{host.total} runs, {host.done} already finished "
                              f"({host.facts.usable_cpus} usable CPUs, {len(host.workers)} worker(s))")  # fmt: skip
                self._loop(store, ledger)
                outcomes = [h.outcome(ledger) for h in self.hosts.values()]
        finally:
            store.close()
        return ClusterOutcome(self.store_path, outcomes, self.skipped, self.launched,
                              time.monotonic() - started, self.notes)  # fmt: skip

    def _loop(self, store: Store, ledger: Ledger) -> None:
        wait = dask().wait
        flight: Flight = {}
        silent_since: float | None = None
        while True:
            for fp, host in self.hosts.items():
                if fp not in flight and self.look_fn is not None:
                    note = self._host_note(host)
                    look = look_and_extend(store, ledger, host, self.look_fn, note)
                    if look is not None:
                        self.emit("look", host, message=look_line(look))
            if not any(h.units for h in self.hosts.values()) and not flight:
                break
            workers = self._workers_or_none()
            if workers is None:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > SCHEDULER_GRACE_S:
                    raise lost(self.options, self.store_path)
                time.sleep(POLL_S)
                continue
            silent_since = None
            self._adopt_new_workers(workers)
            self._dispatch(workers, flight)
            futures = [f for f, *_ in flight.values()]
            if not futures:
                time.sleep(POLL_S)
                continue
            try:
                wait(futures, timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            except Exception as exc:
                raise lost(self.options, self.store_path, exc) from None
            for fp, (future, unit, worker, began) in list(flight.items()):
                if future.done():
                    del flight[fp]
                    self._finished(store, ledger, self.hosts[fp], future, unit, worker, began)

    def _dispatch(self, workers: set[str], flight: Flight) -> None:
        """A block to each idle host; a block whose worker left goes back to its host."""
        for fp, host in self.hosts.items():
            if fp not in flight:
                self._submit(host, fp, workers, flight)
                continue
            future, unit, worker, _began = flight[fp]
            if worker not in workers:  # died mid-block: only this block is lost
                with contextlib.suppress(Exception):
                    future.cancel()
                del flight[fp]
                host.units.insert(0, unit)
                self.note(f"{host.name}: worker {worker} left during a block; "
                          "the block runs again on this host")  # fmt: skip

    def _workers_or_none(self) -> set[str] | None:
        if self.client.status not in ("running", "connecting"):
            raise lost(self.options, self.store_path)
        try:
            return self._workers()
        except SchedulerLost:
            return None

    def _adopt_new_workers(self, workers: set[str]) -> None:
        """Workers that joined since the start (a host's worker restarted): describe them
        and add them to their host; a new host is not added mid-study."""
        new = workers - set(self.facts)
        if not new:
            return
        self._survey(new, provision=False)  # a worker joining mid-study is not provisioned
        for w in new:
            facts = self.facts[w]
            tries = self.describe_tries[w] = self.describe_tries.get(w, 0) + 1
            if facts.problem.startswith(NO_ANSWER) and tries < DESCRIBE_TRIES:
                del self.facts[w]  # a worker still starting up: ask again next round
                continue
            host = self.hosts.get(facts.fingerprint)
            problem = eligible(facts)
            if host is not None and not problem:
                host.workers.add(w)
                host.gone_since = None
                self.note(f"{host.name}: worker {w} joined")
            else:
                why = problem or "a host not in this study (hosts are fixed at the start)"
                self.note(f"worker {w} ({facts.hostname}) joined, not used: {why}")

    def _submit(
        self,
        host: HostState,
        fp: str,
        workers: set[str],
        flight: Flight,
    ) -> None:
        from gilwatt.study.remote import run_block

        if not host.units:
            return
        live = sorted(host.workers & workers)
        if not live:
            host.gone_since = host.gone_since or time.monotonic()
            if time.monotonic() - host.gone_since > self.options.host_wait_s:
                lost = f"{host.name}: no worker for {self.options.host_wait_s:g}s; " \
                       f"{len(host.units)} block(s) not run (run the same command again later)"  # fmt: skip
                host.lost.append(lost)
                self.note(lost)
                host.units.clear()
            return
        unit = host.units.pop(0)
        attempts = host.attempts.get(unit, 0) + 1
        host.attempts[unit] = attempts
        if attempts > self.options.max_attempts:
            lost = (
                f"{host.name}: block {unit[-1]} lost its worker {attempts - 1} times; not retried"
            )
            host.lost.append(lost)
            self.note(lost)
            return
        task = BlockTask(
            __version__, self.study.spec, host.study.host or {}, host.study.cells, unit,
            self.files[0], self.files[1], host.replicate_of(unit),
        )  # fmt: skip
        worker = live[0]
        future = self.client.submit(
            run_block, task, workers=[worker], allow_other_workers=False, pure=False,
            key=f"gilwatt-block-{self.tag}-{uuid.uuid4().hex[:12]}",
        )  # fmt: skip
        flight[fp] = (future, unit, worker, time.monotonic())
        first = host.planned[next(k for k in unit if not lead_in(host.planned[k]))]
        self.emit(
            "block", host, message=f"replicate {first.block} {first.cell.label()} on {worker}"
        )

    def _finished(
        self,
        store: Store,
        ledger: Ledger,
        host: HostState,
        future: Any,
        unit: Unit,
        worker: str,
        began: float,
    ) -> None:
        if future.status != "finished":
            exc = future.exception() if future.status == "error" else None
            if isinstance(exc, GilwattError):
                lost = f"{host.name}: block failed on {worker}: {exc}"
                host.lost.append(lost)
                self.note(lost)
                return
            host.units.insert(0, unit)  # killed worker, cancelled: run it again on the host
            self.note(f"{host.name}: block on {worker} ended {future.status}"
                      f"{f' ({type(exc).__name__})' if exc else ''}; it runs again")  # fmt: skip
            return
        result: BlockResult = future.result()
        if not result.runs:  # nothing of the block ran: it is not done
            lost = f"{host.name}: block {unit[-1]} came back from {worker} with no run; not done"
            host.lost.append(lost)
            self.note(lost)
            return
        self._store(store, ledger, host, result)
        host.block_s.append(time.monotonic() - began)

    def _store(self, store: Store, ledger: Ledger, host: HostState, result: BlockResult) -> None:
        study_id = host.study_id
        before = len(host.planned)
        fresh = store_block(store, ledger, study_id, host.planned, host.study, result)
        host.total += len(host.planned) - before  # reruns of disturbed runs
        for r in fresh:
            self.launched += r.run_id is not None
            host.done += r.status in FINAL_STATUSES
            planned = host.planned.get(r.run_key)
            if planned is not None:
                self.emit("run-end", host, run=planned, status=r.status, reason=r.reason)
        for line in result.notes:
            self.note(f"{host.name}: {line}")

    # -- reporting --------------------------------------------------------------------------

    def emit(self, kind: str, host: HostState, **fields: Any) -> None:
        self.emit_fn(StudyEvent(kind, host.done, host.total, eta_s=host.eta_s(),
                                host=host.name, **fields))  # fmt: skip

    def _host_note(self, host: HostState) -> Callable[[str], None]:
        return lambda line: self.note(f"{host.name}: {line}")

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.emit_fn(StudyEvent("note", 0, 0, message=message))
