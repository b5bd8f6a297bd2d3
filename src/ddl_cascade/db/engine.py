"""Apply migrations to a PostgreSQL database the way `flyway migrate` does, and read its info.

One run (Flyway.migrate and DbMigrate, reference flyway.md §2, §4, §6, §9), under the run's Flyway settings
(`MigrationSet.settings`):
1. Flyway's default schema is `defaultSchema`, else the first of `schemas`, else the connection's current schema; it
   holds the history table (`table`, default `flyway_schema_history`) and is `${flyway:defaultSchema}`. Flyway's
   schemas are the configured ones with the default schema put first when it is not among them;
2. take Flyway's advisory lock on the history table (session level, the key Flyway uses), so two runs — ours or
   Flyway's — never interleave; read the history only once the lock is held;
3. validate as `flyway migrate` does, unless `validateOnMigrate` is false (failed rows, checksum mismatches,
   missing or ignored migrations refuse the run);
4. with `createSchemas` (the default): run `createSchema`/`beforeCreateSchema` callbacks, create the missing schemas
   and, when one was created, the history table with Flyway's `<< Flyway Schema Creation >>` row (rank 0 on a new
   table), all in one transaction;
5. no history table yet: when one of the schemas is non-empty (Flyway's definition, `history.schema_empty`), either
   baseline it (`baselineOnMigrate`: the table is created with a BASELINE row at `baselineVersion`, between
   `beforeBaseline` and `afterBaseline` callbacks, so only higher versions are applied) or refuse with Flyway's
   sentence; then create the table; run `beforeMigrate` callbacks;
6. refuse, as DbMigrate does even without validation, when the history holds a failed migration (one failed future
   migration is only a warning while `*:future` is ignored);
7. for each pending migration (baseline, versioned by version, repeatables by description): restore the session's
   role and give it Flyway's search_path (the default schema ahead of the original path, unless it already leads it:
   PostgreSQLConnection.changeCurrentSchemaTo), open a transaction unless the script is non-transactional (Flyway's
   statement detection, overridden by `executeInTransaction` in its `.sql.conf`), run `beforeEachMigrate`
   callbacks, the statements one by one (`COPY … FROM stdin` data through the COPY protocol), `afterEachMigrate`,
   insert the history row, commit;
8. `afterVersioned`, `afterMigrateApplied` (when something was applied), `afterMigrate`.
On failure: a transactional migration is rolled back and leaves no row; a non-transactional one leaves its partial
changes and a `success = false` row, as with Flyway; then `afterMigrateError`. A failing statement first runs the
`afterEachMigrateStatementError` callbacks (inside an aborted transaction they fail, and are ignored, as in Flyway).
As in Flyway, error callbacks cover only what they are named after: a failing beforeMigrate, afterMigrateApplied or
afterMigrate runs no `afterMigrateError`; a failing beforeEachMigrate or afterEachMigrate runs no
`afterEachMigrateError` and records no failed row; a script that cannot be split or mixes statement kinds fails
before its migration starts.
Placeholders (configured plus Flyway's `${flyway:…}` defaults, `${flyway:table}` included) are replaced before a
script is split, in every script unless its `.sql.conf` says `placeholderReplacement=false`. `status` reads the same
history table, read-only.

Deliberate differences: `afterEachMigrateError` callbacks run after the failed migration's transaction is rolled
back, in their own transaction (inside the aborted PostgreSQL transaction they could only fail); and the search_path
is set before every migration and callback, also when Flyway would leave it alone because the default schema
already leads the original path (then a `SET search_path` in one migration would leak into the next with Flyway).
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime

from ddl_cascade import flyway
from ddl_cascade.db import history as schema_history
from ddl_cascade.db.history import SchemaHistory, current_user, quote_ident
from ddl_cascade.db.info import FUTURE_FAILED, Info, Resolved, compute
from ddl_cascade.db.migrations import MigrationSet, Script
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway.settings import Settings
from ddl_cascade.flyway.sqlscript import Fault, Statement, split_statements


@dataclass
class Applied:
    """One migration this run executed (the per-migration line of `db verify` / `db migrate`)."""

    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None
    execution_time: int
    success: bool


@dataclass
class Failure:
    """Where and why a script failed: the file, the line and PostgreSQL's own message."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class MigrateResult:
    migrations: list[Applied] = field(default_factory=list)
    failure: Failure | None = None
    refused: list[str] = field(default_factory=list)  # Flyway's validate messages that stopped the run

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.refused


