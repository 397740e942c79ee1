"""Run quality (analysis/quality.py): runs by status, disturbed runs with their foreign load
and their reruns' fate, and the bimodal cells and sentinel drift recorded per replicate."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from gilwatt.analysis.quality import NOT_RECORDED, base_key, quality_lines, run_quality
from gilwatt.analysis.result import compare_study
from gilwatt.analysis.tables import render_json, render_text
from gilwatt.store import Store
from gilwatt.store.synthetic import SyntheticRun, write_study


def _store(path: Path) -> Path:
    runs = [
        SyntheticRun("mandelbrot", 1, mode, block, 1.0 + 0.01 * block)
        for block in (1, 2, 3)
        for mode in ("gil", "ft")
    ]
    runs[2].status, runs[2].reason = "disturbed", "disturbed: foreign CPU 1.40 cores > 0.10"
    write_study(path, runs)
    return path


def test_a_store_without_recorded_quality_says_so(tmp_path: Path) -> None:
    quality = run_quality(_store(tmp_path / "s.db"), 1)
    assert quality.statuses == {"done": 5, "disturbed": 1} and not quality.recorded
    assert quality_lines(quality)[-1] == NOT_RECORDED


def test_disturbed_runs_show_their_load_and_their_reruns_fate(tmp_path: Path) -> None:
    db = _store(tmp_path / "s.db")
    with Store.open(db) as store:
        rows = store.study_runs(1)
        disturbed = next(r for r in rows if r.status == "disturbed")
        assert disturbed.run_id is not None
        store.add_run_machine(disturbed.run_id, (3.25, 4, 0.0, 1.4, None, None))
        again = dataclasses.replace(
            disturbed, run_key=disturbed.run_key + "~r1", position=99, status="done", reason=""
        )
        store.add_study_runs(1, [again])
        (record,) = store.studies()
        quality_doc = {
            "2": {"bimodal": {"mandelbrot{}/w1/gil": 1.6}, "drift": {}},
            "3": {"bimodal": {"mandelbrot{}/w1/gil": 1.7}, "drift": {"gil": [0.12, 0.01]}},
        }
        store.update_study_spec(1, {**record.spec, "quality": quality_doc})
    quality = run_quality(db, 1)
    assert base_key(again.run_key) == (disturbed.run_key, 1)
    lines = quality_lines(quality)
    assert lines[0] == "runs by status: 6 done, 1 disturbed"
    assert lines[1] == "disturbed: 1 run(s), left out and rerun"
    assert lines[2] == (
        f"  {disturbed.run_key}: foreign CPU 1.40 cores, load 3.25; rerun {again.run_key}: done"
    )
    assert lines[3] == "bimodal cells: mandelbrot{}/w1/gil (max/min 1.70, from replicate 2)"
    assert lines[4] == (
        "sentinel drift: gil +12% over 3 replicates (from replicate 3, trend p=0.010)"
    )
    result = compare_study(db, n_resamples=200)
    assert "== run quality ==\n" + "\n".join(lines) in render_text(result)
    doc = json.loads(render_json(result))["run_quality"]
    assert doc["statuses"] == {"done": 6, "disturbed": 1} and doc["recorded"] is True
    assert doc["disturbed"][0]["foreign_cpu_cores"] == 1.4
    from gilwatt.analysis.result import analyse_study
    from gilwatt.report import render_study_report

    with Store.open(db) as store:
        page = render_study_report(analyse_study(store, 1))
    section = page[page.index("<h2>Run quality</h2>") :]
    assert "Disturbed runs (1)" in section and disturbed.run_key in section
    assert "1.40" in section and "3.25" in section and f"rerun {again.run_key}: done" in section
    assert "Sentinel drift" in section and "gil +12% over 3 replicates" in section
