"""Splitting scripts into statements by PostgreSQL's lexical rules, with exact positions."""

from __future__ import annotations

import pglast
import pytest

from ddl_cascade.flyway.sqlscript import split_statements


def sqls(text):
    return [s.sql for s in split_statements(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("select 1; select 2;", ["select 1", "select 2"]),
        ("select 1", ["select 1"]),
        ("select 'a;b'; select 2", ["select 'a;b'", "select 2"]),
        ("select 'it''s;'; select 2", ["select 'it''s;'", "select 2"]),
        ("select E'\\';'; select 2", ["select E'\\';'", "select 2"]),
        ("select \"a;\"\"b\" from t; select 2", ["select \"a;\"\"b\" from t", "select 2"]),
        ("-- a; b\nselect 1; /* x; /* nested; */ y; */ select 2;", ["select 1", "select 2"]),
        ("do $$ begin perform 1; end $$; select 2", ["do $$ begin perform 1; end $$", "select 2"]),
        ("do $body$ begin raise notice '$$;'; end $body$; select 2",
         ["do $body$ begin raise notice '$$;'; end $body$", "select 2"]),
        ("create rule r as on insert to t do also (insert into a values (1); insert into b values (2)); select 2",
         ["create rule r as on insert to t do also (insert into a values (1); insert into b values (2))",
          "select 2"]),
        ("create function f() returns int language sql begin atomic select 1; select case when true then 1 end; "
         "end; select 2",
         ["create function f() returns int language sql begin atomic select 1; select case when true then 1 end; "
          "end", "select 2"]),
        ("begin; select 1; commit;", ["begin", "select 1", "commit"]),
        (";;select 1;;", ["select 1"]),
        ("select a$b$c from t; select 2", ["select a$b$c from t", "select 2"]),
        ("select 1 -- trailing\n;", ["select 1"]),
    ],
)
def test_split(text, expected):
    assert sqls(text) == expected


def test_positions():
    text = "-- header\n\nCREATE TABLE a (id int);\n  INSERT INTO a\nVALUES (1);\r\nselect 'é';"
    statements = split_statements(text)
    assert [(s.line, s.column) for s in statements] == [(3, 1), (4, 3), (6, 1)]
    for s in statements:
        assert text[s.start:s.end] == s.sql
    assert text[statements[0].comment_start:statements[0].start] == "-- header\n\n"


def test_copy_from_stdin():
    text = ("CREATE TABLE t (a int, b text);\n"
            "COPY t (a, b) FROM stdin;\n"
            "1\tx;y\n"
            "2\t'quote\n"
            "\\.\n"
            "SELECT count(*) FROM t;\n")
    statements = split_statements(text)
    assert [s.sql for s in statements] == ["CREATE TABLE t (a int, b text)", "COPY t (a, b) FROM stdin",
                                           "SELECT count(*) FROM t"]
    assert statements[1].copy_data == "1\tx;y\n2\t'quote\n"
    assert statements[2].line == 6
    assert statements[0].copy_data is None


def test_non_transactional_flag():
    statements = split_statements("CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX j ON t (b);")
    assert [s.non_transactional for s in statements] == [True, False]


@pytest.mark.parametrize(
    "text",
    [
        "create table t (id int); insert into t values (1);",
        "do $$ begin perform 1; end $$; select 'a;'",
        "create function f() returns int language sql begin atomic select 1; end; select 2",
    ],
)
def test_each_statement_parses_with_pglast(text):
    for statement in split_statements(text):
        assert len(pglast.parse_sql(statement.sql)) == 1
    assert [s.sql for s in split_statements(text)] == [s.strip() for s in pglast.split(text)]


def test_only_postgresql_whitespace_separates_tokens():
    # U+00A0 is an identifier character for PostgreSQL's lexer, not whitespace.
    from ddl_cascade.flyway.sqlscript import tokenize

    assert [t.kind for t in tokenize("a\xa0b c")] == ["word", "word"]
    assert [t.kind for t in tokenize("a\u2028b\fc\vd")] == ["word", "word", "word"]


def test_positions_with_old_mac_line_ends():
    statements = split_statements("select 1;\rselect 2;\r\n  select 3;")
    assert [(s.line, s.column) for s in statements] == [(1, 1), (2, 1), (3, 3)]


@pytest.mark.parametrize(
    "text, expected",
    [
        # Flyway skips what follows the `;` on the COPY's line (psql would run it after the data).
        ("copy t from stdin; select 1; -- c\nx\n\\.\nselect 2;",
         [("copy t from stdin", "x\n", 1), ("select 2", None, 4)]),
        ("copy t from stdin; -- data follows\nx\n\\.\n", [("copy t from stdin", "x\n", 1)]),
        # Flyway ends the data at a line that is \. once trimmed (Java's String.trim).
        ("copy t from stdin;\nx\n \\.\t \nselect 2", [("copy t from stdin", "x\n", 1), ("select 2", None, 4)]),
        ("copy t from stdin;\nx\n\\. y\n\\.\nselect 2", [("copy t from stdin", "x\n\\. y\n", 1), ("select 2", None, 5)]),
        ("copy t from stdin;\r\nx\r\n\\.\r\nselect 2", [("copy t from stdin", "x\r\n", 1), ("select 2", None, 4)]),
        ("copy t from stdin;\nx\ny", [("copy t from stdin", "x\ny", 1)]),  # data up to the end of the text
        ("copy t from stdin;", [("copy t from stdin", "", 1)]),
        ("COPY t FROM STDIN WITH (FORMAT csv);\na,\"b;\nc\"\n\\.\n", [("COPY t FROM STDIN WITH (FORMAT csv)",
                                                                      'a,"b;\nc"\n', 1)]),
        ("copy t to stdout; select 1", [("copy t to stdout", None, 1), ("select 1", None, 1)]),
        ("copy t from 'stdin'; select 1", [("copy t from 'stdin'", None, 1), ("select 1", None, 1)]),
    ],
)
def test_copy_edges(text, expected):
    assert [(s.sql, s.copy_data, s.line) for s in split_statements(text)] == expected
