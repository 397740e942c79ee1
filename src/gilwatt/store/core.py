"""The Store: one SQLite file holding hosts, interpreters, runs, their samples and studies."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from gilwatt.errors import StoreError
from gilwatt.store import schema
from gilwatt.store.derive import FORMULA_VERSION
from gilwatt.store.dump import StoreDump
from gilwatt.store.reader import SUMMARY_FIELDS, StoreReader
from gilwatt.store.studies import StoreStudies
from gilwatt.store.study_reader import StudyMeasurements
from gilwatt.store.transfer import StoreTransfer
from gilwatt.store.writer import StoreWriter


class Store(StoreWriter, StoreReader, StoreStudies, StudyMeasurements, StoreDump, StoreTransfer):
    """A results store. Open with :meth:`Store.open`; use as a context manager.

    Writes go into a transaction that :meth:`flush` commits (``begin_run`` and ``finish_run``
    commit at once); :meth:`close` commits what is pending. The file is in WAL mode, so other
    processes can read it while a run is being written.
    """

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._chunks: dict[tuple[int, str], int] = {}
        self._invalidated: set[int] = set()
        self._closed = False

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True) -> Store:
        """Open (creating or upgrading the schema as needed) the store at ``path``.

        Raises ConfigError for a path that cannot be created, written or is not a store, and
        FormatVersionError for a store written by a newer gilwatt.
        """
        conn = schema.connect(path, create=create)
        return cls(conn, os.fspath(path))

    @classmethod
    def open_study(cls, path: str | os.PathLike[str]) -> Store:
        """Open a study store for reading without changing it (no upgrade, no lock).

        Raises ConfigError for a missing file and StoreError for one that holds no study tables.
        """
        return cls(schema.connect_readonly(path, table="study_runs"), os.fspath(path))

    @property
    def schema_version(self) -> int:
        return schema.SCHEMA_VERSION

    def finish_run(self, run_id: int, *, status: str, **columns: Any) -> None:
        """Write the final columns (status one of FINAL_STATUSES), commit, cache the summary."""
        super().finish_run(run_id, status=status, **columns)
        # The rows are committed; if caching fails (locked file) summary() computes on read.
        with contextlib.suppress(StoreError):
            self.refresh_summaries([run_id])

    def refresh_summaries(self, run_ids: Iterable[int] | None = None) -> int:
        """(Re)compute the cached whole-run figures of finished runs; return how many.

        finish_run does this for each run.
        """
        ids = self.run_ids() if run_ids is None else list(run_ids)
        columns = ("run_id", "formula", *SUMMARY_FIELDS)
        sql = (
            f"INSERT OR REPLACE INTO run_summaries ({', '.join(columns)})"
            f" VALUES ({', '.join('?' * len(columns))})"
        )
        done = 0
        for run_id in ids:
            status = self._conn.execute(
                "SELECT status FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if status is None or status[0] == "running":
                continue  # a running run's figures change with every batch
            figures = self.compute_figures(run_id)
            with self._writing("cache the run summary") as conn:
                conn.execute(sql, (run_id, FORMULA_VERSION, *figures.values()))
                self._invalidated.discard(run_id)  # a later write must delete it again
            done += 1
        self._commit()
        return done

    def close(self) -> None:
        """Commit what is pending and close. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._commit()
            finally:
                self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Commit even on an error or Ctrl-C: what was recorded is kept.
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"