class ScriptFailed(Exception):
    """A script failed; `applied` is the failed migration's result line once the engine knows it."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.applied: Applied | None = None


@dataclass(frozen=True)
class Session:
    """Facts about the connection and the run's settings that placeholders, history rows, the search_path and
    statement detection need."""

    schema: str  # Flyway's default schema: holds the history table; `${flyway:defaultSchema}`
    user: str
    database: str
    server_version_num: int
    search_path: str  # the connection's own search_path, as it was when the run started
    role: str
    environment: str = "default"  # `${flyway:environment}`: the --env name; Flyway's own default otherwise
    schemas: tuple[str, ...] = ()  # Flyway's schemas: the configured ones, the default schema first if missing
    table: str = schema_history.TABLE  # the history table; `${flyway:table}`

    @classmethod
    def open(cls, conn, environment: str | None = None, settings: Settings = Settings()) -> "Session":
        current, user, database, version, search_path = conn.execute(
            "SELECT current_schema, current_user, current_database(), current_setting('server_version_num')::int, "
            "current_setting('search_path')"
        ).fetchone()
        schema = settings.history_schema or current  # SchemaHistoryFactory.prepareSchemas
        if not schema:
            raise CascadeError("cannot determine the current schema: the search_path is empty; set `schemas` or "
                               "`default_schema` for the environment.")
        schemas = tuple(settings.schemas) if schema in settings.schemas else (schema, *settings.schemas)
        return cls(schema, user, database, version, search_path, user, environment or "default", schemas,
                   settings.table)

    def search_path_for_migrations(self, conn) -> str:
        """The search_path Flyway gives migrations and callbacks (PostgreSQLConnection.changeCurrentSchemaTo): the
        default schema, quoted, ahead of the original path, unless it is the original path, already leads it, or
        does not exist."""
        original = self.search_path
        if (self.schema == original or original.startswith(self.schema + ",")
                or not schema_history.schema_exists(conn, self.schema)):
            return original
        return quote_ident(self.schema) + ("," + original if original.strip() else "")


# -- preparing scripts ------------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A script with its placeholders replaced (or the error replacing them), ready to split and run."""

    script: Script
    text: str | None
    error: Failure | None = None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def prepare(script: Script, session: Session, placeholders: dict[str, str], timestamp: datetime,
            replacement: bool = True) -> Prepared:
    """`replacement`: Flyway's placeholderReplacement setting; the script's `.sql.conf` overrides it."""
    text = script.text[1:] if script.text.startswith("\ufeff") else script.text
    configured = script.config.placeholder_replacement
    if not (replacement if configured is None else configured):
        return Prepared(script, text)
    defaults = flyway.default_placeholders(session.schema, session.user, session.database, table=session.table,
                                           filename=script.filename, timestamp=timestamp,
                                           working_directory=os.getcwd(), environment=session.environment)
    try:
        return Prepared(script, flyway.replace_placeholders(text, placeholders, defaults=defaults))
    except flyway.PlaceholderError as exc:
        return Prepared(script, None, Failure(script.display_path, _line_of(text, exc.offset), str(exc)))


def resolve(migration_set: MigrationSet, session: Session, timestamp: datetime | None = None) -> list[Resolved]:
    """The set's migrations as Flyway resolves them, with checksums (repeatables after placeholders)."""
    timestamp = timestamp or datetime.now()
    out = []
    for script in migration_set.migrations:
        prepared = prepare(script, session, migration_set.placeholders, timestamp,
                           migration_set.settings.placeholder_replacement)
        raw = flyway.checksum_text(script.text)
        if script.kind is flyway.Kind.REPEATABLE:
            if prepared.error is not None:
                raise ScriptFailed(prepared.error)
            checksum, equivalent = flyway.checksum_text(prepared.text or ""), raw
        else:
            checksum, equivalent = raw, None
        out.append(Resolved(script.version, script.description, script.type, script.script, checksum, equivalent,
                            key=prepared))
    return out


