"""Text for people from the database results: each migration a run applied, a database's history as Flyway's
`info` prints it, the DATABASES table of `status --db` with the line that says why it exits 1, and `db diff`'s
schema changes as text and as the Markdown "Schema changes" section a pull-request comment includes."""

from __future__ import annotations

import difflib
import html
import re

from rich.console import Console
from rich.table import Table

from typing import TYPE_CHECKING

from ddl_cascade.cascade.results import StatusReport
from ddl_cascade.cascade.state import State

if TYPE_CHECKING:  # the database engine and the catalog load only when a db command runs (every CLI call's start-up)
    from ddl_cascade.db.catalog import SchemaChange
    from ddl_cascade.db.diff import DiffRun, SchemaDiff
    from ddl_cascade.db.engine import Applied
    from ddl_cascade.db.info import Info
from ddl_cascade.render.cascade import problems_first, status_rank
from ddl_cascade.render.terminal import Cell, colour, columns, glyph, plural, write


def applied_line(applied: Applied) -> str:
    """One line per migration a verify or migrate run applied."""
    version = applied.version if applied.version is not None else "R"
    mark = "ok" if applied.success else "FAILED"
    checksum = "" if applied.checksum is None else str(applied.checksum)
    return (f"  {version:<10} {applied.type:<12} {applied.script:<48} {checksum:>12} {applied.execution_time:>6} ms"
            f"  {mark}")


def _name(row) -> str:
    return f"version {row.version} ({row.description})" if row.version is not None else f"repeatable {row.description!r}"


def repair_lines(repair) -> list[str]:
    """`db repair`: one line per change, in the order made, then the closing line."""
    lines = [f"  removed failed migration: {_name(row)}, installed_rank {row.installed_rank}" for row in repair.removed]
    lines += [f"  marked deleted: {_name(d.migration)} (missing locally), DELETE row at installed_rank {d.marker_rank}"
              for d in repair.deleted]
    lines += [f"  aligned with its file: {_name(a.before)}: {', '.join(a.changes)}" for a in repair.aligned]
    if not repair.changed:
        lines.append(f"ok: {repair.table} needs no repair")
    else:
        lines.append(f"ok: repaired {repair.table}: {len(repair.removed)} removed, {len(repair.deleted)} marked "
                     f"deleted, {len(repair.aligned)} aligned")
    return lines


def clean_lines(result) -> list[str]:
    """`db clean`: each schema emptied or dropped, then the closing line."""
    lines = [f"  warning: {w}" for w in result.warnings]
    lines += [f"  cleaned schema {s}" for s in result.schemas_cleaned]
    lines += [f"  dropped schema {s} (created by Flyway)" for s in result.schemas_dropped]
    lines.append(f"ok: {plural(len(result.schemas_cleaned), 'schema')} cleaned, "
                 f"{len(result.schemas_dropped)} dropped")
    return lines


def history(display: str, info: Info) -> None:
    """`db status`: Flyway's info table for one database, its problems and a closing count."""
    table = Table(title=f"Schema history of {display}", title_justify="left")
    for column in ("Category", "Version", "Description", "Type", "Installed On", "State", "Checksum"):
        table.add_column(column)
    for m in info.migrations:
        category = "Versioned" if m.version is not None else ("" if m.type == "SCHEMA" else "Repeatable")
        checksum = "" if m.checksum is None else str(m.checksum)
        if m.checksum_mismatch:
            checksum += f" != file {m.resolved_checksum}"
        installed = (m.installed_on or "")[:19]  # to the second, as `flyway info` prints it
        table.add_row(category, m.version or "", m.description, m.type, installed, m.state, checksum)
    Console(highlight=False).print(table)
    for problem in info.problems:
        print("  " + problem.replace("\n", "\n  "))
    pending = sum(1 for m in info.migrations if m.state == "Pending")
    mismatches = plural(len(info.mismatches), "checksum mismatch", "checksum mismatches")
    print(f"{pending} pending, {len(info.failed)} failed, {mismatches}")


def _problems(d) -> str:
    """Why a database is not ok, in words: "1 failed migration, 2 checksum mismatches"."""
    if d.error:
        return d.error
    parts = ([plural(d.failed, "failed migration")] if d.failed else []) + \
        ([plural(d.mismatches, "checksum mismatch", "checksum mismatches")] if d.mismatches else []) + \
        ([f"{plural(len(d.drift), 'difference')} outside the migrations"] if d.drift else [])
    return ", ".join(parts) or "not ok"


