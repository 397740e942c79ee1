"""The report of a study: findings, per-family ratios, scaling, energy vs time, memory, gaps."""

from __future__ import annotations

import json
from collections import Counter

from gilwatt.analysis.result import StudyResult
from gilwatt.report import escape, fmt
from gilwatt.report.advice_section import advice_section
from gilwatt.report.energy_chart import energy_time
from gilwatt.report.energy_net_section import energy_net_section
from gilwatt.report.html import Page, definition_list, table
from gilwatt.report.quality_section import quality_section
from gilwatt.report.study_charts import fixed_params, forest, memory, scaling
from gilwatt.report.svg import fmt_num

VERDICT_CLASS = {
    "confirms": "supported",
    "contradicts": "contradicted",
    "mixed": "mixed",
    "inconclusive": "inconclusive",
    "not testable": "untested",
}


def render_study_page(view: StudyResult) -> str:
    study = view.data.study
    page = Page(title=f"gilwatt study {study.study_id}: {study.name}"[:200], kind="study")
    page.add(_header(view))
    advice = advice_section(study.spec)  # a `gilwatt advise` study: its advice, not the claims
    page.add(advice)
    page.add(_metadata(view))
    if not advice:
        page.add(_findings(view))
    families = view.analysis.families()
    if not families:
        page.add('<p class="empty">No cell of this study has a valid run yet.</p>')
    for family in families:
        _family_section(page, view, family)
    energy_time(page, view)
    page.add(energy_net_section(view))
    page.add(_gaps_and_exclusions(view))
    page.add(quality_section(view.quality))
    page.add(_all_runs(view))
    return page.render()


# --- header -----------------------------------------------------------------------------------


def _header(view: StudyResult) -> str:
    study = view.data.study
    badges = []
    if view.data.energy_is_estimate:
        badges.append('<span class="badge estimate">energy: estimate</span>')
    excluded = len(view.data.excluded)
    if excluded:
        badges.append(f'<span class="badge bad">{excluded} runs excluded</span>')
    return (
        f'<header><h1>Study {study.study_id}<span class="sub">{escape.text(study.name)}</span></h1>'
        f'<div class="badges">{"".join(badges)}</div></header>'
    )


def _metadata(view: StudyResult) -> str:
    data = view.data
    study = data.study
    statuses = Counter(r.status for r in data.runs)
    status_text = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    items: list[tuple[str, str]] = [
        ("Created", escape.text(fmt.unix_ns(study.created_unix_ns))),
        ("Seed", escape.text(study.seed)),
        (
            "Runs",
            escape.text(f"{len(data.runs)} planned: {status_text}; {len(data.valid_runs)} valid"),
        ),
        ("Modes", escape.text(", ".join(data.modes))),
    ]
    for mode in data.modes:
        interp = view.interpreters.get(mode)
        names = sorted({r.interpreter for r in data.runs if r.mode == mode})
        text = escape.text(", ".join(names))
        if interp is not None:
            build = "free-threaded" if interp.free_threaded else "GIL"
            text += escape.text(f" · {interp.implementation} {interp.version}, {build} build · ")
            text += f"<code>{escape.text(interp.executable)}</code>"
        items.append((f"Interpreter ({mode})", text))
    for host in view.hosts:
        items.append(
            (
                "Host",
                escape.text(
                    f"{host.hostname} · {host.cpu_model} · {host.logical_cpus} logical CPUs · Linux {host.kernel}"
                ),
            )
        )
    sources = data.energy_sources
    energy = ", ".join(f"<code>{escape.text(s)}</code>" for s in sources) or "none"
    if data.energy_is_estimate:
        energy += (
            ' <span class="badge estimate">estimate</span> modelled from CPU use, not measured'
        )
    items.append(("Energy source", energy))
    for key, value in study.spec.items():
        if isinstance(value, str | int | float | bool):
            items.append((f"spec: {key}", escape.text(value)))
    if view.source:
        items.append(("Store", f"<code>{escape.text(view.source)}</code>"))
    if data.other_studies:
        others = ", ".join(f"{s.study_id} ({s.name})" for s in data.other_studies)
        items.append(("Other studies in the store", escape.text(others)))
    spec = json.dumps(study.spec, indent=1, ensure_ascii=False, default=str)
    return (
        f'<section class="metadata"><h2>Study</h2>{definition_list(items)}'
        f"<details><summary>Full specification</summary><pre>{escape.text(spec)}</pre></details></section>"
    )


