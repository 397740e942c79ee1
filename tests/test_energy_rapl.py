"""RAPL through powercap on fake sysfs roots (this machine has no RAPL; users' hosts do)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gilwatt.errors import ProbeUnavailable
from gilwatt.probes import rapl

ROOTS = Path(__file__).parent / "data" / "roots"
INTEL_RANGE = 262143328850
AMD_RANGE = 65532610987
MS = 1_000_000


def copy_root(name: str, dest: Path) -> Path:
    """A writable copy of a committed fake root (symlinks kept, as in real sysfs)."""
    target = dest / name
    shutil.copytree(ROOTS / name, target, symlinks=True)
    return target


def set_counter(root: Path, sysname: str, value: int, file: str = "energy_uj") -> None:
    (root / "sys/class/powercap" / sysname / file).write_text(f"{value}\n")


def get_counter(root: Path, sysname: str) -> int:
    return int((root / "sys/class/powercap" / sysname / "energy_uj").read_text())


def counted(meter: rapl.RaplMeter) -> list[str]:
    return [row[0] for row in meter.zones if row[4]]


@pytest.fixture
def intel(tmp_path: Path) -> Iterator[Path]:
    yield copy_root("rapl-intel-2s", tmp_path)


def test_two_sockets_count_packages_and_dram_only(intel: Path) -> None:
    meter = rapl.open_rapl(intel)
    try:
        assert counted(meter) == [
            "rapl:package-0",
            "rapl:package-0/dram",
            "rapl:package-1",
            "rapl:package-1/dram",
        ]
        assert meter.source == "rapl:package-0+package-0/dram+package-1+package-1/dram"
        assert meter.estimate is False
        rows = {row[0]: row for row in meter.zones}
        # every zone is stored, with its parent, its file and its range
        assert set(rows) == {
            "rapl:package-0",
            "rapl:package-0/core",
            "rapl:package-0/uncore",
            "rapl:package-0/dram",
            "rapl:package-1",
            "rapl:package-1/core",
            "rapl:package-1/uncore",
            "rapl:package-1/dram",
            "rapl:psys",
            "rapl-mmio:package-0",
        }
        assert rows["rapl:package-1/core"] == (
            "rapl:package-1/core",
            "/sys/class/powercap/intel-rapl:1:0/energy_uj",
            "rapl:package-1",
            INTEL_RANGE,
            0,
        )
        assert rows["rapl:psys"][4] == 0 and rows["rapl-mmio:package-0"][4] == 0
        # never a counted zone whose parent is counted too, except dram (outside the package counter)
        for zone, _path, parent, _rng, is_counted in meter.zones:
            if is_counted and parent:
                assert rows[parent][4] and zone.endswith("/dram")
    finally:
        meter.close()


def test_sample_sums_counted_zones_only(intel: Path) -> None:
    meter = rapl.open_rapl(intel)
    base = {
        s: get_counter(intel, s)
        for s in (
            "intel-rapl:0",
            "intel-rapl:0:0",
            "intel-rapl:0:2",
            "intel-rapl:1",
            "intel-rapl:1:2",
            "intel-rapl:2",
        )
    }
    assert meter.sample(0, ()) == (0, dict.fromkeys([row[0] for row in meter.zones], 0))
    set_counter(intel, "intel-rapl:0", base["intel-rapl:0"] + 1_000_000)  # 1 J
    set_counter(intel, "intel-rapl:0:0", base["intel-rapl:0:0"] + 700_000)  # inside package-0
    set_counter(intel, "intel-rapl:0:2", base["intel-rapl:0:2"] + 200_000)
    set_counter(intel, "intel-rapl:1", base["intel-rapl:1"] + 3_000_000)
    set_counter(intel, "intel-rapl:1:2", base["intel-rapl:1:2"] + 400_000)
    set_counter(intel, "intel-rapl:2", base["intel-rapl:2"] + 9_000_000)  # psys: the whole platform
    set_counter(intel, "intel-rapl-mmio:0", base["intel-rapl:0"] + 1_000_000)
    total, zones = meter.sample(100 * MS, ())
    assert total == 1_000_000 + 200_000 + 3_000_000 + 400_000
    assert zones["rapl:package-0/core"] == 700_000
    assert zones["rapl:psys"] == 9_000_000
    assert zones["rapl-mmio:package-0"] == 1_000_000
    meter.close()


def test_counter_wrap_adds_the_range_once(intel: Path) -> None:
    meter = rapl.open_rapl(intel)
    set_counter(intel, "intel-rapl:0", INTEL_RANGE - 300_000)
    meter.sample(0, ())
    set_counter(intel, "intel-rapl:0", INTEL_RANGE - 100_000)
    assert meter.sample(10 * MS, ())[1]["rapl:package-0"] == 200_000
    set_counter(intel, "intel-rapl:0", 50_000)  # wrapped: 100 000 to the top, then 50 000
    total, zones = meter.sample(20 * MS, ())
    assert zones["rapl:package-0"] == 350_000
    assert total == 350_000
    set_counter(intel, "intel-rapl:0", 80_000)
    assert meter.sample(30 * MS, ())[1]["rapl:package-0"] == 380_000
    assert meter.warnings == []
    meter.close()


def test_backwards_step_too_large_for_a_wrap_is_a_reset(intel: Path) -> None:
    meter = rapl.open_rapl(intel)
    set_counter(intel, "intel-rapl:0", 5_000_000_000)
    meter.sample(0, ())
    set_counter(intel, "intel-rapl:0", 1_000)  # a wrap would mean ~257 kJ in 10 ms
    assert meter.sample(10 * MS, ())[1]["rapl:package-0"] == 1_000
    assert any("rapl:package-0 was reset" in w for w in meter.warnings)
    meter.close()


def test_unknown_range_drops_the_backwards_interval_and_says_why(intel: Path) -> None:
    (intel / "sys/class/powercap/intel-rapl:1/max_energy_range_uj").unlink()
    meter = rapl.open_rapl(intel)
    assert [w for w in meter.warnings if "intel-rapl:1/max_energy_range_uj is unreadable" in w]
    set_counter(intel, "intel-rapl:1", 9_000_000)
    meter.sample(0, ())
    set_counter(intel, "intel-rapl:1", 10)
    assert meter.sample(10 * MS, ())[1]["rapl:package-1"] == 0  # never negative energy
    set_counter(intel, "intel-rapl:1", 510)
    assert meter.sample(20 * MS, ())[1]["rapl:package-1"] == 500
    assert any("went backwards and its range is unknown" in w for w in meter.warnings)
    meter.close()


def test_gap_longer_than_half_a_wrap_period_warns(intel: Path) -> None:
    meter = rapl.open_rapl(intel)
    assert meter.wrap_period_s is not None
    # 262143 J at 2 x 350 W (the zone's constraint_0_max_power_uw) wraps in about 374 s
    assert meter.wrap_period_s == pytest.approx(INTEL_RANGE / 700e6)
    meter.sample(0, ())
    meter.sample(int(0.4 * meter.wrap_period_s * 1e9), ())
    assert not [w for w in meter.warnings if "second wrap" in w]
    meter.sample(int(1.0 * meter.wrap_period_s * 1e9), ())
    assert len([w for w in meter.warnings if "second wrap" in w]) == 1
    meter.close()


def test_counters_that_never_move_are_reported(intel: Path) -> None:
    meter = rapl.open_rapl(intel)
    meter.sample(0, ())
    meter.sample(500 * MS, ())
    assert meter.warnings == []
    meter.sample(1500 * MS, ())
    assert any("did not move" in w for w in meter.warnings)
    meter.close()


def test_rebase_makes_the_next_sample_zero(intel: Path) -> None:
    meter = rapl.open_rapl(intel)
    meter.sample(0, ())
    set_counter(intel, "intel-rapl:0", get_counter(intel, "intel-rapl:0") + 5)
    assert meter.sample(10 * MS, ())[0] == 5
    meter.rebase()
    assert meter.sample(20 * MS, ())[0] == 0
    set_counter(intel, "intel-rapl:0", get_counter(intel, "intel-rapl:0") + 7)
    assert meter.sample(30 * MS, ())[0] == 7
    meter.close()


def test_amd_single_socket_counts_package_not_core(tmp_path: Path) -> None:
    root = copy_root("rapl-amd-1s", tmp_path)
    meter = rapl.open_rapl(root)
    assert meter.source == "rapl:package-0"
    assert counted(meter) == ["rapl:package-0"]
    assert meter.zones[1][:3] == (
        "rapl:package-0/core",
        "/sys/class/powercap/intel-rapl:0:0/energy_uj",
        "rapl:package-0",
    )
    # 15.3 µJ unit: 65.5 kJ range wraps in ~131 s at the default 500 W ceiling
    assert meter.wrap_period_s == pytest.approx(AMD_RANGE / 500e6)
    meter.close()


def test_amd_mirrored_dies_are_counted_once(tmp_path: Path) -> None:
    root = copy_root("rapl-amd-multidie", tmp_path)
    meter = rapl.open_rapl(root)
    assert counted(meter) == ["rapl:package-0-die-0"]
    assert any("reads the same counter" in w for w in meter.warnings)
    meter.sample(0, ())
    for sysname in ("intel-rapl:0", "intel-rapl:1"):
        set_counter(root, sysname, 51234567890 + 2_000_000)
    total, zones = meter.sample(100 * MS, ())
    assert total == 2_000_000  # not 4 000 000 (codecarbon#1274)
    assert zones["rapl:package-0-die-1"] == 2_000_000
    meter.close()


def test_distinct_dies_are_both_counted(tmp_path: Path) -> None:
    root = copy_root("rapl-amd-multidie", tmp_path)
    set_counter(root, "intel-rapl:1", 9_000_000_000)  # a real second die has its own counter
    meter = rapl.open_rapl(root)
    assert counted(meter) == ["rapl:package-0-die-0", "rapl:package-0-die-1"]
    meter.close()


def build_root(root: Path, zones: dict[str, tuple[str, int]]) -> Path:
    """A flat powercap tree: {sysname: (name, energy_uj)}."""
    for sysname, (name, energy) in zones.items():
        d = root / "sys/class/powercap" / sysname
        d.mkdir(parents=True)
        (d / "name").write_text(name + "\n")
        (d / "energy_uj").write_text(f"{energy}\n")
        (d / "max_energy_range_uj").write_text(f"{AMD_RANGE}\n")
    return root


def test_amd_rapl_control_type_is_read_too(tmp_path: Path) -> None:
    # defensive: an "amd-rapl" control type is accepted like intel-rapl
    root = build_root(
        tmp_path,
        {
            "amd-rapl:0": ("package-0", 10),
            "amd-rapl:0:0": ("core", 5),
            "amd-rapl:1": ("package-1", 20),
        },
    )
    meter = rapl.open_rapl(root)
    assert meter.source == "rapl:package-0+package-1"
    assert [row[0] for row in meter.zones] == [
        "rapl:package-0",
        "rapl:package-0/core",
        "rapl:package-1",
    ]
    meter.close()


def test_psys_alone_is_counted_when_there_is_no_package(tmp_path: Path) -> None:
    root = build_root(tmp_path, {"intel-rapl:0": ("psys", 10)})
    meter = rapl.open_rapl(root)
    assert meter.source == "rapl:psys"
    meter.close()


def test_numeric_zone_order(tmp_path: Path) -> None:
    zones = {f"intel-rapl:{i}": (f"package-{i}", i + 1) for i in range(12)}
    meter = rapl.open_rapl(build_root(tmp_path, zones))
    assert [row[0] for row in meter.zones][-3:] == [
        "rapl:package-9",
        "rapl:package-10",
        "rapl:package-11",
    ]
    meter.close()


def test_no_powercap_is_unavailable_with_its_reason(tmp_path: Path) -> None:
    with pytest.raises(ProbeUnavailable, match="no /sys/class/powercap"):
        rapl.open_rapl(tmp_path)
    ok, reason = rapl.available(tmp_path)
    assert not ok and "powercap" in reason
    (tmp_path / "sys/class/powercap/dtpm").mkdir(parents=True)  # powercap, but not RAPL
    assert rapl.available(tmp_path) == (False, "no RAPL zones under /sys/class/powercap")
    assert rapl.available(ROOTS / "rapl-amd-1s").ok


def refusing_opener(path: str, flags: int) -> int:
    """What the kernel does to a non-root user since the PLATYPUS fix: EACCES on energy_uj.

    Tests run as root here, and chmod does not stop root, so the refusal is injected at the one
    place the real code opens counters (``opener``, os.open in production).
    """
    if path.endswith("/energy_uj"):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return os.open(path, flags)


def test_unreadable_counter_names_the_file_and_the_fix(intel: Path) -> None:
    with pytest.raises(ProbeUnavailable) as info:
        rapl.open_rapl(intel, opener=refusing_opener)
    exc = info.value
    assert "/sys/class/powercap/intel-rapl:0/energy_uj" in exc.reason
    assert "permission denied" in exc.reason
    assert (
        exc.hint is not None
        and "z /sys/class/powercap/intel-rapl:*/energy_uj 0440 root powercap -" in exc.hint
    )
    assert "\n" not in str(exc)


def test_unreadable_uncounted_zone_is_left_out(intel: Path) -> None:
    def refuse_psys(path: str, flags: int) -> int:
        if "intel-rapl:2/" in path:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return os.open(path, flags)

    meter = rapl.open_rapl(intel, opener=refuse_psys)
    assert "rapl:psys" not in [row[0] for row in meter.zones]
    assert meter.source == "rapl:package-0+package-0/dram+package-1+package-1/dram"
    assert any("not recording rapl:psys" in w for w in meter.warnings)
    meter.close()


NOBODY_PROBE = """
import json, sys
from pathlib import Path
from gilwatt import energy
m = energy.open_meter(Path(sys.argv[1]))
print(json.dumps({"source": m.source, "estimate": m.estimate, "warnings": m.warnings}))
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"),
    reason="needs root and setpriv to become nobody",
)
@pytest.mark.parametrize("locked", [("energy_uj", "max_energy_range_uj"), ("max_energy_range_uj",)])
def test_real_permission_denied_as_nobody(locked: tuple[str, ...]) -> None:
    """The real code path: root-only files as the kernel makes them, read by uid 65534."""
    top = Path(tempfile.mkdtemp(prefix="gilwatt-rapl-"))
    try:
        top.chmod(0o755)
        root = copy_root("rapl-amd-1s", top)
        for path in root.rglob("*"):
            if path.is_symlink():
                continue
            path.chmod(0o400 if path.name in locked else (0o755 if path.is_dir() else 0o444))
        out = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-c",
                NOBODY_PROBE,
                str(root),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        result = json.loads(out.stdout)
    finally:
        shutil.rmtree(top)
    if "energy_uj" in locked:
        assert result["source"].startswith("model:") and result["estimate"] is True
        [warning] = result["warnings"]
        assert (
            "cannot read /sys/class/powercap/intel-rapl:0/energy_uj: permission denied" in warning
        )
        assert "0440 root powercap" in warning and "\n" not in warning
    else:  # partial chmod: counters readable, range not -> measured, with a warning
        assert result["source"] == "rapl:package-0" and result["estimate"] is False
        assert any("max_energy_range_uj is unreadable" in w for w in result["warnings"])


def test_a_counter_that_fails_mid_run_is_held_not_fatal(intel: Path) -> None:
    meter = rapl.open_rapl(intel)
    meter.sample(0, ())
    set_counter(intel, "intel-rapl:1", get_counter(intel, "intel-rapl:1") + 100)
    os.close(meter.fds[4])  # package-1's descriptor: the next pread fails with EBADF
    meter.fds[4] = os.open(intel / "sys/class/powercap/intel-rapl:1", os.O_RDONLY)  # a directory
    total, zones = meter.sample(10 * MS, ())
    assert zones["rapl:package-1"] == 0 and total == 0
    assert any("reading rapl:package-1 failed" in w for w in meter.warnings)
    meter.close()
