"""The end-of-run summary of ``gilwatt profile`` as text lines (pure: no printing, no I/O).

CPU utilisation is in cores (1.0 = one core busy all the time), not a share of the machine.
Energy from a model is marked as an estimate. Peak RSS is the largest single process's (exact
when the kernel's ru_maxrss stands); the tree's memory is the peak of its summed PSS and USS,
sampled, and labelled so: a sum of RSS would count pages shared after fork once per process. Region rows use the same figures as the run,
read between the region's boundary samples.
"""

from __future__ import annotations

import shlex
import signal
from dataclasses import dataclass
from typing import Any

import numpy as np

from gilwatt.readback import Region, RunInfo, RunSummary, Timeline
from gilwatt.store import derive
from gilwatt.units import (
    MISSING,
    format_bytes,
    format_cores,
    format_duration_ns,
    format_energy_uj,
    is_estimate,
)

MAX_REGION_ROWS = 20


@dataclass(frozen=True)
class RegionFigures:
    """A region's figures, as in the run summary (None where the data does not say)."""

    region: Region
    cpu_user_ns: int | None
    cpu_sys_ns: int | None
    mean_util: float | None
    peak_util: float | None
    core_balance: float | None
    max_threads: int | None
    ctx_voluntary: int | None
    ctx_involuntary: int | None
    peak_vms_bytes: int | None
    peak_uss_bytes: int | None
    peak_pss_bytes: int | None


# The terminal prints values as the report does (gilwatt.units).
seconds = format_duration_ns
size = format_bytes
joules = format_energy_uj
cores = format_cores


def region_figures(
    region: Region, timeline: Timeline | None, cpus: int | None = None
) -> RegionFigures:
    """Figures of one region from the samples between its boundaries (peak utilisation with
    CPU that arrived in one step spread back, as for the run, when ``cpus`` is given)."""
    empty = RegionFigures(region, *([None] * 11))
    if timeline is None or timeline.t_ns.shape[0] == 0:
        return empty
    t = timeline.t_ns
    # The boundary samples are taken after each marker arrives: the first sample at or after it.
    b = int(np.searchsorted(t, region.begin_ns, side="left"))
    e = int(np.searchsorted(t, region.end_ns, side="left"))
    if b >= t.shape[0] or e >= t.shape[0] or e < b:
        return empty
    span = slice(b, e + 1)
    dt = float(t[e] - t[b])
    cpu = timeline.cpu_ns
    mean = float(cpu[e] - cpu[b]) / dt if dt > 0 else None
    spread = derive.spread_cpu(t, cpu, cpus) if cpus else cpu
    peak = _peak_util(t[span], spread[span], dt)
    balance = None
    if e > b and timeline.core_busy.ndim == 2 and timeline.core_busy.shape[1] > 1:
        widths = np.diff(t[span]).astype(np.float64)
        busy = (timeline.core_busy[b + 1 : e + 1] * widths[:, None]).sum(axis=0)
        balance = _balance(busy)
    mem = (timeline.mem_t_ns >= t[b]) & (timeline.mem_t_ns <= t[e])
    return RegionFigures(
        region=region,
        cpu_user_ns=int(timeline.cpu_user_ns[e] - timeline.cpu_user_ns[b]),
        cpu_sys_ns=int(timeline.cpu_sys_ns[e] - timeline.cpu_sys_ns[b]),
        mean_util=mean,
        peak_util=peak,
        core_balance=balance,
        max_threads=int(timeline.threads[span].max()),
        ctx_voluntary=int(timeline.ctx_voluntary[e] - timeline.ctx_voluntary[b]),
        ctx_involuntary=int(timeline.ctx_involuntary[e] - timeline.ctx_involuntary[b]),
        peak_vms_bytes=int(timeline.vms_bytes[span].max()),
        peak_uss_bytes=int(timeline.uss_bytes[mem].max()) if mem.any() else None,
        peak_pss_bytes=int(timeline.pss_bytes[mem].max()) if mem.any() else None,
    )


def _peak_util(t: Any, cpu: Any, dt: float, window_ns: float = 100e6) -> float | None:
    """Highest cores-busy over stretches of at least 100 ms (the region's mean if shorter)."""
    if t.shape[0] < 2 or dt <= 0:
        return None
    if dt < window_ns:
        return float(cpu[-1] - cpu[0]) / dt
    end = np.searchsorted(t, t + window_ns, side="left")
    ok = end < t.shape[0]
    start = np.flatnonzero(ok)
    stop = end[ok]
    return float(((cpu[stop] - cpu[start]) / (t[stop] - t[start])).max())


def _balance(busy: Any) -> float | None:
    """The run summary's core balance (store.derive), None without two cores' work."""
    if len(busy) < 2 or float(np.sum(busy)) <= 0:
        return None
    return derive.core_balance(busy)


def _gil(value: bool | None) -> str:
    return "?" if value is None else ("on" if value else "off")


