"""Speed-up and the Amdahl / USL fits on exact synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from gilwatt.analysis import scaling


def test_amdahl_recovers_the_serial_fraction_from_exact_data() -> None:
    workers = [1, 2, 4, 8]
    s = 0.2
    speedup = [1 / (s + (1 - s) / n) for n in workers]
    fit = scaling.fit_amdahl(workers, speedup)
    assert fit is not None
    assert fit.params["s"] == pytest.approx(0.2, abs=1e-6)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.dof == 2


def test_usl_recovers_sigma_and_kappa_from_exact_data() -> None:
    workers = [1, 2, 4, 8, 16]
    sigma, kappa = 0.05, 0.002
    speedup = scaling.usl_speedup(np.asarray(workers, dtype=float), sigma, kappa).tolist()
    fit = scaling.fit_usl(workers, speedup)
    assert fit is not None
    assert fit.params["sigma"] == pytest.approx(sigma, abs=1e-6)
    assert fit.params["kappa"] == pytest.approx(kappa, abs=1e-7)
    assert fit.dof == 2
    assert scaling.usl_peak(sigma, kappa) == pytest.approx(np.sqrt(0.95 / 0.002))


def test_two_worker_counts_fit_amdahl_exactly_and_leave_usl_underdetermined() -> None:
    # S(2) = 1.6 -> s = 2/1.6 - 1 = 0.25
    fit = scaling.fit_amdahl([1, 2], [1.0, 1.6])
    assert fit is not None
    assert fit.params["s"] == pytest.approx(0.25, abs=1e-6)
    assert fit.dof == 0 and "cannot be judged" in fit.note
    assert scaling.fit_usl([1, 2], [1.0, 1.6]) is None
    speedup, eff, amdahl, usl, note = scaling.curve([2, 1], [0.625, 1.0])
    assert speedup == pytest.approx([1.0, 1.6]) and eff == pytest.approx([1.0, 0.8])
    assert amdahl is not None and usl is None
    assert "USL needs 2 worker counts above 1" in note


def test_three_worker_counts_fit_usl_exactly() -> None:
    workers = [1, 2, 4]
    speedup = scaling.usl_speedup(np.asarray(workers, dtype=float), 0.1, 0.01).tolist()
    fit = scaling.fit_usl(workers, speedup)
    assert fit is not None and fit.dof == 0
    assert fit.params["sigma"] == pytest.approx(0.1, abs=1e-6)
    assert fit.params["kappa"] == pytest.approx(0.01, abs=1e-6)


def test_gil_bound_work_fits_serial_fraction_near_one() -> None:
    fit = scaling.fit_amdahl([1, 2, 4], [1.0, 1.0, 1.0])
    assert fit is not None
    assert fit.params["s"] == pytest.approx(1.0, abs=1e-6)
    assert fit.r2 is None  # S does not vary: R² undefined


def test_no_single_worker_run_means_no_speedup() -> None:
    speedup, _eff, amdahl, usl, note = scaling.curve([2, 4], [1.0, 0.6])
    assert speedup == [] and amdahl is None and usl is None
    assert "T(1)" in note


def test_usl_peak_is_none_without_coherency_cost() -> None:
    assert scaling.usl_peak(0.3, 0.0) is None
