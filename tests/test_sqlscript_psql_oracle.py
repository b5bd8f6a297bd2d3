"""psql as the oracle for where statements end, on text PostgreSQL's parser may reject.

pglast (the server's own parser) can only judge text that parses; `validate` must still place every statement of a
broken script, so its syntax errors point at the right line. psql reads a file by the same lexical rules the
splitter follows (quotes, dollar quotes, nested comments, parentheses, psql's BEGIN ATOMIC heuristic) and sends
each statement to a real server; its `-L` log records every query exactly as sent. The splitter must find the same
statements in the same places. psql-only syntax (backslash commands, `:variables`) is kept out of the inputs:
Flyway has none of it.
"""

from __future__ import annotations

import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddl_cascade.flyway.sqlscript import split_statements, tokenize

TOKENS = [";", "'", "''", "$$", "$a$", "/*", "*/", "--", "\n", "\r", " ", "select", "1", "(", ")", "begin",
          "atomic", "end", "case", "create", "function", "f()", "returns", "int", "language", "sql", '"', "E'",
          "x", ",", "or", "replace", "procedure", "é", "e'", "U&'", "\t", "\f", "$b$", "a$$", "$1", "1e5", ".5", "::", "*", "-", "/", "\xa0", "a$b$"]

_created: set[str] = set()
QUERY_START = "********* QUERY **********\n"
QUERY_END = "\n**************************\n\n"


def psql_queries(pg_server, database: str, text: str, tmp_path) -> list[str]:
    script, log = tmp_path / "script.sql", tmp_path / "psql.log"
    script.write_bytes(text.encode("utf-8"))
    log.unlink(missing_ok=True)
    proc = subprocess.run(
        [str(pg_server.bindir / "psql"), "-X", "-q", "-d", pg_server.url(database), "-f", str(script), "-L", str(log)],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    queries = []
    logged = log.read_bytes().decode("utf-8") if log.exists() else ""  # no newline translation: \r matters
    while QUERY_START in logged:
        logged = logged.split(QUERY_START, 1)[1]
        query, logged = logged.split(QUERY_END, 1)
        queries.append(query)
    return queries


def _tokens(fragment: str) -> list[tuple[str, str]]:
    """The statement's tokens without comments and without a final `;`. psql drops empty lines outside quotes and
    never sends the file's last line break, so statements are compared token by token, not byte by byte."""
    tokens = [(t.kind, fragment[t.start:t.end]) for t in tokenize(fragment) if t.kind != "comment"]
    if tokens and tokens[-1][0] == "semi":
        tokens.pop()
    if tokens:
        tokens[-1] = (tokens[-1][0], tokens[-1][1].rstrip("\n"))
    return tokens


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join))
def test_statements_end_where_psql_ends_them(pg_server, tmp_path, text):
    database = "psql_oracle"
    if database not in _created:  # one database for all examples: what the statements do there is irrelevant
        with pg_server.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database}")
            conn.execute(f"CREATE DATABASE {database}")
        _created.add(database)
    sent = psql_queries(pg_server, database, text, tmp_path)
    expected = [tokens for tokens in map(_tokens, sent) if tokens]  # psql also sends comment-only "statements"
    assert [_tokens(s.sql) for s in split_statements(text)] == expected, (text, sent)


SAFE_STATEMENTS = ["select 1", "select 'a;b'", "select $$x;$$", "select (1)", "/* c; */ select 2",
                   "create function f() returns int language sql begin atomic select 1; end", "select E'\\';'"]
DATA_LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"),
                    max_size=12)  # no backslash: an end-of-data line is written exactly, the same for both


@st.composite
def copy_scripts(draw):
    text = ""
    for _ in range(draw(st.integers(1, 4))):
        text += draw(st.sampled_from(SAFE_STATEMENTS)) + ";" + draw(st.sampled_from(["\n", " ", "\r\n", "\n\n"]))
        # Nothing but a comment after the `;`: Flyway would skip a statement there, psql would run it.
        text += "copy t (a) from stdin;" + draw(st.sampled_from(["", " -- data; more", " "]))
        newline = draw(st.sampled_from(["\n", "\r\n"]))
        text += newline + "".join(line + newline for line in draw(st.lists(DATA_LINE, max_size=4))) + "\\." + newline
    return text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(copy_scripts())
def test_copy_data_is_what_psql_sends(pg_server, tmp_path, text):
    database = "psql_copy_oracle"
    if database not in _created:
        with pg_server.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database}")
            conn.execute(f"CREATE DATABASE {database}")
        with pg_server.connect(database) as conn:
            conn.execute("CREATE TABLE t (id serial PRIMARY KEY, a text)")
        _created.add(database)
    with pg_server.connect(database) as conn:
        conn.execute("DROP FUNCTION IF EXISTS f()")
        conn.execute("TRUNCATE t RESTART IDENTITY")
    sent = psql_queries(pg_server, database, text, tmp_path)
    statements = split_statements(text)
    assert [_tokens(s.sql) for s in statements] == [tokens for tokens in map(_tokens, sent) if tokens], (text, sent)
    with pg_server.connect(database) as conn:
        loaded = [row[0] for row in conn.execute("SELECT a FROM t ORDER BY id").fetchall()]
    ours = [line.rstrip("\r") for s in statements if s.copy_data for line in s.copy_data.split("\n")[:-1]]
    assert loaded == ours
