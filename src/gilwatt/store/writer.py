"""Writing a run as it goes: rows are buffered in an open transaction that ``flush()`` commits.

The profiler calls the ``add_*`` / ``upsert_*`` methods with row tuples in the column order
below (the schema's order without the leading run_id) and ``flush()`` about every 0.5 s, so a
crash loses at most the rows since the last flush. ``begin_run`` and ``finish_run`` commit at
once. A lock makes the methods safe to call from a sampler thread and a main thread.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from gilwatt.errors import StoreError
from gilwatt.readback import HostInfo, InterpreterInfo

Row = Sequence[Any]

# Column order of each write method's row tuples (checked against the schema by the tests).
SAMPLE_COLUMNS = (
    "seq", "t_ns", "scheduled_ns", "trigger", "cpu_ns", "cpu_user_ns", "cpu_sys_ns",
    "rss_bytes", "vms_bytes", "swap_bytes", "threads", "processes",
    "ctx_voluntary", "ctx_involuntary", "energy_uj",
)  # fmt: skip
CORE_SAMPLE_COLUMNS = ("seq", "core", "busy_ticks", "total_ticks")
THREAD_COLUMNS = ("tid", "pid", "name", "first_ns", "last_ns", "cpu_ns", "start_ns", "end_ns")
THREAD_SAMPLE_COLUMNS = ("seq", "tid", "cpu_ns", "core")
PROCESS_COLUMNS = (
    "pid", "ppid", "cmdline", "first_ns", "last_ns", "cpu_ns", "hwm_bytes", "vm_peak_bytes",
)  # fmt: skip
MEMORY_SAMPLE_COLUMNS = ("t_ns", "pid", "rss_bytes", "pss_bytes", "uss_bytes", "swap_bytes")
ENERGY_ZONE_COLUMNS = ("zone", "path", "parent", "max_range_uj", "counted")
ENERGY_SAMPLE_COLUMNS = ("seq", "zone", "energy_uj")
MARKER_COLUMNS = (
    "idx", "kind", "pid", "tid", "seq", "name", "t_ns", "process_cpu_ns", "thread_cpu_ns",
    "gil", "attrs_json", "sample_seq",
)  # fmt: skip
REGION_COLUMNS = (
    "region_idx", "name", "pid", "tid", "begin_ns", "end_ns", "begin_sample_seq",
    "end_sample_seq", "process_cpu_begin_ns", "process_cpu_end_ns", "thread_cpu_begin_ns",
    "thread_cpu_end_ns", "gil_begin", "gil_end", "peak_rss_bytes", "attrs_json",
)  # fmt: skip

RUN_COLUMNS = (
    "study_id", "host_id", "interp_id", "label", "command_json", "cwd", "env_json",
    "started_unix_ns", "start_ns", "end_ns", "status", "exit_code", "exit_signal",
    "interval_ns", "memory_interval_ns", "achieved_interval_ns", "missed_deadlines",
    "energy_source", "energy_estimate", "idle_power_uw", "sampler_cpu_ns", "ru_utime_ns",
    "ru_stime_ns", "ru_maxrss_bytes", "ru_nvcsw", "ru_nivcsw", "attrs_json", "warnings_json",
    "executor",
)  # fmt: skip
# update_run(command=[...]) is update_run(command_json=json.dumps([...])), and so on.
_JSON_ALIASES = {"command": "command_json", "env": "env_json", "attrs": "attrs_json",
                 "warnings": "warnings_json"}  # fmt: skip
FINAL_STATUSES = ("ok", "failed", "signaled", "timeout", "interrupted")

# Tables holding one run's rows, children first (delete_run order).
RUN_TABLES = (
    "samples", "core_samples", "threads", "thread_samples", "processes", "memory_samples",
    "energy_zones", "energy_samples", "markers", "regions", "outputs",
)  # fmt: skip

_PROCESS_UPSERT = """
INSERT INTO processes (run_id, {cols}) VALUES (?, {marks})
ON CONFLICT (run_id, pid) DO UPDATE SET
    ppid = coalesce(excluded.ppid, ppid),
    cmdline = CASE WHEN excluded.cmdline != '' THEN excluded.cmdline ELSE cmdline END,
    first_ns = min(first_ns, excluded.first_ns),
    last_ns = max(last_ns, excluded.last_ns),
    cpu_ns = coalesce(excluded.cpu_ns, cpu_ns),
    hwm_bytes = max(coalesce(excluded.hwm_bytes, hwm_bytes), coalesce(hwm_bytes, excluded.hwm_bytes)),
    vm_peak_bytes = max(coalesce(excluded.vm_peak_bytes, vm_peak_bytes),
                        coalesce(vm_peak_bytes, excluded.vm_peak_bytes))
