'''Dropping a table breaks every deployed version that still uses it, and its data is gone.

`DROP TABLE` succeeds at once, but the application version still running during (and after a rollback of) the
deployment fails on its next query against the table, and the data cannot be brought back without a restore.
Tables created earlier in the same migration are exempt.

**Anti-pattern**

```sql
DROP TABLE legacy_orders;
```

**Fix**

```sql
-- First release: stop the application from using legacy_orders, keep the table.
-- A later release, once no deployed version reads it (and after a backup):
-- ddl-cascade: ignore lint/drop-table
DROP TABLE legacy_orders;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import ObjectType

from ddl_cascade.validate.lint._scope import Hit, Scope, names_to_str
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo("lint/drop-table", Severity.WARNING, "DROP TABLE breaks deployed code and loses data")


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.DropStmt) or node.removeType != ObjectType.OBJECT_TABLE:
        return
    for names in node.objects or ():
        table = names_to_str(names)
        if not scope.is_new_table(table):
            yield Hit(
                f"drops table {table}: code still using it fails and its data is lost",
                "stop using the table in one release, back it up, and drop it in a later release",
            )
