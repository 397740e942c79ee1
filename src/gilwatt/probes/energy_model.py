"""CPU power estimated from measured per-core utilisation, for machines without energy counters.

Every figure from here is an estimate, labelled ``model:<name>``. Two published models:

``ccf-linear`` (default): Cloud Carbon Footprint's linear min/max model *per vCPU*,
    P = n_vcpu·P_min + (P_max − P_min)·Σ_cores u_core,
  with P_min/P_max in W per vCPU for the CPU's micro-architecture (averages CCF derived from
  SPECpower_ssj2008 results). Because it is linear, Σ u_core·Δt is simply the busy CPU time, so
  the energy of an interval is n_vcpu·P_min·Δt + (P_max − P_min)·Δbusy_s: exact in the tick
  counts, whatever the sampling rate. It needs no TDP and its per-vCPU coefficients already
  carry a vCPU's share of the host's idle power, which suits a VM that cannot see its host.
  Coefficients: cloud-carbon-footprint/cloud-carbon-footprint,
  packages/core/src/compute/ComputeProcessorTypes.ts (min_watts_avg / max_watts_avg) and, for
  an unknown processor, packages/aws/src/domain/AwsFootprintEstimationConstants.ts
  (MIN_WATTS_AVG 0.74, MAX_WATTS_AVG 3.5); formula in packages/core/src/compute/ComputeEstimator.ts.

``teads-tdp`` (default when a TDP is given): the Teads curve (Benjamin Davy, Teads Engineering
  2021, measured with turbostat RAPL on bare-metal AWS hosts; also Boavizta's and the Green
  Software Foundation Impact Framework's "teads-curve"): P/TDP = 0.12, 0.32, 0.75, 1.02 at
  0, 10, 50, 100 % machine load, linearly interpolated. The curve is concave, so utilisation is
  taken over a trailing window (100 ms by default) rather than per 10 ms tick, whose quantised
  0/1 values would pull the estimate down towards the chord. ``cpu_tdp_w`` is the TDP of the
  CPUs this machine sees: the chip's TDP on bare metal, TDP × vCPUs / host threads in a VM.

``+dram`` (opt-in suffix, e.g. ``ccf-linear+dram``): a separate zone ``model:dram`` with a
  load-independent P = GiB installed × W/GiB, 0.392 for ccf-linear (CCF MEMORY_COEFFICIENT
  0.000392 kWh/GB-h, which CCF applies only above an average; here to all memory) and 0.284 for
  teads-tdp (Boavizta's RAM model). It is off by default because a constant term only scales
  with time and would swamp the CPU term on a small VM with much memory.

Utilisation comes from per-core (busy, total) USER_HZ tick counters such as /proc/stat's; busy
excludes idle, iowait and steal (time the hypervisor gave to someone else costs us nothing).
"""

from __future__ import annotations

import itertools
import os
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.probes import Availability

MODEL_NAMES = ("ccf-linear", "teads-tdp")
DEFAULT_MODEL = "ccf-linear"
TDP_MODEL = "teads-tdp"
USER_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
TEADS_WINDOW_NS = 100_000_000

