"""`ddl-cascade validate`: the pull-request gate. Parses options, runs `validate.engine`, renders the report; with
`--comment`, keeps the pull request's one comment current (`forge.upsert_comment`); in GitHub Actions, appends the
verdict to the job summary."""

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
        typer.Option("--format", help="Output: text (default), json, github (workflow annotations), sarif (2.1.0) "
                                      "or markdown (the pull-request comment); any case.", show_default=False),
    ] = None,
    comment: Annotated[
        bool, typer.Option("--comment", help="In a GitHub Actions pull-request workflow: post the Markdown comment, or "
                                             "edit the one already there (GITHUB_TOKEN, GITHUB_EVENT_PATH).")
    ] = False,
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
    from ddl_cascade.forge.actions import append_step_summary, pull_request_run

    try:
        run = pull_request_run()
    except CascadeError:
        if comment:
            raise
        run = None  # only the comment's line links need it
    if comment:
        import os

        if run is None:
            raise CascadeError("--comment needs a GitHub Actions pull_request workflow (GITHUB_EVENT_PATH naming an "
                               "event with pull_request.number), and this run has none.")
        if not os.environ.get("GITHUB_TOKEN"):
            raise CascadeError("--comment needs the workflow's token in the environment variable GITHUB_TOKEN "
                               "(env: GITHUB_TOKEN: ${{ github.token }}, with pull-requests: write).")
    report = run_validate(cfg, base=base, children=children, jobs=jobs)

    from ddl_cascade.redact import redact, redact_data

    if format != "github":  # github gets them as ::notice annotations instead
        for note in report.notes:
            print(f"ddl-cascade: note: {redact(note)}", file=sys.stderr)

    options = dict(history=report.base is not None, children=bool(report.children))
    if format == "markdown" or comment:
        links = render.Links(run.blob_url if run is not None else None, render.docs_url())
        body = redact(render.markdown(report.findings, report.files, changed=report.changed, source=cfg.source.path,
                                      links=links, notes=report.notes, **options))
        import os

        if os.environ.get("GITHUB_TOKEN"):  # never in the comment, whatever a finding quoted
            body = body.replace(os.environ["GITHUB_TOKEN"], "***")
    append_step_summary(render.step_summary(report.findings, report.files, **options))

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
    elif format == "markdown":
        sys.stdout.write(body)
    else:
        from ddl_cascade.render.terminal import colour

        sys.stdout.write(redact(render.text(report.findings, report.files, colour=colour())))
    sys.stdout.flush()
    if comment:
        _post(cfg, run, body)
    raise typer.Exit(report.exit_code)


def _post(cfg, run, body: str) -> None:
    """Create or edit the pull request's one validate comment; say which on stderr."""
    import os

    from ddl_cascade.forge import WriteBudget, upsert_comment
    from ddl_cascade.forge.github import GitHub
    from ddl_cascade.render.validate import MARKER

    forge = GitHub(cfg, run.api_url, WriteBudget(cfg.forge.writes_per_second), token=os.environ["GITHUB_TOKEN"])
    what, kept = upsert_comment(forge, run.repository, run.number, MARKER, body)
    print(f"ddl-cascade: pull request #{run.number}: comment {what}: {kept.url}", file=sys.stderr)
