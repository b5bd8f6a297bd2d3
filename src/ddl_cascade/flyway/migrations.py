"""The Flyway core: what Flyway itself would decide about migration files, reimplemented exactly.

Everything here follows /work/shared/reference/flyway.md (sections cited as §n) and Flyway's own behaviour: how a
file name is parsed (V/R/B/callbacks), how versions compare (`1` == `1.0` == `01`), which files are resolved,
duplicated, invalid or silently ignored, the checksum Flyway stores in `flyway_schema_history`, placeholder
replacement, `.sql.conf` script configs, and which PostgreSQL statements Flyway runs outside a transaction.

`validate` (naming, duplicates, history checks) and `db` (verify/migrate/status) both build on this module, so it
knows nothing of git, the terminal or the database. Error messages reproduce Flyway's own texts so users can search
for them.
"""

from __future__ import annotations

import enum
import functools
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "CALLBACK_EVENTS",
    "FlywayError",
    "InvalidName",
    "PlaceholderError",
    "Version",
    "parse_version",
    "Kind",
    "MigrationName",
    "parse_name",
    "NameCheck",
    "check_name",
    "name_hints",
    "checksum_text",
    "checksum_bytes",
    "Placeholder",
    "find_placeholders",
    "replace_placeholders",
    "default_placeholders",
    "ScriptConfig",
    "parse_script_config",
    "parse_properties",
    "decode_script",
    "ResolvedMigration",
    "Problem",
    "Resolution",
    "resolve",
    "migration_sort_key",
]


class FlywayError(Exception):
    """Something Flyway itself would reject; the message is Flyway's own text where Flyway has one."""


class InvalidName(FlywayError):
    """A file name that Flyway cannot parse as a migration or callback."""

    def __init__(self, message: str, filename: str):
        super().__init__(message)
        self.filename = filename


class PlaceholderError(FlywayError):
    """A `${name}` with no value; `offset` is the position of its `$` in the text."""

    def __init__(self, message: str, name: str, offset: int):
        super().__init__(message)
        self.name = name
        self.offset = offset


# §2.1: every event id Flyway's SQL callback resolver accepts as a file-name prefix. `beforeConnect`/`afterConnect`
# are script-only (not SQL), and the Deploy events are read only from callbackLocations by Flyway Teams, so they
# are not here; `createSchema` is deprecated but still recognised.
CALLBACK_EVENTS: frozenset[str] = frozenset(
    {
        "beforeMigrate", "beforeRepeatables", "beforeEachMigrate", "beforeEachMigrateStatement",
        "afterEachMigrateStatement", "afterEachMigrateStatementError", "afterEachMigrate", "afterEachMigrateError",
        "afterVersioned", "afterMigrate", "afterMigrateApplied", "afterMigrateError",
        "beforeUndo", "beforeEachUndo", "beforeEachUndoStatement", "afterEachUndoStatement",
        "afterEachUndoStatementError", "afterEachUndo", "afterEachUndoError", "afterUndo", "afterUndoError",
        "beforeClean", "afterClean", "afterCleanError",
        "beforeInfo", "afterInfo", "afterInfoError",
        "beforeValidate", "afterValidate", "afterValidateError",
        "beforeBaseline", "afterBaseline", "afterBaselineError",
        "beforeRepair", "afterRepair", "afterRepairError",
        "createSchema", "beforeCreateSchema",
        "afterMigrateOperationFinish", "afterInfoOperationFinish",
    }
)

# In Flyway's Event enum, so its name parser takes them as prefixes, but they only work as shell/PowerShell scripts.
_SCRIPT_ONLY_EVENTS = frozenset({"beforeConnect", "afterConnect"})

# ---------------------------------------------------------------------------------------------------------------
# Versions (§1.3)

_VERSION_RE = re.compile(r"[0-9]+(?:[._][0-9]+)*\Z")


@functools.total_ordering
@dataclass(frozen=True, eq=False, init=False)
class Version:
    """A migration version. `text` is Flyway's stored form (`1_1` -> `1.1`, leading zeros kept); `parts` are the
    integers with trailing zeros dropped, which define equality, hashing and order (`1` == `1.0` == `01`)."""

    text: str
    parts: tuple[int, ...]

    def __init__(self, text: str):
        normalised = text.replace("_", ".")
        if not _VERSION_RE.match(normalised):
            raise FlywayError(f"Version may only contain 0..9 and . (dot). Invalid version: {normalised}")
        parts = [int(p) for p in normalised.split(".")]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        object.__setattr__(self, "text", normalised)
        object.__setattr__(self, "parts", tuple(parts))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.parts == other.parts

    def __lt__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        # Trailing zeros are gone, so plain tuple order equals Flyway's "missing parts count as 0" order.
        return self.parts < other.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Version({self.text!r})"


