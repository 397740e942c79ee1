"""What a Dask worker runs for a cluster study (the client side is study/cluster.py).

Two tasks. ``describe`` says what the worker's host is (its fingerprint, CPUs, memory) and
which matched GIL / free-threaded pair it would run, checked against the client's pair.
``run_block`` runs one block (a cell's modes in one replicate, with the replicate's priming
runs if it is the first) through the local runner into a store of its own, under a lock held
per host so a host measures one run at a time whatever its number of workers, and returns
that store's bytes for the client to copy in: the client is the one writer of the study.
Nothing here needs the client's files: the spec travels pickled, user workload files as bytes.
"""

from __future__ import annotations

import importlib
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gilwatt import __version__, hostinfo
from gilwatt.errors import ClusterError, ConfigError
from gilwatt.readback import HostInfo
from gilwatt.store import Store
from gilwatt.store.writer import host_fingerprint
from gilwatt.study.ledger import Ledger
from gilwatt.study.matrix import Cell, parse_rerun
from gilwatt.study.resolve import InterpreterLike, ResolvedStudy
from gilwatt.study.sequential import FIRST_LOOK
from gilwatt.study.spec import StudySpec

LOCK_PREFIX = "gilwatt-host:"
LOCK_POLL_S = 5.0  # how often a block waiting for its host's lock says it is still alive


@dataclass(frozen=True)
class PairWanted:
    """The client's pair: a worker's pair must have this version and these normalised
    configure flags (``--disable-gil`` and the install prefix left out)."""

    version: str
    flags: tuple[str, ...] | None  # None: the client could not read its own flags


@dataclass(frozen=True)
class HostFacts:
    """One worker's answer to ``describe``."""

    worker: str
    gilwatt_version: str
    fingerprint: str
    hostname: str
    cpu_model: str
    logical_cpus: int
    usable_cpus: int
    memory_bytes: int
    executables: Mapping[str, str]  # slot -> path; empty when there is no matching pair
    checksums: Mapping[str, str]  # slot -> sha256 of the executable
    problem: str = ""  # why this host cannot run the study ('' when it can)
    memory_limit_bytes: int = 0  # the worker's explicit --memory-limit (0: none, or Dask's auto)

    def descriptor(self) -> dict[str, Any]:
        """The host as a study definition names it (stable across sessions)."""
        limit = {"memory_limit_bytes": self.memory_limit_bytes} if self.memory_limit_bytes else {}
        return {
            "fingerprint": self.fingerprint,
            "hostname": self.hostname,
            "cpu_model": self.cpu_model,
            "logical_cpus": self.logical_cpus,
            "usable_cpus": self.usable_cpus,
            "memory_bytes": self.memory_bytes,
            **limit,
            "interpreters": {s: {"executable": e, "sha256": self.checksums.get(s, "")}
                             for s, e in sorted(self.executables.items())},
        }  # fmt: skip


@dataclass(frozen=True)
class BlockTask:
    """One block for one host."""

    gilwatt_version: str
    spec: StudySpec
    host: Mapping[str, Any]  # HostFacts.descriptor()
    cells: tuple[Cell, ...]  # the host's cells (the whole study: the run keys name them)
    keys: tuple[str, ...]  # the block's run keys
    files: Mapping[str, bytes]  # user workload files by relative path
    workload_files: tuple[str, ...]  # which of them are workload TOML files
    replicate: int = 0  # the block's replicate: an auto study's worker plans up to it


@dataclass(frozen=True)
class BlockRun:
    run_key: str
    status: str
    reason: str
    run_id: int | None  # in the block's own store
    position: int


@dataclass(frozen=True)
class BlockResult:
    worker: str
    fingerprint: str
    runs: tuple[BlockRun, ...]
    run_ids: tuple[int, ...]  # every run the block's store holds (with idle baselines)
    store: bytes
    notes: tuple[str, ...]
    began_unix_ns: int
    ended_unix_ns: int


def worker_address() -> str:
    get_worker = importlib.import_module("distributed").get_worker
    try:
        return str(get_worker().address)
    except ValueError:  # called outside a worker (tests of this module)
        return "local"


def explicit_memory_limit() -> int:
    """This worker's memory limit if one was given (``dask worker --memory-limit``); 0 for
    none or Dask's automatic one (a share of the memory per thread, not what one run may use)."""
    distributed = importlib.import_module("distributed")
    try:
        worker = distributed.get_worker()
    except ValueError:  # called outside a worker
        return 0
    limit = worker.memory_manager.memory_limit
    parse = importlib.import_module("distributed.worker_memory").parse_memory_limit
    auto = parse("auto", worker.state.nthreads, logger=logging.getLogger(__name__))
    return int(limit) if limit and limit != auto else 0


def this_host() -> tuple[HostInfo, str]:
    host = hostinfo.collect()
    return host, host_fingerprint(host)


