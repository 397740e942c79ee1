"""The study definition: a TOML file (or a built-in suite) read into a :class:`StudySpec`.

A spec is still made of names (workloads, interpreters, a preset); :mod:`gilwatt.study.resolve`
checks them against what exists. Every value remembers where it came from, so an error can
name the file and line (``quick.toml:12``) or the command-line flag that gave it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gilwatt import modes
from gilwatt.errors import ConfigError
from gilwatt.study.origin import KeyLines, Origin
from gilwatt.units import parse_duration_ns

MODES = modes.MODES
# which interpreter (build) each mode runs on
SLOTS = ("gil", "ft")

TOP_KEYS = (
    "name",
    "seed",
    "reps",
    "preset",
    "modes",
    "interpreters",
    "workers",
    "workloads",
    "cooldown",
    "idle_baseline",
    "interval",
    "timeout",
    "priming",
    "sentinel",
    "pin",
    "max_foreign_cpu",
    "max_reps",
    "budget",
    "calibrate",
)
WORKLOAD_KEYS = ("params", "workers")

DEFAULT_SEED = 1
DEFAULT_REPS = 3
DEFAULT_MAX_REPS = 10
DEFAULT_INTERVAL_NS = 10_000_000
DEFAULT_TIMEOUT_S = 1800.0

SUITES_DIR = Path(__file__).with_name("suites")
SUITES = ("quick", "patterns", "paper", "tiny")


@dataclass(frozen=True)
class WorkloadEntry:
    """One ``[workloads.NAME]`` table: parameter and worker-count overrides of the preset."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    workers: tuple[int, ...] | None = None


@dataclass(frozen=True)
class StudySpec:
    """A study as written: names, not yet checked against workloads and interpreters."""

    name: str = "study"
    seed: int = DEFAULT_SEED
    reps: int = DEFAULT_REPS
    preset: str = "quick"
    modes: tuple[str, ...] = MODES
    interpreters: Mapping[str, str] = field(default_factory=dict)  # slot -> name or path
    workers: tuple[int, ...] | None = None  # None: each workload's preset list
    workloads: tuple[WorkloadEntry, ...] | None = None  # None: every registered workload
    cooldown_ns: int = 0
    idle_baseline_ns: int = 0
    interval_ns: int = DEFAULT_INTERVAL_NS
    timeout_s: float | None = DEFAULT_TIMEOUT_S
    priming: bool = True  # one discarded warm-up run per interpreter per replicate
    sentinel: bool = True  # a fixed-work run per build per replicate, for drift
    pin: bool = False  # pin cells with workers <= usable CPUs to their own CPUs
    max_foreign_cpu: float = 0.1  # cores; a run above it is disturbed and rerun
    reps_auto: bool = False  # reps = "auto": replicates until every claim is decided
    max_reps: int = DEFAULT_MAX_REPS  # the most replicates an auto study runs
    budget_ns: int = 0  # an auto study starts no replicate that would end beyond it (0: none)
    calibrate: bool = True  # auto + budget: scale sizes down to the host (study/calibrate.py)
    origin: Origin = field(default_factory=lambda: Origin("(defaults)"), compare=False)

    def where(self, *keys: str, value: object = None) -> str:
        return self.origin.where(*keys, value=value)

    def override(self, flag: str, **changes: Any) -> StudySpec:
        """The spec with top-level fields replaced by a command-line flag's values."""
        origin = self.origin
        for key in changes:
            origin = origin.overridden(_FIELD_KEY.get(key, key), flag)
        return replace(self, origin=origin, **changes)


_FIELD_KEY = {
    "reps_auto": "reps",
    "max_reps": "max_reps",
    "budget_ns": "budget",
    "cooldown_ns": "cooldown",
    "idle_baseline_ns": "idle_baseline",
    "interval_ns": "interval",
    "timeout_s": "timeout",
}


def suite_path(name: str) -> Path:
    """The study file behind ``--suite NAME``."""
    if name not in SUITES:
        from gilwatt.errors import UnknownNameError

        raise UnknownNameError("suite", name, SUITES)
    return SUITES_DIR / f"{name}.toml"


