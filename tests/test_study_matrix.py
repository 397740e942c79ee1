"""Randomized complete blocks: every (cell, mode) once per block, shuffled per block, reproducible."""

from __future__ import annotations

from collections import Counter

from gilwatt.study.matrix import Cell, block_order, block_seed, plan

CELLS = [Cell.of(w, {"n": n}, k) for w in ("a", "b", "c") for n in (1, 2) for k in (1, 2, 4)]
MODES = ("gil", "ft", "ft-gil")


def test_each_block_holds_every_cell_and_mode_once() -> None:
    runs = plan(CELLS, MODES, reps=5, study_seed=11)
    assert len(runs) == len(CELLS) * len(MODES) * 5
    for block in range(1, 6):
        units = [(r.cell, r.mode) for r in runs if r.block == block]
        assert Counter(units) == Counter((c, m) for c in CELLS for m in MODES)
        assert [r.position for r in runs if r.block == block] == list(range(len(units)))
    keys = [r.run_key for r in runs]
    assert len(set(keys)) == len(keys)


def test_order_differs_across_blocks_and_seeds() -> None:
    runs = plan(CELLS, MODES, reps=4, study_seed=11)
    orders = [tuple(r.run_key.split("#")[0] for r in runs if r.block == b) for b in range(1, 5)]
    assert len(set(orders)) == 4
    other = plan(CELLS, MODES, reps=4, study_seed=12)
    assert [r.run_key for r in other] != [r.run_key for r in runs]
    # modes are interleaved, not run one after the other
    first = [r.mode for r in runs if r.block == 1]
    assert first != sorted(first)


def test_reproducible_and_independent_of_listing_order() -> None:
    a = plan(CELLS, MODES, reps=3, study_seed=5)
    b = plan(list(reversed(CELLS)), tuple(reversed(MODES)), reps=3, study_seed=5)
    assert [(r.run_key, r.position) for r in a] == [(r.run_key, r.position) for r in b]
    # adding blocks never changes the earlier blocks (a study can be extended)
    longer = plan(CELLS, MODES, reps=6, study_seed=5)
    assert [(r.run_key, r.position) for r in longer[: len(a)]] == [
        (r.run_key, r.position) for r in a
    ]


def test_block_seed_is_derived_from_study_seed_and_block() -> None:
    assert block_seed(1, 1) == block_seed(1, 1)
    assert len({block_seed(s, b) for s in range(5) for b in range(1, 6)}) == 25
    units = [(c, m) for c in CELLS for m in MODES]
    assert block_order(units, 3, 2) == block_order(list(reversed(units)), 3, 2)


def test_run_key_is_stable_and_readable() -> None:
    cell = Cell.of("matmul", {"size": 48, "alpha": 1.5}, 4)
    (run,) = [r for r in plan([cell], ("ft",), 1, 0)]
    assert run.run_key == 'matmul{"alpha":1.5,"size":48}/w4/ft#b1'
    assert cell.label() == "matmul alpha=1.5 size=48 w=4"
