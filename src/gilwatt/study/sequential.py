"""Replicates until decided: a group-sequential plan with alpha spending.

With ``reps = "auto"`` the claims are decided again after every replicate from the third, and
the study stops when every claim is decided (confirms, contradicts, mixed) or not testable, or
when ``max_reps`` or the time budget is reached. Looking again and again at growing data
inflates the error rate unless each look spends only part of it. The plan here:

- **Lan-DeMets alpha spending with the O'Brien-Fleming-like function**
  ``alpha(t) = 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))``, information fraction
  ``t = replicates / max_reps``: early looks get almost nothing, the last look nearly alpha.
- **The alpha of look k is the increment** ``alpha(t_k) - spent``: what the spending function
  allows by now minus what earlier looks already used. The looks' alphas sum to at most
  ``alpha``, so by the union bound the chance of any false decision over all looks stays at
  or below ``alpha`` (conservative: exact group-sequential boundaries would use the looks'
  correlation and give a little more).
- **The last look is the final analysis**: when the budget or ``max_reps`` ends the study,
  that look's alpha is all that earlier looks left (``final_alpha``; Lan-DeMets: information
  fraction 1 at the final analysis, and the budget is not a data-driven stop), so the plan
  spends ``alpha`` in all. Every later reading of the store (``compare``, the report) decides
  at the last recorded look's alpha.
- Every look is recorded in the store (the study's spec JSON, ``looks``), so a resumed study
  goes on spending from where it stopped, and a look is never taken twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats as sps

ALPHA = 0.05  # the claims' error rate (decide.ALPHA)
FIRST_LOOK = 3  # replicates before the first look: 2 df for a t interval
DECIDED = frozenset({"confirms", "contradicts", "mixed", "not testable"})
DECIDED_STOP = "every claim decided or not testable"
PLAN_NAME = (
    "Lan-DeMets O'Brien-Fleming-like alpha spending over max_reps; per-look alpha = increment"
)


def spent_by(t: float, alpha: float = ALPHA) -> float:
    """Alpha the O'Brien-Fleming-like spending function allows by information fraction t."""
    if t <= 0:
        return 0.0
    t = min(t, 1.0)
    z = float(sps.norm.ppf(1 - alpha / 2))
    return min(alpha, float(2 * sps.norm.sf(z / math.sqrt(t))))  # never above alpha by rounding


