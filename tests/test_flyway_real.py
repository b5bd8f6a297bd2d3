"""Differential tests against the real Flyway (13.x, installed by `make flyway`, driven through tests/flyway_real.py).

What ddl-cascade decides in place of Flyway is compared with what Flyway itself decides, on the fixture projects and
on inputs hypothesis generates:

a. names and versions: the migrations Flyway resolves (version, description, type, script) equal ours, and a name
   Flyway rejects with validateMigrationNaming=true is one our `naming/invalid` check flags;
b. checksums: the checksum Flyway writes into flyway_schema_history equals ours;
c. history both ways: a database migrated by `ddl-cascade db migrate` is accepted by Flyway (validate, info, migrate
   applies nothing) and one migrated by Flyway reads as fully applied by `ddl-cascade db status`; also mixed.

Every hypothesis example is a batch of cases sent to one JVM (start-up costs about a second).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddl_cascade import flyway
from ddl_cascade.db import engine
from ddl_cascade.db.migrations import build
from flyway_real import Case, FlywayUnavailable, RealFlyway, install, jdbc

FIXTURES = Path(__file__).parent / "fixtures" / "flyway"
PROJECTS = ["shop", "ledger", "platform", "crm", "checksum_vectors"]
BATCH = settings(max_examples=3, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="session")
def real_flyway() -> RealFlyway:
    try:
        install()
    except FlywayUnavailable as exc:
        raise RuntimeError(str(exc)) from None
    return RealFlyway()


# -- the fixture projects as Flyway is configured for them ------------------------------------------------------------


def _strip(location: str) -> str:
    return location.strip().removeprefix("filesystem:")


def project_settings(name: str) -> tuple[list[str], list[str] | None, dict[str, str], dict[str, str]]:
    """(locations, callbackLocations, placeholders, other Flyway keys) of a fixture project, relative to it."""
    root = FIXTURES / name
    if (root / "flyway.toml").exists():
        data = tomllib.loads((root / "flyway.toml").read_text())["flyway"]
        other = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in data.items()
                 if k not in ("environment", "locations", "callbackLocations", "placeholders")}
        callbacks = data.get("callbackLocations")
        return ([_strip(x) for x in data["locations"]], [_strip(x) for x in callbacks] if callbacks else None,
                {k: str(v) for k, v in data.get("placeholders", {}).items()}, other)
    if (root / "flyway.conf").exists():
        props = {k.removeprefix("flyway."): v for k, v in flyway.parse_properties((root / "flyway.conf").read_text())}
        callbacks = props.pop("callbackLocations", None)
        locations = [_strip(x) for x in props.pop("locations").split(",")]
        placeholders = {k.removeprefix("placeholders."): v for k, v in props.items() if k.startswith("placeholders.")}
        other = {k: v for k, v in props.items() if not k.startswith("placeholders.") and k not in ("url", "user")}
        return locations, [_strip(x) for x in callbacks.split(",")] if callbacks else None, placeholders, other
    return ["."], None, {}, {}


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def flyway_conf(root: Path, name_or_settings, url: str) -> dict[str, str]:
    locations, callbacks, placeholders, other = name_or_settings
    # Session-level advisory lock: with Flyway's default transactional lock, CREATE INDEX CONCURRENTLY waits forever
    # for Flyway's own open transaction (documented Flyway advice; ddl-cascade always locks at session level).
    conf = jdbc(url) | {"postgresql.transactional.lock": "false"} | other | {"locations": ",".join(f"filesystem:{root / loc}" for loc in locations)}
    if callbacks:
        conf["callbackLocations"] = ",".join(f"filesystem:{root / loc}" for loc in callbacks)
    conf.update({f"placeholders.{k}": v for k, v in placeholders.items()})
    return conf


def ours(root: Path, name_or_settings, *, schema: str = "public", database: str = "db") -> list[dict]:
    """What ddl-cascade resolves for a folder: the CLI's own path (db.migrations.build + db.engine.resolve)."""
    locations, callbacks, placeholders, other = name_or_settings
    migration_set = build({loc: files_under(root / loc) for loc in locations},
                          {loc: files_under(root / loc) for loc in callbacks} if callbacks else {},
                          encoding=other.get("encoding", "utf-8").lower(), placeholders=placeholders)
    session = engine.Session(schema, "postgres", database, 150000, schema, "postgres")
    return [{"version": r.version.text if r.version else None, "description": r.description, "type": r.type,
             "script": r.script, "checksum": r.checksum} for r in engine.resolve(migration_set, session)]


def theirs(migrations: list[dict]) -> list[dict]:
    return [{k: m[k] for k in ("version", "description", "type", "script", "checksum")} for m in migrations]


@pytest.fixture(scope="module")
def fixture_runs(real_flyway, pg_server):
    """Flyway's info on an empty database and its migrate on a fresh one, for every fixture project (one JVM)."""
    databases = {name: f"fw_fixture_{name}_{id(real_flyway) % 10000}" for name in PROJECTS}
    for database in databases.values():
        pg_server.create_database(database)
    info_db = pg_server.url(databases["checksum_vectors"])
    cases = [Case("info", flyway_conf(FIXTURES / n, project_settings(n), info_db)) for n in PROJECTS]
    cases += [Case("migrate", flyway_conf(FIXTURES / n, project_settings(n), pg_server.url(databases[n])))
              for n in PROJECTS]
    results = real_flyway.run(cases)
    rows = {}
    for name, database in databases.items():
        with pg_server.connect(database) as conn:
            exists = conn.execute("SELECT to_regclass('flyway_schema_history')").fetchone()[0]
            rows[name] = [] if exists is None else conn.execute('SELECT "version", "description", "type", "script", "checksum" '
                                      'FROM flyway_schema_history WHERE "type" <> \'SCHEMA\' '
                                      'ORDER BY "installed_rank"').fetchall()
    yield dict(zip(PROJECTS, results)), dict(zip(PROJECTS, results[len(PROJECTS):])), rows, databases
    for database in databases.values():
        pg_server.drop_database(database)


@pytest.mark.parametrize("name", PROJECTS)
def test_fixture_names_versions_and_checksums_equal_flyways_info(fixture_runs, name):
    info, _, _, databases = fixture_runs
    assert "error" not in info[name], info[name]
    expected = ours(FIXTURES / name, project_settings(name), database=databases["checksum_vectors"])
    assert theirs(info[name]["migrations"]) == expected


@pytest.mark.parametrize("name", PROJECTS)
def test_fixture_checksums_equal_flyways_history_rows(fixture_runs, name):
    _, migrate, rows, databases = fixture_runs
    assert "error" not in migrate[name], migrate[name]
    expected = ours(FIXTURES / name, project_settings(name), database=databases[name])
    assert [dict(zip(("version", "description", "type", "script", "checksum"), row)) for row in rows[name]] == expected
    assert migrate[name]["migrated"] == len(expected)
