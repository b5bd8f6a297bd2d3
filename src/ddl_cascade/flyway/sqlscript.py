"""Split a PostgreSQL migration script into statements, with exact positions.

Flyway sends a script to the server one statement at a time, and so does `db verify`; `validate` parses and lints
each statement on its own and must point a finding at the right line. This module owns that split. It follows
PostgreSQL's lexical rules (the ones psql applies when it reads a file):

- `'…'` strings (`''` doubles a quote), `E'…'` strings (backslash escapes), `"…"` identifiers, `$tag$…$tag$`
  dollar quotes, nested `/* … */` comments and `--` comments hide semicolons;
- a `;` inside parentheses does not end a statement (multi-action `CREATE RULE … DO (…; …)`);
- SQL-standard function bodies (`CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC … END`) keep their inner
  semicolons, using psql's own BEGIN/CASE/END depth heuristic;
- `COPY … FROM stdin;` is followed, from the next line, by a data block that ends at a line reading `\\.` (or at the
  end of the text). The block is not SQL: it is returned as `Statement.copy_data`. This follows Flyway's PostgreSQL
  parser, which skips whatever follows the `;` on the COPY's own line and accepts spaces around `\\.` (psql would
  run the former and send the latter as data).

pglast's splitter is not used for the split itself: its parser mode fails on the first syntax error (and `validate`
must still locate every other statement), and its scanner mode breaks `BEGIN ATOMIC` bodies and cannot skip COPY
data. pglast (on text that parses) and psql itself (on any text, and for COPY data) are the oracles in the tests.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from ddl_cascade.flyway.transactions import non_transactional_simplified

__all__ = ["Fault", "Statement", "Token", "faults_of", "split_statements", "tokenize", "line_starts", "position"]


@dataclass(frozen=True)
class Statement:
    """One statement of a script.

    `sql` is `text[start:end]`: from the statement's first token to the end of its last token, without the
    terminating `;` and without comments before it. `line`/`column` (1-based) locate `start`.
    `comment_start` is where the gap before the statement begins (just after the previous statement or its COPY
    data), so `text[comment_start:start]` holds the comments that precede it (for inline directives).
    """

    sql: str
    start: int
    end: int
    line: int
    column: int
    copy_data: str | None = None
    non_transactional: bool = False
    comment_start: int = 0
    terminated: bool = True  # False when the text ended before a `;`


@dataclass(frozen=True)
class Token:
    kind: str  # word, qident, string, dollar, number, param, op, lparen, rparen, semi, comment
    start: int
    end: int


_IDENT_START = r"A-Za-z_\u0080-\U0010ffff"
_IDENT_CONT = r"A-Za-z0-9_$\u0080-\U0010ffff"
_DOLLAR_TAG = rf"[{_IDENT_START}][A-Za-z0-9_\u0080-\U0010ffff]*"

# One alternative per token class; tried in this order at each position. `estring` must come before `word` so that
# an `E'` at the start of a token is an escape string, while `fooE'x'` stays the word `fooE` then a plain string.
_TOKEN_RE = re.compile(
    rf"""
    [ \t\n\r\f\v]*  # PostgreSQL's whitespace (not Unicode's), skipped in the same match as the token
    (?:(?P<line_comment>--[^\n\r]*)
  | (?P<block_comment>/\*)
  | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*(?:'|\Z))
  | (?P<string>'(?:[^']|'')*(?:'|\Z))
  | (?P<qident>"(?:[^"]|"")*(?:"|\Z))
  | (?P<dollar>\$(?:{_DOLLAR_TAG})?\$)
  | (?P<param>\$[0-9]+)
  | (?P<word>[{_IDENT_START}][{_IDENT_CONT}]*)
  | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<semi>;)
  | (?P<op>[^ \t\n\r\f\v]))
    """,
    re.VERBOSE | re.DOTALL,
)
_COMMENT_EDGE = re.compile(r"/\*|\*/")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Fault:
    """A place where the script cannot be read faithfully: the text from `offset` on would be cut off or misread."""

    offset: int
    message: str


# A quoted token that reached the end of the text is unterminated unless it is closed exactly there.
_CLOSED = {"string": re.compile(r"'(?:[^']|'')*'", re.DOTALL),
           "estring": re.compile(r"[eE]'(?:[^'\\]|\\.|'')*'", re.DOTALL),
           "qident": re.compile(r'"(?:[^"]|"")*"', re.DOTALL)}
_UNTERMINATED = {kind: f"unterminated quoted {what}: the rest of the script is read as part of it"
                 for kind, what in (("string", "string"), ("estring", "string"), ("qident", "identifier"))}


def _scan(text: str, pos: int = 0, limit: int | None = None, faults: list[Fault] | None = None):
    """Yield (kind, start, end) for every token in text[pos:limit], comments included, whitespace skipped.

    A comment, string, quoted identifier or dollar quote that is never closed runs to the end (as PostgreSQL's lexer
    reads it, before it fails); with `faults`, each is also recorded there."""
    n = len(text) if limit is None else limit
    match = _TOKEN_RE.match
    while pos < n:
        m = match(text, pos, n)
        if m is None:  # only whitespace is left
            return
        kind = m.lastgroup
        pos = m.start(kind)
        end = m.end()
        if kind == "block_comment":
            depth = 1
            while depth:
                edge = _COMMENT_EDGE.search(text, end, n)
                if edge is None:
                    end = n
                    if faults is not None:
                        faults.append(Fault(pos, "unterminated /* comment: the rest of the script is swallowed by it"))
                    break
                depth += 1 if edge.group() == "/*" else -1
                end = edge.end()
            yield "comment", pos, end
        elif kind == "line_comment":
            yield "comment", pos, end
        elif kind == "dollar":
            tag = m.group(kind)
            close = text.find(tag, end, n)
            if close < 0 and faults is not None:
                faults.append(Fault(pos, f"unterminated dollar-quoted string {tag}: the rest of the script is read as part "
                                          "of it"))
            end = n if close < 0 else close + len(tag)
            yield "dollar", pos, end
        else:
            if end == n and faults is not None and kind in _CLOSED and not _CLOSED[kind].fullmatch(text, pos, end):
                faults.append(Fault(pos, _UNTERMINATED[kind]))
            yield "string" if kind == "estring" else kind, pos, end
        pos = end


def tokenize(text: str) -> list[Token]:
    """All tokens of `text` (comments included, whitespace not), by PostgreSQL's lexical rules."""
    return [Token(kind, start, end) for kind, start, end in _scan(text)]


