"""Choosing the energy source, idle baseline, the report text, and the per-call cost."""

from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path

import pytest

from gilwatt import energy
from gilwatt.errors import ConfigError
from gilwatt.probes import energy_model, rapl

ROOTS = Path(__file__).parent / "data" / "roots"
VM = ROOTS / "rapl-none"
MS = 1_000_000


def copy_root(name: str, dest: Path) -> Path:
    shutil.copytree(ROOTS / name, dest / name, symlinks=True)
    return dest / name


def refusing_opener(path: str, flags: int) -> int:
    if path.endswith("/energy_uj"):  # the kernel's answer to a non-root user since 2020
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return os.open(path, flags)


def test_rapl_is_preferred_when_readable() -> None:
    meter = energy.open_meter(ROOTS / "rapl-intel-2s")
    try:
        assert meter.source.startswith("rapl:") and meter.estimate is False
    finally:
        meter.close()


def test_no_powercap_falls_back_to_the_model_quietly() -> None:
    meter = energy.open_meter(VM)
    assert meter.source == "model:ccf-linear" and meter.estimate is True
    assert meter.warnings == []  # a VM without RAPL is normal; describe() says why
    assert "no /sys/class/powercap" in meter.details["fallback_reason"]


def test_unreadable_counters_warn_once_and_fall_back(tmp_path: Path) -> None:
    root = copy_root("rapl-intel-2s", tmp_path)
    meter = energy.open_meter(root, opener=refusing_opener, cpu_tdp_w=35.0)
    assert meter.source == "model:teads-tdp" and meter.estimate
    [warning] = meter.warnings
    assert warning.startswith(
        "energy: cannot read /sys/class/powercap/intel-rapl:0/energy_uj: permission denied"
    )
    assert "using model:teads-tdp (an estimate)" in warning
    assert "z /sys/class/powercap/intel-rapl:*/energy_uj 0440 root powercap -" in warning
    assert "udev" in warning and "\n" not in warning


def test_rapl_demanded_but_missing_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="energy source 'rapl': no /sys/class/powercap"):
        energy.open_meter(VM, model="rapl")


def test_rapl_demanded_but_locked_gives_the_fix(tmp_path: Path) -> None:
    root = copy_root("rapl-amd-1s", tmp_path)
    with pytest.raises(ConfigError) as info:
        energy.open_meter(root, model="rapl", opener=refusing_opener)
    assert "0440 root powercap" in str(info.value)


def test_explicit_model_wins_over_rapl() -> None:
    meter = energy.open_meter(
        ROOTS / "rapl-amd-1s", model="ccf-linear+dram", cpu_model="AMD EPYC 7R13"
    )
    assert meter.source == "model:ccf-linear+dram"
    assert meter.details["arch"] == "amd-epyc-3rd-gen"


def test_measure_idle_with_rapl_and_a_fake_clock(tmp_path: Path) -> None:
    root = copy_root("rapl-intel-2s", tmp_path)
    meter = energy.open_meter(root)
    clock = [10_000 * MS]
    watts = {
        "intel-rapl:0": 40.0,
        "intel-rapl:0:2": 5.0,
        "intel-rapl:1": 30.0,
        "intel-rapl:1:2": 4.0,
        "intel-rapl:2": 200.0,
    }

    def sleep(seconds: float) -> None:  # time passes, the counters advance at fixed power
        clock[0] += int(seconds * 1e9)
        for sysname, w in watts.items():
            path = root / "sys/class/powercap" / sysname / "energy_uj"
            path.write_text(f"{int(path.read_text()) + round(w * seconds * 1e6)}\n")

    meter.sample(0, ())
    idle_w = energy.measure_idle(meter, 2.0, lambda: (), clock_ns=lambda: clock[0], sleep=sleep)
    assert idle_w == pytest.approx(40 + 5 + 30 + 4)  # psys is not added to the packages
    assert meter.sample(clock[0], ())[0] == 0  # re-zeroed for the run
    sleep(0.5)
    assert meter.sample(clock[0], ())[0] == pytest.approx(79 * 0.5 * 1e6, abs=4)
    meter.close()


