"""Copy finished runs from another store file into this one (a cluster study's results).

A Dask worker measures a block into a store of its own and sends the file back; the client,
the one writer of the study's store, copies the block's runs in with fresh run ids, their host
and interpreters matched by fingerprint, and the worker's address in ``runs.executor``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from gilwatt.errors import StoreError
from gilwatt.store.writer import RUN_TABLES as WRITER_RUN_TABLES

# every table keyed by run_id, apart from runs itself (idle_baselines also has a study_id)
RUN_TABLES = (*WRITER_RUN_TABLES, "run_machine", "run_summaries", "idle_baselines")


class StoreTransfer:
    """The import half of :class:`gilwatt.store.Store`."""

    path: str
    _conn: sqlite3.Connection
    _lock: threading.RLock

    if TYPE_CHECKING:  # provided by StoreWriter

        def _writing(self, what: str) -> AbstractContextManager[sqlite3.Connection]: ...
        def _commit(self) -> None: ...

    def import_runs(
        self, source: Path, run_ids: Iterable[int], *, study_id: int, executor: str
    ) -> dict[int, int]:
        """Copy ``run_ids`` of the store file ``source`` with all their rows; their new ids.

        One transaction: a block's runs are either all in, or none is."""
        wanted = sorted(set(run_ids))
        mapping: dict[int, int] = {}
        with self._lock:
            self._commit()  # SQLite attaches only outside a transaction
            columns = {row[1] for row in self._conn.execute("PRAGMA main.table_info(runs)")}
            if "executor" not in columns:  # a version-3 file written before executor joined it
                self._conn.execute("ALTER TABLE main.runs ADD COLUMN executor TEXT")
            try:
                self._conn.execute("ATTACH DATABASE ? AS src", (str(source),))
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the worker's store {source}: {exc}.") from exc
            try:
                with self._writing("import a worker's runs") as conn:
                    for run_id in wanted:
                        mapping[run_id] = self._copy_run(conn, run_id, study_id, executor)
                self._commit()
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                self._conn.execute("DETACH DATABASE src")
        return mapping

    def _copy_run(self, conn: sqlite3.Connection, run_id: int, study_id: int, executor: str) -> int:
        host_id = _copy_identity(conn, "hosts", "host_id", run_id)
        interp_id = _copy_identity(conn, "interpreters", "interp_id", run_id)
        columns = [c for c in _columns(conn, "runs") if c not in ("run_id", "executor")]
        values = [c if c not in ("study_id", "host_id", "interp_id") else "?" for c in columns]
        cursor = conn.execute(
            f"INSERT INTO main.runs ({', '.join(columns)}, executor)"
            f" SELECT {', '.join(values)}, ? FROM src.runs WHERE run_id = ?",
            (*_ordered(columns, study_id, host_id, interp_id), executor, run_id),
        )
        new_id = int(cursor.lastrowid or 0)
        for table in RUN_TABLES:
            rest = [c for c in _columns(conn, table) if c not in ("run_id", "study_id")]
            extra = ", study_id" if table == "idle_baselines" else ""
            marks = ", ?" if table == "idle_baselines" else ""
            params: tuple[int, ...] = (new_id, study_id, run_id) if extra else (new_id, run_id)
            conn.execute(
                f"INSERT INTO main.{table} (run_id{extra}, {', '.join(rest)})"
                f" SELECT ?{marks}, {', '.join(rest)} FROM src.{table} WHERE run_id = ?",
                params,
            )
        return new_id


def _ordered(
    columns: list[str], study_id: int, host_id: int | None, interp_id: int | None
) -> tuple[int | None, ...]:
    given = {"study_id": study_id, "host_id": host_id, "interp_id": interp_id}
    return tuple(given[c] for c in columns if c in given)


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")]


def _copy_identity(conn: sqlite3.Connection, table: str, key: str, run_id: int) -> int | None:
    """The id in this store of the run's host (or interpreter), inserted if new."""
    row = conn.execute(
        f"SELECT t.fingerprint FROM src.{table} t JOIN src.runs r ON r.{key} = t.{key}"
        " WHERE r.run_id = ?",
        (run_id,),
    ).fetchone()
    if row is None:
        return None
    rest = [c for c in _columns(conn, table) if c != key]
    conn.execute(
        f"INSERT OR IGNORE INTO main.{table} ({', '.join(rest)})"
        f" SELECT {', '.join(rest)} FROM src.{table} WHERE fingerprint = ?",
        (row[0],),
    )
    found = conn.execute(
        f"SELECT {key} FROM main.{table} WHERE fingerprint = ?", (row[0],)
    ).fetchone()
    return int(found[0])
