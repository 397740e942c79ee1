"""Find the interpreters a user already has, and pick one by name or a matched pair.

Sources, in the order that wins when two candidates are the same interpreter:
gilwatt (provisioned under the cache), user (paths given), path (``python3``, ``python3.X``,
``python3.Xt`` on PATH), pyenv (``$PYENV_ROOT/versions/*``), uv (uv-managed installs).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.interpreters import layout
from gilwatt.interpreters.inspect import DEFAULT_TIMEOUT_S, probe, probe_many
from gilwatt.interpreters.interpreter import SOURCES, Interpreter

_PATH_NAME_RE = re.compile(r"^python3(\.\d+t?)?$")
_SPEC_RE = re.compile(r"^(?:cpython-?|python)?(\d+)\.(\d+)(?:\.(\d+))?(t?)$", re.IGNORECASE)
PAIR_ALIASES = ("gil", "ft")


def discover(
    extra: Iterable[str | os.PathLike[str]] = (), *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[Interpreter]:
    """Probe every candidate (in parallel) and return them: usable first, newest first.

    ``extra`` are paths the user names; a path that is not an interpreter is listed with
    its ``error``. Duplicates (the same interpreter reached twice) are listed once.
    """
    candidates = _unique_candidates(_candidates(extra))
    probed = probe_many(candidates, timeout_s=timeout_s)
    found = _drop_duplicates(probed)
    found = _name_uniquely(found)
    rank = {source: i for i, source in enumerate(SOURCES)}
    found.sort(
        key=lambda i: (
            not i.usable,
            tuple(-n for n in i.version_tuple),
            i.implementation,
            i.free_threaded,
            rank.get(i.source, len(rank)),
        )
    )
    return found


def resolve(name_or_path: str, *, interpreters: Sequence[Interpreter] | None = None) -> Interpreter:
    """An interpreter from a path, a name (``cpython-3.13.5t``, ``3.13.5t``, ``python3.13t``,
    ``3.13``) or ``gil`` / ``ft`` (the newest matched pair's members). Raises ConfigError."""
    text = name_or_path.strip()
    if _looks_like_path(text):
        found = probe(text, source="user")
        if not found.usable:
            raise ConfigError(
                f"not a usable Python interpreter ({text}): {found.error}.",
                hint="Give the path of a python executable, or a name from `gilwatt interpreters`.",
            )
        return found
    known = list(interpreters) if interpreters is not None else discover()
    usable = [i for i in known if i.usable]
    lowered = text.lower()
    if lowered in PAIR_ALIASES:
        pair = matched_pair(interpreters=usable)
        if pair is None:
            raise ConfigError(
                f"no matched GIL / free-threaded pair for {text!r}: none of the discovered interpreters form one.",
                hint="Run `gilwatt interpreters provision` to build one, or pass interpreter paths.",
            )
        return pair[0] if lowered == "gil" else pair[1]
    for interp in known:
        if interp.name.lower() == lowered:
            if not interp.usable:
                raise ConfigError(
                    f"interpreter {interp.name!r} ({interp.executable}) is not usable: {interp.error}."
                )
            return interp
    match = _best_for_spec(lowered, usable)
    if match is not None:
        return match
    on_path = shutil.which(text)
    if on_path:  # a command name such as "pypy3"
        found = probe(on_path, source="user")
        if found.usable:
            return found
    valid = [i.name for i in usable]
    if matched_pair(interpreters=usable) is not None:
        valid += list(PAIR_ALIASES)
    raise UnknownNameError("interpreter", text, valid)


def matched_pair(
    version: str | None = None, *, interpreters: Sequence[Interpreter] | None = None
) -> tuple[Interpreter, Interpreter] | None:
    """(gil, ft): a default and a free-threaded CPython of the same version, or None.

    Preference: provisioned by gilwatt, then built with the same configure flags apart from
    ``--disable-gil``, then both have numpy, then the newest version. ``version`` ("3.13.5"
    or "3.13") restricts the choice.
    """
    known = list(interpreters) if interpreters is not None else discover()
    cpythons = [i for i in known if i.usable and i.implementation == "cpython"]
    if version:
        cpythons = [i for i in cpythons if _version_matches(i.version, version)]
    best: tuple[tuple[bool, bool, bool, tuple[int, int, int]], Interpreter, Interpreter] | None = (
        None
    )
    for gil in (i for i in cpythons if not i.free_threaded):
        for ft in (i for i in cpythons if i.free_threaded and i.version == gil.version):
            score = (
                gil.source == "gilwatt" and ft.source == "gilwatt",
                same_build_flags(gil, ft),
                bool(gil.numpy and ft.numpy),
                gil.version_tuple,
            )
            if best is None or score > best[0]:
                best = (score, gil, ft)
    return (best[1], best[2]) if best else None


def same_build_flags(a: Interpreter, b: Interpreter) -> bool:
    """True when two builds were configured alike, ignoring --disable-gil and their prefixes."""
    return _normalised_flags(a) == _normalised_flags(b)


def normalised_flags(interp: Interpreter) -> list[str]:
    """CONFIG_ARGS without ``--disable-gil``, the install prefix replaced by ``<prefix>``."""
    return _normalised_flags(interp)


def _normalised_flags(interp: Interpreter) -> list[str]:
    prefix = str(interp.extra.get("base_prefix") or interp.prefix)
    try:
        args = shlex.split(interp.config_args)
    except ValueError:
        args = interp.config_args.split()
    return [
        arg.replace(prefix, "<prefix>") if prefix else arg for arg in args if arg != "--disable-gil"
    ]


def _version_matches(version: str, wanted: str) -> bool:
    return version == wanted or version.startswith(wanted + ".")


def _best_for_spec(spec: str, usable: list[Interpreter]) -> Interpreter | None:
    match = _SPEC_RE.match(spec)
    if not match:
        return None
    major, minor, micro, t = match.groups()
    wanted = f"{major}.{minor}" + (f".{micro}" if micro else "")
    hits = [
        i
        for i in usable
        if i.implementation == "cpython"
        and _version_matches(i.version, wanted)
        and i.free_threaded == bool(t)
    ]
    if not hits:
        return None
    return max(hits, key=lambda i: (i.source == "gilwatt", bool(i.numpy), i.version_tuple))


def _looks_like_path(text: str) -> bool:
    return os.sep in text or text.startswith(("~", ".")) or os.path.exists(text)


def _candidates(extra: Iterable[str | os.PathLike[str]]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = [(str(p), "gilwatt") for p, _ in layout.provisioned_pythons()]
    found += [(os.path.abspath(os.path.expanduser(os.fspath(p))), "user") for p in extra]
    found += [(p, "path") for p in _on_path()]
    found += [(p, "pyenv") for p in _pyenv()]
    found += [(p, "uv") for p in _uv()]
    return found


def _on_path() -> list[str]:
    found: list[str] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        # version-manager shims dispatch to installs found directly (pyenv), and fail for
        # versions that are not selected, so they are skipped rather than listed as broken
        if not directory or Path(directory).name == "shims":
            continue
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            if _PATH_NAME_RE.match(name) and os.path.isfile(path):
                found.append(path)
    return found


def _pyenv() -> list[str]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found: list[str] = []
    for version_dir in sorted((root / "versions").glob("*")):
        for name in ("python", "python3"):
            exe = version_dir / "bin" / name
            if exe.exists():
                found.append(str(exe))
                break
    return found


def _uv_root() -> Path:
    explicit = os.environ.get("UV_PYTHON_INSTALL_DIR")
    if explicit:
        return Path(explicit).expanduser()
    data = os.environ.get("XDG_DATA_HOME")
    return (Path(data).expanduser() if data else Path.home() / ".local" / "share") / "uv" / "python"


def _uv() -> list[str]:
    found: list[str] = []
    for install in sorted(_uv_root().glob("*")):
        bin_dir = install / "bin"
        names = sorted(p.name for p in bin_dir.glob("python3*") if _PATH_NAME_RE.match(p.name))
        if not names:
            continue
        # one executable per install: the most specific name (python3.14t over python3)
        found.append(str(bin_dir / max(names, key=len)))
    return found


def _candidate_key(path: str) -> tuple[str, str]:
    # a venv's python is a symlink to its base; the venv is still a different environment
    env_root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    is_env = os.path.exists(os.path.join(env_root, "pyvenv.cfg"))
    return os.path.realpath(path), env_root if is_env else ""


def _unique_candidates(candidates: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    unique: list[tuple[str, str]] = []
    for path, source in candidates:
        key = _candidate_key(path)
        if key not in seen:
            seen.add(key)
            unique.append((path, source))
    return unique


def _drop_duplicates(probed: list[Interpreter]) -> list[Interpreter]:
    seen: set[tuple[str, str]] = set()
    kept: list[Interpreter] = []
    for interp in probed:
        key = (interp.realpath, interp.prefix) if interp.usable else (interp.executable, "")
        if key not in seen:
            seen.add(key)
            kept.append(interp)
    return kept


def _name_uniquely(found: list[Interpreter]) -> list[Interpreter]:
    """The first interpreter with a name keeps it; later ones get ``@source`` (then ``-2``...)."""
    taken: set[str] = set()
    named: list[Interpreter] = []
    for interp in found:
        name = interp.name
        if name in taken:
            name = f"{interp.name}@{interp.source}"
            n = 2
            while name in taken:
                name = f"{interp.name}@{interp.source}-{n}"
                n += 1
        taken.add(name)
        named.append(replace(interp, name=name) if name != interp.name else interp)
    return named
