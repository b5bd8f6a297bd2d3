"""Small shared readers of pglast's parse tree, so each rule module stays a few lines long."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

if TYPE_CHECKING:
    from collections.abc import Iterator


def alter_table_cmds(node: Any, *subtypes: AlterTableType) -> Iterator[tuple[ast.RangeVar, ast.AlterTableCmd]]:
    """(table, command) for each `ALTER TABLE` command of the given kinds; not ALTER INDEX/VIEW/..."""
    if not isinstance(node, ast.AlterTableStmt) or node.objtype != ObjectType.OBJECT_TABLE or node.relation is None:
        return
    for cmd in node.cmds or ():
        if cmd.subtype in subtypes:
            yield node.relation, cmd


def added_columns(node: Any) -> Iterator[tuple[ast.RangeVar, ast.ColumnDef]]:
    """(table, column definition) for each `ALTER TABLE ... ADD COLUMN`."""
    for table, cmd in alter_table_cmds(node, AlterTableType.AT_AddColumn):
        if isinstance(cmd.def_, ast.ColumnDef):
            yield table, cmd.def_


def added_constraints(node: Any) -> Iterator[tuple[ast.RangeVar, ast.Constraint]]:
    """(table, constraint) for each `ALTER TABLE ... ADD CONSTRAINT` (table constraints, not column ones)."""
    for table, cmd in alter_table_cmds(node, AlterTableType.AT_AddConstraint):
        if isinstance(cmd.def_, ast.Constraint):
            yield table, cmd.def_


def constraints_of(column: ast.ColumnDef, *kinds: ConstrType) -> list[ast.Constraint]:
    return [c for c in column.constraints or () if c.contype in kinds]


def has_option(options: Any, name: str) -> bool:
    """Whether a list of DefElem options (VACUUM (FULL), REINDEX (CONCURRENTLY) ...) names `name` and is not off."""
    for opt in options or ():
        if isinstance(opt, ast.DefElem) and opt.defname == name:
            arg = opt.arg
            if arg is None:
                return True
            value = getattr(arg, "sval", None) or getattr(arg, "boolval", None) or getattr(arg, "ival", None)
            return str(value).lower() not in ("false", "off", "0")
    return False


def loc(node: Any) -> int | None:
    """The character offset pglast recorded for a node, if any (-1 and absent mean unknown)."""
    value = getattr(node, "location", None)
    return value if isinstance(value, int) and value >= 0 else None


def walk(node: Any) -> Iterator[Any]:
    """Every AST node below (and including) `node`."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (list, tuple)):
            stack.extend(current)
        elif isinstance(current, ast.Node):
            yield current
            for slot in current.__slots__:
                child = getattr(current, slot, None)
                if isinstance(child, (ast.Node, list, tuple)):
                    stack.append(child)
