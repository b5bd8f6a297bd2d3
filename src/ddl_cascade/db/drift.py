"""`db drift --env ENV`: what changed in an environment's schema outside its migrations.

The **expected** schema is the one the migrations recorded in the environment's history build: its successful rows,
in `installed_rank` order, each replayed from its file (`engine.replay`) on a database of the throwaway server, as
the role that installed it (its `installed_by`, created there as a superuser without login, so objects, grants and
default privileges belong to the same role as in the environment). The **live** schema is the environment's, read
through a read-only connection (`db.live`). Both are read with `db.catalog` and compared with `catalog.compare`
(`before` = expected, `after` = live): every difference is drift — `added` was made outside the migrations,
`removed` was dropped outside them, `changed` was altered. The history table itself is left out of both.

What the history says but the files cannot rebuild is a **problem**, listed beside the changes (and, like a change,
it makes the run not ok, as the expected schema is then uncertain): a row whose file is gone, a file whose checksum
differs from its row's (the mismatch `db status` reports; the file is replayed, as it is the only text there is), a
repeatable changed since it was applied (Outdated; the file is replayed), a failed row (its partial changes are
unknown and not replayed), a baseline (what existed before it was not made by migrations and shows as drift).
Pending files (not in the history) are not replayed: they are not drift, they are not applied yet.

Roles are cluster objects the throwaway server lacks. The roles that installed migrations are created there as
superusers without login (the replay runs as them); every other role of the environment's cluster is created by
name (NOLOGIN, nothing else), so grants to roles a DBA made succeed, except the roles a replayed script or callback
creates itself (`CREATE ROLE|USER|GROUP name`, placeholders replaced): created beforehand, a plain `CREATE ROLE`
would fail.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from ddl_cascade import flyway
from ddl_cascade.db import catalog, engine, live, server
from ddl_cascade.db.catalog import SchemaChange
from ddl_cascade.db.history import BASELINE, BASELINE_TYPES, DELETE, SCHEMA, AppliedRow, abbreviate_description
from ddl_cascade.db.info import OUTDATED
from ddl_cascade.db.migrations import MigrationSet, Script
from ddl_cascade.db.target import Target
from ddl_cascade.errors import CascadeError, WorkFailed


@dataclass
class Replay:
    """What the history says to rebuild: each script with the role that installed it, in installed_rank order."""

    scripts: list[Script] = field(default_factory=list)
    roles: list[str | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _label(row: AppliedRow) -> str:
    return f"version {row.version} ({row.description})" if row.version is not None \
        else f"repeatable '{row.description}'"


def plan(migration_set: MigrationSet, rows: list[AppliedRow], outdated: set[str] | None = None,
         mismatched: set[str] | None = None) -> Replay:
    """Match the history's rows to the set's files (versioned by version, repeatables by description, each
    repeatable once, at its last successful row). `outdated`: descriptions of repeatables whose file changed since
    (Flyway's Outdated); `mismatched`: versions whose file's checksum differs from the row's."""
    by_version = {s.version: s for s in migration_set.migrations if s.version is not None}
    by_description = {abbreviate_description(s.description): s for s in migration_set.migrations if s.version is None}
    replay = Replay()
    wanted: list[tuple[AppliedRow, Script]] = []
    last_repeatable: dict[str, int] = {}
    for row in rows:
        if row.type in (SCHEMA, DELETE):
            continue
        if row.type == BASELINE:
            replay.problems.append(f"the history starts from a baseline at version {row.version}: what existed "
                                   "before it was not made by migrations and shows as drift.")
            continue
        if not row.success:
            replay.problems.append(f"{_label(row)} failed in this environment (installed_rank {row.installed_rank}):"
                                   " its partial changes are not rebuilt; repair it.")
            continue
        script = (by_version.get(flyway.Version(row.version)) if row.version is not None
                  else by_description.get(row.description))
        if script is None:
            replay.problems.append(f"{_label(row)} is in the history (installed_rank {row.installed_rank}) but has "
                                   "no file: what it made is not rebuilt and shows as drift.")
            continue
        if row.version is None:
            last_repeatable[row.description] = len(wanted)
        wanted.append((row, script))
    seen_versions: set[str] = set()
    for index, (row, script) in enumerate(wanted):
        if row.version is None and last_repeatable[row.description] != index:
            continue  # superseded by a later run of the same repeatable
        if row.version is not None:
            if row.version in seen_versions:
                continue
            seen_versions.add(row.version)
        replay.scripts.append(script)
        replay.roles.append(row.installed_by)
    for version in sorted(mismatched or ()):
        replay.problems.append(f"version {version}: the file's checksum differs from the history's (see `db status`);"
                               " the expected schema is built from the file.")
    for description in sorted(outdated or ()):
        replay.problems.append(f"repeatable '{description}' changed since it was applied (Outdated); the expected "
                               "schema is built from the file.")
    return replay


_CREATE_ROLE = re.compile(r"\bCREATE\s+(?:ROLE|USER(?!\s+MAPPING\b)|GROUP)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                          r"(\"(?:[^\"]|\"\")+\"|\$\{[^}]+\}|[A-Za-z_][A-Za-z0-9_$]*)", re.IGNORECASE)


def created_roles(scripts: list[Script], placeholders: dict[str, str]) -> set[str]:
    """The role names the scripts create (`CREATE ROLE|USER|GROUP name`; a `${placeholder}` name replaced by its
    configured value); unquoted names folded to lower case, as PostgreSQL does."""
    lower = {k.lower(): v for k, v in placeholders.items()}
    names = set()
    for script in scripts:
        for found in _CREATE_ROLE.findall(script.text):
            if found.startswith("${"):
                value = lower.get(found[2:-1].lower())
                if value is not None:
                    names.add(value)
            elif found.startswith('"'):
                names.add(found[1:-1].replace('""', '"'))
            else:
                names.add(found.lower())
    return names


@dataclass
class Drift:
    """The differences between an environment's expected and live schemas (see the module docstring)."""

    changes: list[SchemaChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    replayed: int = 0  # migrations replayed to build the expected schema
    live_version: str = ""  # PostgreSQL's version of the environment and of the throwaway server
    expected_version: str = ""

    @property
    def ok(self) -> bool:
        return not self.changes and not self.problems


def drift(migration_set: MigrationSet, target: Target, *, srv: server.Server | None = None) -> Drift:
    """Compare the schema the environment's history builds with its live schema. Never writes to the environment.
    `srv`: a running throwaway server to build on (status --db --drift shares one); else one is started."""
    # Everything the environment tells is read first, in its one read-only transaction, which then ends: a snapshot
    # held open on a live database through the replay would hold back its vacuum.
    with live.opened(target, migration_set.settings) as env:
        env.require_history()
        rows = env.history.rows()
        try:
            info = engine.status(env.conn, migration_set, target.environment)
        except engine.ScriptFailed as exc:  # a repeatable's placeholder cannot be replaced
            raise CascadeError(str(exc.failure)) from None
        excluded = frozenset({(env.schema, env.table)})
        actual = catalog.read_catalog(env.conn, exclude_tables=excluded)
        roles, search_path, where = env.roles(), env.search_path_for(env.user), env.describe()
    outdated = {m.description for m in info.migrations if m.state == OUTDATED}
    mismatched = {m.version for m in info.mismatches if m.version is not None}
    replay = plan(migration_set, rows, outdated, mismatched)
    own = srv is None
    srv = srv or server.start()
    name = f"drift_{secrets.token_hex(4)}"
    try:
        srv.create_database(name)
        with srv.connect(name) as conn:
            live.create_roles(conn, sorted({r for r in replay.roles if r is not None}), superuser=True)
            made_by_scripts = created_roles([*replay.scripts, *migration_set.callbacks], migration_set.placeholders)
            live.create_roles(conn, [r for r in roles if r not in made_by_scripts])
            conn.execute("SELECT set_config('search_path', %s, false)", (search_path,))
            rebuilt = engine.replay(conn, migration_set, replay.scripts, replay.roles, environment=target.environment)
            if rebuilt.refused:
                raise CascadeError(f"the schema the history of {where} records cannot be rebuilt: "
                                   f"{rebuilt.refused[0]}")
            if rebuilt.failure is not None:
                raise WorkFailed(f"the schema the history of {where} records cannot be rebuilt: "
                                 f"migration failed: {rebuilt.failure}")
            conn.execute("RESET ROLE")
            expected = catalog.read_catalog(conn, exclude_tables=excluded)
    finally:
        if own:
            srv.stop()
        else:
            srv.drop_database(name)
    return Drift(catalog.compare(expected, actual), replay.problems, len(replay.scripts), actual.server_version,
                 expected.server_version)
