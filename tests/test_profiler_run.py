"""profile() end to end on real targets: how runs end, what is stored, the kernel's account."""

from __future__ import annotations

import os
import time
from pathlib import Path

from profiler_fixtures import gil_python, output, query, run

BURN = """
def burn(seconds):
    import time
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        x += 1
"""


def test_a_clean_run_stores_samples_output_and_the_kernel_account(tmp_path: Path) -> None:
    result = run(tmp_path, BURN + "burn(0.3)\nprint('hello out')\n", interval_ns=5_000_000)
    assert (result.status, result.exit_code, result.exit_signal) == ("ok", 0, None)
    assert result.ticks >= 20 and result.samples >= result.ticks
    ((status, ru_user, ru_sys, maxrss, achieved, sampler_cpu),) = query(
        tmp_path,
        "SELECT status, ru_utime_ns, ru_stime_ns, ru_maxrss_bytes, achieved_interval_ns,"
        " sampler_cpu_ns FROM runs",
    )
    assert status == "ok" and ru_user + ru_sys >= 0.25e9 and maxrss > 4 << 20
    assert 4e6 < achieved < 7e6 and sampler_cpu > 0
    # The last sample (taken after the reap) agrees with the kernel's own account.
    ((cpu_ns, trigger),) = query(
        tmp_path, "SELECT cpu_ns, trigger FROM samples ORDER BY seq DESC LIMIT 1"
    )
    assert trigger == "final"
    assert abs(cpu_ns - (ru_user + ru_sys)) <= 0.02 * (ru_user + ru_sys)
    seqs = [s for (s,) in query(tmp_path, "SELECT seq FROM samples ORDER BY seq")]
    assert seqs == list(range(len(seqs)))
    assert output(tmp_path) == b"hello out\n"
    # Per-core ticks (10 ms steps) are read on the 100 ms status tier, every core each time.
    per_seq = query(tmp_path, "SELECT count(*) FROM core_samples GROUP BY seq")
    assert len(per_seq) >= 3 and {n for (n,) in per_seq} == {os.cpu_count()}
    assert query(tmp_path, "SELECT count(DISTINCT tid) FROM thread_samples")[0][0] >= 1
    assert query(tmp_path, "SELECT count(*) FROM memory_samples")[0][0] >= 1
    ((cmdline,),) = query(tmp_path, "SELECT cmdline FROM processes")
    assert cmdline.endswith("target.py")  # the target's, not the launcher's it replaced
    assert result.summary.cpu_user_ns + result.summary.cpu_sys_ns == ru_user + ru_sys


def test_non_zero_exit_keeps_the_run_and_the_stderr_tail(tmp_path: Path) -> None:
    code = "import sys\nprint('something broke: details', file=sys.stderr)\nsys.exit(3)\n"
    result = run(tmp_path, code)
    assert (result.status, result.exit_code, result.exit_signal) == ("failed", 3, None)
    assert "something broke: details" in result.stderr_tail
    assert query(tmp_path, "SELECT status, exit_code FROM runs") == [("failed", 3)]


