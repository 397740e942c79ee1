"""``gilwatt workloads``: list the workloads, or run one under the profiler.

    gilwatt workloads list [--json]
    gilwatt workloads run NAME --python X [--workers 1,2] [--preset quick] [--param k=v]...

``run`` profiles every cell of the selection (the preset's parameter points x the worker
counts) with :func:`gilwatt.profiler.profile`, one run each, and prints one line per run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gilwatt.cli.options import add_json, add_output, add_timeout, timeout_s
from gilwatt.errors import CommandFailed, ConfigError, GilwattError, RunTimeout, VerificationFailed

if TYPE_CHECKING:
    from gilwatt.profiler import ProfileResult
    from gilwatt.workloads import Workload, WorkloadRun

DEFAULT_STORE = "gilwatt.db"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="workloads_action", metavar="ACTION")
    listing = sub.add_parser("list", help="show every workload, its parameters and presets")
    add_json(listing)
    _paths_option(listing)

    runner = sub.add_parser("run", help="run one workload under the profiler")
    runner.add_argument("name", metavar="NAME", help="a workload (see `gilwatt workloads list`)")
    runner.add_argument(
        "--python",
        required=True,
        metavar="NAME_OR_PATH",
        help="the target interpreter (e.g. ft, gil, a path)",
    )
    runner.add_argument(
        "--workers", metavar="LIST", help="worker counts, e.g. 4 or 1,2,4 (default: the preset's)"
    )
    runner.add_argument(
        "--preset", default="quick", metavar="NAME", help="tiny, quick or paper (default: quick)"
    )
    runner.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter; VALUE may be a comma list to sweep (repeatable)",
    )
    add_output(runner, default=DEFAULT_STORE, help=f"the store to write (default: {DEFAULT_STORE})")
    add_timeout(runner, help="limit per run, e.g. 90s or 2min (default: none)")
    runner.add_argument("--dry-run", action="store_true", help="print the commands; run nothing")
    _paths_option(runner)


def _paths_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workloads-path",
        action="append",
        default=[],
        metavar="PATH",
        help="a user workload TOML file or a directory of them (repeatable; also $GILWATT_WORKLOADS_PATH)",
    )


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "workloads_action", None)
    if action == "list":
        return list_workloads(args, sys.stdout)
    if action == "run":
        return run_workload(args, sys.stdout)
    raise ConfigError("gilwatt workloads needs an action (None).", hint="Use `list` or `run NAME`.")


# -- list ------------------------------------------------------------------------------------


def list_workloads(args: argparse.Namespace, out: TextIO) -> int:
    from gilwatt.workloads import registry

    found = registry(args.workloads_path)
    if args.json:
        json.dump([w.summary() for w in found.values()], out, indent=2)
        out.write("\n")
        return 0
    for workload in found.values():
        out.write(describe(workload))
    return 0


def describe(workload: Workload) -> str:
    """Several lines of text about one workload."""
    kind = "threads" if workload.uses_workers else "single-threaded"
    needs = f", needs {', '.join(workload.needs)}" if workload.needs else ""
    source = "" if workload.source == "builtin" else f", from {workload.source}"
    lines = [
        f"{workload.name}  [{workload.family}; {kind}{needs}{source}]",
        f"    {workload.description}",
    ]
    presets = {name: workload.preset(name) for name in workload.presets}
    for param in workload.params:
        values = "  ".join(f"{name}={_shown(p[param.name])}" for name, p in presets.items())
        lines.append(f"    --{param.describe()}")
        lines.append(f"        {values}")
    if workload.uses_workers:
        lines.append(
            "    workers  "
            + "  ".join(f"{name}={_shown(p['workers'])}" for name, p in presets.items())
        )
    lines.append(f"    verifies: {workload.verifies}")
    return "\n".join(lines) + "\n\n"


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_shown(v) for v in value)
    if isinstance(value, int) and value >= 1_000_000 and value % 1_000_000 == 0:
        return f"{value // 1_000_000}M"
    return str(value)


# -- run -------------------------------------------------------------------------------------


def run_workload(args: argparse.Namespace, out: TextIO) -> int:
    from gilwatt.workloads import get_workload

    workload = get_workload(args.name, args.workloads_path)
    overrides = parse_overrides(args.param)
    workers = parse_workers(args.workers) if args.workers else None
    timeout = timeout_s(args.timeout)
    cells = workload.cells(args.preset, overrides, workers)  # every check before anything runs
    executable, info = _interpreter(args.python)
    if args.dry_run:
        for cell in cells:
            out.write(" ".join(cell.argv(executable)) + "\n")
        return 0

    from gilwatt.profiler import ProfileRequest, profile

    failures: list[GilwattError] = []
    ran = 0
    for cell in cells:
        request = ProfileRequest(
            argv=cell.argv(executable),
            store_path=Path(args.output),
            timeout_s=timeout,
            interpreter=info,
            label=cell.label(),
        )
        result = profile(request)
        line, error = report_line(cell, result, request.argv, timeout)
        out.write(line + "\n")
        out.flush()
        ran += result.exit_code == 0
        if error is not None:
            failures.append(error)
    out.write(f"stored in {args.output}\n")
    if failures:
        raise failures[0]
    if not ran:
        print("gilwatt: nothing ran: every cell was skipped.", file=sys.stderr)
        return 1
    return 0


def report_line(
    cell: WorkloadRun, result: ProfileResult, argv: list[str], timeout_s: float | None = None
) -> tuple[str, GilwattError | None]:
    """One line about one run, and the error it amounts to (None for ok or skipped)."""
    from gilwatt.workloads import outcome

    region = next((r for r in result.summary.regions if r.name == cell.workload.region), None)
    timing = f"{cell.workload.region} {region.wall_ns / 1e9:.3f} s" if region else "no region"
    kind = outcome(result.exit_code) if result.status in ("ok", "failed") else result.status
    tail = _last_line(result.stderr_tail)
    head = f"run {result.run_id}  {cell.label()}"
    if kind == "ok":
        gil = "" if region is None else f"  gil {_gil(region.gil_begin)}->{_gil(region.gil_end)}"
        return f"{head}  {timing}{gil}  verified", None
    if kind == "skipped":
        return f"{head}  skipped: {tail.removeprefix('skipped: ')}", None
    if kind == "verification-failed":
        detail = tail.removeprefix("verification failed: ")
        return f"{head}  VERIFICATION FAILED: {detail}", VerificationFailed(
            cell.workload.name, detail
        )
    command = " ".join(argv)
    error: GilwattError
    if kind == "timeout" and timeout_s is not None:
        error = RunTimeout(command, timeout_s)
    else:
        error = CommandFailed(
            command,
            exit_code=result.exit_code,
            signal=result.exit_signal,
            stderr_tail=result.stderr_tail,
        )
    return f"{head}  {kind} (exit {result.exit_code}): {tail}", error


def parse_overrides(items: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(
                f"--param ({item!r}): not NAME=VALUE.", hint="Write e.g. --param size=2000."
            )
        overrides[name.strip()] = value.strip()
    return overrides


def parse_workers(text: str) -> list[int]:
    counts = []
    for part in text.split(","):
        try:
            counts.append(int(part))
        except ValueError:
            raise ConfigError(
                f"--workers ({text!r}): not a list of integers.", hint="Write e.g. 4 or 1,2,4."
            ) from None
    return counts


def _interpreter(name: str) -> tuple[str, Any]:
    from gilwatt.interpreters import resolve

    interp = resolve(name)
    return interp.executable, interp.info()


def _gil(state: bool | None) -> str:
    return {True: "on", False: "off", None: "?"}[state]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no stderr)"
