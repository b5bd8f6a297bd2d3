"""The split engine: the history of one folder, commit for commit the one `git subtree split` makes, in seconds.

`git subtree split --prefix=<path> <rev>` (contrib/subtree/git-subtree.sh, git 2.39) walks every commit of `<rev>`
and, for each, starts several git processes. The commit ids it prints are an API contract: children merge them, and
users mix ddl-cascade with `git subtree`. So this module reproduces the script's semantics exactly, and only changes
how the work is done.

What the script does, and how we do the same thing in bulk:

1. find_existing_splits: `git log --grep='^git-subtree-dir: <dir>/*$'`, read line by line with the shell's `read`.
   Squash commits map to their `git-subtree-split`; add/rejoin commits map mainline -> split and split -> split, and
   exclude `^<mainline>^`, `^<split>^` from the walk. We run the same `git log` (so git does the grep, the
   re-encoding and `%s`/`%b`), and parse its output with an emulation of dash's `read` (backslashes, NULs, blanks).
2. The walk: `git rev-list --topo-order --reverse --parents <rev> <exclusions>`, one process. A commit whose parent
   was excluded and never mapped is processed first, recursively (check_parents); we keep that order exactly,
   because the script prints the split of the *last commit processed that has the folder*, not of the tip.
3. The folder's tree of each commit (`git ls-tree <commit> -- <dir>`): one buffered `git cat-file --batch-check`
   of `<commit>:<dir>` for the whole walk, fed while rev-list is still walking. A commit without the folder maps
   to itself when a parent mapped (that is how an imported subproject's own commits pass through), else to nothing.
4. copy_or_skip: a commit whose new parent has the same tree is skipped, unless another parent brings history the
   identical one lacks (`rev-list --count identical..nonidentical`) or two identical parents are unrelated
   (`merge-base`). We answer those graph questions in memory on the split graph, with generation numbers.
5. copy_commit: `git log -1 --pretty=format:'%an%n%ae%n%aD%n%cn%n%ce%n%cD%n%B'` piped into six `read`s and
   `git commit-tree`. Whether a commit can be copied is decided by trees alone, so we ask one
   `git log --no-walk --stdin` for just those commits (git re-encodes, formats the date), replay the `read`s, then
   apply what commit-tree does: ident clean-up (crud stripped, '<' '>' dropped, empty names refused), the date
   re-parsed, and non-UTF-8 bytes taken as Latin-1. The commit object is built as bytes; its id is the SHA-1 of
   `commit <len>\\0<body>`; new objects are written as loose files (a few) or as one pack (`git index-pack`).

Trees only: nothing here reads a blob, so a `--filter=blob:none` partial clone works.

The processes themselves are git.py's (its section "Questions the split engine and publish ask"): this module says
what to ask and when, so that they overlap; git.py builds each command and parses what it prints. The two texts read
here as the script reads them, with `sh_read`, are the script's own formats (find_existing_splits, copy_commit).

The cache (`<git dir>/ddl-cascade/split/<key>`): the map from original commit to split commit depends only on the
commit's own ancestry (and on the subtree trailers, which we record), so it survives a rewritten branch. Each run
records the tips it processed; the next walks only `<rev> ^<old tips>`. A missing cache costs a full run; a corrupt
one (checksummed) is reported on stderr and ignored; a cached id whose object is gone forces a full run. Whenever
the cheap path cannot prove it gives the script's answer (new trailers that disagree with the cache, a tip without
the folder, a rewritten branch in a history with trailers), it falls back to the full run.

The cache ref (`refs/ddl-cascade/split-cache` on `source.remote`): a CI job starts from a fresh clone, without that
cache, and would pay the full run every time. So `publish --push` also pushes the cache as one root commit whose tree
holds the cache file (`<key>`), its generation numbers (`<key>.gens`, when any) and the folder it is for
(`<key>.prefix`). A plain `git clone` does not fetch `refs/ddl-cascade/*`; a run with `Shared` and no cache of its
own fetches that one ref (one round trip; a remote without it, or no remote, costs nothing but the full run) and
continues incrementally. Being a root commit, each push replaces the last cache, which the remote can prune.

Why a cache ref can never give a wrong id, only a full run:
- Every entry maps a commit *id* to its split, and the split of a commit depends only on that commit's own history
  (content-addressed: the same id is the same history in any clone) and on the folder and encoding, which name the
  cache (`<key>`, and `<key>.prefix` is checked byte for byte). A cache of another folder is not found; one of
  another repository has no entry for our commits (and fails the next check). The trailer rules above apply as for
  a local cache.
- The file's checksum and version header: a damaged or truncated blob, or another version's format, is refused.
- The anchor: the cache's entry for the last source commit it split must be the delivery branch's tip as the remote
  has it (the clone's tracking branch), or one of its ancestors (a cache a publish left before a later one moved the
  branch is stale, not wrong). A delivery branch rewritten since, a cache from another repository, or one whose
  newest entry disagrees with what was delivered, is refused; with no delivery branch known here (none yet, or
  `source.remote` is a URL, which has no tracking branch), there is nothing to check against: not used.
- The entries the run builds on: before copying, each cached split commit that becomes a parent of a new one (and
  the entry of a tip already in the cache) must have, as its tree, the folder's tree in its original commit.
  A cache that passed the anchor yet maps a commit to an older delivered commit fails here.
- The subtree trailers the cache carries (forced mappings, exclusions) must be exactly those a scan of the history
  up to its last commit finds (one `git log --grep`, only when it carries any).
What is left is a cache built wrong on purpose, with a valid checksum, an anchor that matches and entries with the
right trees, pushed with write access to the parent's remote: whoever can do that can push a wrong delivery branch
itself, so the cache ref adds no trust that the delivery branch does not already need.

Concurrent pushes of the cache ref are forced (`publish.py` `_push_cache`): every cache that passes the checks is
correct, so the last writer winning loses nothing but entries, which the next run recomputes (incrementally, from
the stale cache's anchor). A lease would turn a lost race on a cache into a failed publish, for nothing.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ddl_cascade import git
from ddl_cascade.errors import CascadeError

NOTREE = "0" * 40  # the cache's value for a commit without the folder and without mapped parents
CACHE_VERSION = b"ddl-cascade split cache 3\n"
MAX_TIPS = 8


class SplitError(CascadeError):
    """`git subtree split` itself would fail on this history (it dies); we refuse the same way."""


class NotARepository(CascadeError):
    """The folder given is not inside a git repository."""


class ShallowRepository(CascadeError):
    """The repository is a shallow clone: its history is cut off, so its split would not be the real one."""


class UnknownRevision(CascadeError):
    """The branch or revision to split does not name a commit."""


class _Stale(Exception):
    """The cache cannot answer this run exactly; do the full run instead."""


# ---------------------------------------------------------------------------------------------------------------------
# dash's `read` (no -r, default IFS): how the script turns git's output into shell variables.

_IFS = (0x20, 0x09, 0x0A)
_BLANKS = re.compile(rb"[ \t]+")


def sh_read(buf: bytes, pos: int, nvars: int) -> tuple[list[bytes], int, bool]:
    """`read v1 .. vn` on `buf` from `pos`: (values, position after the line, whether a whole line was read).

    Like dash: NUL bytes vanish, a backslash escapes the next byte (an escaped blank is kept, an escaped newline
    joins the next line), leading and trailing blanks are stripped, the last variable takes the rest of the line.
    """
    end = buf.find(b"\n", pos)
    line = buf[pos:] if end < 0 else buf[pos:end]
    if b"\\" not in line and b"\0" not in line:  # the common case, without the byte loop
        stripped = line.strip(b" \t")
        values = (_BLANKS.split(stripped, nvars - 1) if nvars > 1 else [stripped]) if stripped else []
        values += [b""] * (nvars - len(values))
        return values, (len(buf) if end < 0 else end + 1), end >= 0
    # The line as dash stores it: runs of plain bytes ("regions", which field splitting looks at) and escaped bytes
    # (which it steps over). An escaped newline joins the next line and also ends a region.
    chars = bytearray()
    plain: list[bool] = []
    region_start: set[int] = {0}
    i, n, pending, whole = pos, len(buf), False, False
    while i < n:
        c = buf[i]
        i += 1
        if c == 0:
            continue
        if pending:
            pending = False
            if c != 0x0A:
                chars.append(c)
                plain.append(False)
            region_start.add(len(chars))
            continue
        if c == 0x5C:
            pending = True
            continue
        if c == 0x0A:
            whole = True
            break
        chars.append(c)
        plain.append(True)
    return _split_fields(bytes(chars), plain, region_start, nvars), i, whole


def _split_fields(chars: bytes, plain: list[bool], region_start: set[int], nvars: int) -> list[bytes]:
    """dash's field splitting for `read` with `nvars` variables (the last takes the rest, minus trailing blanks)."""
    fields: list[bytes] = []
    start, cut, blank_run, left = 0, None, False, nvars
    for q, c in enumerate(chars):
        if q in region_start:
            blank_run = False
        if not plain[q]:
            continue
        is_blank = c in _IFS
        if left == 0:  # inside the last variable: remember where trailing blanks begin
            if is_blank:
                if cut is None:
                    cut = q
                continue
            cut = None
            blank_run = False
            continue
        if blank_run:
            start = q + 1 if is_blank else q
            if is_blank:
                continue
            is_blank = False
        if is_blank:
            blank_run = True
            if q == start:  # blanks before the first field
                start = q + 1
                blank_run = False
                continue
            left -= 1
            if left == 0:
                cut = q
                continue
            fields.append(chars[start:q])
            start = q + 1
            continue
        blank_run = False
    rest = chars[start:cut] if cut is not None else chars[start:]
    if rest:
        fields.append(rest)
    if len(fields) > nvars:  # cannot happen; keeps the contract obvious
        fields = fields[:nvars]
    return fields + [b""] * (nvars - len(fields))


