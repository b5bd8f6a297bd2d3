"""The `lint/...` rules as tables: a migration's SQL in, every finding's (rule, line) out.

Each row lists ALL findings of ALL rules, so a row also proves that the other rules stay quiet. Every rule has
positive rows, safe forms, and the new-table exemption (a table created earlier in the same migration).
"""

from __future__ import annotations

import pytest
from lintkit import hits, lint_migrations, lint_sql

from ddl_cascade.validate.lint import RULES
from ddl_cascade.validate.model import Severity

CASES = [
    # --- lint/drop-table
    ("drop table", "DROP TABLE legacy;", [("lint/drop-table", 1)]),
    ("drop two tables", "DROP TABLE IF EXISTS a, s.b CASCADE;", [("lint/drop-table", 1), ("lint/drop-table", 1)]),
    ("drop new table", "CREATE TABLE tmp (id int);\nDROP TABLE tmp;", []),
    ("drop then create", "DROP TABLE t;\nCREATE TABLE t (id int);", [("lint/drop-table", 1)]),
    ("drop view is fine", "DROP VIEW v;", []),
    # --- lint/drop-column
    ("drop column", "ALTER TABLE users\n  DROP COLUMN email;", [("lint/drop-column", 1)]),
    ("drop column new table", "CREATE TABLE u (a int, b int);\nALTER TABLE u DROP COLUMN b;", []),
    ("drop column on view", "ALTER VIEW v RENAME COLUMN a TO b;", []),
    # --- lint/drop-schema, lint/drop-database
    ("drop schema", "DROP SCHEMA reporting CASCADE;", [("lint/drop-schema", 1)]),
    ("drop new schema", "CREATE SCHEMA scratch;\nDROP SCHEMA scratch;", []),
    ("drop database", "DROP DATABASE analytics;", [("lint/drop-database", 1)]),
    # --- lint/truncate
    ("truncate", "TRUNCATE audit_log;", [("lint/truncate", 1)]),
    ("truncate cascade", "TRUNCATE TABLE a, b CASCADE;", [("lint/truncate", 1), ("lint/truncate", 1)]),
    ("truncate new table", "CREATE TABLE stage (id int);\nTRUNCATE stage;", []),
    ("truncate table made by CTAS", "CREATE TABLE stage AS SELECT 1 AS x;\nTRUNCATE stage;", []),
    ("truncate and reload", "TRUNCATE country;\nINSERT INTO country (code) VALUES ('NL'), ('BE');", []),
    ("truncate and copy", "TRUNCATE country;\nCOPY country (code) FROM stdin;\nNL\n\\.\n", []),
    ("truncate cascade and reload", "TRUNCATE country CASCADE;\nINSERT INTO country (code) VALUES ('NL');",
     [("lint/truncate", 1)]),
    ("truncate, reload another table", "TRUNCATE country;\nINSERT INTO region (code) VALUES ('EU');",
     [("lint/truncate", 1)]),
    ("delete is fine", "DELETE FROM audit_log WHERE id < 10;", []),
    # --- lint/index-not-concurrent
    ("index", "CREATE INDEX i ON orders (customer_id);", [("lint/index-not-concurrent", 1)]),
    ("unique index", "CREATE UNIQUE INDEX i ON s.orders (a, b);", [("lint/index-not-concurrent", 1)]),
    ("unnamed index", "CREATE INDEX ON orders (a);", [("lint/index-not-concurrent", 1)]),
    ("index on only the partitioned parent", "CREATE INDEX m_idx ON ONLY measurements (at);", []),
    ("index concurrently", "CREATE INDEX CONCURRENTLY i ON orders (customer_id);", []),
    ("index on new table", "CREATE TABLE o (id int, c int);\nCREATE INDEX i ON o (c);", []),
    ("index on new table, schema", "CREATE TABLE app.o (id int);\nCREATE INDEX i ON app.o (id);", []),
    ("index, table from other schema", "CREATE TABLE app.o (id int);\nCREATE INDEX i ON audit.o (id);",
     [("lint/index-not-concurrent", 2)]),
    ("index on quoted name", 'CREATE TABLE "Orders" (id int);\nCREATE INDEX i ON "Orders" (id);', []),
    ("index on renamed new table", "CREATE TABLE a (id int);\nALTER TABLE a RENAME TO b;\nCREATE INDEX ON b (id);",
     []),
    # --- lint/drop-index-not-concurrent
    ("drop index", "DROP INDEX orders_status_idx;", [("lint/drop-index-not-concurrent", 1)]),
    ("drop index concurrently", "DROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;", []),
    ("drop new index", "CREATE TABLE o (id int);\nCREATE INDEX o_i ON o (id);\nDROP INDEX o_i;", []),
    # --- lint/reindex-not-concurrent
    ("reindex index", "REINDEX INDEX i;", [("lint/reindex-not-concurrent", 1)]),
    ("reindex table", "REINDEX TABLE orders;", [("lint/reindex-not-concurrent", 1)]),
    ("reindex system", "REINDEX SYSTEM;", []),
    ("reindex new table", "CREATE TABLE o (id int);\nREINDEX TABLE o;", []),
    # --- lint/concurrently-in-transaction
    ("cic alone", "CREATE INDEX CONCURRENTLY i ON t (a);", []),
    ("cic in explicit tx", "BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;",
     [("lint/concurrently-in-transaction", 2)]),
    ("cic after commit", "BEGIN;\nSELECT 1;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);", []),
    ("reindex concurrently is not detected by Flyway", "REINDEX INDEX CONCURRENTLY i;",
     [("lint/concurrently-in-transaction", 1)]),
    ("COMMIT does not end Flyway's transaction mode", "SELECT 1;\nCOMMIT;\nREINDEX INDEX CONCURRENTLY i;",
     [("lint/transaction-control", 2), ("lint/concurrently-in-transaction", 3)]),
    ("detach concurrently", "ALTER TABLE p DETACH PARTITION p_2020 CONCURRENTLY;",
     [("lint/concurrently-in-transaction", 1)]),
    # --- lint/detach-partition-not-concurrent
    ("detach plain", "ALTER TABLE p DETACH PARTITION p_2020;", [("lint/detach-partition-not-concurrent", 1)]),
    ("detach from new table", "CREATE TABLE p (id int) PARTITION BY RANGE (id);\n"
     "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (9);\nALTER TABLE p DETACH PARTITION p1;", []),
    ("drop index concurrently alone", "DROP INDEX CONCURRENTLY i;", []),
    # --- lint/add-column-not-null-without-default
    ("required column", "ALTER TABLE users ADD COLUMN cc text NOT NULL;",
     [("lint/add-column-not-null-without-default", 1)]),
    ("required column, default null", "ALTER TABLE users ADD COLUMN cc text NOT NULL DEFAULT NULL;",
     [("lint/add-column-not-null-without-default", 1)]),
    ("required column with default", "ALTER TABLE users ADD COLUMN cc text NOT NULL DEFAULT 'NL';", []),
    ("nullable column", "ALTER TABLE users ADD COLUMN cc text;", []),
    ("identity column", "ALTER TABLE users ADD COLUMN n bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY;",
     [("lint/add-column-volatile-default", 1)]),
    ("required column, new table", "CREATE TABLE u (id int);\nALTER TABLE u ADD COLUMN cc text NOT NULL;", []),
    ("required column, 2nd of 3 lines", "ALTER TABLE users\n  ADD COLUMN a int,\n  ADD COLUMN b int NOT NULL;",
     [("lint/add-column-not-null-without-default", 3)]),
    # --- lint/add-column-volatile-default
    ("volatile default", "ALTER TABLE o ADD COLUMN u uuid DEFAULT gen_random_uuid();",
     [("lint/add-column-volatile-default", 1)]),
    ("volatile in expression", "ALTER TABLE o ADD COLUMN r int DEFAULT (random() * 10)::int;",
     [("lint/add-column-volatile-default", 1)]),
    ("unknown function", "ALTER TABLE o ADD COLUMN r int DEFAULT my_func();",
     [("lint/add-column-volatile-default", 1)]),
    ("serial column", "ALTER TABLE o ADD COLUMN n bigserial;", [("lint/add-column-volatile-default", 1)]),
    ("stored generated", "ALTER TABLE o ADD COLUMN t int GENERATED ALWAYS AS (a * 2) STORED;",
     [("lint/add-column-volatile-default", 1)]),
    ("constant default", "ALTER TABLE o ADD COLUMN f boolean NOT NULL DEFAULT false;", []),
    ("cast constant default", "ALTER TABLE o ADD COLUMN j jsonb NOT NULL DEFAULT '{}'::jsonb;", []),
    ("now() default", "ALTER TABLE o ADD COLUMN at timestamptz NOT NULL DEFAULT now();", []),
    ("CURRENT_TIMESTAMP default", "ALTER TABLE o ADD COLUMN at timestamptz DEFAULT CURRENT_TIMESTAMP;", []),
    ("stable expression", "ALTER TABLE o ADD COLUMN d date DEFAULT (now() - interval '1 day')::date;", []),
    ("volatile default, new table", "CREATE TABLE o (id int);\nALTER TABLE o ADD COLUMN u uuid DEFAULT "
     "gen_random_uuid();", []),
    ("set default is not add", "ALTER TABLE o ALTER COLUMN u SET DEFAULT gen_random_uuid();", []),
    # --- lint/set-not-null
    ("set not null", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;", [("lint/set-not-null", 1)]),
    ("set not null, new table", "CREATE TABLE u (e text);\nALTER TABLE u ALTER COLUMN e SET NOT NULL;", []),
    ("set not null after validated check",
     "ALTER TABLE users VALIDATE CONSTRAINT c;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
     [("lint/set-not-null", 2)]),  # the check's expression is unknown: still a scan as far as we can tell
    ("drop not null", "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;", []),
    # --- lint/column-type-change
    ("type change", "ALTER TABLE e ALTER COLUMN id TYPE bigint;", [("lint/column-type-change", 1)]),
    ("type change using", "ALTER TABLE e ALTER COLUMN id TYPE text USING id::text;",
     [("lint/column-type-change", 1)]),
    ("type change, new table", "CREATE TABLE e (id int);\nALTER TABLE e ALTER COLUMN id TYPE bigint;", []),
    # --- lint/constraint-missing-not-valid
    ("fk", "ALTER TABLE o ADD CONSTRAINT o_fk FOREIGN KEY (c) REFERENCES c (id);",
     [("lint/constraint-missing-not-valid", 1)]),
    ("check", "ALTER TABLE o ADD CONSTRAINT pos CHECK (amount > 0);", [("lint/constraint-missing-not-valid", 1)]),
    ("fk not valid", "ALTER TABLE o ADD CONSTRAINT o_fk FOREIGN KEY (c) REFERENCES c (id) NOT VALID;", []),
    ("fk validated in same tx",
     "ALTER TABLE o ADD CONSTRAINT o_fk FOREIGN KEY (c) REFERENCES c (id) NOT VALID;\n"
     "ALTER TABLE o VALIDATE CONSTRAINT o_fk;", [("lint/constraint-missing-not-valid", 2)]),
    ("fk validated after commit",
     "ALTER TABLE o ADD CONSTRAINT o_fk FOREIGN KEY (c) REFERENCES c (id) NOT VALID;\nCOMMIT;\n"
     "ALTER TABLE o VALIDATE CONSTRAINT o_fk;", [("lint/transaction-control", 2)]),
    ("validate other constraint", "ALTER TABLE o VALIDATE CONSTRAINT old_fk;", []),
    ("fk on new table", "CREATE TABLE o (c int);\nALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES c (id);",
     []),
    ("fk to new table from old", "CREATE TABLE c (id int PRIMARY KEY);\n"
     "ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES c (id);", [("lint/constraint-missing-not-valid", 2)]),
    ("check on added column", "ALTER TABLE o ADD COLUMN n int CHECK (n > 0);",
     [("lint/constraint-missing-not-valid", 1)]),
    ("references on added column", "ALTER TABLE o ADD COLUMN c int REFERENCES c (id);", []),
    ("references on added column with default", "ALTER TABLE o ADD COLUMN c int DEFAULT 1 REFERENCES c (id);",
     [("lint/constraint-missing-not-valid", 1)]),
    ("inline fk in create table", "CREATE TABLE o (id int, c int REFERENCES c (id), CHECK (id > 0));", []),
    # --- lint/add-unique-constraint
    ("unique", "ALTER TABLE u ADD CONSTRAINT u_email_key UNIQUE (email);", [("lint/add-unique-constraint", 1)]),
    ("exclude", "ALTER TABLE r ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);",
     [("lint/add-unique-constraint", 1)]),
    ("unique using index", "ALTER TABLE u ADD CONSTRAINT u_email_key UNIQUE USING INDEX u_email_idx;", []),
    ("unique column", "ALTER TABLE u ADD COLUMN code text UNIQUE;", [("lint/add-unique-constraint", 1)]),
    ("unique on new table", "CREATE TABLE u (email text);\nALTER TABLE u ADD CONSTRAINT k UNIQUE (email);", []),
    # --- lint/add-primary-key
    ("primary key", "ALTER TABLE e ADD PRIMARY KEY (id);", [("lint/add-primary-key", 1)]),
    ("primary key using index", "ALTER TABLE e ADD CONSTRAINT e_pkey PRIMARY KEY USING INDEX e_idx;", []),
    ("serial primary key column", "ALTER TABLE e ADD COLUMN id bigserial PRIMARY KEY;",
     [("lint/add-column-volatile-default", 1), ("lint/add-primary-key", 1)]),
    ("primary key on new table", "CREATE TABLE e (id int);\nALTER TABLE e ADD PRIMARY KEY (id);", []),
    # --- lint/rename-table, lint/rename-column
    ("rename table", "ALTER TABLE customers RENAME TO clients;", [("lint/rename-table", 1)]),
    ("rename table bridged by view",
     "ALTER TABLE customers RENAME TO clients;\nCREATE VIEW customers AS SELECT * FROM clients;", []),
    ("rename table swapped for a new one", "ALTER TABLE events RENAME TO events_old;\n"
     "CREATE TABLE events (id bigint, at timestamptz);", []),
    ("rename new table", "CREATE TABLE a (id int);\nALTER TABLE a RENAME TO b;", []),
    ("rename view", "ALTER VIEW v RENAME TO w;", []),
    ("rename column", "ALTER TABLE users RENAME COLUMN name TO full_name;", [("lint/rename-column", 1)]),
    ("rename column, new table", "CREATE TABLE u (name text);\nALTER TABLE u RENAME COLUMN name TO n;", []),
    ("rename constraint", "ALTER TABLE u RENAME CONSTRAINT a TO b;", []),
    # --- lint/enum-add-value
    ("enum value used in same tx", "ALTER TYPE st ADD VALUE 'archived';\n"
     "UPDATE orders SET status = 'archived' WHERE id = 1;", [("lint/enum-add-value", 2)]),
    ("enum value not used", "ALTER TYPE st ADD VALUE 'archived';\nUPDATE orders SET note = 'x';", []),
    ("enum value used after commit", "ALTER TYPE st ADD VALUE 'archived';\nCOMMIT;\n"
     "UPDATE orders SET status = 'archived';", [("lint/transaction-control", 2)]),
    ("enum value used after an earlier commit", "SELECT 1;\nCOMMIT;\nALTER TYPE st ADD VALUE 'archived';\n"
     "UPDATE orders SET status = 'archived';", [("lint/transaction-control", 2), ("lint/enum-add-value", 4)]),
    ("enum created in same migration", "CREATE TYPE st AS ENUM ('a');\nALTER TYPE st ADD VALUE 'b';\n"
     "CREATE TABLE t (s st DEFAULT 'b');", [("lint/enum-add-value", 3)]),
    ("enum created with its values", "CREATE TYPE st AS ENUM ('a', 'b');\nCREATE TABLE t (s st DEFAULT 'b');", []),
    # --- lint/vacuum-full-or-cluster
    ("vacuum full", "VACUUM FULL orders;", [("lint/vacuum-full-or-cluster", 1)]),
    ("vacuum (full)", "VACUUM (FULL, ANALYZE) orders;", [("lint/vacuum-full-or-cluster", 1)]),
    ("vacuum (full false)", "VACUUM (FULL false) orders;", []),
    ("plain vacuum", "VACUUM ANALYZE orders;", []),
    ("cluster", "CLUSTER orders USING orders_pkey;", [("lint/vacuum-full-or-cluster", 1)]),
    ("bare cluster", "CLUSTER;", [("lint/vacuum-full-or-cluster", 1)]),
    # --- lint/transaction-control
    ("commit in a transactional migration", "BEGIN;\nALTER TABLE o ADD COLUMN n text;\nCOMMIT;",
     [("lint/transaction-control", 3)]),
    ("END and ROLLBACK", "UPDATE o SET n = 1;\nEND;\nROLLBACK;",
     [("lint/transaction-control", 2), ("lint/transaction-control", 3)]),
    ("savepoints are fine", "SAVEPOINT a;\nUPDATE o SET n = 1;\nRELEASE SAVEPOINT a;", []),
    ("explicit transaction in a non-transactional script",
     "CREATE INDEX CONCURRENTLY i ON t (a);\nBEGIN;\nUPDATE o SET n = 1;\nCOMMIT;", []),
    # --- statements that do not parse are skipped
    ("unparsable", "ALTER TABLE;\nDROP TABLE x;", [("lint/drop-table", 2)]),
]


@pytest.mark.parametrize(("sql", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_table(sql, expected):
    assert hits(sql) == expected


# Cases that depend on the context the engine passes (PostgreSQL version, transaction mode, earlier migrations).
CONTEXT_CASES = [
    ("enum add value before PG 12", "ALTER TYPE st ADD VALUE 'x';", {"pg_version": 11}, [("lint/enum-add-value", 1)]),
    ("enum add value PG 12", "ALTER TYPE st ADD VALUE 'x';", {"pg_version": 12}, []),
    ("enum add value before PG 12, type created in the same transaction",
     "CREATE TYPE st AS ENUM ('a');\nALTER TYPE st ADD VALUE 'x';", {"pg_version": 11}, []),
    ("enum add value, no transaction, PG 11", "ALTER TYPE st ADD VALUE 'x';",
     {"pg_version": 11, "in_transaction": False}, []),
    ("enum used, script not in a transaction", "ALTER TYPE st ADD VALUE 'x';\nSELECT 'x'::st;",
     {"in_transaction": False}, []),
    ("any default rewrites before PG 11", "ALTER TABLE o ADD COLUMN f int DEFAULT 0;", {"pg_version": 10},
     [("lint/add-column-volatile-default", 1)]),
    ("reindex has no CONCURRENTLY before PG 12", "REINDEX TABLE t;", {"pg_version": 11}, []),
    ("set not null: PG 11 ignores checks", "ALTER TABLE u ADD CONSTRAINT c CHECK (e IS NOT NULL);\n"
     "ALTER TABLE u ALTER COLUMN e SET NOT NULL;", {"pg_version": 11},
     [("lint/constraint-missing-not-valid", 1), ("lint/set-not-null", 2)]),
    ("set not null: valid check proves it", "ALTER TABLE u ADD CONSTRAINT c CHECK (e IS NOT NULL);\n"
     "ALTER TABLE u ALTER COLUMN e SET NOT NULL;", {}, [("lint/constraint-missing-not-valid", 1)]),
    ("set not null: check on another column", "ALTER TABLE u ADD CONSTRAINT c CHECK (x IS NOT NULL) NOT VALID;\n"
     "ALTER TABLE u VALIDATE CONSTRAINT c;\nALTER TABLE u ALTER COLUMN e SET NOT NULL;", {"in_transaction": False},
     [("lint/set-not-null", 3)]),
    ("set not null: check not validated", "ALTER TABLE u ADD CONSTRAINT c CHECK (e IS NOT NULL) NOT VALID;\n"
     "ALTER TABLE u ALTER COLUMN e SET NOT NULL;", {}, [("lint/set-not-null", 2)]),
    ("table from an earlier new migration", "CREATE INDEX i ON orders (c);", {"tables_created": {"orders"}}, []),
    ("qualified table from an earlier new migration", "CREATE INDEX i ON app.orders (c);",
     {"tables_created": {"app.orders"}}, []),
    ("executeInTransaction=true forces a transaction", "CREATE INDEX CONCURRENTLY i ON t (a);",
     {"in_transaction": True}, [("lint/concurrently-in-transaction", 1)]),
    ("executeInTransaction=false", "REINDEX INDEX CONCURRENTLY i;", {"in_transaction": False}, []),
    ("commit with executeInTransaction=false", "BEGIN;\nUPDATE o SET n = 1;\nCOMMIT;", {"in_transaction": False}, []),
    ("detach has no CONCURRENTLY before PG 14", "ALTER TABLE p DETACH PARTITION p1;", {"pg_version": 13}, []),
    ("known varchar widening", "ALTER TABLE u ALTER COLUMN n TYPE varchar(100);",
     {"column_types": {"u.n": "varchar(50)"}}, []),
    ("known varchar narrowing", "ALTER TABLE u ALTER COLUMN n TYPE varchar(10);",
     {"column_types": {"u.n": "varchar(50)"}}, [("lint/column-type-change", 1)]),
    ("known varchar to text", "ALTER TABLE u ALTER COLUMN n TYPE text;", {"column_types": {"u.n": "varchar(50)"}},
     []),
    ("known int to bigint", "ALTER TABLE u ALTER COLUMN n TYPE bigint;", {"column_types": {"u.n": "int4"}},
     [("lint/column-type-change", 1)]),
]


@pytest.mark.parametrize(("sql", "context", "expected"), [c[1:] for c in CONTEXT_CASES],
                         ids=[c[0] for c in CONTEXT_CASES])
def test_rules_with_context(sql, context, expected):
    assert hits(sql, **context) == expected


def test_every_rule_has_a_positive_row():
    fired = {rule for _, _, expected in CASES for rule, _ in expected}
    fired |= {rule for *_, expected in CONTEXT_CASES for rule, _ in expected}
    assert fired == set(RULES)


def test_registry():
    assert len(RULES) >= 14
    for rule_id, info in RULES.items():
        assert rule_id == info.id
        assert rule_id.startswith("lint/")
        assert info.severity is Severity.WARNING
        assert info.summary and "\n" not in info.summary and len(info.summary) <= 80


def test_finding_fields_name_the_object_and_point_at_it():
    sql = "-- add an index\nCREATE INDEX orders_c_idx\n    ON orders (c);\n"
    [f] = lint_sql(sql, path="sql/V2__idx.sql")
    assert (f.rule, f.severity, f.path) == ("lint/index-not-concurrent", Severity.WARNING, "sql/V2__idx.sql")
    assert (f.line, f.column) == (3, 8)  # the table name
    assert "orders_c_idx" in f.message and "orders" in f.message
    assert "CONCURRENTLY" in f.hint
    [f] = lint_sql("SELECT 1;  ALTER TABLE users DROP COLUMN email;")
    assert (f.line, f.column) == (1, 12)  # the statement's start
    assert "email" in f.message and "users" in f.message


def test_non_transactional_statement_makes_the_script_non_transactional():
    # Flyway runs the whole script in auto-commit once it detects CREATE INDEX CONCURRENTLY (and tx/mixed, not
    # lint, reports the mix); so a later REINDEX CONCURRENTLY is not in a transaction either.
    assert hits("CREATE INDEX CONCURRENTLY i ON t (a);\nREINDEX INDEX CONCURRENTLY j;") == []


def test_tables_carry_over_between_new_migrations():
    v1 = "CREATE TABLE orders (id int, c int);"
    v2 = "CREATE INDEX orders_c ON orders (c);\nALTER TABLE orders ADD COLUMN n text NOT NULL;"
    assert lint_migrations([v1, v2]) == [[], []]


def test_set_not_null_recipe_across_migrations():
    v1 = "ALTER TABLE users ADD CONSTRAINT users_e_nn CHECK (email IS NOT NULL) NOT VALID;"
    v2 = "ALTER TABLE users VALIDATE CONSTRAINT users_e_nn;"
    v3 = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_e_nn;"
    assert lint_migrations([v1, v2, v3]) == [[], [], []]
    [[], [f]] = lint_migrations([v1, v3])  # never validated: the scan still happens
    assert f.rule == "lint/set-not-null"


def test_column_types_carry_over_between_migrations():
    v1 = "CREATE TABLE u (id int, n varchar(50));"
    v2 = "ALTER TABLE u ALTER COLUMN n TYPE varchar(200);"
    v3 = "ALTER TABLE u ALTER COLUMN n TYPE text, ALTER COLUMN id TYPE bigint;"
    # V1 delivered: its table is not new, but its columns are known.
    [[], [], v3_findings] = lint_migrations([v1, v2, v3], delivered=1)
    assert [f.message.split(":")[0] for f in v3_findings] == [
        "changes the type of column id of table u from integer to bigint"
    ]


def test_delivered_set_not_null_recipe():
    v1 = "ALTER TABLE users ADD CONSTRAINT users_e_nn CHECK (email IS NOT NULL) NOT VALID;"
    v2 = "ALTER TABLE users VALIDATE CONSTRAINT users_e_nn;"
    v3 = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;"
    assert lint_migrations([v1, v2, v3], delivered=2) == [[], [], []]
    assert [f.rule for f in lint_migrations([v1, v3], delivered=1)[1]] == ["lint/set-not-null"]


def test_unparsed_statements_are_skipped():
    from lintkit import parse_file

    from ddl_cascade.validate.lint import lint

    parsed = [(stmt, None) for stmt, _ in parse_file("DROP TABLE x;")]
    assert lint("V1", parsed) == []


@pytest.mark.parametrize(("create", "alter"), [
    ("CREATE TABLE app.u (n varchar(5));", "ALTER TABLE u ALTER n TYPE text;"),
    ("CREATE TABLE u (n varchar(5));", "ALTER TABLE app.u ALTER n TYPE varchar(9);"),
])
def test_known_column_types_match_with_or_without_schema(create, alter):
    assert lint_migrations([create, alter], delivered=1)[1] == []
    narrowed = alter.replace("text", "int").replace("varchar(9)", "int")
    assert [f.rule for f in lint_migrations([create, narrowed], delivered=1)[1]] == ["lint/column-type-change"]
