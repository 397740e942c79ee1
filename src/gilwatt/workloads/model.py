"""What a workload is: its parameters, presets and the cells (parameter points) it runs.

A preset maps parameter names to one value or a list of values (a sweep) and ``workers`` to
a list of worker counts; the cells of a preset are the product of those lists. Parameters a
preset does not name take the parameter's default.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.units import format_bytes
from gilwatt.workloads.limits import memory_available

ParamValue = int | float | str

FAMILIES = (
    "numpy",
    "sequential",
    "threaded-numerical",
    "threaded-objects",
    "executors",
    "shared-state",
    "read-only",
    "mixed-io",
    "user",
)
PRESETS = ("tiny", "quick", "paper")
# What a workload's threads share while they run (the claims about contention need it):
# independent: each thread works on data no other thread touches (one thread: trivially);
# shared-read-only: threads read objects other threads read too, and write only their own;
# shared-mutable: threads write objects other threads read or write;
# unclassified: not declared (user workloads by default): kept out of claims 2 and 4.
SHARING = ("independent", "shared-read-only", "shared-mutable", "unclassified")
PARAM_TYPES = ("int", "float", "str")

# Exit codes of the workload contract (see scripts/_harness.py).
EXIT_OK = 0
EXIT_VERIFY_FAILED = 3
EXIT_SKIPPED = 4
CORRUPT_ENV = "GILWATT_WORKLOAD_CORRUPT"  # hidden switch: "1" makes a kernel wrong on purpose

_SUFFIXES = {"k": 10**3, "m": 10**6, "g": 10**9}

MemoryEstimate = Callable[[Mapping[str, ParamValue], int], int]


def outcome(exit_code: int | None) -> str:
    """What a workload's exit code means: ok, verification-failed, skipped or failed."""
    if exit_code == EXIT_OK:
        return "ok"
    if exit_code == EXIT_VERIFY_FAILED:
        return "verification-failed"
    if exit_code == EXIT_SKIPPED:
        return "skipped"
    return "failed"


@dataclass(frozen=True)
class Param:
    """One parameter of a workload; passed to its script as ``--<name> <value>``."""

    name: str
    unit: str  # "elements", "items", "MiB", "ms", "" for a choice...
    type: str  # int | float | str
    help: str
    default: ParamValue
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def parse(self, raw: ParamValue, *, workload: str = "") -> ParamValue:
        """The typed value of ``raw`` (``150M``, ``1_000`` and ``2e6`` are integers), checked."""
        where = f"parameter {self.name}" + (f" of {workload}" if workload else "")
        value: ParamValue
        if self.type == "int":
            value = _parse_int(raw, where)
        elif self.type == "float":
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{where} ({raw!r}): not a number.", hint="Give e.g. 1.5."
                ) from None
            if not math.isfinite(value):
                raise ConfigError(f"{where} ({raw!r}): not a finite number.", hint="Give e.g. 1.5.")
        else:
            value = str(raw)
            if self.choices and value not in self.choices:
                raise UnknownNameError(f"{workload} {self.name}".strip(), value, self.choices)
        if not isinstance(value, str):
            if self.minimum is not None and value < self.minimum:
                raise ConfigError(
                    f"{where} ({value}): below the minimum {_fmt(self.minimum)} {self.unit}.".replace(
                        " .", "."
                    ),
                    hint=f"Give at least {_fmt(self.minimum)}.",
                )
            if self.maximum is not None and value > self.maximum:
                raise ConfigError(
                    f"{where} ({value}): above the maximum {_fmt(self.maximum)} {self.unit}.".replace(
                        " .", "."
                    ),
                    hint=f"Give at most {_fmt(self.maximum)}.",
                )
        return value

    def describe(self) -> str:
        unit = f" [{self.unit}]" if self.unit else ""
        choices = f" ({'|'.join(self.choices)})" if self.choices else ""
        return f"{self.name}{unit}{choices}: {self.help}"


@dataclass(frozen=True)
class WorkloadRun:
    """One run of a workload: a parameter point and a worker count."""

    workload: Workload
    params: dict[str, ParamValue]
    workers: int

    def argv(self, python: str) -> list[str]:
        return self.workload.argv(python, self.params, self.workers)

    def label(self) -> str:
        shown = " ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.workload.name} workers={self.workers} {shown}".rstrip()


