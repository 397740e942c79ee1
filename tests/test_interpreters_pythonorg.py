"""The python.org source: a release tarball served over HTTP on 127.0.0.1 by the test itself.

Fetch and verify only (one test also runs the fake build of test_interpreters_provision,
which takes well under a second): download with progress, the sha256 refusal, resuming a
partial download, falling through to the next source, the one-line error naming every
source tried, and the connect timeout. The checksum table is checked against pyenv's
definitions on this machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gilwatt import paths
from gilwatt.cli import main
from gilwatt.errors import InterpreterError
from gilwatt.interpreters import checksums, debian, pythonorg
from gilwatt.interpreters.interpreter import ProgressEvent
from gilwatt.interpreters.sources import SourceTarball, obtain_source
from test_interpreters_sources import fake_apt

VERSION = "3.14.97"  # no real release: its checksum is passed as sha256
PAYLOAD = os.urandom(3 << 20)  # 3 MiB: several chunks, so progress and cuts fall mid-file
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@dataclass
class Served:
    """What the test server holds and how it misbehaves; it records every request."""

    files: dict[str, bytes] = field(default_factory=dict)
    honour_range: bool = True
    cut_after_bytes: int | None = None  # the first answer stops after this many body bytes
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)


class _Handler(BaseHTTPRequestHandler):
    served: Served

    def do_GET(self) -> None:
        served = self.served
        wanted = self.headers.get("Range")
        served.requests.append((self.path, wanted))
        body = served.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        match = re.match(r"bytes=(\d+)-$", wanted or "")
        if match and served.honour_range:
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if served.cut_after_bytes is not None:
            cut, served.cut_after_bytes = served.cut_after_bytes, None
            self.wfile.write(body[start : start + cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])

    def log_message(self, format: str, *args: object) -> None:
        pass


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test servers are on 127.0.0.1: a proxy from the environment must not get between."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def served() -> Iterator[tuple[Served, str]]:
    """(what is served, the base URL): an HTTP server on a free port of 127.0.0.1."""
    state = Served()
    handler = type("Handler", (_Handler,), {"served": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/mirror"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GILWATT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    return tmp_path / "cache"


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A base URL on a port that is bound but not listening: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/ftp/python"


def _release_path(version: str = VERSION) -> str:
    return f"/mirror/{version}/Python-{version}.tar.xz"


def _obtain(
    version: str,
    base_url: str,
    sha256: str | None = DIGEST,
    events: list[ProgressEvent] | None = None,
) -> SourceTarball:
    sink = events.append if events is not None else (lambda e: None)
    return obtain_source(
        version,
        tarball=None,
        sha256=sha256,
        log_path=paths.logs_dir() / "source.log",
        progress=sink,
        base_url=base_url,
    )


def _cached(version: str = VERSION) -> Path:
    return paths.sources_dir() / f"Python-{version}.tar.xz"


def test_release_urls_follow_python_orgs_layout() -> None:
    assert pythonorg.release_url("3.14.2") == (
        "https://www.python.org/ftp/python/3.14.2/Python-3.14.2.tar.xz"
    )
    # a pre-release lives in its final release's directory
    assert pythonorg.release_url("3.15.0b1", "http://mirror.invalid/py/") == (
        "http://mirror.invalid/py/3.15.0/Python-3.15.0b1.tar.xz"
    )
    assert pythonorg.CONNECT_TIMEOUT_S <= 5


def test_download_is_verified_and_kept_in_the_cache(
    cache: Path, served: tuple[Served, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, base = served
    state.files[_release_path()] = PAYLOAD
    monkeypatch.setattr(pythonorg, "PROGRESS_EVERY_S", 0.0)  # a report for every chunk
    events: list[ProgressEvent] = []

    source = _obtain(VERSION, base, events=events)

    assert source.path == _cached() and source.path.read_bytes() == PAYLOAD
    assert source.sha256 == DIGEST and source.checksum_origin == "--sha256"
    assert source.origin == f"--url ({base}/{VERSION}/Python-{VERSION}.tar.xz)"
    assert state.requests == [(_release_path(), None)]
    assert not list(paths.sources_dir().glob("*.part"))
    downloads = [e for e in events if e.step == "download"]
    assert not downloads[0].heartbeat and "(3.1 MB)" in downloads[0].message
    beats = [e.message for e in downloads if e.heartbeat]
    assert len(beats) >= 3 and beats[-1].endswith("3.1 MB of 3.1 MB")
    assert [e.step for e in events].index("verify") > [e.step for e in events].index("download")
    # next time the cache answers; the server is not asked again
    assert _obtain(VERSION, base).origin == "cache" and len(state.requests) == 1


def test_a_corrupted_download_is_refused_and_deleted(
    cache: Path, served: tuple[Served, str]
) -> None:
    state, base = served
    state.files[_release_path()] = PAYLOAD[:-1] + b"\x00"
    with pytest.raises(InterpreterError) as info:
        _obtain(VERSION, base)
    message = str(info.value)
    assert "sha256 mismatch" in message and DIGEST in message and "(from --sha256)" in message
    assert not _cached().exists() and not list(paths.sources_dir().glob("*.part"))


def test_an_interrupted_download_resumes_with_a_range_request(
    cache: Path, served: tuple[Served, str]
) -> None:
    state, base = served
    state.files[_release_path()] = PAYLOAD
    state.cut_after_bytes = 1_000_000  # the connection closes after 1 MB
    source = _obtain(VERSION, base)
    assert source.path.read_bytes() == PAYLOAD
    assert state.requests == [(_release_path(), None), (_release_path(), "bytes=1000000-")]


def test_a_part_left_by_an_earlier_run_is_resumed(cache: Path, served: tuple[Served, str]) -> None:
    state, base = served
    state.files[_release_path()] = PAYLOAD
    part = _cached().with_name(_cached().name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:123_456])
    assert _obtain(VERSION, base).path.read_bytes() == PAYLOAD
    assert state.requests == [(_release_path(), "bytes=123456-")]
    assert not part.exists()


def test_a_server_ignoring_range_restarts_cleanly(cache: Path, served: tuple[Served, str]) -> None:
    state, base = served
    state.files[_release_path()] = PAYLOAD
    state.honour_range = False
    part = _cached().with_name(_cached().name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:5000])
    assert _obtain(VERSION, base).path.read_bytes() == PAYLOAD  # not 5000 bytes too long


def test_a_stale_part_from_another_file_is_downloaded_again(
    cache: Path, served: tuple[Served, str]
) -> None:
    state, base = served
    state.files[_release_path()] = PAYLOAD
    part = _cached().with_name(_cached().name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 4096)  # resumable, but its bytes are wrong: the sha256 tells
    assert _obtain(VERSION, base).path.read_bytes() == PAYLOAD
    assert state.requests == [(_release_path(), "bytes=4096-"), (_release_path(), None)]


def test_a_part_longer_than_the_file_is_replaced(cache: Path, served: tuple[Served, str]) -> None:
    state, base = served
    state.files[_release_path()] = PAYLOAD
    part = _cached().with_name(_cached().name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD + b"trailing junk")  # the server answers 416
    assert _obtain(VERSION, base).path.read_bytes() == PAYLOAD
    assert state.requests[-1] == (_release_path(), None)


def test_without_a_known_checksum_nothing_is_downloaded(
    cache: Path, served: tuple[Served, str]
) -> None:
    state, base = served
    state.files[_release_path()] = PAYLOAD
    with pytest.raises(pythonorg.DownloadUnavailable, match=r"no known sha256.*--sha256 HEX"):
        pythonorg.fetch_release(
            VERSION,
            _cached(),
            pythonorg.usable_checksums(VERSION),
            base_url=base,
            progress=lambda e: None,
        )
    assert state.requests == []


def test_a_missing_release_falls_through_to_debian(
    cache: Path, served: tuple[Served, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if debian.find_archive() is None:
        pytest.skip("this machine has no Debian apt sources")
    state, base = served  # serves nothing: 404
    orig = b"the orig tarball Debian ships"
    fake_apt(tmp_path / "bin", orig, versions="3.13.97-1")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    events: list[ProgressEvent] = []

    source = _obtain("3.13.97", base, sha256=hashlib.sha256(orig).hexdigest(), events=events)

    assert source.origin == "Debian (python3.13_3.13.97.orig.tar.xz)"
    assert source.path.read_bytes() == orig
    assert state.requests == [(_release_path("3.13.97"), None)]
    said = [e.message for e in events if e.step == "source"]
    assert said == [
        f"--url {base}/3.13.97/Python-3.13.97.tar.xz (HTTP 404 Not Found): trying Debian's source package"
    ]


def test_when_no_source_answers_one_line_names_each(
    cache: Path, refused_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    code = main(["interpreters", "provision", VERSION, "--sha256", DIGEST, "--url", refused_url])
    elapsed_s = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err == (
        f"gilwatt: error: no source for CPython {VERSION}: tried --tarball (not given); "
        f"cache {_cached()} (absent); "
        f"--url {refused_url}/{VERSION}/Python-{VERSION}.tar.xz (connection refused); "
        "Debian source package (no Debian suite known to carry CPython 3.14). "
        f"Download the official source release Python-{VERSION}.tar.xz and pass --tarball PATH "
        "(and --sha256 HEX if gilwatt does not know its checksum).\n"
    )
    assert elapsed_s < 5  # a refused connection is not waited for
    assert not list(paths.sources_dir().glob("*.part"))


def test_an_unknown_release_fails_before_the_network(
    cache: Path, served: tuple[Served, str], capsys: pytest.CaptureFixture[str]
) -> None:
    state, base = served
    assert main(["interpreters", "provision", VERSION, "--url", base]) == 2
    err = capsys.readouterr().err
    assert (
        f"--url {base}/{VERSION}/Python-{VERSION}.tar.xz (no known sha256; pass --sha256 HEX)"
        in err
    )
    assert state.requests == [] and not cache.exists()


def test_a_bad_url_is_a_usage_error(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["interpreters", "provision", VERSION, "--url", "mirror.invalid/py"]) == 2
    assert "invalid --url (mirror.invalid/py): expected an http:// or https:// address" in (
        capsys.readouterr().err
    )
    assert main(["interpreters", "--url", "http://x.invalid"]) == 2
    assert "--url only applies to provisioning" in capsys.readouterr().err


def _unanswered_listener() -> tuple[socket.socket, list[socket.socket]]:
    """A listening socket whose accept queue is full: a new connection attempt is never
    answered (its SYN is dropped), like a blackholed host."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    fillers: list[socket.socket] = []
    while True:  # fill the queue until an attempt goes unanswered
        filler = socket.socket()
        filler.settimeout(0.3)
        try:
            filler.connect(address)
        except TimeoutError:
            filler.close()
            return server, fillers
        fillers.append(filler)
        assert len(fillers) < 64, "the kernel keeps accepting: no way to blackhole here"


