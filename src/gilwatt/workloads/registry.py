"""The workload registry: the bundled workloads plus the user's TOML files."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.workloads.builtin import builtin_workloads
from gilwatt.workloads.model import Workload
from gilwatt.workloads.userfile import load_user_workload

ENV_PATH = "GILWATT_WORKLOADS_PATH"  # directories or .toml files, separated by os.pathsep


def user_files(extra_paths: Iterable[str | Path] = ()) -> list[Path]:
    """The TOML files to load: from ``$GILWATT_WORKLOADS_PATH``, then ``extra_paths``.

    A directory contributes its ``*.toml`` files (sorted); a missing path is an error.
    """
    sources: list[tuple[Path, str]] = []
    for entry in os.environ.get(ENV_PATH, "").split(os.pathsep):
        if entry.strip():
            sources.append((Path(entry).expanduser(), f"in ${ENV_PATH}"))
    sources += [(Path(p).expanduser(), "") for p in extra_paths]
    files: list[Path] = []
    for path, origin in sources:
        if path.is_dir():
            files += sorted(path.glob("*.toml"))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(
                f"workload path {str(path)!r}{' ' + origin if origin else ''}: no such file or directory.",
                hint="Give a .toml file or a directory of them.",
            )
    return files


def registry(extra_paths: Iterable[str | Path] = ()) -> dict[str, Workload]:
    """Every workload by name: bundled ones first, then user-defined ones.

    A user workload may not reuse a name already taken (ConfigError naming both files).
    """
    found = {w.name: w for w in builtin_workloads()}
    for path in user_files(extra_paths):
        workload = load_user_workload(path)
        if workload.name in found:
            other = found[workload.name].source
            raise ConfigError(
                f"workload file {str(path)!r}: name {workload.name!r} is already taken "
                f"({'a bundled workload' if other == 'builtin' else other}).",
                hint="Rename it.",
            )
        found[workload.name] = workload
    return found


def get_workload(name: str, extra_paths: Iterable[str | Path] = ()) -> Workload:
    """The workload called ``name``; UnknownNameError listing the valid names."""
    found = registry(extra_paths)
    if name not in found:
        raise UnknownNameError("workload", name, list(found))
    return found[name]
