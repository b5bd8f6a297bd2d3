"""`db clean`: drop every object in the run's schemas, as `flyway clean` does on PostgreSQL — and nothing else.

Flyway 13 (DbClean, CleanExecutor, PostgreSQLSchema.doClean):
- refuses unless `cleanDisabled` is false ("Unable to execute clean as it has been disabled with the
  'flyway.cleanDisabled' property.");
- the schemas are the configured `schemas`, with the default schema (`defaultSchema`, else the first of `schemas`,
  else the connection's current schema) put first when it is not among them; a schema that does not exist is skipped
  with "Unable to clean unknown schema: <schema>";
- the schemas Flyway created (the `SCHEMA` row of the history table names them) are dropped (`DROP SCHEMA … CASCADE`)
  after being emptied; the others are emptied and kept;
- a schema is emptied by, in this order, dropping its materialized views, views, tables (not partitions or
  inheritance children: they go with their parent), base/composite/enum/range types (shell types are re-created for
  base and pseudo types, then dropped once their functions are gone), functions, aggregates and procedures, enums,
  domains, sequences, the re-created shell types, collations, and the extensions the current user owns in it; objects
  that belong to an extension are left to it. Every drop but the sequences' and enums' cascades. All schemas are
  emptied once in order, then again in reverse order (for dependencies between them);
- `beforeClean` / `afterClean` / `afterCleanError` callbacks.

One deliberate difference, to be conservative: ddl-cascade cleans in a single transaction and, before committing,
compares every object outside the cleaned schemas (relations, columns, column defaults, constraints, triggers,
rules, policies, functions, types, schemas, event triggers) with what was there before. If a `CASCADE` reached
anything outside them (a view in another schema on a cleaned table, a foreign key from another schema, a column of
a cleaned type…), everything is rolled back and the clean is refused, naming those objects; Flyway would have
dropped them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from ddl_cascade.db.engine import Runner, ScriptFailed, Session
from ddl_cascade.db.history import SCHEMA, SchemaHistory, quote_ident
from ddl_cascade.db.migrations import MigrationSet
from ddl_cascade.errors import CascadeError, WorkFailed

DISABLED = "Unable to execute clean as it has been disabled with the 'flyway.cleanDisabled' property."


@dataclass
class Clean:
    """What one clean did: the schemas emptied (kept) and dropped, and Flyway's warnings."""

    schemas_cleaned: list[str] = field(default_factory=list)
    schemas_dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class CleanRefused(WorkFailed):
    """The clean would change objects outside the cleaned schemas: nothing was changed (exit 1)."""


def schemas_of(settings, current: str) -> tuple[str, list[str]]:
    """(default schema, schemas to clean) as Flyway's SchemaHistoryFactory.prepareSchemas decides them."""
    default = settings.default_schema or (settings.schemas[0] if settings.schemas else current)
    schemas = list(settings.schemas)
    if default not in schemas:
        schemas.insert(0, default)
    return default, schemas


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name


def clean(conn, migration_set: MigrationSet, *, environment: str | None = None,
          lock_attempts: int | None = None) -> Clean:
    """Clean the run's schemas on the database of `conn` (autocommit); see the module docstring."""
    settings = migration_set.settings
    if settings.clean_disabled:
        raise CascadeError(DISABLED)
    session = Session.open(conn, environment)
    default, schemas = schemas_of(settings, session.schema)
    if default != session.schema:
        session = dataclasses.replace(session, schema=default)
    history = SchemaHistory(conn, default, settings.table)
    runner = Runner(conn, session, migration_set, datetime.now())
    import psycopg

    with history.locked(lock_attempts):
        try:
            try:
                runner.callbacks("beforeClean")
                try:
                    result = _clean(conn, history, schemas)
                except psycopg.Error as exc:
                    raise WorkFailed(f"clean failed: {pg_message(exc)}; nothing was changed.") from None
            except (ScriptFailed, CascadeError, WorkFailed):
                try:
                    runner.callbacks("afterCleanError")
                except ScriptFailed:
                    pass
                raise
            runner.callbacks("afterClean")
            return result
        except ScriptFailed as exc:
            raise CascadeError(f"clean failed: {exc.failure}") from None


