'''ALTER TYPE ... ADD VALUE fails in a transaction before PostgreSQL 12, and its value is unusable until commit.

Before PostgreSQL 12, `ADD VALUE` cannot run inside a transaction block at all, and Flyway runs migrations in one.
Since PostgreSQL 12 it can, but the new value cannot be used until the transaction commits: a later statement of the
same migration that uses it fails with `unsafe use of new value`, even when the type was created in that same
migration. (Before PostgreSQL 12, adding to a type created in the same transaction is allowed.)

**Anti-pattern**

```sql
ALTER TYPE order_status ADD VALUE 'archived';
UPDATE orders SET status = 'archived' WHERE closed_at < '2020-01-01';
```

**Fix**

```sql
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'archived';
-- next migration:
UPDATE orders SET status = 'archived' WHERE closed_at < '2020-01-01';
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast

from ddl_cascade.validate.lint._ast import loc, walk
from ddl_cascade.validate.lint._scope import Hit, Scope, names_to_str
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/enum-add-value", Severity.WARNING, "an enum value added in a transaction is unusable until commit"
)


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if isinstance(node, ast.AlterEnumStmt) and node.oldVal:  # RENAME VALUE: allowed anywhere
        return
    if isinstance(node, ast.AlterEnumStmt) and node.newVal and scope.in_transaction and scope.pg_version < 12:
        type_name = names_to_str(node.typeName)
        if type_name not in scope.new_enums:
            yield Hit(
                f"adds value '{node.newVal}' to enum {type_name} inside a transaction, which PostgreSQL "
                f"{scope.pg_version} refuses",
                "put ADD VALUE alone in its own migration with executeInTransaction=false in its .sql.conf",
            )
        return
    if not scope.enum_values_in_tx:
        return
    for sub in walk(node):
        if isinstance(sub, ast.A_Const) and isinstance(sub.val, ast.String):
            added = scope.enum_values_in_tx.get(sub.val.sval)
            if added:
                type_name, line = added
                yield Hit(
                    f"'{sub.val.sval}' looks like a use of the value added to enum {type_name} at line {line} in the "
                    "same transaction: PostgreSQL refuses such a use until that transaction commits",
                    "use the new value in a later migration than the one that adds it",
                    loc(sub),
                )
                return
