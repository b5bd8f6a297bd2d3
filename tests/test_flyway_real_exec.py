"""Execution judged by the real Flyway: the same scripts run by Flyway and by ddl-cascade leave the same database.

Each scenario is a folder of migrations (and callbacks, `.sql.conf` files). Flyway migrates it into a fresh schema of
one database (`defaultSchema`), ddl-cascade (`db.engine.migrate`, the path of `db migrate`) into a fresh schema of
another (its search_path), and the test compares:

- the outcome (success, or failure and at which migration);
- the rows of `flyway_schema_history` (rank, version, description, type, script, checksum, success);
- a `pg_dump` of each database (schema and data, the history table's data left out), split by schema and
  normalised: comments and session settings dropped, the database and schema names made equal (the fixture
  projects, which create schemas of their own, get a database each). Callback scripts append (event, filename) to a
  `log` table with a serial id, so the dump also compares which callbacks ran, in which order.

Callbacks of every migrate event are checked in success and failure, including a failing callback of each kind
(which error callbacks then run, and whether a failed row is written). Then failed migrations (a transactional one,
a non-transactional one, a CREATE INDEX CONCURRENTLY): the next `migrate` of each tool refuses
(also when the other tool wrote the failed row), Flyway's `info` shows FAILED where `db status` shows Failed (exit 1).

The fixture projects are compared the same way, and hypothesis generates scripts from a pool of statement kinds (DO
blocks, COPY data, CREATE INDEX CONCURRENTLY, VACUUM, placeholders, failures). All Flyway runs of the module go to
one JVM batch (two for the cross-tool failures); each hypothesis example is one batch.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ddl_cascade.db import engine
from ddl_cascade.db.migrations import build
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway.settings import Settings
from flyway_real import Case, jdbc

FIXTURES = Path(__file__).parent / "fixtures" / "flyway"
BATCH = settings(max_examples=3, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])
HISTORY_COLUMNS = ("installed_rank", "version", "description", "type", "script", "checksum", "success")
_ids = itertools.count(1)


@dataclass
class Scenario:
    """A folder of scripts and the Flyway keys it runs with (locations and connection added by the harness)."""

    name: str
    files: dict[str, str | bytes]
    conf: dict[str, str] = field(default_factory=dict)
    root: Path | None = None  # a fixture project's own folder (then `files` is empty and conf is its settings)


def log_callback(event: str, extra: str = "") -> str:
    return (f"CREATE TABLE IF NOT EXISTS log (id serial PRIMARY KEY, event text, file text);\n{extra}"
            f"INSERT INTO log (event, file) VALUES ('{event}', '${{flyway:filename}}');\n")


# -- running a scenario with each tool --------------------------------------------------------------------------------


def write(folder: Path, files: dict[str, str | bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def flyway_case(command: str, root: Path, conf: dict[str, str], url: str) -> Case:
    # Session-level advisory lock: with the transactional one, CREATE INDEX CONCURRENTLY waits for Flyway's own
    # transaction forever (Flyway's documented advice; ddl-cascade always locks at session level).
    locations = conf.get("locations", ".")
    full = jdbc(url) | {"postgresql.transactional.lock": "false"} | conf
    full["locations"] = ",".join(f"filesystem:{root / loc}" for loc in locations.split(","))
    if "callbackLocations" in conf:
        full["callbackLocations"] = ",".join(f"filesystem:{root / loc}" for loc in conf["callbackLocations"].split(","))
    return Case(command, full)


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def migration_set(root: Path, conf: dict[str, str]):
    """What `db migrate` would build for this folder with these Flyway keys."""
    locations = conf.get("locations", ".").split(",")
    callbacks = conf["callbackLocations"].split(",") if "callbackLocations" in conf else locations
    placeholders = {k.removeprefix("placeholders."): v for k, v in conf.items() if k.startswith("placeholders.")}
    encoding = conf.get("encoding", "UTF-8")
    run = Settings(placeholders=placeholders, encoding=encoding, mixed=conf.get("mixed", "false") == "true")
    return build({loc: files_under(root / loc) for loc in locations},
                 {loc: files_under(root / loc) for loc in callbacks},
                 encoding=encoding.lower(), placeholders=placeholders, settings=run)


@dataclass(frozen=True)
class Place:
    """Where one tool migrates a scenario: a database, and a schema of its own in it (None: the whole database)."""

    database: str
    schema: str | None = None

    def connect(self, server):
        import psycopg

        options = f" options='-c search_path={self.schema}'" if self.schema else ""
        return psycopg.connect(server.conninfo(self.database) + options, autocommit=True)

    def flyway(self, server) -> dict[str, str]:
        return {"url": jdbc(server.url(self.database))["url"]} | ({"defaultSchema": self.schema} if self.schema else {})


def run_ours(server, place: Place, root: Path, conf: dict[str, str]) -> dict:
    """ddl-cascade's migrate, answered like FlywayRunner: {"migrated": n} or {"error": message}."""
    try:
        with place.connect(server) as conn:
            result = engine.migrate(conn, migration_set(root, conf))
    except CascadeError as exc:
        return {"error": str(exc)}
    if result.refused:
        return {"error": "\n".join(result.refused), "refused": True}
    if result.failure is not None:
        return {"error": str(result.failure), "failed": [m.script for m in result.migrations if not m.success]}
    return {"migrated": len(result.migrations)}


