"""Options several commands share, defined once so they mean one thing everywhere.

``--timeout`` and ``--interval`` take a duration in the one grammar of ``gilwatt.units``
(``90s``, ``1min``, ``1.5``; an interval may also be a rate, ``100hz``); ``--timeout none`` or
``0`` means no limit where a limit is optional.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gilwatt.units import parse_duration_ns

_Parser = argparse._ActionsContainer


def add_store(parser: _Parser) -> None:
    """The store a reading command reads (positional)."""
    parser.add_argument(
        "store",
        metavar="STORE",
        help="the .db file written by 'gilwatt profile' or 'gilwatt study'",
    )


def add_output(
    parser: _Parser,
    *,
    help: str,
    default: str | None = None,
    required: bool = False,
    metavar: str = "FILE",
) -> None:
    parser.add_argument(
        "-o", "--output", default=default, required=required, metavar=metavar, help=help
    )


def add_timeout(parser: _Parser, *, help: str, default: str | None = None) -> None:
    parser.add_argument("--timeout", default=default, metavar="DURATION", help=help)


def timeout_s(text: str | None) -> float | None:
    """``--timeout`` in seconds; None (no limit) when not given, ``none`` or 0."""
    if text is None or text.strip().lower() == "none":
        return None
    ns = parse_duration_ns(text, "--timeout", allow_zero=True)
    return ns / 1e9 if ns else None


def add_interval(parser: _Parser, *, help: str, default: str | None = None) -> None:
    parser.add_argument("--interval", default=default, metavar="DURATION", help=help)


def interval_ns(text: str, option: str = "--interval") -> int:
    """A sampling interval (more than zero; a rate such as ``100hz`` too)."""
    return parse_duration_ns(text, option, rates=True)


def add_report(parser: _Parser, *, help: str) -> None:
    parser.add_argument("--report", metavar="FILE.html", help=help)
    parser.add_argument("--no-report", action="store_true", help="do not write an HTML report")


def report_path(args: argparse.Namespace, store_path: str | Path) -> Path | None:
    """Where ``--report`` / ``--no-report`` say the report goes (default: beside the store)."""
    if args.no_report:
        return None
    return Path(args.report) if args.report else Path(store_path).with_suffix(".html")


def add_json(parser: _Parser, *, help: str = "print JSON instead of text") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_metric(parser: _Parser, *, help: str) -> None:
    """``--metric NAME``: a ratio metric by its short name (``time``, ``energy``, ...)."""
    from gilwatt.analysis.metrics import METRICS

    shorts = ", ".join(m.short for m in METRICS.values() if m.ratio)
    parser.add_argument(
        "--metric", default="time", metavar="NAME", help=f"{help}: {shorts} (default: time)"
    )


def write_pyperf(args: argparse.Namespace) -> int:
    """``--format pyperf`` of ``compare`` and ``export``: one study's metric as pyperf suites;
    the files written, one path a line on stdout (for scripts)."""
    from gilwatt.analysis.metrics import metric_by_short
    from gilwatt.analysis.pyperf_export import dump_pyperf
    from gilwatt.errors import ConfigError

    if not args.output or args.output == "-":
        raise ConfigError("--format pyperf writes files (none given).", hint="Add -o DIR.")
    metric = metric_by_short(args.metric).key
    for path in dump_pyperf(args.store, args.output, study_id=args.study, metric=metric):
        print(path)
    return 0
