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
import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ddl_cascade import flyway
from ddl_cascade.db import engine
from ddl_cascade.db.migrations import build
from flyway_real import Case, jdbc

FIXTURES = Path(__file__).parent / "fixtures" / "flyway"
PROJECTS = ["shop", "ledger", "platform", "crm", "checksum_vectors"]
BATCH = settings(max_examples=3, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])


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


# -- a. generated file names ------------------------------------------------------------------------------------------

PREFIXES = ["V", "R", "B", "U", "v", "r", "", "afterMigrate", "beforeEachMigrate", "afterMigrateError",
            "beforeMigrate", "afterEachMigrateError", "beforeRepeatables", "afterVersioned", "createSchemas"]
FILE_NAME = st.builds(
    lambda prefix, version, separator, description, suffix: prefix + version + separator + description + suffix,
    st.sampled_from(PREFIXES),
    st.one_of(st.just(""), st.text(alphabet="0123456789._", min_size=1, max_size=6),
              st.sampled_from(["1", "001", "1.1", "1_1", "2024.01.15.1030", "1..2", "1.", "1.2a", "+1"])),
    st.sampled_from(["__", "_", "___", "-", "", "__"]),
    st.text(alphabet="ab_XY1. é-", max_size=8),
    st.sampled_from([".sql", ".SQL", ".Sql", ".sql.conf", ".txt", ".md", "", ".sql"]),
).filter(lambda name: name not in ("", ".", "..") and not name.startswith("."))


def our_name_answer(name: str) -> dict:
    resolution = flyway.resolve({"": [name]})
    if any(p.code == "INVALID_NAME" for p in resolution.problems):
        return {"invalid": True}
    return {"migrations": [{"version": m.version.text if m.version else None, "description": m.description,
                            "type": m.type, "script": m.script} for m in resolution.migrations]}


def flyway_name_answer(name: str, result: dict) -> dict:
    if "error" in result:
        assert result["error"].startswith("Invalid SQL filenames found:") and name in result["error"], result
        return {"invalid": True}
    return {"migrations": [{k: m[k] for k in ("version", "description", "type", "script")}
                           for m in result["migrations"]]}


def names_agree(real_flyway, url: str, root: Path, names: list[str]) -> None:
    cases = []
    for i, name in enumerate(names):
        folder = root / f"n{i}"
        folder.mkdir(parents=True)
        (folder / name).write_text("SELECT 1;\n")
        cases.append(Case("info", jdbc(url) | {"locations": f"filesystem:{folder}", "validateMigrationNaming": "true"}))
    results = real_flyway.run(cases)
    for name, result in zip(names, results):
        answer, expected = flyway_name_answer(name, result), our_name_answer(name)
        if expected == {"invalid": True} and answer == {"migrations": []}:
            # Flyway skips the file without a naming error (`R.sql`, `V.sql`: not longer than prefix + suffix);
            # we still flag it, as it is never run (documented in docs/flyway.md).
            SKIPPED_NOT_REJECTED.add(name)
            continue
        if expected == {"invalid": True} and "+" in name:
            continue  # Java's BigInteger takes `V+1__`; we refuse it on purpose (docs/flyway.md, Versions)
        assert answer == expected, name


SKIPPED_NOT_REJECTED: set[str] = set()


NAMES_PER_EXAMPLE = 80


@BATCH
@given(names=st.lists(FILE_NAME, min_size=NAMES_PER_EXAMPLE, max_size=NAMES_PER_EXAMPLE))
def test_generated_names_resolve_as_flyway(real_flyway, pg_db, tmp_path_factory, names):
    names_agree(real_flyway, pg_db.url, tmp_path_factory.mktemp("names"), names)


