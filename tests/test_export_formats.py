"""``gilwatt export``: CSV, JSON and Parquet parse back to exactly what the store holds."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from gilwatt import export as export_mod
from gilwatt.cli import main
from gilwatt.errors import ConfigError
from gilwatt.store import SCHEMA_VERSION, Store
from gilwatt.store.writer import RUN_TABLES
from test_store_roundtrip import write_hand_run


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Three runs; runs 2 and 3 belong to study 1, which has an idle baseline."""
    path = tmp_path / "results.db"
    with Store.open(path) as store:
        for _ in range(3):
            write_hand_run(store)
        conn = store._conn
        conn.execute("INSERT INTO studies VALUES (1, 'quick', 'abc', '{\"reps\": 2}', 7, 5)")
        conn.executemany(
            "INSERT INTO study_runs VALUES (1, ?, 0, ?, 'sum', '{\"n\": 1}', 2, ?, 'py', ?, '', ?)",
            [
                ("k1", 0, "gil", "done", 2),
                ("k2", 1, "ft", "done", 3),
                ("k3", 2, "ft", "pending", None),
            ],
        )
        conn.execute("INSERT INTO idle_baselines VALUES (1, NULL, 0, 5, 100, 42, 'model:test')")
        store.update_run(2, study_id=1)
        store.update_run(3, study_id=1)
        store.flush()
    return path


def _sql_records(
    store: Store, table: str, where: str, params: tuple[Any, ...]
) -> list[dict[str, Any]]:
    cur = store._conn.execute(f"SELECT * FROM {table} WHERE {where}", params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur]


def _as_json_record(record: dict[str, Any]) -> dict[str, Any]:
    """What the JSON export makes of a row: *_json columns parsed, named without the suffix."""
    out = {}
    for name, value in record.items():
        if name.endswith("_json"):
            out[name[:-5]] = json.loads(value)
        else:
            out[name] = value
    return out


def _json_export(store_path: Path, *args: str) -> dict[str, Any]:
    out = store_path.parent / "export.json"
    assert main(["export", str(store_path), "--format", "json", "-o", str(out), *args]) == 0
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def test_json_is_lossless(store_path: Path) -> None:
    doc = _json_export(store_path, "--study", "1")
    assert (doc["format"], doc["version"], doc["schema_version"]) == (
        "gilwatt-export",
        1,
        SCHEMA_VERSION,
    )
    assert [r["run_id"] for r in doc["runs"]] == [2, 3]
    with Store.open(store_path, create=False) as store:
        for run in doc["runs"]:
            run_id = run["run_id"]
            (row,) = _sql_records(store, "runs", "run_id = ?", (run_id,))
            assert {k: run[k] for k in _as_json_record(row)} == _as_json_record(row)
            for table in RUN_TABLES:
                rows = _sql_records(store, table, "run_id = ?", (run_id,))
                for r in rows:
                    del r["run_id"]
                if table == "outputs":
                    for stream in ("stdout", "stderr"):
                        out = run["outputs"][stream]
                        data = (
                            out["data"].encode()
                            if out["encoding"] == "utf-8"
                            else base64.b64decode(out["data"])
                        )
                        assert data == store.output(run_id, stream)
                elif isinstance(run[table], dict):  # column arrays
                    assert run[table] == {k: [r[k] for r in rows] for k in rows[0]}, table
                else:
                    assert run[table] == [_as_json_record(r) for r in rows], table
            summary = dataclasses.asdict(store.summary(run_id))
            del summary["run_id"]
            assert run["summary"] == summary
        assert doc["studies"] == [
            _as_json_record(r) for r in _sql_records(store, "studies", "1", ())
        ]
        assert doc["study_runs"] == [
            _as_json_record(r) for r in _sql_records(store, "study_runs", "1", ())
        ]
        assert len(doc["idle_baselines"]) == 1
        assert [h["host_id"] for h in doc["hosts"]] == [1]
    assert doc["runs"][0]["outputs"]["stderr"]["encoding"] == "base64"  # b"\xff\xfe ..."


def test_json_of_one_run_has_only_what_it_refers_to(store_path: Path) -> None:
    doc = _json_export(store_path, "--run", "1")
    assert [r["run_id"] for r in doc["runs"]] == [1]
    assert doc["studies"] == [] and doc["study_runs"] == [] and doc["idle_baselines"] == []
    assert len(doc["interpreters"]) == 1


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _as_csv_record(record: dict[str, Any]) -> dict[str, str]:
    def text(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, bytes):
            return v.decode("utf-8", "backslashreplace")
        return str(v)

    return {k: text(v) for k, v in record.items()}


