"""The migration engine against a real PostgreSQL: what Flyway's migrate would do, row for row.

Each test gets a fresh database on the worker's server (`pg_db`). Migrations are realistic PostgreSQL: functions
with `$$`, DO blocks, enums, partitioned tables, CREATE INDEX CONCURRENTLY, COPY FROM stdin, callbacks, placeholders.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from ddl_cascade import flyway
from ddl_cascade.db import engine, history
from ddl_cascade.db import migrations as migration_sets


def make_plan(sql: dict[str, str], callbacks: dict[str, str] | None = None, placeholders=None) -> migration_sets.MigrationSet:
    encode = lambda files: {k: v.encode("utf-8") for k, v in files.items()}  # noqa: E731
    return migration_sets.build({"sql": encode(sql)}, {"callbacks": encode(callbacks or {})}, encoding="utf-8",
                       placeholders=placeholders or {}, display_root="read-write-flyway-files")


def run(pg_db, plan, **kw) -> engine.MigrateResult:
    with pg_db.connect() as conn:
        return engine.migrate(conn, plan, **kw)


def history_rows(pg_db) -> list[tuple]:
    return pg_db.query('SELECT installed_rank, version, description, type, script, checksum, installed_by, '
                       'execution_time >= 0, success FROM flyway_schema_history ORDER BY installed_rank')


REALISTIC = {
    "V1__enums_and_tables.sql": (
        "CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped');\n"
        "CREATE TABLE customer (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);\n"
        "CREATE TABLE orders (id bigint, customer_id bigint REFERENCES customer(id),\n"
        "                     status order_status NOT NULL DEFAULT 'new', placed_on date NOT NULL,\n"
        "                     PRIMARY KEY (id, placed_on))\n"
        "    PARTITION BY RANGE (placed_on);\n"
        "CREATE TABLE orders_2024 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
        "CREATE TABLE orders_2025 PARTITION OF orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
    ),
    "V1.1__function_and_do.sql": (
        "CREATE FUNCTION order_count(c bigint) RETURNS bigint LANGUAGE plpgsql AS $$\n"
        "DECLARE n bigint;  -- a ; inside the body\n"
        "BEGIN\n  SELECT count(*) INTO n FROM orders WHERE customer_id = c;\n  RETURN n;\nEND;\n$$;\n"
        "DO $body$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${reader}') THEN\n"
        "    CREATE ROLE ${reader};\n  END IF;\nEND\n$body$;\n"
        "GRANT SELECT ON customer TO ${reader};\n"
    ),
    "V2__copy_seed.sql": (
        "COPY customer (email) FROM stdin;\n"
        "ann@example.com\nbob@example.com\n"
        "\\.\n"
        "INSERT INTO orders VALUES (1, 1, 'paid', '2024-05-01'), (2, 1, 'new', '2025-02-03');\n"
    ),
    "V2.1__email_index.sql": "CREATE UNIQUE INDEX CONCURRENTLY customer_email_idx ON customer (email);\n",
    "R__order_view.sql": (
        "CREATE OR REPLACE VIEW ${flyway:defaultSchema}.order_view AS\n"
        "  SELECT o.id, c.email, o.status FROM orders o JOIN customer c ON c.id = o.customer_id;\n"
    ),
}


def test_realistic_migrations_apply_and_history_matches_flyway_row_for_row(pg_db):
    plan = make_plan(REALISTIC, placeholders={"reader": "shop_reader"})
    result = run(pg_db, plan)
    assert result.ok, result.failure
    assert [m.script for m in result.migrations] == [
        "V1__enums_and_tables.sql", "V1.1__function_and_do.sql", "V2__copy_seed.sql", "V2.1__email_index.sql",
        "R__order_view.sql"]
    # The data really arrived: COPY rows, the partitioned table, the function, the view, the concurrent index.
    assert pg_db.query("SELECT order_count(1)") == [(2,)]
    assert pg_db.query("SELECT email, status::text FROM order_view ORDER BY id") == [
        ("ann@example.com", "paid"), ("ann@example.com", "new")]
    assert pg_db.query("SELECT count(*) FROM orders_2025") == [(1,)]
    assert pg_db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'customer_email_idx'::regclass") == [
        (True,)]

    raw = {name: flyway.checksum_text(text) for name, text in REALISTIC.items()}
    replaced_view = REALISTIC["R__order_view.sql"].replace("${flyway:defaultSchema}", "public")
    assert history_rows(pg_db) == [
        (1, "1", "enums and tables", "SQL", "V1__enums_and_tables.sql", raw["V1__enums_and_tables.sql"],
         "postgres", True, True),
        (2, "1.1", "function and do", "SQL", "V1.1__function_and_do.sql", raw["V1.1__function_and_do.sql"],
         "postgres", True, True),
        (3, "2", "copy seed", "SQL", "V2__copy_seed.sql", raw["V2__copy_seed.sql"], "postgres", True, True),
        (4, "2.1", "email index", "SQL", "V2.1__email_index.sql", raw["V2.1__email_index.sql"], "postgres", True,
         True),
        # Repeatables: version NULL, checksum of the text after placeholder replacement (Flyway >= 6.3).
        (5, None, "order view", "SQL", "R__order_view.sql", flyway.checksum_text(replaced_view), "postgres", True,
         True),
    ]
    # installed_on comes from the column default now(), as Flyway leaves it.
    assert pg_db.query("SELECT bool_and(installed_on <= now()) FROM flyway_schema_history") == [(True,)]


def test_history_table_ddl_is_flywayss_column_by_column(pg_db):
    run(pg_db, make_plan({"V1__t.sql": "CREATE TABLE t (id int);"}))
    columns = pg_db.query(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_name = 'flyway_schema_history' ORDER BY ordinal_position")
    assert columns == [
        ("installed_rank", "integer", None, "NO", None),
        ("version", "character varying", 50, "YES", None),
        ("description", "character varying", 200, "NO", None),
        ("type", "character varying", 20, "NO", None),
        ("script", "character varying", 1000, "NO", None),
        ("checksum", "integer", None, "YES", None),
        ("installed_by", "character varying", 100, "NO", None),
        ("installed_on", "timestamp without time zone", None, "NO", "now()"),
        ("execution_time", "integer", None, "NO", None),
        ("success", "boolean", None, "NO", None),
    ]
    assert pg_db.query("SELECT conname, contype FROM pg_constraint "
                       "WHERE conrelid = 'flyway_schema_history'::regclass") == [("flyway_schema_history_pk", "p")]
    assert pg_db.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'flyway_schema_history_s_idx'") == [
        ("CREATE INDEX flyway_schema_history_s_idx ON public.flyway_schema_history USING btree (success)",)]


def test_baseline_then_versioned_then_repeatables_by_description(pg_db):
    plan = make_plan({
        "R__b_second.sql": "CREATE OR REPLACE VIEW vb AS SELECT 2 AS n;",
        "R__a_first.sql": "CREATE OR REPLACE VIEW va AS SELECT 1 AS n;",
        "V3__after.sql": "CREATE TABLE after_baseline (id int);",
        "V1__below.sql": "CREATE TABLE below_baseline (id int);",
        "V2__same.sql": "CREATE TABLE same_as_baseline (id int);",
        "V10__ten.sql": "CREATE TABLE ten (id int);",
        "B2__baseline.sql": "CREATE TABLE from_baseline (id int);",
    })
    result = run(pg_db, plan)
    assert result.ok
    assert [(m.version, m.type, m.script) for m in result.migrations] == [
        ("2", "SQL_BASELINE", "B2__baseline.sql"),
        ("3", "SQL", "V3__after.sql"),
        ("10", "SQL", "V10__ten.sql"),  # 10 > 3 numerically
        (None, "SQL", "R__a_first.sql"),
        (None, "SQL", "R__b_second.sql"),
    ]
    assert pg_db.query("SELECT to_regclass('below_baseline'), to_regclass('same_as_baseline')") == [(None, None)]


def test_callbacks_run_in_flyway_order_and_transaction_scopes(pg_db):
    callbacks = {
        "beforeMigrate.sql": "CREATE TABLE IF NOT EXISTS cb_log (n serial, event text, in_tx bool, script text);",
        "beforeEachMigrate.sql": "INSERT INTO cb_log (event, in_tx) VALUES ('beforeEachMigrate', "
                                 "now() <> statement_timestamp() OR true);",
        "afterEachMigrate.sql": "INSERT INTO cb_log (event, script) VALUES ('afterEachMigrate', "
                                "'${flyway:filename}');",
        "afterVersioned.sql": "INSERT INTO cb_log (event) VALUES ('afterVersioned');",
        "beforeRepeatables.sql": "INSERT INTO cb_log (event) VALUES ('beforeRepeatables');",
        "afterMigrate.sql": "INSERT INTO cb_log (event) VALUES ('afterMigrate');",
        "afterMigrate__b_second.sql": "INSERT INTO cb_log (event) VALUES ('afterMigrate b');",
        "afterMigrateApplied.sql": "INSERT INTO cb_log (event) VALUES ('afterMigrateApplied');",
    }
    plan = make_plan({"V1__one.sql": "CREATE TABLE one (id int);", "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT 1;"},
                     callbacks)
    assert run(pg_db, plan).ok
    assert pg_db.query("SELECT event, script FROM cb_log ORDER BY n") == [
        ("beforeEachMigrate", None), ("afterEachMigrate", "afterEachMigrate.sql"),
        ("afterVersioned", None), ("beforeRepeatables", None),
        ("beforeEachMigrate", None), ("afterEachMigrate", "afterEachMigrate.sql"),
        ("afterMigrateApplied", None), ("afterMigrate", None), ("afterMigrate b", None),
    ]
    # Callbacks are never written to the schema history.
    assert [r[4] for r in history_rows(pg_db)] == ["V1__one.sql", "R__v.sql"]


def test_each_migrate_callbacks_share_the_migrations_transaction(pg_db):
    # afterEachMigrate fails: the migration it belongs to must be rolled back with it, and leave no row.
    callbacks = {"afterEachMigrate.sql": "SELECT 1 / (SELECT count(*) FROM gate);"}
    plan = make_plan({"V1__gate.sql": "CREATE TABLE gate (id int); INSERT INTO gate VALUES (1);",
                      "V2__closed.sql": "CREATE TABLE closed (id int); DELETE FROM gate;"}, callbacks)
    result = run(pg_db, plan)
    assert not result.ok
    assert result.failure.path == "read-write-flyway-files/callbacks/afterEachMigrate.sql"
    assert "division by zero" in result.failure.message
    assert pg_db.query("SELECT to_regclass('closed'), (SELECT count(*) FROM gate)") == [(None, 1)]
    assert [r[1] for r in history_rows(pg_db)] == ["1"]


def test_placeholders_configured_and_flyway_defaults(pg_db):
    plan = make_plan({"V1__ph.sql": (
        "CREATE TABLE ph (k text, v text);\n"
        "INSERT INTO ph VALUES ('schema', '${flyway:defaultSchema}'), ('user', '${flyway:user}'),\n"
        "  ('database', '${flyway:database}'), ('table', '${flyway:table}'), ('file', '${flyway:filename}'),\n"
        "  ('custom', '${Region}'), ('stamp', '${flyway:timestamp}'), ('env', '${flyway:environment}'),\n"
        "  ('cwd', '${flyway:workingDirectory}');\n")},
        placeholders={"region": "eu-west-1"})
    assert run(pg_db, plan).ok
    values = dict(pg_db.query("SELECT k, v FROM ph"))
    assert {k: values[k] for k in ("schema", "user", "database", "table", "file", "custom")} == {
        "schema": "public", "user": "postgres", "database": pg_db.name, "table": "flyway_schema_history",
        "file": "V1__ph.sql", "custom": "eu-west-1"}  # names match case-insensitively, as in Flyway
    assert (values["env"], values["cwd"]) == ("default", os.getcwd())  # no --env: Flyway's environment "default"
    assert len(values["stamp"]) == len("2024-01-01 00:00:00")
    # Versioned checksums are over the raw text (placeholders not replaced).
    assert history_rows(pg_db)[0][5] == flyway.checksum_text(plan.migrations[0].text)


def test_missing_placeholder_fails_with_flyways_message_and_line(pg_db):
    plan = make_plan({"V1__ok.sql": "CREATE TABLE ok (id int);",
                      "V2__bad.sql": "CREATE TABLE bad (id int);\n\nGRANT SELECT ON bad TO ${nobody_set};\n"})
    result = run(pg_db, plan)
    assert not result.ok
    assert (result.failure.path, result.failure.line) == ("read-write-flyway-files/sql/V2__bad.sql", 3)
    assert result.failure.message == "No value provided for placeholder: ${nobody_set}.  Check your configuration!"
    assert [r[1] for r in history_rows(pg_db)] == ["1"]


def test_transactional_failure_rolls_back_and_writes_no_row(pg_db):
    plan = make_plan({
        "V1__first.sql": "CREATE TABLE first (id int);",
        "V2__broken.sql": "CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\n\nINSERT INTO nope VALUES (1);\n",
        "V3__never.sql": "CREATE TABLE never (id int);",
    })
    result = run(pg_db, plan)
    assert not result.ok
    assert str(result.failure) == ('read-write-flyway-files/sql/V2__broken.sql, line 4: '
                                   'ERROR: relation "nope" does not exist (SQLSTATE 42P01)')
    assert [(m.script, m.success) for m in result.migrations] == [("V1__first.sql", True), ("V2__broken.sql", False)]
    # Everything V2 did is gone, nothing after it ran, and the history has no row for it.
    assert pg_db.query("SELECT to_regclass('first') IS NOT NULL, to_regclass('half'), to_regclass('never')") == [
        (True, None, None)]
    assert [r[1] for r in history_rows(pg_db)] == ["1"]
    # Fixing the file and running again continues from V2, as Flyway would.
    fixed = make_plan({**{m.filename: m.text for m in plan.migrations},
                       "V2__broken.sql": "CREATE TABLE half (id int);"})
    assert run(pg_db, fixed).ok
    assert [r[1] for r in history_rows(pg_db)] == ["1", "2", "3"]


def test_error_line_points_into_multiline_statement(pg_db):
    plan = make_plan({"V1__x.sql": "-- header\n\nCREATE TABLE x (\n  id int,\n  y no_such_type\n);\n"})
    result = run(pg_db, plan)
    assert (result.failure.line, result.failure.message) == (
        5, 'ERROR: type "no_such_type" does not exist (SQLSTATE 42704)')


def test_copy_data_error_points_at_the_data_line(pg_db):
    plan = make_plan({"V1__copy.sql": "CREATE TABLE n (v int);\nCOPY n (v) FROM stdin;\n1\n2\nthree\n\\.\n"})
    result = run(pg_db, plan)
    assert result.failure.line == 5
    assert 'invalid input syntax for type integer: "three"' in result.failure.message


def test_non_transactional_failure_leaves_failed_row_and_blocks_the_next_run(pg_db):
    plan = make_plan({
        "V1__t.sql": "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (1);",
        "V2__unique_concurrently.sql": "CREATE UNIQUE INDEX CONCURRENTLY t_id ON t (id);",
    })
    result = run(pg_db, plan)
    assert not result.ok and "could not create unique index" in result.failure.message
    rows = history_rows(pg_db)
    assert [(r[1], r[3], r[5], r[8]) for r in rows] == [
        ("1", "SQL", flyway.checksum_text(plan.migrations[0].text), True),
        ("2", "SQL", flyway.checksum_text(plan.migrations[1].text), False)]
    again = run(pg_db, plan)
    assert again.refused == ["Detected failed migration to version 2 (unique concurrently)"]
    assert again.migrations == []


def test_mixed_transactional_and_concurrent_statements_is_flyways_error(pg_db):
    plan = make_plan({"V1__mixed.sql": "CREATE TABLE m (id int);\nCREATE INDEX CONCURRENTLY m_id ON m (id);\n"})
    result = run(pg_db, plan)
    assert result.failure.line == 2
    assert result.failure.message.startswith(
        "Detected both transactional and non-transactional statements within the same migration (even though "
        "mixed is false). Offending statement found at line 2: CREATE INDEX CONCURRENTLY")
    assert history_rows(pg_db) == []


def test_script_config_execute_in_transaction_false_runs_each_statement_on_its_own(pg_db):
    encode = lambda files: {k: v.encode() for k, v in files.items()}  # noqa: E731
    plan = migration_sets.build({"sql": encode({
        "V1__t.sql": "CREATE TABLE t (id int);",
        "V2__mixed.sql": "CREATE TABLE u (id int);\nCREATE INDEX CONCURRENTLY u_id ON u (id);\n"
                         "ALTER TABLE nope ADD COLUMN x int;\n",
        "V2__mixed.sql.conf": "executeInTransaction=false\n",
    })}, {}, encoding="utf-8", placeholders={})
    result = run(pg_db, plan)
    assert result.failure.line == 3
    # Auto-commit per statement: what ran before the failure stays, and Flyway records a failed row.
    assert pg_db.query("SELECT to_regclass('u') IS NOT NULL, to_regclass('u_id') IS NOT NULL") == [(True, True)]
    assert [(r[1], r[8]) for r in history_rows(pg_db)] == [("1", True), ("2", False)]


def test_checksum_mismatch_refuses_and_changed_repeatable_reruns(pg_db):
    base = {"V1__t.sql": "CREATE TABLE t (id int);", "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT 1 AS n;"}
    assert run(pg_db, make_plan(base)).ok
    # A changed repeatable is simply applied again: a new row, the old one stays (Superseded).
    rerun = run(pg_db, make_plan({**base, "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT 2 AS n;"}))
    assert [m.script for m in rerun.migrations] == ["R__v.sql"]
    assert [(r[0], r[1], r[4]) for r in history_rows(pg_db)] == [(1, "1", "V1__t.sql"), (2, None, "R__v.sql"),
                                                               (3, None, "R__v.sql")]
    # An edited versioned migration is refused with Flyway's message; nothing runs.
    edited = make_plan({"V1__t.sql": "CREATE TABLE t (id bigint);", "V2__u.sql": "CREATE TABLE u (id int);",
                        "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT 2 AS n;"})
    refused = run(pg_db, edited)
    assert refused.refused == [
        "Migration checksum mismatch for migration version 1\n"
        f"-> Applied to database : {flyway.checksum_text(base['V1__t.sql'])}\n"
        f"-> Resolved locally    : {flyway.checksum_text('CREATE TABLE t (id bigint);')}"]
    assert pg_db.query("SELECT to_regclass('u')") == [(None,)]


def test_rerun_is_a_no_op(pg_db):
    plan = make_plan({"V1__t.sql": "CREATE TABLE t (id int);", "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT 1;"})
    assert len(run(pg_db, plan).migrations) == 2
    again = run(pg_db, plan)
    assert again.ok and again.migrations == []
    assert len(history_rows(pg_db)) == 2


def test_search_path_set_by_one_migration_does_not_leak_into_the_next(pg_db):
    plan = make_plan({"V1__schema.sql": "CREATE SCHEMA other; SET search_path TO other;",
                      "V2__table.sql": "CREATE TABLE where_am_i (id int);"})
    assert run(pg_db, plan).ok
    assert pg_db.query("SELECT schemaname FROM pg_tables WHERE tablename = 'where_am_i'") == [("public",)]


def test_advisory_lock_is_flyways_key_and_two_runs_never_interleave(pg_db):
    schema = "public"
    # Flyway: LOCK_MAGIC_NUM + "\"public\".\"flyway_schema_history\"".hashCode()
    assert history.lock_number(schema) == history.LOCK_MAGIC + history.java_string_hash(
        '"public"."flyway_schema_history"')
    slow = make_plan({"V1__slow.sql": "CREATE TABLE slow (id int); SELECT pg_sleep(0.6);",
                      "V2__next.sql": "CREATE TABLE next (id int);"})
    results: list[engine.MigrateResult] = []

    def worker():
        results.append(run(pg_db, slow))

    first = threading.Thread(target=worker)
    first.start()
    # Wait until the first run holds Flyway's lock, then start a second one.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        held = pg_db.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")[0][0]
        if held:
            break
        time.sleep(0.01)
    assert held, "the first run never took the advisory lock"
    second = threading.Thread(target=worker)
    second.start()
    first.join()
    second.join()
    applied = sorted(len(r.migrations) for r in results)
    assert applied == [0, 2] and all(r.ok for r in results)
    assert [r[1] for r in history_rows(pg_db)] == ["1", "2"]


def test_a_held_lock_makes_migrate_wait_then_give_up(pg_db):
    with pg_db.connect() as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (history.lock_number("public"),))
        with pg_db.connect() as conn:
            hist = history.SchemaHistory(conn)
            with pytest.raises(Exception, match="another migration run holds the lock"):
                hist.acquire_lock(attempts=2, interval=0.05)


def test_error_callbacks_run_after_a_failure_in_their_own_transactions(pg_db):
    callbacks = {
        "beforeMigrate.sql": "CREATE TABLE IF NOT EXISTS err_log (event text);",
        "afterEachMigrateError.sql": "INSERT INTO err_log VALUES ('afterEachMigrateError');",
        "afterMigrateError.sql": "INSERT INTO err_log VALUES ('afterMigrateError');",
        "afterMigrate.sql": "INSERT INTO err_log VALUES ('afterMigrate');",
    }
    plan = make_plan({"V1__bad.sql": "CREATE TABLE partial (id int);\nSELECT * FROM missing_table;\n"}, callbacks)
    result = run(pg_db, plan)
    assert not result.ok and result.failure.line == 2
    assert pg_db.query("SELECT event FROM err_log") == [("afterEachMigrateError",), ("afterMigrateError",)]
    assert pg_db.query("SELECT to_regclass('partial')") == [(None,)]


def test_statement_callbacks_run_around_each_statement(pg_db):
    callbacks = {
        "beforeMigrate.sql": "CREATE TABLE stmt_log (n serial, event text, rows_in_t bigint);",
        "beforeEachMigrateStatement.sql": "INSERT INTO stmt_log (event) VALUES ('before');",
        "afterEachMigrateStatement.sql": "INSERT INTO stmt_log (event, rows_in_t) "
                                         "SELECT 'after', count(*) FROM t;",
    }
    plan = make_plan({"V1__t.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1), (2);\n"}, callbacks)
    assert run(pg_db, plan).ok
    assert pg_db.query("SELECT event, rows_in_t FROM stmt_log ORDER BY n") == [
        ("before", None), ("after", 0), ("before", None), ("after", 2)]


def _version_text(parts: list[int], style: int) -> str:
    if style == 0:
        return ".".join(map(str, parts))
    if style == 1:
        return "_".join(map(str, parts))
    return ".".join(map(str, parts)) + ".0"  # trailing zero: equal to the version without it


def test_property_migrate_then_status_agree_for_any_versions(pg_server):
    """For any set of distinct versions written in any of Flyway's spellings, a run applies them in numeric order,
    and `status` afterwards sees every one as Success with nothing pending; a new lower file is Ignored and a new
    higher one Pending. PostgreSQL stores and returns what the engine wrote; the info code reads it back."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from ddl_cascade.db.info import compute

    counter = iter(range(10_000))
    version = st.lists(st.integers(0, 30), min_size=1, max_size=3).filter(lambda p: any(p))

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(version, st.integers(0, 2)), min_size=1, max_size=6,
                    unique_by=lambda t: tuple(flyway.Version(".".join(map(str, t[0]))).parts)))
    def check(entries):
        name = f"prop_{os.getpid()}_{next(counter)}"
        pg_server.create_database(name)
        try:
            files = {f"V{_version_text(p, s)}__m{i}.sql": f"CREATE TABLE m{i} (id int);"
                     for i, (p, s) in enumerate(entries)}
            plan = make_plan(files)
            with pg_server.connect(name) as conn:
                result = engine.migrate(conn, plan)
                assert result.ok, result.failure
                applied = [flyway.Version(m.version) for m in result.migrations]
                assert applied == sorted(applied) and len(applied) == len(entries)
                info = engine.status(conn, plan)
                rows = history.SchemaHistory(conn).rows()
                session = engine.Session.open(conn)
            assert {m.state for m in info.migrations} == {"Success"} and info.pending == []

            def states_with(extra_version: flyway.Version) -> dict[str, str]:
                more = make_plan({**files, f"V{extra_version}__extra.sql": "SELECT 1;"})
                return {m.version: m.state for m in compute(engine.resolve(more, session), rows).migrations}

            highest = applied[-1]
            higher = flyway.Version(".".join(map(str, highest.parts[:-1] + (highest.parts[-1] + 1,))))
            assert states_with(higher)[str(higher)] == "Pending"
            lowest = flyway.Version("0.0.1")
            if lowest not in applied and lowest < highest:
                assert states_with(lowest)["0.0.1"] == "Ignored"  # outOfOrder is off, as Flyway's default
        finally:
            pg_server.drop_database(name)

    check()


