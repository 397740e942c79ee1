"""``gilwatt advise`` end to end on real programs under the provisioned pair.

Each run has a small budget (20 s or less) and two worker counts. The machine is shared and
loaded, so the tests assert what holds under load: readiness findings, the decision's
consistency with what was measured, exit codes, the JSON shape; never a speed-up.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pythons
from advise_fixtures import PROGRAMS, cext_program

pytestmark = pytest.mark.skipif(pythons.pair() is None, reason="no GIL / free-threaded pair")


def advise(
    tmp_path: Path, *args: str, budget: str = "20s", gate: str = "64"
) -> tuple[int, dict[str, Any], str]:
    """``gate``: --max-foreign-cpu. Off (64 cores) but where a test is about it: on a loaded
    machine every run would be disturbed and run again, three times the CI time."""
    argv = [sys.executable, "-m", "gilwatt", "advise", "--budget", budget, "--no-report",
            "--json", "-o", str(tmp_path / "advise.db"), "--max-foreign-cpu", gate, *args]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    answer = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, answer, done.stderr


def candidate(answer: dict[str, Any], key: str) -> dict[str, Any]:
    return next(c for c in answer["candidates"] if c["key"] == key)


def test_bad_input_exits_2(tmp_path: Path) -> None:
    gilwatt = [sys.executable, "-m", "gilwatt", "advise", "-o", str(tmp_path / "a.db")]
    cases = [
        [],  # nothing to run
        ["--", str(tmp_path / "missing.py")],
        ["--cmd", "echo", "hello"],  # no {python}
        ["--workers", "0,x", "--", str(PROGRAMS / "single.py")],
        ["--max-rss", "lots", "--", str(PROGRAMS / "single.py")],
        ["--max-foreign-cpu", "-1", "--", str(PROGRAMS / "single.py")],
    ]
    for args in cases:
        done = subprocess.run([*gilwatt, *args], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "error" in done.stderr
    assert not (tmp_path / "a.db").exists()


def test_dry_run_lists_the_ladder_and_runs_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gilwatt", "advise", "--dry-run", "--workers", "1,2,4",
         "--processes", "processes {n}", "-o", str(tmp_path / "a.db"), "--",
         str(PROGRAMS / "with_processes.py"), "threads", "{n}"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    keys = [line.split()[0:2] for line in done.stdout.splitlines() if line.startswith("  ")]
    assert ["gil", "threads=1"] in keys and ["ft", "threads=4"] in keys
    assert ["ft-gil", "threads=1"] in keys and ["gil", "processes=2"] in keys
    assert "PYTHON_GIL=1" in done.stdout
    assert not (tmp_path / "a.db").exists()


def test_c_extension_culprits_are_all_named_with_their_chains(tmp_path: Path) -> None:
    gil, ft = pythons.pair() or (Path(), Path())
    script = cext_program(str(ft), str(gil), tmp_path)
    code, answer, stderr = advise(tmp_path, "--workers", "1,2", "--", script.name, "{n}", "600000")
    assert code == 0, stderr
    culprits = {c["module"]: c for c in answer["readiness"]["gil_culprits"]}
    assert set(culprits) == {"cext_a", "cext_b"}  # CPython's warning names only the first
    assert culprits["cext_b"]["chain"] == ["uses_cext.py:8", "pkg", "cext_b"]
    assert culprits["cext_a"]["chain"] == ["uses_cext.py:7", "cext_a"]
    assert culprits["cext_a"]["path"].endswith(".cpython-313t-x86_64-linux-gnu.so")
    assert answer["advice"]["mode"] != "ft"  # free-threaded threads are not advised
    for key in ("ft threads=1", "ft threads=2"):
        assert "GIL is turned back on" in candidate(answer, key)["not_advisable"]
        assert candidate(answer, key)["gil_back_on"] is True


def test_scaling_program_advice_matches_what_was_measured(tmp_path: Path) -> None:
    script = str(PROGRAMS / "scaling.py")
    code, answer, stderr = advise(tmp_path, "--workers", "1,2", "--", script, "{n}", "16",
                                  budget="15s")  # fmt: skip
    assert code == 0, stderr
    assert answer["schema"] == 1
    advice = answer["advice"]
    assert set(advice) >= {"mode", "workers", "parallelism", "confidence"}
    assert advice["confidence"] in ("high", "moderate", "low")
    assert advice["parallelism"] == "threads"
    ratios = {c["key"]: c["ratio_vs_best"] for c in answer["candidates"]}
    chosen = f"{advice['mode']} threads={advice['workers']}"
    assert ratios[chosen] <= 1.05 + 1e-9  # the advice is within the margin of the best
    if advice["mode"] == "ft":  # chosen over the GIL build only when the gap is clear
        assert all(ratios[f"gil threads={n}"] > 1.05 for n in (1, 2)), ratios
    assert answer["readiness"]["gil_culprits"] == []
    texts = [f["text"] for f in answer["readiness"]["findings"]]
    assert any("no difference seen in these runs" in t for t in texts)
    assert not any("thread-safe" in t for t in texts)


def test_fails_only_on_the_free_threaded_build_exits_4(tmp_path: Path) -> None:
    code, answer, _ = advise(tmp_path, "--", str(PROGRAMS / "ft_only_failure.py"))
    assert code == 4
    assert "free-threaded" in answer["stopped"]


def test_fails_on_the_gil_build_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "fails.py"
    bad.write_text("raise SystemExit(3)\n")
    code, answer, _ = advise(tmp_path, "--", str(bad))
    assert code == 1
    assert "GIL build" in answer["stopped"]


def test_output_that_differs_with_n_is_a_possible_race(tmp_path: Path) -> None:
    code, answer, stderr = advise(tmp_path, "--workers", "1,2", "--", str(PROGRAMS / "prints_n.py"), "{n}",
                                  budget="10s")  # fmt: skip
    assert code == 0, stderr
    safety = [f for f in answer["readiness"]["findings"] if f["topic"] == "safety"]
    assert len(safety) == 1 and "possible race" in safety[0]["text"]


def test_single_threaded_program_compares_the_builds_at_one_worker(tmp_path: Path) -> None:
    # the machine gate at the study's default: every swept run has its machine row
    code, answer, stderr = advise(
        tmp_path, "--", str(PROGRAMS / "single.py"), "300000", budget="10s", gate="0.1"
    )
    assert code == 0, stderr
    assert [c["key"] for c in answer["candidates"]] == ["gil", "ft", "ft-gil"]
    assert answer["advice"]["workers"] == 1 and answer["advice"]["parallelism"] == "none"
    assert answer["host"]["max_foreign_cpu"] == 0.1
    with sqlite3.connect(tmp_path / "advise.db") as db:
        ledger = db.execute("SELECT status, run_id FROM study_runs WHERE study_id = ?",
                            (answer["study_id"],)).fetchall()  # fmt: skip
        machine_rows = {r for (r,) in db.execute("SELECT run_id FROM run_machine")}
    assert ledger and all(run_id in machine_rows for _, run_id in ledger)
    disturbed = sum(status == "disturbed" for status, _ in ledger)
    assert disturbed == answer["host"]["disturbed_runs"] - answer["host"]["kept_disturbed_runs"]
    if answer["host"]["kept_disturbed_runs"]:
        assert answer["advice"]["confidence"] != "high"
    # the study is there for compare / report / export, and a second call resumes it
    again, second, _ = advise(tmp_path, "--", str(PROGRAMS / "single.py"), "300000", budget="1s")
    assert again == 0 and second["study_id"] == answer["study_id"]
    assert second["blocks"] >= answer["blocks"]


def test_processes_variant_is_measured_on_the_gil_build(tmp_path: Path) -> None:
    script = str(PROGRAMS / "with_processes.py")
    code, answer, stderr = advise(tmp_path, "--workers", "1,2", "--processes", "processes {n} 400000",
                                  "--", script, "threads", "{n}", "400000", budget="15s")  # fmt: skip
    assert code == 0, stderr
    proc = candidate(answer, "gil processes=2")
    assert proc["valid_runs"] >= 1 and proc["time_s"] > 0
    assert not any(c["key"].startswith("ft processes") for c in answer["candidates"])
    ratios = {c["key"]: c["ratio_vs_best"] for c in answer["candidates"] if c["ratio_vs_best"]}
    if answer["advice"]["parallelism"] == "processes":
        assert ratios["gil threads=1"] > 1.05


def test_verify_failing_on_the_free_threaded_build_is_a_blocker(tmp_path: Path) -> None:
    check = "python3 -c \"import os,sys; sys.exit(os.environ['GILWATT_MODE'] == 'ft')\""
    code, answer, _ = advise(tmp_path, "--verify", check, "--", str(PROGRAMS / "single.py"), "100000",
                             budget="10s")  # fmt: skip
    assert code == 0
    assert answer["advice"]["mode"] == "gil"
    safety = [f for f in answer["readiness"]["findings"] if f["topic"] == "safety"]
    assert safety[0]["level"] == "blocker" and "--verify failed on ft" in safety[0]["text"]
    assert os.path.exists(tmp_path / "advise.db")


def test_io_overlap_adds_more_workers_than_cpus(tmp_path: Path) -> None:
    # the budget must fit 3 blocks of the full ladder, or the oversubscribed cell is trimmed
    code, answer, stderr = advise(tmp_path, "--", str(PROGRAMS / "waits.py"), "{n}", "0.3",
                                  budget="30s")  # fmt: skip
    assert code == 0, stderr
    cpus = answer["host"]["usable_cpus"]
    keys = [c["key"] for c in answer["candidates"]]
    assert not any("to fit the budget" in note for note in answer["not_measured"]), answer
    assert f"gil threads={cpus * 4}" in keys  # the ladder's 2 x CPUs, then twice that
    assert any("I/O overlap" in note for note in answer["not_measured"])


def test_an_option_twice_slower_than_the_best_stops_after_two_blocks(tmp_path: Path) -> None:
    code, answer, stderr = advise(tmp_path, "--", str(PROGRAMS / "slow_on_ft.py"), budget="15s")
    assert code == 0, stderr
    ft = candidate(answer, "ft")
    assert ft["runs"] == 2 and "not run again" in ft["not_advisable"]
    assert candidate(answer, "gil")["runs"] >= 3
    assert answer["advice"]["mode"] == "gil"


def test_memory_per_added_process_is_the_tree_pss_slope(tmp_path: Path) -> None:
    # 96 MiB shared after fork, 16 MiB written per worker: summed PSS grows ~17.7 MiB per
    # process here (124 / 143 / 178 MiB at 1 / 2 / 4); a sum of RSS would grow ~120 MiB.
    # A budget of one block: two points a build, a slope without an interval
    code, answer, stderr = advise(tmp_path, "--parallelism", "processes", "--workers", "1,2",
                                  "--", str(PROGRAMS / "shared_pages.py"), "{n}", "1.0",
                                  budget="8s")  # fmt: skip
    assert code == 0, stderr
    two = candidate(answer, "gil processes=2")
    assert two["memory_kind"] == "pss-sampled" and two["peak_memory_bytes"] > 96 * 2**20
    slopes = {(m["mode"], m["parallelism"]): m for m in answer["memory_per_worker"]}
    gil = slopes[("gil", "processes")]
    assert gil["memory_kind"] == "pss-sampled"
    assert 10 * 2**20 < gil["bytes_per_worker"] < 30 * 2**20, gil
    assert gil["interval"] is not None or gil["note"] == "n too small for an interval"
    assert any("per added process" in line for line in answer["why"])
