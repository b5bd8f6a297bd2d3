"""`ddl-cascade validate`: the pull-request gate. Parses options, runs `validate.engine`, renders the report; with
`--comment`, keeps the pull request's one comment (a GitLab merge request's one note) current
(`forge.upsert_comment`); in GitHub Actions, appends the verdict to the job summary."""

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
        bool, typer.Option("--comment", help="In a GitHub Actions pull-request workflow (GITHUB_TOKEN, "
                                             "GITHUB_EVENT_PATH) or a GitLab CI merge-request pipeline (GITLAB_TOKEN "
                                             "or [forge] token_env): post the Markdown comment, or edit the one "
                                             "already there.")
    ] = False,
    schema_diff: Annotated[
        bool, typer.Option("--schema-diff", help="With --format markdown or --comment: add the \"Schema changes\" "
                                                 "section of `db diff` (replays both sides on throwaway PostgreSQL "
                                                 "servers).")
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
    if schema_diff and format != "markdown" and not comment:
        raise UsageError("--schema-diff adds a section to the Markdown comment: give it with --format markdown or "
                         "--comment.")
    if jobs is not None and jobs < 1:
        raise CascadeError(f"--jobs must be at least 1, not {jobs}.")
    cfg = load_config(config)
    from ddl_cascade.forge.actions import append_step_summary

    try:
        run = _review_run()
    except CascadeError:
        if comment:
            raise
        run = None  # only the comment's line links need it
    token = _comment_token(cfg, run) if comment else None
    report = run_validate(cfg, base=base, children=children, jobs=jobs)

    from ddl_cascade.redact import redact, redact_data

    if format != "github":  # github gets them as ::notice annotations instead
        for note in report.notes:
            print(f"ddl-cascade: note: {redact(note)}", file=sys.stderr)

    options = dict(history=report.base is not None, children=bool(report.children))
    if format == "markdown" or comment:
        links = render.Links(run.blob_url if run is not None else None, render.docs_url())
        sections = [_schema_section(cfg, base)] if schema_diff else []
        body = redact(render.markdown(report.findings, report.files, changed=report.changed, source=cfg.source.path,
                                      links=links, notes=report.notes, sections=sections, **options))
        import os

        for secret in {token, os.environ.get("GITHUB_TOKEN"), os.environ.get(cfg.forge.token_env or "GITLAB_TOKEN")}:
            if secret:  # never in the comment, whatever a finding quoted
                body = body.replace(secret, "***")
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
        _post(cfg, run, body, token)
    raise typer.Exit(report.exit_code)


def _schema_section(cfg, base: str | None) -> str:
    """`db diff`'s "Schema changes" section for the comment; when a side does not apply, a line that says so (the
    findings above tell why, and `ddl-cascade db diff` shows the failure)."""
    from ddl_cascade.db.diff import diff as run_diff
    from ddl_cascade.db.target import database_errors
    from ddl_cascade.render.db import schema_changes_markdown

    with database_errors(None):
        result = run_diff(cfg, base)
    if result.failure is not None:
        from ddl_cascade.render.validate import inert

        return f"#### Schema changes\n\n⚠️ Not computed: {inert(result.failure)}\n"
    return schema_changes_markdown(result.diff)


def _review_run():
    """The pull request this CI run is for: GitHub Actions' first, then GitLab CI's merge request; None for neither."""
    from ddl_cascade.forge.actions import pull_request_run
    from ddl_cascade.forge.gitlab_ci import merge_request_run

    return pull_request_run() or merge_request_run()


def _comment_token(cfg, run) -> str:
    """The token `--comment` writes with; one sentence when there is no pull request or no token."""
    import os

    if run is None:
        raise CascadeError("--comment needs a GitHub Actions pull_request workflow (GITHUB_EVENT_PATH naming an event "
                           "with pull_request.number) or a GitLab CI merge-request pipeline (CI_MERGE_REQUEST_IID), "
                           "and this run has neither.")
    if run.kind == "gitlab":
        name = cfg.forge.token_env or "GITLAB_TOKEN"
        if not os.environ.get(name):
            raise CascadeError(f"--comment in a GitLab merge-request pipeline needs a token that may write notes in "
                               f"the environment variable {name} ([forge] token_env): a project access token with "
                               "the api scope, as a masked CI/CD variable (CI_JOB_TOKEN cannot write notes).")
        return os.environ[name]
    if not os.environ.get("GITHUB_TOKEN"):
        raise CascadeError("--comment needs the workflow's token in the environment variable GITHUB_TOKEN "
                           "(env: GITHUB_TOKEN: ${{ github.token }}, with pull-requests: write).")
    return os.environ["GITHUB_TOKEN"]


def _post(cfg, run, body: str, token: str) -> None:
    """Create or edit the pull request's one validate comment (a GitLab merge request's one note); say which on
    stderr."""
    from ddl_cascade.forge import WriteBudget, upsert_comment
    from ddl_cascade.render.validate import MARKER

    budget = WriteBudget(cfg.forge.writes_per_second)
    if run.kind == "gitlab":
        from ddl_cascade.forge.gitlab import GitLab

        forge = GitLab(cfg, run.api_url, budget, token=token)
        where = f"merge request !{run.number}: note"
    else:
        from ddl_cascade.forge.github import GitHub

        forge = GitHub(cfg, run.api_url, budget, token=token)
        where = f"pull request #{run.number}: comment"
    what, kept = upsert_comment(forge, run.repository, run.number, MARKER, body)
    url = kept.url or f"{run.merge_request_url}#note_{kept.id}"  # GitLab's notes carry no URL of their own
    print(f"ddl-cascade: {where} {what}: {url}", file=sys.stderr)
