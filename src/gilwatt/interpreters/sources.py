"""Find a CPython source tarball, verify its sha256, and keep a verified copy in the cache.

Sources, in order: the tarball the user names (``--tarball``), the one already in the cache
(``<cache>/sources/Python-<v>.tar.xz``), python.org's release (or a mirror's, ``--url``),
then Debian's source package through apt. Files the user gave are only read: on a checksum
mismatch nothing of theirs is deleted. When no source answers, one error names each source
tried and why it failed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gilwatt import paths
from gilwatt.errors import ConfigError, InterpreterError
from gilwatt.interpreters import checksums, debian, pythonorg
from gilwatt.interpreters.interpreter import ProgressEvent, ProgressFn


@dataclass(frozen=True)
class SourceTarball:
    path: Path  # the verified copy in the cache
    sha256: str
    origin: str  # "--tarball /x/y.tar.xz", "cache", "python.org (URL)", "Debian (file)"
    checksum_origin: str  # where the expected sha256 came from


def cached_tarballs(version: str) -> list[Path]:
    return [paths.sources_dir() / f"Python-{version}{suffix}" for suffix in (".tar.xz", ".tgz")]


def check_available(
    version: str,
    *,
    tarball: Path | None,
    sha256: str | None = None,
    base_url: str | None = None,
) -> None:
    """Fail early, before any lock or directory is made, when no source can deliver ``version``.

    Only what is known without the network counts here: a download needs a known checksum,
    Debian a suite that carries the minor version.
    """
    if tarball is not None or any(p.is_file() for p in cached_tarballs(version)):
        return
    if pythonorg.usable_checksums(version, sha256):
        return
    tried = [_download_tried(version, base_url, pythonorg.NO_CHECKSUM)]
    try:
        debian.package_for(version)
    except debian.DebianUnavailable as exc:
        raise _no_source(version, [*tried, f"Debian source package ({exc})"]) from None


def obtain_source(
    version: str,
    *,
    tarball: Path | None,
    sha256: str | None,
    log_path: Path,
    progress: ProgressFn,
    base_url: str | None = None,
) -> SourceTarball:
    """A verified tarball for ``version``; ConfigError naming every source tried if none."""
    if sha256 is not None and not checksums.valid_sha256(sha256):
        raise ConfigError(f"invalid --sha256 ({sha256}): expected 64 hexadecimal digits.")
    if tarball is not None:
        given = Path(tarball).expanduser()
        if not given.is_file():
            raise ConfigError(
                f"tarball not found ({given}).",
                hint="Pass the path of a Python-<version>.tar.xz file.",
            )
        progress(ProgressEvent("verify", f"sha256 of {given}"))
        digest, origin = verify(given, version, sha256, user_file=True)
        return SourceTarball(_keep_copy(given, version), digest, f"--tarball {given}", origin)
    for cached in cached_tarballs(version):
        if cached.is_file():
            progress(ProgressEvent("verify", f"sha256 of cached {cached}"))
            digest, origin = verify(cached, version, sha256, user_file=False)
            return SourceTarball(cached, digest, "cache", origin)
    tried: list[str] = []
    target = cached_tarballs(version)[0]
    url = pythonorg.release_url(version, base_url)
    try:
        digest, origin = pythonorg.fetch_release(
            version,
            target,
            pythonorg.usable_checksums(version, sha256),
            base_url=base_url,
            progress=progress,
        )
        return SourceTarball(target, digest, f"{_download_label(base_url)} ({url})", origin)
    except pythonorg.DownloadUnavailable as exc:
        tried.append(_download_tried(version, base_url, str(exc)))
    try:
        debian.package_for(version)
        progress(ProgressEvent("source", f"{tried[-1]}: trying Debian's source package"))
        return _from_debian(version, sha256, log_path, progress)
    except debian.DebianUnavailable as exc:
        tried.append(f"Debian source package ({exc})")
    raise _no_source(version, tried)


def _from_debian(
    version: str, sha256: str | None, log_path: Path, progress: ProgressFn
) -> SourceTarball:
    paths.sources_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".apt-", dir=paths.sources_dir()) as tmp:
        orig = debian.fetch_orig_tarball(version, Path(tmp), log_path=log_path, progress=progress)
        progress(ProgressEvent("verify", f"sha256 of {orig.name}"))
        digest, origin = verify(orig, version, sha256, user_file=False)
        kept = _keep_copy(orig, version, move=True)
        return SourceTarball(kept, digest, f"Debian ({orig.name})", origin)


def _download_label(base_url: str | None) -> str:
    return "python.org" if base_url is None else "--url"


def _download_tried(version: str, base_url: str | None, why: str) -> str:
    return f"{_download_label(base_url)} {pythonorg.release_url(version, base_url)} ({why})"


def _no_source(version: str, tried_after_cache: list[str]) -> ConfigError:
    tried = [
        "--tarball (not given)",
        f"cache {cached_tarballs(version)[0]} (absent)",
        *tried_after_cache,
    ]
    return ConfigError(
        f"no source for CPython {version}: tried {'; '.join(tried)}.",
        hint=f"Download the official source release Python-{version}.tar.xz and pass --tarball PATH"
        " (and --sha256 HEX if gilwatt does not know its checksum).",
    )


def verify(
    path: Path, version: str, user_sha256: str | None, *, user_file: bool
) -> tuple[str, str]:
    """Return (sha256, where the expected value came from); raise on mismatch or no reference."""
    expected = checksums.expected_checksums(version, user_sha256)
    if not expected:
        raise ConfigError(
            f"no known sha256 for CPython {version} ({path}): gilwatt will not build an unverified tarball.",
            hint=f"Pass --sha256 HEX with the checksum python.org publishes for Python-{version}.tar.xz.",
        )
    digest = checksums.file_sha256(path)
    for item in expected:
        if digest == item.sha256:
            return digest, item.origin
    wanted = " or ".join(f"{e.sha256} ({e.filename}, from {e.origin})" for e in expected)
    error = ConfigError if user_file else InterpreterError
    raise error(
        f"sha256 mismatch for {path}: it is {digest}, expected {wanted}.",
        hint="The file is corrupt or not this release; nothing was deleted. Remove or replace it and retry.",
    )


def _keep_copy(path: Path, version: str, *, move: bool = False) -> Path:
    """Put a verified tarball into the cache (atomically) unless it is already there."""
    suffix = ".tgz" if path.name.endswith((".tgz", ".tar.gz")) else ".tar.xz"
    target = paths.sources_dir() / f"Python-{version}{suffix}"
    if target.exists() and os.path.samefile(target, path):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    if move:
        shutil.move(path, tmp)
    else:
        shutil.copyfile(path, tmp)
    os.replace(tmp, target)
    return target
