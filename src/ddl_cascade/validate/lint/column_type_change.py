'''Changing a column's type usually rewrites the table and its indexes under an ACCESS EXCLUSIVE lock.

Reads and writes wait for the whole rewrite, and deployed code may not handle the new type. Only binary-compatible
widenings are free: `varchar(n)` to a longer `varchar`, to `varchar` or to `text`; `text` to `varchar`;
`numeric(p,s)` to a larger precision with the same scale or to plain `numeric`; `varbit(n)` to a longer one;
`cidr` to `inet` (not arrays of them). Those are not reported when the column's current type is known (from an
earlier migration, or from the `column_types` the engine passes). Narrowing (`varchar(20)` to `varchar(10)`)
rewrites nothing but scans the whole table under the same lock. Tables created in the same migration are exempt.

**Anti-pattern**

```sql
ALTER TABLE events ALTER COLUMN id TYPE bigint;
```

**Fix**

```sql
-- Add a new column, keep it in step (trigger), backfill in batches, then switch over in a later release:
ALTER TABLE events ADD COLUMN id_new bigint;
```
'''

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pglast.enums import AlterTableType

from ddl_cascade.validate.lint._ast import alter_table_cmds
from ddl_cascade.validate.lint._scope import Hit, Scope, rel_name, type_text
from ddl_cascade.validate.model import RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

INFO = RuleInfo(
    "lint/column-type-change", Severity.WARNING, "ALTER COLUMN TYPE rewrites the table under an exclusive lock"
)

_TYPE = re.compile(r"^(?P<base>[^()\[\]]+)(?:\((?P<mods>[^)]*)\))?(?P<array>\[\])?$")
_TEXTUAL = {"varchar", "text"}


def _split(text: str) -> tuple[str, list[int], bool] | None:
    m = _TYPE.match(text)
    if not m:
        return None
    mods = [int(x) for x in (m["mods"] or "").split(",") if x.strip().lstrip("-").isdigit()]
    return m["base"], mods, bool(m["array"])


# Catalog names shown as people write them.
_DISPLAY = {"int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real", "float8": "double precision",
            "bool": "boolean", "bpchar": "char", "varchar": "varchar"}


def _display(text: str) -> str:
    base, sep, rest = text.partition("(")
    if not sep:
        base, sep, rest = text.partition("[")
    return _DISPLAY.get(base, base) + sep + rest


def is_free_widening(old: str, new: str) -> bool:
    """Whether changing a column from type `old` to `new` (as `type_text` spells them) needs no rewrite nor scan."""
    if old == new:
        return True
    a, b = _split(old), _split(new)
    if a is None or b is None or a[2] or b[2]:
        return False  # arrays are converted element by element: a rewrite even for varchar(10)[] -> varchar(20)[]
    (old_base, old_mods, _), (new_base, new_mods, _) = a, b
    if old_base in _TEXTUAL and new_base in _TEXTUAL:
        if new_base == "text" or not new_mods:
            return True
        return old_base == "varchar" and bool(old_mods) and new_mods[0] >= old_mods[0]
    if old_base == new_base == "numeric":
        if not new_mods:
            return True
        old_scale = old_mods[1] if len(old_mods) > 1 else 0
        new_scale = new_mods[1] if len(new_mods) > 1 else 0
        return bool(old_mods) and new_mods[0] >= old_mods[0] and new_scale == old_scale
    if old_base == new_base == "varbit":
        return not new_mods or (bool(old_mods) and new_mods[0] >= old_mods[0])
    return old_base == "cidr" and new_base == "inet"


def check(stmt: Any, node: Any, scope: Scope) -> Iterator[Hit]:
    for table, cmd in alter_table_cmds(node, AlterTableType.AT_AlterColumnType):
        if scope.is_new_table(table):
            continue
        new = type_text(cmd.def_.typeName)
        old = scope.column_type(rel_name(table), cmd.name)
        if old is not None and cmd.def_.raw_default is None and is_free_widening(old, new):
            continue
        change = f"from {_display(old)} to {_display(new)}" if old else f"to {_display(new)}"
        yield Hit(
            f"changes the type of column {cmd.name} of table {rel_name(table)} {change}: unless that is a "
            "binary-compatible widening, the table is rewritten (or at least scanned) while reads and writes are "
            "blocked",
            "add a new column, backfill it in batches, and switch readers and writers over in later releases",
        )
