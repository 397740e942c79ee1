"""Library entry points: read a store, render a page, write one HTML file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gilwatt.errors import ConfigError, StoreError
from gilwatt.readback import Region, RunInfo, RunSummary, Timeline

if TYPE_CHECKING:
    from gilwatt.analysis.result import StudyResult
    from gilwatt.store import Store

PathLike = str | os.PathLike[str]


def render_run_report(
    info: RunInfo,
    timeline: Timeline,
    regions: list[Region],
    summary: RunSummary | None = None,
    outputs: Mapping[str, bytes] | None = None,
) -> str:
    """The HTML of one run's report, from records (no store needed)."""
    from gilwatt.report.run_page import render_run_page

    return render_run_page(info, timeline, regions, summary, outputs)


def render_study_report(view: StudyResult) -> str:
    """The HTML of a study report, from a :class:`~gilwatt.analysis.result.StudyResult`."""
    from gilwatt.report.study_page import render_study_page

    return render_study_page(view)


def write_run_report(store_path: PathLike, run_id: int | None, out_path: PathLike) -> Path:
    """Write the report of run ``run_id`` (the newest run when None) to ``out_path``."""
    from gilwatt.report.html import check_writable, write_html

    check_writable(out_path)
    with open_store(store_path) as store:
        if run_id is None:
            runs = store.runs()
            if not runs:
                raise _no_runs(store_path)
            run_id = max(r.run_id for r in runs)
        info = store.run_info(run_id)
        timeline = store.timeline(run_id)
        regions = store.regions(run_id)
        try:
            summary: RunSummary | None = store.summary(run_id)
        except StoreError:
            summary = None  # a run that never finished still gets its timelines
        outputs = {stream: store.output(run_id, stream) for stream in ("stdout", "stderr")}
    html = render_run_report(info, timeline, regions, summary, outputs)
    return write_html(out_path, html)


def write_study_report(
    store_path: PathLike, out_path: PathLike, study_id: int | None = None
) -> Path:
    """Write the report of study ``study_id`` (the newest study when None) to ``out_path``."""
    from gilwatt.report.html import check_writable, write_html

    check_writable(out_path)
    return write_html(out_path, render_study_report(_analyse(store_path, study_id)))


def open_store(store_path: PathLike) -> Store:
    """Open an existing store for reading; a missing file is the user's to fix (exit 2)."""
    from gilwatt.store import Store

    path = Path(store_path)
    if not path.is_file():
        raise ConfigError(
            f"store not found ({path}).",
            hint="Give the file written by 'gilwatt profile -o' or 'gilwatt study -o'.",
        )
    return Store.open(path, create=False)


def _no_runs(store_path: PathLike) -> ConfigError:
    return ConfigError(
        f"store has no runs ({store_path}).",
        hint="Record one first with 'gilwatt profile -o STORE -- COMMAND'.",
    )


def has_study(store_path: PathLike) -> bool:
    """Whether the store holds at least one study (then a report is a study report)."""
    with open_store(store_path) as store:
        return store.has_studies()


def write_figure(
    store_path: PathLike,
    kind: str,
    out_path: PathLike,
    *,
    run_id: int | None = None,
    study_id: int | None = None,
) -> Path:
    """Write one figure (``kind`` in figures.KINDS) as SVG, PNG or PDF, chosen by the suffix."""
    from gilwatt.errors import UnknownNameError
    from gilwatt.report import figures
    from gilwatt.report.html import check_writable

    if kind not in figures.KINDS:
        raise UnknownNameError("figure kind", kind, figures.KINDS)
    figures.require_matplotlib()
    figures.figure_format(out_path)
    check_writable(out_path)
    with open_store(store_path) as store:
        if kind == "timeline":
            if run_id is None:
                ids = store.run_ids()
                if not ids:
                    raise _no_runs(store_path)
                run_id = ids[-1]
            fig = figures.timeline_figure(
                store.run_info(run_id), store.timeline(run_id), store.regions(run_id)
            )
        else:
            make = {
                "scaling": figures.scaling_figure,
                "ratios": figures.ratios_figure,
                "energy-time": figures.energy_time_figure,
            }[kind]
            fig = make(_analyse(store_path, study_id, store))
    return figures.save(fig, out_path)


def _analyse(store_path: PathLike, study_id: int | None, store: Store | None = None) -> StudyResult:
    """The one analysis of study ``study_id`` (the newest when None) that every view draws."""
    from gilwatt.analysis.result import analyse_study

    if store is None:
        with open_store(store_path) as opened:
            return _analyse(store_path, study_id, opened)
    result = analyse_study(store, study_id)
    result.source = str(store_path)
    return result
