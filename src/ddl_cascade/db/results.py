"""The documents `db verify`, `db migrate`, `db status`, `db repair` and `db clean` print with `--json`
(render/json.py serialises them)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