CCF_SOURCE = (
    "Cloud Carbon Footprint, packages/core/src/compute/ComputeProcessorTypes.ts "
    "(min/max W per vCPU from SPECpower_ssj2008)"
)
# key -> (CCF's name, P_min W/vCPU, P_max W/vCPU)
CCF_COEFFICIENTS: dict[str, tuple[str, float, float]] = {
    "cascade-lake": ("Cascade Lake", 0.64, 3.97),
    "skylake": ("Skylake", 0.65, 4.26),
    "broadwell": ("Broadwell", 0.71, 3.69),
    "haswell": ("Haswell", 1.00, 4.74),
    "coffee-lake": ("Coffee Lake", 1.14, 5.42),
    "sandy-bridge": ("Sandy Bridge", 2.17, 8.58),
    "ivy-bridge": ("Ivy Bridge", 3.04, 8.25),
    "amd-epyc-1st-gen": ("AMD EPYC 1st Gen", 0.82, 2.55),
    "amd-epyc-2nd-gen": ("AMD EPYC 2nd Gen", 0.47, 1.69),
    "amd-epyc-3rd-gen": ("AMD EPYC 3rd Gen", 0.45, 2.02),
    "graviton2": ("AWS Graviton2", 0.47, 1.69),
    "aws-average": ("AWS average, processor unknown", 0.74, 3.5),
}
TEADS_SOURCE = "Teads curve (B. Davy, Teads Engineering 2021; Boavizta, GSF Impact Framework)"
TEADS_POINTS = ((0.0, 0.12), (0.10, 0.32), (0.50, 0.75), (1.00, 1.02))  # (load, P/TDP)
RAM_W_PER_GIB = {"ccf-linear": 0.392, "teads-tdp": 0.284}
RAM_SOURCE = {
    "ccf-linear": "CCF MEMORY_COEFFICIENT 0.000392 kWh/GB-h",
    "teads-tdp": "Boavizta RAM model 0.284 W/GB",
}


def ccf_power_w(utilisations: Sequence[float], p_min_w: float, p_max_w: float) -> float:
    """CCF linear model: Σ over vCPUs of P_min + u·(P_max − P_min)."""
    return sum(p_min_w + u * (p_max_w - p_min_w) for u in utilisations)


def teads_fraction(load: float) -> float:
    """P/TDP on the Teads curve at machine load ``load`` in [0, 1] (clamped)."""
    load = min(max(load, 0.0), 1.0)
    for (u0, p0), (u1, p1) in itertools.pairwise(TEADS_POINTS):
        if load <= u1:
            return p0 + (p1 - p0) * (load - u0) / (u1 - u0)
    return TEADS_POINTS[-1][1]


def teads_power_w(load: float, tdp_w: float) -> float:
    return tdp_w * teads_fraction(load)


_EPYC_NUMBER = re.compile(r"EPYC\s+[0-9A-Z]{3}(\d)")
_XEON_SCALABLE = re.compile(r"(?:Platinum|Gold|Silver|Bronze)\s+\d(\d)\d\d")
_XEON_E = re.compile(r"E[357]-\d{4}\w*(?:\s+v(\d))?")
_XEON_E_VERSION = {1: "sandy-bridge", 2: "ivy-bridge", 3: "haswell", 4: "broadwell"}
_COFFEE = re.compile(r"(?:Xeon.*\bE-2\d{3}|Core.*\bi\d-[89]\d{3})")
_EPYC_GEN_KEY = {1: "amd-epyc-1st-gen", 2: "amd-epyc-2nd-gen", 3: "amd-epyc-3rd-gen"}


def _epyc(gen: int, why: str) -> tuple[str, str]:
    if gen in _EPYC_GEN_KEY:
        return _EPYC_GEN_KEY[gen], why
    return "amd-epyc-3rd-gen", f"{why}; newer than any CCF entry, the newest EPYC one is used"


