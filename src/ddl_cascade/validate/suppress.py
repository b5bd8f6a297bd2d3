"""Inline suppression: `-- ddl-cascade: ignore <rule-id> [<rule-id>...]` and `-- ddl-cascade: ignore-file ...`.

Scope, chosen to be predictable:
- `ignore` silences the named rules for ONE statement: the statement the comment is inside of, or else the
  statement it precedes (comments between two statements belong to the next one). A comment on the same line
  after a statement's `;` (`DROP TABLE t; -- ddl-cascade: ignore lint/drop-table`) belongs to that statement.
- `ignore-file` silences the named rules for the whole file, including findings about the file itself
  (naming, history, duplicates: their line is 0).
Rule ids are separated by spaces or commas; the list ends at the first word that is not a rule id (`ns/name`), so
a reason may follow: `-- ddl-cascade: ignore lint/drop-table the table was empty since V12`.
An id no rule has is itself reported (`suppression/unknown-rule`), so a typo never silences nothing quietly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ddl_cascade.flyway.sqlscript import Statement, line_starts, position
from ddl_cascade.validate.model import Finding

_DIRECTIVE = re.compile(r"--[ \t]*ddl-cascade:[ \t]*(ignore-file|ignore)\b([^\r\n]*)")
_RULE_ID = re.compile(r"^[a-z0-9-]+/[a-z0-9*-]+$")


@dataclass(frozen=True)
class Directive:
    line: int
    column: int
    rules: tuple[str, ...]
    whole_file: bool


@dataclass
class Suppressions:
    file_rules: set[str] = field(default_factory=set)
    # (first line, last line, rules) per statement-scoped directive
    ranges: list[tuple[int, int, frozenset[str]]] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)

    def silences(self, finding: Finding) -> bool:
        if _matches(finding.rule, self.file_rules):
            return True
        if finding.line <= 0:
            return False
        return any(lo <= finding.line <= hi and _matches(finding.rule, rules) for lo, hi, rules in self.ranges)


def _matches(rule: str, rules: set[str] | frozenset[str]) -> bool:
    if rule in rules:
        return True
    # `lint/*` silences a whole family.
    return any(r.endswith("/*") and rule.startswith(r[:-1]) for r in rules)


def parse_ids(rest: str) -> tuple[str, ...]:
    ids: list[str] = []
    for word in re.split(r"[\s,]+", rest.strip()):
        if not word:
            continue
        if not _RULE_ID.match(word):
            break
        ids.append(word)
    return tuple(ids)


def scan(text: str, statements: list[Statement]) -> Suppressions:
    """The directives of one script and the lines each one covers."""
    out = Suppressions()
    if "ddl-cascade:" not in text:
        return out
    starts = line_starts(text)
    spans = [(s, position(starts, s.start)[0], position(starts, max(s.start, s.end - 1))[0]) for s in statements]
    for m in _DIRECTIVE.finditer(text):
        line, column = position(starts, m.start())
        ids = parse_ids(m.group(2))
        whole = m.group(1) == "ignore-file"
        out.directives.append(Directive(line, column, ids, whole))
        if not ids:
            continue
        if whole:
            out.file_rules.update(ids)
            continue
        target = _target(m.start(), line, spans)
        if target is not None:
            out.ranges.append((target[0], target[1], frozenset(ids)))
        else:
            out.ranges.append((line, line, frozenset(ids)))
    return out


def _target(offset: int, line: int, spans: list[tuple[Statement, int, int]]) -> tuple[int, int] | None:
    for i, (stmt, first, last) in enumerate(spans):
        if stmt.start <= offset < stmt.end:
            return first, last  # inside the statement (e.g. within a long CREATE TABLE)
        if offset < stmt.start:
            # Between statements: a comment on the line where the previous statement ends is a trailing comment.
            if i > 0 and spans[i - 1][2] == line and offset >= spans[i - 1][0].end:
                return spans[i - 1][1], spans[i - 1][2]
            if offset >= stmt.comment_start:
                return first, last
    if spans and spans[-1][2] == line and offset >= spans[-1][0].end:
        return spans[-1][1], spans[-1][2]
    return None