def history(server, place: Place) -> list[dict]:
    with place.connect(server) as conn:
        if conn.execute("SELECT to_regclass('flyway_schema_history')").fetchone()[0] is None:
            return []
        rows = conn.execute(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM flyway_schema_history "
                            "ORDER BY installed_rank").fetchall()
    return [dict(zip(HISTORY_COLUMNS, row)) for row in rows]


_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?([+-]\d\d)?")
_ENTRY = re.compile(r"-- (?:Data for )?Name: (.*?); Type: (.*?); Schema: (.*?); Owner: ")


def dump(server, database: str) -> dict[str | None, list[str]]:
    """pg_dump of a database (schema and data, not the history's rows), split by schema and normalised: comments
    and session settings dropped, the database's name and `${flyway:timestamp}`'s value (time-dependent: only its
    format is compared) replaced."""
    out = subprocess.run([str(server.bindir / "pg_dump"), "--no-owner", "--no-privileges",
                          "--exclude-table-data=*.flyway_schema_history", "-d", server.conninfo(database)],
                         capture_output=True, text=True, check=True).stdout
    parts: dict[str | None, list[str]] = {}
    schema = None
    for line in out.splitlines():
        entry = _ENTRY.match(line)
        if entry:
            name, kind, schema = entry.groups()
            schema = name if kind == "SCHEMA" else None if schema == "-" else schema
        if not line.strip() or line.startswith(("--", "SET ", "SELECT pg_catalog.set_config", "\\restrict",
                                                "\\unrestrict")):
            continue
        parts.setdefault(schema, []).append(_TIMESTAMP.sub("<timestamp>", line.replace(database, "<database>")))
    return parts


def outcome(answer: dict) -> str:
    return "error" if "error" in answer else "ok"


@dataclass
class Run:
    """Both tools' answers and places for one scenario."""

    scenario: Scenario
    root: Path
    theirs_at: Place
    ours_at: Place
    theirs: dict = field(default_factory=dict)
    ours: dict = field(default_factory=dict)
    later: list[dict] = field(default_factory=list)  # Flyway's answers to the cases after the first migrate
    dumps: tuple[list[str], list[str]] = ([], [])  # (Flyway's, ours), normalised

    def normalised(self, parts: dict, place: Place) -> list[str]:
        if place.schema is None:
            return [line for schema in sorted(parts, key=str) for line in parts[schema]]
        word = re.compile(rf"\b{place.schema}\b")
        return [word.sub("<schema>", line) for line in parts.get(place.schema, [])]


class Places:
    """A pair of databases (Flyway's, ours) shared by many scenarios, each in its own schema; or a pair per scenario
    (the fixture projects create schemas of their own)."""

    def __init__(self, server) -> None:
        self.server = server
        self.databases: list[str] = []
        self.shared: tuple[str, str] | None = None

    def database(self) -> str:
        name = f"xdb{next(_ids)}_{os.getpid()}"
        self.server.create_database(name)
        self.databases.append(name)
        return name

    def pair(self, own_database: bool) -> tuple[Place, Place]:
        if own_database:
            return Place(self.database()), Place(self.database())
        if self.shared is None:
            self.shared = (self.database(), self.database())
        n = next(_ids)
        places = Place(self.shared[0], f"fwschema{n}"), Place(self.shared[1], f"dcschema{n}")
        for place in places:
            with place.connect(self.server) as conn:
                conn.execute(f"CREATE SCHEMA {place.schema}")
        return places

    def take_dumps(self, runs) -> None:
        parts = {name: dump(self.server, name) for name in self.databases}
        for run in runs:
            run.dumps = (run.normalised(parts[run.theirs_at.database], run.theirs_at),
                         run.normalised(parts[run.ours_at.database], run.ours_at))

    def drop(self) -> None:
        for name in self.databases:
            self.server.drop_database(name)