@dataclass(frozen=True)
class Look:
    """One interim analysis: after ``replicate``, at ``alpha``; ``stop`` says why it ended
    the study ("" to go on)."""

    replicate: int
    alpha: float
    spent: float  # cumulative, this look included
    verdicts: Mapping[int, str]
    stop: str = ""
    bimodal: tuple[str, ...] = ()  # cells flagged at this look (max/min within a mode > 1.5)

    def to_json(self) -> dict[str, Any]:
        return {
            "replicate": self.replicate,
            "alpha": self.alpha,
            "spent": self.spent,
            "verdicts": {str(k): v for k, v in sorted(self.verdicts.items())},
            "stop": self.stop,
            "bimodal": list(self.bimodal),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Look:
        verdicts = {int(k): str(v) for k, v in dict(doc.get("verdicts", {})).items()}
        return cls(
            int(doc["replicate"]),
            float(doc["alpha"]),
            float(doc["spent"]),
            verdicts,
            str(doc.get("stop", "")),
            tuple(str(c) for c in doc.get("bimodal", [])),
        )


def recorded(spec: Mapping[str, Any]) -> list[Look]:
    """The looks a study's spec JSON records, in order."""
    found = spec.get("looks", [])
    return [Look.from_json(d) for d in found] if isinstance(found, list) else []


def spent(looks: Sequence[Look]) -> float:
    return looks[-1].spent if looks else 0.0


def look_alpha(replicate: int, max_reps: int, looks: Sequence[Look], alpha: float = ALPHA) -> float:
    """The alpha of a look after ``replicate``: what the plan allows by now minus what the
    recorded looks already spent (never below 0)."""
    return max(0.0, spent_by(replicate / max(max_reps, replicate), alpha) - spent(looks))


def final_alpha(looks: Sequence[Look], alpha: float = ALPHA) -> float:
    """The alpha of the final analysis: all that the recorded looks left."""
    return max(0.0, alpha - spent(looks))


Evaluate = Callable[[float], Mapping[int, str]]


def interim(
    replicate: int,
    max_reps: int,
    looks: Sequence[Look],
    evaluate: Evaluate,
    *,
    budget_left_s: float | None = None,
    replicate_s: float | None = None,
    new_bimodal: bool = False,
) -> tuple[float, dict[int, str], str]:
    """One look after ``replicate``: (its alpha, the verdicts at it, why the study stops).

    The claims are decided at the plan's increment first: that says whether the data alone
    stop the study. A newly bimodal cell keeps a decided study going for another replicate
    (within ``max_reps`` and the budget). When the budget or ``max_reps`` ends the study, the
    look is the final analysis: the verdicts are decided again at the rest of alpha."""
    alpha = look_alpha(replicate, max_reps, looks)
    verdicts = dict(evaluate(alpha)) if alpha > 0 else {}
    limits = {"budget_left_s": budget_left_s, "replicate_s": replicate_s}
    stop = stop_reason(verdicts, replicate, max_reps, **limits)
    if new_bimodal and stop == DECIDED_STOP:
        stop = stop_reason({}, replicate, max_reps, **limits)
    if stop and stop != DECIDED_STOP:
        rest = final_alpha(looks)
        if rest > alpha:
            alpha, verdicts = rest, dict(evaluate(rest))
    return alpha, verdicts, stop


def all_decided(verdicts: Mapping[int, str]) -> bool:
    return bool(verdicts) and all(v in DECIDED for v in verdicts.values())


def stop_reason(
    verdicts: Mapping[int, str],
    replicate: int,
    max_reps: int,
    *,
    budget_left_s: float | None = None,
    replicate_s: float | None = None,
) -> str:
    """Why the study stops after this look ("" to run another replicate)."""
    if all_decided(verdicts):
        return DECIDED_STOP
    if replicate >= max_reps:
        return f"max-reps ({max_reps}) reached"
    if budget_left_s is not None and replicate_s is not None and replicate_s > budget_left_s:
        return "the budget would not hold another replicate"
    return ""


BIMODAL_RATIO = 1.5  # max/min of a cell's region time within one mode


def bimodal_cells(
    walls: Sequence[tuple[str, str, int, str, int, str, int]], region_of: Mapping[str, str]
) -> dict[str, float]:
    """Cells whose measured-region time within one mode spreads more than BIMODAL_RATIO
    (max/min over replicates): ``workload{params}/wN/mode`` -> the ratio. Such a cell was
    measured in two machine states (the README's 0.54 s vs 1.08 s); it gets another replicate."""
    times: dict[str, list[int]] = {}
    for workload, params, workers, mode, _block, region, wall_ns in walls:
        if region == region_of.get(workload) and wall_ns > 0:
            times.setdefault(f"{workload}{params}/w{workers}/{mode}", []).append(wall_ns)
    spread = {cell: max(v) / min(v) for cell, v in times.items() if len(v) >= 2}
    return {cell: r for cell, r in sorted(spread.items()) if r > BIMODAL_RATIO}


DRIFT_P = 0.05
DRIFT_CHANGE = 0.05  # a trend must also move the sentinel this much from first to last


def drift(
    walls: Sequence[tuple[str, str, int, str, int, str, int]], workload: str, region: str
) -> dict[str, tuple[float, float]]:
    """Per mode, the sentinel's trend over replicates when it is significant and not small:
    mode -> (relative change from the first to the last replicate, p of the slope)."""
    by_mode: dict[str, dict[int, list[int]]] = {}
    for name, _params, _workers, mode, block, region_name, wall_ns in walls:
        if name == workload and region_name == region and wall_ns > 0:
            by_mode.setdefault(mode, {}).setdefault(block, []).append(wall_ns)
    found = {}
    for mode, blocks in sorted(by_mode.items()):
        if len(blocks) < 3:
            continue
        xs = sorted(blocks)
        ys = [math.log(min(blocks[b])) for b in xs]
        fit = sps.linregress(xs, ys)
        change = math.exp(fit.slope * (xs[-1] - xs[0])) - 1
        if fit.pvalue < DRIFT_P and abs(change) > DRIFT_CHANGE:
            found[mode] = (change, float(fit.pvalue))
    return found


# Per-run seconds of a preset on a 2-core machine (README's tables), for estimates before
# anything ran: a budget shorter than one replicate is refused.
RUN_SECONDS = {"tiny": 0.3, "quick": 1.0, "paper": 10.0}


def replicate_estimate_s(runs_per_replicate: int, preset: str, cooldown_s: float) -> float:
    per_run = RUN_SECONDS.get(preset, 1.0)
    return runs_per_replicate * (per_run + cooldown_s)
