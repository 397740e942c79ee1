"""Crash safety: a writer killed with SIGKILL loses only what it had not flushed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from gilwatt.store import Store

WRITER = textwrap.dedent(
    """
    import sys, time
    from gilwatt.readback import HostInfo
    from gilwatt.store import Store

    store = Store.open(sys.argv[1])
    host = store.ensure_host(HostInfo("h", "cpu", 2, "6.1", 1 << 30))
    run_id = store.begin_run(host_id=host, command=["target"], cwd="/", started_unix_ns=0,
                             start_ns=0, interval_ns=10, memory_interval_ns=1000)
    seq = 0
    for batch in range(3):
        rows = []
        for _ in range(100):
            rows.append((seq, seq * 10, seq * 10, "tick", seq, seq, 0, 1, 1, 0, 1, 1, 0, 0, seq))
            seq += 1
        store.add_samples(run_id, rows)
        store.append_output(run_id, "stdout", b"batch %d\\n" % batch)
        store.flush()
        print("flushed", seq, flush=True)
    # A batch that is written but never flushed: the kill must lose exactly this.
    store.add_samples(run_id, [(s, s * 10, None, "tick", s, s, 0, 1, 1, 0, 1, 1, 0, 0, s)
                               for s in range(seq, seq + 50)])
    print("unflushed", flush=True)
    time.sleep(60)
    """
)


def test_sigkill_keeps_every_flushed_batch(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline().strip() for _ in range(4)]
            assert lines == ["flushed 100", "flushed 200", "flushed 300", "unflushed"]
            # While the writer holds its open batch, another process reads the committed part.
            with Store.open(path, create=False) as reader:
                assert reader.timeline(1).t_ns.shape == (300,)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    # The file opens cleanly (WAL recovery), is intact, and holds exactly what was flushed.
    with Store.open(path, create=False) as store:
        conn = store._conn
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (run,) = store.runs()
        assert run.status == "running"  # never finished: kept, as it was
        tl = store.timeline(run.run_id)
        assert tl.t_ns.tolist() == [s * 10 for s in range(300)]
        assert store.output(run.run_id, "stdout") == b"batch 0\nbatch 1\nbatch 2\n"
        assert store.summary(run.run_id).wall_ns == 2990  # up to the last flushed sample
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT max(seq) FROM samples").fetchone() == (299,)
    raw.close()
