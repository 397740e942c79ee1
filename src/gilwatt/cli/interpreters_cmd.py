"""``gilwatt interpreters``: list the interpreters found, or provision a matched pair."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from gilwatt.cli.options import add_json, add_timeout
from gilwatt.cli.status_line import StatusLine
from gilwatt.errors import ConfigError, InterpreterError
from gilwatt.units import format_duration_ns, parse_duration_ns

if TYPE_CHECKING:
    from gilwatt.interpreters import Interpreter, ProgressEvent

USAGE = """gilwatt interpreters [--json] [--timeout DURATION] [PATH ...] [--add PATH ...]
       gilwatt interpreters --pair [--json]
       gilwatt interpreters provision [VERSION] [--tarball PATH] [--sha256 HEX] [--url BASE]
                                      [--jobs N] [--json]"""

EPILOG = """Discovered: python3, python3.X and python3.Xt on PATH, pyenv versions, uv-managed
installs, the pair gilwatt provisioned, and every PATH you name.

provision builds the default and the free-threaded (--disable-gil) CPython of VERSION
(default 3.13.5; 3.14 means 3.14.2) with identical configure flags into the per-user cache,
each with a venv holding numpy. Source tarball, in order: --tarball, the cache, python.org's
release (or --url BASE: BASE/X.Y.Z/Python-VERSION.tar.xz), Debian's source package. Every
tarball is verified by sha256 (gilwatt's table, pyenv's definitions, or --sha256)."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = USAGE
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "items",
        nargs="*",
        metavar="PATH",
        help="interpreter paths to probe too (or: provision [VERSION])",
    )
    parser.add_argument(
        "--add",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATH",
        help="interpreter paths to probe too",
    )
    add_json(parser, help="print JSON instead of a table")
    add_timeout(parser, default="10s", help="how long each probe may take (default 10s)")
    parser.add_argument(
        "--pair",
        action="store_true",
        help="print only the matched GIL / free-threaded pair (exit 1 if none)",
    )
    group = parser.add_argument_group("provision options")
    group.add_argument(
        "--tarball",
        metavar="PATH",
        help="build from this CPython source tarball (verified by sha256)",
    )
    group.add_argument(
        "--sha256",
        metavar="HEX",
        help="expected sha256 of the tarball (needed for releases gilwatt does not know)",
    )
    group.add_argument(
        "--url",
        metavar="BASE",
        help="download from this mirror of https://www.python.org/ftp/python (same layout)",
    )
    group.add_argument(
        "--jobs", type=int, metavar="N", help="parallel make jobs (default: the number of CPUs)"
    )


def run(args: argparse.Namespace) -> int:
    items: list[str] = list(args.items)
    if items and items[0] == "provision":
        if len(items) > 2:
            raise ConfigError(
                f"provision takes one VERSION, got {' '.join(items[1:])!r}.",
                hint="Example: gilwatt interpreters provision 3.13.5",
            )
        return _provision(args, items[1] if len(items) > 1 else None)
    for flag in ("tarball", "sha256", "url", "jobs"):
        if getattr(args, flag) is not None:
            raise ConfigError(
                f"--{flag} only applies to provisioning.",
                hint="Use: gilwatt interpreters provision [VERSION] --" + flag + " ...",
            )
    return _list(args, [*args.add, *items])


def _list(args: argparse.Namespace, extra: list[str]) -> int:
    from gilwatt.interpreters import discover, matched_pair

    found = discover(extra, timeout_s=parse_duration_ns(args.timeout, "--timeout") / 1e9)
    pair = matched_pair(interpreters=found)
    if args.pair:
        if pair is None:
            raise InterpreterError(
                "no matched GIL / free-threaded pair among the interpreters found.",
                hint="Run `gilwatt interpreters provision` to build one.",
            )
        found = list(pair)
    if args.json:
        print(json.dumps([i.to_json() for i in found], indent=2))
        return 0
    _print_table(found)
    if pair is not None:
        print(f"\nmatched pair: {pair[0].name} (gil) and {pair[1].name} (ft)")
    else:
        print(
            "\nno matched GIL / free-threaded pair: run `gilwatt interpreters provision` to build one"
        )
    return 0


def _print_table(found: list[Interpreter]) -> None:
    usable = [i for i in found if i.usable]
    header = ("NAME", "VERSION", "BUILD", "GIL", "NUMPY", "SOURCE", "EXECUTABLE")
    rows = [
        (
            i.name,
            i.version,
            "free-threaded" if i.free_threaded else "default",
            {True: "on", False: "off", None: "-"}[i.gil_enabled],
            i.numpy or "-",
            i.source,
            _short(i.executable),
        )
        for i in usable
    ]
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header) - 1)]
    for row in [header, *rows]:
        print(
            "  ".join(str(cell).ljust(w) for cell, w in zip(row[:-1], widths, strict=True))
            + "  "
            + row[-1]
        )
    broken = [i for i in found if not i.usable]
    if broken:
        print("\nunusable:")
        for i in broken:
            print(f"  {_short(i.executable)} ({i.source}): {i.error}")


def _short(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home != "/" and path.startswith(home + os.sep) else path


def _provision(args: argparse.Namespace, version: str | None) -> int:
    from gilwatt.interpreters import DEFAULT_VERSION, provision

    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"invalid --jobs ({args.jobs}): must be 1 or more.")
    reporter = _ProgressPrinter()
    try:
        gil, ft = provision(
            version or DEFAULT_VERSION,
            tarball=args.tarball,
            sha256=args.sha256,
            progress=reporter,
            jobs=args.jobs,
            url=args.url,
        )
    finally:
        reporter.finish()
    if args.json:
        print(json.dumps([gil.to_json(), ft.to_json()], indent=2))
        return 0
    for role, interp in (("gil", gil), ("ft", ft)):
        state = {True: "GIL enabled", False: "GIL disabled", None: "GIL state unknown"}[
            interp.gil_enabled
        ]
        print(
            f"{role:3} {interp.name:18} {interp.executable}  ({state}, numpy {interp.numpy or 'absent'})"
        )
    return 0


class _ProgressPrinter:
    """Progress on stderr: a live status line on a terminal, a line per ~30 s in a log."""

    def __init__(self) -> None:
        self.status = StatusLine(sys.stderr)
        self.last_beat = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        label = f"[{event.step}] {event.target + ': ' if event.target else ''}{event.message}"
        if event.elapsed_s is not None:
            label += f" ({format_duration_ns(event.elapsed_s * 1e9, coarse=True)})"
        now = time.monotonic()
        if not event.heartbeat or (not self.status.live and now - self.last_beat >= 30):
            self.status.line(label)
            self.last_beat = now
        else:
            self.status.show(label)

    def finish(self) -> None:
        self.status.clear()