def test_verify_honours_schemas_and_table(pg_server):
    """`db verify` is `engine.migrate` on a fresh database with the same settings: the schemas are created and the
    history is written to the configured table in the default schema."""
    from ddl_cascade.db import target as targets
    from ddl_cascade.db.verify import verify
    from ddl_cascade.flyway.settings import Settings

    plan = make_plan({"V1__t.sql": "CREATE TABLE t (id int);\n"})
    plan = migration_sets.MigrationSet(plan.migrations, plan.callbacks, settings=Settings(
        schemas=("app", "Audit Log"), table="change_log"))
    result = verify(plan, target=targets.from_url(pg_server.url("postgres")), keep=True)
    assert result.ok, (result.failure, result.refused)
    name = result.kept.split()[1]
    try:
        with pg_server.connect(name) as conn:
            assert conn.execute('SELECT installed_rank, version, description, type, script FROM app.change_log '
                                'ORDER BY installed_rank').fetchall() == [
                (0, None, "<< Flyway Schema Creation >>", "SCHEMA", '"app","Audit Log"'),
                (1, "1", "t", "SQL", "V1__t.sql")]
            assert conn.execute("SELECT to_regclass('app.t') IS NOT NULL, to_regclass('public.t')").fetchone() == (
                True, None)
    finally:
        pg_server.drop_database(name)


