"""`db diff`: what a pull request does to the schema, as structured changes.

The migrations at the base (`--base REV`, default the delivery branch) and those of the working tree are each
replayed on a fresh database of its own throwaway server (`db.server`), exactly as `db verify` replays them
(`engine.migrate`, the same Flyway settings), both at once (two servers, because roles belong to a server, not to a
database: a migration that creates a role would fail on the side that ran second); then each database's catalog is read
(`db.catalog`, Flyway's history table left out) and compared. Replaying both from empty, rather than applying the
new migrations on a copy of the base, is what the issue asks and what stays true when a pull request edits or removes
a delivered migration (Flyway's validate would refuse that on a copy).

Without `--base` and without a delivery branch (nothing delivered yet), the base is an empty database: every object
is added.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ddl_cascade.config import Config
from ddl_cascade.db import catalog as catalogs
from ddl_cascade.db import engine, server
from ddl_cascade.db import migrations as migration_sets
from ddl_cascade.db.catalog import SchemaChange
from ddl_cascade.db.migrations import MigrationSet
from ddl_cascade.errors import CascadeError


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

    @property
    def failure(self) -> str | None:
        for side, replay in (("base", self.base), ("working tree", self.head)):
            if replay.failure is not None:
                where = f"base {self.diff.base[:12]}" if side == "base" and self.diff.base else side
                return f"the migrations of the {where} do not apply: {replay.failure}"
        return None


def base_commit(cfg: Config, base: str | None) -> str | None:
    """The commit `--base` names, or the delivery branch's tip (local, else remote-tracking, else fetched); None
    when there is no delivery branch yet."""
    from ddl_cascade import git
    from ddl_cascade.cascade.state import find_delivery_tip

    if base is not None:
        commit = git.rev_parse(cfg.root, f"{base}^{{commit}}")
        if commit is None:
            raise CascadeError(f"--base {base!r} names no commit in {cfg.root}.")
        return commit
    return find_delivery_tip(cfg).tip


def diff(cfg: Config, base: str | None = None) -> DiffRun:
    """Replay the base's and the working tree's migrations on one throwaway server and compare their schemas."""
    commit = base_commit(cfg, base)
    head_set = migration_sets.for_parent(cfg)
    base_set = migration_sets.for_parent_at(cfg, commit) if commit is not None else None
    # Two servers, not two databases of one: roles are the cluster's, so a migration that creates a role would fail
    # on whichever side ran second. Both start and replay at once.
    with ThreadPoolExecutor(max_workers=2) as pool:
        base_job = pool.submit(_replay, base_set)
        head_job = pool.submit(_replay, head_set)
        (base_replay, before), (head_replay, after) = base_job.result(), head_job.result()
    changes = catalogs.compare(before, after) if before is not None and after is not None else []
    document = SchemaDiff(commit, "working tree", changes, after.server_version if after else "")
    return DiffRun(document, base_replay, head_replay)


def _replay(migration_set: MigrationSet | None) -> tuple[Replay, catalogs.Catalog | None]:
    """Apply the set on a fresh database of a throwaway server of its own and read its catalog (an empty database's
    for no set)."""
    with server.start() as srv:
        srv.create_database("diff")
        with srv.connect("diff") as conn:
            if migration_set is None:
                return Replay(), catalogs.read_catalog(conn)
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
