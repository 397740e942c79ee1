"""Export runs from a store as CSV, JSON or Parquet, for tools other than gilwatt.

Formats (every file is written to a temporary name and renamed into place, so a reader never
sees half a file, and an interrupted export leaves nothing behind):

- ``csv``: one file per table (``runs.csv``, ``samples.csv``, ...) in a directory, plus
  ``summaries.csv`` with the derived whole-run figures, one row per run. Columns are the
  store's columns, NULL is an empty field, and the target's output (``outputs.csv``) is
  decoded as UTF-8 with invalid bytes escaped (CSV cannot hold bytes; use JSON for those).
  With ``table=`` a single table goes to one file or a stream.
- ``json``: one lossless document, format version 1::

      {"format": "gilwatt-export", "version": 1, "schema_version": 3, "meta": {...},
       "hosts": [...], "interpreters": [...], "studies": [...], "study_runs": [...],
       "idle_baselines": [...],
       "runs": [{<runs columns>, "summary": {...},
                 "samples": {"seq": [...], "t_ns": [...], ...},   # column arrays
                 "core_samples": {...}, "thread_samples": {...}, "memory_samples": {...},
                 "energy_samples": {...},
                 "threads": [...], "processes": [...], "energy_zones": [...],   # records
                 "markers": [...], "regions": [...],
                 "outputs": {"stdout": {"encoding": "utf-8"|"base64", "data": "..."}, ...}}]}

  Columns named ``*_json`` hold JSON text in the store; here they are parsed and named
  without the suffix (``attrs_json`` -> ``attrs``). Every stored value is present.
- ``parquet`` (needs ``pip install 'gilwatt[parquet]'``): one file per table, like csv, with
  column types from the schema (INTEGER int64, REAL double, TEXT string, BLOB binary).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.store import SCHEMA_VERSION, Store
from gilwatt.store.dump import SHARED_TABLES
from gilwatt.store.reader import SUMMARY_FIELDS
from gilwatt.store.writer import RUN_TABLES

FORMATS = ("csv", "json", "parquet")
JSON_FORMAT_VERSION = 1
# Every exportable table (run_summaries is a cache; "summaries" holds the same figures).
TABLES = ("runs", *RUN_TABLES, *SHARED_TABLES, "summaries")
_COLUMN_ARRAYS = ("samples", "core_samples", "thread_samples", "memory_samples", "energy_samples")
_PARQUET_HINT = "Install it with: pip install 'gilwatt[parquet]'"


def select_runs(
    store: Store, run_ids: Sequence[int] | None = None, study_id: int | None = None
) -> list[int]:
    """The runs to export: the given ones (each must exist), a study's, or all."""
    if run_ids:
        for run_id in run_ids:
            store.run_info(run_id)  # ConfigError listing the runs that exist
        return sorted(set(run_ids))
    if study_id is not None:
        studies = [s.study_id for s in store.studies()]
        if study_id not in studies:
            raise UnknownNameError("study", str(study_id), [str(s) for s in studies])
        return store.run_ids(study_id)
    return store.run_ids()


def export(
    store: Store,
    fmt: str,
    out: str | os.PathLike[str],
    *,
    run_ids: Sequence[int],
    table: str | None = None,
    stdout: IO[bytes] | None = None,
) -> list[str]:
    """Write ``run_ids`` of ``store`` as ``fmt`` to ``out``; return what was written.

    ``out`` is a directory (csv/parquet of all tables), a file, or ``-`` for ``stdout``
    (json, or a single ``table``).
    """
    if fmt not in FORMATS:
        raise UnknownNameError("export format", fmt, FORMATS)
    if table is not None and table not in TABLES:
        raise UnknownNameError("table", table, TABLES)
    if fmt == "parquet":
        _require_pyarrow()
    target = os.fspath(out)
    if fmt == "json":
        if table is not None:
            raise ConfigError("--table applies to csv and parquet; json holds every table.")
        _write_to(target, stdout, lambda f: write_json(store, f, run_ids))
        return [target]
    if table is not None:
        _write_to(target, stdout, lambda f: _write_table(store, fmt, table, f, run_ids))
        return [target]
    if target == "-":
        raise ConfigError(
            f"{fmt} export writes one file per table, so it needs a directory, not '-'.",
            hint="Give -o DIR, or --table NAME to write one table to stdout.",
        )
    directory = Path(target)
    _make_directory(directory)
    written = []
    for name in TABLES:
        path = directory / f"{name}.{fmt}"
        with atomic_file(path) as f:
            _write_table(store, fmt, name, f, run_ids)
        written.append(str(path))
    return written


# -- files ------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A binary file that appears at ``path`` complete, or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        f = tmp.open("wb")
    except OSError as exc:
        raise ConfigError(
            f"cannot write {str(path)!r}: {exc.strerror}.", hint="Choose another path with -o."
        ) from exc
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_to(target: str, stdout: IO[bytes] | None, write: Callable[[IO[bytes]], None]) -> None:
    if target == "-":
        if stdout is None:
            raise ConfigError("no stream to write '-' to.")
        write(stdout)
        stdout.flush()
        return
    path = Path(target)
    if path.is_dir():
        raise ConfigError(
            f"{target!r} is a directory.", hint="Give a file name for this export with -o."
        )
    with atomic_file(path) as f:
        write(f)


def _make_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise ConfigError(
            f"{str(directory)!r} is a file, but this export writes one file per table.",
            hint="Give a directory with -o, or --table NAME for a single file.",
        )
    try:
        directory.mkdir(exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create directory {str(directory)!r}: {exc.strerror}.",
            hint="Create its parent first, or choose another path with -o.",
        ) from exc


