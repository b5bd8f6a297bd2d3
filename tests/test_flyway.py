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
    is_non_transactional,
    parse_name,
    parse_script_config,
    parse_version,
    replace_placeholders,
    resolve,
)

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
        ("R1__x.sql", "Invalid repeatable migration / callback name format: R1__x.sql (It cannot contain a version "
                      "and should look like this: R__x.sql)"),
        ("afterMigrateGrant.sql", "Invalid repeatable migration / callback name format: afterMigrateGrant.sql (It "
                                  "cannot contain a version and should look like this: afterMigrate__.sql)"),
        ("afterMigrate_grant.sql", "Invalid repeatable migration / callback name format: afterMigrate_grant.sql "
                                   "(It cannot contain a version and should look like this: afterMigrate__.sql)"),
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
