"""Opening a store file: path checks, pragmas, schema creation, version checks and upgrades.

Store format history (``meta.schema_version``). Upgrades run in order on open, each in the
same transaction as the new version number, so a file is always at one version or the next:

- 1 (gilwatt 0.1.0, skeleton): first layout: runs, samples, core_samples, threads,
  thread_samples, processes, memory_samples, energy_zones, energy_samples, markers, regions,
  outputs, studies, study_runs, idle_baselines.
- 2 (gilwatt 0.1.0): ``processes.vm_peak_bytes`` (VmPeak, so the VMS peak is exact like the
  RSS peak from VmHWM); table ``run_summaries`` (whole-run figures computed when a run
  finishes, so a study of 1,000 runs is summarised without rescanning its samples); index
  ``study_runs_by_run`` (run -> study row lookups).
- 3 (gilwatt 0.1.0): ``threads.cpu_ns``, ``threads.start_ns``, ``threads.end_ns`` (every
  Python thread's exact start, end and CPU from the in-process thread hook);
  ``run_summaries.peak_rss_exact`` and ``run_summaries.max_threads_exact``, and
  ``peak_rss_bytes`` there now means the largest single process's peak (cached rows of the
  old formula are ignored on read: store.derive.FORMULA_VERSION); table ``run_machine`` (the
  machine's state around each study run: load, runnable threads, steal, foreign CPU, MHz,
  temperature); ``runs.executor`` (the Dask worker that ran a cluster study's run; NULL for a
  local run).

To change the layout: edit schema.sql (new columns at the end of their table), bump
SCHEMA_VERSION, add a line above and an entry to UPGRADES that turns version N-1 into N, and
add a fixture of version N-1 under tests/data/stores/.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from gilwatt import __version__
from gilwatt.errors import ConfigError, FormatVersionError, StoreError

SCHEMA_VERSION = 3
MEMORY = ":memory:"
_SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30.0  # a study runner and a report may open the same file at once


# Each upgrade spells out its own DDL (not schema.sql, which moves on to later versions).
def _upgrade_1_to_2(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE processes ADD COLUMN vm_peak_bytes INTEGER")
    conn.execute("CREATE INDEX IF NOT EXISTS study_runs_by_run ON study_runs (run_id)")
    conn.execute(
        """CREATE TABLE IF NOT EXISTS run_summaries (
            run_id          INTEGER PRIMARY KEY,
            formula         INTEGER NOT NULL,
            wall_ns         INTEGER NOT NULL,
            cpu_user_ns     INTEGER NOT NULL,
            cpu_sys_ns      INTEGER NOT NULL,
            peak_rss_bytes  INTEGER NOT NULL,
            peak_vms_bytes  INTEGER NOT NULL,
            peak_uss_bytes  INTEGER,
            peak_pss_bytes  INTEGER,
            ctx_voluntary   INTEGER NOT NULL,
            ctx_involuntary INTEGER NOT NULL,
            energy_uj       INTEGER,
            energy_source   TEXT NOT NULL,
            max_threads     INTEGER NOT NULL,
            mean_cpu_util   REAL NOT NULL,
            peak_cpu_util   REAL NOT NULL,
            core_balance    REAL NOT NULL
        )"""
    )


def _upgrade_2_to_3(conn: sqlite3.Connection) -> None:
    for column in ("cpu_ns", "start_ns", "end_ns"):
        conn.execute(f"ALTER TABLE threads ADD COLUMN {column} INTEGER")
    conn.execute("ALTER TABLE run_summaries ADD COLUMN peak_rss_exact INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        "ALTER TABLE run_summaries ADD COLUMN max_threads_exact INTEGER NOT NULL DEFAULT 0"
    )
    conn.execute("ALTER TABLE runs ADD COLUMN executor TEXT")
    create_run_machine(conn)


def create_run_machine(conn: sqlite3.Connection) -> None:
    """The run_machine table exactly as schema.sql writes it (fresh and upgraded files match)."""
    for statement in _statements(schema_sql()):
        if statement.startswith(("CREATE TABLE IF NOT EXISTS run_machine", "-- The machine")):
            conn.execute(statement)


# version N -> the function that turns a version N file into version N + 1
UPGRADES: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _upgrade_1_to_2,
    2: _upgrade_2_to_3,
}


def schema_sql() -> str:
    return resources.files("gilwatt.store").joinpath("schema.sql").read_text(encoding="utf-8")


def connect(path: str | os.PathLike[str], *, create: bool) -> sqlite3.Connection:
    """An open connection to a store at the current schema version, WAL, synchronous=NORMAL."""
    name = os.fspath(path)
    if name != MEMORY:
        _check_path(Path(name), create=create)
    try:
        # isolation_level=None: the Store opens and commits its batches itself.
        conn = sqlite3.connect(
            name, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise ConfigError(
            f"cannot create or open store {name!r} (SQLite: {exc}).",
            hint="Choose a writable path with -o.",
        ) from exc
    try:
        _prepare(conn, name)
    except BaseException:
        conn.close()
        raise
    return conn


def connect_readonly(path: str | os.PathLike[str], *, table: str) -> sqlite3.Connection:
    """A read-only connection to an existing store that holds ``table``."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"store {str(p)!r} does not exist.", hint="Pass the study's .db file.")
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open store {str(p)!r}: {exc}.") from exc
    try:
        conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(
            f"store {str(p)!r} cannot be read as a gilwatt study ({exc}).",
            hint="Pass a store written by `gilwatt study`.",
        ) from exc
    return conn


