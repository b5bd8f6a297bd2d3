"""A child's flyway.toml / flyway.conf as `ddl_cascade.flyway.settings` reads it: table-driven, each row a behaviour
checked against the real Flyway 13.12.2 in tests/test_flyway_real_child.py (which holds the differential tests)."""

from __future__ import annotations

import pytest

from ddl_cascade import flyway
from ddl_cascade.flyway.settings import Settings, SettingsError, from_conf, from_toml, read

ENVIRONMENTS = """\
[flyway]
environment = "ci"
locations = ["filesystem:sql"]
sqlMigrationPrefix = "M"
outOfOrder = true

[flyway.placeholders]
owner = "app"
region = "eu"

[environments.ci]
schemas = ["ci_schema"]

[environments.ci.flyway]
locations = ["filesystem:db", "filesystem:shared/sql"]
baselinemigrationprefix = "Base"

[environments.ci.flyway.placeholders]
owner = "ci"

[environments.prod.flyway]
sqlMigrationPrefix = "P"
"""


def test_the_active_environment_overrides_flyway_keys_one_by_one():
    found = from_toml(ENVIRONMENTS)
    assert found.environment == "ci"
    assert found.locations == ("filesystem:db", "filesystem:shared/sql")
    assert found.sql_migration_prefix == "M"  # not overridden: [flyway]'s
    assert found.baseline_migration_prefix == "Base"  # an extension's key: its name is matched ignoring case
    assert found.out_of_order is True
    assert found.schemas == ("ci_schema",)
    assert found.placeholders == {"owner": "ci"}  # the environment's table replaces [flyway.placeholders] whole


def test_the_caller_may_ask_for_another_environment_the_file_defines():
    assert from_toml(ENVIRONMENTS, environment="prod").sql_migration_prefix == "P"
    assert from_toml(ENVIRONMENTS, environment="staging").environment == "ci"  # not in the file: its own


@pytest.mark.parametrize("text, expected", [
    ('[flyway]\noutOfOrder = "TRUE"\n', True),
    ('[flyway]\noutOfOrder = 2\n', True),
    ('[flyway]\noutOfOrder = 0\n', False),
    ('[flyway]\nschemas = ["ignored"]\n', None),
    ('[flyway]\nsqlmigrationprefix = "ignored"\n', None),
    ('[flyway]\nsqlMigrationPrefix = 7\n', "7"),
])
def test_toml_values_flyway_takes(text, expected):
    found = from_toml(text)
    if expected is None:
        assert found == Settings(environment="default")
    elif isinstance(expected, bool):
        assert found.out_of_order is expected
    else:
        assert found.sql_migration_prefix == expected


@pytest.mark.parametrize("text, message", [
    ('[flyway]\noutOfOrder = "maybe"\n', "flyway.toml: flyway.outOfOrder must be true or false, not 'maybe'."),
    ('[flyway]\noutOfOrder = 1.0\n', "flyway.toml: flyway.outOfOrder must be true or false, not 1.0."),
    ('[flyway]\nlocations = "filesystem:sql"\n',
     "flyway.toml: flyway.locations must be an array of strings, not 'filesystem:sql'."),
    ('[flyway]\nenvironment = "dev"\n',
     "flyway.toml: flyway.environment is 'dev', but there is no [environments.dev] table."),
    ('[flyway]\nenvironment = "Dev"\n[environments.dev]\n',
     "flyway.toml: flyway.environment is 'Dev', but there is no [environments.Dev] table (environment names are "
     "case-sensitive: did you mean 'dev'?)."),
    ('[environments.prod.flyway]\nvalidateMigrationNaming = "yes"\n',
     "flyway.toml: environments.prod.flyway.validateMigrationNaming must be true or false, not 'yes'."),
    ('[environments.prod]\nschemas = "app"\n',
     "flyway.toml: environments.prod.schemas must be an array of strings, not 'app'."),
    ('[flyway]\nplaceholderPrefix = "#["\n',
     "flyway.toml: flyway.placeholderPrefix is '#['; ddl-cascade replays only Flyway's default placeholder syntax "
     "(placeholderPrefix = '${')."),
])
def test_toml_values_flyway_refuses_name_the_file_and_key(text, message):
    with pytest.raises(SettingsError) as refused:
        from_toml(text)
    assert str(refused.value) == message


