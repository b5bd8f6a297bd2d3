'''TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock; with CASCADE it empties referencing tables too.

In a migration that runs in every environment, `TRUNCATE` empties production tables as well as test ones, and
`CASCADE` silently extends that to every table with a foreign key to it. Tables created in the same migration are
exempt, and so is reloading reference data: a table refilled (`INSERT INTO` or `COPY ... FROM`) later in the same
migration, typical of repeatable migrations, is not reported unless `CASCADE` empties others too.

**Anti-pattern**

```sql
TRUNCATE audit_log CASCADE;
```

**Fix**

```sql
-- Delete only what must go, in batches, without touching other tables:
DELETE FROM audit_log WHERE created_at < now() - interval '90 days';
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import DropBehavior

from ddl_cascade.validate.lint._ast import loc
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo("lint/truncate", Severity.WARNING, "TRUNCATE empties a table in every environment")


def _refilled(table: ast.RangeVar, scope: Scope) -> bool:
    for later in scope.later_nodes():
        if isinstance(later, ast.InsertStmt) or (isinstance(later, ast.CopyStmt) and later.is_from):
            if later.relation is not None and later.relation.relname == table.relname:
                return True
    return False


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.TruncateStmt):
        return
    cascade = node.behavior == DropBehavior.DROP_CASCADE
    for table in node.relations or ():
        if scope.is_new_table(table) or (not cascade and _refilled(table, scope)):
            continue
        extra = ", and with CASCADE every table that references it" if cascade else ""
        yield Hit(
            f"truncates table {rel_name(table)} in every environment{extra}",
            "delete only the rows that must go (DELETE ... WHERE), without CASCADE",
            loc(table),
        )