def _check_path(path: Path, *, create: bool) -> None:
    """Refuse, with the fix, what SQLite would only call 'unable to open database file'."""
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:  # e.g. ENOTDIR: a parent is a file
        raise ConfigError(
            f"cannot use store path {str(path)!r}: {exc.strerror}.",
            hint="Choose another path with -o.",
        ) from exc
    if st is None:
        if not create:
            raise ConfigError(
                f"store {str(path)!r} does not exist.",
                hint="Check the path, or record a run into it first with `gilwatt profile -o`.",
            )
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise ConfigError(
                f"cannot create store {str(path)!r}: directory {str(parent)!r} does not exist.",
                hint="Create the directory first, or choose another path with -o.",
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError(
                f"cannot create store {str(path)!r}: directory {str(parent)!r} is not writable.",
                hint="Choose a writable path with -o.",
            )
        return
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(
            f"store path {str(path)!r} is not a regular file.",
            hint="Give a file name, e.g. -o results.db.",
        )
    if create and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
        # Writing needs the file and, for WAL's -wal/-shm files, its directory.
        raise ConfigError(
            f"store {str(path)!r} (or its directory) is not writable.",
            hint="Make it writable, or write to another file with -o.",
        )
    if st.st_size:
        try:
            with path.open("rb") as f:
                magic = f.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise ConfigError(
                f"cannot read store {str(path)!r}: {exc.strerror}.",
                hint="Check its permissions, or choose another path with -o.",
            ) from exc
        if magic != _SQLITE_MAGIC:
            raise ConfigError(
                f"{str(path)!r} is not a gilwatt store (not an SQLite database).",
                hint="Choose another path with -o; gilwatt will not overwrite it.",
            )


def _prepare(conn: sqlite3.Connection, name: str) -> None:
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if name != MEMORY:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        version = read_version(conn, name)
        if version is None:
            _create(conn)
        elif version > SCHEMA_VERSION:
            raise FormatVersionError(name, version, SCHEMA_VERSION)
        elif version < SCHEMA_VERSION:
            _upgrade(conn, name)
    except sqlite3.DatabaseError as exc:
        msg = str(exc)
        if "readonly" in msg or "read-only" in msg:
            raise ConfigError(
                f"store {name!r} needs writing (to create or upgrade its schema) but is read-only.",
                hint="Copy it to a writable place, or make it writable.",
            ) from exc
        if "not a database" in msg or "malformed" in msg:
            raise ConfigError(
                f"{name!r} is not a usable gilwatt store ({msg}).",
                hint="Choose another path with -o.",
            ) from exc
        raise StoreError(f"cannot open store {name!r}: {msg}.") from exc


def read_version(conn: sqlite3.Connection, name: str) -> int | None:
    """The schema version, or None for an empty database; ConfigError for a foreign one."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return None
    if "meta" not in tables:
        raise _foreign(name)
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise _foreign(name)
    try:
        return int(row[0])
    except ValueError:
        raise _foreign(name) from None


def _foreign(name: str) -> ConfigError:
    return ConfigError(
        f"{name!r} is an SQLite database but not a gilwatt store (no meta.schema_version).",
        hint="Choose another path with -o.",
    )


def _create(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have created it between our check and the lock.
        if read_version(conn, "") is None:
            for statement in _statements(schema_sql()):
                conn.execute(statement)
            _set_meta(conn, "schema_version", str(SCHEMA_VERSION))
            _set_meta(conn, "created_by", f"gilwatt {__version__}")
            _set_meta(conn, "created_unix_ns", str(time.time_ns()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _upgrade(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = read_version(conn, name)  # re-read under the lock: another process may be done
        version = start = SCHEMA_VERSION if found is None else found
        while version < SCHEMA_VERSION:
            step = UPGRADES.get(version)
            if step is None:
                raise StoreError(
                    f"store {name!r} has schema version {version}, which this gilwatt cannot upgrade.",
                    hint="Export it with the gilwatt that wrote it, or record into a new file.",
                )
            step(conn)
            version += 1
        if version != start:
            _set_meta(conn, "schema_version", str(version))
            _set_meta(conn, f"upgraded_{start}_to_{version}", f"gilwatt {__version__}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _statements(script: str) -> list[str]:
    """Split schema.sql into statements (executescript would commit our transaction)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return statements  # a trailing comment-only remainder is dropped


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