def test_conf_lists_are_split_on_commas_and_not_trimmed():
    found = from_conf("flyway.locations=filesystem:sql, filesystem:other,\nflyway.sqlMigrationSuffixes=.sql,.DDL\n"
                      "flyway.placeholders.a=1\nflyway.outOfOrder=TRUE\n")
    assert found.locations == ("filesystem:sql", " filesystem:other")  # Flyway: the second is a classpath location
    assert found.sql_migration_suffixes == (".sql", ".DDL")
    assert found.placeholders == {"a": "1"} and found.out_of_order is True
    with pytest.raises(SettingsError, match=r"^flyway.conf: flyway.outOfOrder must be true or false, not 'maybe'.$"):
        from_conf("flyway.outOfOrder=maybe\n")


def test_flyway_toml_wins_over_flyway_conf():
    assert read({"flyway.toml": '[flyway]\nsqlMigrationPrefix = "T"\n',
                 "flyway.conf": "flyway.sqlMigrationPrefix=C\n"}).sql_migration_prefix == "T"
    assert read({"flyway.conf": "flyway.sqlMigrationPrefix=C\n"}).sql_migration_prefix == "C"
    assert read({}) == Settings()


@pytest.mark.parametrize("filename, kind, version, description", [
    ("M1-orders.pgsql", flyway.Kind.VERSIONED, "1", "orders"),
    ("Rep-report.PGSQL", flyway.Kind.REPEATABLE, None, "report"),
    ("Base2-all.pgsql", flyway.Kind.BASELINE, "2", "all"),
    ("afterMigrate-grants.pgsql", flyway.Kind.CALLBACK, None, "grants"),
])
def test_custom_prefixes_separator_and_suffixes_resolve(filename, kind, version, description):
    naming = dict(suffixes=(".pgsql",), separator="-", versioned_prefix="M", repeatable_prefix="Rep",
                  baseline_prefix="Base")
    check = flyway.check_name(filename, **naming)
    assert check.name is not None and check.name.kind is kind and check.name.description == description
    assert (check.name.version.text if check.name.version else None) == version
    assert flyway.check_name("V1__orders.sql", **naming).status == "ignored"
    assert flyway.check_name("V1-orders.pgsql", **naming).status == "invalid"


@pytest.mark.parametrize("read_it, message", [
    (lambda: from_toml('[flyway]\nlocations = ["filesystem:${env.MIGRATIONS}"]\n'),
     "flyway.toml: flyway.locations is 'filesystem:${env.MIGRATIONS}': ddl-cascade does not resolve"),
    (lambda: from_toml('[flyway.placeholders]\npw = "${env.PW}"\n'),
     "flyway.toml: flyway.placeholders.pw is '${env.PW}': ddl-cascade does not resolve"),
    (lambda: from_conf("flyway.placeholders.pw=${vault.secret}\n"),
     "flyway.conf: flyway.placeholders.pw is '${vault.secret}': ddl-cascade does not resolve"),
])
def test_resolver_references_are_refused(read_it, message):
    with pytest.raises(SettingsError) as refused:
        read_it()
    assert str(refused.value).startswith(message)


def test_resolver_references_in_keys_not_read_are_left_alone():
    # The fixture `platform` writes user = "${env.PGUSER}": a connection key, never read here.
    assert from_toml('[environments.dev]\nuser = "${env.PGUSER}"\n[flyway]\nenvironment = "dev"\n').environment == "dev"
