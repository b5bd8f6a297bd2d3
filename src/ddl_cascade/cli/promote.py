"""`ddl-cascade promote CHANNEL`: move a channel forward behind its gate (ddl_cascade.cascade.promote)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddl_cascade.cli.app import app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt, emit_json, load_config


@app.command()
def promote(
    channel: Annotated[str, typer.Argument(help="The channel to move (not the first: publish moves that one).")],
    to: Annotated[Optional[str], typer.Option("--to", help="A delivered commit at or behind the previous channel "
                                                           "(default: the previous channel's commit).")] = None,
    push: Annotated[bool, typer.Option("--push", help="Also push the channel branch to source.remote.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Skip the gate, and allow moving the channel backwards; "
                                                        "the skipped reasons are still reported.")] = False,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Move CHANNEL to the previous channel's commit once every child of the previous channel took it (in sync, and
    its database applied every migration); the next sync then updates CHANNEL's children."""
    from ddl_cascade.cascade.promote import promote as run_promote
    from ddl_cascade.db.report import promotion_problem
    from ddl_cascade.render import cascade as render

    cfg = load_config(config)
    result = run_promote(cfg, channel, to, push=push, force=force, database=promotion_problem)
    if json:
        emit_json(result)
    else:
        render.promotion(result)
    raise typer.Exit(0 if result.moved or result.old == result.new else 1)
