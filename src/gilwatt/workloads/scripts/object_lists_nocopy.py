"""Threaded in-place writes to one shared list (the study's object_lists_nocopy).

Kernel: contiguous index ranges of one shared list of strings, one ThreadPoolExecutor task
per range; each task writes ``records[i] = records[i].upper()`` back into the shared list.

Verified: every record is upper-case (a full scan, so a lost write anywhere is caught), and
the records at range boundaries plus ~1000 spread ones equal the expected string exactly.
"""

from concurrent.futures import ThreadPoolExecutor, as_completed

from _harness import boundaries, check_equal, chunks, measured, parse_args, passed, sample_indices

NAME = "object_lists_nocopy"


def record(i):
    return "name%d middleName%d surname%d" % (i, i, i)


def upper_in_place(start, end, records):
    for i in range(start, end):
        records[i] = records[i].upper()


def kernel(records, workers, corrupt):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(upper_in_place, start, end, records)
            for start, end in chunks(len(records), workers, corrupt)
        ]
        for future in as_completed(futures):
            future.result()


def verify_upper(records, n, workers):
    """Shared with object_lists_copy: all upper-case, and exact at boundaries and a sample."""
    check_equal("number of records", len(records), n)
    upper = sum(map(str.isupper, records))
    if upper != n:
        first = next(i for i, text in enumerate(records) if not text.isupper())
        check_equal("record %d" % first, records[first], record(first).upper())
    for i in sample_indices(n, 1000, boundaries(n, workers)):
        check_equal("record %d" % i, records[i], record(i).upper())


def main():
    args = parse_args(__doc__, [("num_records", "int", 20000, "strings in the shared list")])
    n = args.num_records
    records = [record(i) for i in range(n)]

    with measured(NAME, args):
        kernel(records, args.workers, args.corrupt)

    verify_upper(records, n, args.workers)
    passed(n)


if __name__ == "__main__":
    main()
