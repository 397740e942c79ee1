"""Sequential Mandelbrot (the study's mandelbrot).

Kernel: the pure-Python escape-time loop over a size x size grid on [-1.5, 0.5] x [-1, 1],
at most 50 iterations per point; the iteration counts are summed per row.

Verified: that every row was computed, and the row sums of 16 evenly spread rows (plus the
first and last) against an independent complex-number implementation, exactly.
"""

from _harness import check_equal, measured, parse_args, passed, sample_indices

NAME = "mandelbrot"
MAX_ITERATIONS = 50
BOUNDS = (-1.5, 0.5, -1.0, 1.0)


def grid(size):
    x_min, x_max, y_min, y_max = BOUNDS
    dx = (x_max - x_min) / size
    dy = (y_max - y_min) / size
    return [x_min + i * dx for i in range(size)], [y_min + i * dy for i in range(size)]


def kernel(xs, ys):
    row_sums = []
    for imag in ys:
        row = 0
        for real in xs:
            zr = zi = 0.0
            iteration = 0
            while zr * zr + zi * zi <= 4.0 and iteration < MAX_ITERATIONS:
                zr, zi = zr * zr - zi * zi + real, 2.0 * zr * zi + imag
                iteration += 1
            row += iteration
        row_sums.append(row)
    return row_sums


def reference_row(xs, imag):
    total = 0
    for real in xs:
        c = complex(real, imag)
        z = 0j
        count = 0
        while count < MAX_ITERATIONS and z.real * z.real + z.imag * z.imag <= 4.0:
            z = z * z + c
            count += 1
        total += count
    return total


def main():
    args = parse_args(__doc__, [("size", "int", 60, "grid points per side")], uses_workers=False)
    xs, ys = grid(args.size)

    with measured(NAME, args):
        row_sums = kernel(xs, ys)
        if args.corrupt:
            row_sums[0] += 1

    check_equal("rows computed", len(row_sums), args.size)
    for row in sample_indices(args.size, 16):
        check_equal("iterations in row %d" % row, row_sums[row], reference_row(xs, ys[row]))
    passed(sum(row_sums))


if __name__ == "__main__":
    main()
