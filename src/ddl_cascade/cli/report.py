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
    """Join the JSON documents of a sharded run into one, as an unsharded run would have printed it (issue 14)."""
    raise typer.Exit(2)  # issue 14 fills this in
