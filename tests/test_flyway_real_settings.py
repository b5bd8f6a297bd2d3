"""The Flyway settings `db migrate` honours, each against the real Flyway (13.x, tests/flyway_real.py).

Every case is a pair of fresh databases with the same starting state (schemas created first, some holding an object,
sometimes a history written by a first real-Flyway run) and the same migration folder. The real Flyway migrates one,
ddl-cascade (`engine.migrate` with the settings read as flyway.conf says them, or the CLI with cascade.toml
`[environments.NAME]` keys) the other. Then both must agree on:
- the outcome: both migrate, or both refuse with the same sentence;
- the history rows (all columns but installed_on and execution_time, which is compared for Flyway's own markers),
  read from the table Flyway's settings name, in Flyway's default schema;
- the schemas and the relations in them, and what the migrations saw (`current_setting('search_path')`,
  `current_schema()`, `${flyway:defaultSchema}`, `${flyway:table}`), which the probe tables record;
- each other's reading: Flyway's `validate` and `info` answer the same on both databases, and so does
  `engine.status`.

Settings covered: table, schemas, defaultSchema, createSchemas, baselineOnMigrate, baselineVersion,
baselineDescription, validateOnMigrate. Every hypothesis example is one batch: two JVM runs for all its cases.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ddl_cascade.db import engine
from ddl_cascade.db.history import quote_ident
from ddl_cascade.db.migrations import build
from ddl_cascade.flyway import settings as flyway_settings
from flyway_real import Case, jdbc

BATCH = settings(max_examples=3, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])
_names = itertools.count(1)

# What a schema may hold before the run. Flyway calls a schema with only a composite type, a materialized view or a
# partitioned table "empty" (PostgreSQLSchema.doEmpty); the others make it non-empty.
OBJECTS = {
    "table": "CREATE TABLE {s}.pre_t (id int)",
    "view": "CREATE VIEW {s}.pre_v AS SELECT 1 AS x",
    "sequence": "CREATE SEQUENCE {s}.pre_seq",
    "function": "CREATE FUNCTION {s}.pre_f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "enum": "CREATE TYPE {s}.pre_e AS ENUM ('a')",
    "domain": "CREATE DOMAIN {s}.pre_d AS int",
    "composite": "CREATE TYPE {s}.pre_c AS (a int)",
    "matview": "CREATE MATERIALIZED VIEW {s}.pre_m AS SELECT 1 AS x",
    "partitioned": "CREATE TABLE {s}.pre_p (d date) PARTITION BY RANGE (d)",
}
SCHEMA_NAMES = ["public", "app", "Odd Schema-1", "ünï.code"]
TABLE_NAMES = ["flyway_schema_history", "history", "My History", "hist-ö.2", "HISTORY_TABLE"]

PROBE = ("CREATE TABLE probe_{n} AS SELECT current_setting('search_path') AS sp, current_schema() AS cs, "
         "'${{flyway:defaultSchema}}'::text AS ds, '${{flyway:table}}'::text AS tb;\n")
FILES = {
    "V1__one.sql": PROBE.format(n="v1"),
    "V2__two.sql": "CREATE TABLE probe_v2 (id int);\n",
    "V3__three.sql": "CREATE VIEW probe_v3 AS SELECT 1 AS x;\n",
    "R__r.sql": "CREATE OR REPLACE VIEW probe_r AS SELECT 2 AS y;\n",
}
CALLBACKS = {  # every callback records where it ran (its table lands in the first schema of its search_path)
    f"{event}.sql": (f"CREATE TABLE IF NOT EXISTS probe_cb (e text, sp text, cs text);\n"
                     f"INSERT INTO probe_cb VALUES ('{event}', current_setting('search_path'), current_schema());\n")
    for event in ("beforeCreateSchema", "beforeBaseline", "afterBaseline", "beforeMigrate", "afterMigrate")
}
# Changes between a first Flyway run and the compared one (validateOnMigrate cases).
CHANGES = {
    "checksum": lambda files: files.update({"V1__one.sql": files["V1__one.sql"] + "-- changed\n"}),
    "missing": lambda files: files.pop("V2__two.sql"),
    "ignored": lambda files: files.update({"V1.5__late.sql": "CREATE TABLE probe_late (id int);\n"}),
    "newer": lambda files: files.update({"V4__four.sql": "CREATE TABLE probe_v4 (id int);\n"}),
    "repeatable": lambda files: files.update({"R__r.sql": "CREATE OR REPLACE VIEW probe_r AS SELECT 3 AS y;\n"}),
}
FAILING = {"V3.5__bad.sql": "CREATE INDEX CONCURRENTLY bad_idx ON no_such_table (x);\n"}  # leaves a failed row


@dataclass
class Scenario:
    """One pair of databases: the starting state, the folder(s) and the Flyway settings of the compared run."""

    conf: dict[str, str]  # Flyway keys without `flyway.`
    existing: dict[str, str | None] = field(default_factory=dict)  # schema -> object kind it holds (None: nothing)
    files: dict[str, str] = field(default_factory=lambda: dict(FILES))
    first: dict[str, str] | None = None  # a first real-Flyway run on both databases with these files
    first_conf: dict[str, str] = field(default_factory=dict)


def flyway_conf(url: str, folder: Path, conf: dict[str, str]) -> dict[str, str]:
    return jdbc(url) | {"postgresql.transactional.lock": "false", "locations": f"filesystem:{folder}"} | conf


def run_settings(conf: dict[str, str]) -> flyway_settings.Settings:
    """The settings exactly as ddl-cascade reads a flyway.conf holding these keys."""
    return flyway_settings.from_conf("".join(f"flyway.{k}={v}\n" for k, v in conf.items()))


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def our_migrate(url_db, folder: Path, conf: dict[str, str]) -> engine.MigrateResult:
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    migration_set = build({".": files}, {".": files}, encoding="utf-8", placeholders={}, settings=run_settings(conf))
    with url_db.connect() as conn:
        return engine.migrate(conn, migration_set)


def our_status(db, folder: Path, conf: dict[str, str]) -> list[tuple]:
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    migration_set = build({".": files}, {".": files}, encoding="utf-8", placeholders={}, settings=run_settings(conf))
    with db.connect() as conn:
        info = engine.status(conn, migration_set)
    return [(m.state, m.version, m.description, m.type, m.script, m.checksum, m.installed_rank)
            for m in info.migrations] + [("problem", p) for p in info.problems]


def history_of(db, conf: dict[str, str]) -> list[tuple] | None:
    """The history rows where Flyway keeps them for `conf` (None: no table)."""
    run = run_settings(conf)
    schema = run.history_schema or "public"
    name = f"{quote_ident(schema)}.{quote_ident(run.table)}"
    with db.connect() as conn:
        if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is None:
            return None
        return conn.execute(
            'SELECT "installed_rank", "version", "description", "type", "script", "checksum", "installed_by", '
            f'CASE WHEN "type" IN (\'SCHEMA\', \'BASELINE\') THEN "execution_time" END, "success" FROM {name} '
            'ORDER BY "installed_rank"').fetchall()


def objects_of(db) -> dict:
    """Schemas, their relations and types, and what the probe tables recorded."""
    with db.connect() as conn:
        schemas = [r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' "
            "ORDER BY nspname").fetchall()]
        relations = conn.execute(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) ORDER BY 1, 2", (schemas,)).fetchall()
        probes = {}
        for schema, name, kind in relations:
            if name.startswith("probe_") and kind in ("r", "v"):
                probes[(schema, name)] = conn.execute(
                    f"SELECT * FROM {quote_ident(schema)}.{quote_ident(name)}").fetchall()
    return {"schemas": schemas, "relations": relations, "probes": probes}


def prepare(db, scenario: Scenario) -> None:
    with db.connect() as conn:
        for schema, kind in scenario.existing.items():
            if schema != "public":
                conn.execute(f"CREATE SCHEMA {quote_ident(schema)}")
            if kind is not None:
                conn.execute(OBJECTS[kind].format(s=quote_ident(schema)))


RESET = (
    "DO $$ DECLARE s text; BEGIN FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
    "AND nspname <> 'information_schema' LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END $$;"
    "CREATE SCHEMA public AUTHORIZATION pg_database_owner; GRANT USAGE ON SCHEMA public TO PUBLIC;"
)


@pytest.fixture(scope="module")
def databases(pg_server):
    """Pairs of databases, reused from batch to batch (CREATE DATABASE costs up to a second on a busy machine):
    before each scenario both of a pair are reset to the same state, an empty `public` only."""
    from pgserver import PgDatabase

    pairs = [tuple(PgDatabase(pg_server, f"fs_{side}_{next(_names)}") for side in ("a", "b"))
             for _ in KINDS]
    for pair in pairs:
        for db in pair:
            pg_server.create_database(db.name)
    yield pairs
    for pair in pairs:
        for db in pair:
            pg_server.drop_database(db.name)


def run_batch(real_flyway, databases, root: Path, scenarios: list[Scenario]) -> None:
    """Migrate each scenario's pair (Flyway on one, ddl-cascade on the other) and compare everything."""
    pairs = []
    first_cases, main_cases = [], []
    for i, (scenario, (theirs, ours)) in enumerate(zip(scenarios, databases)):
        for db in (theirs, ours):
            db.query(RESET)
            prepare(db, scenario)
        folder = write(root / f"s{i}", scenario.files)
        if scenario.first is not None:
            before = write(root / f"s{i}-first", scenario.first)
            for db in (theirs, ours):
                first_cases.append(Case("migrate", flyway_conf(db.url, before, scenario.first_conf or scenario.conf)))
        main_cases.append(Case("migrate", flyway_conf(theirs.url, folder, scenario.conf)))
        pairs.append((scenario, theirs, ours, folder))
    results = real_flyway.run(first_cases + main_cases)
    migrated = results[len(first_cases):]
    ours_results = [our_migrate(ours, folder, s.conf) for s, _, ours, folder in pairs]
    checks = []
    for scenario, theirs, ours, folder in pairs:
        for db in (theirs, ours):
            checks += [Case("validate", flyway_conf(db.url, folder, scenario.conf)),
                       Case("info", flyway_conf(db.url, folder, scenario.conf))]
    readings = real_flyway.run(checks)
    for i, ((scenario, theirs, ours, folder), flyway_result, our_result) in enumerate(
            zip(pairs, migrated, ours_results)):
        where = f"scenario {i}: {scenario}"
        if "error" in flyway_result:
            assert not our_result.ok, (where, flyway_result)
            message = flyway_result["error"]
            assert our_result.failure is None and our_result.refused, (where, our_result)
            if message.startswith("Validate failed"):  # Flyway's heading, then the messages one per line
                assert all(m in message for m in our_result.refused), (where, message)
            else:  # a non-empty schema without history, a failed migration without validation: Flyway's sentence
                assert our_result.refused == [message], (where, message)
        else:
            assert our_result.ok, (where, our_result)
            assert flyway_result["migrated"] == len(our_result.migrations), (where, flyway_result)
        assert history_of(ours, scenario.conf) == history_of(theirs, scenario.conf), where
        assert objects_of(ours) == objects_of(theirs), where
        v_theirs, i_theirs, v_ours, i_ours = readings[4 * i:4 * i + 4]
        assert v_ours == v_theirs, (where, v_ours, v_theirs)
        assert i_ours == i_theirs, (where, i_ours, i_theirs)
        assert our_status(ours, folder, scenario.conf) == our_status(theirs, folder, scenario.conf), where
        if v_theirs.get("valid") is True:
            assert not any(m["state"] == "PENDING" for m in i_ours.get("migrations", [])), where