def parse_version(text: str) -> Version:
    """Parse a version the strict way (`^[0-9]+([._][0-9]+)*$`); raises `FlywayError` with Flyway's message."""
    return Version(text)


# ---------------------------------------------------------------------------------------------------------------
# File names (§1.2, §1.5, §2.2)


class Kind(enum.Enum):
    VERSIONED = "V"
    REPEATABLE = "R"
    BASELINE = "B"
    CALLBACK = "callback"


@dataclass(frozen=True)
class MigrationName:
    filename: str
    kind: Kind
    version: Version | None
    description: str  # every "_" of the raw description replaced by a space
    event: str | None = None  # the callback event id, for callbacks
    prefix: str = ""
    suffix: str = ""  # the suffix as written in the file name

    @property
    def type(self) -> str:
        """The `type` column Flyway writes for it in flyway_schema_history."""
        return "SQL_BASELINE" if self.kind is Kind.BASELINE else "SQL"


_KIND_PREFIXES = (("V", Kind.VERSIONED), ("R", Kind.REPEATABLE), ("B", Kind.BASELINE))


@functools.lru_cache(maxsize=16)
def _prefixes(versioned: str, repeatable: str, baseline: str) -> tuple[tuple[str, Kind], ...]:
    candidates = [(versioned, Kind.VERSIONED), (repeatable, Kind.REPEATABLE), (baseline, Kind.BASELINE)]
    candidates += [(event, Kind.CALLBACK) for event in CALLBACK_EVENTS | _SCRIPT_ONLY_EVENTS]
    # Longest first, so `afterMigrateError.sql` is the afterMigrateError event and not afterMigrate + "Error".
    return tuple(sorted(candidates, key=lambda pair: -len(pair[0])))


def _cut_suffix(filename: str, suffixes: Iterable[str]) -> tuple[str, str] | None:
    lower = filename.lower()
    for suffix in suffixes:
        if lower.endswith(suffix.lower()):
            return filename[: len(filename) - len(suffix)], filename[len(filename) - len(suffix):]
    return None


def parse_name(
    filename: str,
    *,
    suffixes: Iterable[str] = (".sql",),
    separator: str = "__",
    versioned_prefix: str = "V",
    repeatable_prefix: str = "R",
    baseline_prefix: str = "B",
) -> MigrationName:
    """Parse a file name as Flyway's ResourceNameParser does; raises `InvalidName` with Flyway's text.

    Folders play no part in Flyway's naming, so a path is reduced to its last component first.
    """
    filename = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cut = _cut_suffix(filename, suffixes)
    if cut is None:
        raise InvalidName(f"Unrecognised migration name format: {filename}", filename)
    stem, suffix = cut
    for prefix, kind in _prefixes(versioned_prefix, repeatable_prefix, baseline_prefix):
        if not stem.startswith(prefix):
            continue
        rest = stem[len(prefix):]
        left, found, raw_description = rest.partition(separator)
        if not found:
            left, raw_description = rest, ""
        example = raw_description or "description"  # what Flyway's messages suggest
        if kind in (Kind.VERSIONED, Kind.BASELINE):
            if not left:
                raise InvalidName(
                    f"Invalid versioned migration name format: {filename} (It must contain a version and should "
                    f"look like this: {prefix}1.2{separator}{example}{suffix})",
                    filename,
                )
            try:
                version = Version(left)
            except FlywayError:
                raise InvalidName(
                    f"Invalid versioned migration name format: {filename} (could not recognise version number "
                    f"{left})",
                    filename,
                ) from None
        else:
            if left:
                raise InvalidName(
                    f"Invalid repeatable migration / callback name format: {filename} (It cannot contain a version "
                    f"and should look like this: {prefix}{separator}{example}{suffix})",
                    filename,
                )
            version = None
        return MigrationName(
            filename=filename,
            kind=kind,
            version=version,
            description=raw_description.replace("_", " "),
            event=prefix if kind is Kind.CALLBACK else None,
            prefix=prefix,
            suffix=suffix,
        )
    raise InvalidName(f"Unrecognised migration name format: {filename}", filename)