def classify_cpu(
    cpu_model: str, family: int | None = None, model: int | None = None
) -> tuple[str, str]:
    """The CCF coefficient key for a CPU model string (and x86 family/model), and why."""
    text = cpu_model or ""
    if "EPYC" in text:
        if m := _EPYC_NUMBER.search(text):
            return _epyc(int(m[1]), f"EPYC generation {m[1]} from the model number")
        if family == 0x17:
            return _epyc(
                1 if (model or 0) < 0x30 else 2,
                f"EPYC, CPU family {family:#x} model {model or 0:#x}",
            )
        if family == 0x19:
            return _epyc(
                3 if (model or 0) < 0x10 else 4,
                f"EPYC, CPU family {family:#x} model {model or 0:#x}",
            )
        if family is not None and family >= 0x1A:
            return _epyc(5, f"EPYC, CPU family {family:#x} (Zen 5 or later)")
        return "amd-epyc-3rd-gen", "EPYC of unknown generation; the newest CCF EPYC entry is used"
    if m := _XEON_SCALABLE.search(text):
        gen = int(m[1])
        if gen <= 1:
            return "skylake", "Xeon Scalable 1st generation"
        if gen == 2:
            return "cascade-lake", "Xeon Scalable 2nd generation"
        return (
            "cascade-lake",
            f"Xeon Scalable generation {gen}: no CCF values, the newest Intel entry is used",
        )
    if m := _XEON_E.search(text):
        version = int(m[1]) if m[1] else 1
        return _XEON_E_VERSION.get(version, "skylake"), f"Xeon E3/E5/E7 v{version}"
    if _COFFEE.search(text):
        return "coffee-lake", "Xeon E-2xxx / Core 8th-9th generation"
    if "Graviton" in text or "Neoverse-N1" in text:
        return "graviton2", "AWS Graviton / Neoverse N1"
    return "aws-average", f"processor {text!r} not in CCF's table; CCF's AWS average is used"


@dataclass(frozen=True)
class CpuInfo:
    model_name: str
    family: int | None
    model: int | None


