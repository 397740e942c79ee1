"""Threaded pure-Python matrix product (the study's threads_numerical matmul).

Kernel: integer matrices ``(i + j) % 100``; the right-hand matrix transposed in set-up; the
rows split into contiguous blocks, one ThreadPoolExecutor task per block; each task returns
the sum of every row of its block of the product.

Verified: the blocks tile all rows exactly once, and every row sum equals
``sum_k A[i][k] * rowsum(B)[k]``, an O(n^2) identity independent of the product (exact).
"""

from concurrent.futures import ThreadPoolExecutor

from _harness import check_coverage, check_equal, chunks, measured, parse_args, passed

NAME = "matmul"


def build_matrix(size):
    return [[(row + col) % 100 for col in range(size)] for row in range(size)]


def transpose(matrix):
    return [list(column) for column in zip(*matrix)]  # noqa: B905 (3.9)


def row_block(start, end, left, right_t):
    sums = []
    for row in range(start, end):
        values = left[row]
        total = 0
        for column in right_t:
            total += sum(a * b for a, b in zip(values, column))  # noqa: B905 (3.9)
        sums.append(total)
    return start, end, sums


def kernel(left, right_t, workers, corrupt):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(row_block, start, end, left, right_t)
            for start, end in chunks(len(left), workers, corrupt)
        ]
        return [future.result() for future in futures]


def main():
    args = parse_args(__doc__, [("matrix_size", "int", 48, "rows = columns of each matrix")])
    n = args.matrix_size
    left = build_matrix(n)
    right = build_matrix(n)
    right_t = transpose(right)

    with measured(NAME, args):
        blocks = kernel(left, right_t, args.workers, args.corrupt)

    check_coverage("rows of the product", [(start, end) for start, end, _ in blocks], n)
    right_row_sums = [sum(row) for row in right]
    total = 0
    for start, _, sums in blocks:
        for offset, got in enumerate(sums):
            row = start + offset
            want = sum(a * s for a, s in zip(left[row], right_row_sums))  # noqa: B905 (3.9)
            check_equal("sum of product row %d" % row, got, want)
            total += got
    passed(total)


if __name__ == "__main__":
    main()
