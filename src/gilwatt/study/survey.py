"""Ask each Dask worker what its host is before a cluster study plans anything.

Every worker runs ``remote.describe`` (after ``remote.provision_pair`` with
``--provision-workers``). A worker that has not answered is waited for, up to
``ClusterOptions.describe_timeout_s`` in all (a freshly started worker on a loaded machine
imports gilwatt and probes its pair first); a survey the scheduler cancelled or lost is asked
again within that bound. A worker without an answer gets facts whose ``problem`` says why:
it did not answer in time, it left, or the survey failed on it (gilwatt not importable there,
say). Nothing here prints: provisioning results go through ``note``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from gilwatt import __version__
from gilwatt.study.remote import HostFacts, PairWanted
from gilwatt.study.scheduler import ClusterOptions, live_workers

NO_ANSWER = "did not answer"  # the start of a problem that asking again may cure
POLL_S = 0.25
RESUBMITTABLE = ("cancelled", "lost")  # ended without running to the end on the worker


def survey(
    client: Any,
    workers: Iterable[str],
    wanted: PairWanted,
    options: ClusterOptions,
    *,
    provision: bool = False,
    note: Callable[[str], None] = lambda line: None,
) -> dict[str, HostFacts]:
    """Each worker's answer (or facts naming why there is none); see the module docstring."""
    from gilwatt.study.remote import describe, provision_pair

    workers = sorted(set(workers))
    provisioned: dict[str, str] = {}
    if provision:
        provisioned = _gather(
            client, workers, options.provision_timeout_s, lambda: (provision_pair, wanted.version),
            failed="provisioning failed: ",
        )  # fmt: skip
        for w, line in provisioned.items():
            note(f"{w}: {line}")
    answers = _gather(
        client, workers, options.describe_timeout_s, lambda: (describe, wanted),
        failed="the survey failed on the worker: ",
    )  # fmt: skip
    facts: dict[str, HostFacts] = {}
    for w in workers:
        answer = answers[w]
        if isinstance(answer, HostFacts):
            failed = provisioned.get(w, "")
            if answer.problem and not failed.startswith("provisioned"):
                answer = _with_problem(answer, f"{answer.problem} ({failed})")
            facts[w] = answer
        else:
            facts[w] = unanswered(w, answer)
    return facts


def eligible(facts: HostFacts) -> str:
    """Why the host of ``facts`` cannot run the study ('' when it can)."""
    if facts.problem:  # before the version: a worker that did not answer has none
        return facts.problem
    if facts.gilwatt_version != __version__:
        return f"gilwatt {facts.gilwatt_version} on the worker, {__version__} here"
    return ""


def unanswered(worker: str, why: str) -> HostFacts:
    return HostFacts(worker, "", "", worker, "", 0, 0, 0, {}, {}, problem=why)


def _with_problem(facts: HostFacts, problem: str) -> HostFacts:
    from dataclasses import replace

    return replace(facts, problem=problem)


def _gather(
    client: Any,
    workers: list[str],
    bound_s: float,
    call: Callable[[], tuple[Callable[..., Any], Any]],
    *,
    failed: str,
) -> dict[str, Any]:
    """Run ``call()``'s function on each worker; its result, or a string saying why not
    (``failed`` and the exception, when it raised on the worker)."""
    deadline = time.monotonic() + bound_s
    tries = dict.fromkeys(workers, 1)
    pending = {w: _submit(client, w, call) for w in workers}
    results: dict[str, Any] = {}
    while pending:
        alive = set(live_workers(client))
        for w, fut in list(pending.items()):
            if fut.status == "finished":
                results[w] = fut.result()
            elif fut.status == "error":
                exc = fut.exception()
                results[w] = f"{failed}{_text(exc)}"
            elif w not in alive:
                fut.cancel()
                results[w] = f"{NO_ANSWER}: left the cluster during the survey"
            elif fut.status in RESUBMITTABLE and time.monotonic() < deadline:
                tries[w] += 1
                pending[w] = _submit(client, w, call)
                continue
            else:
                if time.monotonic() < deadline:
                    continue  # still starting or running
                fut.cancel()
                results[w] = (
                    f"{NO_ANSWER} in {bound_s:g}s (timed out after {tries[w]} "
                    f"{'try' if tries[w] == 1 else 'tries'}; a busy or still starting worker)"
                )
            del pending[w]
        if pending:
            time.sleep(POLL_S)
    return results


def _submit(client: Any, worker: str, call: Callable[[], tuple[Callable[..., Any], Any]]) -> Any:
    fn, arg = call()
    return client.submit(
        fn, arg, workers=[worker], allow_other_workers=False, pure=False,
        key=f"gilwatt-survey-{uuid.uuid4().hex[:12]}",
    )  # fmt: skip


def _text(exc: BaseException | None) -> str:
    if exc is None:
        return "no exception"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}{': ' + first if first else ''}"