def load_suite(name: str) -> StudySpec:
    return load_spec(suite_path(name))


def load_spec(path: Path | str) -> StudySpec:
    """Read a study file; any error names the file and line. Names are checked later."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"study file ({path}): not found.",
            hint="Give an existing .toml file or --suite quick|patterns|paper|tiny.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"study file ({path}): cannot be read: {exc}.") from None
    return parse_spec(text, str(path))


def parse_spec(text: str, source: str) -> StudySpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{source}:{found.group(1)}" if found else source
        reason = re.sub(r"\s*\(at line .*\)$", "", str(exc)) if found else str(exc)
        raise ConfigError(
            f"{where}: not valid TOML: {reason}.", hint="Fix the syntax at that line."
        ) from None
    return _SpecReader(data, Origin(source, KeyLines(text))).read()


class _SpecReader:
    def __init__(self, data: dict[str, Any], origin: Origin) -> None:
        self.data = data
        self.origin = origin

    def fail(
        self, keys: tuple[str, ...], message: str, hint: str, value: object = None
    ) -> ConfigError:
        return ConfigError(f"{self.origin.where(*keys, value=value)}: {message}", hint=hint)

    def read(self) -> StudySpec:
        data = self.data
        self.check_keys(data, (), TOP_KEYS)
        spec = StudySpec(origin=self.origin)
        changes: dict[str, Any] = {}
        if "name" in data:
            changes["name"] = self.string(("name",), data["name"])
        if "seed" in data:
            changes["seed"] = self.integer(("seed",), data["seed"], minimum=0)
        changes.update(self.replicates(data))
        if "preset" in data:
            changes["preset"] = self.string(("preset",), data["preset"])
        if "modes" in data:
            changes["modes"] = self.modes(data["modes"])
        if "interpreters" in data:
            changes["interpreters"] = self.interpreters(data["interpreters"])
        if "workers" in data:
            changes["workers"] = self.worker_list(("workers",), data["workers"])
        if "workloads" in data:
            changes["workloads"] = self.workloads(data["workloads"])
        for key, attr in (("cooldown", "cooldown_ns"), ("idle_baseline", "idle_baseline_ns")):
            if key in data:
                changes[attr] = self.duration((key,), data[key], allow_zero=True)
        if "interval" in data:
            changes["interval_ns"] = self.duration(("interval",), data["interval"], rates=True)
        changes.update(self.flags(data, ("priming", "sentinel", "pin", "calibrate")))
        if "max_foreign_cpu" in data:
            changes["max_foreign_cpu"] = self.cores(("max_foreign_cpu",), data["max_foreign_cpu"])
        if "timeout" in data:
            timeout_ns = (
                self.duration(("timeout",), data["timeout"], allow_zero=True)
                if data["timeout"] != "none"
                else 0
            )
            changes["timeout_s"] = timeout_ns / 1e9 if timeout_ns else None
        return replace(spec, **changes)

    def replicates(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """reps (a count, or "auto"), max_reps and budget."""
        found: dict[str, Any] = {}
        if data.get("reps") == "auto":
            found["reps_auto"] = True
        elif "reps" in data:
            found["reps"] = self.integer(("reps",), data["reps"], minimum=1, auto=True)
        if "max_reps" in data:
            found["max_reps"] = self.integer(("max_reps",), data["max_reps"], minimum=3)
        if "budget" in data:
            found["budget_ns"] = self.duration(("budget",), data["budget"])
        return found

    def cores(self, keys: tuple[str, ...], value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.fail(
                keys,
                f"{keys[-1]} ({value!r}): must be a number of cores >= 0.",
                f"Write e.g. {keys[-1]} = 0.1.",
            )
        return float(value)

    def flags(self, data: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, bool]:
        found = {}
        for key in keys:
            if key in data:
                if not isinstance(data[key], bool):
                    raise self.fail(
                        (key,),
                        f"{key} ({data[key]!r}): must be true or false.",
                        f"Write {key} = true.",
                    )
                found[key] = data[key]
        return found

    def check_keys(
        self, table: Mapping[str, Any], keys: tuple[str, ...], valid: tuple[str, ...]
    ) -> None:
        for key in table:
            if key not in valid:
                where = f"[{'.'.join(keys)}]" if keys else "the study file"
                raise self.fail(
                    (*keys, key), f"unknown key {key!r} in {where}.", f"Valid: {', '.join(valid)}."
                )

    def string(self, keys: tuple[str, ...], value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                keys,
                f"{keys[-1]} ({value!r}): must be a non-empty string.",
                'Write e.g. name = "quick".',
            )
        return value

    def integer(
        self, keys: tuple[str, ...], value: object, *, minimum: int, auto: bool = False
    ) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            key = keys[-1]
            also = ' or "auto"' if auto else ""
            hint = f"Write e.g. {key} = {max(minimum, 3)}" + (f' or {key} = "auto"' if auto else "")
            raise self.fail(
                keys, f"{key} ({value!r}): must be a whole number >= {minimum}{also}.", hint + "."
            )
        return value

    def duration(
        self, keys: tuple[str, ...], value: object, *, rates: bool = False, allow_zero: bool = False
    ) -> int:
        try:
            return parse_duration_ns(value, keys[-1], rates=rates, allow_zero=allow_zero)
        except ConfigError as exc:
            raise self.fail(keys, exc.message, exc.hint or "") from None

    def modes(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(
                ("modes",),
                f"modes ({value!r}): must be a non-empty list.",
                'Write e.g. modes = ["gil", "ft"].',
            )
        for mode in value:
            if mode not in MODES:
                raise self.fail(
                    ("modes",), f"unknown mode {mode!r}.", f"Valid: {', '.join(MODES)}.", value=mode
                )
        if len(set(value)) != len(value):
            raise self.fail(("modes",), f"modes ({value!r}): listed twice.", "List each mode once.")
        return tuple(value)

    def interpreters(self, value: object) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.fail(
                ("interpreters",),
                "interpreters: must be a table.",
                'Write interpreters = { gil = "...", ft = "..." }.',
            )
        self.check_keys(value, ("interpreters",), SLOTS)
        return {slot: self.string(("interpreters", slot), name) for slot, name in value.items()}

    def worker_list(self, keys: tuple[str, ...], value: object) -> tuple[int, ...]:
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.fail(
                keys,
                f"workers ({value!r}): must be a non-empty list of counts.",
                "Write e.g. workers = [1, 2, 4].",
            )
        for count in value:
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise self.fail(
                    keys,
                    f"workers ({count!r}): must be a whole number >= 1.",
                    "Write e.g. workers = [1, 2, 4].",
                    value=count,
                )
        return tuple(dict.fromkeys(value))

    def workloads(self, value: object) -> tuple[WorkloadEntry, ...]:
        if isinstance(value, list):  # workloads = ["a", "b"]: the preset of each
            return tuple(WorkloadEntry(self.string(("workloads",), name)) for name in value)
        if not isinstance(value, dict) or not value:
            raise self.fail(
                ("workloads",),
                "workloads: must be a list of names or [workloads.NAME] tables.",
                'Write e.g. workloads = ["sum_squares"].',
            )
        entries = []
        for name, table in value.items():
            keys = ("workloads", name)
            if not isinstance(table, dict):
                raise self.fail(
                    keys,
                    f"workloads.{name}: must be a table.",
                    f"Write [workloads.{name}] with params = {{...}} and/or workers = [...].",
                )
            self.check_keys(table, keys, WORKLOAD_KEYS)
            params = table.get("params", {})
            if not isinstance(params, dict):
                raise self.fail(
                    (*keys, "params"),
                    f"workloads.{name}.params: must be a table.",
                    "Write params = { n = 1000 }.",
                )
            workers = (
                self.worker_list((*keys, "workers"), table["workers"])
                if "workers" in table
                else None
            )
            entries.append(WorkloadEntry(name, dict(params), workers))
        return tuple(entries)
