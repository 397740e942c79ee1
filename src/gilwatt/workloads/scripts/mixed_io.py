"""Threads interleaving blocking I/O with CPU work (beyond the study).

``tasks`` rounds are split into contiguous ranges, one per worker thread. Each round does
``cpu_iters`` steps of pure-Python arithmetic, then blocking I/O of ``io_bytes`` bytes:

* ``--variant socket``: send the bytes over a local socketpair to an echo thread, which
  waits ``latency_ms`` (a remote service's latency) and sends them back;
* ``--variant file``: write the bytes to the worker's own temporary file, ``fsync`` it and
  read them back.

Threads release the GIL while they block, so the GIL build already overlaps this workload.
The echo threads and files are set up before the region and torn down after it.

Verified: every round ran exactly once, its result equals the closed form of the arithmetic
(exact), and every echoed or re-read buffer equals what was sent.
"""

import os
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from _harness import check_coverage, check_equal, chunks, measured, parse_args, passed
from _kernels import MASK, lcg, lcg_jump, seed_of

NAME = "mixed_io"
VARIANTS = ("socket", "file")


def recv_exact(sock, size):
    parts = []
    while size:
        part = sock.recv(min(size, 1 << 16))
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def echo(sock, size, latency_s):
    with sock:
        while True:
            data = recv_exact(sock, size)
            if len(data) < size:
                return
            if latency_s:
                time.sleep(latency_s)
            sock.sendall(data)


def buffer_for(value, size):
    return (value.to_bytes(8, "little") * (size // 8 + 1))[:size]


def run_rounds(start, end, cpu_iters, size, channel):
    results, bad = [], 0
    for index in range(start, end):
        value = lcg(seed_of(index), cpu_iters)
        sent = buffer_for(value, size)
        if isinstance(channel, socket.socket):
            channel.sendall(sent)
            back = recv_exact(channel, size)
        else:
            os.pwrite(channel, sent, 0)
            os.fsync(channel)
            back = os.pread(channel, size, 0)
        bad += back != sent
        results.append(value)
    return start, end, results, bad


def open_channels(args, workers):
    """Per worker: a socket whose echo peer runs in its own thread, or a temporary file."""
    channels, closers = [], []
    for _ in range(workers):
        if args.variant == "socket":
            mine, peer = socket.socketpair()
            thread = threading.Thread(
                target=echo, args=(peer, args.io_bytes, args.latency_ms / 1000.0), daemon=True
            )
            thread.start()
            channels.append(mine)
            closers.append(mine.close)
        else:
            fd, path = tempfile.mkstemp(prefix="gilwatt-mixed-io-")
            os.unlink(path)
            channels.append(fd)
            closers.append(lambda fd=fd: os.close(fd))
    return channels, closers


def kernel(args, ranges, channels):
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        futures = [
            pool.submit(run_rounds, start, end, args.cpu_iters, args.io_bytes, channels[number])
            for number, (start, end) in enumerate(ranges)
        ]
        return [future.result() for future in futures]


def main():
    args = parse_args(
        __doc__,
        [
            ("variant", "str", "socket", "kind of blocking I/O", VARIANTS),
            ("tasks", "int", 40, "rounds of CPU work + I/O"),
            ("cpu_iters", "int", 2000, "arithmetic steps per round"),
            ("io_bytes", "int", 4096, "bytes sent and received per round"),
            ("latency_ms", "float", 1.0, "echo delay per round (socket only)"),
        ],
    )
    ranges = chunks(args.tasks, args.workers, args.corrupt)
    channels, closers = open_channels(args, len(ranges))
    try:
        with measured(NAME, args):
            results = kernel(args, ranges, channels)
    finally:
        for close in closers:
            close()

    check_coverage("rounds", [(s, e) for s, e, _, _ in results], args.tasks)
    check_equal("buffers that came back different", sum(r[3] for r in results), 0)
    mult, add = lcg_jump(args.cpu_iters)
    total = 0
    for start, _, values, _ in results:
        for offset, value in enumerate(values):
            index = start + offset
            check_equal("result of round %d" % index, value, (mult * seed_of(index) + add) & MASK)
            total += value
    passed(total & MASK)


if __name__ == "__main__":
    main()
