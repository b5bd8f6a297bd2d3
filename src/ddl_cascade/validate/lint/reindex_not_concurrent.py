'''REINDEX without CONCURRENTLY blocks writes to the table (and reads that use the index) while it rebuilds.

Since PostgreSQL 12, `REINDEX ... CONCURRENTLY` rebuilds without those locks. Flyway does not detect it as
non-transactional, so its migration also needs `executeInTransaction=false` in a `.sql.conf` file beside it.

**Anti-pattern**

```sql
REINDEX INDEX orders_customer_id_idx;
```

**Fix**

```sql
-- Alone in its own migration, with executeInTransaction=false in its .sql.conf:
REINDEX INDEX CONCURRENTLY orders_customer_id_idx;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import ReindexObjectType

from ddl_cascade.validate.lint._ast import has_option
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo("lint/reindex-not-concurrent", Severity.WARNING, "REINDEX without CONCURRENTLY blocks writes")

_KINDS = {
    ReindexObjectType.REINDEX_OBJECT_INDEX: "index",
    ReindexObjectType.REINDEX_OBJECT_TABLE: "table",
    ReindexObjectType.REINDEX_OBJECT_SCHEMA: "schema",
    ReindexObjectType.REINDEX_OBJECT_DATABASE: "database",
}


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.ReindexStmt) or scope.pg_version < 12 or has_option(node.params, "concurrently"):
        return
    kind = _KINDS.get(node.kind)
    if kind is None:  # REINDEX SYSTEM: no CONCURRENTLY form exists
        return
    name = rel_name(node.relation) if node.relation is not None else (node.name or "(the current one)")
    if (kind == "table" and scope.is_new_table(name)) or (kind == "index" and scope.is_new_index(name)):
        return
    yield Hit(
        f"reindexes {kind} {name} without CONCURRENTLY: writes are blocked while it rebuilds",
        "use REINDEX ... CONCURRENTLY in its own migration with executeInTransaction=false in its .sql.conf",
    )
