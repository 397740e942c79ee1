"""gilwatt report and the library entry points, against real SQLite stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import report_fixtures as F
from gilwatt.cli import main
from gilwatt.errors import ConfigError
from gilwatt.report import write_run_report, write_study_report
from gilwatt.store import Store
from gilwatt.store.synthetic import write_run


@pytest.fixture(scope="module")
def run_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("run") / "runs.db"
    with Store.open(path) as store:
        write_run(store, samples=500)
        write_run(store, samples=300, seed=1, label="second")
    return path


@pytest.fixture(scope="module")
def study_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("study") / "study.db"
    F.write_study_store(path, samples=200)
    return path


def test_report_of_the_newest_run_by_default(
    run_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(run_store), "-o", str(out)]) == 0
    html = out.read_text()
    assert "<h1>Run 2<" in html and "second" in html
    assert f"wrote {out}" in capsys.readouterr().out


def test_report_of_a_chosen_run_via_the_library(run_store: Path, tmp_path: Path) -> None:
    path = write_run_report(run_store, 1, tmp_path / "one.html")
    html = path.read_text()
    assert "<h1>Run 1<" in html and "synthetic run" in html  # its stdout
    assert "model:synthetic" in html


def test_a_run_still_being_written_gets_its_timelines(tmp_path: Path) -> None:
    store = tmp_path / "live.db"
    with Store.open(store) as s:
        write_run(s, samples=200, finish=False)
    path = write_run_report(store, None, tmp_path / "live.html")
    html = path.read_text()
    assert '<span class="badge untested">running</span>' in html
    assert "Process-tree CPU" in html


def test_default_output_is_beside_the_store(tmp_path: Path) -> None:
    store = tmp_path / "solo.db"
    with Store.open(store) as s:
        write_run(s, samples=50)
    assert main(["report", str(store)]) == 0
    assert (tmp_path / "solo.html").is_file()


def test_study_store_gives_a_study_report(study_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.html"
    assert main(["report", str(study_store), "-o", str(out)]) == 0
    html = out.read_text()
    assert "<h1>Study 1<" in html and 'id="forest-sequential"' in html
    assert "Excluded runs (1)" in html and "&lt;script&gt;" in html
    path = write_study_report(study_store, tmp_path / "s2.html", study_id=1)
    assert path.stat().st_size > 10_000
    assert main(["report", str(study_store), "--study", "1", "-o", str(out)]) == 0
    assert main(["report", str(study_store), "--run", "2", "-o", str(out)]) == 0
    assert "<h1>Run 2<" in out.read_text()


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one line
    return err


def test_unknown_run_names_the_runs_that_exist(
    run_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(run_store), "--run", "99", "-o", str(tmp_path / "x.html")]) == 2
    err = _error(capsys)
    assert "99" in err and "1, 2" in err
    assert not (tmp_path / "x.html").exists()


def test_unknown_study(
    study_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(study_store), "--study", "5", "-o", str(tmp_path / "x.html")]) == 2
    assert "5" in _error(capsys)


def test_store_with_no_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.db"
    Store.open(empty).close()
    assert main(["report", str(empty), "-o", str(tmp_path / "x.html")]) == 2
    assert "has no runs" in _error(capsys)
    assert main(["report", str(empty), "--study", "-o", str(tmp_path / "x.html")]) == 2
    assert "no study" in _error(capsys)


def test_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nope.db"), "-o", str(tmp_path / "x.html")]) == 2
    assert "store not found" in _error(capsys)
    assert not (tmp_path / "nope.db").exists()  # a report never creates a store


@pytest.mark.parametrize("where", ["missing-dir", "directory", "read-only-dir", "procfs"])
def test_unwritable_output(
    where: str, run_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if where == "missing-dir":
        out = tmp_path / "no" / "such" / "r.html"
    elif where == "directory":
        out = tmp_path
    elif where == "procfs":  # not writable even by root: the write itself fails
        out = Path("/proc/gilwatt-report.html")
    else:
        if os.geteuid() == 0:
            pytest.skip("root can write into a read-only directory")
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        out = ro / "r.html"
    assert main(["report", str(run_store), "-o", str(out)]) == 2
    err = _error(capsys)
    assert "cannot write report" in err and "-o" in err


def test_library_raises_config_error(run_store: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="directory"):
        write_run_report(run_store, 1, tmp_path / "missing" / "r.html")
