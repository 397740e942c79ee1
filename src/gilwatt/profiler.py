"""Profile one command: launch it, sample it from outside, store everything, summarise.

This is the library entry point that ``gilwatt profile``, ``gilwatt workloads run`` and the
study runner all call. It never prints; progress and the target's live output go to the
callbacks and streams the caller passes.

One thread does everything, so nothing competes for gilwatt's own GIL: it waits in ``select``
on the marker pipe, the target's stdout/stderr, the target's pidfd and a signal wake-up pipe
until the next tick's absolute deadline on CLOCK_MONOTONIC. A marker line wakes it at once and
it takes an extra sample there (trigger ``marker``), so region figures come from readings at the
boundary. Rows go to the store in batches committed every ``FLUSH_NS`` (a crash loses at most
one batch); the live processes' and threads' own rows (last seen, CPU so far) are rewritten
every ``REFRESH_FLUSHES`` batches and at the end.

Stopping: Ctrl-C (SIGINT, SIGTERM or SIGHUP to gilwatt) or ``timeout_s`` sends SIGINT to the target's
tree, then SIGTERM, then SIGKILL, ``term_grace_s`` apart, sampling all the while; the run keeps
everything and ends as ``interrupted`` / ``timeout``.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gilwatt import launcher
from gilwatt.errors import ConfigError, GilwattError
from gilwatt.readback import InterpreterInfo, RunInfo, RunSummary
from gilwatt.recording import MarkerReceiver, OutputRecorder, region_rows
from gilwatt.sampler import CTX, STATUS, TreeSampler

DEFAULT_INTERVAL_NS = 10_000_000  # 10 ms
DEFAULT_MEMORY_INTERVAL_NS = 1_000_000_000  # smaps_rollup tier: 1 s
DEFAULT_STATUS_INTERVAL_NS = 100_000_000  # stat/status per process, per-core ticks
FLUSH_NS = 500_000_000
REFRESH_FLUSHES = 4  # live processes' and threads' rows (last seen, CPU) every 4th flush: 2 s


@dataclass(kw_only=True)
class ProfileRequest:
    argv: list[str]  # the full command to exec, e.g. [python, script.py, args...]
    store_path: Path
    interval_ns: int = DEFAULT_INTERVAL_NS
    memory_interval_ns: int = DEFAULT_MEMORY_INTERVAL_NS
    timeout_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)  # overrides on top of os.environ
    cwd: Path | None = None
    interpreter: InterpreterInfo | None = None  # None for --cmd targets that are not Python
    label: str = ""
    study_id: int | None = None
    passthrough: bool = True  # copy the target's stdout/stderr live to stdout_sink/stderr_sink
    stdout_sink: IO[bytes] | None = None
    stderr_sink: IO[bytes] | None = None
    idle_baseline_s: float = 0.0
    cpu_tdp_w: float | None = None  # energy model overrides
    energy_model: str | None = None
    on_warning: Callable[[str], None] | None = None  # called as warnings arise (probe fallbacks...)
    status_interval_ns: int = DEFAULT_STATUS_INTERVAL_NS
    term_grace_s: float = 2.0  # between SIGINT, SIGTERM and SIGKILL when stopping the target
    linger_s: float = 2.0  # how long to keep sampling descendants still alive after the root exits
    base_env: dict[str, str] | None = None  # the environment to start from (default os.environ)
    handle_signals: bool = True  # catch SIGINT/SIGTERM (main thread only) to stop the target
    thread_hook: bool = True  # report every Python thread's start and end (gilwatt.threadhook)


@dataclass
class ProfileResult:
    run_id: int
    status: str  # ok|failed|signaled|timeout|interrupted
    exit_code: int | None
    exit_signal: int | None
    summary: RunSummary
    stderr_tail: str
    warnings: list[str]
    info: RunInfo | None = None
    sampler_cpu_ns: int = 0  # gilwatt's own CPU while sampling (the loop thread)
    samples: int = 0
    ticks: int = 0
    missed_deadlines: int = 0
    achieved_interval_ns: float | None = None
    flush_cpu_ns: int = 0  # of sampler_cpu_ns, the part spent writing to the store


class ProfileInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the run; everything sampled is stored in ``result``."""

    def __init__(self, result: ProfileResult) -> None:
        super().__init__(f"run {result.run_id} interrupted")
        self.result = result


