"""The survey of a cluster's workers and a host's plan, without Dask: a fake client whose
futures end as a real one's do (finished, error, cancelled, never). A worker without an answer
says why, and never as a gilwatt version of '?'; cells too big for a host's memory are left out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from gilwatt import __version__
from gilwatt.study.hostplan import fit_memory, host_study, left_out, memory_of
from gilwatt.study.matrix import Cell
from gilwatt.study.remote import HostFacts, PairWanted
from gilwatt.study.scheduler import ClusterOptions, live_workers
from gilwatt.study.survey import NO_ANSWER, eligible, survey

WANTED = PairWanted("3.13.5", None)


def facts(worker: str, **changes: Any) -> HostFacts:
    base = HostFacts(worker, __version__, f"fp-{worker}", f"host-{worker}", "cpu", 2, 2,
                     8 << 30, {"gil": "/g", "ft": "/f"}, {})  # fmt: skip
    return replace(base, **changes)


@dataclass
class FakeFuture:
    status: str
    value: Any = None
    error: BaseException | None = None
    cancelled: bool = False

    def result(self) -> Any:
        return self.value

    def exception(self) -> BaseException | None:
        return self.error

    def cancel(self) -> None:
        self.cancelled = True


class FakeClient:
    """``outcomes[worker]`` yields one future per submission to that worker."""

    def __init__(self, outcomes: dict[str, Iterator[FakeFuture]], alive: set[str]) -> None:
        self.outcomes, self.alive = outcomes, alive
        self.submitted: dict[str, int] = {}
        self.scheduler = self

    def identity(self, n_workers: int = 0) -> dict[str, Any]:
        return {"workers": {w: {} for w in self.alive} if n_workers == -1 else {}}

    def sync(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        return fn(**kwargs)

    def submit(self, fn: Callable[..., Any], arg: Any, *, workers: list[str], **_: Any) -> Any:
        (w,) = workers
        self.submitted[w] = self.submitted.get(w, 0) + 1
        return next(self.outcomes[w])


def test_live_workers_are_asked_of_the_scheduler_not_the_cache() -> None:
    client = FakeClient({}, {"a", "b"})
    assert set(live_workers(client)) == {"a", "b"}


def test_each_worker_without_an_answer_says_why() -> None:
    options = ClusterOptions(describe_timeout_s=0.5)
    import_failure = ModuleNotFoundError("No module named 'gilwatt'")
    client = FakeClient(
        {
            "ok": iter([FakeFuture("finished", facts("ok"))]),
            "broken": iter([FakeFuture("error", error=import_failure)]),
            "slow": iter([FakeFuture("pending")]),
            "gone": iter([FakeFuture("pending")]),
            # cancelled by the scheduler once, then answers: asked again within the bound
            "flaky": iter([FakeFuture("cancelled"), FakeFuture("finished", facts("flaky"))]),
        },
        alive={"ok", "broken", "slow", "flaky"},
    )
    found = survey(client, ["ok", "broken", "slow", "gone", "flaky"], WANTED, options)
    assert eligible(found["ok"]) == "" and eligible(found["flaky"]) == ""
    assert client.submitted["flaky"] == 2
    assert eligible(found["broken"]) == (
        "the survey failed on the worker: ModuleNotFoundError: No module named 'gilwatt'"
    )
    assert eligible(found["slow"]).startswith(f"{NO_ANSWER} in 0.5s (timed out after 1 try")
    assert eligible(found["gone"]) == f"{NO_ANSWER}: left the cluster during the survey"
    assert not any("?" in eligible(f) for f in found.values())


def test_a_failed_provisioning_is_in_the_hosts_one_line() -> None:
    options = ClusterOptions(describe_timeout_s=5)
    nopair = facts("w", problem="no matched CPython 3.13.5 GIL / free-threaded pair",
                   executables={})  # fmt: skip
    answers = [
        FakeFuture("error", error=NotADirectoryError("cache")),
        FakeFuture("finished", nopair),
    ]
    client = FakeClient({"w": iter(answers)}, alive={"w"})
    notes: list[str] = []
    found = survey(client, ["w"], WANTED, options, provision=True, note=notes.append)
    assert eligible(found["w"]) == (
        "no matched CPython 3.13.5 GIL / free-threaded pair "
        "(provisioning failed: NotADirectoryError: cache)"
    )
    assert notes == ["w: provisioning failed: NotADirectoryError: cache"]


def test_another_gilwatt_is_named() -> None:
    assert eligible(facts("w", gilwatt_version="0.0.1")) == (
        f"gilwatt 0.0.1 on the worker, {__version__} here"
    )


@dataclass(frozen=True)
class SizedWorkload:
    name: str = "big"

    def estimate(self, params: dict[str, Any], workers: int) -> int:
        return int(params["mb"]) << 20


@pytest.fixture
def sized_study() -> Any:
    from types import SimpleNamespace

    cells = tuple(Cell.of("big", {"mb": mb}, 1) for mb in (100, 3000, 9000))
    return SimpleNamespace(cells=cells, workloads={"big": SizedWorkload()})


def test_a_host_runs_only_the_cells_that_fit_its_memory(sized_study: Any) -> None:
    small = facts("w", memory_bytes=4 << 30)
    assert [c.params["mb"] for c in fit_memory(sized_study, sized_study.cells, small)] == [
        100, 3000,
    ]  # fmt: skip
    # an explicit --memory-limit is what one run may use; MemTotal otherwise
    limited = replace(small, memory_limit_bytes=1 << 30)
    assert memory_of(limited) == (1 << 30, "the worker's --memory-limit")
    assert [c.params["mb"] for c in fit_memory(sized_study, sized_study.cells, limited)] == [100]
    line = left_out(sized_study, limited, sized_study.cells[1:])
    assert line.startswith("2 cell(s) left out, their estimated peak memory above 1.0 GiB")
    assert "--memory-limit" in line and "big mb=9000 w=1" in line
    # a host whose memory is unknown runs every cell
    unknown = replace(small, memory_bytes=0)
    assert len(fit_memory(sized_study, sized_study.cells, unknown)) == 3


def test_the_memory_limit_is_in_the_hosts_definition_only_when_given() -> None:
    assert "memory_limit_bytes" not in facts("w").descriptor()
    assert facts("w", memory_limit_bytes=5).descriptor()["memory_limit_bytes"] == 5


def test_host_study_leaves_out_what_does_not_fit(sized_study: Any) -> None:
    from gilwatt.study.resolve import ResolvedStudy
    from gilwatt.study.spec import load_suite

    spec = load_suite("tiny")
    study = ResolvedStudy(spec, {}, sized_study.workloads, sized_study.cells)  # type: ignore[arg-type]
    hosted = host_study(study, facts("w", memory_bytes=4 << 30, executables={}))
    assert len(hosted.cells) == 2


def test_a_worker_joining_mid_study_is_described_not_provisioned(tmp_path: Any) -> None:
    from types import SimpleNamespace

    from gilwatt.study.cluster import _ClusterRun

    study = SimpleNamespace(interpreters={"gil": SimpleNamespace(version="3.13.5")})
    options = ClusterOptions(provision=True, describe_timeout_s=5)
    client = FakeClient({"new": iter([FakeFuture("finished", facts("new"))])}, alive={"new"})
    calls: list[str] = []
    submit = client.submit

    def recording(fn: Callable[..., Any], arg: Any, **kwargs: Any) -> Any:
        calls.append(fn.__name__)
        return submit(fn, arg, **kwargs)

    client.submit = recording  # type: ignore[method-assign]
    run = _ClusterRun(client, study, tmp_path / "s.db", options, lambda e: None, lambda w: None,
                      ({}, ()))  # type: ignore[arg-type]  # fmt: skip
    run._adopt_new_workers({"new"})
    assert calls == ["describe"]
    assert run.notes == ["worker new (host-new) joined, not used: a host not in this study "
                         "(hosts are fixed at the start)"]  # fmt: skip