def test_non_empty_schema_without_history_is_refused_with_flyways_sentence(pg_db):
    pg_db.query("CREATE TABLE legacy (id int)")
    result = run(pg_db, make_plan({"V1__t.sql": "CREATE TABLE t (id int);\n"}))
    assert result.refused == ['Found non-empty schema(s) "public" but no schema history table. Use baseline() or set '
                              'baselineOnMigrate to true to initialize the schema history table.']
    assert pg_db.query("SELECT to_regclass('flyway_schema_history'), to_regclass('t')") == [(None, None)]


def test_validate_off_still_refuses_a_failed_row_and_runs_after_migrate_error(pg_db):
    from ddl_cascade.flyway.settings import Settings

    broken = make_plan({"V1__idx.sql": "CREATE INDEX CONCURRENTLY i ON nothing (x);\n"})
    assert run(pg_db, broken).failure is not None
    lenient = make_plan({"V1__idx.sql": "CREATE INDEX CONCURRENTLY i ON nothing (x);\n"},
                        callbacks={"afterMigrateError.sql": "CREATE TABLE after_error (id int);\n"})
    lenient = migration_sets.MigrationSet(lenient.migrations, lenient.callbacks,
                                          settings=Settings(validate_on_migrate=False))
    result = run(pg_db, lenient)
    assert result.refused == ['Schema "public" contains a failed migration to version 1 !']
    assert pg_db.query("SELECT to_regclass('after_error') IS NOT NULL") == [(True,)]
