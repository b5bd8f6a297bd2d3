"""The documents `db verify`, `db migrate` and `db status` print with `--json` (render/json.py serialises them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ddl_cascade.db.engine import Applied
from ddl_cascade.db.info import MigrationInfo


@dataclass
class MigrationRun:
    """`db verify --json` and `db migrate --json`: each migration the run executed, in order."""

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
