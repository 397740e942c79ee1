"""Readiness, before any timing: each finding says what to do about it.

- the pair: the same version; configure flags that differ (besides ``--disable-gil``) warned;
- GIL culprits: one untimed run on the free-threaded build under ``-v -X importtime``. CPython
  warns only for the first extension that turns the GIL back on, but on 3.13.5t ``-v`` prints
  ``# loading module 'X', which requires the GIL`` for every one (checked; the first too) and
  ``# extension module 'X' loaded from PATH``; ``-X importtime`` prints the nested import tree
  in post-order (a module before its importer, one indent deeper), which gives the chain;
- the environment, offline: each distribution of the free-threaded interpreter classed pure /
  free-threaded extension / abi3-only (never loaded by 3.13t/3.14t) / wrong tag;
- native thread pools (BLAS, OpenMP) from the probe's mapped libraries (/proc/PID/maps): N
  workers each with a pool of P threads oversubscribe the CPUs when N x P > CPUs;
- outputs across builds and N (see :func:`compare_outputs`): a difference is a possible race.
  Never "thread-safe": at most "no difference seen in these runs".
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilwatt.errors import ConfigError


@dataclass
class Finding:
    topic: str  # pair | gil | packages | threads | safety | run
    level: str  # blocker | warning | ok | info
    text: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return {"topic": self.topic, "level": self.level, "text": self.text, "fix": self.fix}


@dataclass
class Culprit:
    module: str
    path: str = ""
    distribution: str = ""
    version: str = ""
    chain: list[str] = field(default_factory=list)  # the user's file first

    def as_json(self) -> dict[str, Any]:
        return {"module": self.module, "path": self.path, "distribution": self.distribution,
                "version": self.version, "chain": self.chain}  # fmt: skip


@dataclass
class Readiness:
    findings: list[Finding] = field(default_factory=list)
    culprits: list[Culprit] = field(default_factory=list)
    distributions: dict[str, int] = field(default_factory=dict)  # class -> count
    probe_exit: int | None = None
    probe_stdout: bytes = b""
    probe_stderr_tail: str = ""
    native_libs: list[str] = field(default_factory=list)

    @property
    def gil_back_on(self) -> bool:
        return bool(self.culprits)

    def as_json(self) -> dict[str, Any]:
        return {
            "findings": [f.as_json() for f in self.findings],
            "gil_culprits": [c.as_json() for c in self.culprits],
            "distributions": self.distributions,
            "native_libraries": self.native_libs,
            "probe_exit_code": self.probe_exit,
        }


# -- the pair ----------------------------------------------------------------------------------


def check_pair(gil: Any, ft: Any) -> list[Finding]:
    """``gil`` and ``ft`` are discovered interpreters (version, config_args, prefix)."""
    if gil.version != ft.version:
        raise ConfigError(
            f"the pair differs in version: {gil.name} is {gil.version}, {ft.name} {ft.version}.",
            hint="Use a GIL and a free-threaded build of one version (gilwatt interpreters --pair).",
        )
    a, b = _flags(gil), _flags(ft)
    only_gil = [f for f in a if f not in b]
    only_ft = [f for f in b if f not in a]
    found = [Finding("pair", "ok", f"{gil.name} and {ft.name}: CPython {gil.version} both")]
    if only_gil or only_ft:
        listed = ", ".join([*(f"GIL build only: {f}" for f in only_gil),
                            *(f"free-threaded only: {f}" for f in only_ft)])  # fmt: skip
        found.append(Finding(
            "pair", "warning", f"configure flags differ besides --disable-gil: {listed}",
            "differences may be the flags', not the GIL's; build both alike "
            "(gilwatt interpreters provision builds a matched pair)",
        ))  # fmt: skip
    return found


def _flags(interp: Any) -> list[str]:
    prefix = str(getattr(interp, "extra", {}).get("base_prefix") or interp.prefix or "")
    try:
        args = shlex.split(interp.config_args or "")
    except ValueError:
        args = (interp.config_args or "").split()
    return [a.replace(prefix, "<prefix>") if prefix else a for a in args if a != "--disable-gil"]


# -- the probe run -----------------------------------------------------------------------------

_NATIVE = re.compile(
    r"/((?:lib(?:scipy_)?openblas|libgomp|libiomp5|libomp|libmkl_rt|libblis|libflexiblas)"
    r"[^/]*\.so[^/]*)$"
)


@dataclass
class Probe:
    exit_code: int | None
    stdout: bytes
    stderr: str
    libs: list[str]
    timed_out: bool = False


def probe_run(argv: list[str], env: dict[str, str], cwd: Path | None, timeout_s: float) -> Probe:
    """Run once, untimed, watching the mapped libraries of the process while it runs."""
    full_env = dict(os.environ)
    full_env.update(env)
    full_env.pop("PYTHON_GIL", None)  # a set PYTHON_GIL silences the warning and the -v lines
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"gilwatt-advise-{os.getpid()}.out"
    err_path = out_path.with_suffix(".err")
    libs: set[str] = set()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, env=full_env, cwd=cwd)
        except OSError as exc:
            raise ConfigError(f"cannot run {argv[0]}: {exc.strerror}.") from exc
        deadline = time.monotonic() + timeout_s
        timed_out = False
        while proc.poll() is None:
            libs |= _mapped(proc.pid)
            if time.monotonic() > deadline:
                proc.kill()
                timed_out = True
            time.sleep(0.05)
    stdout, stderr = out_path.read_bytes(), err_path.read_text("utf-8", "replace")
    out_path.unlink(missing_ok=True)
    err_path.unlink(missing_ok=True)
    return Probe(proc.returncode, stdout, stderr, sorted(libs), timed_out)


def _mapped(pid: int) -> set[str]:
    found: set[str] = set()
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                pids += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/maps") as fh:
                for line in fh:
                    m = _NATIVE.search(line.strip())
                    if m:
                        found.add(m.group(1))
        except OSError:
            continue
    return found


# -- culprits ----------------------------------------------------------------------------------

_REQUIRES = re.compile(r"^# loading module '([^']+)', which requires the GIL")
_WARNED = re.compile(r"GIL\) has been enabled to load module '([^']+)'")
_LOADED = re.compile(r"^# extension module '([^']+)' loaded from '([^']+)'")
_IMPORTTIME = re.compile(r"^import time:\s*\d+\s*\|\s*\d+\s*\|( *)(\S+)")


def parse_culprits(stderr: str, user_file: str = "") -> list[Culprit]:
    """Every module that turned the GIL back on, in import order, with its chain."""
    names: list[str] = []
    paths: dict[str, str] = {}
    tree: list[tuple[int, str]] = []
    for line in stderr.splitlines():
        for pattern in (_REQUIRES, _WARNED):
            m = pattern.search(line)
            if m and m.group(1) not in names:
                names.append(m.group(1))
        m = _LOADED.match(line)
        if m:
            paths.setdefault(m.group(1), m.group(2))
        m = _IMPORTTIME.match(line)
        if m:
            tree.append((len(m.group(1)) // 2, m.group(2)))
    return [Culprit(n, paths.get(n, ""), chain=_chain(tree, n, user_file)) for n in names]


def _chain(tree: list[tuple[int, str]], module: str, user_file: str) -> list[str]:
    """The importers of ``module``: in post-order, a module's importer is the next line one
    level up."""
    at = next((i for i, (_, name) in enumerate(tree) if name == module), None)
    if at is None:
        return [user_file, module] if user_file else [module]
    chain = [module]
    depth = tree[at][0]
    for d, name in tree[at + 1 :]:
        if d < depth:
            chain.append(name)
            depth = d
        if depth == 0:
            break
    chain.reverse()
    head = _import_line(user_file, chain[0]) if user_file else ""
    return [head or user_file, *chain] if user_file else chain


def _import_line(user_file: str, top: str) -> str:
    """``file.py:LINE`` of the user's import of ``top`` (the chain's first module)."""
    root = top.split(".")[0]
    pattern = re.compile(rf"^\s*(import|from)\s+{re.escape(root)}\b")
    try:
        lines = Path(user_file).read_text("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for number, line in enumerate(lines, 1):
        if pattern.match(line):
            return f"{Path(user_file).name}:{number}"
    return ""


def culprit_findings(culprits: list[Culprit]) -> list[Finding]:
    if not culprits:
        return [Finding("gil", "ok", "no extension module turned the GIL back on in the probe run")]
    lines = []
    for c in culprits:
        owner = f"{c.distribution} {c.version}".strip() or "no installed distribution (local)"
        lines.append(f"{c.module} ({owner}; {c.path or 'path unknown'}); chain: "
                     + " -> ".join(c.chain))  # fmt: skip
    text = (f"the free-threaded build turns the GIL back on at import ({len(culprits)} "
            f"module{'s' if len(culprits) != 1 else ''}, all named by -v): " + "; ".join(lines))  # fmt: skip
    fix = ("a release of each that declares free-threading support (Py_mod_gil = "
           "Py_MOD_GIL_NOT_USED), or its pure-Python fallback; PYTHON_GIL=0 forces the GIL off "
           "at your own risk")  # fmt: skip
    return [Finding("gil", "blocker", text, fix)]


# -- the environment, offline ------------------------------------------------------------------


def audit(
    ft_python: str, culprits: list[Culprit], timeout_s: float = 60.0
) -> tuple[dict[str, int], list[Finding]]:
    script = Path(__file__).with_name("audit_script.py")
    argv = [ft_python, "-I", str(script), *(c.path for c in culprits if c.path)]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False)
        answer = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        return {}, [Finding("packages", "warning", f"the environment audit did not run: {exc}")]
    for c in culprits:
        owner = answer["owners"].get(c.path)
        if owner:
            c.distribution, c.version = owner["name"], owner["version"]
    counts: dict[str, int] = {}
    by_class: dict[str, list[str]] = {}
    for d in answer["distributions"]:
        counts[d["class"]] = counts.get(d["class"], 0) + 1
        by_class.setdefault(d["class"], []).append(f"{d['name']} {d['version']}")
    total = sum(counts.values())
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    findings = [Finding("packages", "ok", f"{total} distributions in the free-threaded "
                                          f"environment: {summary or 'none'}")]  # fmt: skip
    if by_class.get("abi3-only"):
        findings.append(Finding(
            "packages", "warning",
            "abi3-only extensions (never loaded by a free-threaded 3.13/3.14): "
            + ", ".join(by_class["abi3-only"]),
            "install a release with a cp313t wheel, or build it from source",
        ))  # fmt: skip
    if by_class.get("wrong-tag"):
        findings.append(Finding(
            "packages", "warning",
            "extensions built for another interpreter: " + ", ".join(by_class["wrong-tag"]),
            "reinstall them with the free-threaded interpreter's pip",
        ))  # fmt: skip
    return counts, findings


# -- native thread pools -----------------------------------------------------------------------

_POOL_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def pool_findings(
    libs: list[str], max_workers: int, cpus: int, env: dict[str, str]
) -> list[Finding]:
    if not libs:
        return []
    merged = {**os.environ, **env}
    set_to = [int(merged[k]) for k in _POOL_ENV if merged.get(k, "").isdigit()]
    pool = min(set_to) if set_to else (os.cpu_count() or cpus)
    names = ", ".join(libs)
    if max_workers > 1 and max_workers * pool > cpus:
        per = max(1, cpus // max_workers)
        return [Finding(
            "threads", "warning",
            f"native thread pools loaded ({names}), {pool} threads each: {max_workers} workers "
            f"mean up to {max_workers * pool} threads on {cpus} CPUs",
            f"OMP_NUM_THREADS={per} OPENBLAS_NUM_THREADS={per} (CPUs // workers), or "
            f"threadpoolctl.threadpool_limits({per}) in each worker",
        )]  # fmt: skip
    return [Finding("threads", "ok", f"native thread pools loaded ({names}), {pool} threads "
                                     f"each: within the CPUs at these worker counts")]  # fmt: skip


# -- outputs -----------------------------------------------------------------------------------


def compare_outputs(
    outputs: dict[str, list[bytes]], verify_failed: dict[str, int]
) -> list[Finding]:
    """``outputs``: each option's stdout per valid run. A difference between options whose own
    runs agree is a possible race; a program whose runs of one option differ cannot be
    compared this way (use --verify)."""
    if verify_failed:
        listed = ", ".join(
            f"{k} ({n} run{'s' if n != 1 else ''})" for k, n in verify_failed.items()
        )
        return [Finding("safety", "blocker", f"--verify failed on {listed}: a possible race",
                        "find the shared state the workers write; do not use these options")]  # fmt: skip
    seen = {k: set(v) for k, v in outputs.items() if v}
    if not seen:
        return [Finding("safety", "info", "no output to compare")]
    unstable = [k for k, v in seen.items() if len(v) > 1]
    if unstable:
        return [Finding("safety", "info",
                        "the output differs between runs of one configuration (" + ", ".join(unstable)
                        + "): not compared", "give --verify CMD to check the output")]  # fmt: skip
    groups: dict[bytes, list[str]] = {}
    for k, v in seen.items():
        groups.setdefault(next(iter(v)), []).append(k)
    if len(groups) > 1:
        parts = sorted(groups.values(), key=len, reverse=True)
        text = "the output differs across configurations: " + " | ".join(
            ", ".join(p) for p in parts
        )
        return [Finding("safety", "warning", text + ": a possible race (or output that depends on N)",
                        "check the differing configurations' output; give --verify CMD to check it")]  # fmt: skip
    runs = sum(len(v) for v in outputs.values())
    return [Finding("safety", "ok", f"output identical in {len(seen)} configurations, {runs} runs: "
                                    "no difference seen in these runs")]  # fmt: skip
