"""The one exception tree of gilwatt.

::

    GilwattError
    ├─ ConfigError             bad flag, spec, name or path given by the user   → exit 2
    │  └─ UnknownNameError     a workload, preset, mode or interpreter that does not exist
    ├─ ProbeError
    │  ├─ ProbeUnavailable     missing file / permission / kernel feature (carries .hint)
    │  └─ ProcessGone          a process exited between reads (expected; the sampler handles it)
    ├─ InterpreterError        an interpreter could not be probed, found or provisioned
    │  └─ BuildError           a CPython build step failed (carries log path and tail)
    ├─ RunError
    │  ├─ CommandFailed        target exited non-zero or was killed by a signal
    │  ├─ RunTimeout           --timeout expired
    │  └─ VerificationFailed   a workload's result differed from its reference
    └─ StoreError
       ├─ FormatVersionError   store written by a newer gilwatt, or unknown layout
       └─ StudyMismatch        store holds a different study definition

Every message follows one shape: what failed (the exact value): why. What to do.
Only ``gilwatt.cli`` prints these and chooses exit codes; library code raises.
OS errors are translated to these once, at the probe or store edge.
"""

from __future__ import annotations


class GilwattError(Exception):
    """Base of every error gilwatt raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


class ConfigError(GilwattError):
    """The user asked for something that cannot be done as given."""

    exit_code = 2


class UnknownNameError(ConfigError):
    """A name (workload, preset, mode, interpreter, parameter) that does not exist."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        shown = ", ".join(sorted(valid)) if valid else "(none)"
        super().__init__(f"unknown {kind} {name!r}.", hint=f"Valid: {shown}.")
        self.kind = kind
        self.name = name
        self.valid = list(valid)


class ProbeError(GilwattError):
    """A data source could not be read."""


class ProbeUnavailable(ProbeError):
    """A probe cannot work on this machine; ``hint`` says how to enable it."""

    def __init__(self, probe: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{probe} unavailable ({reason}).", hint=hint)
        self.probe = probe
        self.reason = reason


class ProcessGone(ProbeError):
    """The process (or thread) went away between two reads."""

    def __init__(self, pid: int) -> None:
        super().__init__(f"process {pid} no longer exists.")
        self.pid = pid


class InterpreterError(GilwattError):
    """An interpreter could not be found, probed or provisioned."""


class BuildError(InterpreterError):
    """A provisioning build step failed."""

    def __init__(self, step: str, log_path: str, tail: str, *, hint: str | None = None) -> None:
        super().__init__(f"CPython build failed at step {step!r} (log: {log_path}).", hint=hint)
        self.step = step
        self.log_path = log_path
        self.tail = tail


class RunError(GilwattError):
    """A profiled target did not run to a clean end."""


class CommandFailed(RunError):
    def __init__(
        self, command: str, *, exit_code: int | None, signal: int | None, stderr_tail: str = ""
    ) -> None:
        how = f"was killed by signal {signal}" if signal else f"exited with code {exit_code}"
        super().__init__(f"{command!r} {how}.")
        self.target_exit_code = exit_code  # not exit_code: that is gilwatt's own exit status
        self.signal = signal
        self.stderr_tail = stderr_tail


class RunTimeout(RunError):
    def __init__(self, command: str, timeout_s: float) -> None:
        super().__init__(
            f"{command!r} did not finish within --timeout {timeout_s:g}s.",
            hint="Everything sampled so far is saved; raise --timeout to let it finish.",
        )
        self.timeout_s = timeout_s


class VerificationFailed(RunError):
    def __init__(self, workload: str, detail: str) -> None:
        super().__init__(f"workload {workload!r} failed verification: {detail}.")
        self.workload = workload
        self.detail = detail


class StoreError(GilwattError):
    """The result store could not be opened, read or written."""


class FormatVersionError(StoreError):
    exit_code = 2

    def __init__(self, path: str, found: int, supported: int) -> None:
        super().__init__(
            f"store {path!r} has schema version {found}; this gilwatt reads up to {supported}.",
            hint="Upgrade gilwatt, or write to a new file with -o.",
        )
        self.path = path
        self.found = found
        self.supported = supported


class StudyMismatch(StoreError):
    exit_code = 2


class ClusterError(GilwattError):
    """A cluster study cannot start or go on: no scheduler, no workers, no eligible host."""

    exit_code = 2


class SchedulerLost(ClusterError):
    """The Dask scheduler went away mid-study; everything stored so far is kept."""

    exit_code = 1
