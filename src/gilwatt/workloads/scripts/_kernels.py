"""CPU kernels shared by the beyond-the-study workloads, in a module of their own so that
worker processes and sub-interpreters can import them by name (stdlib only, CPython 3.9+).

The CPU work is a linear congruential generator stepped in pure Python. Its result after k
steps has a closed form (an affine map raised to the k-th power, computed by squaring), so
every result can be verified exactly at almost no cost.
"""

import mmap
import os

MULTIPLIER = 1103515245
INCREMENT = 12345
MASK = 0x7FFFFFFF
PAGE = 4096


def seed_of(index):
    """A distinct 31-bit starting value for task or item ``index``."""
    return (index * 2654435761 + 97) & MASK


def private(value):
    """A new int object equal to ``value``, owned by the calling thread.

    On free-threaded 3.13 a module's int constants are not immortal: every thread that uses
    one updates its shared reference count, and threads stepping a loop over the same objects
    contend on that cache line (measured here: 2 threads no faster than 1). The patterns these
    kernels stand for (executors, locks, I/O) are about something else, so each call works on
    private copies.
    """
    return int(str(value))


def lcg(x, steps):
    """The CPU work: ``steps`` pure-Python LCG steps from ``x``."""
    mul, inc, mask = private(MULTIPLIER), private(INCREMENT), private(MASK)
    for _ in range(steps):
        x = (x * mul + inc) & mask
    return x


def lcg_jump(steps):
    """``(a, c)`` such that ``lcg(x, steps) == (a * x + c) & MASK`` for every x."""
    a, c = 1, 0  # identity
    base_a, base_c = MULTIPLIER, INCREMENT
    while steps:
        if steps & 1:
            a, c = (base_a * a) & MASK, (base_a * c + base_c) & MASK
        base_a, base_c = (base_a * base_a) & MASK, (base_a * base_c + base_c) & MASK
        steps >>= 1
    return a, c


def executor_task(index, steps, payload):
    """One task of the executors workload: CPU work plus a payload shipped to the worker."""
    return index, lcg(seed_of(index), steps), len(payload), payload[-1:]


# --- read-only data: pure-Python CRC-32 over a few bytes of every page -------------------


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC_TABLE = _crc_table()


def crc_pages(data, start_page, end_page, touch):
    """CRC-32 (zlib's) of the first ``touch`` bytes of pages start_page..end_page-1."""
    table = [private(entry) for entry in CRC_TABLE]  # see private()
    crc = 0xFFFFFFFF
    for page in range(start_page, end_page):
        offset = page * PAGE
        for byte in data[offset : offset + touch]:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return start_page, end_page, crc ^ 0xFFFFFFFF


_mapped = None


def map_file(path):
    """Process-pool initializer: map the shared file read-only in this worker process."""
    global _mapped
    fd = os.open(path, os.O_RDONLY)
    try:
        _mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)


def crc_mapped_pages(start_page, end_page, touch):
    """``crc_pages`` over this worker process's own read-only mapping."""
    return crc_pages(_mapped, start_page, end_page, touch)
