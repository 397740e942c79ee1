"""Workloads gilwatt runs and verifies: the 2026 study's 13 scenarios and the concurrency
patterns beyond it, plus the user's own (TOML files naming any script that uses markers).

    from gilwatt.workloads import get_workload
    w = get_workload("matmul")
    for cell in w.cells("quick"):          # parameter points x worker counts, all checked
        argv = cell.argv("/path/to/python3.13t")

Scripts live in ``scripts/`` and run under the target interpreter; their contract (region
``kernel``, verification, exit codes 0/3/4) is described in ``scripts/_harness.py``.
"""

from gilwatt.workloads.builtin import STUDY_WORKLOADS, builtin_workloads
from gilwatt.workloads.limits import memory_available
from gilwatt.workloads.model import (
    CORRUPT_ENV,
    EXIT_OK,
    EXIT_SKIPPED,
    EXIT_VERIFY_FAILED,
    FAMILIES,
    PRESETS,
    Param,
    ParamValue,
    Workload,
    WorkloadRun,
    check_memory,
    outcome,
)
from gilwatt.workloads.registry import ENV_PATH, get_workload, registry, user_files
from gilwatt.workloads.userfile import load_user_workload

__all__ = [
    "CORRUPT_ENV",
    "ENV_PATH",
    "EXIT_OK",
    "EXIT_SKIPPED",
    "EXIT_VERIFY_FAILED",
    "FAMILIES",
    "PRESETS",
    "STUDY_WORKLOADS",
    "Param",
    "ParamValue",
    "Workload",
    "WorkloadRun",
    "builtin_workloads",
    "check_memory",
    "get_workload",
    "load_user_workload",
    "memory_available",
    "outcome",
    "registry",
    "user_files",
]