def test_known_names_resolve_as_flyway(real_flyway, pg_db, tmp_path):
    names = ["V1.1__Add_users.sql", "V1_1__x.sql", "V001__x.sql", "V1.sql", "V1__x.SQL", "V2024.01.15.1030__orders.sql",
             "B5__baseline.sql", "R__views.sql", "afterMigrate.sql", "afterMigrate__grants.sql",
             "afterMigrateError.sql", "beforeEachMigrate__x.sql", "v1__x.sql", "CCD-4590__x.sql", "U1__x.sql",
             "schema.sql", "V1_x.sql", "V1.2a__x.sql", "R1__x.sql", "afterMigrateGrant.sql", "afterMigrate_grant.sql",
             "R.sql", "V.sql", "V57__readme.md", "V2__x.sql.conf", "V1__2__x.sql", "V+1__x.sql", "V1__.sql",
             "R__a_b.sql", "V1.0__é.sql", "R__.sql"]
    names_agree(real_flyway, pg_db.url, tmp_path, names)


# -- b. generated scripts: the checksum Flyway writes into flyway_schema_history ---------------------------------------

PIECE = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="$q{}"), max_size=12),
    st.sampled_from(["\n", "\r\n", "\r", "\ufeff", "é", "😀", "\t", " ", ";", "${a}", "${flyway:defaultSchema}",
                     "${flyway:user}", "${flyway:database}", "${flyway:filename}", "${A}"]),
)
# `$q$${a}` (no space): Flyway's reader pairs `$$` and leaves the placeholder alone; so must we.
SCRIPT = st.builds(
    lambda bom, lines, newline, final: ("\ufeff" if bom else "") + newline.join(
        f"SELECT $q${''.join(line)}$q$;" for line in lines) + (newline if final else ""),
    st.booleans(), st.lists(st.lists(PIECE, max_size=6), min_size=1, max_size=4),
    st.sampled_from(["\n", "\r\n", "\r"]), st.booleans(),
)
FOLDER = st.tuples(SCRIPT, SCRIPT)  # V1__versioned.sql, R__repeatable.sql
FOLDERS_PER_EXAMPLE = 15
_schemas = iter(range(10**9))


@BATCH
@given(folders=st.lists(FOLDER, min_size=FOLDERS_PER_EXAMPLE, max_size=FOLDERS_PER_EXAMPLE))
def test_generated_script_checksums_equal_flyways_history(real_flyway, pg_db, tmp_path_factory, folders):
    root = tmp_path_factory.mktemp("scripts")
    cases, expected, schemas = [], [], []
    for i, (versioned, repeatable) in enumerate(folders):
        schema = f"s{next(_schemas)}"
        folder = root / schema
        folder.mkdir()
        (folder / "V1__versioned.sql").write_bytes(versioned.encode("utf-8"))
        (folder / "R__repeatable.sql").write_bytes(repeatable.encode("utf-8"))
        settings_ = (["."], None, {"a": "valeur à ${x}"}, {})
        cases.append(Case("migrate", flyway_conf(folder, settings_, pg_db.url)
                          | {"schemas": schema, "defaultSchema": schema}))
        expected.append(ours(folder, settings_, schema=schema, database=pg_db.name))
        schemas.append(schema)
    results = real_flyway.run(cases)
    for schema, result, mine in zip(schemas, results, expected):
        assert "error" not in result, result
        rows = pg_db.query(f'SELECT "version", "description", "type", "script", "checksum" FROM {schema}.'
                           'flyway_schema_history WHERE "type" <> \'SCHEMA\' ORDER BY "installed_rank"')
        assert [dict(zip(("version", "description", "type", "script", "checksum"), row)) for row in rows] == mine


# -- c. history both ways: a database migrated by one tool is fully applied for the other ------------------------------

SOURCE = "read-write-flyway-files"
SHOP = FIXTURES / "shop"


