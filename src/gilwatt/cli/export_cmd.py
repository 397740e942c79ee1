"""``gilwatt export``: write a store's runs as CSV, JSON, Parquet or pyperf JSON."""

from __future__ import annotations

import argparse
import sys

from gilwatt.cli.options import add_metric, add_output, add_store, write_pyperf

USAGE = """gilwatt export STORE --format json [--run ID ... | --study ID] -o FILE|-
       gilwatt export STORE --format csv|parquet [--run ID ... | --study ID] -o DIR
       gilwatt export STORE --format csv|parquet --table NAME [...] -o FILE|-
       gilwatt export STUDY.db --format pyperf [--study ID] -o DIR|FILE.json"""

EPILOG = """json: one lossless document (runs with their metadata, samples as column arrays,
regions, markers, output). csv, parquet: one file per table in DIR (runs.csv, samples.csv,
..., summaries.csv with the derived whole-run figures), or one table with --table. Parquet
needs pyarrow: pip install 'gilwatt[parquet]'. pyperf: a study's region times as pyperf
suites, one per mode in DIR (gil.json, ft.json, ...) or one FILE.json, for `pyperf stats` and
`pyperf compare_to`. Files are written whole or not at all."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = USAGE
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_store(parser)
    parser.add_argument(
        "--format",
        required=True,
        choices=("csv", "json", "parquet", "pyperf"),
        help="what to write",
    )
    add_output(
        parser, required=True, metavar="PATH",
        help="output file, directory (csv/parquet of all tables), or - for stdout",
    )  # fmt: skip
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--run", type=int, action="append", metavar="ID", help="export this run (repeatable)"
    )
    which.add_argument("--study", type=int, metavar="ID", help="export the runs of this study")
    parser.add_argument(
        "--table", metavar="NAME", help="csv/parquet: write only this table (e.g. samples)"
    )
    add_metric(parser, help="pyperf: the metric whose values are written")


def run(args: argparse.Namespace) -> int:
    from gilwatt.export import export, select_runs
    from gilwatt.store import Store

    if args.format == "pyperf":
        return _export_pyperf(args)
    with Store.open(args.store, create=False) as store:
        run_ids = select_runs(store, args.run, args.study)
        written = export(
            store, args.format, args.output, run_ids=run_ids, table=args.table,
            stdout=sys.stdout.buffer,
        )  # fmt: skip
    if args.output != "-":
        where = written[0] if len(written) == 1 else f"{len(written)} files in {args.output}"
        print(f"exported {len(run_ids)} run(s) to {where}", file=sys.stderr)
    return 0


def _export_pyperf(args: argparse.Namespace) -> int:
    from gilwatt.errors import ConfigError

    if args.run or args.table:
        raise ConfigError("--format pyperf exports a study.", hint="Use --study ID (or none).")
    return write_pyperf(args)
