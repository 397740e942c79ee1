"""Memory per added worker and scaling, with their intervals (pure: made-up figures)."""

from __future__ import annotations

import pytest

from gilwatt.advise.fits import NO_INTERVAL, memory_slope, scaling

MIB = 1 << 20


def test_memory_slope_with_its_t_interval() -> None:
    # two runs per worker count around 100 MiB + 17.5 MiB per worker
    noise = [0.4, -0.3, -0.2, 0.5, 0.1, -0.4]
    points = [(n, (100 + 17.5 * n + e) * MIB)
              for n, e in zip((1, 1, 2, 2, 4, 4), noise, strict=True)]  # fmt: skip
    slope = memory_slope(points)
    assert slope is not None and slope.dof == 4 and slope.note == ""
    assert slope.bytes_per_worker / MIB == pytest.approx(17.5, abs=0.3)
    assert slope.interval is not None
    low, high = (v / MIB for v in slope.interval)
    assert low < 17.5 < high and high - low < 2.0


def test_memory_slope_without_enough_points_has_no_interval() -> None:
    slope = memory_slope([(1, 124 * MIB), (2, 143 * MIB), (4, 178 * MIB)])
    assert slope is not None and slope.interval is None and slope.note == NO_INTERVAL
    assert slope.bytes_per_worker / MIB == pytest.approx(17.8, abs=0.2)
    assert memory_slope([(2, MIB), (2, 2 * MIB)]) is None  # one worker count: no slope


def _amdahl_time(n: int, serial: float) -> float:
    return serial + (1 - serial) / n


def test_scaling_speedup_and_serial_fraction_with_intervals() -> None:
    jitter = [1.0, 1.02, 0.98, 1.01]
    by_block = {
        b: {n: [_amdahl_time(n, 0.2) * j * (1 + 0.01 * (n == 2) * (-1) ** b)] for n in (1, 2, 4)}
        for b, j in enumerate(jitter, start=1)
    }
    fit = scaling(by_block, cpus=2)  # N = 4 is above the CPUs: left out of the fit
    assert fit is not None and fit.top == 2 and fit.blocks == 4 and fit.note == ""
    assert fit.speedup == pytest.approx(1 / 0.6, rel=0.02)
    assert fit.serial == pytest.approx(0.2, abs=0.02)
    assert fit.speedup_interval is not None and fit.serial_interval is not None
    assert fit.speedup_interval[0] < fit.speedup < fit.speedup_interval[1]
    assert 0.0 <= fit.serial_interval[0] < 0.2 < fit.serial_interval[1] <= 1.0


def test_scaling_below_three_complete_blocks_has_no_interval() -> None:
    by_block = {1: {1: [1.0], 2: [0.6]}, 2: {1: [1.0], 2: [0.62]}, 3: {1: [1.0]}}
    fit = scaling(by_block, cpus=2)
    assert fit is not None and fit.blocks == 2
    assert fit.speedup_interval is None and fit.serial_interval is None
    assert fit.note.startswith(NO_INTERVAL)
    assert scaling({1: {2: [0.5]}}, cpus=2) is None  # no T(1)
