"""Sequential prime sieve (the study's prime_sieve).

Kernel: the Sieve of Eratosthenes over a Python list of booleans (allocated inside the
region, as in the study), the primes gathered with a list comprehension, then their count
and sum.

Verified: the list of primes equals, exactly, the one from an independent sieve over a
``bytearray`` with slice assignment.
"""

import math
from itertools import compress

from _harness import check_equal, check_lists_equal, measured, parse_args, passed

NAME = "prime_sieve"


def kernel(limit):
    if limit < 2:
        return []
    is_prime = [True] * (limit + 1)
    is_prime[0] = is_prime[1] = False
    factor = 2
    while factor * factor <= limit:
        if is_prime[factor]:
            for multiple in range(factor * factor, limit + 1, factor):
                is_prime[multiple] = False
        factor += 1
    return [number for number, prime in enumerate(is_prime) if prime]


def reference(limit):
    if limit < 2:
        return []
    flags = bytearray([1]) * (limit + 1)
    flags[0] = flags[1] = 0
    for factor in range(2, math.isqrt(limit) + 1):
        if flags[factor]:
            flags[factor * factor :: factor] = bytes(len(range(factor * factor, limit + 1, factor)))
    return list(compress(range(limit + 1), flags))


def main():
    args = parse_args(
        __doc__, [("limit", "int", 100_000, "largest number sieved")], uses_workers=False
    )

    with measured(NAME, args):
        primes = kernel(args.limit)
        if args.corrupt and primes:
            primes.pop()
        count, total = len(primes), sum(primes)

    want = reference(args.limit)
    check_equal("number of primes up to %d" % args.limit, count, len(want))
    check_equal("sum of primes up to %d" % args.limit, total, sum(want))
    check_lists_equal("the primes", primes, want)
    passed(total, count=count)


if __name__ == "__main__":
    main()
