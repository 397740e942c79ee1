"""One environment (a venv) per provisioned build, holding what the workloads need.

The free-threaded environment is made first because it is the constrained one (numpy
publishes cp313t wheels only up to 2.4.x); the GIL environment then gets exactly the same
numpy version, so the pair differs only in the GIL.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from gilwatt.errors import BuildError
from gilwatt.interpreters import layout
from gilwatt.interpreters.interpreter import ProgressEvent, ProgressFn
from gilwatt.interpreters.steps import run_logged

# CPython minor version -> what its environments get (numpy 2.5 has no cp313t wheels)
ENV_REQUIREMENTS: dict[str, tuple[str, ...]] = {"3.13": ("numpy<2.5",)}
DEFAULT_REQUIREMENTS: tuple[str, ...] = ("numpy",)
PIP_HINT = (
    "pip could not install the workloads' packages: check that this machine reaches the package "
    "index (pip's own settings such as PIP_INDEX_URL apply), then rerun; the built interpreters are kept."
)

_REPORT = (
    "import json, sys\n"
    "from importlib import metadata\n"
    "try:\n"
    "    import numpy\n"
    "    version = metadata.version('numpy')\n"
    "except ImportError:\n"
    "    version = None\n"
    "gil = getattr(sys, '_is_gil_enabled', lambda: None)()\n"
    "print(json.dumps({'numpy': version, 'gil_enabled_after_numpy': gil}))\n"
)


def requirements_for(version: str) -> tuple[str, ...]:
    minor = ".".join(version.split(".")[:2])
    return ENV_REQUIREMENTS.get(minor, DEFAULT_REQUIREMENTS)


def pinned_like(requirements: tuple[str, ...], numpy_version: str) -> tuple[str, ...]:
    """The requirements with numpy pinned to the version its partner environment got."""
    return tuple(
        f"numpy=={numpy_version}" if re.match(r"^numpy\b", req) else req for req in requirements
    )


def create_env(
    build: layout.BuildLayout,
    requirements: tuple[str, ...],
    *,
    log_path: Path,
    progress: ProgressFn,
) -> dict[str, Any]:
    """(Re)create ``build``'s venv with ``requirements``; the marker is written last."""
    started = time.monotonic()
    if build.env.exists():  # no marker (or we would not be here): an interrupted attempt
        shutil.rmtree(build.env)
    build.env.parent.mkdir(parents=True, exist_ok=True)
    progress(ProgressEvent("env", f"venv {build.env}", target=build.name))
    run_logged(
        [str(build.python), "-m", "venv", str(build.env)],
        step="venv",
        log_path=log_path,
        progress=progress,
        target=build.name,
    )
    if requirements:
        progress(ProgressEvent("env", "pip install " + " ".join(requirements), target=build.name))
        pip = [str(build.env_python), "-m", "pip", "install", "--disable-pip-version-check"]
        run_logged(
            [*pip, "--no-input", *requirements],
            step="pip install",
            log_path=log_path,
            progress=progress,
            target=build.name,
            hint=PIP_HINT,
        )
    report = _report(build, log_path)
    marker: dict[str, Any] = {
        "base_python": str(build.python),
        "requirements": list(requirements),
        "seconds": round(time.monotonic() - started, 1),
        "created_unix": int(time.time()),
        **report,
    }
    layout.write_marker(build.env, marker)
    progress(
        ProgressEvent(
            "env",
            f"numpy {report['numpy']} in {build.env}",
            target=build.name,
            elapsed_s=time.monotonic() - started,
        )
    )
    return marker


def _report(build: layout.BuildLayout, log_path: Path) -> dict[str, Any]:
    import json

    result = subprocess.run(
        [str(build.env_python), "-c", _REPORT],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"=== env check {build.name}: {result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise BuildError("env check", str(log_path), result.stderr.strip()[-2000:], hint=PIP_HINT)
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data