def line_starts(text: str) -> list[int]:
    """Offsets at which each line begins; `\\n`, `\\r\\n` and a lone `\\r` end a line, as in an editor. (Flyway's own
    line numbers count only `\\n`: in a script with lone `\\r` line ends they differ; docs/flyway.md.)"""
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]


def position(starts: list[int], offset: int) -> tuple[int, int]:
    """1-based (line, column) of `offset`, given `line_starts(text)`."""
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


_FUNCTION_HEADS = {"create": "c", "function": "f", "procedure": "p", "or": "o", "replace": "r"}


def _in_routine_head(heads: list[str]) -> bool:
    # psql's test: the statement starts CREATE [OR REPLACE] FUNCTION|PROCEDURE.
    padded = heads + [""] * (4 - len(heads))
    return padded[0] == "c" and (
        padded[1] in ("f", "p") or (padded[1] == "o" and padded[2] == "r" and padded[3] in ("f", "p"))
    )


_KEYWORD = re.compile(r"[^\W\d]+\Z")
_COPY_FROM_STDIN = re.compile(r"^COPY( .*)? FROM STDIN\b")


def faults_of(text: str) -> list[Fault]:
    """What keeps `text` from being split and run faithfully (see `split_statements`)."""
    faults: list[Fault] = []
    split_statements(text, faults=faults)
    return faults


