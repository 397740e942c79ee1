"""Tree figures that mean what they say, on a real process pool (``compileall -j 2``)."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import numpy as np

from gilwatt.profiler import ProfileRequest, profile
from gilwatt.store import Store, derive
from gilwatt.summary import format_summary
from profiler_fixtures import gil_python, query

STDLIB_PARTS = ("json", "email", "http", "xml", "urllib", "logging", "asyncio")


def test_compileall_pool_figures(tmp_path: Path) -> None:
    src = tmp_path / "src"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for part in STDLIB_PARTS:
        shutil.copytree(stdlib / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
    request = ProfileRequest(
        argv=[gil_python(), "-m", "compileall", "-q", "-f", "-j", "2", str(src)],
        store_path=tmp_path / "runs.db", passthrough=False, handle_signals=False,
    )  # fmt: skip
    result = profile(request)
    assert result.status == "ok"
    s = result.summary
    assert query(tmp_path, "SELECT count(*) FROM processes")[0][0] >= 3  # root and 2 workers
    # Peak RSS is the largest single process's, exact (the kernel's ru_maxrss)...
    ((ru_maxrss, cpus),) = query(
        tmp_path, "SELECT ru_maxrss_bytes, logical_cpus FROM runs JOIN hosts USING (host_id)"
    )
    ((hwm,),) = query(tmp_path, "SELECT max(hwm_bytes) FROM processes")
    assert s.peak_rss_exact and s.peak_rss_bytes == max(ru_maxrss, hwm or 0)
    # ...not the peak of the samples' sum over processes, which counts shared pages per process
    ((summed,),) = query(tmp_path, "SELECT max(rss_bytes) FROM samples")
    assert s.peak_rss_bytes < summed
    # the tree's memory is the sampled peak of its summed PSS, never above the summed RSS
    assert s.peak_pss_bytes is not None and 0 < s.peak_pss_bytes <= summed
    # utilisation never above the CPUs there are
    assert 0 < s.mean_cpu_util <= s.peak_cpu_util <= cpus + 1e-6
    with Store.open(tmp_path / "runs.db", create=False) as store:
        timeline = store.timeline(result.run_id)
    spread = derive.spread_cpu(timeline.t_ns, timeline.cpu_ns, cpus)
    rates = np.diff(spread) / np.maximum(np.diff(timeline.t_ns), 1)
    assert rates.max() <= cpus + 1e-6 and spread[-1] == timeline.cpu_ns[-1]
    text = "\n".join(format_summary(result.info, s)) if result.info else ""
    assert "(largest process, exact)" in text and "tree peaks, sampled: PSS" in text


def test_spread_moves_a_step_back_into_the_time_before_it() -> None:
    t = np.array([0, 10, 20, 30, 40], dtype=np.int64)
    cpu = np.array([0, 5, 10, 15, 75], dtype=np.int64)  # 60 in the last 10 ns: 6 cores
    out = derive.spread_cpu(t, cpu, 2)
    assert out[-1] == 75 and out[0] == 0
    assert np.all(np.diff(out) <= 20)  # 2 cores x 10 ns
    assert list(np.diff(out)) == [15, 20, 20, 20]  # latest first, as far as each has room
    same = np.array([0, 5, 10, 15, 20], dtype=np.int64)
    assert derive.spread_cpu(t, same, 2) is same  # nothing over: untouched


def test_max_concurrent_counts_an_end_before_a_start_at_the_same_instant() -> None:
    starts = np.array([0, 10, 20], dtype=np.int64)
    ends = np.array([30, 20, 25], dtype=np.int64)
    assert derive.max_concurrent(starts, ends) == 2
