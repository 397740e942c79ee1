# ruff: noqa: UP031
"""Run by a candidate interpreter to describe itself as one line of JSON on stdout.

This file is executed by arbitrary interpreters (``python -E -s inspect_script.py``), so it must
parse and run on Python 2.7 and every Python 3: no f-strings, no annotations, stdlib only.
Interpreters older than 3.6 still answer, with ``error`` set, so they are listed as unusable
with a reason instead of failing the listing.
"""

import json
import os
import platform
import sys

MIN_VERSION = (3, 6)


def _config_var(name):
    # type: (str) -> object
    try:
        import sysconfig

        return sysconfig.get_config_var(name)
    except Exception:  # a damaged stdlib must not stop the answer
        return None


def _numpy_version():
    # type: () -> object
    # importlib.metadata (3.8+) reads the version without importing numpy (fast, and no
    # C extension gets loaded that could re-enable the GIL)
    try:
        from importlib import metadata

        return metadata.version("numpy")
    except Exception:
        return None


def describe():
    # type: () -> dict[str, object]
    impl = getattr(sys, "implementation", None)
    gil_check = getattr(sys, "_is_gil_enabled", None)
    info = {
        "probe": 1,
        "version": platform.python_version(),
        "version_info": list(sys.version_info[:3]),
        "implementation": impl.name
        if impl is not None
        else platform.python_implementation().lower(),
        "executable": sys.executable,
        "realpath": os.path.realpath(sys.executable) if sys.executable else "",
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "abiflags": getattr(sys, "abiflags", ""),
        "py_gil_disabled": bool(_config_var("Py_GIL_DISABLED")),
        "gil_enabled": bool(gil_check()) if gil_check is not None else None,
        "config_args": _config_var("CONFIG_ARGS") or "",
        "numpy": None,
        "error": None,
    }
    if tuple(sys.version_info[:2]) < MIN_VERSION:
        info["error"] = "Python %s is too old: gilwatt needs Python %d.%d or newer" % (
            info["version"],
            MIN_VERSION[0],
            MIN_VERSION[1],
        )
    else:
        info["numpy"] = _numpy_version()
    return info


if __name__ == "__main__":
    sys.stdout.write("GILWATT-PROBE " + json.dumps(describe()) + "\n")
    sys.stdout.flush()
