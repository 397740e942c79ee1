"""Threaded factorial (the study's threads_numerical factorial).

Kernel: one ThreadPoolExecutor task per value v in 0..max_value computing ``math.factorial(v)``
(reduced modulo the Mersenne prime 2**61 - 1 so that the result can be checked cheaply).

Verified: every value was computed exactly once, and every residue equals ``v! mod (2**61-1)``
from an independent running product (exact).
"""

import math
from concurrent.futures import ThreadPoolExecutor, as_completed

from _harness import check_equal, failed, measured, parse_args, passed

NAME = "factorial"
MODULUS = (1 << 61) - 1


def task(value):
    return value, math.factorial(value) % MODULUS


def kernel(values, workers):
    results = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(task, value) for value in values]
        for future in as_completed(futures):
            value, residue = future.result()
            if value in results:
                failed("factorial of %d computed twice" % value)
            results[value] = residue
    return results


def main():
    args = parse_args(__doc__, [("max_value", "int", 600, "largest factorial argument")])
    values = list(range(args.max_value + 1))
    if args.corrupt:
        values.pop()

    with measured(NAME, args):
        results = kernel(values, args.workers)

    running = 1
    for value in range(args.max_value + 1):
        if value:
            running = running * value % MODULUS
        if value not in results:
            failed("factorial of %d was never computed" % value)
        check_equal("%d! mod 2**61-1" % value, results[value], running)
    passed(sum(results.values()) % MODULUS)


if __name__ == "__main__":
    main()
