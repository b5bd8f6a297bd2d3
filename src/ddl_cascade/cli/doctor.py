"""`ddl-cascade doctor [NAME...]`: can we reach and push to each child, and which credential answered
(logic in ddl_cascade.cascade.doctor)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddl_cascade.cli.app import app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt, emit_json, load_config


@app.command()
def doctor(
    names: Annotated[Optional[list[str]], typer.Argument(help="Children to check (default: all).",
                                                         show_default=False)] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", min=1, help="Children checked at once "
                                                                      "(default: min(8, children)).")] = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Check each child: reachable, pushable (dry run; nothing is written to any ref), which credential answered,
    and the forge token's or App's permissions. Every problem is one sentence with its fix."""
    from ddl_cascade.cascade.doctor import doctor as run_doctor
    from ddl_cascade.render import doctor as render

    cfg = load_config(config)
    report = run_doctor(cfg, names or [], jobs=jobs)
    if json:
        emit_json(report)
    else:
        render.doctor(report)
    raise typer.Exit(0 if report.ok else 1)