def profile(request: ProfileRequest) -> ProfileResult:
    """Run ``request.argv`` under the sampler and return its stored summary.

    Bad input (command not found, unwritable or newer store, bad intervals) raises ConfigError
    before anything is written. A target that fails or times out is not an error: the result
    says how it ended. Ctrl-C or SIGTERM (caught while ``handle_signals``) stops the target,
    stores the run as 'interrupted' and then raises :class:`ProfileInterrupted` (a
    KeyboardInterrupt carrying the result), so that loops over many runs stop too.
    """
    from gilwatt.store import Store

    _check_request(request)
    env = dict(os.environ if request.base_env is None else request.base_env)
    env.update(request.env)
    argv = [launcher.resolve_executable(request.argv[0], env), *request.argv[1:]]
    store = Store.open(request.store_path)
    try:
        result = _Run(request, store, argv, env).run()
    finally:
        store.close()
    if result.status == "interrupted":
        raise ProfileInterrupted(result)
    return result


def _check_request(request: ProfileRequest) -> None:
    if not request.argv:
        raise ConfigError(
            "nothing to profile: the command is empty.", hint="Give a command after --."
        )
    for name in ("interval_ns", "memory_interval_ns", "status_interval_ns"):
        value = getattr(request, name)
        if value <= 0:
            raise ConfigError(f"{name} ({value}) must be positive.")
    if request.interval_ns < 100_000:
        raise ConfigError(
            f"sampling interval ({request.interval_ns / 1e6:g} ms) is below 0.1 ms.",
            hint="The sampler supports up to 10 kHz; 1 kHz (1ms) is the practical maximum.",
        )
    if request.timeout_s is not None and request.timeout_s <= 0:
        raise ConfigError(f"--timeout ({request.timeout_s:g}s) must be positive.")
    if request.cwd is not None and not Path(request.cwd).is_dir():
        raise ConfigError(f"working directory not found ({request.cwd}).")


