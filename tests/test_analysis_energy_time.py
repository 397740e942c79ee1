"""Energy vs time and power vs utilisation regressions."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from gilwatt.analysis import energy_time
from gilwatt.analysis.dataset import RunRecord


def _run(
    time_s: float, energy_j: float | None, util: float = 1.0, source: str = "rapl:package-0"
) -> RunRecord:
    rec = RunRecord(
        "k", 1, 0, "w", "{}", 1, "gil", "gil", "done", "", 1, valid=True, energy_source=source
    )
    rec.metrics = {"time_s": time_s, "energy_j": energy_j, "cpu_util": util}
    return rec


def test_ols_on_exact_data() -> None:
    fit = energy_time.ols([1.0, 2.0, 3.0, 4.0], [5.0, 8.0, 11.0, 14.0])  # y = 2 + 3x
    assert fit is not None
    assert fit.slope == pytest.approx(3.0) and fit.intercept == pytest.approx(2.0)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.slope_low == pytest.approx(3.0) and fit.slope_high == pytest.approx(3.0)


def test_ols_intervals_match_the_textbook_standard_errors() -> None:
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    y = [2.1, 3.9, 6.2, 7.8, 10.1]
    fit = energy_time.ols(x, y)
    ref = sps.linregress(x, y)
    t = sps.t.ppf(0.975, 3)
    assert fit is not None and fit.slope_low is not None and fit.intercept_high is not None
    assert fit.slope == pytest.approx(ref.slope)
    assert fit.r2 == pytest.approx(ref.rvalue**2)
    assert fit.slope_low == pytest.approx(ref.slope - t * ref.stderr)
    assert fit.intercept_high == pytest.approx(ref.intercept + t * ref.intercept_stderr)


def test_ols_needs_varying_x() -> None:
    assert energy_time.ols([1.0, 1.0], [2.0, 3.0]) is None
    assert energy_time.ols([1.0], [2.0]) is None
    two = energy_time.ols([1.0, 2.0], [2.0, 3.0])
    assert two is not None and two.slope_low is None


def test_constant_power_is_proportional() -> None:
    runs = [_run(t, 25.0 * t * (1 + 0.01 * (-1) ** i)) for i, t in enumerate([0.5, 1, 2, 4, 8, 16])]
    result = energy_time.analyse_energy_time(runs)
    assert result.n == 6
    assert result.proportional == 1
    assert result.energy_vs_time is not None
    assert result.energy_vs_time.slope == pytest.approx(25.0, rel=0.02)
    assert not result.estimate
    assert result.loglog is not None and result.loglog.slope == pytest.approx(1.0, abs=0.01)


def test_large_fixed_offset_is_not_proportional() -> None:
    # E = 100 J + 1 W * t over t = 1..64 s: log-log slope well below 0.9
    runs = [_run(t, 100.0 + t + 0.1 * i) for i, t in enumerate([1, 2, 4, 8, 16, 32, 64])]
    result = energy_time.analyse_energy_time(runs)
    assert result.proportional == -1
    assert "outside" in result.reason


def test_too_few_runs_cannot_tell() -> None:
    result = energy_time.analyse_energy_time([_run(1.0, 10.0), _run(2.0, 20.0)])
    assert result.proportional is None and "only 2 runs" in result.reason
    empty = energy_time.analyse_energy_time([_run(1.0, None)])
    assert empty.n == 0 and empty.proportional is None and "no valid run" in empty.reason


def test_power_vs_utilisation_and_model_estimate_flag() -> None:
    # power = 10 W + 5 W per busy core; util 1 -> 15 W, util 2 -> 20 W
    runs = [
        _run(t, (10 + 5 * u) * t, u, source="model:ccf-linear")
        for t in (1.0, 2.0, 3.0)
        for u in (1.0, 2.0)
    ]
    result = energy_time.analyse_energy_time(runs)
    assert result.estimate and result.sources == ["model:ccf-linear"]
    assert result.power_vs_util is not None
    assert result.power_vs_util.slope == pytest.approx(5.0)
    assert result.power_vs_util.intercept == pytest.approx(10.0)
    assert result.power_change == pytest.approx(20 / 15 - 1)
    assert result.util_range == (1.0, 2.0)


def test_proportionality_band_edges() -> None:
    def fit(lo: float, hi: float) -> energy_time.LinearFit:
        return energy_time.LinearFit(10, (lo + hi) / 2, 0.0, 0.99, lo, hi, None, None)

    assert energy_time.proportionality(fit(0.95, 1.05))[0] == 1
    assert energy_time.proportionality(fit(1.2, 1.3))[0] == -1
    assert energy_time.proportionality(fit(0.5, 0.8))[0] == -1
    assert energy_time.proportionality(fit(0.85, 1.05))[0] is None
    assert math.isclose(fit(0.9, 1.1).slope, 1.0)
    assert energy_time.proportionality(fit(0.9, 1.1))[0] == 1
