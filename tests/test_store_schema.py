"""Opening store files: creation, pragmas, version checks, upgrades and bad paths."""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from gilwatt.cli import main
from gilwatt.errors import ConfigError, FormatVersionError
from gilwatt.store import SCHEMA_VERSION, Store
from gilwatt.store import schema as schema_mod

STORES = Path(__file__).parent / "data" / "stores"


def _layout(conn: sqlite3.Connection) -> dict[str, object]:
    """Every table's columns (name, type, notnull, default, pk) and every index's columns."""
    layout: dict[str, object] = {}
    tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    for (table,) in tables.fetchall():
        layout[table] = [tuple(r[1:]) for r in conn.execute(f"PRAGMA table_info({table})")]
    indexes = conn.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    )
    for name, table in indexes.fetchall():
        layout[f"index {name} on {table}"] = [
            r[2] for r in conn.execute(f"PRAGMA index_info({name})")
        ]
    return layout


def test_new_store_is_wal_normal_and_current(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.db") as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        assert meta["schema_version"] == str(SCHEMA_VERSION)
        assert meta["created_by"].startswith("gilwatt ")


def test_reopening_does_not_change_anything(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    Store.open(path).close()
    with Store.open(path) as store:
        before = _layout(store._conn)
    with Store.open(path, create=False) as store:
        assert _layout(store._conn) == before


def test_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with Store.open(path) as store:
        assert store.runs() == []


def test_v1_fixture_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    shutil.copy(STORES / "v1-run.db", path)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    assert "vm_peak_bytes" not in [r[1] for r in raw.execute("PRAGMA table_info(processes)")]
    raw.close()

    with Store.open(path) as store:
        meta = dict(store._conn.execute("SELECT key, value FROM meta").fetchall())
        assert meta["schema_version"] == str(SCHEMA_VERSION)
        assert f"upgraded_1_to_{SCHEMA_VERSION}" in meta
        upgraded = _layout(store._conn)
        # The data written by version 1 reads back through today's readers.
        info = store.run_info(1)
        assert (info.command, info.status, info.env) == (
            ["python3.13t", "work.py"], "ok", {"PYTHON_GIL": "0"},
        )  # fmt: skip
        assert info.interpreter is not None and info.interpreter.free_threaded
        tl = store.timeline(1)
        assert tl.t_ns.shape == (51,) and tl.core_busy.shape == (51, 2)
        assert tl.core_busy[:, 1].tolist() == [1.0] * 51  # core 1 busy every tick, core 0 idle
        assert tl.core_busy[:, 0].tolist() == [0.0] * 51
        (kernel,) = store.regions(1)
        assert (kernel.tree_cpu_ns, kernel.energy_uj) == (80_000_000, 20_000)
        s = store.summary(1)
        assert s.peak_rss_bytes == 52_000_000  # ru_maxrss beats VmHWM 51 MB and samples
        assert s.peak_vms_bytes == 400_000_000  # no VmPeak in a v1 file: the samples' max
        assert store.output(1, "stdout") == b"hello from v1\n"
    with Store.open(tmp_path / "fresh.db") as fresh:
        assert upgraded == _layout(fresh._conn)  # same tables, columns and indexes


def test_v2_file_written_by_gilwatt_is_upgraded(tmp_path: Path) -> None:
    # A real file of schema version 2: a run recorded by gilwatt at fe7d813 (make_v2_fixture.py).
    path = tmp_path / "v2.db"
    shutil.copy(STORES / "v2-run.db", path)
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "2",
        )
        old_threads = raw.execute(
            "SELECT tid, pid, name, first_ns, last_ns FROM threads"
        ).fetchall()
        (old_summary,) = raw.execute("SELECT formula, peak_rss_bytes FROM run_summaries").fetchall()
    assert old_summary[0] == 1 and len(old_threads) == 3
    with Store.open(path) as store:
        meta = dict(store._conn.execute("SELECT key, value FROM meta").fetchall())
        assert meta["schema_version"] == str(SCHEMA_VERSION) == "3"
        assert "upgraded_2_to_3" in meta
        upgraded = _layout(store._conn)
        rows = store._conn.execute(
            "SELECT tid, pid, name, first_ns, last_ns, cpu_ns, start_ns, end_ns FROM threads"
        ).fetchall()
        assert [r[:5] for r in rows] == old_threads and all(r[5:] == (None,) * 3 for r in rows)
        s = store.summary(1)  # the cached row of formula 1 is ignored: computed again
        assert not s.max_threads_exact and s.max_threads == 3
        assert s.peak_rss_exact and s.peak_rss_bytes > 0
        assert store.output(1, "stdout") == b"hello from v2\n"
        (kernel,) = store.regions(1)
        assert kernel.name == "kernel"
        assert store.refresh_summaries([1]) == 1  # and the new columns can be written
    with Store.open(tmp_path / "fresh.db") as fresh:
        assert upgraded == _layout(fresh._conn)


def test_upgrade_failure_leaves_the_file_at_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v1.db"
    shutil.copy(STORES / "v1-run.db", path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE processes ADD COLUMN vm_peak_bytes INTEGER")
        raise sqlite3.OperationalError("simulated failure half-way")

    monkeypatch.setitem(schema_mod.UPGRADES, 1, broken)
    with pytest.raises(Exception, match="simulated failure"):
        Store.open(path)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    assert "vm_peak_bytes" not in [r[1] for r in raw.execute("PRAGMA table_info(processes)")]
    raw.close()


def _set_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    conn.commit()
    conn.close()


def test_newer_schema_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "future.db"
    Store.open(path).close()
    _set_version(path, SCHEMA_VERSION + 1)
    with pytest.raises(FormatVersionError) as info:
        Store.open(path)
    assert info.value.exit_code == 2
    assert str(path) in str(info.value) and f"version {SCHEMA_VERSION + 1}" in str(info.value)
    # Through the CLI: one line, exit 2, and the file is untouched.
    assert main(["export", str(path), "--format", "json", "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Upgrade gilwatt" in err
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION + 1),
    )
    conn.close()


def test_older_version_without_upgrader_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ancient.db"
    Store.open(path).close()
    _set_version(path, 0)
    with pytest.raises(Exception, match="version 0, which this gilwatt cannot upgrade"):
        Store.open(path)


def test_not_sqlite_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n")
    with pytest.raises(ConfigError, match=r"notes\.txt.*not an SQLite database"):
        Store.open(path)
    assert path.read_text() == "these are my notes, not a database\n"
    assert not Path(f"{path}-wal").exists()


def test_foreign_sqlite_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="not a gilwatt store"):
        Store.open(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing" / "r.db", "directory .*missing' does not exist"),
        (lambda d: d / "file.txt" / "r.db", "Not a directory"),
        (lambda d: d, "is not a regular file"),
    ],
    ids=["missing-directory", "parent-is-a-file", "path-is-a-directory"],
)
def test_unusable_paths_name_the_path_and_the_fix(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "file.txt").write_text("x")
    path = make(tmp_path)
    with pytest.raises(ConfigError, match=message) as info:
        Store.open(path)
    assert info.value.exit_code == 2
    assert "-o" in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only directories")
def test_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="is not writable"):
            Store.open(locked / "r.db")
    finally:
        locked.chmod(0o700)
    Store.open(locked / "r.db").close()
    locked.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match=r"r\.db' \(or its directory\) is not writable"):
            Store.open(locked / "r.db")
        with Store.open(locked / "r.db", create=False) as reader:  # reading still works
            assert reader.runs() == []
    finally:
        locked.chmod(0o700)


def test_unwritable_filesystem(tmp_path: Path) -> None:
    """/proc refuses new files even to root: the same one-line error, exit 2."""
    with pytest.raises(ConfigError, match="/proc") as info:
        Store.open("/proc/gilwatt-results.db")
    assert info.value.exit_code == 2


def test_missing_store_without_create(tmp_path: Path) -> None:
    path = tmp_path / "nope.db"
    with pytest.raises(ConfigError, match="does not exist"):
        Store.open(path, create=False)
    assert not path.exists()


def test_memory_store() -> None:
    with Store.open(":memory:") as store:
        assert store.runs() == []
