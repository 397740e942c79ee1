"""Two ad-hoc runs side by side (``gilwatt compare STORE [STORE2] --run A --run B``).

Two ``gilwatt profile`` runs (say one script under each build) have no study, so there is no
block, no replicate and no interval: each figure is shown for both runs with the ratio B / A,
and the table says "n = 1: no interval". ``gilwatt advise`` is the way to an interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gilwatt.errors import ConfigError
from gilwatt.readback import RunInfo, RunSummary
from gilwatt.units import format_bytes, format_duration_ns, format_energy_uj

NO_INTERVAL = "n = 1: no interval"


@dataclass
class RunSide:
    store: str
    info: RunInfo
    summary: RunSummary

    @property
    def title(self) -> str:
        interp = self.info.interpreter
        build = ""
        if interp is not None:
            build = (
                f" {interp.implementation} {interp.version}{'t' if interp.free_threaded else ''}"
            )
        return f"run {self.info.run_id}{build} ({Path(self.store).name})"


@dataclass
class Row:
    name: str
    a: float | None
    b: float | None
    shown_a: str
    shown_b: str

    @property
    def ratio(self) -> float | None:
        if self.a is None or self.b is None or self.a == 0:
            return None
        return self.b / self.a


def read_side(store_path: str | Path, run_id: int) -> RunSide:
    from gilwatt.store import Store

    path = Path(store_path)
    if not path.is_file():
        raise ConfigError(f"store not found ({path}).", hint="Give a .db file written by gilwatt.")
    store = Store.open(path, create=False)
    try:
        return RunSide(str(path), store.run_info(run_id), store.summary(run_id))
    finally:
        store.close()


def rows(a: RunSide, b: RunSide) -> list[Row]:
    sa, sb = a.summary, b.summary

    def row(name: str, va: float | None, vb: float | None, fmt: Any) -> Row:
        return Row(name, va, vb, fmt(va), fmt(vb))

    def cpu(s: RunSummary) -> float:
        return float(s.cpu_user_ns + s.cpu_sys_ns)

    return [
        row("wall time", sa.wall_ns, sb.wall_ns, format_duration_ns),
        row("CPU time (user + sys)", cpu(sa), cpu(sb), format_duration_ns),
        row("system time", sa.cpu_sys_ns, sb.cpu_sys_ns, format_duration_ns),
        row("CPU / wall", cpu(sa) / sa.wall_ns if sa.wall_ns else None,
            cpu(sb) / sb.wall_ns if sb.wall_ns else None, lambda v: "-" if v is None else f"{v:.2f}"),
        row("peak RSS", sa.peak_rss_bytes, sb.peak_rss_bytes, format_bytes),
        row("peak PSS", sa.peak_pss_bytes, sb.peak_pss_bytes, format_bytes),
        row("energy", sa.energy_uj, sb.energy_uj, format_energy_uj),
        row("involuntary switches", sa.ctx_involuntary, sb.ctx_involuntary,
            lambda v: "-" if v is None else f"{v:.0f}"),
        row("threads (most at once)", sa.max_threads, sb.max_threads,
            lambda v: "-" if v is None else f"{v:.0f}"),
    ]  # fmt: skip


def render(a: RunSide, b: RunSide) -> str:
    table = rows(a, b)
    width = max(len(r.name) for r in table)
    head_a, head_b = a.title, b.title
    lines = [
        f"A: {head_a}: {' '.join(a.info.command)[:100]}",
        f"B: {head_b}: {' '.join(b.info.command)[:100]}",
        f"ratios B / A; {NO_INTERVAL} (one run each: for intervals, use gilwatt advise or study)",
        "",
        f"{'':<{width}}  {'A':>12}  {'B':>12}  {'B / A':>8}",
    ]
    for r in table:
        ratio = "-" if r.ratio is None else f"x{r.ratio:.3f}"
        lines.append(f"{r.name:<{width}}  {r.shown_a:>12}  {r.shown_b:>12}  {ratio:>8}")
    estimate = [s for s in (a, b) if s.summary.energy_source.startswith("model:")]
    if estimate:
        lines.append("energy: " + ", ".join(f"{s.title} is a model's estimate" for s in estimate))
    for side, label in ((a, "A"), (b, "B")):
        if side.info.status != "ok":
            lines.append(f"note: run {label} ended {side.info.status} (exit {side.info.exit_code})")
    return "\n".join(lines) + "\n"
