"""What gilwatt knows about one interpreter, and the progress events of long operations."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # records imports numpy; listing interpreters should not pay for it
    from gilwatt.readback import InterpreterInfo

# where a candidate came from, in the order discovery prefers them when names collide
SOURCES = ("gilwatt", "user", "path", "pyenv", "uv")

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Interpreter:
    """One probed interpreter. ``error`` is set (and the rest may be empty) when unusable."""

    name: str  # "cpython-3.13.5t": unique within one discovery
    executable: str  # the path to launch (a venv's python stays the venv's python)
    version: str  # "3.13.5" ("" if the probe failed)
    implementation: str  # "cpython", "pypy", ...
    free_threaded: bool  # built with Py_GIL_DISABLED
    gil_enabled: bool | None  # sys._is_gil_enabled() at probe time; None before 3.13
    source: str  # one of SOURCES
    error: str | None = None  # why it cannot be used
    realpath: str = ""  # os.path.realpath(sys.executable) as the interpreter reports it
    prefix: str = ""  # sys.prefix (differs from the base install's for a venv)
    abiflags: str = ""
    config_args: str = ""  # sysconfig CONFIG_ARGS: how it was built
    numpy: str | None = None  # numpy version importable from it, if any
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def usable(self) -> bool:
        return self.error is None

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        return version_tuple(self.version)

    def info(self) -> InterpreterInfo:
        from gilwatt.readback import InterpreterInfo

        extra: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "realpath": self.realpath,
            "prefix": self.prefix,
            "abiflags": self.abiflags,
            "config_args": self.config_args,
            "numpy": self.numpy,
        }
        extra.update(self.extra)
        return InterpreterInfo(
            executable=self.executable,
            version=self.version,
            implementation=self.implementation,
            free_threaded=self.free_threaded,
            gil_enabled=self.gil_enabled,
            extra=extra,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``gilwatt interpreters --json`` object (its first eight keys are the contract)."""
        data = asdict(self)
        ordered = {
            key: data.pop(key)
            for key in (
                "name",
                "executable",
                "version",
                "implementation",
                "free_threaded",
                "gil_enabled",
                "source",
                "error",
            )
        }
        ordered.update(data)
        return ordered


def version_tuple(version: str) -> tuple[int, int, int]:
    """``"3.14.0rc1"`` -> (3, 14, 0); anything unparsable sorts first as (0, 0, 0)."""
    match = _VERSION_RE.match(version)
    if not match:
        return (0, 0, 0)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def default_name(implementation: str, version: str, free_threaded: bool) -> str:
    """``cpython-3.13.5t``: the same spelling as the provisioned install directories."""
    if not version:
        return "unknown"
    return f"{implementation or 'python'}-{version}{'t' if free_threaded else ''}"


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report from a long operation (provisioning); the CLI decides how to show it.

    ``step`` names the stage (source, download, verify, extract, configure, build, make,
    install, check, env, pip install, lock, done); ``target`` names the build it concerns ("cpython-3.13.5t") or is empty;
    ``heartbeat`` marks the periodic reports while a step still runs (the message is then the
    step's latest log line), which a display may overwrite in place.
    """

    step: str
    message: str
    target: str = ""
    elapsed_s: float | None = None
    heartbeat: bool = False


ProgressFn = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    """The default progress callback: library code never prints."""
