"""cascade.toml: its schema, its defaults, and the one clear error for each way it can be wrong.

Only `[source]` is required. Every table is checked for unknown keys, so a typo is an error that names the key and the
file instead of a setting silently ignored. Children inherit `[defaults]` key by key. A child `url` that is a relative
path is taken relative to the parent's root, as PRODUCT.md says.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ddl_cascade.errors import ConfigError

CONFIG_NAME = "cascade.toml"
MODES = ("squash", "merge")
SEVERITIES = ("error", "warning", "off")
DEFAULT_AUTHOR = "ddl-cascade <ddl-cascade@localhost>"
_AUTHOR_RE = re.compile(r"^(?P<name>[^<>]+?)\s*<(?P<email>[^<>]*)>$")


@dataclass(frozen=True)
class Source:
    path: str
    branch: str = "main"
    delivery_branch: str = "ro-shared-ddl"
    remote: str | None = None


@dataclass(frozen=True)
class Child:
    name: str
    url: str
    prefix: str = "read-only-flyway-files"
    branch: str = "main"
    mode: str = "squash"
    tags: tuple[str, ...] = ()
    local_paths: tuple[str, ...] = ()
    environment: str | None = None


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class FlywaySettings:
    sql_paths: tuple[str, ...] = ("sql",)
    callback_paths: tuple[str, ...] = ("callbacks",)
    placeholders: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"
    dialect: str = "postgres"


@dataclass(frozen=True)
class Environment:
    name: str
    url: str


@dataclass(frozen=True)
class Config:
    file: Path
    root: Path
    source: Source
    children: tuple[Child, ...] = ()
    author: Author = Author("ddl-cascade", "ddl-cascade@localhost")
    flyway: FlywaySettings = field(default_factory=FlywaySettings)
    rules: dict[str, str] = field(default_factory=dict)
    environments: dict[str, Environment] = field(default_factory=dict)

    def child(self, name: str) -> Child:
        for child in self.children:
            if child.name == name:
                return child
        raise ConfigError(f"{self.file}: no child named '{name}'.")

    def select(self, names: list[str] | tuple[str, ...] = (), tag: str | None = None) -> list[Child]:
        """The children named (all of them when none are), narrowed to those carrying `tag`."""
        chosen = [self.child(n) for n in names] if names else list(self.children)
        if tag is not None:
            chosen = [c for c in chosen if tag in c.tags]
        return chosen


# ---------------------------------------------------------------------------------------------------------------------
# Loading

_SOURCE_KEYS = {"path", "branch", "delivery_branch", "remote"}
_DEFAULT_KEYS = {"prefix", "branch", "mode", "local_paths"}
_CHILD_KEYS = {"name", "url", "tags", "environment"} | _DEFAULT_KEYS
_FLYWAY_KEYS = {"sql_paths", "callback_paths", "placeholders", "encoding", "dialect"}
_TOP_KEYS = {"source", "defaults", "children", "sync", "flyway", "validate", "environments"}


def find_config(start: Path | None = None) -> Path:
    """`cascade.toml` at the root of the git repository that holds `start` (default: the working directory)."""
    from ddl_cascade import git

    here = (start or Path.cwd()).resolve()
    root = git.toplevel(here)
    if root is None:
        raise ConfigError(f"no {CONFIG_NAME} found: {here} is not inside a git repository (use --config PATH).")
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(f"no {CONFIG_NAME} found at {path} (use --config PATH).")
    return path


def load(path: Path | str | None = None) -> Config:
    """Read and check a cascade.toml; `None` means the default location."""
    file = Path(path) if path is not None else find_config()
    if file.is_dir():
        raise ConfigError(f"config file {file} is a folder, not a file.")
    if not file.is_file():
        raise ConfigError(f"config file {file} does not exist.")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc}).") from None
    return parse(data, file.resolve())


def parse(data: dict[str, Any], file: Path) -> Config:
    """Build a Config from already-parsed TOML; errors name `file`."""
    chk = _Checker(file)
    chk.keys(data, _TOP_KEYS, "")

    source_data = chk.table(data, "source", required=True)
    chk.keys(source_data, _SOURCE_KEYS, "source")
    source = Source(
        path=chk.relpath(chk.string(source_data, "path", "source", required=True), "source.path"),
        branch=chk.string(source_data, "branch", "source") or "main",
        delivery_branch=chk.string(source_data, "delivery_branch", "source") or "ro-shared-ddl",
        remote=chk.string(source_data, "remote", "source"),
    )

    defaults_data = chk.table(data, "defaults")
    chk.keys(defaults_data, _DEFAULT_KEYS, "defaults")
    defaults = {
        "prefix": chk.relpath(chk.string(defaults_data, "prefix", "defaults") or Child.prefix, "defaults.prefix"),
        "branch": chk.string(defaults_data, "branch", "defaults") or Child.branch,
        "mode": chk.mode(defaults_data, "defaults") or Child.mode,
        "local_paths": chk.strings(defaults_data, "local_paths", "defaults") or (),
    }

    children_data = data.get("children", [])
    if not isinstance(children_data, list) or not all(isinstance(c, dict) for c in children_data):
        raise ConfigError(f"{file}: 'children' must be an array of tables ([[children]]).")
    children: list[Child] = []
    seen: set[str] = set()
    for i, raw in enumerate(children_data):
        where = f"children[{i}]"
        chk.keys(raw, _CHILD_KEYS, where)
        name = chk.string(raw, "name", where, required=True)
        where = f"children[{i}] ('{name}')"
        if name in seen:
            raise ConfigError(f"{file}: duplicate child name '{name}' at {where}.name.")
        seen.add(name)
        url = chk.string(raw, "url", where, required=True)
        prefix = raw.get("prefix")
        children.append(
            Child(
                name=name,
                url=resolve_url(url, file.parent),
                prefix=chk.relpath(chk.string(raw, "prefix", where), f"{where}.prefix") if prefix is not None
                else defaults["prefix"],
                branch=chk.string(raw, "branch", where) or defaults["branch"],
                mode=chk.mode(raw, where) or defaults["mode"],
                tags=chk.strings(raw, "tags", where) or (),
                local_paths=chk.strings(raw, "local_paths", where) or defaults["local_paths"],
                environment=chk.string(raw, "environment", where),
            )
        )

    sync_data = chk.table(data, "sync")
    chk.keys(sync_data, {"author"}, "sync")
    author = parse_author(chk.string(sync_data, "author", "sync") or DEFAULT_AUTHOR, file)

    flyway_data = chk.table(data, "flyway")
    chk.keys(flyway_data, _FLYWAY_KEYS, "flyway")
    placeholders = chk.table(flyway_data, "placeholders", where="flyway")
    for key, value in placeholders.items():
        if not isinstance(value, str):
            raise ConfigError(f"{file}: flyway.placeholders.{key} must be a string.")
    flyway = FlywaySettings(
        sql_paths=tuple(chk.relpath(p, "flyway.sql_paths") for p in chk.strings(flyway_data, "sql_paths", "flyway")
                        or FlywaySettings.sql_paths),
        callback_paths=tuple(chk.relpath(p, "flyway.callback_paths")
                             for p in chk.strings(flyway_data, "callback_paths", "flyway")
                             or FlywaySettings.callback_paths),
        placeholders=dict(placeholders),
        encoding=chk.string(flyway_data, "encoding", "flyway") or "utf-8",
        dialect=chk.string(flyway_data, "dialect", "flyway") or "postgres",
    )

    validate_data = chk.table(data, "validate")
    chk.keys(validate_data, {"rules"}, "validate")
    rules = chk.table(validate_data, "rules", where="validate")
    for rule, severity in rules.items():
        if severity not in SEVERITIES:
            raise ConfigError(
                f"{file}: validate.rules.\"{rule}\" must be one of {', '.join(SEVERITIES)}, not {severity!r}."
            )

    environments: dict[str, Environment] = {}
    for env_name, env_data in chk.table(data, "environments").items():
        where = f"environments.{env_name}"
        if not isinstance(env_data, dict):
            raise ConfigError(f"{file}: {where} must be a table.")
        chk.keys(env_data, {"url"}, where)
        environments[env_name] = Environment(env_name, chk.string(env_data, "url", where, required=True))
    for child in children:
        if child.environment is not None and child.environment not in environments:
            raise ConfigError(
                f"{file}: child '{child.name}' names environment '{child.environment}', "
                "which no [environments.*] table defines."
            )

    return Config(
        file=file,
        root=file.parent,
        source=source,
        children=tuple(children),
        author=author,
        flyway=flyway,
        rules=dict(rules),
        environments=environments,
    )


def parse_author(text: str, file: Path) -> Author:
    m = _AUTHOR_RE.match(text.strip())
    if not m:
        raise ConfigError(f"{file}: sync.author must look like \"Name <email>\", not {text!r}.")
    return Author(m["name"], m["email"])


def resolve_url(url: str, root: Path) -> str:
    """A relative local path becomes absolute against the parent's root; any other git URL is kept as written."""
    if "://" in url or os.path.isabs(url):
        return url
    colon, slash = url.find(":"), url.find("/")
    if colon > 0 and (slash < 0 or colon < slash):  # scp-like: host:path
        return url
    return str((root / url).resolve())


