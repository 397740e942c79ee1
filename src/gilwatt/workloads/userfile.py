"""User-defined workloads: any script that uses ``gilwatt.markers``, described in a small TOML
file, without touching gilwatt's code::

    # dict_churn.toml
    name = "dict_churn"
    script = "dict_churn.py"          # relative to this file
    description = "threads churn a shared dict"
    family = "user"                   # optional; one of gilwatt's families
    sharing = "shared-mutable"        # optional; independent, shared-read-only, shared-mutable
                                      # (default unclassified: kept out of claims 2 and 4)
    region = "kernel"                 # optional; the measured region's marker name
    uses_workers = true               # optional; the script then gets --workers N
    verifies = "final dict equals the sequential one"   # optional
    needs = []                        # optional, e.g. ["numpy"]
    workers = [1, 2, 4]               # optional; workers of presets that do not say

    [params.items]                    # the script gets --items <value>
    type = "int"                      # int (default), float or str
    unit = "items"
    default = 100000
    help = "dict updates"
    min = 1                           # optional; also max, and choices for str

    [presets.quick]                   # optional; tiny, quick and paper default to the defaults
    items = 1000000
    [presets.paper]
    items = [1000000, 4000000]        # a list is a sweep
    workers = [1, 2, 4, 8]

    [memory]                          # optional estimate, to refuse runs that would not fit
    base_mb = 64
    param = "items"
    bytes_each = 120
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gilwatt.errors import ConfigError
from gilwatt.workloads.model import (
    FAMILIES,
    PARAM_TYPES,
    PRESETS,
    SHARING,
    MemoryEstimate,
    Param,
    ParamValue,
    Workload,
)

TOP_KEYS = (
    "name", "script", "description", "family", "sharing", "region", "uses_workers", "verifies", "needs",
    "workers", "params", "presets", "memory",
)  # fmt: skip
PARAM_KEYS = ("type", "unit", "default", "help", "min", "max", "choices")
MEMORY_KEYS = ("base_mb", "param", "bytes_each")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def load_user_workload(path: Path) -> Workload:
    """The workload a TOML file declares; ConfigError naming the file and the fix."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"workload file {str(path)!r}: {exc.strerror or exc}.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"workload file {str(path)!r}: not valid TOML ({exc}).") from None
    return _workload(path, data)


def _workload(path: Path, data: Mapping[str, Any]) -> Workload:
    where = f"workload file {str(path)!r}"
    _only(where, "", data, TOP_KEYS)
    name = _text(where, data, "name", required=True)
    if not _NAME.match(name):
        raise ConfigError(
            f"{where}: name {name!r} must start with a letter and use only letters, digits, _ . -."
        )
    script = (path.parent / _text(where, data, "script", required=True)).resolve()
    if not script.is_file():
        raise ConfigError(
            f"{where}: script {str(script)!r} does not exist.",
            hint="Give a path relative to the TOML file.",
        )
    family = _text(where, data, "family") or "user"
    if family not in FAMILIES:
        raise ConfigError(f"{where}: family {family!r} is not one of {', '.join(FAMILIES)}.")
    sharing = _text(where, data, "sharing") or "unclassified"
    if sharing not in SHARING:
        raise ConfigError(f"{where}: sharing {sharing!r} is not one of {', '.join(SHARING)}.")
    uses_workers = data.get("uses_workers", True)
    if not isinstance(uses_workers, bool):
        raise ConfigError(f"{where}: uses_workers must be true or false.")
    params = tuple(_param(where, key, spec) for key, spec in _table(where, data, "params").items())
    default_workers = _workers(where, data.get("workers", [1, 2, 4] if uses_workers else [1]))
    presets: dict[str, dict[str, Any]] = {}
    raw_presets = _table(where, data, "presets")
    names = {p.name for p in params}
    for preset_name in (*PRESETS, *[n for n in raw_presets if n not in PRESETS]):
        raw = raw_presets.get(preset_name, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: [presets.{preset_name}] must be a table.")
        _only(where, f"presets.{preset_name}.", raw, (*names, "workers"))
        preset = {k: v for k, v in raw.items() if k != "workers"}
        preset["workers"] = _workers(where, raw.get("workers", default_workers))
        presets[preset_name] = preset
    needs = data.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise ConfigError(f'{where}: needs must be a list of module names, e.g. ["numpy"].')
    workload = Workload(
        name=name,
        family=family,
        description=_text(where, data, "description") or f"user workload from {path.name}",
        script=script,
        params=params,
        presets=presets,
        uses_workers=uses_workers,
        verifies=_text(where, data, "verifies") or "(declared by the script)",
        needs=tuple(needs),
        region=_text(where, data, "region") or "kernel",
        sharing=sharing,
        estimate_bytes=_memory(where, _table(where, data, "memory"), names),
        source=str(path),
    )
    for preset_name in presets:  # every preset value must parse now, not when a study runs
        workload.cells(preset_name, available_bytes=None)
    return workload


def _param(where: str, name: str, spec: Any) -> Param:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: [params.{name}] must be a table.")
    if not _NAME.match(name) or name == "workers":
        raise ConfigError(
            f"{where}: parameter name {name!r} is not allowed.", hint="Use letters, digits and _."
        )
    _only(where, f"params.{name}.", spec, PARAM_KEYS)
    kind = spec.get("type", "int")
    if kind not in PARAM_TYPES:
        raise ConfigError(
            f"{where}: params.{name}.type {kind!r} is not one of {', '.join(PARAM_TYPES)}."
        )
    if "default" not in spec:
        raise ConfigError(f"{where}: params.{name} has no default.", hint="Add default = <value>.")
    choices = spec.get("choices", [])
    if not isinstance(choices, list) or (choices and kind != "str"):
        raise ConfigError(f"{where}: params.{name}.choices must be a list, for a str parameter.")
    param = Param(
        name=name,
        unit=str(spec.get("unit", "")),
        type=kind,
        help=str(spec.get("help", "")),
        default=spec["default"],
        choices=tuple(str(c) for c in choices),
        minimum=_number(where, name, spec.get("min")),
        maximum=_number(where, name, spec.get("max")),
    )
    checked: ParamValue = param.parse(spec["default"], workload=where)
    return Param(
        param.name,
        param.unit,
        param.type,
        param.help,
        checked,
        param.choices,
        param.minimum,
        param.maximum,
    )


def _memory(where: str, spec: Mapping[str, Any], names: set[str]) -> MemoryEstimate | None:
    if not spec:
        return None
    _only(where, "memory.", spec, MEMORY_KEYS)
    base = int(float(spec.get("base_mb", 64)) * (1 << 20))
    param = spec.get("param")
    if param is None:
        return lambda params, workers: base
    if param not in names:
        raise ConfigError(
            f"{where}: memory.param {param!r} is not a parameter ({', '.join(sorted(names))})."
        )
    each = _number(where, "memory", spec.get("bytes_each", 0)) or 0.0
    return lambda params, workers: base + int(each * float(params[param]))


def _workers(where: str, value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values
    ):
        raise ConfigError(f"{where}: workers {value!r} must be a list of integers >= 1.")
    return list(values)


def _only(where: str, prefix: str, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key {prefix}{key}.", hint=f"Allowed: {', '.join(allowed)}."
            )


def _text(where: str, data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{where}: {key} is missing.", hint=f'Add {key} = "...".')
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string.")
    return value


def _table(where: str, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table ([{key}...]).")
    return value


def _number(where: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: params.{name} bound {value!r} must be a number.")
    return float(value)