# -- running scripts --------------------------------------------------------------------------------------------------


def _statements(prepared: Prepared, session: Session, mixed: bool = False) -> tuple[list[Statement], bool]:
    """The statements and whether the script runs in a transaction (Flyway's ParserSqlScript rules; `mixed` is
    Flyway's setting: a script with both kinds of statement then runs without a transaction instead of failing)."""
    if prepared.error is not None:
        raise ScriptFailed(prepared.error)
    assert prepared.text is not None
    faults: list[Fault] = []
    statements = split_statements(prepared.text, server_version_num=session.server_version_num, faults=faults)
    if faults:  # part of the script would be cut off or misread: run none of it
        raise ScriptFailed(Failure(prepared.script.display_path, _line_of(prepared.text, faults[0].offset),
                                   f"{faults[0].message}; nothing of this script was run"))
    mode = flyway.transaction_mode(statements, prepared.script.config, mixed=mixed)
    if mode.error is not None:
        raise ScriptFailed(Failure(prepared.script.display_path, mode.line, mode.error))
    return statements, mode.in_transaction


def _pg_failure(exc, prepared: Prepared, statement: Statement) -> Failure:
    """PostgreSQL's own message, at the line of the script where the error is."""
    diag = exc.diag
    line = statement.line
    if diag.statement_position:
        line += statement.sql.count("\n", 0, max(0, int(diag.statement_position) - 1))
    elif statement.copy_data is not None and diag.context:
        m = re.search(r"\bline (\d+)", diag.context)
        if m:  # the data starts on the line after the COPY statement's own last line
            line += statement.sql.count("\n") + int(m.group(1))
    primary = diag.message_primary or str(exc).strip().splitlines()[0]
    message = f"{diag.severity or 'ERROR'}: {primary}"
    if diag.sqlstate:
        message += f" (SQLSTATE {diag.sqlstate})"
    return Failure(prepared.script.display_path, line, message)


class Runner:
    """Runs scripts on one autocommit connection; knows the callbacks of the migration set."""

    def __init__(self, conn, session: Session, migration_set: MigrationSet, timestamp: datetime) -> None:
        self.conn = conn
        self.session = session
        self.migration_set = migration_set
        self.timestamp = timestamp
        self._callbacks: dict[str, list[Prepared]] = {}
        self._split: dict[int, tuple[list[Statement], bool]] = {}
        for callback in migration_set.callbacks:
            self._callbacks.setdefault(callback.event or "", []).append(
                prepare(callback, session, migration_set.placeholders, timestamp,
                        migration_set.settings.placeholder_replacement))

    def has(self, event: str) -> bool:
        return bool(self._callbacks.get(event))

    def execute(self, prepared: Prepared, statements: list[Statement], per_statement: bool = False) -> None:
        import psycopg

        for statement in statements:
            if per_statement:
                self.callbacks("beforeEachMigrateStatement", inside=True)
            try:
                if statement.copy_data is not None:
                    with self.conn.cursor() as cur, cur.copy(statement.sql) as copy:
                        copy.write(statement.copy_data.encode("utf-8"))
                else:
                    self.conn.execute(statement.sql)
            except psycopg.Error as exc:
                failure = _pg_failure(exc, prepared, statement)
                if per_statement:
                    try:
                        self.callbacks("afterEachMigrateStatementError", inside=True)
                    except ScriptFailed:
                        pass  # in an aborted transaction it can only fail, as with Flyway; report the statement's
                raise ScriptFailed(failure) from None
            if per_statement:
                self.callbacks("afterEachMigrateStatement", inside=True)

    def split(self, prepared: Prepared) -> tuple[list[Statement], bool]:
        # Callbacks such as beforeEachMigrate run once per migration: split them once per run.
        key = id(prepared)
        if key not in self._split:
            self._split[key] = _statements(prepared, self.session, self.migration_set.settings.mixed)
        return self._split[key]

    def run_script(self, prepared: Prepared) -> None:
        """A callback script on its own: in a transaction unless it is non-transactional."""
        statements, in_transaction = self.split(prepared)
        if in_transaction:
            with self.conn.transaction():
                self.execute(prepared, statements)
        else:
            self.execute(prepared, statements)

    def callbacks(self, event: str, inside: bool = False) -> None:
        """Run the callbacks of `event`: inside the current transaction (each-migrate events) or each on its own,
        on a restored session (DefaultCallbackExecutor.execute)."""
        for prepared in self._callbacks.get(event, ()):
            if inside:
                statements, _ = self.split(prepared)
                self.execute(prepared, statements)
            else:
                self.restore_session()
                self.run_script(prepared)

    def restore_session(self) -> None:
        # Flyway restores the role and sets its search_path before each migration and callback, so one migration's
        # SET cannot leak into the next.
        self.conn.execute("SELECT set_config('search_path', %s, false), set_config('role', %s, false)",
                          (self.session.search_path_for_migrations(self.conn), self.session.role))


