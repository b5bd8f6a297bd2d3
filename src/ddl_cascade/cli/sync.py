"""`ddl-cascade sync`, `full`, `status` and `reset`: render the cascade's plans and results (logic lives in
ddl_cascade.sync, .status and .reset)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Annotated, Iterator, Optional

import typer

from ddl_cascade.cli import app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt, emit_json, load_config

NamesArg = Annotated[Optional[list[str]], typer.Argument(help="Children to act on (default: all).", show_default=False)]
TagOpt = Annotated[Optional[str], typer.Option("--tag", help="Only children carrying this tag.")]
JobsOpt = Annotated[Optional[int], typer.Option("--jobs", min=1, help="Children processed at once (default: min(8, children)).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the plan; push nothing and move no ref in the parent or any child.")]


def _short(oid: str | None) -> str:
    return oid[:12] if oid else "-"


@contextmanager
def _progress(total: int, label: str, enabled: bool) -> Iterator:
    """A Rich progress bar on stderr when it is a terminal; yields the per-child callback (or None)."""
    if not enabled or total == 0 or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ddl_cascade.cli.common import stderr_console

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr_console(), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda _item: progress.advance(task)


def _count(cfg, names, tag) -> int:
    return len(cfg.select(names or [], tag))


# ---------------------------------------------------------------------------------------------------------------------
# status


def render_status(report) -> None:
    from rich.table import Table

    from ddl_cascade.cli.common import stdout_console
    from ddl_cascade.cascade.state import State

    console = stdout_console()
    console.print("STATUS CHECK", style="bold", highlight=False)
    console.print(f"Delivery branch {report.delivery_branch} at {_short(report.delivery_tip)}, "
                  f"delivered tree {report.delivered_tree}", highlight=False, soft_wrap=True)
    table = Table(box=None, show_header=True, pad_edge=False)
    for column in ("child", "state", "tree", "detail"):
        table.add_column(column, no_wrap=column != "detail", overflow="fold")
    from rich.text import Text

    marks = {State.IN_SYNC: Text("✓ in_sync", "green"), State.BEHIND: Text("behind", "yellow"),
             State.DRIFTED: Text("✗ drifted", "red"), State.NOT_ADDED: Text("not_added", "yellow"),
             State.UNREACHABLE: Text("✗ unreachable", "red")}
    for child in report.children:
        detail = ""
        if child.state is State.BEHIND:
            detail = f"{child.behind_by} delivery commit(s) behind"
        elif child.state is State.DRIFTED:
            paths = child.changed_paths or []
            detail = f"{len(paths)} changed: " + ", ".join(paths[:5]) + (" …" if len(paths) > 5 else "")
        elif child.state is State.UNREACHABLE:
            detail = child.error or ""
        table.add_row(Text(child.name), marks[child.state], _short(child.tree), Text(detail))
    console.print(table, highlight=False)
    total = len(report.children)
    bad = sum(1 for c in report.children if c.state is not State.IN_SYNC)
    if bad == 0:
        console.print("The child is in sync." if total == 1 else f"All {total} children in sync.", highlight=False)
    else:
        console.print(f"{bad} of {total} children not in sync.", highlight=False)


@app.command()
def status(
    names: NamesArg = None,
    tag: TagOpt = None,
    jobs: JobsOpt = None,
    db: Annotated[bool, typer.Option("--db", help="Also each child's database state (children with an environment).")] = False,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """The state of each child (in_sync, behind, drifted, not_added, unreachable) by tree ids; changes nothing."""
    from ddl_cascade.cascade.state import status as run_status

    cfg = load_config(config)
    with _progress(_count(cfg, names, tag), "status", not json) as tick:
        report = run_status(cfg, names or [], tag, jobs=jobs, on_child=tick)
    databases_ok = True
    if db:  # issue 5: each child's flyway_schema_history compared with its migrations
        from ddl_cascade.db.report import attach

        databases_ok = attach(cfg, report)
    if json:
        emit_json({"delivery_branch": report.delivery_branch, "delivery_tip": report.delivery_tip,
                   "delivered_tree": report.delivered_tree, "ok": report.ok and databases_ok,
                   "children": report.children})
    else:
        render_status(report)
        if db:
            from ddl_cascade.cli.db import render_databases

            render_databases(report)
    raise typer.Exit(0 if report.ok and databases_ok else 1)


# ---------------------------------------------------------------------------------------------------------------------
# sync / full


def sync_data(report) -> dict:
    return {"delivery_branch": report.delivery_branch, "delivery_tip": report.delivery_tip,
            "delivered_tree": report.delivered_tree, "dry_run": report.dry_run, "ok": report.ok,
            "children": report.children}


def render_sync(report, verb: str = "sync") -> None:
    from ddl_cascade.cli.common import stdout_console
    from ddl_cascade.sync import Result

    console = stdout_console()
    head = "PLAN (dry run: nothing pushed)" if report.dry_run else verb.upper()
    console.print(f"{head}: delivery branch {report.delivery_branch} at {_short(report.delivery_tip)}, "
                  f"delivered tree {_short(report.delivered_tree)}", highlight=False, soft_wrap=True)
    width = max((len(c.name) for c in report.children), default=4)
    for child in report.children:
        state = child.state.value + (f" {child.behind_by}" if child.behind_by else "")
        if child.result is Result.UPDATED and report.dry_run:
            what = f"would push {_short(child.old)} -> {_short(child.planned)}"
        elif child.result is Result.UPDATED:
            what = f"updated {_short(child.old)} -> {_short(child.commit)}"
        elif child.result is Result.UNCHANGED:
            what = f"unchanged at {_short(child.commit)}"
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


def _run_sync(cfg, names, tag, dry_run, jobs, json):
    from ddl_cascade.sync import sync as run_sync

    with _progress(_count(cfg, names, tag), "sync", not json) as tick:
        return run_sync(cfg, names or [], tag, dry_run=dry_run, jobs=jobs, on_child=tick)


@app.command()
def sync(
    names: NamesArg = None,
    tag: TagOpt = None,
    dry_run: DryRunOpt = False,
    jobs: JobsOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Bring children up to the delivery branch with subtree-shaped commits; drifted children are refused."""
    cfg = load_config(config)
    report = _run_sync(cfg, names, tag, dry_run, jobs, json)
    if json:
        emit_json(sync_data(report))
    else:
        render_sync(report)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def full(
    names: NamesArg = None,
    tag: TagOpt = None,
    jobs: JobsOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Publish (update the delivery branch), then sync the children."""
    from ddl_cascade.lock import parent_lock
    from ddl_cascade.cascade.publish import publish as run_publish

    cfg = load_config(config)
    with parent_lock(cfg):
        published = run_publish(cfg)
        if not json:
            summary = getattr(published, "summary", None)
            typer.echo(summary() if callable(summary) else str(published))
        report = _run_sync(cfg, names, tag, False, jobs, json)
    if json:
        emit_json({"publish": published, "sync": sync_data(report)})
    else:
        render_sync(report)
    raise typer.Exit(0 if report.ok else 1)


# ---------------------------------------------------------------------------------------------------------------------
# reset


@app.command()
def reset(
    names: NamesArg = None,
    all_: Annotated[bool, typer.Option("--all", help="Reset every child.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Really push (without it: print the plan only).")] = False,
    jobs: JobsOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Nuclear: set a child's read-only folder to the delivered tree, after pushing a backup branch of its tip."""
    from ddl_cascade.errors import CascadeError
    from ddl_cascade.reset import reset as run_reset

    if not names and not all_:
        raise CascadeError("name the children to reset, or pass --all.")
    if names and all_:
        raise CascadeError("give child names or --all, not both.")
    cfg = load_config(config)
    with _progress(_count(cfg, names, None), "reset", not json) as tick:
        report = run_reset(cfg, names or [], apply=yes, jobs=jobs, on_child=tick)
    if json:
        emit_json(sync_data(report))
    else:
        render_sync(report, verb="reset")
        if report.dry_run:
            typer.echo("Nothing pushed. Run again with --yes to reset.")
        for child in report.children:
            if child.backup:
                typer.echo(f"  backup of {child.name}: branch {child.backup} at {_short(child.old)}")
    raise typer.Exit(0 if report.ok else 1)
