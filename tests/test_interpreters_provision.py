"""Provisioning end to end on a fake CPython source tree (tests/data/interpreters/fake-cpython).

The fake's configure/make/install are shell scripts, so the real pipeline (sha256 check,
extract, configure, make, make install into staging, module check, marker, atomic rename,
venv, logs, lock) runs in well under a second without compiling CPython.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import threading
import time
from pathlib import Path

import pytest

from gilwatt import paths
from gilwatt.cli import main
from gilwatt.errors import BuildError
from gilwatt.interpreters import Interpreter, discover, matched_pair, provision, resolve
from gilwatt.interpreters.interpreter import ProgressEvent
from gilwatt.interpreters.layout import MARKER, BuildLayout, read_marker
from gilwatt.interpreters.provision import provision_lock

FAKE_TREE = Path(__file__).parent / "data" / "interpreters" / "fake-cpython"
VERSION = "3.13.99"  # no real release: its checksum comes from sha256=

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("GILWATT_CACHE_DIR", str(root))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # make, sh and coreutils; no other pythons
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "no-uv"))
    monkeypatch.delenv("FAKE_MAKE_FAIL", raising=False)
    monkeypatch.delenv("FAKE_CONFIGURE_FAIL", raising=False)
    return root


@pytest.fixture
def fake_tarball(tmp_path: Path) -> tuple[Path, str]:
    tarball = tmp_path / "fake-cpython.tar.xz"
    with tarfile.open(tarball, "w:xz") as archive:
        archive.add(FAKE_TREE, arcname=f"Python-{VERSION}")
    return tarball, hashlib.sha256(tarball.read_bytes()).hexdigest()


def _provision(
    tarball: tuple[Path, str] | None,
    events: list[ProgressEvent] | None = None,
    requirements: tuple[str, ...] | None = None,
) -> tuple[Interpreter, Interpreter]:
    path, digest = tarball if tarball else (None, None)
    sink = events.append if events is not None else (lambda e: None)
    return provision(
        VERSION, tarball=path, sha256=digest, progress=sink, jobs=1, requirements=requirements
    )


def test_builds_a_matched_pair_with_identical_flags(
    cache: Path, fake_tarball: tuple[Path, str]
) -> None:
    events: list[ProgressEvent] = []
    gil, ft = _provision(fake_tarball, events, requirements=("numpy<2.5",))

    assert (gil.name, ft.name) == (f"cpython-{VERSION}", f"cpython-{VERSION}t")
    assert (gil.free_threaded, ft.free_threaded) == (False, True)
    assert (gil.gil_enabled, ft.gil_enabled) == (True, False)
    assert gil.executable == str(cache / "envs" / f"cpython-{VERSION}" / "bin" / "python")
    gil_marker = read_marker(BuildLayout(VERSION, False).prefix)
    ft_marker = read_marker(BuildLayout(VERSION, True).prefix)
    assert gil_marker and ft_marker
    gil_args = [a.replace(f"cpython-{VERSION}", "<prefix>") for a in gil_marker["configure_args"]]
    ft_args = [a.replace(f"cpython-{VERSION}t", "<prefix>") for a in ft_marker["configure_args"]]
    assert ft_args == [*gil_args, "--disable-gil"]
    assert gil_marker["source_sha256"] == fake_tarball[1]
    # the ft environment is made first; the GIL one gets exactly its numpy
    ft_pip = (BuildLayout(VERSION, True).env / "pip-args.txt").read_text()
    gil_pip = (BuildLayout(VERSION, False).env / "pip-args.txt").read_text()
    assert "numpy<2.5" in ft_pip and "numpy==2.4.0" in gil_pip
    assert gil.numpy == ft.numpy == "2.4.0"
    # nothing half-built or temporary is left; logs and the verified tarball are kept
    assert not list(paths.pythons_dir().glob(".staging-*"))
    assert not (cache / "build").exists()
    logs = sorted(p.name for p in paths.logs_dir().iterdir())
    assert any(name.startswith(f"cpython-{VERSION}t-") for name in logs)
    log_text = next(paths.logs_dir().glob(f"cpython-{VERSION}t-2*.log")).read_text()
    assert "--disable-gil" in log_text and "=== make install" in log_text
    assert (paths.sources_dir() / f"Python-{VERSION}.tar.xz").read_bytes() == fake_tarball[
        0
    ].read_bytes()
    steps = [e.step for e in events if not e.heartbeat]
    for step in ("verify", "extract", "configure", "build", "install", "check", "env", "done"):
        assert step in steps


def test_second_call_does_nothing(cache: Path, fake_tarball: tuple[Path, str]) -> None:
    first = _provision(fake_tarball, requirements=())
    markers = [BuildLayout(VERSION, ft).prefix / MARKER for ft in (False, True)]
    stamps = [m.stat().st_mtime_ns for m in markers]
    fake_tarball[0].unlink()  # no source is needed any more
    events: list[ProgressEvent] = []

    second = _provision(None, events)

    assert [e.step for e in events] == ["done"] and "already provisioned" in events[0].message
    assert [m.stat().st_mtime_ns for m in markers] == stamps
    assert [i.executable for i in second] == [i.executable for i in first]


def test_failed_make_reports_step_log_and_packages_and_leaves_nothing(
    cache: Path, fake_tarball: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MAKE_FAIL", "1")
    with pytest.raises(BuildError) as info:
        _provision(fake_tarball, requirements=())
    err = info.value
    assert err.step == "make"
    assert "ffi.h: No such file or directory" in err.tail
    assert Path(err.log_path).is_file() and err.log_path in str(err)
    assert "libffi-dev" in str(err) and "build-essential" in str(err)
    assert not BuildLayout(VERSION, False).prefix.exists()
    assert not list(paths.pythons_dir().glob(".staging-*"))
    assert not (cache / "build").exists()

    monkeypatch.delenv("FAKE_MAKE_FAIL")  # a retry starts clean and succeeds
    gil, ft = _provision(fake_tarball, requirements=())
    assert gil.usable and ft.usable


def test_half_built_install_and_env_are_replaced(
    cache: Path, fake_tarball: tuple[Path, str]
) -> None:
    gil_build = BuildLayout(VERSION, False)
    (gil_build.prefix / "bin").mkdir(parents=True)
    (gil_build.prefix / "bin" / "leftover").write_text("from an interrupted build")
    gil_build.env.mkdir(parents=True)
    (gil_build.env / "leftover").write_text("from an interrupted venv")

    gil, _ = _provision(fake_tarball, requirements=())

    assert gil.usable
    assert not (gil_build.prefix / "bin" / "leftover").exists()
    assert not (gil_build.env / "leftover").exists()


def test_a_second_provision_waits_for_the_lock(cache: Path, fake_tarball: tuple[Path, str]) -> None:
    events: list[ProgressEvent] = []
    results: list[object] = []
    with provision_lock(lambda e: None):
        worker = threading.Thread(
            target=lambda: results.append(_provision(fake_tarball, events, requirements=()))
        )
        worker.start()
        deadline = time.monotonic() + 10
        while not any(e.step == "lock" for e in events) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert any(e.step == "lock" and "waiting" in e.message for e in events)
        assert not results  # still waiting while we hold the lock
    worker.join(timeout=30)
    assert results and not worker.is_alive()


def test_discovery_lists_the_provisioned_pair(cache: Path, fake_tarball: tuple[Path, str]) -> None:
    gil, ft = _provision(fake_tarball, requirements=())
    found = {i.name: i for i in discover()}
    assert found[gil.name].source == found[ft.name].source == "gilwatt"
    assert found[ft.name].executable == ft.executable
    assert matched_pair(VERSION) == (found[gil.name], found[ft.name])
    assert resolve("ft").executable == ft.executable
    assert resolve(f"{VERSION}t").executable == ft.executable
    assert resolve(f"cpython-{VERSION}").executable == gil.executable


def test_cli_provision_prints_the_pair(
    cache: Path, fake_tarball: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, digest = fake_tarball
    assert (
        main(
            [
                "interpreters",
                "provision",
                VERSION,
                "--tarball",
                str(path),
                "--sha256",
                digest,
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert f"cpython-{VERSION}t" in out and "GIL disabled" in out
    assert "[configure]" in err and "[done]" in err
    assert main(["interpreters", "provision", VERSION, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["free_threaded"], d["gil_enabled"]) for d in data] == [(False, True), (True, False)]


def test_cli_build_failure_shows_step_log_tail_and_packages(
    cache: Path,
    fake_tarball: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_CONFIGURE_FAIL", "1")
    path, digest = fake_tarball
    assert (
        main(["interpreters", "provision", VERSION, "--tarball", str(path), "--sha256", digest])
        == 1
    )
    err = capsys.readouterr().err
    assert "gilwatt: error: CPython build failed at step 'configure' (log: " in err
    assert "sudo apt-get install build-essential libssl-dev" in err
    assert "--- last lines of the build log ---" in err
    assert "configure: error: no acceptable C compiler found in $PATH" in err


def test_the_installed_python_of_a_free_threaded_build(tmp_path: Path) -> None:
    from gilwatt.interpreters.layout import installed_python
    from gilwatt.interpreters.provision import normalise_version

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.14t").write_text("")
    # a release that does not link python3 for the free-threaded build: its own name
    assert installed_python(bin_dir, "3.14.2", True) == bin_dir / "python3.14t"
    (bin_dir / "python3").symlink_to("python3.14t")
    assert installed_python(bin_dir, "3.14.2", True) == bin_dir / "python3"
    assert installed_python(tmp_path / "none", "3.14.2", False) == tmp_path / "none" / "python3"
    assert normalise_version("3.14") == "3.14.2" and normalise_version("3.14t") == "3.14.2"
    assert normalise_version("cpython-3.15.0b1t") == "3.15.0b1"