def databases(report: StatusReport) -> None:
    """`status --db`: one line per child that names an environment, then one closing line that says why the command
    exits 1 (each child not in sync, each database not ok, and why), or that all is well."""
    rows = [c for c in report.children if getattr(c, "database", None) is not None]
    on = colour()
    lines: list[str] = []
    if not rows:
        lines.append("No child names an environment: no database to check.")
    else:
        checked = any(c.database.drift is not None for c in rows)  # status --db --drift
        table: list[list[Cell | str]] = [[Cell("DATABASES", "bold")],
                                         [Cell(h, "dim") for h in ("child", "environment", "version", "applied",
                                                                   "pending", *(["drift"] if checked else []),
                                                                   "state")]]
        for child in problems_first(rows, lambda c: 0 if not c.database.ok else 1):
            d = child.database
            state = Cell(f"{glyph('✓', 'ok')} ok", "green") if d.ok else Cell(f"{glyph('✗', 'x')} {_problems(d)}", "red")
            drift = [] if not checked else ["-" if d.drift is None else str(len(d.drift))]
            table.append([child.name, d.environment, d.current_version or "-", str(d.applied), str(d.pending), *drift,
                          state])
        lines += columns(table, on)
        for child in rows:  # what drifted, under the table
            for line in child.database.drift or ():
                lines.append(f"  {child.name} in {child.database.environment}: {line}")
    out_of_sync = [c for c in report.children if c.state is not State.IN_SYNC]
    not_ok = [c for c in rows if not c.database.ok]
    why = []
    if out_of_sync:
        why.append(f"{plural(len(out_of_sync), 'child', 'children')} not in sync ("
                   + ", ".join(f"{c.name}: {c.state.value}" for c in problems_first(out_of_sync, status_rank)) + ")")
    if not_ok:
        why.append(f"{plural(len(not_ok), 'database')} not ok ("
                   + ", ".join(f"{c.name} in {c.database.environment}: {_problems(c.database)}" for c in not_ok) + ")")
    if why:
        lines.append("Exit code 1: " + "; ".join(why) + ".")
    elif rows:
        lines.append("The database is ok." if len(rows) == 1 else f"All {len(rows)} databases ok.")
    write(lines)


# -- db diff ----------------------------------------------------------------------------------------------------------

SHORT = 80  # a property value longer than this, or on several lines (a function's body), is shown as a diff


