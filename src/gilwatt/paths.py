"""Where gilwatt keeps per-user state: the provisioned interpreters, sources and logs."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$GILWATT_CACHE_DIR``, else ``$XDG_CACHE_HOME/gilwatt``, else ``~/.cache/gilwatt``."""
    explicit = os.environ.get("GILWATT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "gilwatt"


def pythons_dir() -> Path:
    """Provisioned interpreters: ``<cache>/pythons/cpython-<version>[t]``."""
    return cache_dir() / "pythons"


def sources_dir() -> Path:
    """Verified source tarballs: ``<cache>/sources/Python-<version>.tar.xz``."""
    return cache_dir() / "sources"


def logs_dir() -> Path:
    return cache_dir() / "logs"
