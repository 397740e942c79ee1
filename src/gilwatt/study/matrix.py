"""The study matrix: cells, and the order they run in (randomized complete blocks).

A *cell* is one workload with concrete parameters and a worker count. Every block runs each
(cell, mode) exactly once, in an order shuffled with a seed derived from the study seed and
the block number, so drift and heat hit all modes alike and any block's order can be rebuilt
from the study seed alone.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BLOCK_SEED_RULE = "int.from_bytes(sha256(f'gilwatt-block:{seed}:{block}').digest()[:8], 'big')"


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
    """One process launch of the study: a (cell, mode) in a block at a position."""

    cell: Cell
    mode: str
    block: int  # 1-based
    position: int  # 0-based order inside the block

    @property
    def cell_key(self) -> str:
        return f"{self.cell.key}/{self.mode}"

    @property
    def run_key(self) -> str:
        """Stable identity of (workload, params, workers, mode, block)."""
        return run_key(self.cell, self.mode, self.block)


def run_key(cell: Cell, mode: str, block: int) -> str:
    return f"{cell.key}/{mode}#b{block}"


def block_seed(study_seed: int, block: int) -> int:
    """The shuffle seed of one block (see BLOCK_SEED_RULE): independent of other blocks."""
    digest = hashlib.sha256(f"gilwatt-block:{study_seed}:{block}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def block_order(
    units: Iterable[tuple[Cell, str]], study_seed: int, block: int
) -> list[tuple[Cell, str]]:
    """Every (cell, mode) once, shuffled for this block.

    Units are sorted first, so the order depends only on the set of units and the seeds,
    never on how the spec listed them.
    """
    ordered = sorted(set(units))
    random.Random(block_seed(study_seed, block)).shuffle(ordered)
    return ordered


def plan(
    cells: Sequence[Cell], modes: Sequence[str], reps: int, study_seed: int
) -> list[PlannedRun]:
    """All runs of the study, block after block, each block in its shuffled order."""
    units = [(cell, mode) for cell in cells for mode in modes]
    runs: list[PlannedRun] = []
    for block in range(1, reps + 1):
        for position, (cell, mode) in enumerate(block_order(units, study_seed, block)):
            runs.append(PlannedRun(cell, mode, block, position))
    return runs
