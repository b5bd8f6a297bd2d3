"""The schema history table and the schemas Flyway manages: created, filled, read and locked exactly as Flyway does
on PostgreSQL.

Why exact: a child's own Flyway must accept the history we write and carry on from it, and `db status` must read
history that Flyway wrote. So this module follows Flyway's PostgreSQL code (reference flyway.md §4):
- the table (Flyway's `table` setting, default `flyway_schema_history`) lives in Flyway's default schema; its DDL
  column by column, the primary key `<table>_pk` on installed_rank, the index `<table>_s_idx` on success, all
  identifiers double-quoted;
- a row per applied migration: installed_rank = previous max + 1 (0 for the `SCHEMA` marker of an empty table),
  version as written (normalised `_` → `.`), description cut to 200 characters (197 + "..."), script cut to 1000
  ("..." + the tail), installed_by = `current_user`, installed_on = the column default `now()`;
- the markers Flyway writes itself: `<< Flyway Schema Creation >>` (type SCHEMA, script = the created schemas quoted
  and joined by ",") when it created schemas, and the BASELINE row (`baselineVersion`, `baselineDescription`,
  checksum NULL) written with the table when `baselineOnMigrate` baselines a non-empty schema;
- a schema is "empty" as PostgreSQLSchema.doEmpty says: no table, view, sequence or TOAST table, no type other than
  arrays and composites, no function or procedure, none of them owned by an extension (a materialized view or a
  partitioned table alone leaves a schema empty for Flyway);
- the advisory lock: Flyway's magic number ("Flyway" in ASCII) plus the Java `String.hashCode()` of the quoted
  `"schema"."table"`, so ddl-cascade and a real Flyway running against the same database exclude each other.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator
from datetime import datetime

from ddl_cascade.errors import CascadeError

TABLE = "flyway_schema_history"

# Flyway's type column values (CoreMigrationType).
SQL = "SQL"
SQL_BASELINE = "SQL_BASELINE"
BASELINE = "BASELINE"
SCHEMA = "SCHEMA"
DELETE = "DELETE"
BASELINE_TYPES = frozenset({BASELINE, SQL_BASELINE, "JDBC_BASELINE"})

# 'F' 'l' 'y' 'w' 'a' 'y' as a 48-bit number (PostgreSQLAdvisoryLockTemplate.LOCK_MAGIC_NUM).
LOCK_MAGIC = (0x46 << 40) + (0x6C << 32) + (0x79 << 24) + (0x77 << 16) + (0x61 << 8) + 0x79
LOCK_ATTEMPTS = 50  # Flyway's default lockRetryCount
LOCK_INTERVAL = 1.0


@dataclass(frozen=True)
class AppliedRow:
    """One row of flyway_schema_history, as stored."""

    installed_rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None
    installed_by: str
    installed_on: datetime | None
    execution_time: int
    success: bool


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str = TABLE) -> str:
    """How Flyway prints (and hashes) the table: `"schema"."table"`."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def create_script(schema: str, table: str = TABLE) -> str:
    """PostgreSQLDatabase.getRawCreateScript without a tablespace or baseline row."""
    name = qualified(schema, table)
    return (
        f"CREATE TABLE {name} (\n"
        '    "installed_rank" INT NOT NULL,\n'
        '    "version" VARCHAR(50),\n'
        '    "description" VARCHAR(200) NOT NULL,\n'
        '    "type" VARCHAR(20) NOT NULL,\n'
        '    "script" VARCHAR(1000) NOT NULL,\n'
        '    "checksum" INTEGER,\n'
        '    "installed_by" VARCHAR(100) NOT NULL,\n'
        '    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),\n'
        '    "execution_time" INTEGER NOT NULL,\n'
        '    "success" BOOLEAN NOT NULL\n'
        ");\n"
        f'ALTER TABLE {name} ADD CONSTRAINT {quote_ident(table + "_pk")} PRIMARY KEY ("installed_rank");\n'
        f'CREATE INDEX {quote_ident(table + "_s_idx")} ON {name} ("success");'
    )


def abbreviate_description(description: str) -> str:
    return description if len(description) <= 200 else description[:197] + "..."


def abbreviate_script(script: str) -> str:
    return script if len(script) <= 1000 else "..." + script[-997:]