def format_summary(
    info: RunInfo,
    summary: RunSummary,
    timeline: Timeline | None = None,
    *,
    store_path: str = "",
    sampler_cpu_ns: int | None = None,
    samples: int | None = None,
    missed_deadlines: int | None = None,
) -> list[str]:
    """The summary as lines of text (no trailing newlines)."""
    s = summary
    where = f" in {store_path}" if store_path else ""
    how = _ending(info)
    lines = [f"gilwatt: run {info.run_id}{where}: {how}"]
    lines.append(f"  command      {shlex.join(info.command)}")
    interp = info.interpreter
    if interp is not None:
        build = "free-threaded" if interp.free_threaded else "GIL build"
        lines.append(f"  interpreter  CPython {interp.version} {build} ({interp.executable})")
    cpu_total = s.cpu_user_ns + s.cpu_sys_ns
    lines.append(f"  wall         {seconds(s.wall_ns)}")
    lines.append(
        f"  CPU          {seconds(cpu_total)} (user {seconds(s.cpu_user_ns)}, sys {seconds(s.cpu_sys_ns)})"
    )
    lines.append(
        f"  utilisation  mean {cores(s.mean_cpu_util)} cores, peak {cores(s.peak_cpu_util)} cores;"
        f" core balance {s.core_balance:.2f} (1 = even across {info.host.logical_cpus} cores)"
    )
    threads_kind = "exact, from the thread hook" if s.max_threads_exact else "sampled"
    lines.append(
        f"  threads      max {s.max_threads} ({threads_kind}); context switches"
        f" {s.ctx_voluntary} voluntary, {s.ctx_involuntary} involuntary"
    )
    lines.append(
        f"  memory       peak RSS {size(s.peak_rss_bytes)} (largest process, {_peak_kind(s)});"
        f" tree peaks, sampled: PSS {size(s.peak_pss_bytes)}, USS {size(s.peak_uss_bytes)};"
        f" peak VMS {size(s.peak_vms_bytes)}"
    )
    lines.append(
        f"  energy       {_energy(s.energy_uj, s.energy_source, info.idle_power_w, s.wall_ns)}"
    )
    lines.append(
        f"  sampling     {_sampling(info, sampler_cpu_ns, samples, missed_deadlines, s.wall_ns)}"
    )
    if info.attrs:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(info.attrs.items()))
        lines.append(f"  annotations  {shown}")
    if s.regions:
        cpus = info.host.logical_cpus
        lines.extend(_region_table([region_figures(r, timeline, cpus) for r in s.regions]))
    for text in info.warnings:
        lines.append(f"  warning: {text}")
    return lines


def _peak_kind(summary: RunSummary) -> str:
    """'exact' only when the kernel's account (ru_maxrss) stands."""
    return "exact" if summary.peak_rss_exact else "highest VmHWM read"


def _ending(info: RunInfo) -> str:
    if info.status == "ok":
        return "ok (exit 0)"
    if info.exit_signal:
        try:
            name = f" ({signal.Signals(info.exit_signal).name})"
        except ValueError:
            name = ""
        return f"{info.status} (killed by signal {info.exit_signal}{name})"
    if info.exit_code is not None:
        return f"{info.status} (exit {info.exit_code})"
    return info.status


def _energy(uj: int | None, source: str, idle_w: float | None, wall_ns: int) -> str:
    if uj is None or not source:
        return f"{MISSING} (no energy source)"
    text = f"{joules(uj)} from {source}"
    if is_estimate(source):
        text += " (ESTIMATE from a model, not a measurement)"
    if wall_ns > 0:
        text += f"; mean {uj / 1e6 / (wall_ns / 1e9):.1f} W"
    if idle_w is not None:
        net = uj / 1e6 - idle_w * wall_ns / 1e9
        text += f"; idle {idle_w:.1f} W, net of idle {net:.3f} J"
    return text


def _sampling(
    info: RunInfo, cpu_ns: int | None, samples: int | None, missed: int | None, wall_ns: int
) -> str:
    text = f"every {seconds(info.interval_ns)} requested"
    if info.achieved_interval_ns:
        text += f", {seconds(info.achieved_interval_ns)} achieved"
    if missed is not None:
        text += f", {missed} missed deadlines"
    if samples is not None:
        text += f", {samples} samples"
    if cpu_ns is not None and wall_ns > 0:
        text += f"; sampler CPU {100 * cpu_ns / wall_ns:.2f}% of a core"
    return text


def _region_table(figures: list[RegionFigures]) -> list[str]:
    header = ("region", "thread", "wall", "CPU tree", "user", "sys", "prog CPU", "util", "peak",
              "bal", "thr", "ctx vol/inv", "peak RSS", "VMS", "USS/PSS", "energy", "GIL")  # fmt: skip
    rows = [header]
    for f in figures[:MAX_REGION_ROWS]:
        r = f.region
        rows.append((
            r.name, str(r.tid), seconds(r.wall_ns), seconds(r.tree_cpu_ns), seconds(f.cpu_user_ns),
            seconds(f.cpu_sys_ns), seconds(r.process_cpu_ns), cores(f.mean_util), cores(f.peak_util),
            cores(f.core_balance), MISSING if f.max_threads is None else str(f.max_threads),
            MISSING if f.ctx_voluntary is None else f"{f.ctx_voluntary}/{f.ctx_involuntary}",
            size(r.peak_rss_bytes), size(f.peak_vms_bytes),
            f"{size(f.peak_uss_bytes)}/{size(f.peak_pss_bytes)}", joules(r.energy_uj),
            f"{_gil(r.gil_begin)}->{_gil(r.gil_end)}",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  regions (CPU tree = whole process tree between the boundary samples; prog CPU ="
             " the program's own process_time; util in cores):"]  # fmt: skip
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("    " + "  ".join(cells).rstrip())
    if len(figures) > MAX_REGION_ROWS:
        lines.append(
            f"    ... and {len(figures) - MAX_REGION_ROWS} more regions (gilwatt export for all)"
        )
    return lines
