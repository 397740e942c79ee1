"""Energy net of the idle baseline (analysis/idle.py): derived from each replicate's idle power
over the energy's own window, never stored; in compare, its JSON and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gilwatt.analysis.idle import NET, read_idle
from gilwatt.analysis.result import compare_study
from gilwatt.analysis.tables import render_json, render_text
from gilwatt.store import Store
from gilwatt.store.synthetic import SyntheticRun, write_study

RAPL = "rapl:package-0"


def _store(path: Path, idle_w: dict[int, float]) -> Path:
    runs = [
        SyntheticRun("mandelbrot", 1, mode, block, t, energy_j=12.0 * t)
        for block in (1, 2, 3)
        for mode, t in (("gil", 1.0 + 0.01 * block), ("ft", 1.3 + 0.01 * block))
    ]
    write_study(path, runs, energy_source=RAPL)
    with Store.open(path) as store:
        for block, watts in idle_w.items():
            store.add_idle_baseline(1, block, block, 2 * 10**9, round(watts * 2e6), RAPL, None)
    return path


def test_net_energy_is_gross_minus_idle_power_over_the_energys_own_window(
    tmp_path: Path,
) -> None:
    db = _store(tmp_path / "s.db", {1: 4.0, 2: 5.0})  # replicate 3 measured none
    assert [(b.block, b.power_w) for b in read_idle(db, 1)] == [(1, 4.0), (2, 5.0)]
    result = compare_study(db, n_resamples=200)
    for run in result.data.valid_runs:
        gross, window = run.metrics["energy_j"], run.metrics["window_s"]
        assert gross is not None and window is not None
        if run.block == 3:
            assert run.metrics.get(NET) is None
        else:
            idle = {1: 4.0, 2: 5.0}[run.block]
            assert run.metrics[NET] == pytest.approx(gross - idle * window)
    with Store.open(db) as store:  # derived, never stored
        assert NET not in json.dumps(store.studies()[0].spec)
    text = render_text(result)
    assert "idle baseline: 2 replicate(s), idle power median 4.50 W (range 4.00–5.00; " in text
    assert "energy net of idle (4 runs): gil median" in text and "net-energy" in text
    doc = json.loads(render_json(result))
    assert [b["power_w"] for b in doc["idle_baselines"]] == [4.0, 5.0]
    assert any(c["metric"] == NET and c["estimate"] for c in doc["comparisons"])
    from gilwatt.analysis.result import analyse_study
    from gilwatt.report import render_study_report

    with Store.open(db) as store:
        page = render_study_report(analyse_study(store, 1))
    assert "<h2>Energy net of idle</h2>" in page and "4.00" in page


def test_without_a_baseline_nothing_changes(tmp_path: Path) -> None:
    result = compare_study(_store(tmp_path / "s.db", {}), n_resamples=200)
    assert result.idle == [] and "idle baseline" not in render_text(result)
    assert all(r.metrics.get(NET) is None for r in result.data.valid_runs)
