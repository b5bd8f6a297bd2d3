'''VACUUM FULL and CLUSTER rewrite the whole table under an ACCESS EXCLUSIVE lock.

Both block reads and writes for the whole rewrite, and need room for a second copy of the table. Plain `VACUUM`
(which also cannot run in a transaction) does not lock out readers or writers; `pg_repack` reclaims space online.

**Anti-pattern**

```sql
VACUUM FULL orders;
```

**Fix**

```sql
-- Reclaim space online with the pg_repack extension, outside the migrations; in a migration at most:
ANALYZE orders;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast

from ddl_cascade.validate.lint._ast import has_option
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/vacuum-full-or-cluster", Severity.WARNING, "VACUUM FULL and CLUSTER lock the table while rewriting it"
)

_HINT = "reclaim space online with pg_repack, outside the migrations"


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd and has_option(node.options, "full"):
        tables = [rel_name(r.relation) for r in node.rels or () if r.relation is not None]
        if tables and all(scope.is_new_table(t) for t in tables):
            return
        what = "tables " + ", ".join(tables) if tables else "every table in the database"
        yield Hit(f"VACUUM FULL rewrites {what} while reads and writes are blocked", _HINT)
    elif isinstance(node, ast.ClusterStmt):
        if node.relation is not None and scope.is_new_table(node.relation):
            return
        what = f"table {rel_name(node.relation)}" if node.relation is not None else "every clustered table"
        yield Hit(f"CLUSTER rewrites {what} while reads and writes are blocked", _HINT)
