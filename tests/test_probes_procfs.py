"""The /proc probes: parsers on captured files, readers on this machine's live /proc."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from gilwatt.errors import ProcessGone
from gilwatt.probes import cpu, memory, procfs

ROOT = Path(__file__).parent / "data" / "roots" / "proc-tree"
PARENT, CHILD = 29944, 29949  # see the capture's README


def test_stat_parsing_of_a_captured_process() -> None:
    stat = procfs.parse_stat((ROOT / "proc" / str(PARENT) / "stat").read_bytes())
    assert stat.num_threads == 2
    assert stat.state in "RSD"
    assert stat.rss_bytes > 1 << 20 and stat.vsize_bytes > stat.rss_bytes
    assert stat.utime_ns % procfs.NS_PER_TICK == 0
    child = procfs.parse_stat((ROOT / "proc" / str(CHILD) / "stat").read_bytes())
    assert child.ppid == PARENT


def test_stat_parsing_survives_a_hostile_comm() -> None:
    # comm may contain spaces and parentheses; fields are counted from the last ')'.
    line = (
        b"42 (a) (b c)) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 3 0 99 1000 5 " + b"0 " * 20
    )
    stat = procfs.parse_stat(line)
    assert (stat.ppid, stat.utime_ns, stat.stime_ns) == (
        1,
        7 * procfs.NS_PER_TICK,
        3 * procfs.NS_PER_TICK,
    )
    assert (stat.cutime_ns, stat.cstime_ns, stat.num_threads) == (
        2 * procfs.NS_PER_TICK,
        procfs.NS_PER_TICK,
        3,
    )
    assert stat.vsize_bytes == 1000 and stat.rss_bytes == 5 * procfs.PAGE_SIZE


def test_stat_fields_split_up_to_a_field_keep_the_rest_whole() -> None:
    data = (ROOT / "proc" / str(PARENT) / "stat").read_bytes()
    full = procfs.stat_fields(data)
    head = procfs.stat_fields(data, procfs.NUM_THREADS_FIELD)
    assert head[: procfs.NUM_THREADS_FIELD + 1] == full[: procfs.NUM_THREADS_FIELD + 1]
    assert len(head) == procfs.NUM_THREADS_FIELD + 2  # the rest in one item
    assert int(head[procfs.NUM_THREADS_FIELD]) == procfs.parse_stat(data).num_threads == 2


def test_stat_head_is_parse_stats_head() -> None:
    hostile = b"42 (a) (b c)) Z 7 42 42 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 3 0 99 1000 5 "
    for data in ((ROOT / "proc" / str(CHILD) / "stat").read_bytes(), hostile + b"0 " * 20):
        full, head = procfs.parse_stat(data), procfs.parse_stat_head(data)
        assert (head.state, head.ppid, head.num_threads) == (
            full.state,
            full.ppid,
            full.num_threads,
        )
        assert head.user_ticks * procfs.NS_PER_TICK == full.utime_ns
        assert head.sys_ticks * procfs.NS_PER_TICK == full.stime_ns
        assert (head.child_user_ns, head.child_sys_ns) == (full.cutime_ns, full.cstime_ns)
    head = procfs.parse_stat_head(hostile)  # what the sampler needs, without the tail
    assert (head.state, head.ppid, head.user_ticks, head.sys_ticks, head.num_threads) == (
        "Z",
        7,
        7,
        3,
        3,
    )
    with pytest.raises(ValueError):
        procfs.parse_stat_head(b"42 (a) S 1 42 42 0")


def test_statm_gives_vms_and_rss_in_bytes() -> None:
    data = (ROOT / "proc" / str(PARENT) / "statm").read_bytes()
    vms_bytes, rss_bytes = procfs.parse_statm(data)
    stat = procfs.parse_stat((ROOT / "proc" / str(PARENT) / "stat").read_bytes())
    assert (vms_bytes, rss_bytes) == (stat.vsize_bytes, stat.rss_bytes)  # one capture
    assert procfs.parse_statm(b"0 0 0 0 0 0 0\n") == (0, 0)  # a zombie's


def test_pids_of_a_children_file() -> None:
    task = ROOT / "proc" / str(PARENT) / "task"
    assert procfs.parse_pids((task / str(PARENT) / "children").read_bytes()) == [CHILD]
    assert procfs.parse_pids(b"") == []
    assert procfs.parse_pids(b"12 345 6 ") == [12, 345, 6]


def test_schedstat_run_ns_is_parse_schedstats_first_field() -> None:
    data = b"123456 789 10\n"
    assert procfs.schedstat_run_ns(data) == procfs.parse_schedstat(data)[0] == 123456


def test_status_and_schedstat_parsing() -> None:
    status = procfs.parse_status((ROOT / "proc" / str(PARENT) / "status").read_bytes())
    assert status.threads == 2
    assert status.hwm_bytes >= 1 << 20 and status.vm_peak_bytes >= status.hwm_bytes
    assert status.ctx_voluntary >= 0 and status.ctx_involuntary >= 0
    zombie = procfs.parse_status(b"Name:\tx\nState:\tZ (zombie)\nThreads:\t1\n")
    assert zombie.hwm_bytes == -1 and zombie.threads == 1
    run_ns, wait_ns, slices = procfs.parse_schedstat(b"123456 789 10\n")
    assert (run_ns, wait_ns, slices) == (123456, 789, 10)


def test_tree_shape_from_the_capture() -> None:
    assert procfs.list_threads(ROOT, PARENT) == [PARENT, PARENT + 4]
    assert procfs.children_of(ROOT, PARENT) == {CHILD}
    assert procfs.children_of(ROOT, CHILD) == set()
    assert procfs.read_comm(ROOT, PARENT, PARENT + 4) == "python"  # 3.11 does not name threads
    assert "python" in procfs.read_cmdline(ROOT, PARENT)


def test_process_clock_of_this_process_matches_process_time() -> None:
    clock = procfs.process_clock_id(os.getpid())
    before = time.process_time_ns()
    value = procfs.read_clock_ns(clock)
    after = time.process_time_ns()
    assert value is not None and before <= value <= after


def test_process_clock_reads_another_process() -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "x = sum(range(3_000_000))"])
    clock = procfs.process_clock_id(child.pid)
    seen = 0
    while child.poll() is None:
        seen = procfs.read_clock_ns(clock) or seen
    assert seen > 0
    assert procfs.read_clock_ns(clock) is None  # reaped: the kernel refuses


def test_kept_open_stat_fails_cleanly_after_reap() -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    fd = procfs.open_file(Path(f"/proc/{child.pid}/stat"), child.pid)
    try:
        child.wait()
        with pytest.raises(ProcessGone):
            procfs.pread(fd, child.pid)
    finally:
        os.close(fd)
    with pytest.raises(ProcessGone):
        procfs.open_file(Path(f"/proc/{child.pid}/stat"), child.pid)


def test_children_of_sees_zombies() -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while procfs.parse_stat(Path(f"/proc/{child.pid}/stat").read_bytes()).state != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert child.pid in procfs.children_of(Path("/"), os.getpid())
    child.wait()


def test_availability_checks() -> None:
    assert procfs.available()
    assert cpu.available()
    assert memory.available()
    missing = procfs.available(Path("/nonexistent"))
    assert not missing and "procfs" in missing.reason


def test_per_core_ticks() -> None:
    cores = cpu.parse_cores((ROOT / "proc" / "stat").read_bytes())
    assert len(cores) >= 1
    assert all(0 <= busy <= total for busy, total in cores)
    reader = cpu.CoreStatReader()
    try:
        first = reader.read()
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            pass  # keep one core busy for a few ticks
        second = reader.read()
    finally:
        reader.close()
    assert len(first) == len(second) == reader.cores == os.cpu_count()
    assert sum(b for b, _ in second) > sum(b for b, _ in first)


def test_cpu_line_guest_time_is_not_counted_twice() -> None:
    data = b"cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 10 1 5 100 3 1 1 2 6 1\nintr 1 2\n"
    assert cpu.parse_cores(data) == [
        (18, 123)
    ]  # busy 10+1+5+1+1; total + idle 100, iowait 3, steal 2


def test_smaps_rollup_parsing_and_live_read() -> None:
    detail = memory.parse_smaps_rollup((ROOT / "proc" / str(PARENT) / "smaps_rollup").read_bytes())
    assert 0 < detail.uss_bytes <= detail.pss_bytes <= detail.rss_bytes
    reader = memory.SmapsRollupReader(os.getpid())
    live = reader.read()
    assert live is not None and live.uss_bytes > 0
    block = bytearray(64 << 20)  # 64 MiB touched: USS must grow by about that
    block[::4096] = b"x" * len(block[::4096])
    grown = reader.read()
    assert grown is not None and grown.uss_bytes - live.uss_bytes > 60 << 20
    del block


def test_thread_list_of_this_process() -> None:
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        tids = procfs.list_threads(Path("/"), os.getpid())
        assert threading.get_native_id() in tids and worker.native_id in tids
    finally:
        stop.set()
        worker.join()
