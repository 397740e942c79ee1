"""Workers against CPUs: a warning per oversubscribed worker count, labels, and --pin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gilwatt.study.cpus import oversubscribed, pin_prefix, warning_lines
from gilwatt.study.matrix import Cell

CELLS = [Cell.of("a", {}, n) for n in (1, 2, 4, 8)] + [Cell.of("b", {}, 4)]


def test_one_warning_per_worker_count_above_the_cpus() -> None:
    assert list(oversubscribed(CELLS, 2)) == [4, 8]
    lines = warning_lines(CELLS, 2)
    assert len(lines) == 2
    assert lines[0].startswith("4 workers exceed the 2 usable CPUs: 2 cell(s) (a, b)")
    assert lines[1].startswith("8 workers exceed the 2 usable CPUs: 1 cell(s) (a)")
    assert warning_lines(CELLS, 8) == []


def test_pinning_gives_a_cell_its_own_cpus_and_leaves_oversubscribed_cells() -> None:
    prefix = pin_prefix(2, [3, 5, 7], usable=3)
    assert prefix[1:] == ["--cpu-list", "3,5"] and prefix[0].endswith("taskset")
    assert pin_prefix(4, [3, 5, 7], usable=3) == []
    assert pin_prefix(3, [3, 5, 7], usable=2) == []  # the cgroup quota allows only 2


def _one_cpu() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def test_study_warns_at_start_for_each_worker_count_above_the_usable_cpus(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gilwatt", "study", "--suite", "tiny", "--python", sys.executable,
         "--modes", "gil", "--workloads", "matmul", "--workers", "1,2,3", "--dry-run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, preexec_fn=_one_cpu,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "gilwatt: warning:" in line]
    assert len(warnings) == 2, done.stderr
    assert "2 workers exceed the 1 usable CPUs" in warnings[0]
    assert "3 workers exceed the 1 usable CPUs" in warnings[1]
    assert "oversubscribed" in warnings[0]
