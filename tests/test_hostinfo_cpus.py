"""Usable CPUs: affinity and the cgroup quota, recorded with the host, read back per study."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gilwatt import hostinfo
from gilwatt.store.study_context import read_study_context
from gilwatt.store.synthetic import SyntheticRun, write_study


def _root(tmp_path: Path, cpu_max: dict[str, str]) -> Path:
    (tmp_path / "proc" / "self").mkdir(parents=True)
    (tmp_path / "proc" / "self" / "cgroup").write_text("0::/jobs/study\n")
    for where, text in cpu_max.items():
        d = tmp_path / "sys" / "fs" / "cgroup" / where
        d.mkdir(parents=True, exist_ok=True)
        (d / "cpu.max").write_text(text + "\n")
    return tmp_path


def test_the_tightest_quota_along_the_cgroup_path_counts(tmp_path: Path) -> None:
    root = _root(tmp_path, {"jobs": "250000 100000", "jobs/study": "max 100000"})
    assert hostinfo._cgroup_cpu_quota(root) == 2.5
    assert hostinfo.collect(root).extra["cgroup_cpu_quota"] == 2.5


def test_no_quota_is_recorded_as_nothing(tmp_path: Path) -> None:
    root = _root(tmp_path, {"jobs/study": "max 100000"})
    assert hostinfo._cgroup_cpu_quota(root) is None
    assert "cgroup_cpu_quota" not in hostinfo.collect(root).extra


def test_usable_cpus_take_affinity_then_the_quota_rounded_down() -> None:
    assert hostinfo.usable_cpus(16, {}) == 16  # older stores: the logical count
    assert hostinfo.usable_cpus(16, {"affinity_cpus": 4}) == 4
    assert hostinfo.usable_cpus(16, {"affinity_cpus": 4, "cgroup_cpu_quota": 2.5}) == 2
    assert hostinfo.usable_cpus(16, {"affinity_cpus": 4, "cgroup_cpu_quota": 0.5}) == 1


def test_a_study_reads_its_hosts_usable_cpus_and_versions(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    write_study(path, [SyntheticRun("mandelbrot", 1, m, 1, 1.0) for m in ("gil", "ft")])
    conn = sqlite3.connect(path)
    ctx = read_study_context(conn, 1)
    assert ctx.usable_cpus == 2 and ctx.affinity_cpus is None  # no extra: the logical count
    assert ctx.versions == {"gil": "3.13.5", "ft": "3.13.5t"}
    extra = {"affinity_cpus": 8, "cgroup_cpu_quota": 3.0}
    conn.execute("UPDATE hosts SET logical_cpus = 16, extra_json = ?", (json.dumps(extra),))
    ctx = read_study_context(conn, 1)
    assert (ctx.usable_cpus, ctx.affinity_cpus, ctx.cgroup_cpu_quota) == (3, 8, 3.0)
    conn.close()
