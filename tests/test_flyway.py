"""The Flyway core, as tables of Flyway's own rules (reference /work/shared/reference/flyway.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ddl_cascade.flyway import (
    CALLBACK_EVENTS,
    FlywayError,
    InvalidName,
    Kind,
    PlaceholderError,
    ScriptConfig,
    Version,
    check_name,
    checksum_bytes,
    checksum_text,
    default_placeholders,
    find_placeholders,
    parse_name,
    parse_script_config,
    parse_version,
    replace_placeholders,
    resolve,
)

from ddl_cascade.flyway.sqlscript import is_non_transactional  # noqa: E402

VECTORS = Path(__file__).parent / "fixtures" / "flyway" / "checksum_vectors"

# --- versions (§1.3) ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, stored, parts",
    [
        ("1", "1", (1,)),
        ("1_1", "1.1", (1, 1)),
        ("001", "001", (1,)),
        ("1.01", "1.01", (1, 1)),
        ("1.0.0", "1.0.0", (1,)),
        ("0", "0", (0,)),
        ("0.0", "0.0", (0,)),
        ("2024.01.15.1030", "2024.01.15.1030", (2024, 1, 15, 1030)),
        ("1_2.3", "1.2.3", (1, 2, 3)),
        ("123456789012345678901234567890", "123456789012345678901234567890", (123456789012345678901234567890,)),
    ],
)
def test_version_text_and_parts(text, stored, parts):
    version = parse_version(text)
    assert version.text == stored
    assert version.parts == parts


@pytest.mark.parametrize(
    "a, b",
    [("1", "1.0"), ("1", "1.0.0"), ("1", "01"), ("1", "1_0"), ("1.01", "1.1"), ("0", "0.0"), ("1.0.1", "1_0_1")],
)
def test_equal_versions(a, b):
    assert Version(a) == Version(b)
    assert hash(Version(a)) == hash(Version(b))
    assert not Version(a) < Version(b) and not Version(b) < Version(a)


@pytest.mark.parametrize(
    "low, high",
    [("1.9", "1.10"), ("1.999", "2"), ("1", "1.0.1"), ("1.0.0.1", "1.1"), ("0", "0.1"), ("9", "10"),
     ("2024.01.15.1030", "2024.01.15.1031"), ("2024.1.15", "2024.01.16")],
)
def test_version_order(low, high):
    assert Version(low) < Version(high)
    assert Version(high) > Version(low)
    assert Version(low) != Version(high)


@pytest.mark.parametrize("text", ["1.2a", "1..2", "1.", "1-2", "", "+1", "-1", ".1", "a", "1 2", "latest", "1__2"])
def test_invalid_versions(text):
    with pytest.raises(FlywayError, match=r"Version may only contain 0\.\.9 and \. \(dot\)\. Invalid version: "):
        parse_version(text)


# --- names (§1.2, §1.5, §2.2) -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename, kind, version, description, event",
    [
        ("V1__x.sql", Kind.VERSIONED, "1", "x", None),
        ("V1.1__My_description.sql", Kind.VERSIONED, "1.1", "My description", None),
        ("V2__Add_user_table.sql", Kind.VERSIONED, "2", "Add user table", None),
        ("V1__2__x.sql", Kind.VERSIONED, "1", "2  x", None),
        ("V1_1__x.sql", Kind.VERSIONED, "1.1", "x", None),
        ("V001__x.sql", Kind.VERSIONED, "001", "x", None),
        ("V1.sql", Kind.VERSIONED, "1", "", None),
        ("V1__.sql", Kind.VERSIONED, "1", "", None),
        ("V1__x.SQL", Kind.VERSIONED, "1", "x", None),
        ("V2024.01.15.1030__add_orders.sql", Kind.VERSIONED, "2024.01.15.1030", "add orders", None),
        ("B5__baseline.sql", Kind.BASELINE, "5", "baseline", None),
        ("R__My_view.sql", Kind.REPEATABLE, None, "My view", None),
        ("R__.sql", Kind.REPEATABLE, None, "", None),
        ("afterMigrate.sql", Kind.CALLBACK, None, "", "afterMigrate"),
        ("afterMigrate__grant.sql", Kind.CALLBACK, None, "grant", "afterMigrate"),
        ("afterMigrate__grant_rights.sql", Kind.CALLBACK, None, "grant rights", "afterMigrate"),
        ("afterMigrateError.sql", Kind.CALLBACK, None, "", "afterMigrateError"),
        ("beforeEachMigrate.sql", Kind.CALLBACK, None, "", "beforeEachMigrate"),
        ("beforeMigrate__set_role.sql", Kind.CALLBACK, None, "set role", "beforeMigrate"),
    ],
)
def test_valid_names(filename, kind, version, description, event):
    name = parse_name(filename)
    assert name.kind is kind
    assert (name.version.text if name.version else None) == version
    assert name.description == description
    assert name.event == event
    assert name.filename == filename


@pytest.mark.parametrize(
    "filename, message",
    [
        ("v1__x.sql", "Unrecognised migration name format: v1__x.sql"),
        ("CCD-4590__x.sql", "Unrecognised migration name format: CCD-4590__x.sql"),
        ("U1__x.sql", "Unrecognised migration name format: U1__x.sql"),
        ("schema.sql", "Unrecognised migration name format: schema.sql"),
        ("V1_x.sql", "Invalid versioned migration name format: V1_x.sql (could not recognise version number 1_x)"),
        ("V1.2a__x.sql",
         "Invalid versioned migration name format: V1.2a__x.sql (could not recognise version number 1.2a)"),
        ("V__x.sql", "Invalid versioned migration name format: V__x.sql (It must contain a version and should look "
                     "like this: V1.2__x.sql)"),
        ("V.sql", "Invalid versioned migration name format: V.sql (It must contain a version and should look like "
                  "this: V1.2__description.sql)"),
        ("R1.sql", "Invalid repeatable migration / callback name format: R1.sql (It cannot contain a version and "
                   "should look like this: R__description.sql)"),
        ("R1__x.sql", "Invalid repeatable migration / callback name format: R1__x.sql (It cannot contain a version "
                      "and should look like this: R__x.sql)"),
        ("afterMigrateGrant.sql", "Invalid repeatable migration / callback name format: afterMigrateGrant.sql (It "
                                  "cannot contain a version and should look like this: afterMigrate__description.sql)"),
        ("afterMigrate_grant.sql", "Invalid repeatable migration / callback name format: afterMigrate_grant.sql "
                                   "(It cannot contain a version and should look like this: afterMigrate__description.sql)"),
    ],
)
def test_invalid_names(filename, message):
    with pytest.raises(InvalidName) as caught:
        parse_name(filename)
    assert str(caught.value) == message
    assert caught.value.filename == filename


@pytest.mark.parametrize(
    "filename, status",
    [
        ("V1__x.sql", "migration"),
        ("afterMigrate__grants.sql", "callback"),
        ("v1__x.sql", "invalid"),
        ("V1.2a__x.sql", "invalid"),
        ("V57__readme.md", "ignored"),
        ("V2__x.sql.conf", "ignored"),
        ("README.md", "ignored"),
    ],
)
def test_check_name(filename, status):
    assert check_name(filename).status == status


def test_callback_events_are_usable_prefixes():
    assert {"beforeMigrate", "afterMigrate", "afterMigrateError", "beforeEachMigrate", "afterEachMigrate"} <= \
        CALLBACK_EVENTS
    assert "beforeConnect" not in CALLBACK_EVENTS  # script callbacks only, not SQL


# --- checksums (§3.3) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename, expected",
    [("V1.1__View.sql", 64723601), ("V1__First.sql", 814278929), ("V1_2__Populate_table.sql", -451410233)],
)
def test_flyway_checksum_vectors(filename, expected):
    assert checksum_bytes((VECTORS / filename).read_bytes()) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", 0),
        ("\n\n", 0),
        ("SELECT 1;", 78787420),
        ("SELECT 1;\n", 78787420),
        ("SELECT 1;\r\n", 78787420),
        ("\ufeffSELECT 1;\n", 78787420),
        ("SELECT 1;\n\n\n", 78787420),
        ("CREATE TABLE t (id int);\n", 92137680),
        ("select 1;\nselect 2;\n", -593479011),
        ("select 1;select 2;", -593479011),
        ("-- ü\nselect 1;\n", -619062426),
    ],
)
def test_checksum_text_vectors(text, expected):
    assert checksum_text(text) == expected


def test_checksum_line_endings_equal():
    assert checksum_text("abc\ndef efg\nxyz") == checksum_text("abc\r\ndef efg\nxyz\r\n")


def test_checksum_bytes_strict_decoding():
    assert checksum_bytes("-- ü\nselect 1;\n".encode("latin-1"), "ISO-8859-1") == -619062426
    with pytest.raises(FlywayError, match="Unable to calculate checksum of V1__x.sql"):
        checksum_bytes(b"select '\xff';", name="V1__x.sql")


# --- placeholders (§6.1) ------------------------------------------------------------------------------------------


def test_placeholders_case_insensitive_and_defaults():
    text = "GRANT SELECT ON ${Schema}.t TO ${reader}; -- ${flyway:user}"
    assert [p.name for p in find_placeholders(text)] == ["Schema", "reader", "flyway:user"]
    out = replace_placeholders(text, {"SCHEMA": "app", "Reader": ""}, defaults={"flyway:user": "bob"})
    assert out == "GRANT SELECT ON app.t TO ; -- bob"


def test_placeholder_missing():
    with pytest.raises(PlaceholderError) as caught:
        replace_placeholders("select 1;\nselect '${x}';", {})
    assert str(caught.value) == "No value provided for placeholder: ${x}.  Check your configuration!"
    assert (caught.value.name, caught.value.offset) == ("x", 18)
    with pytest.raises(PlaceholderError, match=r"^Failed to populate value for default placeholder: \$\{flyway:"
                                               r"database\}$"):
        replace_placeholders("${flyway:database}", {})


def test_default_placeholders():
    values = default_placeholders("public", "app", "appdb", "flyway_schema_history", "V1__x.sql",
                                  timestamp=datetime(2024, 1, 2, 3, 4, 5))
    assert values["flyway:timestamp"] == "2024-01-02 03:04:05"
    text = "${flyway:defaultSchema} ${flyway:user} ${flyway:database} ${flyway:table} ${flyway:filename}"
    assert replace_placeholders(text, {}, defaults=values) == "public app appdb flyway_schema_history V1__x.sql"


# --- script config (§6.2) -----------------------------------------------------------------------------------------


def test_script_config():
    assert parse_script_config("executeInTransaction=false\n") == ScriptConfig(execute_in_transaction=False)
    assert parse_script_config("# c\nencoding = ISO-8859-1\nplaceholderReplacement: true\n") == ScriptConfig(
        encoding="ISO-8859-1", placeholder_replacement=True)
    with pytest.raises(FlywayError, match=r"^Unknown configuration property: executeInTransactions\. Please check "
                                          r"your script config files$"):
        parse_script_config("executeInTransactions=false")


# --- resolution (§1.4) --------------------------------------------------------------------------------------------


def test_resolution_order_and_duplicates():
    res = resolve({"sql": ["V2__b.sql", "V1.1__a.sql", "sub/V10__c.sql", "R__b.sql", "R__B.sql", "B3__base.sql",
                           "V3__y.sql", ".hidden/V9__z.sql", "notes.md", "v1__x.sql"]})
    assert [m.script for m in res.migrations] == ["B3__base.sql", "V1.1__a.sql", "V2__b.sql", "V3__y.sql",
                                                  "sub/V10__c.sql", "R__B.sql", "R__b.sql"]
    assert [p.code for p in res.problems] == ["INVALID_NAME"]
    assert set(res.ignored) == {"sql/.hidden/V9__z.sql", "sql/notes.md"}
    dup = resolve({"a": ["V1__x.sql", "R__a_b.sql"], "b": ["V1.0__y.sql", "R__a b.sql"]})
    assert [p.code for p in dup.problems] == ["DUPLICATE_VERSIONED_MIGRATION", "DUPLICATE_REPEATABLE_MIGRATION"]
    assert dup.problems[0].message == ("Found more than one migration with version 1\nOffenders:\n-> a/V1__x.sql (SQL)"
                                       "\n-> b/V1.0__y.sql (SQL)")


# --- non-transactional statements (§9.2) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("CREATE INDEX CONCURRENTLY i ON t (a)", True),
        ("create unique index concurrently if not exists i on t (a)", True),
        ("DROP INDEX CONCURRENTLY i", True),
        ("VACUUM ANALYZE t", True),
        ("CREATE DATABASE x", True),
        ("ALTER SYSTEM SET work_mem = '1MB'", True),
        ("REINDEX SCHEMA public", True),
        ("DISCARD ALL", True),
        ("CREATE INDEX i ON t (a)", False),
        ("REINDEX TABLE CONCURRENTLY t", False),  # not detected by Flyway
        ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", False),  # not detected by Flyway
        ("ALTER TYPE mood ADD VALUE 'x'", False),
        ("-- CREATE INDEX CONCURRENTLY\nSELECT 'VACUUM'", False),
    ],
)
def test_non_transactional(sql, expected):
    assert is_non_transactional(sql) is expected


def test_alter_type_add_value_before_pg12():
    assert is_non_transactional("ALTER TYPE mood ADD VALUE 'x'", 110000)
    assert not is_non_transactional("ALTER TYPE mood ADD VALUE 'x'", 120000)


# --- depth: more of every rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename, expected_hint",
    [
        ("v1__x.sql", "lowercase 'v'"),
        ("r__x.sql", "lowercase 'r'"),
        ("b2__x.sql", "lowercase 'b'"),
        ("V1_x.sql", "separates version and description with '_'"),
        ("V1.2_add_users.sql", "separates version and description with '_'"),
        ("V3-add_users.sql", "separates version and description with '-'"),
        ("afterMigrate_grant.sql", "single '_'"),
        ("V57__readme.md", "does not end with .sql"),
        ("R__notes.txt", "does not end with .sql"),
        ("U1__undo.sql", "undo migration"),
    ],
)
def test_name_hints(filename, expected_hint):
    hints = check_name(filename).hints
    assert len(hints) == 1 and expected_hint in hints[0]


@pytest.mark.parametrize(
    "filename",
    ["V1__x.sql", "R__x.sql", "afterMigrate.sql", "afterMigrate__grants.sql", "V2__x.sql.conf", "README.md",
     "Readme.md", "beforeMigrate.sql", "schema.sql", "CCD-4590__x.sql", "V1__x.SQL"],
)
def test_no_hint(filename):
    assert check_name(filename).hints == ()


@pytest.mark.parametrize(
    "filename, status",
    [
        ("V1__x.sql", "migration"),
        ("V1.sql", "migration"),
        ("R__.sql", "migration"),
        ("R.sql", "invalid"),  # parses, but not longer than prefix + suffix
        ("B.sql", "invalid"),
        ("V.sql", "invalid"),
        ("afterMigrate.sql", "callback"),
        ("afterMigrateError.sql", "callback"),
        ("afterMigrateGrant.sql", "invalid"),
        ("R1__x.sql", "invalid"),
        ("CCD-4590__x.sql", "invalid"),
        ("U1__x.sql", "invalid"),
        ("notes.txt", "ignored"),
        ("V1__x.sql.bak", "ignored"),
        ("beforeConnect.sql", "invalid"),  # script-only event
        ("beforeDeploy.sql", "invalid"),  # not an event of open-source Flyway
    ],
)
def test_ignored_versus_invalid(filename, status):
    assert check_name(filename).status == status


@pytest.mark.parametrize(
    "filename, suffixes, separator, version, description",
    [
        ("V1-x.psql", (".sql", ".psql"), "-", "1", "x"),
        ("V1.2--add_a.ddl", (".ddl",), "--", "1.2", "add a"),
        ("V7__x.Sql", (".sql",), "__", "7", "x"),
    ],
)
def test_configured_suffixes_and_separator(filename, suffixes, separator, version, description):
    name = parse_name(filename, suffixes=suffixes, separator=separator)
    assert (name.version.text, name.description) == (version, description)


def test_callback_prefix_is_case_sensitive_and_longest_wins():
    assert parse_name("afterEachMigrateError__log.sql").event == "afterEachMigrateError"
    assert parse_name("afterEachMigrateStatementError.sql").event == "afterEachMigrateStatementError"
    with pytest.raises(InvalidName, match="Unrecognised"):
        parse_name("AfterMigrate.sql")
    with pytest.raises(InvalidName, match="Unrecognised"):
        parse_name("aftermigrate.sql")


def test_repeatables_order_by_utf16_code_units():
    # Java's String.compareTo: upper case before lower case, and a character outside the BMP (a surrogate pair,
    # 0xD83D...) before U+FFFD even though its code point is larger.
    files = ["R__b.sql", "R__a.sql", "R__B.sql", "R__\U0001F600.sql", "R__\ufffd.sql", "R__é.sql", "R__z.sql"]
    order = [m.description for m in resolve({"sql": files}).migrations]
    assert order == ["B", "a", "b", "z", "é", "\U0001F600", "\ufffd"]


@pytest.mark.parametrize(
    "files, code",
    [
        (["V1__a.sql", "V1.0__b.sql"], "DUPLICATE_VERSIONED_MIGRATION"),
        (["V1.1__a.sql", "V1.01__b.sql"], "DUPLICATE_VERSIONED_MIGRATION"),
        (["V1__a.sql", "V01__b.sql"], "DUPLICATE_VERSIONED_MIGRATION"),
        (["V1_0__a.sql", "2024/V1__a.sql"], "DUPLICATE_VERSIONED_MIGRATION"),
        (["B2__a.sql", "B2.0__b.sql"], "DUPLICATE_VERSIONED_MIGRATION"),
        (["R__a_b.sql", "R__a b.sql"], "DUPLICATE_REPEATABLE_MIGRATION"),
        (["R__x.sql", "sub/R__x.sql"], "DUPLICATE_REPEATABLE_MIGRATION"),
    ],
)
def test_duplicates(files, code):
    problems = resolve({"sql": files}).problems
    assert [p.code for p in problems] == [code]
    assert len(problems[0].paths) == 2


@pytest.mark.parametrize(
    "files",
    [["B3__x.sql", "V3__y.sql"], ["V1.1__a.sql", "V1.10__b.sql"], ["R__a.sql", "R__A.sql"], ["V1__x.sql", "R__x.sql"]],
)
def test_not_duplicates(files):
    assert resolve({"sql": files}).problems == ()


def test_duplicate_repeatable_message_and_three_offenders():
    problems = resolve({"a": ["R__v.sql", "V2__x.sql"], "b": ["R__v.sql", "V2.0__y.sql", "V02__z.sql"]}).problems
    assert problems[0].message == (
        "Found more than one migration with version 2\nOffenders:\n-> a/V2__x.sql (SQL)\n-> b/V02__z.sql (SQL)"
        "\n-> b/V2.0__y.sql (SQL)"
    )
    assert problems[1].message == (
        "Found more than one repeatable migration with description v\nOffenders:\n-> a/R__v.sql (SQL)"
        "\n-> b/R__v.sql (SQL)"
    )


def test_callbacks_resolution():
    res = resolve({"sql": ["V1__x.sql", "afterMigrate.sql"]}, callback_locations={
        "callbacks": ["afterMigrate__b.sql", "afterMigrate.sql", "beforeMigrate.sql", "V9__x.sql"],
        "more": ["afterMigrate.sql"]})
    assert [c.path for c in res.callbacks] == ["callbacks/afterMigrate.sql", "more/afterMigrate.sql",
                                               "callbacks/afterMigrate__b.sql", "callbacks/beforeMigrate.sql"]
    assert [m.path for m in res.migrations] == ["sql/V1__x.sql"]
    assert set(res.ignored) == {"sql/afterMigrate.sql", "callbacks/V9__x.sql"}
    assert [(p.code, p.message) for p in res.problems] == [
        ("DUPLICATE_CALLBACK", "Found more than 1 SQL callback script called afterMigrate!")]
    # Without callback locations, callbacks come from the migration locations.
    res = resolve({"sql": ["V1__x.sql", "callbacks/beforeEachMigrate.sql"]})
    assert [c.script for c in res.callbacks] == ["callbacks/beforeEachMigrate.sql"]
    assert res.callbacks[0].name.event == "beforeEachMigrate"


def test_resolved_migration_fields():
    migration = resolve({"db/migration": ["2024/V1_1__Add_users.sql"]}).migrations[0]
    assert migration.script == "2024/V1_1__Add_users.sql"
    assert migration.path == "db/migration/2024/V1_1__Add_users.sql"
    assert migration.location == "db/migration"
    assert (migration.version.text, migration.description, migration.type) == ("1.1", "Add users", "SQL")
    baseline = resolve({"sql": ["B5__base.sql"]}).migrations[0]
    assert baseline.type == "SQL_BASELINE"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${a}", ["a"]),
        ("${a}${B}", ["a", "B"]),
        ("$${a}$$", []),  # Flyway 13.12.2 reads `$$` as a pair and leaves `{a}` alone (tests/test_flyway_real.py)
        ("$$${a}$$", ["a"]),
        ("$q$${a}$q$ $x${b}", ["b"]),
        ("${flyway:defaultSchema}.t", ["flyway:defaultSchema"]),
        ("${unterminated", []),
        ("$ {a}", []),
        ("-- ${in_comment}\nselect '${in_string}', $$${in_dollar}$$", ["in_comment", "in_string", "in_dollar"]),
    ],
)
def test_find_placeholders(text, expected):
    assert [p.name for p in find_placeholders(text)] == expected


def test_placeholder_positions_and_kinds():
    found = find_placeholders("ab ${x} ${flyway:user}")
    assert [(p.start, p.end, p.is_default) for p in found] == [(3, 7, False), (8, 22, True)]


def test_placeholder_empty_value_and_override_of_defaults():
    assert replace_placeholders("[${e}]", {"e": ""}) == "[]"
    assert replace_placeholders("${flyway:user}", {"flyway:user": "me"}, defaults={"flyway:user": "x"}) == "me"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", ScriptConfig()),
        ("executeInTransaction=true", ScriptConfig(execute_in_transaction=True)),
        ("executeInTransaction=FALSE", ScriptConfig(execute_in_transaction=False)),
        ("  executeInTransaction = false  \r\n", ScriptConfig(execute_in_transaction=False)),
        ("executeInTransaction false", ScriptConfig(execute_in_transaction=False)),
        ("! comment\n# comment\n\nencoding=UTF-16", ScriptConfig(encoding="UTF-16")),
        ("placeholderReplacement=false", ScriptConfig(placeholder_replacement=False)),
        ("shouldExecute=${env} == prod", ScriptConfig(should_execute="${env} == prod")),
        ("encoding=ISO-\\\n   8859-1", ScriptConfig(encoding="ISO-8859-1")),
    ],
)
def test_script_config_table(text, expected):
    assert parse_script_config(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("flyway.executeInTransaction=false",
         "Unknown configuration property: flyway.executeInTransaction. Please check your script config files"),
        ("mixed=true", "Unknown configuration property: mixed. Please check your script config files"),
        ("executeInTransaction=no", "Invalid value for executeInTransaction (should be either true or false): no"),
    ],
)
def test_script_config_errors(text, message):
    with pytest.raises(FlywayError) as caught:
        parse_script_config(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("REINDEX (VERBOSE) SCHEMA public", True),
        ("REINDEX DATABASE app", True),
        ("REINDEX SYSTEM app", True),
        ("CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p", True),
        ("DROP SUBSCRIPTION s", True),
        ("CREATE TABLESPACE ts LOCATION '/x'", True),
        ("DROP TABLESPACE ts", True),
        ("DROP DATABASE x", True),
        ("VACUUM (FULL, ANALYZE) t", True),
        ("vacuum", True),
        ("/* lead */ CREATE INDEX CONCURRENTLY i ON t (a)", True),
        ("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t USING btree (a) WHERE (a > 0)", True),
        # Not detected by Flyway (§9.2): these need executeInTransaction=false in a script config.
        ("REINDEX INDEX CONCURRENTLY i", False),
        ("CLUSTER", False),
        ("ALTER DATABASE x SET TABLESPACE ts", False),
        ("COMMIT PREPARED 'x'", False),
        ("ROLLBACK PREPARED 'x'", False),
        # Allowed in a transaction.
        ("REINDEX TABLE t", False),
        ("CLUSTER t USING i", False),
        ("ANALYZE t", False),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", False),
        ("DISCARD PLANS", False),
        ("DO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY i ON t (a)'; END $$", False),
        ("SELECT 'VACUUM'", False),
        ('CREATE TABLE "vacuum" (a int)', False),
        ("CREATE INDEX i ON t ((a)) -- CONCURRENTLY", False),
    ],
)
def test_non_transactional_more(sql, expected):
    assert is_non_transactional(sql) is expected


@pytest.mark.parametrize(
    "sql, version, expected",
    [
        ("ALTER TYPE mood ADD VALUE 'x'", 110022, True),
        ("ALTER TYPE public.mood ADD VALUE IF NOT EXISTS 'x' AFTER 'y'", 110000, True),
        ("ALTER TYPE mood ADD VALUE 'x'", 150004, False),
        ("ALTER TYPE mood RENAME VALUE 'x' TO 'y'", 110000, False),
    ],
)
def test_alter_type_add_value_by_server_version(sql, version, expected):
    assert is_non_transactional(sql, version) is expected


@pytest.mark.parametrize(
    "script, conf, mixed, in_transaction, error_line",
    [
        ("CREATE TABLE t (a int);", None, False, True, 0),
        ("CREATE INDEX CONCURRENTLY i ON t (a);", None, False, False, 0),
        ("CREATE INDEX CONCURRENTLY i ON t (a);\nDROP INDEX CONCURRENTLY j;", None, False, False, 0),
        ("CREATE TABLE t (a int);\n\nCREATE INDEX CONCURRENTLY i ON t (a);", None, False, False, 3),
        ("CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);", None, True, False, 0),
        ("CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);", "executeInTransaction=false", False,
         False, 0),
        ("CREATE INDEX CONCURRENTLY i ON t (a);", "executeInTransaction=true", False, True, 0),
        ("REINDEX INDEX CONCURRENTLY i;", "executeInTransaction=false", False, False, 0),
    ],
)
def test_transaction_mode(script, conf, mixed, in_transaction, error_line):
    from ddl_cascade.flyway import transaction_mode
    from ddl_cascade.flyway.sqlscript import split_statements

    config = parse_script_config(conf) if conf else None
    mode = transaction_mode(split_statements(script), config, mixed=mixed)
    assert mode.in_transaction is in_transaction
    assert mode.line == error_line
    if error_line:
        assert mode.error.startswith("Detected both transactional and non-transactional statements within the "
                                     "same migration (even though mixed is false). Offending statement found at "
                                     f"line {error_line}: CREATE INDEX CONCURRENTLY")
    else:
        assert mode.error is None


def test_folders_play_no_part_in_names():
    assert parse_name("db/2024/V3__x.sql").filename == "V3__x.sql"
    assert check_name("callbacks\\afterMigrate.sql").status == "callback"
    assert check_name("V1/notes.md").status == "ignored"


@pytest.mark.parametrize(
    "sql, expected",
    [
        # Flyway's simplified statement keeps only keywords (letters and "_"): names with digits or dots do not
        # count towards its 10-keyword cut-off.
        ("ALTER TYPE public.mood ADD VALUE 'x'", True),
        ("ALTER TYPE mood2 ADD VALUE 'x'", True),
        ("ALTER TYPE a_b_c ADD VALUE 'x'", True),
        ("ALTER TYPE \"Mood\" ADD VALUE 'x'", True),
    ],
)
def test_alter_type_keywords_before_pg12(sql, expected):
    assert is_non_transactional(sql, 110000) is expected


def test_eleventh_keyword_is_too_late():
    # The cut-off: after ten keywords Flyway stops looking, so a match that needs the eleventh is not seen.
    assert is_non_transactional("ALTER TYPE a b c d e f ADD VALUE 'x'", 110000)  # VALUE is the 10th
    assert not is_non_transactional("ALTER TYPE a b c d e f g ADD VALUE 'x'", 110000)  # VALUE is the 11th
    assert is_non_transactional("ALTER TYPE a1 b1 c1 d1 e1 f1 g1 h1 ADD VALUE 'x'", 110000)
