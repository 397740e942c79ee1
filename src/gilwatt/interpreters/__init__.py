"""Interpreters: discover the ones a user has, probe them, and provision a matched pair.

::

    from gilwatt.interpreters import discover, matched_pair, provision, resolve

    for interp in discover():           # every interpreter found; broken ones carry .error
        print(interp.name, interp.free_threaded, interp.gil_enabled)
    gil, ft = matched_pair() or provision("3.13.5")
    target = resolve("ft")              # or "cpython-3.13.5t", "3.13t", "python3.13t", a path

Provisioned interpreters are reported as their environment's python (a venv holding numpy,
which the workloads need); ``Interpreter.extra["base_prefix"]`` names the install behind it.
"""

from gilwatt.interpreters.discovery import discover, matched_pair, resolve, same_build_flags
from gilwatt.interpreters.inspect import probe
from gilwatt.interpreters.interpreter import Interpreter, ProgressEvent, ProgressFn
from gilwatt.interpreters.provision import (
    DEFAULT_VERSION,
    normalise_version,
    provision,
    provisioned_pair,
)

__all__ = [
    "DEFAULT_VERSION",
    "Interpreter",
    "ProgressEvent",
    "ProgressFn",
    "discover",
    "matched_pair",
    "normalise_version",
    "probe",
    "provision",
    "provisioned_pair",
    "resolve",
    "same_build_flags",
]
