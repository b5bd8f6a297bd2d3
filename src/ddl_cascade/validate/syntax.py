"""Parse one statement, once: PostgreSQL by pglast (the server's own grammar), any other dialect by sqlglot.

The parse tree pglast returns is handed on to the `lint/...` rules, so each statement is parsed exactly once per run.
A syntax error comes back as an offset into the statement's text, which the caller maps to a line and column of the
file (the statement's text has placeholders substituted; see `validate.placeholders`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ddl_cascade.errors import CascadeError

POSTGRES = "postgres"
_POSTGRES_ALIASES = {"postgres", "postgresql", "pg"}


@dataclass(frozen=True)
class Parsed:
    node: Any  # the pglast statement node (RawStmt.stmt); None if it did not parse, without a tree, or not PostgreSQL
    error: str | None = None  # the parser's message when it did not parse
    offset: int = 0  # where the error is, as a character offset into the statement's text
    created: str | None = None  # the table a CREATE TABLE [AS] / SELECT INTO creates ("name" or "schema.name")
    # What `lint.remember` may learn from the statement without its tree: its kind (pglast's node name) and the table
    # it creates, alters or renames, for the kinds in `lint.REMEMBERED`. Only without the tree (`tree=False`).
    kind: str | None = None
    table: str | None = None


def check_dialect(dialect: str, file: str) -> str:
    """The normalised dialect name; a CascadeError naming the config key when sqlglot does not know it."""
    name = dialect.strip().lower()
    if name in _POSTGRES_ALIASES:
        return POSTGRES
    from sqlglot.dialects.dialect import Dialect

    try:
        Dialect.get_or_raise(name)
    except ValueError:
        raise CascadeError(f"{file}: flyway.dialect {dialect!r} is not a dialect ddl-cascade can parse.") from None
    return name


def parse(sql: str, dialect: str = POSTGRES, tree: bool = True) -> Parsed:
    """Parse one statement. With `tree=False` only the syntax is checked: building pglast's Python tree costs ten
    times more than parsing, and scripts that are not linted (delivered, unchanged) do not need it."""
    if dialect == POSTGRES:
        return _parse_postgres(sql, tree)
    return _parse_other(sql, dialect)


def _parse_postgres(sql: str, tree: bool) -> Parsed:
    from pglast.parser import ParseError, parse_sql, parse_sql_json

    try:
        if not tree:
            return _summary(parse_sql_json(sql))
        raw = parse_sql(sql)
    except ParseError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        location = exc.args[1] if len(exc.args) > 1 else None
        # "at end of input" carries no position: point just after the statement's last character.
        offset = len(sql.rstrip()) if location is None else int(location)
        return Parsed(None, message, min(max(offset, 0), len(sql)))
    except RecursionError:
        # pglast builds its Python tree recursively; a pathologically deep expression must not crash the run.
        return Parsed(None, "statement nested too deeply to check", 0)
    node = raw[0].stmt if raw else None
    return Parsed(node, created=_created_from_node(node))


def _qualified(rel: dict[str, Any]) -> str:
    return f"{rel['schemaname']}.{rel['relname']}" if rel.get("schemaname") else rel["relname"]


# Where each kind of statement `lint.remember` learns from names its table, in libpg_query's JSON.
_TABLE_KEYS = {"CreateStmt": ("relation",), "CreateTableAsStmt": ("into", "rel"), "SelectStmt": ("intoClause", "rel"),
               "AlterTableStmt": ("relation",), "RenameStmt": ("relation",)}
_CREATES = {"CreateStmt", "CreateTableAsStmt", "SelectStmt"}


def _summary(out: str) -> Parsed:
    """Kind and table of a parsed statement from libpg_query's JSON, decoding it only for the kinds that name one."""
    import json

    at = out.find('"stmt":{"')
    if at < 0:
        return Parsed(None)
    kind = out[at + 9:out.find('"', at + 9)]
    if kind not in _TABLE_KEYS or (kind == "SelectStmt" and '"intoClause"' not in out):
        return Parsed(None, kind=kind)
    node: Any = json.loads(out)["stmts"][0]["stmt"][kind]
    for key in _TABLE_KEYS[kind]:
        node = node.get(key) if isinstance(node, dict) else None
    table = _qualified(node) if isinstance(node, dict) and node.get("relname") else None
    return Parsed(None, created=table if kind in _CREATES else None, kind=kind, table=table)


def _created_from_node(node: Any) -> str | None:
    from pglast import ast

    if isinstance(node, ast.CreateStmt) and node.relation is not None:
        rv = node.relation
    elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        rv = node.into.rel
    elif isinstance(node, ast.SelectStmt) and node.intoClause is not None:
        rv = node.intoClause.rel
    else:
        return None
    return f"{rv.schemaname}.{rv.relname}" if rv.schemaname else rv.relname


def _parse_other(sql: str, dialect: str) -> Parsed:
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        sqlglot.parse(sql, read=dialect)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line, col = int(first.get("line") or 1), int(first.get("col") or 1)
        highlight = str(first.get("highlight") or "")
        # sqlglot's column is where the offending token ends; point at where it starts instead.
        col = max(1, col - len(highlight) + 1) if highlight and "\n" not in highlight else col
        message = str(first.get("description") or exc).split("<Token")[0].strip()
        return Parsed(None, message, _offset(sql, line, col))
    except TokenError as exc:
        return Parsed(None, str(exc), 0)
    return Parsed(None)


def _offset(text: str, line: int, col: int) -> int:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    start = starts[min(line, len(starts)) - 1]
    return min(start + col - 1, len(text))
