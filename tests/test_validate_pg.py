"""sql/syntax against the real PostgreSQL server as the oracle: the server must reject exactly the statements validate
flags, at exactly the line and column validate reports.

Each statement is sent alone, as Flyway sends it, inside a transaction that is rolled back. Only SQLSTATE 42601
(syntax_error) counts: a missing table or a CONCURRENTLY inside a transaction are not syntax. (The server also uses
42601 for a few parse-analysis errors, e.g. UNION branches with different column counts; those are not grammar
errors and are left out of the table.)
"""

from __future__ import annotations

import psycopg
import pytest

from ddl_cascade.flyway.sqlscript import line_starts, position, split_statements
from ddl_cascade.validate.engine import check_script
from ddl_cascade.validate.files import MIGRATION, ScriptFile

SCRIPTS = [
    "CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL);\nINSERT INTO t VALUES (1, 'a');\n",
    "CREATE TABLE t (\n  id int,\n  name text\n  created_at timestamptz\n);\n",
    "SELECT 1;\n\n\n   SELEC 2;\n",
    "CREATE TABLE t (id int,);\nCREATE TABLE u (id int);\nALTER TABLE u ADD COLUMN;\n",
    "INSERT INTO t (a, b) VALUES ('é', 'ü'), ('ß' 'x);\n",
    "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;\nSELECT f(;\n",
    "DO $$\nBEGIN\n  RAISE NOTICE 'semi;colon';\nEND\n$$;\nDO $$ BEGIN END $$ LANGUAGE;\n",
    "COPY t (a) FROM stdin;\n1\n2;;\n\\.\nUPDATE t SET a = WHERE a = 1;\n",
    "CREATE INDEX CONCURRENTLY i ON t (a);\n",
    "GRANT SELECT ON t TO;\n",
    "ALTER TABLE t\n  ADD CONSTRAINT c CHECK (a > 0) NOT VALID,\n  ADD COLUMN b int DEFAULT;\n",
    "CREATE TABLE \"Ünïcode\" (\"naïve\" text);\nSELECT \"naïve\" FROM \"Ünïcode\" WHERE;\n",
    "CREATE VIEW v AS SELECT 1 AS one UNION;\n",
    "SELECT 'unterminated;\n",
    "/* a comment; with semicolons */ SELECT 1; -- and; here\nSELECT (1 + ;\n",
]


def server_syntax_errors(db, text: str) -> list[tuple[int, int]]:
    """(line, column) in the file of every statement the server rejects as a syntax error."""
    starts = line_starts(text)
    out = []
    with db.connect(autocommit=False) as conn:
        for stmt in split_statements(text):
            try:
                conn.execute(stmt.sql)
            except psycopg.errors.SyntaxError as exc:
                pos = exc.diag.statement_position
                offset = stmt.start + (int(pos) - 1 if pos else len(stmt.sql))
                out.append(position(starts, min(offset, len(text))))
            except psycopg.Error:
                pass
            conn.rollback()
    return out


@pytest.mark.parametrize("text", SCRIPTS, ids=[f"script{i}" for i in range(len(SCRIPTS))])
def test_syntax_positions_match_the_server(pg_db, text):
    f = ScriptFile("rw/sql/V1__x.sql", MIGRATION, "sql", "V1__x.sql", text.encode())
    # An unterminated quote is reported as sql/unreadable (the rest of the script is swallowed), not again as syntax.
    ours = [(x.line, x.column) for x in check_script(f, {}, "utf-8", "postgres").findings
            if x.rule in ("sql/syntax", "sql/unreadable")]
    assert ours == server_syntax_errors(pg_db, text)