def test_measure_idle_with_the_model_is_the_models_power_at_idle() -> None:
    meter = energy.open_meter(VM)
    clock = [0]
    ticks = [[(500, 1000), (600, 1000)]]

    def sleep(seconds: float) -> None:
        clock[0] += int(seconds * 1e9)
        n = round(seconds * 100)
        ticks[0] = [(b, t + n) for b, t in ticks[0]]  # all idle: totals move, busy does not

    idle_w = energy.measure_idle(
        meter, 1.0, lambda: ticks[0], clock_ns=lambda: clock[0], sleep=sleep
    )
    assert idle_w == pytest.approx(2 * 0.45)  # n_vcpu x P_min, the model's floor


def test_measure_idle_on_this_machine_is_within_the_models_range() -> None:
    meter = energy.open_meter(Path("/"), model="ccf-linear")
    assert isinstance(meter, energy_model.ModelMeter)
    low, high = meter.power_range_w()
    idle_w = energy.measure_idle(meter, 0.3, energy_model.proc_stat_core_ticks)
    # µJ are whole numbers, and tick counts can run one tick per core ahead of the wall clock
    slack = len(energy_model.proc_stat_core_ticks()) * 0.01 * (meter.p_max_w - meter.p_min_w) / 0.3
    assert low * 0.999 <= idle_w <= high + slack


def test_measure_idle_needs_a_duration() -> None:
    with pytest.raises(ConfigError, match="idle-baseline"):
        energy.measure_idle(energy.open_meter(VM), 0, lambda: ())


def test_describe_rapl_lists_every_zone_and_why() -> None:
    meter = energy.open_meter(ROOTS / "rapl-intel-2s")
    text = energy.describe(meter, idle_power_w=42.0)
    meter.close()
    assert text.splitlines()[0] == (
        "energy source: rapl:package-0+package-0/dram+package-1+package-1/dram (measured)"
    )
    assert "platform view that already includes the packages" in text
    assert "copy of rapl:package-0" in text
    assert "idle baseline: 42.00 W (measured)" in text


def test_describe_model_gives_formula_coefficients_and_source() -> None:
    meter = energy.open_meter(VM, model="teads-tdp+dram", cpu_tdp_w=20.0)
    text = energy.describe(meter, idle_power_w=2.5)
    assert "ESTIMATE" in text.splitlines()[0]
    assert "TDP 20 W" in text and "Teads" in text
    assert "2.40 W idle .. 20.40 W all cores busy" in text  # 0.12 and 1.02 x 20 W
    assert "24 GiB × 0.284 W/GiB" in text
    assert "model power at measured idle utilisation" in text
    ccf = energy.describe(energy.open_meter(VM))
    assert "P_min 0.45 W/vCPU, P_max 2.02 W/vCPU, n_vcpu 2" in ccf
    assert "ComputeProcessorTypes.ts" in ccf


def per_call_us(
    meter: energy.EnergyMeter, ticks: list[tuple[int, int]], calls: int = 10_000
) -> float:
    meter.sample(0, ticks)
    t = 0
    start = time.perf_counter_ns()
    for _ in range(calls):
        t += 10 * MS
        meter.sample(t, ticks)
    return (time.perf_counter_ns() - start) / calls / 1000


def test_per_call_cost(capsys: pytest.CaptureFixture[str]) -> None:
    """10k sample() calls each; the sampler's whole budget is 30 µs per tick."""
    ticks = [(1000, 2000), (1100, 2000)]
    rapl_meter = rapl.open_rapl(ROOTS / "rapl-intel-2s")  # 10 zones, regular files not sysfs
    amd_meter = rapl.open_rapl(ROOTS / "rapl-amd-1s")  # 2 zones
    costs = {
        "rapl 10 zones": per_call_us(rapl_meter, ticks),
        "rapl 2 zones": per_call_us(amd_meter, ticks),
        "model ccf-linear": per_call_us(energy.open_meter(VM), ticks),
        "model teads-tdp": per_call_us(energy.open_meter(VM, cpu_tdp_w=50.0), ticks),
    }
    rapl_meter.close()
    amd_meter.close()
    with capsys.disabled():
        print(
            "\nenergy meter cost per sample(): "
            + ", ".join(f"{k} {v:.2f} µs" for k, v in costs.items())
        )
    assert all(v < 100 for v in costs.values()), costs  # loose: the machine is shared
