"""Plumbing shared by gilwatt's workload scripts.

Workload scripts run under the *target* interpreter (any CPython 3.9+, GIL or free-threaded),
so this module uses the standard library only and no 3.10+ syntax. A script imports it as a
sibling module (the script's directory is ``sys.path[0]``).

The contract every script follows:

* set-up outside the measured region, the kernel inside ``region("kernel", ...)``;
* verification after the region against a reference computed outside it;
* exit 0 and ``annotate(verified=True, checksum=...)`` when the result is right,
  exit 3 and ``annotate(verified=False, detail=...)`` when it is not,
  exit 4 and ``annotate(skipped=reason)`` when a dependency is missing;
* ``annotate(gil_start=..., gil_end=...)``: ``sys._is_gil_enabled()`` at the region's ends,
  so an extension that silently re-enabled the GIL shows up;
* nothing on stdout.

The hidden ``--corrupt`` flag (or ``GILWATT_WORKLOAD_CORRUPT=1``) makes the kernel produce a
wrong result on purpose, to prove that verification catches it.
"""

import argparse
import os
import sys

try:
    from gilwatt.markers import annotate, gil_enabled, region
except ImportError:  # run by hand without gilwatt on the path: markers become no-ops

    class region:
        def __init__(self, name, **attrs):
            self.name = name

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def annotate(**attrs):
        return None

    def gil_enabled():
        probe = getattr(sys, "_is_gil_enabled", None)
        return True if probe is None else bool(probe())


EXIT_VERIFY_FAILED = 3
EXIT_SKIPPED = 4
CORRUPT_ENV = "GILWATT_WORKLOAD_CORRUPT"
REGION = "kernel"


def _int(text):
    """An integer that may be written 150M, 2k, 1_000 or 2e6."""
    text = str(text).strip().replace("_", "")
    scale = {"k": 10**3, "m": 10**6, "g": 10**9}.get(text[-1:].lower(), 1)
    if scale != 1:
        text = text[:-1]
    try:
        return int(text) * scale
    except ValueError:
        value = float(text) * scale
        if value != int(value):
            raise argparse.ArgumentTypeError("not an integer: %r" % text) from None
        return int(value)


TYPES = {"int": _int, "float": float, "str": str}


