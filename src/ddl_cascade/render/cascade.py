"""Text for people: the status table and the sync/reset report, from the same result objects `--json` prints.

Output goes through Rich, so colour appears on a terminal only; nothing here runs git or decides anything.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ddl_cascade.cascade.results import CascadeReport, Result, StatusReport
from ddl_cascade.cascade.state import State


def short(oid: str | None) -> str:
    return oid[:12] if oid else "-"


def stdout_console() -> Console:
    return Console()


def status(report: StatusReport) -> None:
    console = stdout_console()
    console.print("STATUS CHECK", style="bold", highlight=False)
    console.print(f"Delivery branch {report.delivery_branch} at {short(report.delivery_tip)}, "
                  f"delivered tree {report.delivered_tree}", highlight=False, soft_wrap=True)
    table = Table(box=None, show_header=True, pad_edge=False)
    for column in ("child", "state", "tree", "detail"):
        table.add_column(column, no_wrap=column != "detail", overflow="fold")
    marks = {State.IN_SYNC: Text("✓ in_sync", "green"), State.AHEAD: Text("ahead", "yellow"), State.BEHIND: Text("behind", "yellow"),
             State.DRIFTED: Text("✗ drifted", "red"), State.NOT_ADDED: Text("not_added", "yellow"),
             State.UNREACHABLE: Text("✗ unreachable", "red")}
    for child in report.children:
        detail = ""
        if child.state is State.BEHIND:
            detail = f"{child.behind_by} delivery commit(s) behind"
        elif child.state is State.DRIFTED:
            paths = child.changed_paths or []
            detail = f"{len(paths)} changed: " + ", ".join(paths[:5]) + (" …" if len(paths) > 5 else "")
        elif child.state is State.UNREACHABLE or child.error:  # or ahead of a stale parent clone: why, what to do
            detail = child.error or ""
        table.add_row(Text(child.name), marks[child.state], short(child.tree), Text(detail))
    console.print(table, highlight=False)
    total = len(report.children)
    bad = sum(1 for c in report.children if c.state is not State.IN_SYNC)
    if bad == 0:
        console.print("The child is in sync." if total == 1 else f"All {total} children in sync.", highlight=False)
    else:
        console.print(f"{bad} of {total} children not in sync.", highlight=False)


def cascade(report: CascadeReport, verb: str = "sync") -> None:
    console = stdout_console()
    head = "PLAN (dry run: nothing pushed)" if report.dry_run else verb.upper()
    console.print(f"{head}: delivery branch {report.delivery_branch} at {short(report.delivery_tip)}, "
                  f"delivered tree {short(report.delivered_tree)}", highlight=False, soft_wrap=True)
    width = max((len(c.name) for c in report.children), default=4)
    for child in report.children:
        state = child.state.value + (f" {child.behind_by}" if child.behind_by else "")
        if child.result is Result.UPDATED and report.dry_run:
            what = f"would push {short(child.old)} -> {short(child.planned)}"
        elif child.result is Result.UPDATED:
            what = f"updated {short(child.old)} -> {short(child.commit)}"
        elif child.result is Result.UNCHANGED:
            what = f"unchanged at {short(child.commit)}"
        elif child.result is Result.REFUSED:
            what = f"refused: {child.error}"
        else:
            what = f"failed: {child.error}"
        line = f"  {child.name:<{width}}  {state:<14} {what}"
        console.print(line, highlight=False, markup=False, soft_wrap=True)
        if child.result is Result.UPDATED:
            for commit in child.commits:
                console.print(f"  {'':<{width}}  {'':<14}   + {commit.id[:12]} {commit.subject}",
                              highlight=False, markup=False, soft_wrap=True)
        if child.changed_paths and child.result is Result.REFUSED:
            for path in child.changed_paths[:10]:
                console.print(f"  {'':<{width}}  {'':<14}   changed: {path}", highlight=False, markup=False,
                              soft_wrap=True)
            if len(child.changed_paths) > 10:
                console.print(f"  {'':<{width}}  {'':<14}   … and {len(child.changed_paths) - 10} more",
                              highlight=False, markup=False)
    counts: dict[str, int] = {}
    for child in report.children:
        counts[child.result.value] = counts.get(child.result.value, 0) + 1
    summary = ", ".join(f"{n} {r}" for r, n in counts.items()) or "no children"
    console.print(("would be: " if report.dry_run else "") + summary, highlight=False)
