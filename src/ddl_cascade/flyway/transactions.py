"""Which statements Flyway runs outside a transaction (reference §9.2), and how a whole script's mode follows.

The splitter (`sqlscript`) asks `non_transactional_simplified` about each statement it finds; `transaction_mode`
then decides a script from its statements and its `.sql.conf`. This module needs neither: it only knows Flyway's
rules, so the splitter and the migration model can both import it without importing each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ddl_cascade.flyway.migrations import ScriptConfig

_NON_TRANSACTIONAL = [
    re.compile(r"^(CREATE|DROP) (DATABASE|TABLESPACE|SUBSCRIPTION)\b"),
    re.compile(r"^ALTER SYSTEM\b"),
    re.compile(r"^(CREATE|DROP)( UNIQUE)? INDEX CONCURRENTLY\b"),
    re.compile(r"^REINDEX( VERBOSE)? (SCHEMA|DATABASE|SYSTEM)\b"),
    re.compile(r"^VACUUM\b"),
    re.compile(r"^DISCARD ALL\b"),
]
_ALTER_TYPE_ADD_VALUE = re.compile(r"^ALTER TYPE( .*)? ADD VALUE\b")


def is_non_transactional_keywords(keywords: list[str], server_version_num: int = 150000) -> bool:
    """Flyway's test on the simplified statement: the first <= 10 upper-cased keywords at parenthesis depth 0."""
    return non_transactional_simplified(" ".join(keywords[:10]), server_version_num)


def non_transactional_simplified(simplified: str, server_version_num: int = 150000) -> bool:
    """Flyway's test on a simplified statement (up to 10 upper-cased keywords joined by single spaces)."""
    if any(p.match(simplified) for p in _NON_TRANSACTIONAL):
        return True
    return server_version_num < 120000 and bool(_ALTER_TYPE_ADD_VALUE.match(simplified))



@dataclass(frozen=True)
class TransactionMode:
    """How Flyway runs one script: in one transaction, or statement by statement in auto-commit.

    `error` is Flyway's refusal when a script mixes transactional and non-transactional statements while
    `mixed=false` and no script config decides; `line` is the offending statement's line.
    """

    in_transaction: bool
    error: str | None = None
    line: int = 0


def transaction_mode(
    statements: Iterable,
    config: ScriptConfig | None = None,
    *,
    mixed: bool = False,
    execute_in_transaction: bool = True,
) -> TransactionMode:
    """Decide a script's transaction mode from its statements (`sqlscript.Statement`s) as Flyway does (§9.2).

    A script config's `executeInTransaction` wins over detection; otherwise a script with any non-transactional
    statement runs in auto-commit, and one that also has transactional statements is an error unless `mixed`.
    """
    if config is not None and config.execute_in_transaction is not None:
        return TransactionMode(config.execute_in_transaction)
    kinds: set[bool] = set()
    for statement in statements:
        kinds.add(statement.non_transactional)
        if len(kinds) == 2 and not mixed:
            # Flyway names the statement at which it has seen both kinds, whichever kind that one is.
            return TransactionMode(
                False,
                "Detected both transactional and non-transactional statements within the same migration (even "
                f"though mixed is false). Offending statement found at line {statement.line}: {statement.sql}"
                + (" [non-transactional]" if statement.non_transactional else ""),
                statement.line,
            )
    return TransactionMode(False if True in kinds else execute_in_transaction)
