"""Reading runs back as :mod:`gilwatt.readback` objects, with derived figures computed here."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gilwatt.errors import ConfigError
from gilwatt.readback import (
    HostInfo,
    IntArray,
    InterpreterInfo,
    Region,
    RunInfo,
    RunSummary,
    Timeline,
)
from gilwatt.store import derive
from gilwatt.store.fetch import fetch_columns, forward_fill

_RUN_SELECT = """
SELECT run_id, command_json, status, exit_code, exit_signal, interp_id, host_id,
       started_unix_ns, start_ns, end_ns, interval_ns, achieved_interval_ns, energy_source,
       idle_power_uw, env_json, attrs_json, warnings_json, study_id, label
FROM runs
"""
_TIMELINE_COLUMNS = (
    "seq", "t_ns", "cpu_ns", "cpu_user_ns", "cpu_sys_ns", "rss_bytes", "vms_bytes",
    "swap_bytes", "threads", "processes", "ctx_voluntary", "ctx_involuntary", "energy_uj",
)  # fmt: skip
# RunSummary's whole-run fields: the columns of run_summaries (after run_id and formula).
SUMMARY_FIELDS = (
    "wall_ns", "cpu_user_ns", "cpu_sys_ns", "peak_rss_bytes", "peak_vms_bytes",
    "peak_uss_bytes", "peak_pss_bytes", "ctx_voluntary", "ctx_involuntary", "energy_uj",
    "energy_source", "max_threads", "mean_cpu_util", "peak_cpu_util", "core_balance",
    "peak_rss_exact", "max_threads_exact",
)  # fmt: skip
_NO_ENERGY = -1  # stand-in for NULL energy_uj while reading (cumulative energy is never < 0)

_REGION_SELECT = """
SELECT r.name, r.pid, r.tid, r.begin_ns, r.end_ns,
       r.process_cpu_end_ns - r.process_cpu_begin_ns,
       r.thread_cpu_end_ns - r.thread_cpu_begin_ns,
       e.cpu_ns - b.cpu_ns,
       e.energy_uj - b.energy_uj,
       coalesce(r.peak_rss_bytes,
                (SELECT max(s.rss_bytes) FROM samples s WHERE s.run_id = r.run_id
                   AND s.seq BETWEEN r.begin_sample_seq AND r.end_sample_seq)),
       r.gil_begin, r.gil_end, r.attrs_json
