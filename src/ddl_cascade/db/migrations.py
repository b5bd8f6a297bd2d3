"""The migrations and callbacks one Flyway run sees (a `MigrationSet`): the shared files, or a child's shared and own
files together. Which folders and files that is, `ddl_cascade.flyway.locations` decides; this module decodes and
resolves them.

- Without a child, the parent's working tree under `source.path`: `flyway.sql_paths` are the migration locations and
  `flyway.callback_paths` the callback locations (Flyway's `callbackLocations`: callbacks are read only there).
- With `--child NAME`, what the child will hold after its next sync: its own files at its branch tip as the cache of
  children (`ddl_cascade.cascade.cache`) fetched it, with its read-only folder (`prefix`) replaced by the tree its
  **target** delivers (issue 13: its pin, else its channel's commit, else the delivery tip; `ddl_cascade.cascade.
  channels`). The delivery branch holds the split, so the target commit's root tree is the read-only folder's
  content. So `db verify --child` proves the migrations the child's next sync brings, and `status --db` compares a
  database with what the child's channel should have applied. Before the first publish (no delivery branch) the
  folder is read as the child holds it. The files are read through the child's own Flyway configuration exactly as
  `validate --children` reads it: the `filesystem:` locations of its `flyway.toml` or `flyway.conf` when it has one,
  else `local_paths` plus the delivered folder (`<prefix>/<sql_paths>`, `<prefix>/<callback_paths>`). Callbacks are
  read from `callbackLocations` when set, else from the locations themselves. The child's `[flyway.placeholders]`
  (or `flyway.placeholders.*`) add to cascade.toml's placeholders.

Names are resolved and ordered by `ddl_cascade.flyway.resolve` (B, then V by version, then R by description); a
duplicate version or description is an error, as it is for Flyway.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ddl_cascade import flyway
from ddl_cascade.config import Config
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway import locations
from ddl_cascade.flyway.settings import Settings, SettingsError


@dataclass(frozen=True)
class Script:
    """One migration or callback file with what running it needs."""

    resolved: flyway.ResolvedMigration
    text: str  # decoded with the configured (or the .conf's) encoding; a leading BOM is kept
    config: flyway.ScriptConfig
    display_path: str  # relative to the repository root, for messages

    @property
    def kind(self) -> flyway.Kind:
        return self.resolved.kind

    @property
    def version(self) -> flyway.Version | None:
        return self.resolved.version

    @property
    def description(self) -> str:
        return self.resolved.description

    @property
    def type(self) -> str:
        return self.resolved.type

    @property
    def script(self) -> str:
        return self.resolved.script

    @property
    def filename(self) -> str:
        return self.resolved.name.filename

    @property
    def event(self) -> str | None:
        return self.resolved.name.event


@dataclass(frozen=True)
class Delivered:
    """Where a child's read-only folder was read from: the delivered commit (its target) and why that one."""

    prefix: str  # the child's read-only folder
    commit: str | None  # None: no delivery branch yet, the folder as the child holds it
    reason: str  # "its channel 'prod'", "its pin 'v1'", "the delivery tip", or why there is no commit

    def describe(self) -> str:
        if self.commit is None:
            return f"read-only folder {self.prefix}/ as the child holds it ({self.reason})"
        return f"read-only folder {self.prefix}/ from delivered commit {self.commit[:12]} ({self.reason})"


@dataclass(frozen=True)
class MigrationSet:
    """Everything one Flyway run resolves: migrations in Flyway's order, callbacks by event then description."""

    migrations: tuple[Script, ...]
    callbacks: tuple[Script, ...]
    placeholders: dict[str, str] = field(default_factory=dict)
    origin: str = "parent"  # "parent" or "child <name>", for messages
    settings: Settings = Settings()  # the run's Flyway settings (history table, schemas, outOfOrder, target…)
    delivered: Delivered | None = None  # a child's set: where its read-only folder was read from

    def callbacks_for(self, event: str) -> list[Script]:
        return [c for c in self.callbacks if c.event == event]


Files = dict[str, bytes]  # location-relative path -> contents


