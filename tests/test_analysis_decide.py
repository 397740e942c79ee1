"""The claim decisions on hand-built datasets: each verdict, its reason, and what it ignores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from gilwatt.analysis import decide as dec

IND, RO, SM, UN = dec.INDEPENDENT, dec.SHARED_READ_ONLY, dec.SHARED_MUTABLE, dec.UNCLASSIFIED
JITTER = (1.00, 1.02, 0.985, 1.01, 0.995)  # per replicate, multiplied into every ratio


def data(
    cells: dict[tuple[str, str, str, int, str], float | tuple[float, ...]],
    *,
    blocks: int = 3,
    cpus: int | None = 2,
    measured: bool = False,
) -> dec.DecisionData:
    """(workload, family, sharing, N, metric) -> a ratio (jittered per replicate) or the
    ratios themselves."""
    rows = []
    for (workload, family, sharing, n, metric), value in cells.items():
        values = value if isinstance(value, tuple) else tuple(value * j for j in JITTER[:blocks])
        rows.append((workload, "{}", family, sharing, n, metric, dict(enumerate(values, start=1))))
    return dec.from_rows(range(1, blocks + 1), rows, usable_cpus=cpus, energy_measured=measured)


def seq(ratio: float | tuple[float, ...], name: str = "mandelbrot") -> dict:
    return {(name, "sequential", IND, 1, "time_s"): ratio}


def threaded(
    name: str, sharing: str, by_n: dict[int, float], family: str = "threaded-numerical"
) -> dict:
    return {(name, family, sharing, n, "time_s"): r for n, r in by_n.items()}


def test_weighted_stats_with_equal_weights_are_the_t_statistics() -> None:
    logs = np.log(np.asarray([[1.1, 1.2, 1.3], [0.9, np.nan, 0.8]]))
    mean, se, n = dec.weighted_stats(logs, np.full((1, 3), 1 / 3))
    assert list(n) == [3, 2]
    assert mean[0, 0] == pytest.approx(np.mean(logs[0]))
    assert se[0, 0] == pytest.approx(np.std(logs[0], ddof=1) / math.sqrt(3))
    assert se[0, 1] == pytest.approx(np.std(logs[1, [0, 2]], ddof=1) / math.sqrt(2))


def test_sequential_cost_confirms_with_every_reason_number() -> None:
    d = dec.decide(data(seq(1.25) | seq(1.3, "bubble_sort")))[1]
    assert d.verdict == dec.CONFIRMS and d.stability == 1.0
    assert d.estimate == pytest.approx(math.sqrt(1.25 * 1.3) * np.exp(np.mean(np.log(JITTER[:3]))))
    assert d.interval is not None and d.interval[0] > 1
    assert "slower" in d.reason and "energy: not testable" in d.reason
    assert [u.name for u in d.workloads] == ["bubble_sort", "mandelbrot"]


def test_no_cost_within_ten_percent_contradicts_a_directional_claim() -> None:
    d = dec.decide(data(seq(1.01) | seq(0.99, "bubble_sort")))[1]
    assert d.verdict == dec.CONTRADICTS
    assert "equivalent within ±10%" in d.reason


def test_faster_sequential_code_contradicts() -> None:
    d = dec.decide(data(seq(0.7) | seq(0.72, "bubble_sort")))[1]
    assert d.verdict == dec.CONTRADICTS and "against the claim" in d.reason


def test_a_wide_interval_is_inconclusive_with_the_replicates_needed() -> None:
    d = dec.decide(data(seq((1.05, 1.4, 0.95))))[1]
    assert d.verdict == dec.INCONCLUSIVE
    assert d.replicates_needed is not None and d.replicates_needed > 3
    # at that many replicates the same mean and sd would decide (the direction route here)
    logs = np.log([1.05, 1.4, 0.95])
    n = d.replicates_needed
    half = sps.t.ppf(1 - dec.ALPHA_POOLED / 2, n - 1) * np.std(logs, ddof=1) / math.sqrt(n)
    half90 = sps.t.ppf(0.95, n - 1) * np.std(logs, ddof=1) / math.sqrt(n)
    assert half < abs(np.mean(logs)) or half90 < dec.MARGIN - abs(np.mean(logs))


def test_workloads_disagreeing_in_sign_are_mixed_and_named() -> None:
    cells = threaded("factorial", IND, {1: 1.5, 2: 0.69}) | threaded("nbody", RO, {1: 2.3, 2: 1.70})
    d = dec.decide(data(cells))[2]
    assert d.verdict == dec.MIXED
    assert "factorial ×0.69" in d.reason and "nbody ×1.70" in d.reason


def test_claim2_uses_the_largest_n_within_the_cpus_and_ignores_oversubscribed_cells() -> None:
    # on 2 CPUs N = 4 is oversubscribed: its slowdown must not enter the claim
    cells = threaded("factorial", IND, {1: 1.5, 2: 0.75, 4: 3.0})
    two = dec.decide(data(cells, cpus=2))[2]
    assert two.verdict == dec.CONFIRMS and two.workloads[0].workers == 2
    four = dec.decide(data(cells, cpus=4))[2]
    assert four.verdict == dec.CONTRADICTS and four.workloads[0].workers == 4


def test_magnitude_is_not_testable_below_four_cpus_and_judged_above() -> None:
    cells = threaded("factorial", IND, {1: 1.0, 2: 0.5, 4: 0.2})
    small = dec.decide(data(cells, cpus=2))[2]
    assert {h.name: h.verdict for h in small.halves}["magnitude (4×)"] == dec.NOT_TESTABLE
    assert "needs at least 4 usable CPUs; this host has 2" in small.halves[1].reason
    big = dec.decide(data(cells, cpus=16))[2]
    assert {h.name: h.verdict for h in big.halves}["magnitude (4×)"] == dec.CONFIRMS
    short = dec.decide(data(threaded("factorial", IND, {1: 1.0, 4: 0.6}), cpus=16))[2]
    assert {h.name: h.verdict for h in short.halves}["magnitude (4×)"] == dec.CONTRADICTS
    assert short.verdict == dec.CONFIRMS  # the direction is the headline


def test_user_workloads_stay_out_of_claims_2_and_4() -> None:
    cells = threaded("mine", UN, {1: 1.0, 2: 0.5}, family="threaded-objects")
    found = dec.decide(data(cells))
    assert found[2].verdict == dec.NOT_TESTABLE and found[4].verdict == dec.NOT_TESTABLE


def test_claim4_is_a_difference_in_differences_not_the_one_thread_cost() -> None:
    # both slower on ft at N = 2, but only by their one-thread cost: no contention effect
    cells = threaded("nbody", RO, {1: 2.0, 2: 2.0}) | threaded(
        "object_lists_nocopy", SM, {1: 2.0, 2: 2.0}, family="threaded-objects"
    )
    d = dec.decide(data(cells))[4]
    assert d.verdict == dec.CONTRADICTS and "equivalent" in d.reason
    eroded = threaded("nbody", RO, {1: 2.0, 2: 1.0}) | threaded(
        "object_lists_nocopy", SM, {1: 2.0, 2: 6.0}, family="threaded-objects"
    )
    d = dec.decide(data(eroded))[4]
    assert d.verdict == dec.CONFIRMS
    assert d.estimate == pytest.approx(6.0, rel=0.02)  # (6/2) / (1/2)


def test_claim4_reasons_when_it_cannot_be_tested() -> None:
    only_ro = threaded("nbody", RO, {1: 2.0, 2: 1.0})
    assert "no shared-mutable workload" in dec.decide(data(only_ro))[4].reason
    no_one = threaded("nbody", RO, {1: 2.0, 2: 1.0}) | threaded(
        "object_lists_nocopy", SM, {2: 6.0}, family="threaded-objects"
    )
    assert "needs each workload at 1 worker" in dec.decide(data(no_one))[4].reason


def test_claim5_grows_needs_rss_and_vms_more_than_rss() -> None:
    def mem(rss: float, vms: float) -> dict:
        return {
            ("mandelbrot", "sequential", IND, 1, "peak_rss_bytes"): rss,
            ("mandelbrot", "sequential", IND, 1, "peak_vms_bytes"): vms,
            ("bubble_sort", "sequential", IND, 1, "peak_rss_bytes"): rss * 1.02,
            ("bubble_sort", "sequential", IND, 1, "peak_vms_bytes"): vms * 1.01,
        }

    assert dec.decide(data(mem(1.3, 3.0)))[5].verdict == dec.CONFIRMS
    vms_only = dec.decide(data(mem(1.0, 3.0)))[5]  # VMS alone does not make memory grow
    assert vms_only.verdict == dec.CONTRADICTS
    assert {h.name: h.verdict for h in vms_only.halves}["RSS grows"] == dec.CONTRADICTS


def test_claims_3_and_6_are_equivalence_tests() -> None:
    numpy = {
        ("numpy_blas", "numpy", IND, 1, "time_s"): 1.02,
        ("numpy_fft", "numpy", IND, 1, "time_s"): 0.99,
    }
    assert dec.decide(data(numpy))[3].verdict == dec.CONFIRMS
    moved = numpy | {("numpy_vectorized", "numpy", IND, 1, "time_s"): 1.5}
    d = dec.decide(data(moved))[3]
    assert d.verdict == dec.CONTRADICTS and "numpy_vectorized ×1.5" in d.reason
    power = {("factorial", "threaded-numerical", IND, n, "power_w"): 1.02 for n in (1, 2)}
    assert dec.decide(data(power, measured=True))[6].verdict == dec.CONFIRMS
    hot = {("factorial", "threaded-numerical", IND, n, "power_w"): 1.6 for n in (1, 2)}
    assert dec.decide(data(hot, measured=True))[6].verdict == dec.CONTRADICTS
    modelled = dec.decide(data(power))[6]
    assert modelled.verdict == dec.NOT_TESTABLE and "modelled" in modelled.reason


def test_a_verdict_carried_by_one_replicate_is_unstable() -> None:
    # two replicates say ×1.0, one ×1.9: the mean says "slower" only while that one weighs
    d = dec.decide(data(seq((1.35, 1.33, 1.36)) | seq((1.0, 1.9, 1.0), "bubble_sort")))[1]
    assert d.stability is not None and 0.0 < d.stability < 1.0
    if d.verdict != dec.INCONCLUSIVE:
        assert d.stability >= dec.STABILITY_NEEDED


def test_stability_downgrades_a_decided_verdict_below_ninety_percent() -> None:
    found = None
    for spread in np.linspace(0.005, 0.2, 40):
        values = (1.3, 1.3 + spread, 1.3 - spread)
        d = dec.decide(data(seq(values)))[1]
        if d.verdict == dec.INCONCLUSIVE and d.reason.startswith("confirms in only"):
            found = d
            break
    assert found is not None, "no borderline case found"
    assert found.stability is not None and found.stability < 0.5
    assert found.replicates_needed is not None and found.replicates_needed >= 4


def test_decide_is_a_pure_function_of_its_data() -> None:
    cells = seq((1.2, 1.3, 1.25)) | threaded("factorial", IND, {1: 1.5, 2: 0.8})
    first = dec.decide(data(cells))
    again = dec.decide(data(cells))
    assert {k: (v.verdict, v.stability) for k, v in first.items()} == {
        k: (v.verdict, v.stability) for k, v in again.items()
    }
    quick = dec.decide(data(cells), detail=False)
    assert {k: (v.verdict, v.stability) for k, v in quick.items()} == {
        k: (v.verdict, v.stability) for k, v in first.items()
    }
