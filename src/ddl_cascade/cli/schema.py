"""`ddl-cascade schema COMMAND`: print the JSON Schema of a command's `--json` document (render/schema.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from ddl_cascade.cli.app import app


@app.command()
def schema(
    command: Annotated[list[str], typer.Argument(help="A command with --json: publish, status, sync, reset, full, "
                                                     "validate, db verify, db migrate, db status, demo, guard, doctor.")],
) -> None:
    """Print the JSON Schema (draft 2020-12) of COMMAND's --json document."""
    from ddl_cascade.render.schema import shipped

    typer.echo(shipped(" ".join(command)), nl=False)
