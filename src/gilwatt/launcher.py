"""Starting the target, signalling its tree, and reaping it with the kernel's own account.

The target is started through ``setsid -f`` (util-linux) while gilwatt is a child subreaper:
``setsid`` forks, the fork becomes a new session and execs the target, and ``setsid`` exits, so
the target is re-parented to gilwatt, which reaps it with ``wait4`` and gets its exact rusage.
The detour matters for peak memory: at exec the kernel seeds a process's ``ru_maxrss`` with
the peak RSS of the address space it replaces, which after a plain ``fork``/``vfork`` of
gilwatt is gilwatt's own (tens of MB). Through ``setsid`` the seed is setsid's, about 1 MB.
Without ``setsid`` or subreaper support the target is started directly and the seed is
recorded so that a seeded ``ru_maxrss`` is recognised.

The target gets the write end of the marker pipe (``GILWATT_MARKER_FD=fd:inode``) and a
``PYTHONPATH`` that starts with a shim directory holding only ``gilwatt/__init__.py``,
``gilwatt/markers.py`` and ``gilwatt/threadhook.py``, so any interpreter can ``import
gilwatt.markers`` without installing anything. With the thread hook (the default), a
``site/sitecustomize.py`` directory comes first: it loads the program's own sitecustomize,
then reports every Python thread's start and end (:mod:`gilwatt.threadhook`) over a pipe of
its own (``GILWATT_THREAD_FD``), read every 100 ms. Its stdout and stderr are pipes that the
profiler drains.

A watchdog (:class:`Watchdog`, a small ``sh``) outlives gilwatt: it holds the read end of a
pipe whose only write end is gilwatt's, and when that closes without a ``done`` line (gilwatt
died, by SIGKILL too) it sends SIGTERM to the target's session, then SIGKILL a second later.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gilwatt
from gilwatt import markers, paths
from gilwatt.errors import ConfigError, RunError
from gilwatt.probes import procfs

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
PR_SET_TIMERSLACK = 29
PR_GET_TIMERSLACK = 30
SETSID_SEED_BYTES = 4 << 20  # ru_maxrss at or below this may be setsid's, not the target's
SITE_DIR = "site"  # the shim's sitecustomize directory (the thread hook)
THREAD_HOOK_ENV = "GILWATT_THREAD_HOOK"
THREAD_FD_ENV = "GILWATT_THREAD_FD"
F_SETPIPE_SZ = 1031
THREAD_PIPE_BYTES = 1 << 20  # about 9,000 thread events between two reads (the default max)


# The watchdog: reads the target's session id, then waits. A "done" line means gilwatt ended
# the run itself; end of file without it means gilwatt died (any signal, SIGKILL too): then
# the session is sent SIGTERM, and SIGKILL a second later. pkill -s reaches processes of the
# session that left its process group; kill -- -pg is the fallback where pkill is missing.
WATCHDOG_SH = """
trap '' INT TERM HUP QUIT PIPE
read -r sid || exit 0
read -r word
[ "$word" = done ] && exit 0
kill -TERM -- "-$sid" 2>/dev/null
pkill -TERM -s "$sid" 2>/dev/null
sleep 1
kill -KILL -- "-$sid" 2>/dev/null
pkill -KILL -s "$sid" 2>/dev/null
exit 0
"""
WATCHDOG_GRACE_S = 1.0  # between its SIGTERM and SIGKILL (in WATCHDOG_SH)


class Watchdog:
    """A small ``sh`` that outlives gilwatt and ends the target's session if gilwatt dies.

    Started before the target, in a session of its own (a Ctrl-C or hang-up meant for
    gilwatt does not reach it; it ignores them anyway). Its stdin is a pipe whose only write
    end gilwatt holds (close-on-exec, so the target never inherits it).
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._armed = False
        sh = shutil.which("sh")
        if sh is None:
            return
        with contextlib.suppress(OSError):
            self._proc = subprocess.Popen(
                [sh, "-c", WATCHDOG_SH], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
            )  # fmt: skip

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def _send(self, text: str) -> None:
        if self._proc is None or self._proc.stdin is None:
            return
        try:
            self._proc.stdin.write(text.encode())
            self._proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def arm(self, session: int) -> None:
        """Watch ``session`` from now on."""
        if not self._armed:
            self._armed = True
            self._send(f"{session}\n")

    def disarm(self) -> None:
        """gilwatt is done with the target: the watchdog exits without signalling."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if proc.stdin is not None:
                proc.stdin.write(b"done\n" if self._armed else b"\ndone\n")
                proc.stdin.close()
        try:
            proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Launched:
    pid: int
    session: int  # the target's session and process group (it leads both)
    start_ns: int  # CLOCK_MONOTONIC just before the spawn
    started_unix_ns: int
    stdout_fd: int
    stderr_fd: int
    marker_fd: int
    pidfd: int | None
    seed_rss_bytes: int  # ru_maxrss at or below this may be inherited, not the target's own
    via_setsid: bool
    env_set: dict[str, str] = field(default_factory=dict)  # the variables gilwatt set
    _popen: subprocess.Popen[bytes] | None = None
    watchdog: Watchdog | None = None
    thread_fd: int = -1  # the thread hook's pipe (read every 100 ms); -1 without the hook

    def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.disarm()
            self.watchdog = None
        for fd in (self.stdout_fd, self.stderr_fd, self.marker_fd, self.thread_fd, self.pidfd):
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.stdout_fd = self.stderr_fd = self.marker_fd = self.thread_fd = -1
        self.pidfd = None


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def set_child_subreaper(on: bool = True) -> bool:
    """Make orphaned descendants re-parent to this process (so it can reap and account them)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, int(on))


