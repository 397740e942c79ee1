"""One live status line on stderr: rewritten in place on a terminal, absent in a log.

Shared by the commands that show progress (``study``, ``interpreters provision``). A terminal
that cannot move the cursor (``TERM=dumb``) gets plain lines, like a log.
"""

from __future__ import annotations

import os
import shutil
from typing import TextIO

_CLEAR = "\r\x1b[K"  # carriage return, then erase to the end of the line


class StatusLine:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty() and os.environ.get("TERM") != "dumb"
        self.shown = False

    def show(self, text: str) -> None:
        """Put ``text`` on the live line (nothing in a log: the caller decides what to log)."""
        if not self.live:
            return
        width = shutil.get_terminal_size((100, 20)).columns
        self.stream.write(_CLEAR + text[: width - 1])
        self.stream.flush()
        self.shown = True

    def line(self, text: str) -> None:
        """A finished line, in place of the live one."""
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write(_CLEAR)
            self.stream.flush()
            self.shown = False
