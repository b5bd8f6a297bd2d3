"""The documents `db verify`, `db migrate`, `db status`, `db repair`, `db clean` and `db drift` print with `--json`
(render/json.py serialises them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ddl_cascade.db.catalog import SchemaChange
from ddl_cascade.db.engine import Applied
from ddl_cascade.db.info import MigrationInfo
from ddl_cascade.db.repair import Alignment, Deletion, HistoryRow


@dataclass
class MigrationRun:
    """`db verify --json` and `db migrate --json`: each migration the run executed, in order."""

    migrations: list[Applied] = field(default_factory=list)
    ok: bool = True


@dataclass
class VerifyRun:
    """`db verify --json`: each migration the run executed, in order; `against` is the environment whose schema and
    history it started from (`--against ENV`), null for an empty database."""

    against: str | None = None
    migrations: list[Applied] = field(default_factory=list)
    ok: bool = True


@dataclass
class HistoryStatus:
    """`db status --json`: Flyway's info for one database (credentials in `target` redacted)."""

    target: str
    environment: str | None
    migrations: list[MigrationInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ok: bool = True


@dataclass
class RepairReport:
    """`db repair --json`: what repair changed in one database's schema history, in Flyway's order (credentials in
    `target` redacted).

    `removed`: the failed rows deleted; `deleted`: the Missing migrations marked deleted (the applied row and the
    installed_rank of the DELETE row added); `aligned`: the applied rows whose description, type and checksum were
    set to their file's (`before` is the row as it was)."""

    target: str
    environment: str | None
    table: str
    removed: list[HistoryRow] = field(default_factory=list)
    deleted: list[Deletion] = field(default_factory=list)
    aligned: list[Alignment] = field(default_factory=list)
    ok: bool = True


@dataclass
class CleanReport:
    """`db clean --json`: the schemas emptied (kept) and dropped (Flyway created them), and Flyway's warnings
    (credentials in `target` redacted)."""

    target: str
    environment: str | None
    schemas_cleaned: list[str] = field(default_factory=list)
    schemas_dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ok: bool = True


@dataclass
class DriftReport:
    """`db drift --json`: every difference between the schema the migrations recorded in an environment's history
    build (expected) and the schema it has (live).

    In each change `before` is the expected object (from the migrations) and `after` the live one: `added` was made
    outside the migrations, `removed` was dropped outside them, `changed` was altered. `problems`: what the history
    records but the files cannot rebuild (a missing file, a checksum mismatch, a failed row, a baseline). `replayed`:
    the migrations replayed to build the expected schema; the two PostgreSQL versions are the environment's and the
    throwaway server's. `ok`: no change and no problem."""

    environment: str | None
    target: str
    replayed: int
    live_version: str
    expected_version: str
    changes: list[SchemaChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ok: bool = True
