"""The small pieces of validate on their own: placeholder position mapping (property-based), renderers, suppression
scopes. End-to-end behaviour is in test_validate_cli.py, rules in test_validate_rules.py."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ddl_cascade.flyway.sqlscript import split_statements
from ddl_cascade.render import validate as render
from ddl_cascade.validate import placeholders, suppress
from ddl_cascade.validate.model import Finding, Severity

# --- placeholders -----------------------------------------------------------------------------------------------------

plain = st.text(alphabet=st.characters(blacklist_characters="${}", blacklist_categories=("Cs",)), max_size=12)
name = st.sampled_from(["a", "B", "schema", "x_y", "undefined_one", "flyway:user", "flyway:filename"])
value = st.text(alphabet="abc\n;é ", max_size=8)


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(st.tuples(plain, name), max_size=6), tail=plain, a=value, b=value, schema=value)
def test_every_unreplaced_character_maps_back_to_itself(parts, tail, a, b, schema):
    text = "".join(f"{p}${{{n}}}" for p, n in parts) + tail
    sub = placeholders.substitute(text, {"a": a, "b": b, "SCHEMA": schema}, "V1__x.sql")
    # A plain regex replacement is the oracle for the substituted text (undefined names become their bare name).
    values = {"a": a, "b": b, "schema": schema, "x_y": "x_y", "undefined_one": "undefined_one",
              "flyway:user": "flyway", "flyway:filename": "V1__x.sql"}
    expected = re.sub(r"\$\{([^}]*)\}", lambda m: values[m.group(1).lower()], text)
    assert sub.text == expected
    assert {p.name for p in sub.undefined} == {n for _, n in parts if n in ("x_y", "undefined_one")}
    # Outside replaced values, each character of the substituted text comes from the same character of the file.
    covered = set()
    for s, e, _, _ in sub._spans:
        covered.update(range(s, e))
    for i, ch in enumerate(sub.text):
        if i not in covered:
            assert text[sub.original(i)] == ch
        else:
            assert text[sub.original(i)] == "$"


# --- renderers --------------------------------------------------------------------------------------------------------

F1 = Finding("sql/syntax", Severity.ERROR, "rw/sql/V1__a:b,c.sql", 3, 7, "bad\nthing 100%", "fix it")
F2 = Finding("naming/invalid", Severity.WARNING, "rw/sql/V57__x.md", 0, 0, "looks like a migration", "rename")


def test_github_escapes_properties_and_data():
    out = render.github([F1, F2], 2).splitlines()
    assert out[0] == "::error file=rw/sql/V1__a%3Ab%2Cc.sql,line=3,col=7,title=sql/syntax::bad%0Athing 100%25%0Afix it"
    assert out[1] == "::warning file=rw/sql/V57__x.md,title=naming/invalid::looks like a migration%0Arename"
    assert out[2] == "1 error, 1 warning in 2 files checked."


def test_text_colour_only_when_asked():
    assert "\x1b[" not in render.text([F1], 1)
    coloured = render.text([F1], 1, colour=True)
    assert "\x1b[31m" in coloured and "\x1b[0m" in coloured
    assert render.text([], 3) == "0 errors, 0 warnings in 3 files checked.\n"


def test_json_is_exactly_the_documented_shape():
    from ddl_cascade.render.json import document
    from ddl_cascade.validate.model import ValidateReport

    doc = document(ValidateReport([F1], 4))
    assert doc == {"schema_version": 1, "findings": [{"rule": "sql/syntax", "severity": "error", "path": "rw/sql/V1__a:b,c.sql", "line": 3,
                                 "column": 7, "message": "bad\nthing 100%", "hint": "fix it"}], "files": 4}


# --- suppression scopes -----------------------------------------------------------------------------------------------


def lines_covered(text: str) -> list[tuple[int, int]]:
    sup = suppress.scan(text, split_statements(text))
    return [(lo, hi) for lo, hi, _ in sup.ranges]


SCOPES = [
    ("-- ddl-cascade: ignore lint/x\nSELECT 1;\nSELECT 2;\n", [(2, 2)]),
    ("SELECT 1;\n\n-- ddl-cascade: ignore lint/x\n\nCREATE TABLE t (\n  a int\n);\n", [(5, 7)]),
    ("SELECT 1; -- ddl-cascade: ignore lint/x\nSELECT 2;\n", [(1, 1)]),
    ("CREATE TABLE t (\n  a int -- ddl-cascade: ignore lint/x\n);\n", [(1, 3)]),
    ("SELECT 1;\n-- ddl-cascade: ignore lint/x\n", [(2, 2)]),
    ("-- ddl-cascade: ignore\nSELECT 1;\n", []),  # no rule id: nothing
]


def test_suppression_scopes():
    for text, expected in SCOPES:
        assert lines_covered(text) == expected, text


def test_ignore_ids_stop_at_the_reason():
    assert suppress.parse_ids(" lint/a, lint/b because of V12") == ("lint/a", "lint/b")
    assert suppress.parse_ids(" reason lint/a") == ()


# --- worker processes ---------------------------------------------------------------------------------------------------


def test_parallel_check_equals_one_by_one(monkeypatch):
    """Spread over worker processes, lint still sees the tables created by earlier new migrations in other chunks."""
    from ddl_cascade.validate.files import MIGRATION, ScriptFile

    scripts = []
    for i in range(1, 81):
        if i % 2:
            sql = f"CREATE TABLE t{i} (id int);\n"
        else:
            sql = f"CREATE INDEX ON t{i - 1} (id);\nCREATE INDEX ON legacy{i} (id);\nSELEC {i};\n"
        scripts.append(ScriptFile(f"rw/sql/V{i}__x.sql", MIGRATION, "sql", f"V{i}__x.sql", sql.encode()))
    flags = [True] * len(scripts)

    serial = _serial_and_parallel(monkeypatch, scripts, flags)
    rules = [rule for _, _, rule in serial]
    assert rules.count("lint/index-not-concurrent") == 40  # legacy tables only: t{i-1} was created before
    assert rules.count("sql/syntax") == 40


def test_parallel_lint_remembers_delivered_migrations_in_earlier_chunks(monkeypatch):
    """What delivered migrations (and new ones in other chunks) establish reaches every chunk: column types, CHECK
    (col IS NOT NULL) constraints, renamed new tables."""
    from ddl_cascade.validate.files import MIGRATION, ScriptFile

    sqls, flags = [], []
    for i in range(1, 41):  # delivered
        sqls.append(f"CREATE TABLE d{i} (id int, code varchar(50), e text);\n"
                    f"ALTER TABLE d{i} ADD CONSTRAINT d{i}_nn CHECK (e IS NOT NULL) NOT VALID;\n"
                    f"ALTER TABLE d{i} VALIDATE CONSTRAINT d{i}_nn;\n")
        flags.append(False)
    for i in range(1, 21):  # new: create, then rename
        sqls.append(f"CREATE TABLE n{i} (id int);\nALTER TABLE n{i} RENAME TO m{i};\n")
        flags.append(True)
    for i in range(1, 41):  # new, in later chunks
        sqls.append(f"ALTER TABLE d{i} ALTER COLUMN code TYPE varchar(100);\n"
                    f"ALTER TABLE d{i} ALTER COLUMN e SET NOT NULL;\n"
                    f"CREATE INDEX ON m{i} (id);\n"
                    f"ALTER TABLE d{i} ALTER COLUMN id TYPE bigint;\n")
        flags.append(True)
    scripts = [ScriptFile(f"rw/sql/V{n}__x.sql", MIGRATION, "sql", f"V{n}__x.sql", sql.encode())
               for n, sql in enumerate(sqls, 1)]

    serial = _serial_and_parallel(monkeypatch, scripts, flags)
    # Only the bigint change (40) and the indexes on m21..m40, which no migration created (20), are reported.
    assert [(line, rule) for _, line, rule in serial].count((4, "lint/column-type-change")) == 40
    assert sorted(rule for _, _, rule in serial) == sorted(
        ["lint/column-type-change"] * 40 + ["lint/index-not-concurrent"] * 20)


def _serial_and_parallel(monkeypatch, scripts, flags):
    """(path, line, rule) of every finding of a serial run, after checking a parallel run finds the same."""
    from ddl_cascade.validate import engine

    def run(workers):
        checked = engine.check_all(scripts, flags, {}, "utf-8", "postgres", workers=workers)
        return sorted((f.path, f.line, f.rule) for c in checked.values() for f in c.findings)

    serial = run(1)
    monkeypatch.setattr(engine, "PARALLEL_MIN", 10)
    assert run(2) == serial
    return serial
