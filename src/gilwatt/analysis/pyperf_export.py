"""A study's valid runs as pyperf JSON, so ``pyperf stats`` and ``pyperf compare_to`` read them.

pyperf's model maps onto a study directly: a *benchmark* is a cell (workload, params, workers),
a pyperf *run* is one process launch, and each run holds one *value*: the region's metric
(wall time by default, in seconds). Written with the stdlib only; pyperf need not be installed.

- ``out`` is a directory (or has no ``.json`` suffix): one BenchmarkSuite file per mode,
  ``<out>/<mode>.json``, each holding every cell under the same names, so
  ``python -m pyperf compare_to gil.json ft.json`` pairs the cells.
- ``out`` ends in ``.json``: one suite with every (cell, mode), names suffixed ``[mode]``.

pyperf treats a benchmark's values as independent samples of one distribution; it does not
pair blocks, so its comparison is a cross-check, not a replacement for ``gilwatt compare``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gilwatt.analysis.dataset import RunRecord, StudyData, load_study, open_readonly
from gilwatt.analysis.metrics import METRICS
from gilwatt.errors import ConfigError
from gilwatt.store import Store

PYPERF_FORMAT_VERSION = "1.0"
# pyperf knows three units; other metrics (J, W, /s) go as plain numbers ("integer" in
# pyperf's words, floats allowed) with the real unit in the benchmark's gilwatt_unit.
UNITS = {"s": "second", "MiB": "byte"}


def benchmark_name(run: RunRecord) -> str:
    """``factorial[n=5000]-w2``; ``numpy_blas-w1`` without parameters."""
    try:
        params = json.loads(run.params_json)
    except ValueError:
        params = {}
    shown = ",".join(f"{k}={v}" for k, v in params.items()) if isinstance(params, dict) else ""
    return f"{run.workload}[{shown}]-w{run.workers}" if shown else f"{run.workload}-w{run.workers}"


def _run_context(store: Store, run_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per run: launch date and interpreter identity (for pyperf's metadata)."""
    out: dict[int, dict[str, Any]] = {}
    wanted = set(run_ids)
    for info in store.runs():
        if info.run_id not in wanted:
            continue
        meta: dict[str, Any] = {
            "date": datetime.fromtimestamp(info.started_unix_ns / 1e9, UTC).strftime(
                "%Y-%m-%d %H:%M:%S.%f"
            )
        }
        interp = info.interpreter
        if interp is not None and interp.version:
            meta["python_version"] = f"{interp.version}{'t' if interp.free_threaded else ''}"
        if interp is not None and interp.implementation:
            meta["python_implementation"] = interp.implementation
        if interp is not None and interp.executable:
            meta["python_executable"] = interp.executable
        out[info.run_id] = meta
    return out


def _value(run: RunRecord, metric: str) -> float | int | None:
    value = run.metrics.get(metric)
    if value is None:
        return None
    return int(value) if METRICS[metric].unit == "MiB" else float(value)


def _pyperf_run(run: RunRecord, metric: str, context: dict[str, Any]) -> dict[str, Any] | None:
    value = _value(run, metric)
    if value is None:
        return None
    meta: dict[str, Any] = dict(context)
    meta.update(gilwatt_run_id=run.run_id, gilwatt_block=run.block, gilwatt_mode=run.mode)
    rss = run.metrics.get("run_maxrss_bytes") or run.metrics.get("peak_rss_bytes")
    if rss:
        meta["mem_max_rss"] = int(rss)
    if run.metrics.get("time_s"):
        meta["duration"] = float(run.metrics["time_s"] or 0.0)
    return {"metadata": meta, "values": [value]}


def suites(
    data: StudyData, metric: str, store: Store, *, one_file: bool
) -> dict[str, dict[str, Any]]:
    """Suite dicts keyed by mode (or by "all" when ``one_file``)."""
    spec = METRICS[metric]
    unit = UNITS.get(spec.unit, "integer")
    real_unit = "bytes" if spec.unit == "MiB" else (spec.unit or "ratio")
    valid = data.valid_runs
    context = _run_context(store, [r.run_id for r in valid if r.run_id is not None])
    benches: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for run in sorted(valid, key=lambda r: (r.block, r.position)):
        entry = _pyperf_run(run, metric, context.get(run.run_id or -1, {}))
        if entry is None:
            continue
        name = benchmark_name(run)
        if one_file:
            benches["all"][f"{name}[{run.mode}]"].append(entry)
        else:
            benches[run.mode][name].append(entry)
    out = {}
    for key, by_name in benches.items():
        out[key] = {
            "version": PYPERF_FORMAT_VERSION,
            "metadata": {"gilwatt_study": data.study.name, "gilwatt_metric": metric},
            "benchmarks": [
                {
                    "metadata": {"name": name, "unit": unit, "loops": 1, "gilwatt_unit": real_unit},
                    "runs": runs,
                }
                for name, runs in sorted(by_name.items())
            ],
        }
    return out


def dump_pyperf(
    store_path: str | Path, out: str | Path, study_id: int | None = None, *, metric: str = "time_s"
) -> list[Path]:
    """Write the pyperf file(s) described in the module docstring; returns their paths."""
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}.", hint=f"Valid: {', '.join(METRICS)}.")
    target = Path(out)
    one_file = target.suffix == ".json"
    with open_readonly(store_path) as store:
        data = load_study(store, study_id)
        built = suites(data, metric, store, one_file=one_file)
    if not built:
        raise ConfigError(
            f"study {data.study.study_id} in {str(store_path)!r} has no valid run to export.",
            hint="Run `gilwatt compare` to see why runs were excluded.",
        )
    try:
        if one_file:
            target.parent.mkdir(parents=True, exist_ok=True)
            paths = {"all": target}
        else:
            target.mkdir(parents=True, exist_ok=True)
            paths = {mode: target / f"{mode}.json" for mode in built}
        for key, path in paths.items():
            path.write_text(
                json.dumps(built[key], indent=1, sort_keys=True) + "\n", encoding="utf-8"
            )
    except OSError as exc:
        raise ConfigError(
            f"cannot write pyperf output to {str(target)!r}: {exc.strerror}.",
            hint="Choose a writable path with -o.",
        ) from exc
    return sorted(paths.values())
