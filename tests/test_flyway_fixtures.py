"""The realistic migration folders in tests/fixtures/flyway/ are clean and really run, in Flyway's order.

Each fixture is a small project modelled on a real one, with its Flyway settings in `flyway.toml` or `flyway.conf`
(locations, callbackLocations, placeholders). These tests prove what the other engineers rely on: every name
parses, nothing is duplicated, every statement parses with pglast after placeholder replacement, no script mixes
transactional and non-transactional statements without a `.sql.conf`, and the whole folder applies on an empty
PostgreSQL database (callbacks, placeholders, COPY data, CREATE INDEX CONCURRENTLY outside a transaction). The
runner here is deliberately minimal; the real engine is `ddl_cascade.db`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pglast
import pytest

from ddl_cascade import flyway
from ddl_cascade.flyway.sqlscript import split_statements

FIXTURES = Path(__file__).parent / "fixtures" / "flyway"
PROJECTS = ["shop", "ledger", "platform", "crm"]


@dataclass
class Project:
    root: Path
    locations: list[str]
    callback_locations: list[str] | None
    placeholders: dict[str, str]

    def files(self, location: str) -> list[str]:
        base = self.root / location
        return [p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()]

    def resolution(self) -> flyway.Resolution:
        callbacks = None
        if self.callback_locations is not None:
            callbacks = {loc: self.files(loc) for loc in self.callback_locations}
        return flyway.resolve({loc: self.files(loc) for loc in self.locations}, callback_locations=callbacks)


def _strip(location: str) -> str:
    return location.removeprefix("filesystem:")


def load_project(name: str) -> Project:
    root = FIXTURES / name
    if (root / "flyway.toml").exists():
        settings = tomllib.loads((root / "flyway.toml").read_text())["flyway"]
        callbacks = settings.get("callbackLocations")
        return Project(root, [_strip(x) for x in settings["locations"]],
                       [_strip(x) for x in callbacks] if callbacks else None, dict(settings.get("placeholders", {})))
    props = dict(flyway.parse_properties((root / "flyway.conf").read_text()))
    callbacks = props.get("flyway.callbackLocations")
    return Project(
        root,
        [_strip(x.strip()) for x in props["flyway.locations"].split(",")],
        [_strip(x.strip()) for x in callbacks.split(",")] if callbacks else None,
        {k.removeprefix("flyway.placeholders."): v for k, v in props.items() if k.startswith("flyway.placeholders.")},
    )


def script_config(project: Project, migration: flyway.ResolvedMigration) -> flyway.ScriptConfig:
    conf = project.root / migration.location / (migration.script + ".conf")
    return flyway.parse_script_config(conf.read_text(), conf.name) if conf.exists() else flyway.ScriptConfig()


def script_text(project: Project, migration: flyway.ResolvedMigration, schema: str = "public") -> str:
    raw = (project.root / migration.location / migration.script).read_bytes()
    encoding = script_config(project, migration).encoding or "utf-8"
    defaults = flyway.default_placeholders(schema, "postgres", "db", filename=migration.name.filename)
    text = flyway.decode_script(raw, encoding, name=migration.path)
    return flyway.replace_placeholders(text, project.placeholders, defaults=defaults)


@pytest.mark.parametrize("name", PROJECTS)
def test_fixture_is_clean(name):
    project = load_project(name)
    resolution = project.resolution()
    assert resolution.problems == ()
    assert len(resolution.migrations) >= 8
    for item in resolution.migrations + resolution.callbacks:
        statements = split_statements(script_text(project, item))
        assert statements, item.path
        for statement in statements:
            assert len(pglast.parse_sql(statement.sql)) == 1, (item.path, statement.line)
        flags = {s.non_transactional for s in statements}
        if flags == {True, False}:
            assert script_config(project, item).execute_in_transaction is not None, item.path
    # Nothing a user meant as a migration is silently skipped.
    for path, check in resolution.checks.items():
        assert check.hints == (), path


def test_fixtures_cover_what_the_issues_ask_for():
    projects = {name: load_project(name) for name in PROJECTS}
    everything = {name: project.resolution() for name, project in projects.items()}
    scripts = [m for r in everything.values() for m in r.migrations + r.callbacks]
    raw = [(projects[name].root / m.path).read_bytes() for name, r in everything.items() for m in r.migrations]
    texts = [script_text(projects[name], m) for name, r in everything.items() for m in r.migrations]
    assert sum(len(r.migrations) + len(r.callbacks) for r in everything.values()) >= 36
    assert any("_" in m.script.split("__")[0] for m in scripts)  # underscored versions
    assert any(m.version and len(m.version.parts) == 4 and m.version.parts[0] >= 2000 for m in scripts)  # dates
    assert any(not m.script.isascii() for m in scripts)
    assert {"beforeMigrate", "afterMigrate", "beforeEachMigrate"} <= {m.name.event for m in scripts}
    assert any(m.kind is flyway.Kind.REPEATABLE for m in scripts)
    for needle in (b"$$", b"DO $", b"CREATE TYPE", b"PARTITION BY", b"FROM stdin", b"CONCURRENTLY", b"${"):
        assert any(needle in data for data in raw), needle
    assert any(data.startswith(b"\xef\xbb\xbf") for data in raw)  # a byte-order mark
    assert any(b"\r\n" in data for data in raw)  # Windows line ends
    assert any("é" in text for text, data in zip(texts, raw) if "é".encode() not in data)  # a Latin-1 script


def _run_script(conn, project: Project, item: flyway.ResolvedMigration) -> None:
    statements = split_statements(script_text(project, item))
    config = script_config(project, item)
    in_transaction = config.execute_in_transaction
    if in_transaction is None:
        in_transaction = not any(s.non_transactional for s in statements)

    def execute_all():
        for statement in statements:
            if statement.copy_data is not None:
                with conn.cursor().copy(statement.sql) as copy:
                    copy.write(statement.copy_data)
            else:
                conn.execute(statement.sql)

    if in_transaction:
        with conn.transaction():
            execute_all()
    else:
        execute_all()


@pytest.mark.parametrize("name", PROJECTS)
def test_fixture_runs_on_empty_database(name, pg_db):
    project = load_project(name)
    resolution = project.resolution()
    callbacks: dict[str, list[flyway.ResolvedMigration]] = {}
    for callback in resolution.callbacks:
        callbacks.setdefault(callback.name.event, []).append(callback)
    with pg_db.connect(autocommit=True) as conn:
        def run(event: str) -> None:
            for callback in callbacks.get(event, []):
                _run_script(conn, project, callback)

        run("beforeMigrate")
        repeatables_started = False
        for migration in resolution.migrations:
            if migration.kind is flyway.Kind.REPEATABLE and not repeatables_started:
                repeatables_started = True
                run("afterVersioned")
                run("beforeRepeatables")
            run("beforeEachMigrate")
            try:
                _run_script(conn, project, migration)
            except Exception as error:  # name the migration in the failure
                raise AssertionError(f"{migration.path}: {error}") from error
            run("afterEachMigrate")
        if not repeatables_started:
            run("afterVersioned")
        run("afterMigrateApplied")
        run("afterMigrate")
        tables = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()[0]
    assert tables >= 4
