"""The verdict rules of each claim, on synthetic studies built to hit each branch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gilwatt.analysis.findings import CANNOT_TELL, CONFIRMS, CONTRADICTS, Finding
from gilwatt.analysis.result import compare_study
from gilwatt.store.synthetic import SyntheticRun, write_study

NOISE = (1.00, 1.03, 0.98, 1.01, 0.99, 1.02, 0.97)
MIB = 2**20
FAMILIES = {
    "seq": "sequential",
    "np": "numpy",
    "indep": "threaded-numerical",
    "shared": "shared-state",
}

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
    write_study(path, runs, families=FAMILIES, energy_source=energy_source)
    return compare_study(path, n_resamples=200).findings


def _ft_time(factor: float, jitter: float = 1.0) -> Callable[[str, int], dict[str, Any]]:
    def kw(mode: str, block: int) -> dict[str, Any]:
        noise = NOISE[block % len(NOISE)] ** jitter
        return {"time_s": factor * noise} if mode == "ft" else {"time_s": noise**0.5}

    return kw


def _gil_only(mode: str, block: int) -> dict[str, Any]:
    return {}


def test_claim1_confirms_when_sequential_is_slower_and_costs_more_energy(tmp_path: Path) -> None:
    f = _study(tmp_path, {("seq", 1): _ft_time(1.25)})[0]
    assert f.verdict == CONFIRMS
    assert "1 of 1 cell slower" in f.why and "1 of 1 cell higher" in f.why
    assert any("estimate: model:ccf-linear" in e for e in f.evidence)
    assert any("inside the paper's 1.13–1.43" in e for e in f.evidence)


def test_claim1_contradicts_when_sequential_is_faster(tmp_path: Path) -> None:
    f = _study(tmp_path, {("seq", 1): _ft_time(0.8)})[0]
    assert f.verdict == CONTRADICTS


def test_claim1_contradicts_when_no_cost_within_ten_percent(tmp_path: Path) -> None:
    f = _study(tmp_path, {("seq", 1): _ft_time(1.0, jitter=0.2)})[0]
    assert f.verdict == CONTRADICTS
    assert "each CI within ±10%" in f.why


def test_claim1_cannot_tell_with_one_block(tmp_path: Path) -> None:
    f = _study(tmp_path, {("seq", 1): _ft_time(1.3)}, blocks=1)[0]
    assert f.verdict == CANNOT_TELL
    assert "only 1 pair per cell" in f.why


def test_claims_without_their_workloads_cannot_tell(tmp_path: Path) -> None:
    findings = _study(tmp_path, {("np", 1): _ft_time(1.0, jitter=0.2)})
    assert findings[0].verdict == CANNOT_TELL and "no sequential workload" in findings[0].why
    assert findings[1].verdict == CANNOT_TELL and "more than 1 worker" in findings[1].why
    assert findings[3].verdict == CANNOT_TELL and "shared-object" in findings[3].why


def test_claim2_confirms_when_threads_gain_on_ft(tmp_path: Path) -> None:
    spec = {("indep", 1): _ft_time(1.05), ("indep", 2): _ft_time(0.52)}
    f = _study(tmp_path, spec)[1]
    assert f.verdict == CONFIRMS
    assert any("ft/gil time at N=2" in e for e in f.evidence)
    assert any(e.startswith("ft speed-up at N=2") for e in f.evidence)


def test_claim2_contradicts_when_threads_are_slower_on_ft(tmp_path: Path) -> None:
    f = _study(tmp_path, {("indep", 2): _ft_time(1.4)})[1]
    assert f.verdict == CONTRADICTS


def test_claim3_numpy_unchanged_within_margin(tmp_path: Path) -> None:
    assert _study(tmp_path, {("np", 1): _ft_time(1.01, jitter=0.2)})[2].verdict == CONFIRMS


def test_claim3_contradicts_when_numpy_moves(tmp_path: Path) -> None:
    f = _study(tmp_path, {("np", 1): _ft_time(1.3)})[2]
    assert f.verdict == CONTRADICTS and "differ by more than 10%" in f.why


def test_claim3_cannot_tell_when_the_interval_is_too_wide(tmp_path: Path) -> None:
    f = _study(tmp_path, {("np", 1): _ft_time(1.0, jitter=8.0)}, blocks=3)[2]
    assert f.verdict == CANNOT_TELL and "beyond ±10%" in f.why


def test_claim4_confirms_when_contended_work_is_slower(tmp_path: Path) -> None:
    f = _study(tmp_path, {("shared", 2): _ft_time(1.3)})[3]
    assert f.verdict == CONFIRMS and "slower on ft (shared)" in f.why


def test_claim4_confirms_when_contended_gain_is_smaller(tmp_path: Path) -> None:
    f = _study(tmp_path, {("shared", 2): _ft_time(0.8), ("indep", 2): _ft_time(0.5)})[3]
    assert f.verdict == CONFIRMS and "gain significantly less" in f.why
    assert any("Welch" in e for e in f.evidence)


def test_claim4_contradicts_when_contended_gain_is_larger(tmp_path: Path) -> None:
    f = _study(tmp_path, {("shared", 2): _ft_time(0.5), ("indep", 2): _ft_time(0.8)})[3]
    assert f.verdict == CONTRADICTS


def test_claim4_cannot_tell_without_a_comparator(tmp_path: Path) -> None:
    f = _study(tmp_path, {("shared", 2): _ft_time(0.6)})[3]
    assert f.verdict == CANNOT_TELL and "no independent-data workload" in f.why


def _memory(rss: float, vms: float) -> Callable[[str, int], dict[str, Any]]:
    def kw(mode: str, block: int) -> dict[str, Any]:
        n = NOISE[block % len(NOISE)]
        if mode == "ft":
            return {"rss_bytes": int(50 * MIB * rss * n), "vms_bytes": int(400 * MIB * vms / n)}
        return {"rss_bytes": 50 * MIB, "vms_bytes": 400 * MIB}

    return kw


def test_claim5_confirms_when_vms_grows_more_than_rss(tmp_path: Path) -> None:
    f = _study(tmp_path, {("seq", 1): _memory(1.15, 1.6)})[4]
    assert f.verdict == CONFIRMS and "VMS grows more than RSS" in f.why


def test_claim5_contradicts_when_memory_shrinks(tmp_path: Path) -> None:
    assert _study(tmp_path, {("seq", 1): _memory(0.7, 0.7)})[4].verdict == CONTRADICTS


def test_claim5_contradicts_when_rss_grows_more_than_vms(tmp_path: Path) -> None:
    f = _study(tmp_path, {("seq", 1): _memory(1.6, 1.15)})[4]
    assert f.verdict == CONTRADICTS and "RSS grows more than VMS" in f.why


def test_claim6_follows_the_log_log_rule_on_measured_energy(tmp_path: Path) -> None:
    spec = {("seq", 1): _ft_time(1.2), ("indep", 1): lambda m, b: {"time_s": 3.0 * NOISE[b]}}
    f = _study(tmp_path, spec, energy_source="rapl:package-0")[5]
    assert f.verdict == CONFIRMS  # synthetic energy is 10 W x time: exactly proportional


def test_claim6_cannot_tell_from_modelled_energy(tmp_path: Path) -> None:
    spec = {("seq", 1): _ft_time(1.2), ("indep", 1): lambda m, b: {"time_s": 3.0 * NOISE[b]}}
    f = _study(tmp_path, spec)[5]
    assert f.verdict == CANNOT_TELL and "modelled" in f.why
    assert "log-log slope" in f.why  # what the measured rule would have said is kept
    assert any("(estimate: model:ccf-linear)" in e for e in f.evidence)


def test_without_an_ft_gil_pair_claims_one_to_five_cannot_tell(tmp_path: Path) -> None:
    findings = _study(tmp_path, {("seq", 1): _gil_only}, modes=("gil", "ft-gil"))
    assert [f.verdict for f in findings[:5]] == [CANNOT_TELL] * 5
    assert all("no ft vs gil" in f.why for f in findings[:5])


def test_claim1_mixed_directions_cannot_tell(tmp_path: Path) -> None:
    f = _study(tmp_path, {("seq", 1): _ft_time(1.3), ("seq", 2): _ft_time(0.7)})[0]
    assert f.verdict == CANNOT_TELL and f.why.startswith("time: mixed")


def test_claim5_growth_without_a_vms_excess_cannot_tell(tmp_path: Path) -> None:
    f = _study(tmp_path, {("seq", 1): _memory(1.3, 1.3)})[4]
    assert f.verdict == CANNOT_TELL and "not resolved" in f.why


def test_claim1_shows_the_build_overhead_when_ft_gil_ran(tmp_path: Path) -> None:
    def kw(mode: str, block: int) -> dict[str, Any]:
        factor = {"gil": 1.0, "ft-gil": 1.1, "ft": 1.2}[mode]
        return {"time_s": factor * NOISE[block % len(NOISE)]}

    f = _study(tmp_path, {("seq", 1): kw}, modes=("gil", "ft-gil", "ft"))[0]
    assert f.verdict == CONFIRMS
    line = next(e for e in f.evidence if e.startswith("ft-gil/gil time"))
    assert "×1.100 [1.100, 1.100]" in line


def test_findings_are_the_six_claims_in_order(tmp_path: Path) -> None:
    findings = _study(tmp_path, {("seq", 1): _ft_time(1.2)})
    assert [f.number for f in findings] == [1, 2, 3, 4, 5, 6]
