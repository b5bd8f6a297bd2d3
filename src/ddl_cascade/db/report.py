"""`status --db`: each child's database state, next to its repository state.

For every child that names an environment (`environment = "<name>"` in its `[[children]]` entry), the child's
migrations (its own files at the tip `status` just fetched, its read-only folder as its **target** delivers it: what
its channel or pin says it should have applied) are compared with that environment's `flyway_schema_history`,
exactly as `db status --env <name> --child <child>` does. The promote gate reads the same way with the promoted
commit as the target, so a database vouches for every migration of that commit. One child's
database being unreachable never stops the report: its `error` says why (password redacted) and it counts as not ok.

With `--drift` (`status --db --drift`), each such database is also checked for drift as `db drift --env <name>
--child <child>` does (`ddl_cascade.db.drift`): `drift` lists one line per difference, and any makes it not ok. It is
a flag of its own because it rebuilds every child's schema on a throwaway server (one server for the run, a
database per child): seconds per child where the history comparison takes milliseconds.
"""

from __future__ import annotations

from ddl_cascade.cascade.state import DatabaseState
from ddl_cascade.config import Config
from ddl_cascade.errors import CascadeError


def database_state(cfg: Config, child_name: str, environment: str, tip: str | None,
                   delivered_commit: str | None = None, drift_server=None) -> DatabaseState:
    """The database of `environment` against the child's files at `tip` with its read-only folder from the delivered
    commit `delivered_commit` (default: the child's target, as `db status --child` reads it); with `drift_server` (a
    running throwaway server), also its drift."""
    from ddl_cascade.db import engine, target
    from ddl_cascade.db import migrations as migration_sets
    from ddl_cascade.db.info import BASELINE_STATE, OUT_OF_ORDER, SUCCESS
    from ddl_cascade.flyway import Version
    from ddl_cascade.redact import redact

    env = cfg.environments[environment]
    state = DatabaseState(environment, redact(env.url))
    try:
        tgt = target.from_environment(cfg, env)
        delivered = None if delivered_commit is None else migration_sets.Delivered(
            cfg.child(child_name).prefix.strip("/"), delivered_commit, "its target")
        migrations = migration_sets.for_child(cfg, child_name, tip, environment, delivered)
        with target.connect(tgt) as conn:
            info = engine.status(conn, migrations, environment)
        if drift_server is not None:
            state.drift = drift_lines(migrations, tgt, drift_server)
    except CascadeError as exc:
        state.error = redact(str(exc))
        return state
    except engine.ScriptFailed as exc:
        state.error = str(exc.failure)
        return state
    applied = [m for m in info.migrations if m.installed_rank is not None]
    versions = [Version(m.version) for m in applied
                if m.version is not None and m.state in (SUCCESS, OUT_OF_ORDER, BASELINE_STATE)]
    state.current_version = str(max(versions)) if versions else None
    state.applied = len(applied)
    state.pending = sum(1 for m in info.migrations if m.state == "Pending")
    state.failed = len(info.failed)
    state.mismatches = len(info.mismatches)
    state.problems = info.problems
    state.ok = not state.failed and not state.mismatches and not state.drift
    return state


def drift_lines(migrations, tgt, srv) -> list[str]:
    """`db drift` of one database on the shared throwaway server, as short lines ("+ column public.t.note")."""
    import psycopg

    from ddl_cascade.db import drift
    from ddl_cascade.errors import WorkFailed

    try:
        found = drift.drift(migrations, tgt, srv=srv)
    except (WorkFailed, psycopg.Error) as exc:
        raise CascadeError(f"drift: {exc}") from None
    marks = {"added": "+", "removed": "-", "changed": "~"}
    return ([f"{marks[c.change]} {c.kind.replace('_', ' ')} {c.name}" for c in found.changes]
            + [f"problem: {p}" for p in found.problems])


def attach(cfg: Config, report, drift: bool = False) -> bool:
    """Fill `child.database` for each child of a status report that names an environment (with `drift`, also its
    drift, on one throwaway server started for the run); True if all are ok."""
    from contextlib import ExitStack

    from ddl_cascade.redact import redact

    ok = True
    with ExitStack() as stack:
        srv = None
        for child_status in report.children:
            child = cfg.child(child_status.name)
            if child.environment is None:
                continue
            if child_status.tip is None:
                db = DatabaseState(child.environment, redact(cfg.environments[child.environment].url),
                                   error=child_status.error or "the child has no branch to read")
            else:
                if drift and srv is None:
                    from ddl_cascade.db import server

                    srv = stack.enter_context(server.start())
                db = database_state(cfg, child.name, child.environment, child_status.tip, child_status.target, srv)
            child_status.database = db
            ok = ok and db.ok
    return ok


def promotion_problem(cfg: Config, child, child_status) -> str | None:
    """Why a child's database does not vouch for a promotion (`promote`'s gate): unreadable, a failed row, a checksum
    mismatch, or a migration of the promoted commit (the child's target in the gate's plan) not applied yet, with the
    child's own; None when it applied them all."""
    db = database_state(cfg, child.name, child.environment, child_status.tip, child_status.target)
    if db.error:
        return f"database '{child.environment}' could not be read: {db.error}"
    if db.failed:
        return f"database '{child.environment}' has {db.failed} failed migration row(s)"
    if db.mismatches:
        return f"database '{child.environment}' has {db.mismatches} checksum mismatch(es)"
    if db.pending:
        return f"database '{child.environment}' has {db.pending} pending migration(s)"
    return None
