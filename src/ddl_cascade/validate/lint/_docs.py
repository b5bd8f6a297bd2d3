"""Render docs/lint-rules.md from the rule modules' docstrings, so the documentation cannot drift from the code.

`python -m ddl_cascade.validate.lint._docs > docs/lint-rules.md` regenerates it; a test checks it is up to date.
"""

from __future__ import annotations

import inspect
import re

from ddl_cascade.validate.lint import MODULES

_EXAMPLE = re.compile(r"\*\*(Anti-pattern|Fix)\*\*\s*\n\s*```sql\n(.*?)```", re.DOTALL)


def examples(module: object) -> dict[str, str]:
    """{"Anti-pattern": sql, "Fix": sql} from a rule module's docstring."""
    return {kind: sql for kind, sql in _EXAMPLE.findall(inspect.cleandoc(module.__doc__ or ""))}


def render() -> str:
    out = [
        "# `lint/...` rules of `ddl-cascade validate`",
        "",
        "<!-- Generated from src/ddl_cascade/validate/lint/*.py by "
        "`python -m ddl_cascade.validate.lint._docs > docs/lint-rules.md`; edit the docstrings, not this file. -->",
        "",
        "Warnings about PostgreSQL DDL that is valid but risky on a live database: locks that block reads or writes,",
        "table rewrites, statements that fail once a table has rows, and changes that break the application version",
        "still running. They run on migrations that are new or changed against the delivery branch.",
        "",
        "- Whatever a migration does to a table it created itself (or that an earlier new migration of the same",
        "  change created) is not reported: the table is empty and nobody else uses it yet.",
        "- Set a rule's severity in cascade.toml: `[validate.rules]` `\"lint/drop-table\" = \"error\"` (or `\"off\"`).",
        "- Silence one statement with `-- ddl-cascade: ignore lint/<rule> <reason>` just above it.",
        "- A fix that spans several migrations marks each split with a `-- next migration` comment line.",
        "",
        "| Rule | Default | Summary |",
        "|---|---|---|",
    ]
    for m in MODULES:
        anchor = m.INFO.id.replace("/", "")
        out.append(f"| [`{m.INFO.id}`](#{anchor}) | {m.INFO.severity.value} | {m.INFO.summary} |")
    for m in MODULES:
        out += ["", f"## {m.INFO.id}", "", f"*{m.INFO.summary}* (default: {m.INFO.severity.value})", ""]
        out.append(inspect.cleandoc(m.__doc__ or ""))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
