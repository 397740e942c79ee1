"""Per-run metrics of a study run, computed from its measured region and run-level figures.

Every metric is measured over the workload's region (normally "kernel"), whose boundaries the
sampler read exactly when the markers arrived, except:

- ``peak_uss_bytes``: the low-tier (smaps_rollup, ~1 s) samples are too sparse to clip to a
  short region, so it is the whole run's peak of the tree's summed USS;
- ``run_maxrss_bytes``: the kernel's exact peak RSS of the whole reaped tree (wait4);
- ``threads_seen``: threads the sampler saw over the whole run.

``peak_rss_bytes`` is the region's peak tree RSS, else the highest sampled RSS inside the
region, else the whole run's ru_maxrss. CPU time is the tree's (boundary samples), else the
target process's own process_time at the markers.

Rates pair each counter with its own window: figures read from the boundary samples (tree CPU,
energy, context switches) are divided by the time between those two samples, which trails
the markers by the sampler's reaction time; the program's own process_time is divided by
the region's wall time. So average power is never energy from one window over time from
another (a flaw of the paper's pipeline).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gilwatt.store import derive

NS_PER_S = 1e9


@dataclass(frozen=True)
class MetricSpec:
    key: str  # name in RunRecord.metrics
    short: str  # name on the command line and in column headers
    label: str
    unit: str  # display unit after ``scale``
    scale: float  # display value = stored value / scale
    lower: str = "lower"  # verdict words for a ratio below / above 1
    higher: str = "higher"
    ratio: bool = True  # meaningful as a ratio between modes


METRICS: dict[str, MetricSpec] = {
    m.key: m
    for m in (
        MetricSpec("time_s", "time", "wall time of the region", "s", 1.0, "faster", "slower"),
        MetricSpec(
            "window_s", "window", "time between the boundary samples", "s", 1.0, ratio=False
        ),
        MetricSpec("cpu_s", "cpu", "CPU time (user + sys) of the tree", "s", 1.0),
        MetricSpec("cpu_user_s", "user", "user CPU time", "s", 1.0),
        MetricSpec("cpu_sys_s", "sys", "system CPU time", "s", 1.0),
        MetricSpec("energy_j", "energy", "energy", "J", 1.0),
        MetricSpec("power_w", "power", "average power", "W", 1.0),
        # derived after loading, never stored: analysis/idle.py
        MetricSpec("energy_net_j", "net-energy", "energy net of the idle baseline", "J", 1.0),
        MetricSpec("peak_rss_bytes", "rss", "peak RSS", "MiB", 2**20),
        MetricSpec("run_maxrss_bytes", "maxrss", "peak RSS of the run (wait4)", "MiB", 2**20),
        MetricSpec("peak_vms_bytes", "vms", "peak VMS", "MiB", 2**20),
        MetricSpec("peak_uss_bytes", "uss", "peak USS of the run", "MiB", 2**20),
        MetricSpec("ctx_per_s", "ctx", "context switches per second", "/s", 1.0),
        MetricSpec("ctx_vol_per_s", "vctx", "voluntary context switches per second", "/s", 1.0),
        MetricSpec("ctx_invol_per_s", "ictx", "involuntary context switches per second", "/s", 1.0),
        MetricSpec("cpu_util", "util", "CPU utilisation (cores busy)", "cores", 1.0),
        MetricSpec("cpu_util_per_worker", "util/worker", "CPU utilisation per worker", "", 1.0),
        MetricSpec("sys_share", "sys-share", "system-time share of CPU time", "", 1.0, ratio=False),
        MetricSpec("core_balance", "balance", "core balance (1 = even)", "", 1.0, ratio=False),
        MetricSpec("threads_seen", "threads", "threads seen during the run", "", 1.0, ratio=False),
    )
}

BY_SHORT: dict[str, MetricSpec] = {m.short: m for m in METRICS.values()}

# The ratios every comparison table shows, in this order.
RATIO_COLUMNS: tuple[str, ...] = (
    "time_s",
    "cpu_s",
    "energy_j",
    "power_w",
    "peak_rss_bytes",
    "peak_vms_bytes",
    "peak_uss_bytes",
    "ctx_per_s",
)


def metric_by_short(short: str) -> MetricSpec:
    from gilwatt.errors import UnknownNameError

    spec = BY_SHORT.get(short) or METRICS.get(short)
    if spec is None or not spec.ratio:
        raise UnknownNameError("metric", short, [m.short for m in METRICS.values() if m.ratio])
    return spec


def _delta(begin: Any, end: Any) -> float | None:
    if begin is None or end is None:
        return None
    return float(end) - float(begin)


def _per_s(count: float | None, time_s: float) -> float | None:
    return None if count is None else count / time_s


def core_balance(busy: Sequence[float]) -> float | None:
    """The store's core balance (``store.derive.core_balance``); None with fewer than 2 cores
    or no work."""
    if len(busy) < 2 or float(sum(busy)) <= 0:
        return None
    return derive.core_balance(np.asarray(busy, dtype=np.float64))


def compute(raw: Mapping[str, Any], workers: int) -> dict[str, float | None]:
    """Metrics of one run from the figures ``dataset`` read (see the keys used below)."""
    time_s = (raw["end_ns"] - raw["begin_ns"]) / NS_PER_S
    out: dict[str, float | None] = dict.fromkeys(METRICS)
    out["time_s"] = time_s
    if time_s <= 0:
        return out
    window_ns = _delta(raw.get("b_t_ns"), raw.get("e_t_ns"))
    sample_s = window_ns / NS_PER_S if window_ns is not None and window_ns > 0 else time_s
    out["window_s"] = sample_s
    tree_cpu = _delta(raw.get("b_cpu_ns"), raw.get("e_cpu_ns"))
    process_cpu = _delta(raw.get("process_cpu_begin_ns"), raw.get("process_cpu_end_ns"))
    cpu_ns = tree_cpu if tree_cpu is not None else process_cpu
    cpu_window_s = sample_s if tree_cpu is not None else time_s
    user_ns = _delta(raw.get("b_cpu_user_ns"), raw.get("e_cpu_user_ns"))
    sys_ns = _delta(raw.get("b_cpu_sys_ns"), raw.get("e_cpu_sys_ns"))
    if cpu_ns is not None:
        out["cpu_s"] = cpu_ns / NS_PER_S
        util = cpu_ns / NS_PER_S / cpu_window_s
        out["cpu_util"] = util
        out["cpu_util_per_worker"] = util / max(workers, 1)
    if user_ns is not None and sys_ns is not None:
        out["cpu_user_s"] = user_ns / NS_PER_S
        out["cpu_sys_s"] = sys_ns / NS_PER_S
        if user_ns + sys_ns > 0:
            out["sys_share"] = sys_ns / (user_ns + sys_ns)
    energy_uj = _delta(raw.get("b_energy_uj"), raw.get("e_energy_uj"))
    if energy_uj is not None:
        out["energy_j"] = energy_uj / 1e6
        out["power_w"] = energy_uj / 1e6 / sample_s
    vol = _delta(raw.get("b_ctx_voluntary"), raw.get("e_ctx_voluntary"))
    invol = _delta(raw.get("b_ctx_involuntary"), raw.get("e_ctx_involuntary"))
    out["ctx_vol_per_s"] = _per_s(vol, sample_s)
    out["ctx_invol_per_s"] = _per_s(invol, sample_s)
    if vol is not None and invol is not None:
        out["ctx_per_s"] = (vol + invol) / sample_s
    rss = (
        raw.get("region_peak_rss_bytes")
        or raw.get("sampled_peak_rss_bytes")
        or raw.get("ru_maxrss_bytes")
    )
    out["peak_rss_bytes"] = None if rss is None else float(rss)
    for key, src in (
        ("run_maxrss_bytes", "ru_maxrss_bytes"),
        ("peak_vms_bytes", "sampled_peak_vms_bytes"),
        ("peak_uss_bytes", "peak_uss_bytes"),
        ("threads_seen", "threads_seen"),
    ):
        value = raw.get(src)
        out[key] = None if value is None else float(value)
    busy = raw.get("core_busy")
    if busy:
        out["core_balance"] = core_balance(busy)
    return out
