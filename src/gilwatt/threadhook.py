"""Thread start and end, reported from inside a profiled Python program.

gilwatt's sampler reads /proc from outside, so a thread that lives between two reads is
never seen. This hook is loaded by the ``sitecustomize`` gilwatt puts first on the target's
``PYTHONPATH`` and reports, in the marker protocol (:mod:`gilwatt.markers`) over a pipe of its
own (``GILWATT_THREAD_FD``, which gilwatt reads on its 100 ms tier instead of waking up for
every line: a program that starts thousands of threads costs it no extra wake-ups), every Python thread's
start (``S``) and end (``X``) with its native id, name, CLOCK_MONOTONIC time and, at the end,
its CPU time (``time.thread_time_ns()``). The main thread's start is reported when the hook is
installed, its end from ``atexit``; a forked child reports its one thread again under its pid.

Threads started by ``threading`` are caught by wrapping ``Thread._bootstrap_inner``, which runs
in the new thread; threads started by ``_thread.start_new_thread`` directly are caught by
wrapping that function (best effort: a module that bound it before the hook was installed is
not seen). Threads that are not started from Python (BLAS or OpenMP pools) and daemon threads
still running at exit send no end: gilwatt reads those from /proc as before.

Like the markers client, this is standard library only, imports nothing that could re-enable
the GIL of a free-threaded build, and takes no lock: each event is one ``os.write`` of a line
shorter than PIPE_BUF, which is atomic.
"""

from __future__ import annotations

import _thread
import atexit
import os
import threading
import time

from gilwatt import markers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

ENV = "GILWATT_THREAD_HOOK"  # "1": the launcher asked for the hook
ENV_FD = "GILWATT_THREAD_FD"  # the thread events' pipe, "fd:inode" like GILWATT_MARKER_FD
_installed = False
_fd = markers._open_channel(ENV_FD)
_pid = os.getpid()  # kept up to date at fork (os.getpid is a system call)


def _name_json(name: str) -> str:
    """A JSON string for a thread name, without importing json for the usual plain names."""
    if name.isascii() and name.isprintable() and '"' not in name and "\\" not in name:
        return '"%s"' % name
    return markers._quote(name)


def _event(kind: str, name: str, cpu_ns: int) -> None:
    global _fd
    fd = _fd
    if fd is None:
        return
    line = '%s\t%s\t%d\t%d\t0\t%d\t0\t%d\t-\t{"n": %s}\n' % (
        markers.PROTOCOL, kind, _pid, threading.get_native_id(), time.monotonic_ns(),
        cpu_ns, _name_json(name[:200]),
    )  # fmt: skip
    try:
        os.write(fd, line.encode("utf-8", "replace"))
    except OSError:
        _fd = None  # gilwatt went away: the program goes on, unrecorded


def _started(name: str) -> None:
    _event("S", name, time.thread_time_ns())


def _ended(name: str) -> None:
    _event("X", name, time.thread_time_ns())


def install() -> bool:
    """Wrap thread start-up; report the main thread. False when there is no thread pipe."""
    global _installed
    if _installed or _fd is None:
        return False
    _installed = True
    inner = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def _bootstrap_inner(self: threading.Thread) -> None:
        _started(self.name)
        try:
            inner(self)
        finally:
            _ended(self.name)

    threading.Thread._bootstrap_inner = _bootstrap_inner  # type: ignore[attr-defined]
    raw = _thread.start_new_thread

    def start_new_thread(function: Callable[..., Any], args: Any, kwargs: Any = None) -> int:
        def run(*a: Any, **k: Any) -> Any:
            name = "%s (_thread)" % getattr(function, "__name__", "thread")
            _started(name)
            try:
                return function(*a, **k)
            finally:
                _ended(name)

        return raw(run, args, kwargs or {})

    _thread.start_new_thread = start_new_thread
    main = threading.current_thread()
    if main is threading.main_thread():
        _started(main.name)
        atexit.register(_main_ended)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_forked)
    return True


def _main_ended() -> None:
    _ended(threading.current_thread().name)


def _forked() -> None:
    global _pid
    _pid = os.getpid()
    _started(threading.current_thread().name)
