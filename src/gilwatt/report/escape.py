"""Escaping for everything that goes into a report.

Every string that comes from the user or the target (command lines, labels, region names,
attributes, output) passes through :func:`text` or :func:`attr` before it reaches HTML or SVG,
and every JSON payload passes through :func:`script_json` before it goes inside ``<script>``.
"""

from __future__ import annotations

import json
import math
from typing import Any

_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
# Inside <script> the HTML parser ends the element at "</script", and "<!--" switches it into
# an escaped state; U+2028/2029 end a line in older JS engines. JSON allows \uXXXX everywhere.
_SCRIPT = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _clean(value: object) -> str:
    s = value if isinstance(value, str) else str(value)
    # Lone surrogates (from undecodable target output) cannot be encoded as UTF-8.
    return s.encode("utf-8", "replace").decode("utf-8") if not s.isascii() else s


def text(value: object) -> str:
    """Escape for HTML/SVG text content."""
    return _clean(value).translate(_TEXT)


def attr(value: object) -> str:
    """Escape for a double- or single-quoted HTML/SVG attribute value."""
    return _clean(value).translate(_ATTR)


def _finite(obj: Any) -> Any:
    # JSON has no NaN/Infinity; the page reads null as "no value".
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def script_json(obj: Any) -> str:
    """JSON that is safe to place between ``<script type="application/json">`` tags."""
    raw = json.dumps(_finite(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _clean(raw).translate(_SCRIPT)
