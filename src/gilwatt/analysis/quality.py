"""Run quality: how clean the study's runs were, read from its store.

- every planned run by status (done, invalid, failed, skipped, disturbed, priming, sentinel,
  pending);
- every ``disturbed`` run (foreign load during its measured region, study/machine.py) with
  its foreign CPU, the load average and what became of its rerun;
- the bimodal cells and the sentinel's drift the runner recorded after each replicate
  (study/watch.py; the spec's ``quality``). A store written before they were recorded says so.

``gilwatt compare`` shows it as ``== run quality ==`` (JSON ``run_quality``), the report as
its "Run quality" section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gilwatt.store import Store

STATUS_ORDER = (
    "done", "invalid", "failed", "skipped", "disturbed", "priming", "sentinel", "pending",
)  # fmt: skip
RERUN = "~r"  # a rerun's key: the run's key + "~r1", "~r2", ... (study/matrix.py)
NOT_RECORDED = "bimodal cells and sentinel drift: not recorded by this study"


@dataclass(frozen=True)
class DisturbedRun:
    run_key: str
    block: int
    foreign_cpu_cores: float | None
    load1: float | None
    reason: str
    rerun: str  # what became of it: "rerun …~r1: done", "rerun pending", "not rerun"


@dataclass(frozen=True)
class QualityFlag:
    """A bimodal cell (what: the cell, value: max/min) or a sentinel's drift (what: the mode,
    value: relative change, p: of the trend), first seen after ``since``, last after ``last``."""

    what: str
    value: float
    since: int
    last: int
    p: float | None = None


@dataclass(frozen=True)
class RunQuality:
    statuses: dict[str, int] = field(default_factory=dict)
    disturbed: list[DisturbedRun] = field(default_factory=list)
    recorded: bool = False  # bimodal cells and drift recorded (a study from this version on)
    bimodal: list[QualityFlag] = field(default_factory=list)
    drift: list[QualityFlag] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def base_key(run_key: str) -> tuple[str, int]:
    """(the first attempt's key, the attempt): ``k~r2`` -> (k, 2)."""
    head, sep, tail = run_key.rpartition(RERUN)
    return (head, int(tail)) if sep and tail.isdigit() else (run_key, 0)


def run_quality(source: str | Path | Store, study_id: int) -> RunQuality:
    """The run quality of study ``study_id`` in a store (a path, or an open store)."""
    store = source if isinstance(source, Store) else Store.open_study(source)
    try:
        rows = store.study_runs(study_id)
        machine = store.run_machine(study_id)
        spec = next((s.spec for s in store.studies() if s.study_id == study_id), {})
    finally:
        if store is not source:
            store.close()
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
    ordered = {s: statuses[s] for s in STATUS_ORDER if s in statuses}
    ordered.update({s: n for s, n in sorted(statuses.items()) if s not in ordered})
    status_of = {row.run_key: row.status for row in rows}
    disturbed = []
    for row in rows:
        if row.status != "disturbed":
            continue
        state = machine.get(row.run_id) if row.run_id is not None else None
        base, attempt = base_key(row.run_key)
        again = f"{base}{RERUN}{attempt + 1}"
        fate = f"rerun {again}: {status_of[again]}" if again in status_of else "not rerun"
        foreign, load = (None, None) if state is None else (state[3], state[0])
        disturbed.append(DisturbedRun(row.run_key, row.block, foreign, load, row.reason, fate))
    found = spec.get("quality") if isinstance(spec, dict) else None
    if not isinstance(found, dict):
        return RunQuality(ordered, disturbed)
    return RunQuality(ordered, disturbed, True, *_flags(found))


def _flags(found: Mapping[str, Any]) -> tuple[list[QualityFlag], list[QualityFlag]]:
    """Bimodal cells and drifts over the recorded replicates: each with its first replicate
    and its figures at the last replicate it was seen."""
    bimodal: dict[str, QualityFlag] = {}
    drift: dict[str, QualityFlag] = {}
    for key, doc in sorted(found.items(), key=lambda kv: _int(kv[0])):
        replicate = _int(key)
        if not isinstance(doc, dict):
            continue
        for cell, ratio in dict(doc.get("bimodal", {})).items():
            since = bimodal[cell].since if cell in bimodal else replicate
            bimodal[cell] = QualityFlag(str(cell), float(ratio), since, replicate)
        for mode, pair in dict(doc.get("drift", {})).items():
            since = drift[mode].since if mode in drift else replicate
            drift[mode] = QualityFlag(str(mode), float(pair[0]), since, replicate, float(pair[1]))
    return list(bimodal.values()), list(drift.values())


def _int(text: object) -> int:
    try:
        return int(str(text))
    except ValueError:
        return 0


def quality_lines(quality: RunQuality) -> list[str]:
    """The run quality as the lines of compare's ``== run quality ==`` section."""
    counts = ", ".join(f"{n} {status}" for status, n in quality.statuses.items())
    lines = [f"runs by status: {counts or 'none planned'}"]
    if not quality.disturbed:
        lines.append("disturbed: none")
    else:
        lines.append(f"disturbed: {len(quality.disturbed)} run(s), left out and rerun")
        lines += [f"  {disturbed_line(d)}" for d in quality.disturbed]
    if not quality.recorded:
        return [*lines, NOT_RECORDED]
    lines.append(f"bimodal cells: {_listed([bimodal_text(f) for f in quality.bimodal])}")
    lines.append(f"sentinel drift: {_listed([drift_text(f) for f in quality.drift])}")
    return lines


def disturbed_line(d: DisturbedRun) -> str:
    foreign = "?" if d.foreign_cpu_cores is None else f"{d.foreign_cpu_cores:.2f}"
    load = "?" if d.load1 is None else f"{d.load1:.2f}"
    return f"{d.run_key}: foreign CPU {foreign} cores, load {load}; {d.rerun}"


def bimodal_text(f: QualityFlag) -> str:
    return f"{f.what} (max/min {f.value:.2f}, from replicate {f.since})"


def drift_text(f: QualityFlag) -> str:
    p = "" if f.p is None else f", trend p={f.p:.3f}"
    return f"{f.what} {f.value:+.0%} over {f.last} replicates (from replicate {f.since}{p})"


def _listed(items: Sequence[str]) -> str:
    return "; ".join(items) if items else "none"
