"""Ask an interpreter to describe itself, in a subprocess with a timeout.

A candidate may be anything: a working interpreter, a Python 2, a script that prints garbage,
a program that hangs, a directory. Every failure becomes ``Interpreter.error``; nothing here
raises for a bad candidate, so one broken interpreter never stops a listing.
"""

from __future__ import annotations

import errno
import json
import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gilwatt.interpreters.interpreter import Interpreter, default_name

PROBE_SCRIPT = Path(__file__).with_name("inspect_script.py")
_ANSWER_PREFIX = "GILWATT-PROBE "
_OUTPUT_CAP_BYTES = 256 * 1024  # a garbage printer must not fill memory before the timeout
DEFAULT_TIMEOUT_S = 10.0


def probe(
    executable: str | os.PathLike[str],
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    source: str = "user",
) -> Interpreter:
    """Probe one interpreter; a broken one comes back with ``error`` set instead of raising."""
    path = _locate(os.fspath(executable))
    broken = _precheck(path)
    if broken:
        return _failed(path, source, broken)
    try:
        code, out, err, why = _run_capped([path, "-E", "-s", str(PROBE_SCRIPT)], timeout_s)
    except OSError as exc:
        return _failed(path, source, _os_error_reason(exc))
    if why:
        return _failed(path, source, why)
    answer = _parse_answer(out)
    if answer is None:
        return _failed(path, source, _no_answer_reason(code, out, err))
    return _from_answer(path, source, answer)


def probe_many(
    candidates: Iterable[tuple[str, str]],
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_workers: int = 8,
) -> list[Interpreter]:
    """Probe ``(path, source)`` pairs in parallel; results keep the candidates' order."""
    items = list(candidates)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        return list(pool.map(lambda item: probe(item[0], timeout_s, source=item[1]), items))


def _locate(executable: str) -> str:
    if os.sep not in executable:
        found = shutil.which(executable)
        if found:
            return found
    return os.path.abspath(os.path.expanduser(executable))


def _precheck(path: str) -> str | None:
    if not os.path.lexists(path):
        return "no such file"
    if not os.path.exists(path):
        return "broken symbolic link"
    if os.path.isdir(path):
        return "is a directory, not an interpreter"
    if not os.access(path, os.X_OK):
        return "not executable (no execute permission)"
    return None


def _run_capped(argv: list[str], timeout_s: float) -> tuple[int | None, bytes, bytes, str | None]:
    """Run ``argv`` in its own session; return (code, stdout, stderr, failure reason or None).

    The whole process group is killed on timeout, so a wrapper script's children (``sleep``)
    cannot keep the pipes open and hang the listing.
    """
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    buffers = {out_fd: bytearray(), err_fd: bytearray()}
    deadline = time.monotonic() + timeout_s
    why: str | None = None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = f"did not answer within {timeout_s:g} s (killed)"
                break
            for key, _ in sel.select(remaining):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buffers[key.fd] += chunk
                if len(buffers[key.fd]) > _OUTPUT_CAP_BYTES:
                    why = f"wrote more than {_OUTPUT_CAP_BYTES // 1024} KiB instead of answering (killed)"
            if why:
                break
    if why:
        _kill_group(proc)
    code = _wait(proc, max(0.0, deadline - time.monotonic()) + 1.0)
    proc.stdout.close()
    proc.stderr.close()
    return code, bytes(buffers[out_fd]), bytes(buffers[err_fd]), why


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _wait(proc: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        # closed its pipes but did not exit: it is still a failed probe, and must not linger
        _kill_group(proc)
        return proc.wait()


def _parse_answer(out: bytes) -> dict[str, Any] | None:
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith(_ANSWER_PREFIX):
            try:
                answer = json.loads(line[len(_ANSWER_PREFIX) :])
            except ValueError:
                return None
            return answer if isinstance(answer, dict) else None
    return None


def _no_answer_reason(code: int | None, out: bytes, err: bytes) -> str:
    last_err = _last_line(err)
    if code not in (0, None):
        how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        return f"not a working Python interpreter: {how}" + (f" ({last_err})" if last_err else "")
    shown = _last_line(out) or last_err
    return "not a Python interpreter: it did not answer the probe" + (
        f" (printed {shown!r})" if shown else ""
    )


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:160] if lines else ""


def _os_error_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOEXEC:
        return "not an executable program (exec format error)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "not executable (permission denied)"
    return f"could not be started: {exc.strerror or exc}"


def _failed(path: str, source: str, reason: str) -> Interpreter:
    return Interpreter(
        name=Path(path).name,
        executable=path,
        version="",
        implementation="",
        free_threaded=False,
        gil_enabled=None,
        source=source,
        error=reason,
        realpath=os.path.realpath(path),
    )


def _from_answer(path: str, source: str, answer: dict[str, Any]) -> Interpreter:
    version = str(answer.get("version") or "")
    implementation = str(answer.get("implementation") or "")
    free_threaded = bool(answer.get("py_gil_disabled"))
    gil = answer.get("gil_enabled")
    error = answer.get("error")
    extra: dict[str, Any] = {}
    if answer.get("base_prefix") and answer.get("base_prefix") != answer.get("prefix"):
        extra["base_prefix"] = str(answer["base_prefix"])
    return Interpreter(
        name=default_name(implementation, version, free_threaded),
        executable=path,
        version=version,
        implementation=implementation,
        free_threaded=free_threaded,
        gil_enabled=gil if isinstance(gil, bool) else None,
        source=source,
        error=str(error) if error else None,
        realpath=str(answer.get("realpath") or os.path.realpath(path)),
        prefix=str(answer.get("prefix") or ""),
        abiflags=str(answer.get("abiflags") or ""),
        config_args=str(answer.get("config_args") or ""),
        numpy=str(answer["numpy"]) if answer.get("numpy") else None,
        extra=extra,
    )
