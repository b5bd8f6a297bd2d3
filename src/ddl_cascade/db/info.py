"""Flyway's `info` and `validate`: each migration's state from the resolved files and the applied history rows.

This follows Flyway's MigrationInfoServiceImpl / BaseAppliedMigration / ResolvedMigration.getState (reference
flyway.md §5), so `db status` shows what `flyway info` would and `db migrate` refuses what `flyway migrate` would:
- applied versioned rows are matched to files by (numeric version, type), repeatables by exact description;
- a row whose version is not above the highest version applied before it is "Out of Order";
- a file below the highest applied version is "Ignored", or "Pending" with outOfOrder (migrate then applies it in
  version order and its row reads "Out of Order");
- with a target ("current", "next" or a version), pending versioned files above it are "Above Target" and are not
  applied (repeatables are not concerned); a version target that names no migration is refused with Flyway's
  sentence unless it ends with `?`;
- a baseline (a BASELINE row or an applied or pending `B` file) hides lower versions ("Below Baseline") and its own
  version ("Ignored (Baseline)");
- repeatables: the latest row per description is "Success" when its checksum matches the file (after placeholder
  replacement, or the raw text: Flyway's "equivalent checksum"), else "Outdated"; older rows are "Superseded";
- applied rows with no file are "Missing" (or "Future" above the highest resolved version), "Failed (…)" when failed.
Validation reproduces Flyway's messages (their first sentence) under the run's ignoreMigrationPatterns (`type:state`,
default `*:future`); `migrate` adds `*:pending` as Flyway's migrate does (or skips validation with
validateOnMigrate=false) and, like Flyway's DbMigrate, still refuses a failed migration the patterns let through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ddl_cascade import flyway
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway.settings import Settings
from ddl_cascade.db.history import BASELINE, BASELINE_TYPES, DELETE, SCHEMA, AppliedRow

PENDING = "Pending"
ABOVE_TARGET = "Above Target"
BELOW_BASELINE = "Below Baseline"
BASELINE_IGNORED = "Ignored (Baseline)"
BASELINE_STATE = "Baseline"
IGNORED = "Ignored"
SUCCESS = "Success"
FAILED = "Failed"
MISSING_SUCCESS = "Missing"
MISSING_FAILED = "Failed (Missing)"
FUTURE_SUCCESS = "Future"
FUTURE_FAILED = "Failed (Future)"
OUT_OF_ORDER = "Out of Order"
OUTDATED = "Outdated"
SUPERSEDED = "Superseded"
DELETED = "Deleted"

FAILED_STATES = frozenset({FAILED, MISSING_FAILED, FUTURE_FAILED})
APPLIED_STATES = frozenset({BASELINE_STATE, SUCCESS, FAILED, MISSING_SUCCESS, MISSING_FAILED, FUTURE_SUCCESS,
                            FUTURE_FAILED, OUT_OF_ORDER, OUTDATED, SUPERSEDED, DELETED})


@dataclass(frozen=True)
class Resolved:
    """A migration file as Flyway resolves it: what is compared with history and, when pending, executed."""

    version: flyway.Version | None
    description: str
    type: str  # SQL or SQL_BASELINE
    script: str
    checksum: int | None  # R: after placeholder replacement; V/B: the raw text
    equivalent_checksum: int | None = None  # R: the raw-text checksum, which Flyway also accepts
    key: object = None  # the engine's handle on the file to execute

    @property
    def is_baseline(self) -> bool:
        return self.type in BASELINE_TYPES

    def checksum_matches(self, applied: int | None) -> bool:
        return applied == self.checksum or (self.equivalent_checksum is not None
                                            and applied == self.equivalent_checksum)


@dataclass
class MigrationInfo:
    """One line of `db status`: a migration file, a history row, or both."""

    state: str
    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None  # the applied row's when applied, else the file's
    installed_rank: int | None = None
    installed_on: str | None = None
    installed_by: str | None = None
    execution_time: int | None = None
    resolved_checksum: int | None = None  # the file's, when there is a file
    checksum_mismatch: bool = False
    problem: str | None = None  # Flyway's validate message for this migration, if any


@dataclass
class Info:
    migrations: list[MigrationInfo]
    pending: list[Resolved]  # in the order migrate applies them
    problems: list[str] = field(default_factory=list)  # validate messages (with *:future ignored)

    @property
    def failed(self) -> list[MigrationInfo]:
        return [m for m in self.migrations if m.state in FAILED_STATES]

    @property
    def mismatches(self) -> list[MigrationInfo]:
        return [m for m in self.migrations if m.checksum_mismatch]


PATTERN_TYPES = ("*", "repeatable", "versioned")
PATTERN_STATES = ("*", "missing", "pending", "ignored", "future")  # each the name of one state (Missing, Pending…)
PATTERNS_HELP = ("https://help.red-gate.com/help/flyway-cli13/help_12.aspx?topic=reference/configuration/"
                 "flyway-namespace/flyway-ignore-migration-patterns-setting")
SYNTHETIC_TYPES = frozenset({SCHEMA, BASELINE, DELETE})  # history markers, never a migration of their own


@dataclass(frozen=True)
class Pattern:
    """One of Flyway's ignoreMigrationPatterns, `type:state` (ValidatePattern)."""

    type: str
    state: str

    @classmethod
    def parse(cls, text: str) -> "Pattern":
        """Flyway's checks and messages; a bad pattern is a CascadeError naming the setting."""
        parts = text.split(":")
        while parts and parts[-1] == "":  # Java's String.split drops trailing empty parts
            parts.pop()
        where = "Flyway setting ignoreMigrationPatterns (cascade.toml ignore_migration_patterns)"
        if len(parts) != 2:
            raise CascadeError(f"{where}: Invalid pattern '{text}'. Pattern must be of the form "
                               f"<migration_type>:<migration_state> See {PATTERNS_HELP} for full details")
        kind, state = parts[0].strip().lower(), parts[1].strip().lower()
        if kind not in PATTERN_TYPES:
            raise CascadeError(f"{where}: Invalid migration type '{parts[0]}'. Valid types are: "
                               f"[{', '.join(PATTERN_TYPES)}]")
        if state not in PATTERN_STATES:
            raise CascadeError(f"{where}: Invalid migration state '{parts[1]}'. Valid states are: "
                               f"[{', '.join(PATTERN_STATES)}]")
        return cls(kind, state)

    def matches(self, versioned: bool, state: str) -> bool:
        if self.state != "*" and self.state != state.lower():  # "missing" is "Missing", not "Failed (Missing)"
            return False
        return self.type == "*" or self.type == ("versioned" if versioned else "repeatable")


