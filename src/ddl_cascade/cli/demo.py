"""`ddl-cascade demo [DIR]`: build the seed's playground and cascade it through two channels (logic in
ddl_cascade.demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ddl_cascade.cli.app import app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt, emit_json


@app.command()
def demo(
    directory: Annotated[Optional[Path], typer.Argument(help="Where to build it (default: a new temporary folder).",
                                                        show_default=False)] = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Build a playground (a parent, four bare children on channels dev and prod, V1-V4), run validate, full and
    status, then cascade a V5 to the dev children, promote prod and sync it to the prod children."""
    import sys

    from ddl_cascade.demo import run

    # --config is accepted as on every command; the demo writes its own cascade.toml in the new parent.
    say = (lambda line: print(line, file=sys.stderr)) if json else (lambda line: print(line, flush=True))
    result = run(directory, say)
    if json:
        from ddl_cascade.demo import DemoReport

        emit_json(DemoReport.of(result))
    raise typer.Exit(0 if result.ok else 1)