def describe(wanted: PairWanted) -> HostFacts:
    """This worker's host and its pair matching ``wanted`` (``problem`` says why not)."""
    host, fp = this_host()
    usable = hostinfo.usable_cpus(host.logical_cpus, host.extra)
    facts = HostFacts(
        worker_address(), __version__, fp, host.hostname, host.cpu_model, host.logical_cpus,
        usable, host.memory_bytes, {}, {}, memory_limit_bytes=explicit_memory_limit(),
    )  # fmt: skip
    pair, problem = find_pair(wanted)
    if pair is None:
        return replace(facts, problem=problem)
    from gilwatt.interpreters.checksums import file_sha256

    executables = {"gil": pair[0].executable, "ft": pair[1].executable}
    sums = {s: file_sha256(Path(os.path.realpath(e))) for s, e in executables.items()}
    return replace(facts, executables=executables, checksums=sums)


def find_pair(wanted: PairWanted) -> tuple[tuple[Any, Any] | None, str]:
    """The matched pair of ``wanted.version`` on this host, or (None, why not)."""
    from gilwatt.interpreters import matched_pair
    from gilwatt.interpreters.discovery import normalised_flags

    pair = matched_pair(wanted.version)
    if pair is None:
        return None, f"no matched CPython {wanted.version} GIL / free-threaded pair"
    gil, ft = pair
    if gil.free_threaded or not ft.free_threaded:
        return None, "the pair's Py_GIL_DISABLED values are not 0 and 1"
    if wanted.flags is not None:
        for interp in (gil, ft):
            flags = tuple(normalised_flags(interp))
            if flags != wanted.flags:
                return None, (
                    f"{interp.executable} was configured differently from the client's pair "
                    f"({' '.join(flags) or 'no flags'} vs {' '.join(wanted.flags) or 'no flags'})"
                )
    return pair, ""


def provision_pair(version: str) -> str:
    """Build the pair of ``version`` on this host (``--provision-workers``); what was done
    (nothing when the host's cache has the pair)."""
    from gilwatt.interpreters import provision

    kinds: list[str] = []
    gil, ft = provision(version, progress=lambda event: kinds.append(event.step))
    if kinds[:1] == ["done"]:
        return f"the pair was already provisioned ({gil.executable}, {ft.executable})"
    return f"provisioned {gil.executable} and {ft.executable}"


def run_block(task: BlockTask, lock_timeout_s: float | None = None) -> BlockResult:
    """Run one block on this worker's host, holding the host's lock; see the module docstring."""
    if task.gilwatt_version != __version__:
        raise ClusterError(
            f"worker {worker_address()} runs gilwatt {__version__}, the client {task.gilwatt_version}.",
            hint="Install the same gilwatt on every worker.",
        )
    _host, fp = this_host()
    if fp != task.host["fingerprint"]:
        raise ClusterError(f"worker {worker_address()} is not on host {task.host['hostname']}.")
    lock = importlib.import_module("distributed").Lock(LOCK_PREFIX + fp)
    waited = 0.0
    while not lock.acquire(timeout=LOCK_POLL_S):
        waited += LOCK_POLL_S
        if lock_timeout_s is not None and waited >= lock_timeout_s:
            raise ClusterError(f"host {task.host['hostname']}: its lock was busy for {waited:g}s.")
    try:
        return _run_locked(task, fp)
    finally:
        lock.release()


def _plan_through(study: ResolvedStudy, store_path: Path, block: int) -> None:
    """Plan replicate ``block`` of an auto study in the block's store (a new session plans
    only the first look's replicates; without this a block of replicate 4+ runs nothing)."""
    from gilwatt.study.hostplan import plan_replicate
    from gilwatt.study.session import open_session

    with Store.open(store_path) as store:
        ledger = Ledger(store)
        session = open_session(ledger, study, store_path)
        plan_replicate(ledger, study, session.record.study_id, block)


def _run_locked(task: BlockTask, fp: str) -> BlockResult:
    from gilwatt.interpreters import probe
    from gilwatt.study.runner import run_study
    from gilwatt.workloads import registry

    began = time.time_ns()
    with tempfile.TemporaryDirectory(prefix="gilwatt-block-") as tmp:
        root = Path(tmp)
        for name, data in task.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        workloads = registry([root / name for name in task.workload_files])
        needed = {c.workload for c in task.cells}
        missing = needed - set(workloads)
        if missing:
            raise ConfigError(
                f"workloads {sorted(missing)} are unknown on {task.host['hostname']}."
            )
        executables = {s: i["executable"] for s, i in task.host["interpreters"].items()}
        interpreters: dict[str, InterpreterLike] = {s: probe(e) for s, e in executables.items()}
        study = ResolvedStudy(
            task.spec,
            interpreters,
            {n: workloads[n] for n in sorted(needed)},
            task.cells,
            host=task.host,
        )
        store_path = root / "block.db"
        Store.open(store_path).close()
        if task.spec.reps_auto and task.replicate > FIRST_LOOK:
            _plan_through(study, store_path, task.replicate)
        outcome = run_study(
            study, store_path, only_keys=task.keys, usable_cpus=int(task.host["usable_cpus"])
        )
        with Store.open(store_path) as store:
            rows = Ledger(store).rows(outcome.study_id)
            runs = tuple(
                BlockRun(r.run_key, r.status, r.reason, r.run_id, r.position)
                for r in rows
                if parse_rerun(r.run_key)[0] in task.keys
            )
            run_ids = tuple(store.run_ids(outcome.study_id))
        data = store_path.read_bytes()
    return BlockResult(
        worker_address(), fp, runs, run_ids, data, tuple(outcome.notes), began, time.time_ns()
    )