@dataclass(frozen=True)
class _Patterns:
    patterns: tuple[Pattern, ...]

    def match(self, versioned: bool, state: str) -> bool:
        return any(p.matches(versioned, state) for p in self.patterns)

    def ignores(self, state: str) -> bool:
        """ValidatePatternUtils.is…Ignored: the state is ignored for versioned and repeatable migrations alike."""
        return self.match(True, state) and self.match(False, state)


def patterns(settings: Settings) -> tuple[Pattern, ...]:
    return tuple(Pattern.parse(p) for p in settings.ignore_migration_patterns)


@dataclass(frozen=True)
class Target:
    """Flyway's `target`: "latest", "current", "next" or a version; a trailing `?` allows a missing version."""

    kind: str  # latest, current, next, version
    version: flyway.Version | None = None
    fail_on_missing: bool = True

    @classmethod
    def parse(cls, text: str) -> "Target":
        fail = not text.endswith("?")
        text = text if fail else text[:-1]
        if text.lower() in ("latest", "current", "next"):
            return cls(text.lower(), None, fail)
        try:
            return cls("version", flyway.Version(text), fail)
        except flyway.FlywayError as exc:
            raise CascadeError(f"Flyway setting target (cascade.toml target): {exc}") from None


@dataclass
class _Applied:
    row: AppliedRow
    version: flyway.Version | None
    out_of_order: bool = False
    deleted: bool = False


@dataclass
class _Context:
    last_resolved: flyway.Version | None = None
    last_applied: flyway.Version | None = None  # None: Flyway's EMPTY, below every version
    applied_baseline: flyway.Version | None = None
    pending_baseline: flyway.Version | None = None
    latest_repeatable_runs: dict[str, int] = field(default_factory=dict)
    out_of_order: bool = False
    target: flyway.Version | None = None
    everything_above_target: bool = False  # target "current" on a database where nothing is applied

    def above_target(self, version: flyway.Version) -> bool:
        return self.everything_above_target or (self.target is not None and self.target < version)


def _lt(a: flyway.Version | None, b: flyway.Version | None) -> bool:
    """a < b with None as Flyway's EMPTY (below everything)."""
    if a is None:
        return b is not None
    return b is not None and a < b


def _row_version(row: AppliedRow) -> flyway.Version | None:
    if row.version is None:
        return None
    try:
        return flyway.Version(row.version)
    except flyway.FlywayError:
        return None


