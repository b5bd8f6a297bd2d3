'''A CONCURRENTLY statement in a script that runs inside a transaction fails.

`CREATE/DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY` and `DETACH PARTITION ... CONCURRENTLY` cannot run in a
transaction block. Flyway runs a script outside a transaction only when it detects one of its non-transactional
statements (`CREATE/DROP INDEX CONCURRENTLY` among them, but not `REINDEX ... CONCURRENTLY` nor `DETACH PARTITION
... CONCURRENTLY`), or when the script's `.sql.conf` says `executeInTransaction=false`. An explicit `BEGIN` in the
script also puts what follows in a transaction.

**Anti-pattern**

```sql
BEGIN;
CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);
COMMIT;
```

**Fix**

```sql
-- Alone in its own migration, no BEGIN/COMMIT; Flyway runs it in auto-commit mode:
CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import AlterTableType

from ddl_cascade.validate.lint._ast import alter_table_cmds, has_option
from ddl_cascade.validate.lint._scope import Hit, Scope
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/concurrently-in-transaction", Severity.WARNING, "CONCURRENTLY in a script that runs in a transaction fails"
)


def _concurrent_statement(node: Any) -> str | None:
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if isinstance(node, ast.ReindexStmt) and has_option(node.params, "concurrently"):
        return "REINDEX CONCURRENTLY"
    for _, cmd in alter_table_cmds(node, AlterTableType.AT_DetachPartition):
        if isinstance(cmd.def_, ast.PartitionCmd) and cmd.def_.concurrent:
            return "DETACH PARTITION CONCURRENTLY"
    return None


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    what = _concurrent_statement(node)
    if what is None or not scope.in_transaction:
        return
    if scope.explicit_transaction:
        why = "it follows a BEGIN in the script"
        hint = "remove BEGIN/COMMIT around it and put it alone in its own migration"
    else:
        why = "Flyway runs this script in a transaction"
        hint = "put it alone in its own migration, with executeInTransaction=false in a .sql.conf beside it"
    yield Hit(f"{what} cannot run inside a transaction block, and {why}", hint)
