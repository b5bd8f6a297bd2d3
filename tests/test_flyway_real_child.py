"""A child's own Flyway configuration (`flyway.toml` or `flyway.conf` at its root), read by the real Flyway and by us.

The real Flyway reads the file as its command line does (tests/flyway/FlywayRunner.java `configFile`: Flyway's own
configuration model, environments and defaults; its folder is the working directory), and answers `settings` (what
the configuration holds) and `info` (the migrations it resolves: version, description, type, script, checksum).
We read the same file with `ddl_cascade.flyway.settings.read` and `ddl_cascade.flyway.locations.child_locations`,
and resolve the same folder tree with `ddl_cascade.db.migrations.for_locations` (what `db --child` runs).

Hypothesis generates the configurations (both forms; prefixes, separators, suffixes in any case, nested and missing
locations, callbackLocations, placeholders, encodings, validateMigrationNaming, TOML environments with overrides,
inactive and missing environments) and a folder tree of names made for them. Every example is one JVM run.
"""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ddl_cascade.config import parse as parse_config
from ddl_cascade.db import engine
from ddl_cascade.db.migrations import for_locations
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway import settings as flyway_settings
from ddl_cascade.flyway.locations import child_locations, read_worktree, without_sublocations
from ddl_cascade.flyway import FlywayError
from flyway_real import Case, jdbc

BATCH = settings(max_examples=int(os.environ.get("CHILD_EXAMPLES", "3")), deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])
PROJECTS_PER_EXAMPLE = 14  # CHILD_EXAMPLES=30 in the environment runs a longer search

CONFIG = parse_config({"source": {"path": "shared"}, "children": [{"name": "app", "url": "unused"}]},
                      Path("/nowhere/cascade.toml"))
CHILD = CONFIG.children[0]

# -- generated configurations ------------------------------------------------------------------------------------------

def _some_folder(locations: list[str]) -> list[str]:
    """At least one filesystem location (without any, a child's are its local_paths: no Flyway setting), and one folder
    written one way only: Flyway scans `filesystem:other` and `filesystem:./other/` twice (docs/flyway.md)."""
    if "filesystem:./other/" in locations:
        locations = [x for x in locations if x != "filesystem:other"]
    return locations if any(x.startswith("filesystem:") for x in locations) else locations + ["filesystem:sql"]


FOLDERS = ["sql", "sql/sub", "other", "callbacks", "sql/.hidden"]
VALUES = {
    "sqlMigrationPrefix": st.sampled_from(["V", "M", "Mig"]),
    "repeatableSqlMigrationPrefix": st.sampled_from(["R", "Rep", "X"]),
    "baselineMigrationPrefix": st.sampled_from(["B", "Q", "Base"]),
    "sqlMigrationSeparator": st.sampled_from(["__", "-", "--", "_x_"]),
    "sqlMigrationSuffixes": st.sampled_from([[".sql"], [".pgsql"], [".sql", ".ddl"], [".SQL"], [".Psql", ".sql"]]),
    "locations": st.lists(st.sampled_from(["filesystem:sql", "filesystem:sql/sub", "filesystem:other",
                                           "filesystem:missing", "filesystem:./other/", "classpath:db/migration"]),
                          min_size=1, max_size=3).map(_some_folder),
    "callbackLocations": st.lists(st.sampled_from(["filesystem:callbacks", "filesystem:sql", "filesystem:missing"]),
                                  min_size=1, max_size=2),
    "encoding": st.sampled_from(["UTF-8", "ISO-8859-1", "utf8"]),
    "placeholders": st.dictionaries(st.sampled_from(["a", "b", "Team"]), st.sampled_from(["1", "x y", "é"]),
                                    min_size=1, max_size=3),
    "outOfOrder": st.sampled_from([True, False, "true"]),
    "validateMigrationNaming": st.sampled_from([True, False]),
    "mixed": st.booleans(),
    "table": st.sampled_from(["history", "flyway_schema_history"]),
    "baselineVersion": st.sampled_from(["1", "2.1"]),
    "defaultSchema": st.sampled_from(["app", "public"]),
    "cleanDisabled": st.booleans(),
}
KEYS = sorted(VALUES)


