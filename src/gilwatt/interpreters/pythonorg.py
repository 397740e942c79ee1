"""Download a CPython source release from python.org, or from a mirror with its layout.

The release tarball is ``{base}/{X.Y.Z}/Python-{version}.tar.xz``; a pre-release lives in
its final release's directory (``3.15.0/Python-3.15.0b1.tar.xz``). The bytes go to
``<target>.part``: an interrupted download is resumed with an HTTP Range request (here, and
on the next provision), and the file is renamed to its final name only after its sha256
matched. Connecting may take at most ``CONNECT_TIMEOUT_S``, so an unreachable host fails
fast; a connected server may pause up to ``READ_TIMEOUT_S``.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

from gilwatt import __version__
from gilwatt.errors import InterpreterError
from gilwatt.interpreters import checksums
from gilwatt.interpreters.interpreter import ProgressEvent, ProgressFn

DEFAULT_BASE_URL = "https://www.python.org/ftp/python"
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
ATTEMPTS = 3  # connections per download when one breaks off mid-way (each resumes)
CHUNK_BYTES = 256 << 10
PROGRESS_EVERY_S = 0.5

NO_CHECKSUM = "no known sha256; pass --sha256 HEX"  # nothing is downloaded then
_RELEASE_DIR_RE = re.compile(r"^\d+\.\d+\.\d+")


class DownloadUnavailable(Exception):
    """This server cannot deliver the release; the message says why (one short clause)."""


def release_url(version: str, base_url: str | None = None) -> str:
    match = _RELEASE_DIR_RE.match(version)
    directory = match.group(0) if match else version
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/{directory}/Python-{version}.tar.xz"


def usable_checksums(version: str, user_sha256: str | None = None) -> list[checksums.Expected]:
    """The checksums a downloaded ``Python-<version>.tar.xz`` may have (the .tgz ones do not apply)."""
    names = (f"Python-{version}.tar.xz", f"Python-{version}")  # the second: --sha256
    return [e for e in checksums.expected_checksums(version, user_sha256) if e.filename in names]


def fetch_release(
    version: str,
    target: Path,
    expected: list[checksums.Expected],
    *,
    base_url: str | None = None,
    progress: ProgressFn,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    read_timeout_s: float = READ_TIMEOUT_S,
) -> tuple[str, str]:
    """Download the release to ``target``, verified; return (sha256, where the checksum came from).

    DownloadUnavailable when the server cannot deliver it (the caller tries the next source);
    InterpreterError when it delivered something whose sha256 is not the release's.
    """
    if not expected:
        raise DownloadUnavailable(NO_CHECKSUM)
    url = release_url(version, base_url)
    _resolve_within(url, connect_timeout_s)
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    opener = _opener(read_timeout_s)
    restarted = False
    while True:
        resumed_at = _download(url, part, opener, progress, connect_timeout_s, read_timeout_s)
        progress(ProgressEvent("verify", f"sha256 of {part.name}"))
        digest = checksums.file_sha256(part)
        for item in expected:
            if digest == item.sha256:
                os.replace(part, target)
                return digest, item.origin
        part.unlink()
        if resumed_at and not restarted:
            # the kept part may have come from another file: one clean download decides
            restarted = True
            progress(ProgressEvent("download", "sha256 mismatch after resuming: downloading again"))
            continue
        wanted = " or ".join(f"{e.sha256} (from {e.origin})" for e in expected)
        raise InterpreterError(
            f"sha256 mismatch for {url}: the download is {digest}, expected {wanted}.",
            hint="The download was deleted. Retry, use another mirror (--url BASE), or pass --tarball PATH.",
        )


def _resolve_within(url: str, timeout_s: float) -> None:
    """Look the host up with a deadline: the OS resolver is not bound by socket timeouts, and a
    machine whose DNS server cannot be reached would otherwise wait far longer than 5 s."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    if not host or (
        urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(host)
    ):
        return  # the proxy resolves it
    outcome: list[OSError | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=lookup, name="gilwatt-resolve", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not outcome:  # the lookup goes on in its daemon thread, unheeded
        raise DownloadUnavailable(f"host name not resolved within {timeout_s:g} s")
    if outcome[0] is not None:
        raise DownloadUnavailable(_why(outcome[0], timeout_s, "host name not resolved"))


def _download(
    url: str,
    part: Path,
    opener: urllib.request.OpenerDirector,
    progress: ProgressFn,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> int:
    """Bring ``part`` to the whole file; return the offset the first request resumed from."""
    first_offset: int | None = None
    broken = 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        try:
            response = _open(url, offset, opener, connect_timeout_s, read_timeout_s)
        except _RangeRefused:  # the kept part is longer than the file: start again
            part.unlink()
            continue
        with response:
            if offset and response.status == 206 and _range_start(response) == offset:
                total = _range_total(response)
                progress(ProgressEvent("download", f"{url}: resuming at {_mb(offset)}"))
            else:  # a fresh download, or a server that ignored the Range request
                offset = 0
                total = _int_header(response, "Content-Length")
                size = _mb(total) if total else "size unknown"
                progress(ProgressEvent("download", f"{url} ({size})"))
            if first_offset is None:
                first_offset = offset
            try:
                received = _copy(response, part, offset, total, progress, read_timeout_s)
            except _BrokenOff as exc:
                broken += 1
                if broken >= ATTEMPTS:
                    raise DownloadUnavailable(
                        f"the download broke off {ATTEMPTS} times ({exc}); "
                        f"{part} is kept and resumed next time"
                    ) from None
                continue
        if total is None or received >= total:
            return first_offset
        broken += 1  # the server closed early without an error
        if broken >= ATTEMPTS:
            raise DownloadUnavailable(
                f"the server sent {_mb(received)} of {_mb(total)}; {part} is kept and resumed next time"
            )


def _open(
    url: str,
    offset: int,
    opener: urllib.request.OpenerDirector,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> Any:
    headers = {"User-Agent": f"gilwatt/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        return opener.open(request, timeout=connect_timeout_s)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            raise _RangeRefused from None
        raise DownloadUnavailable(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DownloadUnavailable(_why(exc.reason, connect_timeout_s, "no connection")) from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadUnavailable(_why(exc, read_timeout_s, "no answer")) from None


class _BrokenOff(Exception):
    """The connection broke off mid-body (the message says how)."""


class _RangeRefused(Exception):
    """HTTP 416: the server has no bytes after the kept part's length."""


def _copy(
    response: BinaryIO,
    part: Path,
    offset: int,
    total: int | None,
    progress: ProgressFn,
    read_timeout_s: float,
) -> int:
    """Append the response body to ``part`` (truncated to ``offset``); return its final size."""
    received = offset
    next_report = time.monotonic() + PROGRESS_EVERY_S
    try:
        out = open(part, "r+b" if offset else "wb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise InterpreterError(f"cannot write {part}: {exc.strerror}.") from exc
    with out:
        out.truncate(offset)
        out.seek(offset)
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as exc:
                raise _BrokenOff(_why(exc, read_timeout_s, "no data")) from None
            if not chunk:
                return received
            try:
                out.write(chunk)
            except OSError as exc:
                raise InterpreterError(f"cannot write {part}: {exc.strerror}.") from exc
            received += len(chunk)
            now = time.monotonic()
            if now >= next_report:
                next_report = now + PROGRESS_EVERY_S
                shown = f"{_mb(received)} of {_mb(total)}" if total else _mb(received)
                progress(ProgressEvent("download", f"{part.name}: {shown}", heartbeat=True))


def _why(reason: object, timeout_s: float, timed_out: str) -> str:
    if isinstance(reason, TimeoutError):
        return f"{timed_out} within {timeout_s:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"host name not resolved: {reason.strerror}"
    if isinstance(reason, OSError) and reason.strerror:
        return str(reason.strerror)
    return str(reason) or type(reason).__name__


def _range_start(response: Any) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _range_total(response: Any) -> int | None:
    match = re.match(r"bytes \d+-\d+/(\d+)$", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _int_header(response: Any, name: str) -> int | None:
    value = response.headers.get(name, "")
    return int(value) if value.isdigit() else None


def _mb(size_bytes: int | None) -> str:
    return f"{(size_bytes or 0) / 1e6:.1f} MB"


def _opener(read_timeout_s: float) -> urllib.request.OpenerDirector:
    """urllib (proxies from the environment, redirects) whose connections switch from the
    connect timeout to ``read_timeout_s`` once connected."""

    def after_connect(sock: Any) -> None:
        sock.settimeout(read_timeout_s)

    class Plain(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            after_connect(self.sock)

    class Tls(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            after_connect(self.sock)

    context = ssl.create_default_context()

    class PlainHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Plain, req)

    class TlsHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Tls, req, context=context)

    return urllib.request.build_opener(PlainHandler, TlsHandler)
