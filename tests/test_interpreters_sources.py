"""Source tarballs: checksum verification, the order of sources, and the Debian/apt route.

apt itself is replaced by small scripts on PATH (the real route needs the network and is
exercised by ``gilwatt interpreters provision`` on a real machine); what is tested here is
what gilwatt does around it: which archive and keyring it derives from the machine's apt
sources, the private apt configuration, and every way the route can come up empty.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gilwatt import paths
from gilwatt.cli import main
from gilwatt.errors import ConfigError, InterpreterError
from gilwatt.interpreters import checksums, debian, provision, pythonorg
from gilwatt.interpreters.sources import SourceTarball, obtain_source

KNOWN = "3.13.5"
KNOWN_SHA = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"


@pytest.fixture(autouse=True)
def no_python_org(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """python.org is replaced by a port that refuses connections: these tests never download."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{sock.getsockname()[1]}/ftp/python"
        monkeypatch.setattr(pythonorg, "DEFAULT_BASE_URL", refused)
        yield


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GILWATT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    return tmp_path / "cache"


def _obtain(version: str, tarball: Path | None = None, sha256: str | None = None) -> SourceTarball:
    log = paths.logs_dir() / "source.log"
    return obtain_source(
        version, tarball=tarball, sha256=sha256, log_path=log, progress=lambda e: None
    )


def test_known_checksum_is_in_the_table(cache: Path) -> None:
    found = {e.filename: e for e in checksums.expected_checksums(KNOWN)}
    assert found["Python-3.13.5.tar.xz"].sha256 == KNOWN_SHA
    assert found["Python-3.13.5.tar.xz"].origin == "gilwatt's table"


def test_corrupted_user_tarball_is_refused_and_kept(cache: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "Python-3.13.5.tar.xz"
    corrupt.write_bytes(b"\xfd7zXZ\x00 this is not CPython")
    with pytest.raises(ConfigError) as info:
        provision(KNOWN, tarball=corrupt)
    message = str(info.value)
    assert "sha256 mismatch" in message and str(corrupt) in message and KNOWN_SHA in message
    assert "nothing was deleted" in message
    assert corrupt.read_bytes().startswith(b"\xfd7zXZ")  # the user's file is untouched
    assert not (paths.sources_dir() / "Python-3.13.5.tar.xz").exists()
    assert not (paths.pythons_dir() / "cpython-3.13.5").exists()


def test_corrupted_cached_tarball_stops_with_an_error(cache: Path) -> None:
    cached = paths.sources_dir() / "Python-3.13.5.tar.xz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated download")
    with pytest.raises(InterpreterError, match="sha256 mismatch"):
        _obtain(KNOWN)
    assert cached.exists()


def test_a_good_tarball_is_copied_into_the_cache(cache: Path, tmp_path: Path) -> None:
    tarball = tmp_path / "anything.tar.xz"
    tarball.write_bytes(b"pretend release")
    digest = hashlib.sha256(b"pretend release").hexdigest()
    source = _obtain("3.13.98", tarball=tarball, sha256=digest.upper())
    assert source.path == paths.sources_dir() / "Python-3.13.98.tar.xz"
    assert source.path.read_bytes() == b"pretend release" and tarball.exists()
    assert source.checksum_origin == "--sha256"
    # next time the cache is the source, still verified
    assert _obtain("3.13.98", sha256=digest).origin == "cache"


def test_unknown_release_needs_sha256(cache: Path, tmp_path: Path) -> None:
    tarball = tmp_path / "Python-3.13.98.tar.xz"
    tarball.write_bytes(b"x")
    with pytest.raises(
        ConfigError, match=r"no known sha256 for CPython 3\.13\.98.*Pass --sha256 HEX"
    ):
        _obtain("3.13.98", tarball=tarball)
    with pytest.raises(ConfigError, match=r"invalid --sha256 \(abc\)"):
        _obtain("3.13.98", tarball=tarball, sha256="abc")


def test_pyenv_definitions_are_a_second_checksum_source(cache: Path, tmp_path: Path) -> None:
    definitions = tmp_path / "pyenv" / "plugins" / "python-build" / "share" / "python-build"
    definitions.mkdir(parents=True)
    xz, tgz = "a" * 64, "b" * 64
    (definitions / "3.14.7").write_text(
        f'install_package "Python-3.14.7" "https://example.invalid/Python-3.14.7.tar.xz#{xz}" standard\n'
        f'install_package "Python-3.14.7" "https://example.invalid/Python-3.14.7.tgz#{tgz}" standard\n'
    )
    found = {e.filename: e.sha256 for e in checksums.expected_checksums("3.14.7")}
    assert found == {"Python-3.14.7.tar.xz": xz, "Python-3.14.7.tgz": tgz}
    assert checksums.expected_checksums("3.14.70") == []


