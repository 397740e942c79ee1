"""Check a StudySpec against what exists, and fix it into a ResolvedStudy.

Everything that can be wrong with a study is found here, before the first run: unknown
workloads, presets, parameters, modes and interpreters, and interpreters whose build does not
fit their mode. Errors name the file and line (or the flag) the bad value came from.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gilwatt.errors import ConfigError
from gilwatt.modes import interpreter_slot
from gilwatt.readback import InterpreterInfo
from gilwatt.study.matrix import Cell, canonical_json
from gilwatt.study.spec import StudySpec, WorkloadEntry

DEFINITION_FORMAT = 1


class InterpreterLike(Protocol):
    """What the study needs of ``gilwatt.interpreters.Interpreter``."""

    @property
    def name(self) -> str: ...
    @property
    def executable(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def implementation(self) -> str: ...
    @property
    def free_threaded(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    def info(self) -> InterpreterInfo: ...


class WorkloadLike(Protocol):
    """What the study needs of ``gilwatt.workloads.Workload``."""

    @property
    def name(self) -> str: ...
    @property
    def params(self) -> Any: ...  # a sequence of parameter descriptions with .name
    @property
    def presets(self) -> Mapping[str, Mapping[str, Any]]: ...
    @property
    def uses_workers(self) -> bool: ...
    @property
    def region(self) -> str: ...
    @property
    def family(self) -> str: ...
    def argv(self, python: str, params: Mapping[str, Any], workers: int) -> list[str]: ...


Resolver = Callable[[str], InterpreterLike]
PairFinder = Callable[[], "tuple[InterpreterLike, InterpreterLike] | None"]


@dataclass(frozen=True)
class ResolvedStudy:
    """A study fixed to concrete interpreters, workloads, parameters and cells."""

    spec: StudySpec
    interpreters: Mapping[str, InterpreterLike]  # slot ("gil" | "ft") -> interpreter
    workloads: Mapping[str, WorkloadLike]
    cells: tuple[Cell, ...]
    # a cluster study's host (fingerprint, name, CPUs): each host is its own study
    host: Mapping[str, Any] | None = None

    def interpreter_for(self, mode: str) -> InterpreterLike:
        return self.interpreters[interpreter_slot(mode)]

    def definition(self) -> dict[str, Any]:
        """What makes two studies the same study (hashed): not reps, cooldown or timeout,
        so a study can be extended with more blocks and resumed with other pauses.

        It is stored as ``studies.spec_json`` with two more keys, ``sessions`` and
        ``schedule``; ``spec_hash`` is the sha256 of ``canonical_json`` of the rest."""
        slots = sorted({interpreter_slot(mode) for mode in self.spec.modes})
        host = {"host": dict(self.host)} if self.host is not None else {}
        return {
            **host,
            "format": DEFINITION_FORMAT,
            "name": self.spec.name,
            "seed": self.spec.seed,
            "modes": list(self.spec.modes),
            "interval_ns": self.spec.interval_ns,
            "interpreters": {
                slot: {
                    "executable": self.interpreters[slot].executable,
                    "implementation": self.interpreters[slot].implementation,
                    "version": self.interpreters[slot].version,
                    "free_threaded": self.interpreters[slot].free_threaded,
                }
                for slot in slots
            },
            "workloads": {
                name: {"family": w.family, "region": w.region}
                for name, w in sorted(self.workloads.items())
            },
            "cells": [
                {"workload": c.workload, "params": c.params, "workers": c.workers}
                for c in sorted(self.cells)
            ],
        }

    def spec_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.definition()).encode()).hexdigest()

    def execution(self) -> dict[str, Any]:
        """Settings that may change between sessions of one study (not hashed)."""
        return {
            "reps": "auto" if self.spec.reps_auto else self.spec.reps,
            "max_reps": self.spec.max_reps,
            "budget_ns": self.spec.budget_ns,
            "calibrate": self.spec.calibrate,
            "cooldown_ns": self.spec.cooldown_ns,
            "idle_baseline_ns": self.spec.idle_baseline_ns,
            "timeout_s": self.spec.timeout_s,
            "priming": self.spec.priming,
            "sentinel": self.spec.sentinel,
            "pin": self.spec.pin,
            "max_foreign_cpu": self.spec.max_foreign_cpu,
            "source": self.spec.origin.source,
        }


def resolve_study(
    spec: StudySpec,
    *,
    python: Sequence[str] | None = None,
    only: Sequence[str] | None = None,
    workloads: Mapping[str, WorkloadLike] | None = None,
    resolver: Resolver | None = None,
    pair_finder: PairFinder | None = None,
) -> ResolvedStudy:
    """Check every name in ``spec`` and expand it to cells; raise ConfigError on the first problem.

    ``python``: names or paths from ``--python`` (they replace the file's interpreters);
    ``only``: the ``--workloads`` subset. The keyword-only mappings and callables default to
    the real registry and interpreter discovery (tests pass stand-ins).
    """
    if workloads is None:
        from gilwatt.workloads import registry

        workloads = registry()
    entries = _select_entries(spec, only, workloads)
    chosen: dict[str, WorkloadLike] = {}
    cells: list[Cell] = []
    for entry in entries:
        workload = _known_workload(spec, entry, workloads)
        chosen[entry.name] = workload
        cells += _cells(spec, entry, workload)
    interpreters = _interpreters(spec, python, resolver, pair_finder)
    return ResolvedStudy(spec, interpreters, chosen, tuple(dict.fromkeys(cells)))


def _select_entries(
    spec: StudySpec, only: Sequence[str] | None, known: Mapping[str, WorkloadLike]
) -> list[WorkloadEntry]:
    entries = (
        list(spec.workloads)
        if spec.workloads is not None
        else [WorkloadEntry(name) for name in sorted(known)]
    )
    if not entries:
        raise ConfigError(
            f"{spec.where('workloads')}: the study has no workloads.", hint="List at least one."
        )
    if only is None:
        return entries
    listed = {entry.name for entry in entries}
    for name in only:
        if name not in listed:
            valid = ", ".join(sorted(listed))
            raise ConfigError(
                f"--workloads ({name}): not a workload of this study.", hint=f"Valid: {valid}."
            )
    return [entry for entry in entries if entry.name in set(only)]


def _known_workload(
    spec: StudySpec, entry: WorkloadEntry, known: Mapping[str, WorkloadLike]
) -> WorkloadLike:
    if entry.name in known:
        return known[entry.name]
    where = spec.where("workloads", entry.name, value=entry.name)
    raise ConfigError(
        f"{where}: unknown workload {entry.name!r}.", hint=f"Valid: {', '.join(sorted(known))}."
    )


def _cells(spec: StudySpec, entry: WorkloadEntry, workload: WorkloadLike) -> list[Cell]:
    """The workload's cells at the spec's preset with the entry's overrides.

    A real Workload expands them itself (sweeps, value ranges, memory limits); its errors get
    the file and line of the workload's table.
    """
    if spec.preset not in workload.presets:
        where = spec.where("preset", value=spec.preset)
        valid = ", ".join(sorted(workload.presets))
        raise ConfigError(
            f"{where}: workload {entry.name!r} has no preset {spec.preset!r}.",
            hint=f"Valid: {valid}.",
        )
    described = {_param_name(p): p for p in workload.params}
    for key in entry.params:
        if key not in described:
            where = spec.where("workloads", entry.name, "params", key)
            valid = ", ".join(sorted(described)) or "(none)"
            raise ConfigError(
                f"{where}: workload {entry.name!r} has no parameter {key!r}.",
                hint=f"Valid: {valid}.",
            )
    workers = _workers(spec, entry, workload)
    expand = getattr(workload, "cells", None)
    if expand is None:
        params = {k: v for k, v in workload.presets[spec.preset].items() if k != "workers"}
        for key, value in entry.params.items():
            where = spec.where("workloads", entry.name, "params", key)
            params[key] = _checked_value(where, entry.name, key, value, described[key])
        return [Cell.of(entry.name, params, n) for n in workers or _preset_workers(spec, workload)]
    try:
        found = expand(spec.preset, overrides=dict(entry.params), workers=workers)
    except ConfigError as exc:
        keys = ("workloads", entry.name, "params", *list(entry.params)[:1])
        raise _located(
            exc, spec.where(*keys) if entry.params else spec.where("workloads", entry.name)
        ) from None
    return [Cell.of(entry.name, cell.params, cell.workers) for cell in found]


def _located(exc: ConfigError, where: str) -> ConfigError:
    exc.message = f"{where}: {exc.message}"
    exc.args = (exc.message,)
    return exc


def _param_name(param: Any) -> str:
    return str(getattr(param, "name", param))


def _checked_value(where: str, workload: str, key: str, value: Any, param: Any) -> Any:
    kind = getattr(param, "type", None)
    if isinstance(kind, str):
        kind = {"int": int, "float": float, "str": str, "bool": bool}.get(kind)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(kind, type) and (
        not isinstance(value, kind) or (kind is int and isinstance(value, bool))
    ):
        raise ConfigError(
            f"{where}: {workload}.{key} ({value!r}): must be of type {kind.__name__}.",
            hint=f"Write e.g. {key} = {_example(kind)}.",
        )
    return value


def _example(kind: type) -> str:
    return {int: "1000", float: "0.5", str: '"text"', bool: "true"}.get(kind, "...")


def _workers(
    spec: StudySpec, entry: WorkloadEntry, workload: WorkloadLike
) -> tuple[int, ...] | None:
    """The worker counts asked for (None: the preset's): --workers, else the workload's
    table, else the file's list. Single-threaded workloads always run with 1."""
    if not workload.uses_workers:
        return (1,)
    if "workers" in spec.origin.flags:  # --workers wins over the file
        return spec.workers
    if entry.workers is not None:
        return entry.workers
    return spec.workers


def _preset_workers(spec: StudySpec, workload: WorkloadLike) -> tuple[int, ...]:
    preset = workload.presets.get(spec.preset, {}).get("workers")
    if isinstance(preset, list | tuple) and preset:
        return tuple(int(n) for n in preset)
    return (1,)


def _interpreters(
    spec: StudySpec,
    python: Sequence[str] | None,
    resolver: Resolver | None,
    pair_finder: PairFinder | None,
) -> dict[str, InterpreterLike]:
    if resolver is None:
        from gilwatt.interpreters import resolve

        resolver = resolve
    needed = sorted({interpreter_slot(mode) for mode in spec.modes})
    if python:
        found = _classify(python, resolver)
        source = "--python"
    elif spec.interpreters:
        found = {}
        for slot, name in spec.interpreters.items():
            interp = _resolved(resolver, name, spec.where("interpreters", slot))
            _check_slot(spec.where("interpreters", slot), slot, interp)
            found[slot] = interp
        source = spec.where("interpreters")
    else:
        found = _matched_pair(pair_finder, needed)
        source = "the discovered matched pair"
    for slot in needed:
        if slot not in found:
            modes = ", ".join(m for m in spec.modes if interpreter_slot(m) == slot)
            build = "a free-threaded" if slot == "ft" else "a GIL-build (default)"
            raise ConfigError(
                f"{source}: mode {modes} needs {build} interpreter and none was given.",
                hint=f"Add one (interpreters.{slot} in the file, or to --python), or drop the mode with --modes.",
            )
    return {slot: found[slot] for slot in needed}


def _resolved(resolver: Resolver, name: str, where: str) -> InterpreterLike:
    try:
        interp = resolver(name)
    except ConfigError as exc:
        raise _located(exc, where) from None
    if interp.error:
        raise ConfigError(f"{where}: interpreter {name!r} is not usable: {interp.error}.")
    return interp


def _check_slot(where: str, slot: str, interp: InterpreterLike) -> None:
    if interp.free_threaded != (slot == "ft"):
        build = "free-threaded" if interp.free_threaded else "GIL (default)"
        other = "ft" if slot == "gil" else "gil"
        raise ConfigError(
            f"{where}: interpreters.{slot} ({interp.executable}) is a {build} build.",
            hint=f"Give a {'free-threaded' if slot == 'ft' else 'GIL'} build here, or move it to interpreters.{other}.",
        )


def _classify(names: Sequence[str], resolver: Resolver) -> dict[str, InterpreterLike]:
    found: dict[str, InterpreterLike] = {}
    for name in names:
        interp = _resolved(resolver, name, f"--python ({name})")
        slot = "ft" if interp.free_threaded else "gil"
        if slot in found and os.path.realpath(found[slot].executable) != os.path.realpath(
            interp.executable
        ):
            build = "free-threaded" if slot == "ft" else "GIL"
            raise ConfigError(
                f"--python ({name}): a second {build} build ({found[slot].executable} is one already).",
                hint="Give at most one GIL build and one free-threaded build.",
            )
        found[slot] = interp
    return found


def _matched_pair(pair_finder: PairFinder | None, needed: list[str]) -> dict[str, InterpreterLike]:
    if pair_finder is None:
        from gilwatt.interpreters import matched_pair

        pair_finder = matched_pair
    pair = pair_finder()
    if pair is None:
        raise ConfigError(
            "no matched GIL / free-threaded interpreter pair was found.",
            hint="Run `gilwatt interpreters provision`, or name interpreters with --python GIL,FT.",
        )
    return {"gil": pair[0], "ft": pair[1]}