def migrate(conn, migration_set: MigrationSet, *, history: SchemaHistory | None = None, lock_attempts: int | None = None,
            on_applied=None, environment: str | None = None) -> MigrateResult:
    """Apply the set's pending migrations to the database of `conn` (autocommit); see the module docstring."""
    settings = migration_set.settings
    session = Session.open(conn, environment, settings)
    history = history or SchemaHistory(conn, session.schema, session.table)
    timestamp = datetime.now()
    result = MigrateResult()
    with history.locked(lock_attempts):
        try:
            resolved = resolve(migration_set, session, timestamp)
        except ScriptFailed as exc:
            result.failure = exc.failure
            return result
        info = compute(resolved, history.rows(), settings=settings, ignore_pending=True)
        if settings.validate_on_migrate and info.problems:
            result.refused = info.problems
            return result
        runner = Runner(conn, session, migration_set, timestamp)
        try:
            refusal = _prepare_history(conn, session, settings, history, runner)
        except ScriptFailed as exc:
            result.failure = exc.failure
            return result
        if refusal is not None:
            result.refused = [refusal]
            return result
        info = compute(resolved, history.rows(), settings=settings, ignore_pending=True)
        _apply(conn, runner, history, info.pending, result, on_applied,
               _failed_refusal(runner.session, info, runner.migration_set.settings))
        return result


def replay(conn, migration_set: MigrationSet, scripts: list[Script], roles: list[str | None] | None = None, *,
           environment: str | None = None) -> MigrateResult:
    """Apply exactly `scripts` (of the set), in this order, to the empty database of `conn`, as migrate applies
    pending migrations (callbacks, transactions, history rows). `db drift` rebuilds an environment's schema this way
    in the order of its history, which outOfOrder runs and repeatables re-applied between versions can make another
    order than Flyway's. `roles[i]`: the role script i runs as (its row's `installed_by`, so that what it creates
    belongs to and is granted by the same role as in the environment); None: the session's own."""
    subset = dataclasses.replace(migration_set, migrations=tuple(scripts))
    session = Session.open(conn, environment, subset.settings)
    history = SchemaHistory(conn, session.schema, session.table)
    timestamp = datetime.now()
    result = MigrateResult()
    with history.locked():
        try:
            resolved = resolve(subset, session, timestamp)
            runner = Runner(conn, session, subset, timestamp)
            refusal = _prepare_history(conn, session, subset.settings, history, runner)
        except ScriptFailed as exc:
            result.failure = exc.failure
            return result
        if refusal is not None:
            result.refused = [refusal]
            return result
        _apply(conn, runner, history, resolved, result, None, None,
               roles={id(r): role for r, role in zip(resolved, roles or ()) if role is not None})
        return result


