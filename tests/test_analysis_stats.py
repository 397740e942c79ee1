"""Statistics against hand-computed values (no scipy on the expected side unless stated)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from gilwatt.analysis import stats

T_975_DF2 = 4.302653  # Student t quantile 0.975, 2 degrees of freedom (printed tables)


def test_log_space_ci_for_three_ratios_matches_hand_computation() -> None:
    ratios = [1.1, 1.2, 1.3]
    logs = [math.log(r) for r in ratios]
    mean = sum(logs) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / 2)
    half = T_975_DF2 * sd / math.sqrt(3)

    est = stats.ratio_estimate(ratios)

    assert est is not None
    assert est.n == 3
    assert est.geomean == pytest.approx(math.exp(mean), rel=1e-12)
    assert est.geomean == pytest.approx(1.197216, abs=1e-6)
    assert est.t_low == pytest.approx(math.exp(mean - half), rel=1e-6)
    assert est.t_high == pytest.approx(math.exp(mean + half), rel=1e-6)
    assert est.t_low == pytest.approx(0.97282, abs=1e-4)
    assert est.t_high == pytest.approx(1.47334, abs=1e-4)


def test_one_sample_p_value_for_df2_matches_closed_form() -> None:
    # With 2 degrees of freedom the two-sided p is 1 - t / sqrt(t^2 + 2).
    logs = [math.log(r) for r in (1.1, 1.2, 1.3)]
    mean = sum(logs) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / 2)
    t = mean / (sd / math.sqrt(3))
    est = stats.ratio_estimate([1.1, 1.2, 1.3])
    assert est is not None and est.p_value is not None
    assert est.p_value == pytest.approx(1 - t / math.sqrt(t * t + 2), rel=1e-9)


def test_single_pair_has_no_interval_and_says_so() -> None:
    est = stats.ratio_estimate([1.25])
    assert est is not None
    assert est.n == 1
    assert est.geomean == 1.25
    assert est.t_low is None and est.boot_low is None and est.p_value is None
    assert "only 1 pair" in est.note
    assert stats.direction(est, None) is None


def test_non_positive_ratios_are_dropped_and_counted() -> None:
    est = stats.ratio_estimate([1.0, 0.0, -1.0, float("nan"), 1.0], dropped=2)
    assert est is not None
    assert est.n == 2
    assert est.dropped == 5
    assert stats.ratio_estimate([0.0]) is None


def test_identical_ratios_give_a_degenerate_interval_and_exact_p() -> None:
    est = stats.ratio_estimate([1.5, 1.5, 1.5])
    assert est is not None
    assert est.t_low == pytest.approx(1.5) and est.t_high == pytest.approx(1.5)
    assert est.p_value == 0.0
    unchanged = stats.ratio_estimate([1.0, 1.0])
    assert unchanged is not None and unchanged.p_value == 1.0


def test_bootstrap_is_reproducible_and_brackets_the_geomean() -> None:
    ratios = [0.91, 0.95, 1.02, 0.88, 0.97, 0.93, 0.99, 0.9, 0.96, 0.94]
    a = stats.ratio_estimate(ratios)
    b = stats.ratio_estimate(ratios)
    assert a is not None and b is not None
    assert (a.boot_low, a.boot_high) == (b.boot_low, b.boot_high)
    assert a.boot_low is not None and a.boot_high is not None
    assert min(ratios) <= a.boot_low < a.geomean < a.boot_high <= max(ratios)
    other_seed = stats.bootstrap_interval(np.log(ratios), seed=1)
    assert other_seed != (math.log(a.boot_low), math.log(a.boot_high))


def test_holm_on_known_p_values() -> None:
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.01, None, 0.02]) == [pytest.approx(0.02), None, pytest.approx(0.02)]
    assert stats.holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])


def test_benjamini_hochberg_on_known_p_values() -> None:
    # ranks: 0.005*4/1=0.02, 0.01*4/2=0.02, 0.03*4/3=0.04, 0.04*4/4=0.04
    assert stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx(
        [0.02, 0.04, 0.04, 0.02]
    )
    assert stats.benjamini_hochberg([None]) == [None]


def test_direction_rule() -> None:
    slower = stats.ratio_estimate([1.2, 1.25, 1.22])
    faster = stats.ratio_estimate([0.5, 0.52, 0.49])
    assert slower is not None and faster is not None
    assert stats.direction(slower, 0.01) == stats.HIGHER
    assert stats.direction(faster, 0.01) == stats.LOWER
    assert stats.direction(slower, 0.05) == stats.NO_DIFFERENCE  # alpha is strict
    assert stats.direction(None, 0.01) is None


def test_summary_median_quartiles_mad_and_outlier_flag() -> None:
    s = stats.summarize([4.0, 1.0, 3.0, 100.0, 2.0, None])
    assert s is not None
    assert (s.n, s.median, s.q1, s.q3, s.iqr) == (5, 3.0, 2.0, 4.0, 2.0)
    assert s.mad == 1.0  # |x - 3| = 1, 2, 0, 97, 1
    assert (s.min, s.max) == (1.0, 100.0)
    assert s.outliers == 1  # 0.6745 * 97 / 1 > 3.5
    assert stats.summarize([None, float("nan")]) is None


def test_geometric_mean() -> None:
    assert stats.geometric_mean([2.0, 8.0]) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        stats.geometric_mean([1.0, 0.0])


def test_within_margin_is_symmetric_in_log_space() -> None:
    assert stats.within_margin(1 / 1.1, 1.1)
    assert not stats.within_margin(0.90, 1.05)  # 0.90 < 1/1.1
    assert not stats.within_margin(0.95, 1.11)
    assert not stats.within_margin(None, 1.0)


def test_welch_log_difference_agrees_with_scipy() -> None:
    a = np.log([1.30, 1.25, 1.40, 1.35])
    b = np.log([0.55, 0.50, 0.60])
    diff = stats.welch_log_difference(a, b)
    assert diff is not None
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert diff.p_value == pytest.approx(float(ref.pvalue), rel=1e-9)
    assert diff.ratio == pytest.approx(math.exp(a.mean() - b.mean()))
    assert diff.low < diff.ratio < diff.high
    assert stats.welch_log_difference(a, b[:1]) is None


def test_no_bootstrap_interval_below_ten_pairs() -> None:
    # at 3 pairs a percentile bootstrap is [min, max] of the ratios: about 76% coverage
    few = stats.ratio_estimate([1.1, 1.2, 1.3])
    assert few is not None and few.t_low is not None
    assert few.boot_low is None and "n too small" in few.note
    enough = stats.ratio_estimate([1.1, 1.2, 1.3, 1.15, 1.25, 1.18, 1.22, 1.12, 1.28, 1.2])
    assert enough is not None and enough.boot_low is not None and enough.note == ""
