'''Dropping a database from a migration destroys it for every environment the migration reaches.

A shared migration runs against every child's databases. `DROP DATABASE` also cannot run inside a transaction,
so Flyway runs the whole script in auto-commit mode.

**Anti-pattern**

```sql
DROP DATABASE analytics;
```

**Fix**

```sql
-- Drop databases by hand, per environment, outside the migrations; in a migration, revoke access instead:
REVOKE CONNECT ON DATABASE analytics FROM PUBLIC;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast

from ddl_cascade.validate.lint._scope import Hit, Scope
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo("lint/drop-database", Severity.WARNING, "DROP DATABASE in a migration destroys it everywhere")


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if isinstance(node, ast.DropdbStmt):
        yield Hit(
            f"drops database {node.dbname} in every environment this migration runs in",
            "drop databases by hand per environment, outside the migrations",
        )
