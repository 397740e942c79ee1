"""A study's region measurements, aggregated inside SQLite.

Samples are never pulled into Python: the measured region's boundary samples are looked up
by primary key, peaks over the region's samples are ``MAX`` over a primary-key range, per-core
busy time is the difference of the first and last core sample inside the region. One query
per table, however many runs the study has (``bench/bench_compare.py`` times it).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from gilwatt.store.study_context import StudyContext, read_study_context

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


def _temp_table(
    conn: sqlite3.Connection, name: str, columns: str, rows: Iterable[tuple[Any, ...]]
) -> None:
    """A scratch table (temp tables live outside the file, so a read-only store takes them)."""
    conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
    conn.execute(f"CREATE TEMP TABLE {name} ({columns})")
    width = len(columns.split(","))
    conn.executemany(f"INSERT INTO temp.{name} VALUES ({', '.join('?' * width)})", rows)


class StudyMeasurements:
    """The study-analysis reader of :class:`gilwatt.store.Store`."""

    _conn: sqlite3.Connection

    def study_context(self, study_id: int) -> StudyContext:
        """The hosts' usable CPUs and the interpreters' versions of study ``study_id``."""
        return read_study_context(self._conn, study_id)

    def region_measurements(self, wanted: Mapping[int, str]) -> dict[int, dict[str, Any]]:
        """Per run (run_id -> region name): the region's first row of that name, its boundary
        samples, sampled peaks, threads seen and per-core busy ticks, as one flat dict.

        The keys are the figures ``analysis.metrics.compute`` reads; a run without such a
        region is absent.
        """
        conn = self._conn
        was_in_transaction = conn.in_transaction
        _temp_table(conn, "gw_wanted", "run_id INTEGER PRIMARY KEY, region TEXT", wanted.items())
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
            conn,
            "gw_bounds",
            "run_id INTEGER PRIMARY KEY, lo INTEGER, hi INTEGER, need_rss",
            bounds,
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
        # The store's writer must not be left inside a transaction our scratch inserts opened.
        if conn.in_transaction and not was_in_transaction:
            conn.execute("COMMIT")
        return raw