def java_string_hash(text: str) -> int:
    """Java's String.hashCode(): over UTF-16 code units, 32-bit signed overflow."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


def lock_number(schema: str, table: str = TABLE) -> int:
    return LOCK_MAGIC + java_string_hash(qualified(schema, table))


class SchemaHistory:
    """The history table of one schema on one connection (autocommit; transactions are opened explicitly)."""

    def __init__(self, conn, schema: str | None = None, table: str = TABLE) -> None:
        self.conn = conn
        self.schema = schema or current_schema(conn)
        self.table = table
        self.name = qualified(self.schema, table)

    def exists(self) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
            (self.schema, self.table),
        ).fetchone()
        return row is not None

    def create(self, baseline: tuple[str, str] | None = None, installed_by: str | None = None) -> None:
        """Create the table (and its key and index) in one transaction, unless another run just did; with
        `baseline` = (version, description), also its BASELINE row, as Flyway's `create(baseline=true)`."""
        with self.conn.transaction():
            if not self.exists():
                self.conn.execute(create_script(self.schema, self.table))
                if baseline is not None:
                    version, description = baseline
                    self.add(version, description, BASELINE, description, None, 0, True,
                             installed_by or current_user(self.conn))

    def add_schemas_marker(self, schemas: list[str], installed_by: str) -> int:
        """Record that this run created `schemas` (SchemaHistory.addSchemasMarker)."""
        return self.add(None, "<< Flyway Schema Creation >>", SCHEMA, ",".join(quote_ident(s) for s in schemas),
                        None, 0, True, installed_by)

    def rows(self) -> list[AppliedRow]:
        """All rows, ordered by installed_rank (Flyway's own select); [] when there is no table yet."""
        if not self.exists():
            return []
        cur = self.conn.execute(
            'SELECT "installed_rank", "version", "description", "type", "script", "checksum", "installed_by", '
            f'"installed_on", "execution_time", "success" FROM {self.name} ORDER BY "installed_rank"'
        )
        return [AppliedRow(*row) for row in cur.fetchall()]

    def add(self, version: str | None, description: str, type_: str, script: str, checksum: int | None,
            execution_time: int, success: bool, installed_by: str) -> int:
        """Insert the next row (JdbcTableSchemaHistory.doAddAppliedMigration); returns its installed_rank."""
        highest = self.conn.execute(f'SELECT MAX("installed_rank") FROM {self.name}').fetchone()[0]
        # SchemaHistory.calculateInstalledRank: the schema marker of an empty table is rank 0, anything else 1.
        rank = (0 if type_ == SCHEMA else 1) if highest is None else highest + 1
        self.conn.execute(
            f'INSERT INTO {self.name} ("installed_rank", "version", "description", "type", "script", "checksum", '
            '"installed_by", "execution_time", "success") VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)',
            (rank, version, abbreviate_description(description), type_, abbreviate_script(script), checksum,
             installed_by, execution_time, success),
        )
        return rank

    # -- the advisory lock ------------------------------------------------------------------------------------------

    @property
    def lock_number(self) -> int:
        return lock_number(self.schema, self.table)

    def acquire_lock(self, attempts: int = LOCK_ATTEMPTS, interval: float = LOCK_INTERVAL) -> None:
        """Session-level `pg_try_advisory_lock` on Flyway's key, retried like Flyway (50 tries, 1 s apart)."""
        for attempt in range(attempts):
            if self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_number,)).fetchone()[0]:
                return
            if attempt + 1 < attempts:
                time.sleep(interval)
        raise CascadeError(
            f"another migration run holds the lock on {self.name} (advisory lock {self.lock_number}); "
            "try again when it has finished."
        )

    def release_lock(self) -> None:
        self.conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_number,))

    @contextmanager
    def locked(self, attempts: int | None = None) -> Iterator[None]:
        """Hold Flyway's lock for the block (`attempts` tries, default Flyway's); released after it, unless the
        connection is gone (and the session's lock with it: the block's own error is then the one to see)."""
        self.acquire_lock() if attempts is None else self.acquire_lock(attempts=attempts)
        try:
            yield
        finally:
            import psycopg

            try:
                self.release_lock()
            except psycopg.Error:
                pass


# -- the schemas Flyway manages ---------------------------------------------------------------------------------------


def schema_exists(conn, name: str) -> bool:
    return conn.execute("SELECT COUNT(*) FROM pg_catalog.pg_namespace WHERE nspname = %s", (name,)).fetchone()[0] > 0


def schema_empty(conn, name: str) -> bool:
    """PostgreSQLSchema.doEmpty: nothing Flyway counts as an object of the schema (see the module docstring)."""
    return not conn.execute(
        "SELECT EXISTS ("
        " SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_catalog.pg_depend d ON d.objid = c.oid AND d.deptype = 'e'"
        " WHERE n.nspname = %(s)s AND d.objid IS NULL AND c.relkind IN ('r', 'v', 'S', 't')"
        " UNION ALL"
        " SELECT t.oid FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
        " LEFT JOIN pg_catalog.pg_depend d ON d.objid = t.oid AND d.deptype = 'e'"
        " WHERE n.nspname = %(s)s AND d.objid IS NULL AND t.typcategory NOT IN ('A', 'C')"
        " UNION ALL"
        " SELECT p.oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
        " LEFT JOIN pg_catalog.pg_depend d ON d.objid = p.oid AND d.deptype = 'e'"
        " WHERE n.nspname = %(s)s AND d.objid IS NULL)", {"s": name}).fetchone()[0]


def create_schema(conn, name: str) -> None:
    conn.execute(f"CREATE SCHEMA {quote_ident(name)}")


def current_schema(conn) -> str:
    schema = conn.execute("SELECT current_schema").fetchone()[0]
    if not schema:
        raise CascadeError("cannot determine the current schema: the search_path is empty.")
    return schema


def current_user(conn) -> str:
    return conn.execute("SELECT current_user").fetchone()[0]