def _clean(conn, history: SchemaHistory, schemas: list[str]) -> Clean:
    import psycopg

    result = Clean()
    created: list[str] = []
    if history.exists():
        for row in history.rows():
            if row.type == SCHEMA:
                created += [_unquote(name) for name in row.script.split(",")]
    with conn.transaction():
        before = outside_objects(conn, schemas)
        path = conn.execute("SELECT current_setting('search_path')").fetchone()[0]
        conn.execute("SELECT set_config('search_path', %s, true)",
                     (quote_ident(schemas[0]) + ("," + path if path else ""),))
        existing = []
        for schema in schemas:
            if _exists(conn, schema):
                existing.append(schema)
            else:
                result.warnings.append(f"Unable to clean unknown schema: {quote_ident(schema)}")
        for record, order in ((True, existing), (False, list(reversed(existing)))):
            for schema in order:
                if schema in created:
                    try:
                        with conn.transaction():
                            clean_schema(conn, schema)
                    except psycopg.Error:
                        pass  # it is dropped next
                else:
                    clean_schema(conn, schema)
                    if record:
                        result.schemas_cleaned.append(schema)
        for schema in schemas:
            if schema in created:
                try:
                    with conn.transaction():
                        conn.execute(f"DROP SCHEMA {quote_ident(schema)} CASCADE")
                    result.schemas_dropped.append(schema)
                except psycopg.Error:
                    result.warnings.append(f"Unable to drop schema {quote_ident(schema)}. It was cleaned instead.")
                    result.schemas_cleaned.append(schema)
        after = outside_objects(conn, schemas)
        gone = sorted(before - after)
        if gone:
            shown = ", ".join(f"{kind} {name}" for kind, _, name in gone[:10])
            more = f" and {len(gone) - 10} more" if len(gone) > 10 else ""
            raise CleanRefused(
                f"refusing to clean {', '.join(quote_ident(s) for s in schemas)}: the drops would cascade to objects "
                f"outside these schemas ({shown}{more}); nothing was changed. Drop or move those objects first.")
    return result


def pg_message(exc) -> str:
    """PostgreSQL's own message for a refused statement."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return primary.rstrip(".")


def _exists(conn, schema: str) -> bool:
    return conn.execute("SELECT COUNT(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()[0] > 0


def _names(conn, query: str, *params) -> list:
    return conn.execute(query, params).fetchall()


def clean_schema(conn, schema: str) -> None:
    """PostgreSQLSchema.doClean: each list is read just before its drops run, as Flyway does."""
    s = quote_ident(schema)
    q = lambda name: f"{s}.{quote_ident(name)}"  # noqa: E731
    for (name,) in _names(conn, "SELECT relname FROM pg_catalog.pg_class c JOIN pg_namespace n ON n.oid = "
                                "c.relnamespace WHERE c.relkind = 'm' AND n.nspname = %s", schema):
        conn.execute(f"DROP MATERIALIZED VIEW IF EXISTS {q(name)} CASCADE")
    for (name,) in _names(conn, "SELECT relname FROM pg_catalog.pg_class c JOIN pg_namespace n ON n.oid = "
                                "c.relnamespace LEFT JOIN pg_depend dep ON dep.objid = c.oid AND dep.deptype = 'e' "
                                "WHERE c.relkind = 'v' AND n.nspname = %s AND dep.objid IS NULL", schema):
        conn.execute(f"DROP VIEW IF EXISTS {q(name)} CASCADE")
    for (name,) in _names(conn, "SELECT t.table_name FROM information_schema.tables t LEFT JOIN pg_depend dep ON "
                                "dep.objid = (quote_ident(t.table_schema)||'.'||quote_ident(t.table_name))::regclass::oid "
                                "AND dep.deptype = 'e' WHERE table_schema = %s AND table_type = 'BASE TABLE' AND "
                                "dep.objid IS NULL AND NOT (SELECT EXISTS (SELECT inhrelid FROM pg_catalog.pg_inherits "
                                "WHERE inhrelid = (quote_ident(t.table_schema)||'.'||quote_ident(t.table_name))"
                                "::regclass::oid))", schema):
        conn.execute(f"DROP TABLE {q(name)} CASCADE")
    _drop_base_types(conn, schema, recreate=True)
    for name, args, kind in _names(
            conn, "SELECT proname, oidvectortypes(proargtypes), prokind FROM pg_proc INNER JOIN pg_namespace ns ON "
                  "(pg_proc.pronamespace = ns.oid) LEFT JOIN pg_depend dep ON dep.objid = pg_proc.oid AND "
                  "dep.deptype = 'e' WHERE ns.nspname = %s AND dep.objid IS NULL", schema):
        what = {"a": "AGGREGATE", "p": "PROCEDURE"}.get(kind, "FUNCTION")
        conn.execute(f"DROP {what} IF EXISTS {q(name)}({args}) CASCADE")
    for (name,) in _names(conn, "SELECT t.typname FROM pg_catalog.pg_type t INNER JOIN pg_catalog.pg_namespace n ON "
                                "n.oid = t.typnamespace WHERE n.nspname = %s AND t.typtype = 'e'", schema):
        conn.execute(f"DROP TYPE {q(name)}")
    for (name,) in _names(conn, "SELECT t.typname FROM pg_catalog.pg_type t LEFT JOIN pg_catalog.pg_namespace n ON "
                                "n.oid = t.typnamespace LEFT JOIN pg_depend dep ON dep.objid = t.oid AND "
                                "dep.deptype = 'e' WHERE t.typtype = 'd' AND n.nspname = %s AND dep.objid IS NULL",
                          schema):
        conn.execute(f"DROP DOMAIN IF EXISTS {q(name)} CASCADE")
    for (name,) in _names(conn, "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = %s",
                          schema):
        conn.execute(f"DROP SEQUENCE IF EXISTS {q(name)}")
    _drop_base_types(conn, schema, recreate=False)
    for (name,) in _names(conn, "SELECT c.collname FROM pg_catalog.pg_collation c JOIN pg_namespace n ON "
                                "c.collnamespace = n.oid LEFT JOIN pg_depend dep ON dep.objid = c.oid AND "
                                "dep.deptype = 'e' WHERE n.nspname = %s AND dep.objid IS NULL", schema):
        conn.execute(f"DROP COLLATION IF EXISTS {q(name)} CASCADE")
    for (name,) in _names(conn, "SELECT e.extname FROM pg_extension e LEFT JOIN pg_namespace n ON n.oid = "
                                "e.extnamespace LEFT JOIN pg_roles r ON r.oid = e.extowner WHERE n.nspname = %s "
                                "AND r.rolname = current_user", schema):
        conn.execute(f"DROP EXTENSION IF EXISTS {quote_ident(name)} CASCADE")


def _drop_base_types(conn, schema: str, recreate: bool) -> None:
    rows = _names(conn, "SELECT typname, typcategory FROM pg_catalog.pg_type t LEFT JOIN pg_depend dep ON "
                        "dep.objid = t.oid AND dep.deptype = 'e' WHERE (t.typrelid = 0 OR (SELECT c.relkind = 'c' "
                        "FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid)) AND NOT EXISTS(SELECT 1 FROM "
                        "pg_catalog.pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid) AND t.typnamespace "
                        "IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = %s) AND dep.objid IS NULL AND "
                        "t.typtype != 'd'", schema)
    for name, _ in rows:
        conn.execute(f"DROP TYPE IF EXISTS {quote_ident(schema)}.{quote_ident(name)} CASCADE")
    if recreate:  # Flyway re-creates user-defined and pseudo types as shells; the second pass drops them
        for name, category in rows:
            if category in ("P", "U"):
                conn.execute(f"CREATE TYPE {quote_ident(schema)}.{quote_ident(name)}")


# Every object outside the cleaned schemas that a CASCADE could take with it: (kind, identity, shown name).
_OUTSIDE = """
WITH ns AS (SELECT oid, nspname FROM pg_catalog.pg_namespace
            WHERE nspname <> ALL(%(schemas)s) AND nspname NOT IN ('pg_catalog', 'information_schema')
              AND nspname NOT LIKE 'pg\\_toast%%' AND nspname NOT LIKE 'pg\\_temp%%'),
     rel AS (SELECT c.oid, c.relname, ns.nspname FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace)
