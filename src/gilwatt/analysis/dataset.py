"""A study's runs read from the SQLite store, aggregated inside SQLite.

Samples are never pulled into Python: the measured region's boundary samples are looked up
by primary key, peaks over the region's samples are ``MAX`` over a primary-key range, per-core
busy time is the difference of the first and last core sample inside the region. One query
per table, however many runs the study has.

Validity: a study run counts only if its status is ``done`` and this reader agrees: the run
row exists, its region was recorded with a positive duration, and the GIL state the program
reported at the region's start and end matches its mode (gil / ft-gil: enabled, ft: disabled;
not checked where the interpreter could not say). Every other run is kept in
``StudyData.runs`` with ``valid = False`` and the reason.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilwatt.analysis import metrics as metrics_mod
from gilwatt.errors import ConfigError, StoreError, UnknownNameError

DEFAULT_REGION = "kernel"
MODE_ORDER = ("gil", "ft-gil", "ft")
EXPECTED_GIL = {"gil": 1, "ft-gil": 1, "ft": 0}


@dataclass(frozen=True)
class StudyInfo:
    study_id: int
    name: str
    seed: int
    spec: dict[str, Any]
    created_unix_ns: int


@dataclass
class RunRecord:
    """One planned run of a study (a row of study_runs) with its measured metrics."""

    run_key: str
    block: int
    position: int
    workload: str
    params_json: str
    workers: int
    mode: str
    interpreter: str
    status: str  # study_runs.status
    reason: str
    run_id: int | None
    family: str = "other"
    region: str = DEFAULT_REGION
    valid: bool = False
    exclusion: str = ""  # why the run does not count (empty when valid)
    energy_source: str = ""
    energy_estimate: bool = False
    metrics: dict[str, float | None] = field(default_factory=dict)

    @property
    def cell(self) -> tuple[str, str, int]:
        return (self.workload, self.params_json, self.workers)


@dataclass
class StudyData:
    study: StudyInfo
    runs: list[RunRecord]
    other_studies: list[StudyInfo] = field(default_factory=list)

    @property
    def valid_runs(self) -> list[RunRecord]:
        return [r for r in self.runs if r.valid]

    @property
    def excluded(self) -> list[RunRecord]:
        return [r for r in self.runs if not r.valid]

    @property
    def modes(self) -> list[str]:
        present = {r.mode for r in self.runs}
        return [m for m in MODE_ORDER if m in present] + sorted(present - set(MODE_ORDER))

    @property
    def energy_sources(self) -> list[str]:
        return sorted({r.energy_source for r in self.valid_runs if r.energy_source})

    @property
    def energy_is_estimate(self) -> bool:
        return any(
            r.energy_estimate or r.energy_source.startswith("model:") for r in self.valid_runs
        )


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """Open a store for reading without changing it; ConfigError if it is not there."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"store {str(p)!r} does not exist.", hint="Pass the study's .db file.")
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        conn.execute("SELECT 1 FROM study_runs LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"store {str(p)!r} cannot be read as a gilwatt study ({exc}).",
            hint="Pass a store written by `gilwatt study`.",
        ) from exc
    return conn


def list_studies(conn: sqlite3.Connection) -> list[StudyInfo]:
    rows = conn.execute(
        "SELECT study_id, name, seed, spec_json, created_unix_ns FROM studies ORDER BY study_id"
    ).fetchall()
    out = []
    for sid, name, seed, spec_json, created in rows:
        try:
            spec = json.loads(spec_json)
        except ValueError:
            spec = {}
        out.append(StudyInfo(sid, name, seed, spec if isinstance(spec, dict) else {}, created))
    return out


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def default_family_of(workload: str) -> str:
    """The bundled workload's family, or "other" when gilwatt does not know the name."""
    try:
        from gilwatt import workloads
    except ImportError:
        return "other"
    try:
        return str(workloads.get_workload(workload).family)  # type: ignore[attr-defined,unused-ignore]
    except Exception:  # unknown or user workload: the study still analyses it
        return "other"


def _spec_field(spec: dict[str, Any], key: str) -> dict[str, str]:
    """Per-workload ``key`` ("family" or "region") recorded in a study's definition.

    The study runner stores ``"workloads": {name: {"family": ..., "region": ...}}``; a list of
    ``{"name": ..., key: ...}`` and a flat ``"families"`` map are read too.
    """
    found: dict[str, str] = {}
    flat = spec.get(f"{key[:-1]}ies" if key.endswith("y") else f"{key}s")
    if isinstance(flat, dict):
        found.update({str(k): v for k, v in flat.items() if isinstance(v, str)})
    entries = spec.get("workloads")
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                name = entry.get("name") or entry.get("workload")
                if isinstance(name, str):
                    found[name] = entry[key]
    elif isinstance(entries, dict):
        for name, entry in entries.items():
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                found[str(name)] = entry[key]
    return found


def load_study(
    source: str | Path | sqlite3.Connection,
    study_id: int | None = None,
    *,
    family_of: Callable[[str], str] | None = None,
) -> StudyData:
    """Read one study (default: the most recent) with every run's metrics."""
    conn = source if isinstance(source, sqlite3.Connection) else open_readonly(source)
    try:
        return _load(conn, study_id, family_of or default_family_of)
    finally:
        if conn is not source:
            conn.close()


