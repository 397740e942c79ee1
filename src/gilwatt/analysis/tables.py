"""Rendering a :class:`~gilwatt.analysis.result.CompareResult`: text, markdown, csv, json.

Pure functions: each returns a string (or rows); nothing is printed or written here. Text and
markdown share one layout -- per family a table of cells, then scaling, contention, energy vs
time, the findings, and the excluded runs; csv is one flat row per (cell, mode pair, metric);
json carries everything.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from gilwatt.analysis import stats
from gilwatt.analysis.compare import CellStats, Comparison
from gilwatt.analysis.findings import Finding, context_lines
from gilwatt.analysis.idle import NET, idle_lines
from gilwatt.analysis.metrics import METRICS
from gilwatt.analysis.quality import quality_lines
from gilwatt.analysis.result import CompareResult
from gilwatt.analysis.scaling import Fit
from gilwatt.units import MISSING, format_fixed

FORMATS = ("text", "markdown", "csv", "json")
DASH = MISSING
TABLE_RATIOS = ("time_s", "energy_j", "power_w", "peak_rss_bytes", "peak_vms_bytes")
CONTENTION = ("cpu_util_per_worker", "ctx_vol_per_s", "sys_share", "core_balance")


# -- numbers -----------------------------------------------------------------------------------


num = format_fixed  # table cells: fixed decimals by magnitude, so columns line up


def ratio_ci(est: stats.RatioEstimate | None) -> str:
    if est is None:
        return DASH
    if est.t_low is None or est.t_high is None:
        return f"{est.geomean:.3f} (n=1)"
    return f"{est.geomean:.3f} [{est.t_low:.3f}, {est.t_high:.3f}]"


def boot_ci(est: stats.RatioEstimate | None) -> str:
    if est is not None and est.n >= 2 and est.n < stats.BOOTSTRAP_MIN_N:
        return "n too small"
    if est is None or est.boot_low is None or est.boot_high is None:
        return DASH
    return f"[{est.boot_low:.3f}, {est.boot_high:.3f}]"


def pval(p: float | None) -> str:
    if p is None:
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def flagged(comp: Comparison | None) -> str:
    """A ratio with an arrow when its corrected verdict is significant: 1.25↑, 0.80↓."""
    if comp is None or comp.estimate is None:
        return DASH
    arrow = {stats.HIGHER: "↑", stats.LOWER: "↓"}.get(comp.direction or 0, "")
    return f"{comp.estimate.geomean:.3f}{arrow}"


def median_iqr(cs: CellStats, mode: str, metric: str) -> str:
    summary = cs.summaries.get(mode, {}).get(metric)
    if summary is None:
        return DASH
    scale = METRICS[metric].scale
    median = num(summary.median / scale)
    decimals = len(median.split(".")[1]) if "." in median else 0
    return f"{median} ±{summary.iqr / 2 / scale:.{decimals}f}"


# -- layout ------------------------------------------------------------------------------------


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 0
) -> list[str]:
    """Aligned columns; columns from ``numeric_from`` on are right-aligned."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i >= numeric_from else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 0
) -> list[str]:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    align = ["---:" if i >= numeric_from else ":---" for i in range(len(headers))]
    out = ["| " + " | ".join(esc(h) for h in headers) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return out


# -- sections (headers + rows) -----------------------------------------------------------------


def family_rows(
    result: CompareResult, family: str, mode: str, base: str
) -> tuple[list[str], list[list[str]]]:
    metric = result.metric
    spec = METRICS[metric]
    unit = f" {spec.unit}" if spec.unit else ""
    others = [m for m in (*TABLE_RATIOS, *_net(result)) if m != metric]
    headers = [
        "workload",
        "params",
        "N",
        "pairs",
        f"{base}{unit}",
        f"{mode}{unit}",
        f"{mode}/{base} {spec.short} [95% CI]",
        "bootstrap",
        f"p({result.analysis.correction})",
        "verdict",
        *(METRICS[m].short for m in others),
    ]
    rows = []
    for cs in result.analysis.cells:
        if cs.cell.family != family:
            continue
        comp = result.analysis.get(cs.cell, mode, base, metric)
        if comp is None:
            continue
        est = comp.estimate
        pairs = (
            DASH if est is None else str(est.n) + (f" (-{comp.unpaired})" if comp.unpaired else "")
        )
        rows.append(
            [
                cs.cell.workload,
                cs.cell.params_label or DASH,
                str(cs.cell.workers),
                pairs,
                median_iqr(cs, base, metric),
                median_iqr(cs, mode, metric),
                ratio_ci(est),
                boot_ci(est),
                pval(comp.adjusted_p),
                comp.verdict,
                *(flagged(result.analysis.get(cs.cell, mode, base, m)) for m in others),
            ]
        )
    return headers, rows


def _net(result: CompareResult) -> tuple[str, ...]:
    """The energy net of idle column, when the study measured idle baselines."""
    return (NET,) if any(r.metrics.get(NET) is not None for r in result.data.valid_runs) else ()


def scaling_rows(result: CompareResult) -> tuple[list[str], list[list[str]]]:
    headers = [
        "workload",
        "params",
        "mode",
        "S(N) = T(1)/T(N)",
        "Amdahl s [95%]",
        "USL σ",
        "USL κ",
        "USL R²",
        "note",
    ]
    rows = []
    for c in result.curves:
        speed = " ".join(f"{w}:{s:.2f}" for w, s in zip(c.workers, c.speedup, strict=True)) or DASH
        usl = c.usl
        rows.append(
            [
                c.workload,
                c.params_label or DASH,
                c.mode,
                speed,
                _with_ci(c.amdahl, "s"),
                num(usl.params["sigma"]) if usl else DASH,
                num(usl.params["kappa"], 4) if usl else DASH,
                num(usl.r2) if usl and usl.dof > 0 else DASH,
                c.note or (usl.note if usl and usl.note else ""),
            ]
        )
    return headers, rows


def _with_ci(fit: Fit | None, name: str) -> str:
    if fit is None:
        return DASH
    ci = fit.intervals.get(name)
    return num(fit.params[name]) + (f" [{num(ci[0])}, {num(ci[1])}]" if ci else "")


def contention_rows(result: CompareResult) -> tuple[list[str], list[list[str]]]:
    modes = result.data.modes
    headers = ["workload", "params", "N"] + [
        f"{m} {METRICS[k].short}" for k in CONTENTION for m in modes
    ]
    rows = []
    for cs in result.analysis.cells:
        if cs.cell.workers < 2:
            continue
        values = []
        for key in CONTENTION:
            for m in modes:
                summary = cs.summaries.get(m, {}).get(key)
                values.append(DASH if summary is None else num(summary.median))
        if any(v != DASH for v in values):
            rows.append(
                [cs.cell.workload, cs.cell.params_label or DASH, str(cs.cell.workers), *values]
            )
    return headers, rows


def excluded_rows(result: CompareResult) -> tuple[list[str], list[list[str]]]:
    headers = ["block", "mode", "workload", "params", "N", "run", "reason"]
    rows = [
        [
            str(r.block),
            r.mode,
            r.workload,
            _params(r.params_json),
            str(r.workers),
            DASH if r.run_id is None else str(r.run_id),
            r.exclusion,
        ]
        for r in result.data.excluded
    ]
    return headers, rows


def _params(params_json: str) -> str:
    try:
        params = json.loads(params_json)
    except ValueError:
        return params_json
    if isinstance(params, dict):
        return " ".join(f"{k}={v}" for k, v in params.items()) or DASH
    return str(params)


def header_lines(result: CompareResult) -> list[str]:
    data = result.data
    st = data.study
    counts = Counter(
        "valid" if r.valid else (r.status if r.status != "done" else "invalid") for r in data.runs
    )
    parts = [
        f"{counts[k]} {k}"
        for k in ("valid", "invalid", "failed", "skipped", "pending")
        if counts[k]
    ]
    blocks = len({r.block for r in data.runs})
    lines = [
        f"study {st.study_id} {st.name!r} (seed {st.seed}) in {result.source}",
        f"runs: {len(data.runs)} planned: {', '.join(parts) or 'none'}; modes: {', '.join(data.modes)}; blocks: {blocks}",
    ]
    sources = data.energy_sources
    if sources:
        estimate = " (estimate: modelled, not measured)" if data.energy_is_estimate else ""
        lines.append(f"energy: {', '.join(sources)}{estimate}")
    else:
        lines.append("energy: not recorded")
    rule = "Holm" if result.analysis.correction == "holm" else "Benjamini-Hochberg"
    lines.append(
        "ratios: geometric mean of per-block ratios, 95% CI by t in log space (bootstrap beside it "
        f"from {stats.BOOTSTRAP_MIN_N} pairs); per-cell arrows {rule}-adjusted per column, alpha "
        f"{stats.ALPHA:g}; ↑/↓ = significantly higher/lower (the findings use their own rules)"
    )
    lines.append("per-mode figures: median ± half the IQR over valid runs")
    if data.other_studies:
        others = ", ".join(str(s.study_id) for s in data.other_studies)
        lines.append(f"other studies in this store: {others} (choose with --study)")
    measured = bool(data.energy_sources) and not data.energy_is_estimate
    lines += context_lines(result.context, measured)
    return lines


def energy_lines(result: CompareResult) -> list[str]:
    et = result.energy_time
    if et.n == 0:
        return ["no valid run has an energy figure"]
    out = []
    tag = f" (estimate: {', '.join(et.sources)})" if et.estimate else ""
    out.append(f"{et.n} runs{tag}")
    if et.energy_vs_time is not None:
        f = et.energy_vs_time
        out.append(f"energy = {num(f.intercept)} J + {num(f.slope)} W × time, R² {num(f.r2)}")
    if et.loglog is not None:
        f = et.loglog
        verdict = {1: "proportional", -1: "not proportional"}.get(
            et.proportional or 0, "cannot tell"
        )
        out.append(f"{et.reason}: {verdict}")
    if et.power_vs_util is not None and et.util_range is not None:
        p = et.power_vs_util
        change = (
            ""
            if et.power_change is None
            else f", {et.power_change:+.1%} over util {et.util_range[0]:.2f}–{et.util_range[1]:.2f}"
        )
        out.append(
            f"power = {num(p.intercept)} W + {num(p.slope)} W/core × util, R² {num(p.r2)}{change}"
        )
    return out + idle_lines(result.data, result.idle)


def _stability(f: Finding) -> str:
    parts = []
    if f.stability is not None:
        parts.append(f"stability {f.stability:.2f}")
    if f.replicates_needed is not None:
        parts.append(f"~{f.replicates_needed} replicates would likely decide it")
    return f" ({', '.join(parts)})" if parts else ""


def finding_lines(items: Sequence[Finding], bullet: str = "") -> list[str]:
    out = []
    pad = " " * len(bullet)
    for f in items:
        out.append(f"{bullet}{f.number}. {f.verdict.upper()}{_stability(f)}: {f.claim}")
        out.append(f"{pad}   why: {f.why}")
        if f.estimand:
            out.append(f"{pad}   estimand: {f.estimand} (unit: {f.unit})")
        out.extend(f"{pad}   {e}" for e in f.evidence if not e.startswith("stability:"))
    return out


def finding_json(f: Finding) -> dict[str, Any]:
    """One finding in ``compare --format json`` (schema 2)."""
    from dataclasses import asdict

    return {
        "number": f.number,
        "claim": f.claim,
        "verdict": f.verdict,
        "reason": f.why,
        "stability": f.stability,
        "estimate": f.estimate,
        "interval": list(f.interval) if f.interval else None,
        "replicates_needed": f.replicates_needed,
        "workloads": [asdict(u) for u in f.workloads],
        "estimand": f.estimand,
        "unit": f.unit,
        "halves": [
            {
                "name": h.name,
                "verdict": h.verdict,
                "reason": h.reason,
                "estimate": h.estimate,
                "interval": list(h.interval) if h.interval else None,
                "level": h.level,
                "replicates": h.n,
                "workloads": [asdict(u) for u in h.units],
            }
            for h in f.halves
        ],
        "evidence": f.evidence,
    }


# -- whole documents ---------------------------------------------------------------------------


def _sections(result: CompareResult) -> list[tuple[str, tuple[list[str], list[list[str]]]]]:
    spec = METRICS[result.metric]
    out = []
    for family in result.analysis.families():
        for mode, base in result.analysis.pairs:
            headers, rows = family_rows(result, family, mode, base)
            if rows:
                out.append((f"{family}: {spec.label}, {mode} vs {base}", (headers, rows)))
    if result.curves:
        out.append(("scaling (speed-up from median times)", scaling_rows(result)))
    headers, rows = contention_rows(result)
    if rows:
        out.append(("contention indicators (medians)", (headers, rows)))
    return out


def render_text(result: CompareResult) -> str:
    lines = ["gilwatt compare", *header_lines(result)]
    for title, (headers, rows) in _sections(result):
        lines += ["", f"== {title} ==", *text_table(headers, rows, numeric_from=2)]
    lines += ["", "== energy vs time ==", *energy_lines(result)]
    lines += [
        "",
        "== findings: the paper's claims vs this study ==",
        *finding_lines(result.findings),
    ]
    if result.quality is not None:
        lines += ["", "== run quality ==", *quality_lines(result.quality)]
    headers, rows = excluded_rows(result)
    lines += ["", f"== excluded runs ({len(rows)}) =="]
    lines += text_table(headers, rows, numeric_from=len(headers)) if rows else ["none"]
    return "\n".join(lines) + "\n"


def render_markdown(result: CompareResult) -> str:
    lines = ["# gilwatt compare", "", *(f"- {h}" for h in header_lines(result))]
    for title, (headers, rows) in _sections(result):
        lines += ["", f"## {title}", "", *markdown_table(headers, rows, numeric_from=2)]
    lines += ["", "## energy vs time", "", *(f"- {e}" for e in energy_lines(result))]
    lines += ["", "## findings: the paper's claims vs this study", ""]
    for f in result.findings:
        lines.append(f"{f.number}. **{f.verdict}**{_stability(f)}: {f.claim}  ")
        lines.append(f"   why: {f.why}  ")
        if f.estimand:
            lines.append(f"   estimand: {f.estimand} (unit: {f.unit})")
        lines.extend(f"   - {e}" for e in f.evidence if not e.startswith("stability:"))
    if result.quality is not None:
        lines += ["", "## run quality", "", *(f"- {q}" for q in quality_lines(result.quality))]
    headers, rows = excluded_rows(result)
    lines += ["", f"## excluded runs ({len(rows)})", ""]
    lines += markdown_table(headers, rows, numeric_from=len(headers)) if rows else ["none"]
    return "\n".join(lines) + "\n"


CSV_HEADERS = [
    "family",
    "workload",
    "params",
    "workers",
    "mode",
    "base",
    "metric",
    "pairs",
    "unpaired",
    "base_median",
    "mode_median",
    "ratio",
    "t_low",
    "t_high",
    "boot_low",
    "boot_high",
    "p",
    "p_adjusted",
    "verdict",
]


def _f(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"


def csv_rows(result: CompareResult) -> list[list[str]]:
    cells = {cs.cell.key: cs for cs in result.analysis.cells}
    rows = []
    for c in result.analysis.comparisons:
        cs = cells[c.cell.key]
        base_s = cs.summaries.get(c.base, {}).get(c.metric)
        mode_s = cs.summaries.get(c.mode, {}).get(c.metric)
        e = c.estimate
        rows.append(
            [
                c.cell.family,
                c.cell.workload,
                c.cell.params_json,
                str(c.cell.workers),
                c.mode,
                c.base,
                c.metric,
                "0" if e is None else str(e.n),
                str(c.unpaired),
                _f(base_s.median if base_s else None),
                _f(mode_s.median if mode_s else None),
                _f(e.geomean if e else None),
                _f(e.t_low if e else None),
                _f(e.t_high if e else None),
                _f(e.boot_low if e else None),
                _f(e.boot_high if e else None),
                _f(e.p_value if e else None),
                _f(c.adjusted_p),
                c.verdict,
            ]
        )
    return rows


def render_csv(result: CompareResult) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADERS)
    writer.writerows(csv_rows(result))
    return buf.getvalue()


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json_dict(result: CompareResult) -> dict[str, Any]:
    from dataclasses import asdict

    data = result.data
    cells = []
    for cs in result.analysis.cells:
        cells.append(
            {
                "family": cs.cell.family,
                "workload": cs.cell.workload,
                "params": json.loads(cs.cell.params_json or "{}"),
                "workers": cs.cell.workers,
                "valid": cs.valid,
                "planned": cs.planned,
                "summaries": {
                    m: {k: asdict(s) if s else None for k, s in per.items()}
                    for m, per in cs.summaries.items()
                },
            }
        )
    comparisons = [
        {
            "workload": c.cell.workload,
            "params": c.cell.params_json,
            "workers": c.cell.workers,
            "family": c.cell.family,
            "mode": c.mode,
            "base": c.base,
            "metric": c.metric,
            "unpaired": c.unpaired,
            "estimate": asdict(c.estimate) if c.estimate else None,
            "p_adjusted": c.adjusted_p,
            "verdict": c.verdict,
            "ratios_by_block": {str(b): r for b, r in c.ratios.items()},
        }
        for c in result.analysis.comparisons
    ]
    host = data.study.spec.get("host")
    host_name = str(host.get("hostname")) if isinstance(host, dict) else "local"
    findings_json = [finding_json(f) for f in result.findings]
    return {
        # 3: findings_by_host (a cluster study: one study per host; see analysis/hosts.py)
        "schema": 3,
        "study": asdict(data.study),
        "source": result.source,
        "metric": result.metric,
        "correction": result.analysis.correction,
        "modes": data.modes,
        "energy_sources": data.energy_sources,
        "energy_estimate": data.energy_is_estimate,
        "cells": cells,
        "comparisons": comparisons,
        "scaling": [asdict(c) for c in result.curves],
        "energy_time": asdict(result.energy_time),
        "context": asdict(result.context),
        "findings": findings_json,
        "findings_by_host": {host_name: findings_json},
        "idle_baselines": [asdict(b) for b in result.idle],
        "run_quality": result.quality.to_json() if result.quality is not None else None,
        "excluded": [
            {
                "run_key": r.run_key,
                "block": r.block,
                "mode": r.mode,
                "workload": r.workload,
                "workers": r.workers,
                "status": r.status,
                "run_id": r.run_id,
                "reason": r.exclusion,
            }
            for r in data.excluded
        ],
    }


def render_json(result: CompareResult) -> str:
    return dumps_clean(to_json_dict(result))


def dumps_clean(doc: dict[str, Any]) -> str:
    """Indented JSON with non-finite floats as null."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return _clean(value)

    return json.dumps(walk(doc), indent=2, ensure_ascii=False) + "\n"


def render(result: CompareResult, fmt: str) -> str:
    if fmt == "text":
        return render_text(result)
    if fmt == "markdown":
        return render_markdown(result)
    if fmt == "csv":
        return render_csv(result)
    if fmt == "json":
        return render_json(result)
    raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
