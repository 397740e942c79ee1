"""`gilwatt compare`: golden text / markdown / csv output, json, files and bad input.

Regenerate the golden files after an intended change with GILWATT_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from analysis_fixtures import build_golden_store
from gilwatt.cli import main

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GILWATT_UPDATE_GOLDEN") == "1"


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    build_golden_store(tmp_path / "study.db")
    return "study.db"  # relative, so the header line does not depend on tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["compare", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("markdown", "md"), ("csv", "csv")])
def test_output_matches_golden_file(
    store: str, capsys: pytest.CaptureFixture[str], fmt: str, suffix: str
) -> None:
    code, out, _err = _run(capsys, store, "--format", fmt)
    assert code == 0
    golden = GOLDEN / f"compare_study.{suffix}"
    if UPDATE:
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_text_output_shows_what_the_store_holds(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, out, _err = _run(capsys, store)
    assert "runs: 31 planned: 28 valid, 1 invalid, 1 failed, 1 skipped" in out
    assert "energy: model:ccf-linear (estimate: modelled, not measured)" in out
    assert "invalid: workload failed verification: checksum differs" in out
    assert "skipped: interpreter vanished" in out
    assert "1. CONFIRMS (stability 1.00): sequential code costs more time and energy" in out
    # shared_list is a user workload: unclassified, so it stays out of claim 4
    assert "4. NOT TESTABLE: contention on shared objects" in out
    assert "no shared-mutable workload in this study" in out
    assert "claim 2's 4× cannot be tested on 2 CPUs" in out


def test_csv_has_one_row_per_cell_pair_and_metric(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, out, _err = _run(capsys, store, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    time_rows = [r for r in rows if r["metric"] == "time_s"]
    assert len(time_rows) == 5  # the five cells that ran on both builds
    mandel = next(r for r in time_rows if r["workload"] == "mandelbrot")
    assert mandel["pairs"] == "2" and mandel["unpaired"] == "1"
    assert float(mandel["ratio"]) == pytest.approx((1.21 / 1.00 * 1.20 / 0.99) ** 0.5, rel=1e-5)


def test_json_carries_everything(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = _run(capsys, store, "--format", "json")
    doc = json.loads(out)
    assert doc["study"]["name"] == "golden" and doc["energy_estimate"] is True
    assert doc["schema"] == 3
    assert [f["number"] for f in doc["findings"]] == [1, 2, 3, 4, 5, 6]
    claim2 = doc["findings"][1]
    assert claim2["verdict"] == "confirms" and claim2["stability"] == 1.0
    assert claim2["estimate"] == pytest.approx(0.523, abs=0.001)
    assert claim2["interval"][0] < claim2["estimate"] < claim2["interval"][1]
    assert claim2["replicates_needed"] is None
    assert [w["name"] for w in claim2["workloads"]] == ["factorial"]
    assert {h["name"]: h["verdict"] for h in claim2["halves"]} == {
        "direction": "confirms",
        "magnitude (4×)": "not testable",
        "energy": "not testable",
    }
    assert doc["findings"][3]["verdict"] == "not testable" and doc["findings"][3]["reason"]
    assert doc["context"]["usable_cpus"] == 2
    assert len(doc["excluded"]) == 3
    assert {c["workload"] for c in doc["scaling"]} == {"factorial"}


def test_metric_option_changes_the_leading_column(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, out, _err = _run(capsys, store, "--metric", "energy")
    assert "ft/gil energy [95% CI]" in out
    _code, out, _err = _run(capsys, store, "--metric", "vms", "--format", "markdown")
    assert "ft/gil vms [95% CI]" in out


def test_output_file(store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _run(capsys, store, "--format", "markdown", "-o", "cmp.md")
    assert code == 0 and out == "" and "wrote cmp.md" in err
    assert (tmp_path / "cmp.md").read_text(encoding="utf-8").startswith("# gilwatt compare")


def test_bad_input_gets_one_line_and_exit_2(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, "missing.db")
    assert (
        code == 2
        and err == "gilwatt: error: store 'missing.db' does not exist. Pass the study's .db file.\n"
    )
    code, _out, err = _run(capsys, store, "--study", "7")
    assert code == 2 and "unknown study '7'. Valid: 1." in err
    code, _out, err = _run(capsys, store, "--metric", "speed")
    assert code == 2 and "unknown metric 'speed'" in err
    code, _out, err = _run(capsys, store, "--format", "pyperf")
    assert code == 2 and "-o DIR" in err


def test_three_modes_get_a_table_per_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gilwatt.store.synthetic import SyntheticRun, write_study

    monkeypatch.chdir(tmp_path)
    factor = {"gil": 1.0, "ft-gil": 1.1, "ft": 1.25}
    runs = [
        SyntheticRun("mandelbrot", 1, mode, b, f * (1 + 0.01 * b))
        for b in (1, 2, 3)
        for mode, f in factor.items()
    ]
    write_study(tmp_path / "three.db", runs, families={"mandelbrot": "sequential"})
    code, out, _err = _run(capsys, "three.db")
    assert code == 0
    for title in ("ft vs gil", "ft-gil vs gil", "ft vs ft-gil"):
        assert f"== sequential: wall time of the region, {title} ==" in out
    assert "modes: gil, ft, ft-gil" in out  # the one order (gilwatt.modes)
    assert "ft-gil/gil time (the build, GIL on): ×1.100" in out
