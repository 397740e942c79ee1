"""Sizes calibrated to the host: a suite sized on one machine fits another's budget.

The same quick suite takes 15-80 s per object_lists_nocopy run on a host about 3x slower per
core than the one it was sized on, so a fixed suite does not fit a time budget. With
``reps = "auto"``, a budget and calibration on (``--no-calibrate`` turns it off), after the
first replicate each workload's block (its cells' runs in every mode, back to back) is set
against its share of the budget: the budget over the cells of the study and the replicates
before the first look. A workload whose slowest cell's block took more than 3x its share has
its size parameter scaled so the work halves 1-3 times (enough to bring the block near its
share), by the workload's own scaling: n, n^2 or n^3 in the size (``SCALING``), so
``bubble_sort`` (n^2) at ``num_items = 6000`` halved 3 times is ``6000 / 2^1.5 = 2100``
(two significant digits).

What was calibrated is recorded in the study's spec JSON (``calibration``), so a resumed
study plans the calibrated cells; the old-size runs keep their measurements with status
``calibration`` (left out of the analysis), and the calibrated cells run in replicate 1 again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gilwatt.store.studies import StudyRunRow
from gilwatt.study.ledger import Ledger
from gilwatt.study.matrix import SENTINEL_SUFFIX, Cell, PlannedRun, replicate
from gilwatt.study.resolve import ResolvedStudy
from gilwatt.study.sequential import FIRST_LOOK

OVER_SHARE = 3.0  # a block above this many shares is calibrated
MAX_HALVINGS = 3
STATUS = "calibration"

# workload -> (its size parameter, the exponent of the work in it)
SCALING: dict[str, tuple[str, int]] = {
    "numpy_vectorized": ("length", 1),
    "numpy_blas": ("size", 3),
    "numpy_fft": ("length", 1),
    "mandelbrot": ("size", 2),
    "bubble_sort": ("num_items", 2),
    "prime_sieve": ("limit", 1),
    "factorial": ("max_value", 2),
    "matmul": ("matrix_size", 3),
    "nbody": ("num_particles", 2),
    "json_parse": ("num_records", 1),
    "object_lists_nocopy": ("num_records", 1),
    "object_lists_copy": ("num_records", 1),
    "object_lists": ("num_records", 1),
    "shared_state": ("num_items", 1),
}


@dataclass(frozen=True)
class Calibration:
    """One workload's size, scaled: ``param`` from ``before`` to ``after``."""

    workload: str
    param: str
    before: int
    after: int
    halvings: int
    block_s: float  # the slowest cell's first-replicate block
    share_s: float  # a cell's share of the budget per replicate

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "param": self.param,
            "before": self.before,
            "after": self.after,
            "halvings": self.halvings,
            "block_s": round(self.block_s, 3),
            "share_s": round(self.share_s, 3),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Calibration:
        return cls(
            str(doc["workload"]), str(doc["param"]), int(doc["before"]), int(doc["after"]),
            int(doc["halvings"]), float(doc["block_s"]), float(doc["share_s"]),
        )  # fmt: skip

    def describe(self) -> str:
        return (
            f"{self.workload}: {self.param} {self.before} -> {self.after} (work halved "
            f"{self.halvings}x: a block took {self.block_s:.1f} s, its share of the budget "
            f"{self.share_s:.1f} s)"
        )


def share_s(budget_s: float, cells: int) -> float:
    """A cell's share of the budget in each of the replicates before the first look."""
    return budget_s / max(1, cells) / FIRST_LOOK


def halvings(block_s: float, share: float) -> int:
    """How often to halve the work (0: the block fits 3 shares)."""
    if share <= 0 or block_s <= OVER_SHARE * share:
        return 0
    return min(MAX_HALVINGS, max(1, math.ceil(math.log2(block_s / share))))


def scaled(value: int, exponent: int, times: int) -> int:
    """``value`` with its work halved ``times`` times, to two significant digits (>= 1)."""
    exact = value * 2.0 ** (-times / exponent)
    digits: int = max(0, math.floor(math.log10(exact)) - 1) if exact >= 1 else 0
    step: int = 10**digits
    return max(1, int(exact / step + 0.5) * step)


