"""The real browser of the dashboard tests: Debian's Chromium (scripts/ensure-chromium) driven by Playwright for
Python through `executable_path` (no browser is ever downloaded), and what the tests read from it: the requests a
page made, its console errors, and the colours of a screenshot."""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path(os.environ.get("DDL_CASCADE_CHROMIUM", "/usr/bin/chromium"))


class BrowserUnavailable(RuntimeError):
    pass


def launch(playwright):
    if not CHROMIUM.exists():
        raise BrowserUnavailable(f"{CHROMIUM} is missing: run `make chromium` (scripts/ensure-chromium installs "
                                 "Debian's chromium) for the dashboard's browser tests.")
    # --no-sandbox: the tests run as root (CI too), where Chromium's sandbox refuses to start.
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])


@dataclass
class Watched:
    """Every request a page made and every console error or uncaught exception it had."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def watch(page) -> Watched:
    seen = Watched()
    page.on("request", lambda r: seen.requests.append(r.url))
    page.on("console", lambda m: seen.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(f"uncaught: {e}"))
    return seen


def png_colours(png: bytes) -> int:
    """How many distinct colours an 8-bit RGB(A) PNG (as Chromium writes screenshots) has."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = depth = kind = 0
    while pos < len(png):
        length, tag = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if tag == b"IHDR":
            width, height, depth, kind = struct.unpack(">IIBB", body[:10])
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and kind in (2, 6), (depth, kind)
    bpp = 3 if kind == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    colours = set()
    for y in range(height):
        start = y * (stride + 1)
        filt, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 255
            elif filt == 2:
                line[i] = (line[i] + b) & 255
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:  # every fourth line is plenty to tell a page from a blank one
            colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 2))
        previous = line
    return len(colours)
