"""`db diff`: what a pull request does to the schema, as structured changes.

The migrations at the base (`--base REV`, default the delivery branch) and those of the working tree are each
replayed on a fresh database, exactly as `db verify` replays them (`engine.migrate`, the same Flyway settings); then
each database's catalog is read (`db.catalog`, Flyway's history table left out) and compared.

Replaying 300 migrations twice would cost twice the time, and a pull request usually only adds migrations. So when
the working tree's versioned migrations begin with exactly the base's (same files, same text), the callbacks are the
same and neither side has a baseline migration, that shared prefix is applied once, on one throwaway server; the
database is copied (`CREATE DATABASE … TEMPLATE`) into a base and a head database, and each side's migrate then
applies the rest, both at once: the base its repeatable migrations, the head its new versioned migrations, then its
repeatable ones. Each side thus runs its migrations in the same order as a replay from empty; the one difference is
that callbacks run once more between the prefix and the rest (as they do at every `flyway migrate`).

Otherwise (a delivered migration edited, removed or renamed, a new migration below the base's last version, other
callbacks), and whenever the fast way fails, each side is replayed from empty on a throwaway server of its own, both
at once. Two servers, not two databases of one: roles are the server's, so a migration that creates a role would fail
on the side that ran second. A failure on that path is the command's failure.

Without `--base` and without a delivery branch (nothing delivered yet), the base is an empty database: every object
is added.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ddl_cascade.config import Config
from ddl_cascade.db import catalog as catalogs
from ddl_cascade.db import engine, server
from ddl_cascade.db import migrations as migration_sets
from ddl_cascade.db.catalog import SchemaChange
from ddl_cascade.db.migrations import MigrationSet
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway import Kind


@dataclass
class Replay:
    """One side's replay: how many migrations ran, and the failure that stopped it (None when all applied)."""

    migrations: int = 0
    failure: str | None = None


@dataclass
class SchemaDiff:
    """`db diff --json`: the schema changes from the base's migrations to the working tree's.

    `base` is the base commit (None: nothing delivered yet, the base is an empty database); `head` is what was
    compared with it (the working tree). `changes` are ordered by kind, then name (`db/catalog.py` `KINDS`): each
    has the object's `kind` and `name` (PostgreSQL's own identity of it), whether it was `added`, `removed` or
    `changed`, and its properties `before` and `after` (null when it did not exist)."""

    base: str | None
    head: str
    changes: list[SchemaChange] = field(default_factory=list)
    server_version: str = ""


@dataclass
class DiffRun:
    """What `diff` did: the document, and each side's replay (a failure stops the command with exit 1)."""

    diff: SchemaDiff
    base: Replay
    head: Replay
    note: str | None = None  # why the base is an empty database, when it is

    @property
    def failure(self) -> str | None:
        for side, replay in (("base", self.base), ("working tree", self.head)):
            if replay.failure is not None:
                where = f"base {self.diff.base[:12]}" if side == "base" and self.diff.base else side
                return f"the migrations of the {where} do not apply: {replay.failure}"
        return None


def base_commit(cfg: Config, base: str | None) -> tuple[str | None, str | None]:
    """The commit `--base` names, or the delivery branch's tip (local, else remote-tracking, else fetched); without
    a delivery branch, None and why."""
    from ddl_cascade import git
    from ddl_cascade.cascade.state import find_delivery_tip

    if base is not None:
        commit = git.rev_parse(cfg.root, f"{base}^{{commit}}")
        if commit is None:
            raise CascadeError(f"--base {base!r} names no commit in {cfg.root}.")
        return commit, None
    found = find_delivery_tip(cfg)
    if found.tip is None:
        return None, (f"no delivery branch '{cfg.source.delivery_branch}' ({found.why}): the base is an empty "
                      "database, so every object is added")
    return found.tip, None


def diff(cfg: Config, base: str | None = None) -> DiffRun:
    """Replay the base's and the working tree's migrations on throwaway servers and compare their schemas."""
    commit, note = base_commit(cfg, base)
    head_set = migration_sets.for_parent(cfg)
    base_set = migration_sets.for_parent_at(cfg, commit) if commit is not None else None
    shared = shared_prefix(base_set, head_set) if base_set is not None else None
    sides = _from_prefix(shared, base_set, head_set) if shared is not None and base_set is not None else None
    if sides is None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            base_job = pool.submit(_replay, base_set)
            head_job = pool.submit(_replay, head_set)
            sides = base_job.result(), head_job.result()
    (base_replay, before), (head_replay, after) = sides
    changes = catalogs.compare(before, after) if before is not None and after is not None else []
    document = SchemaDiff(commit, "working tree", changes, after.server_version if after else "")
    return DiffRun(document, base_replay, head_replay, note)


def _key(script) -> tuple:
    return (script.resolved.script, script.resolved.location, script.text, script.config)


