"""Region markers for programs profiled by gilwatt.

    from gilwatt.markers import region, mark, annotate

    with region("kernel", workers=4):
        work()

    @region("step")
    def step(): ...

    mark("checkpoint")
    annotate(verified=True)

Outside gilwatt every call is a silent no-op. Under gilwatt each event is one line written
with one ``os.write`` to a pipe that gilwatt passes in ``GILWATT_MARKER_FD``; a write of at
most PIPE_BUF bytes to a pipe is atomic, so threads need no lock (this matters without the
GIL). The line carries CLOCK_MONOTONIC (the sampler's clock), the process and thread CPU
time, and whether the GIL is enabled at that instant.

This module must import under every CPython 3.9+ including free-threaded builds, uses only
the standard library, and must never re-enable the GIL: it imports no C extension that is
not already loaded by the interpreter's start-up except ``_json`` (declared free-threading
safe), and only when attributes are given.

Wire format, one event per line (version 1), tab-separated::

    G1 <kind> <pid> <tid> <seq> <t_ns> <proc_cpu_ns> <thread_cpu_ns> <gil> <payload-json>

kind is B (region begin), E (region end), M (point mark) or A (run attributes);
gil is 1, 0 or - (unknown); payload is {"n": name, "a": {attributes}}.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing import at run time: this module must stay cheap to import
    from typing import Any, Callable

__all__ = ["annotate", "enabled", "gil_enabled", "mark", "region"]

ENV_FD = "GILWATT_MARKER_FD"
PROTOCOL = "G1"
_MAX_LINE = 4000  # below PIPE_BUF (4096 on Linux), so one write is atomic


def _open_channel(env: str = ENV_FD) -> int | None:
    """The marker fd, if gilwatt gave us one and it is still the same pipe."""
    spec = os.environ.get(env)
    if not spec:
        return None
    try:
        fd_text, _, ino_text = spec.partition(":")
        fd = int(fd_text)
        st = os.fstat(fd)
    except (ValueError, OSError):
        return None
    # A child started with close_fds may reuse the number for another file: check identity.
    if not stat.S_ISFIFO(st.st_mode) or (ino_text and int(ino_text) != st.st_ino):
        return None
    return fd


_fd = _open_channel()
_local = threading.local()
_get_tid = threading.get_native_id


def enabled() -> bool:
    """True when this process is being profiled by gilwatt and markers are recorded."""
    return _fd is not None


def gil_enabled() -> bool | None:
    """The GIL state now: True/False, or None if this interpreter cannot tell.

    Interpreters before 3.13 have no ``sys._is_gil_enabled`` and always hold a GIL.
    """
    probe = getattr(sys, "_is_gil_enabled", None)
    if probe is None:
        return True
    try:
        return bool(probe())
    except Exception:
        return None


def _next_seq() -> int:
    seq = getattr(_local, "seq", 0) + 1
    _local.seq = seq
    return seq


def _emit(kind: str, name: str, seq: int, attrs: dict[str, Any] | None) -> None:
    global _fd
    if _fd is None:
        return
    gil = gil_enabled()
    gil_text = "-" if gil is None else ("1" if gil else "0")
    payload = _payload(name, attrs)
    line = "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n" % (
        PROTOCOL,
        kind,
        os.getpid(),
        _get_tid(),
        seq,
        time.monotonic_ns(),
        time.process_time_ns(),
        time.thread_time_ns(),
        gil_text,
        payload,
    )
    data = line.encode("utf-8", "replace")
    if len(data) > _MAX_LINE:
        data = _truncated(kind, name, seq, gil_text)
    try:
        os.write(_fd, data)
    except OSError:
        _fd = None  # gilwatt went away: keep the program running, stop recording


def _payload(name: str, attrs: dict[str, Any] | None) -> str:
    if not attrs:
        return '{"n": %s}' % _quote(name)
    import json  # only when attributes are used; _json is free-threading safe

    return json.dumps({"n": str(name), "a": attrs}, default=str, ensure_ascii=True)


def _quote(text: str) -> str:
    import json

    return json.dumps(str(text), ensure_ascii=True)


def _truncated(kind: str, name: str, seq: int, gil_text: str) -> bytes:
    short = str(name)[:200]
    line = "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n" % (
        PROTOCOL, kind, os.getpid(), _get_tid(), seq, time.monotonic_ns(),
        time.process_time_ns(), time.thread_time_ns(), gil_text,
        '{"n": %s, "a": {"truncated": true}}' % _quote(short),
    )  # fmt: skip
    return line.encode("utf-8", "replace")


class region:
    """A measured region: ``with region("name"):`` or ``@region("name")``.

    Each ``with`` gets its own begin/end pair, so one ``region`` object can be reused and
    used from several threads at once.
    """

    __slots__ = ("attrs", "name")

    def __init__(self, name: str, **attrs: Any) -> None:
        self.name = str(name)
        self.attrs = attrs

    def __enter__(self) -> region:
        if _fd is None:
            return self
        seq = _next_seq()
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.append(seq)
        _emit("B", self.name, seq, self.attrs)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if _fd is None:
            return
        stack = getattr(_local, "stack", None)
        seq = stack.pop() if stack else 0
        attrs = {"error": exc_type.__name__} if exc_type is not None else None
        _emit("E", self.name, seq, attrs)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        name, attrs = self.name, self.attrs

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with region(name, **attrs):
                return func(*args, **kwargs)

        wrapper.__name__ = getattr(func, "__name__", "wrapper")
        wrapper.__qualname__ = getattr(func, "__qualname__", wrapper.__name__)
        wrapper.__doc__ = func.__doc__
        wrapper.__wrapped__ = func  # type: ignore[attr-defined]
        return wrapper


def mark(name: str, **attrs: Any) -> None:
    """A point event (a checkpoint) in the timeline."""
    if _fd is not None:
        _emit("M", name, _next_seq(), attrs)


def annotate(**attrs: Any) -> None:
    """Attach attributes to the whole run (e.g. ``verified=True``)."""
    if _fd is not None:
        _emit("A", "run", _next_seq(), attrs)
