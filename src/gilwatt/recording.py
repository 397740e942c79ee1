"""What the profiler receives from the target while it runs, and how it is kept.

- :class:`OutputRecorder`: the target's stdout and stderr go to the store in chunks, are
  copied live to the caller's streams, and stderr keeps a tail (shown when the target fails)
  and is scanned for CPython's "GIL has been enabled to load module" warning.
- :class:`MarkerReceiver`: the marker pipe's lines become events; each read that holds a
  region boundary or mark triggers one sample right away (trigger ``marker``), and the events
  are paired into regions and kept as store rows. Thread starts and ends (the thread hook's
  events) go to the sampler's thread records instead and trigger no sample.
- :func:`region_rows`: the paired regions as store rows, with the peak RSS inside each.
"""

from __future__ import annotations

import json
import os
import re
import select
from collections.abc import Iterable, Iterator
from typing import IO, Any

from gilwatt.channel import (
    THREAD_KINDS,
    LineSplitter,
    MarkerEvent,
    PairedRegion,
    RegionPairer,
    parse_line,
)
from gilwatt.sampler import CTX, STATUS, TreeSampler

READ_CHUNK = 1 << 16
STDERR_TAIL_BYTES = 8192
GIL_WARNING_RE = re.compile(
    rb"global interpreter lock \(GIL\) has been enabled to load module '([^']+)'"
)


class OutputRecorder:
    """The target's stdout/stderr: stored, copied to ``sinks`` (None: not copied), scanned."""

    def __init__(self, store: Any, run_id: int, sinks: dict[str, IO[bytes] | None]) -> None:
        self.store = store
        self.run_id = run_id
        self.sinks = dict(sinks)
        self.tail = b""
        self.gil_modules: list[str] = []
        self._scan_tail = b""

    def read(self, fd: int, stream: str) -> bool:
        """Take what the pipe has; False at its end."""
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return True
        if not data:
            return False
        self.store.append_output(self.run_id, stream, data)
        sink = self.sinks.get(stream)
        if sink is not None:
            try:
                sink.write(data)
                sink.flush()
            except (OSError, ValueError):
                self.sinks[stream] = None  # the reader went away: keep recording, stop copying
        if stream == "stderr":
            self.tail = (self.tail + data)[-STDERR_TAIL_BYTES:]
            scan = self._scan_tail + data  # a warning may straddle two reads
            for match in GIL_WARNING_RE.finditer(scan):
                module = match.group(1).decode("utf-8", "replace")
                if module not in self.gil_modules:
                    self.gil_modules.append(module)
            self._scan_tail = scan[-256:]
        return True

    def drain(self, streams: dict[int, str]) -> None:
        """Whatever is left in the pipes, without waiting for writers still alive."""
        for fd, stream in list(streams.items()):
            while self.read(fd, stream):
                try:
                    more, _, _ = select.select([fd], [], [], 0)
                except InterruptedError:
                    continue
                if not more:
                    break

    def tail_text(self, lines: int = 20) -> str:
        return "\n".join(self.tail.decode("utf-8", "replace").splitlines()[-lines:])


