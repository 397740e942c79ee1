"""The advice as text (verdict block, candidate table, readiness, why) and as JSON (schema 1)."""

from __future__ import annotations

from typing import Any

from gilwatt.advise.measure import MEMORY_KINDS
from gilwatt.advise.session import AdviseResult
from gilwatt.advise.why import (
    OptionStats,
    memory_fits,
    not_measured_lines,
    option_stats,
    scaling_fits,
    why_lines,
)
from gilwatt.units import format_bytes

SCHEMA = 1
_LEVEL_MARK = {"blocker": "!!", "warning": "! ", "ok": "  ", "info": "  "}
# the memory column's marks: the figure behind each value (MEMORY_KINDS)
MEMORY_MARK = {"rss-exact": "", "rss-vmhwm-read": "*", "pss-sampled": "~"}
MEMORY_LEGEND = (
    "memory: peak RSS of the process for threads (* = the highest VmHWM read, not the kernel's "
    "exact peak); ~ = peak PSS summed over the process tree, sampled every 250 ms (processes)"
)


def stats_of(result: AdviseResult) -> dict[str, OptionStats]:
    return {o.key: option_stats(o, result.outcomes) for o in result.options}


def command_of(result: AdviseResult) -> str:
    advice = result.advice
    if advice is None or advice.option is None:
        return ""
    o = advice.option
    return result.request.target.command_text(
        result.python_for(o), o.workers, processes=o.parallelism == "processes"
    )


def verdict(result: AdviseResult) -> str:
    advice = result.advice
    if advice is None or advice.option is None:
        return "no advice"
    o = advice.option
    build = {"gil": "THE GIL BUILD", "ft": "THE FREE-THREADED BUILD"}.get(o.mode, o.mode.upper())
    if o.parallelism == "none":
        return f"RUN {build}"
    what = (
        "PROCESSES" if o.parallelism == "processes" else ("THREAD" if o.workers == 1 else "THREADS")
    )
    if o.parallelism == "processes":
        what = "PROCESS" if o.workers == 1 else "PROCESSES"
    return f"RUN {build} WITH {o.workers} {what}"


def as_json(result: AdviseResult) -> dict[str, Any]:
    advice = result.advice
    stats = stats_of(result)
    option = advice.option if advice else None
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "advice": None if option is None else {
            "mode": option.mode,
            "workers": option.workers,
            "parallelism": option.parallelism,
            "confidence": advice.level if advice else "low",
            "confidence_share": None if advice is None else round(advice.confidence, 4),
            "pooled_cv": None if advice is None or advice.pooled_cv is None
            else round(advice.pooled_cv, 4),
            "confidence_capped": "" if advice is None else advice.capped,
            "objective": result.request.objective,
            "margin": None if advice is None else advice.margin,
            "best": None if advice is None or advice.best is None else advice.best.key,
            "reason": "" if advice is None else advice.reason,
            "command": command_of(result),
        },
        "candidates": [],
        "readiness": result.readiness.as_json(),
        "why": why_lines(stats, option, result.cpus, result.outcomes),
        "not_measured": not_measured_lines(result.cpus, result.not_measured, result.outcomes),
        "scaling": _scaling_json(result),
        "memory_per_worker": _memory_json(result),
        "host": {"usable_cpus": result.cpus, "load_start": result.load_start,
                 "load_end": result.load_end,
                 "max_foreign_cpu": result.request.max_foreign_cpu,
                 "disturbed_runs": result.disturbed,
                 "kept_disturbed_runs": result.kept_disturbed},
        "blocks": result.blocks,
        "elapsed_s": round(result.elapsed_s, 1),
        "stopped": result.stopped,
        "exit_code": result.exit_code,
        "study_id": result.study_id,
        "store": str(result.request.store_path),
    }  # fmt: skip
    for o in result.options:
        s = stats[o.key]
        out["candidates"].append({
            "key": o.key, "mode": o.mode, "workers": o.workers, "parallelism": o.parallelism,
            "runs": s.runs, "valid_runs": s.valid, "time_s": s.wall_s, "cpu_s": s.cpu_s,
            "parallelism_cpu_per_wall": s.parallelism, "peak_memory_bytes": s.peak_memory_bytes,
            "memory_kind": s.memory_kind or None,
            "energy_j": s.energy_j, "gil_back_on": s.gil_back_on, "disturbed_runs": s.disturbed,
            "ratio_vs_best": None if advice is None else advice.ratio_by_key.get(o.key),
            "not_advisable": None if advice is None else advice.excluded.get(o.key),
        })  # fmt: skip
    return out


