"""What a lint rule may know about the migration around the statement it checks.

A rule sees one statement at a time, but "is this table new?", "does this run inside a transaction?" and "was
that enum value added earlier in the same transaction?" depend on the statements before it. `Scope` walks the file
in order with the rules, so those answers are always about the statements *before* the one being checked: `DROP
TABLE t; CREATE TABLE t (...)` drops an existing table, `CREATE TABLE t (...); CREATE INDEX ON t (...)` indexes a
new one.

"New" means created by this migration, or by an earlier migration the engine names in `LintContext.tables_created`
(typically earlier migrations of the same, not yet delivered, change). A new table is empty and invisible to other
sessions until the migration commits, so locks and scans on it are harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, NullTestType, ObjectType, TransactionStmtKind

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass
class LintContext:
    """What the caller knows beyond the file itself. Every field is optional."""

    # Tables (as "name" or "schema.name") created before this file by migrations that count as new, e.g. earlier
    # pending migrations of the same change. Tables created earlier in this file are found by `lint` itself.
    tables_created: set[str] = field(default_factory=set)
    # Whether Flyway runs this script inside a transaction. None: decide as Flyway does, i.e. transactional unless
    # some statement is one Flyway detects as non-transactional (`Statement.non_transactional`).
    in_transaction: bool | None = None
    # PostgreSQL major version of the target databases.
    pg_version: int = 15
    # Known column types, "table.column" (or "schema.table.column") -> type as `type_text` renders it, e.g.
    # "varchar(50)". Lets `lint/column-type-change` recognise widenings that need no rewrite.
    column_types: dict[str, str] = field(default_factory=dict)
    # CHECK (col IS NOT NULL) constraints of earlier migrations: name -> (table, column), and the (table, column)
    # pairs such a constraint already proves valid. Let `lint/set-not-null` accept the PostgreSQL 12+ recipe.
    null_checks: dict[str, tuple[str, str]] = field(default_factory=dict)
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True)
class Hit:
    """One problem a rule found in a statement; `lint` turns it into a `Finding`."""

    message: str
    hint: str
    location: int | None = None  # character offset in the statement's SQL; None: the statement's start


def qualified(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def rel_name(rv: ast.RangeVar) -> str:
    return qualified(rv.schemaname, rv.relname)


def names_to_str(names: Iterable[Any]) -> str:
    return ".".join(n.sval for n in names)


class Names:
    """Table, index or schema names as written ("name" or "schema.name"), looked up leniently by bare name.

    A name without a schema can mean any schema on the search_path, so "orders" matches "app.orders" and the other
    way round: a false "new" only silences a warning, a false "existing" cries wolf. `base` (the engine's set of
    tables created by earlier migrations, possibly thousands) is read, never copied, and indexed only on demand.
    """

    def __init__(self, base: set[str] | None = None) -> None:
        self._base = base if base is not None else set()
        self._base_bare: frozenset[str] | None = None  # bare names of `base`, built on the first unqualified miss
        self._added: dict[str, set[str]] = {}  # bare name -> schemas it was written with ("" for none)

    def add(self, name: str) -> None:
        schema, _, bare = name.rpartition(".")
        self._added.setdefault(bare, set()).add(schema)

    def __contains__(self, name: str) -> bool:
        schema, _, bare = name.rpartition(".")
        added = self._added.get(bare)
        if added and (not schema or "" in added or schema in added):
            return True
        if schema:
            return name in self._base or bare in self._base
        if self._base_bare is None:
            self._base_bare = _bare_names(self._base)
        return bare in self._base_bare

    def added(self) -> set[str]:
        """The names added (not the base), as written."""
        return {qualified(schema or None, bare) for bare, schemas in self._added.items() for schema in schemas}


# The engine passes, file after file, a growing copy of the same set of tables; indexing only what was added since
# the last file keeps a run over thousands of new migrations linear. One tuple, replaced whole: safe across threads.
_bare_cache: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())


def _bare_names(names: set[str]) -> frozenset[str]:
    global _bare_cache
    seen, bare = _bare_cache
    if seen <= names:
        bare = bare | {n.rpartition(".")[2] for n in names - seen}
    else:
        bare = frozenset(n.rpartition(".")[2] for n in names)
    _bare_cache = (frozenset(names), bare)
    return bare



def type_text(tn: ast.TypeName) -> str:
    """A type name as PostgreSQL's catalog spells it, without pg_catalog: `varchar(50)`, `numeric(10,2)`, `int4`."""
    base = tn.names[-1].sval
    mods = []
    for m in tn.typmods or ():
        val = getattr(m, "val", None)
        mods.append(str(getattr(val, "ival", "?")))
    text = base + (f"({','.join(mods)})" if mods else "")
    return text + ("[]" if tn.arrayBounds else "")


