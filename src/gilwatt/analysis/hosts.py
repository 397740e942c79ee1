"""Host as a factor: a cluster study's hosts side by side, each analysed on its own.

A cluster study is one study per host in one store (study/cluster.py). Every host's study is
compared exactly as a local study is; this module only puts the results beside each other:
findings per host, and one cross-host table of the time ratios of each cell with the host's
usable CPUs, CPU model and memory. No ratio ever pools runs of two hosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gilwatt.analysis.result import StudyResult, analyse_study
from gilwatt.store import Store


@dataclass(frozen=True)
class HostStudy:
    study_id: int
    hostname: str
    cpu_model: str
    usable_cpus: int
    logical_cpus: int
    memory_bytes: int

    def label(self) -> str:
        return f"{self.hostname} ({self.usable_cpus} CPUs)"


@dataclass
class HostResult:
    host: HostStudy
    result: StudyResult


@dataclass(frozen=True)
class CrossRow:
    """One cell and mode pair: each host's time ratio (None where the host lacks the cell)."""

    workload: str
    params_json: str
    workers: int
    mode: str
    base: str
    ratios: dict[str, tuple[float, float | None, float | None] | None]  # host -> (gm, lo, hi)
    oversubscribed: dict[str, bool]  # host -> workers above its usable CPUs


def host_studies(source: str | Path) -> list[HostStudy]:
    """The studies of ``source`` that ran on a cluster host, in host-name order."""
    store = Store.open_study(source)
    try:
        records = store.studies()
    finally:
        store.close()
    found = []
    for record in records:
        host = record.spec.get("host")
        if isinstance(host, dict):
            found.append(
                HostStudy(
                    record.study_id,
                    str(host.get("hostname", "?")),
                    str(host.get("cpu_model", "?")),
                    int(host.get("usable_cpus") or 0),
                    int(host.get("logical_cpus") or 0),
                    int(host.get("memory_bytes") or 0),
                )
            )
    return sorted(found, key=lambda h: (h.hostname, h.study_id))


def compare_hosts(source: str | Path, **options: Any) -> list[HostResult]:
    """Every host's study compared on its own (the options of ``analyse_study``)."""
    return [
        HostResult(h, analyse_study(source, h.study_id, **options)) for h in host_studies(source)
    ]


def cross_host_rows(results: list[HostResult], metric: str = "time_s") -> list[CrossRow]:
    names = [r.host.hostname for r in results]
    rows: dict[tuple[str, str, int, str, str], CrossRow] = {}
    for r in results:
        for c in r.result.analysis.comparisons:
            if c.metric != metric:
                continue
            key = (c.cell.workload, c.cell.params_json, c.cell.workers, c.mode, c.base)
            row = rows.setdefault(
                key, CrossRow(*key, {n: None for n in names}, {n: False for n in names})
            )
            e = c.estimate
            row.ratios[r.host.hostname] = (e.geomean, e.t_low, e.t_high) if e else None
            row.oversubscribed[r.host.hostname] = c.cell.workers > r.host.usable_cpus
    # a cell no host could pair (e.g. issue 12's sentinel cell, never analysed) is left out
    return [rows[k] for k in sorted(rows) if any(v is not None for v in rows[k].ratios.values())]


def cross_host_lines(results: list[HostResult], metric: str = "time_s") -> list[str]:
    """A text table: one row per cell and mode pair, one column per host."""
    hosts = [r.host for r in results]
    lines = [f"{metric} ratio by host (geometric mean [95% CI]; * oversubscribed on that host)"]
    lines += [
        f"  {h.hostname}: {h.usable_cpus} usable of {h.logical_cpus} CPUs, {h.cpu_model}, "
        f"{h.memory_bytes / 2**30:.1f} GiB (study {h.study_id})"
        for h in hosts
    ]
    head = ["cell", "ratio", *(h.hostname for h in hosts)]
    body = []
    for row in cross_host_rows(results, metric):
        cells = []
        for h in hosts:
            value = row.ratios.get(h.hostname)
            if value is None:
                cells.append("-")
                continue
            gm, lo, hi = value
            ci = f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else ""
            cells.append(f"{gm:.2f}{ci}{'*' if row.oversubscribed.get(h.hostname) else ''}")
        label = f"{row.workload} w={row.workers}"
        body.append([label, f"{row.mode}/{row.base}", *cells])
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    for cols in [head, *body]:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    return lines


def hosts_json(results: list[HostResult]) -> dict[str, Any]:
    """``compare --format json`` of a cluster study (schema 3): each host's whole document,
    ``findings_by_host`` and the cross-host rows."""
    from gilwatt.analysis.tables import finding_json, to_json_dict

    return {
        "schema": 3,
        "hosts": [
            {
                "study_id": r.host.study_id,
                "hostname": r.host.hostname,
                "cpu_model": r.host.cpu_model,
                "usable_cpus": r.host.usable_cpus,
                "logical_cpus": r.host.logical_cpus,
                "memory_bytes": r.host.memory_bytes,
            }
            for r in results
        ],
        "findings_by_host": {
            r.host.hostname: [finding_json(f) for f in r.result.findings] for r in results
        },
        "cross_host": [
            {
                "workload": row.workload,
                "params": row.params_json,
                "workers": row.workers,
                "mode": row.mode,
                "base": row.base,
                "by_host": {
                    h: None
                    if v is None
                    else {
                        "geomean": v[0],
                        "t_low": v[1],
                        "t_high": v[2],
                        "oversubscribed": row.oversubscribed[h],
                    }
                    for h, v in row.ratios.items()
                },
            }
            for row in cross_host_rows(results)
        ],
        "studies": {r.host.hostname: to_json_dict(r.result) for r in results},
    }