def _resolved_state(m: Resolved, ctx: _Context) -> str:
    state = PENDING
    if m.version is not None:
        base = ctx.pending_baseline if ctx.last_applied is None else ctx.applied_baseline
        if base is not None and m.version < base:
            state = BELOW_BASELINE
        elif base is not None and m.version == base:
            state = BASELINE_IGNORED
        elif ctx.above_target(m.version):
            state = ABOVE_TARGET
        elif ctx.last_applied is not None and m.version < ctx.last_applied and not ctx.out_of_order:
            state = IGNORED
    if m.is_baseline:  # BaselineResolvedMigration.getState
        applied_or_baseline = ctx.applied_baseline is not None or ctx.last_applied is not None
        if state == PENDING and applied_or_baseline:
            return IGNORED
        if state == BASELINE_IGNORED and m.version == ctx.pending_baseline:
            return BASELINE_IGNORED if applied_or_baseline else PENDING
    return state


def _applied_state(a: _Applied, resolved: Resolved | None, ctx: _Context) -> str:
    row = a.row
    if a.deleted:
        return DELETED
    if row.type == DELETE:
        return SUCCESS
    latest = ctx.latest_repeatable_runs.get(row.description)
    repeatable_latest = row.version is not None or latest is None or row.installed_rank == latest
    if row.type in BASELINE_TYPES:
        # A baseline marker is always "Baseline"; an applied B file is "Failed" when it failed and Missing/Future
        # without its file (BaselineAppliedMigration.getState).
        if row.type == BASELINE:
            return BASELINE_STATE
        if not row.success:
            return FAILED
        if resolved is not None:
            return BASELINE_STATE
    if resolved is None and repeatable_latest:
        if row.type == SCHEMA:
            return SUCCESS
        if a.version is None or _lt(a.version, ctx.last_resolved):
            return MISSING_SUCCESS if row.success else MISSING_FAILED
        return FUTURE_SUCCESS if row.success else FUTURE_FAILED
    if not row.success:
        return FAILED
    if row.version is None:
        if row.installed_rank == latest:
            return SUCCESS if resolved is not None and resolved.checksum_matches(row.checksum) else OUTDATED
        return SUPERSEDED
    return OUT_OF_ORDER if a.out_of_order else SUCCESS


