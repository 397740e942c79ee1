"""pyperf interoperability: files that the real pyperf (in .venv) loads, stats and compares."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis_fixtures import TIMES, build_golden_store
from gilwatt.analysis.pyperf_export import dump_pyperf
from gilwatt.cli import main

pyperf = pytest.importorskip("pyperf")


def _pyperf(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pyperf", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_one_suite_per_mode_with_one_value_per_process(tmp_path: Path) -> None:
    store = build_golden_store(tmp_path / "study.db")
    written = dump_pyperf(store, tmp_path / "pyperf")
    assert [p.name for p in written] == ["ft.json", "gil.json"]
    suite = pyperf.BenchmarkSuite.load(str(tmp_path / "pyperf" / "gil.json"))
    bench = suite.get_benchmark("factorial[n=5000]-w2")
    assert bench.get_unit() == "second"
    assert sorted(bench.get_values()) == pytest.approx(
        sorted(TIMES[("factorial", (("n", 5000),), 2)]["gil"])
    )
    assert all(len(run.values) == 1 for run in bench.get_runs())
    # the failed numpy run (block 3) is not exported: 2 processes remain
    assert len(suite.get_benchmark("numpy_blas-w1").get_runs()) == 2
    run_meta = bench.get_runs()[0].get_metadata()
    assert run_meta["python_version"] == "3.13.5" and run_meta["gilwatt_mode"] == "gil"


def test_pyperf_stats_and_compare_to_read_the_files(tmp_path: Path) -> None:
    store = build_golden_store(tmp_path / "study.db")
    dump_pyperf(store, tmp_path)
    stats_out = _pyperf("stats", str(tmp_path / "ft.json"))
    assert "Number of benchmarks: 5" in stats_out
    assert "factorial[n=5000]-w2" in stats_out
    compared = _pyperf("compare_to", str(tmp_path / "gil.json"), str(tmp_path / "ft.json"))
    assert "factorial[n=5000]-w2" in compared and "faster" in compared
    assert "shared_list-w2" in compared and "slower" in compared


def test_single_file_holds_every_cell_and_mode(tmp_path: Path) -> None:
    store = build_golden_store(tmp_path / "study.db")
    (path,) = dump_pyperf(store, tmp_path / "all.json")
    names = pyperf.BenchmarkSuite.load(str(path)).get_benchmark_names()
    assert "mandelbrot[size=200]-w1[ft]" in names and "mandelbrot[size=200]-w1[gil]" in names
    assert len(names) == 10
    assert "mandelbrot[size=200]-w1[ft]" in _pyperf("show", str(path))


def test_compare_command_writes_pyperf_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    build_golden_store(tmp_path / "study.db")
    assert (
        main(["compare", "study.db", "--format", "pyperf", "-o", "out", "--metric", "energy"]) == 0
    )
    out, _err = capsys.readouterr()
    assert out.split() == ["out/ft.json", "out/gil.json"]
    suite = pyperf.BenchmarkSuite.load("out/gil.json")
    assert suite.get_metadata()["gilwatt_metric"] == "energy_j"
    bench = suite.get_benchmark("mandelbrot[size=200]-w1")
    assert bench.get_unit() == "integer" and bench.get_metadata()["gilwatt_unit"] == "J"
    # golden store: energy = time x (6 + 5 x busy cores) W, one busy core for this gil cell
    assert sorted(bench.get_values()) == pytest.approx([11 * 0.99, 11 * 1.00, 11 * 1.02])
    assert "mandelbrot" in _pyperf("stats", "out/gil.json")


def test_export_command_writes_pyperf_suites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_golden_store(tmp_path / "study.db")
    out_dir = tmp_path / "pyperf"
    assert (
        main(["export", str(tmp_path / "study.db"), "--format", "pyperf", "-o", str(out_dir)]) == 0
    )
    assert sorted(p.name for p in out_dir.iterdir()) == ["ft.json", "gil.json"]
    assert "mandelbrot" in _pyperf(
        "compare_to", str(out_dir / "gil.json"), str(out_dir / "ft.json")
    )
    # a single run is not a study: refused with one line and exit 2
    assert main(["export", str(tmp_path / "study.db"), "--format", "pyperf", "--run", "1",
                 "-o", str(out_dir)]) == 2  # fmt: skip
    assert "exports a study" in capsys.readouterr().err
