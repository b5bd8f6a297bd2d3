"""Text for people from the database results: each migration a run applied, a database's history as Flyway's
`info` prints it, and the DATABASES table of `status --db`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ddl_cascade.cascade.results import StatusReport
from ddl_cascade.db.engine import Applied
from ddl_cascade.db.info import Info


def applied_line(applied: Applied) -> str:
    """One line per migration a verify or migrate run applied."""
    version = applied.version if applied.version is not None else "R"
    mark = "ok" if applied.success else "FAILED"
    checksum = "" if applied.checksum is None else str(applied.checksum)
    return (f"  {version:<10} {applied.type:<12} {applied.script:<48} {checksum:>12} {applied.execution_time:>6} ms"
            f"  {mark}")


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
    print(f"{pending} pending, {len(info.failed)} failed, {len(info.mismatches)} checksum mismatches")


def databases(report: StatusReport) -> None:
    """`status --db`: one line per child that names an environment."""
    rows = [c for c in report.children if getattr(c, "database", None) is not None]
    console = Console(highlight=False)
    if not rows:
        console.print("No child names an environment: no database to check.")
        return
    table = Table(box=None, show_header=True, pad_edge=False, title="DATABASES", title_justify="left")
    for column in ("child", "environment", "version", "applied", "pending", "state"):
        table.add_column(column, no_wrap=column != "state", overflow="fold")
    for child in rows:
        d = child.database
        if d.error:
            state = f"✗ {d.error}"
        elif d.ok:
            state = "✓ ok"
        else:
            state = f"✗ {d.failed} failed, {d.mismatches} checksum mismatches"
        table.add_row(child.name, d.environment, d.current_version or "-", str(d.applied), str(d.pending), state)
    console.print(table)
