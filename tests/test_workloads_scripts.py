"""Every bundled workload script, run for real under real target interpreters.

Each run gets a marker pipe (``GILWATT_MARKER_FD``) as gilwatt's launcher would give it, and
the test reads the marker lines back: the ``kernel`` region, ``verified``, and the GIL state
at both ends of the region.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import pythons
from gilwatt.workloads import CORRUPT_ENV, EXIT_SKIPPED, EXIT_VERIFY_FAILED, WorkloadRun, registry

SRC = Path(__file__).resolve().parents[1] / "src"
DEV_PYTHONS = {"gil": pythons.gil_python(), "ft": pythons.ft_python()}
PYTHON39 = pythons.PY39  # a bare 3.9: no numpy


def _targets() -> dict[str, str]:
    found = {name: str(path) for name, path in DEV_PYTHONS.items() if path.exists()}
    return found or {"host": sys.executable}


TARGETS = _targets()
WORKLOADS = registry()


@dataclass
class Marked:
    """A finished workload run and the marker lines it wrote."""

    returncode: int
    stdout: str
    stderr: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def attrs(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for event in self.events:
            if event["kind"] == "A":
                merged.update(event["attrs"])
        return merged

    def region(self, name: str = "kernel") -> tuple[dict[str, Any], dict[str, Any]]:
        begins = [e for e in self.events if e["kind"] == "B" and e["name"] == name]
        ends = [e for e in self.events if e["kind"] == "E" and e["name"] == name]
        assert len(begins) == 1 and len(ends) == 1, self.events
        return begins[0], ends[0]


def run_marked(argv: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> Marked:
    """Run ``argv`` with a marker pipe and the src tree on PYTHONPATH; parse what it wrote."""
    read_fd, write_fd = os.pipe()
    full_env = dict(os.environ)
    full_env.pop(CORRUPT_ENV, None)
    full_env["PYTHONPATH"] = str(SRC)
    full_env["GILWATT_MARKER_FD"] = f"{write_fd}:{os.fstat(write_fd).st_ino}"
    full_env.update(env or {})
    data: list[bytes] = []
    with os.fdopen(read_fd, "rb") as reader:
        thread = threading.Thread(target=lambda: data.append(reader.read()))
        thread.start()
        try:
            proc = subprocess.run(
                argv, env=full_env, pass_fds=(write_fd,), capture_output=True, timeout=timeout
            )
        finally:
            os.close(write_fd)
            thread.join(timeout)
    events = []
    for line in b"".join(data).decode().splitlines():
        fields = line.split("\t")
        assert fields[0] == "G1" and len(fields) == 10, line
        payload = json.loads(fields[9])
        events.append({
            "kind": fields[1],
            "tid": int(fields[3]),
            "t_ns": int(fields[5]),
            "gil": fields[8],
            "name": payload["n"],
            "attrs": payload.get("a", {}),
        })  # fmt: skip
    return Marked(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), events)


def _variants(name: str) -> list[str | None]:
    workload = WORKLOADS[name]
    variants = workload.preset("tiny").get("variant")
    return list(variants) if isinstance(variants, list) else [None]


def _tiny_cell(name: str, variant: str | None) -> WorkloadRun:
    workload = WORKLOADS[name]
    overrides = {"variant": variant} if variant else {}
    workers = [2] if workload.uses_workers else [1]  # two workers: chunking is exercised
    (cell,) = workload.cells("tiny", overrides, workers)
    return cell


BUILTIN_CASES = [(name, variant) for name in WORKLOADS for variant in _variants(name)]


def _case_id(case: tuple[str, str | None]) -> str:
    return case[0] if case[1] is None else f"{case[0]}-{case[1]}"


def _gil_expected(python: str) -> bool:
    code = "import sys; print(getattr(sys, '_is_gil_enabled', lambda: True)())"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


GIL_STATE = {label: _gil_expected(python) for label, python in TARGETS.items()}


def _version(python: str) -> tuple[int, int]:
    code = "import sys; print(*sys.version_info[:2])"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    major, minor = out.stdout.split()
    return int(major), int(minor)


TARGET_VERSION = {label: _version(python) for label, python in TARGETS.items()}
INTERPRETER_POOL_SINCE = (3, 14)  # concurrent.futures.InterpreterPoolExecutor


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("case", BUILTIN_CASES, ids=_case_id)
def test_tiny_run_verifies(case: tuple[str, str | None], target: str) -> None:
    cell = _tiny_cell(*case)
    result = run_marked(cell.argv(TARGETS[target]))
    attrs = result.attrs()
    # the one version gate: InterpreterPoolExecutor runs on 3.14+ targets and skips before
    if case == ("executors", "interpreter") and TARGET_VERSION[target] < INTERPRETER_POOL_SINCE:
        assert result.returncode == EXIT_SKIPPED, result.stderr
        assert "needs Python 3.14+" in attrs["skipped"] and "skipped:" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert attrs["verified"] is True and "checksum" in attrs
    begin, end = result.region("kernel")
    assert begin["attrs"]["workload"] == cell.workload.name
    assert begin["attrs"]["workers"] == cell.workers
    for name, value in cell.params.items():
        assert begin["attrs"][name] == value
    assert 0 < end["t_ns"] - begin["t_ns"] < 2_000_000_000
    gil = GIL_STATE[target]
    assert attrs["gil_start"] is gil and attrs["gil_end"] is gil
    assert begin["gil"] == end["gil"] == ("1" if gil else "0")


@pytest.mark.parametrize("case", BUILTIN_CASES, ids=_case_id)
def test_corrupted_result_fails_verification(case: tuple[str, str | None]) -> None:
    cell = _tiny_cell(*case)
    python = TARGETS.get("ft") or next(iter(TARGETS.values()))
    result = run_marked(cell.argv(python), env={CORRUPT_ENV: "1"})
    if case == ("executors", "interpreter") and result.returncode == EXIT_SKIPPED:
        pytest.skip("InterpreterPoolExecutor needs Python 3.14+")
    attrs = result.attrs()
    assert result.returncode == EXIT_VERIFY_FAILED, result.stderr
    assert attrs["verified"] is False and attrs["detail"]
    assert "verification failed:" in result.stderr
    result.region("kernel")  # the region was still recorded


def test_corrupt_flag_works_like_the_environment_switch() -> None:
    cell = _tiny_cell("matmul", None)
    result = run_marked([*cell.argv(next(iter(TARGETS.values()))), "--corrupt"])
    assert result.returncode == EXIT_VERIFY_FAILED
    assert "never processed" in result.attrs()["detail"]


@pytest.mark.skipif(not PYTHON39.exists(), reason="needs a CPython 3.9 without numpy")
def test_missing_numpy_is_skipped_with_the_reason() -> None:
    probe = subprocess.run([str(PYTHON39), "-c", "import numpy"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("this 3.9 has numpy")
    result = run_marked(_tiny_cell("numpy_fft", None).argv(str(PYTHON39)))
    assert result.returncode == EXIT_SKIPPED
    assert "numpy is not installed" in result.attrs()["skipped"]
    assert "numpy is not installed" in result.stderr
    assert not [e for e in result.events if e["kind"] == "B"]


@pytest.mark.skipif(not PYTHON39.exists(), reason="needs a CPython 3.9")
@pytest.mark.parametrize("name", ["json_parse", "shared_state", "object_lists"])
def test_scripts_run_on_python_3_9(name: str) -> None:
    result = run_marked(_tiny_cell(name, _variants(name)[0]).argv(str(PYTHON39)))
    assert result.returncode == 0, result.stderr
    assert result.attrs()["verified"] is True
    assert result.attrs()["gil_start"] is True


@pytest.mark.skipif(not PYTHON39.exists(), reason="needs a CPython 3.9")
def test_every_script_compiles_on_python_3_9() -> None:
    scripts = sorted((SRC / "gilwatt" / "workloads" / "scripts").glob("*.py"))
    code = "import sys, ast\nfor p in sys.argv[1:]: compile(open(p).read(), p, 'exec')"
    done = subprocess.run(
        [str(PYTHON39), "-c", code, *map(str, scripts)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_unlocked_shared_state_race_is_caught_on_free_threading() -> None:
    """The deliberate data race: when the two threads overlap on a free-threaded build they
    lose updates, and verification must say so (exit 3), never report a wrong result as ok.

    Whether they overlap depends on the scheduler (2 shared cores), so up to 5 tries."""
    if "ft" not in TARGETS:
        pytest.skip("needs the free-threaded build")
    (cell,) = WORKLOADS["shared_state"].cells(
        "tiny", {"variant": "unlocked", "num_items": 100_000, "num_keys": 16}, [2]
    )
    for _ in range(5):
        result = run_marked(cell.argv(TARGETS["ft"]))
        verified = result.attrs()["verified"]
        assert (result.returncode, verified) in ((0, True), (EXIT_VERIFY_FAILED, False))
        if result.returncode == EXIT_VERIFY_FAILED:
            assert "key" in result.attrs()["detail"]
            return
    pytest.skip("the two threads never overlapped: no race to catch on this busy machine")


def test_user_script_with_markers_runs_from_a_toml_file(tmp_path: Path) -> None:
    script = tmp_path / "squares.py"
    script.write_text(
        "import argparse, sys\n"
        "from gilwatt.markers import region, annotate\n"
        "p = argparse.ArgumentParser(); p.add_argument('--workers', type=int)\n"
        "p.add_argument('--count', type=int); a = p.parse_args()\n"
        "with region('work', workers=a.workers):\n"
        "    total = sum(i * i for i in range(a.count))\n"
        "ok = total == (a.count - 1) * a.count * (2 * a.count - 1) // 6\n"
        "annotate(verified=ok)\n"
        "sys.exit(0 if ok else 3)\n"
    )
    (tmp_path / "squares.toml").write_text(
        'name = "squares"\nscript = "squares.py"\nregion = "work"\n'
        '[params.count]\nunit = "numbers"\ndefault = 1000\nhelp = "how many"\n'
        "[presets.tiny]\ncount = 5000\nworkers = [2]\n"
    )
    workload = registry([tmp_path])["squares"]
    (cell,) = workload.cells("tiny")
    result = run_marked(cell.argv(next(iter(TARGETS.values()))))
    assert result.returncode == 0, result.stderr
    begin, _ = result.region(workload.region)
    assert begin["attrs"] == {"workers": 2}
    assert result.attrs()["verified"] is True