"""
_THREAD_UPSERT = """
INSERT INTO threads (run_id, {cols}) VALUES (?, {marks})
ON CONFLICT (run_id, tid) DO UPDATE SET
    pid = excluded.pid,
    name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,
    first_ns = min(first_ns, excluded.first_ns),
    last_ns = max(last_ns, excluded.last_ns),
    cpu_ns = max(coalesce(excluded.cpu_ns, cpu_ns), coalesce(cpu_ns, excluded.cpu_ns)),
    start_ns = coalesce(start_ns, excluded.start_ns),
    end_ns = coalesce(excluded.end_ns, end_ns)
"""


def fingerprint(fields: Mapping[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def host_fingerprint(host: HostInfo) -> str:
    """The host's identity in ``hosts.fingerprint`` (and a cluster study's per-host lock)."""
    fields = {
        "hostname": host.hostname, "cpu_model": host.cpu_model,
        "logical_cpus": host.logical_cpus, "kernel": host.kernel,
        "memory_bytes": host.memory_bytes, "isa_flags": host.isa_flags, "extra": host.extra,
    }  # fmt: skip
    return fingerprint(fields)


def _insert(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" * (len(columns) + 1))
    return f"INSERT INTO {table} (run_id, {', '.join(columns)}) VALUES ({marks})"


def _with_run(run_id: int, rows: Iterable[Row]) -> Iterator[Row]:
    for row in rows:
        yield (run_id, *row)


class StoreWriter:
    """The write half of :class:`gilwatt.store.Store`."""

    path: str
    _conn: sqlite3.Connection
    _lock: threading.RLock
    _chunks: dict[tuple[int, str], int]
    _invalidated: set[int]  # runs whose cached summary this transaction has already deleted

    @contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Connection]:
        """Run inside the current batch's transaction; translate SQLite errors once, here."""
        with self._lock:
            try:
                if not self._conn.in_transaction:
                    self._invalidated.clear()  # a new transaction: nothing deleted in it yet
                    self._conn.execute("BEGIN")
                yield self._conn
            except sqlite3.Error as exc:
                raise _store_error(self.path, what, exc) from exc

    def _commit(self) -> None:
        with self._lock:
            self._invalidated.clear()
            if self._conn.in_transaction:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    raise _store_error(self.path, "commit", exc) from exc

    def _invalidate(self, conn: sqlite3.Connection, run_id: int) -> None:
        """Any write to a run makes its cached summary stale (see run_summaries in schema.sql).

        Once per run and transaction: the profiler writes a run's rows to several tables at
        every flush, and nothing in between writes a summary back (refresh_summaries forgets
        the runs it caches).
        """
        if run_id not in self._invalidated:
            conn.execute("DELETE FROM run_summaries WHERE run_id = ?", (run_id,))
            self._invalidated.add(run_id)

    def flush(self) -> None:
        """Commit the rows written since the last flush."""
        self._commit()

    # -- identities ---------------------------------------------------------------------------

    def ensure_host(self, host: HostInfo) -> int:
        fp = host_fingerprint(host)
        with self._writing("record the host") as conn:
            conn.execute(
                "INSERT OR IGNORE INTO hosts (fingerprint, hostname, cpu_model, logical_cpus,"
                " kernel, memory_bytes, isa_flags, extra_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (fp, host.hostname, host.cpu_model, host.logical_cpus, host.kernel,
                 host.memory_bytes, host.isa_flags, json.dumps(host.extra, sort_keys=True)),
            )  # fmt: skip
            row = conn.execute("SELECT host_id FROM hosts WHERE fingerprint = ?", (fp,)).fetchone()
        self._commit()
        return int(row[0])

    def ensure_interpreter(self, interp: InterpreterInfo) -> int:
        fields = {
            "executable": interp.executable, "version": interp.version,
            "implementation": interp.implementation, "free_threaded": interp.free_threaded,
            "gil_enabled": interp.gil_enabled, "extra": interp.extra,
        }  # fmt: skip
        fp = fingerprint(fields)
        gil = None if interp.gil_enabled is None else int(interp.gil_enabled)
        with self._writing("record the interpreter") as conn:
            conn.execute(
                "INSERT OR IGNORE INTO interpreters (fingerprint, executable, version,"
                " implementation, free_threaded, gil_enabled, extra_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (fp, interp.executable, interp.version, interp.implementation,
                 int(interp.free_threaded), gil, json.dumps(interp.extra, sort_keys=True)),
            )  # fmt: skip
            row = conn.execute(
                "SELECT interp_id FROM interpreters WHERE fingerprint = ?", (fp,)
            ).fetchone()
        self._commit()
        return int(row[0])

    # -- a run's life -------------------------------------------------------------------------

    def begin_run(
        self,
        *,
        host_id: int,
        command: Sequence[str],
        cwd: str,
        started_unix_ns: int,
        start_ns: int,
        interval_ns: int,
        memory_interval_ns: int,
        interp_id: int | None = None,
        env: Mapping[str, str] | None = None,
        label: str = "",
        study_id: int | None = None,
        energy_source: str = "",
        energy_estimate: bool = False,
        idle_power_uw: int | None = None,
    ) -> int:
        """Insert a run with status 'running' and commit at once; return its run_id."""
        with self._writing("begin a run") as conn:
            cur = conn.execute(
                "INSERT INTO runs (study_id, host_id, interp_id, label, command_json, cwd,"
                " env_json, started_unix_ns, start_ns, status, interval_ns, memory_interval_ns,"
                " energy_source, energy_estimate, idle_power_uw)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (study_id, host_id, interp_id, label, json.dumps(list(command)), cwd,
                 json.dumps(dict(env or {}), sort_keys=True), started_unix_ns, start_ns,
                 interval_ns, memory_interval_ns, energy_source, int(energy_estimate),
                 idle_power_uw),
            )  # fmt: skip
            run_id = cur.lastrowid
        self._commit()
        assert run_id is not None
        return run_id

    def update_run(self, run_id: int, **columns: Any) -> None:
        """Set run columns (part of the current batch). JSON columns take str or objects."""
        if not columns:
            return
        names: list[str] = []
        values: list[Any] = []
        for key, value in columns.items():
            name = _JSON_ALIASES.get(key, key)
            if name not in RUN_COLUMNS:
                raise TypeError(f"update_run() got an unknown runs column {key!r}")
            if name.endswith("_json") and not isinstance(value, str):
                value = json.dumps(value, sort_keys=True)
            elif isinstance(value, bool):
                value = int(value)
            names.append(name)
            values.append(value)
        assignments = ", ".join(f"{n} = ?" for n in names)
        with self._writing("update the run") as conn:
            self._invalidate(conn, run_id)
            cur = conn.execute(f"UPDATE runs SET {assignments} WHERE run_id = ?", (*values, run_id))
            if cur.rowcount != 1:
                raise StoreError(f"run {run_id} is not in store {self.path!r}.")

    def finish_run(self, run_id: int, *, status: str, **columns: Any) -> None:
        """Write the final columns (status one of FINAL_STATUSES) and commit everything."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"finish_run() status {status!r} is not one of {FINAL_STATUSES}")
        self.update_run(run_id, status=status, **columns)
        self._commit()

    def delete_run(self, run_id: int) -> None:
        """Remove a run and all its rows (a launch that failed before the target started)."""
        with self._writing("delete the run") as conn:
            for table in RUN_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            conn.execute("UPDATE study_runs SET run_id = NULL WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            self._invalidate(conn, run_id)
        for key in [k for k in self._chunks if k[0] == run_id]:
            del self._chunks[key]
        self._commit()

    # -- rows ---------------------------------------------------------------------------------

    def _add(self, table: str, columns: Sequence[str], run_id: int, rows: Iterable[Row]) -> None:
        if isinstance(rows, (list, tuple)) and not rows:
            return  # nothing to write: not even the summary is stale
        with self._writing(f"write {table}") as conn:
            self._invalidate(conn, run_id)
            conn.executemany(_insert(table, columns), _with_run(run_id, rows))

    def add_samples(self, run_id: int, rows: Iterable[Row]) -> None:
        self._add("samples", SAMPLE_COLUMNS, run_id, rows)

    def add_core_samples(self, run_id: int, rows: Iterable[Row]) -> None:
        self._add("core_samples", CORE_SAMPLE_COLUMNS, run_id, rows)

    def add_thread_samples(self, run_id: int, rows: Iterable[Row]) -> None:
        self._add("thread_samples", THREAD_SAMPLE_COLUMNS, run_id, rows)

    def add_memory_samples(self, run_id: int, rows: Iterable[Row]) -> None:
        self._add("memory_samples", MEMORY_SAMPLE_COLUMNS, run_id, rows)

    def add_energy_samples(self, run_id: int, rows: Iterable[Row]) -> None:
        self._add("energy_samples", ENERGY_SAMPLE_COLUMNS, run_id, rows)

    def add_markers(self, run_id: int, rows: Iterable[Row]) -> None:
        self._add("markers", MARKER_COLUMNS, run_id, rows)

    def add_regions(self, run_id: int, rows: Iterable[Row]) -> None:
        self._add("regions", REGION_COLUMNS, run_id, rows)

    def add_energy_zones(self, run_id: int, rows: Iterable[Row]) -> None:
        """Zones are described once; describing one again replaces it."""
        sql = _insert("energy_zones", ENERGY_ZONE_COLUMNS).replace("INSERT", "INSERT OR REPLACE", 1)
        with self._writing("write energy_zones") as conn:
            self._invalidate(conn, run_id)
            conn.executemany(sql, _with_run(run_id, rows))

    def upsert_threads(self, run_id: int, rows: Iterable[Row]) -> None:
        """New threads are inserted; known ones get their name, pid and first/last times merged,
        their CPU its highest reading, and the hook's start/end once known.

        Rows may stop after ``last_ns`` (the 5-column layout before schema version 3).
        """
        rows = list(rows)
        if not rows:
            return
        columns = THREAD_COLUMNS[: len(rows[0])]
        sql = _THREAD_UPSERT.format(cols=", ".join(columns), marks=", ".join("?" * len(columns)))
        with self._writing("write threads") as conn:
            self._invalidate(conn, run_id)
            conn.executemany(sql, _with_run(run_id, rows))

    def upsert_processes(self, run_id: int, rows: Iterable[Row]) -> None:
        """Like upsert_threads; hwm/vm_peak keep their maximum, cpu_ns its latest reading.

        Rows may stop before ``vm_peak_bytes`` (the 7-column layout of schema version 1).
        """
        rows = list(rows)
        if not rows:
            return
        columns = PROCESS_COLUMNS[: len(rows[0])]
        if len(columns) < PROCESS_COLUMNS.index("hwm_bytes") + 1:
            raise TypeError(f"upsert_processes() rows need at least 7 columns: {PROCESS_COLUMNS}")
        sql = _PROCESS_UPSERT.format(cols=", ".join(columns), marks=", ".join("?" * len(columns)))
        with self._writing("write processes") as conn:
            self._invalidate(conn, run_id)
            conn.executemany(sql, _with_run(run_id, rows))

    def append_output(self, run_id: int, stream: str, data: bytes) -> None:
        """Append a chunk of the target's stdout or stderr (part of the current batch)."""
        if stream not in ("stdout", "stderr"):
            raise ValueError(f"stream must be 'stdout' or 'stderr', not {stream!r}")
        if not data:
            return
        with self._writing("write output") as conn:
            self._invalidate(conn, run_id)
            key = (run_id, stream)
            chunk = self._chunks.get(key)
            if chunk is None:
                row = conn.execute(
                    "SELECT coalesce(max(chunk) + 1, 0) FROM outputs WHERE run_id = ? AND stream = ?",
                    key,
                ).fetchone()
                chunk = int(row[0])
            conn.execute(
                "INSERT INTO outputs (run_id, stream, chunk, data) VALUES (?, ?, ?, ?)",
                (run_id, stream, chunk, bytes(data)),
            )
            self._chunks[key] = chunk + 1


def _store_error(path: str, what: str, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError):
        return StoreError(
            f"cannot {what} in store {path!r}: {text}.",
            hint="A row with the same key was written twice; this is a bug in the caller.",
        )
    if "full" in text:
        return StoreError(
            f"cannot {what} in store {path!r}: the disk is full.",
            hint="Free some space; everything flushed before this point is saved.",
        )
    if "locked" in text or "busy" in text:
        return StoreError(
            f"cannot {what} in store {path!r}: another process holds it locked ({text}).",
            hint="Wait for the other gilwatt command to finish, or write to another file with -o.",
        )
    return StoreError(f"cannot {what} in store {path!r}: {text}.")