def shared_prefix(base: MigrationSet, head: MigrationSet) -> MigrationSet | None:
    """The base's versioned migrations with its callbacks, when the head's versioned migrations begin with exactly
    them and both sides run the same callbacks with the same settings and placeholders; else None."""
    if (base.settings != head.settings or base.placeholders != head.placeholders
            or [_key(c) for c in base.callbacks] != [_key(c) for c in head.callbacks]):
        return None
    if any(m.kind is Kind.BASELINE for m in (*base.migrations, *head.migrations)):
        return None
    base_versioned = [m for m in base.migrations if m.version is not None]
    head_versioned = [m for m in head.migrations if m.version is not None]
    if [_key(m) for m in head_versioned[:len(base_versioned)]] != [_key(m) for m in base_versioned]:
        return None
    return dataclasses.replace(head, migrations=tuple(head_versioned[:len(base_versioned)]))


def _from_prefix(shared: MigrationSet, base_set: MigrationSet, head_set: MigrationSet):
    """Both sides from one copy of the shared prefix, on one server; None when any step fails (then the caller
    replays each side from empty, which says what fails)."""
    with server.start() as srv:
        srv.create_database("prefix")
        with srv.connect("prefix") as conn:
            prefix = engine.migrate(conn, shared)
        if not prefix.ok:
            return None
        for name in ("base", "head"):
            srv.create_database(name, template="prefix")
        with ThreadPoolExecutor(max_workers=2) as pool:
            base_job = pool.submit(_migrate_and_read, srv, "base", base_set)
            head_job = pool.submit(_migrate_and_read, srv, "head", head_set)
            sides = base_job.result(), head_job.result()
    if any(catalog is None for _, catalog in sides):
        return None
    applied = len(prefix.migrations)
    return tuple((Replay(replay.migrations + applied), catalog) for replay, catalog in sides)


def _replay(migration_set: MigrationSet | None) -> tuple[Replay, catalogs.Catalog | None]:
    """Apply the set on a fresh database of a throwaway server of its own and read its catalog (an empty database's
    for no set)."""
    with server.start() as srv:
        srv.create_database("diff")
        if migration_set is None:
            with srv.connect("diff") as conn:
                return Replay(), catalogs.read_catalog(conn)
        return _migrate_and_read(srv, "diff", migration_set)


def _migrate_and_read(srv: server.Server, name: str,
                      migration_set: MigrationSet) -> tuple[Replay, catalogs.Catalog | None]:
    """Migrate database `name` with the set and read its catalog (None when the migration failed or was refused)."""
    with srv.connect(name) as conn:
        session = engine.Session.open(conn, None, migration_set.settings)
        result = engine.migrate(conn, migration_set)
        replay = Replay(sum(1 for m in result.migrations if m.success))
        if result.failure is not None:
            replay.failure = str(result.failure)
        elif result.refused:
            replay.failure = "; ".join(result.refused)
        if replay.failure is not None:
            return replay, None
        return replay, catalogs.read_catalog(conn, exclude_tables={(session.schema, session.table)})


# -- which changes are risky ------------------------------------------------------------------------------------------
# A reviewer must not miss what loses data, breaks a reader or writer, or takes a right away: these are listed first.
_RISKY_REMOVALS = {
    "schema": "drops a schema",
    "table": "drops a table and its data",
    "column": "drops a column and its data",
    "materialized_view": "drops a materialized view",
    "view": "drops a view its readers may use",
    "constraint": "drops a constraint: the data is no longer checked",
    "sequence": "drops a sequence",
    "type": "drops a type",
    "function": "drops a function its callers may use",
    "procedure": "drops a procedure its callers may use",
    "extension": "drops an extension",
    "privilege": "revokes a grant",
    "default_privilege": "revokes a default grant",
    "policy": "drops a row security policy",
}


def risk(change: SchemaChange) -> str | None:
    """Why `change` is risky (one phrase), or None."""
    if change.change == "removed":
        return _RISKY_REMOVALS.get(change.kind)
    if change.change != "changed":
        return None
    before, after = change.before or {}, change.after or {}
    if change.kind == "column":
        if before.get("type") != after.get("type"):
            return "changes a column's type (a rewrite, and its readers may break)"
        if before.get("nullable") and not after.get("nullable"):
            return "makes a column NOT NULL (scans the table; writers of NULL fail)"
    if change.kind in ("privilege", "default_privilege"):
        if set(_as_list(before.get("privileges"))) - set(_as_list(after.get("privileges"))):
            return "revokes a privilege"
    if change.kind == "type" and before.get("type") == "enum":
        old, new = _as_list(before.get("labels")), _as_list(after.get("labels"))
        if [label for label in new if label in old] != old:
            return "removes or reorders enum labels"
    if change.kind == "table" and before.get("partition key") != after.get("partition key"):
        return "changes a table's partitioning"
    return None


def _as_list(value) -> list[str]:
    return value if isinstance(value, list) else []
