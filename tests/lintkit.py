"""Helpers for the `lint/...` rule tests: lint SQL text exactly as `validate` does (real splitter, real parser)."""

from __future__ import annotations

from typing import Any

import pglast

from ddl_cascade.flyway.sqlscript import Statement, split_statements
from ddl_cascade.validate import lint as lint_module
from ddl_cascade.validate.lint import LintContext, lint
from ddl_cascade.validate.model import Finding


def parse_file(sql: str) -> list[tuple[Statement, Any]]:
    out = []
    for stmt in split_statements(sql):
        try:
            node = pglast.parse_sql(stmt.sql)[0].stmt
        except pglast.parser.ParseError:
            node = None
        out.append((stmt, node))
    return out


def lint_sql(sql: str, context: LintContext | None = None, path: str = "sql/V1__x.sql") -> list[Finding]:
    return lint(path, parse_file(sql), context)


def hits(sql: str, **context: Any) -> list[tuple[str, int]]:
    """(rule, line) of every finding, in order."""
    return [(f.rule, f.line) for f in lint_sql(sql, LintContext(**context))]


def lint_migrations(sqls: list[str], context: LintContext | None = None, delivered: int = 0) -> list[list[Finding]]:
    """Lint migrations in order exactly as `validate` does (`lint.lint_migrations`): the first `delivered` ones are
    only remembered, the others linted, each knowing what the ones before it established."""
    migrations = [lint_module.Migration(f"sql/V{i + 1}__x.sql", parse_file(sql), new=i >= delivered)
                  for i, sql in enumerate(sqls)]
    return lint_module.lint_migrations(migrations, context)