def prepare(tmp: Path, places: Places, scenario: Scenario) -> Run:
    root = scenario.root or tmp / f"s{next(_ids)}"
    if scenario.root is None:
        write(root, scenario.files)
    return Run(scenario, root, *places.pair(own_database=scenario.root is not None))


def flyway_run_case(command: str, server, run: Run, place: Place | None = None) -> Case:
    case = flyway_case(command, run.root, run.scenario.conf, server.url((place or run.theirs_at).database))
    case.conf.update((place or run.theirs_at).flyway(server))
    return case


def assert_same(server, run: Run) -> None:
    name = run.scenario.name
    if name == "discard_all":
        assert run.theirs["error"] == "Unable to release PostgreSQL advisory lock" and run.ours == {"migrated": 2}
    else:
        assert outcome(run.ours) == outcome(run.theirs), (name, run.theirs, run.ours)
    if "nothing of this script was run" in run.ours.get("error", ""):
        # A script we cannot read faithfully (an unterminated quote or comment) is not run at all; Flyway sends its
        # statements until PostgreSQL rejects one, and then records a failed row when it ran without a transaction
        # (docs/flyway.md). The history before that script is the same.
        assert history(server, run.ours_at) == [row for row in history(server, run.theirs_at) if row["success"]]
        return
    assert history(server, run.ours_at) == history(server, run.theirs_at), (name, run.scenario, run.theirs, run.ours)
    theirs, ours = run.dumps
    assert any(line.startswith("CREATE TABLE") for line in theirs), (name, theirs)  # the dump did see the scenario
    if name in EACH_ERROR_AFTER_ROLLBACK:  # see CALLBACKS
        assert EACH_ERROR_ROW in ours and EACH_ERROR_ROW not in theirs
        ours = [line for line in ours if line != EACH_ERROR_ROW]
    assert ours == theirs, (name, "\n".join(l for l in ours if l not in theirs),
                            "\n".join(l for l in theirs if l not in ours))


# -- the named scenarios ----------------------------------------------------------------------------------------------

