"""`ddl-cascade report`: the dashboard as a static page (`report --html DIR`), the problems as Markdown
(`report --format markdown`), and `report merge FILE…`, which joins the JSON documents of a sharded run into one.
The logic lives in ddl_cascade.report (the page) and ddl_cascade.cascade.shards / merge (the merge)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ddl_cascade.cli.app import CONTEXT_SETTINGS, app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt

report_app = typer.Typer(name="report", invoke_without_command=True, add_completion=False,
                         pretty_exceptions_enable=False, context_settings=CONTEXT_SETTINGS)
app.add_typer(report_app, name="report")


@report_app.callback()
def report(
    ctx: typer.Context,
    html: Annotated[Optional[Path], typer.Option("--html", metavar="DIR", help="Write the dashboard, DIR/index.html "
                                                 "and DIR/status.json.")] = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """The dashboard of every child, channel and database (issue 16)."""
    if ctx.invoked_subcommand is not None:
        return
    raise typer.Exit(2)  # issue 16 fills this in


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
