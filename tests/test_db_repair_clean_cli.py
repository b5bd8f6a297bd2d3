"""`ddl-cascade db repair` and `db clean` end to end: the installed CLI, a real git repository, real PostgreSQL.

What each command does to a database is proven against the real Flyway in test_flyway_real_repair.py; here: the
summary lines, the `--json` documents (held to their shipped schemas by the `cli` fixture), the exit codes, and the
refusal of `db clean` unless `clean_disabled = false`.
"""

from __future__ import annotations

import json

from ddl_cascade.db import clean as cleaning
from ddl_cascade.render import db as render
from test_db_cli import env_toml, make_parent

BROKEN = {
    "sql/V1__people.sql": "CREATE TABLE people (id int);\n",
    "sql/V2__bad_index.sql": "CREATE INDEX CONCURRENTLY bad_idx ON no_such_table (id);\n",
}


def test_repair_removes_the_failed_row_then_migrate_runs_again(make_repo, cli, pg_db):
    repo = make_parent(make_repo, BROKEN)
    failed = cli("db", "migrate", "--url", pg_db.url, cwd=repo.path)
    assert failed.code == 1
    assert pg_db.query("SELECT version, success FROM flyway_schema_history ORDER BY installed_rank") == [
        ("1", True), ("2", False)]

    repaired = cli("db", "repair", "--url", pg_db.url, cwd=repo.path)
    assert repaired.code == 0, repaired.stderr
    assert "  removed failed migration: version 2 (bad index), installed_rank 2" in repaired.stdout
    assert repaired.stdout.splitlines()[-1] == ('ok: repaired "public"."flyway_schema_history": 1 removed, '
                                                "0 marked deleted, 0 aligned")
    assert pg_db.query("SELECT version, success FROM flyway_schema_history ORDER BY installed_rank") == [("1", True)]

    nothing = cli("db", "repair", "--url", pg_db.url, "--json", cwd=repo.path)
    assert nothing.code == 0, nothing.stderr
    data = json.loads(nothing.stdout)
    assert data == {"schema_version": 1, "target": data["target"], "environment": None,
                    "table": '"public"."flyway_schema_history"', "removed": [], "deleted": [], "aligned": [],
                    "ok": True}
    assert "***" in data["target"] and pg_db.server.password not in nothing.stdout


def test_repair_json_lists_deleted_and_aligned_rows(make_repo, cli, pg_db):
    repo = make_parent(make_repo, {"sql/V1__a.sql": "CREATE TABLE a (id int);\n",
                                   "sql/V2__b.sql": "CREATE TABLE b (id int);\n",
                                   "sql/V3__c.sql": "CREATE TABLE c (id int);\n"})
    assert cli("db", "migrate", "--url", pg_db.url, cwd=repo.path).code == 0
    repo.commit({"read-write-flyway-files/sql/V1__a.sql": "CREATE TABLE a (id bigint);\n",
                 "read-write-flyway-files/sql/V2__b.sql": None}, "edit V1, drop V2")
    result = cli("db", "repair", "--url", pg_db.url, "--json", cwd=repo.path)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(d["migration"]["version"], d["migration"]["installed_rank"], d["marker_rank"]) for d in data["deleted"]] \
        == [("2", 2, 4)]
    (aligned,) = data["aligned"]
    assert aligned["before"]["version"] == "1" and aligned["checksum"] != aligned["before"]["checksum"]
    assert pg_db.query("SELECT version, type FROM flyway_schema_history WHERE installed_rank = 4") == [("2", "DELETE")]
    status = cli("db", "status", "--url", pg_db.url, "--json", cwd=repo.path)
    assert status.code == 0 and json.loads(status.stdout)["problems"] == [], status.stdout


def test_clean_is_refused_unless_clean_disabled_is_false(make_repo, cli, pg_db):
    repo = make_parent(make_repo, BROKEN | {"sql/V2__bad_index.sql": "CREATE VIEW v AS SELECT 1 AS one;\n"},
                       env_toml(pg_db))
    env = {"DDLC_TEST_PGPASSWORD": pg_db.server.password}
    assert cli("db", "migrate", "--env", "dev", cwd=repo.path, env=env).code == 0
    refused = cli("db", "clean", "--env", "dev", cwd=repo.path, env=env)
    assert refused.code == 2 and refused.stdout == ""
    assert refused.stderr.strip() == ("ddl-cascade: Unable to execute clean as it has been disabled with the "
                                      "'flyway.cleanDisabled' property.")
    assert pg_db.query("SELECT count(*) FROM flyway_schema_history") == [(2,)]

    repo.commit({"cascade.toml": f'[source]\npath = "read-write-flyway-files"\n{env_toml(pg_db)}'
                                 "clean_disabled = false\n"}, "allow clean on dev")
    cleaned = cli("db", "clean", "--env", "dev", "--json", cwd=repo.path, env=env)
    assert cleaned.code == 0, cleaned.stderr
    data = json.loads(cleaned.stdout)
    assert (data["environment"], data["schemas_cleaned"], data["schemas_dropped"], data["warnings"]) == \
        ("dev", ["public"], [], [])
    assert pg_db.query("SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = 'public'") == []
    assert render.clean_lines(cleaning.Clean(["public"], ["app"], ["Unable to clean unknown schema: \"x\""])) == [
        '  warning: Unable to clean unknown schema: "x"', "  cleaned schema public",
        "  dropped schema app (created by Flyway)", "ok: 1 schema cleaned, 1 dropped"]