def build(migration_locations: dict[str, Files], callback_locations: dict[str, Files], *, encoding: str,
          placeholders: dict[str, str], display_root: str = "", origin: str = "parent",
          settings: Settings = Settings()) -> MigrationSet:
    """Resolve the files of each location into a MigrationSet, file names parsed with the settings' prefixes,
    separator and suffixes; a duplicate, an undecodable file, or (with validateMigrationNaming) a badly named one is a
    CascadeError."""
    resolution = flyway.resolve(
        {loc: list(files) for loc, files in migration_locations.items()},
        callback_locations={loc: list(files) for loc, files in callback_locations.items()},
        suffixes=settings.sql_migration_suffixes,
        separator=settings.sql_migration_separator,
        versioned_prefix=settings.sql_migration_prefix,
        repeatable_prefix=settings.repeatable_sql_migration_prefix,
        baseline_prefix=settings.baseline_migration_prefix,
    )
    migration_folders = [loc.rstrip("/") + "/" if loc else "" for loc in migration_locations]
    for problem in resolution.problems:
        # Flyway skips badly named files unless validateMigrationNaming is on, and then only refuses those of the
        # migration locations (its callback resolver never validates names).
        if problem.code != "INVALID_NAME" or (settings.validate_migration_naming and any(
                path.startswith(folder) for path in problem.paths for folder in migration_folders)):
            raise CascadeError(f"{origin}: {problem.message}".replace("\n", " "))

    def script(resolved: flyway.ResolvedMigration, pool: dict[str, Files]) -> Script:
        files = pool[resolved.location]
        shown = f"{display_root}/{resolved.path}" if display_root else resolved.path
        try:
            resolved.path.encode("utf-8")
        except UnicodeEncodeError:  # the name's bytes are not UTF-8 (read with surrogateescape)
            printable = shown.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            raise CascadeError(f"{printable}: the file name is not valid UTF-8, so Flyway cannot record it in "
                               f"flyway_schema_history; rename the file.") from None
        conf_data = files.get(resolved.script + ".conf")
        try:
            config = flyway.parse_script_config(conf_data.decode("utf-8"), shown + ".conf") if conf_data \
                else flyway.ScriptConfig()
            text = flyway.decode_script(files[resolved.script], config.encoding or encoding, name=shown)
        except (flyway.FlywayError, UnicodeDecodeError) as exc:
            raise CascadeError(f"{shown}: {exc}".replace("\n", " ")) from None
        return Script(resolved, text, config, shown)

    return MigrationSet(
        migrations=tuple(script(m, migration_locations) for m in resolution.migrations),
        callbacks=tuple(script(c, callback_locations) for c in resolution.callbacks),
        placeholders=dict(placeholders),
        origin=origin,
        settings=settings,
    )


def for_parent(cfg: Config, environment: str | None = None) -> MigrationSet:
    """The shared migrations as they are in the parent's working tree; Flyway settings from cascade.toml's
    `[environments.<environment>]` when given."""
    root = locations.source_folder(cfg)
    # Read through the source folder, so a symbolic link out of it is refused (OutsideSource), never run.
    return _parent_set(cfg, lambda folders: locations.read_worktree(root, folders), cfg.source.path, environment)


def for_parent_at(cfg: Config, commit: str) -> MigrationSet:
    """The shared migrations as the parent held them at `commit` (`db diff --base`). The delivery branch holds the
    source folder at its root; any other commit holds it at `source.path`, so that folder is used when the commit
    has it (as `validate --base` reads it)."""
    from ddl_cascade import git

    tree = git.folder_at(cfg.root, commit, cfg.source.path) or git.rev_parse(cfg.root, f"{commit}^{{tree}}")
    if tree is None:
        raise CascadeError(f"commit {commit} has no tree in {cfg.root}.")

    def read(folders: list[str]) -> Files:
        with git.ObjectReader(cfg.root) as reader:
            return locations.read_tree(reader, tree, None if "." in folders else folders)

    return _parent_set(cfg, read, f"{cfg.source.path}@{commit[:12]}", None)


