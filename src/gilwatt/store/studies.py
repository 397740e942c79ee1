"""The study tables of a store: ``studies``, ``study_runs`` and ``idle_baselines``.

The planned matrix is written as pending rows when a study starts, and each row is committed
as its run finishes, so a killed study loses at most the run in flight. Every write here
commits at once (with whatever the run writer had pending).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from typing import Any

from gilwatt.errors import StoreError
from gilwatt.store.schema import create_run_machine

# priming: a discarded warm-up run; disturbed: foreign load during the run (it is rerun);
# sentinel: the fixed-work run of each replicate that shows drift; calibration: a run at a
# size the study scaled down to its budget (study/calibrate.py).
# The analysis counts only "done".
STUDY_RUN_FINAL_STATUSES = (
    "done", "invalid", "failed", "skipped", "priming", "disturbed", "sentinel", "calibration",
)  # fmt: skip
STUDY_RUN_STATUSES = ("pending", *STUDY_RUN_FINAL_STATUSES)


@dataclass(frozen=True)
class StudyRecord:
    """A ``studies`` row (the spec parsed; ``{}`` where it is not a JSON object)."""

    study_id: int
    name: str
    seed: int
    spec: dict[str, Any]
    created_unix_ns: int
    spec_hash: str = ""


@dataclass
class StudyRunRow:
    """A ``study_runs`` row: one planned run of a study (cell, mode, block) and its status."""

    run_key: str
    block: int
    position: int
    workload: str
    params_json: str
    workers: int
    mode: str
    interpreter: str
    status: str  # one of STUDY_RUN_STATUSES
    reason: str
    run_id: int | None

    @property
    def cell(self) -> tuple[str, str, int]:
        return (self.workload, self.params_json, self.workers)


_STUDY_RUN_SELECT = (
    "SELECT run_key, block, position, workload, params_json, workers, mode, interpreter,"
    " status, reason, run_id FROM study_runs"
)


def _spec(text: str) -> dict[str, Any]:
    try:
        spec = json.loads(text)
    except ValueError:
        return {}
    return spec if isinstance(spec, dict) else {}


class StoreStudies:
    """The study half of :class:`gilwatt.store.Store` (shares its connection and lock)."""

    _conn: sqlite3.Connection
    _lock: threading.RLock
    _invalidated: set[int]

    @contextmanager
    def _study_write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction, joining (and committing) what the run writer had pending."""
        conn = self._conn
        with self._lock:
            try:
                began = not conn.in_transaction
                if began:
                    conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                self._invalidated.clear()  # as StoreWriter._commit: a new transaction follows
            except sqlite3.Error as exc:
                raise StoreError(
                    f"study ledger write failed: {exc}.",
                    hint="Check the disk and that no other program holds the store.",
                ) from exc

    def _study_update(self, sql: str, args: Sequence[Any]) -> int:
        with self._study_write() as conn:
            return conn.execute(sql, args).rowcount

    # -- studies ------------------------------------------------------------------------------

    def studies(self) -> list[StudyRecord]:
        rows = self._conn.execute(
            "SELECT study_id, name, seed, spec_json, created_unix_ns, spec_hash FROM studies"
            " ORDER BY study_id"
        ).fetchall()
        return [StudyRecord(r[0], r[1], r[2], _spec(r[3]), r[4], r[5]) for r in rows]

    def has_studies(self) -> bool:
        return self._conn.execute("SELECT 1 FROM studies LIMIT 1").fetchone() is not None

    def create_study(
        self,
        name: str,
        spec_hash: str,
        spec: dict[str, Any],
        seed: int,
        *,
        created_unix_ns: int | None = None,
    ) -> StudyRecord:
        created = time.time_ns() if created_unix_ns is None else created_unix_ns
        with self._study_write() as conn:
            cursor = conn.execute(
                "INSERT INTO studies (name, spec_hash, spec_json, seed, created_unix_ns)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, spec_hash, json.dumps(spec, sort_keys=True), seed, created),
            )
        assert cursor.lastrowid is not None
        return StudyRecord(cursor.lastrowid, name, seed, spec, created, spec_hash)

    def update_study_spec(self, study_id: int, spec: dict[str, Any]) -> None:
        self._study_update(
            "UPDATE studies SET spec_json = ? WHERE study_id = ?",
            (json.dumps(spec, sort_keys=True), study_id),
        )

    # -- study runs ---------------------------------------------------------------------------

    def add_study_runs(self, study_id: int, rows: Iterable[StudyRunRow]) -> int:
        """Insert the rows whose run_key the study does not hold yet; return how many were new."""
        with self._study_write() as conn:
            cursor = conn.executemany(
                "INSERT OR IGNORE INTO study_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((study_id, *astuple(row)) for row in rows),
            )
            return cursor.rowcount

    def study_runs(self, study_id: int) -> list[StudyRunRow]:
        """The study's planned runs in schedule order (block, then position in the block)."""
        found = self._conn.execute(
            _STUDY_RUN_SELECT + " WHERE study_id = ? ORDER BY block, position, run_key",
            (study_id,),
        ).fetchall()
        return [StudyRunRow(*row) for row in found]

    def study_run_status(self, study_id: int, run_key: str) -> str | None:
        row = self._conn.execute(
            "SELECT status FROM study_runs WHERE study_id = ? AND run_key = ?", (study_id, run_key)
        ).fetchone()
        return None if row is None else str(row[0])

    def study_run_counts(self, study_id: int) -> dict[str, int]:
        counts = dict.fromkeys(STUDY_RUN_STATUSES, 0)
        for status, n in self._conn.execute(
            "SELECT status, COUNT(*) FROM study_runs WHERE study_id = ? GROUP BY status",
            (study_id,),
        ):
            counts[status] = n
        return counts

    def set_study_run_status(
        self, study_id: int, run_key: str, status: str, reason: str = "", run_id: int | None = None
    ) -> None:
        if status not in STUDY_RUN_STATUSES:
            raise ValueError(f"unknown study run status {status!r}")
        self._study_update(
            "UPDATE study_runs SET status = ?, reason = ?, run_id = COALESCE(?, run_id)"
            " WHERE study_id = ? AND run_key = ?",
            (status, reason, run_id, study_id, run_key),
        )

    def skip_pending_study_runs(self, study_id: int, interpreter: str, reason: str) -> int:
        """Mark every pending run on one interpreter skipped (it disappeared)."""
        return self._study_update(
            "UPDATE study_runs SET status = 'skipped', reason = ?"
            " WHERE study_id = ? AND interpreter = ? AND status = 'pending'",
            (reason, study_id, interpreter),
        )

    def retry_unlaunched_skips(self, study_id: int) -> int:
        """Runs skipped without ever launching (their interpreter was missing) get another chance."""
        return self._study_update(
            "UPDATE study_runs SET status = 'pending', reason = ''"
            " WHERE study_id = ? AND status = 'skipped' AND run_id IS NULL",
            (study_id,),
        )

    def finished_study_run(self, study_id: int, run_key: str) -> int | None:
        """A run of this key that the profiler finished but the study never recorded
        (the study was killed between the two commits); None if there is none."""
        row = self._conn.execute(
            "SELECT run_id FROM runs WHERE study_id = ? AND label = ?"
            " AND status NOT IN ('running', 'interrupted') ORDER BY run_id DESC LIMIT 1",
            (study_id, run_key),
        ).fetchone()
        return int(row[0]) if row else None

    def study_run_energy(self, study_id: int) -> dict[int, tuple[str, bool]]:
        """(energy source, estimate?) of each run the study's rows point at and the store holds."""
        rows = self._conn.execute(
            "SELECT ru.run_id, ru.energy_source, ru.energy_estimate"
            " FROM study_runs sr JOIN runs ru ON ru.run_id = sr.run_id WHERE sr.study_id = ?",
            (study_id,),
        )
        return {int(r[0]): (r[1] or "", bool(r[2])) for r in rows}

    # -- idle baselines -----------------------------------------------------------------------

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
        self._study_update(
            "INSERT INTO idle_baselines (study_id, run_id, block, t_ns, duration_ns, energy_uj,"
            " source) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (study_id, run_id, block, t_ns, duration_ns, energy_uj, source),
        )

    def idle_baseline_blocks(self, study_id: int) -> set[int]:
        rows = self._conn.execute(
            "SELECT block FROM idle_baselines WHERE study_id = ?", (study_id,)
        )
        return {int(r[0]) for r in rows}

    def idle_baselines(self, study_id: int) -> dict[int, tuple[int, int, str]]:
        """block -> (duration_ns, energy_uj, source) of the study's idle baselines (the last
        one of a block, if a resumed study measured it twice)."""
        rows = self._conn.execute(
            "SELECT block, duration_ns, energy_uj, source FROM idle_baselines"
            " WHERE study_id = ? ORDER BY t_ns",
            (study_id,),
        )
        return {int(r[0]): (int(r[1]), int(r[2]), str(r[3] or "")) for r in rows}

    # -- machine state around study runs -------------------------------------------------------

    def add_run_machine(self, run_id: int, row: Sequence[float | int | None]) -> None:
        """(load1, procs_running, steal_cores, foreign_cpu_cores, cpu_mhz, temp_c) of one run."""
        known = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_machine'"
        ).fetchone()
        if known is None:  # a version-3 file written before run_machine joined version 3
            with self._study_write() as conn:
                create_run_machine(conn)
        self._study_update(
            "INSERT OR REPLACE INTO run_machine (run_id, load1, procs_running, steal_cores,"
            " foreign_cpu_cores, cpu_mhz, temp_c) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, *row),
        )

    def run_machine(self, study_id: int) -> dict[int, tuple[Any, ...]]:
        """run_id -> (load1, procs_running, steal_cores, foreign_cpu_cores, cpu_mhz, temp_c)
        of the study's runs that have a machine row."""
        known = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_machine'"
        ).fetchone()
        if known is None:
            return {}
        rows = self._conn.execute(
            "SELECT m.run_id, m.load1, m.procs_running, m.steal_cores, m.foreign_cpu_cores,"
            " m.cpu_mhz, m.temp_c FROM run_machine m JOIN runs r ON r.run_id = m.run_id"
            " WHERE r.study_id = ?",
            (study_id,),
        )
        return {int(r[0]): tuple(r[1:]) for r in rows}

    def region_cpu(self, run_id: int, begin_ns: int, end_ns: int) -> tuple[int, int, int, int]:
        """Over the two samples with core readings that bracket [begin_ns, end_ns] (the last at
        or before the begin, the first at or after the end; else the run's first and last):
        (span_ns, machine busy ticks of all cores, tree CPU ns, cores). Zeros when the run
        has fewer than two such samples."""
        rows = self._conn.execute(
            "SELECT s.seq, s.t_ns, s.cpu_ns FROM samples s WHERE s.run_id = ?1 AND s.seq IN"
            " (SELECT DISTINCT seq FROM core_samples WHERE run_id = ?1) ORDER BY s.t_ns",
            (run_id,),
        ).fetchall()
        if len(rows) < 2:
            return (0, 0, 0, 0)
        before = [r for r in rows if r[1] <= begin_ns]
        after = [r for r in rows if r[1] >= end_ns]
        first = before[-1] if before else rows[0]
        last = after[0] if after else rows[-1]
        if last[1] <= first[1]:
            return (0, 0, 0, 0)
        busy = [self._machine_busy(run_id, seq) for seq in (first[0], last[0])]
        ticks = sum(busy[1][c] - busy[0].get(c, busy[1][c]) for c in busy[1])
        return (int(last[1] - first[1]), int(ticks), int(last[2] - first[2]), len(busy[1]))

    def _machine_busy(self, run_id: int, seq: int) -> dict[int, int]:
        """Each core's cumulative busy ticks read at sample ``seq``."""
        rows = self._conn.execute(
            "SELECT core, busy_ticks FROM core_samples WHERE run_id = ? AND seq = ?",
            (run_id, seq),
        ).fetchall()
        return {int(c): int(b) for c, b in rows}

    def study_region_walls(
        self, study_id: int, status: str = "done"
    ) -> list[tuple[str, str, int, str, int, str, int]]:
        """(workload, params_json, workers, mode, block, region name, wall_ns) of each region
        name of each run of the study with this status (first begin to last end)."""
        rows = self._conn.execute(
            "SELECT sr.workload, sr.params_json, sr.workers, sr.mode, sr.block, g.name,"
            " MAX(g.end_ns) - MIN(g.begin_ns) FROM study_runs sr"
            " JOIN regions g ON g.run_id = sr.run_id"
            " WHERE sr.study_id = ? AND sr.status = ? GROUP BY sr.run_id, g.name",
            (study_id, status),
        ).fetchall()
        return [
            (str(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4]), str(r[5]), int(r[6]))
            for r in rows
        ]
