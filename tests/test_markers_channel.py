"""gilwatt's side of the marker channel: parsing lines and pairing regions."""

from __future__ import annotations

import pytest

from gilwatt.channel import LineSplitter, RegionPairer, parse_line


def line(
    kind: str, tid: int, seq: int, t: int, name: str = "r", gil: str = "0", attrs: str = ""
) -> bytes:
    extra = f', "a": {attrs}' if attrs else ""
    payload = f'{{"n": "{name}"{extra}}}'
    return f"G1\t{kind}\t100\t{tid}\t{seq}\t{t}\t{t // 2}\t{t // 3}\t{gil}\t{payload}".encode()


def test_parse_a_full_line() -> None:
    event = parse_line(line("B", 7, 3, 900, "kernel", "1", '{"workers": 4}'))
    assert (event.kind, event.pid, event.tid, event.seq) == ("B", 100, 7, 3)
    assert (event.t_ns, event.process_cpu_ns, event.thread_cpu_ns) == (900, 450, 300)
    assert event.gil is True and event.name == "kernel" and event.attrs == {"workers": 4}
    assert parse_line(line("M", 7, 4, 1, gil="-")).gil is None


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"hello world",
        b"G2\tB\t1\t1\t1\t1\t1\t1\t0\t{}",
        b'G1\tQ\t1\t1\t1\t1\t1\t1\t0\t{"n": "a"}',
        b'G1\tB\tone\t1\t1\t1\t1\t1\t0\t{"n": "a"}',
        b'G1\tB\t1\t1\t1\t1\t1\t1\t2\t{"n": "a"}',
        b'G1\tB\t1\t1\t1\t1\t1\t1\t0\t{"n": ',
        b"G1\tB\t1\t1\t1\t1\t1\t1\t0\t[1, 2]",
        b'G1\tB\t1\t1\t1\t1\t1\t1\t0\t{"n": "a", "a": 5}',
        b"G1\tB\t1\t1\t1\t1\t1\t1\t0\t\xff\xfe",
    ],
)
def test_garbled_lines_raise_value_error(bad: bytes) -> None:
    with pytest.raises((ValueError, UnicodeDecodeError)):
        parse_line(bad)


def test_splitter_joins_partial_reads_and_flushes_a_torn_tail() -> None:
    s = LineSplitter()
    assert s.feed(b"abc\nde") == [b"abc"]
    assert s.feed(b"f\n\nxy") == [b"def", b""]
    assert s.finish() == [b"xy"]
    assert s.finish() == []
    assert s.feed(b"z" * 70000) == [] and s.overlong == 1
    assert s.feed(b"q\n") == [b"q"]


def pair(*lines: bytes) -> tuple[RegionPairer, list[str]]:
    pairer = RegionPairer()
    for seq, raw in enumerate(lines):
        pairer.add(parse_line(raw), seq)
    return pairer, pairer.finish()


def test_nested_regions_pair_by_seq() -> None:
    pairer, warnings = pair(
        line("B", 1, 1, 10, "outer"), line("B", 1, 2, 20, "inner"),
        line("E", 1, 2, 30, "inner"), line("E", 1, 1, 40, "outer"),
    )  # fmt: skip
    assert warnings == []
    spans = {
        (r.name, r.begin.t_ns, r.end.t_ns, r.begin_sample_seq, r.end_sample_seq)
        for r in pairer.regions
    }
    assert spans == {("inner", 20, 30, 1, 2), ("outer", 10, 40, 0, 3)}


def test_regions_in_threads_interleave() -> None:
    pairer, warnings = pair(
        line("B", 1, 1, 10, "w"), line("B", 2, 1, 11, "w"),
        line("E", 1, 1, 20, "w"), line("E", 2, 1, 25, "w"),
    )  # fmt: skip
    assert warnings == []
    assert sorted((r.tid, r.end.t_ns - r.begin.t_ns) for r in pairer.regions) == [(1, 10), (2, 14)]


def test_unbalanced_markers_are_kept_as_far_as_valid() -> None:
    pairer, warnings = pair(
        line("E", 1, 9, 5, "orphan-end"), line("B", 1, 1, 10, "ok"), line("E", 1, 1, 20, "ok"),
        line("B", 1, 2, 30, "never-ends"),
    )  # fmt: skip
    assert [r.name for r in pairer.regions] == ["ok"]
    assert any("orphan-end" in w and "without a begin" in w for w in warnings)
    assert any("never-ends" in w and "never ended" in w for w in warnings)


def test_cross_thread_region_is_paired_with_a_warning() -> None:
    # Entered in thread 1, left in thread 2 (whose stack is empty, so the client sends seq 0).
    pairer, warnings = pair(line("B", 1, 1, 10, "moved"), line("E", 2, 0, 20, "moved"))
    assert [(r.name, r.tid) for r in pairer.regions] == [("moved", 1)]
    assert any("began in thread 1 and ended in thread 2" in w for w in warnings)


def test_attributes_merge_and_annotations_collect() -> None:
    pairer, warnings = pair(
        line("B", 1, 1, 10, "k", attrs='{"workers": 2}'),
        line("E", 1, 1, 20, "k", attrs='{"error": "ValueError"}'),
        line("A", 1, 2, 30, "run", attrs='{"verified": true}'),
    )  # fmt: skip
    assert pairer.regions[0].attrs == {"workers": 2, "error": "ValueError"}
    assert pairer.run_attrs == {"verified": True}
    assert warnings == []


def test_warnings_are_capped() -> None:
    pairer = RegionPairer()
    for i in range(100):
        pairer.garbled(b"junk %d" % i, "bad")
    warnings = pairer.finish()
    assert len(warnings) == 21 and "80 more" in warnings[-1]
