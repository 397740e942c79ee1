"""Cells, paired ratios per block, unpaired leftovers and corrected verdicts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gilwatt.analysis import stats
from gilwatt.analysis.compare import analyse, paired_ratios
from gilwatt.analysis.dataset import load_study
from gilwatt.store.synthetic import SyntheticRun, write_study

NOISE = (1.00, 1.03, 0.98, 1.01, 0.99, 1.02)


def test_paired_ratios_pair_by_block_and_count_leftovers() -> None:
    ratios, unpaired = paired_ratios({1: 2.0, 2: 3.0, 4: 1.0}, {1: 1.0, 2: 2.0, 3: 5.0})
    assert ratios == {1: 2.0, 2: 1.5}
    assert unpaired == 2  # block 3 (base only) and block 4 (mode only)


def test_ratio_is_per_block_not_ratio_of_medians(tmp_path: Path) -> None:
    # gil times drift upwards across blocks; ft is exactly 1.5x its own block's gil run
    gil = [1.0, 2.0, 4.0]
    runs = [SyntheticRun("w", 1, "gil", b + 1, t) for b, t in enumerate(gil)]
    runs += [SyntheticRun("w", 1, "ft", b + 1, 1.5 * t) for b, t in enumerate(gil)]
    write_study(tmp_path / "s.db", runs)
    result = analyse(load_study(tmp_path / "s.db"))
    comp = next(c for c in result.comparisons if c.metric == "time_s")
    assert comp.estimate is not None
    assert comp.estimate.geomean == pytest.approx(1.5)
    assert comp.estimate.t_low == pytest.approx(1.5) and comp.estimate.t_high == pytest.approx(1.5)
    assert comp.verdict == "slower"


def test_invalid_run_drops_its_pair_and_is_counted(tmp_path: Path) -> None:
    runs = []
    for b in range(1, 5):
        runs.append(SyntheticRun("w", 1, "gil", b, 1.0 * NOISE[b]))
        bad = b == 3
        runs.append(
            SyntheticRun(
                "w",
                1,
                "ft",
                b,
                1.2 * NOISE[b + 1],
                status="invalid" if bad else "done",
                reason="gate",
            )
        )
    write_study(tmp_path / "s.db", runs)
    result = analyse(load_study(tmp_path / "s.db"))
    comp = next(c for c in result.comparisons if c.metric == "time_s")
    assert comp.estimate is not None
    assert comp.estimate.n == 3 and comp.unpaired == 1
    assert sorted(comp.ratios) == [1, 2, 4]
    (cell,) = result.cells
    assert cell.valid == {"gil": 4, "ft": 3} and cell.planned == {"gil": 4, "ft": 4}


def test_holm_is_applied_across_the_cells_of_one_column(tmp_path: Path) -> None:
    # Three cells with a small, noisy slow-down: each raw p < 0.05, but Holm triples the smallest.
    runs = []
    shifts = {"a": (1.06, 1.08, 1.07), "b": (1.05, 1.09, 1.06), "c": (1.07, 1.05, 1.08)}
    for w, ratios in shifts.items():
        for b, r in enumerate(ratios, start=1):
            runs += [SyntheticRun(w, 1, "gil", b, 1.0), SyntheticRun(w, 1, "ft", b, r)]
    write_study(tmp_path / "s.db", runs)
    result = analyse(load_study(tmp_path / "s.db"), metrics=["time_s"])
    comps = sorted(result.comparisons, key=lambda c: c.cell.workload)
    raw = [c.estimate.p_value if c.estimate else None for c in comps]
    assert [c.adjusted_p for c in comps] == pytest.approx(stats.holm(raw))
    for comp in comps:
        assert comp.direction == stats.direction(comp.estimate, comp.adjusted_p)
    bh = analyse(load_study(tmp_path / "s.db"), metrics=["time_s"], correction="bh")
    assert [
        c.adjusted_p for c in sorted(bh.comparisons, key=lambda c: c.cell.workload)
    ] == pytest.approx(stats.benjamini_hochberg(raw))


def test_three_modes_give_three_pairs(tmp_path: Path) -> None:
    runs = []
    for b in range(1, 4):
        runs += [
            SyntheticRun("w", 1, "gil", b, 1.0 * NOISE[b]),
            SyntheticRun("w", 1, "ft-gil", b, 1.1 * NOISE[b + 1]),
            SyntheticRun("w", 1, "ft", b, 1.21 * NOISE[b + 2]),
        ]
    write_study(tmp_path / "s.db", runs)
    result = analyse(load_study(tmp_path / "s.db"), metrics=["time_s"])
    assert result.pairs == [("ft", "gil"), ("ft-gil", "gil"), ("ft", "ft-gil")]
    by_pair = {(c.mode, c.base): c.estimate for c in result.comparisons}
    ft_gil, ftgil_gil, ft_ftgil = (by_pair[p] for p in result.pairs)
    assert ft_gil and ftgil_gil and ft_ftgil
    # log ratios compose exactly within each block: ft/gil = ft/ft-gil * ft-gil/gil
    assert ft_gil.log_mean == pytest.approx(ftgil_gil.log_mean + ft_ftgil.log_mean)
    assert math.exp(ft_gil.log_mean) == pytest.approx(1.21, rel=0.05)


def test_single_block_cannot_tell(tmp_path: Path) -> None:
    write_study(
        tmp_path / "s.db", [SyntheticRun("w", 1, "gil", 1, 1.0), SyntheticRun("w", 1, "ft", 1, 2.0)]
    )
    result = analyse(load_study(tmp_path / "s.db"), metrics=["time_s"])
    (comp,) = result.comparisons
    assert comp.direction is None and comp.verdict == "cannot tell: 1 pair"
    assert comp.estimate is not None and comp.estimate.geomean == pytest.approx(2.0)


def test_summaries_per_cell_and_mode(tmp_path: Path) -> None:
    runs = [SyntheticRun("w", 2, "gil", b, t) for b, t in enumerate([1.0, 3.0, 2.0, 10.0], start=1)]
    write_study(tmp_path / "s.db", runs)
    (cell,) = analyse(load_study(tmp_path / "s.db")).cells
    s = cell.summaries["gil"]["time_s"]
    assert s is not None
    assert (s.n, s.median, s.min, s.max) == (
        4,
        pytest.approx(2.5),
        pytest.approx(1.0),
        pytest.approx(10.0),
    )
    assert cell.cell.workers == 2 and cell.cell.params_label == ""