BASE = "CREATE TABLE base (id serial PRIMARY KEY, note text, n int);\n"
DO_BLOCKS = {
    "V1__base.sql": BASE,
    "V2__do.sql": (
        "DO $$\nBEGIN\n  INSERT INTO base (note) VALUES ('a;b');\n"
        "  INSERT INTO base (note) VALUES ('x''y;');\nEND\n$$;\n"
        "DO $outer$\nDECLARE s text := $inner$INSERT INTO base (note) VALUES ('$$;$$')$inner$;\n"
        "BEGIN\n  EXECUTE s;\n  EXECUTE $q$INSERT INTO base (note) VALUES ($x$; $ $x$)$q$;\nEND\n$outer$;\n"
        "INSERT INTO base (note) VALUES ('$$'), ('$x$;'), (E'\\'$$;');\n"
        "DO LANGUAGE plpgsql $$ BEGIN PERFORM 1; /* ; */ -- ;\n END $$;\n"
    ),
    "V3__function.sql": (
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE plpgsql AS $fn$\nBEGIN\n  RETURN a + 1; -- $$\nEND;\n$fn$;\n"
        "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT a * 2;\nEND;\n"
        "INSERT INTO base (note, n) VALUES ('f', f(1)), ('g', g(2));\n"
    ),
}
COPY_DATA = (
    "COPY base (note, n) FROM stdin;\n"
    "plain\t1\n"
    "tab\\there\t2\n"
    "\\N\t\\N\n"
    "back\\\\slash\t3\n"
    "semi;colon $$ 'quote'\t4\n"
    "accent é 😀\t5\n"
    "\\.\n"
    "INSERT INTO base (note) VALUES ('after copy');\n"
    "COPY base (note, n) FROM stdin WITH (FORMAT csv);\n"
    "\"quoted, comma\",6\n"
    ",7\n"
    "\\.\n"
)
COPY = {
    "V1__base.sql": BASE,
    "V2__copy.sql": COPY_DATA,
    "V3__copy_crlf.sql": COPY_DATA.replace("\n", "\r\n").replace("plain", "crlf"),
    "V4__copy_spaces_marker.sql": "COPY base (note) FROM stdin; -- ignored rest of line\nspaces\n  \\.  \nSELECT 1;\n",
}
NON_TRANSACTIONAL = {
    "V1__base.sql": BASE + "CREATE TYPE mood AS ENUM ('sad');\n",
    "V2__cic.sql": "CREATE INDEX CONCURRENTLY base_note ON base (note);\n",
    "V3__vacuum.sql": "VACUUM base;\n",
    "V4__vacuum_analyze.sql": "VACUUM (ANALYZE) base;\nCREATE UNIQUE INDEX CONCURRENTLY base_n ON base (n);\n",
    "V5__enum.sql": "ALTER TYPE mood ADD VALUE 'happy';\nCREATE TABLE after_enum (m mood);\n",
    "V6__drop_cic.sql": "DROP INDEX CONCURRENTLY base_note;\n",
    "V7__database.sql": 'CREATE DATABASE "${flyway:database}_extra";\nDROP DATABASE "${flyway:database}_extra";\n',
}
MIXED = {
    "V1__base.sql": BASE,
    "V2__mixed.sql": "CREATE TABLE m (id int);\nCREATE INDEX CONCURRENTLY m_id ON m (id);\nINSERT INTO m VALUES (1);\n",
    "V3__after.sql": "CREATE TABLE after_mixed (id int);\n",
}
CONF_FILES = {
    "V1__base.sql": BASE,
    "V2__autocommit.sql": "INSERT INTO base (note) VALUES ('autocommit');\nVACUUM base;\n",
    "V2__autocommit.sql.conf": "executeInTransaction=false\n",
    "V3__forced_tx.sql": "INSERT INTO base (note) VALUES ('forced');\n",
    "V3__forced_tx.sql.conf": "executeInTransaction=true\n",
    "V4__latin1.sql": "INSERT INTO base (note) VALUES ('café');\n".encode("latin-1"),
    "V4__latin1.sql.conf": "encoding=ISO-8859-1\n",
    "V5__raw.sql": "INSERT INTO base (note) VALUES ('${not_set} ${flyway:filename}');\n",
    "V5__raw.sql.conf": "placeholderReplacement=false\n",
    "R__raw_repeatable.sql": "CREATE OR REPLACE VIEW raw_view AS SELECT '${nope}' AS t;\n",
    "R__raw_repeatable.sql.conf": "placeholderReplacement=false\n",
}
PLACEHOLDER_NAMES = ["flyway:defaultSchema", "flyway:user", "flyway:database", "flyway:table", "flyway:filename",
                     "flyway:environment", "flyway:timestamp", "flyway:workingDirectory", "app", "APP", "other"]
PLACEHOLDERS = {
    "V1__base.sql": BASE,
    "V2__values.sql": "".join(f"INSERT INTO base (note) VALUES ('{name}=${{{name}}}');\n"
                              for name in PLACEHOLDER_NAMES),
    "R__view.sql": "CREATE OR REPLACE VIEW ${app}_view AS SELECT '${flyway:filename}' AS f, '${other}' AS o;\n",
    "afterMigrate.sql": "INSERT INTO base (note) VALUES "
                        "('callback ${flyway:filename} ${app} ${flyway:defaultSchema}');\n",
}
PLACEHOLDER_CONF = {"placeholders.app": "shop", "placeholders.other": "x ${app} à"}

EVENTS = ["beforeMigrate", "beforeEachMigrate", "afterEachMigrate", "beforeEachMigrateStatement",
          "afterEachMigrateStatement", "afterVersioned", "beforeRepeatables", "afterMigrateApplied", "afterMigrate",
          "afterMigrateError", "afterEachMigrateError", "afterEachMigrateStatementError"]
CALLBACKS = {f"callbacks/{event}.sql": log_callback(event) for event in EVENTS}
# afterEachMigrateError logs with an id of its own: for a transactional migration ddl-cascade runs it after the
# rollback (a deliberate difference, docs/flyway.md), Flyway inside the aborted transaction, where it cannot write.
CALLBACKS["callbacks/afterEachMigrateError.sql"] = \
    "INSERT INTO log VALUES (1000, 'afterEachMigrateError', '${flyway:filename}');\n"