@dataclass(frozen=True)
class NameCheck:
    """What Flyway does with one file found in a location (§1.5).

    status: "migration" (a V/R/B file Flyway runs), "callback", "invalid" (ends with a migration suffix but does
    not parse: silently skipped unless validateMigrationNaming=true), or "ignored" (no migration suffix: never
    looked at). `name` is set for migrations and callbacks, `message` for invalid files.
    """

    filename: str
    status: str
    name: MigrationName | None = None
    message: str = ""
    hints: tuple[str, ...] = ()


def check_name(filename: str, *, suffixes: Iterable[str] = (".sql",), separator: str = "__",
               versioned_prefix: str = "V", repeatable_prefix: str = "R", baseline_prefix: str = "B") -> NameCheck:
    """Classify a file name as migration, callback, invalid or ignored, with warning hints. The prefixes are
    Flyway's sqlMigrationPrefix, repeatableSqlMigrationPrefix and baselineMigrationPrefix."""
    filename = filename.replace("\\", "/").rsplit("/", 1)[-1]
    suffixes = tuple(suffixes)
    hints = name_hints(filename, suffixes=suffixes, separator=separator)
    if _cut_suffix(filename, suffixes) is None:
        return NameCheck(filename, "ignored", hints=hints)
    try:
        name = parse_name(filename, suffixes=suffixes, separator=separator, versioned_prefix=versioned_prefix,
                          repeatable_prefix=repeatable_prefix, baseline_prefix=baseline_prefix)
    except InvalidName as error:
        return NameCheck(filename, "invalid", message=str(error), hints=hints)
    if name.kind is not Kind.CALLBACK and filename[: len(filename) - len(name.suffix)] == name.prefix:
        # Parses, but Flyway's resolvers only take names longer than prefix + suffix (§1.2 step 6).
        return NameCheck(filename, "invalid", hints=hints,
                         message=f"{filename} is only a prefix and a suffix, so Flyway's resolver skips it")
    if name.event in _SCRIPT_ONLY_EVENTS:
        return NameCheck(filename, "invalid", hints=hints,
                         message=f"{name.event} callbacks run before a database connection exists, so Flyway only "
                                 "runs them as scripts (.sh, .ps1, .cmd), never as SQL")
    status = "callback" if name.kind is Kind.CALLBACK else "migration"
    return NameCheck(filename, status, name=name, hints=hints)


_LOOKS_VERSIONED = re.compile(r"[VvBbUu][0-9]+(?:[._][0-9]+)*")


def name_hints(filename: str, *, suffixes: Iterable[str] = (".sql",), separator: str = "__") -> tuple[str, ...]:
    """Warnings about names that look like migrations but that Flyway will not take as the author meant."""
    suffixes = tuple(suffixes)
    hints: list[str] = []
    cut = _cut_suffix(filename, suffixes)
    stem = cut[0] if cut else filename
    if cut is None:
        if filename.lower().endswith(".conf") and _cut_suffix(filename[:-5], suffixes):
            return ()  # a script config (`V2__x.sql.conf`), which Flyway reads beside its script
        base, dot, _ext = filename.rpartition(".")
        if dot and (_LOOKS_VERSIONED.match(base) and base[:1] in "VB" or base.startswith("R" + separator)):
            hints.append(f"{filename} looks like a migration but does not end with {' or '.join(suffixes)}, "
                         "so Flyway ignores it")
        return tuple(hints)
    if stem[:1] in ("v", "r", "b") and (_LOOKS_VERSIONED.match(stem) or stem[1:].startswith(separator)):
        hints.append(f"{filename} starts with a lowercase '{stem[0]}'; Flyway prefixes are case-sensitive "
                     f"(use '{stem[0].upper()}')")
    if stem[:1] == "U" and _LOOKS_VERSIONED.match(stem):
        hints.append(f"{filename} is an undo migration; open-source Flyway does not recognise the U prefix")
    single = _LOOKS_VERSIONED.match(stem)
    if single and stem[:1] in "VB" and separator not in stem:
        rest = stem[single.end():]
        if rest.startswith("_") or rest.startswith("-") or rest.startswith("."):
            hints.append(f"{filename} separates version and description with '{rest[0]}'; Flyway needs "
                         f"'{separator}'")
    for event in CALLBACK_EVENTS:
        if stem.startswith(event) and stem != event and not stem[len(event):].startswith(separator) \
                and stem[len(event):] and stem[len(event)] == "_":
            hints.append(f"{filename} separates the callback event and description with a single '_'; "
                         f"Flyway needs '{separator}'")
            break
    return tuple(hints)


