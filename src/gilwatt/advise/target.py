"""What the user asked to run: a script, a module or a command, and where the worker count goes.

``{n}`` in the arguments is the worker count; ``--workers-env NAME`` passes it in the
environment instead; with neither the target takes no worker count. A ``--cmd`` command names
the interpreter with ``{python}``. Python targets are started through a small wrapper that
marks the whole program as the region ``kernel`` (so the run carries its GIL state at both
edges and ``compare``/``report`` read it as any study); ``--region NAME`` times the program's
own region instead (marked with ``gilwatt.markers``).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from gilwatt.errors import ConfigError

WHOLE_REGION = "kernel"

# Runs the user's script or module inside one region. Stdlib and gilwatt.markers only (which
# never re-enables the GIL); SystemExit passes through with its code.
_WRAPPER = """\
import os, runpy, sys
from gilwatt.markers import region
kind, name = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
if kind == "script":
    sys.path[0] = os.path.dirname(os.path.abspath(name))
with region("kernel"):
    if kind == "script":
        runpy.run_path(name, run_name="__main__")
    else:
        runpy.run_module(name, run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Target:
    kind: str  # script | module | cmd
    name: str  # the script path, the module name, or the command line (cmd)
    args: tuple[str, ...] = ()  # arguments after the script/module; for cmd the whole argv
    processes_args: tuple[str, ...] | None = None  # --processes: the same target, other args
    workers_env: str | None = None
    region: str = WHOLE_REGION
    parallelism: str = "threads"  # what the {n} of ``args`` starts (--parallelism)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def takes_workers(self) -> bool:
        if self.workers_env:
            return True
        every = (*self.args, *(self.processes_args or ()))
        return any("{n}" in a for a in every)

    @property
    def label(self) -> str:
        """A short name for tables and the study's workload column."""
        if self.kind == "script":
            return self.name.rsplit("/", 1)[-1]
        if self.kind == "module":
            return f"-m {self.name}"
        return shlex.join(self.args)[:60]

    def argv(
        self, python: str, workers: int, *, processes: bool = False, wrap: bool = True
    ) -> list[str]:
        """The command for one run on ``python`` with ``workers``."""
        # --parallelism processes: the main arguments are the process variant
        args = self.processes_args if processes and self.processes_args is not None else self.args
        filled = [a.replace("{n}", str(workers)) for a in args]
        if self.kind == "cmd":
            return [a.replace("{python}", python) for a in filled]
        if not wrap:
            head = [self.name] if self.kind == "script" else ["-m", self.name]
            return [python, *head, *filled]
        return [python, "-c", _WRAPPER, self.kind, self.name, *filled]

    def env(self, workers: int) -> dict[str, str]:
        env = dict(self.extra_env)
        if self.workers_env:
            env[self.workers_env] = str(workers)
        return env

    def command_text(self, python: str, workers: int, *, processes: bool = False) -> str:
        """The command a user types to run this configuration (no wrapper)."""
        argv = self.argv(python, workers, processes=processes, wrap=False)
        prefix = f"{self.workers_env}={workers} " if self.workers_env else ""
        return prefix + shlex.join(argv)

    def definition(self) -> dict[str, object]:
        return {
            "kind": self.kind, "name": self.name, "args": list(self.args),
            "processes_args": None if self.processes_args is None else list(self.processes_args),
            "workers_env": self.workers_env, "region": self.region,
            "parallelism": self.parallelism,
        }  # fmt: skip


def make_target(
    *,
    argv: list[str],
    module: str | None,
    cmd: bool,
    processes: str | None,
    workers_env: str | None,
    region: str | None,
    parallelism: str = "threads",
) -> Target:
    """Check and build the target from the command line (ConfigError on bad input)."""
    if parallelism == "processes" and processes:
        raise ConfigError(
            "--parallelism processes already says the arguments start processes.",
            hint="Drop --processes, or give the threaded arguments with --parallelism threads.",
        )
    if cmd and module:
        raise ConfigError("give one target: --cmd COMMAND or -m MODULE, not both.")
    proc = tuple(shlex.split(processes)) if processes else None
    common = dict(workers_env=workers_env, region=region or WHOLE_REGION, parallelism=parallelism)
    if cmd:
        args = tuple(argv)
        if not args or not any("{python}" in a for a in args):
            raise ConfigError(
                f"--cmd {shlex.join(args)!r} does not say where the interpreter goes.",
                hint="Write {python} where the interpreter goes, e.g. --cmd '{python} app.py -j {n}'.",
            )
        return Target("cmd", "", args, proc, **common)  # type: ignore[arg-type]
    if module is not None:
        return Target("module", module, tuple(argv), proc, **common)  # type: ignore[arg-type]
    if not argv:
        raise ConfigError(
            "nothing to advise on.", hint="Give -- SCRIPT ARGS, -m MODULE ARGS or --cmd '...'."
        )
    script, *rest = argv
    if script in ("python", "python3") and rest:  # "-- python prog.py": the interpreter is ours
        script, *rest = rest
    from pathlib import Path

    if not Path(script).is_file():
        raise ConfigError(f"script not found: {script}.", hint="Check the path.")
    return Target("script", script, tuple(rest), proc, **common)  # type: ignore[arg-type]
