"""Property: our emulation of the shell's `read` agrees with the real /bin/sh (dash) that runs git-subtree.

git subtree reads commit identities and trailers through `read` without -r, so backslashes, blanks, NULs and
bytes dash uses internally (0x81..0x88) all change what git commit-tree receives.
"""

from __future__ import annotations

import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from ddl_cascade.cascade.split import sh_read, verify_utf8

ALPHABET = [b"a", b"b", b" ", b"\t", b"\\", b"\n", b"\0", b"\x81", b"\x88", b"\xc3\xa9", b"x"]


def dash_read(data: bytes, nvars: int) -> tuple[list[bytes], bytes]:
    names = " ".join(f"v{i}" for i in range(nvars))
    values = " ".join(f'"$v{i}"' for i in range(nvars))
    script = f"read {names}; printf '%s\\001' {values}; cat"
    out = subprocess.run(["/bin/sh", "-c", script], input=data, capture_output=True, check=True).stdout
    parts = out.split(b"\x01")
    return parts[:nvars], parts[nvars]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=14).map(b"".join), st.integers(1, 3))
def test_read_matches_dash(data, nvars):
    values, pos, _whole = sh_read(data, 0, nvars)
    assert (values, data[pos:]) == dash_read(data, nvars)


def test_read_named_cases():
    # An escaped byte after the last blank is dropped with the blanks; an escaped blank elsewhere is kept.
    assert sh_read(b"x.y \\x\nrest", 0, 1)[0] == [b"x.y"]
    assert sh_read(b" a\\ \n", 0, 1)[0] == [b"a "]
    assert sh_read(b"a\\\nb\nc", 0, 1)[:2] == ([b"ab"], 5)
    assert sh_read(b"git-subtree-split: abc def\n", 0, 3)[0] == [b"git-subtree-split:", b"abc", b"def"]


def test_verify_utf8_takes_invalid_bytes_as_latin1():
    assert verify_utf8(b"caf\xc3\xa9") == b"caf\xc3\xa9"
    assert verify_utf8(b"caf\xe9") == b"caf\xc3\xa9"
    # git also refuses non-characters and surrogates, byte by byte
    assert verify_utf8(b"\xef\xbf\xbe") == b"\xc3\xaf\xc2\xbf\xc2\xbe"
    assert verify_utf8(b"\xed\xa0\x80") == b"\xc3\xad\xc2\xa0\xc2\x80"
    assert verify_utf8(b"\xf0\x9f\x98\x80") == b"\xf0\x9f\x98\x80"