def text(result: AdviseResult) -> str:
    req = result.request
    lines = [
        f"gilwatt advise: {req.target.label} on {req.gil.name} (GIL) and {req.ft.name} "
        f"(free-threaded); {result.cpus} usable CPUs",
        "",
        "readiness",
    ]
    for f in result.readiness.findings:
        lines.append(f" {_LEVEL_MARK.get(f.level, '  ')}{f.topic:<9} {f.text}")
        if f.fix:
            lines.append(f"   {'':<9} -> {f.fix}")
    advice = result.advice
    stats = stats_of(result)
    lines += ["", f"measured  {result.blocks} block(s), {len(result.outcomes)} runs, "
                  f"{result.elapsed_s:.0f} s; stopped: {result.stopped or '-'}"]  # fmt: skip
    lines.append(
        f"  {'option':<22} {'time':>9} {'vs best':>8} {'CPU/wall':>8} {'memory':>11}  runs  note"
    )
    for o in result.options:
        s = stats[o.key]
        ratio = advice.ratio_by_key.get(o.key) if advice else None
        note = (advice.excluded.get(o.key, "") if advice else "") or ""
        if advice and advice.option == o:
            note = "ADVISED" + (f"; {note}" if note else "")
        elif advice and advice.best == o:
            note = "best" + (f"; {note}" if note else "")
        lines.append(
            f"  {o.key:<22} {_s(s.wall_s):>9} {_x(ratio):>8} {_f(s.parallelism):>8} "
            f"{_memory(s):>11}  {s.valid}/{s.runs}  {note}"
        )
    lines.append(f"  {MEMORY_LEGEND}")
    lines.append("")
    if advice is None or advice.option is None:
        lines.append("advice    none: " + (advice.reason if advice else result.stopped))
    else:
        lines.append(f"advice    {verdict(result)}")
        lines.append(f"          confidence {advice.level.upper()} ({advice.confidence:.0%} of re-draws "
                     f"keep it within {advice.margin:.0%} of the best); {advice.reason}")  # fmt: skip
        if advice.capped:
            lines.append(f"          {advice.capped}")
    option = advice.option if advice else None
    for i, line in enumerate(why_lines(stats, option, result.cpus, result.outcomes)):
        lines.append(("why       " if i == 0 else "          ") + line)
    for i, line in enumerate(not_measured_lines(result.cpus, result.not_measured, result.outcomes)):
        lines.append(("not seen  " if i == 0 else "          ") + line)
    cmd = command_of(result)
    if cmd:
        lines.append(f"run it    {cmd}")
    lines.append(
        f"store     {req.store_path} (study {result.study_id}: gilwatt compare / report / export read it)"
    )
    return "\n".join(lines) + "\n"


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f} s"


def _x(x: float | None) -> str:
    return "-" if x is None else f"x{x:.2f}"


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _memory(s: OptionStats) -> str:
    if not s.peak_memory_bytes:
        return "-"
    return format_bytes(s.peak_memory_bytes) + MEMORY_MARK.get(s.memory_kind, "?")


def _pair(interval: tuple[float, float] | None, digits: int) -> list[float] | None:
    return None if interval is None else [round(v, digits) for v in interval]


def _scaling_json(result: AdviseResult) -> list[dict[str, Any]]:
    return [
        {"mode": mode, "parallelism": par, "workers": [1, fit.top],
         "speedup": round(fit.speedup, 4), "speedup_interval": _pair(fit.speedup_interval, 4),
         "serial_fraction": None if fit.serial is None else round(fit.serial, 4),
         "serial_fraction_interval": _pair(fit.serial_interval, 4), "blocks": fit.blocks,
         "note": fit.note}
        for (mode, par), fit in sorted(scaling_fits(result.outcomes, result.cpus).items())
    ]  # fmt: skip


def _memory_json(result: AdviseResult) -> list[dict[str, Any]]:
    return [
        {"mode": mode, "parallelism": par, "memory_kind": kind,
         "figure": MEMORY_KINDS.get(kind, kind), "bytes_per_worker": round(slope.bytes_per_worker),
         "interval": _pair(slope.interval, 0), "points": slope.points, "dof": slope.dof,
         "note": slope.note}
        for (mode, par), (slope, kind) in sorted(memory_fits(result.outcomes).items())
    ]  # fmt: skip