def property_text(value, none: str = "null") -> str:
    """A catalog property as text (db diff's and db drift's lines)."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _short(value) -> bool:
    text = property_text(value)
    return len(text) <= SHORT and "\n" not in text


def _groups(changes: list[SchemaChange]) -> dict[str, list[tuple[SchemaChange, str | None]]]:
    """The changes as a reviewer reads them: the risky ones first (with why), then added, removed, changed."""
    groups: dict[str, list[tuple[SchemaChange, str | None]]] = {"risky": [], "added": [], "removed": [], "changed": []}
    for change in changes:
        why = _risk(change)
        groups["risky" if why else change.change].append((change, why))
    return groups


def _risk(change: SchemaChange) -> str | None:
    from ddl_cascade.db.diff import risk

    return risk(change)


def _what(change: SchemaChange) -> list[tuple[str, str, str]]:
    """(property, before, after) of each property a changed object changed, as text."""
    before, after = change.before or {}, change.after or {}
    return [(key, property_text(before.get(key)), property_text(after.get(key))) for key in change.changed_keys]


def _kind(kind: str) -> str:
    return kind.replace("_", " ")


def _grants(change: SchemaChange) -> str:
    """For a privilege or default privilege added or removed: what it grants (or takes away), else ""."""
    props = change.after if change.change == "added" else change.before
    if change.kind not in ("privilege", "default_privilege") or change.change == "changed" or not props:
        return ""
    parts = [", ".join(props.get("privileges") or [])]
    revoked = props.get("revoked from the built-in default") or []
    if revoked:
        parts.append("revoked from the built-in default: " + ", ".join(revoked))
    return "; ".join(p for p in parts if p)


def diff_lines(run: DiffRun) -> list[str]:
    """`db diff`: one line per change (risky first, marked `!`), the properties a changed object changed under it,
    then one closing line with the counts."""
    diff = run.diff
    on = colour()
    base = f"base {diff.base[:12]}" if diff.base else "an empty database (nothing delivered yet)"
    lines = [f"Schema changes from {base} to the {diff.head} ({run.base.migrations} and {run.head.migrations} "
             f"migrations replayed on PostgreSQL {diff.server_version})"]
    marks = {"risky": ("!", "red"), "added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow")}
    rows: list[list[Cell | str]] = []
    groups = _groups(diff.changes)
    for group, items in groups.items():
        mark, style = marks[group]
        for change, why in items:
            rows.append([Cell(mark, style), change.change, _kind(change.kind), change.name,
                         "; ".join(x for x in (why, _grants(change)) if x)])
            if change.change == "changed":
                for key, old, new in _what(change):
                    if _short(old) and _short(new):
                        rows.append([f"      {key}: {old} -> {new}"])
                    else:
                        rows.append([f"      {key} changed:"])
                        rows += [[f"        {line}"] for line in _unified(old, new, 20)]
    lines += [("  " + line) if line else line for line in columns(rows, on)]
    counts = [f"{len(items)} {group}" for group, items in groups.items() if items]
    lines.append(f"{plural(len(diff.changes), 'schema change')}" + (f": {', '.join(counts)}." if counts else "."))
    return lines


def _unified(old: str, new: str, most: int) -> list[str]:
    """The lines that differ (`-`/`+`), without the diff's header and context, at most `most` of them."""
    changed = [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return changed[:most] + ([f"… {len(changed) - most} more lines"] if len(changed) > most else [])


def _code(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > 200:
        text = text[:199] + "…"
    return "`" + text.replace("`", "'") + "`"


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _markdown_item(change: SchemaChange, why: str | None) -> list[str]:
    line = f"- {_kind(change.kind)} {_code(change.name)}"
    if why:
        line = f"- **{change.change} {_kind(change.kind)}** {_code(change.name)}: {why}"
    if change.change != "changed":
        grants = _grants(change)
        return [line + (f" ({_code(grants)})" if grants else "")]
    details: list[str] = []
    parts = []
    for key, old, new in _what(change):
        if _short(old) and _short(new):
            parts.append(f"{key} {_code(old)} → {_code(new)}")
            continue
        parts.append(f"{key} changed")
        body = "\n".join(difflib.unified_diff(old.splitlines(), new.splitlines(), "before", "after", lineterm=""))
        fence = _fence(body)
        details += [f"  <details><summary>{html.escape(key)}</summary>", "", f"  {fence}diff"]
        details += [f"  {x}" for x in body.splitlines()] + [f"  {fence}", "", "  </details>"]
    return [line + ": " + "; ".join(parts)] + details


def schema_changes_markdown(diff: SchemaDiff, *, limit: int = 20_000, heading: str = "####") -> str:
    """The "Schema changes" section (for the pull-request comment, or `db diff --format markdown`): the risky
    changes first, then added, removed and changed objects, each changed property before → after (long ones as a
    collapsed diff); at most `limit` characters, the rest counted."""
    groups = _groups(diff.changes)
    base = f"`{diff.base[:12]}`" if diff.base else "an empty database (nothing delivered yet)"
    counts = ", ".join(f"{len(items)} {group}" for group, items in groups.items() if items)
    out = [f"{heading} Schema changes", ""]
    if not diff.changes:
        out += [f"No schema change from {base} to the {diff.head}.", ""]
        return "\n".join(out) + "\n"
    out += [f"{plural(len(diff.changes), 'change')} from {base} to the {diff.head} ({counts}), "
            f"replayed on PostgreSQL {diff.server_version}.", ""]
    titles = {"risky": "⚠️ Risky", "added": "Added", "removed": "Removed", "changed": "Changed"}
    used = sum(len(x) + 1 for x in out)
    left = len(diff.changes)
    for group, items in groups.items():
        if not items:
            continue
        block = [f"**{titles[group]}** ({len(items)})", ""]
        for change, why in items:
            item = _markdown_item(change, why)
            cost = sum(len(x) + 1 for x in block + item)
            if used + cost + 200 > limit:
                break
            block += item
            left -= 1
        if len(block) > 2:
            out += block + [""]
            used += sum(len(x) + 1 for x in block) + 1
        if used + 200 > limit:
            break
    if left:
        out += [f"**{plural(left, 'more change')} not listed** (the section stays under {limit:,} characters); "
                "`ddl-cascade db diff` lists them all.", ""]
    return "\n".join(out) + "\n"