# ---------------------------------------------------------------------------------------------------------------------
# What `git commit-tree` does to the identities, dates and message it is given.

_CRUD_BYTES = bytes(range(0, 33)) + b".,:;<>\"\\'"  # ident.c's crud(): bytes <= 32 and this punctuation
_MONTHS = {m: i for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"), 1)}
_RFC2822 = re.compile(rb"[A-Z][a-z]{2}, (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_NONCHARS = re.compile("[\ufdd0-\ufdef\ufffe\uffff" + "".join(
    chr(p << 16 | 0xFFFE) + chr(p << 16 | 0xFFFF) for p in range(1, 17)) + "]")


def _without_crud(value: bytes) -> bytes:
    """ident.c's strbuf_addstr_without_crud: crud trimmed at both ends, '\\n' '<' '>' dropped inside."""
    return value.strip(_CRUD_BYTES).translate(None, b"\n<>")


_DATES: dict[bytes, bytes] = {}
_MIDNIGHTS: dict[tuple[int, bytes, int], int] = {}


def _git_date(value: bytes, commit: str) -> bytes:
    """The `<epoch> <+hhmm>` commit-tree stores for GIT_*_DATE=`value` (the RFC 2822 text `%aD` printed)."""
    known = _DATES.get(value)
    if not value:
        return _parse_date(value, commit)
    if known is None:
        known = _DATES[value] = _parse_date(value, commit)
    return known


def _parse_date(value: bytes, commit: str) -> bytes:
    import calendar

    if not value:  # commit-tree takes an empty GIT_*_DATE as "now", in the local time zone
        import time

        now = time.time()
        offset = time.localtime(now).tm_gmtoff // 60
        sign = b"-" if offset < 0 else b"+"
        return b"%d %s%02d%02d" % (int(now), sign, abs(offset) // 60, abs(offset) % 60)
    m = _RFC2822.fullmatch(value)
    if not m or m[2] not in _MONTHS:
        raise SplitError(f"commit {commit} has a date git subtree split cannot copy ({value!r}).")
    day, year, hh, mm = int(m[1]), int(m[3]), int(m[8]), int(m[9])
    if hh >= 24 or mm >= 60 or not 1970 <= year <= 2099:
        raise SplitError(f"commit {commit} has a date git subtree split cannot copy ({value!r}).")
    offset = (hh * 60 + mm) * (-1 if m[7] == b"-" else 1)
    midnight = _MIDNIGHTS.get((year, m[2], day))
    if midnight is None:
        midnight = _MIDNIGHTS[(year, m[2], day)] = calendar.timegm((year, _MONTHS[m[2]], day, 0, 0, 0))
    stamp = midnight + int(m[4]) * 3600 + int(m[5]) * 60 + int(m[6]) - offset * 60
    sign = b"-" if offset < 0 else b"+"
    return b"%d %s%02d%02d" % (stamp, sign, abs(offset) // 60, abs(offset) % 60)


def _ident(name: bytes, email: bytes, date: bytes, commit: str) -> bytes:
    if not name or not name.translate(None, _CRUD_BYTES):
        raise SplitError(f"commit {commit} has an author or committer name git commit-tree refuses ({name!r}).")
    return _without_crud(name) + b" <" + _without_crud(email) + b"> " + _git_date(date, commit)


def _utf8_sequence(buf: bytes, i: int) -> int:
    """Length of the valid UTF-8 sequence at `buf[i]` by git's rules (which also refuse non-characters), or 0."""
    c = buf[i]
    more = 0
    while c & 0x40:
        c = (c << 1) & 0xFF
        more += 1
    if not 1 <= more <= 3 or len(buf) - i - 1 < more:
        return 0
    code = (c & 0x7F) >> more
    for k in range(1, more + 1):
        b = buf[i + k]
        if b & 0xC0 != 0x80:
            return 0
        code = code << 6 | (b & 0x3F)
    low, high = ((0x80, 0x7FF), (0x800, 0xFFFF), (0x10000, 0x10FFFF))[more - 1]
    if not low <= code <= high or code & 0x1FF800 == 0xD800 or code & 0xFFFE == 0xFFFE or 0xFDD0 <= code <= 0xFDEF:
        return 0
    return more + 1


def verify_utf8(buf: bytes) -> bytes:
    """commit-tree's clean-up of a UTF-8 commit: each byte that is not valid UTF-8 is taken as Latin-1."""
    if buf.isascii():
        return buf
    try:
        if not _NONCHARS.search(buf.decode("utf-8")):
            return buf
    except UnicodeDecodeError:
        pass
    out = bytearray()
    i, n = 0, len(buf)
    while i < n:
        c = buf[i]
        if c < 0x80:
            out.append(c)
            i += 1
            continue
        length = _utf8_sequence(buf, i)
        if length:
            out += buf[i:i + length]
            i += length
        else:
            out += bytes((0xC0 + (c >> 6), 0x80 + (c & 0x3F)))
            i += 1
    return bytes(out)


def commit_body(formatted: bytes, tree: str, parents: list[str], encoding: str | None, commit: str) -> bytes:
    """The commit copy_commit writes, from the `%an%n%ae%n%aD%n%cn%n%ce%n%cD%n%B` text of the original."""
    head_lines = formatted.split(b"\n", 6)
    identities = formatted[:len(formatted) - len(head_lines[-1])]
    if len(head_lines) == 7 and b"\\" not in identities and b"\0" not in identities:
        fields = [line.strip(b" \t") for line in head_lines[:6]]  # no escapes: `read` only strips blanks
        message = head_lines[6]
    else:
        fields = []
        pos = 0
        for _ in range(6):
            (value,), pos, _whole = sh_read(formatted, pos, 1)
            fields.append(value)
        message = formatted[pos:]
    an, ae, ad, cn, ce, cd = fields
    head = [b"tree " + tree.encode()]  # what commit_tree_extended writes
    head += [b"parent " + p.encode() for p in parents]
    head.append(b"author " + _ident(an, ae, ad, commit))
    head.append(b"committer " + _ident(cn, ce, cd, commit))
    if encoding:
        head.append(b"encoding " + encoding.encode())
    body = b"\n".join(head) + b"\n\n" + message
    return body if encoding else verify_utf8(body)


# ---------------------------------------------------------------------------------------------------------------------
# find_existing_splits


@dataclass
class Trailers:
    """What the subtree trailers reachable from the tip tell the script: forced mappings and walk exclusions."""

    seeds: list[tuple[str, str]]
    exclusions: list[str]  # commits whose history the walk leaves out (the script's `^<rev>^`)


def _scan_output(out: bytes, info: git.Objects) -> Trailers:
    """find_existing_splits' `while read a b junk` loop over the `git log --grep` output, line for line."""
    seeds: list[tuple[str, str]] = []
    exclusions: list[str] = []
    sq = main = sub = ""
    pos = 0
    while pos < len(out):
        (a, b, _junk), pos, whole = sh_read(out, pos, 3)
        if not whole:
            break  # `while read` stops at a last line without newline
        word = b.decode("utf-8", "surrogateescape")
        if a == b"START":
            sq = word
        elif a == b"git-subtree-mainline:":
            main = word
        elif a == b"git-subtree-split:":
            found = info.commit(word)
            if found is None:
                raise SplitError(f"commit {sq} names split hash '{word}', which is not a commit in this repository.")
            sub = found
        elif a == b"END":
            if not main and sub:
                seeds.append((sq, sub))
            if main and sub:
                seeds += [(main, sub), (sub, sub)]
                for rev in (main, sub):
                    first_parent = info.first_parent(rev)
                    if first_parent is not None:
                        exclusions.append(first_parent)
            main = sub = ""
    return Trailers(seeds, exclusions)


# ---------------------------------------------------------------------------------------------------------------------
# The cache


_MISSING = object()
_COMPACT_AFTER = 4096  # new entries kept beside the sorted block before the next save sorts everything again


class _Memo(dict):
    """original commit -> split commit (or NOTREE): new entries in the dict, older ones in a sorted block.

    An incremental publish looks up a handful of commits in a cache of tens of thousands; building a dict of all of
    them would cost more than the whole rest of the run, so the block read from disk is searched in place.
    """

    def __init__(self, keys: bytes = b"", values: bytes = b"") -> None:
        super().__init__()
        self.keys_block, self.values_block, self.base = keys, values, len(keys) // 40

    def _index(self, key: str) -> int:
        probe, block = key.encode("ascii", "replace"), self.keys_block
        lo, hi = 0, self.base
        while lo < hi:
            mid = (lo + hi) // 2
            if block[mid * 40:mid * 40 + 40] < probe:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < self.base and block[lo * 40:lo * 40 + 40] == probe else -1

    def get(self, key, default=None):  # type: ignore[override]
        v = dict.get(self, key, _MISSING)
        if v is not _MISSING:
            return v
        i = self._index(key)
        return default if i < 0 else self.values_block[i * 40:i * 40 + 40].decode("ascii")

    def __getitem__(self, key):  # type: ignore[override]
        v = self.get(key, _MISSING)
        if v is _MISSING:
            raise KeyError(key)
        return v

    def __contains__(self, key) -> bool:  # type: ignore[override]
        return dict.__contains__(self, key) or self._index(key) >= 0

    def everything(self) -> dict[str, str]:
        text_keys, text_values = self.keys_block.decode("ascii"), self.values_block.decode("ascii")
        merged = dict(zip([text_keys[i:i + 40] for i in range(0, 40 * self.base, 40)],
                          [text_values[i:i + 40] for i in range(0, 40 * self.base, 40)]))
        merged.update(dict.items(self))
        return merged


@dataclass
class _Cache:
    tips: list[str]
    memo: dict[str, str]
    seeds: dict[str, str]
    exclusions: list[str]

    @staticmethod
    def _checked(path: Path) -> bytes | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return _Cache._verified(data)

    @staticmethod
    def _verified(data: bytes) -> bytes | None:
        """The body of a cache file's bytes; None when another version of ddl-cascade wrote it; ValueError when its
        checksum or header is wrong."""
        import hashlib

        head = len(CACHE_VERSION)
        if data[:head] != CACHE_VERSION and data.startswith(CACHE_VERSION[:-2]) and data[head - 1:head] == b"\n":
            return None  # written by another version of ddl-cascade: not corrupt, just not ours to read
        if data[:head] != CACHE_VERSION or hashlib.sha1(data[head + 41:]).hexdigest().encode() != data[head:head + 40]:
            raise ValueError("bad checksum")
        return data[head + 41:]

    @classmethod
    def load(cls, path: Path) -> "_Cache | None":
        try:
            return cls.parse(cls._checked(path))
        except (ValueError, UnicodeDecodeError):
            sys.stderr.write(f"ddl-cascade: warning: the split cache {path} is corrupt; recomputing from scratch.\n")
            return None

    @classmethod
    def parse(cls, data: bytes | None) -> "_Cache | None":
        """The cache in a checked body (`_verified`); ValueError or UnicodeDecodeError when it does not add up."""
        if data is None:
            return None
        nl = data.index(b"\n")
        ntips, nbase, nover, nseeds, nexcl = (int(x) for x in data[:nl].split())
        pos = nl + 1
        blocks = []
        for size in (40 * ntips, 40 * nbase, 40 * nbase, 40 * nover, 40 * nover):
            blocks.append(data[pos:pos + size])
            pos += size
        tips_block, base_keys, base_values, over_keys, over_values = blocks
        memo = _Memo(base_keys, base_values)
        ok, ov = over_keys.decode("ascii"), over_values.decode("ascii")
        for i in range(0, 40 * nover, 40):
            dict.__setitem__(memo, ok[i:i + 40], ov[i:i + 40])
        tips_text = tips_block.decode("ascii")
        tips = [tips_text[i:i + 40] for i in range(0, 40 * ntips, 40)]
        rest = data[pos:].decode("ascii").split("\n")
        seeds = dict(line.split(" ") for line in rest[:nseeds])
        exclusions = rest[nseeds:nseeds + nexcl]
        if (memo.base != nbase or dict.__len__(memo) != nover or len(seeds) != nseeds
                or len(exclusions) != nexcl):
            raise ValueError("bad counts")
        return cls(tips, memo, seeds, exclusions)

    def save(self, path: Path) -> None:
        import hashlib

        memo = self.memo
        if isinstance(memo, _Memo) and dict.__len__(memo) <= _COMPACT_AFTER:
            base_keys, base_values, base = memo.keys_block, memo.values_block, memo.base
            over = dict(dict.items(memo))
        else:
            merged = memo.everything() if isinstance(memo, _Memo) else memo
            order = sorted(merged)
            base_keys = "".join(order).encode("ascii")
            base_values = "".join([merged[k] for k in order]).encode("ascii")
            base, over = len(order), {}
        parts = [f"{len(self.tips)} {base} {len(over)} {len(self.seeds)} {len(self.exclusions)}\n".encode(),
                 "".join(self.tips).encode("ascii"), base_keys, base_values,
                 "".join(over).encode("ascii"), "".join(over.values()).encode("ascii")]
        parts += ["".join(f"{k} {v}\n" for k, v in self.seeds.items()).encode("ascii", "backslashreplace")]
        parts += ["".join(f"{x}\n" for x in self.exclusions).encode("ascii", "backslashreplace")]
        body = b"".join(parts)
        _atomic_write(path, CACHE_VERSION + hashlib.sha1(body).hexdigest().encode() + b"\n" + body)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class _Generations:
    """Generation numbers (1 + the highest of the parents') of commits, persisted next to the cache."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[str, int] = {}
        self.loaded = path is None
        self.added = False

    def load(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        try:
            data = _Cache._checked(self.path)  # type: ignore[arg-type]
        except ValueError:
            sys.stderr.write(f"ddl-cascade: warning: the split cache {self.path} is corrupt; recomputing.\n")
            return
        if data is None:
            return
        text = data.decode("ascii")
        for i in range(0, len(text) - len(text) % 48, 48):
            self.known.setdefault(text[i:i + 40], int(text[i + 40:i + 48], 16))

    def save(self) -> None:
        import hashlib

        if self.path is None or not self.added:
            return
        self.load()
        body = "".join(f"{k}{v:08x}" for k, v in self.known.items()).encode("ascii")
        _atomic_write(self.path, CACHE_VERSION + hashlib.sha1(body).hexdigest().encode() + b"\n" + body)


# ---------------------------------------------------------------------------------------------------------------------
# The engine


_PENDING = "pending"  # mapped, value computed in the copy phase
_UNKNOWN = object()


class _Engine:
    def __init__(self, repo: Path, prefix: str, encoding: str | None, info: git.Objects,
                 memo: dict[str, str], seeds: dict[str, str], gens: _Generations, incremental: bool,
                 verify: bool = False) -> None:
        self.repo = repo
        self.verify = verify  # the memo came from the cache ref: check each entry this run builds on
        self.prefix = prefix
        self.encoding = encoding
        self.info = info
        self.value = memo  # original commit -> split commit, NOTREE, or _PENDING
        self.seeds = seeds
        self.gens = gens
        self.incremental = incremental
        self.parents: dict[str, list[str]] = {}  # original commits we know the parents of
        self.subtree: dict[str, str | None] = {}
        self.order: list[str] = []  # commits processed with the folder, in the script's order
        self.latest: str | None = None
        self.trees: dict[str, str] = {}  # root tree of split-graph nodes
        self.node_parents: dict[str, list[str]] = {}  # parents of commits we create
        self.objects: dict[str, bytes] = {}
        self._reader: git.CommitReader | None = None
        self._answers: dict[str, tuple[str, str] | None] = {}  # folder lookups made in bulk, not yet judged

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    # -- what the script's cache would answer

    def mapped(self, rev: str) -> bool:
        if rev in self.seeds:
            return True
        v = self.value.get(rev)
        return v is not None and v != NOTREE

    def mapping(self, rev: str) -> str:
        s = self.seeds.get(rev)
        if s is not None:
            return s
        return self.value[rev]

    # -- reading the repository

    def _commit_parents(self, rev: str) -> list[str]:
        ps = self.parents.get(rev)
        if ps is None:
            if self._reader is None:
                self._reader = git.CommitReader(self.repo)
            ps = self._reader.parents(rev)
            if ps is None:
                raise _Stale() if self.incremental else SplitError(f"commit {rev} is missing from the repository.")
            self.parents[rev] = ps
        return ps

    def _classify(self, rev: str, answer: tuple[str, str] | None) -> str | None:
        if answer is None or answer[1] == "commit":  # absent, or a submodule: the script ignores both
            return None
        if answer[1] != "tree":
            raise SplitError(f"'{self.prefix}' is a file, not a folder, in commit {rev}; git subtree split fails here.")
        return answer[0]

    def prefetch_subtrees(self, revs: list[str]) -> None:
        self._answers.update(zip(revs, self.info.paths_in(revs, self.prefix)))

    def _subtree(self, rev: str) -> str | None:
        """The folder's tree in `rev` (ls-tree), judged only for commits the script would look at."""
        if rev not in self.subtree:
            answer = self._answers.pop(rev) if rev in self._answers else self.info.path_in(rev, self.prefix)
            self.subtree[rev] = self._classify(rev, answer)
        return self.subtree[rev]

    # -- phase 1: the script's processing order (process_split_commit and check_parents, without recursion)

    def walk(self, walk: list[tuple[str, list[str]]], looked_up: dict[str, tuple[str, str] | None] | None = None
             ) -> None:
        """Process the walk in order; `looked_up` holds `<commit>:<prefix>` lookups already made while walking."""
        value, seeds, subtree, order, answers = self.value, self.seeds, self.subtree, self.order, self._answers
        for rev, parents in walk:
            self.parents[rev] = parents
        if looked_up is None:
            self.prefetch_subtrees([r for r, _ in walk if r not in value and r not in seeds])
        else:
            answers.update(looked_up)
        for rev, parents in walk:
            # The common case inline: nothing to recurse into (every parent mapped, or known to have no folder).
            if rev in seeds:
                continue
            v = value.get(rev)
            if v is not None and v != NOTREE:
                continue
            any_mapped = False
            for p in parents:
                if p in seeds:
                    any_mapped = True
                    continue
                pv = value.get(p)
                if pv is None:
                    break  # an unprocessed parent: check_parents recursion
                if pv != NOTREE:
                    any_mapped = True
            else:
                answer = answers.pop(rev, _UNKNOWN)
                if answer is _UNKNOWN:
                    tree = self._subtree(rev)
                else:
                    tree = answer[0] if answer is not None and answer[1] == "tree" else self._classify(rev, answer)
                    subtree[rev] = tree
                if tree is None:
                    value[rev] = rev if any_mapped else NOTREE
                else:
                    value[rev] = _PENDING
                    order.append(rev)
                    self.latest = rev
                continue
            self._process(rev, parents)

    def _process(self, rev: str, parents: list[str]) -> None:
        stack: list[list] = [[rev, parents, None, 0]]
        while stack:
            frame = stack[-1]
            rev, parents, missed, i = frame
            if missed is None:
                if self.mapped(rev):
                    stack.pop()
                    continue
                missed = frame[2] = [p for p in parents if not self.mapped(p)]
            pushed = False
            while i < len(missed):
                miss = missed[i]
                i += 1
                if self.value.get(miss) != NOTREE:
                    frame[3] = i
                    stack.append([miss, self._commit_parents(miss), None, 0])
                    pushed = True
                    break
            if pushed:
                continue
            stack.pop()
            tree = self._subtree(rev)
            if tree is None:
                self.value[rev] = rev if any(self.mapped(p) for p in parents) else NOTREE
                continue
            self.value[rev] = _PENDING
            self.order.append(rev)
            self.latest = rev

    # -- phase 2: copy_or_skip for each processed commit, in order

    def copy(self) -> None:
        if not self.order:
            return
        value, seeds, subtree, trees, parents = self.value, self.seeds, self.subtree, self.trees, self.parents
        # The mapped parents of each commit (cache_get $parents), and the new parents that are not commits of this
        # run (passed-through originals, trailers, the cache), whose root trees we must look up.
        mapped_parents: list[list[str]] = []
        outside: set[str] = set()
        for rev in self.order:
            mp = []
            for p in parents[rev]:
                v = seeds.get(p)
                if v is None:
                    v = value.get(p)
                    if v is None or v == NOTREE:
                        continue
                mp.append(p)
                if v is not _PENDING and v not in trees:
                    outside.add(v)
            mapped_parents.append(mp)
        nodes = sorted(outside)
        for node, node_tree in zip(nodes, self.info.trees_of(nodes)):
            if node_tree is None:  # e.g. a cached split commit that was pruned
                raise _Stale() if self.incremental else SplitError(f"commit {node} is missing from the repository.")
            trees[node] = node_tree
        if self.verify:
            self._check_entries({p for mp in mapped_parents for p in mp if p not in seeds})

        def parent_tree(p: str) -> str:
            v = seeds[p] if p in seeds else value[p]
            return subtree[p] if v is _PENDING else trees[v]

        # Which commits may be copied is decided by trees alone (a split commit of this run has the tree of its
        # original's folder), so only their messages are fetched, not those of the many commits skipped for an
        # identical parent.
        wanted = [rev for rev, mp in zip(self.order, mapped_parents)
                  if len(mp) > 1 or subtree[rev] not in [parent_tree(p) for p in mp]]
        bodies = self._bodies(wanted)
        try:
            for rev, mp in zip(self.order, mapped_parents):
                tree = subtree[rev]
                newparents = [seeds[p] if p in seeds else value[p] for p in mp]
                if len(newparents) == 1:  # no graph question to ask: skip on an identical tree, else copy
                    only = newparents[0]
                    value[rev] = only if trees[only] == tree else self._make(rev, tree, newparents, bodies)
                else:
                    value[rev] = self._copy_or_skip(rev, tree, newparents, bodies)
        finally:
            bodies.close()

    def _check_entries(self, revs: set[str]) -> None:
        """A cache from the cache ref: each entry this run builds on must name a commit with the tree of its
        original's folder (a passed-through commit, mapped to itself, has no folder). Else: the full run."""
        copied = sorted(r for r in revs if self.value[r] not in (_PENDING, r))
        for rev, answer in zip(copied, self.info.paths_in(copied, self.prefix)):
            if answer is None or answer[1] != "tree" or self.trees.get(self.value[rev]) != answer[0]:
                raise _Stale()

    def _bodies(self, revs: list[str]) -> git.CopyTexts:
        """The text copy_commit reads for each of `revs`, streamed while the copies are built."""
        return git.CopyTexts(self.repo, revs)

    def _tree_of(self, node: str) -> str:
        t = self.trees.get(node)
        if t is None:
            t = self.info.tree_of(node)
            if t is None:
                raise _Stale() if self.incremental else SplitError(f"commit {node} is missing from the repository.")
            self.trees[node] = t
        return t

    def _copy_or_skip(self, rev: str, tree: str, newparents: list[str], bodies: git.CopyTexts) -> str:
        identical = nonidentical = None
        copy = False
        got: list[str] = []
        for parent in newparents:
            if self._tree_of(parent) == tree:
                if identical is not None:
                    if self.is_ancestor(identical, parent):
                        identical = parent
                    elif not self.is_ancestor(parent, identical):
                        copy = True  # two identical parents without common history
                else:
                    identical = parent
            else:
                nonidentical = parent
            if parent not in got:
                got.append(parent)
        if identical is not None and nonidentical is not None and not self.is_ancestor(nonidentical, identical):
            copy = True  # the other side has history the identical parent lacks
        if identical is not None and not copy:
            return identical
        return self._make(rev, tree, got, bodies)

    def _make(self, rev: str, tree: str, parents: list[str], bodies: git.CopyTexts) -> str:
        """copy_commit: the new commit object for `rev` (kept in memory until the run writes them all)."""
        got = parents
        text = bodies.get(rev)
        if text is None:
            raise SplitError(f"git log did not show commit {rev}.")
        body = commit_body(text, tree, got, self.encoding, rev)
        oid = git.object_id("commit", body)
        self.objects[oid] = body
        self.trees[oid] = tree
        self.node_parents[oid] = got
        return oid

    # -- graph questions, in memory

    def _graph_parents(self, node: str) -> list[str]:
        ps = self.node_parents.get(node)
        if ps is None:
            ps = self._commit_parents(node)
        return ps

    def gen(self, node: str) -> int:
        known = self.gens.known
        g = known.get(node)
        if g is not None:
            return g
        self.gens.load()
        stack = [node]
        while stack:
            top = stack[-1]
            if top in known:
                stack.pop()
                continue
            ps = self._graph_parents(top)
            missing = [p for p in ps if p not in known]
            if missing:
                stack.extend(missing)
                continue
            known[top] = 1 + max((known[p] for p in ps), default=0)
            self.gens.added = True
            stack.pop()
        return known[node]

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether `a` is `b` or one of its ancestors (what `merge-base` and `rev-list --count` decide)."""
        if a == b:
            return True
        ga = self.gen(a)
        if ga >= self.gen(b):
            return False
        seen = {b}
        stack = [b]
        while stack:
            for p in self._graph_parents(stack.pop()):
                if p == a:
                    return True
                if p not in seen and self.gen(p) > ga:
                    seen.add(p)
                    stack.append(p)
        return False


# ---------------------------------------------------------------------------------------------------------------------
# Entry points


@dataclass
class SplitOutcome:
    """One split run: the tip `git subtree split` would print (None: the folder never existed), and its cost."""

    tip: str | None
    mode: str  # "cold", "incremental" or "cached"
    processed: int  # commits processed this run
    created: int  # new commit objects written
    created_parents: dict[str, list[str]] = field(default_factory=dict, repr=False)  # new commit -> its parents
    # Whether the split revision itself has the folder. False: it was deleted, and `tip` is the split of the last
    # commit that had it (what the script's walk gives; the script itself dies first, as the folder is not in the
    # work tree). None when this run did not look (a tip that is a subtree trailer commit).
    tip_has_folder: bool | None = None
    from_ref: bool = False  # this run started from the cache fetched from the remote's cache ref (SHARED_REF)
    cache_file: Path | None = field(default=None, repr=False)  # where the cache this run kept lives
    objects: Path | None = field(default=None, repr=False)  # the repository's object folder


@dataclass
class _Repo:
    path: Path
    common_dir: Path
    objects: Path
    encoding: str | None

    @classmethod
    def open(cls, path: Path, rev: str) -> "tuple[_Repo, str]":
        """The repository at `path` and the commit `rev` names."""
        facts = git.repo_facts(path, rev)
        if facts is None:
            raise NotARepository(f"{path} is not a git repository.")
        if facts.shallow:
            # The split of a cut-off history has other roots, hence other ids than the real one.
            raise ShallowRepository(f"{path} is a shallow clone; fetch the whole history (git fetch --unshallow) "
                                    "before splitting it.")
        if facts.commit is None:
            raise UnknownRevision(f"'{rev}' does not name a commit in {path}.")
        enc = facts.commit_encoding
        if enc is not None and _is_utf8(enc):
            enc = None
        return cls(path, facts.common_dir, facts.objects_dir, enc), facts.commit


def _is_utf8(name: str) -> bool:
    low = name.lower()
    return low.startswith("utf") and low[3:].lstrip("-") == "8"


def _cache_path(repo: _Repo, prefix: str) -> Path:
    import hashlib

    key = hashlib.sha1(f"{prefix}\0{repo.encoding or ''}".encode()).hexdigest()[:16]
    return repo.common_dir / "ddl-cascade" / "split" / key


def split(repo: Path, rev: str, prefix: str) -> str | None:
    """The commit id `git subtree split --prefix=<prefix> <rev>` prints, or None if the folder never existed."""
    return run(repo, rev, prefix).tip


def run(repo: Path, rev: str, prefix: str, *, cache: bool = True, shared: "Shared | None" = None) -> SplitOutcome:
    """Split `prefix` out of `rev` in `repo` (see the module docstring); `cache=False` ignores and keeps no cache.
    With `shared`, a repository without a cache of its own first fetches the remote's cache ref (see "The cache
    ref" in the module docstring)."""
    return _run(Path(repo), rev, prefix, cache, shared)


def _run(repo: Path, rev: str, prefix: str, cache: bool, shared: "Shared | None") -> SplitOutcome:
    r, tip = _Repo.open(repo, rev)
    prefix = prefix.strip("/")
    if git.ls_tree_quotes(r.path, prefix):
        # The script compares `git ls-tree`'s (quoted) name with the prefix and dies at the first commit that has
        # the folder: so it only succeeds when no commit has it.
        outcome = _cold(r, tip, prefix, None)
        if outcome.tip is not None:
            raise SplitError(f"git subtree split cannot split '{prefix}': git ls-tree quotes that name "
                             "(set core.quotePath=false if it is only non-ASCII).")
        return outcome
    path = _cache_path(r, prefix) if cache else None
    adopted = False
    if path is not None:
        stored = _adopt(r, prefix, path, shared) if shared is not None and not path.exists() else None
        adopted = stored is not None
        if stored is None:
            stored = _Cache.load(path)
        if stored is not None:
            try:
                outcome = _incremental(r, tip, prefix, stored, path, verify=adopted)
                if outcome is not None:
                    outcome.from_ref = adopted
                    outcome.cache_file, outcome.objects = path, r.objects
                    return outcome
            except _Stale:
                pass
    outcome = _cold(r, tip, prefix, path)
    outcome.cache_file, outcome.objects = path, r.objects
    return outcome


def _cold(r: _Repo, tip: str, prefix: str, path: Path | None) -> SplitOutcome:
    info = git.Objects(r.path)
    # The trailer scan decides the walk's exclusions; start the walk at once anyway (with the folder lookups
    # streaming behind it) and redo it in the rare case that trailers exclude something.
    scan = git.start_subtree_trailer_log(r.path, prefix, tip)
    walk, answers = git.topo_walk_with_path(r.path, tip, prefix)
    trailers = _scan_output(scan.result(), info)
    if trailers.exclusions:
        walk = git.start_topo_walk(r.path, tip, trailers.exclusions).result()
    seeds: dict[str, str] = {}
    for key, value in trailers.seeds:
        if key in seeds or not key:
            raise SplitError(f"git subtree split fails on this history: two subtree trailers both map '{key}'.")
        seeds[key] = value
    gens = _Generations(path.with_suffix(".gens") if path else None)
    gens.loaded = True  # a cold run trusts nothing it did not compute
    engine = _Engine(r.path, prefix, r.encoding, info, {}, seeds, gens, incremental=False)
    try:
        engine.walk(walk, answers)
        engine.copy()
        result = engine.value[engine.latest] if engine.latest else None
        _write_objects(r, engine.objects, info)
    finally:
        engine.close()
        info.close()
    if path is not None:
        memo = {k: v for k, v in engine.value.items()}
        _Cache([tip], memo, seeds, trailers.exclusions).save(path)
        gens.save()
    has = None if tip not in engine.subtree else engine.subtree[tip] is not None
    return SplitOutcome(result, "cold", len(engine.value), len(engine.objects), engine.node_parents, has)


def _incremental(r: _Repo, tip: str, prefix: str, stored: _Cache, path: Path, verify: bool = False
                 ) -> SplitOutcome | None:
    """The cheap run on top of a cache, or None when only the full run can be trusted. `verify`: the cache came from
    the cache ref, so every entry the run builds on is checked (`_Engine._check_entries`)."""
    memo, seeds = stored.memo, stored.seeds
    info = git.Objects(r.path)
    try:
        if seeds and stored.tips:
            # Trailers of the old history are baked into the cache: only valid if that history is still there.
            try:
                if git.has_commits_outside(r.path, stored.tips, tip):
                    return None
            except git.GitError:  # an old tip is gone: nothing to compare with
                return None
        if tip in seeds:
            return None
        known = memo.get(tip)
        if known is not None:
            if known in (NOTREE, tip):
                return None
            if not info.present([known])[0]:
                return None
            if verify:  # the entry must name a commit with the tip's folder as its tree
                folder = info.path_in(tip, prefix)
                if folder is None or folder[1] != "tree" or info.tree_of(known) != folder[0]:
                    return None
            return SplitOutcome(known, "cached", 0, 0, tip_has_folder=True)  # a tip without it maps to itself
        scan = git.start_subtree_trailer_log(r.path, prefix, tip, stored.tips)
        walk = git.start_topo_walk(r.path, tip, stored.tips).result()
        trailers = _scan_output(scan.result(), info)
        if trailers.exclusions:  # e.g. a rejoin: do not walk the split history it merged in
            walk = git.start_topo_walk(r.path, tip, stored.tips + trailers.exclusions).result()
        seeds = dict(seeds)
        for key, value in trailers.seeds:
            if key in seeds or not key or (key in memo and memo[key] != value):
                return None
            seeds[key] = value
        if tip in seeds:
            return None
        gens = _Generations(path.with_suffix(".gens"))
        engine = _Engine(r.path, prefix, r.encoding, info, memo, seeds, gens, incremental=True, verify=verify)
        try:
            engine.walk(walk)
            if engine.value.get(tip) in (None, NOTREE, tip) or engine.subtree.get(tip) is None:
                return None
            engine.copy()
            result = engine.value[tip]
            _write_objects(r, engine.objects, info)
        finally:
            engine.close()
        tips = [t for t in stored.tips if t != tip][-(MAX_TIPS - 1):] + [tip]
        _Cache(tips, engine.value, seeds, stored.exclusions + trailers.exclusions).save(path)
        gens.save()
        return SplitOutcome(result, "incremental", len(engine.order), len(engine.objects), engine.node_parents,
                            True)  # (a tip without the folder takes the full run, above)
    finally:
        info.close()


def _write_objects(r: _Repo, objects: dict[str, bytes], info: git.Objects) -> None:
    if not objects:
        return
    if len(objects) <= 64:
        git.write_loose(r.objects, [("commit", body) for body in objects.values()])
        return
    ids = list(objects)
    missing = [("commit", objects[i]) for i, there in zip(ids, info.present(ids)) if not there]
    if missing:
        git.write_pack(r.path, missing)


# ---------------------------------------------------------------------------------------------------------------------
# The cache ref: the cache travels with the parent (see the module docstring)

SHARED_REF = "refs/ddl-cascade/split-cache"
_SHARED_IDENT = "ddl-cascade <ddl-cascade@localhost> 0 +0000"  # fixed: the same cache gives the same commit


@dataclass
class Shared:
    """Where a fresh clone finds the cache: `remote`'s SHARED_REF, trusted only as far as `anchor()` (the delivery
    branch's tip as the remote has it, or None) vouches for it."""

    remote: str
    anchor: "Callable[[], str | None]"
    timeout: float = git.DEFAULT_TIMEOUT


def _warn(text: str) -> None:
    sys.stderr.write(f"ddl-cascade: warning: {text}\n")


def _adopt(r: _Repo, prefix: str, path: Path, shared: Shared) -> "_Cache | None":
    """Fetch the cache ref and install its cache for `prefix` as this repository's own, if it passes every check;
    the cache, or None. Any doubt means None: a full run, never a wrong id."""
    try:
        commit = git.fetch_ref(r.path, shared.remote, SHARED_REF, shared.timeout)
    except git.GitError as exc:
        _warn(f"could not fetch the split cache ({SHARED_REF}) from '{shared.remote}' ({exc}); splitting the whole "
              "history.")
        return None
    if commit is None:
        return None
    with git.ObjectReader(r.path) as reader:
        about, data, gens = reader.read_many([f"{commit}:{path.name}.prefix", f"{commit}:{path.name}",
                                              f"{commit}:{path.name}.gens"])
    if about is None or data is None or about[1] != "blob" or data[1] != "blob" or about[2] != prefix.encode():
        return None  # a cache of another folder (or none): nothing to use
    where = f"the split cache in {SHARED_REF} of '{shared.remote}'"
    try:
        stored = _Cache.parse(_Cache._verified(data[2]))
    except (ValueError, UnicodeDecodeError):
        _warn(f"{where} is corrupt; splitting the whole history.")
        return None
    if stored is None or not stored.tips:
        return None
    published, anchor = stored.memo.get(stored.tips[-1]), shared.anchor()
    if anchor is None:
        return None  # no delivery branch known here (none yet, or source.remote is a URL): nothing to check against
    if (published is None or published == NOTREE
            or (published != anchor and not git.is_ancestor(r.path, published, anchor))):
        _warn(f"{where} does not match the delivery branch (stale, rewritten or another repository's); splitting "
              "the whole history.")
        return None
    if stored.seeds or stored.exclusions:
        # The trailers baked into the cache must be the ones the history itself has (a scan, as the cold run does).
        info = git.Objects(r.path)
        try:
            found = _scan_output(git.start_subtree_trailer_log(r.path, prefix, stored.tips[-1]).result(), info)
        except (git.GitError, SplitError):
            found = None
        finally:
            info.close()
        if found is None or dict(found.seeds) != stored.seeds or sorted(found.exclusions) != sorted(stored.exclusions):
            _warn(f"{where} has subtree trailers this history does not have; splitting the whole history.")
            return None
    _atomic_write(path, data[2])
    if gens is not None and gens[1] == "blob":
        _atomic_write(path.with_suffix(".gens"), gens[2])
    return stored


def shared_commit(outcome: SplitOutcome, prefix: str, repo: Path) -> str | None:
    """The cache ref's commit for the cache `outcome`'s run kept (written to the repository, ref not moved), or None
    when it kept none. A root commit: the ref holds one cache, never a history of them, so an old one is pruned."""
    path = outcome.cache_file
    if path is None or outcome.objects is None or not path.exists():
        return None
    prefix = prefix.strip("/")
    files = [(path.name + ".prefix", prefix.encode()), (path.name, path.read_bytes())]
    gens = path.with_suffix(".gens")
    if gens.exists():
        files.append((gens.name, gens.read_bytes()))
    blobs = [("blob", body) for _, body in files]
    entries = [("100644", name.encode(), git.object_id("blob", body)) for name, body in files]
    tree = git.tree_bytes(entries)
    message = f"ddl-cascade split cache of '{prefix}'\n\nsplit {outcome.tip}\n"
    commit = git.commit_bytes(git.object_id("tree", tree), [], _SHARED_IDENT, _SHARED_IDENT, message)
    git.write_loose(outcome.objects, [*blobs, ("tree", tree), ("commit", commit)])
    return git.object_id("commit", commit)
