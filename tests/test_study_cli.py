"""``gilwatt study`` as a user runs it: bad input is refused before anything runs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pythons

GILWATT = [sys.executable, "-m", "gilwatt"]


def gilwatt(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GILWATT, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_bad_study_file_names_file_and_line_exits_2_and_runs_nothing(tmp_path: Path) -> None:
    study = tmp_path / "bad.toml"
    study.write_text('name = "x"\nreps = 2\nrepetitions = 3\n')
    done = gilwatt("study", "--suite", str(study), "-o", "out.db", cwd=tmp_path)
    assert done.returncode == 2
    assert f"gilwatt: error: {study}:3: unknown key 'repetitions' in the study file." in done.stderr
    assert "Valid: name, seed, reps" in done.stderr
    assert not (tmp_path / "out.db").exists()


def test_bad_flags_exit_2(tmp_path: Path) -> None:
    for args, expected in (
        (["--modes", "gil,nogil"], "unknown mode 'nogil'. Valid: ft, ft-gil, gil."),
        (["--workers", "1,zero"], "--workers (zero): not a worker count."),
        (["--cooldown", "later"], "--cooldown ('later'): not a duration."),
        (["--suite", "enormous"], "unknown suite 'enormous'."),
        (["--suite", "missing.toml"], "study file (missing.toml): not found."),
    ):
        done = gilwatt("study", *args, "-o", "out.db", cwd=tmp_path)
        assert done.returncode == 2, args
        assert expected in done.stderr, (args, done.stderr)
    assert not (tmp_path / "out.db").exists()


def test_unknown_workload_in_a_file(tmp_path: Path) -> None:
    study = tmp_path / "s.toml"
    study.write_text('preset = "tiny"\n\n[workloads.no_such_thing]\n')
    done = gilwatt(
        "study", "--suite", str(study), "--python", sys.executable, "--modes", "gil", cwd=tmp_path
    )
    assert done.returncode == 2
    assert f"{study}:3: unknown workload 'no_such_thing'." in done.stderr
    assert "Valid: " in done.stderr and "matmul" in done.stderr
    assert not (tmp_path / "study.db").exists()


def test_dry_run_prints_the_plan(tmp_path: Path) -> None:
    done = gilwatt(
        "study", "--suite", "tiny", "--python", sys.executable, "--modes", "gil", "--workloads",
        "matmul", "--reps", "3", "--dry-run", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "study 'tiny'" in done.stdout
        and "3 replicates" in done.stdout
        and "replicate 1 order" in done.stdout
    )
    assert not (tmp_path / "study.db").exists()


def test_quick_suite_is_the_example_file() -> None:
    from gilwatt.study.spec import SUITES_DIR, load_spec, load_suite

    assert load_suite("quick") == load_spec(SUITES_DIR / "quick.toml")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_lines_and_in_place_updates_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    from gilwatt.cli.study_cmd import Progress
    from gilwatt.study.matrix import Cell, PlannedRun
    from gilwatt.study.progress import StudyEvent

    run = PlannedRun(Cell.of("matmul", {"matrix_size": 48}, 2), "ft", 1, 0)
    events = [
        StudyEvent("start", 0, 12),
        StudyEvent("run-start", 0, 12, run=run),
        StudyEvent(
            "run-end",
            1,
            12,
            run=run,
            status="invalid",
            reason="GIL was on",
            duration_s=1.25,
            eta_s=75,
        ),
    ]
    plain, tty = io.StringIO(), _Tty()
    for stream in (plain, tty):
        progress = Progress(stream)
        for event in events:
            progress(event)
    line = "[ 1/12] b1 matmul matrix_size=48 w=2 ft  invalid 1.250 s (GIL was on)  ETA 1 min 15 s"
    assert plain.getvalue() == f"gilwatt study: 12 runs (new study)\n{line}\n"  # no running line
    assert tty.getvalue().endswith(f"running...\r\x1b[K{line}\n")
    monkeypatch.setenv("TERM", "dumb")  # no cursor movement: plain lines, as in a log
    dumb = _Tty()
    progress = Progress(dumb)
    for event in events:
        progress(event)
    assert dumb.getvalue() == plain.getvalue()


@pytest.mark.needs_pair
def test_a_study_whose_report_fails_exits_1_and_says_so(tmp_path: Path) -> None:
    gil = pythons.gil_python()
    if not gil.exists():
        pytest.skip("no GIL / free-threaded interpreter pair on this machine")
    # The target itself takes the report's path (a directory there), after the pre-run check.
    workloads = tmp_path / "workloads"
    workloads.mkdir()
    (workloads / "squat.py").write_text(
        "from pathlib import Path\n"
        "from gilwatt.markers import annotate, region\n"
        "with region('kernel'):\n"
        "    (Path(__file__).parent.parent / 'report.html').mkdir(exist_ok=True)\n"
        "annotate(verified=True)\n"
    )
    (workloads / "squat.toml").write_text(
        'name = "squat"\nscript = "squat.py"\nuses_workers = false\nfamily = "sequential"\n'
    )
    (tmp_path / "s.toml").write_text(
        'name = "s"\nreps = 1\nmodes = ["gil"]\ncooldown = "0s"\nidle_baseline = "0s"\n'
        "max_foreign_cpu = 64\n"  # not about foreign load: a busy shared machine must not matter
        "\n[workloads.squat]\n"
    )
    done = gilwatt(
        "study", "--suite", "s.toml", "--python", str(gil), "-o", "s.db",
        "--report", "report.html", cwd=tmp_path, env={"GILWATT_WORKLOADS_PATH": str(workloads)},
    )  # fmt: skip
    assert "1 done" in done.stderr, done.stderr  # the study itself succeeded
    assert "gilwatt: error: report not written: cannot write report" in done.stderr
    assert "it is a directory" in done.stderr
    assert done.returncode == 1


def test_bad_replicate_flags_exit_2_with_one_line_and_write_nothing(tmp_path: Path) -> None:
    for args, expected in (
        (["--reps", "0"], "--reps (0): give a count of 1 or more, or auto. e.g. --reps 5"),
        (["--reps", "many"], "--reps (many): give a count of 1 or more, or auto."),
        (
            ["--max-reps", "2"],
            "--max-reps (2): the first look needs 3 replicates. Give --max-reps 3",
        ),
        (["--budget", "1s"], "--budget: budget 1 s is shorter than one replicate (about"),
    ):
        done = gilwatt(
            # --dry-run: should a check fail to refuse, nothing runs either
            "study", "--suite", "quick", "--python", sys.executable, "--modes", "gil",
            "--reps", "auto", *args, "-o", "out.db", "--dry-run", cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (args, done.stderr)
        assert lines[0].startswith("gilwatt: error: ")
    assert not (tmp_path / "out.db").exists()
    # a budget that holds a replicate is accepted (the dry run checks everything)
    done = gilwatt(
        "study", "--suite", "quick", "--python", sys.executable, "--modes", "gil",
        "--budget", "10min", "--dry-run", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "auto replicates (3 to" in done.stdout
