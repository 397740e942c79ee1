"""One way to print and parse a value: the terminal, the tables and the report agree."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from gilwatt.analysis import tables
from gilwatt.errors import ConfigError
from gilwatt.report import fmt
from gilwatt.report.api import write_run_report
from gilwatt.store import Store
from gilwatt.store.synthetic import write_run
from gilwatt.summary import format_summary, joules, seconds, size
from gilwatt.units import (
    MISSING,
    format_bytes,
    format_duration_ns,
    format_energy_uj,
    format_ratio,
    parse_duration_ns,
)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (150e9, "2 min 30 s"),
        (7265e9, "2 h 01 min"),
        (1.5e9, "1.500 s"),
        (1.5e6, "1.50 ms"),
        (250e3, "250.0 µs"),
        (None, MISSING),
    ],
)
def test_durations_print_one_way(ns: float | None, text: str) -> None:
    assert format_duration_ns(ns) == text
    assert seconds(ns) == text  # the terminal summary
    assert fmt.duration_ns(ns) == text  # the HTML report


@pytest.mark.parametrize(
    ("value", "size_text", "energy_text", "ratio_text"),
    [
        (1536, "1.5 KiB", "0.00154 J", "1536.0×"),
        (3 << 30, "3.0 GiB", "3.22 kJ", "3221225472.0×"),
        (512, "512 B", "0.000512 J", "512.0×"),
        (None, MISSING, MISSING, MISSING),
    ],
)
def test_sizes_energies_ratios_and_missing_values_print_one_way(
    value: float | None, size_text: str, energy_text: str, ratio_text: str
) -> None:
    assert size(value) == fmt.bytes_(value) == format_bytes(value) == size_text
    assert joules(value) == fmt.energy_uj(value) == format_energy_uj(value) == energy_text
    assert fmt.ratio(value) == format_ratio(value) == ratio_text
    assert tables.num(None) == MISSING  # the compare tables' missing cell


def test_ratio_digits() -> None:
    assert format_ratio(1.7291) == "1.73×" and format_ratio(12.34) == "12.3×"
    assert format_ratio(float("nan")) == MISSING


def test_the_terminal_summary_and_the_report_print_the_same_strings(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store.open(db) as store:
        made = write_run(store, samples=15_000, util=1.5)  # 150 s at 10 ms
        info = store.run_info(made.run_id)
        summary = store.summary(made.run_id)
        timeline = store.timeline(made.run_id)
    terminal = "\n".join(format_summary(info, summary, timeline))
    report = write_run_report(db, made.run_id, tmp_path / "r.html")
    page = unescape(re.sub(r"<[^>]+>", " ", report.read_text(encoding="utf-8")))
    shown = {
        "wall": format_duration_ns(summary.wall_ns),
        "peak RSS": format_bytes(summary.peak_rss_bytes),
        "energy": format_energy_uj(summary.energy_uj),
        "region wall": format_duration_ns(summary.regions[0].wall_ns),
    }
    assert shown["wall"].endswith(" s") and " min " in shown["wall"]  # the long form is used
    for what, text in shown.items():
        assert text in terminal, (what, text)
        assert text in page, (what, text)


@pytest.mark.parametrize(
    ("text", "kwargs", "ns"),
    [
        ("1min", {}, 60 * 10**9),
        ("2m", {}, 120 * 10**9),
        ("1.5", {}, 1_500_000_000),
        ("250us", {}, 250_000),
        ("250µs", {}, 250_000),
        ("100hz", {"rates": True}, 10_000_000),
        ("1kHz", {"rates": True}, 1_000_000),
        ("0", {"allow_zero": True}, 0),
        ("0s", {"allow_zero": True}, 0),
        (0.5, {}, 500_000_000),
        (2, {}, 2 * 10**9),
    ],
)
def test_one_duration_grammar(text: object, kwargs: dict[str, bool], ns: int) -> None:
    assert parse_duration_ns(text, "--x", **kwargs) == ns


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("0", {}, "--x ('0') must be more than zero"),
        ("100hz", {}, "--x ('100hz'): not a duration"),
        ("0hz", {"rates": True}, "not a duration"),
        (-1, {"allow_zero": True}, "--x (-1) must be zero or more"),
        ("-1s", {}, "not a duration"),
        ("fast", {}, "not a duration"),
        (True, {}, "not a duration"),
        ("1 fortnight", {}, "not a duration"),
    ],
)
def test_bad_durations_name_the_option(text: object, kwargs: dict[str, bool], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_duration_ns(text, "--x", **kwargs)