def _parent_set(cfg: Config, read_folders, display_root: str, environment: str | None) -> MigrationSet:
    """The parent's MigrationSet from `read_folders(folders) -> Files` (paths relative to the source folder)."""
    migration_folders = locations.without_sublocations(list(cfg.flyway.sql_paths))
    callback_folders = locations.without_sublocations(list(cfg.flyway.callback_paths))
    everything = read_folders(sorted(set(migration_folders + callback_folders)))

    def under(folder: str) -> Files:
        if folder == ".":
            return dict(everything)
        prefix = folder.rstrip("/") + "/"
        return {path[len(prefix):]: data for path, data in everything.items() if path.startswith(prefix)}

    return build(
        {f: under(f) for f in migration_folders},
        {f: under(f) for f in callback_folders},
        encoding=cfg.flyway.encoding,
        placeholders=cfg.flyway.placeholders,
        display_root=display_root,
        settings=_with_environment(Settings(placeholders=dict(cfg.flyway.placeholders), encoding=cfg.flyway.encoding),
                                   cfg, environment),
    )


def _with_environment(settings: Settings, cfg: Config, environment: str | None) -> Settings:
    """cascade.toml's `[environments.NAME]` Flyway keys win over the child's own configuration and the defaults."""
    env = cfg.environments.get(environment) if environment else None
    return settings.replace(**env.flyway_settings()) if env is not None else settings


# -- a child ----------------------------------------------------------------------------------------------------------


def child_target(cfg: Config, name: str) -> Delivered:
    """Where the child's read-only folder comes from: its target (its pin, else its channel's commit, else the
    delivery tip); no commit before the parent's first publish."""
    from ddl_cascade.cascade import channels
    from ddl_cascade.cascade.state import DeliveryHistory, find_delivery_tip

    child = cfg.child(name)
    prefix = child.prefix.strip("/")
    found = find_delivery_tip(cfg)
    if found.tip is None:
        return Delivered(prefix, None, f"the parent has no delivery branch '{cfg.source.delivery_branch}' yet")
    history = DeliveryHistory.load(cfg)
    target = channels.target_of(cfg, history, child)
    if target is None:
        return Delivered(prefix, history.tip, "the delivery tip")
    if target.pinned:
        return Delivered(prefix, target.commit, f"its pin {child.pin!r}")
    return Delivered(prefix, target.commit, f"its channel '{target.channel}'")


def for_child(cfg: Config, name: str, tip: str | None = None, environment: str | None = None,
              delivered: Delivered | None = None) -> MigrationSet:
    """The migrations the child's own Flyway will run after its next sync: its branch as the cache of children
    fetched it (or at `tip`, a commit the cache already holds, e.g. from the fetch `status` just made), its read-only
    folder replaced by the tree of `delivered` (default: the child's target, `child_target`). Its locations are
    decided exactly as for `validate --children` (`ddl_cascade.flyway.locations.child_locations`), and its Flyway
    settings are its own flyway.toml's (for `environment` when that file defines it) or flyway.conf's, under
    cascade.toml's `[environments.<environment>]` keys."""
    from ddl_cascade import git
    from ddl_cascade.cascade.cache import ChildCache

    child = cfg.child(name)
    if delivered is None:
        delivered = child_target(cfg, name)
    cache = ChildCache(cfg)
    if tip is None:
        fetched = cache.fetch_one(child)
        if fetched.error:
            raise CascadeError(f"child '{name}' is unreachable: {fetched.error}")
        if fetched.tip is None:
            raise CascadeError(f"child '{name}' has no branch '{child.branch}' at {child.url}.")
        tip = fetched.tip
    with git.ObjectReader(cache.path) as reader:
        root = reader.read(f"{tip}^{{tree}}")
        if root is None:
            raise CascadeError(f"child '{name}': commit {tip} is not in the cache; run it again to fetch.")
        top = {entry.decode("utf-8", "surrogateescape"): oid for _, entry, oid in git.parse_tree(root[2])}
        try:
            own = locations.child_settings(reader, top, environment)
        except SettingsError as exc:
            raise CascadeError(f"child '{name}': {exc}") from None
        found = locations.child_locations(own, child, cfg)
        migration_folders, callback_folders = _folders(found)
        wanted = sorted(set(migration_folders + callback_folders))
        if delivered.commit is None:
            everything = locations.read_tree(reader, root[0], wanted)
        else:
            everything = _with_delivered(cfg, reader, root[0], wanted, delivered)
    return for_locations(found, everything, cfg, origin=f"child '{name}'", environment=environment,
                         delivered=delivered)


