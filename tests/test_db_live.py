"""`db verify --against ENV` and `db drift --env ENV`: a live environment read (never written) on real PostgreSQL.

The "environment" is a database on the session's server (tests/pgserver.py); the commands copy or rebuild it on a
throwaway server of their own. Every test checks that the environment is unchanged afterwards: its schema dump and
its history rows are the same before and after.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from ddl_cascade.db import live
from ddl_cascade.db.target import Target

SOURCE = "read-write-flyway-files"
PASSWORD_VAR = "DDLC_TEST_LIVE_PASSWORD"


def make_parent(make_repo, files: dict[str, str], url: str):
    repo = make_repo("parent")
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n\n[environments.prod]\nurl = "{url}"\n',
                 **{f"{SOURCE}/{name}": text for name, text in files.items()}}, "shared DDL")
    return repo


def env_url(pg_db, user: str = "postgres") -> str:
    return f"postgresql://{user}:${{{PASSWORD_VAR}}}@127.0.0.1:{pg_db.server.port}/{pg_db.name}"


def snapshot(pg_db) -> tuple[str, list[tuple]]:
    """The environment as a user would compare it: pg_dump of its schema, and its history rows."""
    dump = subprocess.run(["pg_dump", "--schema-only", "-h", str(pg_db.server.socket_dir), "-p",
                           str(pg_db.server.port), "-U", "postgres", pg_db.name],
                          capture_output=True, text=True, check=True).stdout
    dump = "\n".join(ln for ln in dump.splitlines() if not ln.startswith(("\\restrict", "\\unrestrict")))
    exists = pg_db.query("SELECT to_regclass('public.flyway_schema_history') IS NOT NULL")[0][0]
    rows = pg_db.query("SELECT * FROM flyway_schema_history ORDER BY 1") if exists else []
    return dump, rows


def read_only_role(pg_db, name: str, *, select_all: bool = True) -> str:
    """A login role with CONNECT, USAGE on public and SELECT (on every table, or on the history table only)."""
    pg_db.query(f"CREATE ROLE {name} LOGIN PASSWORD 'ro-secret-{name}'")
    pg_db.query(f"GRANT CONNECT ON DATABASE {pg_db.name} TO {name}")
    pg_db.query(f"GRANT USAGE ON SCHEMA public TO {name}")
    pg_db.query(f"GRANT SELECT ON {'ALL TABLES IN SCHEMA public' if select_all else 'flyway_schema_history'} "
                f"TO {name}")
    return f"ro-secret-{name}"


V1 = "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);\n"
V2_ORDERS = "CREATE TABLE orders (id bigint PRIMARY KEY, customer bigint REFERENCES customers);\n"


def test_verify_against_applies_only_the_pending_migrations_with_a_read_only_role(make_repo, cli, pg_db):
    repo = make_parent(make_repo, {"sql/V1__customers.sql": V1}, env_url(pg_db))
    env = {PASSWORD_VAR: pg_db.server.password}
    assert cli("db", "migrate", "--env", "prod", cwd=repo.path, env=env).code == 0
    # By hand, outside the migrations: a column the next migration's view needs, and a grant.
    pg_db.query("ALTER TABLE customers ADD COLUMN email text")
    role = f"ro_{pg_db.name}"
    secret = read_only_role(pg_db, role)
    repo.commit({f"{SOURCE}/sql/V2__orders.sql": V2_ORDERS,
                 f"{SOURCE}/sql/V3__mailing.sql": "CREATE VIEW mailing AS SELECT id, email FROM customers;\n"
                                                   f"REVOKE SELECT ON customers FROM {role};\n"})
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n\n[environments.prod]\nurl = "{env_url(pg_db, role)}"\n'})
    before = snapshot(pg_db)

    result = cli("db", "verify", "--against", "prod", "--json", cwd=repo.path, env={PASSWORD_VAR: secret})
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["against"] == "prod" and data["ok"] is True
    assert [(m["script"], m["success"]) for m in data["migrations"]] == [("V2__orders.sql", True),
                                                                       ("V3__mailing.sql", True)]
    assert secret not in result.stdout + result.stderr
    assert snapshot(pg_db) == before

    # Without the hand-made column the view fails: the same pull request on an empty database does not prove it.
    empty = cli("db", "verify", cwd=repo.path)
    assert empty.code == 1 and 'column "email" does not exist' in empty.stderr


def test_verify_against_fails_on_a_hand_made_object_the_migration_creates(make_repo, cli, pg_db):
    repo = make_parent(make_repo, {"sql/V1__customers.sql": V1}, env_url(pg_db))
    env = {PASSWORD_VAR: pg_db.server.password}
    assert cli("db", "migrate", "--env", "prod", cwd=repo.path, env=env).code == 0
    pg_db.query("CREATE TABLE orders (id int)")  # someone was quicker, by hand
    repo.commit({f"{SOURCE}/sql/V2__orders.sql": V2_ORDERS})
    before = snapshot(pg_db)
    result = cli("db", "verify", "--against", "prod", cwd=repo.path, env=env)
    assert result.code == 1
    assert result.stdout.splitlines()[0] == (
        "Verifying 2 migrations of the parent on a throwaway PostgreSQL server, starting from the schema and history "
        f"of environment 'prod' (postgresql://postgres:***@127.0.0.1:{pg_db.server.port}/{pg_db.name})")
    assert [ln.split()[2] for ln in result.stdout.splitlines()[1:]] == ["V2__orders.sql"]
    assert result.stdout.rstrip().endswith("FAILED")
    assert result.stderr.strip() == (f"ddl-cascade: migration failed: {SOURCE}/sql/V2__orders.sql, line 1: "
                                     'ERROR: relation "orders" already exists (SQLSTATE 42P07)')
    assert snapshot(pg_db) == before
    assert pg_db.server.password not in result.stdout + result.stderr


def test_a_read_only_session_refuses_writes(pg_db):
    from ddl_cascade.flyway.settings import Settings

    pg_db.query("CREATE TABLE flyway_schema_history (installed_rank int)")
    target = Target(pg_db.url, "shown", "prod")
    with live.opened(target, Settings()) as env:
        env.require_history()
        assert env.conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert env.conn.execute("SHOW transaction_read_only").fetchone()[0] == "on"
        import psycopg

        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            env.conn.execute("CREATE TABLE written (id int)")
    assert pg_db.query("SELECT to_regclass('written')") == [(None,)]


def test_pg_dump_credentials_go_through_a_private_passfile_never_argv():
    url = "postgresql://app:p%40ss:w\\rd@db.example:6543/prod?sslmode=disable&options=-c%20work_mem%3D4MB"
    os.environ["PGPASSWORD"] = "inherited-must-not-leak"
    try:
        with live.libpq_environment(url) as env:
            passfile = Path(env["PGPASSFILE"])
            assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
            assert stat.S_IMODE(passfile.parent.stat().st_mode) == 0o700
            assert passfile.read_text() == "*:*:*:*:p@ss\\:w\\\\rd\n"
            assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"], env["PGSSLMODE"]) == (
                "db.example", "6543", "app", "prod", "disable")
            assert env["PGOPTIONS"] == "-c work_mem=4MB -c default_transaction_read_only=on"
            assert "PGPASSWORD" not in env
        assert not passfile.exists() and not passfile.parent.exists()
    finally:
        del os.environ["PGPASSWORD"]


def test_a_server_newer_than_the_local_tools_is_named_with_both_versions():
    # Only PostgreSQL 15 is installed on the build machine, so no newer server can run here: the decision is tested
    # on the versions as the server and pg_dump print them.
    local = live.tool_version(live.tool("pg_dump", None))
    newer = live.PgVersion.parse(f"{local.major + 1}.2 (Debian {local.major + 1}.2-1.pgdg120+1)")
    why = live.newer_than_tools(newer, local, local.major)
    assert why == (f"runs PostgreSQL {local.major + 1}.2, newer than the local pg_dump {local.text}, which refuses "
                   f"to dump it (server version mismatch); install the PostgreSQL {local.major + 1} client and "
                   "server tools")
    assert live.newer_than_tools(live.PgVersion.parse(local.text), local, local.major) is None
    assert live.newer_than_tools(live.PgVersion.parse("13.9"), local, local.major) is None
    assert "newer than the throwaway server (PostgreSQL 14)" in live.newer_than_tools(
        live.PgVersion.parse("15.1"), live.PgVersion.parse("pg_dump (PostgreSQL) 17.0"), 14)
    assert live.PgVersion.parse("9.6.24").major == 906 and live.PgVersion.parse("18beta1").major == 18
    # pg_dump's own refusal (its two lines, as pg_dump 15 prints them), should the check above be passed by.
    refused = ("pg_dump: error: aborting because of server version mismatch\n"
               "pg_dump: detail: server version: 16.1 (Debian 16.1-1.pgdg120+1); pg_dump version: 15.18\n")
    assert live.dump_failure(refused, "environment 'prod' (postgresql://app:***@db/prod)") == (
        "pg_dump refuses environment 'prod' (postgresql://app:***@db/prod): server version: 16.1 (Debian "
        "16.1-1.pgdg120+1); pg_dump version: 15.18; install the client tools of the server's PostgreSQL version.")


@pytest.mark.slow
def test_bad_environments_are_one_sentence_exit_2(make_repo, cli, pg_db):
    env = {PASSWORD_VAR: pg_db.server.password}
    repo = make_parent(make_repo, {"sql/V1__customers.sql": V1}, env_url(pg_db))
    unknown = cli("db", "verify", "--against", "nope", cwd=repo.path, env=env)
    assert unknown.code == 2 and unknown.stderr.strip() == (
        f"ddl-cascade: {repo.path / 'cascade.toml'}: no environment named 'nope': there is no [environments.nope] "
        "table (defined: prod).")

    for command in (("db", "verify", "--against", "prod"), ("db", "drift", "--env", "prod")):
        no_history = cli(*command, cwd=repo.path, env=env)
        assert no_history.code == 2 and no_history.stderr.strip() == (
            f"ddl-cascade: environment 'prod' (postgresql://postgres:***@127.0.0.1:{pg_db.server.port}/"
            f'{pg_db.name}) has no schema history table "public"."flyway_schema_history": it was never migrated, or '
            "`table` / `schemas` / `default_schema` of [environments.prod] name another one.")
    unknown_drift = cli("db", "drift", "--env", "nope", cwd=repo.path, env=env)
    assert unknown_drift.code == 2 and unknown_drift.stderr == unknown.stderr

    assert cli("db", "migrate", "--env", "prod", cwd=repo.path, env=env).code == 0
    role = f"nosel_{pg_db.name}"
    secret = read_only_role(pg_db, role, select_all=False)
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n\n[environments.prod]\nurl = "{env_url(pg_db, role)}"\n'})
    denied = cli("db", "verify", "--against", "prod", cwd=repo.path, env={PASSWORD_VAR: secret})
    assert denied.code == 2, denied.stderr
    assert denied.stderr.strip() == (
        f"ddl-cascade: the role of environment 'prod' (postgresql://{role}:***@127.0.0.1:{pg_db.server.port}/"
        f"{pg_db.name}) may not read the schema with pg_dump: permission denied for table customers (Query was: "
        "LOCK TABLE public.customers IN ACCESS SHARE MODE); grant it CONNECT on the database, USAGE on the "
        "schemas and SELECT on the tables (a read-only role suffices).")
    assert secret not in denied.stderr + denied.stdout
    pg_db.query(f"REVOKE SELECT ON flyway_schema_history FROM {role}")
    no_select = cli("db", "drift", "--env", "prod", cwd=repo.path, env={PASSWORD_VAR: secret})
    assert no_select.code == 2 and no_select.stderr.strip() == (
        f"ddl-cascade: environment 'prod' (postgresql://{role}:***@127.0.0.1:{pg_db.server.port}/{pg_db.name}): "
        'cannot read "public"."flyway_schema_history": permission denied for table flyway_schema_history; grant '
        "the role SELECT on it.")
    both = cli("db", "verify", "--against", "prod", "--url", pg_db.url, cwd=repo.path)
    assert both.code == 2 and both.stderr.startswith("ddl-cascade: give --url or --against, not both")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n\n[environments.prod]\n'
                                 f'url = "postgresql://app:hunter2@127.0.0.1:{closed}/x"\n'})
    unreachable = cli("db", "verify", "--against", "prod", cwd=repo.path)
    assert unreachable.code == 2 and "hunter2" not in unreachable.stderr
    assert unreachable.stderr.startswith(f"ddl-cascade: cannot connect to postgresql://app:***@127.0.0.1:{closed}/x:")
    assert len(unreachable.stderr.strip().splitlines()) == 1


def test_drift_lists_exactly_what_was_changed_by_hand(make_repo, cli, pg_db):
    reader = f"rd_{pg_db.name}"
    pg_db.query(f"CREATE ROLE {reader} NOLOGIN")  # made by a DBA, outside the migrations
    repo = make_parent(make_repo, {
        "sql/V1__customers.sql": V1 + "CREATE INDEX customers_name_idx ON customers (name);\n"
                                      "GRANT SELECT ON customers TO ${reader};\n",
        "sql/R__names.sql": "CREATE OR REPLACE VIEW names AS SELECT name FROM customers;\n",
    }, env_url(pg_db))
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n\n[flyway.placeholders]\nreader = "{reader}"\n\n'
                                 f'[environments.prod]\nurl = "{env_url(pg_db)}"\n'})
    env = {PASSWORD_VAR: pg_db.server.password}
    assert cli("db", "migrate", "--env", "prod", cwd=repo.path, env=env).code == 0
    # A file added since is pending, not drift.
    repo.commit({f"{SOURCE}/sql/V2__orders.sql": V2_ORDERS})

    # A read-only role suffices; pg_read_all_data grants nothing on any object, so it is no drift itself.
    role = f"ro_{pg_db.name}"
    pg_db.query(f"CREATE ROLE {role} LOGIN PASSWORD 'ro-{role}'")
    pg_db.query(f"GRANT pg_read_all_data TO {role}")
    toml = (repo.path / "cascade.toml").read_text()
    repo.commit({"cascade.toml": toml + f'\n[environments.ro]\nurl = "{env_url(pg_db, role)}"\n'})
    clean = cli("db", "drift", "--env", "ro", "--json", cwd=repo.path, env={PASSWORD_VAR: f"ro-{role}"})
    assert clean.code == 0, clean.stderr
    data = json.loads(clean.stdout)
    assert (data["environment"], data["replayed"], data["changes"], data["problems"], data["ok"]) == (
        "ro", 2, [], [], True)

    pg_db.query("ALTER TABLE customers ADD COLUMN note text")
    pg_db.query("DROP INDEX customers_name_idx")
    pg_db.query(f"GRANT UPDATE ON customers TO {reader}")
    before = snapshot(pg_db)
    drifted = cli("db", "drift", "--env", "prod", "--json", cwd=repo.path, env=env)
    assert drifted.code == 1, drifted.stderr
    changes = json.loads(drifted.stdout)["changes"]
    assert [(c["kind"], c["name"], c["change"]) for c in changes] == [
        ("column", "public.customers.note", "added"),
        ("index", "public.customers_name_idx", "removed"),
        ("privilege", f"table public.customers to {reader}", "changed"),
    ]
    assert changes[1]["before"]["definition"] == (
        "CREATE INDEX customers_name_idx ON public.customers USING btree (name)") and changes[1]["after"] is None
    assert (changes[2]["before"], changes[2]["after"]) == ({"privileges": ["SELECT"]},
                                                           {"privileges": ["SELECT", "UPDATE"]})
    text = cli("db", "drift", "--env", "prod", cwd=repo.path, env=env)
    assert text.code == 1
    version = pg_db.query("SHOW server_version")[0][0].split()[0]  # the throwaway server is the same build
    assert text.stdout.splitlines()[0] == (
        f"Drift of environment 'prod' (postgresql://postgres:***@127.0.0.1:{pg_db.server.port}/{pg_db.name}): its "
        f"live schema (PostgreSQL {version}) against the schema built by its 2 recorded migrations (expected, "
        f"replayed on PostgreSQL {version})")
    assert text.stdout.splitlines()[1:] == [
        "  + column public.customers.note: made outside the migrations",
        "  - index public.customers_name_idx: dropped outside the migrations",
        f"  ~ privilege table public.customers to {reader}: altered outside the migrations",
        "      privileges: expected [SELECT], live [SELECT, UPDATE]",
        "drift: 3 changes outside the migrations",
    ]
    assert pg_db.server.password not in drifted.stdout + drifted.stderr + text.stdout + text.stderr
    assert snapshot(pg_db) == before


def test_status_db_drift_lists_each_childs_drift(tmp_path, cli, pg_db):
    from cascade_world import make_world

    world = make_world(tmp_path / "world", {"app": "squash"})
    config = world.write_config()
    text = config.read_text().replace('name = "app"', 'name = "app"\nenvironment = "prod"')
    text += f'\n[environments.prod]\nurl = "{env_url(pg_db)}"\n'
    config.write_text(text)
    world.parent.commit({"cascade.toml": text}, "environments")
    env = {PASSWORD_VAR: pg_db.server.password}
    assert cli("sync", cwd=world.parent.path).code == 0
    assert cli("db", "migrate", "--env", "prod", "--child", "app", cwd=world.parent.path, env=env).code == 0
    pg_db.query("ALTER TABLE t2 ADD COLUMN note text")  # by hand

    plain = cli("status", "--db", "--json", cwd=world.parent.path, env=env)
    assert plain.code == 0, plain.stdout + plain.stderr
    assert json.loads(plain.stdout)["children"][0]["database"]["drift"] is None  # not checked without --drift

    checked = cli("status", "--drift", "--json", cwd=world.parent.path, env=env)
    assert checked.code == 1
    db = json.loads(checked.stdout)["children"][0]["database"]
    assert (db["ok"], db["drift"], db["error"]) == (False, ["+ column public.t2.note"], None)
    shown = cli("status", "--db", "--drift", cwd=world.parent.path, env=env)
    assert shown.code == 1
    assert "  app in prod: + column public.t2.note" in shown.stdout.splitlines()
    assert shown.stdout.splitlines()[-1] == "Exit code 1: 1 database not ok (app in prod: 1 difference outside the migrations)."


def test_drift_plan_follows_the_history_and_names_what_it_cannot_rebuild():
    from datetime import datetime

    from ddl_cascade.db import drift, migrations
    from ddl_cascade.db.history import AppliedRow

    files = {"V1__a.sql": "CREATE TABLE a (id int);", "V2__b.sql": "CREATE TABLE b (id int);",
             "V1_5__late.sql": "CREATE TABLE late (id int);", "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT 1;",
             "V3__broken.sql": "CREATE TABLE c (id int);"}
    mset = migrations.build({"sql": {k: v.encode() for k, v in files.items()}}, {}, encoding="UTF-8",
                            placeholders={})

    def row(rank, version, description, type_="SQL", success=True, by="app"):
        return AppliedRow(rank, version, description, type_, "x.sql", 0, by, datetime(2026, 1, 1), 0, success)

    rows = [row(0, None, "<< Flyway Schema Creation >>", "SCHEMA"), row(1, "1", "a"), row(2, None, "v"),
            row(3, "2", "b", by="deployer"), row(4, "1.5", "late"),  # outOfOrder: after 2, as applied
            row(5, None, "v", by="deployer"), row(6, "3", "broken", success=False), row(7, "9", "gone"),
            row(8, "9", "gone", "DELETE")]
    plan = drift.plan(mset, rows, outdated={"v"}, mismatched={"2"})
    assert [(s.script, role) for s, role in zip(plan.scripts, plan.roles)] == [
        ("V1__a.sql", "app"), ("V2__b.sql", "deployer"), ("V1_5__late.sql", "app"), ("R__v.sql", "deployer")]
    assert plan.problems == [
        "version 3 (broken) failed in this environment (installed_rank 6): its partial changes are not rebuilt; "
        "repair it.",
        "version 9 (gone) is in the history (installed_rank 7) but has no file: what it made is not rebuilt and "
        "shows as drift.",
        "version 2: the file's checksum differs from the history's (see `db status`); the expected schema is built "
        "from the file.",
        "repeatable 'v' changed since it was applied (Outdated); the expected schema is built from the file."]
    baselined = drift.plan(mset, [row(1, "1.5", "<< Flyway Baseline >>", "BASELINE"), row(2, "2", "b")])
    assert [s.script for s in baselined.scripts] == ["V2__b.sql"] and baselined.problems == [
        "the history starts from a baseline at version 1.5: what existed before it was not made by migrations and "
        "shows as drift."]
    assert drift.created_roles([s for s in migrations.build(
        {"sql": {"V1__r.sql": b'CREATE ROLE "Mixed""Case"; create user plain; CREATE ROLE ${reader};',
                 "V2__s.sql": b"CREATE USER MAPPING FOR x SERVER y;"}}, {}, encoding="UTF-8",
        placeholders={}).migrations], {"READER": "app_reader"}) == {'Mixed"Case', "plain", "app_reader"}
