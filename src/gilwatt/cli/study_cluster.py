"""``gilwatt study --scheduler ADDRESS``: the study on every eligible host of a Dask cluster.

Each host runs its own study (study/cluster.py); this module prints its progress, one line
per finished run with the host and that host's ETA, then one summary and the findings per host.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gilwatt.cli.status_line import StatusLine
from gilwatt.units import format_duration_ns

if TYPE_CHECKING:
    from gilwatt.study.cluster import ClusterOutcome
    from gilwatt.study.progress import StudyEvent
    from gilwatt.study.resolve import ResolvedStudy


def configure(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("on a Dask cluster (pip install 'gilwatt[cluster]')")
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the hosts of this Dask scheduler (tcp://HOST:8786): each host its own "
        "study in the one store; a host measures one run at a time",
    )
    where.add_argument(
        "--scheduler-file", metavar="PATH", help="the scheduler's file (as dask-jobqueue writes)"
    )
    group.add_argument(
        "--provision-workers",
        action="store_true",
        help="build the matched pair on every worker's host that lacks it (slow: a CPython build)",
    )
    group.add_argument(
        "--worker-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for the first worker (default 30)",
    )


def wanted(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "scheduler", None) or getattr(args, "scheduler_file", None))


def workload_files(study: ResolvedStudy) -> tuple[dict[str, bytes], tuple[str, ...]]:
    """User workload files to ship (TOML and script, by relative path), and which are TOML."""
    files: dict[str, bytes] = {}
    tomls = []
    for i, workload in enumerate(study.workloads.values()):
        source = str(getattr(workload, "source", "builtin"))
        if source == "builtin" or not source.endswith(".toml"):
            continue
        path = Path(source)
        script = tomllib.loads(path.read_text(encoding="utf-8")).get("script", "")
        files[f"w{i}/{path.name}"] = path.read_bytes()
        if script:
            files[f"w{i}/{script}"] = (path.parent / script).read_bytes()
        tomls.append(f"w{i}/{path.name}")
    return files, tuple(tomls)


def run(
    args: argparse.Namespace, study: ResolvedStudy, store_path: Path, report_path: Path | None
) -> int:
    from gilwatt.study.cluster import run_cluster_study
    from gilwatt.study.scheduler import ClusterOptions

    options = ClusterOptions(
        address=args.scheduler,
        scheduler_file=args.scheduler_file,
        worker_wait_s=args.worker_wait,
        provision=args.provision_workers,
    )
    quiet_dask()
    from gilwatt.cli.study_cmd import _look_fn

    progress = ClusterProgress(sys.stderr)
    try:
        outcome = run_cluster_study(
            study,
            store_path,
            options,
            force_new=args.force_new,
            on_event=progress,
            on_warning=lambda line: print(f"gilwatt: warning: {line}", file=sys.stderr),
            files=workload_files(study),
            look_fn=_look_fn(store_path),
        )
    except KeyboardInterrupt:
        progress.status.clear()
        print(
            f"gilwatt: study interrupted; every finished run is saved in {store_path}. "
            "Run the same command again to resume.",
            file=sys.stderr,
        )
        return 130
    print_outcome(outcome, sys.stderr)
    from gilwatt.cli.study_cmd import _compare_summary, _report

    code = 0 if any(h.counts.get("done", 0) for h in outcome.hosts) else 1
    for host in outcome.hosts:
        print(f"\n== host {host.facts.hostname} ({host.facts.usable_cpus} usable CPUs)")
        _compare_summary(store_path, host.study_id)
        if report_path is not None:  # one report per host: each host is its own study
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in host.facts.hostname)
            out = report_path.with_name(f"{report_path.stem}-{safe}{report_path.suffix}")
            if not _report(store_path, out, host.study_id):
                code = 1
    print(f"(every host side by side: gilwatt compare {store_path})")
    return code


def quiet_dask() -> None:
    """Silence Dask's own logs. When the scheduler goes away they print ERROR lines and
    tracebacks (distributed.client's level is set apart from its parent's, and asyncio's and
    tornado's too); gilwatt's one line (lost the Dask scheduler ... run the same command again)
    says what to do instead. Dask sets its loggers up when imported, so it is imported first."""
    with contextlib.suppress(ImportError):  # without it, the study says how to install it
        importlib.import_module("distributed")
    roots = ("distributed", "tornado", "asyncio", "bokeh")
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in roots]
    for name in {*roots, *names}:  # Dask gives some children a handler of their own
        logger = logging.getLogger(name)
        logger.handlers = [logging.NullHandler()]
        logger.propagate = False


class ClusterProgress:
    """One line per finished run, ``[host 3/12]``, with that host's ETA."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.status = StatusLine(stream)

    def __call__(self, event: StudyEvent) -> None:
        eta = f"  ETA {_duration(event.eta_s)}" if event.eta_s is not None else ""
        where = f"[{event.host} {event.done}/{event.total}]"
        if event.kind == "note":
            self.status.line(f"   note: {event.message}")
        elif event.kind == "start":
            self.status.line(f"gilwatt study on {event.host}: {event.message}")
        elif event.kind == "look":
            self.status.line(f"{where} {event.message}")
        elif event.kind == "block":
            self.status.show(f"{where} {event.message}{eta}")
        elif event.kind == "run-end" and event.run is not None:
            run = event.run
            tag = " (priming)" if run.priming else " (sentinel)" if run.sentinel else ""
            why = f" ({event.reason})" if event.reason and event.status != "done" else ""
            self.status.line(
                f"{where} b{run.block} {run.cell.label()} {run.mode}{tag}  {event.status}{why}{eta}"
            )


def _duration(seconds: float | None) -> str:
    return "?" if seconds is None else format_duration_ns(seconds * 1e9, coarse=True)


def print_outcome(outcome: ClusterOutcome, out: TextIO) -> None:
    for line in outcome.skipped:
        print(f"skipped: {line}", file=out)
    for host in outcome.hosts:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(host.counts.items()) if n)
        print(
            f"host {host.facts.hostname}: study {host.study_id}, {host.planned} runs ({counts}); "
            f"{host.blocks_done} blocks in {_duration(host.elapsed_s)}",
            file=out,
        )
        if host.stopped:
            print(f"  stopped: {host.stopped}", file=out)
        for line in host.lost:
            print(f"  not done: {line}", file=out)
    print(
        f"{outcome.launched} runs stored from {len(outcome.hosts)} host(s) in "
        f"{_duration(outcome.elapsed_s)}; store: {outcome.store_path.resolve()}",
        file=out,
    )
