"""The setting a study ran in, read from its store: the hosts' usable CPUs, the
interpreters' versions per mode, and the last look of an alpha-spending plan (``reps =
"auto"``: the alpha the study's verdicts are decided at). The one place the claim decisions
read the store beyond :mod:`gilwatt.analysis.dataset`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from gilwatt.hostinfo import usable_cpus

_SQL = """
SELECT DISTINCT sr.mode, h.logical_cpus, h.extra_json, i.version, i.free_threaded
FROM study_runs sr
JOIN runs r ON r.run_id = sr.run_id
JOIN hosts h ON h.host_id = r.host_id
LEFT JOIN interpreters i ON i.interp_id = r.interp_id
WHERE sr.study_id = ?
"""


@dataclass(frozen=True)
class StudyContext:
    usable_cpus: int | None  # the smallest over the study's hosts; None: no run recorded
    affinity_cpus: int | None
    cgroup_cpu_quota: float | None
    logical_cpus: int | None
    versions: dict[str, str] = field(default_factory=dict)  # mode -> "3.13.5" / "3.13.5t"
    # the last recorded look of the study's alpha-spending plan (None: no look, fixed reps)
    plan_alpha: float | None = None
    plan_replicate: int | None = None
    plan_spent: float | None = None


def read_study_context(conn: sqlite3.Connection, study_id: int) -> StudyContext:
    """The context of study ``study_id``; empty fields where the store has no run yet."""
    usable: list[int] = []
    affinity: list[int] = []
    quota: list[float] = []
    logical: list[int] = []
    versions: dict[str, str] = {}
    for mode, logical_cpus, extra_json, version, free_threaded in conn.execute(_SQL, (study_id,)):
        try:
            extra = json.loads(extra_json or "{}")
        except ValueError:
            extra = {}
        extra = extra if isinstance(extra, dict) else {}
        usable.append(usable_cpus(int(logical_cpus or 1), extra))
        logical.append(int(logical_cpus or 1))
        if isinstance(extra.get("affinity_cpus"), int):
            affinity.append(extra["affinity_cpus"])
        if isinstance(extra.get("cgroup_cpu_quota"), int | float):
            quota.append(float(extra["cgroup_cpu_quota"]))
        if version and mode not in versions:
            versions[mode] = f"{version}{'t' if free_threaded else ''}"
    plan = _last_look(conn, study_id)
    return StudyContext(
        usable_cpus=min(usable) if usable else None,
        affinity_cpus=min(affinity) if affinity else None,
        cgroup_cpu_quota=min(quota) if quota else None,
        logical_cpus=min(logical) if logical else None,
        versions=versions,
        plan_alpha=plan[0] if plan else None,
        plan_replicate=int(plan[1]) if plan else None,
        plan_spent=plan[2] if plan else None,
    )


def _last_look(conn: sqlite3.Connection, study_id: int) -> tuple[float, float, float] | None:
    """(alpha, replicate, spent) of the last look the study's spec records (study/sequential.py
    writes them), or None."""
    row = conn.execute("SELECT spec_json FROM studies WHERE study_id = ?", (study_id,)).fetchone()
    try:
        looks = json.loads(row[0] or "{}").get("looks") if row else None
        if not isinstance(looks, list) or not looks:
            return None
        last = looks[-1]
        found = (float(last["alpha"]), float(last["replicate"]), float(last["spent"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return found if 0 <= found[0] < 1 else None
