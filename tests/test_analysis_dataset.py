"""Loading a study from a real SQLite store: per-run metrics, validity, study selection."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from gilwatt.analysis.dataset import load_study
from gilwatt.errors import ConfigError, StoreError, UnknownNameError
from gilwatt.readback import HostInfo
from gilwatt.store import Store
from gilwatt.store.synthetic import SyntheticRun, write_study

MIB = 2**20


def _one(tmp_path: Path, **kw: object) -> dict[str, float | None]:
    run = SyntheticRun("w", 2, "gil", 1, 2.0, **kw)  # type: ignore[arg-type]
    write_study(tmp_path / "s.db", [run])
    data = load_study(tmp_path / "s.db", family_of=lambda _w: "threaded-numerical")
    (rec,) = data.runs
    assert rec.valid, rec.exclusion
    return rec.metrics


@pytest.mark.parametrize("samples", [5, 60])
def test_region_metrics_come_from_the_boundary_samples(tmp_path: Path, samples: int) -> None:
    run = SyntheticRun(
        "w", 2, "gil", 1, 2.0, cpu_s=3.0, energy_j=40.0, rss_bytes=50 * MIB, vms_bytes=400 * MIB,
        uss_bytes=30 * MIB, ctx_voluntary=100, ctx_involuntary=10, sys_share=0.25,
        core_busy_ticks=(150, 50),
    )  # fmt: skip
    write_study(tmp_path / "s.db", [run], samples_per_run=samples)
    (rec,) = load_study(tmp_path / "s.db").runs
    m = rec.metrics
    assert m["time_s"] == pytest.approx(2.0)
    assert m["cpu_s"] == pytest.approx(3.0)
    assert m["cpu_sys_s"] == pytest.approx(0.75) and m["sys_share"] == pytest.approx(0.25)
    assert m["cpu_util"] == pytest.approx(1.5) and m["cpu_util_per_worker"] == pytest.approx(0.75)
    assert m["energy_j"] == pytest.approx(40.0) and m["power_w"] == pytest.approx(20.0)
    assert m["ctx_vol_per_s"] == pytest.approx(50.0) and m["ctx_invol_per_s"] == pytest.approx(5.0)
    assert m["ctx_per_s"] == pytest.approx(55.0)
    assert m["peak_rss_bytes"] == 50 * MIB
    assert m["run_maxrss_bytes"] == 51 * MIB
    assert m["peak_vms_bytes"] == 400 * MIB
    assert m["peak_uss_bytes"] == 30 * MIB
    assert m["threads_seen"] == 3
    # busy (150, 50): Gini 0.25, normalised by (n-1)/n = 0.5 -> 0.5, balance 0.5
    assert m["core_balance"] == pytest.approx(0.5)
    assert rec.energy_estimate and rec.energy_source == "model:ccf-linear"


def test_even_cores_balance_to_one(tmp_path: Path) -> None:
    assert _one(tmp_path, core_busy_ticks=(80, 80))["core_balance"] == pytest.approx(1.0)


def test_exclusions_are_kept_with_their_reasons(tmp_path: Path) -> None:
    runs = [
        SyntheticRun("w", 1, "gil", 1, 1.0),
        SyntheticRun("w", 1, "ft", 1, 1.0, gil=1),  # GIL came back: the reader's own gate
        SyntheticRun(
            "w", 1, "gil", 2, 1.0, status="invalid", reason="workload failed verification"
        ),
        SyntheticRun(
            "w", 1, "ft", 2, 1.0, status="failed", reason="exit code 1", run_status="failed"
        ),
        SyntheticRun("w", 1, "gil", 3, 1.0, has_region=False),
        SyntheticRun("w", 1, "ft", 3, 1.0, status="skipped", reason="interpreter vanished"),
    ]
    write_study(tmp_path / "s.db", runs)
    data = load_study(tmp_path / "s.db")
    reasons = {(r.mode, r.block): r.exclusion for r in data.runs}
    assert [r.run_key for r in data.valid_runs] == ["w{}/w1/gil#b1"]
    assert reasons[("ft", 1)] == (
        "GIL was on at kernel start, mode ft needs it off; GIL was on at kernel end, mode ft needs it off"
    )
    assert reasons[("gil", 2)] == "invalid: workload failed verification"
    assert reasons[("ft", 2)] == "failed: exit code 1"
    assert reasons[("gil", 3)] == "no 'kernel' region recorded"
    assert reasons[("ft", 3)] == "skipped: interpreter vanished"
    assert len(data.excluded) == 5


def test_region_and_family_come_from_the_study_definition(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    write_study(path, [SyntheticRun("w", 1, "gil", 1, 1.5)])
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE regions SET name = 'main'")
        spec = {"workloads": {"w": {"family": "sequential", "region": "main"}}}
        conn.execute("UPDATE studies SET spec_json = ?", (json.dumps(spec),))
    (rec,) = load_study(path).runs
    assert rec.valid and rec.region == "main" and rec.family == "sequential"
    assert rec.metrics["time_s"] == pytest.approx(1.5)


def test_default_study_is_the_latest_and_others_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    write_study(path, [SyntheticRun("a", 1, "gil", 1, 1.0)], name="first")
    write_study(path, [SyntheticRun("b", 1, "gil", 1, 1.0)], name="second")
    latest = load_study(path)
    assert latest.study.name == "second" and [s.name for s in latest.other_studies] == ["first"]
    assert [r.workload for r in load_study(path, 1).runs] == ["a"]
    with pytest.raises(UnknownNameError, match="unknown study '9'"):
        load_study(path, 9)


def test_reading_never_changes_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    write_study(path, [SyntheticRun("a", 1, "gil", b, 1.0) for b in (1, 2)])
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    load_study(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_bad_paths_get_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_study(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite")
    with pytest.raises(StoreError, match="cannot be read as a gilwatt study"):
        load_study(junk)
    empty = tmp_path / "empty.db"
    write_study(empty, [])
    with sqlite3.connect(empty) as conn:
        conn.execute("DELETE FROM studies")
    with pytest.raises(ConfigError, match="holds no study"):
        load_study(empty)


def test_region_without_boundary_samples_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    write_study(path, [SyntheticRun("w", 1, "gil", 1, 2.0, cpu_s=1.5, vms_bytes=300 * MIB)])
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE regions SET begin_sample_seq = NULL, end_sample_seq = NULL, peak_rss_bytes = NULL"
        )
    (rec,) = load_study(path).runs
    m = rec.metrics
    assert rec.valid
    assert m["cpu_s"] == pytest.approx(1.5)  # the program's own process_time at the markers
    assert m["energy_j"] is None and m["power_w"] is None and m["ctx_per_s"] is None
    assert m["peak_vms_bytes"] == 300 * MIB  # whole-run peak
    assert m["peak_rss_bytes"] == 50 * MIB  # highest sampled RSS of the run


def test_a_callers_open_store_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    write_study(path, [SyntheticRun("a", 1, "gil", 1, 1.0)])
    with Store.open(path) as store:
        data = load_study(store)
        assert data.runs[0].valid
        assert not store._conn.in_transaction
        tables = store._conn.execute("SELECT name FROM temp.sqlite_master").fetchall()
        assert tables == []
        store.ensure_host(HostInfo("h", "cpu", 1, "k", 1))  # the store still writes


def test_rates_use_the_window_of_their_own_counters(tmp_path: Path) -> None:
    # The sampler read the boundary samples 0.1 s before the begin marker's timestamp:
    # region time is 1.9 s, but energy and context switches span the samples' 2.0 s.
    path = tmp_path / "s.db"
    write_study(path, [SyntheticRun("w", 1, "gil", 1, 2.0, energy_j=40.0, ctx_voluntary=100)])
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE regions SET begin_ns = begin_ns + 100000000")
    (rec,) = load_study(path).runs
    m = rec.metrics
    assert m["time_s"] == pytest.approx(1.9) and m["window_s"] == pytest.approx(2.0)
    assert m["power_w"] == pytest.approx(20.0)
    assert m["ctx_vol_per_s"] == pytest.approx(50.0)