def _prepare_history(conn, session: Session, settings: Settings, history: SchemaHistory,
                     runner: Runner) -> str | None:
    """What Flyway.migrate does between validate and DbMigrate: create the missing schemas, then baseline a non-empty
    schema that has no history table (or refuse it), then create the table. Returns Flyway's refusal, if any."""
    installed_by = current_user(conn)
    if settings.create_schemas:
        runner.callbacks("createSchema")
        runner.callbacks("beforeCreateSchema")
        with conn.transaction():  # DbSchemas.create: the schemas, the table and its marker together
            created = []
            for name in session.schemas:
                if not schema_history.schema_exists(conn, name):
                    schema_history.create_schema(conn, name)
                    created.append(name)
            if created:
                history.create()
                history.add_schemas_marker(created, installed_by)
    if history.exists():
        return None
    if not schema_history.schema_exists(conn, session.schema):
        # Flyway warns, then fails creating the table (after ten tries); say why at once.
        return (f"The schema {quote_ident(session.schema)} for the schema history table does not exist and "
                "createSchemas is false: create it first.")
    non_empty = [name for name in session.schemas
                 if schema_history.schema_exists(conn, name) and not schema_history.schema_empty(conn, name)]
    if non_empty:
        if not settings.baseline_on_migrate:
            return (f"Found non-empty schema(s) {', '.join(quote_ident(n) for n in non_empty)} but no schema history "
                    "table. Use baseline() or set baselineOnMigrate to true to initialize the schema history table.")
        _baseline(conn, settings, history, runner, installed_by)
    history.create()
    return None


def _baseline(conn, settings: Settings, history: SchemaHistory, runner: Runner, installed_by: str) -> None:
    """DbBaseline on a database without a history table: the table with its BASELINE row, between callbacks."""
    try:
        version = flyway.Version(settings.baseline_version).text
    except flyway.FlywayError as exc:
        raise CascadeError(f"baselineVersion {settings.baseline_version!r} is not a version: {exc}") from None
    runner.callbacks("beforeBaseline")
    try:
        history.create(baseline=(version, settings.baseline_description), installed_by=installed_by)
    except Exception:
        runner.callbacks("afterBaselineError")
        raise
    runner.callbacks("afterBaseline")


def _future_ignored(patterns: tuple[str, ...]) -> bool:
    """ValidatePatternUtils.isFutureIgnored: `*:future`, or patterns that ignore both versioned and repeatable
    future migrations."""
    parsed = [tuple(p.strip().lower().split(":", 1)) for p in patterns if ":" in p]
    if ("*", "future") in parsed:
        return True

    def ignores(kind: str) -> bool:
        return any(t in ("*", kind) and st in ("*", "future") for t, st in parsed)

    return ignores("versioned") and ignores("repeatable")


def _failed_refusal(session: Session, info: Info, settings: Settings) -> str | None:
    """DbMigrate.migrateGroup: a failed migration in the history stops migrate even without validation."""
    failed = info.failed
    if not failed:
        return None
    if len(failed) == 1 and failed[0].state == FUTURE_FAILED and _future_ignored(settings.ignore_migration_patterns):
        return None
    first = failed[0]
    if first.version is None:
        return f'Schema {quote_ident(session.schema)} contains a failed repeatable migration ("{first.description}") !'
    return f"Schema {quote_ident(session.schema)} contains a failed migration to version {first.version} !"


def _apply(conn, runner: Runner, history: SchemaHistory, pending: list[Resolved], result: MigrateResult, on_applied,
           refusal: str | None, roles: dict[int, str] | None = None) -> None:
    """Apply `pending` in order, unless `refusal` (DbMigrate's failed-migration refusal) stops the run; `roles`:
    the role a pending migration (by id) runs as instead of the session's."""
    installed_by = current_user(conn)
    own = runner.session
    per_statement = any(runner.has(event) for event in ("beforeEachMigrateStatement", "afterEachMigrateStatement",
                                                        "afterEachMigrateStatementError"))
    try:
        runner.callbacks("beforeMigrate")
    except ScriptFailed as exc:  # Flyway's afterMigrateError covers the migrations only, not before/afterMigrate
        result.failure = exc.failure
        return
    if refusal is not None:
        result.refused = [refusal]
        _after_error(runner, result)
        return
    try:
        previous_versioned = True
        for resolved in pending:
            prepared: Prepared = resolved.key  # type: ignore[assignment]
            if roles is not None:
                role = roles.get(id(resolved))
                runner.session = own if role is None else dataclasses.replace(own, role=role)
            if previous_versioned and resolved.version is None:
                runner.callbacks("afterVersioned")
                runner.callbacks("beforeRepeatables")
                previous_versioned = False
            applied = _apply_one(conn, runner, history, prepared, resolved, installed_by, per_statement)
            result.migrations.append(applied)
            if on_applied:
                on_applied(applied)
        runner.session = own
        if previous_versioned:
            runner.callbacks("afterVersioned")
    except ScriptFailed as exc:
        runner.session = own
        applied = exc.applied
        if applied is not None:
            result.migrations.append(applied)
            if on_applied:
                on_applied(applied)
        result.failure = exc.failure
        _after_error(runner, result)
        return
    try:
        if result.migrations:
            runner.callbacks("afterMigrateApplied")
        runner.callbacks("afterMigrate")
    except ScriptFailed as exc:
        result.failure = exc.failure


