'''CREATE INDEX without CONCURRENTLY blocks every write to an existing table until the index is built.

A plain `CREATE INDEX` takes a SHARE lock: reads go on, but every `INSERT`, `UPDATE` and `DELETE` waits for the
whole build, minutes on a large table. `CONCURRENTLY` builds without blocking writes. It cannot run in a
transaction, so Flyway runs the script in auto-commit mode, and the statement must be alone in its migration (or
the migration needs `mixed = true`). Indexes on tables created in the same migration are exempt, and so is
`CREATE INDEX ... ON ONLY <partitioned table>`, which is instant: it is how an index on a partitioned table (where
CONCURRENTLY is not supported) is built partition by partition, then attached.

**Anti-pattern**

```sql
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
```

**Fix**

```sql
-- Alone in its own migration:
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast

from ddl_cascade.validate.lint._ast import loc
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/index-not-concurrent", Severity.WARNING, "CREATE INDEX without CONCURRENTLY blocks writes to the table"
)


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.IndexStmt) or node.concurrent or scope.is_new_table(node.relation):
        return
    if not node.relation.inh:  # ON ONLY: an invalid index on the partitioned parent alone, no scan
        return
    table = rel_name(node.relation)
    index = f"index {node.idxname}" if node.idxname else "an index"
    yield Hit(
        f"creates {index} on table {table} without CONCURRENTLY: writes to {table} are blocked during the build",
        "use CREATE INDEX CONCURRENTLY, alone in its own migration (Flyway then runs it outside a transaction)",
        loc(node.relation),
    )
