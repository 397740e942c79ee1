"""Synthetic runs and studies for the report tests, built from gilwatt.readback.

The numbers follow simple formulas (a ramp of busy threads, a memory staircase, power that
follows CPU) so tests can check what the page shows against what went in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from gilwatt.readback import HostInfo, InterpreterInfo, Region, RunInfo, RunSummary, Timeline

XSS = "<script>alert(1)</script>"
START_NS = 1_000_000_000_000
MIB = 1 << 20


def host() -> HostInfo:
    return HostInfo(
        hostname="testhost",
        cpu_model="AMD EPYC <fake> & co",
        logical_cpus=2,
        kernel="6.1.0",
        memory_bytes=8 << 30,
    )


def interpreter(free_threaded: bool = True) -> InterpreterInfo:
    return InterpreterInfo(
        executable="/tmp/devpy/ft/bin/python3" if free_threaded else "/tmp/devpy/gil/bin/python3",
        version="3.13.5",
        implementation="cpython",
        free_threaded=free_threaded,
        gil_enabled=not free_threaded,
    )


def run_info(
    run_id: int = 7,
    *,
    duration_s: float = 3.0,
    energy_source: str = "model:ccf-linear",
    label: str = "",
    warnings: list[str] | None = None,
) -> RunInfo:
    return RunInfo(
        run_id=run_id,
        command=["/tmp/devpy/ft/bin/python3", "work.py", "--name", XSS, "a b&c"],
        status="ok",
        exit_code=0,
        exit_signal=None,
        interpreter=interpreter(),
        host=host(),
        started_unix_ns=1_750_000_000_000_000_000,
        start_ns=START_NS,
        end_ns=START_NS + int(duration_s * 1e9),
        interval_ns=10_000_000,
        achieved_interval_ns=10_200_000.0,
        energy_source=energy_source,
        idle_power_w=12.5,
        env={"PYTHON_GIL": "0"},
        attrs={"verified": True, "note": XSS},
        warnings=warnings if warnings is not None else [f"marker line garbled: {XSS}"],
        label=label,
    )


def timeline(
    *,
    duration_s: float = 3.0,
    interval_s: float = 0.01,
    cores: int = 2,
    threads: int = 4,
    marker_samples: bool = True,
) -> Timeline:
    """Work ramps up to ``threads`` busy threads in the middle third of the run."""
    n = int(duration_s / interval_s) + 1
    t = START_NS + (np.arange(n) * interval_s * 1e9).astype(np.int64)
    if marker_samples:  # an extra sample 20 µs after a tick, as taken at a marker
        extra = t[n // 3] + 20_000
        t = np.sort(np.append(t, extra))
        n += 1
    frac = (t - START_NS) / max(duration_s * 1e9, 1.0)
    busy = np.where((frac > 1 / 3) & (frac < 2 / 3), min(threads, cores), 0.1)  # cores busy
    dt = np.diff(t, prepend=t[0])
    cpu = np.cumsum(busy * dt).astype(np.int64)
    user = (cpu * 0.9).astype(np.int64)
    rss = (50 * MIB + (frac * 200 * MIB)).astype(np.int64)
    rss[n // 2] = 400 * MIB  # one short peak that decimation must keep
    energy = np.cumsum((10 + 15 * busy) * dt / 1e3).astype(np.int64)  # µJ: W × ns / 1e3
    core_busy = np.stack([np.clip(busy / cores, 0, 1)] * cores, axis=1)
    thread_cpu = {}
    names = {}
    for k in range(threads + 1):
        tid = 1000 + k
        share = busy / max(threads, 1) if k else np.full(n, 0.1)
        thread_cpu[tid] = (t, np.cumsum(share * dt).astype(np.int64))
        names[tid] = "python3" if k == 0 else f"worker-{k}"
    mem_t = t[:: max(1, int(1 / interval_s))]
    mem_frac = (mem_t - START_NS) / max(duration_s * 1e9, 1.0)
    return Timeline(
        t_ns=t,
        cpu_ns=cpu,
        cpu_user_ns=user,
        cpu_sys_ns=cpu - user,
        rss_bytes=rss,
        vms_bytes=rss * 6,
        swap_bytes=np.zeros(n, dtype=np.int64),
        threads=np.where(busy > 1, threads + 1, 1).astype(np.int64),
        processes=np.ones(n, dtype=np.int64),
        ctx_voluntary=np.arange(n, dtype=np.int64) * 3,
        ctx_involuntary=np.arange(n, dtype=np.int64),
        energy_uj=energy,
        core_busy=core_busy,
        thread_cpu_ns=thread_cpu,
        thread_names=names,
        mem_t_ns=mem_t,
        uss_bytes=(40 * MIB + mem_frac * 150 * MIB).astype(np.int64),
        pss_bytes=(45 * MIB + mem_frac * 160 * MIB).astype(np.int64),
    )


def region(
    name: str,
    begin_s: float,
    end_s: float,
    *,
    tid: int = 1000,
    gil: bool | None = False,
    attrs: dict[str, object] | None = None,
) -> Region:
    wall = int((end_s - begin_s) * 1e9)
    return Region(
        name=name,
        pid=999,
        tid=tid,
        begin_ns=START_NS + int(begin_s * 1e9),
        end_ns=START_NS + int(end_s * 1e9),
        wall_ns=wall,
        process_cpu_ns=wall * 2,
        thread_cpu_ns=wall // 10,
        tree_cpu_ns=wall * 2,
        energy_uj=int(wall / 1e3 * 40),
        peak_rss_bytes=250 * MIB,
        gil_begin=gil,
        gil_end=gil,
        attrs=attrs or {},
    )


def regions(duration_s: float = 3.0) -> list[Region]:
    return [
        region("setup", 0.05, duration_s / 3 - 0.05),
        region("kernel", duration_s / 3, 2 * duration_s / 3, attrs={"workers": 4}),
        region(XSS, 2 * duration_s / 3 + 0.05, duration_s - 0.1, tid=1001, attrs={"k": XSS}),
    ]


def summary(info: RunInfo, tl: Timeline, regs: list[Region]) -> RunSummary:
    wall = int(info.end_ns - info.start_ns) if info.end_ns else 0
    return RunSummary(
        run_id=info.run_id,
        wall_ns=wall,
        cpu_user_ns=int(tl.cpu_user_ns[-1]),
        cpu_sys_ns=int(tl.cpu_sys_ns[-1]),
        peak_rss_bytes=int(tl.rss_bytes.max()),
        peak_vms_bytes=int(tl.vms_bytes.max()),
        peak_uss_bytes=int(tl.uss_bytes.max()),
        peak_pss_bytes=int(tl.pss_bytes.max()),
        ctx_voluntary=int(tl.ctx_voluntary[-1]),
        ctx_involuntary=int(tl.ctx_involuntary[-1]),
        energy_uj=int(tl.energy_uj[-1]),
        energy_source=info.energy_source,
        max_threads=int(tl.threads.max()),
        mean_cpu_util=float(tl.cpu_ns[-1] / wall) if wall else 0.0,
        peak_cpu_util=2.0,
        core_balance=0.97,
        regions=list(regs),
    )


def run(
    duration_s: float = 3.0, **kw: object
) -> tuple[RunInfo, Timeline, list[Region], RunSummary]:
    """A complete synthetic run: (info, timeline, regions, summary)."""
    info = run_info(duration_s=duration_s)
    if kw:
        info = replace(info, **kw)  # type: ignore[arg-type]
    tl = timeline(duration_s=duration_s)
    regs = regions(duration_s)
    return info, tl, regs, summary(info, tl, regs)


# --- studies -------------------------------------------------------------------------------------

STUDY_WORKLOADS = (
    # (family, workload, params, workers, ft time factor at N workers)
    ("sequential", "mandelbrot", {"size": 500}, (1,)),
    ("numpy", "numpy_blas", {"size": 600}, (1,)),
    ("threaded-numerical", "factorial", {"max_value": 10000}, (1, 2, 4)),
    ("threaded-objects", "json_parse", {"records": 1000, "tag": XSS}, (1, 2)),
)


def _metrics(
    family: str, mode: str, workers: int, block: int, rng: np.random.Generator
) -> dict[str, float | None]:
    base = {"sequential": 1.0, "numpy": 0.8, "threaded-numerical": 2.0, "threaded-objects": 1.5}[
        family
    ]
    if mode == "ft" and family in ("threaded-numerical", "threaded-objects"):
        speedup = min(workers, 2) ** (0.9 if family == "threaded-numerical" else 0.3)
        time_s = base * 1.15 / speedup
        util = min(workers, 2) * 0.95
    elif mode == "ft" and family == "sequential":
        time_s, util = base * 1.25, 1.0
    else:
        time_s, util = base * (1.02 if mode == "ft-gil" else 1.0), 1.0
    time_s *= float(np.exp(rng.normal(0, 0.02)))
    power = 10.0 + 8.0 * util
    rss = (60 if mode.startswith("ft") else 50) * MIB * (1 + 0.1 * workers)
    vms = (1200 if mode.startswith("ft") else 300) * MIB
    return {
        "time_s": time_s,
        "cpu_s": time_s * util,
        "cpu_util": util,
        "energy_j": time_s * power,
        "power_w": power,
        "peak_rss_bytes": rss * float(np.exp(rng.normal(0, 0.01))),
        "peak_vms_bytes": vms,
        "peak_uss_bytes": rss * 0.8,
        "run_maxrss_bytes": rss,
        "ctx_per_s": 100.0,
    }


def study_data(
    *,
    blocks: int = 3,
    modes: tuple[str, ...] = ("gil", "ft", "ft-gil"),
    energy_source: str = "model:ccf-linear",
):
    """A StudyData with known ratios, one missing cell, one invalid run and hostile strings."""
    import json

    from gilwatt.analysis.dataset import RunRecord, StudyData, StudyInfo

    rng = np.random.default_rng(1)
    runs = []
    run_id = 0
    for block in range(blocks):
        pos = 0
        for family, workload, params, workers_list in STUDY_WORKLOADS:
            for workers in workers_list:
                for mode in modes:
                    run_id += 1
                    pos += 1
                    status, reason, exclusion = "done", "", ""
                    if workload == "json_parse" and workers == 2 and mode == "ft":
                        status, reason = "failed", f"exit code 1: {XSS}"
                        exclusion = f"failed: {reason}"
                    elif workload == "factorial" and workers == 4 and mode == "ft" and block == 2:
                        status, reason = "invalid", "GIL enabled at region begin in mode ft"
                        exclusion = f"invalid: {reason}"
                    rec = RunRecord(
                        run_key=f"{workload}-{workers}-{mode}-b{block}",
                        block=block,
                        position=pos,
                        workload=workload,
                        params_json=json.dumps(params),
                        workers=workers,
                        mode=mode,
                        interpreter={
                            "gil": "cpython3.13.5",
                            "ft": "cpython3.13.5t",
                            "ft-gil": "cpython3.13.5t",
                        }[mode],
                        status=status,
                        reason=reason,
                        run_id=run_id,
                        family=family,
                        valid=not exclusion,
                        exclusion=exclusion,
                        energy_source=energy_source,
                        energy_estimate=energy_source.startswith("model:"),
                    )
                    if rec.valid:
                        rec.metrics = _metrics(family, mode, workers, block, rng)
                    runs.append(rec)
    study = StudyInfo(
        3, f"quick {XSS}", 42, {"suite": "quick", "note": XSS}, 1_750_000_000_000_000_000
    )
    return StudyData(study=study, runs=runs)


def write_study_store(path: Path, *, samples: int = 400) -> int:
    """A real SQLite store holding one small study (2 workloads × workers × gil/ft × 2 blocks)
    of synthetic runs, written through the Store API and the study tables. Returns its id."""
    from gilwatt.store import Store
    from gilwatt.store.studies import StudyRunRow
    from gilwatt.store.synthetic import write_run

    plan = [
        (block, workload, workers, mode)
        for block in range(2)
        for workload, workers_list in (("mandelbrot", (1,)), ("factorial", (1, 2)))
        for workers in workers_list
        for mode in ("gil", "ft")
    ]
    with Store.open(path) as store:
        study_id = store.create_study(
            f"cli {XSS}", "h", {"suite": "quick"}, 7, created_unix_ns=1750000000000000000
        ).study_id
        rows = []
        for position, (block, workload, workers, mode) in enumerate(plan):
            util = min(workers, 2) * (0.9 if mode == "ft" else 0.5) + 0.5
            run = write_run(
                store, samples=samples, util=util, power_w=10 + 5 * util, seed=position,
                study_id=study_id, label=f"{workload}/{mode}", gil=mode == "gil",
            )  # fmt: skip
            key = f"{workload}-{workers}-{mode}-{block}"
            rows.append((key, block, position, workload, workers, mode, "done", "", run.run_id))
        rows.append(
            ("factorial-2-ft-9", 9, 99, "factorial", 2, "ft", "failed", f"exit code 1 {XSS}", None)
        )
        store.add_study_runs(
            study_id,
            [
                StudyRunRow(k, b, p, w, '{"n": 1}', n, m, m, st, why, rid)
                for k, b, p, w, n, m, st, why, rid in rows
            ],
        )
    return study_id
