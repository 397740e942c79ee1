"""The end-of-run summary text, on a synthetic run whose figures are known."""

from __future__ import annotations

from pathlib import Path

from gilwatt.store import Store
from gilwatt.store.synthetic import write_run
from gilwatt.summary import format_summary, joules, region_figures, seconds, size


def test_units() -> None:
    assert seconds(1.5e9) == "1.500 s" and seconds(2.5e6) == "2.50 ms" and seconds(None) == "–"
    assert size(3 << 20) == "3.0 MiB" and size(512) == "512 B" and size(None) == "–"
    assert joules(1_234_567) == "1.23 J"


def test_summary_and_region_figures_match_what_went_in(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        made = write_run(store, samples=200, util=1.5)
        info = store.run_info(made.run_id)
        summary = store.summary(made.run_id)
        timeline = store.timeline(made.run_id)
    (region,) = summary.regions
    figures = region_figures(region, timeline)
    assert figures.mean_util is not None and abs(figures.mean_util - 1.5) < 0.05
    assert figures.cpu_user_ns is not None and figures.cpu_sys_ns is not None
    assert region.tree_cpu_ns is not None
    assert abs(figures.cpu_user_ns + figures.cpu_sys_ns - region.tree_cpu_ns) <= 1
    assert figures.core_balance is not None and 0.5 < figures.core_balance < 1.0  # core 0 busier
    assert figures.max_threads == made.threads
    lines = format_summary(info, summary, timeline, store_path="s.db", sampler_cpu_ns=10**6)
    text = "\n".join(lines)
    assert lines[0].startswith(f"gilwatt: run {made.run_id} in s.db:")
    for word in ("wall", "user", "sys", "utilisation", "core balance", "context switches",
                 "peak RSS", "VMS", "USS", "PSS", "energy", "requested", "region"):  # fmt: skip
        assert word in text, word
    assert "1.50 cores" in text  # the run's mean utilisation
    region_line = next(line for line in lines if line.strip().startswith(region.name + " "))
    assert seconds(region.wall_ns) in region_line


def test_region_without_samples_inside_shows_dashes(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        made = write_run(store, samples=50)
        region = store.summary(made.run_id).regions[0]
    figures = region_figures(region, None)
    assert figures.mean_util is None and figures.peak_uss_bytes is None
