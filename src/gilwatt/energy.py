"""Energy with provenance: pick the source, give the sampler a cheap meter, measure idle power.

Sources, in order: RAPL counters through powercap sysfs (``gilwatt.probes.rapl``), then a model
of CPU power from measured per-core utilisation (``gilwatt.probes.energy_model``) when no counter
can be read. Every meter says where its figures come from (``source``: "rapl:package-0+..." or
"model:<name>") and whether they are an estimate.

The sampler's use::

    meter = open_meter(root, model=req.energy_model, cpu_tdp_w=req.cpu_tdp_w)
    idle_w = measure_idle(meter, 2.0, read_core_ticks)      # optional; leaves the meter re-zeroed
    store.add_energy_zones(run_id, meter.zones)
    for each tick:  total_uj, per_zone = meter.sample(t_ns, core_ticks)   # first call -> zeros
    meter.close()

``meter.warnings`` may grow while sampling (a counter reset, a gap longer than a wrap period);
read it again at the end of the run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from gilwatt.errors import ConfigError, ProbeUnavailable
from gilwatt.probes import energy_model, rapl

ZoneRow = tuple[str, str, str | None, int | None, int]  # energy_zones row without run_id
CoreTicks = Sequence[tuple[int, int]]  # per core (busy, total) USER_HZ ticks, cumulative


class EnergyMeter(Protocol):
    source: str  # "rapl:package-0+package-0/dram" or "model:ccf-linear"
    estimate: bool  # True for every model figure
    zones: list[ZoneRow]  # (zone, path, parent, max_range_uj, counted)
    warnings: list[str]  # one line each, with the fix where there is one
    details: dict[str, Any]  # model coefficients, wrap period, why a fallback happened

    def sample(self, t_ns: int, core_ticks: CoreTicks) -> tuple[int, dict[str, int]]:
        """(µJ over counted zones, {zone: µJ}), cumulative since the zero point.

        The first call after opening or ``rebase()`` is the zero point and returns zeros.
        ``t_ns`` is CLOCK_MONOTONIC; ``core_ticks`` is ignored by RAPL meters.
        """
        ...

    def rebase(self) -> None:
        """Make the next ``sample()`` the new zero point."""
        ...

    def close(self) -> None: ...


def open_meter(
    root: Path = Path("/"),
    *,
    model: str | None = None,
    cpu_tdp_w: float | None = None,
    logical_cpus: int | None = None,
    cpu_model: str | None = None,
    opener: rapl.Opener | None = None,
) -> EnergyMeter:
    """The best energy source available under ``root``.

    ``model``: None or "auto" = RAPL if readable, else the default model (teads-tdp when
    ``cpu_tdp_w`` is given, ccf-linear otherwise); "rapl" = RAPL or a ConfigError saying why not;
    a model spec ("ccf-linear", "ccf-linear:<arch>", "teads-tdp", each with an optional "+dram")
    = that model even where RAPL exists (to compare a model with the counters, open both).
    ``opener`` replaces ``os.open`` for the counters (tests simulate a non-root user with it).
    """
    if model in (None, "auto", "rapl"):
        try:
            return rapl.open_rapl(root, opener=opener or os.open)
        except ProbeUnavailable as exc:
            if model == "rapl":
                raise ConfigError(
                    f"energy source 'rapl': {exc.reason}.",
                    hint=exc.hint or "Leave --energy-model unset to fall back to a model.",
                ) from None
            meter = energy_model.open_model(
                root, cpu_tdp_w=cpu_tdp_w, logical_cpus=logical_cpus, cpu_model=cpu_model
            )
            meter.details["fallback_reason"] = exc.reason
            if exc.hint:  # the counters exist but are locked: say how to unlock them
                meter.warnings.append(
                    f"energy: {exc.reason}; using {meter.source} (an estimate). {exc.hint}"
                )
            return meter
    return energy_model.open_model(
        root, model=model, cpu_tdp_w=cpu_tdp_w, logical_cpus=logical_cpus, cpu_model=cpu_model
    )


def measure_idle(
    meter: EnergyMeter,
    seconds: float,
    core_ticks_reader: Callable[[], CoreTicks],
    *,
    step_s: float = 0.1,
    clock_ns: Callable[[], int] = time.monotonic_ns,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Mean power in W over ``seconds`` of (hopefully) idle machine, read through ``meter``.

    For RAPL this is measured idle power. For a model it is the model's power at the utilisation
    measured while idle: a statement about the model, not a measurement. The meter is sampled
    every ``step_s`` (so wraps and the teads window stay fed) and is re-zeroed at the end, so the
    run's first ``sample()`` is zero again.
    """
    if not seconds > 0:
        raise ConfigError(
            f"--idle-baseline {seconds!r}: the idle measurement needs a positive duration. "
            "Give e.g. --idle-baseline 2s."
        )
    meter.rebase()
    t0 = clock_ns()
    meter.sample(t0, core_ticks_reader())
    deadline = t0 + int(seconds * 1e9)
    now = t0
    energy_uj = 0
    while now < deadline:
        sleep(min(step_s, (deadline - now) / 1e9))
        now = clock_ns()
        energy_uj, _ = meter.sample(now, core_ticks_reader())
    meter.rebase()
    return energy_uj / 1e6 / ((now - t0) / 1e9)