# ---------------------------------------------------------------------------------------------------------------
# Checksums (§3)

_CRLF = str.maketrans("", "", "\r\n")


def checksum_text(text: str) -> int:
    """Flyway's checksum: signed CRC32 of the UTF-8 text with a leading BOM and every CR and LF removed."""
    if text.startswith("\ufeff"):
        text = text[1:]
    value = zlib.crc32(text.translate(_CRLF).encode("utf-8", "surrogatepass"))
    return value - (1 << 32) if value >= 1 << 31 else value


def checksum_bytes(data: bytes, encoding: str = "utf-8", *, name: str = "script") -> int:
    """Checksum of a file's bytes, decoded strictly with `encoding` (as Flyway's REPORT decoder)."""
    return checksum_text(decode_script(data, encoding, name=name))


def decode_script(data: bytes, encoding: str = "utf-8", *, name: str = "script") -> str:
    """Decode a script strictly; a BOM stays in the text (Flyway strips it only when checksumming and parsing)."""
    codec = "utf-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return data.decode(codec, "strict")
    except LookupError:
        raise FlywayError(f"Unable to calculate checksum of {name}: unknown encoding {encoding}") from None
    except UnicodeDecodeError as error:
        raise FlywayError(
            f"Unable to calculate checksum of {name}: byte {error.start} is not valid {encoding}. "
            "Please ensure you have configured the correct file encoding"
        ) from None


# ---------------------------------------------------------------------------------------------------------------
# Placeholders (§6.1)

# Flyway's PlaceholderReplacingReader reads a `$` together with the next character, and a pair that is not `${` is
# passed through whole: so in `$q$${a}` the `$$` pair hides the placeholder (checked against Flyway 13.12.2). A `$`
# followed by anything but `{` therefore consumes that character here too.
_PLACEHOLDER_RE = re.compile(r"\$(?:\{([^}]*)\}|[\s\S])")


@dataclass(frozen=True)
class Placeholder:
    name: str  # as written, e.g. "flyway:defaultSchema"
    start: int  # offset of "$"
    end: int  # offset after "}"

    @property
    def is_default(self) -> bool:
        return self.name.lower().startswith("flyway:")


def find_placeholders(text: str) -> list[Placeholder]:
    """Every `${name}` in the raw text, including inside comments, strings and `$$` bodies (as Flyway sees it)."""
    return [Placeholder(m.group(1), m.start(), m.end()) for m in _PLACEHOLDER_RE.finditer(text)
            if m.group(1) is not None]


