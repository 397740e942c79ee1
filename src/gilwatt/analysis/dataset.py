"""A study's runs read from the store, with every valid run's metrics.

The store aggregates inside SQLite (``gilwatt.store.study_reader``); this module decides what
counts. Validity: a study run counts only if its status is ``done`` and this reader agrees:
the run row exists, its region was recorded with a positive duration, and the GIL state the
program reported at the region's start and end is its mode's (``gilwatt.modes``: the same
rule as the study's gates, so an unknown state does not count). Every other run is kept in
``StudyData.runs`` with ``valid = False`` and the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilwatt.analysis import metrics as metrics_mod
from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.modes import MODES, gil_mismatch, in_order
from gilwatt.store import Store
from gilwatt.store.studies import StudyRecord, StudyRunRow
from gilwatt.workloads import get_workload

DEFAULT_REGION = "kernel"
MODE_ORDER: tuple[str, ...] = MODES  # the one order (gilwatt.modes)

StudyInfo = StudyRecord  # a ``studies`` row


@dataclass(kw_only=True)
class RunRecord(StudyRunRow):
    """One planned run of a study (a row of study_runs) with its measured metrics."""

    family: str = "other"
    region: str = DEFAULT_REGION
    valid: bool = False
    exclusion: str = ""  # why the run does not count (empty when valid)
    energy_source: str = ""
    energy_estimate: bool = False
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass
class StudyData:
    study: StudyInfo
    runs: list[RunRecord]
    other_studies: list[StudyInfo] = field(default_factory=list)

    @property
    def valid_runs(self) -> list[RunRecord]:
        return [r for r in self.runs if r.valid]

    @property
    def excluded(self) -> list[RunRecord]:
        return [r for r in self.runs if not r.valid]

    @property
    def modes(self) -> list[str]:
        return in_order(r.mode for r in self.runs)

    @property
    def energy_sources(self) -> list[str]:
        return sorted({r.energy_source for r in self.valid_runs if r.energy_source})

    @property
    def energy_is_estimate(self) -> bool:
        return any(
            r.energy_estimate or r.energy_source.startswith("model:") for r in self.valid_runs
        )


def open_readonly(path: str | Path) -> Store:
    """Open a study store for reading without changing it; ConfigError if it is not there."""
    return Store.open_study(path)


def list_studies(store: Store) -> list[StudyInfo]:
    return store.studies()


def default_family_of(workload: str) -> str:
    """The bundled workload's family, or "other" when gilwatt does not know the name."""
    try:
        return get_workload(workload).family
    except UnknownNameError:  # a user workload not on this machine: the study still analyses it
        return "other"


def _spec_field(spec: dict[str, Any], key: str) -> dict[str, str]:
    """Per-workload ``key`` ("family" or "region") recorded in a study's definition.

    The study runner stores ``"workloads": {name: {"family": ..., "region": ...}}``; a list of
    ``{"name": ..., key: ...}`` and a flat ``"families"`` map are read too.
    """
    found: dict[str, str] = {}
    flat = spec.get(f"{key[:-1]}ies" if key.endswith("y") else f"{key}s")
    if isinstance(flat, dict):
        found.update({str(k): v for k, v in flat.items() if isinstance(v, str)})
    entries = spec.get("workloads")
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                name = entry.get("name") or entry.get("workload")
                if isinstance(name, str):
                    found[name] = entry[key]
    elif isinstance(entries, dict):
        for name, entry in entries.items():
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                found[str(name)] = entry[key]
    return found


def load_study(
    source: str | Path | Store,
    study_id: int | None = None,
    *,
    family_of: Callable[[str], str] | None = None,
) -> StudyData:
    """Read one study (default: the most recent) with every run's metrics."""
    store = source if isinstance(source, Store) else open_readonly(source)
    try:
        return _load(store, study_id, family_of or default_family_of)
    finally:
        if store is not source:
            store.close()


def _load(store: Store, study_id: int | None, family_of: Callable[[str], str]) -> StudyData:
    studies = store.studies()
    if not studies:
        raise ConfigError(
            "the store holds no study.", hint="Run `gilwatt study ... -o FILE` first."
        )
    by_id = {s.study_id: s for s in studies}
    if study_id is None:
        study = studies[-1]
    elif study_id in by_id:
        study = by_id[study_id]
    else:
        raise UnknownNameError("study", str(study_id), [str(s.study_id) for s in studies])
    runs = _study_runs(store, study, family_of)
    candidates = {r.run_id: r for r in runs if not r.exclusion and r.run_id is not None}
    raw = store.region_measurements({rid: r.region for rid, r in candidates.items()})
    for rid, run in candidates.items():
        _judge(run, raw.get(rid))
    others = [s for s in studies if s.study_id != study.study_id]
    return StudyData(study=study, runs=runs, other_studies=others)


def _study_runs(store: Store, study: StudyInfo, family_of: Callable[[str], str]) -> list[RunRecord]:
    energy = store.study_run_energy(study.study_id)
    spec_families = _spec_field(study.spec, "family")
    spec_regions = _spec_field(study.spec, "region")
    families: dict[str, str] = {}
    out = []
    for row in store.study_runs(study.study_id):
        wl = row.workload
        if wl not in families:
            families[wl] = spec_families.get(wl) or family_of(wl)
        source, estimate = energy.get(row.run_id, ("", False)) if row.run_id else ("", False)
        rec = RunRecord(
            **vars(row),
            family=families[wl],
            region=spec_regions.get(wl, DEFAULT_REGION),
            energy_source=source,
            energy_estimate=estimate,
        )
        rec.reason = rec.reason or ""
        if rec.status != "done":
            rec.exclusion = f"{rec.status}: {rec.reason}" if rec.reason else rec.status
        elif rec.run_id is None or rec.run_id not in energy:
            rec.exclusion = "done but its run is missing from the store"
        out.append(rec)
    return out


def _judge(rec: RunRecord, raw: dict[str, Any] | None) -> None:
    """Fill the metrics of one done run, or say why it does not count."""
    if raw is None:
        rec.exclusion = f"no {rec.region!r} region recorded"
        return
    if raw["end_ns"] <= raw["begin_ns"]:
        rec.exclusion = f"{rec.region!r} region has no duration"
        return
    if rec.mode not in MODES:
        rec.exclusion = f"unknown mode {rec.mode!r}"
        return
    # The study's own validity rule (gates.judge): the GIL state must be the mode's.
    reasons = [
        gil_mismatch(rec.mode, rec.region, edge, [raw[f"gil_{edge}"]]) for edge in ("begin", "end")
    ]
    if any(reasons):
        rec.exclusion = "; ".join(r for r in reasons if r)
        return
    rec.metrics = metrics_mod.compute(raw, rec.workers)
    rec.valid = True
