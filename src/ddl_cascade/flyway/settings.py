"""The Flyway settings one run honours, read as Flyway reads them from `flyway.toml` or `flyway.conf`.

A child's own Flyway configuration (at its root) says where its migrations are and how its Flyway runs them; `db`
and `validate --children` must see exactly that. `Settings` holds every setting ddl-cascade honours, each with
Flyway's default, and `SETTINGS` names them as Flyway spells them (`outOfOrder`, `baselineOnMigrate`, …):

- `flyway.conf`: `flyway.<key>=<value>` lines; lists are comma-separated; placeholders are
  `flyway.placeholders.<name>=<value>`.
- `flyway.toml`: `[flyway]` keys; the active environment is `flyway.environment` (default `"default"`), whose
  `[environments.<name>]` table gives `schemas`, and whose `[environments.<name>.flyway]` table overrides `[flyway]`
  keys, as Flyway's TOML configuration does. The caller may ask for another environment (`db --env NAME` asks for
  NAME when the file has it).

Values that refer to Flyway's property resolvers (`${env.NAME}`, `${vault.…}`) are refused: Flyway's command line
resolves them from the machine it runs on, which `validate` and `db` cannot know.

Settings of cascade.toml's `[environments.NAME]` (`out_of_order`, `target`, …) are applied on top by the caller
(`Settings.replace`). Keys that are not settings of a run (url, user, password, …) are ignored here; a setting
with a value Flyway would refuse (`outOfOrder = "maybe"`) is a `SettingsError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any, Callable

from ddl_cascade.flyway.migrations import FlywayError, parse_properties

DEFAULT_TABLE = "flyway_schema_history"
DEFAULT_BASELINE_DESCRIPTION = "<< Flyway Baseline >>"


class SettingsError(FlywayError):
    """A Flyway configuration file holds a value Flyway would refuse."""


@dataclass(frozen=True)
class Settings:
    """A Flyway run's settings; each default is Flyway's own."""

    locations: tuple[str, ...] | None = None  # as written ("filesystem:sql"); None: not configured
    callback_locations: tuple[str, ...] | None = None
    sql_migration_prefix: str = "V"
    repeatable_sql_migration_prefix: str = "R"
    baseline_migration_prefix: str = "B"
    sql_migration_separator: str = "__"
    sql_migration_suffixes: tuple[str, ...] = (".sql",)
    placeholders: dict[str, str] = field(default_factory=dict)
    placeholder_replacement: bool = True
    encoding: str | None = None  # None: not configured (cascade.toml's [flyway] encoding, else UTF-8)
    validate_migration_naming: bool = False
    mixed: bool = False
    out_of_order: bool = False
    target: str = "latest"  # "latest", "current", "next" or a version
    baseline_on_migrate: bool = False
    baseline_version: str = "1"
    baseline_description: str = DEFAULT_BASELINE_DESCRIPTION
    table: str = DEFAULT_TABLE
    schemas: tuple[str, ...] = ()
    default_schema: str | None = None
    create_schemas: bool = True
    validate_on_migrate: bool = True
    ignore_migration_patterns: tuple[str, ...] = ("*:future",)
    clean_disabled: bool = True
    environment: str | None = None  # the flyway.toml environment that was read, if any

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    @property
    def history_schema(self) -> str | None:
        """The schema that holds the history table when the settings name one (`defaultSchema`, else the first of
        `schemas`); None: the connection's current schema."""
        return self.default_schema or (self.schemas[0] if self.schemas else None)


Convert = Callable[[Any, str], Any]


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and where.startswith("flyway.toml"):
        return value != 0  # Flyway's TOML reader takes an integer as a boolean, as Java does (0 is false)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise SettingsError(f"{where} must be true or false, not {_shown(value)}.")


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SettingsError(f"{where} must be a string, not {_shown(value)}.")
    return str(value).strip() if not isinstance(value, str) else value.strip()


