"""Discovery, probing, naming, resolving and pairing of interpreters.

Real interpreters where the machine has them (this test's own Python; pyenv's 2.7 if present)
and small shell scripts for the rest: broken ones (exit 1, garbage, hang) and well-formed
fakes that answer the probe like a 3.14 / 3.14t pair would, so pairing rules are testable on
a machine without those versions.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gilwatt.cli import main
from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.interpreters import discover, matched_pair, probe, resolve

PYTHON27 = Path("/root/.pyenv/versions/2.7.18/bin/python")


def write_script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def fake_python(
    path: Path, version: str, free_threaded: bool, flags: str = "--with-ensurepip=install"
) -> Path:
    """A script that answers the probe like a CPython of ``version`` would."""
    prefix = path.parent.parent
    args = f"--prefix={prefix} {flags}" + (" --disable-gil" if free_threaded else "")
    answer = {
        "version": version,
        "implementation": "cpython",
        "executable": str(path),
        "realpath": str(path),
        "prefix": str(prefix),
        "abiflags": "t" if free_threaded else "",
        "py_gil_disabled": free_threaded,
        "gil_enabled": not free_threaded,
        "config_args": args,
        "numpy": None,
        "error": None,
    }
    return write_script(path, f"echo 'GILWATT-PROBE {json.dumps(answer)}'")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated machine: empty cache, pyenv and uv roots, and a PATH of our own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("GILWATT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "uv"))
    return tmp_path


def test_probe_reports_a_real_interpreter() -> None:
    found = probe(sys.executable)
    assert found.usable, found.error
    assert found.version == "{}.{}.{}".format(*sys.version_info[:3])
    assert found.implementation == sys.implementation.name
    assert found.name == f"cpython-{found.version}" + ("t" if found.free_threaded else "")
    assert found.realpath == os.path.realpath(sys.executable)
    info = found.info()
    assert info.executable == sys.executable and info.extra["source"] == "user"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "echo 'Fatal Python error: init_fs_encoding' >&2; exit 1",
            "exited with code 1 (Fatal Python error: init_fs_encoding)",
        ),
        (
            "echo 'Hello, I am not Python'",
            "did not answer the probe (printed 'Hello, I am not Python')",
        ),
        ("echo 'GILWATT-PROBE {not json'", "did not answer the probe"),
        ("kill -9 $$", "killed by signal 9"),
    ],
)
def test_broken_interpreter_gets_a_reason(tmp_path: Path, body: str, reason: str) -> None:
    found = probe(write_script(tmp_path / "python3.99", body))
    assert not found.usable
    assert reason in (found.error or "")


def test_hanging_interpreter_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    hang = write_script(tmp_path / "python3.99", f"sleep 30 & echo $! > {pid_file}; wait")
    started = time.monotonic()
    found = probe(hang, timeout_s=0.5)
    assert time.monotonic() - started < 3
    assert "did not answer within 0.5 s" in (found.error or "")
    child = int(pid_file.read_text())
    time.sleep(0.05)
    assert (
        not Path(f"/proc/{child}").exists()
        or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    )


def test_garbage_flood_is_cut_off(tmp_path: Path) -> None:
    found = probe(write_script(tmp_path / "python3.99", "yes garbage"), timeout_s=5)
    assert "instead of answering" in (found.error or "")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.mkdir(), p)[1], "is a directory"),
        (lambda p: (p.write_text("just text"), p)[1], "not executable"),
        (lambda p: (p.write_text("just text"), p.chmod(0o755), p)[2], "exec format error"),
        (lambda p: (p.symlink_to(p.with_name("gone")), p)[1], "broken symbolic link"),
    ],
)
def test_non_python_paths_are_unusable_with_a_reason(
    tmp_path: Path, make: Callable[[Path], Path], reason: str
) -> None:
    found = probe(make(tmp_path / "thing"))
    assert not found.usable and reason in (found.error or "")


@pytest.mark.skipif(not PYTHON27.exists(), reason="no Python 2.7 on this machine")
def test_python2_is_listed_as_too_old() -> None:
    found = probe(PYTHON27)
    assert found.version.startswith("2.7") and "too old" in (found.error or "")


def test_discover_lists_every_source_and_survives_broken_ones(world: Path) -> None:
    write_script(world / "bin" / "python3.99", "exit 1")
    write_script(world / "bin" / "python3.98", "/bin/sleep 30")
    (world / "bin" / "python3").symlink_to(sys.executable)
    (world / "bin" / "python3-config").write_text("not a candidate name")
    fake_python(world / "pyenv" / "versions" / "3.12.9" / "bin" / "python", "3.12.9", False)
    fake_python(
        world / "uv" / "cpython-3.14.0-linux-x86_64-gnu" / "bin" / "python3.14", "3.14.0", False
    )
    fake_python(
        world / "uv" / "cpython-3.14.0+freethreaded-linux-x86_64-gnu" / "bin" / "python3.14t",
        "3.14.0",
        True,
    )
    not_python = world / "notes.txt"
    not_python.write_text("hello")

    started = time.monotonic()
    found = discover([not_python], timeout_s=1.0)
    assert time.monotonic() - started < 4  # probed in parallel; the hang costs one timeout

    by_name = {i.name: i for i in found}
    assert by_name["cpython-3.14.0t"].source == "uv" and by_name["cpython-3.14.0t"].free_threaded
    assert by_name["cpython-3.12.9"].source == "pyenv"
    assert any(i.source == "path" and i.realpath == os.path.realpath(sys.executable) for i in found)
    broken = {Path(i.executable).name: i.error for i in found if not i.usable}
    assert set(broken) == {"python3.99", "python3.98", "notes.txt"}
    assert "exited with code 1" in (broken["python3.99"] or "")
    assert "did not answer within 1 s" in (broken["python3.98"] or "")
    # usable first, newest first
    assert [i.usable for i in found] == sorted((i.usable for i in found), reverse=True)
    assert found[0].version == "3.14.0"


def test_the_same_interpreter_is_listed_once(world: Path) -> None:
    real = fake_python(
        world / "pyenv" / "versions" / "3.12.9" / "bin" / "python3.12", "3.12.9", False
    )
    (world / "pyenv" / "versions" / "3.12.9" / "bin" / "python").symlink_to(real)
    (world / "bin" / "python3.12").symlink_to(real)
    found = [i for i in discover() if i.version == "3.12.9"]
    assert len(found) == 1 and found[0].source == "path"  # PATH comes before pyenv


def test_name_collisions_get_the_source_appended(world: Path) -> None:
    fake_python(world / "bin" / "python3.14", "3.14.0", False)
    fake_python(world / "uv" / "cpython-3.14.0-linux" / "bin" / "python3.14", "3.14.0", False)
    names = sorted(i.name for i in discover())
    assert names == ["cpython-3.14.0", "cpython-3.14.0@uv"]


def test_matched_pair_and_resolve(world: Path) -> None:
    fake_python(world / "pyenv" / "versions" / "3.13.1" / "bin" / "python", "3.13.1", False)
    fake_python(world / "pyenv" / "versions" / "3.13.1t" / "bin" / "python", "3.13.1", True)
    fake_python(world / "uv" / "cpython-3.14.0-linux" / "bin" / "python3.14", "3.14.0", False)
    fake_python(world / "uv" / "cpython-3.14.0+ft-linux" / "bin" / "python3.14t", "3.14.0", True)
    fake_python(world / "bin" / "python3.15", "3.15.0", False)  # no free-threaded partner
    found = discover()

    gil, ft = matched_pair(interpreters=found) or (None, None)
    assert gil is not None and ft is not None
    assert (gil.name, ft.name) == ("cpython-3.14.0", "cpython-3.14.0t")
    pair_313 = matched_pair("3.13", interpreters=found)
    assert pair_313 and [i.name for i in pair_313] == ["cpython-3.13.1", "cpython-3.13.1t"]
    assert matched_pair("3.15", interpreters=found) is None

    assert resolve("gil", interpreters=found) == gil
    assert resolve("ft", interpreters=found) == ft
    assert resolve("3.13t", interpreters=found).name == "cpython-3.13.1t"
    assert resolve("python3.14t", interpreters=found).name == "cpython-3.14.0t"
    assert resolve("cpython-3.13.1", interpreters=found).name == "cpython-3.13.1"
    assert resolve("3.14.0", interpreters=found).name == "cpython-3.14.0"
    with pytest.raises(UnknownNameError) as info:
        resolve("3.99t", interpreters=found)
    assert "cpython-3.14.0t" in str(info.value) and "ft" in info.value.valid


def test_pair_prefers_identical_build_flags(world: Path) -> None:
    fake_python(
        world / "pyenv" / "versions" / "a" / "bin" / "python",
        "3.14.0",
        False,
        flags="--enable-optimizations",
    )
    fake_python(world / "pyenv" / "versions" / "b" / "bin" / "python", "3.14.0", False)
    fake_python(world / "pyenv" / "versions" / "c" / "bin" / "python", "3.14.0", True)
    pair = matched_pair()
    assert pair is not None and pair[0].executable.endswith("/b/bin/python")


def test_resolve_a_path(world: Path, tmp_path: Path) -> None:
    assert resolve(sys.executable).realpath == os.path.realpath(sys.executable)
    broken = write_script(tmp_path / "python3.99", "exit 1")
    with pytest.raises(
        ConfigError, match=r"not a usable Python interpreter \(.*python3.99\): .*exited with code 1"
    ):
        resolve(str(broken))


def test_no_pair_gives_a_clear_error(world: Path) -> None:
    with pytest.raises(ConfigError, match="no matched GIL / free-threaded pair"):
        resolve("ft")


def test_cli_json_and_table(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_python(world / "bin" / "python3.14", "3.14.0", False)
    fake_python(world / "bin" / "python3.14t", "3.14.0", True)
    broken = write_script(world / "elsewhere" / "python", "exit 3")

    assert main(["interpreters", "--json", str(broken)]) == 0
    data = json.loads(capsys.readouterr().out)
    keys = [
        "name",
        "executable",
        "version",
        "implementation",
        "free_threaded",
        "gil_enabled",
        "source",
        "error",
    ]
    assert all(list(d)[:8] == keys for d in data)
    by_name = {d["name"]: d for d in data}
    assert (
        by_name["cpython-3.14.0t"]["free_threaded"] is True
        and by_name["cpython-3.14.0t"]["gil_enabled"] is False
    )
    assert by_name["python"]["error"].startswith(
        "not a working Python interpreter: exited with code 3"
    )

    assert main(["interpreters", "--add", str(broken)]) == 0
    out = capsys.readouterr().out
    assert "cpython-3.14.0t  3.14.0   free-threaded  off" in out
    assert "unusable:" in out and "exited with code 3" in out
    assert "matched pair: cpython-3.14.0 (gil) and cpython-3.14.0t (ft)" in out

    assert main(["interpreters", "--pair", "--json"]) == 0
    assert [d["name"] for d in json.loads(capsys.readouterr().out)] == [
        "cpython-3.14.0",
        "cpython-3.14.0t",
    ]


def test_cli_pair_without_a_pair_fails(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_python(world / "bin" / "python3.14", "3.14.0", False)
    assert main(["interpreters", "--pair"]) == 1
    assert "no matched GIL / free-threaded pair" in capsys.readouterr().err


def test_cli_rejects_provision_flags_when_listing(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["interpreters", "--tarball", "x.tar.xz"]) == 2
    assert "--tarball only applies to provisioning" in capsys.readouterr().err
