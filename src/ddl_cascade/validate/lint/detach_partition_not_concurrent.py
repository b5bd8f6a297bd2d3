'''DETACH PARTITION without CONCURRENTLY locks the whole partitioned table against reads and writes.

A plain `DETACH PARTITION` takes an ACCESS EXCLUSIVE lock on the parent, so every query on any partition waits.
Since PostgreSQL 14, `DETACH PARTITION ... CONCURRENTLY` needs only a SHARE UPDATE EXCLUSIVE lock. It cannot run
in a transaction and Flyway does not detect it as non-transactional, so its migration needs
`executeInTransaction=false` in a `.sql.conf` beside it (and the table must have no default partition).
Partitioned tables created in the same migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE measurements DETACH PARTITION measurements_2020;
```

**Fix**

```sql
-- Alone in its own migration, with executeInTransaction=false in its .sql.conf:
ALTER TABLE measurements DETACH PARTITION measurements_2020 CONCURRENTLY;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import AlterTableType

from ddl_cascade.validate.lint._ast import alter_table_cmds
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/detach-partition-not-concurrent",
    Severity.WARNING,
    "DETACH PARTITION without CONCURRENTLY locks the partitioned table",
)


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if scope.pg_version < 14:
        return
    for table, cmd in alter_table_cmds(node, AlterTableType.AT_DetachPartition):
        if not isinstance(cmd.def_, ast.PartitionCmd) or cmd.def_.concurrent or scope.is_new_table(table):
            continue
        yield Hit(
            f"detaches partition {rel_name(cmd.def_.name)} from table {rel_name(table)} without CONCURRENTLY: "
            f"every query on {rel_name(table)} waits for the lock",
            "use DETACH PARTITION ... CONCURRENTLY alone in its own migration, with executeInTransaction=false in "
            "its .sql.conf",
        )
