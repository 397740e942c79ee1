"""Chart data: rates from counters, decimation that keeps peaks, ticks and scales."""

from __future__ import annotations

import math

import numpy as np
import pytest

import report_fixtures as F
from gilwatt.report import charts, svg


def test_rate_of_a_steady_counter_is_its_slope() -> None:
    t = np.arange(0, 1_000_000_000, 10_000_000, dtype=np.int64)
    c = (t * 1.5).astype(np.int64)
    tt, r = charts.rate(t, c, 5_000_000, 1e-9)
    assert len(tt) == len(t) - 1
    assert np.allclose(r, 1.5)


def test_rate_merges_a_marker_sample_microseconds_after_a_tick() -> None:
    t = np.array([0, 10_000_000, 10_020_000, 20_000_000, 30_000_000], dtype=np.int64)
    c = np.array(
        [0, 10_000_000, 10_020_000 + 5_000_000, 20_000_000 + 5_000_000, 30_000_000 + 5_000_000]
    )
    tt, r = charts.rate(t, c.astype(np.int64), 5_000_000, 1e-9)
    assert 10_020_000 not in tt.tolist()  # the 20 µs step is folded into the next one
    assert r.max() < 2.0  # instead of a 250-core spike over 20 µs


def test_decimate_keeps_first_last_and_the_peak_and_bounds_the_size() -> None:
    n = 100_000
    x = np.arange(n, dtype=np.float64)
    y = np.sin(x / 1000)
    y[54_321] = 50.0
    y[77_777] = -50.0
    xs, (ys,) = charts.decimate(x, [y], buckets=400)
    assert len(xs) <= 2 * 400 + 2
    assert xs[0] == 0 and xs[-1] == n - 1
    assert 50.0 in ys and -50.0 in ys


def test_decimate_keeps_short_series_whole() -> None:
    x = np.arange(10.0)
    xs, ys = charts.decimate(x, [x * 2])
    assert xs is x and len(ys[0]) == 10


def test_thread_lines_keep_the_busiest_and_sum_the_rest() -> None:
    tl = F.timeline(threads=12)
    lines = charts.thread_cpu_lines(tl, F.START_NS, 5_000_000, top=4)
    assert len(lines.lines) == 5 and lines.hidden == 13 - 4
    assert lines.lines[-1].name.startswith("other threads (9)")
    # all the busy workers share 2 cores in the middle third: rates are in cores, not ns/s
    total = sum(np.nanmax(ln.y) for ln in lines.lines)
    assert 1.5 < total < 3.0


def test_linear_ticks_are_round_and_cover_the_range() -> None:
    assert svg.linear_ticks(0, 30, 6) == [0, 5, 10, 15, 20, 25, 30]
    assert svg.linear_ticks(0.013, 0.049, 4) == [0.02, 0.03, 0.04]


def test_log_ticks_for_wide_and_narrow_ranges() -> None:
    assert svg.log_ticks(0.1, 30) == [0.1, 1.0, 10.0]
    narrow = svg.log_ticks(0.98, 1.8)
    assert 1.0 in narrow and len(narrow) >= 3


def test_path_breaks_at_missing_values() -> None:
    d = svg.path_data([0, 1, 2, 3], [1.0, math.nan, 2.0, 3.0])
    assert d.count("M") == 2 and d.startswith("M0,1")


def test_padded_domain_includes_zero_and_survives_constant_or_empty_input() -> None:
    assert svg.padded_domain([5, 10], zero=True)[0] == 0
    lo, hi = svg.padded_domain([3.0, 3.0])
    assert lo < 3 < hi
    assert svg.padded_domain([]) == (0.0, 1.0)
    assert svg.padded_domain([math.nan], log=True) == (1.0, 10.0)


def test_fmt_num() -> None:
    assert svg.fmt_num(1500) == "1500"
    assert svg.fmt_num(0.25) == "0.25"
    assert svg.fmt_num(12.345) == "12.3"
    assert svg.fmt_num(math.nan) == "–"


def test_axis_labels_keep_their_distance_and_the_reference() -> None:
    from gilwatt.report.row_chart import spaced
    from gilwatt.report.svg import Scale

    # on this axis 1, 10, 25, 50, 75 land at 0, 52.5, 73.5, 89.3, 98.5 px
    log_axis = Scale(1.0, 80.0, 0.0, 100.0, log=True)
    assert spaced([1.0, 10.0, 25.0, 50.0, 75.0], log_axis, 26.0) == [1.0, 10.0, 50.0]
    assert spaced([1.0, 10.0, 25.0, 50.0, 75.0], log_axis, 26.0, keep=75.0) == [1.0, 10.0, 75.0]
    linear = Scale(0.0, 4.0, 0.0, 400.0)
    assert spaced([0.0, 1.0, 2.0, 3.0, 4.0], linear, 26.0) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_one_thread_is_never_drawn_above_one_core() -> None:
    """A /proc read (t=100 ms, 60 ms of CPU) beside the hook's exact end (t=110 ms, 80 ms):
    20 ms in 10 ms is two clocks' jitter; the excess goes back into the earlier step."""
    t = np.array([0, 50_000_000, 100_000_000, 110_000_000], dtype=np.int64)
    c = np.array([0, 20_000_000, 60_000_000, 80_000_000], dtype=np.int64)
    tl = F.timeline(threads=1)
    tid = next(iter(tl.thread_cpu_ns))
    tl.thread_cpu_ns.clear()
    tl.thread_cpu_ns[tid] = (t, c)
    (line,) = charts.thread_cpu_lines(tl, 0, 1, top=1).lines
    assert np.nanmax(line.y) <= 1.0 + 1e-9
    assert np.nansum(line.y * np.diff(t) / 1e9) == pytest.approx(0.080)
