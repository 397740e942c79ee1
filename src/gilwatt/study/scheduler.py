"""The client's side of a Dask scheduler: connect, ask which workers it has, say it is lost.

The workers are always asked of the scheduler itself. ``Client.scheduler_info()`` returns a
cache that the client's own 2-second refresh overwrites with a summary holding no workers; a
call that lost that race saw every worker gone (a fresh worker's survey was cancelled as if
it had left, and reported as 'gilwatt ?').
"""

from __future__ import annotations

import importlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gilwatt.errors import ClusterError, SchedulerLost

CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ClusterOptions:
    address: str | None = None
    scheduler_file: str | None = None
    worker_wait_s: float = 30.0  # for the first worker to join
    host_wait_s: float = 120.0  # for a host whose workers all left to come back
    describe_timeout_s: float = 120.0  # for a worker to answer the survey (all tries)
    provision: bool = False  # --provision-workers
    provision_timeout_s: float = 3600.0  # for a worker to build (or find) its pair
    max_attempts: int = 3  # of one block (a worker died under it each time)

    def where(self) -> str:
        return self.address or f"the scheduler in {self.scheduler_file}"


def dask() -> Any:
    """The distributed package (untyped: reached through Any), or ClusterError."""
    try:
        return importlib.import_module("distributed")
    except ImportError:  # distributed is the optional 'cluster' extra, not a gilwatt module
        raise ClusterError(
            "--scheduler needs Dask's distributed package.",
            hint="pip install 'gilwatt[cluster]'",
        ) from None


def connect(options: ClusterOptions) -> Any:
    """A distributed.Client, or ClusterError with the fix."""
    client_class = dask().Client
    if options.address:
        _reachable(options)
    try:
        if options.scheduler_file:
            if not Path(options.scheduler_file).is_file():
                raise ClusterError(f"scheduler file {options.scheduler_file}: not found.")
            return client_class(scheduler_file=options.scheduler_file, timeout=CONNECT_TIMEOUT_S)
        return client_class(options.address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {options.where()} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no answer'}).",
            hint="Check the address (tcp://HOST:8786) and that `dask scheduler` runs there.",
        ) from None
    except Exception as exc:  # it answered, but not as a Dask scheduler does (e.g. MemoryError)
        raise ClusterError(
            f"{options.where()} did not answer as a Dask scheduler ({type(exc).__name__}).",
            hint="Check the address and port: `dask scheduler` prints its tcp:// address.",
        ) from None


def live_workers(client: Any) -> dict[str, dict[str, Any]]:
    """The scheduler's workers now (address -> its identity), asked of the scheduler itself
    (see the module docstring); any failure to ask is raised as it is."""
    info = client.sync(client.scheduler.identity, n_workers=-1)
    workers: dict[str, dict[str, Any]] = dict(info.get("workers", {}))
    return workers


def lost(
    options: ClusterOptions, store_path: Path, exc: BaseException | None = None
) -> SchedulerLost:
    """The one line for a scheduler gone mid-study."""
    why = f" ({type(exc).__name__})" if exc else ""
    return SchedulerLost(
        f"lost the Dask scheduler at {options.where()}{why}; every finished run is "
        f"saved in {store_path}.",
        hint="Restart the scheduler and workers, then run the same command again to resume.",
    )


def _reachable(options: ClusterOptions) -> None:
    """Fail at once on a refused or unresolvable tcp:// address (Dask would retry until its
    timeout); any other address is left to Dask."""
    address = options.address or ""
    if not address.startswith("tcp://"):
        return
    host, _, port = address[len("tcp://") :].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} ({_why(exc)}).",
            hint="Check the address (tcp://HOST:8786) and that `dask scheduler` runs there.",
        ) from None


def _why(exc: OSError | ValueError) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, ValueError):
        return "not HOST:PORT"
    return str(exc) or type(exc).__name__