EACH_ERROR_ROW = "1000\tafterEachMigrateError\tafterEachMigrateError.sql"
EACH_ERROR_AFTER_ROLLBACK = {"callbacks_failure_transactional", "callback_beforeEachMigrateStatement_fails"}
CALLBACKS["callbacks/afterMigrate__second.sql"] = log_callback("afterMigrate second")
CALLBACKS_OK = {
    **CALLBACKS,
    "sql/V1__base.sql": BASE,
    "sql/V2__two_statements.sql": "INSERT INTO base (note) VALUES ('one');\nINSERT INTO base (note) VALUES ('two');\n",
    "sql/V3__autocommit.sql": "CREATE INDEX CONCURRENTLY base_note ON base (note);\n",
    "sql/R__b.sql": "CREATE OR REPLACE VIEW b AS SELECT 1 AS one;\n",
    "sql/R__a.sql": "CREATE OR REPLACE VIEW a AS SELECT 1 AS one;\n",
    "callbacks/afterMigrate__vacuum.sql": "VACUUM base;\n",  # a non-transactional callback
}
CALLBACK_CONF = {"locations": "sql", "callbackLocations": "callbacks"}
CALLBACKS_FAIL_NON_TX = {
    **CALLBACKS,
    "sql/V1__base.sql": BASE,
    "sql/V2__fails.sql": "INSERT INTO base (note) VALUES ('kept');\nINSERT INTO missing VALUES (1);\n",
    "sql/V2__fails.sql.conf": "executeInTransaction=false\n",
    "sql/V3__never.sql": "CREATE TABLE never (id int);\n",
}

# A failing non-transactional script (partial changes stay, a success=false row), a failing CREATE INDEX
# CONCURRENTLY, and a failing transactional one (rolled back, no row).
FAILURES = {
    "failed_non_transactional": ({
        "V1__base.sql": BASE,
        "V2__half.sql": "CREATE TABLE half (id int);\nINSERT INTO missing VALUES (1);\nCREATE TABLE never (id int);\n",
        "V2__half.sql.conf": "executeInTransaction=false\n",
        "V3__later.sql": "CREATE TABLE later (id int);\n",
    }, {}),
    "failed_cic": ({
        "V1__base.sql": BASE,
        "V2__cic_missing.sql": "CREATE INDEX CONCURRENTLY missing_idx ON missing (id);\n",
    }, {}),
    "failed_transactional": ({
        "V1__base.sql": BASE,
        "V2__tx.sql": "CREATE TABLE rolled_back (id int);\nSELECT 1 / 0;\n",
        "V3__later.sql": "CREATE TABLE later (id int);\n",
    }, {}),
}

SCENARIOS = [
    Scenario("do_blocks", DO_BLOCKS),
    Scenario("copy", COPY),
    Scenario("non_transactional_alone", NON_TRANSACTIONAL),
    Scenario("mixed_refused", MIXED),
    Scenario("mixed_allowed", MIXED, {"mixed": "true"}),
    Scenario("script_configs", CONF_FILES),
    Scenario("placeholders", PLACEHOLDERS, PLACEHOLDER_CONF),
    Scenario("callbacks", CALLBACKS_OK, CALLBACK_CONF),
    Scenario("callbacks_failure_non_transactional", CALLBACKS_FAIL_NON_TX, CALLBACK_CONF),
    *[Scenario(name, files, conf) for name, (files, conf) in FAILURES.items()],
]
SCENARIOS.append(Scenario("callbacks_failure_transactional", {
    **CALLBACKS,
    "sql/V1__base.sql": BASE,
    "sql/V2__fails.sql": "INSERT INTO base (note) VALUES ('rolled back');\nSELECT 1 / 0;\n",
}, CALLBACK_CONF))
SCENARIOS.append(Scenario("callback_fails", {
    **CALLBACKS,
    "callbacks/afterMigrate__boom.sql": "INSERT INTO log (event, file) VALUES ('boom', 'x');\nSELECT 1 / 0;\n",
    "sql/V1__base.sql": BASE,
}, CALLBACK_CONF))
# A failing callback of each kind: Flyway's afterMigrateError covers the migrations (not before/afterMigrate), its
# afterEachMigrateError the migration's statements (not before/afterEachMigrate), and only the latter record a
# failed row for a non-transactional migration.
def boom(when: str = "true") -> str:
    return (f"INSERT INTO log (event, file) VALUES ('boom', '${{flyway:filename}}');\n"
            f"SELECT 1 / (CASE WHEN {when} THEN 0 ELSE 1 END);\n")


NON_TX_V2 = {"sql/V2__non_tx.sql": "INSERT INTO base (note) VALUES ('x');\n",
             "sql/V2__non_tx.sql.conf": "executeInTransaction=false\n"}