def test_an_unanswered_connection_gives_up_after_the_connect_timeout(cache: Path) -> None:
    server, fillers = _unanswered_listener()
    base = f"http://127.0.0.1:{server.getsockname()[1]}"
    try:
        started = time.monotonic()
        with pytest.raises(pythonorg.DownloadUnavailable, match=r"^no connection within 1 s$"):
            pythonorg.fetch_release(
                VERSION,
                _cached(),
                pythonorg.usable_checksums(VERSION, DIGEST),
                base_url=base,
                progress=lambda e: None,
                connect_timeout_s=1.0,
            )
        elapsed_s = time.monotonic() - started
    finally:
        for sock in [server, *fillers]:
            sock.close()
    assert 0.9 < elapsed_s < 4


def test_a_host_name_lookup_that_hangs_gives_up_after_the_connect_timeout(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = threading.Event()

    def hanging_lookup(*args: object, **kwargs: object) -> list[object]:
        released.wait(30)  # a resolver whose DNS server never answers
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    started = time.monotonic()
    try:
        with pytest.raises(
            pythonorg.DownloadUnavailable, match=r"^host name not resolved within 1 s$"
        ):
            pythonorg.fetch_release(
                VERSION,
                _cached(),
                pythonorg.usable_checksums(VERSION, DIGEST),
                base_url="https://python-mirror.invalid/ftp",
                progress=lambda e: None,
                connect_timeout_s=1.0,
            )
    finally:
        released.set()
    assert 0.9 < time.monotonic() - started < 4


def test_a_server_that_never_answers_gives_up_after_the_read_timeout(cache: Path) -> None:
    with socket.socket() as server:  # the kernel accepts the connection; nobody answers
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        base = f"http://127.0.0.1:{server.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(pythonorg.DownloadUnavailable, match=r"^no answer within 0\.5 s$"):
            pythonorg.fetch_release(
                VERSION,
                _cached(),
                pythonorg.usable_checksums(VERSION, DIGEST),
                base_url=base,
                progress=lambda e: None,
                read_timeout_s=0.5,
            )
        assert time.monotonic() - started < 4


def test_checksum_table_agrees_with_pyenvs_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    if not checksums.pyenv_definition_dirs():
        pytest.skip("no pyenv python-build definitions on this machine")
    compared = []
    for filename, sha256 in checksums.KNOWN_SHA256.items():
        version = filename.removeprefix("Python-").removesuffix(".tar.xz")
        from_pyenv = {name: value for name, value, _ in checksums.pyenv_checksums(version)}
        if filename in from_pyenv:
            assert from_pyenv[filename] == sha256, f"{filename}: pyenv says {from_pyenv[filename]}"
            compared.append(version)
    assert compared, "pyenv's definitions hold none of the table's releases"


# --- through the CLI, with the fake CPython of test_interpreters_provision ------------------

FAKE_TREE = Path(__file__).parent / "data" / "interpreters" / "fake-cpython"
FAKE_VERSION = "3.13.99"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_cli_provision_downloads_with_progress_then_builds(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    served: tuple[Served, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GILWATT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "no-uv"))
    tarball = tmp_path / "fake.tar.xz"
    with tarfile.open(tarball, "w:xz") as archive:
        archive.add(FAKE_TREE, arcname=f"Python-{FAKE_VERSION}")
    state, base = served
    state.files[_release_path(FAKE_VERSION)] = tarball.read_bytes()
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()

    argv = ["interpreters", "provision", FAKE_VERSION, "--url", base, "--sha256", digest]
    assert main([*argv, "--jobs", "1"]) == 0

    out, err = capsys.readouterr()
    assert f"cpython-{FAKE_VERSION}t" in out and "GIL disabled" in out
    assert f"[download] {base}/{FAKE_VERSION}/Python-{FAKE_VERSION}.tar.xz (" in err
    assert f"[source] {_cached(FAKE_VERSION)} (sha256 {digest[:12]}..., from --url (" in err
    assert err.index("[download]") < err.index("[verify]") < err.index("[configure]")
