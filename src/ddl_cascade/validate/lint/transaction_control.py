'''COMMIT or ROLLBACK inside a migration that Flyway runs in a transaction breaks the migration's atomicity.

Flyway already wraps each migration in one transaction and records it in `flyway_schema_history` in that same
transaction. A `COMMIT` in the script commits everything before it early: if a later statement fails, that part
stays applied while Flyway records the migration as not applied, and the next `migrate` re-runs it against a
half-changed database. (`BEGIN` inside Flyway's transaction only draws a warning from PostgreSQL; the `COMMIT`
that goes with it does the harm.) In a script Flyway runs without a transaction, explicit transactions are fine.

**Anti-pattern**

```sql
BEGIN;
ALTER TABLE orders ADD COLUMN note text;
COMMIT;
```

**Fix**

```sql
-- Flyway runs each migration in a transaction already; split work that must commit separately into migrations:
ALTER TABLE orders ADD COLUMN note text;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import TransactionStmtKind

from ddl_cascade.validate.lint._scope import Hit, Scope
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/transaction-control", Severity.WARNING, "COMMIT or ROLLBACK inside Flyway's transaction breaks atomicity"
)

_ENDS = {
    TransactionStmtKind.TRANS_STMT_COMMIT: "COMMIT",
    TransactionStmtKind.TRANS_STMT_ROLLBACK: "ROLLBACK",
    TransactionStmtKind.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
}


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    if not isinstance(node, ast.TransactionStmt) or not scope.script_in_transaction:
        return
    what = _ENDS.get(node.kind)
    if what is None:
        return
    yield Hit(
        f"{what} ends the transaction Flyway runs this migration in: if a later statement fails, the work before "
        "it stays while Flyway records the migration as not applied",
        "remove BEGIN/COMMIT (Flyway wraps each migration in a transaction) and split work that must commit "
        "separately into separate migrations",
    )
