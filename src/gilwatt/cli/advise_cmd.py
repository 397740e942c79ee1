"""``gilwatt advise``: measure the user's program on both builds and say which build, how many
workers, threads or processes.

    gilwatt advise [options] -- script.py args ({n} = the worker count)
    gilwatt advise [options] -m module args
    gilwatt advise [options] --cmd prog {python} args

Exit status: 0 advised (a spent budget gives low confidence, still 0); 1 the program fails on
the GIL build or on both; 2 bad input; 3 no valid run; 4 the program fails only on the
free-threaded build (a readiness blocker).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gilwatt.cli.options import (
    add_json,
    add_output,
    add_report,
    add_timeout,
    report_path,
    timeout_s,
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        "gilwatt advise [options] -- script.py [args with {n}...]\n"
        "       gilwatt advise [options] -m module [args...]\n"
        "       gilwatt advise [options] --cmd prog {python} [args...]"
    )
    what = parser.add_argument_group("what to run")
    what.add_argument("-m", dest="module", metavar="MODULE", help="run a module, like python -m")
    what.add_argument("--cmd", action="store_true",
                      help="the command as is, with {python} where the interpreter goes")  # fmt: skip
    what.add_argument("--workers", metavar="LIST", help="worker counts, e.g. 1,2,4 "
                      "(default: 1, 2, 4 ... up to the usable CPUs, and twice that)")  # fmt: skip
    what.add_argument("--workers-env", metavar="NAME",
                      help="pass the worker count in this environment variable")  # fmt: skip
    what.add_argument("--processes", metavar="ARGS",
                      help="arguments to the same target that use processes, with {n}")  # fmt: skip
    what.add_argument("--parallelism", choices=("threads", "processes"), default="threads",
                      help="what the {n} in ARGS starts (default threads)")  # fmt: skip
    what.add_argument(
        "--pair", metavar="VERSION", help="the pair's version (default: the best found)"
    )
    how = parser.add_argument_group("how to decide")
    how.add_argument(
        "--budget", default="5min", metavar="DURATION", help="time to spend (default 5min)"
    )
    how.add_argument("--objective", choices=("time", "energy", "memory"), default="time")
    how.add_argument(
        "--max-rss",
        metavar="SIZE",
        help="exclude options whose peak memory is above SIZE, e.g. 2GiB (RSS; summed PSS for processes)",
    )
    how.add_argument("--allow-estimate", action="store_true",
                     help="let energy from a model (not RAPL) decide")  # fmt: skip
    how.add_argument("--verify", metavar="CMD",
                     help="a shell command checking each run's output (on stdin and in $GILWATT_OUTPUT)")  # fmt: skip
    how.add_argument("--prepare", metavar="CMD", help="a shell command to run before each run")
    how.add_argument("--region", metavar="NAME", help="time this marked region, not the whole run")
    how.add_argument("--max-foreign-cpu", type=float, default=0.1, metavar="CORES",
                     help="a run while other programs use more than this (cores) is disturbed: "
                     "left out and run again, at most twice (default 0.1; as gilwatt study)")  # fmt: skip
    add_timeout(how, help="stop a run after this long")
    how.add_argument("--dry-run", action="store_true", help="show the plan; run nothing")
    out = parser.add_argument_group("output")
    add_output(out, default="advise.db", help="result store (default ./advise.db; resumable)")
    add_report(out, help="HTML report (default: the store's name with .html)")
    add_json(out, help="print the advice as JSON (schema 1) on stdout")
    parser.add_argument("target", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from gilwatt.advise.target import make_target
    from gilwatt.errors import ConfigError
    from gilwatt.interpreters import matched_pair
    from gilwatt.units import parse_duration_ns

    argv = list(args.target)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    module = args.module
    if module is None and argv[:1] == ["-m"] and len(argv) >= 2:
        module, argv = argv[1], argv[2:]
    target = make_target(argv=argv, module=module, cmd=args.cmd, processes=args.processes,
                         workers_env=args.workers_env, region=args.region,
                         parallelism=args.parallelism)  # fmt: skip
    budget_s = parse_duration_ns(args.budget, "--budget") / 1e9
    workers = _workers(args.workers) if args.workers else None
    max_rss = _size(args.max_rss) if args.max_rss else None
    limit_s = timeout_s(args.timeout)
    if not args.max_foreign_cpu >= 0:
        raise ConfigError(f"--max-foreign-cpu ({args.max_foreign_cpu:g}): must be 0 or more cores.",
                          hint="e.g. --max-foreign-cpu 0.1")  # fmt: skip
    from gilwatt.advise.render import as_json, text  # numpy and scipy: after the input checks
    from gilwatt.advise.session import AdviseRequest, advise

    pair = matched_pair(args.pair)  # after the input is checked: discovery takes seconds
    if pair is None:
        raise ConfigError(
            "no matched GIL / free-threaded pair found.",
            hint="gilwatt interpreters --pair lists it; gilwatt interpreters provision builds one.",
        )
    request = AdviseRequest(
        target=target, gil=pair[0], ft=pair[1], store_path=Path(args.output),
        budget_s=budget_s, objective=args.objective, workers=workers, max_rss_bytes=max_rss,
        allow_estimate=args.allow_estimate, verify=args.verify, prepare=args.prepare,
        timeout_s=limit_s, dry_run=args.dry_run, max_foreign_cpu=args.max_foreign_cpu,
    )  # fmt: skip
    if args.dry_run:
        result = advise(request)
        _print_plan(result)
        return 0
    quiet = args.json
    result = advise(request, on_event=None if quiet else _progress)
    if args.json:
        json.dump(as_json(result), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text(result))
    out = report_path(args, request.store_path)
    if out is not None and result.study_id is not None and result.blocks:
        from gilwatt.report.api import write_study_report

        write_study_report(request.store_path, out, study_id=result.study_id)
        print(f"report    {out}", file=sys.stderr)
    return result.exit_code


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def _print_plan(result: object) -> None:
    from gilwatt.advise.session import AdviseResult

    assert isinstance(result, AdviseResult)
    req = result.request
    print(f"gilwatt advise --dry-run: {req.target.label}; {result.cpus} usable CPUs")
    print(f"pair: {req.gil.name} (GIL) and {req.ft.name} (free-threaded)")
    print(f"options ({len(result.options)} a block, in the simplicity order):")
    for o in result.options:
        env = "PYTHON_GIL=1 " if o.mode == "ft-gil" else ""
        cmd = req.target.command_text(result.python_for(o), o.workers,
                                      processes=o.parallelism == "processes")  # fmt: skip
        print(f"  {o.key:<22} {env}{cmd}")
    print(f"budget {req.budget_s:.0f} s: one readiness run, two calibration runs, then blocks "
          f"(3 to 10) until the advice is high-confidence or the budget is spent")  # fmt: skip


def _workers(text: str) -> list[int]:
    from gilwatt.errors import ConfigError

    counts = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise ConfigError(
                f"--workers ({part}): not a worker count.", hint="e.g. --workers 1,2,4"
            )
        counts.append(int(part))
    if not counts:
        raise ConfigError(f"--workers ({text}): no worker count.", hint="e.g. --workers 1,2,4")
    return sorted(set(counts))


_SIZES = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 2**20, "mb": 10**6,
          "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30}  # fmt: skip


def _size(text: str) -> int:
    import re

    from gilwatt.errors import ConfigError

    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _SIZES:
        raise ConfigError(f"--max-rss ({text}): not a size.", hint="e.g. 512MiB or 2GiB")
    return int(float(m.group(1)) * _SIZES[unit])
