"""Lines for people, the same on a terminal and in a CI log: aligned columns, colour only where it is wanted.

Why not a Rich table: Rich fits a table to the console's width, and when stdout is not a terminal that width is 80
columns (or $COLUMNS), so a long path or git's error gets folded in the middle and a log shows half a file name on
each line. Here nothing is ever wrapped or folded: a line is as long as its content, a terminal wraps it visually if
it must, and a path is never split across lines. No line ends in spaces.

Colour (one decision for every text renderer, `colour()`):
- NO_COLOR set to anything but "" turns colour off, whatever else is set (https://no-color.org);
- else FORCE_COLOR set to anything but "" or "0" turns it on even when stdout is not a terminal (CI systems whose
  log viewer shows ANSI colour, such as GitHub Actions and GitLab, document this variable);
- else colour is on when stdout is a terminal and TERM is not `dumb`.
Colour only ever marks a state; the words say the same without it.
"""

from __future__ import annotations

import os
import sys
from typing import Iterable, TextIO

_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}


def colour(stream: TextIO | None = None) -> bool:
    """Whether text written to `stream` (default: stdout) gets colour; see the module docstring."""
    stream = stream if stream is not None else sys.stdout
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and os.environ.get("TERM") != "dumb"


def paint(text: str, style: str | None, on: bool) -> str:
    """`text` in `style` (bold, dim, red, green, yellow) when `on`."""
    if not on or not style or not text:
        return text
    return f"\x1b[{_SGR[style]}m{text}\x1b[0m"


def plural(n: int, word: str, words: str | None = None) -> str:
    """"1 commit", "2 commits", "1 child", "3 children"."""
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


def glyph(fancy: str, plain: str, stream: TextIO | None = None) -> str:
    """`fancy` (✓, ✗, …) when `stream` can encode it, else `plain`."""
    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "ascii"
    try:
        fancy.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return plain
    return fancy


class Cell:
    """One cell: its text and the style it is painted in (the width counts the text only)."""

    __slots__ = ("text", "style")

    def __init__(self, text: str, style: str | None = None) -> None:
        self.text, self.style = text, style


def columns(rows: Iterable[list[Cell | str]], on: bool, gap: str = "  ") -> list[str]:
    """Rows of cells as aligned lines: every column as wide as its widest cell, except the last, which is never
    padded; trailing spaces removed. A row of one cell (a continuation line) is not aligned."""
    rows = [[c if isinstance(c, Cell) else Cell(c) for c in row] for row in rows]
    widths: list[int] = []
    for row in rows:
        if len(row) < 2:
            continue
        for i, cell in enumerate(row[:-1]):
            if i == len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(cell.text))
    lines = []
    for row in rows:
        parts = []
        for i, cell in enumerate(row):
            pad = widths[i] - len(cell.text) if i < len(row) - 1 and len(row) > 1 else 0
            parts.append(paint(cell.text, cell.style, on) + " " * pad)
        lines.append(gap.join(parts).rstrip())
    return lines


def write(lines: Iterable[str], stream: TextIO | None = None) -> None:
    """Each line as it is (no wrapping), no trailing spaces."""
    stream = stream if stream is not None else sys.stdout
    for line in lines:
        stream.write(line.rstrip() + "\n")
    stream.flush()
