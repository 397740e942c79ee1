"""Sequential bubble sort (the study's bubble_sort).

Kernel: in-place bubble sort (with the early exit when a pass swaps nothing) of a list in
descending order, the worst case.

Verified: the list equals ``[1, 2, ..., n]`` exactly.
"""

from _harness import check_lists_equal, measured, parse_args, passed

NAME = "bubble_sort"


def kernel(values):
    n = len(values)
    for i in range(n):
        swapped = False
        for j in range(n - i - 1):
            if values[j] > values[j + 1]:
                values[j], values[j + 1] = values[j + 1], values[j]
                swapped = True
        if not swapped:
            break


def main():
    args = parse_args(__doc__, [("num_items", "int", 400, "items to sort")], uses_workers=False)
    values = list(range(args.num_items, 0, -1))

    with measured(NAME, args):
        kernel(values)
        if args.corrupt and len(values) > 1:
            values[0], values[-1] = values[-1], values[0]

    want = list(range(1, args.num_items + 1))
    check_lists_equal("the sorted list", values, want)
    passed(args.num_items)


if __name__ == "__main__":
    main()