IN_V2 = {"beforeEachMigrate": "to_regclass('base') IS NOT NULL",
         "beforeEachMigrateStatement": "to_regclass('base') IS NOT NULL",
         "afterEachMigrate": "EXISTS (SELECT FROM base WHERE note = 'x')"}
for event in ["beforeMigrate", "beforeEachMigrate", "afterEachMigrate", "beforeEachMigrateStatement", "afterVersioned",
              "afterMigrateApplied"]:
    SCENARIOS.append(Scenario(f"callback_{event}_fails", {
        **CALLBACKS, f"callbacks/{event}__boom.sql": boom(), "sql/V1__base.sql": BASE}, CALLBACK_CONF))
for event, when in IN_V2.items():  # fails in the non-transactional V2
    SCENARIOS.append(Scenario(f"callback_{event}_fails_non_tx", {
        **CALLBACKS, f"callbacks/{event}__boom.sql": boom(when), "sql/V1__base.sql": BASE, **NON_TX_V2},
        CALLBACK_CONF))
SCENARIOS.append(Scenario("mixed_refused_callbacks", {
    **CALLBACKS, "sql/V1__base.sql": BASE,
    "sql/V2__mixed.sql": "CREATE TABLE m (id int);\nCREATE INDEX CONCURRENTLY m_id ON m (id);\n"}, CALLBACK_CONF))
# DISCARD ALL also drops the session's advisory lock: Flyway then fails to release it and reports the run as failed
# although every migration was applied; ddl-cascade reports success (docs/flyway.md).
SCENARIOS.append(Scenario("discard_all", {"V1__base.sql": BASE, "V2__discard.sql": "DISCARD ALL;\n"}))
TWICE = {"callbacks"}  # migrated a second time by each tool (nothing pending: afterMigrate runs, not ...Applied)


def fixture_project(name: str) -> Scenario:
    from test_flyway_real import project_settings

    locations, callbacks, placeholders, other = project_settings(name)
    conf = {**other, "locations": ",".join(locations)} | {f"placeholders.{k}": v for k, v in placeholders.items()}
    if callbacks:
        conf["callbackLocations"] = ",".join(callbacks)
    return Scenario(f"fixture_{name}", {}, conf, root=FIXTURES / name)


PROJECTS = ["shop", "ledger", "platform", "crm"]


@pytest.fixture(scope="module")
def runs(real_flyway, pg_server, tmp_path_factory):
    """Every scenario run by Flyway (one JVM) and by ddl-cascade; then Flyway reads ddl-cascade's failed rows."""
    tmp = tmp_path_factory.mktemp("exec")
    places = Places(pg_server)
    scenarios = SCENARIOS + [fixture_project(name) for name in PROJECTS]
    all_runs = {s.name: prepare(tmp, places, s) for s in scenarios}
    plan: list[tuple[Run, int]] = []
    cases = []
    for run in all_runs.values():
        extra = (["migrate"] if run.scenario.name in TWICE else
                 ["migrate", "info", "validate"] if run.scenario.name in FAILURES else [])
        cases += [flyway_run_case(command, pg_server, run) for command in ["migrate", *extra]]
        plan.append((run, 1 + len(extra)))
    results = iter(real_flyway.run(cases))
    for run, count in plan:
        run.theirs = next(results)
        run.later = [next(results) for _ in range(count - 1)]
        run.ours = run_ours(pg_server, run.ours_at, run.root, run.scenario.conf)
        if run.scenario.name in TWICE:
            run_ours(pg_server, run.ours_at, run.root, run.scenario.conf)
    places.take_dumps(all_runs.values())
    # Flyway on the places ddl-cascade left with a failed row: migrate (refused) and info.
    failed = [all_runs[name] for name in FAILURES]
    cross = real_flyway.run([flyway_run_case(command, pg_server, run, run.ours_at)
                             for run in failed for command in ("migrate", "info")])
    for i, run in enumerate(failed):
        run.cross = cross[2 * i: 2 * i + 2]
    yield all_runs
    places.drop()


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS] + [f"fixture_{p}" for p in PROJECTS])
def test_same_outcome_history_and_database_as_flyway(runs, pg_server, name):
    run = runs[name]
    if name.startswith("callback_"):
        assert "error" in run.theirs, run.theirs  # the scenario is meant to fail
    if name.startswith("fixture_") or name in ("do_blocks", "copy", "non_transactional_alone", "mixed_allowed",
                                               "script_configs", "placeholders", "callbacks"):
        assert "error" not in run.theirs, run.theirs  # the scenario is meant to run: a Flyway error is a bad case
    assert_same(pg_server, run)


