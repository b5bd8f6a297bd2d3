"""`ddl-cascade publish`: move the delivery branch to the split of the source folder."""

from __future__ import annotations

from typing import Annotated

import typer

from ddl_cascade.cli.app import app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt, emit_json, load_config


@app.command()
def publish(
    push: Annotated[bool, typer.Option("--push", help="Also push the delivery branch to source.remote.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Allow a delivery branch update that is not a fast-forward.")] = False,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Update the delivery branch from the source branch (the same commits `git subtree split` makes)."""
    from ddl_cascade.cascade.publish import publish as run_publish

    cfg = load_config(config)
    result = run_publish(cfg, push=push, force=force)
    if json:
        emit_json(result)
    else:
        typer.echo(result.summary())
