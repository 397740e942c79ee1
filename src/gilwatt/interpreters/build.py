"""Build and install one CPython from source: configure, make, make install, check.

The install goes to a staging directory (``make install DESTDIR=...``) and is renamed into
its final place only after it passed the check and got its completion marker, so a
half-built install never looks complete and a retry starts clean.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

from gilwatt import __version__, paths
from gilwatt.errors import BuildError
from gilwatt.interpreters import layout
from gilwatt.interpreters.interpreter import ProgressEvent, ProgressFn
from gilwatt.interpreters.steps import BUILD_HINT, run_logged

# Identical for both builds; only --disable-gil differs. No PGO/LTO: they triple the build
# time and both builds would need them alike; the comparison is between builds, not absolute.
CONFIGURE_FLAGS: tuple[str, ...] = ("--with-ensurepip=install",)
# The free-threaded build's flag: experimental in 3.13 (PEP 703), supported from 3.14 on
# (PEP 779) under the same name, so 3.13, 3.14 and 3.15 are configured alike. Both builds
# honour PYTHON_GIL=1 at run time (the free-threaded one then runs with the GIL);
# PYTHON_GIL=0 is a fatal error on a default build.
FREE_THREADED_FLAG = "--disable-gil"
# modules pip and numpy need: a build without them is useless, although make succeeds
REQUIRED_MODULES = ("ssl", "zlib", "ctypes", "hashlib")
OPTIONAL_MODULES = ("bz2", "lzma", "sqlite3", "readline", "uuid", "curses", "dbm.gnu", "tkinter")


def configure_args(build: layout.BuildLayout) -> list[str]:
    args = [f"--prefix={build.prefix}", *CONFIGURE_FLAGS]
    if build.free_threaded:
        args.append(FREE_THREADED_FLAG)
    return args


def extract(tarball: Path, dest: Path, progress: ProgressFn) -> Path:
    """Unpack ``tarball`` under ``dest``; return the source tree (the directory with configure)."""
    progress(ProgressEvent("extract", f"{tarball.name} into {dest}"))
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tarball) as archive:
            archive.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BuildError(
            "extract",
            str(tarball),
            f"{tarball}: {exc}",
            hint="The tarball is damaged; remove it and retry.",
        ) from exc
    candidates = [p for p in [dest, *sorted(dest.iterdir())] if (p / "configure").is_file()]
    if not candidates:
        raise BuildError(
            "extract",
            str(tarball),
            f"no configure script in {tarball}",
            hint="This is not a CPython source tarball.",
        )
    return candidates[0]


def build_one(
    src: Path,
    build: layout.BuildLayout,
    *,
    workdir: Path,
    jobs: int,
    log_path: Path,
    progress: ProgressFn,
    source_info: dict[str, Any],
) -> None:
    """configure + make + make install into staging, check, mark complete, rename into place."""
    started = time.monotonic()
    build_dir = workdir / build.name
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    staging = paths.pythons_dir() / f"{layout.STAGING_PREFIX}{build.name}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    args = configure_args(build)

    def run(argv: list[str], step: str) -> None:
        run_logged(
            argv, step=step, log_path=log_path, progress=progress, target=build.name, cwd=build_dir
        )

    try:
        _announce(progress, "configure", build.name, " ".join(args))
        run([str(src / "configure"), *args], "configure")
        _announce(progress, "build", build.name, f"make -j{jobs}")
        run(["make", f"-j{jobs}"], "make")
        _announce(progress, "install", build.name, f"into {staging}")
        run(["make", "install", f"DESTDIR={staging}"], "make install")
        staged = staging / build.prefix.relative_to("/")
        _announce(progress, "check", build.name, "standard modules pip and numpy need")
        staged_python = layout.installed_python(staged / "bin", build.version, build.free_threaded)
        missing_optional = check_modules(staged_python, build.name, log_path)
        layout.write_marker(
            staged,
            {
                "version": build.version,
                "free_threaded": build.free_threaded,
                "configure_args": args,
                "make_jobs": jobs,
                "missing_optional_modules": missing_optional,
                "build_seconds": round(time.monotonic() - started, 1),
                "built_unix": int(time.time()),
                "gilwatt_version": __version__,
                "log": str(log_path),
                **source_info,
            },
        )
        if build.prefix.exists():  # an earlier half-built attempt (it has no marker)
            shutil.rmtree(build.prefix)
        build.prefix.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, build.prefix)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(build_dir, ignore_errors=True)
    progress(
        ProgressEvent(
            "install", f"{build.prefix}", target=build.name, elapsed_s=time.monotonic() - started
        )
    )


def check_modules(python: Path, name: str, log_path: Path) -> list[str]:
    """Import every required and optional module; raise BuildError if a required one fails."""
    code = (
        "import importlib,sys\n"
        "bad=[]\n"
        "for m in sys.argv[1:]:\n"
        "    try: importlib.import_module(m)\n"
        "    except Exception: bad.append(m)\n"
        "print(' '.join(bad))\n"
    )
    modules = [*REQUIRED_MODULES, *OPTIONAL_MODULES]
    try:
        result = subprocess.run(
            [str(python), "-E", "-s", "-c", code, *modules],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError("check", str(log_path), f"{python}: {exc}", hint=BUILD_HINT) from exc
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(
            f"=== check {name}: missing modules: {result.stdout.strip() or 'none'}\n{result.stderr}"
        )
    if result.returncode != 0:
        raise BuildError("check", str(log_path), result.stderr.strip()[-2000:], hint=BUILD_HINT)
    missing = result.stdout.split()
    required_missing = [m for m in missing if m in REQUIRED_MODULES]
    if required_missing:
        raise BuildError(
            "check",
            str(log_path),
            f"{name} was built without the modules {', '.join(required_missing)} (their headers were missing)",
            hint=BUILD_HINT,
        )
    return [m for m in missing if m in OPTIONAL_MODULES]


def _announce(progress: ProgressFn, step: str, target: str, message: str) -> None:
    progress(ProgressEvent(step, message, target=target))