FROM regions r
LEFT JOIN samples b ON b.run_id = r.run_id AND b.seq = r.begin_sample_seq
LEFT JOIN samples e ON e.run_id = r.run_id AND e.seq = r.end_sample_seq
WHERE r.run_id = ?
ORDER BY r.region_idx
"""


@dataclass(frozen=True)
class Marker:
    """One marker event as received from the program (``gilwatt.markers``)."""

    idx: int
    kind: str  # B (region begin) | E (region end) | M (point mark) | A (run attributes)
    pid: int
    tid: int
    seq: int  # the program's per-thread event number
    name: str
    t_ns: int  # CLOCK_MONOTONIC
    process_cpu_ns: int
    thread_cpu_ns: int
    gil: bool | None
    sample_seq: int | None  # the boundary sample the sampler took for this event
    attrs: dict[str, Any] = field(default_factory=dict)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


class StoreReader:
    """The read half of :class:`gilwatt.store.Store`."""

    path: str
    _conn: sqlite3.Connection

    # -- runs ---------------------------------------------------------------------------------

    def run_ids(self, study_id: int | None = None, *, status: str | None = None) -> list[int]:
        """The runs (of one study; with one status), in order."""
        where = [(c, v) for c, v in (("study_id", study_id), ("status", status)) if v is not None]
        sql = "SELECT run_id FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where)
        rows = self._conn.execute(sql + " ORDER BY run_id", [v for _, v in where])
        return [int(r[0]) for r in rows]

    def runs(self, study_id: int | None = None) -> list[RunInfo]:
        if study_id is None:
            rows = self._conn.execute(_RUN_SELECT + " ORDER BY run_id").fetchall()
        else:
            rows = self._conn.execute(
                _RUN_SELECT + " WHERE study_id = ? ORDER BY run_id", (study_id,)
            ).fetchall()
        hosts = self._hosts()
        interps = self._interpreters()
        return [self._run_info(row, hosts, interps) for row in rows]

    def run_info(self, run_id: int) -> RunInfo:
        row = self._conn.execute(_RUN_SELECT + " WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._no_run(run_id)
        return self._run_info(row, self._hosts(), self._interpreters())

    def _no_run(self, run_id: int) -> ConfigError:
        ids = self.run_ids()
        if not ids:
            shown = "none: the store is empty"
        elif len(ids) <= 20:
            shown = ", ".join(map(str, ids))
        else:
            shown = ", ".join(map(str, ids[:10])) + f", ... {ids[-1]} ({len(ids)} runs)"
        return ConfigError(
            f"run {run_id} is not in store {self.path!r}.", hint=f"Runs in it: {shown}."
        )

    def _run_info(
        self,
        row: tuple[Any, ...],
        hosts: dict[int, HostInfo],
        interps: dict[int, InterpreterInfo],
    ) -> RunInfo:
        (run_id, command_json, status, exit_code, exit_signal, interp_id, host_id,
         started_unix_ns, start_ns, end_ns, interval_ns, achieved, energy_source, idle_uw,
         env_json, attrs_json, warnings_json, study_id, label) = row  # fmt: skip
        return RunInfo(
            run_id=run_id,
            command=json.loads(command_json),
            status=status,
            exit_code=exit_code,
            exit_signal=exit_signal,
            interpreter=None if interp_id is None else interps.get(interp_id),
            host=hosts[host_id],
            started_unix_ns=started_unix_ns,
            start_ns=start_ns,
            end_ns=end_ns,
            interval_ns=interval_ns,
            achieved_interval_ns=achieved,
            energy_source=energy_source,
            idle_power_w=None if idle_uw is None else idle_uw / 1e6,
            env=json.loads(env_json),
            attrs=json.loads(attrs_json),
            warnings=json.loads(warnings_json),
            study_id=study_id,
            label=label,
        )

    def _hosts(self) -> dict[int, HostInfo]:
        rows = self._conn.execute(
            "SELECT host_id, hostname, cpu_model, logical_cpus, kernel, memory_bytes, isa_flags,"
            " extra_json FROM hosts"
        )
        return {r[0]: HostInfo(r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7])) for r in rows}

    def _interpreters(self) -> dict[int, InterpreterInfo]:
        rows = self._conn.execute(
            "SELECT interp_id, executable, version, implementation, free_threaded, gil_enabled,"
            " extra_json FROM interpreters"
        )
        return {
            r[0]: InterpreterInfo(r[1], r[2], r[3], bool(r[4]), _bool(r[5]), json.loads(r[6]))
            for r in rows
        }

    def host_info(self, host_id: int) -> HostInfo:
        hosts = self._hosts()
        if host_id not in hosts:
            raise ConfigError(f"host {host_id} is not in store {self.path!r}.")
        return hosts[host_id]

    def interpreter_info(self, interp_id: int) -> InterpreterInfo:
        interps = self._interpreters()
        if interp_id not in interps:
            raise ConfigError(f"interpreter {interp_id} is not in store {self.path!r}.")
        return interps[interp_id]

    def _require_run(self, run_id: int) -> tuple[int, int | None, int]:
        """(start_ns, end_ns, interval_ns) of a run that exists."""
        row = self._conn.execute(
            "SELECT start_ns, end_ns, interval_ns FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise self._no_run(run_id)
        return int(row[0]), row[1], int(row[2])

    # -- series -------------------------------------------------------------------------------

    def _samples(self, run_id: int, columns: tuple[str, ...]) -> dict[str, IntArray]:
        cols = fetch_columns(
            self._conn, "samples", columns, where="run_id = ?", params=(run_id,), key=("seq",),
            fill={"energy_uj": _NO_ENERGY},
        )  # fmt: skip
        if "energy_uj" in cols:
            # Cumulative since the run started: carry the last reading over samples without one.
            cols["energy_uj"] = forward_fill(cols["energy_uj"], _NO_ENERGY, initial=0)
        return cols

    def timeline(self, run_id: int) -> Timeline:
        """The run's samples as arrays (one SELECT per table, parsed in C; see fetch.py).

        energy_uj carries the last reading over samples without one (0 before the first).
        core_busy[i, c] is core c's busy share of the interval sample i lies in: samples whose
        tick counters did not move (boundary samples, the first sample) take the share of the
        next interval that moved them. Thread rows whose seq has no tree sample are dropped; a
        thread the hook reported also has its start (CPU 0) and end (its exact CPU) as points.
        USS/PSS are summed over the processes read at the same t_ns.
        """
        self._require_run(run_id)
        s = self._samples(run_id, _TIMELINE_COLUMNS)
        where, params = "run_id = ?", (run_id,)
        cores = fetch_columns(
            self._conn, "core_samples", ("seq", "core", "busy_ticks", "total_ticks"),
            where=where, params=params, key=("seq", "core"),
        )  # fmt: skip
        core_busy = derive.core_busy_matrix(
            s["seq"], cores["seq"], cores["core"], cores["busy_ticks"], cores["total_ticks"]
        )
        th = fetch_columns(
            self._conn, "thread_samples", ("seq", "tid", "cpu_ns"),
            where=where, params=params, key=("seq", "tid"),
        )  # fmt: skip
        thread_rows = self._conn.execute(
            "SELECT tid, name, start_ns, end_ns, cpu_ns FROM threads WHERE run_id = ?", params
        ).fetchall()
        names = {r[0]: r[1] for r in thread_rows}
        per_thread = derive.per_thread(s["seq"], s["t_ns"], th["seq"], th["tid"], th["cpu_ns"])
        derive.add_hook_points(per_thread, [r for r in thread_rows if r[2] is not None])
        mem = self._conn.execute(
            "SELECT t_ns, sum(uss_bytes), sum(pss_bytes) FROM memory_samples WHERE run_id = ?"
            " GROUP BY t_ns ORDER BY t_ns",
            params,
        ).fetchall()
        mem_arr = np.array(mem, dtype=np.int64).reshape(len(mem), 3)
        machine = self._conn.execute(
            "SELECT s.t_ns, e.energy_uj FROM energy_samples e JOIN samples s"
            " ON s.run_id = e.run_id AND s.seq = e.seq"
            " WHERE e.run_id = ? AND e.zone = 'model:machine' ORDER BY e.seq",
            params,
        ).fetchall()
        machine_arr = np.array(machine, dtype=np.int64).reshape(len(machine), 2)
        return Timeline(
            t_ns=s["t_ns"], cpu_ns=s["cpu_ns"], cpu_user_ns=s["cpu_user_ns"],
            cpu_sys_ns=s["cpu_sys_ns"], rss_bytes=s["rss_bytes"], vms_bytes=s["vms_bytes"],
            swap_bytes=s["swap_bytes"], threads=s["threads"], processes=s["processes"],
            ctx_voluntary=s["ctx_voluntary"], ctx_involuntary=s["ctx_involuntary"],
            energy_uj=s["energy_uj"], core_busy=core_busy,
            thread_cpu_ns=per_thread,
            thread_names={int(k): str(v) for k, v in names.items()},
            mem_t_ns=np.ascontiguousarray(mem_arr[:, 0]),
            uss_bytes=np.ascontiguousarray(mem_arr[:, 1]),
            pss_bytes=np.ascontiguousarray(mem_arr[:, 2]),
            machine_energy=(
                (np.ascontiguousarray(machine_arr[:, 0]), np.ascontiguousarray(machine_arr[:, 1]))
                if len(machine) else None
            ),
        )  # fmt: skip

    def regions(self, run_id: int) -> list[Region]:
        self._require_run(run_id)
        regions = []
        for row in self._conn.execute(_REGION_SELECT, (run_id,)):
            (name, pid, tid, begin_ns, end_ns, proc_cpu, thread_cpu, tree_cpu, energy, peak_rss,
             gil_begin, gil_end, attrs_json) = row  # fmt: skip
            regions.append(
                Region(
                    name=name,
                    pid=pid,
                    tid=tid,
                    begin_ns=begin_ns,
                    end_ns=end_ns,
                    wall_ns=end_ns - begin_ns,
                    process_cpu_ns=proc_cpu,
                    thread_cpu_ns=thread_cpu,
                    tree_cpu_ns=tree_cpu,
                    energy_uj=energy,
                    peak_rss_bytes=peak_rss,
                    gil_begin=_bool(gil_begin),
                    gil_end=_bool(gil_end),
                    attrs=json.loads(attrs_json),
                )
            )
        return regions

    def markers(self, run_id: int) -> list[Marker]:
        self._require_run(run_id)
        rows = self._conn.execute(
            "SELECT idx, kind, pid, tid, seq, name, t_ns, process_cpu_ns, thread_cpu_ns, gil,"
            " sample_seq, attrs_json FROM markers WHERE run_id = ? ORDER BY idx",
            (run_id,),
        )
        return [
            Marker(
                idx=r[0],
                kind=r[1],
                pid=r[2],
                tid=r[3],
                seq=r[4],
                name=r[5],
                t_ns=r[6],
                process_cpu_ns=r[7],
                thread_cpu_ns=r[8],
                gil=_bool(r[9]),
                sample_seq=r[10],
                attrs=json.loads(r[11]),
            )
            for r in rows
        ]

    def output(self, run_id: int, stream: str) -> bytes:
        if stream not in ("stdout", "stderr"):
            raise ValueError(f"stream must be 'stdout' or 'stderr', not {stream!r}")
        self._require_run(run_id)
        rows = self._conn.execute(
            "SELECT data FROM outputs WHERE run_id = ? AND stream = ? ORDER BY chunk",
            (run_id, stream),
        )
        return b"".join(bytes(r[0]) for r in rows)

    # -- summary ------------------------------------------------------------------------------

    def summary(self, run_id: int) -> RunSummary:
        """Whole-run figures; the kernel's own accounting is preferred where it exists.

        Finished runs read their figures from run_summaries (written by finish_run); others,
        and runs without a current row there, are computed from the samples.
        """
        self._require_run(run_id)
        figures = self._cached_figures(run_id) or self.compute_figures(run_id)
        return RunSummary(run_id=run_id, **figures, regions=self.regions(run_id))

    def _cached_figures(self, run_id: int) -> dict[str, Any] | None:
        row = self._conn.execute(
            f"SELECT {', '.join(SUMMARY_FIELDS)} FROM run_summaries"
            " WHERE run_id = ? AND formula = ?",
            (run_id, derive.FORMULA_VERSION),
        ).fetchone()
        if row is None:
            return None
        figures = dict(zip(SUMMARY_FIELDS, row, strict=True))
        figures["peak_rss_exact"] = bool(figures["peak_rss_exact"])
        figures["max_threads_exact"] = bool(figures["max_threads_exact"])
        return figures

    def compute_figures(self, run_id: int) -> dict[str, Any]:
        """RunSummary's whole-run fields (all but run_id and regions), from the stored rows."""
        start_ns, end_ns, interval_ns = self._require_run(run_id)
        conn, params = self._conn, (run_id,)
        ru_utime, ru_stime, ru_maxrss, ru_nvcsw, ru_nivcsw, energy_source = conn.execute(
            "SELECT ru_utime_ns, ru_stime_ns, ru_maxrss_bytes, ru_nvcsw, ru_nivcsw, energy_source"
            " FROM runs WHERE run_id = ?",
            params,
        ).fetchone()
        max_rss, max_vms, max_threads, last_seq = conn.execute(
            "SELECT max(rss_bytes), max(vms_bytes), max(threads), max(seq) FROM samples"
            " WHERE run_id = ?",
            params,
        ).fetchone()
        last = conn.execute(
            "SELECT t_ns, cpu_user_ns, cpu_sys_ns, ctx_voluntary, ctx_involuntary FROM samples"
            " WHERE run_id = ? AND seq = ?",
            (run_id, last_seq),
        ).fetchone() or (None, 0, 0, 0, 0)
        energy = conn.execute(
            "SELECT energy_uj FROM samples WHERE run_id = ? AND energy_uj IS NOT NULL"
            " ORDER BY seq DESC LIMIT 1",
            params,
        ).fetchone()
        hwm, vm_peak = conn.execute(
            "SELECT max(hwm_bytes), max(vm_peak_bytes) FROM processes WHERE run_id = ?", params
        ).fetchone()
        peak_uss, peak_pss = conn.execute(
            "SELECT max(uss), max(pss) FROM (SELECT sum(uss_bytes) AS uss, sum(pss_bytes) AS pss"
            " FROM memory_samples WHERE run_id = ? GROUP BY t_ns)",
            params,
        ).fetchone()
        s = self._samples(run_id, ("seq", "t_ns", "cpu_ns"))
        cpus = conn.execute(
            "SELECT h.logical_cpus FROM runs r JOIN hosts h USING (host_id) WHERE r.run_id = ?",
            params,
        ).fetchone()[0]
        # CPU that arrived in one step (a child's, when its parent reaped it) is spread back
        # over the time before it: utilisation never exceeds the CPUs there are.
        cpu_spread = derive.spread_cpu(s["t_ns"], s["cpu_ns"], int(cpus))
        threads = self._thread_intervals(run_id)
        if end_ns is None:  # still running, or gilwatt died: the last sample is the end we know
            end_ns = last[0] if last[0] is not None else start_ns
        return {
            "wall_ns": int(end_ns - start_ns),
            "cpu_user_ns": int(ru_utime if ru_utime is not None else last[1]),
            "cpu_sys_ns": int(ru_stime if ru_stime is not None else last[2]),
            # the largest single process: the kernel's figure (which takes in every process
            # waited for) and the VmHWM read of those that were not; the sum of the samples'
            # RSS would count shared pages once per process
            "peak_rss_bytes": _max_of(ru_maxrss, hwm) if (ru_maxrss or hwm) else int(max_rss or 0),
            "peak_vms_bytes": _max_of(vm_peak, max_vms),
            "peak_uss_bytes": peak_uss,
            "peak_pss_bytes": peak_pss,
            "ctx_voluntary": int(ru_nvcsw if ru_nvcsw is not None else last[3]),
            "ctx_involuntary": int(ru_nivcsw if ru_nivcsw is not None else last[4]),
            "energy_uj": None if energy is None else int(energy[0]),
            "energy_source": energy_source,
            "max_threads": derive.max_concurrent(*threads) if threads else int(max_threads or 0),
            "mean_cpu_util": derive.mean_utilisation(s["t_ns"], s["cpu_ns"]),
            "peak_cpu_util": derive.peak_utilisation(
                s["t_ns"], cpu_spread, derive.peak_window_ns(interval_ns)
            ),
            "core_balance": derive.core_balance(self._core_busy_ticks(run_id)),
            # the kernel's high-water marks, wait4's and VmHWM, are both exact; without wait4's
            # (a seeded ru_maxrss, or gilwatt died) the VmHWM read last is only a lower bound
            "peak_rss_exact": ru_maxrss is not None,
            "max_threads_exact": bool(threads),
        }

    def _thread_intervals(self, run_id: int) -> tuple[IntArray, IntArray] | None:
        """(starts, ends) of every thread of a run with thread-hook records, else None.

        Hooked threads count from their start to their end event; others (not started from
        Python, or in a process without the hook) from first to last seen, and so does the
        main thread from its start (the hook loads after it) to its end event.
        """
        rows = self._conn.execute(
            "SELECT coalesce(start_ns, first_ns), coalesce(end_ns, last_ns),"
            " coalesce(start_ns, end_ns) FROM threads"
            " WHERE run_id = ?",
            (run_id,),
        ).fetchall()
        if not any(r[2] is not None for r in rows):
            return None
        arr = np.array([r[:2] for r in rows], dtype=np.int64).reshape(len(rows), 2)
        return np.ascontiguousarray(arr[:, 0]), np.ascontiguousarray(arr[:, 1])

    def _core_busy_ticks(self, run_id: int) -> IntArray:
        """Busy ticks of each core over the run: last minus first cumulative reading."""
        rows = self._conn.execute(
            "SELECT seq, core, busy_ticks FROM core_samples WHERE run_id = ?1 AND seq IN"
            " ((SELECT min(seq) FROM core_samples WHERE run_id = ?1),"
            "  (SELECT max(seq) FROM core_samples WHERE run_id = ?1))"
            " ORDER BY seq, core",
            (run_id,),
        ).fetchall()
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for _seq, core, busy in rows:
            first.setdefault(core, busy)
            last[core] = busy
        return np.array([last[c] - first[c] for c in sorted(last)], dtype=np.int64)


def _max_of(*values: int | None) -> int:
    present = [v for v in values if v is not None]
    return int(max(present)) if present else 0
