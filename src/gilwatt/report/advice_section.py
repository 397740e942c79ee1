"""The advice section of a study report: what ``gilwatt advise`` decided and why.

It reads only the study's recorded spec (``spec["advice"]``, the JSON of ``advise --json``), so
the report needs nothing from the advise package.
"""

from __future__ import annotations

from typing import Any

from gilwatt.report import escape
from gilwatt.report.html import table
from gilwatt.units import format_bytes

_LEVEL_CLASS = {"high": "supported", "moderate": "mixed", "low": "inconclusive"}
# the memory column's marks, as the terminal's (gilwatt.advise.render.MEMORY_MARK)
_MEMORY_MARK = {"rss-exact": "", "rss-vmhwm-read": "*", "pss-sampled": "~"}
_MEMORY_LEGEND = (
    "Memory: peak RSS of the process for threads (* = the highest VmHWM read, not the kernel's "
    "exact peak); ~ = peak PSS summed over the process tree, sampled every 250 ms (processes)."
)
_FINDING_CLASS = {
    "blocker": "contradicted",
    "warning": "mixed",
    "ok": "supported",
    "info": "untested",
}


def advice_section(spec: dict[str, Any]) -> str:
    """The section's HTML, or "" when the study is not an advise study."""
    answer = spec.get("advice")
    if not isinstance(answer, dict):
        return ""
    advice = answer.get("advice")
    parts = ['<section class="advice"><h2>Advice</h2>']
    if isinstance(advice, dict):
        level = str(advice.get("confidence", "low"))
        what = _verdict(advice)
        share = advice.get("confidence_share")
        share_text = f" ({share:.0%} of re-draws)" if isinstance(share, int | float) else ""
        parts.append(
            f'<p class="verdict"><strong>{escape.text(what)}</strong> '
            f'<span class="badge {_LEVEL_CLASS.get(level, "untested")}">confidence {escape.text(level)}'
            f"{escape.text(share_text)}</span></p>"
            f"<p>{escape.text(advice.get('reason', ''))}</p>"
            f"<p>Run it: <code>{escape.text(advice.get('command', ''))}</code></p>"
        )
    else:
        parts.append(f"<p>No advice: {escape.text(answer.get('stopped', ''))}</p>")
    parts.append(_candidates(answer.get("candidates") or [], advice))
    parts.append(_list("Readiness", [
        f'<span class="badge {_FINDING_CLASS.get(str(f.get("level")), "untested")}">'
        f'{escape.text(f.get("topic", ""))}</span> {escape.text(f.get("text", ""))}'
        + (f'<br><span class="fix">fix: {escape.text(f["fix"])}</span>' if f.get("fix") else "")
        for f in (answer.get("readiness") or {}).get("findings", [])
    ]))  # fmt: skip
    parts.append(_list("Why", [escape.text(line) for line in answer.get("why") or []]))
    parts.append(_list("Not measured", [escape.text(x) for x in answer.get("not_measured") or []]))
    parts.append("</section>")
    return "".join(parts)


def _verdict(advice: dict[str, Any]) -> str:
    build = {"gil": "the GIL build", "ft": "the free-threaded build"}.get(
        str(advice.get("mode")), str(advice.get("mode"))
    )
    if advice.get("parallelism") == "none":
        return f"Run {build}"
    workers, kind = advice.get("workers"), str(advice.get("parallelism"))
    if workers == 1:
        kind = {"threads": "thread", "processes": "process"}.get(kind, kind)
    return f"Run {build} with {workers} {kind}"


def _candidates(candidates: list[dict[str, Any]], advice: Any) -> str:
    if not candidates:
        return ""
    times = [c["time_s"] for c in candidates if isinstance(c.get("time_s"), int | float)]
    top = max(times) if times else 1.0
    rows = []
    for c in candidates:
        t = c.get("time_s")
        bar = ""
        if isinstance(t, int | float) and top > 0:
            width = max(1.0, 100.0 * t / top)
            bar = (
                f'<div class="bar" style="width:{width:.1f}%;background:#7aa6d9;height:10px"></div>'
            )
        ratio = c.get("ratio_vs_best")
        note = c.get("not_advisable") or ""
        if (
            isinstance(advice, dict)
            and c.get("mode") == advice.get("mode")
            and (
                c.get("workers") == advice.get("workers")
                and c.get("parallelism") == advice.get("parallelism")
            )
        ):
            note = "advised"
        memory = c.get("peak_memory_bytes")
        shown = "-"
        if isinstance(memory, int | float) and memory > 0:
            shown = format_bytes(memory) + _MEMORY_MARK.get(str(c.get("memory_kind")), "?")
        rows.append([
            escape.text(c.get("key", "")),
            escape.text("-" if t is None else f"{t:.3f} s") + bar,
            escape.text("-" if ratio is None else f"x{ratio:.2f}"),
            escape.text(shown),
            escape.text(f"{c.get('valid_runs', 0)}/{c.get('runs', 0)}"),
            escape.text(note),
        ])  # fmt: skip
    return (
        "<h3>Candidates</h3>"
        + table(["option", "time", "vs best", "memory", "valid runs", "note"], rows,
                "advice-candidates")
        + f'<p class="note">{escape.text(_MEMORY_LEGEND)}</p>'
    )  # fmt: skip


def _list(title: str, items: list[str]) -> str:
    if not items:
        return ""
    return f"<h3>{escape.text(title)}</h3><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
