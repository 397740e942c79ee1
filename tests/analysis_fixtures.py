"""A small hand-built study store shared by the compare CLI and pyperf tests.

Every figure is written out here, so the golden files can be checked by eye: 3 blocks,
modes gil and ft, a sequential cell that is ~22% slower on ft, a threaded cell that halves
its time at 2 workers on ft only, an unchanged NumPy cell, a shared-state cell slower on ft
at 2 workers, and three runs that do not count (invalid, failed, skipped).
"""

from __future__ import annotations

from pathlib import Path

from gilwatt.store.synthetic import SyntheticRun, write_study

MIB = 2**20
FAMILIES = {
    "mandelbrot": "sequential",
    "factorial": "threaded-numerical",
    "numpy_blas": "numpy",
    "shared_list": "shared-state",
}

# (workload, params, workers) -> mode -> region seconds per block 1..3
TIMES: dict[tuple[str, tuple[tuple[str, int], ...], int], dict[str, tuple[float, float, float]]] = {
    ("mandelbrot", (("size", 200),), 1): {"gil": (1.00, 1.02, 0.99), "ft": (1.21, 1.24, 1.20)},
    ("factorial", (("n", 5000),), 1): {"gil": (2.00, 2.04, 1.98), "ft": (2.06, 2.08, 2.03)},
    ("factorial", (("n", 5000),), 2): {"gil": (2.01, 2.03, 2.00), "ft": (1.04, 1.07, 1.05)},
    ("numpy_blas", (), 1): {"gil": (0.50, 0.51, 0.50), "ft": (0.50, 0.50, 0.51)},
    ("shared_list", (), 2): {"gil": (1.00, 1.01, 1.02), "ft": (1.30, 1.36, 1.31)},
}


def build_golden_store(path: Path) -> Path:
    runs = []
    for block in (1, 2, 3):
        for (workload, params, workers), by_mode in TIMES.items():
            for mode, times in by_mode.items():
                t = times[block - 1]
                ft = mode == "ft"
                busy = min(workers, 2) if ft or workload == "numpy_blas" else 1
                run = SyntheticRun(
                    workload,
                    workers,
                    mode,
                    block,
                    t,
                    params=dict(params),
                    cpu_s=t * busy,
                    energy_j=t * (6.0 + 5.0 * busy),
                    rss_bytes=(60 if ft else 50) * MIB + block * MIB,
                    vms_bytes=(900 if ft else 400) * MIB + block * 3 * MIB,
                    uss_bytes=(50 if ft else 42) * MIB,
                    ctx_voluntary=20 * workers * (5 if ft and workload == "shared_list" else 1),
                )
                if (workload, mode, block) == ("mandelbrot", "ft", 2):
                    run.status, run.reason = (
                        "invalid",
                        "workload failed verification: checksum differs",
                    )
                if (workload, mode, block) == ("numpy_blas", "gil", 3):
                    run.status, run.reason, run.run_status = "failed", "exit code 1", "failed"
                if (workload, mode, block) == ("shared_list", "ft", 3):
                    run.time_s = 1.33
                runs.append(run)
    runs.append(
        SyntheticRun(
            "factorial",
            4,
            "ft",
            1,
            0.6,
            params={"n": 5000},
            status="skipped",
            reason="interpreter vanished",
        )
    )
    write_study(path, runs, name="golden", seed=42, families=FAMILIES)
    return path