def replace_placeholders(
    text: str, values: Mapping[str, str], *, defaults: Mapping[str, str] | None = None
) -> str:
    """Replace `${name}` (names case-insensitive; `values` win over `defaults`) or raise `PlaceholderError`."""
    lookup = {k.lower(): v for k, v in (defaults or {}).items()}
    lookup.update({k.lower(): v for k, v in values.items()})

    def substitute(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return m.group(0)  # a `$` and the character after it, not a placeholder
        value = lookup.get(name.lower())
        if value is None:
            if name.lower().startswith("flyway:"):
                message = f"Failed to populate value for default placeholder: ${{{name}}}"
            else:
                message = f"No value provided for placeholder: ${{{name}}}.  Check your configuration!"
            raise PlaceholderError(message, name, m.start())
        return value

    return _PLACEHOLDER_RE.sub(substitute, text)


def default_placeholders(
    schema: str,
    user: str,
    database: str,
    table: str = "flyway_schema_history",
    filename: str = "",
    timestamp: datetime | str | None = None,
    working_directory: str | None = None,
    environment: str | None = None,
) -> dict[str, str]:
    """Flyway's built-in `${flyway:…}` placeholders for one script."""
    if timestamp is None:
        timestamp = datetime.now()
    if isinstance(timestamp, datetime):
        timestamp = timestamp.strftime("%Y-%m-%d %H:%M:%S")
    values = {
        "flyway:defaultSchema": schema,
        "flyway:user": user,
        "flyway:database": database,
        "flyway:timestamp": timestamp,
        "flyway:filename": filename,
        "flyway:table": table,
    }
    if working_directory is not None:
        values["flyway:workingDirectory"] = working_directory
    if environment is not None:
        values["flyway:environment"] = environment
    return values


# ---------------------------------------------------------------------------------------------------------------
# Script configuration files (§6.2)


@dataclass(frozen=True)
class ScriptConfig:
    execute_in_transaction: bool | None = None
    encoding: str | None = None
    placeholder_replacement: bool | None = None
    should_execute: str | None = None  # Teams only; kept so a valid conf is not rejected


_CONF_KEYS = {
    "executeInTransaction": "execute_in_transaction",
    "encoding": "encoding",
    "placeholderReplacement": "placeholder_replacement",
    "shouldExecute": "should_execute",
}
_BOOLEAN_KEYS = {"executeInTransaction", "placeholderReplacement"}


def parse_properties(text: str) -> list[tuple[str, str]]:
    """The (key, value) pairs of a Java-properties text such as `flyway.conf` or a `.sql.conf`: `#`/`!` comments,
    `key=value`, `key: value` or `key value`, `\\` continuations."""
    pairs = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index].lstrip()
        index += 1
        if not line or line[0] in "#!":
            continue
        while line.endswith("\\") and not line.endswith("\\\\") and index < len(lines):
            line = line[:-1] + lines[index].lstrip()
            index += 1
        m = re.match(r"((?:[^\\=:\s]|\\.)*)\s*[=:\s]?\s*(.*)\Z", line, re.DOTALL)
        assert m is not None
        pairs.append((m.group(1).replace("\\", ""), m.group(2).rstrip()))
    return pairs


