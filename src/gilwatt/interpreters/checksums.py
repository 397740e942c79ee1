"""The sha256 python.org publishes for CPython source releases, and checking a tarball.

Two sources: the table below (each value checked against two independent references before
it was added), and, read at run time, pyenv's python-build definitions, which carry the
upstream tarballs' sha256 in their download URLs (``...Python-3.13.5.tar.xz#<sha256>``).
A checksum the user passes (``--sha256``) replaces both.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

# release file -> sha256 published by python.org
KNOWN_SHA256: dict[str, str] = {
    # python.org, pyenv's 3.13.5 definition, and Debian's python3.13_3.13.5.orig.tar.xz agree
    "Python-3.13.5.tar.xz": "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640",
}

_PYENV_LINE_RE = re.compile(r'/(Python-[0-9A-Za-z.]+\.(?:tar\.xz|tgz))#([0-9a-fA-F]{64})"')
_HEX64_RE = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class Expected:
    sha256: str
    filename: str  # the release file it belongs to
    origin: str  # where gilwatt learned it


def expected_checksums(version: str, user_sha256: str | None = None) -> list[Expected]:
    """Every checksum a good ``Python-<version>`` tarball may have (``.tar.xz`` or ``.tgz``)."""
    if user_sha256:
        return [Expected(user_sha256.lower(), f"Python-{version}", "--sha256")]
    found: dict[str, Expected] = {}
    for suffix in (".tar.xz", ".tgz"):
        filename = f"Python-{version}{suffix}"
        if filename in KNOWN_SHA256:
            found[filename] = Expected(KNOWN_SHA256[filename], filename, "gilwatt's table")
    for filename, sha256, origin in _pyenv_checksums(version):
        found.setdefault(filename, Expected(sha256, filename, origin))
    return list(found.values())


def valid_sha256(text: str) -> bool:
    return bool(_HEX64_RE.match(text))


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def pyenv_definition_dirs() -> list[Path]:
    roots = [os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")]
    dirs = [Path(root) / "plugins" / "python-build" / "share" / "python-build" for root in roots]
    dirs += [Path("/usr/local/share/python-build"), Path("/usr/share/python-build")]
    return [d for d in dirs if d.is_dir()]


def _pyenv_checksums(version: str) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for directory in pyenv_definition_dirs():
        for name in (version, version + "t"):
            definition = directory / name
            try:
                text = definition.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for filename, sha256 in _PYENV_LINE_RE.findall(text):
                if filename.startswith(f"Python-{version}."):
                    found.append((filename, sha256.lower(), f"pyenv definition {definition}"))
    return found
