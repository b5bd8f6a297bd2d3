"""`ddl-cascade report`: the dashboard as a static page (`report --html DIR`), the problems as Markdown
(`report --format markdown`), and `report merge FILE…`, which joins the JSON documents of a sharded run into one;
`ddl-cascade serve`: the same page, live. The page is ddl_cascade.render.html, its input
ddl_cascade.render.snapshot, the Markdown ddl_cascade.render.problems, the server ddl_cascade.serve; the merge lives
in ddl_cascade.cascade.shards / merge."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from ddl_cascade.cli.app import CONTEXT_SETTINGS, app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt, load_config
from ddl_cascade.errors import UsageError

report_app = typer.Typer(name="report", invoke_without_command=True, add_completion=False,
                         pretty_exceptions_enable=False, context_settings=CONTEXT_SETTINGS)
app.add_typer(report_app, name="report")

DbOpt = Annotated[bool, typer.Option("--db", help="Also each child's database (as `status --db`); ignored with "
                                                  "--from.")]


@report_app.callback()
def report(
    ctx: typer.Context,
    html: Annotated[Optional[Path], typer.Option("--html", metavar="DIR", help="Write the dashboard, DIR/index.html "
                                                 "and DIR/status.json.")] = None,
    sources: Annotated[Optional[list[Path]], typer.Option(
        "--from", metavar="FILE", help="Render this saved `status --json` document (or a merged sharded one) instead "
        "of running status; repeat for each shard's document of one `status --shard K/N` run.")] = None,
    history: Annotated[Optional[Path], typer.Option("--history", metavar="DIR", help="A folder of earlier "
                                                    "status.json files (*.json): the trends.")] = None,
    format: Annotated[Optional[str], typer.Option("--format", metavar="markdown", help="`markdown`: print the "
                                                  "problems only, each with its fix (under 60,000 characters).")] = None,
    db: DbOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The dashboard of every child, channel and database: a self-contained page, or the problems as Markdown."""
    if ctx.invoked_subcommand is not None:
        return
    from ddl_cascade.render import snapshot

    if format is not None and format.lower() != "markdown":
        raise UsageError(f"--format {format!r} is not known; report prints `--format markdown` (or writes --html DIR).")
    if html is None and format is None:
        raise UsageError("say what to make: `ddl-cascade report --html DIR` (the page) or `--format markdown` "
                         "(the problems); `ddl-cascade report --help` lists the options.")
    trend = snapshot.history(history) if history is not None else []
    doc = snapshot.join(sources) if sources else snapshot.take(load_config(config), db=db)
    if html is not None:
        from ddl_cascade.render.html import page

        try:
            html.mkdir(parents=True, exist_ok=True)
            (html / "index.html").write_text(page(doc, trend, redacted=True), encoding="utf-8")
            (html / "status.json").write_text(jsonlib.dumps(doc, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write the dashboard into {html}: {exc.strerror or exc}.") from None
    if format is not None:
        from ddl_cascade.render.problems import markdown

        typer.echo(markdown(doc), nl=False)
    elif html is not None:
        typer.echo(f"wrote {html / 'index.html'} and {html / 'status.json'} "
                   f"({len(doc['children'])} children)", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="The address to listen on (only this machine by default).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="The port (0: any free one).")] = 8765,
    interval: Annotated[float, typer.Option("--interval", min=1, help="Seconds between two refreshes of the "
                                            "snapshot (after one ends, the next waits this long).")] = 60,
    db: Annotated[bool, typer.Option("--db", help="Also each child's database (as `status --db`).")] = False,
    config: ConfigOpt = None,
) -> None:
    """The dashboard, live: refreshes the snapshot in the background and the page redraws itself (read-only)."""
    from ddl_cascade.render import snapshot
    from ddl_cascade.serve import serve as run

    cfg = load_config(config)
    run(lambda: snapshot.take(cfg, db=db), host, port, interval,
        ready=lambda url: typer.echo(f"serving the dashboard on {url} (Ctrl-C stops)", err=True))


@report_app.command()
def merge(
    files: Annotated[list[Path], typer.Argument(help="The shards' JSON documents (`--json` of sync, status, reset "
                                                "or full run with --shard K/N).", show_default=False)],
    json: JsonOpt = False,
) -> None:
    """Join the JSON documents of a sharded run into one, as an unsharded run would have printed it (with the list
    of shards); refuses a missing or duplicated shard (exit 2); exits 1 when a shard's run failed."""
    from ddl_cascade.cascade.merge import merge as run_merge
    from ddl_cascade.cascade.results import FullReport, StatusReport
    from ddl_cascade.cli.common import emit_json
    from ddl_cascade.forge.actions import append_step_summary
    from ddl_cascade.redact import redact
    from ddl_cascade.render import cascade as render
    from ddl_cascade.render.json import SCHEMA_VERSION

    merged = run_merge(files, SCHEMA_VERSION)
    report = merged.report
    # The merge job's summary is the run's: the shards' jobs each wrote only their part.
    if isinstance(report, StatusReport):
        append_step_summary(redact(render.status_summary(report)))
    elif isinstance(report, FullReport):
        append_step_summary(redact(render.cascade_summary(report.sync, "full", whole=report)))
    else:
        append_step_summary(redact(render.cascade_summary(report, merged.command)))
    if json:
        emit_json(report)
    elif isinstance(report, StatusReport):
        render.status(report)
        if any(child.database is not None for child in report.children):
            from ddl_cascade.render import db as render_db

            render_db.databases(report)
    elif isinstance(report, FullReport):
        typer.echo(report.publish.summary())
        typer.echo(render.parts(report)[0])
        render.cascade(report.sync)
    else:
        render.cascade(report, verb="reset" if merged.command == "reset" else "sync")
    raise typer.Exit(0 if merged.ok else 1)