def _findings(view: StudyResult) -> str:
    from gilwatt.analysis.findings import Context, context_lines

    measured = bool(view.data.energy_sources) and not view.data.energy_is_estimate
    parts = []
    for f in view.findings:
        cls = VERDICT_CLASS.get(f.verdict, "untested")
        evidence = "".join(f"<li>{escape.text(e)}</li>" for e in f.evidence)
        stability = "" if f.stability is None else f" stability {f.stability:.2f}"
        parts.append(
            f'<div class="finding"><span class="badge {cls}">{escape.text(f.verdict)}</span>'
            f'<span class="note">{escape.text(stability)}</span> '
            f"<strong>{f.number}. {escape.text(f.claim)}</strong>"
            f'<div class="claim">{escape.text(f.why)}</div>'
            + (f'<div class="note">estimand: {escape.text(f.estimand)}</div>' if f.estimand else "")
            + (f"<ul>{evidence}</ul>" if evidence else "")
            + "</div>"
        )
    note = (
        '<p class="note">Each claim of the paper (arXiv 2603.04782) is set beside this study\'s '
        "evidence by the rules of <code>gilwatt compare</code>: free-threaded vs GIL build, one "
        "estimand per claim, replicates as units; a decided verdict needs 90% of re-draws of the "
        "study to agree.</p>"
        + "".join(
            f'<p class="note">{escape.text(line.strip())}</p>'
            for line in context_lines(view.context or Context(), measured)
        )
    )
    if view.data.energy_is_estimate:
        note += '<p class="note warn">Energy here is an estimate from a model, not a measurement: every energy and power finding inherits that.</p>'
    return f'<section class="findings-section"><h2>Findings</h2>{note}<div class="findings">{"".join(parts)}</div></section>'


# --- per family -------------------------------------------------------------------------------


def _family_section(page: Page, view: StudyResult, family: str) -> None:
    cells = [cs for cs in view.analysis.cells if cs.cell.family == family]
    fixed = fixed_params(cs.cell for cs in cells)
    workloads = [f"{w} ({p})" if p else w for w, p in sorted(fixed.items())]
    page.add(
        f'<section class="family"><h2>Family: {escape.text(family)}</h2>'
        f'<p class="note">{escape.text("; ".join(workloads))}</p>'
    )
    forest(page, view, family, cells)
    scaling(page, view, family)
    memory(page, view, family, cells)
    page.add("</section>")


# --- gaps, exclusions, runs -------------------------------------------------------------------


def _gaps_and_exclusions(view: StudyResult) -> str:
    parts = ['<section class="gaps"><h2>Missing cells and excluded runs</h2>']
    if view.gaps:
        items = "".join(f"<li>{escape.text(g)}</li>" for g in view.gaps)
        parts.append(
            f'<h3>Missing cells ({len(view.gaps)})</h3><p class="note">The report shows what exists; these cells and modes have no valid run.</p><ul>{items}</ul>'
        )
    else:
        parts.append(
            '<p class="note">Every planned cell has at least one valid run in every mode.</p>'
        )
    excluded = view.data.excluded
    if excluded:
        rows = [
            [
                escape.text(r.run_key),
                escape.text(r.workload),
                escape.text(r.workers),
                escape.text(r.mode),
                escape.text(r.block),
                escape.text(r.status),
                escape.text(r.exclusion or r.reason),
                escape.text("–" if r.run_id is None else r.run_id),
            ]
            for r in excluded
        ]
        headers = [
            "run",
            "workload",
            "workers",
            "mode",
            "block",
            "status",
            "why it does not count",
            "run id",
        ]
        parts.append(f"<h3>Excluded runs ({len(excluded)})</h3>" + table(headers, rows, "excluded"))
    else:
        parts.append('<p class="note">No run was excluded by the validity gates.</p>')
    parts.append("</section>")
    return "".join(parts)


def _all_runs(view: StudyResult) -> str:
    rows = []
    for r in view.data.runs:
        m = r.metrics
        rows.append(
            [
                escape.text(r.run_key),
                escape.text(r.family),
                escape.text(r.workload),
                escape.text(r.workers),
                escape.text(r.mode),
                escape.text(r.block),
                escape.text("valid" if r.valid else r.status),
                escape.text(_num(m.get("time_s"), "s")),
                escape.text(_num(m.get("energy_j"), "J")),
                escape.text(fmt.bytes_(m.get("peak_rss_bytes"))),
                escape.text(fmt.bytes_(m.get("peak_vms_bytes"))),
                escape.text("–" if r.run_id is None else r.run_id),
            ]
        )
    headers = [
        "run",
        "family",
        "workload",
        "workers",
        "mode",
        "block",
        "status",
        "time",
        "energy",
        "peak RSS",
        "peak VMS",
        "run id",
    ]
    return (
        f'<section class="runs"><h2>All runs</h2><details><summary>{len(rows)} runs</summary>'
        + table(headers, rows, "runs")
        + "</details></section>"
    )


def _num(v: float | None, unit: str) -> str:
    return "–" if v is None else f"{fmt_num(v)} {unit}"
