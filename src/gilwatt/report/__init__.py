"""Self-contained HTML reports of a run or a study, and figures for papers.

``write_run_report`` and ``write_study_report`` are what ``gilwatt profile``, ``gilwatt study``
and ``gilwatt report`` call. The page renderers take records, so they can be used (and
tested) without a store.
"""

from __future__ import annotations

from gilwatt.report.api import (
    render_run_report,
    render_study_report,
    write_figure,
    write_run_report,
    write_study_report,
)

__all__ = [
    "render_run_report",
    "render_study_report",
    "write_figure",
    "write_run_report",
    "write_study_report",
]