def compute(resolved: list[Resolved], rows: list[AppliedRow], *, settings: Settings = Settings(),
            ignore_pending: bool = False) -> Info:
    """Flyway's info for these files and history rows (rows in installed_rank order), under the run's Flyway
    `settings` (outOfOrder, target, ignoreMigrationPatterns, validateOnMigrate). `problems` are what `flyway validate`
    reports, or with `ignore_pending` what makes `flyway migrate` refuse to start."""
    target = Target.parse(settings.target)
    configured = _Patterns(patterns(settings))
    ctx = _Context(out_of_order=settings.out_of_order)
    versioned: dict[tuple[flyway.Version, str], Resolved] = {}
    repeatable: dict[str, Resolved] = {}
    for m in resolved:
        if m.version is not None:
            if ctx.last_resolved is None or ctx.last_resolved < m.version:
                ctx.last_resolved = m.version
            versioned[(m.version, m.type)] = m
        else:
            repeatable[m.description] = m

    applied_versioned: list[_Applied] = []
    applied_repeatable: list[_Applied] = []
    for row in rows:
        version = _row_version(row)
        if row.version is not None and version is not None:
            if row.type in BASELINE_TYPES and (ctx.applied_baseline is None or ctx.applied_baseline < version):
                ctx.applied_baseline = version
            if row.type == DELETE and row.success:
                for earlier in applied_versioned:
                    if earlier.version == version:
                        earlier.deleted = True
                continue
            applied_versioned.append(_Applied(row, version))
        elif row.version is None:
            applied_repeatable.append(_Applied(row, None))
            if row.type == DELETE and row.success:
                for earlier in reversed(applied_repeatable[:-1]):
                    if earlier.row.description == row.description and not earlier.deleted:
                        earlier.deleted = True
                        break

    for a in applied_versioned:
        if ctx.last_applied is None or ctx.last_applied < a.version:  # type: ignore[operator]
            if a.row.type != DELETE and not a.deleted:
                ctx.last_applied = a.version
        else:
            a.out_of_order = True

    if target.kind == "current":
        ctx.target = ctx.last_applied
        ctx.everything_above_target = ctx.last_applied is None  # Flyway's EMPTY: every version is above it
    elif target.kind == "version":
        ctx.target = target.version

    pending_versioned = dict(versioned)
    for a in applied_versioned:
        key = (a.version, a.row.type)
        if key in versioned and not a.deleted and a.row.type != DELETE:
            pending_versioned.pop(key, None)
    for m in pending_versioned.values():
        if m.is_baseline and (ctx.pending_baseline is None or ctx.pending_baseline < m.version):  # type: ignore
            ctx.pending_baseline = m.version

    missing_target = None
    if target.kind == "version" and target.fail_on_missing and not any(
            a.version == target.version for a in applied_versioned) and not any(
            v == target.version for v, _ in versioned):
        missing_target = (f"No migration with a target version {target.version} could be found. Ensure target is "
                          "specified correctly and the migration exists.")

    for a in applied_repeatable:
        if a.deleted and a.row.type == DELETE:
            continue
        desc, rank = a.row.description, a.row.installed_rank
        if rank > ctx.latest_repeatable_runs.get(desc, -1 << 62):
            ctx.latest_repeatable_runs[desc] = rank

    pending_repeatable = dict(repeatable)
    for a in applied_repeatable:
        m = repeatable.get(a.row.description)
        if (m is not None and not a.deleted and a.row.type != DELETE
                and a.row.installed_rank == ctx.latest_repeatable_runs.get(a.row.description)
                and m.checksum_matches(a.row.checksum)):
            pending_repeatable.pop(a.row.description, None)

    # A pending B file comes first: it is pending only while every lower version is below it.
    unapplied = sorted(pending_versioned.values(), key=lambda m: (not m.is_baseline, m.version.parts)) \
        + sorted(pending_repeatable.values(), key=lambda m: m.description.encode("utf-16-be", "surrogatepass"))
    if target.kind == "next":
        # Flyway resolves "next" once the states are known: the first pending migration's version (none when that
        # is a repeatable), then looks at the states again with it.
        first = next((m for m in unapplied if _resolved_state(m, ctx) == PENDING), None)
        ctx.target = first.version if first is not None else None

    if ignore_pending:  # Flyway's migrate validates with the configured patterns plus *:pending
        checks = _Patterns(configured.patterns + (Pattern("*", "pending"),)) if settings.validate_on_migrate else None
    else:
        checks = configured

    infos: list[MigrationInfo] = []

    def applied_info(a: _Applied, m: Resolved | None) -> None:
        state = _applied_state(a, m, ctx)
        row = a.row
        info = MigrationInfo(
            state=state, version=row.version, description=row.description, type=row.type, script=row.script,
            checksum=row.checksum, installed_rank=row.installed_rank,
            installed_on=row.installed_on.isoformat(sep=" ") if isinstance(row.installed_on, datetime) else None,
            installed_by=row.installed_by, execution_time=row.execution_time,
            resolved_checksum=m.checksum if m is not None else None,
        )
        info.problem = _validate(info, a, m, ctx, checks)
        if (m is not None and m.version is not None and row.checksum is not None and m.checksum is not None
                and row.type not in BASELINE_TYPES and not m.checksum_matches(row.checksum)
                and (ctx.applied_baseline is None or ctx.applied_baseline < m.version)):
            info.checksum_mismatch = True
        infos.append(info)

    for a in applied_versioned:
        applied_info(a, versioned.get((a.version, a.row.type)))  # type: ignore[arg-type]
    for a in applied_repeatable:
        applied_info(a, repeatable.get(a.row.description))
    infos.sort(key=lambda i: i.installed_rank or 0)

    applied_infos, infos = infos, []
    pending: list[Resolved] = []
    for m in unapplied:
        state = _resolved_state(m, ctx)
        info = MigrationInfo(state=state, version=str(m.version) if m.version else None, description=m.description,
                             type=m.type, script=m.script, checksum=m.checksum, resolved_checksum=m.checksum)
        info.problem = _validate(info, None, m, ctx, checks)
        infos.append(info)
        if state == PENDING:
            pending.append(m)  # in Flyway's order: versioned by version, then repeatables by description
    if target.kind == "next":
        pending = pending[:1]  # Flyway's migrate stops after one migration
    infos = _display_order(applied_infos, infos)
    if missing_target is not None:  # Flyway refuses before it looks at anything else
        return Info(infos, pending, [missing_target])
    problems = [i.problem for i in infos if i.problem]
    if ignore_pending and not problems:
        problems = _failed_for_migrate(applied_infos, configured)
    return Info(infos, pending, problems)