# -- generated scenarios ------------------------------------------------------------------------------------------


NON_EMPTY = ["table", "view", "sequence", "function", "enum", "domain"]
FLYWAY_EMPTY = ["composite", "matview", "partitioned"]
KINDS = ["schemas", "refused", "baseline", "baseline", "validate-off", "validate"]  # one scenario each per example


@st.composite
def scenarios(draw, kind: str) -> Scenario:
    """A scenario of `kind`: `schemas` (fresh or Flyway-empty schemas, some missing), `refused`/`baseline` (a
    non-empty schema without history, baselineOnMigrate off/on), `validate`/`validate-off` (a first Flyway run, then
    changed files, validateOnMigrate on or off)."""
    pool = st.sampled_from(SCHEMA_NAMES)
    conf: dict[str, str] = {}
    schemas = draw(st.lists(pool, max_size=3, unique=True))
    if schemas:
        conf["schemas"] = ",".join(schemas)
    default = draw(st.one_of(st.none(), pool))
    if default is not None:
        conf["defaultSchema"] = default
    default = default or (schemas[0] if schemas else "public")
    managed = schemas if default in schemas else [default, *schemas]  # Flyway's schemas
    table = draw(st.sampled_from(TABLE_NAMES))
    if table != "flyway_schema_history":
        conf["table"] = table
    if kind in ("refused", "baseline"):
        existing: dict[str, str | None] = {name: None for name in managed}  # all there: none is created
        existing[draw(st.sampled_from(managed))] = draw(st.sampled_from(NON_EMPTY))
    else:
        existing = draw(st.dictionaries(pool, st.one_of(st.none(), st.sampled_from(FLYWAY_EMPTY)), max_size=3))
    if kind == "baseline" or (kind != "refused" and draw(st.booleans())):
        conf["baselineOnMigrate"] = "true"
        conf["baselineVersion"] = draw(st.sampled_from(["2_5", "2", "0", "1", "1.5", "3", "07", "4"]))
        if draw(st.booleans()):
            conf["baselineDescription"] = draw(st.sampled_from(["Base line é", "x" * 210]))
    if (default == "public" or default in existing) and not draw(st.integers(0, 3)):
        # Not when the default schema is missing: Flyway then retries creating the table for ten seconds.
        conf["createSchemas"] = "false"
    files = dict(FILES)
    if draw(st.booleans()):
        files.update(CALLBACKS)
    scenario = Scenario(conf, existing, files)
    if kind.startswith("validate"):  # a history exists, then the files change
        failing = draw(st.sampled_from([True, False] if kind == "validate-off" else [False, True]))
        scenario.first = dict(files) | (FAILING if failing else {})
        if failing and draw(st.sampled_from([True, False])):  # still there: a failed row, not a missing one
            scenario.files.update(FAILING)
        scenario.first_conf = dict(conf)
        for change in draw(st.lists(st.sampled_from(sorted(CHANGES)), min_size=1, max_size=3, unique=True)):
            CHANGES[change](scenario.files)
        if kind == "validate-off":
            scenario.conf["validateOnMigrate"] = "false"
    return scenario


