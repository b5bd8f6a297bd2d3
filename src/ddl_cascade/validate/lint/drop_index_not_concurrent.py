'''DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table.

The lock is short once granted, but while `DROP INDEX` waits for it (behind any long query on the table) every new
query on the table queues behind the `DROP`. `CONCURRENTLY` waits without blocking others. Like `CREATE INDEX
CONCURRENTLY` it must run outside a transaction, alone in its migration. Indexes created in the same migration are
exempt.

**Anti-pattern**

```sql
DROP INDEX orders_status_idx;
```

**Fix**

```sql
-- Alone in its own migration:
DROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;
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

INFO = RuleInfo(
    "lint/drop-index-not-concurrent", Severity.WARNING, "DROP INDEX without CONCURRENTLY locks the table"
)


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.DropStmt) or node.removeType != ObjectType.OBJECT_INDEX or node.concurrent:
        return
    for names in node.objects or ():
        index = names_to_str(names)
        if not scope.is_new_index(index):
            yield Hit(
                f"drops index {index} without CONCURRENTLY: queries on its table queue behind the lock",
                "use DROP INDEX CONCURRENTLY, alone in its own migration (Flyway then runs it outside a transaction)",
            )
