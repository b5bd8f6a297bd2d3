'''Adding a NOT NULL column without a default fails on every table that already has rows.

PostgreSQL must fill the new column for existing rows; without a `DEFAULT` it fills NULL, which violates `NOT NULL`,
so the migration works on an empty development database and fails in production. Tables created in the same
migration are exempt; identity, serial and generated columns fill themselves.

**Anti-pattern**

```sql
ALTER TABLE users ADD COLUMN country_code text NOT NULL;
```

**Fix**

```sql
-- A constant default needs no table rewrite since PostgreSQL 11:
ALTER TABLE users ADD COLUMN country_code text NOT NULL DEFAULT 'NL';
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import ConstrType

from ddl_cascade.validate.lint._ast import added_columns, constraints_of, loc
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/add-column-not-null-without-default",
    Severity.WARNING,
    "a NOT NULL column without a default fails on tables with rows",
)

_SELF_FILLING = (ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED)
_SERIAL = {"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"}


def _has_real_default(column: ast.ColumnDef) -> bool:
    for con in constraints_of(column, ConstrType.CONSTR_DEFAULT):
        if not (isinstance(con.raw_expr, ast.A_Const) and con.raw_expr.isnull):  # DEFAULT NULL fills nothing
            return True
    return False


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    for table, column in added_columns(node):
        required = column.is_not_null or constraints_of(column, ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY)
        if not required or scope.is_new_table(table) or _has_real_default(column):
            continue
        if constraints_of(column, *_SELF_FILLING) or column.typeName.names[-1].sval in _SERIAL:
            continue
        yield Hit(
            f"adds NOT NULL column {column.colname} to table {rel_name(table)} without a default: "
            "it fails if the table has rows",
            "add a DEFAULT, or add the column nullable, backfill it, then SET NOT NULL (see lint/set-not-null)",
            loc(column),
        )