@BATCH
@given(batch=st.tuples(*(scenarios(kind) for kind in KINDS)))
def test_generated_settings_migrate_as_flyway(real_flyway, databases, tmp_path_factory, batch):
    run_batch(real_flyway, databases, tmp_path_factory.mktemp("settings"), batch)



# -- cascade.toml end to end ----------------------------------------------------------------------------------------

SOURCE = "read-write-flyway-files"


def test_cascade_toml_environment_keys_migrate_as_flyway(real_flyway, databases, make_repo, cli):
    """`[environments.NAME]` keys reach the engine through `db migrate --env`: a non-empty schema baselined at 1.5 in
    `app`, the history in `"Change Log"`; Flyway does the same with the same keys on a twin database."""
    theirs, ours = databases[0]
    for db in (theirs, ours):
        db.query(RESET)
        prepare(db, Scenario({}, {"app": "table", "audit": None}))
    keys = {"schemas": ["app", "audit"], "table": "Change Log", "baseline_on_migrate": True,
            "baseline_version": "1.5", "baseline_description": "Before ddl-cascade", "validate_on_migrate": False}
    flyway_keys = {"schemas": "app,audit", "table": "Change Log", "baselineOnMigrate": "true",
                   "baselineVersion": "1.5", "baselineDescription": "Before ddl-cascade", "validateOnMigrate": "false"}

    def environment(name: str, db) -> str:
        lines = [f"[environments.{name}]", f'url = "{db.url}"']
        lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
        return "\n".join(lines) + "\n"

    repo = make_repo("parent")
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n' + environment("ours", ours)
                 + environment("theirs", theirs), **{f"{SOURCE}/sql/{n}": t for n, t in FILES.items()}}, "shared DDL")
    folder = Path(repo.path) / SOURCE / "sql"
    (flyway_result,) = real_flyway.run([Case("migrate", flyway_conf(theirs.url, folder, flyway_keys))])
    migrated = cli("db", "migrate", "--env", "ours", "--json", cwd=repo.path)
    assert migrated.code == 0, migrated.stderr
    scripts = [m["script"] for m in json.loads(migrated.stdout)["migrations"]]
    assert scripts == ["V2__two.sql", "V3__three.sql", "R__r.sql"]
    assert flyway_result["migrated"] == len(scripts), flyway_result
    rows = history_of(ours, flyway_keys)
    assert rows == history_of(theirs, flyway_keys)
    assert rows[0][1:5] == ("1.5", "Before ddl-cascade", "BASELINE", "Before ddl-cascade")
    assert objects_of(ours) == objects_of(theirs)

    # Each reads the other's database as its own.
    statuses = [json.loads(cli("db", "status", "--env", env, "--json", cwd=repo.path).stdout) for env in
                ("ours", "theirs")]
    assert statuses[0]["ok"] and statuses[0]["problems"] == []
    keep = ("state", "version", "script", "checksum", "installed_rank")
    assert [{k: m[k] for k in keep} for m in statuses[0]["migrations"]] == \
        [{k: m[k] for k in keep} for m in statuses[1]["migrations"]]
    readings = real_flyway.run([Case(command, flyway_conf(db.url, folder, flyway_keys))
                                for db in (theirs, ours) for command in ("validate", "info")])
    assert readings[0]["valid"] is True and readings[:2] == readings[2:]


def test_non_empty_schema_refusal_is_exit_1_with_flyways_sentence(make_repo, cli, pg_db):
    pg_db.query("CREATE TABLE legacy (id int)")
    repo = make_repo("parent")
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n', f"{SOURCE}/sql/V1__t.sql": "SELECT 1;\n"}, "DDL")
    result = cli("db", "migrate", "--url", pg_db.url, cwd=repo.path)
    assert result.code == 1, result
    assert ('Found non-empty schema(s) "public" but no schema history table. Use baseline() or set baselineOnMigrate '
            "to true to initialize the schema history table.") in result.stderr
    assert "Traceback" not in result.stderr
