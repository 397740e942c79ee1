"""Stand-ins for the study tests: workloads and interpreters with the documented shape, and a
scripted profiler that writes real rows into a real Store (used where the test is about the
runner's bookkeeping, not about measuring: the end-to-end tests use the real profiler)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilwatt.profiler import ProfileRequest, ProfileResult
from gilwatt.readback import HostInfo, InterpreterInfo, RunSummary
from gilwatt.store import Store


@dataclass(frozen=True)
class Param:
    name: str
    unit: str = ""
    type: str = "int"
    help: str = ""


@dataclass(frozen=True)
class FakeWorkload:
    name: str
    params: tuple[Param, ...] = (Param("n"),)
    presets: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: {
            "quick": {"n": 100, "workers": [1, 2]},
            "tiny": {"n": 10, "workers": [1, 2]},
        }
    )
    uses_workers: bool = True
    region: str = "kernel"
    family: str = "sequential"

    def argv(self, python: str, params: Mapping[str, Any], workers: int) -> list[str]:
        args = [python, "-c", "pass", self.name, f"--workers={workers}"]
        return args + [f"--{k}={v}" for k, v in sorted(params.items())]


def fake_workloads() -> dict[str, FakeWorkload]:
    return {
        "alpha": FakeWorkload("alpha"),
        "beta": FakeWorkload(
            "beta",
            params=(Param("size"), Param("scale", type="float")),
            presets={
                "quick": {"size": 1, "scale": 1.0, "workers": [1, 2]},
                "tiny": {"size": 1, "scale": 0.5},
            },
        ),
        "seq": FakeWorkload(
            "seq", uses_workers=False, presets={"quick": {"n": 5}, "tiny": {"n": 1}}
        ),
    }


@dataclass(frozen=True)
class FakeInterpreter:
    name: str
    executable: str
    version: str = "3.13.5"
    implementation: str = "cpython"
    free_threaded: bool = False
    error: str | None = None

    def info(self) -> InterpreterInfo:
        return InterpreterInfo(
            self.executable,
            self.version,
            self.implementation,
            self.free_threaded,
            not self.free_threaded,
        )


def fake_pair(tmp: Path) -> tuple[FakeInterpreter, FakeInterpreter]:
    """Two 'interpreters' that exist as executables (links to this Python) in ``tmp``."""
    gil, ft = tmp / "py-gil", tmp / "py-ft"
    for link in (gil, ft):
        if not link.exists():
            link.symlink_to(sys.executable)
    return FakeInterpreter("cpython-3.13.5", str(gil)), FakeInterpreter(
        "cpython-3.13.5t", str(ft), free_threaded=True
    )


def resolver_for(*interps: FakeInterpreter) -> Callable[[str], FakeInterpreter]:
    from gilwatt.errors import UnknownNameError

    def resolve(name: str) -> FakeInterpreter:
        for interp in interps:
            if name in (interp.name, interp.executable):
                return interp
        raise UnknownNameError("interpreter", name, [i.name for i in interps])

    return resolve


HOST = HostInfo("testhost", "cpu", 2, "linux", 1 << 30)


@dataclass
class Outcome:
    """What the scripted profiler makes a run look like."""

    exit_code: int = 0
    status: str = "ok"
    verified: bool | None = True
    gil: bool | None = None  # None: the mode's expected state
    skipped: str | None = None
    raise_exc: BaseException | None = None
    region_ns: int = 10  # the measured region's wall time


class ScriptedProfiler:
    """Writes one run per request into the real store, shaped by ``decide(request)``."""

    def __init__(self, decide: Callable[[ProfileRequest], Outcome] | None = None) -> None:
        self.decide = decide or (lambda request: Outcome())
        self.requests: list[ProfileRequest] = []

    def __call__(self, request: ProfileRequest) -> ProfileResult:
        self.requests.append(request)
        outcome = self.decide(request)
        if outcome.raise_exc is not None:
            raise outcome.raise_exc
        with Store.open(request.store_path) as store:
            host_id = store.ensure_host(HOST)
            interp_id = (
                store.ensure_interpreter(request.interpreter) if request.interpreter else None
            )
            now = time.monotonic_ns()
            run_id = store.begin_run(
                host_id=host_id, command=request.argv, cwd=os.getcwd(), started_unix_ns=time.time_ns(),
                start_ns=now, interval_ns=request.interval_ns, memory_interval_ns=request.memory_interval_ns,
                interp_id=interp_id, env=request.env, label=request.label, study_id=request.study_id,
                energy_source="model:test", energy_estimate=True,
            )  # fmt: skip
            gil = outcome.gil
            if gil is None:
                gil = request.env.get("PYTHON_GIL") == "1" or not (
                    request.interpreter and request.interpreter.free_threaded
                )
            if request.interpreter is not None:
                store.add_regions(
                    run_id,
                    [
                        (
                            0,
                            "kernel",
                            1,
                            1,
                            now + 10,
                            now + 10 + outcome.region_ns,
                            None,
                            None,
                            0,
                            5,
                            0,
                            5,
                            int(gil),
                            int(gil),
                            None,
                            "{}",
                        )
                    ],
                )
            attrs: dict[str, Any] = {}
            if outcome.verified is not None:
                attrs["verified"] = outcome.verified
            if outcome.skipped:
                attrs["skipped"] = outcome.skipped
            if outcome.exit_code:
                store.append_output(run_id, "stderr", b"something went wrong\n")
            store.finish_run(
                run_id,
                status=outcome.status,
                exit_code=outcome.exit_code,
                end_ns=now + 20 + outcome.region_ns,
                attrs_json=attrs,
            )
        summary = RunSummary(
            run_id=run_id, wall_ns=30, cpu_user_ns=0, cpu_sys_ns=0, peak_rss_bytes=0,
            peak_vms_bytes=0, peak_uss_bytes=None, peak_pss_bytes=None, ctx_voluntary=0,
            ctx_involuntary=0, energy_uj=1000, energy_source="model:test", max_threads=1,
            mean_cpu_util=1.0, peak_cpu_util=1.0, core_balance=1.0,
        )  # fmt: skip
        return ProfileResult(run_id, outcome.status, outcome.exit_code, None, summary, "", [])
