"""The marker channel, gilwatt's side: split the pipe into lines, parse events, pair regions.

The wire format is :mod:`gilwatt.markers`' (version ``G1``)::

    G1 <kind> <pid> <tid> <seq> <t_ns> <proc_cpu_ns> <thread_cpu_ns> <gil> <payload-json>

Whatever arrives is kept as far as it is valid: a garbled line, an end without a begin, a
begin that never ends, or a region that begins in one thread and ends in another becomes a
warning, never an exception. A begin and its end are paired by (pid, tid, seq): the client
numbers events per thread and sends the begin's seq with the end. Kinds S and X (a thread's
start and end, from :mod:`gilwatt.threadhook`) carry the thread's name as the payload's name
and its CPU time (``thread_cpu_ns``); they are not markers and are not paired.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROTOCOL = b"G1"
KINDS = frozenset("BEMASX")
THREAD_KINDS = frozenset("SX")  # thread start / end, from gilwatt.threadhook
MAX_LINE = 1 << 16  # a partial line longer than this is garbage, not a marker
MAX_WARNINGS = 20  # of each kind; later ones are counted


@dataclass(frozen=True, slots=True)
class MarkerEvent:
    kind: str  # B begin, E end, M mark, A run attributes, S thread start, X thread end
    pid: int
    tid: int
    seq: int
    t_ns: int  # CLOCK_MONOTONIC in the target
    process_cpu_ns: int
    thread_cpu_ns: int
    gil: bool | None
    name: str
    attrs: dict[str, Any]

    def attrs_json(self) -> str:
        return json.dumps(self.attrs, sort_keys=True, default=str)


def parse_line(line: bytes) -> MarkerEvent:
    """One event from one line (without its newline); ValueError says what is wrong."""
    parts = line.split(b"\t", 9)
    if len(parts) != 10:
        raise ValueError(f"{len(parts)} fields, expected 10")
    if parts[0] != PROTOCOL:
        raise ValueError(f"unknown protocol {parts[0][:8]!r}")
    kind = parts[1].decode("ascii", "replace")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    pid, tid, seq, t_ns, proc_cpu, thread_cpu = (int(p) for p in parts[2:8])
    gil_text = parts[8]
    if gil_text not in (b"0", b"1", b"-"):
        raise ValueError(f"bad GIL state {gil_text[:8]!r}")
    gil = None if gil_text == b"-" else gil_text == b"1"
    payload = json.loads(parts[9].decode("utf-8"))
    if not isinstance(payload, dict) or not isinstance(payload.get("n"), str):
        raise ValueError("payload has no name")
    attrs = payload.get("a") or {}
    if not isinstance(attrs, dict):
        raise ValueError("payload attributes are not an object")
    return MarkerEvent(kind, pid, tid, seq, t_ns, proc_cpu, thread_cpu, gil, payload["n"], attrs)


class LineSplitter:
    """Turns the bytes read from the pipe into complete lines."""

    def __init__(self) -> None:
        self._partial = b""
        self.overlong = 0

    def feed(self, data: bytes) -> list[bytes]:
        if self._partial:
            data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_LINE:
            self._partial = b""
            self.overlong += 1
        return lines

    def finish(self) -> list[bytes]:
        """At EOF: a last line without its newline (a writer that died mid-line)."""
        rest, self._partial = self._partial, b""
        return [rest] if rest else []


@dataclass(slots=True)
class PairedRegion:
    name: str
    pid: int
    tid: int
    begin: MarkerEvent
    end: MarkerEvent
    begin_sample_seq: int | None
    end_sample_seq: int | None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Open:
    event: MarkerEvent
    sample_seq: int | None


class RegionPairer:
    """Receives events in arrival order and pairs begins with ends."""

    def __init__(self) -> None:
        self.regions: list[PairedRegion] = []
        self.run_attrs: dict[str, Any] = {}
        self._open: dict[tuple[int, int, int], _Open] = {}
        self._warnings: dict[str, list[str]] = {}
        self._counts: dict[str, int] = {}

    def warn(self, kind: str, text: str) -> None:
        self._counts[kind] = self._counts.get(kind, 0) + 1
        shown = self._warnings.setdefault(kind, [])
        if len(shown) < MAX_WARNINGS:
            shown.append(text)

    def garbled(self, line: bytes, why: str) -> None:
        self.warn("garbled", f"garbled marker line ignored ({why}): {line[:80]!r}")

    def add(self, event: MarkerEvent, sample_seq: int | None) -> None:
        if event.kind == "A":
            self.run_attrs.update(event.attrs)
        elif event.kind == "B":
            key = (event.pid, event.tid, event.seq)
            if key in self._open:
                self.warn(
                    "duplicate",
                    f"region {event.name!r} began twice with seq {event.seq} in thread {event.tid}",
                )
            self._open[key] = _Open(event, sample_seq)
        elif event.kind == "E":
            self._end(event, sample_seq)

    def _end(self, event: MarkerEvent, sample_seq: int | None) -> None:
        opened = self._open.pop((event.pid, event.tid, event.seq), None)
        if opened is None:
            opened = self._cross_thread(event)
            if opened is None:
                self.warn(
                    "unbalanced",
                    f"region {event.name!r} ended in thread {event.tid} of pid {event.pid} without a begin",
                )
                return
        begin = opened.event
        if begin.name != event.name:
            self.warn(
                "mismatch",
                f"region {begin.name!r} ended as {event.name!r} (pid {event.pid}, thread {event.tid})",
            )
        if event.t_ns < begin.t_ns:
            self.warn("order", f"region {begin.name!r} ends before it begins; dropped")
            return
        attrs = dict(begin.attrs)
        attrs.update(event.attrs)
        self.regions.append(
            PairedRegion(
                begin.name, begin.pid, begin.tid, begin, event, opened.sample_seq, sample_seq, attrs
            )
        )

    def _cross_thread(self, event: MarkerEvent) -> _Open | None:
        """An end whose thread has no such begin: the open region of that name in another
        thread of the same process (a region entered in one thread and left in another)."""
        for key, opened in self._open.items():
            if key[0] == event.pid and key[1] != event.tid and opened.event.name == event.name:
                del self._open[key]
                self.warn(
                    "cross-thread",
                    f"region {event.name!r} began in thread {key[1]} and ended in thread {event.tid} (pid {event.pid})",
                )
                return opened
        return None

    def finish(self) -> list[str]:
        """Call at the end of the run: flags regions left open; returns every warning."""
        for opened in self._open.values():
            e = opened.event
            self.warn(
                "unended",
                f"region {e.name!r} began in thread {e.tid} of pid {e.pid} but never ended",
            )
        self._open.clear()
        out: list[str] = []
        for kind, shown in self._warnings.items():
            out.extend(shown)
            hidden = self._counts[kind] - len(shown)
            if hidden > 0:
                out.append(f"... and {hidden} more marker warnings of this kind ({kind})")
        return out