def test_killed_by_a_signal(tmp_path: Path) -> None:
    result = run(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert (result.status, result.exit_code, result.exit_signal) == ("signaled", None, 9)
    assert query(tmp_path, "SELECT status, exit_signal FROM runs") == [("signaled", 9)]


def test_timeout_stops_the_tree_and_keeps_the_samples(tmp_path: Path) -> None:
    code = "import time\nprint('started', flush=True)\ntime.sleep(60)\n"
    began = time.monotonic()
    result = run(tmp_path, code, timeout_s=0.5)
    assert time.monotonic() - began < 10
    assert result.status == "timeout" and result.exit_signal == 2  # SIGINT ends Python itself
    assert query(tmp_path, "SELECT count(*) FROM samples")[0][0] >= 10
    assert query(tmp_path, "SELECT status FROM runs") == [("timeout",)]


def test_a_target_ignoring_sigint_and_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    began = time.monotonic()
    result = run(tmp_path, code, timeout_s=0.3, term_grace_s=0.3)
    assert time.monotonic() - began < 10
    assert (result.status, result.exit_signal) == ("timeout", 9)


def test_exact_peak_rss_catches_a_spike_shorter_than_the_interval(tmp_path: Path) -> None:
    # 200 MB allocated, touched and freed inside one 1 s interval; the target reports its RSS
    # just before, so the expected peak is that plus 200 MB.
    code = (
        "import time\n"
        "time.sleep(0.2)\n"
        "rss = int(open('/proc/self/statm').read().split()[1]) * 4096\n"
        "block = bytearray(200_000_000)\n"
        "block[::4096] = b'x' * len(block[::4096])\n"
        "del block\n"
        "print(rss)\n"
    )
    result = run(
        tmp_path, code, interval_ns=10**9, status_interval_ns=10**9, memory_interval_ns=10**9
    )
    assert result.status == "ok"
    expected = int(output(tmp_path)) + 200_000_000
    assert abs(result.summary.peak_rss_bytes - expected) <= 0.01 * expected


def test_gilwatt_environment_reaches_the_target(tmp_path: Path) -> None:
    code = "import os\nprint(os.environ['GILWATT_MARKER_FD'].count(':'), os.environ['EXTRA'])\n"
    result = run(tmp_path, code, env={"EXTRA": "yes"})
    assert result.status == "ok"
    assert output(tmp_path) == b"1 yes\n"
    ((env_json,),) = query(tmp_path, "SELECT env_json FROM runs")
    assert "EXTRA" in env_json and "PYTHONPATH" in env_json and "GILWATT_MARKER_FD" in env_json


def test_ctrl_c_in_the_library_stores_the_run_then_raises(tmp_path: Path) -> None:
    import os
    import signal
    import threading

    import pytest

    from gilwatt.profiler import ProfileInterrupted, ProfileRequest, profile

    script = tmp_path / "t.py"
    script.write_text("import time\ntime.sleep(30)\n")
    request = ProfileRequest(
        argv=[gil_python(), str(script)], store_path=tmp_path / "runs.db", passthrough=False,
        term_grace_s=0.5,
    )  # fmt: skip
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    began = time.monotonic()
    with pytest.raises(ProfileInterrupted) as caught:
        profile(request)
    timer.join()
    assert time.monotonic() - began < 10
    assert caught.value.result.status == "interrupted"
    assert query(tmp_path, "SELECT status FROM runs") == [("interrupted",)]
    assert query(tmp_path, "SELECT count(*) FROM samples")[0][0] > 50
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_without_setsid_a_seeded_peak_is_recognised(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from gilwatt import launcher

    real_which = shutil.which
    monkeypatch.setattr(
        launcher.shutil,
        "which",
        lambda name, **kw: None if name == "setsid" else real_which(name, **kw),
    )
    # Started directly, the target's ru_maxrss starts at gilwatt's own peak RSS: a small target
    # cannot be told apart from that seed, so the run falls back to the VmHWM it read...
    small = run(tmp_path, "import time\ntime.sleep(0.3)\n")
    assert query(tmp_path, "SELECT ru_maxrss_bytes FROM runs")[0][0] is None
    assert any(w.startswith("peak RSS is the highest VmHWM") for w in small.warnings)
    assert 5 << 20 < small.summary.peak_rss_bytes < 100 << 20
    # ...while a peak above the seed is the kernel's exact figure again.
    seed = launcher._own_hwm_bytes()
    big = run(tmp_path, f"b = bytearray({seed + (50 << 20)})\nb[::4096] = b'x' * len(b[::4096])\n")
    assert big.summary.peak_rss_bytes > seed + (50 << 20)
    assert not any(w.startswith("peak RSS") for w in big.warnings)