def split_statements(text: str, *, server_version_num: int = 150000,
                     faults: list[Fault] | None = None) -> list[Statement]:
    """Split a script into statements (see the module docstring for the rules).

    With `faults`, what the split cannot read faithfully is appended there, in text order: a NUL character (the
    server's protocol ends a query at it, and Flyway's JDBC driver refuses it), and a `/* … */` comment, quoted
    string, quoted identifier or dollar quote that is never closed (everything after its start would be swallowed).
    The statements are the same either way.
    """
    if faults is not None and "\x00" in text:
        faults.append(Fault(text.index("\x00"), "NUL character (0x00): PostgreSQL cannot receive it, so the script cannot run as written"))

    locate = _Locator(text)
    statements: list[Statement] = []
    n = len(text)
    # A byte-order mark is not part of the script (Flyway drops it when it reads the file).
    pos = gap_start = 1 if text.startswith("\ufeff") else 0
    while pos < n:
        first = last_end = -1
        paren = begin = 0
        heads: list[str] = []
        routine = False  # psql's test: the statement starts CREATE [OR REPLACE] FUNCTION|PROCEDURE
        words: list[str] = []  # Flyway's first 10 keywords at parenthesis depth 0, lower-cased (its "simplified
        # statement", from which it tells COPY ... FROM STDIN and non-transactional statements)
        terminator = -1
        for kind, start, end in _scan(text, pos, faults=faults):
            if kind == "comment":
                continue
            if kind == "semi" and paren == 0 and begin == 0:
                terminator = start
                break
            if first < 0:
                first = start
            last_end = end
            if kind == "word":
                if len(heads) < 4:
                    heads.append(_FUNCTION_HEADS.get(text[start:end].lower(), "-"))
                    routine = _in_routine_head(heads)
                if paren == 0 and (routine or len(words) < 10):
                    lower = text[start:end].lower()
                    # Flyway's keywords: letters and "_" only; a dotted name (`public.t`) is one identifier.
                    if (len(words) < 10 and _KEYWORD.match(lower) and text[end:end + 1] != "."
                            and text[start - 1:start] != "."):
                        words.append(lower)
                    if routine:
                        if lower == "begin":
                            begin += 1
                        elif lower == "case" and begin:
                            begin += 1
                        elif lower == "end" and begin:
                            begin -= 1
            elif kind == "lparen":
                paren += 1
            elif kind == "rparen":
                if paren > 0:
                    paren -= 1
        resume = n if terminator < 0 else terminator + 1
        copy_data = None
        if first >= 0:
            simplified = " ".join(words).upper()
            if terminator >= 0 and words and words[0] == "copy" and _COPY_FROM_STDIN.match(simplified):
                copy_data, resume = _copy_block(text, resume)
            line, column = locate(first)
            statements.append(
                Statement(
                    sql=text[first:last_end],
                    start=first,
                    end=last_end,
                    line=line,
                    column=column,
                    copy_data=copy_data,
                    non_transactional=non_transactional_simplified(simplified, server_version_num),
                    comment_start=gap_start,
                    terminated=terminator >= 0,
                )
            )
        pos = gap_start = resume
    return statements


class _Locator:
    """(line, column) of increasing offsets; counts newlines as it goes unless the text has old-Mac line ends."""

    def __init__(self, text: str):
        self.text = text
        self.starts = line_starts(text) if "\r" in text else None
        self.offset = 0
        self.line = 1

    def __call__(self, offset: int) -> tuple[int, int]:
        if self.starts is not None:
            return position(self.starts, offset)
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1


def _copy_block(text: str, after_semicolon: int) -> tuple[str, int]:
    """The COPY data after the statement, and where scanning resumes, as Flyway's PostgreSQL parser reads them:
    the rest of the COPY's line is skipped, then whole lines (ended by "\\n") are data until one that is `\\.` once
    trimmed of surrounding whitespace and control characters (Java's `String.trim`)."""
    newline = text.find("\n", after_semicolon)
    if newline < 0:
        return "", len(text)
    data_start = newline + 1
    end_marker = _COPY_END.search(text, data_start)
    if end_marker is None:
        return text[data_start:], len(text)
    resume = end_marker.end() + 1 if end_marker.end() < len(text) else len(text)  # past the marker's "\n"
    return text[data_start:end_marker.start()], resume


# A line that is `\\.` once Java's String.trim() has removed every char <= U+0020 around it.
_COPY_END = re.compile(r"^[\x00-\x09\x0b-\x20]*\\\.[\x00-\x09\x0b-\x20]*$", re.MULTILINE)


def is_non_transactional(sql: str, server_version_num: int = 150000) -> bool:
    """Whether Flyway would run this one statement outside a transaction (its simplified-statement detection)."""
    statements = split_statements(sql, server_version_num=server_version_num)
    return bool(statements) and statements[0].non_transactional
