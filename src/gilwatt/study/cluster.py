"""Run a study across the hosts of a Dask cluster (the worker side is study/remote.py).

Each host is its own study in the one store: its own replicates of every cell, its cells
fitted to its usable CPUs (every worker count up to them, plus the smallest one above, the
oversubscribed cell), so every paired ratio is within a host and no result of two hosts is
pooled. The unit of work and of retry is a block on one host; a host has at most one block in
flight (and the block holds the host's lock while it runs), so hosts run in parallel and a
host measures one run at a time. The client is the only writer of the store: a block comes
back as the bytes of the worker's own store and is copied in; a run already final in the
ledger is not copied again. Killing the client loses only blocks in flight; the same command
resumes. Nothing here prints: progress goes through ``on_event``.
"""

from __future__ import annotations

import contextlib
import importlib
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gilwatt import __version__
from gilwatt.errors import ClusterError, GilwattError, SchedulerLost
from gilwatt.readback import InterpreterInfo
from gilwatt.store import Store
from gilwatt.study.ledger import FINAL_STATUSES, Ledger
from gilwatt.study.matrix import Cell, PlannedRun, parse_rerun
from gilwatt.study.progress import EventFn, StudyEvent
from gilwatt.study.remote import BlockResult, BlockRun, BlockTask, HostFacts, PairWanted
from gilwatt.study.resolve import InterpreterLike, ResolvedStudy
from gilwatt.study.runner import _lock_store
from gilwatt.study.session import Session, open_session

CONNECT_TIMEOUT_S = 10.0
POLL_S = 0.5
SCHEDULER_GRACE_S = 10.0  # a scheduler silent this long is gone
NO_ANSWER = "did not answer"
DESCRIBE_TRIES = 3  # a worker that joins mid-study is asked this often before it is left out


@dataclass(frozen=True)
class ClusterOptions:
    address: str | None = None
    scheduler_file: str | None = None
    worker_wait_s: float = 30.0  # for the first worker to join
    host_wait_s: float = 120.0  # for a host whose workers all left to come back
    describe_timeout_s: float = 120.0
    provision: bool = False  # --provision-workers
    max_attempts: int = 3  # of one block (a worker died under it each time)

    def where(self) -> str:
        return self.address or f"the scheduler in {self.scheduler_file}"


@dataclass
class HostOutcome:
    facts: HostFacts
    study_id: int
    planned: int
    counts: dict[str, int]
    blocks_done: int = 0
    elapsed_s: float = 0.0
    lost: list[str] = field(default_factory=list)


@dataclass
class ClusterOutcome:
    store_path: Path
    hosts: list[HostOutcome]
    skipped: list[str]  # one line per host left out
    launched: int
    elapsed_s: float
    notes: list[str] = field(default_factory=list)


@dataclass
class _Host:
    facts: HostFacts
    study: ResolvedStudy
    session: Session
    units: list[tuple[str, ...]]  # pending blocks, in run order
    workers: set[str]
    planned: dict[str, PlannedRun]
    total: int
    started: float = field(default_factory=time.monotonic)
    block_s: list[float] = field(default_factory=list)
    gone_since: float | None = None
    attempts: dict[tuple[str, ...], int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    done: int = 0  # runs with a final status

    @property
    def name(self) -> str:
        return self.facts.hostname

    def eta_s(self) -> float | None:
        if not self.block_s:
            return None
        return sum(self.block_s) / len(self.block_s) * len(self.units)


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


def dask() -> Any:
    """The distributed package (untyped: reached through Any), or ClusterError."""
    try:
        return importlib.import_module("distributed")
    except ImportError:  # distributed is the optional 'cluster' extra, not a gilwatt module
        raise ClusterError(
            "--scheduler needs Dask's distributed package.",
            hint="pip install 'gilwatt[cluster]'",
        ) from None


def connect(options: ClusterOptions) -> Any:
    """A distributed.Client, or ClusterError with the fix."""
    client_class = dask().Client
    if options.address:
        _reachable(options)
    try:
        if options.scheduler_file:
            if not Path(options.scheduler_file).is_file():
                raise ClusterError(f"scheduler file {options.scheduler_file}: not found.")
            return client_class(scheduler_file=options.scheduler_file, timeout=CONNECT_TIMEOUT_S)
        return client_class(options.address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {options.where()} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no answer'}).",
            hint="Check the address (tcp://HOST:8786) and that `dask scheduler` runs there.",
        ) from None
    except Exception as exc:  # it answered, but not as a Dask scheduler does (e.g. MemoryError)
        raise ClusterError(
            f"{options.where()} did not answer as a Dask scheduler ({type(exc).__name__}).",
            hint="Check the address and port: `dask scheduler` prints its tcp:// address.",
        ) from None


def _reachable(options: ClusterOptions) -> None:
    """Fail at once on a refused or unresolvable tcp:// address (Dask would retry until its
    timeout); any other address is left to Dask."""
    address = options.address or ""
    if not address.startswith("tcp://"):
        return
    host, _, port = address[len("tcp://") :].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} ({_why(exc)}).",
            hint="Check the address (tcp://HOST:8786) and that `dask scheduler` runs there.",
        ) from None


