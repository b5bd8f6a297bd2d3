"""The `lint/...` rules never crash on valid PostgreSQL, whatever its shape, and stay quiet on everyday DDL.

A rule that raises would take down `validate` on a migration that is fine, so every rule runs over a corpus of
statement shapes that exercise the optional parts of the parse tree (missing names, ONLY, IF EXISTS, odd object
kinds). Those below the SAFE marker are what real migrations do every day and must give no finding at all.
"""

from __future__ import annotations

import pytest
from lintkit import hits, parse_file

from ddl_cascade.validate.lint import LintContext, lint

SHAPES = """
ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';
ALTER TYPE mood ADD VALUE IF NOT EXISTS 'ok' BEFORE 'blue';
ALTER TYPE comp RENAME ATTRIBUTE a TO b;
ALTER TYPE comp ADD ATTRIBUTE c int;
REINDEX DATABASE;
REINDEX SCHEMA CONCURRENTLY app;
REINDEX (VERBOSE) SYSTEM;
VACUUM;
VACUUM (ANALYZE, VERBOSE);
VACUUM FULL;
ANALYZE;
CLUSTER VERBOSE;
CLUSTER t;
TRUNCATE ONLY t RESTART IDENTITY;
DROP TABLE IF EXISTS a.b.c;
DROP INDEX IF EXISTS a.i, j CASCADE;
DROP SCHEMA IF EXISTS s1, s2 CASCADE;
DROP DATABASE IF EXISTS d WITH (FORCE);
DROP MATERIALIZED VIEW mv;
DROP FOREIGN TABLE ft;
DROP TYPE mood;
DROP FUNCTION f(int);
DROP TRIGGER tr ON t;
ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b;
ALTER TABLE IF EXISTS ONLY t ADD COLUMN IF NOT EXISTS c int;
ALTER TABLE t ALTER COLUMN c SET DATA TYPE int;
ALTER TABLE t ALTER c TYPE varchar(20) COLLATE "C";
ALTER TABLE t ADD CONSTRAINT c EXCLUDE USING gist (r WITH &&) WHERE (active);
ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NO INHERIT;
ALTER TABLE t ADD FOREIGN KEY (a, b) REFERENCES u (a, b) ON DELETE CASCADE;
ALTER TABLE t ADD UNIQUE NULLS NOT DISTINCT (a);
ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a + 1) STORED, DROP COLUMN IF EXISTS h CASCADE;
ALTER TABLE t ATTACH PARTITION t1 FOR VALUES FROM (1) TO (10);
ALTER TABLE t DETACH PARTITION t1 FINALIZE;
ALTER TABLE t SET LOGGED;
ALTER TABLE t SET (fillfactor = 70);
ALTER TABLE t RENAME CONSTRAINT a TO b;
ALTER TABLE t OWNER TO someone;
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t INHERIT p;
ALTER INDEX i RENAME TO j;
ALTER INDEX i SET TABLESPACE ts;
ALTER VIEW v RENAME TO w;
ALTER MATERIALIZED VIEW mv RENAME COLUMN a TO b;
ALTER FOREIGN TABLE ft ADD COLUMN c int NOT NULL;
ALTER SEQUENCE s RESTART WITH 10;
ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0);
CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);
CREATE TABLE t2 (LIKE t INCLUDING ALL);
CREATE TABLE IF NOT EXISTS t3 OF comp;
CREATE UNLOGGED TABLE t4 AS SELECT 1 AS x WITH NO DATA;
SELECT * INTO TEMP t5 FROM t;
CREATE SCHEMA AUTHORIZATION someone;
CREATE INDEX ON ONLY p (a);
CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t USING gin (doc jsonb_path_ops) INCLUDE (x) WHERE x > 0;
CREATE MATERIALIZED VIEW mv2 AS SELECT 1 WITH NO DATA;
REFRESH MATERIALIZED VIEW CONCURRENTLY mv2;
COPY t (a, b) FROM stdin;
PREPARE TRANSACTION 'x';
COMMIT PREPARED 'x';
SAVEPOINT s;
ROLLBACK TO SAVEPOINT s;
LOCK TABLE t IN ACCESS EXCLUSIVE MODE;
SET lock_timeout = '5s';
RESET ALL;
DO $$ BEGIN PERFORM 1; END $$;
CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;
CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();
COMMENT ON COLUMN t.a IS 'archived';
GRANT SELECT ON ALL TABLES IN SCHEMA s TO r;
INSERT INTO t VALUES ('x') ON CONFLICT DO NOTHING;
WITH moved AS (DELETE FROM t RETURNING *) INSERT INTO u SELECT * FROM moved;
"""

# Everyday DDL on existing tables that no rule should report.
SAFE = """
CREATE TABLE IF NOT EXISTS audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz DEFAULT now());
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
ALTER TABLE orders ADD COLUMN archived boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN meta jsonb NOT NULL DEFAULT '{}';
ALTER TABLE orders ADD COLUMN created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'n/a';
ALTER TABLE orders ALTER COLUMN note DROP NOT NULL;
ALTER TABLE orders ADD CONSTRAINT orders_cust_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT orders_total_pos CHECK (total >= 0) NOT VALID;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS old_check;
ALTER TABLE orders SET (autovacuum_vacuum_scale_factor = 0.01);
CREATE OR REPLACE VIEW order_totals AS SELECT customer_id, sum(total) FROM orders GROUP BY 1;
DROP VIEW IF EXISTS old_report;
DROP FUNCTION IF EXISTS old_fn(int);
CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$;
DROP TRIGGER IF EXISTS orders_touch ON orders;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TABLE orders IS 'Orders';
GRANT SELECT ON orders TO reporting;
REVOKE ALL ON orders FROM PUBLIC;
INSERT INTO settings (key, value) VALUES ('x', 'y') ON CONFLICT (key) DO NOTHING;
UPDATE orders SET note = 'x' WHERE id BETWEEN 1 AND 1000;
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded';
ALTER SEQUENCE orders_id_seq RESTART WITH 1000;
SET lock_timeout = '5s';
ANALYZE orders;
"""


def test_no_rule_crashes_on_any_statement_shape():
    parsed = parse_file(SHAPES)
    assert all(node is not None for _, node in parsed), [s.sql for s, n in parsed if n is None]
    for pg_version in (10, 11, 12, 14, 15, 17):
        for in_transaction in (True, False, None):
            lint("V1", parsed, LintContext(pg_version=pg_version, in_transaction=in_transaction))


@pytest.mark.parametrize("statement", [s.strip() for s in SAFE.strip().splitlines()])
def test_everyday_ddl_is_not_reported(statement):
    assert hits(statement) == []


def test_rename_value_is_not_add_value():
    assert hits("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';\nSELECT 'blue'::mood;", pg_version=11) == []


def test_select_into_creates_a_new_table():
    assert hits("SELECT * INTO stage FROM orders;\nCREATE INDEX ON stage (id);") == []
