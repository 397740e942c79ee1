"""The study tables of a store: ``studies``, ``study_runs`` and ``idle_baselines``.

The ledger is the study's memory between sessions: the planned matrix is written as pending
rows when a study starts, and each row is committed as its run finishes, so a killed study
loses at most the run in flight. It works on any sqlite3 connection holding the store schema
(``Store.connection`` in practice).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gilwatt.errors import StoreError
from gilwatt.study.matrix import PlannedRun

FINAL_STATUSES = ("done", "invalid", "failed", "skipped")
STATUSES = ("pending", *FINAL_STATUSES)


@dataclass(frozen=True)
class StudyRecord:
    study_id: int
    name: str
    spec_hash: str
    spec: dict[str, Any]
    seed: int
    created_unix_ns: int


@dataclass(frozen=True)
class StudyRunRow:
    run_key: str
    block: int
    position: int
    workload: str
    params_json: str
    workers: int
    mode: str
    interpreter: str
    status: str
    reason: str
    run_id: int | None


class Ledger:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.conn = connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction, on an autocommit connection (the Store's) or not."""
        conn = self.conn
        try:
            if conn.isolation_level is None and not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                with conn:
                    yield conn
        except sqlite3.Error as exc:
            raise StoreError(
                f"study ledger write failed: {exc}.",
                hint="Check the disk and that no other program holds the store.",
            ) from exc

    def _write(
        self, sql: str, args: Sequence[Any] | Iterable[Sequence[Any]], *, many: bool = False
    ) -> int:
        with self._transaction() as conn:
            cursor = conn.executemany(sql, args) if many else conn.execute(sql, args)  # type: ignore[arg-type]
            return cursor.rowcount

    # -- studies ---------------------------------------------------------------------------

    def studies(self) -> list[StudyRecord]:
        rows = self.conn.execute(
            "SELECT study_id, name, spec_hash, spec_json, seed, created_unix_ns FROM studies ORDER BY study_id"
        ).fetchall()
        return [StudyRecord(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

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
        created = time.time_ns()
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO studies (name, spec_hash, spec_json, seed, created_unix_ns) VALUES (?, ?, ?, ?, ?)",
                (name, spec_hash, json.dumps(spec, sort_keys=True), seed, created),
            )
        assert cursor.lastrowid is not None
        return StudyRecord(cursor.lastrowid, name, spec_hash, spec, seed, created)

    def update_spec(self, study_id: int, spec: dict[str, Any]) -> None:
        self._write(
            "UPDATE studies SET spec_json = ? WHERE study_id = ?",
            (json.dumps(spec, sort_keys=True), study_id),
        )

    # -- study runs ------------------------------------------------------------------------

    def plan(
        self, study_id: int, runs: Sequence[PlannedRun], interpreter_of: Callable[[str], str]
    ) -> int:
        """Add the planned runs not yet in the ledger as pending; return how many were new."""
        rows = [
            (
                study_id,
                r.run_key,
                r.block,
                r.position,
                r.cell.workload,
                r.cell.params_json,
                r.cell.workers,
                r.mode,
                interpreter_of(r.mode),
                "pending",
                "",
                None,
            )
            for r in runs
        ]
        return self._write(
            "INSERT OR IGNORE INTO study_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
            many=True,
        )

    def rows(self, study_id: int) -> list[StudyRunRow]:
        found = self.conn.execute(
            "SELECT run_key, block, position, workload, params_json, workers, mode, interpreter, status, reason, run_id"
            " FROM study_runs WHERE study_id = ? ORDER BY block, position",
            (study_id,),
        ).fetchall()
        return [StudyRunRow(*row) for row in found]

    def status(self, study_id: int, run_key: str) -> str | None:
        row = self.conn.execute(
            "SELECT status FROM study_runs WHERE study_id = ? AND run_key = ?", (study_id, run_key)
        ).fetchone()
        return None if row is None else str(row[0])

    def counts(self, study_id: int) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in self.conn.execute(
            "SELECT status, COUNT(*) FROM study_runs WHERE study_id = ? GROUP BY status",
            (study_id,),
        ):
            counts[status] = n
        return counts

    def set_status(
        self, study_id: int, run_key: str, status: str, reason: str = "", run_id: int | None = None
    ) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown study run status {status!r}")
        self._write(
            "UPDATE study_runs SET status = ?, reason = ?, run_id = COALESCE(?, run_id) WHERE study_id = ? AND run_key = ?",
            (status, reason, run_id, study_id, run_key),
        )

    def skip_pending(self, study_id: int, interpreter: str, reason: str) -> int:
        """Mark every pending run on one interpreter skipped (it disappeared)."""
        return self._write(
            "UPDATE study_runs SET status = 'skipped', reason = ? WHERE study_id = ? AND interpreter = ? AND status = 'pending'",
            (reason, study_id, interpreter),
        )

    def retry_unlaunched_skips(self, study_id: int) -> int:
        """Runs skipped without ever launching (their interpreter was missing) get another chance."""
        return self._write(
            "UPDATE study_runs SET status = 'pending', reason = '' WHERE study_id = ? AND status = 'skipped' AND run_id IS NULL",
            (study_id,),
        )

    def finished_run(self, study_id: int, run_key: str) -> int | None:
        """A run of this key that the profiler finished but the ledger never recorded
        (the study was killed between the two commits); None if there is none."""
        row = self.conn.execute(
            "SELECT run_id FROM runs WHERE study_id = ? AND label = ? AND status NOT IN ('running', 'interrupted')"
            " ORDER BY run_id DESC LIMIT 1",
            (study_id, run_key),
        ).fetchone()
        return int(row[0]) if row else None

    # -- idle baselines --------------------------------------------------------------------

    def add_idle_baseline(
        self,
        study_id: int,
        block: int,
        t_ns: int,
        duration_ns: int,
        energy_uj: int,
        source: str,
        run_id: int | None = None,
    ) -> None:
        self._write(
            "INSERT INTO idle_baselines (study_id, run_id, block, t_ns, duration_ns, energy_uj, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (study_id, run_id, block, t_ns, duration_ns, energy_uj, source),
        )

    def idle_baseline_blocks(self, study_id: int) -> set[int]:
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT block FROM idle_baselines WHERE study_id = ?", (study_id,)
            )
        }


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
