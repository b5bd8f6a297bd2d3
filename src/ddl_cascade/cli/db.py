"""`ddl-cascade db verify | migrate | status | repair | clean | diff`: the migrations against real PostgreSQL
databases.

Exit codes: 0 all good (`db diff`: whatever the changes); 1 a migration failed (`db diff`: on either side), migrate
refused (failed rows, checksum mismatches…), status found a checksum mismatch or a failed row, or the database
refused a repair or clean; 2 bad input (config, URL, credentials, unreachable server, clean while `cleanDisabled` is
not false) as one sentence.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Annotated, Optional

import typer

from ddl_cascade.cli.app import CONTEXT_SETTINGS, app
from ddl_cascade.cli.common import ConfigOpt, JsonOpt, emit_json, load_config
from ddl_cascade.errors import say
from ddl_cascade.render import db as render

db_app = typer.Typer(name="db", help="Run the migrations against PostgreSQL: verify, migrate, status, repair, clean; "
                                    "diff the schemas.",
                     no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                     context_settings=CONTEXT_SETTINGS)
app.add_typer(db_app, name="db")

ChildOpt = Annotated[Optional[str], typer.Option("--child", help="Add this child's own migrations, as its Flyway sees them.")]
UrlOpt = Annotated[Optional[str], typer.Option("--url", help="postgresql://user:password@host:port/database (${VAR} expanded).")]
EnvOpt = Annotated[Optional[str], typer.Option("--env", help="An environment named in cascade.toml [environments.NAME].")]


def _report_run(result, json: bool, what: str, against: str | None = None, verifying: bool = False) -> None:
    """Shared ending of verify and migrate: JSON or a summary, the failure on stderr, the exit code."""
    if json:
        # engine.Applied holds exactly the documented keys: version, description, type, script, checksum,
        # execution_time, success.
        from ddl_cascade.db.results import MigrationRun, VerifyRun

        emit_json(VerifyRun(against, result.migrations, result.ok) if verifying
                  else MigrationRun(result.migrations, result.ok))
    if result.refused:  # a list, not one sentence: said here
        say(f"refusing to {what}, as Flyway's migrate would:")
        for problem in result.refused:
            print("  " + problem.replace("\n", "\n  "), file=sys.stderr)
    if result.failure is not None:
        from ddl_cascade.errors import WorkFailed

        raise WorkFailed(f"migration failed: {result.failure}")
    if not result.ok:
        raise typer.Exit(1)


def _say_delivered(migration_set) -> None:
    """For `--child`: which delivered commit the child's read-only folder was taken from (its target)."""
    if migration_set.delivered is not None:
        typer.echo(migration_set.delivered.describe())


