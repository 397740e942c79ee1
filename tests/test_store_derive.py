"""The derived figures (store/derive.py) and the bulk column reader (store/fetch.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from gilwatt.store import Store, derive
from gilwatt.store.fetch import fetch_columns, forward_fill
from gilwatt.store.synthetic import write_run


def a(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        ((5, 5, 5, 5), 1.0),  # perfectly even
        ((0, 0, 0, 8), 0.0),  # everything on one core
        ((1, 2), 2 / 3),  # Gini 1/6, max 1/2 for two values: 1 - 1/3
        ((0, 1, 1), 0.5),  # Gini 1/3, max 2/3: 1 - 1/2
        ((7,), 1.0),  # one core is trivially balanced
        ((0, 0), 1.0),  # an idle machine is not unbalanced
    ],
)
def test_core_balance(busy: tuple[int, ...], expected: float) -> None:
    assert derive.core_balance(a(*busy)) == pytest.approx(expected)


def test_interval_utilisation_fills_intervals_without_ticks() -> None:
    # Counters move at samples 2 and 4 only: samples 0-2 lie in the first interval (1/2 busy),
    # samples 3-4 in the second (all busy); the first sample takes its interval's share too.
    busy = a(0, 0, 1, 1, 3)
    total = a(0, 0, 2, 2, 4)
    assert derive.interval_utilisation(busy, total).tolist() == [0.5, 0.5, 0.5, 1.0, 1.0]
    assert derive.interval_utilisation(a(3, 3), a(9, 9)).tolist() == [0.0, 0.0]


def test_core_busy_matrix_aligns_by_seq() -> None:
    sample_seq = a(0, 1, 2, 3)
    # core rows for seq 0, 1, 3 (none for the boundary sample 2)
    m = derive.core_busy_matrix(
        sample_seq, a(0, 0, 1, 1, 3, 3), a(0, 1, 0, 1, 0, 1),
        a(0, 0, 1, 0, 1, 2), a(0, 0, 1, 1, 2, 2),
    )  # fmt: skip
    assert m.tolist() == [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]


def test_peak_utilisation_uses_windows() -> None:
    ms = 1_000_000
    t = np.arange(0, 1001 * ms, 10 * ms, dtype=np.int64)  # 1 s at 10 ms
    rate = np.where((t >= 400 * ms) & (t < 600 * ms), 2.0, 0.5)  # 2 cores busy for 200 ms
    cpu = np.concatenate(([0], np.cumsum(rate[:-1] * 10 * ms))).astype(np.int64)
    assert derive.mean_utilisation(t, cpu) == pytest.approx(0.8)
    assert derive.peak_utilisation(t, cpu, 100 * ms) == pytest.approx(2.0)
    # A boundary sample 1 us after a tick must not create a spike.
    t2 = np.insert(t, 50, t[50] + 1000)
    cpu2 = np.insert(cpu, 50, cpu[50] + 10_000)  # +10 us of CPU in 1 us: 10 "cores"
    assert derive.peak_utilisation(t2, cpu2, 100 * ms) == pytest.approx(2.0, rel=1e-3)
    # A run shorter than the window gets its mean.
    assert derive.peak_utilisation(t[:5], cpu[:5], 100 * ms) == pytest.approx(0.5)


def test_forward_fill() -> None:
    assert forward_fill(a(-1, -1, 5, -1, 7, -1), -1, initial=0).tolist() == [0, 0, 5, 5, 7, 7]
    assert forward_fill(a(1, 2), -1).tolist() == [1, 2]


@pytest.fixture
def conn() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE t (run_id INTEGER, seq INTEGER, v INTEGER, PRIMARY KEY (run_id, seq))")
    return c


def test_fetch_columns(conn: sqlite3.Connection) -> None:
    conn.executemany(
        "INSERT INTO t VALUES (?, ?, ?)", [(1, 2, None), (1, 0, -5), (2, 0, 9), (1, 1, 2**62)]
    )
    got = fetch_columns(
        conn, "t", ("seq", "v"), where="run_id = ?", params=(1,), key=("seq",), fill={"v": -1}
    )
    assert got["seq"].tolist() == [0, 1, 2]
    assert got["v"].tolist() == [-5, 2**62, -1]
    assert got["v"].dtype == np.int64
    empty = fetch_columns(conn, "t", ("seq", "v"), where="run_id = ?", params=(3,), key=("seq",))
    assert empty["seq"].shape == (0,)


def test_fetch_columns_falls_back_when_text_does_not_parse(conn: sqlite3.Connection) -> None:
    # A REAL in an INTEGER column defeats the text path; the row path still answers.
    conn.executemany("INSERT INTO t VALUES (1, ?, ?)", [(0, 1), (1, 2.0), (2, 3)])
    got = fetch_columns(conn, "t", ("seq", "v"), where="run_id = ?", params=(1,), key=("seq",))
    assert got["v"].tolist() == [1, 2, 3]


def test_fetch_columns_falls_back_when_order_is_wrong(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If group_concat ever returned rows out of key order, the rows are read instead."""
    conn.executemany("INSERT INTO t VALUES (1, ?, ?)", [(s, s * 10) for s in range(5)])
    from gilwatt.store import fetch

    real = fetch._parse

    def shuffled(texts: object, count: int) -> object:
        arrays = real(texts, count)  # type: ignore[arg-type]
        return None if arrays is None else [x[::-1] for x in arrays]

    monkeypatch.setattr(fetch, "_parse", shuffled)
    got = fetch_columns(conn, "t", ("seq", "v"), where="run_id = 1", params=(), key=("seq",))
    assert got["seq"].tolist() == [0, 1, 2, 3, 4]
    assert got["v"].tolist() == [0, 10, 20, 30, 40]


def test_timeline_of_10k_samples_reads_back_whole(tmp_path: Path) -> None:
    """A 10k-sample run (4 threads, 2 cores) reads back whole (its speed: bench/bench_store_read.py)."""
    with Store.open(tmp_path / "big.db") as store:
        run = write_run(store, samples=10_000, threads=4, cores=2)
    with Store.open(tmp_path / "big.db", create=False) as store:
        tl = store.timeline(run.run_id)
        assert tl.t_ns.shape == (10_000,) and len(tl.thread_cpu_ns) == 4
        s = store.summary(run.run_id)
        assert s.mean_cpu_util == pytest.approx(run.util, rel=1e-3)
        assert s.peak_rss_bytes == run.hwm_bytes
        assert s.energy_uj == run.energy_uj
        assert s.regions[0].tree_cpu_ns is not None
