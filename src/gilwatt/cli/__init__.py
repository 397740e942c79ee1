"""The gilwatt command: one error boundary over thin subcommands.

Each subcommand module has ``configure(parser)`` and ``run(args) -> int``; library code
raises, and only :func:`main` prints errors and chooses exit codes:
0 success, 1 runtime error (or the target's failure), 2 usage or configuration error,
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gilwatt import __version__
from gilwatt.errors import BuildError, GilwattError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "interpreters": (
        "gilwatt.cli.interpreters_cmd",
        "find and provision GIL / free-threaded interpreters",
    ),
    "profile": ("gilwatt.cli.profile_cmd", "run a program under the sampler and summarise it"),
    "workloads": ("gilwatt.cli.workloads_cmd", "list or run the bundled workloads"),
    "study": ("gilwatt.cli.study_cmd", "run a matrix of workloads x interpreters x workers"),
    "advise": (
        "gilwatt.cli.advise_cmd",
        "measure your program on both builds: which build, how many workers, threads or processes",
    ),
    "compare": ("gilwatt.cli.compare_cmd", "compare modes in a study store"),
    "report": ("gilwatt.cli.report_cmd", "write a self-contained HTML report"),
    "plot": ("gilwatt.cli.plot_cmd", "write one figure as SVG or PNG"),
    "export": ("gilwatt.cli.export_cmd", "export a store as CSV, JSON, Parquet or pyperf JSON"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gilwatt",
        description="Measure what removing the GIL does to a program: time, CPU, memory, energy.",
    )
    parser.add_argument("--version", action="version", version=f"gilwatt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        cmd_parser = sub.add_parser(name, help=help_text, description=help_text)
        cmd_parser.set_defaults(_module=module_name)
        # command modules import only the standard library at the top: heavy ones inside run()
        importlib.import_module(module_name).configure(cmd_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    module = importlib.import_module(args._module)
    try:
        code: int = module.run(args)
        return code
    except GilwattError as exc:
        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("gilwatt: interrupted; everything recorded so far is saved.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def print_error(exc: GilwattError) -> None:
    print(f"gilwatt: error: {exc}", file=sys.stderr)
    if isinstance(exc, BuildError) and exc.tail:
        print("--- last lines of the build log ---", file=sys.stderr)
        print(exc.tail.rstrip(), file=sys.stderr)
