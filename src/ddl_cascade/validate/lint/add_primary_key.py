'''Adding a PRIMARY KEY to an existing table builds its index (and checks NOT NULL) while blocking reads and writes.

`ADD PRIMARY KEY (...)` or `ADD COLUMN ... PRIMARY KEY` holds an ACCESS EXCLUSIVE lock for the whole index build.
Build the unique index `CONCURRENTLY` first, then attach it with `PRIMARY KEY USING INDEX`. Tables created in the
same migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE events ADD PRIMARY KEY (id);
```

**Fix**

```sql
CREATE UNIQUE INDEX CONCURRENTLY events_pkey ON events (id);
-- next migration (make id NOT NULL first, see lint/set-not-null, or this scans the table for NULLs):
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;
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
    "lint/add-primary-key", Severity.WARNING, "ADD PRIMARY KEY builds an index while blocking reads and writes"
)

_HINT = "CREATE UNIQUE INDEX CONCURRENTLY in its own migration, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX"


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    for table, con in added_constraints(node):
        if con.contype != ConstrType.CONSTR_PRIMARY or con.indexname or scope.is_new_table(table):
            continue
        yield Hit(
            f"adds a primary key to table {rel_name(table)}: its index is built while reads and writes are blocked",
            _HINT,
            loc(con),
        )
    for table, column in added_columns(node):
        if constraints_of(column, ConstrType.CONSTR_PRIMARY) and not scope.is_new_table(table):
            yield Hit(
                f"adds primary key column {column.colname} to table {rel_name(table)}: its index is built while "
                "reads and writes are blocked",
                "add the column, fill it, then " + _HINT,
                loc(column),
            )
