"""Flyway's info states and validation, table-driven (reference flyway.md §5; Flyway's MigrationInfoServiceImpl).

Each case gives the files (version or R, checksum) and the history rows as Flyway writes them, and the state Flyway's
`info` prints for each line, in its order: files below the baseline, the applied rows by installed_rank (an Ignored
file placed among them by version), then pending files.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from ddl_cascade.db.history import AppliedRow
from ddl_cascade.db.info import Resolved, compute
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway.settings import Settings
from ddl_cascade.flyway import Version

T = datetime(2024, 1, 1, 12, 0, 0)


def v(version: str, checksum: int = 1, description: str = "d", type_: str = "SQL") -> Resolved:
    prefix = "B" if type_ == "SQL_BASELINE" else "V"
    return Resolved(Version(version), description, type_, f"{prefix}{version}__{description}.sql", checksum)


def r(description: str, checksum: int = 1, raw: int | None = None) -> Resolved:
    return Resolved(None, description, "SQL", f"R__{description}.sql", checksum, raw)


def row(rank: int, version: str | None, checksum: int | None = 1, description: str = "d", type_: str = "SQL",
        success: bool = True, script: str | None = None) -> AppliedRow:
    script = script or (f"V{version}__{description}.sql" if version else f"R__{description}.sql")
    return AppliedRow(rank, version, description, type_, script, checksum, "flyway", T, 5, success)


BASELINE_ROW = AppliedRow(1, "5", "<< Flyway Baseline >>", "BASELINE", "<< Flyway Baseline >>", None, "flyway", T, 0,
                          True)
SCHEMA_ROW = AppliedRow(0, None, "<< Flyway Schema Creation >>", "SCHEMA", '"app"', None, "flyway", T, 0, True)

CASES = [
    ("empty database: all pending", [v("1"), v("2"), r("a")], [], ["Pending", "Pending", "Pending"]),
    ("applied and pending", [v("1"), v("2")], [row(1, "1")], ["Success", "Pending"]),
    ("1.0 applied matches file V1", [v("1")], [row(1, "1.0")], ["Success"]),
    ("new file below the highest applied is Ignored", [v("1"), v("2"), v("3")], [row(1, "1"), row(2, "3")],
     ["Success", "Ignored", "Success"]),  # listed by version among the applied rows, as `flyway info` does
    ("applied after a higher version: Out of Order", [v("1"), v("2"), v("3")],
     [row(1, "1"), row(2, "3"), row(3, "2")], ["Success", "Success", "Out of Order"]),
    ("applied row without file: Missing below, Future above", [v("2"), v("3")],
     [row(1, "1"), row(2, "2"), row(3, "4")], ["Missing", "Success", "Ignored", "Future"]),
    ("failed rows", [v("1"), v("2")], [row(1, "1"), row(2, "2", success=False)], ["Success", "Failed"]),
    ("failed row without file", [v("3")], [row(1, "1", success=False)], ["Failed (Missing)", "Pending"]),
    ("failed future row", [v("1")], [row(1, "1"), row(2, "9", success=False)], ["Success", "Failed (Future)"]),
    ("repeatable: latest run Success, older Superseded", [r("a", 7)], [row(1, None, 6, "a"), row(2, None, 7, "a")],
     ["Superseded", "Success"]),
    ("repeatable changed: latest Outdated and pending again", [r("a", 8)], [row(1, None, 7, "a")],
     ["Outdated", "Pending"]),
    ("repeatable matching its raw-text checksum (equivalent) is Success", [r("a", 8, raw=7)],
     [row(1, None, 7, "a")], ["Success"]),
    ("repeatable without file: Missing", [], [row(1, None, 7, "gone")], ["Missing"]),
    ("baseline marker: below, equal, above", [v("3"), v("5"), v("6")], [BASELINE_ROW],
     ["Below Baseline", "Baseline", "Ignored (Baseline)", "Pending"]),
    ("schema marker", [v("1")], [SCHEMA_ROW, row(1, "1")], ["Success", "Success"]),
    ("baseline migration file on an empty database", [v("5", type_="SQL_BASELINE"), v("3"), v("5"), v("6")], [],
     ["Below Baseline", "Pending", "Ignored (Baseline)", "Pending"]),
    ("applied baseline migration", [v("5", type_="SQL_BASELINE"), v("5"), v("6")],
     [row(1, "5", type_="SQL_BASELINE", script="B5__d.sql")], ["Baseline", "Ignored (Baseline)", "Pending"]),
    ("a new baseline migration on a used database is Ignored", [v("1"), v("7", type_="SQL_BASELINE")],
     [row(1, "1")], ["Success", "Ignored"]),
    ("repair marked a missing migration deleted: the row is Deleted, the file pending again", [v("1")],
     [row(1, "1"), row(2, "1", type_="DELETE")], ["Deleted", "Pending"]),
    ("checksum mismatch is still Success, flagged", [v("1", checksum=2)], [row(1, "1", checksum=1)], ["Success"]),
]


@pytest.mark.parametrize("files, rows, states", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_info_states(files, rows, states):
    info = compute(files, rows)
    assert [m.state for m in info.migrations] == states


def test_pending_order_is_baseline_then_versions_then_repeatables_by_description():
    info = compute([r("b"), v("10"), r("a"), v("9"), v("12", type_="SQL_BASELINE")], [])
    assert [(str(m.version) if m.version else m.description) for m in info.pending] == ["12", "a", "b"]
    info = compute([r("b"), v("10"), r("a"), v("9")], [])
    assert [(str(m.version) if m.version else m.description) for m in info.pending] == ["9", "10", "a", "b"]


VALIDATE = [
    ("clean", [v("1"), v("2")], [row(1, "1")], []),
    ("failed", [v("1")], [row(1, "1", success=False)], ["Detected failed migration to version 1 (d)"]),
    ("failed repeatable", [r("a")], [row(1, None, 1, "a", success=False)], ["Detected failed repeatable migration: a"]),
    ("mismatch", [v("1", checksum=2)], [row(1, "1", checksum=1)],
     ["Migration checksum mismatch for migration version 1\n-> Applied to database : 1\n"
      "-> Resolved locally    : 2"]),
    ("description mismatch", [v("1", description="new")], [row(1, "1", description="old")],
     ["Migration description mismatch for migration version 1\n-> Applied to database : old\n"
      "-> Resolved locally    : new"]),
    ("missing", [v("2")], [row(1, "1"), row(2, "2")], ["Detected applied migration not resolved locally: 1"]),
    ("future is ignored by default", [v("1")], [row(1, "1"), row(2, "2")], []),
    ("ignored", [v("1"), v("2"), v("3")], [row(1, "1"), row(2, "3")],
     ["Detected resolved migration not applied to database: 2"]),
    ("outdated repeatable is not an error for migrate", [r("a", 2)], [row(1, None, 1, "a")], []),
    ("below the baseline nothing is compared", [v("3", checksum=9)], [BASELINE_ROW], []),
]


@pytest.mark.parametrize("files, rows, problems", [c[1:] for c in VALIDATE], ids=[c[0] for c in VALIDATE])
def test_validate_as_flyway_migrate(files, rows, problems):
    assert compute(files, rows, ignore_pending=True).problems == problems


def test_mismatch_and_failed_flags():
    info = compute([v("1", checksum=2), v("2")], [row(1, "1", checksum=1), row(2, "2", success=False)])
    assert [(m.version, m.checksum, m.resolved_checksum) for m in info.mismatches] == [("1", 1, 2)]
    assert [m.version for m in info.failed] == ["2"]
    # A NULL checksum on either side is not a mismatch (Flyway compares only when both have one).
    assert compute([v("1", checksum=2)], [row(1, "1", checksum=None)]).mismatches == []


# -- outOfOrder, target, ignoreMigrationPatterns (each case checked against the real Flyway in
#    tests/test_flyway_real_info.py, whose known scenarios these mirror) ---------------------------------------------

SETTINGS_CASES = [
    ("outOfOrder: a new lower version is Pending and applied first", [v("1"), v("2"), v("3")],
     [row(1, "1"), row(2, "3")], Settings(out_of_order=True), ["Success", "Success", "Pending"], ["2"]),
    ("target: versions above it", [v("1"), v("2"), v("3"), r("a")], [], Settings(target="2"),
     ["Pending", "Pending", "Above Target", "Pending"], ["1", "2", "a"]),
    ("target 2.0 is version 2", [v("1"), v("2"), v("3")], [], Settings(target="2.0"),
     ["Pending", "Pending", "Above Target"], ["1", "2"]),
    ("target current on an empty history: every version above it", [v("1"), v("2"), r("a")], [],
     Settings(target="current"), ["Above Target", "Above Target", "Pending"], ["a"]),
    ("target current: the highest applied version", [v("1"), v("2"), v("3")], [row(1, "1"), row(2, "2")],
     Settings(target="current"), ["Success", "Success", "Above Target"], []),
    ("target next: one migration", [v("1"), v("2"), v("3"), r("a")], [], Settings(target="next"),
     ["Pending", "Above Target", "Above Target", "Pending"], ["1"]),
    ("target next with only repeatables pending: the first of them", [v("1"), r("a"), r("b")], [row(1, "1")],
     Settings(target="next"), ["Success", "Pending", "Pending"], ["a"]),
    ("a pending B file is applied even above the target (Flyway looks at the baseline first)",
     [v("5", type_="SQL_BASELINE"), v("1"), v("5"), v("6")], [], Settings(target="1"),
     ["Below Baseline", "Pending", "Ignored (Baseline)", "Above Target"], ["5"]),
]


@pytest.mark.parametrize("files, rows, settings, states, pending", [c[1:] for c in SETTINGS_CASES],
                         ids=[c[0] for c in SETTINGS_CASES])
def test_states_and_pending_under_settings(files, rows, settings, states, pending):
    info = compute(files, rows, settings=settings)
    assert [m.state for m in info.migrations] == states
    assert [str(m.version) if m.version else m.description for m in info.pending] == pending


MISSING_TARGET = "No migration with a target version 2 could be found. Ensure target is specified correctly and " \
                 "the migration exists."

SETTINGS_VALIDATE = [
    ("missing target: Flyway's sentence and nothing else", [v("1"), v("3")], [row(1, "1")], Settings(target="2"),
     False, [MISSING_TARGET]),
    ("missing target with ?: allowed", [v("1"), v("3")], [row(1, "1")], Settings(target="2?"), False, []),
    ("a missing repeatable is reported by its description", [v("1")], [row(1, "1"), row(2, None, 1, "a")],
     Settings(), True, ["Detected applied migration not resolved locally: a"]),
    ("*:missing ignores it", [v("1")], [row(1, "1"), row(2, None, 1, "a")],
     Settings(ignore_migration_patterns=("*:missing",)), True, []),
    ("versioned:missing does not", [v("1")], [row(1, "1"), row(2, None, 1, "a")],
     Settings(ignore_migration_patterns=("versioned:missing",)), True,
     ["Detected applied migration not resolved locally: a"]),
    ("without *:future a future migration is an error", [v("1")], [row(1, "1"), row(2, "2")],
     Settings(ignore_migration_patterns=("*:missing",)), True, ["Detected applied migration not resolved locally: 2"]),
    ("versioned:pending still reports an outdated repeatable", [v("1"), r("a", 2)], [row(1, "1"), row(2, None, 1, "a")],
     Settings(ignore_migration_patterns=("versioned:pending",)), False,
     ["Detected outdated resolved repeatable migration that should be re-applied to database: a",
      "Detected resolved repeatable migration not applied to database: a"]),
    ("versioned:pending and repeatable:pending are *:pending", [v("1"), r("a", 2)],
     [row(1, "1"), row(2, None, 1, "a")],
     Settings(ignore_migration_patterns=("versioned:pending", "repeatable:pending")), False, []),
    ("*:ignored", [v("1"), v("2"), v("3")], [row(1, "1"), row(2, "3")],
     Settings(ignore_migration_patterns=("*:ignored",)), True, []),
    ("an ignored B file is no error", [v("1"), v("5", type_="SQL_BASELINE")], [row(1, "1")], Settings(), True, []),
    ("*:* lets validate pass a failed migration", [v("1"), v("2")], [row(1, "1"), row(2, "2", success=False)],
     Settings(ignore_migration_patterns=("*:*",)), False, []),
    ("… but not migrate (DbMigrate's own check)", [v("1"), v("2")], [row(1, "1"), row(2, "2", success=False)],
     Settings(ignore_migration_patterns=("*:*",)), True, ["Detected failed migration to version 2 (d)"]),
    ("a lone failed future migration does not stop migrate", [v("1"), v("2")],
     [row(1, "1"), row(2, "9", success=False)], Settings(out_of_order=True), True, []),
    ("validateOnMigrate=false: no validation before migrate", [v("1", checksum=2), v("2")], [row(1, "1")],
     Settings(validate_on_migrate=False), True, []),
]


@pytest.mark.parametrize("files, rows, settings, for_migrate, problems", [c[1:] for c in SETTINGS_VALIDATE],
                         ids=[c[0] for c in SETTINGS_VALIDATE])
def test_validate_under_settings(files, rows, settings, for_migrate, problems):
    assert compute(files, rows, settings=settings, ignore_pending=for_migrate).problems == problems


@pytest.mark.parametrize("settings, message", [
    (Settings(ignore_migration_patterns=("foo",)), "Invalid pattern 'foo'. Pattern must be of the form "),
    (Settings(ignore_migration_patterns=("*:failed",)),
     "Invalid migration state 'failed'. Valid states are: [*, missing, pending, ignored, future]"),
    (Settings(ignore_migration_patterns=(":pending",)),
     "Invalid migration type ''. Valid types are: [*, repeatable, versioned]"),
    (Settings(target="1.x"), "Version may only contain 0..9 and . (dot). Invalid version: 1.x"),
])
def test_bad_settings_are_one_cascade_error_naming_the_setting(settings, message):
    with pytest.raises(CascadeError) as raised:
        compute([], [], settings=settings)
    assert str(raised.value).startswith("Flyway setting ") and message in str(raised.value)
