"""The house rules that a reader of one module cannot see: who may touch SQLite, and how
gilwatt's own modules are imported. Checked on the source, so a new module cannot slip by."""

from __future__ import annotations

import ast
from pathlib import Path

import gilwatt
from gilwatt.store import Store

SRC = Path(gilwatt.__file__).parent


def _modules() -> list[Path]:
    # Workload scripts and examples run under the target interpreter, not as part of gilwatt.
    skip = (SRC / "workloads" / "scripts", SRC / "examples")
    return [p for p in sorted(SRC.rglob("*.py")) if not any(p.is_relative_to(s) for s in skip)]


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "gilwatt":
            names += [f"gilwatt.{a.name}" for a in node.names]  # from gilwatt import errors
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_only_the_store_imports_sqlite3() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in _modules()
        if not path.is_relative_to(SRC / "store")
        and any(n.split(".")[0] == "sqlite3" for n in _imported(ast.parse(path.read_text())))
    ]
    assert len(_modules()) > 50  # the walk found the package
    assert offenders == []


def test_the_store_connection_is_private() -> None:
    public = [name for name in dir(Store) if "conn" in name and not name.startswith("_")]
    assert public == []


# profiler._open_meter's guard is removed on the issue-9 branch (the profiler's owner); drop
# this entry once both branches are merged.
# runs inside the profiled program: a hook that cannot load must not stop the user's program
_GUARDS_IN_THE_TARGET = {"_sitecustomize.py"}


def test_no_import_error_guard_around_gilwatt_modules() -> None:
    """``except ImportError`` around ``gilwatt.*`` turns a broken install into silent success."""
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Try):
                continue
            caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if not caught & {"ImportError", "ModuleNotFoundError"}:
                continue
            own = [
                n
                for n in _imported(ast.Module(body=node.body, type_ignores=[]))
                if n.split(".")[0] == "gilwatt"
            ]
            if own and str(path.relative_to(SRC)) not in _GUARDS_IN_THE_TARGET:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {own}")
    assert offenders == []


# The house (README, Development): each part imports only parts on lower floors.
LAYERS = {
    "errors": 0,  # the one exception tree
    # stdlib-only leaves: paths, units, modes, the markers client (it runs inside the profiled
    # program, as do the thread hook and the sitecustomize that loads it), the read-back records
    "paths": 1, "units": 1, "modes": 1, "markers": 1, "readback": 1,
    # what the machine, the interpreters and the workloads are
    "probes": 2, "workloads": 2, "interpreters": 2, "hostinfo": 2, "channel": 2,
    "threadrecords": 2, "threadhook": 2, "_sitecustomize": 3,
    # measuring and keeping
    "sampler": 3, "launcher": 3, "energy": 3, "store": 3,
    "recording": 4, "summary": 4, "export": 4,
    "profiler": 5,
    "study": 6, "analysis": 6,
    "report": 7, "advise": 7,
    "cli": 8, "__main__": 9,
}  # fmt: skip


def _unit(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0]


def test_imports_only_go_down_the_layers() -> None:
    upward = []
    for path in _modules():
        unit = _unit(path)
        if unit == "__init__":
            continue
        assert unit in LAYERS, f"{unit}: give it a floor in LAYERS (and the README's house)"
        for name in _imported(ast.parse(path.read_text())):
            parts = name.split(".")
            if parts[0] != "gilwatt" or len(parts) < 2 or parts[1] in (unit, "__version__"):
                continue
            if LAYERS[parts[1]] >= LAYERS[unit]:
                upward.append(f"{path.relative_to(SRC)} imports {name}")
    assert upward == []