def shop_repo(make_repo, versions_upto=None):
    """The shop fixture as a parent repository (cascade.toml: sql/ + callbacks/, its placeholders)."""
    files = {}
    for folder in ("sql", "callbacks"):
        for p in sorted((SHOP / folder).rglob("*")):
            if p.is_file():
                files[f"{SOURCE}/{p.relative_to(SHOP).as_posix()}"] = p.read_text(encoding="utf-8")
    repo = make_repo("parent")
    toml = f'[source]\npath = "{SOURCE}"\n[flyway.placeholders]\napp_reader = "shop_reader"\ncurrency = "EUR"\n'
    repo.commit({"cascade.toml": toml, **files}, "shared DDL")
    return repo


def shop_conf(repo, url: str, **extra: str) -> dict[str, str]:
    root = Path(repo.path) / SOURCE
    return flyway_conf(root, (["sql"], ["callbacks"], {"app_reader": "shop_reader", "currency": "EUR"}, {}), url) | extra


def shop_versions() -> list[str]:
    resolution = flyway.resolve({"sql": [p.relative_to(SHOP / "sql").as_posix()
                                         for p in (SHOP / "sql").rglob("*") if p.is_file()]})
    return [m.version.text for m in resolution.migrations if m.version is not None]


def assert_flyway_accepts(real_flyway, conf: dict[str, str]) -> None:
    validate, info, migrate = real_flyway.run([Case("validate", conf), Case("info", conf), Case("migrate", conf)])
    assert validate.get("valid") is True and validate["invalid"] == [], validate
    assert {m["state"] for m in info["migrations"]} == {"SUCCESS"}, info
    assert migrate.get("migrated") == 0, migrate


def assert_ddl_cascade_accepts(cli, repo, url: str) -> None:
    status = cli("db", "status", "--url", url, "--json", cwd=repo.path)
    assert status.code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["ok"] is True and data["problems"] == []
    assert {m["state"] for m in data["migrations"]} == {"Success"}, data["migrations"]
    again = cli("db", "migrate", "--url", url, "--json", cwd=repo.path)
    assert again.code == 0 and json.loads(again.stdout)["migrations"] == [], again.stdout


def test_database_migrated_by_ddl_cascade_is_accepted_by_flyway(real_flyway, make_repo, cli, pg_db):
    repo = shop_repo(make_repo)
    assert cli("db", "migrate", "--url", pg_db.url, cwd=repo.path).code == 0
    assert_flyway_accepts(real_flyway, shop_conf(repo, pg_db.url))


def test_database_migrated_by_flyway_is_fully_applied_for_ddl_cascade(real_flyway, make_repo, cli, pg_db):
    repo = shop_repo(make_repo)
    (result,) = real_flyway.run([Case("migrate", shop_conf(repo, pg_db.url))])
    assert result.get("migrated", 0) > 0, result
    assert_ddl_cascade_accepts(cli, repo, pg_db.url)