def test_cli_unknown_version_is_a_one_line_error(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["interpreters", "provision", "3.99"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        "gilwatt: error: no source for CPython 3.99: tried --tarball (not given); cache "
    )
    assert "Debian source package (no Debian suite known to carry CPython 3.99)" in err
    assert "pass --tarball PATH" in err
    assert not cache.exists()  # nothing was created for a request that cannot be served


def test_cli_versions_without_a_free_threaded_build(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["interpreters", "provision", "3.12.4"]) == 2
    assert "CPython 3.12.4 has no free-threaded build" in capsys.readouterr().err


# --- the Debian route ---------------------------------------------------------------------


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    root = tmp_path / "etc-root"
    parts = root / "etc" / "apt" / "sources.list.d"
    parts.mkdir(parents=True)
    (parts / "debian.sources").write_text(
        "Types: deb\n"
        "# a comment\n"
        "URIs: http://mirror.invalid/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        "\n"
        "Types: deb\n"
        "URIs: http://mirror.invalid/debian-security\n"
        "Suites: bookworm-security\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    (parts / "disabled.sources").write_text(
        "Enabled: no\nTypes: deb\nURIs: http://other.invalid/x\nSuites: y\n"
    )
    return root


def test_archive_and_keyring_come_from_the_machines_apt_sources(etc: Path) -> None:
    archive = debian.find_archive(etc)
    assert archive == debian.AptArchive(
        "http://mirror.invalid/debian", "/usr/share/keyrings/debian-archive-keyring.gpg"
    )


def test_one_line_sources_list_is_understood(tmp_path: Path) -> None:
    (tmp_path / "etc" / "apt").mkdir(parents=True)
    (tmp_path / "etc" / "apt" / "sources.list").write_text(
        "# old style\n"
        "deb http://mirror.invalid/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.invalid/debian bookworm main contrib\n"
    )
    assert debian.find_archive(tmp_path) == debian.AptArchive(
        "http://mirror.invalid/debian", "/k.gpg"
    )
    assert debian.find_archive(tmp_path / "nothing") is None


def fake_apt(bin_dir: Path, tarball_bytes: bytes, versions: str = "3.13.5-2") -> Path:
    """apt-get / apt-cache stand-ins that log their arguments and 'download' a tarball."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = bin_dir / "apt.log"
    payload = bin_dir / "payload"
    payload.write_bytes(tarball_bytes)
    (bin_dir / "apt-get").write_text(
        "#!/bin/sh\n"
        f'echo "apt-get $*" >> {log}\n'
        'for a in "$@"; do last=$a; done\n'
        'case "$*" in *" source "*) cp ' + str(payload) + ' "python3.13_${last#python3.13=}"; '
        'v=${last#python3.13=}; mv "python3.13_$v" "python3.13_${v%%-*}.orig.tar.xz";; esac\n'
    )
    showsrc = "".join(f"Package: python3.13\\nVersion: {v}\\n\\n" for v in versions.split())
    (bin_dir / "apt-cache").write_text(
        f'#!/bin/sh\necho "apt-cache $*" >> {log}\nprintf "{showsrc}"\n'
    )
    for name in ("apt-get", "apt-cache"):
        (bin_dir / name).chmod(0o755)
    return log


def test_debian_route_uses_a_private_apt_configuration(
    etc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_apt(tmp_path / "bin", b"orig tarball")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    work = tmp_path / "work"
    work.mkdir()
    orig = debian.fetch_orig_tarball(
        KNOWN, work, log_path=tmp_path / "apt.log.txt", progress=lambda e: None, etc_root=etc
    )
    assert orig.name == "python3.13_3.13.5.orig.tar.xz" and orig.read_bytes() == b"orig tarball"
    calls = log.read_text()
    assert (
        "Dir::Etc::SourceParts=/dev/null" in calls
        and f"Dir::State::Lists={work / 'lists'}" in calls
    )
    assert " update" in calls and "source --download-only python3.13=3.13.5-2" in calls
    assert (work / "sources.list").read_text() == (
        "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.invalid/debian trixie main\n"
    )


def test_debian_with_another_release_is_reported(
    etc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_apt(tmp_path / "bin", b"x", versions="3.13.5-2 3.13.5-3")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    with pytest.raises(
        debian.DebianUnavailable, match=r"Debian trixie has python3\.13 3\.13\.5, not 3\.13\.4"
    ):
        debian.fetch_orig_tarball(
            "3.13.4", tmp_path, log_path=tmp_path / "l", progress=lambda e: None, etc_root=etc
        )


def test_debian_tarball_with_a_bad_checksum_is_refused(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_apt(tmp_path / "bin", b"tampered")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    if debian.find_archive() is None:
        pytest.skip("this machine has no Debian apt sources")
    with pytest.raises(
        InterpreterError, match=r"sha256 mismatch for .*python3\.13_3\.13\.5\.orig\.tar\.xz"
    ):
        _obtain(KNOWN)
    assert not (paths.sources_dir() / "Python-3.13.5.tar.xz").exists()
    assert not list(paths.sources_dir().glob(".apt-*"))  # the download's temp dir is gone
