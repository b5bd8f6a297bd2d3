"""Properties of the statement splitter, with PostgreSQL's own parser (pglast) as the oracle.

Scripts are generated from statements whose boundaries are known, dressed with the lexical traps of real
migrations (semicolons in strings, quoted identifiers, dollar quotes, nested comments, E'' escapes, BEGIN ATOMIC
bodies, rule actions in parentheses, CRLF line ends, COPY data). The split must give back exactly those statements,
at exactly their positions, and pglast must agree statement by statement.
"""

from __future__ import annotations

import pglast
import pglast.stream
from hypothesis import given, settings
from hypothesis import strategies as st

from ddl_cascade.flyway.sqlscript import line_starts, position, split_statements

EXPRESSIONS = [
    "1",
    "'a;b'",
    "'it''s; fine'",
    "E'x\\';y'",
    "E'\\\\'",
    "$$a;b$$",
    "$q$ $$ ; $q$",
    "$body$ $b$; $body$",
    '"col;x"',
    '"a""b;"',
    "(SELECT 2)",
    "/* c; /* nested; */ ; */ 3",
    "4 -- c; 'quote\n",
    "5 -- c;\r\n",
    "U&'\\0041;'",
    "x'1F'",
    "ARRAY[1, 2]",
    "'multi\nline;\nstring'",
    "CASE WHEN true THEN 'begin;' ELSE 'end;' END",
    "$1",
    "a$b",
    "'é;ü'",
    "$é$ ; $é$",
]

STATEMENTS = st.one_of(
    st.lists(st.sampled_from(EXPRESSIONS), min_size=1, max_size=4).map(
        lambda exprs: "SELECT " + ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs))
    ),
    st.sampled_from(
        [
            "DO $$ BEGIN PERFORM 1; RAISE NOTICE 'x;'; END $$",
            "DO $do$\nBEGIN\n  PERFORM 1;\nEND\n$do$",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END",
            "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END",
            "CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$",
            "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))",
            "CREATE TABLE t (a int, b text DEFAULT ';', \"c;\" int)",
            "BEGIN",
            "COMMIT",
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "COMMENT ON TABLE t IS E'line\\nnext; done'",
            "INSERT INTO t VALUES (1, 'x'), (2, 'y;z')",
        ]
    ),
)

SEPARATORS = st.sampled_from([";", ";\n", ";\r\n", " ;\n\n", ";\n-- comment; here\n", ";/* x; */", ";\r", ";\t\n"])
LEADING = st.sampled_from(["", "\n", "-- header\n", "/* block */\n", "\ufeff"])


@st.composite
def scripts(draw):
    statements = draw(st.lists(STATEMENTS, min_size=1, max_size=6))
    text = draw(LEADING)
    spans = []
    for statement in statements:
        text += draw(st.sampled_from(["", " ", "\n", "\n\n  "]))
        spans.append((len(text), statement))
        text += statement + draw(SEPARATORS)
    return text, spans


def _deparse(sql: str) -> list[str]:
    return [pglast.stream.RawStream()(raw) for raw in pglast.parse_sql(sql)]


@settings(max_examples=150, deadline=None)
@given(scripts())
def test_split_gives_back_the_statements_at_their_positions(script):
    text, spans = script
    statements = split_statements(text)
    assert [s.sql for s in statements] == [sql for _, sql in spans]
    starts = line_starts(text)
    for statement, (offset, _) in zip(statements, spans):
        assert statement.start == offset
        assert text[statement.start:statement.end] == statement.sql
        assert (statement.line, statement.column) == position(starts, offset)
        assert statement.copy_data is None


@settings(max_examples=100, deadline=None)
@given(scripts())
def test_pglast_agrees_statement_by_statement(script):
    text, _ = script
    text = text.lstrip("\ufeff")
    statements = split_statements(text)
    oracle = _deparse(text)
    assert [d for s in statements for d in _deparse(s.sql)] == oracle
    for statement in statements:
        assert len(pglast.parse_sql(statement.sql)) == 1


@settings(max_examples=100, deadline=None)
@given(scripts())
def test_rejoined_statements_split_the_same(script):
    text, _ = script
    first = [s.sql for s in split_statements(text)]
    rejoined = ";\n".join(first) + ";\n"
    assert [s.sql for s in split_statements(rejoined)] == first


COPY_LINES = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=20).filter(
        lambda line: line.rstrip(" \t") != "\\."
    ),
    max_size=5,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(STATEMENTS, COPY_LINES), min_size=1, max_size=4), st.sampled_from(["\n", "\r\n"]))
def test_copy_blocks_are_data_not_sql(items, newline):
    text = ""
    expected = []
    for statement, lines in items:
        expected.append((statement, None))
        data = "".join(line + newline for line in lines)
        expected.append(("COPY t (a, b) FROM stdin", data))
        text += statement + ";" + newline + "COPY t (a, b) FROM stdin;" + newline + data + "\\." + newline
    statements = split_statements(text)
    assert [(s.sql, s.copy_data) for s in statements] == expected


TOKENS = [";", "'", "''", "$$", "$a$", "/*", "*/", "--", "\n", "\r", " ", "select", "1", "(", ")", "begin", "atomic",
          "end", "case", "create", "function", "f()", "returns", "int", "language", "sql", '"', "E'", "\\", "x", ","]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_any_text_splits_consistently(text):
    statements = split_statements(text)
    previous_end = 0
    for statement in statements:
        assert previous_end <= statement.comment_start <= statement.start < statement.end <= len(text)
        assert text[statement.start:statement.end] == statement.sql
        assert not statement.sql[0].isspace()
        previous_end = statement.end
    try:
        oracle = _deparse(text)
    except pglast.parser.ParseError:
        return
    # Whenever PostgreSQL's parser accepts the whole text, the split must agree with it.
    assert [d for s in statements for d in _deparse(s.sql)] == oracle