def _failed_for_migrate(applied: list[MigrationInfo], configured: _Patterns) -> list[str]:
    """DbMigrate's own check, after validation: any failed migration stops the run, except one lone failed future
    migration while future migrations are ignored."""
    failed = [i for i in applied if i.state in FAILED_STATES]
    if not failed or (len(failed) == 1 and failed[0].state == FUTURE_FAILED and configured.ignores(FUTURE_SUCCESS)):
        return []
    return [_failed_message(failed[0])]


def _failed_message(info: MigrationInfo) -> str:
    if info.version is None:
        return f"Detected failed repeatable migration: {info.description}"
    return f"Detected failed migration to version {info.version} ({info.description})"


def _display_order(applied: list[MigrationInfo], unapplied: list[MigrationInfo]) -> list[MigrationInfo]:
    """`flyway info`'s order (MigrationInfoImpl.compareTo): files below the baseline first, then the applied rows by
    installed_rank with each Ignored file placed by version among them, then the rest (pending and the like)."""
    def version(info: MigrationInfo) -> flyway.Version | None:
        try:
            return flyway.Version(info.version) if info.version is not None else None
        except flyway.FlywayError:
            return None

    below = [i for i in unapplied if i.state == BELOW_BASELINE]
    ignored = sorted((i for i in unapplied if i.state == IGNORED and version(i) is not None),
                     key=lambda i: version(i).parts)  # type: ignore[union-attr]
    rest = [i for i in unapplied if i not in below and i not in ignored]
    ordered = list(below)
    for info in applied:
        v = version(info)
        while v is not None and ignored and version(ignored[0]) < v:  # type: ignore[operator]
            ordered.append(ignored.pop(0))
        ordered.append(info)
    return ordered + ignored + rest


def _validate(info: MigrationInfo, a: _Applied | None, m: Resolved | None, ctx: _Context,
              checks: _Patterns | None) -> str | None:
    """MigrationInfoImpl.validate() under the ignore patterns `checks` (None: no validation), in Flyway's order."""
    state = info.state
    versioned = info.version is not None
    if checks is None or state in (ABOVE_TARGET, DELETED) or checks.match(versioned, state):
        return None
    if state in FAILED_STATES and (state != FUTURE_FAILED or not checks.ignores(FUTURE_SUCCESS)):
        return _failed_message(info)
    if (m is None and a is not None and a.row.type not in SYNTHETIC_TYPES and state != SUPERSEDED
            and not (checks.ignores(MISSING_SUCCESS) and state in (MISSING_SUCCESS, MISSING_FAILED))
            and not (checks.ignores(FUTURE_SUCCESS) and state in (FUTURE_SUCCESS, FUTURE_FAILED))):
        return f"Detected applied migration not resolved locally: {info.version if versioned else info.description}"
    if state == IGNORED and not checks.ignores(IGNORED) and m is not None and not m.is_baseline:
        if versioned:
            return f"Detected resolved migration not applied to database: {info.version}"
        return f"Detected resolved repeatable migration not applied to database: {info.description}"
    pending_ignored = checks.ignores(PENDING)
    if state == PENDING and not pending_ignored:
        if versioned:
            return f"Detected resolved migration not applied to database: {info.version}"
        return f"Detected resolved repeatable migration not applied to database: {info.description}"
    if state == OUTDATED and not pending_ignored:
        return f"Detected outdated resolved repeatable migration that should be re-applied to database: " \
               f"{info.description}"
    if m is not None and a is not None and a.row.type != DELETE:
        name = f"version {info.version}" if versioned else a.row.script
        version = a.version
        if version is None or ctx.applied_baseline is None or ctx.applied_baseline < version:
            if m.type != a.row.type:
                return _mismatch("type", name, a.row.type, m.type)
            if m.version is not None or (pending_ignored and state not in (OUTDATED, SUPERSEDED)):
                if a.row.checksum is not None and m.checksum is not None and not m.checksum_matches(a.row.checksum):
                    return _mismatch("checksum", name, a.row.checksum, m.checksum)
            if flyway_abbreviate(m.description) != a.row.description:
                return _mismatch("description", name, a.row.description, m.description)
    return None


def flyway_abbreviate(description: str) -> str:
    from ddl_cascade.db.history import abbreviate_description

    return abbreviate_description(description)


def _mismatch(what: str, name: str, applied: object, resolved: object) -> str:
    return (f"Migration {what} mismatch for migration {name}\n"
            f"-> Applied to database : {applied}\n"
            f"-> Resolved locally    : {resolved}")
