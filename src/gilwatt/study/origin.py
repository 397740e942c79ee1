"""Where the values of a study spec came from, to name them in errors.

tomllib does not report line numbers, so :class:`KeyLines` scans the text for them; an
:class:`Origin` answers ``study.toml:12`` for a key of the file, or the command-line flag that
replaced it.
"""

from __future__ import annotations

import re


class Origin:
    """Where the values of a spec came from: file lines, a built-in suite, or flags."""

    def __init__(self, source: str, lines: KeyLines | None = None) -> None:
        self.source = source  # the file path, or "--suite quick"
        self.lines = lines
        self.flags: dict[str, str] = {}  # top-level key -> flag that overrode it

    def where(self, *keys: str, value: object = None) -> str:
        """``"study.toml:12"``, or ``"--modes"`` for a value the command line gave."""
        if keys and keys[0] in self.flags:
            return self.flags[keys[0]]
        if self.lines is None:
            return self.source
        return f"{self.source}:{self.lines.line_of(keys, value)}"

    def overridden(self, key: str, flag: str) -> Origin:
        copy = Origin(self.source, self.lines)
        copy.flags = {**self.flags, key: flag}
        return copy


class KeyLines:
    """Line numbers of the keys of a TOML text (tomllib does not report them).

    A light scan: table headers, ``key = value`` lines and the keys of inline tables on
    them. Good enough to point at the line a user has to fix.
    """

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=(.*)$")
    _INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")

    def __init__(self, text: str) -> None:
        self.text_lines = text.splitlines()
        self.key_line: dict[tuple[str, ...], int] = {}
        self.key_span: dict[tuple[str, ...], tuple[int, int]] = {}
        table: tuple[str, ...] = ()
        last: tuple[str, ...] | None = None
        for number, line in enumerate(self.text_lines, start=1):
            header = self._HEADER.match(line)
            if header:
                table = _split_key(header.group(1))
                self.key_line.setdefault(table, number)
                last = None
                continue
            key = self._KEY.match(line)
            if key and not line.lstrip().startswith("#"):
                path = table + _split_key(key.group(1))
                self.key_line.setdefault(path, number)
                if last is not None:
                    self._close(last, number - 1)
                last = path
                self.key_span[path] = (number, len(self.text_lines))
                rest = key.group(2)
                if "{" in rest:  # inline table: params = { n = 200 }
                    for inner in self._INLINE_KEY.finditer(rest[rest.index("{") :]):
                        self.key_line.setdefault(path + _split_key(inner.group(1)), number)
        if last is not None:
            self._close(last, len(self.text_lines))

    def _close(self, path: tuple[str, ...], end: int) -> None:
        start, _ = self.key_span[path]
        self.key_span[path] = (start, max(start, end))

    def line_of(self, keys: tuple[str, ...], value: object = None) -> int:
        """The line of ``keys`` (or of its nearest parent); of ``value`` inside it if given."""
        path = tuple(keys)
        while path and path not in self.key_line:
            path = path[:-1]
        if not path:
            return 1
        line = self.key_line[path]
        if value is not None and path in self.key_span:
            start, end = self.key_span[path]
            needles = [f'"{value}"', f"'{value}'"] if isinstance(value, str) else [str(value)]
            for number in range(start, end + 1):
                text = self.text_lines[number - 1].split("#", 1)[0]
                if any(needle in text for needle in needles):
                    return number
        return line


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', text.strip())
    return tuple(part.strip().strip("\"'") for part in parts if part.strip())