class MarkerReceiver:
    """The marker pipe: events, boundary samples, pairing, and rows for the markers table."""

    def __init__(self, sampler: TreeSampler | None) -> None:
        self.sampler = sampler
        self.splitter = LineSplitter()
        self.thread_splitter = LineSplitter()
        self.pairer = RegionPairer()
        self.rows: list[tuple[Any, ...]] = []  # not yet written
        self.count = 0  # rows so far: the next row's idx

    def read(self, fd: int) -> bool:
        """Take what the pipe has; False at its end (every writer has closed it)."""
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return True
        lines = self.splitter.feed(data) if data else self.splitter.finish()
        events: list[MarkerEvent] = []
        for event in self._parsed(lines):
            if event.kind in THREAD_KINDS:  # a thread's start or end: no sample, no marker row
                if self.sampler is not None:
                    self.sampler.thread_event(event)
            else:
                events.append(event)
        seq: int | None = None
        if self.sampler is not None and any(e.kind != "A" for e in events):
            # One sample for the whole read: every event in it happened before this instant.
            seq = self.sampler.sample("marker", None, STATUS | CTX)
        for event in events:
            sample_seq = seq if event.kind != "A" else None
            self.pairer.add(event, sample_seq)
            self.rows.append(
                (self.count, event.kind, event.pid, event.tid, event.seq, event.name,
                 event.t_ns, event.process_cpu_ns, event.thread_cpu_ns, _gil(event.gil),
                 event.attrs_json(), sample_seq)
            )  # fmt: skip
            self.count += 1
        return bool(data)

    def read_threads(self, fd: int) -> bool:
        """The thread hook's pipe: everything it holds now (no waiting); False at its end.

        Read on a timer rather than watched: a line carries its own time, and a program that
        starts thousands of threads would otherwise wake gilwatt thousands of times a second.
        """
        while True:
            try:
                data = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                return True
            lines = self.thread_splitter.feed(data) if data else self.thread_splitter.finish()
            for event in self._parsed(lines):
                if event.kind in THREAD_KINDS and self.sampler is not None:
                    self.sampler.thread_event(event)
            if len(data) < READ_CHUNK:
                return bool(data)

    def _parsed(self, lines: Iterable[bytes]) -> Iterator[MarkerEvent]:
        """The events of ``lines``; a garbled line becomes a run warning, not an event."""
        for line in lines:
            if not line:
                continue
            try:
                yield parse_line(line)
            except (ValueError, UnicodeDecodeError) as exc:
                self.pairer.garbled(line, str(exc))

    def take_rows(self) -> list[tuple[Any, ...]]:
        rows, self.rows = self.rows, []
        return rows

    def warnings(self, free_threaded: bool) -> list[str]:
        """At the end: unpaired or garbled markers, and the GIL seen on in a free-threaded run."""
        found = self.pairer.finish()
        if self.splitter.overlong:
            found.append(f"{self.splitter.overlong} over-long marker line(s) ignored")
        if free_threaded:
            names = sorted({r.name for r in self.pairer.regions if r.begin.gil or r.end.gil})
            if names:
                found.append(
                    f"the GIL was enabled during region(s) {', '.join(names)} of a free-threaded build"
                )
        return found


def region_rows(regions: list[PairedRegion], sampler: TreeSampler) -> list[tuple[Any, ...]]:
    """Store rows for paired regions, with the peak tree RSS inside each.

    The peak is the highest tree RSS sampled between the boundary samples, raised to a
    process's VmHWM at the end boundary when that grew inside the region: VmHWM only moves
    when a new peak is reached, so growth between the boundaries means the peak happened
    inside, exactly at that value.
    """
    rows = []
    rss = sampler.tree_rss
    for index, r in enumerate(regions):
        peak: int | None = None
        b, e = r.begin_sample_seq, r.end_sample_seq
        if b is not None and e is not None and b <= e < len(rss):
            peak = max(rss[b : e + 1])
            hwm_begin = sampler.hwm_at.get(b, {})
            for pid, hwm in sampler.hwm_at.get(e, {}).items():
                if hwm > hwm_begin.get(pid, hwm):
                    peak = max(peak, hwm)
        rows.append(
            (index, r.name, r.pid, r.tid, r.begin.t_ns, r.end.t_ns, b, e,
             r.begin.process_cpu_ns, r.end.process_cpu_ns, r.begin.thread_cpu_ns,
             r.end.thread_cpu_ns, _gil(r.begin.gil), _gil(r.end.gil), peak,
             json.dumps(r.attrs, sort_keys=True, default=str))
        )  # fmt: skip
    return rows


def _gil(value: bool | None) -> int | None:
    return None if value is None else int(value)
