"""The same CPU-bound kernel on three executors (beyond the study).

Kernel: ``tasks`` tasks, each ``task_iters`` steps of pure-Python integer arithmetic plus a
``payload_kb`` payload shipped to the worker, on one of
``--variant thread`` (ThreadPoolExecutor), ``process`` (ProcessPoolExecutor, start method
``--start_method``) or ``interpreter`` (InterpreterPoolExecutor, Python 3.14+; elsewhere the
run is skipped with the reason). The pool is created inside the region: starting workers is
part of what processes and interpreters cost.

Verified: every task ran exactly once, its result equals the closed form of the arithmetic
(exact), and its payload arrived whole.
"""

import concurrent.futures
import multiprocessing
import os
import sys

from _harness import check_equal, failed, measured, parse_args, passed, skip
from _kernels import MASK, executor_task, lcg_jump, seed_of

NAME = "executors"
VARIANTS = ("thread", "process", "interpreter")
START_METHODS = ("forkserver", "spawn", "fork")
HERE = os.path.dirname(os.path.abspath(__file__))
# the release that added concurrent.futures.InterpreterPoolExecutor: earlier targets skip
INTERPRETER_POOL_SINCE = (3, 14)


def make_pool(variant, workers, start_method):
    if variant == "thread":
        return concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    if variant == "process":
        context = multiprocessing.get_context(start_method)
        return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context)
    pool_class = concurrent.futures.InterpreterPoolExecutor
    # Sub-interpreters start without the script's directory on sys.path: add it so that the
    # pickled task function (_kernels.executor_task) can be imported there.
    setup = "import sys\nif %r not in sys.path: sys.path.insert(0, %r)\n" % (HERE, HERE)
    return pool_class(max_workers=workers, initializer=exec, initargs=(setup, {}))


def kernel(args, payloads, submitted):
    with make_pool(args.variant, args.workers, args.start_method) as pool:
        futures = [pool.submit(executor_task, i, args.task_iters, payloads[i]) for i in submitted]
        return [future.result() for future in futures]


def check_available(variant, start_method):
    if variant == "interpreter" and sys.version_info < INTERPRETER_POOL_SINCE:
        skip(
            "concurrent.futures.InterpreterPoolExecutor needs Python %d.%d+; this is %d.%d.%d"
            % (INTERPRETER_POOL_SINCE + tuple(sys.version_info[:3]))
        )
    if variant == "process" and start_method not in multiprocessing.get_all_start_methods():
        skip("start method %r is not available on this platform" % start_method)


def main():
    args = parse_args(
        __doc__,
        [
            ("variant", "str", "thread", "executor kind", VARIANTS),
            ("tasks", "int", 16, "tasks submitted"),
            ("task_iters", "int", 5000, "arithmetic steps per task"),
            ("payload_kb", "int", 16, "KiB of data shipped with each task"),
            (
                "start_method",
                "str",
                "forkserver",
                "multiprocessing start method (process only)",
                START_METHODS,
            ),
        ],
    )
    check_available(args.variant, args.start_method)
    size = args.payload_kb * 1024
    payloads = [bytes([index % 251]) * size for index in range(args.tasks)]
    submitted = range(args.tasks - 1 if args.corrupt else args.tasks)

    with measured(NAME, args):
        results = kernel(args, payloads, submitted)

    mult, add = lcg_jump(args.task_iters)
    seen = {}
    for index, value, length, tail in results:
        if index in seen:
            failed("task %d ran twice" % index)
        seen[index] = value
        check_equal("result of task %d" % index, value, (mult * seed_of(index) + add) & MASK)
        check_equal(
            "payload bytes of task %d" % index, (length, tail), (size, payloads[index][-1:])
        )
    missing = sorted(set(range(args.tasks)) - set(seen))
    if missing:
        failed("task %d never ran (%d missing)" % (missing[0], len(missing)))
    passed(sum(seen.values()) & MASK)


if __name__ == "__main__":
    main()