# -- rows -------------------------------------------------------------------------------------


def _columns(store: Store, table: str) -> list[tuple[str, str]]:
    """(name, declared type) of each column."""
    if table == "summaries":
        types = {"energy_source": "TEXT", "mean_cpu_util": "REAL", "peak_cpu_util": "REAL",
                 "core_balance": "REAL"}  # fmt: skip
        return [("run_id", "INTEGER")] + [(f, types.get(f, "INTEGER")) for f in SUMMARY_FIELDS]
    return store.table_layout(table)


def _rows(store: Store, table: str, run_ids: Sequence[int]) -> Iterator[Sequence[Any]]:
    """The rows of ``table`` that belong to ``run_ids``, run by run, in key order."""
    if table == "summaries":
        for run_id in run_ids:
            s = store.summary(run_id)
            values = (getattr(s, f) for f in SUMMARY_FIELDS)  # flags as 0/1, as in the store
            yield (run_id, *(int(v) if isinstance(v, bool) else v for v in values))
    elif table in SHARED_TABLES:
        yield from store.shared_rows(table, run_ids)
    else:
        for run_id in run_ids:
            yield from store.run_rows(table, run_id)


# -- csv / parquet ----------------------------------------------------------------------------


def _write_table(store: Store, fmt: str, table: str, f: IO[bytes], run_ids: Sequence[int]) -> None:
    if fmt == "csv":
        _write_csv(store, table, f, run_ids)
    else:
        _write_parquet(store, table, f, run_ids)


def _write_csv(store: Store, table: str, f: IO[bytes], run_ids: Sequence[int]) -> None:
    columns = _columns(store, table)
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    try:
        writer = csv.writer(text)
        writer.writerow([name for name, _ in columns])
        blobs = [i for i, (_, kind) in enumerate(columns) if kind == "BLOB"]
        for row in _rows(store, table, run_ids):
            if blobs:
                row = list(row)
                for i in blobs:
                    row[i] = bytes(row[i]).decode("utf-8", "backslashreplace")
            writer.writerow(row)
        text.flush()
    finally:
        text.detach()  # leave ``f`` open for its owner


def _require_pyarrow() -> None:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ConfigError(
            "parquet export needs pyarrow, which is not installed.", hint=_PARQUET_HINT
        ) from None


def _write_parquet(store: Store, table: str, f: IO[bytes], run_ids: Sequence[int]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {"INTEGER": pa.int64(), "REAL": pa.float64(), "TEXT": pa.string(), "BLOB": pa.binary()}
    columns = _columns(store, table)
    schema = pa.schema([(name, kinds.get(kind, pa.string())) for name, kind in columns])
    with pq.ParquetWriter(f, schema) as writer:
        batch: list[Sequence[Any]] = []
        for row in _rows(store, table, run_ids):
            batch.append(row)
            if len(batch) >= 100_000:
                writer.write_table(_arrow_table(pa, schema, batch))
                batch = []
        if batch or not run_ids:
            writer.write_table(_arrow_table(pa, schema, batch))


def _arrow_table(pa: Any, schema: Any, rows: list[Sequence[Any]]) -> Any:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema.names]
    return pa.table(
        [pa.array(list(c), type=t) for c, t in zip(columns, schema.types, strict=True)],
        schema=schema,
    )


# -- json -------------------------------------------------------------------------------------


def write_json(store: Store, f: IO[bytes], run_ids: Sequence[int]) -> None:
    """The lossless JSON document (see the module docstring), written run by run."""
    head: dict[str, Any] = {
        "format": "gilwatt-export",
        "version": JSON_FORMAT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "meta": store.meta(),
    }
    for table in SHARED_TABLES:
        head[table] = _records(_columns(store, table), store.shared_rows(table, run_ids))
    text = json.dumps(head, separators=(",", ":"))
    f.write(text[:-1].encode() + b',"runs":[')
    for i, run_id in enumerate(run_ids):
        if i:
            f.write(b",")
        f.write(json.dumps(_run_document(store, run_id), separators=(",", ":")).encode())
    f.write(b"]}\n")


def _records(columns: list[tuple[str, str]], rows: Any) -> list[dict[str, Any]]:
    names = [name for name, _ in columns]
    return [_decode_json_columns(dict(zip(names, row, strict=True))) for row in rows]


def _decode_json_columns(record: dict[str, Any]) -> dict[str, Any]:
    for name in [n for n in record if n.endswith("_json")]:
        value = record.pop(name)
        record[name[: -len("_json")]] = None if value is None else json.loads(value)
    return record


def _run_document(store: Store, run_id: int) -> dict[str, Any]:
    doc = _records(_columns(store, "runs"), store.run_rows("runs", run_id))[0]
    summary = dataclasses.asdict(store.summary(run_id))
    summary.pop("run_id")
    doc["summary"] = summary
    for table in RUN_TABLES:
        if table == "outputs":
            continue
        columns = [c for c in _columns(store, table) if c[0] != "run_id"]
        rows = list(store.run_rows(table, run_id, [name for name, _ in columns]))
        if table in _COLUMN_ARRAYS:
            arrays = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
            doc[table] = {name: list(a) for (name, _), a in zip(columns, arrays, strict=True)}
        else:
            doc[table] = _records(columns, rows)
    doc["outputs"] = {
        stream: _encode_bytes(store.output(run_id, stream)) for stream in ("stdout", "stderr")
    }
    return doc


def _encode_bytes(data: bytes) -> dict[str, str]:
    try:
        return {"encoding": "utf-8", "data": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"encoding": "base64", "data": base64.b64encode(data).decode("ascii")}
