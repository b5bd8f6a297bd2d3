"""`ddl-cascade db verify | migrate | status` end to end: the installed CLI, real git repositories, real PostgreSQL."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from ddl_cascade import flyway
from ddl_cascade.db import history

FIXTURES = Path(__file__).parent / "fixtures" / "flyway"
SOURCE = "read-write-flyway-files"


def shop_files() -> dict[str, str]:
    """The `shop` fixture (a Spring Boot style project: sql/ + callbacks/, a .sql.conf, placeholders)."""
    root = FIXTURES / "shop"
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8")
            for folder in ("sql", "callbacks") for p in sorted((root / folder).rglob("*")) if p.is_file()}


SHOP_TOML = '[flyway.placeholders]\napp_reader = "shop_reader"\ncurrency = "EUR"\n'


def make_parent(make_repo, files: dict[str, str], toml: str = ""):
    repo = make_repo("parent")
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n{toml}',
                 **{f"{SOURCE}/{name}": text for name, text in files.items()}}, "shared DDL")
    return repo


def test_verify_on_a_throwaway_server_json(make_repo, cli):
    repo = make_parent(make_repo, shop_files(), SHOP_TOML)
    result = cli("db", "verify", "--json", cwd=repo.path)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"schema_version", "against", "migrations", "ok"} and data["ok"] is True and data["against"] is None
    assert all(set(m) == {"version", "description", "type", "script", "checksum", "execution_time", "success"}
               for m in data["migrations"])
    sql = FIXTURES / "shop" / "sql"
    versioned = sorted((p for p in sql.glob("V*.sql")), key=lambda p: flyway.parse_name(p.name).version)
    assert [m["script"] for m in data["migrations"]] == [p.name for p in versioned] + [
        "R__order_summary_view.sql", "R__product_search_function.sql"]
    first = data["migrations"][0]
    assert first == {"version": "1", "description": "create customers", "type": "SQL",
                     "script": "V1__create_customers.sql",
                     "checksum": flyway.checksum_bytes((sql / "V1__create_customers.sql").read_bytes()),
                     "execution_time": first["execution_time"], "success": True}


def test_verify_failure_names_file_line_and_postgres_message(make_repo, cli, pg_server):
    repo = make_parent(make_repo, {
        "sql/V1__ok.sql": "CREATE TABLE ok (id int);\n",
        "sql/V2__broken.sql": "CREATE TABLE b (id int);\n\nINSERT INTO b VALUES ('x');\n",
        "sql/V3__never.sql": "CREATE TABLE never (id int);\n",
    })
    result = cli("db", "verify", "--url", pg_server.url("postgres"), cwd=repo.path)
    assert result.code == 1
    assert result.stderr.strip() == (
        f"ddl-cascade: migration failed: {SOURCE}/sql/V2__broken.sql, line 3: "
        'ERROR: invalid input syntax for type integer: "x" (SQLSTATE 22P02)')
    assert "V1__ok.sql" in result.stdout and "FAILED" in result.stdout and "V3__never" not in result.stdout
    assert pg_server.password not in result.stdout + result.stderr
    # The database verify created on that server is gone again.
    with pg_server.connect() as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'ddl_cascade_verify_%'").fetchall()
    assert left == []

    as_json = cli("db", "verify", "--url", pg_server.url("postgres"), "--json", cwd=repo.path)
    assert as_json.code == 1
    data = json.loads(as_json.stdout)
    assert data["ok"] is False
    assert [(m["script"], m["success"]) for m in data["migrations"]] == [("V1__ok.sql", True),
                                                                       ("V2__broken.sql", False)]


def env_toml(pg_db, password_ref: str = "${DDLC_TEST_PGPASSWORD}", port: int | None = None) -> str:
    port = port or pg_db.server.port
    return (f'[environments.dev]\nurl = "postgresql://postgres:{password_ref}@127.0.0.1:{port}/{pg_db.name}"\n')


def test_migrate_env_expands_variables_and_reruns_as_no_op(make_repo, cli, pg_db):
    repo = make_parent(make_repo, shop_files(), SHOP_TOML + env_toml(pg_db))
    env = {"DDLC_TEST_PGPASSWORD": pg_db.server.password}
    first = cli("db", "migrate", "--env", "dev", cwd=repo.path, env=env)
    assert first.code == 0, first.stderr
    assert "postgresql://postgres:***@127.0.0.1" in first.stdout and pg_db.server.password not in first.stdout
    rows = pg_db.query("SELECT count(*), bool_and(success) FROM flyway_schema_history")
    assert rows == [(14, True)]
    again = cli("db", "migrate", "--env", "dev", "--json", cwd=repo.path, env=env)
    assert again.code == 0 and json.loads(again.stdout) == {"schema_version": 1, "migrations": [], "ok": True}

    status = cli("db", "status", "--env", "dev", "--json", cwd=repo.path, env=env)
    assert status.code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["ok"] is True and {m["state"] for m in data["migrations"]} == {"Success"}


def test_bad_credentials_unreachable_and_unset_variable_are_one_sentence_exit_2(make_repo, cli, pg_db):
    repo = make_parent(make_repo, {"sql/V1__t.sql": "CREATE TABLE t (id int);"}, env_toml(pg_db))
    wrong = cli("db", "status", "--url", pg_db.url.replace(pg_db.server.password, "s3cret-wrong"), cwd=repo.path)
    assert wrong.code == 2 and wrong.stdout == ""
    assert "s3cret-wrong" not in wrong.stderr and "postgres:***@" in wrong.stderr
    assert 'password authentication failed for user "postgres"' in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1 and "Traceback" not in wrong.stderr

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    unreachable = cli("db", "migrate", "--url", f"postgresql://app:hunter2@127.0.0.1:{closed}/x", cwd=repo.path)
    assert unreachable.code == 2 and "hunter2" not in unreachable.stderr
    assert unreachable.stderr.startswith(f"ddl-cascade: cannot connect to postgresql://app:***@127.0.0.1:{closed}/x:")

    missing = cli("db", "status", "--env", "nope", cwd=repo.path)
    assert missing.code == 2 and "no environment named 'nope'" in missing.stderr


def test_unset_environment_variable_is_named(make_repo, cli, pg_db, monkeypatch):
    monkeypatch.delenv("DDLC_TEST_PGPASSWORD", raising=False)
    repo = make_parent(make_repo, {"sql/V1__t.sql": "CREATE TABLE t (id int);"}, env_toml(pg_db))
    result = cli("db", "migrate", "--env", "dev", cwd=repo.path)
    assert result.code == 2
    assert "${DDLC_TEST_PGPASSWORD}" in result.stderr and "is not set" in result.stderr


def craft_flyway_history(pg_db, rows: list[tuple]) -> None:
    """Write history exactly as real Flyway does: its DDL, then rows with its column values (§4.2)."""
    with pg_db.connect() as conn:
        conn.execute(history.create_script("public"))
        for r in rows:
            conn.execute('INSERT INTO flyway_schema_history ("installed_rank", "version", "description", "type", '
                         '"script", "checksum", "installed_by", "execution_time", "success") '
                         "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", r)


def test_status_reads_history_written_by_flyway(make_repo, cli, pg_db):
    files = {
        "sql/V4__old.sql": "CREATE TABLE old (id int);\n",
        "sql/V6__six.sql": "CREATE TABLE six (id int);\n",
        "sql/V7__seven.sql": "CREATE TABLE seven (id bigint);\n",
        "sql/V8__eight.sql": "CREATE TABLE eight (id int);\n",
        "sql/R__view.sql": "CREATE OR REPLACE VIEW v AS SELECT 2 AS n;\n",
    }
    cs = {name: flyway.checksum_text(text) for name, text in files.items()}
    craft_flyway_history(pg_db, [
        (0, None, "<< Flyway Schema Creation >>", "SCHEMA", '"public"', None, "flyway", 0, True),
        (1, "5", "<< Flyway Baseline >>", "BASELINE", "<< Flyway Baseline >>", None, "flyway", 0, True),
        (2, "6", "six", "SQL", "V6__six.sql", cs["sql/V6__six.sql"], "flyway", 12, True),
        (3, "7", "seven", "SQL", "V7__seven.sql", 123456, "flyway", 9, True),  # edited since it was applied
        (4, None, "view", "SQL", "R__view.sql", 42, "flyway", 3, True),
        (5, None, "view", "SQL", "R__view.sql", cs["sql/R__view.sql"], "flyway", 3, True),
    ])
    repo = make_parent(make_repo, files)
    result = cli("db", "status", "--url", pg_db.url, "--json", cwd=repo.path)
    assert result.code == 1, result.stderr  # the checksum mismatch
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert [(m["installed_rank"], m["version"], m["description"], m["state"], m["checksum_mismatch"])
            for m in data["migrations"]] == [
        (None, "4", "old", "Below Baseline", False),
        (0, None, "<< Flyway Schema Creation >>", "Success", False),
        (1, "5", "<< Flyway Baseline >>", "Baseline", False),
        (2, "6", "six", "Success", False),
        (3, "7", "seven", "Success", True),
        (4, None, "view", "Superseded", False),
        (5, None, "view", "Success", False),
        (None, "8", "eight", "Pending", False),
    ]
    assert data["problems"] == [
        f"Migration checksum mismatch for migration version 7\n-> Applied to database : 123456\n"
        f"-> Resolved locally    : {cs['sql/V7__seven.sql']}"]

    text = cli("db", "status", "--url", pg_db.url, cwd=repo.path)
    assert text.code == 1
    assert "Below Baseline" in text.stdout and "123456 != file" in text.stdout
    assert "1 checksum mismatch\n" in text.stdout  # singular

    # migrate refuses, with Flyway's message, and changes nothing.
    refused = cli("db", "migrate", "--url", pg_db.url, cwd=repo.path)
    assert refused.code == 1 and "Migration checksum mismatch for migration version 7" in refused.stderr
    assert pg_db.query("SELECT to_regclass('eight')") == [(None,)]


def test_status_flags_failed_rows(make_repo, cli, pg_db):
    craft_flyway_history(pg_db, [(1, "1", "t", "SQL", "V1__t.sql", flyway.checksum_text("CREATE TABLE t (id int);"),
                                  "flyway", 4, False)])
    repo = make_parent(make_repo, {"sql/V1__t.sql": "CREATE TABLE t (id int);"})
    result = cli("db", "status", "--url", pg_db.url, "--json", cwd=repo.path)
    assert result.code == 1
    data = json.loads(result.stdout)
    assert [m["state"] for m in data["migrations"]] == ["Failed"]
    assert data["problems"] == ["Detected failed migration to version 1 (t)"]


def test_verify_child_runs_shared_and_own_migrations(make_repo, cli, pg_server):
    child = make_repo("child-app")
    child.commit({
        "read-only-flyway-files/sql/V1__shared_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
        "read-only-flyway-files/sql/V3__shared_orders.sql": "CREATE TABLE orders (id int, user_id int);\n",
        "read-only-flyway-files/callbacks/afterMigrate.sql": "COMMENT ON TABLE users IS '${team}';\n",
        "db/own/V2__app_sessions.sql": "CREATE TABLE sessions (user_id int REFERENCES users(id));\n",
        "db/own/V1000__app_report.sql": "CREATE VIEW report AS SELECT count(*) FROM orders;\n",
    }, "child with its own migrations")
    bare = make_repo("child-app.git", bare=True)
    child.git("push", "-q", str(bare.path), "main")
    repo = make_parent(make_repo, {"sql/V1__shared_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n"},
                       '[flyway.placeholders]\nteam = "payments"\n'
                       f'[[children]]\nname = "app"\nurl = "{bare.path}"\nlocal_paths = ["db/own"]\n')
    result = cli("db", "verify", "--child", "app", "--url", pg_server.url("postgres"), "--json", cwd=repo.path)
    assert result.code == 0, result.stderr
    assert [(m["version"], m["script"]) for m in json.loads(result.stdout)["migrations"]] == [
        ("1", "V1__shared_users.sql"), ("2", "V2__app_sessions.sql"), ("3", "V3__shared_orders.sql"),
        ("1000", "V1000__app_report.sql")]

    unknown = cli("db", "verify", "--child", "nobody", cwd=repo.path)
    assert unknown.code == 2 and "no child named 'nobody'" in unknown.stderr


def test_status_db_adds_each_childs_database_state(tmp_path, cli, pg_server, monkeypatch):
    from cascade_world import make_world

    world = make_world(tmp_path / "world", {"app": "squash", "plain": "squash"})
    healthy = f"t_status_db_{id(world) % 100000}"
    pg_server.create_database(healthy)  # the child's own migration is db/V100__app.sql (make_world)
    config = world.write_config()
    text = config.read_text().replace(
        'name = "app"', 'name = "app"\nenvironment = "prod"\nlocal_paths = ["db"]')
    text += (f'\n[environments.prod]\nurl = "postgresql://postgres:${{DDLC_PW}}@127.0.0.1:{pg_server.port}/'
             f'{healthy}"\n')
    config.write_text(text)
    world.parent.commit({"cascade.toml": text}, "environments")
    env = {"DDLC_PW": pg_server.password}
    assert cli("sync", cwd=world.parent.path).code == 0
    migrated = cli("db", "migrate", "--env", "prod", "--child", "app", "--json", cwd=world.parent.path, env=env)
    assert migrated.code == 0, migrated.stderr
    assert [m["script"] for m in json.loads(migrated.stdout)["migrations"]] == [
        "V1__init.sql", "V2__more.sql", "V100__app.sql"]

    result = cli("status", "--db", "--json", cwd=world.parent.path, env=env)
    assert result.code == 0, result.stdout + result.stderr
    children = {c["name"]: c for c in json.loads(result.stdout)["children"]}
    assert children["plain"]["database"] is None  # names no environment
    db = children["app"]["database"]
    assert {k: db[k] for k in ("environment", "ok", "current_version", "applied", "pending", "failed",
                               "mismatches", "error")} == {
        "environment": "prod", "ok": True, "current_version": "100", "applied": 3, "pending": 0, "failed": 0,
        "mismatches": 0, "error": None}
    assert db["target"] == f"postgresql://postgres:***@127.0.0.1:{pg_server.port}/{healthy}"

    # Someone edits a delivered migration's row: status --db now fails, and says why.
    with pg_server.connect(healthy) as conn:
        conn.execute("UPDATE flyway_schema_history SET checksum = 1 WHERE version = '2'")
    text_out = cli("status", "--db", cwd=world.parent.path, env=env)
    assert text_out.code == 1
    assert "DATABASES" in text_out.stdout and "1 checksum mismatch" in text_out.stdout
    assert "checksum mismatches" not in text_out.stdout  # singular
    # The closing line says why it exits 1: which database, and what is wrong with it.
    assert text_out.stdout.splitlines()[-1] == "Exit code 1: 1 database not ok (app in prod: 1 checksum mismatch)."

    # A wrong password: the child's database is reported unreachable, without the secret (in-process: same code).
    from ddl_cascade import config as config_module
    from ddl_cascade.db.report import attach
    from ddl_cascade.cascade.commands import status as repository_status

    monkeypatch.setenv("DDLC_PW", "not-the-password")
    cfg = config_module.load(world.config_path)
    report = repository_status(cfg)
    assert attach(cfg, report) is False
    db = {c.name: c for c in report.children}["app"].database
    assert "password authentication failed" in db.error and "not-the-password" not in db.error + db.target


def test_missing_privileges_are_one_sentence_exit_2(make_repo, cli, pg_db):
    with pg_db.connect() as conn:
        conn.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ddlc_limited') THEN "
                     "CREATE ROLE ddlc_limited LOGIN PASSWORD 'limited-pw-1'; END IF; END $$;")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")  # PostgreSQL 15's default, on any version
    url = f"postgresql://ddlc_limited:limited-pw-1@127.0.0.1:{pg_db.server.port}/{pg_db.name}"
    repo = make_parent(make_repo, {"sql/V1__t.sql": "CREATE TABLE t (id int);"})
    verify = cli("db", "verify", "--url", url, cwd=repo.path)
    assert verify.code == 2 and "Traceback" not in verify.stderr
    assert verify.stderr.strip() == (f"ddl-cascade: postgresql://ddlc_limited:***@127.0.0.1:{pg_db.server.port}/"
                                     f"{pg_db.name}: permission denied to create database.")
    # No CREATE on schema public: Flyway could not create its table either.
    migrate = cli("db", "migrate", "--url", url, cwd=repo.path)
    assert migrate.code == 2 and "permission denied for schema public" in migrate.stderr
    assert "limited-pw-1" not in migrate.stderr + migrate.stdout


def test_verify_children_with_their_own_flyway_config(make_repo, cli, pg_server):
    """The fixtures `platform` (flyway.toml: shared folder + own sql) and `ledger` (flyway.conf, callbacks inside
    the migration location) as children: their own Flyway configs decide what runs."""
    urls = {}
    for name in ("platform", "ledger"):
        root = FIXTURES / name
        work = make_repo(f"{name}-work")
        work.commit({str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()},
                    f"{name} as it is")
        bare = make_repo(f"{name}.git", bare=True)
        work.git("push", "-q", str(bare.path), "main")
        urls[name] = bare.path
    repo = make_parent(make_repo, {"sql/V1__unused_here.sql": "SELECT 1;"}, "".join(
        f'[[children]]\nname = "{n}"\nurl = "{u}"\n' for n, u in urls.items()))

    platform = cli("db", "verify", "--child", "platform", "--url", pg_server.url("postgres"), "--json", cwd=repo.path)
    assert platform.code == 0, platform.stderr
    scripts = [m["script"] for m in json.loads(platform.stdout)["migrations"]]
    shared = sorted(p.name for p in (FIXTURES / "platform" / "read-only-flyway-files" / "sql").glob("V*.sql"))
    own = sorted(p.name for p in (FIXTURES / "platform" / "sql").glob("V*.sql"))
    assert scripts == shared + own + ["R__audit_trigger.sql", "R__notification_queue_view.sql",
                                      "R__tenant_overview.sql"]

    ledger = cli("db", "verify", "--child", "ledger", "--url", pg_server.url("postgres"), "--json", cwd=repo.path)
    assert ledger.code == 0, ledger.stderr
    data = json.loads(ledger.stdout)["migrations"]
    assert [m["version"] for m in data][:3] == ["2024.01.15.1030", "2024.01.15.1100", "2024.01.22.0915"]
    assert data[0]["script"] == "2024/V2024.01.15.1030__create_schema_and_accounts.sql"  # relative to the location
    assert "ajout données référence" in [m["description"] for m in data]


def test_verify_keep_leaves_the_database_for_inspection(make_repo, cli, pg_server):
    import os
    import re
    import shutil
    import signal
    import time

    import psycopg

    repo = make_parent(make_repo, {"sql/V1__t.sql": "CREATE TABLE kept_table (id int);"})
    result = cli("db", "verify", "--keep", cwd=repo.path)
    assert result.code == 0, result.stderr
    m = re.search(r'kept: psql "([^"]+)"  \(stop the server with: kill -INT (\d+); then rm -rf (\S+)\)', result.stdout)
    assert m, result.stdout
    conninfo, pid, folder = m.group(1), int(m.group(2)), m.group(3)
    try:
        with psycopg.connect(conninfo) as conn:  # the unix socket, no password needed
            assert conn.execute("SELECT to_regclass('kept_table') IS NOT NULL").fetchone() == (True,)
    finally:
        os.kill(pid, signal.SIGINT)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        shutil.rmtree(folder, ignore_errors=True)

    on_url = cli("db", "verify", "--keep", "--json", "--url", pg_server.url("postgres"), cwd=repo.path)
    assert on_url.code == 0 and json.loads(on_url.stdout)["ok"] is True
    name = re.search(r"database (ddl_cascade_verify_\w+) on", on_url.stderr).group(1)
    pg_server.drop_database(name)
