"""validate's rules as tables: file names or SQL in, findings (rule, file, line) out.

Each case builds a real parent repository (and, for history, a real delivery branch) and runs the validate engine
in-process; the CLI, output formats and children are covered end to end in test_validate_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ddl_cascade import config as config_mod
from ddl_cascade.errors import CascadeError
from ddl_cascade.validate.engine import Report, validate
from ddl_cascade.validate.model import Severity

SOURCE = "rw"


def parent(repo, files: dict[str, str | bytes], toml: str = "", delivered: dict[str, str | bytes] | None = None):
    """cascade.toml plus `files` (relative to the source folder) in `repo`'s work tree. With `delivered`, those files
    are committed first and the delivery branch points at a commit holding them at its root, as the split makes it."""
    repo.write({"cascade.toml": f'[source]\npath = "{SOURCE}"\n{toml}'})
    if delivered is not None:
        repo.commit({f"{SOURCE}/{k}": v for k, v in delivered.items()}, "delivered")
        split = repo.git("commit-tree", repo.tree("HEAD", SOURCE), "-m", "split")
        repo.git("update-ref", "refs/heads/ro-shared-ddl", split)
        repo.write({f"{SOURCE}/{name}": None for name in delivered})
    repo.write({f"{SOURCE}/{k}": v for k, v in files.items()})
    return repo


def run(repo, base: str | None = None) -> Report:
    return validate(config_mod.load(Path(repo.path) / "cascade.toml"), base=base)


def found(report: Report, rules: set[str] | None = None) -> list[tuple[str, str, int]]:
    """(rule, path inside the source folder, line) of each finding; lint rules left out unless named."""
    out = []
    for f in report.findings:
        if (rules is None and f.rule.startswith("lint/")) or (rules is not None and f.rule not in rules):
            continue
        out.append((f.rule, f.path.removeprefix(SOURCE + "/"), f.line))
    return sorted(out)


@pytest.fixture
def repo(make_repo):
    return make_repo("parent")


# ---------------------------------------------------------------------------------------------------------------------
# naming/invalid and callback/invalid: one file name in, findings out

NAMES = [
    # clean: what Flyway runs
    ("sql/V1__init.sql", []),
    ("sql/V1.1__add_users.sql", []),
    ("sql/V1_2__underscored_version.sql", []),
    ("sql/V2024.01.15.1__date_like.sql", []),
    ("sql/V001__leading_zeros.sql", []),
    ("sql/V3__UPPER_CASE_SUFFIX.SQL", []),
    ("sql/V4.sql", []),  # an empty description is valid
    ("sql/R__refresh_views.sql", []),
    ("sql/2024/Q1/V5__nested.sql", []),
    ("sql/V6__données_clients.sql", []),  # non-ASCII description
    ("sql/afterMigrate.sql", []),  # a callback in a migration location is a callback
    ("sql/README.md", []),
    ("sql/notes.txt", []),
    ("sql/.gitkeep", []),
    ("sql/.archive/v1__old.sql", []),  # hidden folders are never scanned
    ("sql/B7__baseline.sql", []),
    # never applied: Flyway skips these silently
    ("sql/v1__lowercase.sql", [("naming/invalid", "error")]),
    ("sql/V1_single_underscore.sql", [("naming/invalid", "error")]),
    ("sql/V1.2a__letter.sql", [("naming/invalid", "error")]),
    ("sql/V1..2__double_dot.sql", [("naming/invalid", "error")]),
    ("sql/R1__versioned_repeatable.sql", [("naming/invalid", "error")]),
    ("sql/CCD-4590__ticket.sql", [("naming/invalid", "error")]),
    ("sql/V__no_version.sql", [("naming/invalid", "error")]),
    ("sql/U1__undo.sql", [("naming/invalid", "error")]),
    ("sql/schema.sql", [("naming/invalid", "error")]),
    ("sql/after_migrate.sql", [("naming/invalid", "error")]),
    ("sql/V" + "1." * 25 + "1__too_long_for_the_history_table.sql", [("naming/invalid", "error")]),
    ("sql/V" + "1." * 24 + "1__fits_in_50.sql", []),
    # a migration name with another suffix: a warning
    ("sql/V57__readme.md", [("naming/invalid", "warning")]),
    ("sql/V58__disabled.sql.bak", [("naming/invalid", "warning")]),
    ("sql/R__view.txt", [("naming/invalid", "warning")]),
    # callbacks
    ("callbacks/afterMigrate.sql", []),
    ("callbacks/afterMigrate__grants.sql", []),
    ("callbacks/afterMigrateError.sql", []),
    ("callbacks/beforeEachMigrate__set_role.sql", []),
    ("callbacks/README.md", []),
    ("callbacks/after_migrate.sql", [("callback/invalid", "error")]),
    ("callbacks/afterMigrate_grants.sql", [("callback/invalid", "error")]),
    ("callbacks/aftermigrate.sql", [("callback/invalid", "error")]),
    ("callbacks/V1__not_a_callback.sql", [("callback/invalid", "error")]),
    ("callbacks/afterMigrate1.sql", [("callback/invalid", "error")]),
]


@pytest.mark.parametrize("name, expected", NAMES, ids=[n for n, _ in NAMES])
def test_names(repo, name, expected):
    report = run(parent(repo, {name: "SELECT 1;\n"}))
    got = [(f.rule, f.severity.value) for f in report.findings if f.path == f"{SOURCE}/{name}"]
    assert got == expected
    for f in report.findings:
        assert f.hint, f


def test_naming_finding_quotes_flyway_and_hint(repo):
    report = run(parent(repo, {"sql/v1__x.sql": "SELECT 1;"}))
    (f,) = report.findings
    assert "Unrecognised migration name format: v1__x.sql" in f.message
    assert "lowercase" in f.hint


# ---------------------------------------------------------------------------------------------------------------------
# version/duplicate and repeatable/duplicate: sets of file names in

DUPLICATES = [
    (["V1__a.sql", "V2__b.sql"], []),
    (["V1__a.sql", "V1.0__b.sql"], ["V1.0__b.sql", "V1__a.sql"]),
    (["V1__a.sql", "V01__b.sql"], ["V01__b.sql", "V1__a.sql"]),
    (["V1.1__a.sql", "V1.01__b.sql"], ["V1.01__b.sql", "V1.1__a.sql"]),
    (["V1_1__a.sql", "V1.1__b.sql"], ["V1.1__b.sql", "V1_1__a.sql"]),
    (["V1.10__a.sql", "V1.9__b.sql", "V1.1__c.sql"], []),
    (["V1__a.sql", "2024/V1__a.sql"], ["2024/V1__a.sql", "V1__a.sql"]),  # the same file in two folders
    (["V2__a.sql", "V2__a.sql.conf"], []),
    (["R__views.sql", "R__views.sql.conf"], []),
    (["R__refresh_views.sql", "sub/R__refresh views.sql"], ["R__refresh_views.sql", "sub/R__refresh views.sql"]),
    (["R__Views.sql", "R__views.sql"], []),  # descriptions compare case-sensitively
]


@pytest.mark.parametrize("names, flagged", DUPLICATES, ids=["+".join(n) for n, _ in DUPLICATES])
def test_duplicates(repo, names, flagged):
    files = {f"sql/{n}": ("executeInTransaction=true\n" if n.endswith(".conf") else "SELECT 1;\n") for n in names}
    report = run(parent(repo, files))
    got = sorted(path.removeprefix("sql/") for rule, path, _ in found(report)
                 if rule in ("version/duplicate", "repeatable/duplicate"))
    assert got == sorted(flagged)


CALLBACK_DUPLICATES = [
    (["callbacks/afterMigrate.sql", "callbacks/old/afterMigrate.sql"],
     ["callbacks/afterMigrate.sql", "callbacks/old/afterMigrate.sql"]),
    (["callbacks/afterMigrate__a.sql", "callbacks/old/afterMigrate__b.sql"], []),
    (["callbacks/afterMigrate.sql", "callbacks/afterMigrate.SQL"], ["callbacks/afterMigrate.SQL", "callbacks/afterMigrate.sql"]),
    (["callbacks/afterMigrate.sql", "sql/afterMigrate.sql"], []),  # callbacks are read from callback folders only
]


@pytest.mark.parametrize("names, flagged", CALLBACK_DUPLICATES, ids=["+".join(n) for n, _ in CALLBACK_DUPLICATES])
def test_callback_duplicates(repo, names, flagged):
    report = run(parent(repo, {n: "SELECT 1;\n" for n in names}))
    assert sorted(p for rule, p, _ in found(report) if rule == "callback/duplicate") == sorted(flagged)


def test_duplicates_across_locations(repo):
    toml = '[flyway]\nsql_paths = ["sql", "more"]\n'
    report = run(parent(repo, {"sql/V3__a.sql": "SELECT 1;", "more/V3.0.0__b.sql": "SELECT 2;"}, toml))
    assert found(report) == [("version/duplicate", "more/V3.0.0__b.sql", 0), ("version/duplicate", "sql/V3__a.sql", 0)]


def test_sub_location_is_not_scanned_twice(repo):
    toml = '[flyway]\nsql_paths = ["sql", "sql/2024"]\n'
    report = run(parent(repo, {"sql/2024/V3__a.sql": "SELECT 1;"}, toml))
    assert found(report) == []
    assert report.files == 1


# ---------------------------------------------------------------------------------------------------------------------
# Script content: SQL in, (rule, line, column) out

CONTENT = [
    ("CREATE TABLE t (id int);\n", []),
    ("CREATE TABLE t (id int,);\n", [("sql/syntax", 1, 24)]),
    ("SELECT 1;\n\nCREATE TABLE t (\n  id int\n  name text\n);\n", [("sql/syntax", 5, 3)]),
    ("CREATE TABLE t (id int\n", [("sql/syntax", 1, 23)]),  # end of input: just after the last character
    ("SELEC 1;\n", [("sql/syntax", 1, 1)]),
    ("-- only a comment\n", []),
    ("", []),
    ("\ufeffCREATE TABLE t (id int);\n", []),  # a BOM is fine
    ("\ufeffSELEC 1;\n", [("sql/syntax", 1, 2)]),  # ... and columns count it as the character it is
    ("INSERT INTO t VALUES ('é', 'ü'); SELEC 2;\n", [("sql/syntax", 1, 34)]),
    # dollar quoting, DO blocks, functions: semicolons inside are not statement ends
    ("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;\n", []),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN RETURN 1; END;\n$body$;\n", []),
    ("DO $$\nBEGIN\n  RAISE NOTICE 'x;y';\nEND\n$$;\n", []),
    ("DO $$ BEGIN PERFORM 1; END $$ LANGUAGE plpgsql;\n", []),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n", []),
    # COPY data blocks are data, not SQL
    ("CREATE TABLE t (a int, b text);\nCOPY t (a, b) FROM stdin;\n1\tnot sql at all;\n2\t\\N\n\\.\nSELECT 1;\n", []),
    ("COPY t FROM stdin;\n1\tx\n\\.\nSELEC 1;\n", [("sql/syntax", 4, 1)]),
    ("CREATE TABLE t (a text);\nCOPY t FROM stdin WITH (FORMAT csv);\n\"a;b\",x\n\\.\n", []),
    # strings, quoted identifiers, comments
    ("INSERT INTO t VALUES ('it''s; fine');\nSELECT \"we;ird\" FROM t; /* a; b */ SELECT E'\\';';\n", []),
    # non-transactional statements: alone is fine, mixed is not
    ("CREATE INDEX CONCURRENTLY i ON t (a);\n", []),
    ("CREATE INDEX CONCURRENTLY i ON t (a);\nDROP INDEX CONCURRENTLY j;\n", []),
    ("ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY i ON t (b);\n", [("tx/mixed", 2, 1)]),
    ("VACUUM t;\nANALYZE t;\n", [("tx/mixed", 1, 1)]),
    ("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a);\nSELECT 1;\n", [("tx/mixed", 1, 1)]),
    ("ALTER TYPE mood ADD VALUE 'x';\nSELECT 1;\n", []),  # transactional since PostgreSQL 12
    # placeholders: substituted before parsing
    ("GRANT SELECT ON t TO ${reader};\n", []),
    ("GRANT SELECT ON t TO ${READER};\n", []),  # names are case-insensitive
    ("CREATE TABLE ${flyway:defaultSchema}.t (id int); -- by ${flyway:user}\n", []),
    ("GRANT SELECT ON t TO ${writer};\n", [("sql/placeholder-undefined", 1, 22)]),
    ("SELECT 1;\n-- ${missing} in a comment still fails in Flyway\n", [("sql/placeholder-undefined", 2, 4)]),
    ("SELECT '${flyway:nonsense}';\n", [("sql/placeholder-undefined", 1, 9)]),
    ("GRANT SELECT ON t TO ${reader}; SELEC 1;\n", [("sql/syntax", 1, 33)]),  # position in the file as written
    ("GRANT SELECT ON t TO ${reader}, ${reader}\n  TO;\n", [("sql/syntax", 2, 3)]),
    ("GRANT SELECT ON t TO ${reader}, ${reader} TOO;\n", [("sql/syntax", 1, 43)]),
]


@pytest.mark.parametrize("sql, expected", CONTENT, ids=[repr(s[:40]) for s, _ in CONTENT])
def test_content(repo, sql, expected):
    toml = '[flyway.placeholders]\nreader = "app_reader"\n'
    report = run(parent(repo, {"sql/V1__x.sql": sql}, toml))
    got = [(f.rule, f.line, f.column) for f in report.findings if not f.rule.startswith("lint/")]
    assert got == expected


def test_syntax_message_is_postgres(repo):
    report = run(parent(repo, {"sql/V1__x.sql": "CREATE TABLE t (id int,);"}))
    (f,) = report.findings
    assert f.message == 'syntax error at or near ")"'
    assert f.severity is Severity.ERROR


ENCODINGS = [
    (b"SELECT 'caf\xc3\xa9';\n", "", []),
    (b"SELECT 1;\nSELECT 'caf\xe9';\n", "", [("encoding/invalid", 2, 12)]),
    (b"SELECT 1;\nSELECT 'caf\xe9';\n", '[flyway]\nencoding = "latin-1"\n', []),
]


@pytest.mark.parametrize("data, toml, expected", ENCODINGS)
def test_encoding(repo, data, toml, expected):
    report = run(parent(repo, {"sql/V1__x.sql": data}, toml))
    assert [(f.rule, f.line, f.column) for f in report.findings] == expected


SCRIPT_CONFIGS = [
    ("executeInTransaction=false\n", []),
    ("executeInTransaction=true\n", []),  # forced: PostgreSQL will then fail, but Flyway accepts the script
    ("# comment\nexecuteInTransaction = false\n", []),
    ("flyway.executeInTransaction=false\n", [("script-config/invalid", "sql/V1__x.sql.conf"),
                                             ("tx/mixed", "sql/V1__x.sql")]),
    ("executeInTransaction=maybe\n", [("script-config/invalid", "sql/V1__x.sql.conf"),
                                      ("tx/mixed", "sql/V1__x.sql")]),
    ("encoding=NOPE\n", [("script-config/invalid", "sql/V1__x.sql.conf"), ("tx/mixed", "sql/V1__x.sql")]),
]


@pytest.mark.parametrize("conf, expected", SCRIPT_CONFIGS)
def test_script_config(repo, conf, expected):
    sql = "ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY i ON t (b);\n"
    report = run(parent(repo, {"sql/V1__x.sql": sql, "sql/V1__x.sql.conf": conf}))
    assert [(rule, path) for rule, path, _ in found(report)] == expected


def test_script_config_encoding_and_placeholder_switch(repo):
    files = {
        "sql/V1__latin.sql": b"SELECT 'caf\xe9';\n",
        "sql/V1__latin.sql.conf": "encoding=ISO-8859-1\n",
        "sql/V2__raw.sql": "SELECT '${not_a_placeholder}';\n",
        "sql/V2__raw.sql.conf": "placeholderReplacement=false\n",
    }
    assert found(run(parent(repo, files))) == []


def test_other_dialect_uses_sqlglot(repo):
    toml = '[flyway]\ndialect = "mysql"\n'
    files = {"sql/V1__ok.sql": "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY);\n",
             "sql/V2__bad.sql": "SELECT 1;\nCREATE TABLE t (id INT,\n"}
    report = run(parent(repo, files, toml))
    assert [(r, p, line) for r, p, line in found(report)] == [("sql/syntax", "sql/V2__bad.sql", 2)]


def test_unknown_dialect_is_a_config_error(repo):
    with pytest.raises(CascadeError, match="flyway.dialect"):
        run(parent(repo, {"sql/V1__x.sql": "SELECT 1;"}, '[flyway]\ndialect = "cobol"\n'))


def test_unknown_rule_in_config_is_a_config_error(repo):
    with pytest.raises(CascadeError, match="nope/nothing"):
        run(parent(repo, {"sql/V1__x.sql": "SELECT 1;"}, '[validate.rules]\n"nope/nothing" = "off"\n'))


def test_missing_source_folder_is_a_config_error(repo):
    repo.write({"cascade.toml": '[source]\npath = "absent"\n'})
    with pytest.raises(CascadeError, match="absent"):
        run(repo)


# ---------------------------------------------------------------------------------------------------------------------
# History: delivered files and current files in, findings out

V1 = "CREATE TABLE users (id bigint PRIMARY KEY);\n"
V2 = "ALTER TABLE users ADD COLUMN email text;\n"
V3 = "CREATE TABLE orders (id bigint PRIMARY KEY);\n"

HISTORY = [
    ("unchanged", {"V1__users.sql": V1}, {"V1__users.sql": V1}, []),
    ("new migration", {"V1__users.sql": V1}, {"V1__users.sql": V1, "V2__email.sql": V2}, []),
    ("edited", {"V1__users.sql": V1}, {"V1__users.sql": V1.replace("bigint", "int")},
     [("history/modified", "sql/V1__users.sql", 1)]),
    ("edited on line 3", {"V1__users.sql": "-- a\n-- b\n" + V1}, {"V1__users.sql": "-- a\n-- b\n" + V2},
     [("history/modified", "sql/V1__users.sql", 3)]),
    ("line endings only", {"V1__users.sql": V1}, {"V1__users.sql": V1.replace("\n", "\r\n")}, []),
    ("deleted", {"V1__users.sql": V1, "V2__email.sql": V2}, {"V1__users.sql": V1},
     [("history/deleted", "sql/V2__email.sql", 0)]),
    ("moved to a sub-folder", {"V1__users.sql": V1}, {"2024/V1__users.sql": V1}, []),
    ("version spelled differently", {"V1__users.sql": V1}, {"V1.0__users.sql": V1}, []),
    ("new description", {"V1__users.sql": V1}, {"V1__create_users.sql": V1},
     [("history/renamed", "sql/V1__create_users.sql", 0)]),
    ("new version, same content", {"V1__users.sql": V1, "V2__email.sql": V2}, {"V1__users.sql": V1, "V3__email.sql": V2},
     [("history/renamed", "sql/V3__email.sql", 0)]),
    ("new version, other content", {"V1__users.sql": V1, "V2__email.sql": V2}, {"V1__users.sql": V1, "V3__o.sql": V3},
     [("history/deleted", "sql/V2__email.sql", 0)]),
    ("out of order", {"V1__users.sql": V1, "V3__orders.sql": V3}, {"V1__users.sql": V1, "V3__orders.sql": V3,
                                                                    "V2__email.sql": V2},
     [("history/out-of-order", "sql/V2__email.sql", 0)]),
    ("repeatable changed", {"R__views.sql": "SELECT 1;"}, {"R__views.sql": "SELECT 2;"}, []),
    ("repeatable deleted", {"R__views.sql": "SELECT 1;"}, {}, [("history/deleted", "sql/R__views.sql", 0)]),
    ("repeatable renamed", {"R__views.sql": "SELECT 1;"}, {"R__all_views.sql": "SELECT 1;"},
     [("history/renamed", "sql/R__all_views.sql", 0)]),
    ("callback changed", {"V1__users.sql": V1}, {"V1__users.sql": V1}, []),
]


@pytest.mark.parametrize("case, delivered, current, expected", HISTORY, ids=[c for c, *_ in HISTORY])
def test_history(repo, case, delivered, current, expected):
    report = run(parent(repo, {f"sql/{k}": v for k, v in current.items()},
                        delivered={f"sql/{k}": v for k, v in delivered.items()}))
    assert found(report) == expected
    assert report.base == repo.head("ro-shared-ddl")


def test_history_modified_names_both_checksums(repo):
    report = run(parent(repo, {"sql/V1__users.sql": V2}, delivered={"sql/V1__users.sql": V1}))
    (f,) = report.findings
    assert "-" in f.message or any(ch.isdigit() for ch in f.message)
    from ddl_cascade.flyway import checksum_text

    assert str(checksum_text(V1)) in f.message and str(checksum_text(V2)) in f.message


def test_base_option_reads_a_parent_branch(repo):
    """`--base main` holds the source folder at source.path, not at its root."""
    parent(repo, {})
    repo.commit({f"{SOURCE}/sql/V1__users.sql": V1}, "v1")
    repo.write({f"{SOURCE}/sql/V1__users.sql": V2})
    assert found(run(repo, base="main")) == [("history/modified", "sql/V1__users.sql", 1)]
    assert found(run(repo)) == []  # no delivery branch: nothing counts as delivered


def test_bad_base_is_a_config_error(repo):
    with pytest.raises(CascadeError, match="--base"):
        run(parent(repo, {"sql/V1__x.sql": "SELECT 1;"}), base="no-such-branch")


def test_lint_runs_only_on_new_or_changed_scripts(repo):
    drop = "DROP TABLE legacy;\n"
    report = run(parent(repo, {"sql/V1__drop.sql": drop, "sql/V2__drop_again.sql": "DROP TABLE other;\n"},
                        delivered={"sql/V1__drop.sql": drop}))
    assert found(report, {"lint/drop-table"}) == [("lint/drop-table", "sql/V2__drop_again.sql", 1)]


def test_lint_knows_tables_created_by_earlier_new_migrations(make_repo):
    v1, v2 = "CREATE TABLE t (id int);\n", "CREATE INDEX t_i ON t (id);\n"
    report = run(parent(make_repo("new"), {"sql/V1__t.sql": v1, "sql/V2__i.sql": v2}))
    assert found(report, {"lint/index-not-concurrent"}) == []
    # Once V1 is delivered, t exists (and may be large) everywhere: the index on it is a risk.
    report = run(parent(make_repo("delivered"), {"sql/V1__t.sql": v1, "sql/V2__i.sql": v2},
                        delivered={"sql/V1__t.sql": v1}))
    assert found(report, {"lint/index-not-concurrent"}) == [("lint/index-not-concurrent", "sql/V2__i.sql", 1)]


# ---------------------------------------------------------------------------------------------------------------------
# Inline suppression and [validate.rules]

SUPPRESSION = [
    ("DROP TABLE a;\n", [("lint/drop-table", 1)]),
    ("-- ddl-cascade: ignore lint/drop-table\nDROP TABLE a;\n", []),
    ("-- ddl-cascade: ignore lint/drop-table\nDROP TABLE a;\nDROP TABLE b;\n", [("lint/drop-table", 3)]),
    ("DROP TABLE a; -- ddl-cascade: ignore lint/drop-table\nDROP TABLE b;\n", [("lint/drop-table", 2)]),
    ("DROP TABLE\n  -- ddl-cascade: ignore lint/drop-table\n  a;\n", []),
    ("-- ddl-cascade: ignore lint/drop-table the table is empty since V12\nDROP TABLE a;\n", []),
    ("-- ddl-cascade: ignore lint/drop-column, lint/drop-table\nDROP TABLE a;\n", []),
    ("-- ddl-cascade: ignore lint/*\nDROP TABLE a;\n", []),
    ("-- ddl-cascade: ignore lint/drop-column\nDROP TABLE a;\n", [("lint/drop-table", 2)]),
    ("-- ddl-cascade: ignore-file lint/drop-table\nDROP TABLE a;\nSELECT 1;\nDROP TABLE b;\n", []),
    ("SELECT 1;\nDROP TABLE a;\n-- ddl-cascade: ignore lint/drop-table\n", [("lint/drop-table", 2)]),
    ("-- ddl-cascade: ignore lint/drop-tabel\nDROP TABLE a;\n",
     [("suppression/unknown-rule", 1), ("lint/drop-table", 2)]),
    ("-- ddl-cascade: ignore sql/syntax\nSELEC 1;\n", []),
    ("-- ddl-cascade: ignore-file tx/mixed\nSELECT 1;\nVACUUM t;\n", []),
    ("-- ddl-cascade: ignore sql/placeholder-undefined\nGRANT SELECT ON t TO ${nobody};\n", []),
]


@pytest.mark.parametrize("sql, expected", SUPPRESSION, ids=[repr(s[:50]) for s, _ in SUPPRESSION])
def test_suppression(repo, sql, expected):
    report = run(parent(repo, {"sql/V1__x.sql": sql}))
    assert [(f.rule, f.line) for f in report.findings] == expected


def test_ignore_file_silences_file_level_findings(repo):
    files = {"sql/V1__a.sql": "-- ddl-cascade: ignore-file version/duplicate\nSELECT 1;\n", "sql/V1.0__b.sql": "SELECT 2;"}
    assert found(run(parent(repo, files))) == [("version/duplicate", "sql/V1.0__b.sql", 0)]


SEVERITIES = [
    ('"lint/drop-table" = "error"', [("lint/drop-table", "error")]),
    ('"lint/drop-table" = "off"', []),
    ('"history/out-of-order" = "error"', [("lint/drop-table", "warning")]),
]


@pytest.mark.parametrize("setting, expected", SEVERITIES)
def test_severity_overrides(repo, setting, expected):
    report = run(parent(repo, {"sql/V1__x.sql": "DROP TABLE a;\n"}, f"[validate.rules]\n{setting}\n"))
    assert [(f.rule, f.severity.value) for f in report.findings] == expected
    assert report.exit_code == (1 if any(s == "error" for _, s in expected) else 0)


def test_syntax_turned_off(repo):
    report = run(parent(repo, {"sql/V1__x.sql": "SELEC 1;"}, '[validate.rules]\n"sql/syntax" = "warning"\n'))
    assert [(f.rule, f.severity) for f in report.findings] == [("sql/syntax", Severity.WARNING)]
    assert report.exit_code == 0


# ---------------------------------------------------------------------------------------------------------------------
# The rule catalogue


def test_every_rule_is_documented():
    from ddl_cascade.validate.engine import all_docs, all_rules

    rules, docs = all_rules(), all_docs()
    assert {"naming/invalid", "callback/invalid", "version/duplicate", "repeatable/duplicate", "history/modified",
            "history/deleted", "history/renamed", "history/out-of-order", "sql/syntax", "sql/placeholder-undefined",
            "encoding/invalid", "tx/mixed", "child/version-collision"} <= set(rules)
    assert len([r for r in rules if r.startswith("lint/")]) >= 10
    for rule_id, info in rules.items():
        assert info.id == rule_id and info.summary
        assert "Anti-pattern" in docs[rule_id], rule_id
        assert "Fix" in docs[rule_id], rule_id
    assert rules["history/out-of-order"].severity is Severity.WARNING
    assert all(rules[r].severity is Severity.WARNING for r in rules if r.startswith("lint/"))
