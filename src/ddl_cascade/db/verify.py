"""`db verify`: replay the migrations on a database nobody cares about, and throw it away.

Without a URL the database lives on a private server started for this run (`db.server`); with `--url` it is a new
database created on that server (`ddl_cascade_verify_<random>`) and dropped afterwards. `keep` leaves either in
place for inspection. The run itself is exactly `db migrate` (`engine.migrate`) on an empty database, with the same
Flyway settings (schemas created, the history table and default schema they name), so what verify proves is what
migrate will do.

`verify_against` (`db verify --against ENV`) starts from a live environment instead of an empty database: its
schema (`pg_dump --schema-only`, owners and grants kept) and its history rows are copied to the throwaway server
(`db.live` reads them, read-only), then the same migrate applies only what that environment has not applied. So a
pull request is proven on the schema that environment really has, objects made by hand included. The migrations
run as the throwaway server's superuser with the environment's search_path (its `"$user"` spelled out as the
environment's user), as migrate on that environment would resolve names.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from ddl_cascade.db import engine, server
from ddl_cascade.db.migrations import MigrationSet
from ddl_cascade.db.target import Target, connect


@dataclass
class VerifyResult:
    migrations: list[engine.Applied] = field(default_factory=list)
    failure: engine.Failure | None = None
    refused: list[str] = field(default_factory=list)
    server_version: str = ""
    kept: str | None = None  # where the kept database is, when --keep

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.refused


def _run(conn, migration_set: MigrationSet, result: VerifyResult, on_applied) -> None:
    result.server_version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    migrated = engine.migrate(conn, migration_set, on_applied=on_applied)
    result.migrations, result.failure, result.refused = migrated.migrations, migrated.failure, migrated.refused


def verify_against(migration_set: MigrationSet, live_target: Target, *, keep: bool = False,
                   on_applied=None) -> VerifyResult:
    """Copy the live environment's schema and history to a throwaway database, then migrate it (see the module
    docstring). Never writes to the environment."""
    from ddl_cascade.db import live

    result = VerifyResult()
    bindir = server.find_binaries()
    pg_dump, pg_restore = live.tool("pg_dump", bindir), live.tool("pg_restore", bindir)
    srv = server.start(bindir=bindir, keep=keep)
    try:
        # The environment's read-only transaction lasts only as long as pg_dump and the history read: a snapshot
        # held open on a live database holds back its vacuum.
        with live.opened(live_target, migration_set.settings) as env:
            env.require_history()
            where = f"{env.describe()} ({live_target.display})"
            refusal = live.newer_than_tools(env.version, live.tool_version(pg_dump), srv.version())
            if refusal is not None:
                from ddl_cascade.errors import CascadeError

                raise CascadeError(f"{where} {refusal}.")
            dump = srv.base / "schema.dump"
            env.dump_schema(dump, pg_dump)
            history_rows, roles = env.read_history(), env.roles()
            table, search_path = env.history.name, env.search_path_for(env.user)
        srv.create_database("verify")
        with srv.connect("verify") as conn:
            live.create_roles(conn, roles)
        live.restore(dump, pg_restore, srv.conninfo("verify"), where)
        dump.unlink()
        with srv.connect("verify") as conn:
            live.write_history(conn, table, history_rows)
            conn.execute("SELECT set_config('search_path', %s, false)", (search_path,))
            _run(conn, migration_set, result, on_applied)
        if keep:
            result.kept = _kept(srv)
    finally:
        srv.stop()
    return result


def _kept(srv) -> str:
    """How to reach a kept throwaway server, and stop it. The unix socket needs no password (trust), so nothing
    secret is printed."""
    return (f"psql \"{srv.conninfo('verify')}\"  (stop the server with: "
            f"kill -INT {srv.process.pid if srv.process else '?'}; then rm -rf {srv.base})")


def verify(migration_set: MigrationSet, *, target: Target | None = None, keep: bool = False, on_applied=None) -> VerifyResult:
    result = VerifyResult()
    if target is None:
        srv = server.start(keep=keep)
        try:
            srv.create_database("verify")
            with srv.connect("verify") as conn:
                _run(conn, migration_set, result, on_applied)
            if keep:
                result.kept = _kept(srv)
        finally:
            srv.stop()
        return result

    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"ddl_cascade_verify_{secrets.token_hex(4)}"
    with connect(target) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(make_conninfo(target.url, dbname=name), autocommit=True) as conn:
            _run(conn, migration_set, result, on_applied)
        if keep:
            result.kept = f"database {name} on {target.display}"
    finally:
        if not keep:
            with connect(target) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return result
