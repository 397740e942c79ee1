"""The advice from a session's runs: the candidates (what each option measured and why it may not
be advised), the decision, the exit code, and the advice saved into the study's spec.

More workers than the usable CPUs are advised only for a program that waits: alone at one
worker it keeps less than ``plan.WAITS_CPU_PER_WALL`` of a CPU busy. A CPU-bound program gains
nothing from them but switches, and on a loaded machine they can look faster by chance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gilwatt.advise import plan as plan_mod
from gilwatt.advise import readiness as ready
from gilwatt.advise.decision import Advice, Candidate, Option, decide
from gilwatt.advise.plan import ADVISED, FAILS_ON_FT, FAILS_ON_GIL, NO_VALID_RUN
from gilwatt.study import machine

if TYPE_CHECKING:
    from gilwatt.advise.session import AdviseResult


def candidates_of(result: AdviseResult) -> list[Candidate]:
    rd = result.readiness
    out = []
    for option in result.options:
        runs = [o for o in result.outcomes
                if o.option == option and o.block > 0 and not o.superseded]  # fmt: skip
        values = [v for o in runs if o.valid and (v := o.objective(result.request.objective))]
        blocked = ""
        if option.mode == "ft-gil":
            blocked = plan_mod.DIAGNOSTIC
        elif option.mode == "ft" and (rd.gil_back_on or any(o.gil_back_on for o in runs)):
            names = ", ".join(c.module for c in rd.culprits) or "an extension"
            blocked = f"the GIL is turned back on ({names})"
        elif option.key in result.timed_out:
            blocked = f"timed out after {result.timed_out[option.key]:.0f} s"
        elif option.key in result.dropped:
            blocked = f"x{result.dropped[option.key]:.1f} the best's time: not run again"
        elif option.workers > result.cpus and (why := _not_waiting(result, option)):
            blocked = why
        elif any(o.status != "ok" for o in runs):
            bad = sum(o.status != "ok" for o in runs)
            blocked = f"the program failed in {bad} of {len(runs)} runs"
        elif any(o.verify_failed for o in runs):
            blocked = "--verify failed on its output"
        rss = [o.objective("memory") for o in runs if o.valid]
        peak = int(max(r for r in rss if r)) if any(rss) else None
        estimate = result.request.objective == "energy" and any(o.energy_estimate for o in runs)
        out.append(Candidate(option, values, peak, blocked, estimate))
    return out


def _not_waiting(result: AdviseResult, option: Option) -> str:
    """Why more workers than the usable CPUs cannot be advised: the program does not wait at
    one worker (CPU / wall not below WAITS_CPU_PER_WALL), or that is unknown. '' if it waits."""
    from gilwatt.advise.why import option_stats

    alone = None
    for par in dict.fromkeys((option.parallelism, "threads")):
        stats = option_stats(Option(option.mode, 1, par), result.outcomes)
        if stats.parallelism is not None:
            alone = stats.parallelism
            break
    limit = plan_mod.WAITS_CPU_PER_WALL
    if alone is not None and alone < limit:
        return ""
    seen = "not measured" if alone is None else f"{alone:.2f}"
    return (f"more workers than the {result.cpus} usable CPUs: advised only for a program that "
            f"waits (CPU / wall at 1 worker {seen}, not below {limit:g})")  # fmt: skip


def decide_now(result: AdviseResult) -> Advice:
    req = result.request
    advice = decide(candidates_of(result), max_rss_bytes=req.max_rss_bytes,
                    allow_estimate=req.allow_estimate)  # fmt: skip
    if result.kept_disturbed and advice.level == "high":
        advice.level = "moderate"
        advice.capped = (
            f"confidence capped at moderate: {result.kept_disturbed} run(s) still disturbed "
            f"after {machine.MAX_RERUNS} reruns were kept (other programs took CPU)"
        )
    return advice


def conclude(result: AdviseResult) -> None:
    rd = result.readiness
    swept = [o for o in result.outcomes if o.block > 0]
    outputs: dict[str, list[bytes]] = {}
    verify_failed: dict[str, int] = {}
    for o in swept:
        if o.status == "ok" and not o.verify_failed:
            outputs.setdefault(o.option.key, []).append(o.stdout)
        if o.verify_failed:
            verify_failed[o.option.key] = verify_failed.get(o.option.key, 0) + 1
    if result.request.verify is None:
        rd.findings += ready.compare_outputs(outputs, {})
    else:
        rd.findings += ready.compare_outputs({}, verify_failed) if verify_failed else [
            ready.Finding("safety", "ok", f"--verify passed on every run ({len(swept)} runs): "
                          "no difference seen in these runs")]  # fmt: skip
    if result.exit_code != ADVISED:
        return
    advice = decide_now(result)
    result.advice = advice
    failed = [o for o in swept if o.status not in ("ok", "timeout")]  # slow is not failing
    gil_failed = [o for o in failed if o.option.mode == "gil"]
    ft_failed = [o for o in failed if o.option.mode != "gil"]
    if swept and len(gil_failed) * 2 > sum(o.option.mode == "gil" for o in swept):
        result.exit_code = FAILS_ON_GIL
    elif advice.option is None:
        result.exit_code = NO_VALID_RUN
    elif ft_failed and not gil_failed:
        result.exit_code = FAILS_ON_FT
        rd.findings.append(ready.Finding(
            "run", "blocker", f"the program failed on the free-threaded build in {len(ft_failed)} "
            f"run(s) and never on the GIL build", "a possible race: run the failing "
            "configuration again and read its stderr (gilwatt report)"))  # fmt: skip


def save_advice(result: AdviseResult) -> None:
    """The advice into the study's spec, where ``gilwatt report`` finds it."""
    from gilwatt.advise.render import as_json
    from gilwatt.store import Store

    if result.study_id is None:
        return
    store = Store.open(result.request.store_path)
    try:
        study = next(s for s in store.studies() if s.study_id == result.study_id)
        spec = dict(study.spec)
        spec["advice"] = as_json(result)
        store.update_study_spec(result.study_id, spec)
    finally:
        store.close()
