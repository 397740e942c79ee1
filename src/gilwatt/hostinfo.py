"""The machine a run happened on: CPU, cores, ISA flags, kernel, memory, and the knobs that
move timings (frequency governor, turbo, SMT, isolated CPUs, virtualisation).

Everything is read under ``root`` (``/`` normally, a fake tree in tests); a file that is
missing leaves its field empty rather than failing: hosts differ in what they expose.
"""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any

from gilwatt.readback import HostInfo

# ISA extensions that matter for numerical workloads; the full flag list goes to extra.
ISA_OF_INTEREST = (
    "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512_bf16", "amx_tile", "sha_ni", "aes", "neon", "asimd", "sve", "sve2",
)  # fmt: skip


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _cpuinfo(root: Path) -> dict[str, str]:
    """The first processor's block of /proc/cpuinfo."""
    fields: dict[str, str] = {}
    for line in _read(root / "proc" / "cpuinfo").splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _memory_bytes(root: Path) -> int:
    for line in _read(root / "proc" / "meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu_knobs(root: Path) -> dict[str, Any]:
    cpu = root / "sys" / "devices" / "system" / "cpu"
    knobs: dict[str, Any] = {}
    governor = _read(cpu / "cpu0" / "cpufreq" / "scaling_governor")
    if governor:
        knobs["governor"] = governor
        for name in ("scaling_min_freq", "scaling_max_freq", "cpuinfo_max_freq"):
            value = _read(cpu / "cpu0" / "cpufreq" / name)
            if value.isdigit():
                knobs[f"{name}_khz"] = int(value)
    boost = _read(cpu / "cpufreq" / "boost")
    no_turbo = _read(cpu / "intel_pstate" / "no_turbo")
    if boost:
        knobs["turbo"] = boost == "1"
    elif no_turbo:
        knobs["turbo"] = no_turbo == "0"
    smt = _read(cpu / "smt" / "active")
    if smt:
        knobs["smt_active"] = smt == "1"
    for name in ("isolated", "nohz_full", "online"):
        value = _read(cpu / name)
        if value and value != "(null)":
            knobs[f"cpus_{name}"] = value
    nodes = root / "sys" / "devices" / "system" / "node"
    with contextlib.suppress(OSError):
        knobs["numa_nodes"] = sum(1 for p in nodes.iterdir() if p.name.startswith("node"))
    return knobs


def _cgroup_cpu_quota(root: Path) -> float | None:
    """CPUs the cgroup (v2) quota allows this process, the tightest along its path; None: no
    quota or not readable. ``cpu.max`` is "QUOTA PERIOD" or "max PERIOD"."""
    path = ""
    for line in _read(root / "proc" / "self" / "cgroup").splitlines():
        if line.startswith("0::"):
            path = line[3:].strip()
    base = root / "sys" / "fs" / "cgroup"
    if not path or not base.is_dir():
        return None
    best: float | None = None
    node = Path(path)
    for part in [node, *node.parents]:
        fields = _read(base / str(part).lstrip("/") / "cpu.max").split()
        if len(fields) == 2 and fields[0] != "max":
            with contextlib.suppress(ValueError, ZeroDivisionError):
                cpus = int(fields[0]) / int(fields[1])
                best = cpus if best is None else min(best, cpus)
    return None if best is None else round(best, 3)


def usable_cpus(logical_cpus: int, extra: dict[str, Any]) -> int:
    """CPUs a study's runs could use at once: affinity, then the cgroup quota (rounded down,
    at least 1); the logical CPU count when neither was recorded (older stores)."""
    count = logical_cpus
    affinity = extra.get("affinity_cpus")
    if isinstance(affinity, int) and affinity > 0:
        count = affinity
    quota = extra.get("cgroup_cpu_quota")
    if isinstance(quota, int | float) and quota > 0:
        count = min(count, max(1, int(quota)))
    return max(1, count)


# A fake for tests only: two Dask workers on one machine pose as two hosts (a distinct
# hostname gives a distinct host fingerprint). Never set it for a real study.
TEST_HOST_LABEL = "GILWATT_TEST_HOST_LABEL"


def _hostname(nodename: str) -> str:
    label = os.environ.get(TEST_HOST_LABEL)
    return f"{nodename}~{label}" if label else nodename


def collect(root: Path = Path("/")) -> HostInfo:
    """Describe this machine (see the module docstring)."""
    info = _cpuinfo(root)
    flags = (info.get("flags") or info.get("Features") or "").split()
    model = (
        info.get("model name")
        or info.get("Processor")
        or info.get("cpu model")
        or platform.processor()
    )
    uname = os.uname()
    extra: dict[str, Any] = {
        "machine": uname.machine,
        "kernel_version": uname.version,
        "hypervisor": "hypervisor" in flags,
        "cpu_flags": " ".join(flags),
        "cgroup_v2_only": (root / "sys" / "fs" / "cgroup" / "cgroup.controllers").exists(),
        "aslr": _read(root / "proc" / "sys" / "kernel" / "randomize_va_space"),
    }  # only what is stable: the store identifies a host by all of these
    extra.update(_cpu_knobs(root))
    with contextlib.suppress(AttributeError, OSError):
        extra["affinity_cpus"] = len(os.sched_getaffinity(0))
    quota = _cgroup_cpu_quota(root)
    if quota is not None:  # no schema change: the host's extra metadata carries it
        extra["cgroup_cpu_quota"] = quota
    return HostInfo(
        hostname=_hostname(uname.nodename),
        cpu_model=model or "unknown",
        logical_cpus=os.cpu_count() or 1,
        kernel=uname.release,
        memory_bytes=_memory_bytes(root),
        isa_flags=" ".join(f for f in ISA_OF_INTEREST if f in flags),
        extra=extra,
    )