class _Checker:
    """Typed access to a TOML table that turns every mismatch into a ConfigError naming the file and key."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: {message}")

    def keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                dotted = f"{where}.{key}" if where else key
                raise self.fail(f"unknown key '{dotted}'.")

    def table(self, data: dict[str, Any], key: str, required: bool = False, where: str = "") -> dict[str, Any]:
        dotted = f"{where}.{key}" if where else key
        if key not in data:
            if required:
                raise self.fail(f"missing required table [{dotted}].")
            return {}
        value = data[key]
        if not isinstance(value, dict):
            raise self.fail(f"'{dotted}' must be a table.")
        return value

    def string(self, data: dict[str, Any], key: str, where: str, required: bool = False) -> str | None:
        if key not in data:
            if required:
                raise self.fail(f"missing required key '{where}.{key}'.")
            return None
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{where}.{key}' must be a non-empty string.")
        return value

    def strings(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
        if key not in data:
            return None
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"'{where}.{key}' must be an array of non-empty strings.")
        return tuple(value)

    def mode(self, data: dict[str, Any], where: str) -> str | None:
        mode = self.string(data, "mode", where)
        if mode is not None and mode not in MODES:
            raise self.fail(f"'{where}.mode' must be \"squash\" or \"merge\", not {mode!r}.")
        return mode

    def relpath(self, value: str | None, dotted: str) -> str:
        """A folder inside a repository: relative, no `..`, normalised to `a/b` form."""
        assert value is not None
        posix = PurePosixPath(value.replace("\\", "/"))
        if posix.is_absolute() or re.match(r"^[A-Za-z]:", value):
            raise self.fail(f"'{dotted}' must be a relative path inside the repository, not {value!r}.")
        if ".." in posix.parts:
            raise self.fail(f"'{dotted}' must not climb out of the repository with '..': {value!r}.")
        normal = "/".join(p for p in posix.parts if p != ".")
        if not normal:
            raise self.fail(f"'{dotted}' must name a folder, not {value!r}.")
        return normal
