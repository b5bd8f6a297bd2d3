"""Properties of the Flyway core, each against an independent oracle.

- Checksum: Flyway's algorithm as the reference describes it step by step (read lines the way Java's
  BufferedReader.readLine does, drop the BOM of the first line, feed each line's UTF-8 to one CRC32, cast to a
  signed int) — written here independently of the shortcut the module uses.
- Versions: numeric tuples compared with missing parts as 0.
- Names: a file name built from known parts parses back to those parts.
"""

from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from ddl_cascade.flyway import Kind, Version, checksum_bytes, checksum_text, parse_name

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


def java_readline_checksum(text: str) -> int:
    """Flyway's ChecksumCalculator, transcribed from the reference (§3.1), line by line."""
    lines = []
    current = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "\r\n":
            lines.append("".join(current))
            current = []
            if char == "\r" and text[index + 1:index + 2] == "\n":
                index += 1
        else:
            current.append(char)
        index += 1
    if current:
        lines.append("".join(current))
    crc = 0
    for number, line in enumerate(lines):
        if number == 0 and line.startswith("\ufeff"):
            line = line[1:]
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - 2**32 if crc >= 2**31 else crc


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_checksum_matches_line_by_line_algorithm(text):
    assert checksum_text(text) == java_readline_checksum(text)


@settings(max_examples=120, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n")),
                max_size=8),
       st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=8, max_size=8),
       st.booleans(), st.booleans())
def test_checksum_ignores_line_ends_and_bom(lines, ends, bom, trailing):
    lf = "\n".join(lines) + ("\n" if trailing else "")
    mixed = "".join(line + ends[i] for i, line in enumerate(lines))
    assert checksum_text(lf) == checksum_text(mixed)
    assert checksum_text("\ufeff" + lf if bom else lf) == checksum_text(lf)
    assert checksum_bytes(("\ufeff" + mixed).encode("utf-8")) == checksum_text(lf)
    assert -(2**31) <= checksum_text(lf) < 2**31


def _padded_compare(a: list[int], b: list[int]) -> int:
    width = max(len(a), len(b))
    a, b = a + [0] * (width - len(a)), b + [0] * (width - len(b))
    return (a > b) - (a < b)


VERSION_PARTS = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=5)


@st.composite
def version_texts(draw, parts):
    """Write the parts as a version: `.` or `_` between them, optional leading zeros."""
    text = ""
    for index, part in enumerate(parts):
        if index:
            text += draw(st.sampled_from([".", "_"]))
        text += "0" * draw(st.integers(0, 2)) + str(part)
    return text


@settings(max_examples=150, deadline=None)
@given(st.data(), VERSION_PARTS, VERSION_PARTS)
def test_version_order_is_numeric_with_missing_parts_as_zero(data, a, b):
    va = Version(data.draw(version_texts(a)))
    vb = Version(data.draw(version_texts(b)))
    expected = _padded_compare(a, b)
    assert (va > vb) - (va < vb) == expected
    assert (va == vb) == (expected == 0)
    if expected == 0:
        assert hash(va) == hash(vb)


@settings(max_examples=100, deadline=None)
@given(st.data(), VERSION_PARTS, st.from_regex(r"[A-Za-z0-9_]{0,20}", fullmatch=True))
def test_versioned_names_round_trip(data, parts, description):
    version_text = data.draw(version_texts(parts))
    name = parse_name(f"V{version_text}__{description}.sql")
    assert name.kind is Kind.VERSIONED
    assert name.version.text == version_text.replace("_", ".")
    assert name.description == description.replace("_", " ")


@settings(max_examples=80, deadline=None)
@given(st.data(), st.lists(VERSION_PARTS, min_size=1, max_size=12))
def test_resolution_orders_by_number_and_reports_every_equal_version(data, versions):
    from ddl_cascade.flyway import resolve

    files = [f"V{data.draw(version_texts(parts))}__m{i}.sql" for i, parts in enumerate(versions)]
    resolution = resolve({"sql": files})

    def numeric(parts):  # trailing zeros do not count
        parts = list(parts)
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    keys = [numeric(m.version.parts) for m in resolution.migrations]
    assert keys == sorted(numeric(p) for p in versions)
    groups: dict[tuple, int] = {}
    for parts in versions:
        groups[numeric(parts)] = groups.get(numeric(parts), 0) + 1
    duplicated = sorted(len(p.paths) for p in resolution.problems if p.code == "DUPLICATE_VERSIONED_MIGRATION")
    assert duplicated == sorted(n for n in groups.values() if n > 1)
