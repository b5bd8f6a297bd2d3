'''Dropping a column breaks every deployed version that still reads or writes it, and its data is gone.

The application version still running during the deployment (and any rollback) fails on queries that name the
column, including `INSERT`s that set it. Columns of tables created in the same migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE users DROP COLUMN middle_name;
```

**Fix**

```sql
-- First release: stop reading the column, and let writers omit it.
ALTER TABLE users ALTER COLUMN middle_name DROP NOT NULL;
-- A later release, once no deployed version uses it:
-- ddl-cascade: ignore lint/drop-column
ALTER TABLE users DROP COLUMN middle_name;
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

INFO = RuleInfo("lint/drop-column", Severity.WARNING, "DROP COLUMN breaks deployed code and loses data")


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    for table, cmd in alter_table_cmds(node, AlterTableType.AT_DropColumn):
        if not scope.is_new_table(table):
            yield Hit(
                f"drops column {cmd.name} of table {rel_name(table)}: code still using it fails and its data is lost",
                "stop using the column in one release (make it nullable), then drop it in a later release",
            )
