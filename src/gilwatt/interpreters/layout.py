"""Where provisioned interpreters live, and how a complete one is told from a half-built one.

::

    <cache>/pythons/cpython-3.13.5/       the installed build (``make install``)
    <cache>/pythons/cpython-3.13.5t/      the free-threaded build, same configure flags
    <cache>/pythons/.staging-*/           in-progress installs; renamed into place when done
    <cache>/envs/cpython-3.13.5[t]/       a venv per build holding what workloads need (numpy)
    <cache>/sources/Python-3.13.5.tar.xz  verified source tarballs
    <cache>/logs/                         build logs

A directory counts as complete only when its marker file exists; the marker is written last
(for an install, before the atomic rename that makes it visible), so an interrupted provision
never leaves something that looks finished.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gilwatt import paths

MARKER = ".gilwatt-complete.json"
STAGING_PREFIX = ".staging-"


def envs_dir() -> Path:
    """Per-build environments: ``<cache>/envs/cpython-<version>[t]``."""
    return paths.cache_dir() / "envs"


def build_name(version: str, free_threaded: bool) -> str:
    return f"cpython-{version}{'t' if free_threaded else ''}"


@dataclass(frozen=True)
class BuildLayout:
    """The paths of one provisioned build and its environment."""

    version: str
    free_threaded: bool

    @property
    def name(self) -> str:
        return build_name(self.version, self.free_threaded)

    @property
    def prefix(self) -> Path:
        return paths.pythons_dir() / self.name

    @property
    def python(self) -> Path:
        return installed_python(self.prefix / "bin", self.version, self.free_threaded)

    @property
    def env(self) -> Path:
        return envs_dir() / self.name

    @property
    def env_python(self) -> Path:
        return self.env / "bin" / "python"

    def install_marker(self) -> dict[str, Any] | None:
        return read_marker(self.prefix)

    def env_marker(self) -> dict[str, Any] | None:
        return read_marker(self.env)

    def complete(self) -> bool:
        return (
            self.install_marker() is not None
            and self.env_marker() is not None
            and os.access(self.python, os.X_OK)
            and os.access(self.env_python, os.X_OK)
        )


def installed_python(bin_dir: Path, version: str, free_threaded: bool) -> Path:
    """The interpreter ``make install`` put into ``bin_dir``.

    3.13 links ``python3`` for both builds; the free-threaded build's own name is
    ``python3.13t``, which is used if a release no longer links ``python3`` for it.
    """
    linked = bin_dir / "python3"
    minor = ".".join(version.split(".")[:2])
    own = bin_dir / f"python{minor}{'t' if free_threaded else ''}"
    return own if not linked.exists() and own.exists() else linked


def read_marker(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(directory: Path, data: dict[str, Any]) -> None:
    """Write the marker atomically (temp file + rename), so it is never seen half-written."""
    tmp = directory / (MARKER + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, directory / MARKER)


def provisioned_pythons() -> list[tuple[Path, dict[str, Any]]]:
    """Complete provisioned builds: (the python to use, its install marker), newest name last.

    The environment's python is returned when the environment is complete (it has numpy,
    which the workloads need); otherwise the bare installed python.
    """
    root = paths.pythons_dir()
    found: list[tuple[Path, dict[str, Any]]] = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return found
    for prefix in entries:
        if prefix.name.startswith(".") or not prefix.is_dir():
            continue
        marker = read_marker(prefix)
        if marker is None:
            continue
        env = envs_dir() / prefix.name
        env_python = env / "bin" / "python"
        if read_marker(env) is not None and os.access(env_python, os.X_OK):
            found.append((env_python, marker))
        else:
            version, ft = str(marker.get("version", "")), bool(marker.get("free_threaded"))
            found.append((installed_python(prefix / "bin", version, ft), marker))
    return found
