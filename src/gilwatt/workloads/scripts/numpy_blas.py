"""NumPy BLAS matrix product (the study's numpy_blas).

Kernel: ``A.dot(B)`` on square float64 matrices from ``default_rng(42)``, then ``.sum()``.

Verified: the total against ``colsum(A) . rowsum(B)`` (an O(n^2) identity, independent of the
product), to 1e-9 relative; and 64 entries, spread over the matrix plus its corners, each
against its own dot product of a row and a column, to 1e-9 relative.
"""

from _harness import check_close, measured, parse_args, passed, require_numpy, sample_indices

NAME = "numpy_blas"


def main():
    args = parse_args(
        __doc__, [("size", "int", 200, "rows = columns of each matrix")], uses_workers=False
    )
    np = require_numpy()
    rng = np.random.default_rng(42)
    n = args.size
    a = rng.random((n, n), dtype=np.float64)
    b = rng.random((n, n), dtype=np.float64)

    with measured(NAME, args):
        c = a.dot(b)
        if args.corrupt:
            c[0, 0] += 1.0
        total = float(c.sum())

    want_total = float(np.dot(a.sum(axis=0), b.sum(axis=1)))
    check_close("sum of the product", total, want_total, 1e-9)
    rows = sample_indices(n, 8)
    cols = sample_indices(n, 8)
    for i in rows:
        for j in cols:
            check_close(
                "entry C[%d, %d]" % (i, j), float(c[i, j]), float(np.dot(a[i, :], b[:, j])), 1e-9
            )
    passed(total)


if __name__ == "__main__":
    main()
