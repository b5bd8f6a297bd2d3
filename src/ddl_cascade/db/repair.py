"""`db repair`: what `flyway repair` does to a PostgreSQL schema history table, row for row.

Flyway 13's DbRepair (with JdbcTableSchemaHistory) does three things, in one transaction, in this order:
1. **remove failed rows**: for each `success = false` row, `DELETE … WHERE success = false AND version = <its
   version>` (repeatables: `AND description = <its description>`), which removes every failed row;
2. **mark missing migrations as deleted**: the info is computed again (outOfOrder on, target latest), and for each
   applied, non-synthetic row (not SCHEMA, BASELINE or DELETE) whose state is Missing or Future — unless one of the
   run's `ignoreMigrationPatterns` matches it (the default `*:future` keeps Future rows as they are) — a new row is
   inserted with the same version, description, script and checksum, type `DELETE`, execution time 0, the rank after
   the last one, in installed_rank order;
3. **align** (over the same info as step 2): a versioned row with a file whose checksum (Flyway's `checksumMatches`,
   which also accepts the raw-text "equivalent" checksum), description or type differs gets the file's description,
   type and checksum (`UPDATE … WHERE installed_rank = …`); a repeatable row whose checksum is the file's raw-text
   checksum but not its checksum after placeholder replacement gets that one. An outdated repeatable (its file
   changed) is left alone: migrate re-applies it.
`beforeRepair` callbacks run before, `afterRepair` after, `afterRepairError` on failure, as in Flyway.

Differences, on purpose: ddl-cascade also holds Flyway's advisory lock on the table for the whole run (Flyway 13's
repair only opens a transaction), so a repair never interleaves with a migrate run of either tool; and a description
is compared and written cut to 200 characters, as it is stored (Flyway compares the full text and would fail to
write more than 200 characters into the column).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from ddl_cascade import flyway
from ddl_cascade.db import info as infos
from ddl_cascade.db.engine import Runner, ScriptFailed, Session, resolve
from ddl_cascade.db.history import BASELINE, DELETE, SCHEMA, AppliedRow, SchemaHistory, abbreviate_description, \
    current_user
from ddl_cascade.db.migrations import MigrationSet
from ddl_cascade.errors import CascadeError, WorkFailed

SYNTHETIC = frozenset({SCHEMA, BASELINE, DELETE})  # CoreMigrationType.isSynthetic
MISSING_STATES = frozenset({infos.MISSING_SUCCESS, infos.MISSING_FAILED, infos.FUTURE_SUCCESS, infos.FUTURE_FAILED})


@dataclass
class HistoryRow:
    """A row of the schema history table that repair removed or marked deleted, as it was."""

    installed_rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None
    success: bool


@dataclass
class Deletion:
    """A Missing (or Future) migration marked deleted: the applied row, and the rank of the DELETE row added for it."""

    migration: HistoryRow
    marker_rank: int


@dataclass
class Alignment:
    """An applied row updated to its file: `before` as it was, then the description, type and checksum written."""

    before: HistoryRow
    description: str
    type: str
    checksum: int | None

    @property
    def changes(self) -> list[str]:
        out = []
        if self.before.checksum != self.checksum:
            out.append(f"checksum {self.before.checksum} -> {self.checksum}")
        if self.before.description != self.description:
            out.append(f"description {self.before.description!r} -> {self.description!r}")
        if self.before.type != self.type:
            out.append(f"type {self.before.type} -> {self.type}")
        return out


@dataclass
class Repair:
    """What one repair changed in `table` (`"schema"."table"`), in the order Flyway does it."""

    table: str
    removed: list[HistoryRow] = field(default_factory=list)
    deleted: list[Deletion] = field(default_factory=list)
    aligned: list[Alignment] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.deleted or self.aligned)


def _row(row: AppliedRow) -> HistoryRow:
    return HistoryRow(row.installed_rank, row.version, row.description, row.type, row.script, row.checksum,
                      row.success)


def _ignored(patterns: tuple[infos.Pattern, ...], versioned: bool, state: str) -> bool:
    """ValidatePattern.matchesMigration: `*:missing` matches "Missing", not "Failed (Missing)"."""
    return any(p.matches(versioned, state) for p in patterns)


def _needs_alignment(resolved: infos.Resolved, row: AppliedRow) -> bool:
    if resolved.version is not None:  # DbRepair.updateNeeded
        return (not resolved.checksum_matches(row.checksum)
                or abbreviate_description(resolved.description) != row.description
                or resolved.type != row.type)
    # ResolvedMigrationImpl.checksumMatchesWithoutBeingIdentical: stored before placeholders were replaced.
    return row.checksum == resolved.equivalent_checksum and row.checksum != resolved.checksum


def repair(conn, migration_set: MigrationSet, *, environment: str | None = None,
           lock_attempts: int | None = None) -> Repair:
    """Repair the schema history of the database of `conn` (autocommit) against the set's migrations."""
    settings = migration_set.settings
    session = Session.open(conn, environment)
    if settings.history_schema and settings.history_schema != session.schema:
        session = dataclasses.replace(session, schema=settings.history_schema)
    history = SchemaHistory(conn, session.schema, settings.table)
    patterns = infos.patterns(settings)
    result = Repair(history.name)
    timestamp = datetime.now()
    try:
        resolved = resolve(migration_set, session, timestamp)
    except ScriptFailed as exc:
        raise CascadeError(str(exc.failure)) from None
    runner = Runner(conn, session, migration_set, timestamp)
    import psycopg

    with history.locked(lock_attempts):
        try:
            try:
                runner.callbacks("beforeRepair")
                if history.exists():
                    try:
                        with conn.transaction():
                            _repair(conn, history, resolved, settings, patterns, result)
                    except psycopg.Error as exc:
                        from ddl_cascade.db.clean import pg_message

                        raise WorkFailed(f"repair of {history.name} failed: {pg_message(exc)}; nothing was changed.") \
                            from None
            except (ScriptFailed, CascadeError, WorkFailed):
                try:
                    runner.callbacks("afterRepairError")
                except ScriptFailed:
                    pass  # the repair's own failure is the one to report
                raise
            runner.callbacks("afterRepair")
        except ScriptFailed as exc:
            raise CascadeError(f"repair failed: {exc.failure}") from None
    return result


