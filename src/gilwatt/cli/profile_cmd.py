"""``gilwatt profile``: run a program under the sampler, store everything, print a summary.

    gilwatt profile [options] -- script.py args...
    gilwatt profile [options] -m module args...
    gilwatt profile [options] --cmd prog args...

The target's stdout and stderr pass through live (unless ``--quiet``) and are kept in the
store; the summary goes to stderr (``--json``: the machine-readable summary goes to stdout and
the target's stdout is passed to stderr instead). gilwatt's exit status is the target's: 0,
its exit code, 128 + signal, 124 for ``--timeout``, 130 for Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gilwatt.cli.options import (
    add_interval,
    add_json,
    add_output,
    add_report,
    add_timeout,
    interval_ns,
    timeout_s,
)
from gilwatt.errors import ConfigError, GilwattError
from gilwatt.units import parse_duration_ns

EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        "gilwatt profile [options] -- script.py [args...]\n"
        "       gilwatt profile [options] -m module [args...]\n"
        "       gilwatt profile [options] --cmd prog [args...]"
    )
    what = parser.add_argument_group("what to run")
    what.add_argument("-m", dest="module", metavar="MODULE", help="run a module, like python -m")
    what.add_argument(
        "--cmd", action="store_true", help="run the command as is (not a Python script)"
    )
    what.add_argument(
        "--python",
        metavar="PATH|NAME",
        help="interpreter (a path or a name from `gilwatt interpreters`; default: python3 on PATH)",
    )
    what.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="set a variable for the target (repeatable)",
    )
    how = parser.add_argument_group("sampling")
    add_interval(how, default="10ms", help="sampling interval: 10ms, 0.01, 1khz (default 10ms)")
    how.add_argument(
        "--thread-interval",
        default="100ms",
        help="per-thread CPU, per-core use, user/sys split and energy-model interval "
        "(default 100ms; give the --interval value to read them every tick, at more CPU)",
    )
    how.add_argument(
        "--memory-interval", default="1s", help="USS/PSS (smaps_rollup) interval (default 1s)"
    )
    how.add_argument(
        "--no-thread-hook",
        action="store_true",
        help="do not load gilwatt's thread hook into Python targets (then threads shorter than "
        "--thread-interval may be missed, and the thread count is sampled)",
    )
    add_timeout(how, help="stop the target after this long (e.g. 60s, 1min); exit 124")
    how.add_argument(
        "--idle-baseline", metavar="T", help="measure idle power for this long first (e.g. 2s)"
    )
    how.add_argument(
        "--cpu-tdp", type=float, metavar="W", help="CPU TDP in watts for the energy model"
    )
    how.add_argument(
        "--energy-model",
        metavar="NAME",
        help="force an energy source: rapl, ccf-linear, teads-tdp...",
    )
    out = parser.add_argument_group("output")
    add_output(out, default="gilwatt.db", help="result store (default ./gilwatt.db)")
    out.add_argument("--label", default="", help="a label stored with the run")
    add_report(out, help="HTML report to write at the end (default: the store's name with .html)")
    add_json(out, help="print the summary as JSON on stdout")
    out.add_argument(
        "-q", "--quiet", action="store_true", help="do not pass the target's output through"
    )
    parser.add_argument("target", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.epilog = (
        "The target's output passes through and is stored; the summary goes to stderr. "
        "Exit status: the target's (128+N if killed by signal N), 124 after --timeout, "
        "130 after Ctrl-C."
    )


def build_argv(args: argparse.Namespace, python: str | None) -> list[str]:
    """The command to run, after checking that the script or module exists."""
    target = list(args.target)
    if target and target[0] == "--":
        target = target[1:]
    cwd = Path.cwd()
    if args.cmd:
        if not target:
            raise ConfigError(
                "--cmd needs a command.", hint="Write: gilwatt profile --cmd prog args..."
            )
        return target
    assert python is not None
    module = args.module
    if module is None and target[:1] == ["-m"]:
        if len(target) < 2:
            raise ConfigError(
                "-m needs a module name.", hint="Write: gilwatt profile -m module args..."
            )
        module, target = target[1], target[2:]
    if module is not None:
        _check_module(python, module, args)
        return [python, "-m", module, *target]
    if target[:1] == ["-c"] and len(target) >= 2:
        return [python, *target]
    if not target:
        raise ConfigError(
            "nothing to profile.", hint="Write: gilwatt profile [options] -- script.py args..."
        )
    script = Path(target[0])
    if not (cwd / script).is_file():
        raise ConfigError(f"script not found ({target[0]}): no such file.", hint="Check the path.")
    return [python, *target]


def _check_module(python: str, module: str, args: argparse.Namespace) -> None:
    """Ask the target interpreter whether it can find ``module`` (with the run's env)."""
    env = dict(os.environ)
    env.update(parse_env(args.env))
    code = "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 3)"
    try:
        done = subprocess.run(
            [python, "-c", code, module], env=env, capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"cannot check module {module!r} with {python}: {exc}.") from exc
    if done.returncode != 0:
        raise ConfigError(
            f"module not found ({module}): {python} cannot import it.",
            hint="Check the name, the current directory and PYTHONPATH.",
        )


def parse_env(items: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env ({item}) is not K=V.", hint="Write e.g. --env PYTHON_GIL=0.")
        env[key] = value
    return env


def _interpreter(args: argparse.Namespace) -> Any:
    if args.cmd and not args.python:
        return None
    from gilwatt.interpreters import probe, resolve

    if args.python:
        return resolve(args.python)
    default = shutil.which("python3") or sys.executable
    found = probe(default)
    if not found.usable:
        raise ConfigError(f"default interpreter ({default}) is not usable: {found.error}.",
                          hint="Choose one with --python.")  # fmt: skip
    return found


def run(args: argparse.Namespace) -> int:
    from gilwatt.profiler import ProfileInterrupted, ProfileRequest, profile

    interval = interval_ns(args.interval)
    memory_interval = interval_ns(args.memory_interval, "--memory-interval")
    thread_interval = interval_ns(args.thread_interval, "--thread-interval")
    timeout = timeout_s(args.timeout)
    idle = (
        parse_duration_ns(args.idle_baseline, "--idle-baseline", allow_zero=True) / 1e9
        if args.idle_baseline
        else 0.0
    )
    env = parse_env(args.env)
    report_path = _report_path(args)
    interp = _interpreter(args)
    argv = build_argv(args, interp.executable if interp is not None else None)
    err = sys.stderr.buffer
    request = ProfileRequest(
        argv=argv, store_path=Path(args.output), interval_ns=interval,
        memory_interval_ns=memory_interval, status_interval_ns=thread_interval,
        timeout_s=timeout, env=env,
        interpreter=interp.info() if interp is not None else None, label=args.label,
        passthrough=not args.quiet, stdout_sink=err if args.json else sys.stdout.buffer,
        stderr_sink=err, idle_baseline_s=idle, cpu_tdp_w=args.cpu_tdp,
        energy_model=args.energy_model, thread_hook=not args.no_thread_hook,
        on_warning=lambda text: print(f"gilwatt: warning: {text}", file=sys.stderr, flush=True),
    )  # fmt: skip
    try:
        result = profile(request)
    except ProfileInterrupted as stopped:
        result = stopped.result
    _print(args, result)
    if report_path is not None:
        _write_report(args, result.run_id, report_path)
    return exit_status(result)


def _report_path(args: argparse.Namespace) -> Path | None:
    """Where the HTML report goes, checked before the target starts (None: no report)."""
    if args.no_report:
        return None
    from gilwatt.report.html import check_writable

    return check_writable(args.report or Path(args.output).with_suffix(".html"))


def _write_report(args: argparse.Namespace, run_id: int, path: Path) -> None:
    from gilwatt.report import write_run_report

    try:
        written = write_run_report(args.output, run_id, path)
    except GilwattError as exc:  # the run is stored; a report failure must not hide that
        print(f"gilwatt: error: report not written: {exc}", file=sys.stderr)
        return
    print(f"report: {written.resolve()}", file=sys.stderr)


def _print(args: argparse.Namespace, result: Any) -> None:
    from gilwatt.store import Store
    from gilwatt.summary import format_summary

    with Store.open(args.output, create=False) as store:
        timeline = store.timeline(result.run_id) if result.summary.regions else None
    if args.json:
        payload = {
            "run": asdict(result.info), "summary": asdict(result.summary),
            "figure_kinds": _figure_kinds(result.summary), "status": result.status,
            "exit_code": result.exit_code, "exit_signal": result.exit_signal,
            "sampler": {"cpu_ns": result.sampler_cpu_ns, "samples": result.samples,
                        "ticks": result.ticks, "missed_deadlines": result.missed_deadlines,
                        "achieved_interval_ns": result.achieved_interval_ns},
            "stderr_tail": result.stderr_tail, "store": str(args.output),
        }  # fmt: skip
        print(json.dumps(payload, indent=2, default=str))
    else:
        lines = format_summary(
            result.info, result.summary, timeline, store_path=str(args.output),
            sampler_cpu_ns=result.sampler_cpu_ns, samples=result.samples,
            missed_deadlines=result.missed_deadlines,
        )  # fmt: skip
        print("\n".join(lines), file=sys.stderr)
    if result.status != "ok" and result.stderr_tail and (args.quiet or args.json):
        print("--- last lines of the target's stderr ---", file=sys.stderr)
        print(result.stderr_tail, file=sys.stderr)


def _figure_kinds(summary: Any) -> dict[str, str]:
    """How each memory and thread figure was obtained: exact only where it is."""
    return {
        "peak_rss_bytes": "largest process, "
        + ("exact (kernel ru_maxrss / VmHWM)" if summary.peak_rss_exact else "highest VmHWM read"),
        "peak_pss_bytes": "tree sum, sampled (smaps_rollup)",
        "peak_uss_bytes": "tree sum, sampled (smaps_rollup)",
        "peak_vms_bytes": "VmPeak read, or the samples' maximum",
        "max_threads": "exact (thread hook)" if summary.max_threads_exact else "sampled (/proc)",
        "peak_cpu_util": "sampled, CPU arriving in one step spread back, at most the CPUs",
    }


def exit_status(result: Any) -> int:
    if result.status == "ok":
        return 0
    if result.status == "timeout":
        return EXIT_TIMEOUT
    if result.status == "interrupted":
        return EXIT_INTERRUPTED
    if result.exit_signal:
        return 128 + int(result.exit_signal)
    return int(result.exit_code or 1)
