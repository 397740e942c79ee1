"""Validity gates: is a finished run a valid measurement of its mode?

A run that fails a gate is kept and shown, but excluded from statistics. The gates:
the interpreter's build matches the mode, the GIL was in the mode's state at the start and
end of the measured region, the workload verified its result, and the process exited 0.
A workload that could not run here (exit 4: a missing dependency) is *skipped*, not invalid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gilwatt.modes import gil_mismatch, needs_free_threaded
from gilwatt.readback import InterpreterInfo, Region

EXIT_VERIFY_FAILED = 3  # the workloads' convention
EXIT_SKIPPED = 4


@dataclass(frozen=True)
class RunFacts:
    """What the gates look at, read from the profiler's result or from the store."""

    status: str  # the run's status: ok|failed|signaled|timeout|interrupted|running
    exit_code: int | None
    exit_signal: int | None
    attrs: Mapping[str, Any] = field(default_factory=dict)  # markers.annotate()
    regions: Sequence[Region] = ()
    interpreter: InterpreterInfo | None = None
    stderr_tail: str = ""
    timeout_s: float | None = None


@dataclass(frozen=True)
class Verdict:
    status: str  # done|invalid|skipped|pending
    reason: str = ""


def judge(facts: RunFacts, mode: str, region_name: str) -> Verdict:
    """The study status of one finished run, with every reason it is not valid."""
    if facts.status in ("interrupted", "running"):
        return Verdict("pending", "interrupted before it finished; it runs again on resume")
    if facts.exit_code == EXIT_SKIPPED:
        return Verdict("skipped", _skip_reason(facts))
    reasons = _exit_reasons(facts)
    reasons += _interpreter_reasons(facts.interpreter, mode)
    reasons += _gil_reasons(facts.regions, mode, region_name, facts.stderr_tail)
    if facts.exit_code != EXIT_VERIFY_FAILED:  # _exit_reasons already said it
        verified = facts.attrs.get("verified")
        if verified is not True:
            reasons.append(f"workload not verified (verified={verified!r})")
    return Verdict("invalid", "; ".join(reasons)) if reasons else Verdict("done")


def _skip_reason(facts: RunFacts) -> str:
    reason = facts.attrs.get("skipped")
    if not reason:
        lines = [line for line in facts.stderr_tail.splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else "exit code 4"
    return f"workload cannot run here: {reason}"


def _exit_reasons(facts: RunFacts) -> list[str]:
    if facts.status == "timeout":
        limit = f" after {facts.timeout_s:g}s" if facts.timeout_s else ""
        return [f"timed out{limit}"]
    if facts.exit_signal:
        return [f"killed by signal {facts.exit_signal}"]
    if facts.exit_code == EXIT_VERIFY_FAILED:
        detail = facts.attrs.get("detail")
        return [f"verification failed{': ' + str(detail) if detail else ''} (exit 3)"]
    if facts.exit_code != 0:
        tail = _last_line(facts.stderr_tail)
        return [f"exit status {facts.exit_code}{': ' + tail if tail else ''}"]
    return []


def _interpreter_reasons(interpreter: InterpreterInfo | None, mode: str) -> list[str]:
    if interpreter is None:
        return ["interpreter identity not recorded"]
    wanted = needs_free_threaded(mode)
    if interpreter.free_threaded != wanted:
        build = "free-threaded" if interpreter.free_threaded else "GIL (default)"
        return [
            f"interpreter {interpreter.executable} is a {build} build, mode {mode} needs {'a free-threaded' if wanted else 'a GIL'} build"
        ]
    return []


def _gil_reasons(
    regions: Sequence[Region], mode: str, region_name: str, stderr_tail: str
) -> list[str]:
    measured = [r for r in regions if r.name == region_name]
    if not measured:
        return [f"no {region_name!r} region recorded"]
    reasons = []
    for edge in ("begin", "end"):
        why = gil_mismatch(mode, region_name, edge, (getattr(r, f"gil_{edge}") for r in measured))
        if why:
            reasons.append(why)
    culprits = _GIL_ENABLED_FOR.findall(stderr_tail)
    if reasons and culprits:
        reasons.append(f"an extension re-enabled the GIL: {', '.join(dict.fromkeys(culprits))}")
    return reasons


# CPython's RuntimeWarning when an extension without Py_mod_gil support is imported
_GIL_ENABLED_FOR = re.compile(r"GIL\) has been enabled to load module '([^']+)'")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
