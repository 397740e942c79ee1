"""The tree sampler on real process trees: children found, exits accounted, orphans reaped."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

from gilwatt.sampler import TreeSampler
from profiler_fixtures import output, query, run

CHILD_BURN = "x = 0\nfor i in range(3_000_000): x += i\n"  # about 0.1-0.3 s of CPU


def _tree_account(tmp_path: Path) -> tuple[int, int]:
    """(cpu of the final sample, the kernel's account of the tree)."""
    ((ru,),) = query(tmp_path, "SELECT ru_utime_ns + ru_stime_ns FROM runs")
    ((final,),) = query(tmp_path, "SELECT cpu_ns FROM samples WHERE trigger = 'final'")
    return final, ru


def test_children_are_found_and_an_early_exit_is_accounted(tmp_path: Path) -> None:
    code = f"""
    import subprocess, sys, time
    burn = {CHILD_BURN!r}
    early = subprocess.Popen([sys.executable, "-c", burn])           # exits long before the end
    late = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.4)\\n" + burn])
    early.wait()
    time.sleep(0.2)
    late.wait()
    print(early.pid, late.pid)
    """
    result = run(tmp_path, code, interval_ns=5_000_000)
    assert result.status == "ok"
    early, late = (int(p) for p in output(tmp_path).split())
    pids = {p for (p,) in query(tmp_path, "SELECT pid FROM processes")}
    assert {early, late} <= pids
    assert query(tmp_path, "SELECT max(processes) FROM samples")[0][0] >= 3
    final, kernel = _tree_account(tmp_path)
    assert kernel > 0.1e9  # the children's CPU is in the root's account...
    assert abs(final - kernel) <= 0.02 * kernel  # ...and in the sampled tree total


def test_tree_cpu_never_goes_backwards_while_children_come_and_go(tmp_path: Path) -> None:
    code = f"""
    import subprocess, sys
    for _ in range(4):
        subprocess.run([sys.executable, "-c", {CHILD_BURN!r}])
    """
    result = run(tmp_path, code, interval_ns=2_000_000)
    assert result.status == "ok"
    rows = query(tmp_path, "SELECT cpu_ns, cpu_user_ns, cpu_sys_ns FROM samples ORDER BY seq")
    for column in range(3):  # the total, and user and sys each
        values = [row[column] for row in rows]
        assert all(b >= a for a, b in itertools.pairwise(values))
    assert all(cpu == user + sys for cpu, user, sys in rows)
    final, kernel = _tree_account(tmp_path)
    assert abs(final - kernel) <= 0.02 * kernel


def test_an_orphaned_grandchild_is_reaped_and_accounted(tmp_path: Path) -> None:
    # The child starts a grandchild and exits at once; the grandchild, re-parented to gilwatt
    # (child subreaper), burns CPU and exits; the root waits for it through a pipe.
    code = f"""
    import os, subprocess, sys
    r, w = os.pipe()
    grand = ("import os, sys\\n" + {CHILD_BURN!r} + "os.write(int(sys.argv[1]), str(os.getpid()).encode())")
    starter = ("import subprocess, sys\\n"
               "subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]], pass_fds=[int(sys.argv[2])])")
    subprocess.run([sys.executable, "-c", starter, grand, str(w)], pass_fds=[w])
    os.close(w)
    grand_pid = int(os.read(r, 100))
    while os.read(r, 100):
        pass
    import time; time.sleep(0.1)
    print(grand_pid)
    """
    result = run(tmp_path, code, interval_ns=5_000_000)
    assert result.status == "ok"
    grand = int(output(tmp_path))
    ((ppid,),) = query(tmp_path, "SELECT ppid FROM processes WHERE pid = ?", (grand,))
    assert ppid == os.getpid()  # it ended as gilwatt's child...
    final, kernel = _tree_account(tmp_path)
    ((root_cpu,),) = query(
        tmp_path,
        "SELECT cpu_ns FROM processes WHERE ppid = ? AND pid != ? ORDER BY first_ns LIMIT 1",
        (os.getpid(), grand),
    )
    assert kernel - root_cpu > 0.05e9  # ...so its CPU is in the account only through our reap
    assert abs(final - kernel) <= 0.02 * kernel


def test_threads_appear_with_their_cpu(tmp_path: Path) -> None:
    code = """
    import threading
    together = threading.Barrier(3)  # all three alive at once, whatever the machine's load
    def work():
        together.wait()
        x = 0
        for i in range(1_500_000):
            x += i
        together.wait()
    ts = [threading.Thread(target=work) for _ in range(3)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    """
    # The thread count and each thread's CPU come from the thread hook's start and end events,
    # not from /proc reads on the 100 ms tier, which a loaded machine can make the threads'
    # whole life fall between (the cause of this test's old flakiness).
    result = run(tmp_path, code, interval_ns=5_000_000)
    assert result.status == "ok"
    assert result.summary.max_threads == 4 and result.summary.max_threads_exact
    rows = query(tmp_path, "SELECT tid, cpu_ns FROM threads WHERE end_ns IS NOT NULL")
    busy = [cpu for _, cpu in rows if cpu > 20e6]
    assert len(busy) >= 3
    assert query(tmp_path, "SELECT count(*) FROM thread_samples WHERE core IS NOT NULL")[0][0] > 0
    assert query(tmp_path, "SELECT count(*) FROM threads")[0][0] == 4


def test_sampler_on_a_fake_root_reads_the_captured_tree() -> None:
    root = Path(__file__).parent / "data" / "roots" / "proc-tree"
    sampler = TreeSampler(29944, root=root, memory_interval_ns=1)
    try:
        sampler.sample()  # smaps_rollup is not read at the very first sample...
        seq = sampler.sample()  # ...but once its (here 1 ns) interval has passed
        rows, procs, threads = sampler.drain()
    finally:
        sampler.close()
    assert seq == 1 and len(rows.samples) == 2
    sample = rows.samples[1]
    assert sample[10] == 3 and sample[11] == 2  # threads, processes (the child was found)
    assert {p[0] for p in procs} == {29944, 29949}
    assert len(threads) == 3 and len(rows.memory) == 2
    assert sample[4] > 0 and sample[7] > 0  # CPU from ticks (no clock on a fake root), RSS


def test_sampler_cost_is_counted() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    try:
        sampler = TreeSampler(child.pid)
        for _ in range(50):
            sampler.sample()
        assert sampler.samples_taken == 50
        per_sample = sampler.sample_cpu_ns / 50
        assert 0 < per_sample < 5e6
        sampler.close()
    finally:
        child.kill()
        child.wait()