@db_app.command()
def verify(
    child: ChildOpt = None,
    url: Annotated[Optional[str], typer.Option(
        "--url", help="Use this server instead of a throwaway one (a new database is created and dropped).")] = None,
    against: Annotated[Optional[str], typer.Option(
        "--against", help="Start from the schema and history of this environment (a table environments.NAME of "
        "cascade.toml), copied read-only, and apply only what it has not applied.")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the database (and throwaway server) for inspection.")] = False,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Apply every migration, as Flyway would, to a fresh database on a throwaway PostgreSQL server."""
    from ddl_cascade.db import migrations as migration_sets
    from ddl_cascade.db import target as targets
    from ddl_cascade.db.verify import verify as run_verify
    from ddl_cascade.db.verify import verify_against

    if url is not None and against is not None:
        from ddl_cascade.errors import UsageError

        raise UsageError("give --url or --against, not both: --against verifies on a throwaway server.")
    cfg = load_config(config)
    live = targets.from_options(cfg, None, against) if against is not None else None
    migration_set = migration_sets.for_target(cfg, child, against)
    tgt = targets.from_url(url) if url is not None else None
    on_applied = None if json else lambda a: typer.echo(render.applied_line(a))
    if not json:
        where = tgt.display if tgt else "a throwaway PostgreSQL server"
        if live is not None:
            where += f", starting from the schema and history of environment '{against}' ({live.display})"
        typer.echo(f"Verifying {len(migration_set.migrations)} migrations of the {migration_set.origin} on {where}")
        _say_delivered(migration_set)
    with targets.database_errors(tgt):
        if live is not None:
            result = verify_against(migration_set, live, keep=keep, on_applied=on_applied)
        else:
            result = run_verify(migration_set, target=tgt, keep=keep, on_applied=on_applied)
    if not json:
        applied = sum(1 for m in result.migrations if m.success)
        if result.ok:
            typer.echo(f"ok: {applied} migrations applied on PostgreSQL {result.server_version}")
        if result.kept:
            typer.echo(f"kept: {result.kept}")
    elif result.kept:
        print(f"kept: {result.kept}", file=sys.stderr)
    _report_run(result, json, "verify", against, verifying=True)


@contextmanager
def _connected(tgt):
    from ddl_cascade.db import target as targets

    with targets.database_errors(tgt), targets.connect(tgt) as conn:
        yield conn


def _open(config, url: str | None, env: str | None, child: str | None):
    """(target, migration set, connection context) for migrate and status: the config, the migrations, the database."""
    from ddl_cascade.db import migrations as migration_sets
    from ddl_cascade.db import target as targets

    cfg = load_config(config)
    tgt = targets.from_options(cfg, url, env)
    return tgt, migration_sets.for_target(cfg, child, tgt.environment), _connected(tgt)


@db_app.command()
def migrate(
    url: UrlOpt = None,
    env: EnvOpt = None,
    child: ChildOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Apply the pending migrations to a real database, holding Flyway's advisory lock."""
    from ddl_cascade.db import engine

    tgt, migration_set, connection = _open(config, url, env, child)
    with connection as conn:
        if not json:
            typer.echo(f"Migrating {tgt.display} with the migrations of the {migration_set.origin}")
            _say_delivered(migration_set)
        result = engine.migrate(conn, migration_set, on_applied=None if json else lambda a: typer.echo(render.applied_line(a)),
                                environment=tgt.environment)
    if not json and result.ok:
        typer.echo(f"ok: {len(result.migrations)} migrations applied" if result.migrations
                   else "ok: the database is up to date")
    _report_run(result, json, f"migrate {tgt.display}")


@db_app.command()
def status(
    url: UrlOpt = None,
    env: EnvOpt = None,
    child: ChildOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Flyway's info for a database: each migration's state; checksum mismatches and failed rows flagged."""
    from ddl_cascade.db import engine

    tgt, migration_set, connection = _open(config, url, env, child)
    with connection as conn:
        try:
            info = engine.status(conn, migration_set, tgt.environment)
        except engine.ScriptFailed as exc:
            from ddl_cascade.errors import CascadeError

            raise CascadeError(str(exc.failure)) from None
    ok = not info.failed and not info.mismatches
    if json:
        from ddl_cascade.db.results import HistoryStatus

        emit_json(HistoryStatus(tgt.display, tgt.environment, info.migrations, info.problems, ok))
    else:
        _say_delivered(migration_set)
        render.history(tgt.display, info)
    if not ok:
        raise typer.Exit(1)


@db_app.command()
def repair(
    url: UrlOpt = None,
    env: EnvOpt = None,
    child: ChildOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Flyway's repair: remove failed rows, mark missing migrations deleted, align checksums with the files."""
    from ddl_cascade.db.repair import repair as run_repair

    tgt, migration_set, connection = _open(config, url, env, child)
    with connection as conn:
        result = run_repair(conn, migration_set, environment=tgt.environment)
    if json:
        from ddl_cascade.db.results import RepairReport

        emit_json(RepairReport(tgt.display, tgt.environment, result.table, result.removed, result.deleted,
                               result.aligned))
    else:
        typer.echo(f"Repairing {tgt.display} with the migrations of the {migration_set.origin}")
        _say_delivered(migration_set)
        for line in render.repair_lines(result):
            typer.echo(line)


@db_app.command()
def clean(
    url: UrlOpt = None,
    env: EnvOpt = None,
    child: ChildOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """Flyway's clean: drop every object in the configured schemas. Refused unless clean_disabled = false."""
    from ddl_cascade.db import clean as cleaning
    from ddl_cascade.errors import CascadeError

    tgt, migration_set, connection = _open(config, url, env, child)
    if migration_set.settings.clean_disabled:  # refused before connecting: nothing is touched
        raise CascadeError(cleaning.DISABLED)
    with connection as conn:
        result = cleaning.clean(conn, migration_set, environment=tgt.environment)
    if json:
        from ddl_cascade.db.results import CleanReport

        emit_json(CleanReport(tgt.display, tgt.environment, result.schemas_cleaned, result.schemas_dropped,
                              result.warnings))
    else:
        typer.echo(f"Cleaned {tgt.display}")
        _say_delivered(migration_set)
        for line in render.clean_lines(result):
            typer.echo(line)


DIFF_FORMATS = ("text", "json", "markdown")


@db_app.command()
def diff(
    base: Annotated[Optional[str], typer.Option(
        "--base", help="The revision whose migrations are the base (default: the delivery branch).")] = None,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="Output: text (default), json, markdown (the pull-request comment's section).")] = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """The schema changes the working tree's migrations make: both sides replayed on throwaway servers, compared."""
    from ddl_cascade.db.diff import diff as run_diff
    from ddl_cascade.db.target import database_errors
    from ddl_cascade.errors import UsageError, WorkFailed
    from ddl_cascade.render.terminal import write

    if json and format is not None:
        raise UsageError("give --json or --format, not both (--json is --format json).")
    chosen = "json" if json else (format or "text").lower()
    if chosen not in DIFF_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(DIFF_FORMATS)}, not {format!r}.")
    cfg = load_config(config)
    with database_errors(None):
        result = run_diff(cfg, base)
    if result.note is not None:
        say(f"note: {result.note}.")
    if result.failure is not None:
        raise WorkFailed(result.failure)
    if chosen == "json":
        emit_json(result.diff)
    elif chosen == "markdown":
        sys.stdout.write(render.schema_changes_markdown(result.diff))
    else:
        write(render.diff_lines(result))