def test_half_by_flyway_then_ddl_cascade(real_flyway, make_repo, cli, pg_db):
    repo = shop_repo(make_repo)
    versions = shop_versions()
    (result,) = real_flyway.run([Case("migrate", shop_conf(repo, pg_db.url, target=versions[len(versions) // 2]))])
    assert result.get("migrated", 0) > 0, result
    rest = cli("db", "migrate", "--url", pg_db.url, "--json", cwd=repo.path)
    assert rest.code == 0 and json.loads(rest.stdout)["migrations"], rest.stderr
    assert_ddl_cascade_accepts(cli, repo, pg_db.url)
    assert_flyway_accepts(real_flyway, shop_conf(repo, pg_db.url))


def test_half_by_ddl_cascade_then_flyway(real_flyway, make_repo, cli, pg_db):
    repo = shop_repo(make_repo)
    versions = shop_versions()
    later = [p for p in (Path(repo.path) / SOURCE / "sql").rglob("V*.sql")
             if flyway.parse_name(p.name).version > flyway.Version(versions[len(versions) // 2])]
    saved = {p: p.read_bytes() for p in later}
    for p in later:
        p.unlink()
    assert cli("db", "migrate", "--url", pg_db.url, cwd=repo.path).code == 0
    for p, data in saved.items():
        p.write_bytes(data)
    (result,) = real_flyway.run([Case("migrate", shop_conf(repo, pg_db.url))])
    assert result.get("migrated") == len(later), result  # the repeatables are unchanged: not run again
    assert_flyway_accepts(real_flyway, shop_conf(repo, pg_db.url))
    assert_ddl_cascade_accepts(cli, repo, pg_db.url)


def test_placeholders_next_to_dollars_checksum_as_flyway(real_flyway, pg_db, tmp_path):
    """Flyway's placeholder reader pairs a `$` with the next character: `$${b}` and `$q$${b}` stay as written."""
    texts = ["SELECT '${b}';", "SELECT $${b}$$;", "SELECT $$${b}$$;", "SELECT $q$${b}$q$;", "SELECT 'x$${b}';",
             "SELECT 'xy$${b}';", "SELECT '$x${b}';", "-- ${b}\nSELECT 1;", "SELECT 1 AS ${b}; -- $", "SELECT '$$$${b}';"]
    settings_ = (["."], None, {"b": "plain"}, {})
    cases, expected = [], []
    for i, text in enumerate(texts):
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        (folder / "R__r.sql").write_text(text)
        cases.append(Case("info", flyway_conf(folder, settings_, pg_db.url)))
        expected.append(ours(folder, settings_, database=pg_db.name))
    for text, result, mine in zip(texts, real_flyway.run(cases), expected):
        assert theirs(result["migrations"]) == mine, text


def test_placeholder_replacement_off_runs_and_checksums_as_flyway(real_flyway, pg_server, tmp_path):
    """placeholderReplacement=false: `${…}` stays as written (no error for an undefined one), in what runs and in the
    repeatable's checksum; a script's `.sql.conf` placeholderReplacement=true turns it back on for that script."""
    from ddl_cascade.db.migrations import build
    from ddl_cascade.flyway.settings import Settings

    files = {"V1__undefined.sql": "CREATE TABLE t1 (v text DEFAULT '${nowhere}');\n",
             "V2__on.sql": "CREATE TABLE t2 (v text DEFAULT '${a}');\n", "V2__on.sql.conf": "placeholderReplacement=true\n",
             "R__view.sql": "CREATE OR REPLACE VIEW v AS SELECT '${a}'::text AS x;\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    theirs_db, ours_db = (f"fw_ph_off_{tag}_{os.getpid()}" for tag in ("flyway", "ours"))
    for name in (theirs_db, ours_db):
        pg_server.create_database(name)
    try:
        conf = flyway_conf(tmp_path, (["."], None, {"a": "A"}, {"placeholderReplacement": "false"}),
                           pg_server.url(theirs_db))
        (result,) = real_flyway.run([Case("migrate", conf)])
        assert result.get("migrated") == 3, result
        migration_set = build({".": files_under(tmp_path)}, {}, encoding="utf-8", placeholders={"a": "A"},
                              settings=Settings(placeholder_replacement=False, placeholders={"a": "A"}))
        with pg_server.connect(ours_db) as conn:
            assert engine.migrate(conn, migration_set).ok
        rows, defaults = [], []
        for name in (theirs_db, ours_db):
            with pg_server.connect(name) as conn:
                rows.append(conn.execute('SELECT "version", "description", "type", "script", "checksum", "success" '
                                         'FROM flyway_schema_history ORDER BY "installed_rank"').fetchall())
                defaults.append(conn.execute("SELECT table_name, column_default FROM information_schema.columns "
                                             "WHERE column_name = 'v' ORDER BY 1").fetchall()
                                + conn.execute("SELECT x FROM v").fetchall())
        assert rows[0] == rows[1] and defaults[0] == defaults[1]
        assert ("t1", "'${nowhere}'::text") in defaults[0] and ("t2", "'A'::text") in defaults[0]
    finally:
        for name in (theirs_db, ours_db):
            pg_server.drop_database(name)