def is_child_subreaper() -> bool:
    value = ctypes.c_int(0)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        ok = int(libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False
    return ok and value.value != 0


def set_timer_slack(ns: int) -> int | None:
    """Set this thread's timer slack (how late the kernel may wake it; 50 µs by default) and
    return the previous value, or None if that failed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        old = int(libc.prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0))
    except (OSError, AttributeError):
        return None
    if old < 0 or not _prctl(PR_SET_TIMERSLACK, ns):
        return None
    return old


def resolve_executable(command: str, env: dict[str, str]) -> str:
    """The absolute path that will be executed, or ConfigError naming the command."""
    if os.sep in command:
        path = Path(command)
        if not path.exists():
            raise ConfigError(
                f"command not found ({command}): no such file.", hint="Check the path."
            )
        if path.is_dir() or not os.access(path, os.X_OK):
            raise ConfigError(
                f"command is not executable ({command}).",
                hint="Give an executable file (chmod +x).",
            )
        return str(path.absolute())
    found = shutil.which(command, path=env.get("PATH", os.defpath))
    if found is None:
        raise ConfigError(
            f"command not found ({command}): not on PATH.", hint="Give its full path or fix PATH."
        )
    return found


def _shim_files() -> dict[str, Path]:
    """Shim path -> source file."""
    package = Path(gilwatt.__file__).parent
    return {
        "gilwatt/__init__.py": package / "__init__.py",
        "gilwatt/markers.py": package / "markers.py",
        "gilwatt/threadhook.py": package / "threadhook.py",
        f"{SITE_DIR}/sitecustomize.py": package / "_sitecustomize.py",
    }


def shim_dir() -> Path:
    """A directory with only the markers client, the thread hook and its sitecustomize
    (under ``site/``), cached by their content."""
    files = _shim_files()
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files.values())).hexdigest()[:16]
    for base in (
        paths.cache_dir() / "shim",
        Path(tempfile.gettempdir()) / f"gilwatt-shim-{os.getuid()}",
    ):
        final = base / digest
        if (final / SITE_DIR / "sitecustomize.py").exists():
            return final
        try:
            base.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".new-", dir=base))
            for name, src in files.items():
                (staging / name).parent.mkdir(exist_ok=True)
                shutil.copyfile(src, staging / name)
            try:
                os.rename(staging, final)
            except OSError:  # another gilwatt made it first
                shutil.rmtree(staging, ignore_errors=True)
            if (final / SITE_DIR / "sitecustomize.py").exists():
                return final
        except OSError:
            continue
    raise ConfigError(
        f"cannot create the markers shim directory under {paths.cache_dir()}.",
        hint="Make it writable or set GILWATT_CACHE_DIR to a writable directory.",
    )


def _own_children() -> set[int]:
    return procfs.children_of(Path("/"), os.getpid())


def _own_hwm_bytes() -> int:
    text = procfs.read_text(Path("/proc/self/status")) or ""
    status = procfs.parse_status(("\n" + text).encode())
    return max(status.hwm_bytes, 0)


def launch(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    subreaper: bool = True,
    thread_hook: bool = True,
) -> Launched:
    """Start ``argv`` (``argv[0]`` already resolved) with the marker pipe and output pipes."""
    marker_r, marker_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    thread_r, thread_w = os.pipe2(os.O_CLOEXEC) if thread_hook else (-1, -1)
    for fd in (marker_r, out_r, err_r, thread_r):
        if fd >= 0:
            os.set_blocking(fd, False)
    if thread_r >= 0:
        with contextlib.suppress(OSError):  # a larger buffer: the hook never waits for a read
            fcntl.fcntl(thread_r, F_SETPIPE_SZ, THREAD_PIPE_BYTES)
    shim = shim_dir()
    env = dict(env)
    front = [str(shim / SITE_DIR), str(shim)] if thread_hook else [str(shim)]
    env_set = {
        markers.ENV_FD: f"{marker_w}:{os.fstat(marker_w).st_ino}",
        "PYTHONPATH": os.pathsep.join(p for p in (*front, env.get("PYTHONPATH", "")) if p),
    }
    if thread_hook:
        env_set[THREAD_HOOK_ENV] = "1"
        env_set[THREAD_FD_ENV] = f"{thread_w}:{os.fstat(thread_w).st_ino}"
    else:
        env.pop(THREAD_HOOK_ENV, None)
        env.pop(THREAD_FD_ENV, None)
    env.update(env_set)
    setsid = shutil.which("setsid") if subreaper else None
    watchdog = Watchdog()  # before the target (and before `before`: it is our child too)
    before = _own_children() if setsid else set()
    seed = SETSID_SEED_BYTES if setsid else _own_hwm_bytes()
    started_unix_ns = time.time_ns()
    start_ns = time.monotonic_ns()
    spawn_argv = [setsid, "-f", *argv] if setsid else argv
    try:
        popen = subprocess.Popen(
            spawn_argv, stdout=out_w, stderr=err_w, env=env, cwd=cwd,
            pass_fds=(marker_w, thread_w) if thread_w >= 0 else (marker_w,),
            start_new_session=not setsid,
        )  # fmt: skip
    except OSError as exc:
        for fd in (marker_r, marker_w, out_r, out_w, err_r, err_w, thread_r, thread_w):
            if fd >= 0:
                os.close(fd)
        watchdog.disarm()
        raise RunError(f"cannot start {argv[0]!r}: {exc.strerror}.") from exc
    for fd in (marker_w, out_w, err_w, thread_w):
        if fd >= 0:
            os.close(fd)
    pid = popen.pid
    direct: subprocess.Popen[bytes] | None = popen
    if setsid:
        code = popen.wait()
        found = sorted(_own_children() - before)
        mine = [c for c in found if _session_of(c) == c] or found
        if code != 0 or not mine:
            for fd in (marker_r, out_r, err_r, thread_r):
                if fd >= 0:
                    os.close(fd)
            watchdog.disarm()
            raise RunError(f"cannot start {argv[0]!r}: setsid exited with {code}.")
        pid = mine[0]
        direct = None
        watchdog.arm(pid)
        _wait_for_exec(pid, setsid)
    else:
        watchdog.arm(pid)
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except (OSError, AttributeError):
        pidfd = None
    return Launched(
        pid=pid, session=pid, start_ns=start_ns, started_unix_ns=started_unix_ns,
        stdout_fd=out_r, stderr_fd=err_r, marker_fd=marker_r, pidfd=pidfd,
        seed_rss_bytes=seed, via_setsid=bool(setsid), env_set=env_set, _popen=direct,
        watchdog=watchdog, thread_fd=thread_r,
    )  # fmt: skip


def _wait_for_exec(pid: int, launcher_exe: str, timeout_s: float = 2.0) -> None:
    """Wait (about a millisecond) until ``setsid``'s fork has exec'd the target, so that the
    first samples read the target and not the launcher's image it replaces."""
    launcher_real = os.path.realpath(launcher_exe)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if os.readlink(f"/proc/{pid}/exe") != launcher_real:
                return
        except OSError:
            return  # gone (exec failed and it exited), or not readable: nothing to wait for
        time.sleep(0.0002)


def _session_of(pid: int) -> int | None:
    text = procfs.read_text(Path("/proc") / str(pid) / "stat")
    try:
        return procfs.parse_stat(text.encode()).session if text else None
    except ValueError:
        return None


def signal_tree(target: Launched, pids: list[int], sig: int) -> None:
    """Send ``sig`` to the target's process group and to every other live process of its tree."""
    with contextlib.suppress(OSError):
        os.killpg(target.session, sig)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def poll_exit(target: Launched) -> bool:
    """Whether the root has exited (it is then a zombie until :func:`reap`)."""
    if target.pidfd is not None:
        return False  # the caller watches the pidfd instead
    try:
        waited = os.waitid(os.P_PID, target.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return waited is not None


def reap(pid: int, *, block: bool = True) -> tuple[int, Any] | None:
    """wait4 ``pid``: (wait status, rusage), or None if it has not exited (non-blocking)."""
    while True:
        try:
            got, status, rusage = os.wait4(pid, 0 if block else os.WNOHANG)
        except InterruptedError:
            continue
        except ChildProcessError:
            return None
        if got == 0:
            return None
        return status, rusage


def finish_popen(target: Launched, status: int) -> None:
    """Tell a directly spawned Popen that its child was reaped (no ResourceWarning)."""
    if target._popen is not None:
        target._popen.returncode = os.waitstatus_to_exitcode(status)


def exit_info(status: int) -> tuple[int | None, int | None]:
    """(exit code, None) or (None, signal number) from a wait status."""
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return os.WEXITSTATUS(status), None


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # to gilwatt: stop the target
STAGES = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)  # to the target's tree, in turn


class Stopper:
    """Stops the target's tree on Ctrl-C (or SIGTERM/SIGHUP to gilwatt) or at the timeout:
    SIGINT, then SIGTERM, then SIGKILL, ``grace_s`` apart; another Ctrl-C skips the wait.

    While installed (main thread only), gilwatt's own handlers count those signals and wake
    the sampling loop through :attr:`wake_fd`; :meth:`restore` puts the old handlers back.
    """

    def __init__(self, target: Launched, *, grace_s: float, timeout_s: float | None) -> None:
        self.target = target
        self.grace_ns = int(grace_s * 1e9)
        self.timeout_s = timeout_s
        self.reason: str | None = None  # 'interrupted' | 'timeout' once stopping
        self.stage = 0  # signals sent so far
        self.next_ns = 0  # when the next signal is due (0: none)
        self.received = 0  # counted by the handler
        self._seen = 0
        self.wake_fd = -1
        self._wake_w = -1
        self._old: dict[int, Any] = {}
        self._old_wakeup = -1

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread; the caller handles Ctrl-C
        self.wake_fd, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

        def on_signal(signum: int, frame: Any) -> None:
            self.received += 1

        self._old = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
        self._old_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)

    def restore(self) -> None:
        if self.wake_fd < 0:
            return
        signal.set_wakeup_fd(self._old_wakeup)
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        for fd in (self.wake_fd, self._wake_w):
            os.close(fd)
        self.wake_fd = self._wake_w = -1

    def clear_wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self.wake_fd, 512)

    def check(self, now: int, pids: list[int]) -> None:
        """Start or advance the stop sequence (``pids``: the tree's live processes)."""
        if self.received > self._seen:
            self._seen = self.received
            self.reason = self.reason or "interrupted"
            self._escalate(now, pids)
        if (
            self.reason is None
            and self.timeout_s is not None
            and now - self.target.start_ns >= self.timeout_s * 1e9
        ):
            self.reason = "timeout"
            self._escalate(now, pids)
        if self.next_ns and now >= self.next_ns:
            self._escalate(now, pids)

    def done_signalling(self) -> bool:
        return self.stage >= len(STAGES)

    def _escalate(self, now: int, pids: list[int]) -> None:
        if self.stage >= len(STAGES):
            return
        signal_tree(self.target, pids, STAGES[self.stage])
        self.stage += 1
        self.next_ns = now + self.grace_ns if self.stage < len(STAGES) else 0
