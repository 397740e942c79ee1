"""Fetch CPython's source from Debian's source package, through the machine's own apt mirror.

Debian ships CPython's upstream tarball unchanged as ``python3.X_<version>.orig.tar.xz``. The
archive address and keyring come from the machine's existing apt sources (nothing is
hard-coded), and apt runs with a private configuration and state directory: the system's
sources, lists and caches are neither read for packages nor changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gilwatt.errors import BuildError
from gilwatt.interpreters.interpreter import ProgressEvent, ProgressFn
from gilwatt.interpreters.steps import run_logged

# CPython minor version -> (Debian source package, suite that carries it). Only entries
# whose orig tarball was checked to be byte-identical to python.org's release belong here.
DEBIAN_PACKAGES: dict[str, tuple[str, str]] = {
    "3.13": ("python3.13", "trixie"),
}
APT_SOURCES_LIST = Path("/etc/apt/sources.list")
APT_SOURCES_PARTS = Path("/etc/apt/sources.list.d")


class DebianUnavailable(Exception):
    """This source cannot deliver the version; the message says why (one short clause)."""


@dataclass(frozen=True)
class AptArchive:
    uri: str
    keyring: str | None  # Signed-By file, or None to use apt's trusted keys


def fetch_orig_tarball(
    version: str, workdir: Path, *, log_path: Path, progress: ProgressFn, etc_root: Path = Path("/")
) -> Path:
    """Download ``python3.X_<version>.orig.tar.xz`` into ``workdir``; DebianUnavailable if not."""
    package, suite = package_for(version)
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise DebianUnavailable("apt-get not found")
    archive = find_archive(etc_root)
    if archive is None:
        raise DebianUnavailable("no Debian archive in the machine's apt sources")
    options = _private_apt(workdir, archive, suite)
    hint = "Pass --tarball PATH to build from a tarball you downloaded."
    progress(ProgressEvent("download", f"Debian {suite} index from {archive.uri}"))
    try:
        run_logged(
            [apt_get, *options, "update"],
            step="apt-get update",
            log_path=log_path,
            progress=progress,
            hint=hint,
        )
    except BuildError as exc:
        raise DebianUnavailable(f"apt-get update for {suite} failed (log: {log_path})") from exc
    debian_version = _matching_version(package, version, options, suite)
    progress(ProgressEvent("download", f"{package} {debian_version} source from Debian {suite}"))
    try:
        run_logged(
            [apt_get, *options, "source", "--download-only", f"{package}={debian_version}"],
            step="apt-get source",
            log_path=log_path,
            progress=progress,
            cwd=workdir,
            hint=hint,
        )
    except BuildError as exc:
        raise DebianUnavailable(
            f"apt-get source {package}={debian_version} failed (log: {log_path})"
        ) from exc
    orig = workdir / f"{package}_{version}.orig.tar.xz"
    if not orig.is_file():
        raise DebianUnavailable(f"{package} {debian_version} has no {orig.name}")
    return orig


def package_for(version: str) -> tuple[str, str]:
    """(source package, suite) that carries CPython ``version``'s minor release."""
    minor = ".".join(version.split(".")[:2])
    if minor not in DEBIAN_PACKAGES:
        raise DebianUnavailable(f"no Debian suite known to carry CPython {minor}")
    return DEBIAN_PACKAGES[minor]


def find_archive(etc_root: Path = Path("/")) -> AptArchive | None:
    """The machine's main Debian archive (a ``deb`` entry for a release suite, not -security)."""
    entries = parse_sources(etc_root)
    release = [
        e
        for e in entries
        if "deb" in e.types and any("-" not in s and "/" not in s for s in e.suites)
    ]
    # a Debian mirror's archive lives under /debian; prefer it over third-party repositories
    release.sort(key=lambda e: not e.uri.rstrip("/").endswith("/debian"))
    return AptArchive(release[0].uri, release[0].keyring) if release else None


@dataclass(frozen=True)
class SourceEntry:
    types: tuple[str, ...]
    uri: str
    suites: tuple[str, ...]
    keyring: str | None


