"""gilwatt plot: figures as SVG / PNG / PDF from real stores and synthetic studies."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import report_fixtures as F
from gilwatt.analysis.result import analyse_data
from gilwatt.cli import main
from gilwatt.errors import ConfigError
from gilwatt.report import figures
from gilwatt.store import Store
from gilwatt.store.synthetic import write_run

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def study_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fig") / "study.db"
    F.write_study_store(path, samples=200)
    return path


def _svg_paths(path: Path) -> int:
    root = ET.parse(path).getroot()
    return len(root.findall(f".//{SVG}path"))


@pytest.mark.parametrize("kind", ["scaling", "ratios", "energy-time", "timeline"])
def test_every_kind_as_svg(kind: str, study_store: Path, tmp_path: Path) -> None:
    out = tmp_path / f"{kind}.svg"
    args = ["plot", str(study_store), "--kind", kind, "-o", str(out)]
    if kind == "timeline":
        args += ["--run", "1"]
    assert main(args) == 0
    assert _svg_paths(out) > 10
    assert b"<dc:date>" not in out.read_bytes()  # reproducible: no creation date


def test_png_and_pdf(study_store: Path, tmp_path: Path) -> None:
    png, pdf = tmp_path / "f.png", tmp_path / "f.pdf"
    assert main(["plot", str(study_store), "--kind", "ratios", "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(study_store), "--kind", "timeline", "-o", str(pdf)]) == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_figures_from_a_synthetic_study_with_a_missing_cell(tmp_path: Path) -> None:
    view = analyse_data(F.study_data())
    for make in (figures.scaling_figure, figures.ratios_figure, figures.energy_time_figure):
        path = figures.save(make(view), tmp_path / f"{make.__name__}.svg")
        assert _svg_paths(path) > 10


def test_timeline_figure_shades_regions(tmp_path: Path) -> None:
    info, tl, regs, _ = F.run()
    fig = figures.timeline_figure(info, tl, regs)
    # one shaded span per region per axis (cpu, memory, power)
    spans = [p for ax in fig.axes for p in ax.patches]
    assert len(spans) == 3 * len(regs)
    figures.save(fig, tmp_path / "t.png")


def test_bad_format_and_kind(
    study_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", str(study_store), "--kind", "ratios", "-o", str(tmp_path / "f.jpg")]) == 2
    assert "unknown figure format" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["plot", str(study_store), "--kind", "pie", "-o", str(tmp_path / "f.svg")])


def test_study_figure_of_a_store_without_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "runs.db"
    with Store.open(store) as s:
        write_run(s, samples=50)
    assert main(["plot", str(store), "--kind", "scaling", "-o", str(tmp_path / "f.svg")]) == 2
    assert "no study" in capsys.readouterr().err


def test_scaling_needs_a_multi_worker_workload() -> None:
    data = F.study_data()
    data.runs[:] = [r for r in data.runs if r.workers == 1]
    with pytest.raises(ConfigError, match="more than one worker count"):
        figures.scaling_figure(analyse_data(data))
