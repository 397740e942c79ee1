"""Write ``v1-run.db``: a store in the schema version 1 layout, holding one small run.

The file is committed; this script documents how it was made and can remake it. It takes the
version 1 DDL from the commit that introduced it, so it does not depend on today's schema.sql::

    git show 369f0ea:src/gilwatt/store/schema.sql > /tmp/schema-v1.sql
    python tests/data/stores/make_v1_fixture.py /tmp/schema-v1.sql

tests/test_store_schema.py opens a copy with today's Store and checks the upgrade.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(schema_v1: Path) -> None:
    out = HERE / "v1-run.db"
    out.unlink(missing_ok=True)
    conn = sqlite3.connect(out)
    conn.executescript(schema_v1.read_text())
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.execute(
        "INSERT INTO hosts VALUES (1, 'fp-host', 'fixture-host', 'AMD EPYC 7B13', 2,"
        " '6.1.0-fixture', 8000000000, 'avx2 sse4_2', '{}')"
    )
    conn.execute(
        "INSERT INTO interpreters VALUES (1, 'fp-interp', '/opt/py/bin/python3.13t', '3.13.5',"
        " 'cpython', 1, 0, '{}')"
    )
    start = 1_000_000_000
    conn.execute(
        "INSERT INTO runs (run_id, host_id, interp_id, label, command_json, cwd, env_json,"
        " started_unix_ns, start_ns, end_ns, status, exit_code, interval_ns, memory_interval_ns,"
        " achieved_interval_ns, energy_source, energy_estimate, ru_utime_ns, ru_stime_ns,"
        " ru_maxrss_bytes, ru_nvcsw, ru_nivcsw, attrs_json)"
        " VALUES (1, 1, 1, 'fixture', ?, '/tmp', '{\"PYTHON_GIL\": \"0\"}', 1700000000000000000,"
        " ?, ?, 'ok', 0, 10000000, 1000000000, 10000000.0, 'model:fixture', 1, 190000000,"
        " 10000000, 52000000, 12, 3, '{\"verified\": true}')",
        (json.dumps(["python3.13t", "work.py"]), start, start + 500_000_000),
    )
    samples = []
    for seq in range(51):
        t = start + seq * 10_000_000
        cpu = seq * 4_000_000  # 0.4 cores of user time on average
        samples.append(
            (
                1,
                seq,
                t,
                t,
                "tick",
                cpu,
                cpu * 9 // 10,
                cpu // 10,
                40_000_000 + seq * 100_000,
                400_000_000,
                0,
                3,
                1,
                seq // 5,
                seq // 20,
                seq * 1000,
            )
        )
    conn.executemany(f"INSERT INTO samples VALUES ({','.join('?' * 16)})", samples)
    conn.executemany(
        "INSERT INTO core_samples VALUES (1, ?, ?, ?, ?)",
        [(seq, core, seq * (1 if core else 0), seq) for seq in range(51) for core in (0, 1)],
    )
    conn.executemany(
        "INSERT INTO threads VALUES (1, ?, 100, ?, ?, ?)",
        [
            (100, "MainThread", start, start + 500_000_000),
            (101, "worker", start, start + 400_000_000),
        ],
    )
    conn.executemany(
        "INSERT INTO thread_samples VALUES (1, ?, ?, ?, ?)",
        [(seq, tid, seq * 2_000_000, tid - 100) for seq in range(51) for tid in (100, 101)],
    )
    conn.execute(
        "INSERT INTO processes VALUES (1, 100, 1, 'python3.13t work.py', ?, ?, 200000000, 51000000)",
        (start, start + 500_000_000),
    )
    conn.execute(
        "INSERT INTO memory_samples VALUES (1, ?, 100, 41000000, 30000000, 25000000, 0)", (start,)
    )
    conn.execute("INSERT INTO energy_zones VALUES (1, 'model:fixture', '', NULL, NULL, 1)")
    conn.executemany(
        "INSERT INTO energy_samples VALUES (1, ?, 'model:fixture', ?)",
        [(seq, seq * 1000) for seq in range(51)],
    )
    conn.executemany(
        f"INSERT INTO markers VALUES ({','.join('?' * 13)})",
        [
            (
                1,
                0,
                "B",
                100,
                100,
                0,
                "kernel",
                start + 100_000_000,
                40_000_000,
                40_000_000,
                0,
                "{}",
                10,
            ),
            (
                1,
                1,
                "E",
                100,
                100,
                1,
                "kernel",
                start + 300_000_000,
                120_000_000,
                120_000_000,
                0,
                "{}",
                30,
            ),
        ],
    )
    conn.execute(
        f"INSERT INTO regions VALUES ({','.join('?' * 17)})",
        (
            1,
            0,
            "kernel",
            100,
            100,
            start + 100_000_000,
            start + 300_000_000,
            10,
            30,
            40_000_000,
            120_000_000,
            40_000_000,
            120_000_000,
            0,
            0,
            None,
            '{"workers": 2}',
        ),
    )
    conn.execute("INSERT INTO outputs VALUES (1, 'stdout', 0, ?)", (b"hello from v1\n",))
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
