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

# release file -> sha256 published by python.org. The references, 2026-11-27: pyenv 2.6.30's
# definitions; Debian's Sources index (trixie, forky, sid: the orig tarball of python3.X);
# the PYTHON_SHA256 of the official Docker "python" images. A release with only one of them
# (3.13.18, 3.14.5rc1, 3.14.9, 3.14.10, 3.15.0, 3.15.2 then) is not here: pyenv's
# definitions are read at run time, and --sha256 serves the rest.
KNOWN_SHA256: dict[str, str] = {
    # pyenv and the Docker images agree (3.13.5: and Debian trixie's orig tarball)
    "Python-3.13.0.tar.xz": "086de5882e3cb310d4dca48457522e2e48018ecd43da9cdf827f6a0759efb07d",
    "Python-3.13.1.tar.xz": "9cf9427bee9e2242e3877dd0f6b641c1853ca461f39d6503ce260a59c80bf0d9",
    "Python-3.13.2.tar.xz": "d984bcc57cd67caab26f7def42e523b1c015bbc5dc07836cf4f0b63fa159eb56",
    "Python-3.13.3.tar.xz": "40f868bcbdeb8149a3149580bb9bfd407b3321cd48f0be631af955ac92c0e041",
    "Python-3.13.4.tar.xz": "27b15a797562a2971dce3ffe31bb216042ce0b995b39d768cf15f784cc757365",
    "Python-3.13.5.tar.xz": "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640",
    "Python-3.13.6.tar.xz": "17ba5508819d8736a14fbfc47d36e184946a877851b2e9c4b6c43acb44a3b104",
    "Python-3.13.7.tar.xz": "5462f9099dfd30e238def83c71d91897d8caa5ff6ebc7a50f14d4802cdaaa79a",
    "Python-3.13.8.tar.xz": "b9910730526b298299b46b35595ced9055722df60c06ad6301f6a4e2c728a252",
    "Python-3.13.9.tar.xz": "ed5ef34cda36cfa2f3a340f07cac7e7814f91c7f3c411f6d3562323a866c5c66",
    "Python-3.13.10.tar.xz": "bc673c04375a1a3f0808c27ba8f0411ab811ad390a8740318ccb9c60fad8fd77",
    "Python-3.13.11.tar.xz": "16ede7bb7cdbfa895d11b0642fa0e523f291e6487194d53cf6d3b338c3a17ea2",
    "Python-3.13.12.tar.xz": "2a84cd31dd8d8ea8aaff75de66fc1b4b0127dd5799aa50a64ae9a313885b4593",
    "Python-3.13.13.tar.xz": "2ab91ff401783ccca64f75d10c882e957bdfd60e2bf5a72f8421793729b78a71",
    "Python-3.14.0.tar.xz": "2299dae542d395ce3883aca00d3c910307cd68e0b2f7336098c8e7b7eee9f3e9",
    "Python-3.14.1.tar.xz": "8dfa08b1959d9d15838a1c2dab77dc8d8ff4a553a1ed046dfacbc8095c6d42fc",
    "Python-3.14.2.tar.xz": "ce543ab854bc256b61b71e9b27f831ffd1bfd60a479d639f8be7f9757cf573e9",
    "Python-3.14.3.tar.xz": "a97d5549e9ad81fe17159ed02c68774ad5d266c72f8d9a0b5a9c371fe85d902b",
    "Python-3.14.4.tar.xz": "d923c51303e38e249136fc1bdf3568d56ecb03214efdef48516176d3d7faaef8",
    "Python-3.15.0b1.tar.xz": "d4d52ccfa1d727ef5235fbb7d70fa1dbacf10b8b3760db622875da05acbe437c",
    # Debian's orig tarball and the Docker images agree
    "Python-3.13.15.tar.xz": "1e66a7945a48390ee4c2a4268a0e4185884059a13c4aab6d148aa208deea4a76",
    "Python-3.14.8.tar.xz": "c2215904f02b175596dc49351585104f4bc20341e1c47378b26a2c274360ce73",
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
    for filename, sha256, origin in pyenv_checksums(version):
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


def pyenv_checksums(version: str) -> list[tuple[str, str, str]]:
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
