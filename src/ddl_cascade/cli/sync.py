"""`ddl-cascade sync`, `full`, `status` and `reset`: parse, call ddl_cascade.cascade.commands, render the result."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Annotated, Iterator, Optional

import typer

from ddl_cascade.cli.app import app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt, emit_json, load_config

NamesArg = Annotated[Optional[list[str]], typer.Argument(help="Children to act on (default: all).", show_default=False)]
TagOpt = Annotated[Optional[str], typer.Option("--tag", help="Only children carrying this tag.")]
JobsOpt = Annotated[Optional[int], typer.Option("--jobs", min=1, help="Children processed at once (default: min(8, children)).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the plan; push nothing and move no ref in the parent or any child.")]
ShardOpt = Annotated[Optional[str], typer.Option("--shard", metavar="K/N", help="Only shard K of N (1-based) of the "
                                                 "selected children, by a hash of each child's name (a CI matrix "
                                                 "job); `report merge` joins the shards' --json documents.")]


def _shard(text: str | None):
    """The parsed `--shard`, or None; a malformed one is a usage error (exit 2) before any work."""
    if text is None:
        return None
    from ddl_cascade.cascade.shards import Shard

    return Shard.parse(text)


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


def _count(cfg, names, tag, shard=None) -> int:
    """How many children the run selects; checks the selection before any work (a name or tag matching nothing
    is a usage error)."""
    from ddl_cascade.cascade.plan import Selection

    return len(Selection(tuple(names or ()), tag, shard).children(cfg))


# ---------------------------------------------------------------------------------------------------------------------
# status


@app.command()
def status(
    names: NamesArg = None,
    tag: TagOpt = None,
    jobs: JobsOpt = None,
    db: Annotated[bool, typer.Option("--db", help="Also each child's database state (children with an environment).")] = False,
    shard: ShardOpt = None,
    drift: Annotated[bool, typer.Option("--drift", help="With --db: also each database's schema drift (slower: "
                                        "rebuilds each child's schema on a throwaway server).")] = False,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """The state of each child (in_sync, ahead, behind, drifted, not_added, unreachable) by tree ids; changes nothing."""
    db = db or drift
    from ddl_cascade.cascade.commands import status as run_status
    from ddl_cascade.render import cascade as render

    part = _shard(shard)
    cfg = load_config(config)
    with _progress(_count(cfg, names, tag, part), "status", not json) as tick:
        report = run_status(cfg, names or [], tag, jobs=jobs, on_child=tick, shard=part)
    if db:  # issue 5: each child's flyway_schema_history compared with its migrations
        from ddl_cascade.db.report import attach

        report.ok = attach(cfg, report, drift=drift) and report.ok
    from ddl_cascade.forge.actions import append_step_summary
    from ddl_cascade.redact import redact

    append_step_summary(redact(render.status_summary(report)))
    if json:
        emit_json(report)
    else:
        render.status(report)
        if db:
            from ddl_cascade.render import db as render_db

            render_db.databases(report)
    raise typer.Exit(0 if report.ok else 1)


# ---------------------------------------------------------------------------------------------------------------------
# sync / full


def _run_sync(cfg, names, tag, dry_run, jobs, json, reopen=False, shard=None):
    from ddl_cascade.cascade.commands import sync as run_sync

    with _progress(_count(cfg, names, tag, shard), "sync", not json) as tick:
        return run_sync(cfg, names or [], tag, dry_run=dry_run, jobs=jobs, on_child=tick, reopen=reopen, shard=shard)


ReopenOpt = Annotated[bool, typer.Option("--reopen", help="Reopen a pull request that was closed without merging "
                                                          "(children with delivery = \"pull-request\").")]


@app.command()
def sync(
    names: NamesArg = None,
    tag: TagOpt = None,
    dry_run: DryRunOpt = False,
    jobs: JobsOpt = None,
    reopen: ReopenOpt = False,
    shard: ShardOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Bring children up to the delivery branch with subtree-shaped commits (pushed, or as a pull request); drifted
    children are refused."""
    from ddl_cascade.render import cascade as render

    part = _shard(shard)
    cfg = load_config(config)
    report = _run_sync(cfg, names, tag, dry_run, jobs, json, reopen, part)
    if json:
        emit_json(report)
    else:
        render.cascade(report)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def full(
    names: NamesArg = None,
    tag: TagOpt = None,
    jobs: JobsOpt = None,
    push: Annotated[bool, typer.Option("--push", help="Also push the delivery branch to source.remote, before syncing.")] = False,
    shard: Annotated[Optional[str], typer.Option("--shard", metavar="K/N", help="Only shard K of N of the children; "
                                                 "publish only checks that the delivery branch on source.remote is "
                                                 "this clone's split, and pushes nothing.")] = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Publish (update the delivery branch; with --push, push it to source.remote), then sync the children."""
    from ddl_cascade.cascade.commands import full as run_full
    from ddl_cascade.render import cascade as render

    part = _shard(shard)

    def published_line(published) -> None:
        line = published.summary()
        if part is not None:
            line += f"; the same commit as {cfg.source.remote}'s (checked, not pushed)"
        typer.echo(line)

    cfg = load_config(config)
    with _progress(_count(cfg, names, tag, part), "sync", not json) as tick:
        report = run_full(cfg, names or [], tag, jobs=jobs, on_child=tick, push=push, shard=part,
                          on_published=None if json else published_line)
    if json:
        emit_json(report)
    else:
        render.cascade(report.sync)
    raise typer.Exit(0 if report.sync.ok else 1)


# ---------------------------------------------------------------------------------------------------------------------
# reset


@app.command()
def reset(
    names: NamesArg = None,
    all_: Annotated[bool, typer.Option("--all", help="Reset every child.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Really push (without it: print the plan only).")] = False,
    jobs: JobsOpt = None,
    shard: ShardOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Nuclear: set a child's read-only folder to the delivered tree, after pushing a backup branch of its tip.
    `--all --shard K/N` resets the children of shard K among all children."""
    from ddl_cascade.cascade.commands import reset as run_reset
    from ddl_cascade.errors import CascadeError
    from ddl_cascade.render import cascade as render

    if not names and not all_:
        raise CascadeError("name the children to reset, or pass --all.")
    if names and all_:
        raise CascadeError("give child names or --all, not both.")
    part = _shard(shard)
    cfg = load_config(config)
    with _progress(_count(cfg, names, None, part), "reset", not json) as tick:
        report = run_reset(cfg, names or [], apply=yes, jobs=jobs, on_child=tick, shard=part)
    if json:
        emit_json(report)
    else:
        render.cascade(report, verb="reset")
        if report.dry_run:
            typer.echo("Nothing pushed. Run again with --yes to reset.")
        for child in report.children:
            if child.backup:
                typer.echo(f"  backup of {child.name}: branch {child.backup} at {render.short(child.old)}")
    raise typer.Exit(0 if report.ok else 1)
