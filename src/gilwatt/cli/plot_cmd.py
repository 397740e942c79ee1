"""gilwatt plot: write one figure of a run or a study as SVG, PNG or PDF."""

from __future__ import annotations

import argparse
from pathlib import Path

from gilwatt.cli.options import add_output, add_store

KINDS = ("scaling", "ratios", "timeline", "energy-time")


def configure(parser: argparse.ArgumentParser) -> None:
    add_store(parser)
    parser.add_argument(
        "--kind",
        required=True,
        choices=KINDS,
        help="timeline: one run's CPU, memory and power; scaling, ratios, energy-time: a study",
    )
    parser.add_argument(
        "--run", type=int, metavar="ID", help="the run for --kind timeline (default: the newest)"
    )
    parser.add_argument(
        "--study",
        type=int,
        metavar="ID",
        help="the study for the other kinds (default: the newest)",
    )
    add_output(
        parser,
        required=True,
        help="the figure to write; its suffix (.svg, .png or .pdf) picks the format",
    )


def run(args: argparse.Namespace) -> int:
    from gilwatt.report.api import write_figure

    path: Path = write_figure(
        args.store, args.kind, args.output, run_id=args.run, study_id=args.study
    )
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0
