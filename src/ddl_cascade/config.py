"""cascade.toml: its schema, its defaults, and the one clear error for each way it can be wrong.

The schema is declared once, in the dataclasses below, and everything else is read from that declaration: the
parser, its error messages, and the reference page docs/config.md (`reference_markdown()`, written by
`scripts/config-docs`). pre-commit's clientlib is the model, where `cfgv.Optional('files', check_string_regex, '')`
gives a key, its check and its default on one line. Here a key is one dataclass field:

    branch: str = key(STRING, "main", "the child branch that is updated", inherit=True)

- `key(TYPE, DEFAULT, DOC)` declares a key named after its field. TYPE checks the TOML value and converts it (a
  `PATH` comes back normalised, a `URL` resolved against the parent's root, an `AUTHOR` as an `Author`); the values
  a type allows, if it has a fixed set (`one_of(...)`), are listed by the docs and by the error. DEFAULT is written
  as it would be in TOML (`REQUIRED` when the key must be given, `None` when unset means "none"), and the field's
  Python default is that value converted. `inherit=True` marks a key of an array's entries that its table of
  defaults may set for every entry (a `[[children]]` key that `[defaults]` may set for every child).
- `table(CLASS, DOC)` declares a table as a field of `Config`, in the order the docs list them: `[name]`, or
  `[[name]]` with `array=True`, or `[name.NAME]` with `named=True` (NAME fills the dataclass's `name` field).
  `required=True` makes the table itself mandatory. `defaults="defaults"` on `[[children]]` accepts a `[defaults]`
  table, which is not declared apart: its keys are the `inherit=True` keys of `Child`, and each child takes them key
  by key unless it sets them itself.

Every table is checked for unknown keys, so a typo is an error that names the key and the file instead of a setting
silently ignored. Checks that span tables (unique child names, a child's environment that exists) follow the
declarative parse in `_check_references`.

Adding a key, e.g. a per-child `create_branch`, is one line in `Child` (and, for a type not below, one line for
the type, e.g. `BOOL = Type("boolean", _instance(bool, "true or false"))`):

    create_branch: bool = key(BOOL, False, "create the child's branch when it does not exist yet", inherit=True)

Adding a table, e.g. `[forge]`, is a frozen dataclass whose fields are `key(...)`s, and one field of `Config`:

    forge: Forge = table(Forge, "the forge that pull-request delivery talks to")

Then run `scripts/config-docs`: tests/test_config_docs.py fails until docs/config.md shows the new key.
"""

from __future__ import annotations

import copy
import json
import os
import re
import textwrap
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from ddl_cascade.errors import ConfigError

CONFIG_NAME = "cascade.toml"
MODES = ("squash", "merge")
SEVERITIES = ("error", "warning", "off")
DEFAULT_AUTHOR = "ddl-cascade <ddl-cascade@localhost>"
# A commit's identity: a name, then an email in angle brackets; no control character (a newline would end the
# author line of the commit object, and what followed would become a header of its own).
_AUTHOR_RE = re.compile(r"(?P<name>[^<>\x00-\x1f\x7f]*[^<>\s\x00-\x1f\x7f])\s*<(?P<email>[^<>\s\x00-\x1f\x7f]+)>")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


# ---------------------------------------------------------------------------------------------------------------------
# Values that are more than a string


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


def parse_author(text: str, file: Path, dotted: str = "sync.author") -> Author:
    m = _AUTHOR_RE.fullmatch(text.strip(" \t"))
    if not m:
        raise ConfigError(f"{file}: {dotted} must look like \"Name <email>\" on one line, not {text!r}.")
    return Author(m["name"], m["email"])


def resolve_url(url: str, root: Path) -> str:
    """A relative local path becomes absolute against the parent's root; any other git URL is kept as written."""
    if "://" in url or os.path.isabs(url):
        return url
    colon, slash = url.find(":"), url.find("/")
    if colon > 0 and (slash < 0 or colon < slash):  # scp-like: host:path
        return url
    return str((root / url).resolve())


# ---------------------------------------------------------------------------------------------------------------------
# The declarative layer: where a value sits, the types a key may have, and `key` / `table`


@dataclass(frozen=True)
class _At:
    """Where a value sits: the file and the value's dotted key, which every error names."""

    file: Path
    dotted: str = ""

    def key(self, name: str) -> _At:
        quoted = name if _BARE_KEY.match(name) else json.dumps(name)
        return _At(self.file, f"{self.dotted}.{quoted}" if self.dotted else quoted)

    def index(self, i: int) -> _At:
        return _At(self.file, f"{self.dotted}[{i}]")

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: {message}")


