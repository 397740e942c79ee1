"""The markers client inside real target interpreters, as gilwatt launches them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gilwatt import launcher
from profiler_fixtures import FT_PY, PY39, gil_python, output, python_or_skip, query, run

REGIONS = """
import os, sys, threading
from gilwatt.markers import annotate, enabled, mark, region

@region("decorated", kind="fn")
def step(n):
    return sum(range(n))

assert enabled()
with region("outer", workers=2):
    with region("inner"):
        step(10_000)
    def work():
        with region("worker"):
            step(200_000)
    ts = [threading.Thread(target=work) for _ in range(2)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    mark("checkpoint", at=1)
try:
    with region("fails"):
        raise ValueError("boom")
except ValueError:
    pass
gil = getattr(sys, "_is_gil_enabled", lambda: True)()
annotate(gil_at_exit=gil, version=sys.version_info[:2])
print(step(3))
"""


def _regions(tmp_path: Path) -> list[tuple[str, int, int, int | None, int | None, str]]:
    return query(
        tmp_path,
        "SELECT name, tid, end_ns - begin_ns, gil_begin, gil_end, attrs_json FROM regions ORDER BY region_idx",
    )


def test_nested_threaded_decorated_and_failing_regions(tmp_path: Path) -> None:
    result = run(tmp_path, REGIONS)
    assert result.status == "ok", result.stderr_tail
    assert output(tmp_path) == b"3\n"
    regions = _regions(tmp_path)
    names = sorted(r[0] for r in regions)
    assert names == ["decorated"] * 4 + ["fails", "inner", "outer", "worker", "worker"]
    by_name = {r[0]: r for r in regions}
    assert '"kind": "fn"' in by_name["decorated"][5] and '"workers": 2' in by_name["outer"][5]
    assert '"error": "ValueError"' in by_name["fails"][5]
    workers = [r for r in regions if r[0] == "worker"]
    assert len({w[1] for w in workers}) == 2 and workers[0][1] != by_name["outer"][1]
    assert by_name["outer"][2] > by_name["inner"][2] > 0
    assert result.warnings == []
    marks = query(tmp_path, "SELECT name, attrs_json, sample_seq FROM markers WHERE kind = 'M'")
    assert marks[0][0] == "checkpoint" and '"at": 1' in marks[0][1] and marks[0][2] is not None
    # Every boundary got a sample taken when it arrived (trigger 'marker').
    boundary = query(
        tmp_path, "SELECT count(*) FROM markers WHERE kind IN ('B','E') AND sample_seq IS NULL"
    )
    assert boundary == [(0,)]
    assert query(tmp_path, "SELECT count(*) FROM samples WHERE trigger = 'marker'")[0][0] >= 1
    assert result.info is not None and result.info.attrs["gil_at_exit"] is True


def test_free_threaded_target_keeps_the_gil_off(tmp_path: Path) -> None:
    python = python_or_skip(FT_PY)
    result = run(tmp_path, REGIONS, python=python)
    assert result.status == "ok", result.stderr_tail
    assert result.info is not None and result.info.attrs["gil_at_exit"] is False
    gil_states = {(r[3], r[4]) for r in _regions(tmp_path)}
    assert gil_states == {(0, 0)}
    assert b"GIL" not in output(tmp_path, "stderr")
    assert not any("GIL" in w for w in result.warnings)


def test_markers_import_on_python_3_9_through_the_shim(tmp_path: Path) -> None:
    python = python_or_skip(PY39)
    result = run(tmp_path, REGIONS, python=python)
    assert result.status == "ok", result.stderr_tail
    assert result.info is not None and result.info.attrs["version"] == [3, 9]
    assert {(r[3], r[4]) for r in _regions(tmp_path)} == {(1, 1)}  # 3.9 always holds a GIL


def test_shim_holds_only_the_markers_client_and_the_thread_hook() -> None:
    shim = launcher.shim_dir()
    files = sorted(str(p.relative_to(shim)) for p in shim.rglob("*") if p.is_file())
    assert files == [
        "gilwatt/__init__.py", "gilwatt/markers.py", "gilwatt/threadhook.py",
        "site/sitecustomize.py",
    ]  # fmt: skip


def test_markers_are_a_silent_no_op_outside_gilwatt(tmp_path: Path) -> None:
    code = (
        "from gilwatt.markers import region, mark, annotate, enabled\n"
        "with region('x'):\n    mark('y')\nannotate(a=1)\n"
        "@region('f')\ndef f():\n    return 5\n"
        "print(enabled(), f())\n"
    )
    env = dict(os.environ, PYTHONPATH=str(launcher.shim_dir()))
    env.pop("GILWATT_MARKER_FD", None)
    done = subprocess.run([gil_python(), "-c", code], env=env, capture_output=True, check=True)
    assert done.stdout == b"False 5\n"
    # A stale descriptor number (here: stdout, not our pipe) is not written to.
    env["GILWATT_MARKER_FD"] = "1:12345"
    done = subprocess.run([gil_python(), "-c", code], env=env, capture_output=True, check=True)
    assert done.stdout == b"False 5\n"


def test_garbled_and_unbalanced_lines_become_warnings(tmp_path: Path) -> None:
    code = """
    import os
    from gilwatt.markers import region
    fd = int(os.environ["GILWATT_MARKER_FD"].split(":")[0])
    os.write(fd, b"this is not a marker\\n")
    os.write(fd, b"G1\\tE\\t1\\t1\\t99\\t5\\t5\\t5\\t0\\t{\\"n\\": \\"nobody-began-me\\"}\\n")
    with region("good"):
        pass
    region("left-open").__enter__()
    os.write(fd, b"G1\\tB\\t1\\t1\\t1\\t5\\t5\\t5\\t0\\t{\\"n\\": ")  # torn: no newline, then exit
    """
    result = run(tmp_path, code)
    assert result.status == "ok"
    assert [r[0] for r in _regions(tmp_path)] == ["good"]
    text = "\n".join(result.warnings)
    assert "garbled marker line" in text and "nobody-began-me" in text and "left-open" in text
    assert query(tmp_path, "SELECT warnings_json LIKE '%garbled%' FROM runs") == [(1,)]


def test_markers_from_a_forked_child_are_kept(tmp_path: Path) -> None:
    code = """
    import os
    from gilwatt.markers import region
    pid = os.fork()
    if pid == 0:
        with region("in-child"):
            sum(range(100_000))
        os._exit(0)
    os.waitpid(pid, 0)
    with region("in-parent"):
        pass
    """
    result = run(tmp_path, code)
    assert result.status == "ok"
    rows = query(tmp_path, "SELECT name, pid FROM regions ORDER BY name")
    assert [r[0] for r in rows] == ["in-child", "in-parent"] and rows[0][1] != rows[1][1]
