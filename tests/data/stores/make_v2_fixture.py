"""Write ``v2-run.db``: a real store of schema version 2, written by gilwatt at fe7d813.

The file is committed; this script documents how it was made. It profiles a small threaded
program with the gilwatt of that commit (before schema version 3), so the file is what a user
of that version has on disk::

    git archive fe7d813 | tar -x -C /tmp/gilwatt-v2
    PYTHONPATH=/tmp/gilwatt-v2/src python tests/data/stores/make_v2_fixture.py

tests/test_store_schema.py opens a copy with today's Store and checks the upgrade to 3.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
PROGRAM = """
import threading
from gilwatt.markers import region
def work():
    x = 0
    for i in range(300_000):
        x += i
with region("kernel"):
    ts = [threading.Thread(target=work) for _ in range(2)]
    [t.start() for t in ts]
    [t.join() for t in ts]
print("hello from v2")
"""


def main() -> None:
    from gilwatt.profiler import ProfileRequest, profile
    from gilwatt.store import schema

    assert schema.SCHEMA_VERSION == 2, "run this with the gilwatt of fe7d813 on PYTHONPATH"
    out = HERE / "v2-run.db"
    out.unlink(missing_ok=True)
    script = Path("/tmp/gilwatt-v2-program.py")
    script.write_text(PROGRAM)
    result = profile(
        ProfileRequest(argv=[sys.executable, str(script)], store_path=out, passthrough=False,
                       handle_signals=False, energy_model="ccf-linear")
    )  # fmt: skip
    assert result.status == "ok"
    import sqlite3

    conn = sqlite3.connect(out)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    print(out, "run", result.run_id)


if __name__ == "__main__":
    main()
