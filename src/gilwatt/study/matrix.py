"""The study matrix: cells, and the order they run in (replicates of small blocks).

A *cell* is one workload with concrete parameters and a worker count. A *block* is one cell's
modes run back to back in a shuffled order, so the runs a ratio pairs are seconds apart, not
minutes. A *replicate* runs every cell's block once, the cells shuffled, after one discarded
*priming* run per interpreter. Both shuffles use a seed derived from the study seed and the
replicate number, so any replicate's order can be rebuilt from the study seed alone. (The
store's ``block`` column holds the replicate number: it is what a cell's modes pair by.)
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gilwatt.modes import interpreter_slot

BLOCK_SEED_RULE = "int.from_bytes(sha256(f'gilwatt-block:{seed}:{block}').digest()[:8], 'big')"
ORDER_RULE = (
    "random.Random(replicate seed): shuffle the sorted cells, then each cell's sorted modes;"
    " priming runs first: the first cell's first mode on each interpreter"
)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True, order=True)
class Cell:
    """One workload with concrete parameters and a worker count."""

    workload: str
    params_json: str  # canonical_json of the parameters (without workers)
    workers: int

    @classmethod
    def of(cls, workload: str, params: Mapping[str, Any], workers: int) -> Cell:
        return cls(workload, canonical_json(dict(params)), workers)

    @property
    def params(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.params_json)
        return loaded

    @property
    def key(self) -> str:
        """``sum_squares{"n":1000}/w2``: readable and stable."""
        return f"{self.workload}{self.params_json}/w{self.workers}"

    def label(self) -> str:
        """``sum_squares n=1000 w=2`` for progress lines."""
        shown = " ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.workload} {shown} w={self.workers}".replace("  ", " ")


@dataclass(frozen=True)
class PlannedRun:
    """One process launch of the study: a (cell, mode) in a replicate at a position."""

    cell: Cell
    mode: str
    block: int  # the replicate, 1-based
    position: int  # 0-based order inside the replicate
    priming: bool = False  # a discarded warm-up run of the mode's interpreter
    sentinel: bool = False  # the fixed-work run that shows drift over replicates
    attempt: int = 0  # > 0: a rerun of a disturbed run

    @property
    def cell_key(self) -> str:
        return f"{self.cell.key}/{self.mode}"

    @property
    def run_key(self) -> str:
        """Stable identity of (workload, params, workers, mode, replicate[, priming][, rerun])."""
        key = run_key(self.cell, self.mode, self.block)
        key = f"{key}{PRIMING_SUFFIX}" if self.priming else key
        key = f"{key}{SENTINEL_SUFFIX}" if self.sentinel else key
        return f"{key}{RERUN_MARK}{self.attempt}" if self.attempt else key

    def rerun(self, position: int) -> PlannedRun:
        return replace(self, position=position, attempt=self.attempt + 1)


PRIMING_SUFFIX = "/priming"
SENTINEL_SUFFIX = "/sentinel"
# The sentinel: short fixed work on both builds each replicate (a bundled workload, about
# 0.2 s on the GIL build here), whose drift over replicates says whether the machine changed.
SENTINEL_CELL = Cell.of("mandelbrot", {"size": 160}, 1)
RERUN_MARK = "~r"  # run_key~r1: the first rerun of run_key


def parse_rerun(key: str) -> tuple[str, int]:
    """(the original run key, the attempt) of a run key."""
    base, mark, attempt = key.rpartition(RERUN_MARK)
    if mark and attempt.isdigit():
        return base, int(attempt)
    return key, 0


def run_key(cell: Cell, mode: str, block: int) -> str:
    return f"{cell.key}/{mode}#b{block}"


def block_seed(study_seed: int, block: int) -> int:
    """The shuffle seed of one block (see BLOCK_SEED_RULE): independent of other blocks."""
    digest = hashlib.sha256(f"gilwatt-block:{study_seed}:{block}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def replicate_order(
    cells: Iterable[Cell], modes: Iterable[str], study_seed: int, block: int
) -> list[tuple[Cell, str]]:
    """Every (cell, mode) once: the cells shuffled, each cell's modes back to back, shuffled.

    Cells and modes are sorted first, so the order depends only on the sets and the seeds,
    never on how the spec listed them.
    """
    rng = random.Random(block_seed(study_seed, block))
    ordered_cells = sorted(set(cells))
    rng.shuffle(ordered_cells)
    units: list[tuple[Cell, str]] = []
    for cell in ordered_cells:
        cell_modes = sorted(set(modes))
        rng.shuffle(cell_modes)
        units += [(cell, mode) for mode in cell_modes]
    return units


def priming_units(
    units: Sequence[tuple[Cell, str]], slot_of: Callable[[str], str]
) -> list[tuple[Cell, str]]:
    """One warm-up per interpreter: the replicate's first cell, in the first of its modes
    that runs on that interpreter."""
    first = units[0][0] if units else None
    seen: set[str] = set()
    primes = []
    for cell, mode in units:
        if cell == first and slot_of(mode) not in seen:
            seen.add(slot_of(mode))
            primes.append((cell, mode))
    return primes


def replicate(
    cells: Sequence[Cell],
    modes: Sequence[str],
    study_seed: int,
    block: int,
    *,
    priming: bool = True,
    sentinel: bool = False,
) -> list[PlannedRun]:
    """The runs of one replicate in order: priming runs, sentinels, then every cell's block."""
    units = replicate_order(cells, modes, study_seed, block)
    primes = priming_units(units, interpreter_slot) if priming else []
    runs = [PlannedRun(c, m, block, i, priming=True) for i, (c, m) in enumerate(primes)]
    if sentinel:
        slots = dict.fromkeys(interpreter_slot(m) for _c, m in units)
        # the build's own mode (gil, ft), else the build's other mode in the study (ft-gil)
        first = {
            s: s if s in modes else next(m for _c, m in units if interpreter_slot(m) == s)
            for s in slots
        }
        runs += [
            PlannedRun(SENTINEL_CELL, first[s], block, len(runs) + i, sentinel=True)
            for i, s in enumerate(slots)
        ]
    runs += [PlannedRun(c, m, block, len(runs) + i) for i, (c, m) in enumerate(units)]
    return runs


def plan(
    cells: Sequence[Cell],
    modes: Sequence[str],
    reps: int,
    study_seed: int,
    *,
    priming: bool = True,
    sentinel: bool = False,
    first: int = 1,
) -> list[PlannedRun]:
    """All runs of replicates ``first``..``reps``, replicate after replicate."""
    runs: list[PlannedRun] = []
    for block in range(first, reps + 1):
        runs += replicate(cells, modes, study_seed, block, priming=priming, sentinel=sentinel)
    return runs