def parse_args(description, params, uses_workers=True, argv=None):
    """Parse ``--workers N`` and ``--<param> value`` for each ``(name, type, default, help)``.

    Sizes default to the ``tiny`` preset so a bare run finishes at once.
    """
    parser = argparse.ArgumentParser(description=description)
    if uses_workers:
        parser.add_argument("--workers", type=_int, default=1, help="worker count (>= 1)")
    else:
        parser.add_argument("--workers", type=_int, default=1, help=argparse.SUPPRESS)
    for spec in params:
        name, kind, default, help_text = spec[:4]
        choices = spec[4] if len(spec) > 4 else None
        parser.add_argument(
            "--" + name, type=TYPES[kind], default=default, help=help_text, choices=choices
        )
    parser.add_argument("--corrupt", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1 (got %d)" % args.workers)
    if not uses_workers and args.workers != 1:
        parser.error("this workload is single-threaded; --workers must be 1")
    args.corrupt = args.corrupt or os.environ.get(CORRUPT_ENV, "") not in ("", "0")
    args.params = dict((spec[0], getattr(args, spec[0])) for spec in params)
    return args


def chunks(total, workers, corrupt=False):
    """Contiguous ``(start, end)`` ranges, ceil(total / workers) items each, as in the study.

    There may be fewer ranges than workers when ``total`` is small. ``corrupt`` drops the
    last item: the off-by-one a wrong chunking would make, which verification must catch.
    """
    per = (total + workers - 1) // workers
    ranges = []
    for index in range(workers):
        start = index * per
        if start >= total:
            break
        ranges.append((start, min(start + per, total)))
    if corrupt and ranges:
        start, end = ranges[-1]
        ranges[-1] = (start, end - 1)
    return ranges


class measured:
    """``with measured(name, args):`` wraps the kernel in the ``kernel`` region and records
    the GIL state at both ends."""

    def __init__(self, workload, args, **extra):
        attrs = dict(args.params)
        attrs.update(extra)
        self.region = region(REGION, workload=workload, workers=args.workers, **attrs)
        self.gil_start = None
        self.gil_end = None

    def __enter__(self):
        self.gil_start = gil_enabled()
        self.region.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.region.__exit__(exc_type, exc, tb)
        self.gil_end = gil_enabled()
        annotate(gil_start=self.gil_start, gil_end=self.gil_end)
        return False


def passed(checksum, **extra):
    """The result matched its reference: record it and exit 0."""
    annotate(verified=True, checksum=checksum, **extra)
    sys.exit(0)


def failed(detail):
    """The result differs from its reference: say where, record it and exit 3."""
    detail = str(detail)[:1500]
    sys.stderr.write("verification failed: %s\n" % detail)
    annotate(verified=False, detail=detail)
    sys.exit(EXIT_VERIFY_FAILED)


def skip(reason):
    """A dependency is missing on this interpreter: say why, record it and exit 4."""
    sys.stderr.write("skipped: %s\n" % reason)
    annotate(skipped=reason)
    sys.exit(EXIT_SKIPPED)


def require_numpy():
    """numpy, or exit 4 with the reason (e.g. no numpy wheel for a bare 3.14t)."""
    try:
        import numpy
    except ImportError as exc:
        skip("numpy is not installed for %s (%s): %s" % (sys.executable, _version(), exc))
    return numpy


def _version():
    info = sys.version_info
    ft = "t" if _free_threaded() else ""
    return "%d.%d.%d%s" % (info[0], info[1], info[2], ft)


def _free_threaded():
    import sysconfig

    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def check_equal(label, got, want):
    """Fail verification unless ``got == want``."""
    if got != want:
        failed("%s: got %s, expected %s" % (label, _short(got), _short(want)))


def check_lists_equal(label, got, want):
    """Fail verification unless two lists are equal, naming the first difference."""
    if got == want:
        return
    for index in range(min(len(got), len(want))):
        if got[index] != want[index]:
            failed(
                "%s: item %d is %s, expected %s"
                % (label, index, _short(got[index]), _short(want[index]))
            )
    failed("%s: %d items, expected %d" % (label, len(got), len(want)))


def check_close(label, got, want, rel_tol, abs_tol=0.0):
    """Fail verification unless the two floats agree to ``rel_tol``."""
    import math

    if not math.isclose(got, want, rel_tol=rel_tol, abs_tol=abs_tol):
        failed("%s: got %r, expected %r (rel_tol %g)" % (label, got, want, rel_tol))


def check_coverage(label, ranges, total):
    """The ranges the workers reported must tile [0, total) exactly once."""
    position = 0
    for start, end in sorted(ranges):
        if start != position:
            failed(
                "%s: items %d..%d were %s"
                % (
                    label,
                    min(start, position),
                    max(start, position),
                    "never processed" if start > position else "processed twice",
                )
            )
        position = end
    if position != total:
        failed("%s: items %d..%d were never processed" % (label, position, total))


def sample_indices(total, count, extra=()):
    """A deterministic, evenly spread sample of indices in [0, total), plus ``extra``."""
    if total <= 0:
        return []
    picked = set(i for i in extra if 0 <= i < total)
    step = max(1, total // max(1, count))
    picked.update(range(0, total, step))
    picked.add(total - 1)
    return sorted(picked)


def boundaries(total, workers):
    """The first and last index of every contiguous chunk: where a chunking bug shows."""
    out = []
    for start, end in chunks(total, workers):
        out.extend((start, end - 1))
    return out


def _short(value):
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."
