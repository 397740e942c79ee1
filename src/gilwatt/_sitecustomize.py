"""The ``sitecustomize`` gilwatt puts first on a profiled program's PYTHONPATH (a copy).

It first loads the ``sitecustomize`` the program would have loaded without gilwatt (as
ddtrace-run does: our directory leaves ``sys.path`` for the import and comes back after), then
installs :mod:`gilwatt.threadhook`. Python skips it, like any sitecustomize, under ``-S``
(no site), ``-I`` and ``-E`` (PYTHONPATH ignored). Only acts when imported as ``sitecustomize``.
"""

import os
import sys


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.get("sitecustomize")
    removed = [i for i, p in enumerate(sys.path) if os.path.abspath(p or ".") == here]
    for i in reversed(removed):
        del sys.path[i]
    sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # type: ignore[import-not-found]  # noqa: F401  (the program's own)
    except ImportError as exc:
        if exc.name != "sitecustomize":
            raise
    finally:
        for i in removed:
            sys.path.insert(i, here)
        if ours is not None:
            sys.modules["sitecustomize"] = ours


def _hook() -> None:
    if os.environ.get("GILWATT_THREAD_HOOK") != "1":
        return
    try:
        from gilwatt import threadhook
    except ImportError:
        return
    threadhook.install()


if __name__ == "sitecustomize":
    try:
        _chain()
    finally:
        _hook()
