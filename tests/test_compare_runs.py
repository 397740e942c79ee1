"""``gilwatt compare STORE [STORE2] --run A --run B``: two ad-hoc runs side by side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GILWATT = [sys.executable, "-m", "gilwatt"]


def profile(store: Path, code: str) -> None:
    subprocess.run(
        [*GILWATT, "profile", "-q", "--no-report", "-o", str(store), "--", "-c", code],
        check=True, capture_output=True,
    )  # fmt: skip


def test_two_runs_in_two_stores_side_by_side_with_ratios(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    profile(a, "import time; time.sleep(0.2)")
    profile(b, "import time; time.sleep(0.4)")
    done = subprocess.run([*GILWATT, "compare", str(a), str(b), "--run", "1", "--run", "1"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert "n = 1: no interval" in done.stdout
    wall = next(line for line in done.stdout.splitlines() if line.startswith("wall time"))
    ratio = float(wall.split()[-1].lstrip("x"))
    assert 1.4 < ratio < 2.6  # 0.4 s against 0.2 s, plus start-up on both


def test_two_runs_of_one_store_and_bad_input(tmp_path: Path) -> None:
    a = tmp_path / "a.db"
    profile(a, "pass")
    profile(a, "pass")
    done = subprocess.run([*GILWATT, "compare", str(a), "--run", "1", "--run", "2"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert "A: run 1" in done.stdout and "B: run 2" in done.stdout
    one = subprocess.run(
        [*GILWATT, "compare", str(a), "--run", "1"], capture_output=True, text=True
    )
    assert one.returncode == 2 and "two run ids" in one.stderr
    missing = subprocess.run([*GILWATT, "compare", str(a), "--run", "1", "--run", "9"],
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 2