# -- failed migrations: the message, the next run, and each tool reading the other's failed row -----------------------

_FLYWAY_FAILURE = re.compile(r"SQL State  : (\w+)\n.*?Message    : ([^\n]*)\n.*?Line       : (\d+)", re.DOTALL)


# Not callbacks_failure_transactional: there Flyway reports the afterEachMigrateError callback's own failure (it runs
# in the aborted transaction), ddl-cascade the migration's (the callback runs after the rollback; docs/flyway.md).
@pytest.mark.parametrize("name", [*FAILURES, "callbacks_failure_non_transactional"])
def test_failure_names_the_line_and_postgresql_message_flyway_names(runs, name):
    run = runs[name]
    match = _FLYWAY_FAILURE.search(run.theirs["error"])
    assert match, run.theirs
    state, message, line = match.groups()
    assert f", line {line}: {message} (SQLSTATE {state})" in run.ours["error"], (run.theirs, run.ours)


def test_mixed_refusal_is_flyways_message(runs):
    run = runs["mixed_refused"]
    assert run.ours["error"].endswith(f"V2__mixed.sql, line 2: {run.theirs['error']}"), (run.theirs, run.ours)


STATES = {"SUCCESS": "Success", "FAILED": "Failed", "PENDING": "Pending"}


def our_status(server, place: Place, run: Run) -> list[tuple[str | None, str]]:
    with place.connect(server) as conn:
        info = engine.status(conn, migration_set(run.root, run.scenario.conf))
    return [(m.version, m.state) for m in info.migrations]


@pytest.mark.parametrize("name", list(FAILURES))
def test_next_run_after_a_failure_as_flyway(runs, pg_server, name):
    """Both tools refuse (or fail again) alike, on their own history and on the other's; status shows Failed."""
    run = runs[name]
    again, info, _validate = run.later
    cross_migrate, cross_info = run.cross
    failed_row = any(not row["success"] for row in history(pg_server, run.theirs_at))
    expected_states = [(m["version"], STATES[m["state"]]) for m in info["migrations"]]
    # Flyway reads ddl-cascade's history as its own.
    assert [(m["version"], m["state"]) for m in cross_info["migrations"]] == \
        [(m["version"], m["state"]) for m in info["migrations"]]
    if failed_row:
        assert again["error"].startswith("Validate failed: Migrations have failed validation\nDetected failed "
                                         "migration to version 2"), again
        assert cross_migrate["error"] == again["error"]
    else:  # rolled back: the next run tries the same migration again and fails the same way
        assert _FLYWAY_FAILURE.search(again["error"]).groups() == _FLYWAY_FAILURE.search(run.theirs["error"]).groups()
        assert _FLYWAY_FAILURE.search(cross_migrate["error"]).groups() == \
            _FLYWAY_FAILURE.search(run.theirs["error"]).groups()
    for place in (run.ours_at, run.theirs_at):  # ddl-cascade on its own history, then on Flyway's
        assert our_status(pg_server, place, run) == expected_states, place
        ours = run_ours(pg_server, place, run.root, run.scenario.conf)
        if failed_row:
            # Flyway's refusal, without its "Validate failed" header and its advice
            assert ours.get("refused") and again["error"].splitlines()[1].rstrip(".") in ours["error"], ours
        else:
            state, message, line = _FLYWAY_FAILURE.search(run.theirs["error"]).groups()
            assert f"line {line}: {message} (SQLSTATE {state})" in ours["error"], ours


def test_cli_on_flyways_failed_row(runs, pg_server, make_repo, cli):
    """`db status` exits 1 and shows Failed where Flyway's info shows FAILED; `db migrate` refuses with its message."""
    run = runs["failed_non_transactional"]
    repo = make_repo("parent")
    repo.commit({"cascade.toml": '[source]\npath = "db"\n',
                 **{f"db/sql/{name}": content for name, content in run.scenario.files.items()}}, "shared DDL")
    url = pg_server.url(run.theirs_at.database) + f"?options=-csearch_path%3D{run.theirs_at.schema}"
    status = cli("db", "status", "--url", url, "--json", cwd=repo.path)
    assert status.code == 1, status
    assert [(m["version"], m["state"]) for m in json.loads(status.stdout)["migrations"]] == \
        [(m["version"], STATES[m["state"]]) for m in run.later[1]["migrations"]]
    migrate = cli("db", "migrate", "--url", url, cwd=repo.path)
    assert migrate.code == 1 and "Detected failed migration to version 2 (half)" in migrate.stderr, migrate


