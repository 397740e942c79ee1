"""Page assembly: one self-contained HTML file with its style, script and data inline.

The page loads nothing: a Content-Security-Policy forbids every fetch, and allows only the
one inline script whose hash it names, so even markup that slipped past escaping could not
run a script or load a resource.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gilwatt import __version__
from gilwatt.errors import ConfigError
from gilwatt.report import escape
from gilwatt.report.svg import XYChart


def asset(name: str) -> str:
    return (resources.files("gilwatt.report") / "assets" / name).read_text(encoding="utf-8")


@dataclass
class Page:
    """A report page being built: HTML fragments plus the hover data of its charts."""

    title: str
    kind: str  # run | study
    parts: list[str] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    _ids: dict[str, int] = field(default_factory=dict)

    def new_id(self, *parts: str) -> str:
        """A unique element id made readable from ``parts``: ``forest-threaded-objects``."""
        words = "".join(ch if ch.isalnum() else "-" for ch in "-".join(parts).lower())
        base = "-".join(w for w in words.split("-") if w)[:60] or "chart"
        count = self._ids.get(base, 0) + 1
        self._ids[base] = count
        return base if count == 1 else f"{base}-{count}"

    def add(self, html: str) -> None:
        self.parts.append(html)

    def figure(
        self,
        chart: XYChart,
        title: str,
        legend: list[tuple[str, str, str]] | None = None,
        note: str = "",
    ) -> None:
        """Add a chart with its caption; ``legend`` is (label, colour, style) and ``note`` is
        already-escaped HTML shown under the caption."""
        self.add(figure_html(chart.render(), title, legend, note, chart.chart_id))
        self.charts.append(chart.hover_data())

    def render(self) -> str:
        script = asset("report.js")
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        csp = (
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
        )
        generated = dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        data = escape.script_json({"kind": self.kind, "charts": self.charts})
        return "".join(
            [
                '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
                f'<meta http-equiv="Content-Security-Policy" content="{escape.attr(csp)}">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                '<meta name="generator" content="gilwatt">',
                f"<title>{escape.text(self.title)}</title>",
                f"<style>{asset('report.css')}</style></head>",
                f'<body class="kind-{escape.attr(self.kind)}"><main>',
                *self.parts,
                "</main>",
                f"<footer>Written by gilwatt {escape.text(__version__)} on {generated}. "
                "This file is self-contained: it loads nothing from the network.</footer>",
                '<div id="gw-tip" role="tooltip" hidden></div>',
                f'<script type="application/json" id="gw-data">{data}</script>',
                f"<script>{script}</script>",
                "</body></html>\n",
            ]
        )


def figure_html(
    svg: str, title: str, legend: list[tuple[str, str, str]] | None, note: str, chart_id: str
) -> str:
    items = "".join(
        f'<span class="key"><i class="sw sw-{escape.attr(style)}" style="--c:{escape.attr(color)}"></i>'
        f"{escape.text(label)}</span>"
        for label, color, style in (legend or [])
    )
    legend_html = f'<div class="legend">{items}</div>' if items else ""
    note_html = f'<div class="note">{note}</div>' if note else ""
    return (
        f'<figure class="chart" data-chart="{escape.attr(chart_id)}">'
        f'<figcaption><span class="title">{escape.text(title)}</span>{legend_html}{note_html}</figcaption>'
        f"{svg}</figure>"
    )


def table(
    headers: list[str], rows: list[list[str]], cls: str = "", row_attrs: list[str] | None = None
) -> str:
    """An HTML table; ``rows`` hold already-escaped cell HTML."""
    head = "".join(f"<th>{escape.text(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        extra = row_attrs[i] if row_attrs else ""
        body.append(f"<tr{extra}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return f'<table class="{escape.attr(cls)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def definition_list(items: list[tuple[str, str]]) -> str:
    """A metadata list; values are already-escaped HTML."""
    return (
        '<dl class="meta">'
        + "".join(f"<dt>{escape.text(k)}</dt><dd>{v}</dd>" for k, v in items)
        + "</dl>"
    )


def check_writable(out_path: str | os.PathLike[str]) -> Path:
    """Fail before any work if the report could not be written to ``out_path``."""
    path = Path(out_path)
    parent = path.parent if str(path.parent) else Path(".")
    why = None
    if path.is_dir():
        why = "it is a directory"
    elif not parent.is_dir():
        why = f"directory {parent} does not exist"
    elif not os.access(parent, os.W_OK | os.X_OK):
        why = f"directory {parent} is not writable"
    elif path.exists() and not os.access(path, os.W_OK):
        why = "the file is not writable"
    if why:
        raise ConfigError(
            f"cannot write report ({path}): {why}.", hint="Choose a writable path with -o."
        )
    return path


def write_html(out_path: str | os.PathLike[str], text: str) -> Path:
    """Write the page atomically (temp file + rename), translating OS errors once."""
    path = check_writable(out_path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gilwatt-report-", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise ConfigError(
            f"cannot write report ({path}): {exc.strerror or exc}.",
            hint="Choose a writable path with -o.",
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(
            f"cannot write report ({path}): {exc.strerror or exc}.",
            hint="Choose a writable path with -o.",
        ) from exc
    return path
