"""Risky-DDL lint: the `lint/...` rules of `ddl-cascade validate`, in the manner of squawk and Atlas.

A migration can be valid SQL and still take an outage: an index built without CONCURRENTLY blocks every write to
the table for the whole build, a NOT NULL column without a default fails on the first non-empty database, a rename
breaks the application version still running. These rules warn about such statements before they are delivered.

Layout (as sqlfluff and squawk do it): one small module per rule, named after its id (`lint/drop-table` lives in
`drop_table.py`). Each module has `INFO` (a `RuleInfo`), a docstring with an **Anti-pattern** and a **Fix** SQL
example, and `check(stmt, node, scope)`, a generator of `Hit`s for one parsed statement. The docstrings are
executable: the tests lint every anti-pattern (it must trigger its rule) and every fix (it must not), and
docs/lint-rules.md is rendered from them (`python -m ddl_cascade.validate.lint._docs`).

The rules are tuned not to cry wolf on real migrations. Whatever a migration does to a table it created itself
is safe (see `_scope.py`), `ADD COLUMN ... DEFAULT <constant>` needs no rewrite since PostgreSQL 11, and widening a
`varchar` needs no rewrite when the old type is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ddl_cascade.validate.lint import (
    add_column_not_null_without_default,
    add_column_volatile_default,
    add_primary_key,
    add_unique_constraint,
    column_type_change,
    concurrently_in_transaction,
    constraint_missing_not_valid,
    detach_partition_not_concurrent,
    drop_column,
    drop_database,
    drop_index_not_concurrent,
    drop_schema,
    drop_table,
    enum_add_value,
    index_not_concurrent,
    reindex_not_concurrent,
    rename_column,
    rename_table,
    set_not_null,
    transaction_control,
    truncate,
    vacuum_full_or_cluster,
)
from ddl_cascade.validate.lint._scope import Hit, LintContext, Scope
from ddl_cascade.validate.model import Finding, RuleInfo

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import ModuleType

    from ddl_cascade.flyway.sqlscript import Statement

__all__ = ["MODULES", "REMEMBERED", "RULES", "Hit", "LintContext", "Migration", "lint", "lint_migrations", "remember"]

# Order is the order of the documentation: destructive first, then locking, then compatibility.
MODULES: tuple[ModuleType, ...] = (
    drop_table,
    drop_column,
    drop_schema,
    drop_database,
    truncate,
    index_not_concurrent,
    drop_index_not_concurrent,
    reindex_not_concurrent,
    detach_partition_not_concurrent,
    concurrently_in_transaction,
    transaction_control,
    add_column_not_null_without_default,
    add_column_volatile_default,
    set_not_null,
    column_type_change,
    constraint_missing_not_valid,
    add_unique_constraint,
    add_primary_key,
    rename_table,
    rename_column,
    enum_add_value,
    vacuum_full_or_cluster,
)

RULES: dict[str, RuleInfo] = {m.INFO.id: m.INFO for m in MODULES}


@dataclass
class Migration:
    """One migration file as `lint_migrations` takes it: its statements with their parse trees (None for a
    statement that did not parse, or whose tree is not needed)."""

    path: str
    statements: list[tuple[Statement, Any]]
    # Not delivered yet (or changed since): linted, and the tables it creates count as new. A delivered migration
    # already ran everywhere: it is only remembered, and its tables may hold data by now.
    new: bool = True
    in_transaction: bool | None = None  # its .sql.conf executeInTransaction; None: Flyway's detection


# The statement kinds (pglast node names) `remember` learns from; a delivered migration's other statements may come
# without their parse tree, which is what building it costs.
REMEMBERED = frozenset({"CreateStmt", "CreateTableAsStmt", "SelectStmt", "AlterTableStmt", "RenameStmt"})


def lint_migrations(migrations: Iterable[Migration], context: LintContext | None = None, *,
                    skip: int = 0) -> list[list[Finding]]:
    """Lint migrations in Flyway order, each knowing what the ones before it established; the findings per migration.

    This is how `validate` lints, and how the rule tests do. New migrations are linted, then remembered; delivered
    ones are only remembered (their column types and CHECK (col IS NOT NULL) constraints make a later widening or
    SET NOT NULL safe). The first `skip` migrations are only remembered too: a worker linting one chunk of a long
    folder is handed what comes before its chunk that way. `context` is updated as the migrations are read.
    """
    context = context if context is not None else LintContext()
    default = context.in_transaction
    out: list[list[Finding]] = []
    try:
        for i, m in enumerate(migrations):
            context.in_transaction = m.in_transaction if m.in_transaction is not None else default
            out.append(lint(m.path, m.statements, context) if m.new and i >= skip else [])
            remember(m.statements, context, new=m.new)
    finally:
        context.in_transaction = default
    return out


def lint(path: str, statements: list[tuple[Statement, Any]], context: LintContext | None = None) -> list[Finding]:
    """Check one migration file's statements, in order; `node` is None for a statement that did not parse."""
    context = context or LintContext()
    scope = Scope(context, in_transaction_of(statements, context))
    scope.nodes = [node for _, node in statements]
    findings: list[Finding] = []
    for position, (stmt, node) in enumerate(statements):
        if node is None:
            continue
        scope.position = position
        for module in MODULES:
            info = module.INFO
            for hit in module.check(stmt, node, scope):
                line, column = _position(stmt, hit.location)
                findings.append(Finding(info.id, info.severity, path, line, column, hit.message, hit.hint))
        scope.observe(node, stmt.line)
    return findings


def remember(statements: list[tuple[Statement, Any]], context: LintContext, *, new: bool) -> None:
    """Carry what one migration file establishes into `context`, for linting the files that follow it.

    `lint_migrations` calls it for each migration in Flyway order after linting it (or instead, for delivered ones),
    and so should anything else that lints more than one file. Column types
    and CHECK (col IS NOT NULL) constraints always carry over; the tables it creates count as new only when the
    migration itself is new (`new=True`), since a delivered table may hold data by now.
    """
    scope = Scope(context, in_transaction_of(statements, context))
    for stmt, node in statements:
        if node is not None:
            scope.observe(node, stmt.line)
    context.column_types.update(scope.column_types)
    context.null_checks.update(scope.null_checks)
    context.proven_not_null |= scope.proven_not_null
    if new:
        context.tables_created |= scope.new_tables.added()


def in_transaction_of(statements: list[tuple[Statement, Any]], context: LintContext) -> bool:
    """Whether Flyway runs the script in a transaction: the context's word, else Flyway's detection (§9.2)."""
    if context.in_transaction is not None:
        return context.in_transaction
    return not any(stmt.non_transactional for stmt, _ in statements)


def _position(stmt: Statement, location: int | None) -> tuple[int, int]:
    """Line and column of a character offset in the statement's SQL (its start when the offset is unknown)."""
    if location is None or location <= 0:
        return stmt.line, stmt.column
    before = stmt.sql[:location]
    newlines = before.count("\n")
    if newlines == 0:
        return stmt.line, stmt.column + location
    return stmt.line + newlines, location - before.rfind("\n")
