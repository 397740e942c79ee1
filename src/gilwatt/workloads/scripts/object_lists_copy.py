"""Threaded copies of a shared list (the study's object_lists_copy).

Kernel: contiguous slices of one shared list of strings, one ThreadPoolExecutor task per
slice; each task copies its slice and upper-cases it into a thread-local list; the main
thread stitches the pieces into a new list by slice assignment.

Verified: the stitched list has every record upper-case (a full scan) and exact at slice
boundaries plus ~1000 spread ones; the shared input list is unchanged (a full scan).
"""

from concurrent.futures import ThreadPoolExecutor, as_completed

from _harness import check_equal, chunks, measured, parse_args, passed
from object_lists_nocopy import record, verify_upper

NAME = "object_lists_copy"


def upper_copy(start, end, records):
    return start, end, [text.upper() for text in records[start:end]]


def kernel(records, workers, corrupt):
    final = [""] * len(records)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(upper_copy, start, end, records)
            for start, end in chunks(len(records), workers, corrupt)
        ]
        for future in as_completed(futures):
            start, end, piece = future.result()
            final[start:end] = piece
    return final


def main():
    args = parse_args(__doc__, [("num_records", "int", 20000, "strings in the shared list")])
    n = args.num_records
    records = [record(i) for i in range(n)]

    with measured(NAME, args):
        final = kernel(records, args.workers, args.corrupt)

    verify_upper(final, n, args.workers)
    check_equal("input records modified", sum(map(str.isupper, records)), 0)
    passed(n)


if __name__ == "__main__":
    main()
