"""A study's view of the store's study tables (``gilwatt.store.studies`` owns the SQL).

The ledger is the study's memory between sessions: the planned matrix is written as pending
rows when a study starts, and each row is committed as its run finishes, so a killed study
loses at most the run in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gilwatt.errors import StoreError
from gilwatt.store import Store
from gilwatt.store.studies import (
    STUDY_RUN_FINAL_STATUSES as FINAL_STATUSES,
)
from gilwatt.store.studies import (
    STUDY_RUN_STATUSES as STATUSES,
)
from gilwatt.store.studies import StudyRecord, StudyRunRow
from gilwatt.study.matrix import PlannedRun

__all__ = ["FINAL_STATUSES", "STATUSES", "Ledger", "StudyRecord", "StudyRunRow"]


class Ledger:
    """The study-runner's verbs over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- studies ---------------------------------------------------------------------------

    def studies(self) -> list[StudyRecord]:
        return self.store.studies()

    def study(self, study_id: int) -> StudyRecord:
        for record in self.studies():
            if record.study_id == study_id:
                return record
        raise StoreError(f"study {study_id} is not in this store.")

    def find(self, spec_hash: str) -> StudyRecord | None:
        """The newest study with this definition, if any."""
        matching = [s for s in self.studies() if s.spec_hash == spec_hash]
        return matching[-1] if matching else None

    def create(self, name: str, spec_hash: str, spec: dict[str, Any], seed: int) -> StudyRecord:
        return self.store.create_study(name, spec_hash, spec, seed)

    def update_spec(self, study_id: int, spec: dict[str, Any]) -> None:
        self.store.update_study_spec(study_id, spec)

    # -- study runs ------------------------------------------------------------------------

    def plan(
        self, study_id: int, runs: Sequence[PlannedRun], interpreter_of: Callable[[str], str]
    ) -> int:
        """Add the planned runs not yet in the ledger as pending; return how many were new."""
        rows = [
            StudyRunRow(
                run_key=r.run_key,
                block=r.block,
                position=r.position,
                workload=r.cell.workload,
                params_json=r.cell.params_json,
                workers=r.cell.workers,
                mode=r.mode,
                interpreter=interpreter_of(r.mode),
                status="pending",
                reason="",
                run_id=None,
            )
            for r in runs
        ]
        return self.store.add_study_runs(study_id, rows)

    def rows(self, study_id: int) -> list[StudyRunRow]:
        return self.store.study_runs(study_id)

    def status(self, study_id: int, run_key: str) -> str | None:
        return self.store.study_run_status(study_id, run_key)

    def counts(self, study_id: int) -> dict[str, int]:
        return self.store.study_run_counts(study_id)

    def set_status(
        self, study_id: int, run_key: str, status: str, reason: str = "", run_id: int | None = None
    ) -> None:
        self.store.set_study_run_status(study_id, run_key, status, reason, run_id)

    def skip_pending(self, study_id: int, interpreter: str, reason: str) -> int:
        """Mark every pending run on one interpreter skipped (it disappeared)."""
        return self.store.skip_pending_study_runs(study_id, interpreter, reason)

    def retry_unlaunched_skips(self, study_id: int) -> int:
        """Runs skipped without ever launching (their interpreter was missing) get another chance."""
        return self.store.retry_unlaunched_skips(study_id)

    def finished_run(self, study_id: int, run_key: str) -> int | None:
        """A run of this key that the profiler finished but the ledger never recorded."""
        return self.store.finished_study_run(study_id, run_key)


def describe_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which parts of two study definitions differ, in a few words."""
    parts = []
    for key in ("name", "seed", "modes", "interval_ns", "workloads"):
        if old.get(key) != new.get(key):
            parts.append(f"{key} {old.get(key)!r} vs {new.get(key)!r}")
    old_interps, new_interps = old.get("interpreters", {}), new.get("interpreters", {})
    if old_interps != new_interps:
        parts.append(f"interpreters {_interps(old_interps)} vs {_interps(new_interps)}")
    old_cells, new_cells = old.get("cells", []), new.get("cells", [])
    if old_cells != new_cells:
        parts.append(
            f"cells ({len(old_cells)} vs {len(new_cells)}; {sum(c not in old_cells for c in new_cells)} new)"
        )
    return "; ".join(parts) or "format"


def _interps(slots: dict[str, Any]) -> str:
    return ", ".join(f"{slot}={v.get('executable')}" for slot, v in sorted(slots.items()))