@dataclass(frozen=True)
class Type:
    """How a TOML value is checked and what it becomes. `name` and `allowed` are what docs/config.md shows."""

    name: str
    convert: Callable[[Any, _At], Any]  # returns the Python value, or raises `at.fail(...)` naming `at.dotted`
    allowed: tuple[str, ...] = ()
    table: type | None = None  # a sub-table's dataclass (`subtable`): its keys are documented as a table of their own


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of a key that must be given


def _instance(kind: type, what: str) -> Callable[[Any, _At], Any]:
    """A check that the value is a `kind` (a bool is no integer here), for one-line types."""

    def convert(value: Any, at: _At) -> Any:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise at.fail(f"'{at.dotted}' must be {what}, not {value!r}.")
        return value

    return convert


def _string(value: Any, at: _At) -> str:
    if not isinstance(value, str) or not value.strip():
        raise at.fail(f"'{at.dotted}' must be a non-empty string.")
    return value


def _path(value: Any, at: _At) -> str:
    """A folder inside a repository: relative, no `..`, normalised to `a/b` form."""
    value = _string(value, at)
    posix = PurePosixPath(value.replace("\\", "/"))
    if posix.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise at.fail(f"'{at.dotted}' must be a relative path inside the repository, not {value!r}.")
    if ".." in posix.parts:
        raise at.fail(f"'{at.dotted}' must not climb out of the repository with '..': {value!r}.")
    normal = "/".join(p for p in posix.parts if p != ".")
    if not normal:
        raise at.fail(f"'{at.dotted}' must name a folder, not {value!r}.")
    return normal


def _is_dotgit(component: str) -> bool:
    """Whether a path component is `.git` as git refuses it in a tree: any case, and with the trailing dots or spaces
    and the 8.3 short name (`git~1`) that NTFS and HFS+ resolve to `.git` (git's `is_ntfs_dotgit`)."""
    lower = component.lower()
    return lower.rstrip(". ") == ".git" or lower == "git~1"


def _folder(value: Any, at: _At) -> str:
    """A `PATH` that is not, and is not inside, a `.git` folder: git refuses such paths in a tree, and writing there
    would write into a repository's own metadata."""
    normal = _path(value, at)
    if any(_is_dotgit(part) for part in normal.split("/")):
        raise at.fail(f"'{at.dotted}' must not be or contain a .git folder: {value!r}.")
    return normal


def branch_problem(name: str) -> str | None:
    """Why git would refuse `name` as a branch (`git check-ref-format --branch`), or None when it is valid.

    git's rules (refs.c `check_refname_format` on `refs/heads/<name>`, and `check_branch_ref`): no leading `-`, not
    `HEAD`; no component that is empty (`a//b`, a trailing `/`), starts with `.` or ends with `.lock`; no `..`, no
    `@{`, no trailing `.`; no control character, space, `~ ^ : ? * [ \\` or DEL. Two rules are ours, stricter than
    git: `refs/...` names a ref, not a branch (`refs/heads/x` would become `refs/heads/refs/heads/x`), and a leading
    `+` turns the name into a forced refspec wherever it is pasted into a `git push` or `git fetch`.
    """
    if name.startswith(("-", "+")):
        return f"it starts with '{name[0]}'"
    if name == "HEAD":
        return "HEAD is not a branch"
    if name.startswith("refs/"):
        return "a branch is named without refs/ (e.g. 'main', not 'refs/heads/main')"
    for char in name:
        if char < " " or char == "\x7f":
            return f"it contains the control character {char!r}"
        if char in " ~^:?*[\\":
            return f"it contains {char!r}"
    if ".." in name:
        return "it contains '..'"
    if "@{" in name:
        return "it contains '@{'"
    if name.endswith("."):
        return "it ends with '.'"
    for part in name.split("/"):
        if not part:
            return "it has an empty path component (a leading, trailing or double '/')"
        if part.startswith("."):
            return f"its component {part!r} starts with '.'"
        if part.endswith(".lock"):
            return f"its component {part!r} ends with '.lock'"
    return None


def _branch(value: Any, at: _At) -> str:
    value = _string(value, at)
    problem = branch_problem(value)
    if problem is not None:
        raise at.fail(f"'{at.dotted}' is not a branch name git accepts ({problem}): {value!r}.")
    return value


def _url(value: Any, at: _At) -> str:
    return resolve_url(_string(value, at), at.file.parent)