@st.composite
def flyway_keys(draw, at_least: tuple[str, ...] = ()) -> dict:
    chosen = set(draw(st.lists(st.sampled_from(KEYS), max_size=6))) | set(at_least)
    return {key: draw(VALUES[key]) for key in sorted(chosen)}


@st.composite
def project(draw) -> dict:
    form = draw(st.sampled_from(["toml", "toml", "conf"]))
    top = draw(flyway_keys(at_least=("locations",)))
    environments: dict[str, dict] = {}
    active = None
    if form == "toml":
        for name in draw(st.lists(st.sampled_from(["default", "dev", "prod"]), unique=True, max_size=2)):
            environments[name] = {"url": "jdbc:postgresql://nowhere/x",
                                  **({"schemas": draw(st.sampled_from([["app"], ["s1", "s2"]]))}
                                     if draw(st.booleans()) else {}),
                                  "flyway": draw(flyway_keys())}
        # Mostly an environment the file has (or none: "default"); sometimes one it lacks, which Flyway refuses.
        active = draw(st.sampled_from([None, None, "missing"] + 3 * list(environments)))
    return {"form": form, "top": top, "environments": environments, "active": active}


def naming(p: dict) -> dict:
    """The naming settings the project most likely has (to make names that match them; the oracle decides)."""
    effective = dict(p["top"])
    effective.update(p["environments"].get(p["active"] or "default", {}).get("flyway", {}))
    return effective


