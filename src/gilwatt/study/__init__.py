"""Studies: a matrix of workloads x interpreters x modes x worker counts, run in randomized
complete blocks, resumable, with validity gates on every run.

    from gilwatt.study import load_suite, resolve_study, run_study

    study = resolve_study(load_suite("quick"))
    outcome = run_study(study, Path("study.db"), on_event=print)

Modules: :mod:`~gilwatt.study.spec` (the TOML definition; :mod:`~gilwatt.study.origin` finds its lines), :mod:`~gilwatt.study.resolve`
(checked against workloads and interpreters), :mod:`~gilwatt.study.matrix` (cells and block
order), :mod:`~gilwatt.study.gates` (validity), :mod:`~gilwatt.study.ledger` (the study tables),
:mod:`~gilwatt.study.session` (new, resumed or refused), :mod:`~gilwatt.study.runner` (the loop; :mod:`~gilwatt.study.progress` its events).
"""

from gilwatt.study.gates import RunFacts, Verdict, judge
from gilwatt.study.matrix import Cell, PlannedRun, block_seed, plan, replicate_order
from gilwatt.study.progress import StudyEvent, StudyOutcome
from gilwatt.study.resolve import ResolvedStudy, resolve_study
from gilwatt.study.runner import child_env, run_study
from gilwatt.study.spec import MODES, StudySpec, load_spec, load_suite, parse_spec

__all__ = [
    "MODES",
    "Cell",
    "PlannedRun",
    "ResolvedStudy",
    "RunFacts",
    "StudyEvent",
    "StudyOutcome",
    "StudySpec",
    "Verdict",
    "block_seed",
    "child_env",
    "judge",
    "load_spec",
    "load_suite",
    "parse_spec",
    "plan",
    "replicate_order",
    "resolve_study",
    "run_study",
]
