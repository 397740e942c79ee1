"""One measured run of one option: profile it, read its figures back, judge it.

A run is *valid* when it exited 0 and (for a Python target, or with ``--region``) recorded its
region with the GIL in the mode's state at both edges. A free-threaded run whose GIL came back
on (an extension turned it on) is not valid for ``ft``: its time is kept for the table (what
the user would get today) but it cannot be advised.

Each run passes the study's machine gate (:mod:`gilwatt.study.machine`): the machine's state
around it is stored (``run_machine``), and a run during which the rest of the machine used more
than ``max_foreign_cpu`` cores (busy ticks minus the run's tree CPU minus gilwatt's own) is
*disturbed*: left out and run again by the session, a bounded number of times.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from gilwatt.advise.decision import Option
from gilwatt.advise.target import Target
from gilwatt.errors import ConfigError
from gilwatt.modes import Mode, expected_gil, gil_mismatch
from gilwatt.study import machine

# The tree's PSS is read at this interval in advise runs (the profiler's default is 1 s): a
# program of a second would otherwise show its summed PSS at one or two moments.
MEMORY_INTERVAL_NS = 250_000_000
MEMORY_KINDS = {
    "rss-exact": "peak RSS, exact",
    "rss-vmhwm-read": "peak RSS, the highest VmHWM read",
    "pss-sampled": "peak PSS summed over the tree, sampled every 250 ms",
}


@dataclass
class Outcome:
    option: Option
    block: int
    run_id: int | None
    status: str  # the run's: ok | failed | signaled | timeout
    valid: bool
    reason: str = ""
    wall_s: float | None = None  # the objective region's (or the run's) wall time
    cpu_s: float | None = None
    sys_s: float | None = None
    involuntary: int | None = None
    peak_rss_bytes: int | None = None
    peak_pss_bytes: int | None = None
    peak_rss_exact: bool = False  # the kernel's account (wait4), not the highest VmHWM read
    energy_j: float | None = None
    energy_estimate: bool = False
    gil_back_on: bool = False
    stdout: bytes = b""
    verify_failed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    foreign_cpu_cores: float | None = None  # the rest of the machine over the region
    disturbed: str = ""  # the machine gate's reason (foreign CPU above the limit), if any
    attempt: int = 0  # > 0: a rerun of a disturbed run
    superseded: bool = False  # disturbed and run again: left out

    def objective(self, name: str) -> float | None:
        if name == "time":
            return self.wall_s
        if name == "energy":
            return self.energy_j
        return self.memory_bytes

    @property
    def processes(self) -> bool:
        return self.option.parallelism == "processes"

    @property
    def memory_bytes(self) -> float | None:
        """The one memory figure (objective, --max-rss, slope): threads share one process, so
        its peak RSS; processes, the peak of the tree's summed PSS (shared pages split)."""
        value = self.peak_pss_bytes if self.processes else self.peak_rss_bytes
        return None if not value else float(value)

    @property
    def memory_kind(self) -> str:
        if self.processes:
            return "pss-sampled"
        return "rss-exact" if self.peak_rss_exact else "rss-vmhwm-read"


def child_env(mode: str) -> dict[str, str]:
    """As the study runner: ft-gil sets PYTHON_GIL=1; otherwise an inherited one is blanked."""
    if Mode(mode) is Mode.FT_GIL:
        return {"PYTHON_GIL": "1"}
    return {"PYTHON_GIL": ""} if "PYTHON_GIL" in os.environ else {}


def run_one(
    *,
    target: Target,
    option: Option,
    python: str,
    interpreter: Any,
    store_path: Path,
    study_id: int | None,
    label: str,
    block: int,
    cwd: Path | None,
    timeout_s: float | None,
    prepare: str | None,
    verify: str | None,
    max_foreign_cpu: float | None = machine.DEFAULT_MAX_FOREIGN_CPU,
    attempt: int = 0,
) -> Outcome:
    from gilwatt.profiler import ProfileRequest, profile

    if prepare:
        done = subprocess.run(prepare, shell=True, cwd=cwd, capture_output=True, check=False)
        if done.returncode != 0:
            raise ConfigError(
                f"--prepare {prepare!r} failed (exit {done.returncode}).",
                hint="Run it by hand: " + done.stderr.decode("utf-8", "replace")[-200:].strip(),
            )
    processes = option.parallelism == "processes"
    argv = target.argv(python, option.workers, processes=processes)
    request = ProfileRequest(
        argv=argv, store_path=store_path, env={**target.env(option.workers), **child_env(option.mode)},
        cwd=cwd, interpreter=interpreter, label=label, study_id=study_id, passthrough=False,
        timeout_s=timeout_s, on_warning=lambda _text: None, memory_interval_ns=MEMORY_INTERVAL_NS,
    )  # fmt: skip
    before = machine.snapshot()
    own_before = machine.own_cpu_ns()
    result = profile(request)
    own_cpu_ns = machine.own_cpu_ns() - own_before
    after = machine.snapshot()
    outcome = read_outcome(store_path, result.run_id, option, block, target)
    outcome.attempt = attempt
    if verify and outcome.valid:
        outcome.verify_failed = not _verify(verify, outcome, cwd)
        if outcome.verify_failed:
            outcome.valid = False
            outcome.reason = "--verify failed on this run's output"
    gate(store_path, outcome, (before, after), own_cpu_ns, max_foreign_cpu)
    return outcome