def test_csv_one_file_per_table(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    assert (
        main(
            [
                "export",
                str(store_path),
                "--format",
                "csv",
                "--run",
                "2",
                "--run",
                "3",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in export_mod.TABLES)
    with Store.open(store_path, create=False) as store:
        for table in ("runs", *RUN_TABLES):
            rows = _sql_records(store, table, "run_id IN (2, 3)", ())
            key = {"outputs": ("run_id", "stream", "chunk")}.get(table)
            if key:
                rows.sort(key=lambda r: tuple(r[k] for k in key))
            assert _csv(out / f"{table}.csv") == [_as_csv_record(r) for r in rows], table
        summaries = _csv(out / "summaries.csv")
        assert [int(r["run_id"]) for r in summaries] == [2, 3]
        s = store.summary(2)
        assert float(summaries[0]["core_balance"]) == s.core_balance
        assert int(summaries[0]["peak_rss_bytes"]) == s.peak_rss_bytes
    assert [r["name"] for r in _csv(out / "studies.csv")] == ["quick"]  # the runs' study
    assert [r["run_key"] for r in _csv(out / "study_runs.csv")] == ["k1", "k2", "k3"]
    # Run 1 is in no study: a header-only file.
    alone = tmp_path / "studies-of-run-1.csv"
    argv = ["export", str(store_path), "--format", "csv", "--run", "1", "--table", "studies"]
    assert main([*argv, "-o", str(alone)]) == 0
    assert alone.read_text().splitlines() == [
        "study_id,name,spec_hash,spec_json,seed,created_unix_ns"
    ]


def test_csv_single_table_to_stdout(
    store_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert (
        main(
            [
                "export",
                str(store_path),
                "--format",
                "csv",
                "--table",
                "samples",
                "--run",
                "1",
                "-o",
                "-",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsysbinary.readouterr().out.decode())))
    assert [r["seq"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert rows[0]["energy_uj"] == "" and rows[1]["energy_uj"] == "100"


def test_json_to_stdout(store_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["export", str(store_path), "--format", "json", "-o", "-"]) == 0
    captured = capsysbinary.readouterr()
    assert [r["run_id"] for r in json.loads(captured.out)["runs"]] == [1, 2, 3]
    assert captured.err == b""  # nothing but the document goes to stdout, and no chatter


def test_parquet(store_path: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip(
        "pyarrow.parquet", reason="pyarrow not installed: pip install 'gilwatt[parquet]'"
    )
    out = tmp_path / "pq"
    assert (
        main(["export", str(store_path), "--format", "parquet", "--study", "1", "-o", str(out)])
        == 0
    )
    with Store.open(store_path, create=False) as store:
        for table in ("runs", *RUN_TABLES):
            rows = _sql_records(store, table, "run_id IN (2, 3)", ())
            if table == "outputs":
                rows.sort(key=lambda r: (r["run_id"], r["stream"], r["chunk"]))
            assert pq.read_table(out / f"{table}.parquet").to_pylist() == rows, table
        samples = pq.read_table(out / "samples.parquet")
        assert str(samples.schema.field("t_ns").type) == "int64"
        assert str(samples.schema.field("trigger").type) == "string"
        summaries = pq.read_table(out / "summaries.parquet").to_pylist()
        assert summaries[0]["core_balance"] == store.summary(2).core_balance
    assert pq.read_table(out / "studies.parquet").num_rows == 1


def test_parquet_without_pyarrow_says_how_to_install(
    store_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    out = tmp_path / "pq"
    assert main(["export", str(store_path), "--format", "parquet", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'gilwatt[parquet]'" in err
    assert not out.exists()


def test_failed_export_leaves_the_old_file_and_no_temporaries(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out" / "export.json"
    out.parent.mkdir()
    out.write_text("previous export")
    real = export_mod._run_document

    def fail_on_run_3(store: Store, run_id: int) -> dict[str, Any]:
        if run_id == 3:
            raise KeyboardInterrupt  # as if Ctrl-C arrived half-way
        return real(store, run_id)

    monkeypatch.setattr(export_mod, "_run_document", fail_on_run_3)
    with Store.open(store_path, create=False) as store, pytest.raises(KeyboardInterrupt):
        export_mod.export(store, "json", out, run_ids=[1, 2, 3])
    assert out.read_text() == "previous export"
    assert [p.name for p in out.parent.iterdir()] == ["export.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run", "9"], r"run 9 is not in store .* Runs in it: 1, 2, 3\."),
        (["--study", "4"], r"unknown study '4'\. Valid: 1\."),
        (["--table", "nope", "-o", "-"], r"unknown table 'nope'"),
        (["-o", "-"], r"needs a directory, not '-'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    store_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    argv = ["export", str(store_path), "--format", "csv", *args]
    if "-o" not in args:
        argv += ["-o", str(store_path.parent / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert re.search(message, err), err


def test_directory_export_into_a_file_path_is_refused(store_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "file.csv"
    target.write_text("keep me")
    with (
        Store.open(store_path, create=False) as store,
        pytest.raises(ConfigError, match="is a file"),
    ):
        export_mod.export(store, "csv", target, run_ids=[1])
    assert target.read_text() == "keep me"


def test_missing_store_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.db"
    assert main(["export", str(missing), "--format", "json", "-o", "-"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()


def test_pyperf_from_export_and_compare_is_one_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from analysis_fixtures import build_golden_store
    from gilwatt.cli import main

    db = build_golden_store(tmp_path / "study.db")
    documents = []
    for command in ("export", "compare"):
        out = tmp_path / command
        args = [command, str(db), "--format", "pyperf", "-o", str(out), "--metric", "energy"]
        assert main(args) == 0
        printed = capsys.readouterr().out.split()
        assert printed == [str(out / "ft.json"), str(out / "gil.json")]
        documents.append([json.loads(Path(p).read_text()) for p in printed])
    assert documents[0] == documents[1]
    assert documents[0][0]["metadata"]["gilwatt_metric"] == "energy_j"
