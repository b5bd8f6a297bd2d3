'''Renaming a table breaks every deployed version that still uses the old name.

The rename is instant, but the application version still running during the deployment (and any rollback) fails on
its next query. Keeping a view under the old name (a simple view is updatable, so reads and writes keep working)
bridges the gap: a rename followed in the same migration by `CREATE VIEW <old name>` is not reported, nor is a
swap that creates a new table under the old name. Tables created in the same migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE customers RENAME TO clients;
```

**Fix**

```sql
ALTER TABLE customers RENAME TO clients;
CREATE VIEW customers AS SELECT * FROM clients;
-- drop the view in a later release, once no deployed version uses the old name
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

INFO = RuleInfo("lint/rename-table", Severity.WARNING, "renaming a table breaks deployed code")


def _old_name_kept(old: ast.RangeVar, scope: Scope) -> bool:
    for later in scope.later_nodes():
        if isinstance(later, ast.ViewStmt) and later.view.relname == old.relname:
            return True
        if isinstance(later, ast.CreateStmt) and later.relation.relname == old.relname:
            return True
        if isinstance(later, ast.CreateTableAsStmt) and later.into.rel.relname == old.relname:
            return True
    return False


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.RenameStmt) or node.renameType != ObjectType.OBJECT_TABLE or node.relation is None:
        return
    if scope.is_new_table(node.relation) or _old_name_kept(node.relation, scope):
        return
    yield Hit(
        f"renames table {rel_name(node.relation)} to {node.newname}: deployed code using the old name fails",
        f"keep a view under the old name (CREATE VIEW {node.relation.relname} AS SELECT * FROM {node.newname}) "
        "until no deployed version uses it",
    )
