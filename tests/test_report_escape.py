"""Escaping of every string that reaches the report's HTML, SVG or embedded JSON."""

from __future__ import annotations

import json
import math

import pytest

from gilwatt.report import escape

HOSTILE = [
    "<script>alert(1)</script>",
    "</script><script>x()</script>",
    "a & b",
    "\"q\" 's'",
    "<!-- c -->",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_text_and_attr_leave_no_markup(value: str) -> None:
    for out in (escape.text(value), escape.attr(value)):
        assert "<" not in out and ">" not in out
    assert '"' not in escape.attr(value) and "'" not in escape.attr(value)


def test_text_escapes_ampersand_first() -> None:
    assert escape.text("&lt;") == "&amp;lt;"


def test_script_json_cannot_close_the_script_element() -> None:
    obj = {
        "name": "</script><script>alert(1)</script>",
        "sep": "\u2028\u2029",
        "amp": "&",
        "c": "<!--",
    }
    out = escape.script_json(obj)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in out
    assert json.loads(out) == obj


def test_script_json_writes_non_finite_numbers_as_null() -> None:
    out = escape.script_json({"a": [1.0, math.nan, math.inf, -math.inf]})
    assert json.loads(out) == {"a": [1.0, None, None, None]}


def test_lone_surrogates_from_undecodable_output_do_not_break_encoding() -> None:
    bad = b"ok \xff\xfe".decode("utf-8", "surrogateescape")
    for out in (escape.text(bad), escape.attr(bad), escape.script_json([bad])):
        out.encode("utf-8")  # must not raise
