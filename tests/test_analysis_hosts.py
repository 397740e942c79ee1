"""Host as a factor: a synthetic cluster store of a 2-CPU and a 16-CPU host, each its own study."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from gilwatt.analysis.hosts import compare_hosts, cross_host_rows, host_studies, hosts_json
from gilwatt.analysis.result import compare_study
from gilwatt.readback import HostInfo
from gilwatt.store.synthetic import runs_for, write_study

SMALL = HostInfo("small", "Small CPU", 2, "6.1", 4 << 30, "", {})
BIG = HostInfo("big", "Big CPU", 16, "6.1", 64 << 30, "avx2", {})
FAMILIES = {"factorial": "threaded-numerical"}


def ft_time(cpus: int):  # type: ignore[no-untyped-def]
    """The ft build scales up to the host's CPUs, then stalls; the GIL build never scales.
    A small jitter per block keeps the CIs finite."""

    def time_of(workload: str, workers: int, mode: str, block: int) -> float:
        jitter = 1 + 0.01 * ((block * 7 + workers) % 3 - 1)
        if mode == "gil":
            return 2.0 * jitter
        return 2.0 / min(workers, cpus) * jitter

    return time_of


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hosts") / "two-hosts.db"
    for host, workers in ((SMALL, (1, 2, 4)), (BIG, (1, 2, 4, 16))):
        cells = [("factorial", {"n": 5000}, w) for w in workers]
        runs = runs_for(cells, ("gil", "ft"), 3, ft_time(host.logical_cpus))
        write_study(db, runs, name="cluster", families=FAMILIES, host=host)
    return db


def test_each_host_is_its_own_study_and_ratios_are_not_pooled(store: Path) -> None:
    hosts = host_studies(store)
    assert [(h.hostname, h.usable_cpus) for h in hosts] == [("big", 16), ("small", 2)]
    results = compare_hosts(store)
    rows = {(r.workers, r.mode): r for r in cross_host_rows(results)}
    # at 4 workers: the 16-CPU host runs ft 4x faster; the 2-CPU host only 2x, oversubscribed
    four = rows[(4, "ft")]
    assert four.ratios["big"] is not None and four.ratios["small"] is not None
    assert math.isclose(four.ratios["big"][0], 0.25, rel_tol=0.02)
    assert math.isclose(four.ratios["small"][0], 0.5, rel_tol=0.02)
    assert four.oversubscribed == {"big": False, "small": True}
    # the 16-worker cell exists on the big host only
    assert rows[(16, "ft")].ratios["small"] is None
    assert math.isclose(rows[(16, "ft")].ratios["big"][0], 1 / 16, rel_tol=0.02)  # type: ignore[index]
    # each host's numbers are exactly its own study's, compared alone
    for r in results:
        alone = compare_study(store, r.host.study_id)
        mine = {(c.cell.workers, c.mode): c.estimate for c in alone.analysis.comparisons
                if c.metric == "time_s"}  # fmt: skip
        for (workers, mode), row in rows.items():
            estimate = mine.get((workers, mode))
            got = row.ratios[r.host.hostname]
            assert (estimate.geomean if estimate else None) == (got[0] if got else None)


def test_findings_by_host_in_the_json(store: Path) -> None:
    doc = hosts_json(compare_hosts(store))
    assert doc["schema"] == 3
    assert set(doc["findings_by_host"]) == {"big", "small"}
    assert [h["usable_cpus"] for h in doc["hosts"]] == [16, 2]
    assert {s["study"]["study_id"] for s in doc["studies"].values()} == {1, 2}


def test_compare_shows_every_host_and_the_cross_host_table(store: Path) -> None:
    text = subprocess.run(
        [sys.executable, "-m", "gilwatt", "compare", str(store)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert text.startswith("cluster study: 2 host(s)")
    assert "== host big (16 CPUs): study 2" in text and "== host small (2 CPUs): study 1" in text
    table = text[text.index("time_s ratio by host") :].splitlines()
    four = next(
        line for line in table if line.strip().startswith("factorial w=4") and " ft/" in line
    )
    assert "0.25" in four and "0.50" in four and "*" in four
    doc = json.loads(
        subprocess.run(
            [sys.executable, "-m", "gilwatt", "compare", str(store), "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert set(doc["findings_by_host"]) == {"big", "small"}
