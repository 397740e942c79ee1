"""The "Energy net of idle" section of a study report: the idle power measured before each
replicate, and each cell's median energy gross and net of it (figures from
:mod:`gilwatt.analysis.idle`; the claims are decided on gross energy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gilwatt.report import escape
from gilwatt.report.html import table

if TYPE_CHECKING:
    from gilwatt.analysis.result import StudyResult


def energy_net_section(view: StudyResult) -> str:
    """The section's HTML ("" when the study measured no idle baseline)."""
    if not view.idle:
        return ""
    from gilwatt.analysis.idle import NET

    baselines = [
        [escape.text(b.block), escape.text(f"{b.power_w:.2f}"), escape.text(f"{b.duration_s:g}"),
         f"<code>{escape.text(b.source)}</code>"]
        for b in view.idle
    ]  # fmt: skip
    rows = []
    for cs in view.analysis.cells:
        for mode, per in cs.summaries.items():
            gross, net = per.get("energy_j"), per.get(NET)
            if gross is None or net is None:
                continue
            share = f"{net.median / gross.median:.0%}" if gross.median else "–"
            rows.append(
                [escape.text(cs.cell.workload), escape.text(cs.cell.params_label or "–"),
                 escape.text(cs.cell.workers), escape.text(mode),
                 escape.text(f"{gross.median:.3g}"), escape.text(f"{net.median:.3g}"),
                 escape.text(share)]
            )  # fmt: skip
    parts = [
        '<section class="energy-net"><h2>Energy net of idle</h2>',
        "<p class=\"note\">Net energy: a run's energy minus its replicate's idle power over the "
        "energy's own window (the boundary samples'); derived, never stored. The claims are "
        "decided on gross energy.</p>",
        table(["replicate", "idle power (W)", "measured (s)", "source"], baselines),
    ]
    if rows:
        headers = ["workload", "params", "N", "mode", "gross (J, median)", "net (J, median)",
                   "net / gross"]  # fmt: skip
        parts.append(table(headers, rows))
    else:
        parts.append('<p class="note">No valid run has a baseline of its replicate.</p>')
    parts.append("</section>")
    return "".join(parts)
