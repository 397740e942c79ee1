"""Run one long external step (configure, make, apt-get, pip) with a log and heartbeats."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from gilwatt.errors import BuildError
from gilwatt.interpreters.interpreter import ProgressEvent, ProgressFn

# What a failed CPython build usually lacks on Debian / Ubuntu.
BUILD_PACKAGES = (
    "build-essential",
    "libssl-dev",
    "zlib1g-dev",
    "libffi-dev",
    "libsqlite3-dev",
    "libbz2-dev",
    "liblzma-dev",
    "libreadline-dev",
    "uuid-dev",
    "libncurses-dev",
    "libgdbm-dev",
    "tk-dev",
)
BUILD_HINT = (
    "On Debian/Ubuntu these packages usually fix it: sudo apt-get install "
    + " ".join(BUILD_PACKAGES)
    + "."
)
TAIL_LINES = 20
HEARTBEAT_S = 5.0


def run_logged(
    argv: Sequence[str],
    *,
    step: str,
    log_path: Path,
    progress: ProgressFn,
    target: str = "",
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    hint: str | None = BUILD_HINT,
    heartbeat_s: float = HEARTBEAT_S,
) -> None:
    """Run ``argv`` appending its output to ``log_path``; raise BuildError if it fails.

    While it runs, ``progress`` gets a heartbeat every ``heartbeat_s`` with the elapsed time
    and the log's latest line. Interrupts kill the whole process group before propagating.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    label = f"{step} {target}" if target else step
    with open(log_path, "ab") as log:
        header = f"\n=== {label}: {shlex.join(argv)} (in {cwd or os.getcwd()}) at {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
        log.write(header.encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            log.write(f"could not start {argv[0]}: {exc}\n".encode())
            raise BuildError(
                step, str(log_path), f"could not start {argv[0]}: {exc.strerror or exc}", hint=hint
            ) from exc
        code = _wait_with_heartbeats(proc, step, target, log_path, progress, started, heartbeat_s)
        log.write(
            f"=== {label}: exit code {code} after {time.monotonic() - started:.1f} s\n".encode()
        )
    if code != 0:
        raise BuildError(step, str(log_path), log_tail(log_path), hint=hint)


def _wait_with_heartbeats(
    proc: subprocess.Popen[bytes],
    step: str,
    target: str,
    log_path: Path,
    progress: ProgressFn,
    started: float,
    heartbeat_s: float,
) -> int:
    next_beat = started + heartbeat_s
    try:
        while True:
            try:
                return proc.wait(timeout=0.25)
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if now >= next_beat:
                next_beat = now + heartbeat_s
                latest = last_line(log_path)
                progress(
                    ProgressEvent(
                        step, latest, target=target, elapsed_s=now - started, heartbeat=True
                    )
                )
    except BaseException:
        kill_group(proc)
        raise


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def log_tail(log_path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a log (read from its end, so a huge log costs little)."""
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def last_line(log_path: Path) -> str:
    """The log's latest non-empty line, shortened to fit a status line."""
    for line in reversed(log_tail(log_path, 5).splitlines()):
        line = line.strip()
        if line and not line.startswith("==="):
            return _shorten(line)
    return ""


def _shorten(line: str, width: int = 100) -> str:
    # compiler lines are long: the output file is what tells how far the build is
    if " -o " in line:
        target = line.rsplit(" -o ", 1)[1].split()[0]
        return f"compiling {target}"
    return line if len(line) <= width else line[: width - 3] + "..."
