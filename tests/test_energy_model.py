"""The utilisation power models, checked against values computed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.probes import energy_model as em

VM = Path(__file__).parent / "data" / "roots" / "rapl-none"
MS = 1_000_000


@pytest.mark.parametrize(
    ("load", "fraction"),
    [
        (0.0, 0.12),
        (0.05, 0.22),  # halfway between 0.12 and 0.32
        (0.10, 0.32),
        (0.30, 0.535),  # 0.32 + 0.43 * 0.5
        (0.50, 0.75),
        (0.75, 0.885),  # 0.75 + 0.27 * 0.5
        (1.00, 1.02),
        (1.50, 1.02),  # clamped
        (-0.1, 0.12),
    ],
)
def test_teads_curve_points_and_interpolation(load: float, fraction: float) -> None:
    assert em.teads_fraction(load) == pytest.approx(fraction)
    assert em.teads_power_w(load, 200.0) == pytest.approx(200.0 * fraction)


def test_ccf_linear_power() -> None:
    # 4 vCPUs of Skylake (0.65 / 4.26 W): two idle, one half busy, one full
    expected = 0.65 + 0.65 + (0.65 + 0.5 * 3.61) + 4.26
    assert em.ccf_power_w([0.0, 0.0, 0.5, 1.0], 0.65, 4.26) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("cpu", "family", "model", "key"),
    [
        ("AMD EPYC 7571", None, None, "amd-epyc-1st-gen"),
        ("AMD EPYC 7R32", None, None, "amd-epyc-2nd-gen"),
        ("AMD EPYC 7R13 Processor", None, None, "amd-epyc-3rd-gen"),
        ("AMD EPYC 9R14 96-Core Processor", None, None, "amd-epyc-3rd-gen"),  # newer: nearest
        ("AMD EPYC", 0x17, 0x31, "amd-epyc-2nd-gen"),
        ("AMD EPYC", 0x17, 0x01, "amd-epyc-1st-gen"),
        ("AMD EPYC", 0x1A, 0x02, "amd-epyc-3rd-gen"),  # this VM: Zen 5, nearest CCF entry
        ("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", None, None, "skylake"),
        ("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", None, None, "cascade-lake"),
        ("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", None, None, "cascade-lake"),
        ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", None, None, "broadwell"),
        ("Intel(R) Xeon(R) CPU E5-2676 v3 @ 2.40GHz", None, None, "haswell"),
        ("Intel(R) Xeon(R) CPU E5-2670 v2 @ 2.50GHz", None, None, "ivy-bridge"),
        ("Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz", None, None, "sandy-bridge"),
        ("Intel(R) Xeon(R) CPU E3-1240 v5 @ 3.50GHz", None, None, "skylake"),
        ("Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz", None, None, "coffee-lake"),
        ("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", None, None, "coffee-lake"),
        ("Neoverse-N1", None, None, "graviton2"),
        ("Apple M2", None, None, "aws-average"),
        ("", None, None, "aws-average"),
    ],
)
def test_cpu_classification(cpu: str, family: int | None, model: int | None, key: str) -> None:
    assert em.classify_cpu(cpu, family, model)[0] == key


def test_ccf_coefficients_are_cited_values() -> None:
    # the numbers of CCF's ComputeProcessorTypes.ts / AwsFootprintEstimationConstants.ts
    assert em.CCF_COEFFICIENTS["amd-epyc-3rd-gen"][1:] == (0.45, 2.02)
    assert em.CCF_COEFFICIENTS["cascade-lake"][1:] == (0.64, 3.97)
    assert em.CCF_COEFFICIENTS["aws-average"][1:] == (0.74, 3.5)


def test_proc_stat_reader_on_a_fake_root() -> None:
    # cpu0: user 16748 nice 0 system 3510 idle 21779 iowait 66 irq 0 softirq 9 steal 20
    assert em.proc_stat_core_ticks(VM) == [
        (16748 + 3510 + 9, 16748 + 3510 + 9 + 21779 + 66 + 20),
        (17961 + 3644 + 27, 17961 + 3644 + 27 + 20432 + 130 + 18),
    ]
    assert em.count_cpus(VM) == 2
    assert em.read_cpuinfo(VM) == em.CpuInfo("AMD EPYC", 26, 2)
    assert em.memory_gib(VM) == pytest.approx(24.0)
    assert em.available(VM).ok


def test_ccf_meter_integrates_busy_time_exactly() -> None:
    meter = em.open_model(VM)
    assert meter.source == "model:ccf-linear" and meter.estimate
    assert meter.zones == [("model:ccf-linear", "/proc/stat", None, None, 1)]
    assert meter.details["arch"] == "amd-epyc-3rd-gen"
    assert meter.sample(0, [(1000, 5000), (2000, 5000)]) == (0, {"model:ccf-linear": 0})
    # 1 s later: core 0 fully busy (100 ticks), core 1 half busy (50 ticks)
    total, zones = meter.sample(1000 * MS, [(1100, 5100), (2050, 5100)])
    # P = 2 x 0.45 + (2.02 - 0.45) x 1.5 = 3.255 W for 1 s
    assert total == pytest.approx(3_255_000, abs=1)
    assert zones == {"model:ccf-linear": total}
    # 0.5 s idle: 0.9 W
    total, _ = meter.sample(1500 * MS, [(1100, 5150), (2050, 5150)])
    assert total == pytest.approx(3_255_000 + 450_000, abs=1)


@pytest.mark.parametrize("tdp", [None, 10.0])
def test_a_change_in_core_count_is_no_jump_in_energy(tdp: float | None) -> None:
    meter = em.open_model(VM, logical_cpus=2, cpu_tdp_w=tdp)
    floor_w = 0.9 if tdp is None else 0.12 * 10.0  # both cores idle until now
    meter.sample(0, [(100, 200), (100, 200)])
    meter.sample(100 * MS, [(100, 210), (100, 210)])
    # one core gone (the busy sum drops), then one back with a large counter: idle all along
    meter.sample(200 * MS, [(100, 220)])
    total, _ = meter.sample(300 * MS, [(100, 230), (90_000, 100_000)])
    assert total == pytest.approx(floor_w * 0.3 * 1e6, abs=2)


def test_teads_meter_uses_a_trailing_window() -> None:
    meter = em.open_model(VM, cpu_tdp_w=100.0)  # a TDP picks teads-tdp
    assert meter.source == "model:teads-tdp"
    meter.sample(0, [(0, 0), (0, 0)])
    busy = total = 0
    expected_uj = 0.0
    t = 0
    for _ in range(20):  # 2 cores, one busy: load 0.5 -> 75 W
        t += 10 * MS
        busy += 1
        total += 2
        meter.sample(t, [(busy, total), (0, 0)])
        expected_uj += 75.0 * 0.01 * 1e6
    assert meter.sample(t, [(busy, total), (0, 0)])[0] == pytest.approx(expected_uj, abs=2)
    for j in range(1, 13):  # now both busy: the 100 ms window ramps the load 0.55, 0.60 ... 1.0
        t += 10 * MS
        busy += 2
        total += 2
        load = min((10 + j) / 20, 1.0)
        expected_uj += 100.0 * (0.75 + 0.54 * (load - 0.5)) * 0.01 * 1e6
        got = meter.sample(t, [(busy, total), (0, 0)])[0]
        assert got == pytest.approx(expected_uj, abs=2)


def test_dram_term_is_a_separate_counted_zone() -> None:
    meter = em.open_model(VM, model="ccf-linear+dram")
    assert meter.source == "model:ccf-linear+dram"
    assert [z[0] for z in meter.zones] == ["model:ccf-linear", "model:dram"]
    meter.sample(0, [(0, 0), (0, 0)])
    total, zones = meter.sample(1000 * MS, [(0, 100), (0, 100)])
    assert zones["model:dram"] == pytest.approx(24.0 * 0.392 * 1e6, abs=1)  # 24 GiB x 0.392 W
    assert zones["model:ccf-linear"] == pytest.approx(0.9e6, abs=1)
    assert total == zones["model:dram"] + zones["model:ccf-linear"]


def test_explicit_architecture() -> None:
    meter = em.open_model(VM, model="ccf-linear:skylake")
    assert (meter.p_min_w, meter.p_max_w, meter.details["arch_match"]) == (
        0.65,
        4.26,
        "chosen explicitly",
    )
    assert meter.power_range_w() == pytest.approx((1.3, 8.52))


def test_bad_model_requests() -> None:
    with pytest.raises(UnknownNameError, match="ccf-linear"):
        em.open_model(VM, model="linear")
    with pytest.raises(UnknownNameError, match="ccf-linear:skylake"):
        em.open_model(VM, model="ccf-linear:pentium")
    with pytest.raises(ConfigError, match="--cpu-tdp"):
        em.open_model(VM, model="teads-tdp")
    with pytest.raises(ConfigError, match="positive"):
        em.open_model(VM, cpu_tdp_w=-5.0)


def test_tdp_given_to_ccf_is_noted_not_used() -> None:
    meter = em.open_model(VM, model="ccf-linear", cpu_tdp_w=65.0)
    assert meter.tdp_w is None and "65 W given" in meter.details["tdp_ignored"]


def test_a_meter_that_follows_the_tree_bills_the_runs_own_cpu_at_every_tick() -> None:
    meter = em.open_model(VM)  # 2 vCPUs, P_min 0.45 W, P_max 2.02 W each
    meter.follow_tree()
    assert meter.zones[-1] == (em.MACHINE_ZONE, "/proc/stat", None, None, 0)  # not counted
    assert meter.sample(0, [(1000, 5000), (2000, 5000)], 0) == (
        0,
        {"model:ccf-linear": 0, em.MACHINE_ZONE: 0},
    )
    # 10 ms ticks with no new per-core reading: the run's 1 core busy is billed every tick
    # (no 0 W while the run is busy, whatever /proc/stat's 10 ms ticks say)
    for k in range(1, 10):
        total, zones = meter.sample(k * 10 * MS, (), k * 10 * MS)
        assert zones == {"model:ccf-linear": total}
        # P = 2 x 0.45 + 1.57 x 1 core = 2.47 W
        assert total == pytest.approx(2.47 * k * 10 * 1000, abs=1)
    # 100 ms: the machine's ticks (both cores fully busy, other programs' load included) feed
    # their own zone, which is not the run's energy
    total, zones = meter.sample(100 * MS, [(1010, 5010), (2010, 5010)], 100 * MS)
    assert total == pytest.approx(247_000, abs=1)
    assert zones[em.MACHINE_ZONE] == pytest.approx((0.9 + 1.57 * 2) * 0.1 * 1e6, abs=1)


def test_a_teads_meter_that_follows_the_tree_takes_its_load_from_the_tree() -> None:
    meter = em.open_model(VM, cpu_tdp_w=10.0)
    meter.follow_tree()
    meter.sample(0, (), 0)
    total, _ = meter.sample(100 * MS, (), 100 * MS)  # one of 2 cores busy: load 0.5
    assert total == pytest.approx(10.0 * 0.75 * 0.1 * 1e6, abs=1)
