"""Replicates of small blocks: each cell's modes back to back, cells shuffled per replicate,
one priming run per interpreter first; reproducible from the study seed."""

from __future__ import annotations

import itertools
from collections import Counter

from gilwatt.modes import interpreter_slot
from gilwatt.study.matrix import Cell, block_seed, plan, replicate_order

CELLS = [Cell.of(w, {"n": n}, k) for w in ("a", "b", "c") for n in (1, 2) for k in (1, 2, 4)]
MODES = ("gil", "ft", "ft-gil")


def test_each_replicate_holds_every_cell_and_mode_once_after_its_priming_runs() -> None:
    runs = plan(CELLS, MODES, reps=5, study_seed=11)
    assert len(runs) == (len(CELLS) * len(MODES) + 2) * 5  # 2 interpreters: 2 priming runs
    for block in range(1, 6):
        these = [r for r in runs if r.block == block]
        measured = [(r.cell, r.mode) for r in these if not r.priming]
        assert Counter(measured) == Counter((c, m) for c in CELLS for m in MODES)
        assert [r.position for r in these] == list(range(len(these)))
        primes = [r for r in these if r.priming]
        assert [r.position for r in primes] == [0, 1]
        assert {interpreter_slot(r.mode) for r in primes} == {"gil", "ft"}
        # the priming runs warm up the replicate's first cell
        assert {r.cell for r in primes} == {these[2].cell}
    keys = [r.run_key for r in runs]
    assert len(set(keys)) == len(keys)


def test_a_cells_modes_run_back_to_back() -> None:
    runs = [r for r in plan(CELLS, MODES, reps=3, study_seed=11) if not r.priming]
    for block in range(1, 4):
        cells = [r.cell for r in runs if r.block == block]
        # a block is contiguous: the cell changes exactly len(CELLS) - 1 times
        changes = sum(1 for a, b in itertools.pairwise(cells) if a != b)
        assert changes == len(CELLS) - 1


def test_order_differs_across_replicates_and_seeds() -> None:
    runs = plan(CELLS, MODES, reps=4, study_seed=11)
    orders = [tuple(r.run_key.split("#")[0] for r in runs if r.block == b) for b in range(1, 5)]
    assert len(set(orders)) == 4
    other = plan(CELLS, MODES, reps=4, study_seed=12)
    assert [r.run_key for r in other] != [r.run_key for r in runs]
    # the modes inside the blocks are shuffled too: not always in one order
    mode_orders = {
        tuple(r.mode for r in runs if r.block == 1 and r.cell == cell and not r.priming)
        for cell in CELLS
    }
    assert len(mode_orders) > 1


def test_reproducible_and_independent_of_listing_order() -> None:
    a = plan(CELLS, MODES, reps=3, study_seed=5)
    b = plan(list(reversed(CELLS)), tuple(reversed(MODES)), reps=3, study_seed=5)
    assert [(r.run_key, r.position) for r in a] == [(r.run_key, r.position) for r in b]
    # adding replicates never changes the earlier ones (a study can be extended)
    longer = plan(CELLS, MODES, reps=6, study_seed=5)
    assert [(r.run_key, r.position) for r in longer[: len(a)]] == [
        (r.run_key, r.position) for r in a
    ]
    assert plan(CELLS, MODES, reps=6, study_seed=5, first=4) == longer[len(a) :]


def test_block_seed_is_derived_from_study_seed_and_replicate() -> None:
    assert block_seed(1, 1) == block_seed(1, 1)
    assert len({block_seed(s, b) for s in range(5) for b in range(1, 6)}) == 25
    assert replicate_order(CELLS, MODES, 3, 2) == replicate_order(CELLS[::-1], MODES[::-1], 3, 2)


def test_run_key_is_stable_and_readable() -> None:
    cell = Cell.of("matmul", {"size": 48, "alpha": 1.5}, 4)
    prime, run = plan([cell], ("ft",), 1, 0)
    assert run.run_key == 'matmul{"alpha":1.5,"size":48}/w4/ft#b1'
    assert prime.run_key == 'matmul{"alpha":1.5,"size":48}/w4/ft#b1/priming'
    assert cell.label() == "matmul alpha=1.5 size=48 w=4"
    assert [r.run_key for r in plan([cell], ("ft",), 1, 0, priming=False)] == [run.run_key]


def test_sentinels_follow_the_priming_runs_one_per_interpreter() -> None:
    from gilwatt.study.matrix import SENTINEL_CELL

    runs = plan(CELLS, MODES, reps=2, study_seed=3, sentinel=True)
    for block in (1, 2):
        these = [r for r in runs if r.block == block]
        assert [(r.priming, r.sentinel) for r in these[:4]] == [(True, False)] * 2 + [
            (False, True)
        ] * 2
        sentinels = these[2:4]
        assert {r.cell for r in sentinels} == {SENTINEL_CELL}
        assert {interpreter_slot(r.mode) for r in sentinels} == {"gil", "ft"}
        assert all(r.run_key.endswith("/sentinel") for r in sentinels)
        assert [r.position for r in these] == list(range(len(these)))
    assert len({r.run_key for r in runs}) == len(runs)
