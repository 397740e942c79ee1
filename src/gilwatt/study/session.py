"""Open a study in a store: start it, or find the one to resume, or refuse to mix two.

A store can hold several studies. Running a study command looks for a study with the same
definition hash and continues it; a store whose studies all differ is refused with
StudyMismatch unless ``force_new`` asks for a new study beside the old ones.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gilwatt import __version__
from gilwatt.errors import StudyMismatch
from gilwatt.study import calibrate
from gilwatt.study.ledger import Ledger, StudyRecord, StudyRunRow, describe_difference
from gilwatt.study.matrix import (
    BLOCK_SEED_RULE,
    ORDER_RULE,
    PlannedRun,
    block_seed,
    parse_rerun,
    plan,
)
from gilwatt.study.resolve import ResolvedStudy
from gilwatt.study.sequential import FIRST_LOOK


@dataclass(frozen=True)
class Session:
    """A study ready to run: its ledger row, the planned runs, and whether it is resumed."""

    record: StudyRecord
    planned: list[PlannedRun]
    resumed: bool
    added: int  # planned runs new to the ledger in this session


def open_session(
    ledger: Ledger,
    study: ResolvedStudy,
    store_path: Path,
    *,
    force_new: bool = False,
    usable_cpus: int | None = None,
) -> Session:
    """Find or create the study and write its planned runs as pending (nothing runs here)."""
    definition = study.definition()
    spec_hash = study.spec_hash()
    record = None if force_new else ledger.find(spec_hash)
    resumed = record is not None
    if record is None:
        existing = ledger.studies()
        if existing and not force_new:
            raise _mismatch(store_path, existing[-1], definition)
        record = ledger.create(
            study.spec.name,
            spec_hash,
            {**definition, "sessions": [], "schedule": {}},
            study.spec.seed,
        )
    reps = initial_reps(study, ledger.rows(record.study_id))
    spec_ = study.spec
    cells = calibrate.apply(study.cells, calibrate.recorded(record.spec))  # as calibrated
    planned = plan(
        cells, spec_.modes, reps, spec_.seed, priming=spec_.priming, sentinel=spec_.sentinel
    )
    spec = dict(record.spec)
    spec["sessions"] = [*spec.get("sessions", []), _session_entry(study, usable_cpus)]
    spec["schedule"] = {
        "rule": BLOCK_SEED_RULE,
        "order": ORDER_RULE,
        "block_seeds": {
            str(b): block_seed(study.spec.seed, b) for b in range(1, max(reps, _blocks(spec)) + 1)
        },
    }
    ledger.update_spec(record.study_id, spec)
    ledger.retry_unlaunched_skips(record.study_id)
    added = ledger.plan(
        record.study_id, planned, lambda mode: study.interpreter_for(mode).executable
    )
    planned = _with_reruns(planned, ledger.rows(record.study_id))
    return Session(ledger.study(record.study_id), planned, resumed, added)


def initial_reps(study: ResolvedStudy, rows: list[StudyRunRow]) -> int:
    """Replicates to plan now: the fixed count; with reps = "auto", the first look's three,
    or as many as earlier sessions planned (each look plans the next replicate)."""
    if not study.spec.reps_auto:
        return study.spec.reps
    return max(FIRST_LOOK, max((r.block for r in rows), default=0))


def _with_reruns(planned: list[PlannedRun], rows: list[StudyRunRow]) -> list[PlannedRun]:
    """The plan with the reruns earlier sessions added (of disturbed runs), in run order."""
    by_key = {r.run_key: r for r in planned}
    extra = []
    for row in rows:
        base, attempt = parse_rerun(row.run_key)
        if attempt and base in by_key:
            original = by_key[base]
            extra.append(replace(original, position=row.position, attempt=attempt))
    return sorted([*planned, *extra], key=lambda r: (r.block, r.position))


def _blocks(spec: dict[str, Any]) -> int:
    seeds = spec.get("schedule", {}).get("block_seeds", {})
    return max((int(b) for b in seeds), default=0)


def _mismatch(store_path: Path, other: StudyRecord, definition: dict[str, Any]) -> StudyMismatch:
    created = datetime.fromtimestamp(other.created_unix_ns / 1e9, UTC).strftime(
        "%Y-%m-%d %H:%M UTC"
    )
    return StudyMismatch(
        f"store ({store_path}) holds a different study ({other.name!r}, created {created}; "
        f"differs in {describe_difference(other.spec, definition)}): results are never mixed.",
        hint="Write to another file with -o, or add --force-new to start a new study in this store.",
    )


def _session_entry(study: ResolvedStudy, usable_cpus: int | None) -> dict[str, Any]:
    """What this session ran with: settings that may change between sessions, and the machine."""
    try:
        affinity = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = []
    return {
        "started_unix_ns": time.time_ns(),
        **study.execution(),
        "environment": {
            "gilwatt": __version__,
            "host_python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "affinity": affinity,
            "usable_cpus": usable_cpus,
            # inherited variables that change how a target interpreter behaves
            "inherited": {k: v for k, v in sorted(os.environ.items()) if k.startswith("PYTHON")},
        },
    }
