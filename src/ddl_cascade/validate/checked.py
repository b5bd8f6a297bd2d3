"""What checking one script produced: its findings and what the later checks need of it.

The engine makes a `Checked` per script in its first pass (possibly in a worker process, so it is plain, picklable
data); lint, the history checks and the suppressions read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ddl_cascade.flyway.sqlscript import Statement
from ddl_cascade.validate import suppress
from ddl_cascade.validate.model import Finding


@dataclass
class Checked:
    """What checking one script produced (plain, picklable data: it may come back from a worker process)."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    suppressions: suppress.Suppressions = field(default_factory=suppress.Suppressions)
    text: str | None = None  # None when the file did not decode
    checksum: int | None = None
    # What lint needs, kept from the first pass: the statements (substituted SQL, positions in the file as
    # written), whether each parsed, the tables the script creates, and its .sql.conf executeInTransaction.
    statements: list[Statement] = field(default_factory=list)
    parses: list[bool] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    in_transaction: bool | None = None
    # Per statement, its kind and the table it is about, for the kinds `lint.remember` learns from (`syntax.Parsed`).
    kinds: list[str | None] = field(default_factory=list)
    tables: list[str | None] = field(default_factory=list)