def _repair(conn, history: SchemaHistory, resolved: list[infos.Resolved], settings, patterns, result: Repair) -> None:
    # 1. failed rows, with Flyway's own statements (one per failed row; a repeated one finds nothing more).
    for row in history.rows():
        if row.success:
            continue
        result.removed.append(_row(row))
        column, value = ("version", row.version) if row.version is not None else ("description", row.description)
        conn.execute(f'DELETE FROM {history.name} WHERE "success" = FALSE AND "{column}" = %s', (value,))

    # 2. and 3. over one info of the remaining rows, as Flyway (its info is not refreshed between them).
    rows = history.rows()
    info = infos.compute(resolved, rows, settings=settings.replace(out_of_order=True, target="latest"),
                         ignore_pending=True)
    by_rank = {row.installed_rank: row for row in rows}
    applied = sorted((m for m in info.migrations if m.installed_rank is not None), key=lambda m: m.installed_rank)
    installed_by = current_user(conn)
    for m in applied:
        row = by_rank[m.installed_rank]
        if row.type in SYNTHETIC or m.state not in MISSING_STATES:
            continue
        if _ignored(patterns, row.version is not None, m.state):
            continue
        rank = history.add(row.version, row.description, DELETE, row.script, row.checksum, 0, row.success,
                           installed_by)
        result.deleted.append(Deletion(_row(row), rank))

    versioned = {(m.version, m.type): m for m in resolved if m.version is not None}
    repeatable = {m.description: m for m in resolved if m.version is None}
    for m in applied:
        row = by_rank[m.installed_rank]
        if row.type in SYNTHETIC or m.state == infos.IGNORED:
            continue
        if row.version is not None:
            try:
                match = versioned.get((flyway.Version(row.version), row.type))
            except flyway.FlywayError:
                match = None
        else:
            match = repeatable.get(row.description)
        if match is None or not _needs_alignment(match, row):
            continue
        description = abbreviate_description(match.description)
        conn.execute(f'UPDATE {history.name} SET "description" = %s, "type" = %s, "checksum" = %s '
                     'WHERE "installed_rank" = %s', (description, match.type, match.checksum, row.installed_rank))
        result.aligned.append(Alignment(_row(row), description, match.type, match.checksum))
