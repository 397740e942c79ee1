"""``gilwatt study``: run a matrix of workloads x interpreters x modes x workers, in blocks.

Running the same command again resumes the study in the same store; Ctrl-C stops after the
current run is cleaned up (exit 130), and everything finished is kept.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import gilwatt
from gilwatt.cli import options
from gilwatt.cli.options import add_interval, add_output, add_report, add_timeout
from gilwatt.cli.status_line import StatusLine
from gilwatt.errors import ConfigError, GilwattError, UnknownNameError
from gilwatt.units import format_duration_ns, parse_duration_ns

if TYPE_CHECKING:
    from gilwatt.study.matrix import PlannedRun
    from gilwatt.study.progress import StudyEvent, StudyOutcome
    from gilwatt.study.resolve import ResolvedStudy
    from gilwatt.study.spec import StudySpec

DEFAULT_STORE = "study.db"
# not imported from gilwatt.study: building the parser must stay light for every command
EXAMPLE_FILE = Path(gilwatt.__file__).parent / "study" / "suites" / "example.toml"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Runs go in replicates: every cell once, cells shuffled, each cell's modes back to back "
        "(a block), after one discarded priming run per interpreter. Run the same command again to resume a stopped "
        "study; Ctrl-C stops after the current run (exit 130). A study file's format: "
        f"{EXAMPLE_FILE}."
    )
    parser.add_argument(
        "--suite",
        default="quick",
        metavar="quick|patterns|paper|tiny|FILE.toml",
        help="a built-in suite (each workload's preset of that name) or a study file (default: quick)",
    )
    parser.add_argument(
        "--python",
        action="append",
        metavar="NAMES_OR_PATHS",
        help="interpreters, comma-separated names or paths: one GIL build and/or one free-threaded build "
        "(default: the file's, else the discovered matched pair)",
    )
    parser.add_argument(
        "--modes",
        metavar="LIST",
        help="gil (default build), ft (free-threaded build), ft-gil (free-threaded build with PYTHON_GIL=1)",
    )
    parser.add_argument(
        "--workers",
        metavar="LIST",
        help="worker counts, e.g. 1,2,4 (replaces every threaded workload's list)",
    )
    parser.add_argument(
        "--reps",
        metavar="N|auto",
        help="replicates (each runs every cell in every mode once); auto (the built-in suites' "
        "default): after each replicate from the third, stop when every claim is decided "
        "(alpha spending keeps the error rate); N: exactly N, no stopping",
    )
    parser.add_argument(
        "--max-reps",
        type=int,
        metavar="K",
        help="with --reps auto: at most K replicates (default 10)",
    )
    parser.add_argument(
        "--budget",
        metavar="DURATION",
        help="with --reps auto: start no replicate that would end after this much study time, e.g. 10min",
    )
    parser.add_argument(
        "--no-calibrate",
        action="store_true",
        help="with --reps auto and a budget: keep the suite's sizes even when a workload's first "
        "block takes over 3x its share of the budget (default: halve its work 1-3 times)",
    )
    parser.add_argument("--workloads", metavar="LIST", help="only these workloads of the suite")
    parser.add_argument(
        "--pin",
        action="store_true",
        default=None,
        help="pin each cell with N workers <= the usable CPUs to N CPUs (taskset); "
        "oversubscribed cells stay unpinned",
    )
    parser.add_argument(
        "--max-foreign-cpu",
        type=float,
        metavar="CORES",
        help="a run during which the rest of the machine used more CPU than this is marked "
        "disturbed, left out of the analysis and rerun (default 0.1)",
    )
    parser.add_argument("--seed", type=int, metavar="N", help="seed of the run order")
    parser.add_argument("--cooldown", metavar="DURATION", help="pause between runs, e.g. 2s")
    parser.add_argument(
        "--idle-baseline",
        metavar="DURATION",
        help="idle-power measurement before each block, e.g. 5s",
    )
    add_interval(parser, help="sampling interval (default 10ms)")
    add_timeout(parser, help="limit per run, or 'none' (default: the suite's)")
    add_output(
        parser,
        default=DEFAULT_STORE,
        help=f"the store to write (and resume) (default: {DEFAULT_STORE})",
    )
    parser.add_argument(
        "--force-new",
        action="store_true",
        help="start a new study in the store even if it holds another (or this) study",
    )
    add_report(parser, help="where to write the HTML report (default: beside the store)")
    parser.add_argument(
        "--dry-run", action="store_true", help="check everything and print the plan; run nothing"
    )
    from gilwatt.cli import study_cluster

    study_cluster.configure(parser)


def run(args: argparse.Namespace) -> int:
    from gilwatt.study.resolve import resolve_study
    from gilwatt.study.runner import run_study

    spec = _load(args.suite)
    spec = apply_flags(spec, args)
    python = _split(args.python) if args.python else None
    only = _split([args.workloads]) if args.workloads else None
    study = resolve_study(spec, python=python, only=only)
    _check_budget(study)
    store_path = Path(args.output)
    report_path = options.report_path(args, store_path)
    if report_path is not None:
        _check_report_path(report_path)  # before any run, like every other input
    from gilwatt.cli import study_cluster

    if study_cluster.wanted(args) and not args.dry_run:  # on every host of a Dask cluster
        return study_cluster.run(args, study, store_path, report_path)
    from gilwatt.study import cpus

    usable = cpus.usable_cpus()
    for line in cpus.warning_lines(study.cells, usable):
        print(f"gilwatt: warning: {line}", file=sys.stderr)
    if args.dry_run:
        _print_plan(study, store_path, sys.stdout)
        return 0
    progress = Progress(sys.stderr, usable_cpus=usable)
    try:
        outcome = run_study(
            study, store_path, force_new=args.force_new, on_event=progress, usable_cpus=usable,
            look_fn=_look_fn(store_path),
        )  # fmt: skip
    except KeyboardInterrupt:
        progress.interrupted(store_path)
        return 130
    _print_outcome(outcome, sys.stderr)
    _compare_summary(store_path, outcome.study_id)
    code = 0 if outcome.counts.get("done", 0) else 1
    if report_path is not None and not _report(store_path, report_path, outcome.study_id):
        code = 1
    return code


# -- spec and flags ------------------------------------------------------------------------------


def _load(suite: str) -> StudySpec:
    from gilwatt.study.spec import SUITES, load_spec, load_suite

    if suite in SUITES:
        return load_suite(suite)
    if suite.endswith(".toml") or Path(suite).is_file():
        return load_spec(suite)
    raise UnknownNameError("suite", suite, [*SUITES, "FILE.toml"])


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def apply_flags(spec: StudySpec, args: argparse.Namespace) -> StudySpec:
    """The spec with every given flag's value in place of the file's."""
    from gilwatt.study.spec import MODES

    if args.modes is not None:
        modes = _split([args.modes])
        for mode in modes:
            if mode not in MODES:
                raise UnknownNameError("mode", mode, MODES)
        if not modes or len(set(modes)) != len(modes):
            raise ConfigError(
                f"--modes ({args.modes}): give each mode once.", hint="e.g. --modes gil,ft,ft-gil"
            )
        spec = spec.override("--modes", modes=tuple(modes))
    if args.workers is not None:
        spec = spec.override("--workers", workers=_counts(args.workers))
    spec = _replicate_flags(spec, args)
    spec = _machine_flags(spec, args)
    if args.seed is not None:
        if args.seed < 0:
            raise ConfigError(f"--seed ({args.seed}): must be 0 or more.")
        spec = spec.override("--seed", seed=args.seed)
    for flag, attr in (("--cooldown", "cooldown_ns"), ("--idle-baseline", "idle_baseline_ns")):
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            spec = spec.override(flag, **{attr: parse_duration_ns(value, flag, allow_zero=True)})
    if args.interval is not None:
        spec = spec.override("--interval", interval_ns=options.interval_ns(args.interval))
    if args.timeout is not None:
        spec = spec.override("--timeout", timeout_s=options.timeout_s(args.timeout))
    return spec


def _replicate_flags(spec: StudySpec, args: argparse.Namespace) -> StudySpec:
    """--reps N|auto, --max-reps K, --budget DURATION."""
    if args.reps is not None:
        if args.reps == "auto":
            spec = spec.override("--reps", reps_auto=True)
        else:
            try:
                reps = int(args.reps)
            except ValueError:
                reps = 0
            if reps < 1:
                raise ConfigError(
                    f"--reps ({args.reps}): give a count of 1 or more, or auto.",
                    hint="e.g. --reps 5 or --reps auto",
                )
            spec = spec.override("--reps", reps=reps, reps_auto=False)
    if getattr(args, "max_reps", None) is not None:
        if args.max_reps < 3:
            raise ConfigError(
                f"--max-reps ({args.max_reps}): the first look needs 3 replicates.",
                hint="Give --max-reps 3 or more, e.g. --max-reps 10.",
            )
        spec = spec.override("--max-reps", max_reps=args.max_reps)
    if getattr(args, "budget", None) is not None:
        spec = spec.override("--budget", budget_ns=parse_duration_ns(args.budget, "--budget"))
    if getattr(args, "no_calibrate", False):
        spec = spec.override("--no-calibrate", calibrate=False)
    return spec


def _machine_flags(spec: StudySpec, args: argparse.Namespace) -> StudySpec:
    """--max-foreign-cpu and --pin."""
    if getattr(args, "max_foreign_cpu", None) is not None:
        if not args.max_foreign_cpu >= 0:
            raise ConfigError(
                f"--max-foreign-cpu ({args.max_foreign_cpu:g}): must be 0 or more cores.",
                hint="e.g. --max-foreign-cpu 0.1",
            )
        spec = spec.override("--max-foreign-cpu", max_foreign_cpu=args.max_foreign_cpu)
    if getattr(args, "pin", None):
        spec = spec.override("--pin", pin=True)
    return spec


def _check_budget(study: ResolvedStudy) -> None:
    """A budget shorter than one replicate (estimated from the spec) is refused before anything runs."""
    from gilwatt.study.sequential import replicate_estimate_s

    spec = study.spec
    if not spec.budget_ns or not spec.reps_auto:
        return
    runs = len(study.cells) * len(spec.modes) + (len(study.interpreters) if spec.priming else 0)
    need_s = replicate_estimate_s(runs, spec.preset, spec.cooldown_ns / 1e9)
    if spec.budget_ns / 1e9 < need_s:
        given = format_duration_ns(spec.budget_ns, coarse=True)
        need = format_duration_ns(need_s * 1e9, coarse=True)
        raise ConfigError(
            f"{spec.where('budget')}: budget {given} is shorter than one replicate "
            f"(about {need}: {runs} runs at the {spec.preset!r} preset).",
            hint=f"Give a budget of {need} or more, or fewer workloads (--workloads).",
        )


def _look_fn(store_path: Path) -> Callable[[int, float], dict[int, str]]:
    """The claims' verdicts on the store so far, at one look's alpha: the decision path of
    ``gilwatt compare`` (dataset, paired ratios, decide) without its tables."""

    def look(study_id: int, alpha: float) -> dict[int, str]:
        from gilwatt.analysis.compare import analyse
        from gilwatt.analysis.dataset import load_study
        from gilwatt.analysis.decide import NOT_TESTABLE, decide
        from gilwatt.analysis.energy_time import analyse_energy_time
        from gilwatt.analysis.findings import decision_data
        from gilwatt.analysis.metrics import RATIO_COLUMNS
        from gilwatt.analysis.result import study_context

        data = load_study(str(store_path), study_id)
        analysis = analyse(data, metrics=list(RATIO_COLUMNS), n_resamples=200)
        if ("ft", "gil") not in analysis.pairs:
            return dict.fromkeys(range(1, 7), NOT_TESTABLE)
        energy = analyse_energy_time(data.runs)
        measured = bool(energy.sources) and not energy.estimate
        context = study_context(str(store_path), study_id)
        found = decision_data(analysis, usable_cpus=context.usable_cpus, energy_measured=measured)
        return {n: d.verdict for n, d in decide(found, alpha=alpha, detail=False).items()}

    return look


def _counts(text: str) -> tuple[int, ...]:
    counts = []
    for part in _split([text]):
        try:
            count = int(part)
        except ValueError:
            count = 0
        if count < 1:
            raise ConfigError(
                f"--workers ({part}): not a worker count.",
                hint="Give whole numbers >= 1, e.g. --workers 1,2,4.",
            )
        counts.append(count)
    if not counts:
        raise ConfigError(f"--workers ({text}): no worker count.", hint="e.g. --workers 1,2,4")
    return tuple(dict.fromkeys(counts))


# -- output -------------------------------------------------------------------------------------


def _print_plan(study: ResolvedStudy, store_path: Path, out: TextIO) -> None:
    from gilwatt.study.matrix import plan

    spec = study.spec
    from gilwatt.study.sequential import FIRST_LOOK

    reps = FIRST_LOOK if spec.reps_auto else spec.reps
    runs = plan(
        study.cells, spec.modes, reps, spec.seed, priming=spec.priming, sentinel=spec.sentinel
    )
    count = (
        f"auto replicates ({FIRST_LOOK} to {spec.max_reps}, {len(runs) // reps} runs each)"
        if spec.reps_auto
        else f"{spec.reps} replicates; {len(runs)} runs"
    )
    print(f"study {spec.name!r} ({spec.origin.source}), spec {study.spec_hash()[:12]}", file=out)
    for slot, interp in study.interpreters.items():
        print(
            f"  {slot:<3} {interp.executable} ({interp.version}{', free-threaded' if interp.free_threaded else ''})",
            file=out,
        )
    print(f"  modes {', '.join(spec.modes)}; {len(study.cells)} cells; {count}; "
          f"seed {spec.seed}; store {store_path}", file=out)  # fmt: skip
    for cell in study.cells:
        print(f"  cell {cell.label()}", file=out)
    print(
        "  replicate 1 order: "
        + ", ".join(
            f"{r.cell.workload}/w{r.cell.workers}/{r.mode}"
            + (" (priming)" if r.priming else " (sentinel)" if r.sentinel else "")
            for r in runs
            if r.block == 1
        ),
        file=out,
    )


def _duration(seconds: float | None) -> str:
    return "?" if seconds is None else format_duration_ns(seconds * 1e9, coarse=True)


class Progress:
    """One line per run on stderr; the running run's line is rewritten in place on a TTY."""

    def __init__(self, stream: TextIO, usable_cpus: int | None = None) -> None:
        self.stream = stream
        self.usable_cpus = usable_cpus
        self.status = StatusLine(stream)
        self.done = 0
        self.total = 0

    def write(self, line: str, *, final: bool = True) -> None:
        if final:
            self.status.line(line)
        else:
            self.status.show(line)

    def __call__(self, event: StudyEvent) -> None:
        self.done, self.total = event.done, event.total
        width = len(str(event.total))
        counter = f"[{event.done:>{width}}/{event.total}]"
        eta = f"  ETA {_duration(event.eta_s)}" if event.eta_s is not None else ""
        if event.kind == "start":
            state = (
                f"resumed, {event.done} already finished"
                if event.message == "resumed"
                else "new study"
            )
            self.write(f"gilwatt study: {event.total} runs ({state})")
        elif event.kind in ("block", "idle", "look"):
            self.write(f"-- {event.message}")
        elif event.kind == "note":
            self.write(f"   note: {event.message}")
        elif event.kind == "run-start" and event.run is not None:
            run = event.run
            self.write(f"{counter} {self.label(run)}  running...{eta}", final=False)
        elif event.kind == "run-end" and event.run is not None:
            run = event.run
            took = (
                f" {format_duration_ns(event.duration_s * 1e9)}"
                if event.duration_s is not None
                else ""
            )
            why = f" ({event.reason})" if event.reason else ""
            self.write(f"{counter} {self.label(run)}  {event.status}{took}{why}{eta}")

    def label(self, run: PlannedRun) -> str:
        """``b2 factorial max_value=600 w=4 ft`` (+ oversubscribed, priming)."""
        over = self.usable_cpus is not None and run.cell.workers > self.usable_cpus
        tags = ("oversubscribed " if over else "") + ("priming " if run.priming else "")
        tags += "sentinel " if run.sentinel else ""
        return (
            f"b{run.block} {run.cell.label()} {run.mode}{' (' + tags.strip() + ')' if tags else ''}"
        )

    def interrupted(self, store_path: Path) -> None:
        self.status.clear()
        self.stream.write(
            f"gilwatt: study interrupted after {self.done} of {self.total} runs; all finished runs are saved in "
            f"{store_path}. Run the same command again to resume.\n"
        )
        self.stream.flush()


