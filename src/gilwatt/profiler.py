"""Profile one command: launch it, sample it from outside, store everything, summarise.

This is the library entry point that ``gilwatt profile``, ``gilwatt workloads run`` and the
study runner all call. It never prints; progress and the target's live output go to the
callbacks and streams the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gilwatt.records import InterpreterInfo, RunSummary

DEFAULT_INTERVAL_NS = 10_000_000  # 10 ms
DEFAULT_MEMORY_INTERVAL_NS = 1_000_000_000  # smaps_rollup tier: 1 s


@dataclass
class ProfileRequest:
    argv: list[str]  # the full command to exec, e.g. [python, script.py, args...]
    store_path: Path
    interval_ns: int = DEFAULT_INTERVAL_NS
    memory_interval_ns: int = DEFAULT_MEMORY_INTERVAL_NS
    timeout_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)  # overrides on top of os.environ
    cwd: Path | None = None
    interpreter: InterpreterInfo | None = None  # None for --cmd targets that are not Python
    label: str = ""
    study_id: int | None = None
    passthrough: bool = True  # copy the target's stdout/stderr live to stdout_sink/stderr_sink
    stdout_sink: IO[bytes] | None = None
    stderr_sink: IO[bytes] | None = None
    idle_baseline_s: float = 0.0
    cpu_tdp_w: float | None = None  # energy model overrides
    energy_model: str | None = None
    on_warning: Callable[[str], None] | None = None  # called as warnings arise (probe fallbacks...)


@dataclass
class ProfileResult:
    run_id: int
    status: str  # ok|failed|signaled|timeout|interrupted
    exit_code: int | None
    exit_signal: int | None
    summary: RunSummary
    stderr_tail: str
    warnings: list[str]


def profile(request: ProfileRequest) -> ProfileResult:
    """Run ``request.argv`` under the sampler and return its stored summary."""
    raise NotImplementedError
