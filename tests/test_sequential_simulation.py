"""The alpha-spending plan on studies drawn from a known truth: peeking keeps the error rate.

The least favourable null of claim 3 ("NumPy workloads are unchanged", an equivalence within
±10% by TOST): one NumPy workload exactly at the +10% margin, the others unchanged, with the
decision simulator's noise (analysis/simulate.py). An auto study with at most 8 replicates
looks after replicates 3 to 7, each look at the plan's alpha (study/sequential.py); the budget
ends it after replicate 7, so that look is the final analysis and gets the rest of alpha. A
draw is a false "unchanged" when any look confirms claim 3 (the study could stop there).
Seeded and deterministic; the NumPy cells alone go to the decision function (claim 3 reads
nothing else), so it takes a few seconds.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gilwatt.analysis import decide as dec
from gilwatt.analysis import simulate as sim
from gilwatt.study import sequential as seq

DRAWS = 300
MAX_REPS = 8
LAST_LOOK = 7  # the budget holds no eighth replicate
UPPER_BOUND = 0.08

AT_MARGIN = sim.Scenario(
    "claim 3 at its margin",
    sim.paper_like(numpy=(1.10, 1.0, 1.0)),
    {3: dec.INCONCLUSIVE},
    replicates=MAX_REPS,
)


def _numpy_only(lay: sim._Layout) -> tuple[sim._Layout, np.ndarray]:
    keep = np.array([family == "numpy" for _w, _p, family, _s, _n, _m in lay.meta])
    meta = [m for m, k in zip(lay.meta, keep, strict=True) if k]
    return sim._Layout(meta, lay.mu[keep], lay.sd[keep]), keep


def _claim3(lay: sim._Layout, logs: np.ndarray, replicates: int, alpha: float) -> str:
    scenario = dataclasses.replace(AT_MARGIN, replicates=replicates)
    data = sim.as_data(scenario, lay, logs[:, :replicates])
    return dec.decide(data, detail=False, alpha=alpha)[3].verdict


def _plan_alphas() -> list[float]:
    looks: list[seq.Look] = []
    for replicate in range(seq.FIRST_LOOK, LAST_LOOK + 1):
        if replicate < LAST_LOOK:
            alpha = seq.look_alpha(replicate, MAX_REPS, looks)
        else:
            alpha = seq.final_alpha(looks)
        looks.append(seq.Look(replicate, alpha, seq.spent(looks) + alpha, {}))
    return [x.alpha for x in looks]


def test_the_plan_spends_alpha_in_all_and_the_last_look_gets_the_rest() -> None:
    alphas = _plan_alphas()
    assert len(alphas) == LAST_LOOK - seq.FIRST_LOOK + 1
    assert abs(sum(alphas) - seq.ALPHA) < 1e-12
    assert alphas[-1] > max(alphas[:-1])  # O'Brien-Fleming-like: early looks get little


def test_peeking_under_the_plan_keeps_claim3s_false_unchanged_rate() -> None:
    full, logs = sim.draw_logs(AT_MARGIN, np.random.default_rng(2026), DRAWS)
    lay, keep = _numpy_only(full)
    logs = logs[:, keep, :]
    alphas = _plan_alphas()
    looks = range(seq.FIRST_LOOK, LAST_LOOK + 1)
    plan = naive = 0
    for i in range(DRAWS):
        plan += any(
            _claim3(lay, logs[i], r, a) == dec.CONFIRMS for r, a in zip(looks, alphas, strict=True)
        )
        naive += any(_claim3(lay, logs[i], r, seq.ALPHA) == dec.CONFIRMS for r in looks)
    upper = sim.clopper_pearson_upper(plan, DRAWS)
    report = f"false 'unchanged': plan {plan}/{DRAWS} (upper {upper:.3f}), naive {naive}/{DRAWS}"
    print(report)
    assert upper <= UPPER_BOUND, report
    assert plan < naive, report