def _list(value: Any, where: str) -> tuple[str, ...]:
    """A comma-separated string, as flyway.conf writes lists."""
    if isinstance(value, str):  # items are not trimmed: Flyway reads " filesystem:x" as a classpath location
        return tuple(v for v in value.split(",") if v)
    raise SettingsError(f"{where} must be a comma-separated list, not {_shown(value)}.")


def _array(value: Any, where: str) -> tuple[str, ...]:
    """A TOML array of strings; Flyway's TOML reader refuses a comma-separated string."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v)
    raise SettingsError(f"{where} must be an array of strings, not {_shown(value)}.")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, (str, int, float)) else f"a {type(value).__name__}"


# Flyway's name of each setting -> (Settings field, conversion); lists are converted per file form.
SETTINGS: dict[str, tuple[str, Convert]] = {
    "locations": ("locations", _list),
    "callbackLocations": ("callback_locations", _list),
    "sqlMigrationPrefix": ("sql_migration_prefix", _text),
    "repeatableSqlMigrationPrefix": ("repeatable_sql_migration_prefix", _text),
    "baselineMigrationPrefix": ("baseline_migration_prefix", _text),
    "sqlMigrationSeparator": ("sql_migration_separator", _text),
    "sqlMigrationSuffixes": ("sql_migration_suffixes", _list),
    "placeholderReplacement": ("placeholder_replacement", _boolean),
    "encoding": ("encoding", _text),
    "validateMigrationNaming": ("validate_migration_naming", _boolean),
    "mixed": ("mixed", _boolean),
    "outOfOrder": ("out_of_order", _boolean),
    "target": ("target", _text),
    "baselineOnMigrate": ("baseline_on_migrate", _boolean),
    "baselineVersion": ("baseline_version", _text),
    "baselineDescription": ("baseline_description", _text),
    "table": ("table", _text),
    "schemas": ("schemas", _list),
    "defaultSchema": ("default_schema", _text),
    "createSchemas": ("create_schemas", _boolean),
    "validateOnMigrate": ("validate_on_migrate", _boolean),
    "ignoreMigrationPatterns": ("ignore_migration_patterns", _list),
    "cleanDisabled": ("clean_disabled", _boolean),
}
# Placeholders other than `${name}` are settings Flyway honours that ddl-cascade does not replay: refused, never
# silently read differently.
UNSUPPORTED = {"placeholderPrefix": "${", "placeholderSuffix": "}", "placeholderSeparator": ":"}
# Settings Flyway keeps in a configuration extension rather than its model: its TOML reader matches their names
# ignoring case (and so do we).
EXTENSION_KEYS = {"baselinemigrationprefix": "baselineMigrationPrefix"}


def _resolved(value: Any, where: str) -> None:
    """Refuse `${env.NAME}` (and Flyway's other property resolvers, `${vault.…}`, `${localSecret.…}`): Flyway's command
    line replaces them from the machine it runs on, which ddl-cascade cannot know; read literally, they would
    silently name another folder or run another value."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and _RESOLVER.search(item):
            raise SettingsError(f"{where} is {item!r}: ddl-cascade does not resolve Flyway's ${{env.…}} or other "
                                "resolver references; write the value itself.")


_RESOLVER = re.compile(r"\$\{[A-Za-z]+\.[^}]*\}")


def _apply(values: dict[str, Any], raw: dict[str, Any], where: str, *, toml: bool = False) -> None:
    for key, value in raw.items():
        if key in SETTINGS or key.lower() in EXTENSION_KEYS or key == "placeholders":
            _resolved(value, f"{where}{key}")
        if toml and key not in SETTINGS:
            key = EXTENSION_KEYS.get(key.lower(), key)
        if key in UNSUPPORTED and _text(value, f"{where}{key}") != UNSUPPORTED[key]:
            raise SettingsError(f"{where}{key} is {_shown(value)}; ddl-cascade replays only Flyway's default "
                                f"placeholder syntax ({key} = {UNSUPPORTED[key]!r}).")
        if key in SETTINGS:
            name, convert = SETTINGS[key]
            if toml and convert is _list:
                convert = _array
            values[name] = convert(value, f"{where}{key}")


def from_conf(text: str, file: str = "flyway.conf") -> Settings:
    """The settings of a `flyway.conf` (Java properties)."""
    values: dict[str, Any] = {}
    placeholders: dict[str, str] = {}
    raw: dict[str, Any] = {}
    for key, value in parse_properties(text):
        if not key.startswith("flyway."):
            continue
        key = key[len("flyway."):]
        if key.startswith("placeholders."):
            _resolved(value, f"{file}: flyway.{key}")
            placeholders[key[len("placeholders."):]] = value
        else:
            raw[key] = value
    _apply(values, raw, f"{file}: flyway.")
    return Settings(**values, placeholders=placeholders)


def from_toml(text: str, file: str = "flyway.toml", environment: str | None = None) -> Settings:
    """The settings of a `flyway.toml` for its active environment: `environment` when the file defines it, else
    `flyway.environment`, else "default".

    As Flyway 13 reads it: `[flyway]` keys, then the active environment's `[environments.<name>.flyway]` keys over
    them one by one (its `placeholders` table replaces `[flyway.placeholders]` whole); `schemas` is read from `[environments.<name>]` only (Flyway
    ignores it in `[flyway]`). A `flyway.environment` that names no `[environments.<name>]` table is refused, as
    Flyway refuses it ("default" needs none)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{file} is not valid TOML: {exc}.") from None
    top = _table(data.get("flyway", {}), f"{file}: [flyway]")
    environments = _table(data.get("environments", {}), f"{file}: [environments]")
    if environment is None or environment not in environments:
        environment = _text(top.get("environment", "default"), f"{file}: flyway.environment")
        if environment not in environments and environment != "default":
            like = [name for name in environments if name.lower() == environment.lower()]
            raise SettingsError(f"{file}: flyway.environment is '{environment}', but there is no "
                                f"[environments.{environment}] table"
                                + (f" (environment names are case-sensitive: did you mean '{like[0]}'?)." if like
                                   else "."))
    values: dict[str, Any] = {}
    _apply(values, {k: v for k, v in top.items() if k != "schemas"}, f"{file}: flyway.", toml=True)
    for name, table in environments.items():  # Flyway reads every environment, so a bad value anywhere is refused
        env = _table(table, f"{file}: [environments.{name}]")
        overrides = _table(env.get("flyway", {}), f"{file}: [environments.{name}.flyway]")
        chosen = values if name == environment else {}
        if "schemas" in env:
            chosen["schemas"] = _array(env["schemas"], f"{file}: environments.{name}.schemas")
        _apply(chosen, {k: v for k, v in overrides.items() if k != "schemas"}, f"{file}: environments.{name}.flyway.",
               toml=True)
    env = environments.get(environment, {})
    overrides = env.get("flyway", {})
    # The environment's placeholders replace [flyway.placeholders] as a whole, as every other key does (Flyway 13).
    where, table = ((f"{file}: [environments.{environment}.flyway.placeholders]", overrides["placeholders"])
                    if "placeholders" in overrides else (f"{file}: [flyway.placeholders]", top.get("placeholders", {})))
    placeholders = {str(k): _placeholder(v) for k, v in _table(table, where).items()}
    for name, value in placeholders.items():
        _resolved(value, f"{where.removesuffix(']').replace('[', '')}.{name}")
    return Settings(**values, placeholders=placeholders, environment=environment)


def _placeholder(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SettingsError(f"{where} must be a table.")
    return value


def read(files: dict[str, str | None], environment: str | None = None) -> Settings:
    """The settings of the Flyway configuration among `files` (name -> text; flyway.toml wins over flyway.conf, as
    Flyway prefers it); Flyway's defaults when there is neither."""
    if files.get("flyway.toml") is not None:
        return from_toml(files["flyway.toml"] or "", "flyway.toml", environment)
    if files.get("flyway.conf") is not None:
        return from_conf(files["flyway.conf"] or "", "flyway.conf")
    return Settings()
