"""`db repair` and `db clean` against the real Flyway 13 (tests/flyway_real.py): same database, both tools, same end.

Repair: hypothesis builds scenarios whose history comes from real Flyway runs — migrations applied, repeatables
re-applied (Superseded rows), a non-transactional migration failing (a `success = false` row, versioned or
repeatable), a first run without placeholder replacement (the raw checksum older Flyway stored) — and then the
files change: edited (checksum mismatch), renamed (description mismatch), deleted (Missing, or Future when it was
the highest version), the failed file kept, fixed or deleted; sometimes with `ignoreMigrationPatterns`. Each database
is cloned (`CREATE DATABASE … TEMPLATE`); Flyway repairs one clone, `db.repair` the other. The whole history tables
must be equal (every column but installed_on and execution_time), both tools must count the same removed / deleted /
aligned rows, and Flyway's `validate` must say the same of both.

Clean: identical databases holding tables (inherited, partitioned), views, materialized views, sequences, functions,
procedures, an aggregate, enum/composite/range types, domains, a trigger, a collation and an extension, in a schema
Flyway created (dropped) and one it did not (emptied), next to a schema outside the configuration; the objects left
after each tool's clean must be equal, and the refusal when cleanDisabled is not false must be Flyway's sentence.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ddl_cascade.db import clean as cleaning
from ddl_cascade.db import repair as repairing
from ddl_cascade.db.migrations import build
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway.settings import Settings
from flyway_real import Case, jdbc

BATCH = settings(max_examples=3, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])
PLACEHOLDERS = {"p": "x"}
COLUMNS = ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by", "success")
_ids = itertools.count()


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def clone(pg_server, template: str, name: str) -> None:
    with pg_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')


def history_rows(pg_server, database: str, schema: str = "public") -> list[tuple]:
    with pg_server.connect(database) as conn:
        return conn.execute(f'SELECT {", ".join(COLUMNS)} FROM "{schema}".flyway_schema_history '
                            "ORDER BY installed_rank").fetchall()


def conf(url: str, folder: Path, **extra: str) -> dict[str, str]:
    return jdbc(url) | {"postgresql.transactional.lock": "false", "locations": f"filesystem:{folder}",
                        "placeholders.p": PLACEHOLDERS["p"]} | extra


# -- repair -----------------------------------------------------------------------------------------------------------

SCENARIO = st.fixed_dictionaries({
    "versioned": st.lists(st.sampled_from(["keep", "edit", "rename", "delete"]), min_size=2, max_size=4),
    "repeatables": st.lists(st.sampled_from(["keep", "edit", "delete"]), max_size=3),
    "rerun": st.booleans(),  # the repeatables change once and are re-applied: Superseded rows
    "failure": st.sampled_from([None, "versioned", "repeatable"]),
    "afterwards": st.sampled_from(["keep", "fix", "delete"]),  # what becomes of the failed file
    "raw": st.booleans(),  # the first migrate stores raw (placeholders not replaced) checksums
    "patterns": st.sampled_from([None, None, "*:missing", "repeatable:missing", "*:future,versioned:missing", "*:*"]),
})
SCENARIOS_PER_EXAMPLE = 4
BAD = "CREATE INDEX CONCURRENTLY bad_idx ON no_such_table (id);\n"


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def scenario_folders(root: Path, s: dict) -> tuple[list[Path], Path]:
    """(the folders Flyway migrates from, in order; the folder the repair sees)."""
    versioned = {f"V{i + 1}__table_{i + 1}.sql": f"CREATE TABLE t{i + 1} (id int);\n" for i in range(len(s["versioned"]))}
    repeatables = {f"R__view_{j}.sql": f"CREATE OR REPLACE VIEW r{j} AS SELECT {j} AS v;\n"
                   for j in range(len(s["repeatables"]))}
    placeholder = {"R__placeholder.sql": "SELECT '${p}' AS ph;\n"}
    first = write(root / "a1", versioned | repeatables | placeholder)
    folders = [first]
    second = dict(versioned) | placeholder
    second |= {name: text.replace(" AS v;", " AS v, 2 AS w;") if s["rerun"] else text
               for name, text in repeatables.items()}
    bad_name = f"V{len(versioned) + 1}__bad.sql" if s["failure"] == "versioned" else "R__zz_bad.sql"
    if s["failure"]:
        second[bad_name] = BAD
    if s["rerun"] or s["failure"]:
        folders.append(write(root / "a2", second))
    final: dict[str, str] = dict(placeholder)
    for i, edit in enumerate(s["versioned"]):
        name = f"V{i + 1}__table_{i + 1}.sql"
        if edit == "keep":
            final[name] = second[name]
        elif edit == "edit":
            final[name] = f"CREATE TABLE t{i + 1} (id int, changed int);\n"
        elif edit == "rename":
            final[f"V{i + 1}__renamed_{i + 1}.sql"] = second[name]
    for j, edit in enumerate(s["repeatables"]):
        name = f"R__view_{j}.sql"
        if edit == "keep":
            final[name] = second[name]
        elif edit == "edit":
            final[name] = f"CREATE OR REPLACE VIEW r{j} AS SELECT {j} AS v, 3 AS w;\n"
    if s["failure"] and s["afterwards"] != "delete":
        final[bad_name] = BAD if s["afterwards"] == "keep" else "SELECT 1;\n"
    return folders, write(root / "b", final)


@BATCH
@given(scenarios=st.lists(SCENARIO, min_size=SCENARIOS_PER_EXAMPLE, max_size=SCENARIOS_PER_EXAMPLE))
def test_repair_leaves_the_history_flyway_leaves(real_flyway, pg_server, tmp_path_factory, scenarios):
    """Each scenario in its own schema (Flyway's `schemas`) of one database, cloned once for each tool."""
    root = tmp_path_factory.mktemp("repair")
    n = next(_ids)
    names = {k: f"rp_{k}_{n}" for k in ("template", "ours", "theirs")}
    pg_server.create_database(names["template"])
    runs, cases = [], []
    for i, s in enumerate(scenarios):
        folders, final = scenario_folders(root / str(i), s)
        extra = {"schemas": f"s{i}"} | ({"ignoreMigrationPatterns": s["patterns"]} if s["patterns"] else {})
        for j, folder in enumerate(folders):
            raw = {"placeholderReplacement": "false"} if s["raw"] and j == 0 else {}
            cases.append(Case("migrate", conf(pg_server.url(names["template"]), folder, **extra, **raw)))
        runs.append((s, f"s{i}", final, extra, len(folders)))
    made = iter(real_flyway.run(cases))
    for s, _, _, _, count in runs:
        first = next(made)
        assert "error" not in first, first
        for _ in range(count - 1):
            next(made)  # fails when the scenario has a failing migration: that is the point
    clone(pg_server, names["template"], names["ours"])
    clone(pg_server, names["template"], names["theirs"])

    cases, ours = [], []
    with pg_server.connect(names["ours"]) as conn:
        for s, schema, final, extra, _ in runs:
            patterns = tuple(extra.get("ignoreMigrationPatterns", "*:future").split(","))
            migration_set = build({".": files_under(final)}, {}, encoding="utf-8", placeholders=PLACEHOLDERS,
                                  settings=Settings(placeholders=PLACEHOLDERS, schemas=(schema,),
                                                    ignore_migration_patterns=patterns))
            ours.append(repairing.repair(conn, migration_set))
            cases += [Case("repair", conf(pg_server.url(names["theirs"]), final, **extra)),
                      Case("validate", conf(pg_server.url(names["theirs"]), final, **extra)),
                      Case("validate", conf(pg_server.url(names["ours"]), final, **extra))]
    results = real_flyway.run(cases)
    try:
        for k, ((s, schema, _, _, _), mine) in enumerate(zip(runs, ours)):
            repaired, valid_theirs, valid_ours = results[3 * k:3 * k + 3]
            assert "error" not in repaired, (s, repaired)
            assert history_rows(pg_server, names["ours"], schema) == history_rows(pg_server, names["theirs"], schema), s
            assert {"removed": len(mine.removed), "deleted": len(mine.deleted), "aligned": len(mine.aligned)} \
                == repaired["repaired"], s
            assert (valid_ours.get("valid"), valid_ours.get("invalid")) == \
                (valid_theirs.get("valid"), valid_theirs.get("invalid")), s
    finally:
        for name in names.values():
            pg_server.drop_database(name)


def test_repair_of_a_description_over_200_characters(real_flyway, pg_server, tmp_path):
    """Deliberate difference: Flyway compares the file's full description with the stored one (cut to 200) and
    writes the full text, which the column refuses; ddl-cascade writes it cut, as migrate stores it, so Flyway's
    own validate then passes."""
    first = write(tmp_path / "a", {"V1__short.sql": "CREATE TABLE t (id int);\n"})
    renamed = write(tmp_path / "b", {"V1__" + "d" * 240 + ".sql": "CREATE TABLE t (id int);\n"})
    theirs, ours = f"rp_long_theirs_{next(_ids)}", f"rp_long_ours_{next(_ids)}"
    for name in (theirs, ours):
        pg_server.create_database(name)
    try:
        migrated_theirs, migrated_ours, repaired = real_flyway.run([
            Case("migrate", conf(pg_server.url(theirs), first)), Case("migrate", conf(pg_server.url(ours), first)),
            Case("repair", conf(pg_server.url(theirs), renamed))])
        assert "error" not in migrated_theirs and "error" not in migrated_ours
        assert "value too long for type character varying(200)" in repaired["error"]
        migration_set = build({".": files_under(renamed)}, {}, encoding="utf-8", placeholders=PLACEHOLDERS)
        with pg_server.connect(ours) as conn:
            (aligned,) = repairing.repair(conn, migration_set).aligned
        assert aligned.description == "d" * 197 + "..."
        (validated,) = real_flyway.run([Case("validate", conf(pg_server.url(ours), renamed))])
        assert validated["valid"] is True, validated
    finally:
        for name in (theirs, ours):
            pg_server.drop_database(name)


# -- clean ------------------------------------------------------------------------------------------------------------

OUTSIDE_SQL = """
CREATE SCHEMA keep;
CREATE SCHEMA other;
CREATE TABLE other.t (id int PRIMARY KEY);
CREATE VIEW other.v AS SELECT id FROM other.t;
CREATE FUNCTION other.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TYPE other.colour AS ENUM ('red');
"""
OBJECTS_SQL = """
CREATE EXTENSION citext SCHEMA keep;
CREATE TYPE app.mood AS ENUM ('sad', 'happy');
CREATE TYPE app.pair AS (a int, b text);
CREATE TYPE keep.span AS RANGE (subtype = int4);
CREATE DOMAIN app.posint AS int CHECK (VALUE > 0);
CREATE SEQUENCE app.counter;
CREATE TABLE app.person (id serial PRIMARY KEY, name keep.citext, mood app.mood, n app.posint, p app.pair);
CREATE TABLE app.child (extra int) INHERITS (app.person);
CREATE TABLE app.parted (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE app.parted_2024 PARTITION OF app.parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE VIEW app.people AS SELECT id, name FROM app.person;
CREATE MATERIALIZED VIEW app.people_count AS SELECT count(*) AS n FROM app.person;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER person_touch BEFORE INSERT ON app.person FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE FUNCTION keep.add(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b';
CREATE AGGREGATE keep.total(int) (sfunc = keep.add, stype = int, initcond = '0');
CREATE PROCEDURE keep.reset() LANGUAGE sql AS $$SELECT 1$$;
CREATE TABLE keep.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                          person_id int REFERENCES app.person (id), amount numeric);
CREATE VIEW keep.order_totals AS SELECT person_id, sum(amount) AS total FROM keep.orders GROUP BY person_id;
CREATE COLLATION keep.c2 FROM "C";
CREATE TYPE keep.status AS ENUM ('new', 'done');
CREATE DOMAIN keep.email AS text CHECK (VALUE LIKE '%@%');
CREATE SEQUENCE keep.ticket;
"""
CROSS_SQL = "CREATE VIEW other.app_people AS SELECT id FROM app.person;\n"

# Every object in every schema but the system ones: what a clean leaves.
CATALOG = """
SELECT 'schema', nspname::text, '' FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
UNION ALL SELECT 'relation ' || c.relkind::text, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
UNION ALL SELECT 'type ' || t.typtype::text, n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
UNION ALL SELECT 'routine ' || p.prokind::text, n.nspname, p.proname || '(' || oidvectortypes(p.proargtypes) || ')'
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
UNION ALL SELECT 'constraint', n.nspname, c.conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
UNION ALL SELECT 'trigger', '', t.tgname FROM pg_trigger t WHERE NOT t.tgisinternal
UNION ALL SELECT 'collation', n.nspname, c.collname FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
UNION ALL SELECT 'extension', n.nspname, e.extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
"""


def objects(pg_server, database: str) -> list[tuple]:
    with pg_server.connect(database) as conn:
        rows = conn.execute(CATALOG).fetchall()
    return sorted(r for r in rows if r[1] not in ("pg_catalog", "information_schema") and not r[1].startswith("pg_"))


@pytest.fixture(scope="module")
def clean_runs(real_flyway, pg_server, tmp_path_factory):
    """Two templates (plain; a view in `other` on a cleaned table) migrated by Flyway, each cloned for both tools;
    ours cleaned here, Flyway's in one JVM; plus Flyway's refusal with the default cleanDisabled."""
    folder = write(tmp_path_factory.mktemp("clean") / "sql", {"V1__objects.sql": OBJECTS_SQL})
    n = next(_ids)
    variants = {"plain": "", "cross": CROSS_SQL}
    names = {v: {k: f"cl_{v}_{k}_{n}" for k in ("template", "ours", "theirs", "disabled")} for v in variants}
    schemas = {"schemas": "app,keep"}
    for variant, extra in variants.items():
        pg_server.create_database(names[variant]["template"])
        with pg_server.connect(names[variant]["template"]) as conn:
            conn.execute(OUTSIDE_SQL)
    migrated = real_flyway.run([Case("migrate", conf(pg_server.url(names[v]["template"]), folder, **schemas))
                                for v in variants])
    assert all("error" not in m for m in migrated), migrated
    for variant, extra in variants.items():
        if extra:
            with pg_server.connect(names[variant]["template"]) as conn:
                conn.execute(extra)
        for k in ("ours", "theirs", "disabled"):
            clone(pg_server, names[variant]["template"], names[variant][k])
    before = {v: objects(pg_server, names[v]["template"]) for v in variants}
    migration_set = build({".": files_under(folder)}, {}, encoding="utf-8", placeholders=PLACEHOLDERS,
                          settings=Settings(schemas=("app", "keep"), clean_disabled=False))
    ours = {}
    for variant in variants:
        with pg_server.connect(names[variant]["ours"]) as conn:
            try:
                ours[variant] = cleaning.clean(conn, migration_set)
            except (CascadeError, cleaning.CleanRefused) as exc:
                ours[variant] = exc
    cases = [Case("clean", conf(pg_server.url(names[v]["theirs"]), folder, cleanDisabled="false", **schemas))
             for v in variants]
    cases.append(Case("clean", conf(pg_server.url(names["plain"]["disabled"]), folder, **schemas)))
    theirs = real_flyway.run(cases)
    with pg_server.connect(names["plain"]["disabled"]) as conn:
        try:
            cleaning.clean(conn, dataclasses.replace(migration_set, settings=Settings(schemas=("app", "keep"))))
            refusal = None
        except CascadeError as exc:
            refusal = str(exc)
    yield {"names": names, "before": before, "ours": ours, "theirs": dict(zip(variants, theirs)),
           "flyway_refusal": theirs[-1], "our_refusal": refusal}
    for variant in variants:
        for name in names[variant].values():
            pg_server.drop_database(name)


def test_clean_leaves_what_flyway_leaves(clean_runs, pg_server):
    names, ours, theirs = clean_runs["names"], clean_runs["ours"]["plain"], clean_runs["theirs"]["plain"]
    assert "error" not in theirs, theirs
    assert (ours.schemas_cleaned, ours.schemas_dropped) == (theirs["cleaned"], theirs["dropped"]) == (["keep"], ["app"])
    left = objects(pg_server, names["plain"]["ours"])
    assert left == objects(pg_server, names["plain"]["theirs"])
    # Only `other` (never configured) and an empty `keep` remain; `other` is exactly as it was.
    assert {r[1] for r in left} <= {"keep", "other", "public"}
    assert [r for r in left if r[1] == "keep" and r[0] != "schema"] == []
    assert [r for r in left if r[1] == "other"] == [r for r in clean_runs["before"]["plain"] if r[1] == "other"]


def test_clean_refuses_to_cascade_outside_the_schemas_where_flyway_does(clean_runs, pg_server):
    names, ours, theirs = clean_runs["names"], clean_runs["ours"]["cross"], clean_runs["theirs"]["cross"]
    # Flyway drops the view in `other` with the table it reads...
    assert "error" not in theirs, theirs
    assert ("relation v", "other", "app_people") not in objects(pg_server, names["cross"]["theirs"])
    # ...ddl-cascade refuses, names it, and changes nothing.
    assert isinstance(ours, cleaning.CleanRefused), ours
    assert "view other.app_people" in str(ours) or "other.app_people" in str(ours)
    assert objects(pg_server, names["cross"]["ours"]) == clean_runs["before"]["cross"]


def test_clean_refusal_when_disabled_is_flyways_sentence(clean_runs, pg_server):
    assert clean_runs["flyway_refusal"]["error"] == clean_runs["our_refusal"] == cleaning.DISABLED
    names = clean_runs["names"]["plain"]
    assert objects(pg_server, names["disabled"]) == clean_runs["before"]["plain"]
