'''Dropping a schema drops everything in it with CASCADE, and breaks every deployed version that uses it.

`DROP SCHEMA ... CASCADE` silently removes every table, view, function and type in the schema, and objects elsewhere
that depend on them. Schemas created earlier in the same migration are exempt.

**Anti-pattern**

```sql
DROP SCHEMA reporting CASCADE;
```

**Fix**

```sql
-- Drop the objects one by one in a later release, once nothing uses them, then the empty schema:
-- ddl-cascade: ignore lint/drop-schema
DROP SCHEMA reporting RESTRICT;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import DropBehavior, ObjectType

from ddl_cascade.validate.lint._scope import Hit, Scope
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo("lint/drop-schema", Severity.WARNING, "DROP SCHEMA removes every object in it")


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.DropStmt) or node.removeType != ObjectType.OBJECT_SCHEMA:
        return
    cascade = node.behavior == DropBehavior.DROP_CASCADE
    for name in node.objects or ():
        schema = name.sval
        if not scope.is_new_schema(schema):
            what = "and, with CASCADE, every object in it" if cascade else "(it fails unless the schema is empty)"
            yield Hit(
                f"drops schema {schema} {what}",
                "drop the schema's objects one by one in a later release, once nothing uses them",
            )