def toml_value(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def toml_text(p: dict) -> str:
    lines = ["[flyway]"]
    if p["active"] is not None:
        lines.append(f"environment = {toml_value(p['active'])}")
    placeholders = {}
    for key, value in p["top"].items():
        if key == "placeholders":
            placeholders = value
        else:
            lines.append(f"{key} = {toml_value(value)}")
    if placeholders:
        lines += ["[flyway.placeholders]"] + [f"{k} = {toml_value(v)}" for k, v in placeholders.items()]
    for name, env in p["environments"].items():
        lines.append(f"[environments.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in env.items() if k != "flyway"]
        overrides = dict(env["flyway"])
        env_placeholders = overrides.pop("placeholders", {})
        lines.append(f"[environments.{name}.flyway]")
        lines += [f"{k} = {toml_value(v)}" for k, v in overrides.items()]
        if env_placeholders:
            lines.append(f"[environments.{name}.flyway.placeholders]")
            lines += [f"{k} = {toml_value(v)}" for k, v in env_placeholders.items()]
    return "\n".join(lines) + "\n"


def conf_text(p: dict) -> str:
    lines = ["# a child's legacy configuration", "flyway.url=jdbc:postgresql://nowhere/x"]
    for key, value in p["top"].items():
        if key == "placeholders":
            lines += [f"flyway.placeholders.{k}={v}" for k, v in value.items()]
        elif isinstance(value, list):
            lines.append(f"flyway.{key}={','.join(value)}")
        else:
            lines.append(f"flyway.{key}={str(value).lower() if isinstance(value, bool) else value}")
    return "\n".join(lines) + "\n"


# -- a folder tree of names made for the configuration ---------------------------------------------------------------

PREFIX_POOL = ["V", "M", "Mig", "R", "Rep", "X", "B", "Q", "Base", "afterMigrate", "beforeEachMigrate", "v"]
SEPARATOR_POOL = ["__", "-", "--", "_x_", "_"]
SUFFIX_POOL = [".sql", ".SQL", ".pgsql", ".PGSQL", ".ddl", ".psql", ".txt", ".sql.conf"]
CONTENT = st.sampled_from(["SELECT 1;\n", "SELECT '${a}';\n", "SELECT 'é';\n", "SELECT '${Team}' -- ${b}\n"])


@st.composite
def tree(draw, p: dict) -> dict[str, bytes]:
    """Files in the project's folders: most named for its settings (prefixes, separator, suffixes in another case),
    the others with Flyway's defaults or noise."""
    settings_ = naming(p)
    prefixes = [settings_.get("sqlMigrationPrefix", "V"), settings_.get("repeatableSqlMigrationPrefix", "R"),
                settings_.get("baselineMigrationPrefix", "B"), "afterMigrate", "beforeEachMigrate"]
    separator = settings_.get("sqlMigrationSeparator", "__")
    suffixes = settings_.get("sqlMigrationSuffixes", [".sql"])
    files: dict[str, bytes] = {}
    versions = iter(draw(st.permutations(range(1, 40))))
    for _ in range(draw(st.integers(4, 14))):
        fits = draw(st.integers(0, 3)) > 0
        prefix = draw(st.sampled_from(prefixes if fits else PREFIX_POOL))
        kind = prefix in (prefixes[0], prefixes[2]) or (not fits and draw(st.booleans()))
        version = str(next(versions)) if kind else ""
        suffix = draw(st.sampled_from(suffixes)) if fits else draw(st.sampled_from(SUFFIX_POOL))
        if fits and draw(st.booleans()):
            suffix = suffix.upper()
        name = (prefix + version + (separator if fits else draw(st.sampled_from(SEPARATOR_POOL)))
                + draw(st.sampled_from(["a", "b_c", "é", "r" + str(next(versions))])) + suffix)
        files[f"{draw(st.sampled_from(FOLDERS))}/{name}"] = draw(CONTENT).encode("utf-8")
    return files


# -- both sides ------------------------------------------------------------------------------------------------------

SETTINGS_FIELDS = {  # Flyway's name -> (our Settings field, how Flyway's answer reads as ours)
    "sqlMigrationPrefix": ("sql_migration_prefix", str),
    "repeatableSqlMigrationPrefix": ("repeatable_sql_migration_prefix", str),
    "baselineMigrationPrefix": ("baseline_migration_prefix", str),
    "sqlMigrationSeparator": ("sql_migration_separator", str),
    "sqlMigrationSuffixes": ("sql_migration_suffixes", tuple),
    "placeholderReplacement": ("placeholder_replacement", bool),
    "outOfOrder": ("out_of_order", bool),
    "validateMigrationNaming": ("validate_migration_naming", bool),
    "mixed": ("mixed", bool),
    "baselineOnMigrate": ("baseline_on_migrate", bool),
    "baselineDescription": ("baseline_description", str),
    "table": ("table", str),
    "schemas": ("schemas", tuple),
    "defaultSchema": ("default_schema", lambda v: v),
    "createSchemas": ("create_schemas", bool),
    "validateOnMigrate": ("validate_on_migrate", bool),
    "cleanDisabled": ("clean_disabled", bool),
    "placeholders": ("placeholders", dict),
}


def their_settings(answer: dict, root: Path) -> dict:
    """Flyway's settings in our terms: locations relative to the child's root, encoding as a codec name."""
    out = {field: convert(answer[key]) for key, (field, convert) in SETTINGS_FIELDS.items()}
    out["baseline_version"] = answer["baselineVersion"]

    def relative(locations: list[str]) -> list[str]:
        kept = []
        for location in locations:
            kind, _, path = location.partition(":")
            if kind == "filesystem" and path.startswith(str(root) + "/"):
                kept.append(PurePosixPath(path[len(str(root)) + 1:]).as_posix())
            elif kind == "filesystem" and path == str(root):
                kept.append(".")
        return sorted(without_sublocations(kept))  # the order of locations decides nothing

    out["locations"] = relative(answer["locations"])
    # No callbackLocations: Flyway reads callbacks from the migration locations.
    out["callback_locations"] = relative(answer["callbackLocations"] or answer["locations"])
    out["encoding"] = answer["encoding"].lower()
    return out


def our_settings(found, root: Path) -> dict:
    locations = child_locations(found, CHILD, CONFIG)
    out = {field: getattr(found, field) for field, _ in SETTINGS_FIELDS.values()}
    out["placeholders"] = dict(found.placeholders)
    out["baseline_version"] = found.baseline_version
    out["locations"] = sorted(without_sublocations(locations.migrations))
    out["callback_locations"] = sorted(without_sublocations(locations.callbacks if locations.callbacks is not None
                                                            else locations.migrations))
    out["encoding"] = codecs.lookup(found.encoding or "utf-8").name.replace("iso8859-1", "iso-8859-1")
    return out


def ours(root: Path, file: str) -> tuple[dict, list[dict]]:
    """Our settings and resolved migrations for a child folder holding `file` (raises CascadeError)."""
    found = flyway_settings.read({file: (root / file).read_text(encoding="utf-8")})
    locations = child_locations(found, CHILD, CONFIG)
    migration_set = for_locations(locations, read_worktree(root), CONFIG, origin="child 'app'")
    session = engine.Session("public", "postgres", "db", 150000, "public", "postgres")
    resolved = [{"version": r.version.text if r.version else None, "description": r.description, "type": r.type,
                 "script": r.script, "checksum": r.checksum} for r in engine.resolve(migration_set, session)]
    return found, resolved


def _key(m: dict) -> tuple:
    return (m["version"] is None, [int(p) for p in (m["version"] or "0").split(".")], m["description"], m["script"])


def theirs(migrations: list[dict]) -> list[dict]:
    return [{k: m[k] for k in ("version", "description", "type", "script", "checksum")} for m in migrations]


def write_project(root: Path, p: dict, files: dict[str, bytes]) -> str:
    root.mkdir(parents=True)
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    name = "flyway.toml" if p["form"] == "toml" else "flyway.conf"
    (root / name).write_text(toml_text(p) if p["form"] == "toml" else conf_text(p), encoding="utf-8")
    return name


def agree(real_flyway, url: str, roots_and_files: list[tuple[Path, str]]) -> None:
    cases = []
    for root, name in roots_and_files:
        cases.append(Case("settings", {}, str(root / name)))
        cases.append(Case("info", jdbc(url), str(root / name)))
    results = real_flyway.run(cases)
    for i, (root, name) in enumerate(roots_and_files):
        answer, info = results[2 * i], results[2 * i + 1]
        text = (root / name).read_text()
        try:
            found, resolved = ours(root, name)
        except (CascadeError, FlywayError, engine.ScriptFailed) as exc:
            assert "error" in info, f"{text}\nwe refused ({exc}), Flyway did not: {answer}"
            continue
        assert "error" not in answer, f"{text}\nFlyway refused ({answer['error']}), we read {found}"
        assert our_settings(found, root) == their_settings(answer["settings"], root), text
        assert "error" not in info, f"{text}\nFlyway refused ({info['error']}), we resolved {resolved}"
        # Compared as sets: Flyway's info lists a baseline migration among the versioned ones by version, we list it
        # first (its order on a database is db.info's, not this reading's).
        assert sorted(resolved, key=_key) == sorted(theirs(info["migrations"]), key=_key), (
            f"{text}\nfiles: {sorted(read_worktree(root))}\nours: {resolved}\nFlyway's: {theirs(info['migrations'])}")


@pytest.fixture(scope="module")
def info_url(pg_server):
    name = "fw_child_settings"
    pg_server.create_database(name)
    yield pg_server.url(name)
    pg_server.drop_database(name)


@BATCH
@given(projects=st.lists(project().flatmap(lambda p: st.tuples(st.just(p), tree(p))), min_size=PROJECTS_PER_EXAMPLE,
                         max_size=PROJECTS_PER_EXAMPLE))
def test_generated_child_configs_resolve_as_flyway(real_flyway, info_url, tmp_path_factory, projects):
    base = tmp_path_factory.mktemp("children")
    roots = []
    for i, (p, files) in enumerate(projects):
        root = base / f"c{i}"
        roots.append((root, write_project(root, p, files)))
    agree(real_flyway, info_url, roots)



# -- values Flyway refuses, and those it takes -------------------------------------------------------------------------

BASE = '[flyway]\nlocations = ["filesystem:sql"]\n'
VALUE_CASES = [  # (file, text, the key our refusal names, or None when Flyway takes the value)
    ("flyway.toml", BASE + 'outOfOrder = "maybe"\n', "outOfOrder"),
    ("flyway.toml", BASE + 'outOfOrder = "TRUE"\n', None),
    ("flyway.toml", BASE + 'outOfOrder = "True"\n', None),
    ("flyway.toml", BASE + 'outOfOrder = 1\n', None),
    ("flyway.toml", BASE + 'outOfOrder = 0\n', None),
    ("flyway.toml", BASE + 'outOfOrder = 2\n', None),
    ("flyway.toml", BASE + 'outOfOrder = 1.0\n', "outOfOrder"),
    ("flyway.toml", BASE + 'validateMigrationNaming = "yes"\n', "validateMigrationNaming"),
    ("flyway.toml", '[flyway]\nlocations = "filesystem:sql"\n', "locations"),
    ("flyway.toml", '[flyway]\nlocations = "filesystem:sql,filesystem:other"\n', "locations"),
    ("flyway.toml", BASE + 'sqlMigrationSuffixes = ".sql"\n', "sqlMigrationSuffixes"),
    ("flyway.toml", BASE + 'sqlMigrationPrefix = ["V"]\n', "sqlMigrationPrefix"),
    ("flyway.toml", BASE + 'sqlMigrationPrefix = 7\n', None),
    ("flyway.toml", BASE + 'environment = "Dev"\n[environments.dev]\n', "environment"),
    ("flyway.toml", BASE + 'environment = "dev"\n[environments.dev.flyway]\noutOfOrder = "maybe"\n', "outOfOrder"),
    ("flyway.toml", BASE + '[environments.prod.flyway]\noutOfOrder = "maybe"\n', "outOfOrder"),
    ("flyway.toml", BASE + '[environments.prod]\nschemas = "app"\n', "schemas"),
    ("flyway.toml", BASE + '[flyway.placeholders]\nn = 1\nb = true\nf = 1.5\n', None),
    ("flyway.toml", BASE + 'schemas = ["app"]\n[environments.default]\nschemas = ["s1"]\n', None),
    ("flyway.toml", BASE + 'schemas = ["app"]\n', None),
    ("flyway.toml", BASE + 'baselinemigrationprefix = "Q"\n', None),
    ("flyway.toml", BASE + 'sqlmigrationprefix = "M"\n', None),
    ("flyway.toml", BASE + 'environment = "dev"\n[environments.dev]\n[environments.dev.flyway]\n'
                           'environment = "prod"\nschemas = ["s2"]\n', None),
    ("flyway.toml", BASE + 'environment = "default"\n', None),
    ("flyway.toml", BASE + '[flyway.placeholders]\na = "1"\nb = "2"\n[environments.default.flyway.placeholders]\nb = "3"\n',
     None),
    ("flyway.toml", BASE + 'environment = "dev"\n[flyway.placeholders]\na = "1"\nb = "2"\n'
                           '[environments.dev.flyway.placeholders]\nb = "3"\n', None),
    ("flyway.toml", "[flyway\nlocations = 1\n", "flyway.toml"),
    ("flyway.conf", "flyway.locations=filesystem:sql\nflyway.outOfOrder=maybe\n", "outOfOrder"),
    ("flyway.conf", "flyway.locations=filesystem:sql\nflyway.outOfOrder=TRUE\n", None),
    ("flyway.conf", "flyway.locations=filesystem:sql\nflyway.validateMigrationNaming=yes\n", "validateMigrationNaming"),
    ("flyway.conf", "flyway.locations=filesystem:sql, filesystem:other ,\nflyway.sqlMigrationSuffixes=.sql,.DDL\n",
     None),
]


@pytest.fixture(scope="module")
def value_answers(real_flyway, tmp_path_factory):
    base = tmp_path_factory.mktemp("values")
    roots = []
    for i, (file, text, _) in enumerate(VALUE_CASES):
        root = base / f"v{i}"
        (root / "sql").mkdir(parents=True)
        (root / "other").mkdir()
        (root / file).write_text(text, encoding="utf-8")
        roots.append(root)
    return roots, real_flyway.run([Case("settings", {}, str(root / file))
                                   for root, (file, _, _) in zip(roots, VALUE_CASES)])


@pytest.mark.parametrize("index", range(len(VALUE_CASES)), ids=[f"{f}:{t.splitlines()[-1][:40]}"
                                                                 for f, t, _ in VALUE_CASES])
def test_values_flyway_refuses_are_refused_with_the_file_and_key(value_answers, index):
    roots, answers = value_answers
    file, text, key = VALUE_CASES[index]
    answer = answers[index]
    if key is None:
        assert "error" not in answer, answer
        found = flyway_settings.read({file: text})
        assert our_settings(found, roots[index]) == their_settings(answer["settings"], roots[index])
    else:
        assert "error" in answer, answer
        with pytest.raises(FlywayError) as refused:
            flyway_settings.read({file: text})
        assert str(refused.value).startswith(f"{file}") and key in str(refused.value), str(refused.value)


# -- end to end: a child repository with its own flyway.toml, `db status --child` against Flyway's info ---------------

CHILD_TOML = """\
[environments.default]
url = "jdbc:postgresql://localhost/app"

[environments.ci]
url = "jdbc:postgresql://localhost/ci"

[environments.ci.flyway]
locations = ["filesystem:read-only-flyway-files/sql", "filesystem:db"]
sqlMigrationPrefix = "M"

[environments.ci.flyway.placeholders]  # replaces [flyway.placeholders] whole
owner = "ci_owner"
region = "eu-ci"

[flyway]
environment = "ci"
locations = ["filesystem:unused"]
sqlMigrationSuffixes = [".sql", ".pgsql"]
baselineMigrationPrefix = "Base"

[flyway.placeholders]
owner = "app_owner"
region = "eu"
"""
CHILD_FILES = {
    "flyway.toml": CHILD_TOML,
    "read-only-flyway-files/sql/M1__shared_users.sql": "CREATE TABLE users (id int);\n",
    "db/M2__own_orders.PGSQL": "CREATE TABLE orders (id int);\n",
    "db/sub/R__report.sql": "CREATE OR REPLACE VIEW report AS SELECT '${owner}'::text AS owner, '${region}'::text AS r;\n",
    "db/V3__default_prefix_is_not_a_migration_here.sql": "SELECT 1/0;\n",
    "db/afterMigrate__comment.sql": "COMMENT ON TABLE users IS '${owner}';\n",
    "unused/M9__inactive_location.sql": "SELECT 1/0;\n",
}


def test_child_status_through_the_cli_equals_flyways_info(make_repo, cli, real_flyway, pg_db):
    child = make_repo("child-app")
    child.commit(CHILD_FILES, "a child with its own flyway.toml")
    bare = make_repo("child-app.git", bare=True)
    child.git("push", "-q", str(bare.path), "main")
    broken = make_repo("child-broken")
    broken.commit({**CHILD_FILES, "flyway.toml": CHILD_TOML.replace('environment = "ci"\n',
                                                                   'environment = "ci"\noutOfOrder = "maybe"\n')},
                  "a bad value")
    broken_bare = make_repo("child-broken.git", bare=True)
    broken.git("push", "-q", str(broken_bare.path), "main")
    parent = make_repo("parent")
    parent.commit({"cascade.toml": f'[source]\npath = "shared"\n[[children]]\nname = "app"\nurl = "{bare.path}"\n'
                                   f'[[children]]\nname = "broken"\nurl = "{broken_bare.path}"\n',
                   "shared/sql/V1__shared_users.sql": "CREATE TABLE users (id int);\n"}, "parent")

    migrated, info = real_flyway.run([
        Case("migrate", jdbc(pg_db.url) | {"postgresql.transactional.lock": "false"}, str(child.path / "flyway.toml")),
        Case("info", jdbc(pg_db.url), str(child.path / "flyway.toml"))])
    assert migrated.get("migrated") == 3, migrated
    assert pg_db.query("SELECT owner, r FROM report") == [("ci_owner", "eu-ci")]

    status = cli("db", "status", "--child", "app", "--url", pg_db.url, "--json", cwd=parent.path)
    assert status.code == 0, status.stderr
    ours_ = [(m["version"], m["description"], m["type"], m["script"], m["checksum"], m["state"].lower())
             for m in json.loads(status.stdout)["migrations"]]
    assert ours_ == [(m["version"], m["description"], m["type"], m["script"], m["checksum"], m["state"].lower())
                     for m in info["migrations"]]
    assert [m[3] for m in ours_] == ["M1__shared_users.sql", "M2__own_orders.PGSQL", "sub/R__report.sql"]

    refused = cli("db", "status", "--child", "broken", "--url", pg_db.url, cwd=parent.path)
    assert refused.code == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == ("ddl-cascade: child 'broken': flyway.toml: flyway.outOfOrder must be true or "
                                      "false, not 'maybe'.")