def _load(
    conn: sqlite3.Connection, study_id: int | None, family_of: Callable[[str], str]
) -> StudyData:
    studies = list_studies(conn)
    if not studies:
        raise ConfigError(
            "the store holds no study.", hint="Run `gilwatt study ... -o FILE` first."
        )
    by_id = {s.study_id: s for s in studies}
    if study_id is None:
        study = studies[-1]
    elif study_id in by_id:
        study = by_id[study_id]
    else:
        raise UnknownNameError("study", str(study_id), [str(s.study_id) for s in studies])
    runs = _study_runs(conn, study, family_of)
    _attach_measurements(conn, runs)
    others = [s for s in studies if s.study_id != study.study_id]
    return StudyData(study=study, runs=runs, other_studies=others)


def _study_runs(
    conn: sqlite3.Connection, study: StudyInfo, family_of: Callable[[str], str]
) -> list[RunRecord]:
    cols = _columns(conn, "study_runs")
    region_expr = "sr.region" if "region" in cols else "NULL"
    family_expr = "sr.family" if "family" in cols else "NULL"
    cursor = conn.execute(
        f"""
        SELECT sr.run_key, sr.block, sr.position, sr.workload, sr.params_json, sr.workers,
               sr.mode, sr.interpreter, sr.status, sr.reason, sr.run_id,
               {region_expr} AS region, {family_expr} AS family, ru.run_id AS found_run,
               ru.energy_source, ru.energy_estimate
        FROM study_runs sr LEFT JOIN runs ru ON ru.run_id = sr.run_id
        WHERE sr.study_id = ?
        ORDER BY sr.block, sr.position, sr.run_key
        """,
        (study.study_id,),
    )
    names = [d[0] for d in cursor.description]
    spec_families = _spec_field(study.spec, "family")
    spec_regions = _spec_field(study.spec, "region")
    families: dict[str, str] = {}
    out = []
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        wl = row["workload"]
        family = row["family"]
        if family is None:
            if wl not in families:
                families[wl] = spec_families.get(wl) or family_of(wl)
            family = families[wl]
        rec = RunRecord(
            run_key=row["run_key"],
            block=row["block"],
            position=row["position"],
            workload=wl,
            params_json=row["params_json"],
            workers=row["workers"],
            mode=row["mode"],
            interpreter=row["interpreter"],
            status=row["status"],
            reason=row["reason"] or "",
            run_id=row["run_id"],
            family=family,
            region=row["region"] or spec_regions.get(wl, DEFAULT_REGION),
            energy_source=row["energy_source"] or "",
            energy_estimate=bool(row["energy_estimate"]),
        )
        if rec.status != "done":
            rec.exclusion = f"{rec.status}: {rec.reason}" if rec.reason else rec.status
        elif rec.run_id is None or row["found_run"] is None:
            rec.exclusion = "done but its run is missing from the store"
        out.append(rec)
    return out


def _temp_table(
    conn: sqlite3.Connection, name: str, columns: str, rows: Iterable[tuple[Any, ...]]
) -> None:
    """A scratch table on the read-only connection (temp tables live outside the file)."""
    conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
    conn.execute(f"CREATE TEMP TABLE {name} ({columns})")
    width = len(columns.split(","))
    conn.executemany(f"INSERT INTO temp.{name} VALUES ({', '.join('?' * width)})", rows)


_REGION_SQL = """
SELECT g.run_id, g.region_idx, g.begin_ns, g.end_ns, g.begin_sample_seq, g.end_sample_seq,
       g.process_cpu_begin_ns, g.process_cpu_end_ns, g.gil_begin, g.gil_end,
       g.peak_rss_bytes AS region_peak_rss_bytes, ru.ru_maxrss_bytes,
       sb.t_ns AS b_t_ns, se.t_ns AS e_t_ns, sb.cpu_ns AS b_cpu_ns, se.cpu_ns AS e_cpu_ns,
       sb.cpu_user_ns AS b_cpu_user_ns, se.cpu_user_ns AS e_cpu_user_ns,
       sb.cpu_sys_ns AS b_cpu_sys_ns, se.cpu_sys_ns AS e_cpu_sys_ns,
       sb.ctx_voluntary AS b_ctx_voluntary, se.ctx_voluntary AS e_ctx_voluntary,
       sb.ctx_involuntary AS b_ctx_involuntary, se.ctx_involuntary AS e_ctx_involuntary,
       sb.energy_uj AS b_energy_uj, se.energy_uj AS e_energy_uj
FROM temp.gw_wanted w
CROSS JOIN regions g ON g.run_id = w.run_id AND g.name = w.region
JOIN runs ru ON ru.run_id = w.run_id
LEFT JOIN samples sb ON sb.run_id = g.run_id AND sb.seq = g.begin_sample_seq
LEFT JOIN samples se ON se.run_id = g.run_id AND se.seq = g.end_sample_seq
ORDER BY g.run_id, g.region_idx
"""

