"""Provision a matched pair: the default and the free-threaded CPython of one version.

``provision("3.13.5")`` finds a verified source tarball, builds both interpreters with
identical configure flags (only ``--disable-gil`` differs), gives each a venv with numpy, and
returns (gil, ft). It is idempotent (a complete pair is returned at once), safe against a
concurrent provision (a lock file), and leaves nothing half-built behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from gilwatt import paths
from gilwatt.errors import ConfigError, InterpreterError
from gilwatt.interpreters import build, envs, layout, sources
from gilwatt.interpreters.inspect import probe
from gilwatt.interpreters.interpreter import (
    Interpreter,
    ProgressEvent,
    ProgressFn,
    no_progress,
    version_tuple,
)

DEFAULT_VERSION = "3.13.5"
# "3.13" -> the release gilwatt builds by default for that minor version (3.14.2: the paper's)
DEFAULT_RELEASES: dict[str, str] = {"3.13": "3.13.5", "3.14": "3.14.2"}
_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+((a|b|rc)\d+)?)?$")
_URL_RE = re.compile(r"^https?://[^/\s]+")


def normalise_version(version: str) -> str:
    """``"cpython-3.13.5t"``, ``"3.13"`` -> ``"3.13.5"``; ConfigError for what cannot be built."""
    text = version.strip().lower()
    text = re.sub(r"^(cpython-?|python)", "", text)
    text = text.removesuffix("t")
    if not _VERSION_RE.match(text):
        raise ConfigError(
            f"not a CPython version ({version}).", hint="Give a release such as 3.13.5."
        )
    text = DEFAULT_RELEASES.get(text, text)
    if version_tuple(text) < (3, 13, 0):
        given = f" ({version})" if version.strip() != text else ""
        raise ConfigError(
            f"CPython {text} has no free-threaded build{given}: --disable-gil exists from 3.13 on.",
            hint=f"Provision {DEFAULT_VERSION} or newer.",
        )
    return text


def provisioned_pair(version: str) -> tuple[Interpreter, Interpreter] | None:
    """The complete provisioned pair of ``version`` (probed), or None."""
    gil_build, ft_build = layout.BuildLayout(version, False), layout.BuildLayout(version, True)
    if not (gil_build.complete() and ft_build.complete()):
        return None
    gil, ft = (_probe_build(b) for b in (gil_build, ft_build))
    if gil.usable and ft.usable and not gil.free_threaded and ft.free_threaded:
        return gil, ft
    return None


def provision(
    version: str = DEFAULT_VERSION,
    *,
    tarball: str | os.PathLike[str] | None = None,
    sha256: str | None = None,
    progress: ProgressFn = no_progress,
    jobs: int | None = None,
    requirements: tuple[str, ...] | None = None,
    url: str | None = None,
) -> tuple[Interpreter, Interpreter]:
    """Build (or find) the matched pair of ``version``; return (gil, ft), each a venv python.

    ``url`` replaces python.org's download base (a mirror with the same layout).
    """
    version = normalise_version(version)
    if url is not None and not _URL_RE.match(url):
        raise ConfigError(
            f"invalid --url ({url}): expected an http:// or https:// address.",
            hint="Give the directory that holds <version>/Python-<version>.tar.xz, e.g. https://www.python.org/ftp/python.",
        )
    done = provisioned_pair(version)
    if done:
        progress(
            ProgressEvent(
                "done", f"cpython-{version} pair already provisioned in {paths.pythons_dir()}"
            )
        )
        return done
    started = time.monotonic()
    builds = (layout.BuildLayout(version, False), layout.BuildLayout(version, True))
    if any(b.install_marker() is None for b in builds):
        sources.check_available(
            version, tarball=Path(tarball) if tarball else None, sha256=sha256, base_url=url
        )
    with provision_lock(progress):
        done = provisioned_pair(version)  # another process may have finished it meanwhile
        if done:
            progress(
                ProgressEvent("done", f"cpython-{version} pair provisioned by another process")
            )
            return done
        _discard_broken(builds)
        _discard_stale_staging()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        if any(b.install_marker() is None for b in builds):
            _build_missing(
                version, builds, tarball, sha256, url, stamp, progress, jobs or os.cpu_count() or 1
            )
        _make_missing_envs(version, builds, requirements, stamp, progress)
        pair = provisioned_pair(version)
        if pair is None:
            raise InterpreterError(
                f"provisioned cpython-{version} pair does not work as built ({paths.pythons_dir()}).",
                hint="Remove that directory and the envs next to it, then provision again.",
            )
        progress(
            ProgressEvent(
                "done", f"cpython-{version} pair ready", elapsed_s=time.monotonic() - started
            )
        )
        return pair


def _build_missing(
    version: str,
    builds: tuple[layout.BuildLayout, ...],
    tarball: str | os.PathLike[str] | None,
    sha256: str | None,
    url: str | None,
    stamp: str,
    progress: ProgressFn,
    jobs: int,
) -> None:
    source_log = paths.logs_dir() / f"source-cpython-{version}-{stamp}.log"
    source = sources.obtain_source(
        version,
        tarball=Path(tarball) if tarball else None,
        sha256=sha256,
        log_path=source_log,
        progress=progress,
        base_url=url,
    )
    progress(
        ProgressEvent(
            "source", f"{source.path} (sha256 {source.sha256[:12]}..., from {source.origin})"
        )
    )
    workdir = paths.cache_dir() / "build" / f"cpython-{version}-{os.getpid()}"
    source_info = {
        "source_tarball": str(source.path),
        "source_sha256": source.sha256,
        "source_origin": source.origin,
        "checksum_origin": source.checksum_origin,
    }
    try:
        src = build.extract(source.path, workdir / "src", progress)
        for b in builds:
            if b.install_marker() is None:
                log_path = paths.logs_dir() / f"{b.name}-{stamp}.log"
                build.build_one(
                    src,
                    b,
                    workdir=workdir,
                    jobs=jobs,
                    log_path=log_path,
                    progress=progress,
                    source_info=source_info,
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with contextlib.suppress(OSError):
            workdir.parent.rmdir()  # only if no other provision left a tree there


def _make_missing_envs(
    version: str,
    builds: tuple[layout.BuildLayout, ...],
    requirements: tuple[str, ...] | None,
    stamp: str,
    progress: ProgressFn,
) -> None:
    wanted = requirements if requirements is not None else envs.requirements_for(version)
    gil_build, ft_build = builds
    ft_marker = ft_build.env_marker()
    if ft_marker is None:
        ft_marker = envs.create_env(
            ft_build,
            wanted,
            log_path=paths.logs_dir() / f"{ft_build.name}-env-{stamp}.log",
            progress=progress,
        )
    if gil_build.env_marker() is None:
        numpy_version = ft_marker.get("numpy")
        pinned = envs.pinned_like(wanted, str(numpy_version)) if numpy_version else wanted
        envs.create_env(
            gil_build,
            pinned,
            log_path=paths.logs_dir() / f"{gil_build.name}-env-{stamp}.log",
            progress=progress,
        )


def _probe_build(b: layout.BuildLayout) -> Interpreter:
    from dataclasses import replace

    found = probe(b.env_python, source="gilwatt")
    return replace(found, name=b.name) if found.usable else found


def _discard_broken(builds: tuple[layout.BuildLayout, ...]) -> None:
    """A build marked complete whose python no longer answers is rebuilt from scratch."""
    for b in builds:
        if b.install_marker() is not None and not probe(b.python).usable:
            shutil.rmtree(b.prefix, ignore_errors=True)
            shutil.rmtree(b.env, ignore_errors=True)
        elif b.env_marker() is not None and not probe(b.env_python).usable:
            shutil.rmtree(b.env, ignore_errors=True)


def _discard_stale_staging() -> None:
    # we hold the lock: any staging directory or build tree left is from a killed provision
    for stale in paths.pythons_dir().glob(layout.STAGING_PREFIX + "*"):
        shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(paths.cache_dir() / "build", ignore_errors=True)


@contextlib.contextmanager
def provision_lock(progress: ProgressFn) -> Iterator[None]:
    """Hold ``<pythons>/.provision.lock``; wait (saying so) while another provision holds it."""
    root = paths.pythons_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".provision.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            progress(
                ProgressEvent(
                    "lock", f"waiting for another gilwatt provision (pid {holder}) to finish"
                )
            )
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            lock.seek(0)
            lock.truncate()
            fcntl.flock(lock, fcntl.LOCK_UN)
