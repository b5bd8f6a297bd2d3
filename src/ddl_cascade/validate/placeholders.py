"""Substitute placeholders before parsing, and map positions in the substituted text back to the file.

Flyway replaces `${name}` in the raw character stream before it parses a script, so `validate` parses the same
substituted text. Findings must still point at the file as the author wrote it, hence the offset map. A `${name}`
with no value is reported (`sql/placeholder-undefined`) and replaced by its bare name, so the rest of the statement
can still be parsed.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from ddl_cascade import flyway

# Values for Flyway's built-in `${flyway:...}` placeholders: Flyway always provides them at run time, so they are
# defined; the exact value does not matter for parsing.
_BUILT_IN = {
    **flyway.default_placeholders(
        schema="public", user="flyway", database="postgres", timestamp="2000-01-01 00:00:00", working_directory=".",
        environment="default",
    ),
}


@dataclass
class Substituted:
    text: str
    undefined: list[flyway.Placeholder] = field(default_factory=list)
    _new: list[int] = field(default_factory=list)  # start of each replaced span in the substituted text
    _spans: list[tuple[int, int, int, int]] = field(default_factory=list)  # new_start, new_end, old_start, old_end
    _undefined_spans: list[tuple[int, int]] = field(default_factory=list)  # in the substituted text

    def original(self, offset: int) -> int:
        """The offset in the original text of `offset` in the substituted text."""
        if not self._spans:
            return offset
        i = bisect.bisect_right(self._new, offset) - 1
        if i < 0:
            return offset
        new_start, new_end, old_start, old_end = self._spans[i]
        if offset < new_end:
            return old_start  # inside a replaced value: point at its `${`
        return old_end + (offset - new_end)

    def has_undefined(self, start: int, end: int) -> bool:
        """Whether an undefined placeholder was replaced inside [start, end) of the substituted text."""
        return any(s < end and e > start for s, e in self._undefined_spans)


def substitute(text: str, values: dict[str, str], filename: str) -> Substituted:
    placeholders = flyway.find_placeholders(text) if "${" in text else []
    if not placeholders:
        return Substituted(text)
    lookup = {k.lower(): v for k, v in _BUILT_IN.items()}
    lookup["flyway:filename"] = filename
    lookup.update({k.lower(): v for k, v in values.items()})
    out: list[str] = []
    result = Substituted("")
    pos = 0
    new_pos = 0
    for p in placeholders:
        out.append(text[pos:p.start])
        new_pos += p.start - pos
        value = lookup.get(p.name.lower())
        if value is None:
            result.undefined.append(p)
            value = re.sub(r"\W", "_", p.name) or "placeholder"
            result._undefined_spans.append((new_pos, new_pos + len(value)))
        out.append(value)
        result._spans.append((new_pos, new_pos + len(value), p.start, p.end))
        result._new.append(new_pos)
        new_pos += len(value)
        pos = p.end
    out.append(text[pos:])
    result.text = "".join(out)
    return result
