"""The claim decisions on studies drawn from known truths (the decisions issue's checks).

1000 draws per scenario through :func:`gilwatt.analysis.decide.decide`, the function
``gilwatt compare`` calls; seeded, so a run is reproducible and a change of the rules that
breaks a check fails here. A few draws also go end to end through a real synthetic store and
``compare_study``, which must reach the same verdicts and stability as the direct call.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gilwatt.analysis import decide as dec
from gilwatt.analysis import simulate as sim
from gilwatt.analysis.result import compare_study
from gilwatt.store.synthetic import SyntheticRun, write_study

DRAWS = 1000
MIB = 2**20


@pytest.fixture(scope="module")
def tallies() -> dict[str, sim.Tally]:
    return {s.name: sim.run(s, draws=DRAWS, seed=1) for s in sim.SCENARIOS}


@pytest.mark.parametrize("name", [s.name for s in sim.SCENARIOS])
def test_scenario_meets_the_checks(tallies: dict[str, sim.Tally], name: str) -> None:
    tally = tallies[name]
    failed = [what for what, held in sim.criteria(tally) if not held]
    assert not failed, "\n".join([*failed, *sim.table([tally])])


def test_opposite_effects_read_as_mixed_and_name_the_workloads(
    tallies: dict[str, sim.Tally],
) -> None:
    tally = tallies["opposite effects"]
    assert tally.counts[2][dec.MIXED] > 0.5 * DRAWS
    assert tally.counts[2][dec.CONFIRMS] + tally.counts[2][dec.CONTRADICTS] < 0.01 * DRAWS


def test_energy_claims_are_not_testable_on_modelled_energy(tallies: dict[str, sim.Tally]) -> None:
    assert tallies["2 usable CPUs"].counts[6][dec.NOT_TESTABLE] == DRAWS
    assert tallies["equivalence (measured energy)"].counts[6][dec.NOT_TESTABLE] == 0


def _store_from_draw(path: Path, scenario: sim.Scenario, lay: object, logs: np.ndarray) -> None:
    """The draw as real runs: gil at 1 s / 100 MiB / 400 MiB, ft at the drawn ratios."""
    layout = lay
    assert isinstance(layout, sim._Layout)
    index = {(w, n, m): i for i, (w, _p, _f, _s, n, m) in enumerate(layout.meta)}
    runs = []
    for workload, _family, _sharing, workers in sim.ROSTER:
        for n in workers:
            for b in range(scenario.replicates):

                def ratio(metric: str, w: str = workload, n: int = n, b: int = b) -> float:
                    return math.exp(float(logs[index[(w, n, metric)], b]))

                runs.append(SyntheticRun(workload, n, "gil", b + 1, 1.0))
                runs.append(
                    SyntheticRun(
                        workload,
                        n,
                        "ft",
                        b + 1,
                        ratio("time_s"),
                        rss_bytes=round(100 * MIB * ratio("peak_rss_bytes")),
                        vms_bytes=round(400 * MIB * ratio("peak_vms_bytes")),
                    )
                )
    for run in runs:
        if run.mode == "gil":
            run.rss_bytes, run.vms_bytes = 100 * MIB, 400 * MIB
    write_study(path, runs, name=scenario.name)


@pytest.mark.parametrize("name", ["2 usable CPUs", "opposite effects", "no effect"])
def test_end_to_end_through_a_synthetic_store_matches_the_direct_decision(
    tmp_path: Path, name: str
) -> None:
    scenario = next(s for s in sim.SCENARIOS if s.name == name)
    assert scenario.usable_cpus == 2  # the synthetic store's host has 2 CPUs
    lay, logs = sim.draw_logs(scenario, np.random.default_rng(7), 2)
    for i in range(2):
        path = tmp_path / f"draw{i}.db"
        _store_from_draw(path, scenario, lay, logs[i])
        direct = dec.decide(sim.as_data(scenario, lay, logs[i]))
        found = compare_study(path, n_resamples=100).findings
        for f in found:
            if f.number == 6:
                continue  # the store's energy is modelled; the draw's power ratio is not used
            d = direct[f.number]
            assert (f.number, f.verdict) == (f.number, d.verdict), f.why
            assert f.stability == pytest.approx(d.stability, abs=0.01)
