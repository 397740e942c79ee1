"""The "Run quality" section of a study report: runs by status, every disturbed run with its
foreign CPU, load and what became of its rerun, and the bimodal cells and sentinel drift the
runner recorded per replicate (figures from :mod:`gilwatt.analysis.quality`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gilwatt.report import escape
from gilwatt.report.html import table

if TYPE_CHECKING:
    from gilwatt.analysis.quality import RunQuality


def quality_section(quality: RunQuality | None) -> str:
    """The section's HTML ("" when the run quality was not read)."""
    if quality is None:
        return ""
    from gilwatt.analysis.quality import NOT_RECORDED, bimodal_text, drift_text

    counts = ", ".join(f"{n} {status}" for status, n in quality.statuses.items()) or "none"
    parts = [
        '<section class="run-quality"><h2>Run quality</h2>',
        f"<p>Runs by status: {escape.text(counts)}.</p>",
    ]
    if quality.disturbed:
        rows = [
            [
                f"<code>{escape.text(d.run_key)}</code>",
                escape.text(d.block),
                escape.text("?" if d.foreign_cpu_cores is None else f"{d.foreign_cpu_cores:.2f}"),
                escape.text("?" if d.load1 is None else f"{d.load1:.2f}"),
                escape.text(d.rerun),
            ]
            for d in quality.disturbed
        ]
        parts.append(
            f'<h3>Disturbed runs ({len(rows)})</h3><p class="note">Foreign load during the '
            "measured region: kept, left out of the analysis, and rerun.</p>"
            + table(["run", "block", "foreign CPU (cores)", "load (1 min)", "rerun"], rows)
        )
    else:
        parts.append('<p class="note">No run was disturbed by foreign load.</p>')
    if not quality.recorded:
        parts.append(
            f'<p class="note">{escape.text(NOT_RECORDED[0].upper() + NOT_RECORDED[1:])}.</p>'
        )
    else:
        bimodal = [escape.text(bimodal_text(f)) for f in quality.bimodal]
        drift = [escape.text(drift_text(f)) for f in quality.drift]
        parts.append(_list("Bimodal cells (max/min within a mode above 1.5)", bimodal))
        parts.append(_list("Sentinel drift", drift))
    parts.append("</section>")
    return "".join(parts)


def _list(title: str, items: list[str]) -> str:
    if not items:
        return f"<p>{escape.text(title)}: none.</p>"
    return f"<h3>{escape.text(title)}</h3><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