SELECT 'schema', oid::text, quote_ident(nspname) FROM ns
UNION ALL SELECT 'relation', oid::text, quote_ident(nspname) || '.' || quote_ident(relname) FROM rel
UNION ALL SELECT 'column', a.attrelid::text || '.' || a.attnum, quote_ident(rel.nspname) || '.' ||
                 quote_ident(rel.relname) || '.' || quote_ident(a.attname)
          FROM pg_catalog.pg_attribute a JOIN rel ON rel.oid = a.attrelid WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL SELECT 'column default', d.oid::text, quote_ident(rel.nspname) || '.' || quote_ident(rel.relname)
          FROM pg_catalog.pg_attrdef d JOIN rel ON rel.oid = d.adrelid
UNION ALL SELECT 'constraint', c.oid::text, quote_ident(ns.nspname) || '.' || quote_ident(c.conname)
          FROM pg_catalog.pg_constraint c JOIN ns ON ns.oid = c.connamespace
UNION ALL SELECT 'trigger', t.oid::text, quote_ident(t.tgname) || ' on ' || quote_ident(rel.nspname) || '.' ||
                 quote_ident(rel.relname) FROM pg_catalog.pg_trigger t JOIN rel ON rel.oid = t.tgrelid
UNION ALL SELECT 'rule', r.oid::text, quote_ident(r.rulename) || ' on ' || quote_ident(rel.nspname) || '.' ||
                 quote_ident(rel.relname) FROM pg_catalog.pg_rewrite r JOIN rel ON rel.oid = r.ev_class
UNION ALL SELECT 'policy', p.oid::text, quote_ident(p.polname) || ' on ' || quote_ident(rel.nspname) || '.' ||
                 quote_ident(rel.relname) FROM pg_catalog.pg_policy p JOIN rel ON rel.oid = p.polrelid
UNION ALL SELECT 'function', p.oid::text, quote_ident(ns.nspname) || '.' || quote_ident(p.proname)
          FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
UNION ALL SELECT 'type', t.oid::text, quote_ident(ns.nspname) || '.' || quote_ident(t.typname)
          FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace
UNION ALL SELECT 'event trigger', e.oid::text, quote_ident(e.evtname) FROM pg_catalog.pg_event_trigger e
"""


def outside_objects(conn, schemas: list[str]) -> set[tuple[str, str, str]]:
    return {tuple(row) for row in conn.execute(_OUTSIDE, {"schemas": list(schemas)}).fetchall()}
