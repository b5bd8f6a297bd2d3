"""`ddl-cascade validate`: the pull-request gate. Parses options, runs `validate.engine`, renders the report."""

from __future__ import annotations

import json as json_mod
import sys
from typing import Annotated, Optional

import typer

from ddl_cascade.cli.app import app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt, load_config
from ddl_cascade.errors import CascadeError, UsageError


@app.command()
def validate(
    base: Annotated[
        Optional[str],
        typer.Option("--base", help="What counts as already delivered (default: the delivery branch, if it exists)."),
    ] = None,
    children: Annotated[
        bool, typer.Option("--children", help="Also fetch every child and check its own migrations for collisions.")
    ] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", help="Children fetched in parallel (with --children).")] = None,
    format: Annotated[
        Optional[str],
        typer.Option("--format", help="Output: text (default), json, github (workflow annotations) or sarif (2.1.0); "
                                      "any case.", show_default=False),
    ] = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Check the parent's migrations: Flyway naming, versions, delivered history, SQL syntax, risky DDL."""
    from ddl_cascade.render import validate as render
    from ddl_cascade.validate.engine import all_docs, all_rules
    from ddl_cascade.validate.engine import validate as run_validate

    if json and format is not None:
        raise UsageError("give --json or --format, not both (--json is --format json) "
                         "(see 'ddl-cascade validate --help')")
    format = "json" if json else (format or "text").lower()
    if format not in render.FORMATS:
        raise CascadeError(f"--format must be one of {', '.join(render.FORMATS)}, not {format!r}.")
    if jobs is not None and jobs < 1:
        raise CascadeError(f"--jobs must be at least 1, not {jobs}.")
    cfg = load_config(config)
    report = run_validate(cfg, base=base, children=children, jobs=jobs)

    from ddl_cascade.redact import redact, redact_data

    if format != "github":  # github gets them as ::notice annotations instead
        for note in report.notes:
            print(f"ddl-cascade: note: {redact(note)}", file=sys.stderr)

    if format == "json":
        from ddl_cascade.render.json import emit
        from ddl_cascade.validate.model import ValidateReport

        emit(ValidateReport(report.findings, report.files))
    elif format == "sarif":
        log = render.sarif(report.findings, all_rules(), all_docs())
        sys.stdout.write(json_mod.dumps(redact_data(log), indent=2, ensure_ascii=False) + "\n")
    elif format == "github":
        notices = "".join(f"::notice title=ddl-cascade validate::{render.escape_data(n)}\n" for n in report.notes)
        sys.stdout.write(redact(notices + render.github(report.findings, report.files)))
    else:
        from ddl_cascade.render.terminal import colour

        sys.stdout.write(redact(render.text(report.findings, report.files, colour=colour())))
    sys.stdout.flush()
    raise typer.Exit(report.exit_code)
