"""A large read-only array shared by threads or by processes (beyond the study).

Set-up writes ``size_mb`` MiB of pseudo-random bytes to a temporary file. Kernel: the pages
are split into contiguous ranges, one per worker, and each worker computes, in pure Python,
the CRC-32 of the first ``touch_bytes`` bytes of every page of its range (so every page is
read). ``--variant threads``: one read-only ``mmap`` in one process, shared by the threads.
``--variant processes``: a ProcessPoolExecutor whose workers each map the same file
read-only (created inside the region); the pages are shared through the page cache, so RSS
counts them once per process while PSS does not.

Verified: the ranges tile all pages exactly once and each range's CRC equals ``zlib.crc32``
of the same bytes (exact).
"""

import concurrent.futures
import mmap
import multiprocessing
import os
import random
import tempfile
import zlib

from _harness import check_coverage, check_equal, chunks, measured, parse_args, passed, skip
from _kernels import PAGE, crc_mapped_pages, crc_pages, map_file

NAME = "read_only"
VARIANTS = ("threads", "processes")
START_METHODS = ("forkserver", "spawn", "fork")
BLOCK = 16 << 20


def write_data(path, size):
    rng = random.Random(42)
    with open(path, "wb") as handle:
        left = size
        while left:
            step = min(BLOCK, left)
            handle.write(rng.getrandbits(step * 8).to_bytes(step, "little"))
            left -= step


def kernel(args, path, data, pages):
    ranges = chunks(pages, args.workers, args.corrupt)
    touch = args.touch_bytes
    if args.variant == "threads":
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
            futures = [pool.submit(crc_pages, data, s, e, touch) for s, e in ranges]
            return [future.result() for future in futures]
    context = multiprocessing.get_context(args.start_method)
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=args.workers, mp_context=context, initializer=map_file, initargs=(path,)
    ) as pool:
        futures = [pool.submit(crc_mapped_pages, s, e, touch) for s, e in ranges]
        return [future.result() for future in futures]


def main():
    args = parse_args(
        __doc__,
        [
            ("variant", "str", "threads", "who shares the array", VARIANTS),
            ("size_mb", "int", 8, "MiB of read-only data"),
            ("touch_bytes", "int", 16, "bytes hashed per 4 KiB page"),
            (
                "start_method",
                "str",
                "forkserver",
                "multiprocessing start method (processes only)",
                START_METHODS,
            ),
        ],
    )
    if (
        args.variant == "processes"
        and args.start_method not in multiprocessing.get_all_start_methods()
    ):
        skip("start method %r is not available on this platform" % args.start_method)
    if not 1 <= args.touch_bytes <= PAGE:
        raise SystemExit(
            "read_only: --touch_bytes must be 1..%d (got %d)" % (PAGE, args.touch_bytes)
        )
    size = args.size_mb << 20
    pages = size // PAGE
    handle, path = tempfile.mkstemp(prefix="gilwatt-read-only-", suffix=".bin")
    os.close(handle)
    try:
        write_data(path, size)
        with open(path, "rb") as source:
            data = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ)

        with measured(NAME, args):
            results = kernel(args, path, data, pages)

        check_coverage("pages read", [(s, e) for s, e, _ in results], pages)
        touch = args.touch_bytes
        for start, end, crc in results:
            want = zlib.crc32(
                b"".join(data[p * PAGE : p * PAGE + touch] for p in range(start, end))
            )
            check_equal("CRC-32 of pages %d..%d" % (start, end), crc, want)
        data.close()
    finally:
        os.unlink(path)
    passed(zlib.crc32(b"".join(crc.to_bytes(4, "little") for _, _, crc in sorted(results))))


if __name__ == "__main__":
    main()
