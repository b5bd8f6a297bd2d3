"""The real PostgreSQL server the database tests run against: one per pytest-xdist worker, a fresh database per test.

The server is ddl-cascade's own throwaway server (`ddl_cascade.db.server`), so the tests also prove that it starts
on this machine. Nothing is mocked: every test talks to a real PostgreSQL over its unix socket or TCP.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ddl_cascade.db import server as pgserver

_names = itertools.count(1)


@dataclass
class PgDatabase:
    """One fresh, empty database on the session's server."""

    server: pgserver.Server
    name: str

    @property
    def url(self) -> str:
        """postgresql:// URL over TCP with the superuser's password (what a user passes to --url)."""
        return self.server.url(self.name)

    def connect(self, autocommit: bool = True):
        return self.server.connect(self.name, autocommit=autocommit)

    def query(self, sql: str, params=None) -> list[tuple]:
        with self.connect() as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []


def start_session_server() -> pgserver.Server:
    return pgserver.start()


def new_database(server: pgserver.Server, worker: str) -> PgDatabase:
    name = f"t_{worker}_{next(_names)}"
    server.create_database(name)
    return PgDatabase(server, name)