# One correlated MAX per run over its region's samples (a primary-key range): measured faster
# than a join + GROUP BY on 10M samples. The sampled RSS peak is only needed where the region
# has no peak_rss_bytes, so CASE skips that scan otherwise.
_PEAKS_SQL = """
SELECT b.run_id,
       (SELECT MAX(s.vms_bytes) FROM samples s
        WHERE s.run_id = b.run_id AND s.seq BETWEEN b.lo AND b.hi),
       CASE WHEN b.need_rss THEN
           (SELECT MAX(s.rss_bytes) FROM samples s
            WHERE s.run_id = b.run_id AND s.seq BETWEEN b.lo AND b.hi)
       END,
       (SELECT COUNT(*) FROM threads t WHERE t.run_id = b.run_id)
FROM temp.gw_bounds b
"""

_USS_SQL = """
SELECT run_id, MAX(total) FROM (
    SELECT m.run_id AS run_id, SUM(m.uss_bytes) AS total
    FROM temp.gw_wanted w CROSS JOIN memory_samples m ON m.run_id = w.run_id
    GROUP BY m.run_id, m.t_ns
) GROUP BY run_id
"""

_CORES_SQL = """
WITH edges AS (
    SELECT b.run_id AS run_id,
           (SELECT MIN(c.seq) FROM core_samples c WHERE c.run_id = b.run_id AND c.seq >= b.lo) AS s0,
           (SELECT MAX(c.seq) FROM core_samples c WHERE c.run_id = b.run_id AND c.seq <= b.hi) AS s1
    FROM temp.gw_bounds b
)
SELECT e.run_id, c1.core, c1.busy_ticks - c0.busy_ticks
FROM edges e
JOIN core_samples c0 ON c0.run_id = e.run_id AND c0.seq = e.s0
JOIN core_samples c1 ON c1.run_id = e.run_id AND c1.seq = e.s1 AND c1.core = c0.core
WHERE e.s1 > e.s0
ORDER BY e.run_id, c1.core
"""


def _attach_measurements(conn: sqlite3.Connection, runs: list[RunRecord]) -> None:
    # A caller's connection (e.g. Store.connection) must not be left inside a transaction
    # that our scratch-table inserts opened.
    was_in_transaction = conn.in_transaction
    candidates = {r.run_id: r for r in runs if not r.exclusion and r.run_id is not None}
    _temp_table(
        conn,
        "gw_wanted",
        "run_id INTEGER PRIMARY KEY, region TEXT",
        ((rid, r.region) for rid, r in candidates.items()),
    )
    raw: dict[int, dict[str, Any]] = {}
    cursor = conn.execute(_REGION_SQL)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        rec = dict(zip(names, row, strict=True))
        raw.setdefault(rec["run_id"], rec)  # the first region of that name counts
    # Without boundary samples the peaks fall back to the whole run.
    whole = (0, 2**62)
    bounds = [
        (
            rid,
            *(
                (rec["begin_sample_seq"], rec["end_sample_seq"])
                if rec["begin_sample_seq"] is not None and rec["end_sample_seq"] is not None
                else whole
            ),
            rec["region_peak_rss_bytes"] is None,
        )
        for rid, rec in raw.items()
    ]
    _temp_table(
        conn, "gw_bounds", "run_id INTEGER PRIMARY KEY, lo INTEGER, hi INTEGER, need_rss", bounds
    )
    for rid, vms, rss, threads in conn.execute(_PEAKS_SQL):
        raw[rid].update(
            sampled_peak_vms_bytes=vms, sampled_peak_rss_bytes=rss, threads_seen=threads
        )
    for rid, uss in conn.execute(_USS_SQL):
        if rid in raw:
            raw[rid]["peak_uss_bytes"] = uss
    busy: dict[int, list[float]] = defaultdict(list)
    for rid, _core, delta in conn.execute(_CORES_SQL):
        busy[rid].append(float(delta))
    for rid, ticks in busy.items():
        raw[rid]["core_busy"] = ticks
    conn.execute("DROP TABLE IF EXISTS temp.gw_wanted")
    conn.execute("DROP TABLE IF EXISTS temp.gw_bounds")
    if conn.in_transaction and not was_in_transaction:
        conn.commit()
    for rid, run in candidates.items():
        _judge(run, raw.get(rid))


def _judge(rec: RunRecord, raw: dict[str, Any] | None) -> None:
    """Fill the metrics of one done run, or say why it does not count."""
    if raw is None:
        rec.exclusion = f"no {rec.region!r} region recorded"
        return
    if raw["end_ns"] <= raw["begin_ns"]:
        rec.exclusion = f"{rec.region!r} region has no duration"
        return
    expected = EXPECTED_GIL.get(rec.mode)
    for edge in ("gil_begin", "gil_end"):
        seen = raw.get(edge)
        if expected is not None and seen is not None and int(seen) != expected:
            state = "enabled" if seen else "disabled"
            rec.exclusion = f"GIL {state} at region {edge[4:]} in mode {rec.mode}"
            return
    rec.metrics = metrics_mod.compute(raw, rec.workers)
    rec.valid = True
