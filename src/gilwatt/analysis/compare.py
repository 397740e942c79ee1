"""Cells, per-mode summaries and paired ratios between modes, with corrected verdicts.

A cell is (workload, params, workers). For every cell and mode: the median and spread of each
metric over its valid runs. For every cell and pair of modes (ft vs gil, ft-gil vs gil, ft vs
ft-gil, when present) and each ratio metric: ratios paired per block, summarised by
:func:`gilwatt.analysis.stats.ratio_estimate`. A block where only one side has a valid value
gives no pair; it is dropped and counted. The p-values of one family -- every cell of one
(mode pair, metric) -- are Holm-adjusted (or Benjamini-Hochberg on request) before the
verdict.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from gilwatt.analysis import stats
from gilwatt.analysis.dataset import MODE_ORDER, RunRecord, StudyData
from gilwatt.analysis.metrics import METRICS, RATIO_COLUMNS

FAMILY_ORDER = (
    "sequential",
    "numpy",
    "threaded-numerical",
    "read-only",
    "executors",
    "threaded-objects",
    "shared-state",
    "mixed-io",
    "user",
    "other",
)
# (mode, baseline) in display order; only pairs whose both modes appear are compared
MODE_PAIRS: tuple[tuple[str, str], ...] = (("ft", "gil"), ("ft-gil", "gil"), ("ft", "ft-gil"))


@dataclass(frozen=True, order=True)
class Cell:
    family_rank: int
    family: str
    workload: str
    params_json: str
    workers: int

    @property
    def params_label(self) -> str:
        """``n=500 size=3``; empty for no parameters."""
        try:
            params = json.loads(self.params_json)
        except ValueError:
            return self.params_json
        if not isinstance(params, dict):
            return str(params)
        return " ".join(f"{k}={v}" for k, v in params.items())

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.workload, self.params_json, self.workers)


def make_cell(run: RunRecord) -> Cell:
    rank = FAMILY_ORDER.index(run.family) if run.family in FAMILY_ORDER else len(FAMILY_ORDER)
    return Cell(rank, run.family, run.workload, run.params_json, run.workers)


@dataclass
class CellStats:
    cell: Cell
    summaries: dict[str, dict[str, stats.Summary | None]]  # mode -> metric -> summary
    valid: dict[str, int]  # mode -> valid runs
    planned: dict[str, int]  # mode -> planned runs (any status)


@dataclass
class Comparison:
    """One cell, one (mode / baseline) pair, one metric."""

    cell: Cell
    mode: str
    base: str
    metric: str
    estimate: stats.RatioEstimate | None
    unpaired: int  # blocks where only one side had a valid value
    ratios: dict[int, float] = field(default_factory=dict)  # block -> paired ratio
    adjusted_p: float | None = None
    direction: int | None = None  # stats.LOWER / NO_DIFFERENCE / HIGHER; None: cannot tell

    @property
    def verdict(self) -> str:
        spec = METRICS[self.metric]
        if self.direction is None:
            if self.estimate is None:
                return "cannot tell: no pair"
            return f"cannot tell: {self.estimate.n} pair" + ("s" if self.estimate.n != 1 else "")
        if self.direction == stats.NO_DIFFERENCE:
            return "no detectable difference"
        return spec.lower if self.direction == stats.LOWER else spec.higher


@dataclass
class StudyAnalysis:
    data: StudyData
    cells: list[CellStats]
    comparisons: list[Comparison]
    pairs: list[tuple[str, str]]
    correction: str  # "holm" | "bh"
    _index: dict[tuple[tuple[str, str, int], str, str, str], Comparison] = field(
        default_factory=dict
    )

    def get(self, cell: Cell, mode: str, base: str, metric: str) -> Comparison | None:
        if not self._index:
            self._index = {(c.cell.key, c.mode, c.base, c.metric): c for c in self.comparisons}
        return self._index.get((cell.key, mode, base, metric))

    def families(self) -> list[str]:
        seen: list[str] = []
        for cs in self.cells:
            if cs.cell.family not in seen:
                seen.append(cs.cell.family)
        return seen


def _by_block(runs: Iterable[RunRecord], metric: str) -> dict[int, float]:
    """Block -> value; several valid runs of one block (not planned, but possible) -> median."""
    values: dict[int, list[float]] = defaultdict(list)
    for run in runs:
        value = run.metrics.get(metric)
        if run.valid and value is not None:
            values[run.block].append(value)
    return {block: float(np.median(v)) for block, v in values.items()}


def paired_ratios(
    mode_values: dict[int, float], base_values: dict[int, float]
) -> tuple[dict[int, float], int]:
    """Block -> mode/base for blocks present on both sides, and the count of unpaired blocks."""
    common = sorted(set(mode_values) & set(base_values))
    unpaired = len(set(mode_values) ^ set(base_values))
    ratios = {
        b: mode_values[b] / base_values[b] if base_values[b] != 0 else float("nan") for b in common
    }
    return ratios, unpaired


def analyse(
    data: StudyData,
    *,
    metrics: Iterable[str] = RATIO_COLUMNS,
    correction: str = "holm",
    confidence: float = stats.CONFIDENCE,
    n_resamples: int = stats.BOOTSTRAP_RESAMPLES,
    alpha: float = stats.ALPHA,
) -> StudyAnalysis:
    """Per-cell summaries and every paired comparison of ``data``."""
    if correction not in ("holm", "bh"):
        raise ValueError(f"unknown correction {correction!r}")
    metric_list = list(metrics)
    if metric_list and not set(metric_list) <= set(METRICS):
        raise ValueError(f"unknown metrics {sorted(set(metric_list) - set(METRICS))}")
    grouped: dict[Cell, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for run in data.runs:
        grouped[make_cell(run)][run.mode].append(run)
    modes = data.modes
    pairs = [(m, b) for m, b in MODE_PAIRS if m in modes and b in modes]
    cells: list[CellStats] = []
    comparisons: list[Comparison] = []
    for cell in sorted(grouped):
        by_mode = grouped[cell]
        summaries = {
            mode: {
                key: stats.summarize([r.metrics.get(key) for r in runs if r.valid])
                for key in METRICS
            }
            for mode, runs in by_mode.items()
        }
        cells.append(
            CellStats(
                cell=cell,
                summaries=summaries,
                valid={m: sum(r.valid for r in runs) for m, runs in by_mode.items()},
                planned={m: len(runs) for m, runs in by_mode.items()},
            )
        )
        for mode, base in pairs:
            if mode not in by_mode or base not in by_mode:
                continue
            for metric in metric_list:
                ratios, unpaired = paired_ratios(
                    _by_block(by_mode[mode], metric), _by_block(by_mode[base], metric)
                )
                estimate = stats.ratio_estimate(
                    list(ratios.values()),
                    dropped=unpaired,
                    confidence=confidence,
                    n_resamples=n_resamples,
                )
                comparisons.append(Comparison(cell, mode, base, metric, estimate, unpaired, ratios))
    _judge(comparisons, correction, alpha)
    return StudyAnalysis(
        data=data, cells=cells, comparisons=comparisons, pairs=pairs, correction=correction
    )


def _judge(comparisons: list[Comparison], correction: str, alpha: float) -> None:
    """Adjust p-values within each (mode, base, metric) family, then set directions."""
    families: dict[tuple[str, str, str], list[Comparison]] = defaultdict(list)
    for comp in comparisons:
        families[(comp.mode, comp.base, comp.metric)].append(comp)
    adjust = stats.holm if correction == "holm" else stats.benjamini_hochberg
    for members in families.values():
        raw = [c.estimate.p_value if c.estimate is not None else None for c in members]
        for comp, adjusted in zip(members, adjust(raw), strict=True):
            comp.adjusted_p = adjusted
            comp.direction = stats.direction(comp.estimate, adjusted, alpha)


def ordered_modes(modes: Iterable[str]) -> list[str]:
    present = set(modes)
    return [m for m in MODE_ORDER if m in present] + sorted(present - set(MODE_ORDER))