@dataclass(frozen=True)
class Workload:
    """A program gilwatt can run and verify, with its parameters and presets."""

    name: str
    family: str
    description: str
    script: Path  # run as ``python script --workers N --<param> <value> ...``
    params: tuple[Param, ...]
    presets: Mapping[
        str, Mapping[str, Any]
    ]  # preset -> {param: value | [values], "workers": [...]}
    uses_workers: bool
    verifies: str
    needs: tuple[str, ...] = ()  # e.g. ("numpy",): missing on the target -> the run is skipped
    region: str = "kernel"  # the measured region's marker name
    estimate_bytes: MemoryEstimate | None = field(default=None, compare=False, repr=False)
    source: str = "builtin"  # "builtin" or the TOML file that declared it
    sharing: str = "unclassified"  # one of SHARING, for every variant not named below
    sharing_by_variant: Mapping[str, str] = field(default_factory=dict)  # variant -> SHARING

    # -- lookup -----------------------------------------------------------------------------

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise UnknownNameError(f"{self.name} parameter", name, [p.name for p in self.params])

    def preset(self, name: str) -> dict[str, Any]:
        """The preset with every parameter filled in (sweeps stay lists) and its workers."""
        if name not in self.presets:
            raise UnknownNameError("preset", name, list(self.presets))
        raw = dict(self.presets[name])
        out: dict[str, Any] = {p.name: raw.pop(p.name, p.default) for p in self.params}
        out["workers"] = list(raw.pop("workers", [1]))
        return out

    def sharing_of(self, params: Mapping[str, Any]) -> str:
        """The sharing class of a cell with ``params`` (its ``variant`` may set it)."""
        variant = params.get("variant")
        if isinstance(variant, str) and variant in self.sharing_by_variant:
            return self.sharing_by_variant[variant]
        return self.sharing

    # -- cells --------------------------------------------------------------------------------

    def cells(
        self,
        preset: str = "quick",
        overrides: Mapping[str, ParamValue | Sequence[ParamValue]] | None = None,
        workers: Sequence[int] | None = None,
        *,
        available_bytes: int | bool | None = True,
    ) -> list[WorkloadRun]:
        """The cells of ``preset`` with ``overrides`` (a value or a list to sweep) and
        ``workers`` applied, every value checked; each cell's memory estimate is checked
        against ``available_bytes`` (True: read MemAvailable; None/False: no check).

        Raises UnknownNameError for an unknown preset or parameter and ConfigError for a
        bad value, a worker count below 1, or a cell that would not fit in memory.
        """
        chosen = self.preset(preset)
        for name, value in (overrides or {}).items():
            self.param(name)
            chosen[name] = value
        worker_list = list(workers) if workers is not None else chosen.pop("workers")
        chosen.pop("workers", None)
        worker_list = [self.check_workers(w) for w in worker_list]
        sweeps = [
            [self.param(name).parse(v, workload=self.name) for v in _as_list(values)]
            for name, values in chosen.items()
        ]
        limit = memory_available() if available_bytes is True else (available_bytes or None)
        cells = []
        for point in itertools.product(*sweeps):
            params = dict(zip(chosen, point, strict=True))
            for count in worker_list:
                cell = WorkloadRun(self, params, count)
                if limit is not None:
                    check_memory(cell, limit)
                cells.append(cell)
        return cells

    def check_workers(self, workers: int | str) -> int:
        try:
            count = int(workers)
        except (TypeError, ValueError):
            raise ConfigError(
                f"worker count ({workers!r}): not an integer.", hint="Give e.g. 4."
            ) from None
        if count < 1:
            raise ConfigError(
                f"worker count ({count}): below the minimum 1.", hint="Give 1 or more workers."
            )
        if not self.uses_workers and count != 1:
            raise ConfigError(
                f"worker count ({count}): {self.name} is single-threaded and takes no workers.",
                hint="Leave --workers out or give 1.",
            )
        return count

    def estimate(self, params: Mapping[str, ParamValue], workers: int) -> int | None:
        """Estimated peak memory of one run in bytes, if the workload declares one."""
        return None if self.estimate_bytes is None else int(self.estimate_bytes(params, workers))

    def argv(self, python: str, params: Mapping[str, ParamValue], workers: int) -> list[str]:
        """The command that runs this workload under ``python``."""
        argv = [str(python), str(self.script)]
        if self.uses_workers:
            argv += ["--workers", str(int(workers))]
        for param in self.params:
            value = params.get(param.name, param.default)
            argv += [f"--{param.name}", _fmt(value)]
        return argv

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (what ``gilwatt workloads list --json`` prints)."""
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "script": str(self.script),
            "region": self.region,
            "uses_workers": self.uses_workers,
            "verifies": self.verifies,
            "needs": list(self.needs),
            "source": self.source,
            "sharing": self.sharing,
            "sharing_by_variant": dict(self.sharing_by_variant),
            "params": [
                {
                    "name": p.name,
                    "unit": p.unit,
                    "type": p.type,
                    "help": p.help,
                    "default": p.default,
                    "choices": list(p.choices),
                    "minimum": p.minimum,
                    "maximum": p.maximum,
                }
                for p in self.params
            ],
            "presets": {name: self.preset(name) for name in self.presets},
        }


def _as_list(values: Any) -> list[Any]:
    if isinstance(values, list | tuple):
        return list(values)
    if isinstance(values, str) and "," in values:
        return [v.strip() for v in values.split(",") if v.strip()]
    return [values]


def _parse_int(raw: ParamValue, where: str) -> int:
    if isinstance(raw, bool):
        raise ConfigError(f"{where} ({raw!r}): not an integer.", hint="Give e.g. 1000 or 1M.")
    if isinstance(raw, int):
        return raw
    text = str(raw).strip().replace("_", "")
    scale = _SUFFIXES.get(text[-1:].lower(), 1)
    if scale != 1:
        text = text[:-1]
    try:
        return int(text) * scale
    except ValueError:
        pass
    try:
        number = float(text) * scale
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number != int(number):
        raise ConfigError(
            f"{where} ({raw!r}): not an integer.", hint="Give e.g. 1000, 1_000 or 1M."
        )
    return int(number)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def cells_of(workloads: Iterable[Workload], preset: str) -> list[WorkloadRun]:
    """Every cell of ``preset`` over several workloads (memory not checked)."""
    return [cell for w in workloads for cell in w.cells(preset, available_bytes=None)]


def check_memory(cell: WorkloadRun, available_bytes: int) -> None:
    """ConfigError if the cell's estimated peak memory exceeds ``available_bytes``."""
    need = cell.workload.estimate(cell.params, cell.workers)
    if need is None or need <= available_bytes:
        return
    raise ConfigError(
        f"{cell.label()}: needs about {format_bytes(need)} of memory but only "
        f"{format_bytes(available_bytes)} "
        "is available (MemAvailable in /proc/meminfo).",
        hint="Use a smaller size (--param, or --preset quick) or free memory first.",
    )
