"""What the runner watches after each replicate: bimodal cells and the sentinel's drift.

Both are computed on the store after every replicate (:func:`gilwatt.study.sequential.
bimodal_cells` and :func:`~gilwatt.study.sequential.drift`) and recorded in the study's spec
JSON under ``quality`` (replicate -> what was seen), so ``compare`` and the report can show
the run quality of any study, fixed or adaptive, and a resumed study does not note them twice:

    "quality": {"3": {"bimodal": {"seq{}/w1/gil": 2.0}, "drift": {"gil": [0.25, 0.01]}}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gilwatt.study import sequential

Walls = list[tuple[str, str, int, str, int, str, int]]


class WallSource(Protocol):
    def study_region_walls(self, study_id: int, status: str = "done") -> Walls: ...


@dataclass(frozen=True)
class ReplicateQuality:
    """After one replicate: cells bimodal so far (cell -> max/min within its mode) and the
    sentinel's significant drift so far (mode -> (relative change, p of the trend))."""

    bimodal: dict[str, float] = field(default_factory=dict)
    drift: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "bimodal": {cell: round(r, 4) for cell, r in sorted(self.bimodal.items())},
            "drift": {mode: [round(c, 4), p] for mode, (c, p) in sorted(self.drift.items())},
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ReplicateQuality:
        bimodal = {str(k): float(v) for k, v in dict(doc.get("bimodal", {})).items()}
        drift = {str(k): (float(v[0]), float(v[1])) for k, v in dict(doc.get("drift", {})).items()}
        return cls(bimodal, drift)


def check(
    store: WallSource,
    study_id: int,
    regions: Mapping[str, str],
    sentinel: tuple[str, str] | None,
) -> ReplicateQuality:
    """The quality of the study's finished runs so far. ``regions``: workload -> its
    measured region; ``sentinel``: (workload, region) of the sentinel, None without one."""
    bimodal = sequential.bimodal_cells(store.study_region_walls(study_id), regions)
    drift: dict[str, tuple[float, float]] = {}
    if sentinel is not None:
        walls = store.study_region_walls(study_id, status="sentinel")
        drift = sequential.drift(walls, *sentinel)
    return ReplicateQuality(bimodal, drift)


def recorded(spec: Mapping[str, Any]) -> dict[int, ReplicateQuality]:
    """Replicate -> its recorded quality ({} for a study from before it was recorded)."""
    found = spec.get("quality")
    if not isinstance(found, dict):
        return {}
    out = {}
    for key, doc in found.items():
        try:
            out[int(key)] = ReplicateQuality.from_json(doc)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            continue
    return dict(sorted(out.items()))


def record(spec: Mapping[str, Any], replicate: int, quality: ReplicateQuality) -> dict[str, Any]:
    """The spec with this replicate's quality added."""
    doc = dict(spec)
    found = dict(doc.get("quality", {})) if isinstance(doc.get("quality"), dict) else {}
    found[str(replicate)] = quality.to_json()
    doc["quality"] = found
    return doc


def notes(
    quality: ReplicateQuality, earlier: Mapping[int, ReplicateQuality], replicate: int
) -> list[str]:
    """What to tell the user: cells bimodal for the first time, and the drift, if any."""
    seen = {cell for q in earlier.values() for cell in q.bimodal}
    lines = [
        f"{cell}: bimodal (max/min {ratio:.2f} within the mode)"
        for cell, ratio in quality.bimodal.items()
        if cell not in seen
    ]
    lines += [
        f"sentinel on {mode}: {change:+.0%} over {replicate} replicates (trend p={p:.3f}); "
        "the machine changed during the study"
        for mode, (change, p) in quality.drift.items()
    ]
    return lines
