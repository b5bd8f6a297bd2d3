'''Adding a FOREIGN KEY or CHECK constraint without NOT VALID scans the table while blocking writes.

The constraint is checked against every existing row while the lock is held: ACCESS EXCLUSIVE for CHECK, SHARE ROW
EXCLUSIVE on both tables for FOREIGN KEY. With `NOT VALID` the constraint applies to new rows at once and is
checked for old rows by `VALIDATE CONSTRAINT`, which lets reads and writes go on. Validating in the same
transaction that added it gains nothing, since the first lock is held until commit, so validate in a later
migration. A CHECK written on `ADD COLUMN`, or a REFERENCES on `ADD COLUMN` with a default, scans the same way
(a REFERENCES on a new column without a default does not: every value is NULL). Tables created in the same
migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
```

**Fix**

```sql
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
-- next migration:
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast.enums import AlterTableType, ConstrType

from ddl_cascade.validate.lint._ast import added_columns, added_constraints, alter_table_cmds, constraints_of, loc
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/constraint-missing-not-valid",
    Severity.WARNING,
    "FOREIGN KEY or CHECK added without NOT VALID blocks writes during a full scan",
)

_KINDS = {ConstrType.CONSTR_FOREIGN: "foreign key", ConstrType.CONSTR_CHECK: "check constraint"}


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    for table, con in added_constraints(node):
        kind = _KINDS.get(con.contype)
        if kind is None or con.skip_validation or scope.is_new_table(table):
            continue
        name = f" {con.conname}" if con.conname else ""
        yield Hit(
            f"adds {kind}{name} to table {rel_name(table)} without NOT VALID: existing rows are checked while "
            "writes are blocked",
            "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration",
            loc(con),
        )
    for table, column in added_columns(node):
        if scope.is_new_table(table):
            continue
        scanned = constraints_of(column, ConstrType.CONSTR_CHECK)
        if constraints_of(column, ConstrType.CONSTR_DEFAULT):
            scanned += constraints_of(column, ConstrType.CONSTR_FOREIGN)
        for con in scanned:
            yield Hit(
                f"adds column {column.colname} to table {rel_name(table)} with a {_KINDS[con.contype]}: existing rows "
                "are checked while reads and writes are blocked",
                "add the column alone, then ADD CONSTRAINT ... NOT VALID and VALIDATE CONSTRAINT in a later migration",
                loc(con),
            )
    for table, cmd in alter_table_cmds(node, AlterTableType.AT_ValidateConstraint):
        if cmd.name in scope.not_valid_in_tx and scope.in_transaction:
            yield Hit(
                f"validates constraint {cmd.name} of table {rel_name(table)} in the same transaction that added it "
                f"NOT VALID (line {scope.not_valid_in_tx[cmd.name]}): the lock from the ADD is still held",
                "move VALIDATE CONSTRAINT to a later migration",
            )