def _with_delivered(cfg: Config, reader, tree: str, wanted: list[str], delivered: Delivered) -> Files:
    """The child's files under the `wanted` folders, those of its read-only folder taken from the delivered commit's
    tree instead of its own (read through the cache, which borrows the parent's objects; else from the parent)."""
    from ddl_cascade import git

    prefix = delivered.prefix
    own = {p: oid for p, oid in locations.tree_paths(reader, tree).items() if not locations.inside(p, prefix)}
    # tree_paths skips hidden folders; a hidden read-only folder is skipped the same way.
    hidden = any(part.startswith(".") for part in prefix.split("/"))

    def read(source) -> tuple[dict[str, str], list] | None:
        answer = source.read(f"{delivered.commit}^{{tree}}")
        if answer is None:
            return None
        paths = {} if hidden else {f"{prefix}/{p}": oid for p, oid in locations.tree_paths(source, answer[0]).items()}
        paths = {p: oid for p, oid in paths.items() if any(locations.inside(p, w) for w in wanted)}
        names = sorted(paths)
        return paths, list(zip(names, source.read_many([paths[n] for n in names])))

    got = read(reader)
    if got is None:  # the cache cannot see the parent's objects: read the delivered tree in the parent itself
        with git.ObjectReader(cfg.root) as parent:
            got = read(parent)
        if got is None:
            raise CascadeError(f"delivered commit {delivered.commit} cannot be read in the parent {cfg.root}.")
    own = {p: oid for p, oid in own.items() if any(locations.inside(p, w) for w in wanted)}
    names = sorted(own)
    out = {n: answer[2] for n, answer in zip(names, reader.read_many([own[n] for n in names])) if answer is not None}
    out.update({n: answer[2] for n, answer in got[1] if answer is not None})
    return out


def _folders(found: locations.Locations) -> tuple[list[str], list[str]]:
    """The migration and callback folders a child's Flyway scans, sub-locations dropped. Without callbackLocations,
    Flyway finds callbacks in the migration locations themselves."""
    migration_folders = locations.without_sublocations(found.migrations)
    callback_folders = locations.without_sublocations(found.callbacks if found.callbacks is not None
                                                       else found.migrations)
    return migration_folders, callback_folders


def for_locations(found: locations.Locations, everything: Files, cfg: Config, *, origin: str,
                  environment: str | None = None, delivered: Delivered | None = None) -> MigrationSet:
    """The MigrationSet of a child's files (`everything`: path relative to the child's root -> contents) under its
    locations, run with its own settings: its placeholders added to cascade.toml's, its encoding else cascade.toml's,
    cascade.toml's `[environments.<environment>]` keys on top."""
    own = found.settings
    migration_folders, callback_folders = _folders(found)

    def under(folder: str) -> Files:
        if folder == ".":
            return dict(everything)
        prefix = folder.rstrip("/") + "/"
        return {p[len(prefix):]: data for p, data in everything.items() if p.startswith(prefix)}

    placeholders = {**cfg.flyway.placeholders, **own.placeholders}
    run_settings = _with_environment(own.replace(placeholders=placeholders,
                                                 encoding=own.encoding or cfg.flyway.encoding), cfg, environment)
    built = build(
        {f: under(f) for f in migration_folders},
        {f: under(f) for f in callback_folders},
        encoding=run_settings.encoding or cfg.flyway.encoding,
        placeholders=placeholders,
        origin=origin,
        settings=run_settings,
    )
    return dataclasses.replace(built, delivered=delivered) if delivered is not None else built


def for_target(cfg: Config, child: str | None, environment: str | None = None) -> MigrationSet:
    return for_child(cfg, child, environment=environment) if child else for_parent(cfg, environment)