def read_cpuinfo(root: Path = Path("/")) -> CpuInfo:
    """The first processor's model name, family and model from <root>/proc/cpuinfo."""
    fields: dict[str, str] = {}
    try:
        with open(root / "proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # first processor only
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass

    def as_int(key: str) -> int | None:
        try:
            return int(fields[key], 0)
        except (KeyError, ValueError):
            return None

    return CpuInfo(fields.get("model name", ""), as_int("cpu family"), as_int("model"))


def proc_stat_core_ticks(root: Path = Path("/")) -> list[tuple[int, int]]:
    """Per-core (busy, total) USER_HZ ticks from <root>/proc/stat.

    busy = user + nice + system + irq + softirq (guest time is inside user);
    total = busy + idle + iowait + steal.
    """
    ticks = []
    with open(root / "proc/stat", "rb") as f:
        for line in f:
            if not line.startswith(b"cpu") or line[3:4] == b" ":
                continue
            v = [int(x) for x in line.split()[1:9]]
            v += [0] * (8 - len(v))
            busy = v[0] + v[1] + v[2] + v[5] + v[6]
            ticks.append((busy, busy + v[3] + v[4] + v[7]))
    return ticks


def memory_gib(root: Path = Path("/")) -> float:
    try:
        with open(root / "proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024 / 2**30
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


MACHINE_ZONE = "model:machine"  # the model fed by machine-wide /proc/stat ticks (not counted)


class _Integrator:
    """Energy of one model zone from a cumulative busy time (ns) against a capacity (ns)."""

    def __init__(self, meter: ModelMeter) -> None:
        self.meter = meter
        self.started = False
        self.uj = 0.0
        self.t_ns = self.busy_ns = 0
        self.load = 0.0
        self.history: deque[tuple[int, int, int]] = deque()

    def add(self, t_ns: int, busy_ns: int, capacity_ns: int) -> int:
        m = self.meter
        if not self.started:
            self.started = True
            self.uj, self.load = 0.0, 0.0
            self.t_ns, self.busy_ns = t_ns, busy_ns
            self.history.clear()
            self.history.append((t_ns, busy_ns, capacity_ns))
            return 0
        dt_ns = t_ns - self.t_ns
        if dt_ns <= 0:
            return int(self.uj)
        if m.tdp_w is not None:  # teads: load over a trailing window (the curve is concave)
            history = self.history
            history.append((t_ns, busy_ns, capacity_ns))
            horizon = t_ns - m.window_ns
            while len(history) > 2 and history[1][0] <= horizon:
                history.popleft()
            _, busy0, cap0 = history[0]
            if capacity_ns > cap0:
                self.load = min(max((busy_ns - busy0) / (capacity_ns - cap0), 0.0), 1.0)
            self.uj += m.tdp_w * teads_fraction(self.load) * dt_ns * 1e-3
        else:  # ccf-linear: exact in the busy time
            self.uj += m._idle_uj_per_ns * dt_ns
            self.uj += (m.p_max_w - m.p_min_w) * 1e-3 * max(busy_ns - self.busy_ns, 0)
        self.t_ns, self.busy_ns = t_ns, busy_ns
        return int(self.uj)


class ModelMeter:
    """Model energy meter; satisfies ``gilwatt.energy.EnergyMeter``.

    The first ``sample()`` after opening (or after ``rebase()``) sets the zero point and returns
    zeros. Energy of each later interval is P × Δt with P from the model at the utilisation
    measured over that interval (ccf-linear: exactly Δbusy; teads-tdp: a trailing window).

    By default utilisation is the machine's, from per-core ticks. After :meth:`follow_tree`
    the counted zone is fed with the profiled run's own tree CPU (``sample(...,
    tree_cpu_ns=)``, at every tick: it moves in nanoseconds, not in 10 ms ticks, and other
    programs' load is not billed to the run); the machine-wide figure goes on as a separate
    zone, ``model:machine``, that is not counted.
    """

    estimate = True

    def __init__(
        self,
        *,
        name: str,
        n_cpus: int,
        p_min_w: float = 0.0,
        p_max_w: float = 0.0,
        tdp_w: float | None = None,
        dram_w: float | None = None,
        details: dict[str, Any] | None = None,
        window_ns: int = TEADS_WINDOW_NS,
        user_hz: int = USER_HZ,
    ) -> None:
        self.name = name
        self.cpu_zone = f"model:{name}"
        self.source = f"model:{name}" + ("+dram" if dram_w is not None else "")
        self.zones: list[tuple[str, str, str | None, int | None, int]] = [
            (self.cpu_zone, "/proc/stat", None, None, 1)
        ]
        if dram_w is not None:
            self.zones.append(("model:dram", "/proc/meminfo", None, None, 1))
        self.warnings: list[str] = []
        self.details: dict[str, Any] = details or {}
        self.n_cpus = n_cpus
        self.p_min_w = p_min_w
        self.p_max_w = p_max_w
        self.tdp_w = tdp_w
        self.dram_w = dram_w
        self.window_ns = window_ns
        self._uj_per_busy_tick = (p_max_w - p_min_w) * 1e6 / user_hz
        self._idle_uj_per_ns = n_cpus * p_min_w * 1e-3
        self._teads = tdp_w is not None
        self._started = False
        self._history: deque[tuple[int, int, int]] = deque()
        self._load = 0.0
        self._last_t = self._last_busy = self._n_cores = 0
        self._cpu_uj = self._dram_uj = 0.0
        self.follows_tree = False
        self._tree = _Integrator(self)
        self._machine = _Integrator(self)
        self._tick_ns = 1_000_000_000 // user_hz

    def follow_tree(self) -> None:
        """Feed the counted zone from the run's tree CPU; keep the machine's as ``model:machine``."""
        if not self.follows_tree:
            self.follows_tree = True
            self.zones.append((MACHINE_ZONE, "/proc/stat", None, None, 0))

    def rebase(self) -> None:
        """The next ``sample()`` sets a new zero point and returns zeros."""
        self._started = False
        self._tree.started = self._machine.started = False

    def sample(
        self,
        t_ns: int,
        core_ticks: Sequence[tuple[int, int]],
        tree_cpu_ns: int | None = None,
    ) -> tuple[int, dict[str, int]]:
        if self.follows_tree and tree_cpu_ns is not None:
            return self._sample_tree(t_ns, core_ticks, tree_cpu_ns)
        busy = total = 0
        for b, tot in core_ticks:
            busy += b
            total += tot
        if not self._started:
            return self._start(t_ns, busy, total, len(core_ticks))
        if len(core_ticks) != self._n_cores:  # a core came or went: sums restart, no busy jump
            self._n_cores = len(core_ticks)
            self._last_busy = busy
            self._history.clear()
            self._history.append((self._last_t, busy, total))
        dt_ns = t_ns - self._last_t
        if self._teads:
            self._cpu_uj += self._teads_power_w(t_ns, busy, total) * dt_ns * 1e-3
        else:
            self._cpu_uj += self._idle_uj_per_ns * dt_ns + self._uj_per_busy_tick * max(
                busy - self._last_busy, 0
            )
        self._last_t, self._last_busy = t_ns, busy
        cpu = int(self._cpu_uj)
        if self.dram_w is None:
            return cpu, {self.cpu_zone: cpu}
        self._dram_uj += self.dram_w * dt_ns * 1e-3
        dram = int(self._dram_uj)
        return cpu + dram, {self.cpu_zone: cpu, "model:dram": dram}

    def _sample_tree(
        self, t_ns: int, core_ticks: Sequence[tuple[int, int]], tree_cpu_ns: int
    ) -> tuple[int, dict[str, int]]:
        """The counted zone from the tree's CPU; ``model:machine`` when ``core_ticks`` is given."""
        fresh = not self._tree.started
        cpu = self._tree.add(t_ns, tree_cpu_ns, t_ns * self.n_cpus)
        zones = {self.cpu_zone: cpu}
        if core_ticks:
            busy = sum(b for b, _ in core_ticks) * self._tick_ns
            total = sum(tot for _, tot in core_ticks) * self._tick_ns
            zones[MACHINE_ZONE] = self._machine.add(t_ns, busy, total)
        if self.dram_w is None:
            return cpu, zones
        if fresh:
            self._dram_uj, self._last_t = 0.0, t_ns
        self._dram_uj += self.dram_w * (t_ns - self._last_t) * 1e-3
        self._last_t = t_ns
        zones["model:dram"] = dram = int(self._dram_uj)
        return cpu + dram, zones

    def _start(self, t_ns: int, busy: int, total: int, n_cores: int) -> tuple[int, dict[str, int]]:
        self._started = True
        self._n_cores = n_cores
        self._last_t, self._last_busy = t_ns, busy
        self._cpu_uj = self._dram_uj = 0.0
        self._history.clear()
        self._history.append((t_ns, busy, total))
        # until the window has ticks in it, the since-boot load is the best guess available
        self._load = busy / total if total else 0.0
        return 0, {zone[0]: 0 for zone in self.zones}

    def _teads_power_w(self, t_ns: int, busy: int, total: int) -> float:
        history = self._history
        history.append((t_ns, busy, total))
        horizon = t_ns - self.window_ns
        while len(history) > 2 and history[1][0] <= horizon:
            history.popleft()
        _, busy0, total0 = history[0]
        if total > total0:
            self._load = (busy - busy0) / (total - total0)
        return (self.tdp_w or 0.0) * teads_fraction(self._load)

    def power_range_w(self) -> tuple[float, float]:
        """CPU power at 0 % and 100 % load (the dram term excluded)."""
        if self.tdp_w is not None:
            return teads_power_w(0.0, self.tdp_w), teads_power_w(1.0, self.tdp_w)
        return self.n_cpus * self.p_min_w, self.n_cpus * self.p_max_w

    def close(self) -> None:
        pass


def available(root: Path = Path("/")) -> Availability:
    """The model needs only per-core tick counters (/proc/stat)."""
    try:
        n = len(proc_stat_core_ticks(root))
    except OSError as exc:
        return Availability(False, f"cannot read /proc/stat: {exc.strerror}")
    return Availability(n > 0, f"{n} cores in /proc/stat" if n else "no cpuN lines in /proc/stat")


def count_cpus(root: Path = Path("/")) -> int:
    try:
        return len(proc_stat_core_ticks(root)) or os.cpu_count() or 1
    except OSError:
        return os.cpu_count() or 1


def parse_model_spec(spec: str) -> tuple[str, str | None, bool]:
    """ "ccf-linear:skylake+dram" -> ("ccf-linear", "skylake", True)."""
    dram = spec.endswith("+dram")
    base = spec.removesuffix("+dram")
    name, _, arch = base.partition(":")
    if name not in MODEL_NAMES:
        raise UnknownNameError("energy model", spec, [*MODEL_NAMES, "rapl", "auto"])
    if arch and (name != "ccf-linear" or arch not in CCF_COEFFICIENTS):
        valid = [f"ccf-linear:{k}" for k in CCF_COEFFICIENTS] if name == "ccf-linear" else [name]
        raise UnknownNameError("energy model", spec, valid)
    return name, arch or None, dram


def open_model(
    root: Path = Path("/"),
    *,
    model: str | None = None,
    cpu_tdp_w: float | None = None,
    logical_cpus: int | None = None,
    cpu_model: str | None = None,
) -> ModelMeter:
    """A model meter: ``model`` is "ccf-linear[:arch][+dram]" or "teads-tdp[+dram]"; None picks
    teads-tdp when ``cpu_tdp_w`` is given, else ccf-linear."""
    spec = model or (TDP_MODEL if cpu_tdp_w else DEFAULT_MODEL)
    name, arch, dram = parse_model_spec(spec)
    if cpu_tdp_w is not None and not cpu_tdp_w > 0:
        raise ConfigError(
            f"--cpu-tdp {cpu_tdp_w!r}: a TDP must be a positive number of watts. Give e.g. --cpu-tdp 65."
        )
    n_cpus = logical_cpus or count_cpus(root)
    info = read_cpuinfo(root)
    details: dict[str, Any] = {
        "model": name,
        "n_cpus": n_cpus,
        "cpu_model": cpu_model or info.model_name,
    }
    dram_w = None
    if dram:
        gib = memory_gib(root)
        dram_w = gib * RAM_W_PER_GIB[name]
        details.update(
            dram_gib=round(gib, 3),
            dram_w_per_gib=RAM_W_PER_GIB[name],
            dram_w=dram_w,
            dram_source=RAM_SOURCE[name],
        )
    if name == "teads-tdp":
        if cpu_tdp_w is None:
            raise ConfigError(
                f"energy model {spec!r} needs a TDP: it scales the Teads curve by it. "
                "Give --cpu-tdp WATTS (the TDP of the CPUs this machine sees), or use ccf-linear."
            )
        details.update(
            formula="P = TDP × f(load), f through (0, 0.12) (0.1, 0.32) (0.5, 0.75) (1, 1.02), linear between",
            tdp_w=cpu_tdp_w,
            curve=[list(p) for p in TEADS_POINTS],
            window_ms=TEADS_WINDOW_NS / 1e6,
            coefficient_source=TEADS_SOURCE,
        )
        return ModelMeter(name=name, n_cpus=n_cpus, tdp_w=cpu_tdp_w, dram_w=dram_w, details=details)
    if arch:
        key, why = arch, "chosen explicitly"
    else:
        key, why = classify_cpu(cpu_model or info.model_name, info.family, info.model)
    label, p_min, p_max = CCF_COEFFICIENTS[key]
    details.update(
        formula="P = n_vcpu × P_min + (P_max − P_min) × Σ_cores u",
        arch=key,
        arch_label=label,
        arch_match=why,
        p_min_w_per_vcpu=p_min,
        p_max_w_per_vcpu=p_max,
        coefficient_source=CCF_SOURCE,
    )
    if cpu_tdp_w is not None:
        details["tdp_ignored"] = f"ccf-linear does not use a TDP ({cpu_tdp_w:g} W given)"
    return ModelMeter(
        name=name, n_cpus=n_cpus, p_min_w=p_min, p_max_w=p_max, dram_w=dram_w, details=details
    )
