"""gilwatt report: write a self-contained HTML report of a run or a study."""

from __future__ import annotations

import argparse
from pathlib import Path

from gilwatt.cli.options import add_output, add_store


def configure(parser: argparse.ArgumentParser) -> None:
    add_store(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--run", type=int, metavar="ID", help="report one run (default: the newest run)"
    )
    what.add_argument(
        "--study",
        type=int,
        nargs="?",
        const=-1,
        metavar="ID",
        help="report a study (default: the newest study); the default when the store holds one",
    )
    add_output(parser, help="the HTML file to write (default: STORE with the suffix .html)")


def run(args: argparse.Namespace) -> int:
    from gilwatt.report import write_run_report, write_study_report
    from gilwatt.report.api import has_study

    out = Path(args.output) if args.output else Path(args.store).with_suffix(".html")
    if args.run is not None:
        path = write_run_report(args.store, args.run, out)
    elif args.study is not None or has_study(args.store):
        study_id = None if args.study in (None, -1) else args.study
        path = write_study_report(args.store, out, study_id=study_id)
    else:
        path = write_run_report(args.store, None, out)
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1024:.0f} KiB)")
    return 0