def _after_error(runner: Runner, result: MigrateResult) -> None:
    """`afterMigrateError` callbacks; when one fails too, its failure is added to the run's."""
    try:
        runner.callbacks("afterMigrateError")
    except ScriptFailed as again:
        first = result.failure
        result.failure = again.failure if first is None else Failure(
            first.path, first.line, f"{first.message} (then afterMigrateError failed: {again.failure})")


def _apply_one(conn, runner: Runner, history: SchemaHistory, prepared: Prepared, resolved: Resolved,
               installed_by: str, per_statement: bool) -> Applied:
    version = str(resolved.version) if resolved.version is not None else None

    def row(elapsed: int, success: bool) -> Applied:
        return Applied(version, resolved.description, resolved.type, resolved.script, resolved.checksum, elapsed,
                       success)

    started = time.perf_counter()
    elapsed = lambda: int((time.perf_counter() - started) * 1000)  # noqa: E731
    try:
        statements, in_transaction = _statements(prepared, runner.session, runner.migration_set.settings.mixed)
    except ScriptFailed as exc:  # unreadable, or mixed: Flyway fails before the migration starts (no callbacks, row)
        exc.applied = row(elapsed(), False)
        raise
    try:
        runner.restore_session()
        if in_transaction:
            with conn.transaction():
                _body(runner, prepared, statements, per_statement)
                history.add(version, resolved.description, resolved.type, resolved.script, resolved.checksum,
                            elapsed(), True, installed_by)
        else:
            _body(runner, prepared, statements, per_statement)
            history.add(version, resolved.description, resolved.type, resolved.script, resolved.checksum,
                        elapsed(), True, installed_by)
        return row(elapsed(), True)
    except ScriptFailed as exc:
        failed_time = elapsed()
        exc.applied = row(failed_time, False)
        if isinstance(exc, _EachCallbackFailed):
            raise  # as in Flyway: no afterEachMigrateError and no failed row for a failed before/afterEachMigrate
        try:
            runner.callbacks("afterEachMigrateError")
        except ScriptFailed:
            pass  # the migration's own failure is the one to report
        if not in_transaction:
            # Nothing can be rolled back: record the failure, as Flyway does, so the next run refuses to start.
            history.add(version, resolved.description, resolved.type, resolved.script, resolved.checksum,
                        failed_time, False, installed_by)
        raise


class _EachCallbackFailed(ScriptFailed):
    """A beforeEachMigrate or afterEachMigrate callback failed (Flyway runs them outside the migration's own error
    handling)."""


def _body(runner: Runner, prepared: Prepared, statements: list[Statement], per_statement: bool) -> None:
    _each_callbacks(runner, "beforeEachMigrate")
    runner.execute(prepared, statements, per_statement)
    _each_callbacks(runner, "afterEachMigrate")


def _each_callbacks(runner: Runner, event: str) -> None:
    try:
        runner.callbacks(event, inside=True)
    except ScriptFailed as exc:
        raise _EachCallbackFailed(exc.failure) from None


def status(conn, migration_set: MigrationSet, environment: str | None = None) -> Info:
    """Flyway's info for the database of `conn` (read-only: no lock, no table created), from the history table in
    Flyway's default schema."""
    session = Session.open(conn, environment, migration_set.settings)
    history = SchemaHistory(conn, session.schema, session.table)
    resolved = resolve(migration_set, session)
    return compute(resolved, history.rows(), settings=migration_set.settings, ignore_pending=True)