def _why(exc: OSError | ValueError) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, ValueError):
        return "not HOST:PORT"
    return str(exc) or type(exc).__name__


def run_cluster_study(
    study: ResolvedStudy,
    store_path: Path,
    options: ClusterOptions,
    *,
    force_new: bool = False,
    on_event: EventFn | None = None,
    on_warning: Callable[[str], None] | None = None,
    files: tuple[dict[str, bytes], tuple[str, ...]] = ({}, ()),
) -> ClusterOutcome:
    """Run (or resume) ``study`` on every eligible host of the cluster; see the module docstring."""
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
        self.hosts: dict[str, _Host] = {}  # fingerprint -> host
        self.skipped: list[str] = []
        self.notes: list[str] = []
        self.launched = 0
        self.tag = uuid.uuid4().hex[:8]
        self.describe_tries: dict[str, int] = {}

    # -- workers and hosts ----------------------------------------------------------------

    def _workers(self) -> set[str]:
        try:
            info = self.client.scheduler_info()
        except Exception as exc:
            raise self._lost(exc) from None
        return set(info.get("workers", {}))

    def _lost(self, exc: BaseException | None = None) -> SchedulerLost:
        why = f" ({type(exc).__name__})" if exc else ""
        return SchedulerLost(
            f"lost the Dask scheduler at {self.options.where()}{why}; every finished run is "
            f"saved in {self.store_path}.",
            hint="Restart the scheduler and workers, then run the same command again to resume.",
        )

    def _describe(self, workers: set[str]) -> None:
        from gilwatt.study.remote import describe, provision_pair

        if self.options.provision:
            futures = {
                w: self.client.submit(provision_pair, self.wanted.version, workers=[w],
                                      allow_other_workers=False, pure=False)
                for w in workers
            }  # fmt: skip
            for w, fut in futures.items():
                try:
                    self.note(f"{w}: {fut.result()}")
                except GilwattError as exc:
                    self.note(f"{w}: could not provision the pair: {exc}")
        futures = {
            w: self.client.submit(
                describe, self.wanted, workers=[w], allow_other_workers=False, pure=False,
                key=f"gilwatt-describe-{self.tag}-{uuid.uuid4().hex[:8]}",
            )
            for w in workers
        }  # fmt: skip
        deadline = time.monotonic() + self.options.describe_timeout_s
        while any(not f.done() for f in futures.values()) and time.monotonic() < deadline:
            alive = self._workers()
            for w, fut in futures.items():
                if not fut.done() and w not in alive:  # it left: its task would wait forever
                    fut.cancel()
            time.sleep(POLL_S / 5)
        for w, fut in futures.items():
            try:
                self.facts[w] = fut.result(timeout=0.1)
            except Exception as exc:  # a worker that cannot answer is left out
                fut.cancel()
                why = f"{type(exc).__name__}{': ' + str(exc) if str(exc) else ''}"
                self.facts[w] = HostFacts(w, "?", "", w, "", 0, 0, 0, {}, {},
                                          problem=f"{NO_ANSWER} ({why})")  # fmt: skip

    def _eligible(self, facts: HostFacts) -> str:
        if facts.gilwatt_version != __version__:
            return f"gilwatt {facts.gilwatt_version} on the worker, {__version__} here"
        return facts.problem

    def plan_hosts(self, force_new: bool, ledger: Ledger) -> None:
        workers = self._workers()
        self._describe(workers)
        by_host: dict[str, list[HostFacts]] = {}
        for w in sorted(workers):
            facts = self.facts[w]
            problem = self._eligible(facts)
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
            self.hosts[fp] = self._host(group, ledger, force_new)

    def _host(self, group: list[HostFacts], ledger: Ledger, force_new: bool) -> _Host:
        facts = group[0]
        study = host_study(self.study, facts)
        session = _open_host_session(ledger, study, self.store_path, force_new)
        planned = {r.run_key: r for r in session.planned}
        host = _Host(facts, study, session, [], {f.worker for f in group}, planned,
                     len(session.planned))  # fmt: skip
        host.units = self._units(ledger, host)
        return host

    def _units(self, ledger: Ledger, host: _Host) -> list[tuple[str, ...]]:
        return block_units(ledger, host.session.record.study_id, host.planned)

    # -- the loop ---------------------------------------------------------------------------

    def go(self, force_new: bool, started: float) -> ClusterOutcome:
        store = Store.open(self.store_path)
        try:
            with _lock_store(self.store_path):
                ledger = Ledger(store)
                self.plan_hosts(force_new, ledger)
                for host in self.hosts.values():
                    host.done = host.total - self._pending(ledger, host)
                    self.emit("start", host, message=f"{host.total} runs, {host.done} already finished "
                              f"({host.facts.usable_cpus} usable CPUs, {len(host.workers)} worker(s))")  # fmt: skip
                self._loop(store, ledger)
                outcomes = [self._outcome(ledger, h) for h in self.hosts.values()]
        finally:
            store.close()
        return ClusterOutcome(self.store_path, outcomes, self.skipped, self.launched,
                              time.monotonic() - started, self.notes)  # fmt: skip

    def _loop(self, store: Store, ledger: Ledger) -> None:
        wait = dask().wait
        flight: dict[str, tuple[Any, tuple[str, ...], str, float]] = {}
        silent_since: float | None = None
        while any(h.units for h in self.hosts.values()) or flight:
            workers = self._workers_or_none()
            if workers is None:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > SCHEDULER_GRACE_S:
                    raise self._lost()
                time.sleep(POLL_S)
                continue
            silent_since = None
            self._adopt_new_workers(workers)
            for fp, host in self.hosts.items():
                if fp in flight:
                    future, unit, worker, _began = flight[fp]
                    if worker not in workers:  # died mid-block: only this block is lost
                        with contextlib.suppress(Exception):
                            future.cancel()
                        del flight[fp]
                        host.units.insert(0, unit)
                        self.note(f"{host.name}: worker {worker} left during a block; "
                                  "the block runs again on this host")  # fmt: skip
                    continue
                self._submit(host, fp, workers, flight)
            futures = [f for f, *_ in flight.values()]
            if not futures:
                time.sleep(POLL_S)
                continue
            try:
                wait(futures, timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            except Exception as exc:
                raise self._lost(exc) from None
            for fp, (future, unit, worker, began) in list(flight.items()):
                if future.done():
                    del flight[fp]
                    self._finished(store, ledger, self.hosts[fp], future, unit, worker, began)

    def _workers_or_none(self) -> set[str] | None:
        if self.client.status not in ("running", "connecting"):
            raise self._lost()
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
        self._describe(new)
        for w in new:
            facts = self.facts[w]
            tries = self.describe_tries[w] = self.describe_tries.get(w, 0) + 1
            if facts.problem.startswith(NO_ANSWER) and tries < DESCRIBE_TRIES:
                del self.facts[w]  # a worker still starting up: ask again next round
                continue
            host = self.hosts.get(facts.fingerprint)
            problem = self._eligible(facts)
            if host is not None and not problem:
                host.workers.add(w)
                host.gone_since = None
                self.note(f"{host.name}: worker {w} joined")
            else:
                why = problem or "a host not in this study (hosts are fixed at the start)"
                self.note(f"worker {w} ({facts.hostname}) joined, not used: {why}")

    def _submit(
        self,
        host: _Host,
        fp: str,
        workers: set[str],
        flight: dict[str, tuple[Any, tuple[str, ...], str, float]],
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
            self.files[0], self.files[1],
        )  # fmt: skip
        worker = live[0]
        future = self.client.submit(
            run_block, task, workers=[worker], allow_other_workers=False, pure=False,
            key=f"gilwatt-block-{self.tag}-{uuid.uuid4().hex[:12]}",
        )  # fmt: skip
        flight[fp] = (future, unit, worker, time.monotonic())
        first = host.planned[next(k for k in unit if not _lead_in(host.planned[k]))]
        self.emit(
            "block", host, message=f"replicate {first.block} {first.cell.label()} on {worker}"
        )

    def _finished(
        self,
        store: Store,
        ledger: Ledger,
        host: _Host,
        future: Any,
        unit: tuple[str, ...],
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
        self._store(store, ledger, host, result)
        host.block_s.append(time.monotonic() - began)

    def _store(self, store: Store, ledger: Ledger, host: _Host, result: BlockResult) -> None:
        study_id = host.session.record.study_id
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

    def _pending(self, ledger: Ledger, host: _Host) -> int:
        rows = ledger.rows(host.session.record.study_id)
        return sum(1 for r in rows if r.run_key in host.planned and r.status not in FINAL_STATUSES)

    def _outcome(self, ledger: Ledger, host: _Host) -> HostOutcome:
        counts: dict[str, int] = {}
        for row in ledger.rows(host.session.record.study_id):
            if row.run_key in host.planned:
                counts[row.status] = counts.get(row.status, 0) + 1
        return HostOutcome(host.facts, host.session.record.study_id, host.total, counts,
                           len(host.block_s), time.monotonic() - host.started, host.lost)  # fmt: skip

    def emit(self, kind: str, host: _Host, **fields: Any) -> None:
        self.emit_fn(StudyEvent(kind, host.done, host.total, eta_s=host.eta_s(),
                                host=host.name, **fields))  # fmt: skip

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.emit_fn(StudyEvent("note", 0, 0, message=message))


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
        if _lead_in(run):
            lead.setdefault(run.block, []).append(run.run_key)
            continue
        key = (run.block, run.cell)
        if key not in groups:
            groups[key] = [*lead.pop(run.block, [])]
        groups[key].append(run.run_key)
    units = []
    for keys in groups.values():
        pending = [k for k in keys if status.get(k) == "pending"]
        lead_in = [k for k in pending if _lead_in(planned[k])]
        if len(lead_in) < len(pending):
            units.append(tuple(keys))
            continue
        for k in lead_in:  # its measured runs all finished earlier
            status_of = "priming" if planned[k].priming else "sentinel"
            ledger.set_status(study_id, k, status_of, "not run: its block had finished")
    return units


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


def host_study(study: ResolvedStudy, facts: HostFacts) -> ResolvedStudy:
    """``study`` as ``facts``' host runs it: its cells fitted to the host's usable CPUs, its
    interpreters at the host's paths, the host in the definition."""
    interpreters: dict[str, InterpreterLike] = {
        s: HostInterpreter.of(i, facts.executables[s])
        for s, i in study.interpreters.items()
        if s in facts.executables
    }
    return replace(
        study,
        cells=fit_cells(study.cells, facts.usable_cpus),
        host=facts.descriptor(),
        interpreters=interpreters,
    )


def _lead_in(run: PlannedRun) -> bool:
    """A priming or sentinel run: not a measured run of its block's cell."""
    return run.priming or run.sentinel


def _open_host_session(
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