def null_checked_column(expr: Any) -> str | None:
    """The column in a `CHECK (col IS NOT NULL)` expression, else None."""
    if (
        isinstance(expr, ast.NullTest)
        and expr.nulltesttype == NullTestType.IS_NOT_NULL
        and isinstance(expr.arg, ast.ColumnRef)
        and isinstance(expr.arg.fields[-1], ast.String)
    ):
        return expr.arg.fields[-1].sval
    return None


class Scope:
    """The running state of one migration file, updated after each statement has been checked."""

    def __init__(self, context: LintContext, script_in_transaction: bool) -> None:
        self.context = context
        self.pg_version = context.pg_version
        self.script_in_transaction = script_in_transaction
        self.explicit_transaction = False  # inside BEGIN ... COMMIT written in the script itself
        self.new_tables = Names(context.tables_created)
        self.new_indexes = Names()
        self.new_schemas: set[str] = set()
        self.new_enums: set[str] = set()
        # What this file establishes; lookups fall back to the context's (read, never copied: it may be large).
        self.column_types: dict[str, str] = {}
        # Constraints added NOT VALID in the current transaction: name -> line of the ADD.
        self.not_valid_in_tx: dict[str, int] = {}
        # CHECK (col IS NOT NULL) constraints: name -> (table, column); once valid, SET NOT NULL needs no scan.
        self.null_checks: dict[str, tuple[str, str]] = {}
        self.proven_not_null: set[tuple[str, str]] = set()
        # Enum values added in the current transaction: value -> (type name, line of the ADD VALUE).
        self.enum_values_in_tx: dict[str, tuple[str, int]] = {}
        # The file's parsed statements and where the walk is, for the few rules that look ahead.
        self.nodes: list[Any] = []
        self.position = 0

    # -- questions rules ask ---------------------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self.script_in_transaction or self.explicit_transaction

    def is_new_table(self, rv_or_name: ast.RangeVar | str) -> bool:
        name = rv_or_name if isinstance(rv_or_name, str) else rel_name(rv_or_name)
        return name in self.new_tables

    def is_new_index(self, name: str) -> bool:
        return name in self.new_indexes

    def is_new_schema(self, name: str) -> bool:
        return name in self.new_schemas

    def later_nodes(self) -> list[Any]:
        """The parsed statements after the one being checked."""
        return self.nodes[self.position + 1 :]

    def column_type(self, table: str, column: str) -> str | None:
        for key in (f"{table}.{column}", f"{table.rsplit('.', 1)[-1]}.{column}"):
            for types in (self.column_types, self.context.column_types):
                if key in types:
                    return types[key]
        return None

    def is_proven_not_null(self, table: str, column: str) -> bool:
        key = (table.rsplit(".", 1)[-1], column)
        return key in self.proven_not_null or key in self.context.proven_not_null

    # -- learning from a statement once the rules have seen it -----------------------------------------------------

    def observe(self, node: Any, line: int) -> None:  # noqa: C901 - one dispatch over statement kinds
        if isinstance(node, ast.TransactionStmt):
            self._observe_transaction(node)
        elif isinstance(node, ast.CreateStmt):
            self.new_tables.add(rel_name(node.relation))
            for elt in node.tableElts or ():
                if isinstance(elt, ast.ColumnDef) and elt.typeName is not None:
                    self._set_type(node.relation, elt.colname, elt.typeName)
        elif isinstance(node, ast.CreateTableAsStmt):
            self.new_tables.add(rel_name(node.into.rel))
        elif isinstance(node, ast.IndexStmt):
            if node.idxname:
                self.new_indexes.add(qualified(node.relation.schemaname, node.idxname))
        elif isinstance(node, ast.CreateSchemaStmt):
            if node.schemaname:
                self.new_schemas.add(node.schemaname)
        elif isinstance(node, ast.CreateEnumStmt):
            self.new_enums.add(names_to_str(node.typeName))
        elif isinstance(node, ast.SelectStmt) and node.intoClause is not None:  # SELECT ... INTO new_table
            self.new_tables.add(rel_name(node.intoClause.rel))
        elif isinstance(node, ast.AlterEnumStmt) and node.newVal and not node.oldVal and self.in_transaction:
            # Unusable until commit even when the type itself is new in this transaction (checked on PG 15).
            self.enum_values_in_tx[node.newVal] = (names_to_str(node.typeName), line)
        elif isinstance(node, ast.RenameStmt) and node.renameType == ObjectType.OBJECT_TABLE and node.relation:
            if self.is_new_table(node.relation):
                self.new_tables.add(qualified(node.relation.schemaname, node.newname))
        elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
            self._observe_alter_table(node, line)

    def _set_type(self, table: ast.RangeVar, column: str, type_name: ast.TypeName) -> None:
        # Under the name as written and the bare one, so `app.users` and `users` find each other.
        text = type_text(type_name)
        self.column_types[f"{table.relname}.{column}"] = text
        if table.schemaname:
            self.column_types[f"{rel_name(table)}.{column}"] = text

    def _observe_transaction(self, node: ast.TransactionStmt) -> None:
        kind = node.kind
        if kind in (TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START):
            self.explicit_transaction = True
        elif kind in (
            TransactionStmtKind.TRANS_STMT_COMMIT,
            TransactionStmtKind.TRANS_STMT_ROLLBACK,
            TransactionStmtKind.TRANS_STMT_PREPARE,
        ):
            # In a script Flyway runs in a transaction, COMMIT ends Flyway's transaction too, and the JDBC driver
            # (auto-commit off) opens a new one with the next statement: the script stays transactional, but what
            # the finished transaction held (locks, uncommitted enum values) is released.
            self.explicit_transaction = False
            self.not_valid_in_tx.clear()
            self.enum_values_in_tx.clear()

    def _observe_alter_table(self, node: ast.AlterTableStmt, line: int) -> None:
        bare = node.relation.relname
        for cmd in node.cmds or ():
            sub = cmd.subtype
            if sub == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                if cmd.def_.typeName is not None:
                    self._set_type(node.relation, cmd.def_.colname, cmd.def_.typeName)
            elif sub == AlterTableType.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef):
                self._set_type(node.relation, cmd.name, cmd.def_.typeName)
            elif sub == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                con = cmd.def_
                column = null_checked_column(con.raw_expr) if con.contype == ConstrType.CONSTR_CHECK else None
                if con.skip_validation and con.conname:
                    if self.in_transaction:
                        self.not_valid_in_tx[con.conname] = line
                    if column:
                        self.null_checks[con.conname] = (bare, column)
                elif column:
                    self.proven_not_null.add((bare, column))
            elif sub == AlterTableType.AT_ValidateConstraint:
                checked = self.null_checks.get(cmd.name) or self.context.null_checks.get(cmd.name)
                if checked:
                    self.proven_not_null.add(checked)
