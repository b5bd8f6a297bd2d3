'''SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes.

PostgreSQL checks every row for NULLs while holding the strongest lock. Since PostgreSQL 12 it skips the scan when a
valid `CHECK (column IS NOT NULL)` constraint already proves it, and that check can be validated beforehand without
blocking writes. Tables created in the same migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
```

**Fix**

```sql
ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
-- next migration:
ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
-- next migration:
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users DROP CONSTRAINT users_email_not_null;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast.enums import AlterTableType

from ddl_cascade.validate.lint._ast import alter_table_cmds
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo("lint/set-not-null", Severity.WARNING, "SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock")


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    for table, cmd in alter_table_cmds(node, AlterTableType.AT_SetNotNull):
        if scope.is_new_table(table):
            continue
        if scope.pg_version >= 12 and scope.is_proven_not_null(table.relname, cmd.name):
            continue
        yield Hit(
            f"sets column {cmd.name} of table {rel_name(table)} NOT NULL: the whole table is scanned while reads "
            "and writes are blocked",
            "first add CHECK (column IS NOT NULL) NOT VALID and VALIDATE it in a later migration; then SET NOT NULL "
            "skips the scan (PostgreSQL 12+)",
        )
