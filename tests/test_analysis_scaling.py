"""Speed-up and the Amdahl / USL fits on exact synthetic data."""

from __future__ import annotations

from pathlib import Path

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
    assert "USL needs 3 worker counts above 1" in note


def test_usl_needs_a_spare_degree_of_freedom() -> None:
    workers = [1, 2, 4]
    speedup = scaling.usl_speedup(np.asarray(workers, dtype=float), 0.1, 0.01).tolist()
    assert scaling.fit_usl(workers, speedup) is None  # exactly determined: no peak printed
    workers = [1, 2, 4, 8]
    speedup = scaling.usl_speedup(np.asarray(workers, dtype=float), 0.1, 0.01).tolist()
    fit = scaling.fit_usl(workers, speedup)
    assert fit is not None and fit.dof == 1
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


def _study_with_cores_capped(tmp_path: Path) -> scaling.StudyAnalysis:
    from gilwatt.analysis.compare import analyse
    from gilwatt.analysis.dataset import load_study
    from gilwatt.store.synthetic import SyntheticRun, write_study

    # perfectly parallel work on 2 CPUs: S = 1, 1.96, 1.96 (the cores cap N = 4)
    runs = []
    for block, jitter in ((1, 1.0), (2, 1.01), (3, 0.99)):
        for workers, t in ((1, 2.0), (2, 1.02), (4, 1.02)):
            runs.append(SyntheticRun("factorial", workers, "ft", block, t * jitter))
    path = tmp_path / "s.db"
    write_study(path, runs)
    return analyse(load_study(path))


def test_fits_stop_at_the_usable_cpus_and_label_oversubscribed_cells(tmp_path: Path) -> None:
    analysis = _study_with_cores_capped(tmp_path)
    capped = scaling.scaling_curves(analysis, usable_cpus=2)[0]
    assert capped.oversubscribed == [4] and "oversubscribed N=4" in capped.note
    assert capped.fit_top == 2 and capped.amdahl is not None
    assert capped.amdahl.params["s"] == pytest.approx(0.02, abs=1e-6)  # 2 / S(2) - 1, not 0.30
    low, high = capped.amdahl.intervals["s"]
    assert 0.0 <= low <= capped.amdahl.params["s"] <= high < 0.1
    naive = scaling.scaling_curves(analysis)[0]  # no ceiling known: the cap reads as serial code
    assert naive.amdahl is not None and naive.amdahl.params["s"] > 0.25