class _Run:
    """The state of one profiled run (see the module docstring for the loop)."""

    def __init__(
        self, request: ProfileRequest, store: Any, argv: list[str], env: dict[str, str]
    ) -> None:
        self.req = request
        self.store = store
        self.argv = argv
        self.env = env
        self.warnings: list[str] = []
        self.orphan_rusage: list[Any] = []
        self.flush_cpu_ns = 0
        self.flushes = 0
        self.next_flush_ns = self.next_threads_ns = 0  # set when the loop starts
        self.missed = 0
        self.ticks = 0
        self.first_tick_ns: int | None = None
        self.last_tick_ns = 0
        self.end_ns: int | None = None
        self.sampler: TreeSampler | None = None

    def warn(self, text: str) -> None:
        if text in self.warnings:
            return
        self.warnings.append(text)
        if self.req.on_warning is not None:
            self.req.on_warning(text)

    # -- the whole run ------------------------------------------------------------------------

    def run(self) -> ProfileResult:
        meter = self._open_meter()
        was_subreaper = launcher.is_child_subreaper()
        subreaper = was_subreaper or launcher.set_child_subreaper()
        if not subreaper:
            self.warn("cannot become child subreaper: orphaned grandchildren are not accounted")
        try:
            return self._run(meter, subreaper)
        finally:
            if meter is not None:
                meter.close()
            if subreaper and not was_subreaper:
                launcher.set_child_subreaper(False)

    def _run(self, meter: Any, subreaper: bool) -> ProfileResult:
        from gilwatt import hostinfo

        req, store = self.req, self.store
        idle_w = self._idle_baseline(meter) if req.idle_baseline_s > 0 else None
        host_id = store.ensure_host(hostinfo.collect())
        interp_id = store.ensure_interpreter(req.interpreter) if req.interpreter else None
        run_id = store.begin_run(
            host_id=host_id, command=self.argv, cwd=str(req.cwd or Path.cwd()),
            started_unix_ns=time.time_ns(), start_ns=time.monotonic_ns(),
            interval_ns=req.interval_ns, memory_interval_ns=req.memory_interval_ns,
            interp_id=interp_id, env=req.env, label=req.label, study_id=req.study_id,
            energy_source=getattr(meter, "source", ""),
            energy_estimate=bool(getattr(meter, "estimate", False)),
            idle_power_uw=None if idle_w is None else int(idle_w * 1e6),
        )  # fmt: skip
        self.run_id = run_id
        try:
            target = launcher.launch(
                self.argv, env=self.env, cwd=req.cwd, subreaper=subreaper,
                thread_hook=req.thread_hook,
            )  # fmt: skip
        except BaseException:
            store.delete_run(run_id)  # nothing ran: leave no half-written run behind
            raise
        try:
            store.update_run(
                run_id, started_unix_ns=target.started_unix_ns, start_ns=target.start_ns,
                env={**req.env, **target.env_set},
            )  # fmt: skip
            if meter is not None:
                if hasattr(meter, "follow_tree"):  # a model: bill the run its own CPU only
                    meter.follow_tree()
                store.add_energy_zones(run_id, meter.zones)
            return self._supervise(target, meter)
        finally:
            target.close()

    def _open_meter(self) -> Any:
        from gilwatt.energy import open_meter

        try:
            meter = open_meter(Path("/"), model=self.req.energy_model, cpu_tdp_w=self.req.cpu_tdp_w)
        except ConfigError:
            raise
        except GilwattError as exc:
            self.warn(f"energy: {exc}; no energy figures")
            return None
        for text in meter.warnings:
            self.warn(text)
        return meter

    def _idle_baseline(self, meter: Any) -> float | None:
        if meter is None:
            return None
        from gilwatt.energy import measure_idle
        from gilwatt.probes.cpu import CoreStatReader

        reader = CoreStatReader()
        try:
            return float(measure_idle(meter, self.req.idle_baseline_s, reader.read))
        finally:
            reader.close()

    def _supervise(self, target: launcher.Launched, meter: Any) -> ProfileResult:
        req = self.req
        try:
            sampler = TreeSampler(
                target.pid, session=target.session, meter=meter,
                memory_interval_ns=req.memory_interval_ns,
                status_interval_ns=req.status_interval_ns, start_ns=target.start_ns,
                measure_cost=False,
            )  # fmt: skip
        except GilwattError:
            sampler = None  # the target is already gone
        self.sampler = sampler
        self.output = OutputRecorder(
            self.store, self.run_id,
            {"stdout": req.stdout_sink, "stderr": req.stderr_sink} if req.passthrough else {},
        )  # fmt: skip
        self.markers = MarkerReceiver(sampler)
        self.stopper = launcher.Stopper(target, grace_s=req.term_grace_s, timeout_s=req.timeout_s)
        if req.handle_signals:
            self.stopper.install()
        old_slack = launcher.set_timer_slack(10_000)
        cpu0 = time.thread_time_ns()
        try:
            waited = self._loop(target, sampler) if sampler else self._wait_only(target)
        except BaseException as exc:
            self._abandon(target, exc)
            raise
        finally:
            self.stopper.restore()
            if old_slack is not None:
                launcher.set_timer_slack(old_slack)
        loop_cpu_ns = time.thread_time_ns() - cpu0
        return self._finish(target, sampler, waited, loop_cpu_ns, meter)

    def _abandon(self, target: launcher.Launched, exc: BaseException) -> None:
        """gilwatt itself failed mid-run: kill the tree, keep what was recorded, mark the run."""
        pids = self.sampler.pids() if self.sampler else []
        launcher.signal_tree(target, pids, signal.SIGKILL)
        if self.end_ns is None:
            launcher.reap(target.pid)
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        self.warn(f"gilwatt stopped the run: {type(exc).__name__}: {exc}")
        try:
            self._flush(self.sampler)
            self.store.finish_run(
                self.run_id, status=status, end_ns=time.monotonic_ns(), warnings=self.warnings
            )
        except Exception:  # the store itself may be what failed; the error propagates anyway
            pass

    # -- the sampling loop --------------------------------------------------------------------

    def _loop(self, target: launcher.Launched, sampler: TreeSampler) -> tuple[int, Any]:
        """Sample until the root has exited and its tree is done; return the root's wait4."""
        interval, start, stopper = self.req.interval_ns, target.start_ns, self.stopper
        k = 0  # the next tick is due at start + k * interval
        self.next_flush_ns = start + FLUSH_NS
        self.next_threads_ns = start
        streams = {target.stdout_fd: "stdout", target.stderr_fd: "stderr"}
        watch = [
            fd
            for fd in (target.marker_fd, *streams, target.pidfd, stopper.wake_fd)
            if fd is not None and fd >= 0
        ]
        waited: tuple[int, Any] | None = None
        linger_until = 0
        while True:
            now = time.monotonic_ns()
            deadline = start + k * interval
            # After the root's exit, ticks go on only while descendants live.
            ticking = waited is None or bool(sampler.pids())
            if now >= deadline and ticking:
                sampler.sample("tick", deadline)
                self.ticks += 1
                self.first_tick_ns = self.first_tick_ns or now
                self.last_tick_ns = now
                now = time.monotonic_ns()
                late = max(0, (now - deadline) // interval)  # deadlines already past: skipped
                self.missed += late
                k += 1 + late
                deadline = start + k * interval
                self._after_tick(target, sampler, now)
            stopper.check(now, sampler.pids())
            if waited is None and target.pidfd is None and launcher.poll_exit(target):
                waited = self._root_exited(target, sampler)
                linger_until = now + int(self.req.linger_s * 1e9)
            if waited is not None and self._tree_done(target, sampler, streams, now, linger_until):
                break
            wake = deadline if ticking else max(linger_until, now + 1_000_000)
            if stopper.next_ns:
                wake = min(wake, stopper.next_ns)
            if target.pidfd is None:
                wake = min(wake, now + 50_000_000)  # no pidfd: poll for the exit
            try:
                ready, _, _ = select.select(watch, [], [], max(0, wake - time.monotonic_ns()) / 1e9)
            except InterruptedError:
                continue
            for fd in ready:
                if fd == target.pidfd:
                    watch.remove(fd)
                    waited = self._root_exited(target, sampler)
                    linger_until = time.monotonic_ns() + int(self.req.linger_s * 1e9)
                elif fd == target.marker_fd:
                    if not self.markers.read(fd):
                        watch.remove(fd)
                elif fd in streams:
                    if not self.output.read(fd, streams[fd]):
                        watch.remove(fd)
                        del streams[fd]
                else:
                    stopper.clear_wake()  # the handler has counted the signal
        self.output.drain(streams)
        return waited

    def _after_tick(self, target: launcher.Launched, sampler: TreeSampler, now: int) -> None:
        """Reap orphans; on their own timers, read the thread hook's pipe and flush."""
        self._reap_orphans(sampler)
        if now >= self.next_threads_ns:  # the thread hook's pipe, on the status tier
            self._read_threads(target)
            self.next_threads_ns = now + self.req.status_interval_ns
        if now >= self.next_flush_ns:
            self._flush(sampler, everything=self.flushes % REFRESH_FLUSHES == 0)
            self.next_flush_ns = now + FLUSH_NS

    def _tree_done(
        self,
        target: launcher.Launched,
        sampler: TreeSampler,
        streams: dict[int, str],
        now: int,
        linger_until: int,
    ) -> bool:
        """After the root's exit: done when the rest of the tree and the pipes are, or when the
        linger time is over (or, when stopping, when the signals have all been sent)."""
        alive = [p for p in sampler.pids() if p != target.pid]
        if not alive and not streams:
            return True
        if now < linger_until or (self.stopper.reason and not self.stopper.done_signalling()):
            return False
        if alive:
            self.warn(
                f"{len(alive)} descendant process(es) still running after the target exited "
                f"were not measured further: {alive[:10]}"
            )
        return True

    def _root_exited(self, target: launcher.Launched, sampler: TreeSampler) -> tuple[int, Any]:
        """The root is a zombie: reap it (its exact rusage) and take the final sample."""
        got = launcher.reap(target.pid)
        if got is None:  # not our child (should not happen): no kernel account
            got = (0, None)
        status, rusage = got
        launcher.finish_popen(target, status)
        self.end_ns = time.monotonic_ns()
        if rusage is not None:
            sampler.account_reaped(target.pid, rusage)
        self._reap_orphans(sampler)
        self._read_threads(target)
        sampler.sample("final", None, STATUS | CTX)
        return status, rusage

    def _read_threads(self, target: launcher.Launched) -> None:
        """The thread hook's events so far. Its pipe is read on the status tier, never waited
        on: each line carries its own time, and the 1 MiB pipe holds about 9,000 of them."""
        if target.thread_fd >= 0 and not self.markers.read_threads(target.thread_fd):
            os.close(target.thread_fd)  # every writer has closed it: nothing more will come
            target.thread_fd = -1

    def _reap_orphans(self, sampler: TreeSampler) -> None:
        for pid in sampler.zombie_orphans():
            got = launcher.reap(pid, block=False)
            if got is not None:
                sampler.account_reaped(pid, got[1])
                self.orphan_rusage.append(got[1])

    def _wait_only(self, target: launcher.Launched) -> tuple[int, Any]:
        """The target vanished before the sampler could open it: just reap it."""
        self.warn("the target exited before the sampler could read it; no samples")
        got = launcher.reap(target.pid) or (0, None)
        self.end_ns = time.monotonic_ns()
        launcher.finish_popen(target, got[0])
        self.output.drain({target.stdout_fd: "stdout", target.stderr_fd: "stderr"})
        return got

    def _flush(self, sampler: TreeSampler | None, everything: bool = True) -> None:
        cpu0 = time.thread_time_ns()
        self.flushes += 1
        store, run_id = self.store, self.run_id
        if sampler is not None:
            rows, procs, threads = sampler.drain(everything)
            store.add_samples(run_id, rows.samples)
            store.add_core_samples(run_id, rows.cores)
            store.add_thread_samples(run_id, rows.threads)
            store.add_energy_samples(run_id, rows.energy)
            store.add_memory_samples(run_id, rows.memory)
            store.upsert_processes(run_id, procs)
            store.upsert_threads(run_id, threads)
        markers = self.markers.take_rows()
        if markers:
            store.add_markers(run_id, markers)
        store.flush()
        self.flush_cpu_ns += time.thread_time_ns() - cpu0

    # -- the end ------------------------------------------------------------------------------

    def _finish(
        self,
        target: launcher.Launched,
        sampler: TreeSampler | None,
        waited: tuple[int, Any],
        loop_cpu_ns: int,
        meter: Any,
    ) -> ProfileResult:
        store, run_id = self.store, self.run_id
        status_word, rusage = waited
        exit_code, exit_signal = launcher.exit_info(status_word)
        if rusage is None:
            exit_code = exit_signal = None
        if self.stopper.reason is not None:
            status = self.stopper.reason
        elif exit_signal is not None:
            status = "signaled"
        elif exit_code != 0:
            status = "failed"
        else:
            status = "ok"
        columns: dict[str, Any] = self._kernel_account(target, sampler, rusage)
        self._read_threads(target)  # descendants' last events, if any came after the root's
        self._flush(sampler)
        if sampler is not None:
            store.add_regions(run_id, region_rows(self.markers.pairer.regions, sampler))
            for text in sampler.warnings:
                self.warn(text)
            sampler.close()
        self._collect_warnings(meter)
        achieved = None
        if self.ticks > 1 and self.first_tick_ns is not None:
            achieved = (self.last_tick_ns - self.first_tick_ns) / (self.ticks - 1)
        store.finish_run(
            run_id, status=status, end_ns=self.end_ns, exit_code=exit_code,
            exit_signal=exit_signal, achieved_interval_ns=achieved,
            missed_deadlines=self.missed, sampler_cpu_ns=loop_cpu_ns,
            attrs=self.markers.pairer.run_attrs, warnings=self.warnings, **columns,
        )  # fmt: skip
        return ProfileResult(
            run_id=run_id, status=status, exit_code=exit_code, exit_signal=exit_signal,
            summary=store.summary(run_id), stderr_tail=self.output.tail_text(),
            warnings=list(self.warnings), info=store.run_info(run_id),
            sampler_cpu_ns=loop_cpu_ns, samples=sampler.samples_taken if sampler else 0,
            ticks=self.ticks, missed_deadlines=self.missed, achieved_interval_ns=achieved,
            flush_cpu_ns=self.flush_cpu_ns,
        )  # fmt: skip

    def _kernel_account(
        self, target: launcher.Launched, sampler: TreeSampler | None, rusage: Any
    ) -> dict[str, Any]:
        """The ru_* run columns: the root's wait4 rusage plus the orphans gilwatt reaped."""
        if rusage is None:
            return {}
        every = [rusage, *self.orphan_rusage]
        maxrss = max(r.ru_maxrss for r in every) * 1024
        columns: dict[str, Any] = {
            "ru_utime_ns": sum(round(r.ru_utime * 1e9) for r in every),
            "ru_stime_ns": sum(round(r.ru_stime * 1e9) for r in every),
            "ru_nvcsw": sum(r.ru_nvcsw for r in every),
            "ru_nivcsw": sum(r.ru_nivcsw for r in every),
            "ru_maxrss_bytes": maxrss,
        }
        if maxrss <= target.seed_rss_bytes:
            # At exec the kernel seeds ru_maxrss with the replaced address space's peak (here
            # gilwatt's own); a figure at or below that seed may not be the target's at all.
            columns["ru_maxrss_bytes"] = None
            sampled = sampler.peak_hwm_bytes() if sampler else 0
            self.warn(
                f"peak RSS is the highest VmHWM read while the target ran ({sampled >> 20} MiB); "
                f"the kernel's figure ({maxrss >> 20} MiB) may be inherited from gilwatt itself"
            )
        return columns

    def _collect_warnings(self, meter: Any) -> None:
        interp = self.req.interpreter
        for text in self.markers.warnings(bool(interp and interp.free_threaded)):
            self.warn(text)
        if meter is not None:
            for text in meter.warnings:
                self.warn(text)
        for module in self.output.gil_modules:
            self.warn(f"the GIL was enabled at run time to load module {module!r}")
