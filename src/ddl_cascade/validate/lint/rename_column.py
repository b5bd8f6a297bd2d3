'''Renaming a column breaks every deployed version that still uses the old name.

The rename is instant, but the application version still running during the deployment (and any rollback) fails on
queries that name the column. Expand and contract instead: add the new column, write both, backfill, switch readers,
and drop the old column in a later release. Tables created in the same migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE users RENAME COLUMN name TO full_name;
```

**Fix**

```sql
ALTER TABLE users ADD COLUMN full_name text;
UPDATE users SET full_name = name WHERE full_name IS NULL;
-- keep both in step with a trigger until every deployed version uses full_name, then drop name
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import ObjectType

from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo("lint/rename-column", Severity.WARNING, "renaming a column breaks deployed code")


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.RenameStmt) or node.renameType != ObjectType.OBJECT_COLUMN:
        return
    if node.relationType != ObjectType.OBJECT_TABLE or node.relation is None or scope.is_new_table(node.relation):
        return
    yield Hit(
        f"renames column {node.subname} of table {rel_name(node.relation)} to {node.newname}: deployed code using "
        "the old name fails",
        "add the new column, keep both in step, backfill, and drop the old one in a later release",
    )
