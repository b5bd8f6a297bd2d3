'''Adding a UNIQUE (or EXCLUDE) constraint builds its index while blocking reads and writes to the table.

`ADD CONSTRAINT ... UNIQUE` builds the index under an ACCESS EXCLUSIVE lock. Build the unique index
`CONCURRENTLY` first, in its own migration, then attach it with `UNIQUE USING INDEX`, which is instant. Tables
created in the same migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
```

**Fix**

```sql
CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
-- next migration:
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;
```
'''

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast.enums import ConstrType

from ddl_cascade.validate.lint._ast import added_columns, added_constraints, constraints_of, loc
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/add-unique-constraint", Severity.WARNING, "ADD UNIQUE builds an index while blocking reads and writes"
)

_KINDS = {ConstrType.CONSTR_UNIQUE: "UNIQUE", ConstrType.CONSTR_EXCLUSION: "EXCLUDE"}
_HINT = "CREATE UNIQUE INDEX CONCURRENTLY in its own migration, then ADD CONSTRAINT ... UNIQUE USING INDEX"


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    for table, con in added_constraints(node):
        kind = _KINDS.get(con.contype)
        if kind is None or con.indexname or scope.is_new_table(table):
            continue
        name = f" {con.conname}" if con.conname else ""
        yield Hit(
            f"adds {kind} constraint{name} to table {rel_name(table)}: its index is built while reads and writes "
            "are blocked",
            _HINT,
            loc(con),
        )
    for table, column in added_columns(node):
        if constraints_of(column, ConstrType.CONSTR_UNIQUE) and not scope.is_new_table(table):
            yield Hit(
                f"adds column {column.colname} UNIQUE to table {rel_name(table)}: its index is built while reads "
                "and writes are blocked",
                "add the column without UNIQUE, then " + _HINT,
                loc(column),
            )