def parse_script_config(text: str, name: str = "") -> ScriptConfig:
    """Parse a `<script>.conf`; an unknown key or a bad boolean raises `FlywayError` with Flyway's message."""
    values: dict[str, object] = {}
    for key, value in parse_properties(text):
        if key not in _CONF_KEYS:
            raise FlywayError(f"Unknown configuration property: {key}. Please check your script config files")
        if key in _BOOLEAN_KEYS:
            if value.lower() not in ("true", "false"):
                raise FlywayError(f"Invalid value for {key} (should be either true or false): {value}"
                                  + (f" in {name}" if name else ""))
            values[_CONF_KEYS[key]] = value.lower() == "true"
        else:
            values[_CONF_KEYS[key]] = value
    return ScriptConfig(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------
# Resolution of the files in the locations (§1.4, §1.5, §2.2)


@dataclass(frozen=True)
class ResolvedMigration:
    name: MigrationName
    script: str  # relative to the location root, with "/": the `script` column Flyway writes
    location: str
    path: str  # location + "/" + script

    @property
    def kind(self) -> Kind:
        return self.name.kind

    @property
    def version(self) -> Version | None:
        return self.name.version

    @property
    def description(self) -> str:
        return self.name.description

    @property
    def type(self) -> str:
        return self.name.type


@dataclass(frozen=True)
class Problem:
    """A file-level problem Flyway would report. code: INVALID_NAME, DUPLICATE_VERSIONED_MIGRATION,
    DUPLICATE_REPEATABLE_MIGRATION or DUPLICATE_CALLBACK. `paths` are location-joined paths of the offenders."""

    code: str
    message: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Resolution:
    migrations: tuple[ResolvedMigration, ...]  # in Flyway's order: B by version, V by version, R by description
    callbacks: tuple[ResolvedMigration, ...]  # ordered by event, then description
    problems: tuple[Problem, ...]
    ignored: tuple[str, ...]  # paths Flyway never looks at (no migration suffix, or hidden folders)
    checks: Mapping[str, NameCheck] = field(default_factory=dict)  # path -> classification, for every file seen


def _utf16(text: str) -> bytes:
    # Comparing UTF-16 big-endian bytes is comparing UTF-16 code units: Java's String.compareTo order.
    return text.encode("utf-16-be", "surrogatepass")


def migration_sort_key(migration: ResolvedMigration) -> tuple:
    """Flyway's order: baseline migrations, then versioned by version, then repeatables by description."""
    if migration.kind is Kind.REPEATABLE:
        return (2, (), _utf16(migration.description))
    rank = 0 if migration.kind is Kind.BASELINE else 1
    return (rank, migration.version.parts if migration.version else (), b"")


def _join(location: str, script: str) -> str:
    location = location.rstrip("/")
    return f"{location}/{script}" if location else script


def _hidden(relative: str) -> bool:
    return any(part.startswith(".") for part in relative.split("/")[:-1])


def resolve(
    locations: Mapping[str, Iterable[str]],
    *,
    callback_locations: Mapping[str, Iterable[str]] | None = None,
    suffixes: Iterable[str] = (".sql",),
    separator: str = "__",
    versioned_prefix: str = "V",
    repeatable_prefix: str = "R",
    baseline_prefix: str = "B",
) -> Resolution:
    """Resolve migrations and callbacks from the files of each location (paths relative to it, with "/"); names are
    parsed with the given suffixes, separator and prefixes (Flyway's sqlMigration* settings).

    Callbacks come from `callback_locations` when given (then only from there, as Flyway's callbackLocations),
    otherwise from `locations`. Files in hidden folders and files without a migration suffix are ignored;
    unparsable names are INVALID_NAME problems (Flyway skips them unless validateMigrationNaming=true).
    """
    suffixes = tuple(suffixes)
    migrations: list[ResolvedMigration] = []
    callbacks: list[ResolvedMigration] = []
    problems: list[Problem] = []
    ignored: list[str] = []
    checks: dict[str, NameCheck] = {}
    scans = [(loc, files, True) for loc, files in locations.items()]
    if callback_locations is not None:
        scans += [(loc, files, False) for loc, files in callback_locations.items()]
    for location, files, is_migration_location in scans:
        for relative in sorted(files):
            relative = relative.replace("\\", "/").lstrip("/")
            path = _join(location, relative)
            if _hidden(relative):
                ignored.append(path)
                continue
            check = check_name(relative.rsplit("/", 1)[-1], suffixes=suffixes, separator=separator,
                               versioned_prefix=versioned_prefix, repeatable_prefix=repeatable_prefix,
                               baseline_prefix=baseline_prefix)
            checks[path] = check
            if check.status == "ignored":
                ignored.append(path)
            elif check.status == "invalid":
                problems.append(Problem("INVALID_NAME", check.message, (path,)))
            else:
                assert check.name is not None
                resolved = ResolvedMigration(check.name, relative, location, path)
                if check.status == "callback":
                    if callback_locations is None or not is_migration_location:
                        callbacks.append(resolved)
                    else:
                        ignored.append(path)  # callbackLocations is set, so Flyway looks for callbacks only there
                elif is_migration_location:
                    migrations.append(resolved)
                else:
                    ignored.append(path)  # a migration in a callback location is never run
    migrations.sort(key=migration_sort_key)
    problems += _duplicates(migrations)
    callbacks.sort(key=lambda c: (c.name.event or "", _utf16(c.description), c.path))
    problems += _duplicate_callbacks(callbacks)
    return Resolution(tuple(migrations), tuple(callbacks), tuple(problems), tuple(ignored), checks)


def _duplicates(ordered: list[ResolvedMigration]) -> list[Problem]:
    problems = []
    index = 0
    while index < len(ordered):
        key = migration_sort_key(ordered[index])
        group_end = index + 1
        while group_end < len(ordered) and migration_sort_key(ordered[group_end]) == key:
            group_end += 1
        group = ordered[index:group_end]
        if len(group) > 1:
            offenders = "".join(f"\n-> {m.path} ({m.type})" for m in group)
            first = group[0]
            if first.kind is Kind.REPEATABLE:
                code = "DUPLICATE_REPEATABLE_MIGRATION"
                message = f"Found more than one repeatable migration with description {first.description}"
            else:
                code = "DUPLICATE_VERSIONED_MIGRATION"
                message = f"Found more than one migration with version {first.version}"
            problems.append(Problem(code, f"{message}\nOffenders:{offenders}", tuple(m.path for m in group)))
        index = group_end
    return problems


def _duplicate_callbacks(callbacks: list[ResolvedMigration]) -> list[Problem]:
    by_name: dict[str, list[ResolvedMigration]] = {}
    for callback in callbacks:
        stem = callback.name.filename[: len(callback.name.filename) - len(callback.name.suffix)]
        by_name.setdefault(stem, []).append(callback)
    return [
        Problem("DUPLICATE_CALLBACK", f"Found more than 1 SQL callback script called {stem}!",
                tuple(c.path for c in group))
        for stem, group in by_name.items()
        if len(group) > 1
    ]
