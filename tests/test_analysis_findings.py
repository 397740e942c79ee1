"""The findings through the compare pipeline: synthetic stores, real SQLite, the verdicts of
:mod:`gilwatt.analysis.decide` with their evidence (the rules themselves: test_analysis_decide)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gilwatt.analysis.findings import (
    CONFIRMS,
    CONTRADICTS,
    INCONCLUSIVE,
    MIXED,
    NOT_TESTABLE,
    Finding,
)
from gilwatt.analysis.result import compare_study
from gilwatt.store.synthetic import SyntheticRun, write_study

NOISE = (1.00, 1.03, 0.98, 1.01, 0.99, 1.02, 0.97)
MIB = 2**20
# bundled workloads, so their sharing classes come from the registry
SEQ, NP, INDEP, SHARED = "mandelbrot", "numpy_blas", "factorial", "object_lists_nocopy"

# a cell: (workload, workers) -> mode -> factor applied to the gil time (or a dict of kwargs)
Spec = dict[tuple[str, int], Callable[[str, int], dict[str, Any]]]


def _study(
    tmp_path: Path,
    spec: Spec,
    blocks: int = 4,
    modes: tuple[str, ...] = ("gil", "ft"),
    energy_source: str = "model:ccf-linear",
) -> list[Finding]:
    runs = []
    for b in range(1, blocks + 1):
        for (workload, workers), kwargs_of in spec.items():
            for i, mode in enumerate(modes):
                kw = {"time_s": 1.0 * NOISE[(b + i) % len(NOISE)], **kwargs_of(mode, b)}
                runs.append(SyntheticRun(workload, workers, mode, b, **kw))
    path = tmp_path / "s.db"
    write_study(path, runs, energy_source=energy_source)
    return compare_study(path, n_resamples=200).findings


def _ft_time(factor: float, jitter: float = 1.0) -> Callable[[str, int], dict[str, Any]]:
    def kw(mode: str, block: int) -> dict[str, Any]:
        noise = NOISE[block % len(NOISE)] ** jitter
        return {"time_s": factor * noise} if mode == "ft" else {"time_s": noise**0.5}

    return kw


def _gil_only(mode: str, block: int) -> dict[str, Any]:
    return {}


def test_claim1_confirms_on_time_alone_when_energy_is_modelled(tmp_path: Path) -> None:
    f = _study(tmp_path, {(SEQ, 1): _ft_time(1.25)})[0]
    assert f.verdict == CONFIRMS and f.stability == 1.0
    assert f.why.startswith("time: ×1.2") and "energy: not testable" in f.why
    assert not any("paper's" in e for e in f.evidence)  # no model-vs-measurement comparison


def test_claim1_on_measured_energy_compares_with_the_paper(tmp_path: Path) -> None:
    f = _study(tmp_path, {(SEQ, 1): _ft_time(1.25)}, energy_source="rapl:package-0")[0]
    assert f.verdict == CONFIRMS
    assert {h.name: h.verdict for h in f.halves} == {"time": CONFIRMS, "energy": CONFIRMS}
    assert any("inside the paper's measured 1.13–1.43" in e for e in f.evidence)


def test_claim1_contradicts_when_sequential_is_faster(tmp_path: Path) -> None:
    assert _study(tmp_path, {(SEQ, 1): _ft_time(0.8)})[0].verdict == CONTRADICTS


def test_one_block_leaves_every_claim_undecided(tmp_path: Path) -> None:
    f = _study(tmp_path, {(SEQ, 1): _ft_time(1.3)}, blocks=1)[0]
    assert f.verdict == INCONCLUSIVE


def test_claims_without_their_workloads_are_not_testable(tmp_path: Path) -> None:
    found = _study(tmp_path, {(NP, 1): _ft_time(1.0, jitter=0.2)})
    assert found[0].verdict == NOT_TESTABLE and "no sequential workload" in found[0].why
    assert found[1].verdict == NOT_TESTABLE and "2 or more workers" in found[1].why
    assert found[3].verdict == NOT_TESTABLE and "no shared-mutable workload" in found[3].why


def test_claim2_confirms_when_threads_gain_on_ft(tmp_path: Path) -> None:
    spec = {(INDEP, 1): _ft_time(1.05), (INDEP, 2): _ft_time(0.52)}
    f = _study(tmp_path, spec)[1]
    assert f.verdict == CONFIRMS
    assert f.workloads[0].name == INDEP and f.workloads[0].workers == 2
    assert any(e.startswith("ft speed-up at N=2 (within the usable CPUs)") for e in f.evidence)


def test_claim2_ignores_oversubscribed_cells(tmp_path: Path) -> None:
    # the synthetic host has 2 CPUs: N = 4 is oversubscribed and kept out
    spec = {(INDEP, 1): _ft_time(1.05), (INDEP, 2): _ft_time(0.52), (INDEP, 4): _ft_time(1.6)}
    assert _study(tmp_path, spec)[1].verdict == CONFIRMS


def test_claim3_numpy_unchanged_within_margin(tmp_path: Path) -> None:
    assert _study(tmp_path, {(NP, 1): _ft_time(1.01, jitter=0.2)})[2].verdict == CONFIRMS


def test_claim3_contradicts_when_numpy_moves(tmp_path: Path) -> None:
    f = _study(tmp_path, {(NP, 1): _ft_time(1.3)})[2]
    assert f.verdict == CONTRADICTS and "beyond ±10%" in f.why


def test_claim4_needs_the_gain_to_erode_not_just_a_slower_build(tmp_path: Path) -> None:
    # the shared-mutable workload is slower at N = 2 only by the build's one-thread cost
    same = {
        (INDEP, 1): _ft_time(1.5),
        (INDEP, 2): _ft_time(0.75),
        (SHARED, 1): _ft_time(1.5),
        (SHARED, 2): _ft_time(0.75),
    }
    assert _study(tmp_path, same)[3].verdict == CONTRADICTS
    eroded = same | {(SHARED, 2): _ft_time(4.5)}
    f = _study(tmp_path, eroded)[3]
    assert f.verdict == CONFIRMS and f.estimate == pytest.approx(6.0, rel=0.05)


def _memory(rss: float, vms: float) -> Callable[[str, int], dict[str, Any]]:
    def kw(mode: str, block: int) -> dict[str, Any]:
        n = NOISE[block % len(NOISE)]
        if mode == "ft":
            return {"rss_bytes": int(50 * MIB * rss * n), "vms_bytes": int(400 * MIB * vms / n)}
        return {"rss_bytes": 50 * MIB, "vms_bytes": 400 * MIB}

    return kw


def test_claim5_confirms_when_vms_grows_more_than_rss(tmp_path: Path) -> None:
    f = _study(tmp_path, {(SEQ, 1): _memory(1.15, 1.6)})[4]
    assert f.verdict == CONFIRMS


def test_claim5_vms_alone_does_not_make_memory_grow(tmp_path: Path) -> None:
    f = _study(tmp_path, {(SEQ, 1): _memory(1.0, 1.6), (NP, 1): _memory(1.0, 1.7)})[4]
    assert f.verdict == CONTRADICTS
    assert {h.name: h.verdict for h in f.halves}["RSS grows"] == CONTRADICTS


def test_claim6_on_measured_energy_tests_the_power_ratio(tmp_path: Path) -> None:
    spec = {(SEQ, 1): _ft_time(1.2), (INDEP, 1): _ft_time(1.5)}
    f = _study(tmp_path, spec, energy_source="rapl:package-0")[5]
    assert f.verdict == CONFIRMS  # synthetic energy is 10 W x time: power unchanged
    assert any(e.startswith("description: energy =") for e in f.evidence)


def test_claim6_is_not_testable_on_modelled_energy(tmp_path: Path) -> None:
    f = _study(tmp_path, {(SEQ, 1): _ft_time(1.2)})[5]
    assert f.verdict == NOT_TESTABLE and "modelled" in f.why
    assert any("(estimate: model:ccf-linear)" in e for e in f.evidence)


def test_without_an_ft_gil_pair_no_claim_is_testable(tmp_path: Path) -> None:
    found = _study(tmp_path, {(SEQ, 1): _gil_only}, modes=("gil", "ft-gil"))
    assert [f.verdict for f in found] == [NOT_TESTABLE] * 6
    assert all("no ft vs gil" in f.why for f in found)


def test_sequential_workloads_going_both_ways_are_mixed(tmp_path: Path) -> None:
    f = _study(tmp_path, {(SEQ, 1): _ft_time(1.3), ("bubble_sort", 1): _ft_time(0.7)})[0]
    assert f.verdict == MIXED and "bubble_sort ×0.7" in f.why and "mandelbrot ×1.3" in f.why


def test_claim1_shows_the_build_overhead_when_ft_gil_ran(tmp_path: Path) -> None:
    def kw(mode: str, block: int) -> dict[str, Any]:
        factor = {"gil": 1.0, "ft-gil": 1.1, "ft": 1.2}[mode]
        return {"time_s": factor * NOISE[block % len(NOISE)]}

    f = _study(tmp_path, {(SEQ, 1): kw}, modes=("gil", "ft-gil", "ft"))[0]
    assert f.verdict == CONFIRMS
    line = next(e for e in f.evidence if e.startswith("ft-gil/gil time"))
    assert "×1.100 [1.100, 1.100]" in line


def test_findings_are_the_six_claims_in_order(tmp_path: Path) -> None:
    found = _study(tmp_path, {(SEQ, 1): _ft_time(1.2)})
    assert [f.number for f in found] == [1, 2, 3, 4, 5, 6]
    assert all(f.estimand and f.unit for f in found)


def test_a_study_decides_at_its_last_looks_alpha_not_at_005(tmp_path: Path) -> None:
    from gilwatt.analysis.tables import header_lines
    from gilwatt.store import Store
    from gilwatt.study.ledger import Ledger

    assert _study(tmp_path, {(SEQ, 1): _ft_time(1.15)})[0].verdict == CONFIRMS
    with Store.open(tmp_path / "s.db") as store:
        ledger = Ledger(store)
        (record,) = ledger.studies()
        look = {"replicate": 4, "alpha": 0.0001, "spent": 0.0002, "verdicts": {}, "stop": ""}
        ledger.update_spec(record.study_id, {**record.spec, "looks": [look]})
    result = compare_study(tmp_path / "s.db", n_resamples=200)
    assert result.findings[0].verdict == INCONCLUSIVE  # 0.05 confirms it; the plan's 0.0001 not
    assert result.context.plan_alpha == 0.0001
    assert (
        "decisions at alpha 0.0001: the last look (after replicate 4) of the study's "
        "alpha-spending plan, 0.0002 of 0.05 spent in all"
    ) in header_lines(result)
