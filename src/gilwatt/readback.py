"""What a profiled run looks like once it is read back from the store.

These records are the contract between the profiler (which writes the store), the analysis
(which reads region and run figures), and the reports (which draw timelines). Counters are
cumulative and in base units; gauges are instantaneous. Units are in every name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class InterpreterInfo:
    executable: str
    version: str  # "3.13.5"
    implementation: str  # "cpython"
    free_threaded: bool  # built with Py_GIL_DISABLED
    gil_enabled: bool | None  # sys._is_gil_enabled() at probe time (None before 3.13)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HostInfo:
    hostname: str
    cpu_model: str
    logical_cpus: int
    kernel: str
    memory_bytes: int
    isa_flags: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    run_id: int
    command: list[str]
    status: str  # running | ok | failed | signaled | timeout | interrupted
    exit_code: int | None
    exit_signal: int | None
    interpreter: InterpreterInfo | None
    host: HostInfo
    started_unix_ns: int
    start_ns: int  # CLOCK_MONOTONIC at launch
    end_ns: int | None  # CLOCK_MONOTONIC at reap
    interval_ns: int  # requested sampling interval
    achieved_interval_ns: float | None  # mean achieved interval between ticks
    energy_source: str  # "rapl:package-0+dram" or "model:<name>" (an estimate)
    idle_power_w: float | None
    env: dict[str, str] = field(default_factory=dict)  # the overrides gilwatt set
    attrs: dict[str, Any] = field(default_factory=dict)  # from markers.annotate()
    warnings: list[str] = field(default_factory=list)
    study_id: int | None = None
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class Timeline:
    """Tree-level samples of one run; every array has one entry per sample."""

    t_ns: IntArray  # CLOCK_MONOTONIC
    cpu_ns: IntArray  # cumulative CPU of the whole tree (user + sys)
    cpu_user_ns: IntArray
    cpu_sys_ns: IntArray
    rss_bytes: IntArray
    vms_bytes: IntArray
    swap_bytes: IntArray
    threads: IntArray
    processes: IntArray
    ctx_voluntary: IntArray  # cumulative
    ctx_involuntary: IntArray  # cumulative
    energy_uj: IntArray  # cumulative, from RunInfo.energy_source
    # shape (samples, cores): utilisation 0..1 of each core since the previous sample
    core_busy: FloatArray
    thread_cpu_ns: dict[int, tuple[IntArray, IntArray]]  # tid -> (t_ns, cumulative cpu ns)
    thread_names: dict[int, str]
    mem_t_ns: IntArray  # low-tier (smaps_rollup) samples
    uss_bytes: IntArray
    pss_bytes: IntArray
    # (t_ns, cumulative µJ) of the energy model fed by machine-wide ticks (zone model:machine),
    # when the run's own energy is modelled from its tree CPU; not the run's figure
    machine_energy: tuple[IntArray, IntArray] | None = None


@dataclass(frozen=True, kw_only=True)
class Region:
    """A marked region, with figures read at its boundaries (not snapped to ticks)."""

    name: str
    pid: int
    tid: int
    begin_ns: int
    end_ns: int
    wall_ns: int
    process_cpu_ns: int  # measured in the program (time.process_time_ns)
    thread_cpu_ns: int  # measured in the program (time.thread_time_ns)
    tree_cpu_ns: int | None  # from the sampler's boundary samples
    energy_uj: int | None  # from the boundary samples
    peak_rss_bytes: int | None  # highest tree RSS seen inside the region
    gil_begin: bool | None
    gil_end: bool | None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """Whole-run figures (from the kernel's accounting where it has one)."""

    run_id: int
    wall_ns: int
    cpu_user_ns: int
    cpu_sys_ns: int
    # the largest single process's peak RSS: wait4 ru_maxrss (exact) or the highest VmHWM
    # read (see peak_rss_exact); never a sum over processes, which counts shared pages twice
    peak_rss_bytes: int
    peak_vms_bytes: int
    peak_uss_bytes: int | None  # peaks of the tree's sums, sampled (smaps_rollup)
    peak_pss_bytes: int | None
    ctx_voluntary: int
    ctx_involuntary: int
    energy_uj: int | None
    energy_source: str
    max_threads: int
    mean_cpu_util: float  # cores busy on average (1.0 = one core)
    peak_cpu_util: float
    core_balance: float  # 1 - normalised Gini of per-core busy time; 1.0 = perfectly even
    regions: list[Region] = field(default_factory=list)
    peak_rss_exact: bool = False  # peak_rss_bytes is the kernel's (ru_maxrss), not a read
    max_threads_exact: bool = False  # max_threads is from the thread hook's starts and ends