# -- generated scripts: random statements from a pool of kinds, random COPY data, random placement of placeholders ---

def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


NOTE = st.lists(st.sampled_from(["a", "b", " ", "é", ";", "$$", "$a$", "'", "\\", "${p}", "😀", "--", "/*", "*/"]),
                max_size=6).map("".join)
COPY_FIELD = st.lists(st.sampled_from(["x", " ", "é", ";", "$$", "'", "\\\\", "\\t", "\\N", "${p}", "\\."]),
                      max_size=5).map("".join)
COPY_LINE = st.tuples(COPY_FIELD, st.one_of(st.just("\\N"), st.integers(-5, 5).map(str))).map("\t".join)
STATEMENT = st.one_of(
    NOTE.map(lambda note: f"INSERT INTO base (note) VALUES ({_literal(note)});"),
    st.tuples(st.sampled_from(["$$", "$do$", "$a$"]), NOTE).map(
        lambda t: f"DO {t[0]}\nBEGIN\n  INSERT INTO base (note) VALUES ({_literal(t[1])}); -- ;\nEND\n{t[0]};"),
    st.lists(COPY_LINE, max_size=4).map(lambda lines: "COPY base (note, n) FROM stdin;\n"
                                        + "".join(line + "\n" for line in lines) + "\\."),
    st.just("CREATE INDEX CONCURRENTLY ON base (note);"),
    st.just("VACUUM base;"),
    st.just("CREATE TABLE IF NOT EXISTS other (id int);"),
    st.just("/* ; $$ */ SELECT 1;"),
    st.sampled_from(["SELECT 1 / 0;", "SELECT 2;", "SELECT 3;", "SELECT 4;"]),
)
SCRIPT_CONF = st.sampled_from([None, None, "executeInTransaction=false\n", "executeInTransaction=true\n"])
SCRIPT = st.tuples(st.lists(STATEMENT, min_size=1, max_size=4), st.sampled_from(["\n", "\r\n"]), SCRIPT_CONF)
FOLDER = st.tuples(st.lists(SCRIPT, min_size=1, max_size=3), st.booleans())
FOLDERS_PER_EXAMPLE = 8


def generated_scenario(i: int, scripts, mixed: bool) -> Scenario:
    files: dict[str, str | bytes] = {"V1__base.sql": BASE}
    for n, (statements, newline, conf) in enumerate(scripts, start=2):
        files[f"V{n}__generated.sql"] = ("\n".join(statements) + "\n").replace("\n", newline)
        if conf:
            files[f"V{n}__generated.sql.conf"] = conf
    return Scenario(f"generated_{i}", files, {"placeholders.p": "v;$'", "mixed": str(mixed).lower()})


@BATCH
@given(folders=st.lists(FOLDER, min_size=FOLDERS_PER_EXAMPLE, max_size=FOLDERS_PER_EXAMPLE))
def test_generated_scripts_run_as_flyway(real_flyway, pg_server, tmp_path_factory, folders):
    tmp = tmp_path_factory.mktemp("generated")
    places = Places(pg_server)
    try:
        runs = [prepare(tmp, places, generated_scenario(i, scripts, mixed))
                for i, (scripts, mixed) in enumerate(folders)]
        for run, answer in zip(runs, real_flyway.run([flyway_run_case("migrate", pg_server, run) for run in runs])):
            run.theirs = answer
            run.ours = run_ours(pg_server, run.ours_at, run.root, run.scenario.conf)
        places.take_dumps(runs)
        for run in runs:
            assert_same(pg_server, run)
            failure = _FLYWAY_FAILURE.search(run.theirs.get("error", ""))
            if failure and ": ERROR: " in run.ours["error"]:  # both sent the script: the same statement failed alike
                state, message, line = failure.groups()
                # Flyway names the failed statement's first line; we the line PostgreSQL points at, which may be
                # further down the statement (or in its COPY data) (docs/flyway.md).
                ours_line, ours_message = re.search(r", line (\d+): (ERROR: .*)", run.ours["error"], re.DOTALL).groups()
                assert int(ours_line) >= int(line), (run.theirs, run.ours)
                if message == "Unable to execute COPY operation":  # Flyway hides PostgreSQL's COPY error
                    assert state == "null" and "COPY" in run.scenario.files[run.ours["failed"][0]]
                else:
                    assert ours_message.startswith(message) and ours_message.endswith(f" (SQLSTATE {state})"), \
                        (run.theirs, run.ours)
    finally:
        places.drop()