def _print_outcome(outcome: StudyOutcome, out: TextIO) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(outcome.counts.items()) if n)
    print(f"study {outcome.study_id}: {outcome.planned} runs ({counts}); {outcome.launched} launched in "
          f"{_duration(outcome.elapsed_s)} this session", file=out)  # fmt: skip
    stop = f"; stopped: {outcome.stopped}" if outcome.stopped else ""
    print(f"replicates: {outcome.replicates}{stop}", file=out)
    print(f"store: {outcome.store_path.resolve()}", file=out)


def _check_report_path(report_path: Path) -> None:
    from gilwatt.report.html import check_writable

    check_writable(report_path)


def _report(store_path: Path, out_path: Path, study_id: int) -> bool:
    """Write the HTML study report; False if it could not be (the study itself is saved)."""
    from gilwatt.report import write_study_report

    try:
        written = write_study_report(store_path, out_path, study_id)
    except GilwattError as exc:
        print(f"gilwatt: error: report not written: {exc}", file=sys.stderr)
        print(
            f"gilwatt: the study is saved; retry with: gilwatt report {store_path}", file=sys.stderr
        )
        return False
    print(f"report: {Path(written).resolve()}", file=sys.stderr)
    return True


def _compare_summary(store_path: Path, study_id: int) -> None:
    """The header and findings of ``gilwatt compare`` on stdout (the full tables: compare)."""
    from gilwatt.analysis.result import analyse_study
    from gilwatt.analysis.tables import finding_lines, header_lines

    try:
        result = analyse_study(str(store_path), study_id)
    except GilwattError as exc:
        print(f"compare: no summary ({exc})", file=sys.stderr)
        return
    print("\n".join([*header_lines(result), "", *finding_lines(result.findings)]))
    print(f"(every table: gilwatt compare {store_path} --study {study_id})")