def describe(meter: EnergyMeter, idle_power_w: float | None = None) -> str:
    """Several lines for reports: the source, each zone and why it is (not) counted, the model's
    formula and coefficients with their source."""
    kind = "ESTIMATE from a model, not a measurement" if meter.estimate else "measured"
    lines = [f"energy source: {meter.source} ({kind})"]
    d = meter.details
    if isinstance(meter, rapl.RaplMeter):
        lines.append("  zones (counted ones make the total; a parent and its child never both):")
        width = max(len(z.zone) for z in meter.zones_info)
        for z in meter.zones_info:
            mark = "counted" if z.counted else "-      "
            rng = f", range {z.max_range_uj / 1e6:.1f} J" if z.max_range_uj else ", range unknown"
            lines.append(f"    {z.zone:<{width}}  {mark}  {z.energy_path}{rng}; {z.why}")
        if meter.wrap_period_s:
            lines.append(
                f"  counters wrap at max_energy_range_uj: at least {meter.wrap_period_s:.0f} s at full "
                "power, corrected at every sample"
            )
    else:
        lines.append(f"  formula: {d.get('formula', '?')}")
        if "arch" in d:
            lines.append(
                f"  coefficients: P_min {d['p_min_w_per_vcpu']} W/vCPU, P_max {d['p_max_w_per_vcpu']} W/vCPU, "
                f"n_vcpu {d['n_cpus']} ({d['arch_label']}: {d['arch_match']}; cpu {d['cpu_model']!r})"
            )
        if "tdp_w" in d:
            lines.append(
                f"  coefficients: TDP {d['tdp_w']:g} W; load over a trailing {d['window_ms']:g} ms window"
            )
        lines.append(f"  source: {d.get('coefficient_source', '?')}")
        if isinstance(meter, energy_model.ModelMeter):
            low, high = meter.power_range_w()
            lines.append(f"  CPU power range: {low:.2f} W idle .. {high:.2f} W all cores busy")
        if "dram_w" in d:
            lines.append(
                f"  model:dram: {d['dram_gib']:g} GiB × {d['dram_w_per_gib']} W/GiB = {d['dram_w']:.2f} W "
                f"constant ({d['dram_source']})"
            )
        lines.append("  utilisation: per-core busy/total ticks (/proc/stat); energy = Σ P × Δt")
        if "tdp_ignored" in d:
            lines.append(f"  note: {d['tdp_ignored']}")
        if "fallback_reason" in d:
            lines.append(f"  why not RAPL: {d['fallback_reason']}")
    if idle_power_w is not None:
        what = "model power at measured idle utilisation" if meter.estimate else "measured"
        lines.append(f"  idle baseline: {idle_power_w:.2f} W ({what})")
    lines.extend(f"  warning: {w}" for w in meter.warnings)
    return "\n".join(lines)
