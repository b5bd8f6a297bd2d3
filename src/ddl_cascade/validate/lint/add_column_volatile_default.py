'''Adding a column whose default is volatile (or generated, identity, serial) rewrites the whole table.

Since PostgreSQL 11 `ADD COLUMN ... DEFAULT <constant or stable expression>` only records the value in the catalog.
A volatile default (`gen_random_uuid()`, `random()`, `clock_timestamp()`, `nextval()` behind `serial`), an identity
column or a `GENERATED ... STORED` column must be computed for every row: the table and all its indexes are
rewritten under an ACCESS EXCLUSIVE lock that blocks reads and writes. Before PostgreSQL 11 any default rewrites.
Functions not known to be non-volatile are reported too. Tables created in the same migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();
```

**Fix**

```sql
-- Add the column without a default, set the default for new rows, then backfill old rows in batches:
ALTER TABLE orders ADD COLUMN public_id uuid;
ALTER TABLE orders ALTER COLUMN public_id SET DEFAULT gen_random_uuid();
UPDATE orders SET public_id = gen_random_uuid() WHERE public_id IS NULL AND id BETWEEN 1 AND 10000;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import ConstrType

from ddl_cascade.validate.lint._ast import added_columns, constraints_of, loc, walk
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/add-column-volatile-default",
    Severity.WARNING,
    "a column with a volatile, identity or generated default rewrites the table",
)

_SERIAL = {"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"}

# Built-in functions that are immutable or stable (pg_proc.provolatile <> 'v') and common in defaults.
_NON_VOLATILE = frozenset(
    """
    now transaction_timestamp statement_timestamp current_date current_time current_timestamp localtime
    localtimestamp current_user session_user current_schema current_database current_setting
    lower upper trim btrim ltrim rtrim length char_length substr substring replace concat concat_ws format
    left right lpad rpad md5 coalesce nullif greatest least abs round trunc floor ceil ceiling mod power
    date_trunc date_part extract make_date make_time make_timestamp make_timestamptz make_interval timezone
    to_char to_date to_timestamp to_number to_json to_jsonb json_build_object jsonb_build_object json_build_array
    jsonb_build_array array_to_string string_to_array array_length cardinality int4 int8 numeric text bool
    """.split()
)


def _volatile_call(expr: Any) -> str | None:
    """The first function in `expr` not known to be non-volatile, else None."""
    for sub in walk(expr):
        if isinstance(sub, ast.FuncCall):
            name = sub.funcname[-1].sval.lower()
            if name not in _NON_VOLATILE:
                return name
    return None


def _reason(column: ast.ColumnDef, pg_version: int) -> str | None:
    if column.typeName is not None and column.typeName.names[-1].sval in _SERIAL:
        return f"its type {column.typeName.names[-1].sval} takes its default from nextval()"
    if constraints_of(column, ConstrType.CONSTR_IDENTITY):
        return "identity values are generated for every existing row"
    if constraints_of(column, ConstrType.CONSTR_GENERATED):
        return "a stored generated column is computed for every existing row"
    for con in constraints_of(column, ConstrType.CONSTR_DEFAULT):
        if isinstance(con.raw_expr, ast.A_Const) and con.raw_expr.isnull:
            continue
        if pg_version < 11:
            return f"any DEFAULT rewrites the table before PostgreSQL 11 (target: {pg_version})"
        func = _volatile_call(con.raw_expr)
        if func:
            return f"its DEFAULT calls {func}(), which is volatile or not known to be stable"
    return None


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    for table, column in added_columns(node):
        if scope.is_new_table(table):
            continue
        reason = _reason(column, scope.pg_version)
        if reason:
            yield Hit(
                f"adds column {column.colname} to table {rel_name(table)}, rewriting the table under an ACCESS "
                f"EXCLUSIVE lock: {reason}",
                "add the column without a default, SET DEFAULT for new rows, then backfill existing rows in batches",
                loc(column),
            )
