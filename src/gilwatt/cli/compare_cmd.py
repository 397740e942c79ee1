"""``gilwatt compare STUDY.db``: ratios between modes with CIs, scaling, findings.

``gilwatt compare STORE [STORE2] --run A --run B``: two ad-hoc runs side by side (A from STORE,
B from STORE2 when given), with ratios and no interval (n = 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gilwatt.cli.options import add_metric, add_output, write_pyperf

FORMATS = ("text", "markdown", "csv", "json", "pyperf")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", metavar="STUDY.db", help="a store written by `gilwatt study`")
    parser.add_argument(
        "store2", nargs="?", metavar="STORE2", help="with --run: the store of the second run"
    )
    parser.add_argument(
        "--run", action="append", type=int, metavar="ID",
        help="two runs side by side (give it twice): ratios, no interval",
    )  # fmt: skip
    parser.add_argument(
        "--study", type=int, metavar="ID", help="study id in the store (default: the latest)"
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    add_metric(parser, help="metric the tables lead with (and the pyperf values)")
    parser.add_argument(
        "--correction",
        choices=("holm", "bh"),
        default="holm",
        help="multiple-comparison correction across cells: Holm (default) or Benjamini-Hochberg",
    )
    add_output(
        parser,
        metavar="PATH",
        help="write to PATH instead of stdout (a directory for --format pyperf)",
    )


def run(args: argparse.Namespace) -> int:
    from gilwatt.analysis.metrics import metric_by_short
    from gilwatt.errors import ConfigError

    if args.run or args.store2:
        return _two_runs(args)
    spec = metric_by_short(args.metric)
    if args.format == "pyperf":
        return write_pyperf(args)

    from gilwatt.analysis.result import analyse_study
    from gilwatt.analysis.tables import render

    text = None
    if args.study is None and args.format in ("text", "json"):
        text = _hosts(args, spec.key)  # a cluster study: every host, side by side
    result = analyse_study(args.store, args.study, metric=spec.key, correction=args.correction)
    if text is None:
        text = render(result, args.format)
    if args.output:
        out = Path(args.output)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot write {str(out)!r}: {exc.strerror}.", hint="Choose another path with -o."
            ) from exc
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if result.data.other_studies and args.study is None and not text.startswith(HOSTS_HEAD):
        print(
            f"gilwatt: note: showing study {result.data.study.study_id}; the store holds others (--study ID).",
            file=sys.stderr,
        )
    return 0


HOSTS_HEAD = "cluster study:"


def _hosts(args: argparse.Namespace, metric: str) -> str | None:
    """Text or JSON of every host of a cluster study (None: not a cluster store)."""
    from gilwatt.analysis.hosts import compare_hosts, cross_host_lines, hosts_json
    from gilwatt.analysis.tables import dumps_clean, finding_lines, header_lines

    results = compare_hosts(args.store, metric=metric, correction=args.correction)
    if not results:
        return None
    if args.format == "json":
        return dumps_clean(hosts_json(results))
    lines = [f"{HOSTS_HEAD} {len(results)} host(s), each its own study; ratios are never pooled"]
    for r in results:
        lines += ["", f"== host {r.host.label()}: study {r.host.study_id}"]
        lines += [*header_lines(r.result), "", *finding_lines(r.result.findings)]
    lines += ["", *cross_host_lines(results, metric)]
    return "\n".join(lines) + "\n"


def _two_runs(args: argparse.Namespace) -> int:
    from gilwatt.analysis.run_pair import read_side, render
    from gilwatt.errors import ConfigError

    if not args.run or len(args.run) != 2:
        raise ConfigError(
            "--run needs two run ids.", hint="e.g. gilwatt compare a.db b.db --run 1 --run 1"
        )
    first = read_side(args.store, args.run[0])
    second = read_side(args.store2 or args.store, args.run[1])
    sys.stdout.write(render(first, second))
    return 0
