"""The group-sequential plan: O'Brien-Fleming-like alpha spending, per-look increments."""

from __future__ import annotations

import itertools

import pytest

from gilwatt.study.sequential import (
    ALPHA,
    Look,
    drift,
    look_alpha,
    recorded,
    replicate_estimate_s,
    spent_by,
    stop_reason,
)


def test_the_spending_function_spends_almost_nothing_early_and_alpha_by_the_end() -> None:
    values = [spent_by(k / 10) for k in range(0, 11)]
    assert values[0] == 0 and values[-1] == pytest.approx(ALPHA)
    assert all(a < b for a, b in itertools.pairwise(values))
    assert spent_by(0.3) < 0.001  # a look at 3 of 10 replicates
    assert spent_by(1.5) == pytest.approx(ALPHA)  # past max_reps: nothing more to spend


def test_each_look_gets_the_increment_and_the_looks_never_exceed_alpha() -> None:
    looks: list[Look] = []
    for replicate in range(3, 11):
        alpha = look_alpha(replicate, 10, looks)
        assert alpha > 0
        looks.append(Look(replicate, alpha, (looks[-1].spent if looks else 0) + alpha, {}))
    assert sum(x.alpha for x in looks) == pytest.approx(spent_by(1.0)) and looks[-1].spent <= ALPHA
    # a resumed study reads its looks back and spends only what is left
    doc = {"looks": [x.to_json() for x in looks[:2]]}
    assert recorded(doc) == looks[:2]
    assert look_alpha(5, 10, recorded(doc)) == pytest.approx(looks[2].alpha)
    # a larger max_reps on resume spends less per look, never a negative amount
    assert look_alpha(5, 40, recorded(doc)) == 0.0


def test_stop_reasons() -> None:
    decided = {1: "confirms", 2: "not testable", 3: "mixed", 4: "contradicts"}
    assert stop_reason(decided, 3, 10) == "every claim decided or not testable"
    assert stop_reason({**decided, 5: "inconclusive"}, 3, 10) == ""
    assert stop_reason({1: "inconclusive"}, 10, 10) == "max-reps (10) reached"
    assert stop_reason({1: "inconclusive"}, 4, 10, budget_left_s=50, replicate_s=60) != ""
    assert stop_reason({1: "inconclusive"}, 4, 10, budget_left_s=70, replicate_s=60) == ""
    assert replicate_estimate_s(100, "quick", 0.0) == pytest.approx(100)


def test_drift_flags_a_significant_trend_of_the_sentinel_and_not_noise() -> None:
    def walls(
        times: list[float], mode: str = "gil"
    ) -> list[tuple[str, str, int, str, int, str, int]]:
        return [("s", "{}", 1, mode, b + 1, "kernel", int(t * 1e9)) for b, t in enumerate(times)]

    rising = walls([0.20, 0.22, 0.24, 0.26, 0.28])
    ((mode, (change, p)),) = drift(rising, "s", "kernel").items()
    assert mode == "gil" and change == pytest.approx(0.40, abs=0.03) and p < 0.05
    assert drift(walls([0.20, 0.21, 0.20, 0.21, 0.20]), "s", "kernel") == {}
    assert drift(rising, "s", "other-region") == {} and drift(rising[:2], "s", "kernel") == {}
