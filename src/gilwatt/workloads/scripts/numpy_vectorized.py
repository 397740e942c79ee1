"""NumPy vectorized arithmetic (the study's numpy_vectorized).

Kernel: ``a*b + a*0.5 - b*0.25``, clip to [0, 1], normalise by mean and standard deviation,
sum. Inputs: two float64 arrays from ``default_rng(42)``.

Verified: the mean and standard deviation of the clipped array against a reference computed
block by block (1 Mi elements at a time, block sums added with ``math.fsum``), to 1e-10
relative; the normalised sum must be ~0 (|sum| <= 1e-12 * length).
"""

import math

from _harness import check_close, failed, measured, parse_args, passed, require_numpy

NAME = "numpy_vectorized"
BLOCK = 1 << 20


def kernel(np, a, b, corrupt):
    combined = a * b + a * 0.5 - b * 0.25
    clipped = np.clip(combined, 0.0, 1.0)
    del combined
    if corrupt:
        clipped[-1] = 2.0
    mean = float(clipped.mean())
    std = float(clipped.std())
    normalized = (clipped - mean) / (std + 1e-9)
    return mean, std, float(np.sum(normalized))


def reference(np, a, b):
    n = len(a)
    sums = []
    for start in range(0, n, BLOCK):
        x, y = a[start : start + BLOCK], b[start : start + BLOCK]
        sums.append(float(np.clip(x * y + x * 0.5 - y * 0.25, 0.0, 1.0).sum()))
    mean = math.fsum(sums) / n
    squares = []
    for start in range(0, n, BLOCK):
        x, y = a[start : start + BLOCK], b[start : start + BLOCK]
        d = np.clip(x * y + x * 0.5 - y * 0.25, 0.0, 1.0) - mean
        squares.append(float(np.dot(d, d)))
    return mean, math.sqrt(math.fsum(squares) / n)


def main():
    args = parse_args(
        __doc__, [("length", "int", 200_000, "elements per array")], uses_workers=False
    )
    np = require_numpy()
    rng = np.random.default_rng(42)
    a = rng.random(args.length, dtype=np.float64)
    b = rng.random(args.length, dtype=np.float64)

    with measured(NAME, args):
        mean, std, total = kernel(np, a, b, args.corrupt)

    ref_mean, ref_std = reference(np, a, b)
    check_close("mean of the clipped array", mean, ref_mean, 1e-10)
    check_close("standard deviation of the clipped array", std, ref_std, 1e-10)
    if not abs(total) <= 1e-12 * args.length:
        failed("normalised sum: got %r, expected ~0" % total)
    passed(round(mean, 12), std=round(std, 12))


if __name__ == "__main__":
    main()