def decide(
    block_s: Mapping[Cell, float], cells: Sequence[Cell], budget_s: float
) -> list[Calibration]:
    """The calibrations the first replicate's blocks (cell -> seconds) call for."""
    share = share_s(budget_s, len(cells))
    slowest: dict[str, tuple[float, Cell]] = {}
    for cell, seconds in block_s.items():
        if cell.workload in SCALING and seconds > slowest.get(cell.workload, (-1.0, cell))[0]:
            slowest[cell.workload] = (seconds, cell)
    out = []
    for workload, (seconds, cell) in sorted(slowest.items()):
        param, exponent = SCALING[workload]
        value = cell.params.get(param)
        times = halvings(seconds, share)
        if not times or not isinstance(value, int) or isinstance(value, bool):
            continue
        after = scaled(value, exponent, times)
        if after < value:
            out.append(Calibration(workload, param, value, after, times, seconds, share))
    return out


def recorded(spec: Mapping[str, Any]) -> list[Calibration]:
    found = spec.get("calibration")
    if not isinstance(found, list):
        return []
    out = []
    for doc in found:
        try:
            out.append(Calibration.from_json(doc))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def record(spec: Mapping[str, Any], calibrations: Iterable[Calibration]) -> dict[str, Any]:
    doc = dict(spec)
    doc["calibration"] = [*spec.get("calibration", []), *(c.to_json() for c in calibrations)]
    return doc


def apply(cells: Sequence[Cell], calibrations: Iterable[Calibration]) -> tuple[Cell, ...]:
    """The cells with each calibrated workload's size in place of the old one."""
    by_workload = {c.workload: c for c in calibrations}
    out = []
    for cell in cells:
        found = by_workload.get(cell.workload)
        params = cell.params
        if found is not None and params.get(found.param) == found.before:
            cell = Cell.of(cell.workload, {**params, found.param: found.after}, cell.workers)
        out.append(cell)
    return tuple(dict.fromkeys(out))


def retired(rows: Iterable[StudyRunRow], calibrations: Iterable[Calibration]) -> list[str]:
    """Run keys of the old-size cells' runs (measured, pending or warm-up)."""
    old = {(c.workload, c.param, c.before) for c in calibrations}
    out = []
    for row in rows:
        if row.run_key.endswith(SENTINEL_SUFFIX) or row.status == STATUS:
            continue
        try:
            params = json.loads(row.params_json or "{}")
        except ValueError:
            continue
        if any(w == row.workload and params.get(p) == v for w, p, v in old):
            out.append(row.run_key)
    return out


def replanned(
    cells: Sequence[Cell],
    modes: Sequence[str],
    seed: int,
    blocks: int,
    known: set[str],
    block1_after: int,
    *,
    priming: bool,
    sentinel: bool,
) -> list[PlannedRun]:
    """The runs the calibrated cells add to replicates 1..``blocks`` (what ``known`` does not
    hold); in replicate 1, which has run, they come after position ``block1_after``."""
    out = []
    for block in range(1, blocks + 1):
        runs = replicate(cells, modes, seed, block, priming=priming, sentinel=sentinel)
        fresh = [r for r in runs if r.run_key not in known]
        if block == 1:
            fresh = [replace(r, position=block1_after + 1 + i) for i, r in enumerate(fresh)]
        out += fresh
    return out


@dataclass(frozen=True)
class Replan:
    """What calibration changed: the calibrations, the study's cells as calibrated, the
    old-size runs retired (status ``calibration``) and the runs added."""

    calibrations: list[Calibration]
    cells: tuple[Cell, ...]
    gone: set[str]
    runs: list[PlannedRun]


def after_first_replicate(
    ledger: Ledger,
    study_id: int,
    study: ResolvedStudy,
    block_s: Mapping[Cell, float],
    blocks: int,
    executable_of: Callable[[str], str],
) -> Replan | None:
    """Decide the calibration once (recorded in the spec, even when nothing changes) from
    replicate 1's blocks, retire the old-size runs and plan the new ones in the ledger.
    None: nothing changed, decided earlier, or replicate 1 ran in an earlier session."""
    doc = ledger.study(study_id).spec
    if "calibration" in doc or not block_s:
        return None
    spec = study.spec
    found = decide(block_s, study.cells, spec.budget_ns / 1e9)
    ledger.update_spec(study_id, record(doc, found))
    if not found:
        return None
    rows = ledger.rows(study_id)
    gone = set(retired(rows, found))
    for key in gone:
        ledger.set_status(study_id, key, STATUS, "old size: calibrated to the budget")
    cells = apply(study.cells, found)
    after = max((r.position for r in rows if r.block == 1), default=0)
    runs = replanned(
        cells, spec.modes, spec.seed, blocks, {r.run_key for r in rows}, after,
        priming=spec.priming, sentinel=spec.sentinel,
    )  # fmt: skip
    ledger.plan(study_id, runs, executable_of)
    return Replan(found, cells, gone, runs)
