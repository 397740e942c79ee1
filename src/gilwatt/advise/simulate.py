"""The advice rule under known truth: simulated candidates through the same sequential plan
``gilwatt advise`` runs (at least ``min_blocks`` blocks, then one more block at a time until
the confidence is high or ``max_blocks`` is reached).

A replicate of a candidate is its true value times lognormal noise (``cv``) times the block's
shared factor (``block_cv``: load that hits every candidate of a block alike). The *right*
pick is the rule applied to the true values; a pick is *acceptable* when its true value is
within the margin of the true best. A false "high" is a high confidence given to a pick that is
not acceptable; a wrong "high" one given to any pick but the right one (two runs of one program
can disagree with both "high" only if at least one is a wrong "high"). ``capped`` is the share of
trials whose confidence was lowered for noise (the pooled CV above 12%).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gilwatt.advise.decision import MARGIN, Candidate, Option, decide


@dataclass(frozen=True)
class Scenario:
    name: str
    truth: tuple[tuple[Option, float], ...]  # each option's true objective value


@dataclass(frozen=True)
class SimRow:
    scenario: str
    gap: float  # the true best's advantage over the simplest option, as a fraction
    cv: float
    trials: int
    right: float  # share of trials whose pick is the rule's pick on the true values
    acceptable: float
    high: float  # share of trials ending with high confidence
    false_high: float  # share of trials with high confidence on a pick not acceptable
    mean_blocks: float
    wrong_high: float = 0.0  # share of trials with high confidence on a pick not the right one
    capped: float = 0.0  # share of trials whose last decision was capped for noise


def scaling_scenario(gap: float) -> Scenario:
    """A threaded program: the free-threaded build at 2 workers is ``gap`` faster than the GIL
    build at 1 (the GIL build does not scale; ft costs 40% on one thread; 4 oversubscribes)."""
    gil1 = 1.0
    ft2 = gil1 / (1 + gap)
    truth = (
        (Option("gil", 1, "threads"), gil1),
        (Option("gil", 2, "threads"), gil1 * 1.01),
        (Option("gil", 4, "threads"), gil1 * 1.03),
        (Option("ft", 1, "threads"), gil1 * 1.4),
        (Option("ft", 2, "threads"), ft2),
        (Option("ft", 4, "threads"), ft2 * 1.04),
    )
    return Scenario(f"scaling gap {gap:.0%}", truth)


def true_pick(scenario: Scenario, margin: float = MARGIN) -> Option:
    best = min(v for _, v in scenario.truth)
    within = [o for o, v in scenario.truth if v <= best * (1 + margin)]
    return min(within, key=Option.simplicity)


def simulate(
    scenario: Scenario,
    *,
    cv: float,
    block_cv: float = 0.05,
    trials: int = 400,
    min_blocks: int = 3,
    max_blocks: int = 10,
    seed: int = 1,
    margin: float = MARGIN,
    draws: int = 400,
) -> SimRow:
    rng = np.random.default_rng(seed)
    options = [o for o, _ in scenario.truth]
    true = np.array([v for _, v in scenario.truth])
    best = true.min()
    right_opt = true_pick(scenario, margin)
    simplest = min(options, key=Option.simplicity)
    gap = true[options.index(simplest)] / best - 1
    right = acceptable = high = false_high = blocks_used = wrong_high = capped = 0
    for _ in range(trials):
        data = np.empty((max_blocks, len(options)))
        for b in range(max_blocks):
            shared = rng.lognormal(0.0, block_cv)
            data[b] = true * shared * rng.lognormal(0.0, cv, size=len(options))
        for n in range(min_blocks, max_blocks + 1):
            cands = [Candidate(o, data[:n, i].tolist()) for i, o in enumerate(options)]
            advice = decide(cands, margin=margin, draws=draws, seed=int(rng.integers(1 << 31)))
            if advice.level == "high":
                break
        assert advice.option is not None
        blocks_used += n
        picked_true = true[options.index(advice.option)]
        ok = picked_true <= best * (1 + margin) + 1e-12
        right += advice.option == right_opt
        acceptable += ok
        high += advice.level == "high"
        false_high += advice.level == "high" and not ok
        wrong_high += advice.level == "high" and advice.option != right_opt
        capped += bool(advice.capped)
    return SimRow(scenario.name, float(gap), cv, trials, right / trials, acceptable / trials,
                  high / trials, false_high / trials, blocks_used / trials,
                  wrong_high / trials, capped / trials)  # fmt: skip


def table(rows: Sequence[SimRow]) -> str:
    head = f"{'scenario':<20} {'gap':>5} {'cv':>4} {'trials':>6} {'right':>6} {'accept':>6} "
    head += f"{'high':>6} {'falseH':>6} {'wrongH':>6} {'capped':>6} {'blocks':>6}"
    lines = [head]
    for r in rows:
        lines.append(
            f"{r.scenario:<20} {r.gap:>5.0%} {r.cv:>4.0%} {r.trials:>6} {r.right:>6.1%} "
            f"{r.acceptable:>6.1%} {r.high:>6.1%} {r.false_high:>6.1%} {r.wrong_high:>6.1%} "
            f"{r.capped:>6.1%} {r.mean_blocks:>6.1f}"
        )
    return "\n".join(lines)
