"""Every stored row of chosen runs, table by table, for ``gilwatt export``.

The exporter decides the file formats; the store decides which rows belong to a run and in
which order they come (each table's primary-key order, so exports are deterministic).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

# Primary-key order of each per-run table (after run_id).
RUN_TABLE_ORDER = {
    "runs": "run_id",
    "samples": "seq", "core_samples": "seq, core", "threads": "tid",
    "thread_samples": "seq, tid", "processes": "pid", "memory_samples": "t_ns, pid",
    "energy_zones": "zone", "energy_samples": "seq, zone", "markers": "idx",
    "regions": "region_idx", "outputs": "stream, chunk",
}  # fmt: skip
_IN_RUNS = "SELECT value FROM json_each(?)"
_OF_STUDIES = f"SELECT DISTINCT study_id FROM runs WHERE run_id IN ({_IN_RUNS})"
# The rows of the tables runs refer to (or that refer to the runs' studies).
_SHARED_SQL = {
    "hosts": f"SELECT * FROM hosts WHERE host_id IN (SELECT host_id FROM runs WHERE run_id IN ({_IN_RUNS})) ORDER BY host_id",
    "interpreters": f"SELECT * FROM interpreters WHERE interp_id IN (SELECT interp_id FROM runs WHERE run_id IN ({_IN_RUNS})) ORDER BY interp_id",
    "studies": f"SELECT * FROM studies WHERE study_id IN ({_OF_STUDIES}) ORDER BY study_id",
    "study_runs": f"SELECT * FROM study_runs WHERE study_id IN ({_OF_STUDIES}) ORDER BY study_id, block, position",
    "idle_baselines": f"SELECT * FROM idle_baselines WHERE study_id IN ({_OF_STUDIES}) OR run_id IN ({_IN_RUNS}) ORDER BY t_ns",
}  # fmt: skip
SHARED_TABLES = tuple(_SHARED_SQL)


class StoreDump:
    """The raw-table reader of :class:`gilwatt.store.Store`."""

    _conn: sqlite3.Connection

    def table_layout(self, table: str) -> list[tuple[str, str]]:
        """(name, declared type in upper case) of each column of a stored table."""
        if table not in RUN_TABLE_ORDER and table not in _SHARED_SQL:
            raise ValueError(f"not a stored table: {table!r}")
        rows = self._conn.execute(f"PRAGMA table_info({table})").fetchall()
        return [(r[1], (r[2] or "").upper()) for r in rows]

    def meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall())

    def run_rows(
        self, table: str, run_id: int, columns: Sequence[str] | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """One run's rows of a per-run table (or its ``runs`` row), in key order."""
        names = "*" if columns is None else ", ".join(columns)
        yield from self._conn.execute(
            f"SELECT {names} FROM {table} WHERE run_id = ? ORDER BY {RUN_TABLE_ORDER[table]}",
            (run_id,),
        )

    def shared_rows(self, table: str, run_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
        """Hosts, interpreters, studies, study_runs and idle baselines the runs refer to."""
        sql = _SHARED_SQL[table]
        yield from self._conn.execute(sql, (json.dumps(list(run_ids)),) * sql.count("json_each"))
