"""The advice section renders from the recorded advice alone, escaped."""

from __future__ import annotations

from gilwatt.report.advice_section import advice_section

XSS = "<script>alert(1)</script>"


def test_not_an_advise_study_gives_nothing() -> None:
    assert advice_section({"workloads": {}}) == ""


def test_verdict_candidates_and_readiness_are_shown_and_escaped() -> None:
    spec = {
        "advice": {
            "schema": 1,
            "advice": {"mode": "ft", "workers": 2, "parallelism": "threads", "confidence": "high",
                       "confidence_share": 0.97, "reason": XSS, "command": "python x.py 2"},
            "candidates": [
                {"key": "gil threads=1", "mode": "gil", "workers": 1, "parallelism": "threads",
                 "time_s": 1.0, "ratio_vs_best": 1.6, "runs": 3, "valid_runs": 3},
                {"key": "ft threads=2", "mode": "ft", "workers": 2, "parallelism": "threads",
                 "time_s": 0.62, "ratio_vs_best": 1.0, "runs": 3, "valid_runs": 3},
            ],
            "readiness": {"findings": [{"topic": "gil", "level": "blocker", "text": XSS, "fix": "f"}]},
            "why": ["effective parallelism 1.9"],
            "not_measured": ["more cores: an EXTRAPOLATION"],
        }
    }  # fmt: skip
    html = advice_section(spec)
    assert "Run the free-threaded build with 2 threads" in html
    assert "confidence high (97% of re-draws)" in html
    assert XSS not in html and "&lt;script&gt;" in html
    assert html.count("<tr>") == 3 and "advised" in html
    assert "EXTRAPOLATION" in html


def test_one_worker_is_singular_and_no_advice_says_why() -> None:
    one = {"advice": {"advice": {"mode": "gil", "workers": 1, "parallelism": "threads",
                                 "confidence": "low"}}}  # fmt: skip
    assert "with 1 thread<" in advice_section(one)
    none = advice_section({"advice": {"advice": None, "stopped": "the program fails"}})
    assert "No advice: the program fails" in none
