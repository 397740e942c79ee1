"""Helpers for the profiler, sampler and markers tests: interpreters and one-call profiling."""

from __future__ import annotations

import sqlite3
import sys
import textwrap
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import pythons
from gilwatt.profiler import ProfileRequest, ProfileResult, profile

GIL_PY = pythons.gil_python()
FT_PY = pythons.ft_python()
PY39 = pythons.PY39


def python_or_skip(path: Path) -> str:
    if not path.exists():
        pytest.skip(f"{path} is not installed here")
    return str(path)


def gil_python() -> str:
    return str(GIL_PY) if GIL_PY.exists() else sys.executable


def write_script(tmp_path: Path, code: str, name: str = "target.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return path


def run(
    tmp_path: Path,
    code: str,
    *,
    python: str | None = None,
    args: tuple[str, ...] = (),
    **options: Any,
) -> ProfileResult:
    """Profile ``code`` (a script) into ``tmp_path/runs.db``; output is kept, not copied."""
    script = write_script(tmp_path, code)
    request = ProfileRequest(
        argv=[python or gil_python(), str(script), *args],
        store_path=tmp_path / "runs.db",
        passthrough=False,
        handle_signals=False,
        **options,
    )
    return profile(request)


def query(tmp_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(tmp_path / "runs.db")) as conn:
        return conn.execute(sql, params).fetchall()


def output(tmp_path: Path, stream: str = "stdout") -> bytes:
    rows = query(tmp_path, "SELECT data FROM outputs WHERE stream = ? ORDER BY chunk", (stream,))
    return b"".join(bytes(data) for (data,) in rows)