def parse_sources(etc_root: Path = Path("/")) -> list[SourceEntry]:
    """Entries of ``sources.list`` (one-line format) and ``sources.list.d/*.sources`` (deb822)."""
    entries: list[SourceEntry] = []
    one_line = [etc_root / APT_SOURCES_LIST.relative_to("/")]
    parts = etc_root / APT_SOURCES_PARTS.relative_to("/")
    one_line += sorted(parts.glob("*.list"))
    for path in one_line:
        entries += _parse_one_line(_read(path))
    for path in sorted(parts.glob("*.sources")):
        entries += _parse_deb822(_read(path))
    return entries


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _parse_one_line(text: str) -> list[SourceEntry]:
    entries: list[SourceEntry] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        options: dict[str, str] = {}
        match = re.match(r"^(\S+)\s+\[([^\]]*)\]\s+(.*)$", line)
        if match:
            kind, opts, rest = match.groups()
            for opt in opts.split():
                key, _, value = opt.partition("=")
                options[key.lower()] = value
        else:
            kind, _, rest = line.partition(" ")
        fields = rest.split()
        if kind not in ("deb", "deb-src") or len(fields) < 2:
            continue
        entries.append(SourceEntry((kind,), fields[0], (fields[1],), options.get("signed-by")))
    return entries


def _parse_deb822(text: str) -> list[SourceEntry]:
    entries: list[SourceEntry] = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for raw in block.splitlines():
            if raw.startswith("#"):
                continue
            if raw[:1] in (" ", "\t") and key:
                fields[key] += "\n" + raw.strip()
                continue
            key, sep, value = raw.partition(":")
            if not sep:
                key = ""
                continue
            key = key.strip().lower()
            fields[key] = value.strip()
        if not fields.get("uris") or fields.get("enabled", "yes").lower() == "no":
            continue
        keyring = fields.get("signed-by") or None
        if keyring and ("\n" in keyring or "BEGIN PGP" in keyring):
            keyring = None  # an inline key block: fall back to apt's trusted keys
        for uri in fields["uris"].split():
            entries.append(
                SourceEntry(
                    tuple(fields.get("types", "").split()),
                    uri,
                    tuple(fields.get("suites", "").split()),
                    keyring,
                )
            )
    return entries


def _private_apt(workdir: Path, archive: AptArchive, suite: str) -> list[str]:
    """apt options that point every list, cache and lock at ``workdir``."""
    lists = workdir / "lists"
    cache = workdir / "cache"
    for directory in (lists / "partial", cache / "archives" / "partial"):
        directory.mkdir(parents=True, exist_ok=True)
    signed = f"[signed-by={archive.keyring}] " if archive.keyring else ""
    source_list = workdir / "sources.list"
    source_list.write_text(f"deb-src {signed}{archive.uri} {suite} main\n", encoding="utf-8")
    options = {
        "Dir::Etc::SourceList": str(source_list),
        "Dir::Etc::SourceParts": "/dev/null",
        "Dir::State::Lists": str(lists),
        "Dir::Cache": str(cache),
        "Dir::Cache::pkgcache": "",
        "Dir::Cache::srcpkgcache": "",
        "Acquire::Languages": "none",
        "Debug::NoLocking": "1",
    }
    if os.geteuid() == 0:
        # apt would drop to the _apt user, which cannot write into our private directory
        options["APT::Sandbox::User"] = "root"
    return [arg for key, value in options.items() for arg in ("-o", f"{key}={value}")]


def _matching_version(package: str, version: str, options: list[str], suite: str) -> str:
    """The Debian version of ``package`` whose upstream part is ``version``."""
    apt_cache = shutil.which("apt-cache") or "apt-cache"
    try:
        result = subprocess.run(
            [apt_cache, *options, "showsrc", package],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DebianUnavailable(f"apt-cache showsrc {package} failed: {exc}") from exc
    versions = re.findall(r"^Version:\s*(\S+)", result.stdout, flags=re.MULTILINE)
    for debian_version in versions:
        upstream = debian_version.split(":", 1)[-1].rsplit("-", 1)[0]
        if upstream == version:
            return str(debian_version)
    if not versions:
        raise DebianUnavailable(f"Debian {suite} has no source package {package}")
    shown = ", ".join(sorted({v.split(":", 1)[-1].rsplit("-", 1)[0] for v in versions}))
    raise DebianUnavailable(f"Debian {suite} has {package} {shown}, not {version}")