def read_outcome(
    store_path: Path, run_id: int, option: Option, block: int, target: Target
) -> Outcome:
    """The figures of a stored run (also for a resumed study)."""
    from gilwatt.store import Store

    store = Store.open(store_path)
    try:
        info = store.run_info(run_id)
        summary = store.summary(run_id)
        stdout = store.output(run_id, "stdout")
    finally:
        store.close()
    regions = [r for r in summary.regions if r.name == target.region]
    wants_region = target.kind != "cmd" or target.region != "kernel"
    energy_uj = summary.energy_uj
    wall_ns = summary.wall_ns
    cpu_ns = summary.cpu_user_ns + summary.cpu_sys_ns
    reasons: list[str] = []
    gil_back_on = False
    if info.status != "ok" or info.exit_code != 0:
        code = info.exit_code if info.exit_signal is None else f"signal {info.exit_signal}"
        reasons.append(f"{info.status} (exit {code})")
    span = (0, 1 << 62, summary.wall_ns)  # no region: the whole run
    if regions:
        region = regions[0]
        span = (region.begin_ns, region.end_ns, summary.wall_ns)
        wall_ns = region.wall_ns
        energy_uj = region.energy_uj
        if region.tree_cpu_ns is not None:
            cpu_ns = region.tree_cpu_ns
        for edge, state in (("begin", region.gil_begin), ("end", region.gil_end)):
            why = gil_mismatch(option.mode, target.region, edge, [state])
            if why:
                reasons.append(why)
                gil_back_on = gil_back_on or (state is True and not expected_gil(option.mode))
    elif wants_region and not reasons:
        reasons.append(f"no {target.region!r} region recorded")
    if any("GIL was enabled at run time" in w for w in info.warnings) and option.mode == "ft":
        gil_back_on = True
        if not any("GIL" in r for r in reasons):
            reasons.append("the GIL was turned back on at run time")
    estimate = summary.energy_source.startswith("model:")
    return Outcome(
        option=option, block=block, run_id=run_id, status=info.status, valid=not reasons,
        reason="; ".join(reasons), wall_s=wall_ns / 1e9 if wall_ns else None,
        cpu_s=cpu_ns / 1e9, sys_s=summary.cpu_sys_ns / 1e9, involuntary=summary.ctx_involuntary,
        peak_rss_bytes=summary.peak_rss_bytes or None, peak_pss_bytes=summary.peak_pss_bytes,
        peak_rss_exact=summary.peak_rss_exact,
        energy_j=None if energy_uj is None else energy_uj / 1e6, energy_estimate=estimate,
        gil_back_on=gil_back_on, stdout=stdout, extra={"span": span},
    )  # fmt: skip


def gate(
    store_path: Path,
    outcome: Outcome,
    snapshots: tuple[machine.Snapshot, machine.Snapshot],
    own_cpu_ns: int,
    limit: float | None,
) -> None:
    """The study's machine gate on one run: store its ``run_machine`` row; a valid run whose
    foreign CPU is above ``limit`` (cores; None: no gate) becomes disturbed (not valid)."""
    from gilwatt.store import Store

    if outcome.run_id is None:
        return
    begin_ns, end_ns, run_wall_ns = outcome.extra.get("span", (0, 1 << 62, 0))
    store = Store.open(store_path)
    try:
        counters = machine.RegionCpu(*store.region_cpu(outcome.run_id, begin_ns, end_ns))
        foreign = allowance = None
        if counters.cores:
            foreign, allowance = machine.foreign_cpu_cores(counters, own_cpu_ns, run_wall_ns)
        row = machine.state(*snapshots, run_wall_ns, foreign)
        store.add_run_machine(outcome.run_id, astuple(row))
    finally:
        store.close()
    outcome.foreign_cpu_cores = foreign
    if foreign is None or allowance is None or limit is None:
        return
    why = machine.disturbed_reason(foreign, allowance, limit)
    if why and outcome.valid:
        outcome.valid, outcome.disturbed, outcome.reason = False, why, why


def _verify(command: str, outcome: Outcome, cwd: Path | None) -> bool:
    """Run ``command`` with the run's output on stdin and in $GILWATT_OUTPUT; exit 0 = good."""
    with tempfile.NamedTemporaryFile(prefix="gilwatt-advise-", suffix=".out") as fh:
        fh.write(outcome.stdout)
        fh.flush()
        env = dict(os.environ)
        env.update(GILWATT_OUTPUT=fh.name, GILWATT_MODE=outcome.option.mode,
                   GILWATT_WORKERS=str(outcome.option.workers))  # fmt: skip
        done = subprocess.run(command, shell=True, cwd=cwd, input=outcome.stdout, env=env,
                              capture_output=True, check=False)  # fmt: skip
    return done.returncode == 0