def _author(value: Any, at: _At) -> Author:
    return parse_author(_string(value, at), at.file, at.dotted)


STRING = Type("string", _string)
TEXT = Type("string", _instance(str, "a string"))  # may be empty
PATH = Type("relative path", _path)
FOLDER = Type("relative path, no .git", _folder)
BRANCH = Type("branch name", _branch)
BOOL = Type("boolean", _instance(bool, "true or false"))
URL = Type("git URL", _url)
AUTHOR = Type("string `Name <email>`", _author)


def _seconds(value: Any, at: _At) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise at.fail(f"'{at.dotted}' must be a positive number of seconds, not {value!r}.")
    return float(value)


SECONDS = Type("number of seconds", _seconds)


def _alternatives(values: tuple[str, ...]) -> str:
    quoted = [json.dumps(v) for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def one_of(*values: str) -> Type:
    """A string from a fixed set; the docs and the error list the set."""

    def convert(value: Any, at: _At) -> str:
        if value not in values:
            raise at.fail(f"'{at.dotted}' must be {_alternatives(values)}, not {value!r}.")
        return value

    return Type("string", convert, values)


def array_of(item: Type) -> Type:
    """A TOML array whose every element is an `item`; it becomes a tuple."""

    def convert(value: Any, at: _At) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise at.fail(f"'{at.dotted}' must be an array of {item.name}s.")
        return tuple(item.convert(v, at.index(i)) for i, v in enumerate(value))

    return Type(f"array of {item.name}s", convert, item.allowed)


def subtable(cls: type) -> Type:
    """A TOML table whose keys are `cls`'s `key(...)` fields (e.g. `[children.pull_request]`); it becomes a `cls`.
    In an array's table of defaults, a sub-table is inherited key by key (see `parse`)."""

    def convert(value: Any, at: _At) -> Any:
        if isinstance(value, cls):
            return value
        if value == {}:  # also the declared default, converted while the dataclasses are still being defined
            return cls()
        if not isinstance(value, dict):
            raise at.fail(f"'{at.dotted}' must be a table.")
        return cls(**_parse_keys(keys(cls), value, at))

    return Type("table", convert, table=cls)


def _positive(value: Any, at: _At) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise at.fail(f"'{at.dotted}' must be a positive number, not {value!r}.")
    return float(value)


POSITIVE = Type("positive number", _positive)


def table_of(item: Type) -> Type:
    """A TOML table of free keys whose every value is an `item`; it becomes a dict."""

    def convert(value: Any, at: _At) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise at.fail(f"'{at.dotted}' must be a table.")
        return {k: item.convert(v, at.key(k)) for k, v in value.items()}

    return Type(f"table of {item.name}s", convert, item.allowed)


@dataclass(frozen=True)
class Key:
    """One cascade.toml key, as `key()` declares it; its name is its field's name."""

    type: Type
    default: Any  # as written in TOML; REQUIRED, or None for unset
    doc: str
    inherit: bool = False

    def default_value(self) -> Any:
        """The default as the Python value a parsed Config holds (None when unset)."""
        if self.default is None or self.default is REQUIRED:
            return None
        return self.type.convert(self.default, _At(Path(CONFIG_NAME), "default"))


@dataclass(frozen=True)
class Table:
    """One cascade.toml table, as `table()` declares it; its name is its `Config` field's name."""

    cls: type
    doc: str
    required: bool = False
    array: bool = False
    named: bool = False
    defaults: str | None = None  # an array's table of defaults: its `inherit=True` keys, which every entry takes


_KEY = "ddl_cascade.config.key"
_TABLE = "ddl_cascade.config.table"


def key(kind: Type, default: Any, doc: str, *, inherit: bool = False) -> Any:
    """A dataclass field that is a cascade.toml key (see the module docstring)."""
    spec = Key(kind, default, doc, inherit)
    meta = {_KEY: spec}
    if default is REQUIRED:
        return field(metadata=meta)
    value = spec.default_value()
    if isinstance(value, (dict, list)):
        return field(default_factory=lambda: copy.deepcopy(value), metadata=meta)
    return field(default=value, metadata=meta)


def table(cls: type, doc: str, *, required: bool = False, array: bool = False, named: bool = False,
          defaults: str | None = None) -> Any:
    """A `Config` field that is a cascade.toml table of `cls` (see the module docstring)."""
    meta = {_TABLE: Table(cls, doc, required, array, named, defaults)}
    if required:
        return field(metadata=meta)
    empty: Callable[[], Any] = tuple if array else dict if named else cls
    return field(default_factory=empty, metadata=meta)


def keys(cls: type) -> list[tuple[str, Key]]:
    """The cascade.toml keys of a table's dataclass, in declaration order."""
    return [(f.name, f.metadata[_KEY]) for f in fields(cls) if _KEY in f.metadata]


def inherited_keys(cls: type) -> list[tuple[str, Key]]:
    """The keys of an array's table of defaults: those its entries may inherit."""
    return [(name, spec) for name, spec in keys(cls) if spec.inherit]


def tables() -> list[tuple[str, Table]]:
    """The cascade.toml tables, in the order `Config` declares them."""
    return [(f.name, f.metadata[_TABLE]) for f in fields(Config) if _TABLE in f.metadata]


# ---------------------------------------------------------------------------------------------------------------------
# The schema


@dataclass(frozen=True)
class Source:
    path: str = key(FOLDER, REQUIRED, "the folder that is the source of truth")
    branch: str = key(BRANCH, "main", "the parent branch that `publish` splits")
    delivery_branch: str = key(BRANCH, "ro-shared-ddl",
                               "the branch that receives the split history; never `branch` itself")
    remote: str | None = key(STRING, None, "where `publish --push` sends the delivery branch")


DELIVERIES = ("push", "pull-request")
AUTO_MERGE = ("off", "merge", "squash", "rebase")
FORGES = ("github", "gitlab", "gitea")


@dataclass(frozen=True)
class PullRequestSettings:
    branch: str = key(STRING, "ddl-cascade/{delivery_branch}",
                      "the pull request's branch in the child; `{delivery_branch}` is `source.delivery_branch`")
    labels: tuple[str, ...] = key(array_of(STRING), ["shared-ddl"], "labels put on the pull request")
    reviewers: tuple[str, ...] = key(array_of(STRING), [], "user logins asked to review")
    team_reviewers: tuple[str, ...] = key(array_of(STRING), [],
                                          "team slugs (GitHub) or team names (Gitea) asked to review")
    draft: bool = key(BOOL, False, "open the pull request as a draft")
    auto_merge: str = key(one_of(*AUTO_MERGE), "off",
                          "merge by itself once the child's checks and reviews allow it, with this method")

    def branch_name(self, delivery_branch: str) -> str:
        return self.branch.replace("{delivery_branch}", delivery_branch)


@dataclass(frozen=True)
class Child:
    name: str = key(STRING, REQUIRED, "the child's name, unique; commands select children by it")
    url: str = key(URL, REQUIRED, "any git URL; a relative path is relative to the parent's root")
    prefix: str = key(FOLDER, "read-only-flyway-files", "the read-only folder in the child", inherit=True)
    branch: str = key(BRANCH, "main", "the child branch that is updated", inherit=True)
    create_branch: bool = key(BOOL, False, "create `branch` in the child when it does not exist yet; otherwise a "
                              "missing branch is an error for that child", inherit=True)
    mode: str = key(one_of(*MODES), "squash",
                    "`squash`: like `git subtree pull --squash`; `merge`: like `git subtree pull`", inherit=True)
    tags: tuple[str, ...] = key(array_of(STRING), [], "labels that `--tag T` selects children by")
    local_paths: tuple[str, ...] = key(array_of(STRING), [],
                                       "the child's own migration folders, checked for collisions", inherit=True)
    environment: str | None = key(STRING, None, "the `[environments.NAME]` whose database the child migrates")
    delivery: str = key(one_of(*DELIVERIES), "push", "how `sync` delivers: a push to `branch`, or a pull request "
                        "into it (for a protected branch; needs `[forge]`)", inherit=True)
    pull_request: PullRequestSettings = key(subtable(PullRequestSettings), {},
                                            "the pull request's settings, taken key by key "
                                            "over `[defaults.pull_request]`", inherit=True)
    channel: str | None = key(STRING, None, "the `[channels]` channel whose commit the child follows (default: the "
                              "first channel)", inherit=True)
    pin: str | None = key(STRING, None, "hold the child at this delivered commit (a commit id, or a tag on the "
                          "delivery branch) whatever its channel's commit")


@dataclass(frozen=True)
class Channels:
    order: tuple[str, ...] = key(array_of(STRING), [], "the channels, in promotion order, e.g. `[\"dev\", "
                                 "\"staging\", \"prod\"]`; the first receives every publish, each is the parent "
                                 "branch `<delivery_branch>-<channel>` (docs/channels.md)")


@dataclass(frozen=True)
class ForgeSettings:
    kind: str | None = key(one_of(*FORGES), None, "the forge's API; default: from each child URL's host "
                           "(github.com, gitlab.*, else gitea)")
    api_url: str | None = key(STRING, None, "the API's root, e.g. \"https://HOST/api/v3\" for GitHub Enterprise; "
                              "default: the public service's, or https://HOST/api/v1 (Gitea), /api/v4 (GitLab)")
    token_env: str | None = key(STRING, None, "the environment variable holding the token (default: GITHUB_TOKEN, "
                                "GITLAB_TOKEN or GITEA_TOKEN by kind); the token is never printed or stored")
    graphql: bool = key(BOOL, True, "GitHub: use GraphQL for auto-merge and batched reads; false: REST only")
    app_id: str | None = key(STRING, None, "GitHub App id: ddl-cascade mints (and renews) installation tokens")
    private_key_env: str | None = key(STRING, None, "the environment variable holding the App's private key (PEM)")
    writes_per_second: float = key(POSITIVE, 1, "the run's budget of API writes, for every child together")


@dataclass(frozen=True)
class SyncSettings:
    author: Author = key(AUTHOR, DEFAULT_AUTHOR, "author and committer of the commits `sync` makes in children")
    timeout: float = key(SECONDS, 120, "deadline of each fetch, `ls-remote` and push (children, `publish --push`); "
                                       "a child that does not answer in time is `unreachable` or `failed`")


@dataclass(frozen=True)
class FlywaySettings:
    sql_paths: tuple[str, ...] = key(array_of(PATH), ["sql"], "migration folders, relative to `source.path`")
    callback_paths: tuple[str, ...] = key(array_of(PATH), ["callbacks"],
                                          "Flyway callback folders, relative to `source.path`")
    placeholders: dict[str, str] = key(table_of(TEXT), {}, "Flyway placeholders: `${name}` and its value")
    encoding: str = key(STRING, "utf-8", "the encoding of the SQL files")
    dialect: str = key(STRING, "postgres", "the SQL dialect; another sqlglot dialect turns the PostgreSQL lint off")


@dataclass(frozen=True)
class ValidateSettings:
    rules: dict[str, str] = key(table_of(one_of(*SEVERITIES)), {},
                                "severity per rule id, e.g. `\"lint/drop-table\" = \"error\"`")


def _install(value: Any, at: _At) -> str:
    value = _string(value, at)
    if "${{" in value:
        raise at.fail(f"'{at.dotted}' must be a shell command without GitHub expressions (${{{{ … }}}}), "
                      f"not {value!r}.")
    return value


INSTALL = Type("shell command", _install)

MAX_SHARDS = 256  # GitHub Actions runs at most 256 jobs of one matrix


def _shards(value: Any, at: _At) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SHARDS:
        raise at.fail(f"'{at.dotted}' must be a whole number from 1 to {MAX_SHARDS} (GitHub Actions runs at most "
                      f"{MAX_SHARDS} jobs of a matrix), not {value!r}.")
    return value


SHARDS = Type(f"whole number, 1 to {MAX_SHARDS}", _shards)


@dataclass(frozen=True)
class CiSettings:
    install: str | None = key(INSTALL, None, "the command CI jobs install ddl-cascade with (default: `python -m pip "
                              "install \"ddl-cascade==<the version that wrote the workflow>\"`), e.g. a pip install "
                              "of a git URL at a commit, or from an internal index")
    shards: int = key(SHARDS, 1, "how many CI jobs the deliver and drift runs are split into: more than 1 writes a "
                      "publish job (deliver), a matrix of that many jobs each running `--shard K/N`, and a job that "
                      "joins their documents with `report merge` (docs/ci.md)")


@dataclass(frozen=True)
class Environment:
    name: str  # the NAME of [environments.NAME]
    url: str = key(STRING, REQUIRED, "the database's URL; `${VAR}` is replaced from the environment")
    # Flyway settings of this environment's runs. Unset keys come from the child's own flyway.toml / flyway.conf
    # (with `--child`), else Flyway's default; set ones win over both.
    out_of_order: bool | None = key(BOOL, None, "Flyway's `outOfOrder`: apply a new version below the highest "
                                    "applied one instead of ignoring it (default false)")
    target: str | None = key(STRING, None, "Flyway's `target`: the last version to apply, or \"latest\", "
                             "\"current\", \"next\" (default \"latest\")")
    baseline_on_migrate: bool | None = key(BOOL, None, "Flyway's `baselineOnMigrate`: a non-empty schema without a "
                                           "history table is baselined at `baseline_version` first (default false)")
    baseline_version: str | None = key(STRING, None, "Flyway's `baselineVersion` (default \"1\")")
    baseline_description: str | None = key(STRING, None, "Flyway's `baselineDescription` "
                                           "(default \"<< Flyway Baseline >>\")")
    table: str | None = key(STRING, None, "Flyway's `table`: the history table (default "
                            "\"flyway_schema_history\")")
    schemas: tuple[str, ...] | None = key(array_of(STRING), None, "Flyway's `schemas`: created when missing; the "
                                          "first holds the history table")
    default_schema: str | None = key(STRING, None, "Flyway's `defaultSchema`: holds the history table and leads the "
                                     "search_path while migrating (default: the first of `schemas`)")
    create_schemas: bool | None = key(BOOL, None, "Flyway's `createSchemas`: create the missing `schemas` (and "
                                      "record it in the history table) (default true)")
    validate_on_migrate: bool | None = key(BOOL, None, "Flyway's `validateOnMigrate` (default true)")
    ignore_migration_patterns: tuple[str, ...] | None = key(
        array_of(STRING), None, "Flyway's `ignoreMigrationPatterns`, e.g. `[\"*:missing\"]` (default "
        "`[\"*:future\"]`)")
    clean_disabled: bool | None = key(BOOL, None, "Flyway's `cleanDisabled`: `db clean` refuses unless false "
                                      "(default true)")

    def flyway_settings(self) -> dict[str, Any]:
        """The Flyway settings this environment sets, by `flyway.Settings` field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("name", "url") and getattr(self, f.name) is not None}


@dataclass(frozen=True)
class Config:
    file: Path
    root: Path
    source: Source = table(Source, "Where the source of truth lives and where its split history goes.", required=True)
    children: tuple[Child, ...] = table(Child, "One entry per child repository.", array=True, defaults="defaults")
    channels: Channels = table(Channels, "The channels (dev → staging → prod) the delivered commits travel through, "
                               "each moved by `promote` (docs/channels.md).")
    sync: SyncSettings = table(SyncSettings, "How `sync` writes to children.")
    forge: ForgeSettings = table(ForgeSettings, "The forge that pull-request delivery talks to.")
    flyway: FlywaySettings = table(FlywaySettings, "How Flyway reads the source folder.")
    validate: ValidateSettings = table(ValidateSettings, "What `validate` reports.")
    environments: dict[str, Environment] = table(Environment, "One table per database.", named=True)
    ci: CiSettings = table(CiSettings, "How the files `ci init` writes run ddl-cascade (docs/ci.md).")

    @property
    def author(self) -> Author:
        return self.sync.author

    @property
    def rules(self) -> dict[str, str]:
        return self.validate.rules

    def child(self, name: str) -> Child:
        for child in self.children:
            if child.name == name:
                return child
        raise ConfigError(f"{self.file}: no child named '{name}'.")

    def select(self, names: list[str] | tuple[str, ...] = (), tag: str | None = None) -> list[Child]:
        """The children named (all of them when none are), narrowed to those carrying `tag`."""
        if names:  # one dict, not a scan of every child per name: a shard names hundreds of 10,000 children
            by_name = {c.name: c for c in reversed(self.children)}  # reversed: the first of a name wins, as child()
            chosen = [by_name[n] if n in by_name else self.child(n) for n in names]
        else:
            chosen = list(self.children)
        if tag is not None:
            chosen = [c for c in chosen if tag in c.tags]
        return chosen


# ---------------------------------------------------------------------------------------------------------------------
# Loading


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
    """Build a Config from already-parsed TOML, as the declaration says; errors name `file` and the dotted key."""
    top = _At(file)
    declared = tables()
    _check_keys(data, [n for name, spec in declared for n in (name, spec.defaults) if n], top)
    values: dict[str, Any] = {}
    defaults: dict[str, dict[str, Any]] = {}  # an array's name -> the values its table of defaults gives
    for name, spec in declared:
        at = top.key(name)
        if spec.array:
            inherited: dict[str, Any] = {}
            if spec.defaults:
                raw_defaults = _table_data(data, spec.defaults, top, required=False)
                inherited = _parse_keys(inherited_keys(spec.cls), raw_defaults, top.key(spec.defaults))
                defaults[name] = inherited
                subtables = {k for k, key_spec in inherited_keys(spec.cls) if key_spec.type.table is not None}
            else:
                raw_defaults, subtables = {}, set()
            raw = data.get(name, [])
            if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
                raise at.fail(f"'{at.dotted}' must be an array of tables ([[{at.dotted}]]).")

            def merged(item: dict[str, Any]) -> dict[str, Any]:
                # A sub-table an entry sets is merged key by key over the one of the defaults.
                return {**item, **{k: {**raw_defaults[k], **item[k]} for k in subtables
                                   if isinstance(raw_defaults.get(k), dict) and isinstance(item.get(k), dict)}}

            values[name] = tuple(
                spec.cls(**{**inherited, **_parse_keys(keys(spec.cls), merged(item), at.index(i), label=True)})
                for i, item in enumerate(raw)
            )
        elif spec.named:
            entries = {}
            for entry, raw in _table_data(data, name, top, required=spec.required).items():
                if not isinstance(raw, dict):
                    raise at.fail(f"'{at.key(entry).dotted}' must be a table.")
                entries[entry] = spec.cls(name=entry, **_parse_keys(keys(spec.cls), raw, at.key(entry)))
            values[name] = entries
        elif name in data or spec.required:
            values[name] = spec.cls(**_parse_keys(keys(spec.cls), _table_data(data, name, top, spec.required), at))
    config = Config(file=file, root=file.parent, **values)
    _check_references(config, defaults.get("children", {}))
    return config


def _table_data(data: dict[str, Any], name: str, top: _At, required: bool) -> dict[str, Any]:
    at = top.key(name)
    if name not in data:
        if required:
            raise at.fail(f"missing required table [{at.dotted}].")
        return {}
    value = data[name]
    if not isinstance(value, dict):
        raise at.fail(f"'{at.dotted}' must be a table.")
    return value


def _parse_keys(declared: list[tuple[str, Key]], raw: dict[str, Any], at: _At, label: bool = False) -> dict[str, Any]:
    """The converted values of the keys `raw` gives: an unknown key or a missing required one is an error.

    With `label`, an array entry's `name` (declared first) labels the entry in later errors: `children[0] ('a')`.
    """
    _check_keys(raw, [name for name, _ in declared], at)
    values = {}
    for name, spec in declared:
        if name in raw:
            values[name] = spec.type.convert(raw[name], at.key(name))
        elif spec.default is REQUIRED:
            raise at.fail(f"missing required key '{at.key(name).dotted}'.")
        if label and name == "name" and name in values:
            at = _At(at.file, f"{at.dotted} ('{values[name]}')")
    return values


def _check_keys(raw: dict[str, Any], allowed: list[str], at: _At) -> None:
    for name in raw:
        if name not in allowed:
            raise at.fail(f"unknown key '{at.key(name).dotted}'.")


def _check_references(config: Config, defaults: dict[str, Any] | None = None) -> None:
    """What one table's declaration cannot say: the delivery branch is not the source branch, child names are
    unique, a child's channel and environment exist. `defaults` holds the values `[defaults]` gives, so that a
    channel a child inherits is reported as `defaults.channel`."""
    source = config.source
    branch, delivery = source.branch, source.delivery_branch
    if delivery == branch:
        raise ConfigError(
            f"{config.file}: source.delivery_branch must differ from source.branch ('{branch}'); publishing would "
            "overwrite the source branch with the split history."
        )
    if delivery.startswith(branch + "/") or branch.startswith(delivery + "/"):
        raise ConfigError(
            f"{config.file}: source.delivery_branch '{delivery}' and source.branch '{branch}' cannot both exist: "
            "git cannot hold a branch and another branch inside it."
        )
    _check_channels(config)
    default_channel = (defaults or {}).get("channel")
    if default_channel is not None and default_channel not in config.channels.order:
        raise ConfigError(f"{config.file}: 'defaults.channel' names channel '{default_channel}', but "
                          f"{_known_channels(config)}.")
    seen: set[str] = set()
    for i, child in enumerate(config.children):
        if child.name in seen:
            raise ConfigError(
                f"{config.file}: duplicate child name '{child.name}' at children[{i}] ('{child.name}').name."
            )
        seen.add(child.name)
        problem = branch_problem(child.pull_request.branch_name(delivery))
        if problem is not None or child.pull_request.branch_name(delivery) == child.branch:
            raise ConfigError(
                f"{config.file}: child '{child.name}': pull_request.branch '{child.pull_request.branch}' does not give "
                f"a branch git accepts apart from '{child.branch}'"
                + (f" ({problem})." if problem else ".")
            )
        if child.channel is not None and child.channel not in config.channels.order:
            raise ConfigError(f"{config.file}: 'children[{i}] ('{child.name}').channel' names channel "
                              f"'{child.channel}', but {_known_channels(config)}.")
        if child.environment is not None and child.environment not in config.environments:
            raise ConfigError(
                f"{config.file}: child '{child.name}' names environment '{child.environment}', "
                "which no [environments.*] table defines."
            )


def _known_channels(config: Config) -> str:
    order = config.channels.order
    return f"[channels] order lists {_alternatives(order)}" if order else "no [channels] table declares channels"


def _check_channels(config: Config) -> None:
    """Channel names are unique and give branch names git accepts (`<delivery_branch>-<channel>`)."""
    order = config.channels.order
    delivery = config.source.delivery_branch
    for i, name in enumerate(order):
        if name in order[:i]:
            raise ConfigError(f"{config.file}: 'channels.order[{i}]' repeats the channel '{name}'.")
        problem = branch_problem(f"{delivery}-{name}") or ("it contains '/'" if "/" in name else None)
        if problem is not None:
            raise ConfigError(f"{config.file}: 'channels.order[{i}]' {name!r} does not give a branch name git "
                              f"accepts for '{delivery}-{name}' ({problem}).")


# ---------------------------------------------------------------------------------------------------------------------
# The reference page, docs/config.md

_INTRO = (
    "`cascade.toml` sits at the root of the parent repository (or is named with `--config PATH`). Only `[source]` is "
    "required: a parent with no children yet can still publish and validate. Each `[[children]]` entry takes every "
    "`[defaults]` key it does not set itself. A relative path names a folder inside a repository: not absolute, no "
    "`..`; `source.path` and `prefix` are not, and are not inside, a `.git` folder (in any case). A branch name is one "
    "`git check-ref-format --branch` accepts, not `HEAD`, not starting with `refs/` or `+`; `source.delivery_branch` "
    "differs from `source.branch`. `sync.author` is `Name <email>` on one line. A key that no table below declares, a value of the wrong type, or one outside the allowed values is a "
    "config error (exit 2) that names the dotted key and the file."
)


def reference_markdown() -> str:
    """docs/config.md: one table per cascade.toml table, one row per key, all read from the declaration."""
    out = [
        "# `cascade.toml` reference",
        "",
        "<!-- Generated from the declaration in src/ddl_cascade/config.py by `scripts/config-docs`; "
        "edit the declaration, not this file. -->",
        "",
        textwrap.fill(_INTRO, width=118),
    ]
    for name, spec in tables():
        if spec.defaults:
            out += _reference_table(f"[{spec.defaults}]", f"What every `[[{name}]]` entry takes unless it sets the "
                                    "key itself.", inherited_keys(spec.cls), inherits_from=None)
        heading = f"[[{name}]]" if spec.array else f"[{name}.NAME]" if spec.named else f"[{name}]"
        out += _reference_table(heading, spec.doc + (" Required." if spec.required else ""), keys(spec.cls),
                                inherits_from=spec.defaults)
        for key_name, key_spec in keys(spec.cls):
            if key_spec.type.table is not None:
                where = f"[{spec.defaults}.{key_name}]` and `[{name}.{key_name}]" if spec.defaults else \
                    f"[{name}.{key_name}]"
                out += _reference_table(where, f"The keys of `{key_name}`. " + key_spec.doc[0].upper()
                                        + key_spec.doc[1:] + ".", keys(key_spec.type.table), inherits_from=None)
    return "\n".join(out) + "\n"


def _reference_table(heading: str, doc: str, declared: list[tuple[str, Key]], inherits_from: str | None) -> list[str]:
    out = ["", f"## `{heading}`", "", doc, ""]
    out += ["| key | type | default | allowed | what it does |", "|---|---|---|---|---|"]
    for name, spec in declared:
        if spec.default is REQUIRED:
            default = "required"
        elif spec.inherit and inherits_from:
            default = f"from `[{inherits_from}]`"
        elif spec.default is None:
            default = "none"
        else:
            default = f"`{_toml(spec.default)}`"
        allowed = ", ".join(f"`{json.dumps(v)}`" for v in spec.type.allowed)
        cells = [f"`{name}`", spec.type.name, default, allowed, spec.doc]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return out


def _toml(value: Any) -> str:
    """A default as it would be written in cascade.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)
