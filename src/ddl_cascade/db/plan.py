"""The migrations and callbacks one Flyway run sees: the shared files, or a child's shared and own files together.

- Without a child, the parent's working tree under `source.path`: `flyway.sql_paths` are the migration locations and
  `flyway.callback_paths` the callback locations (Flyway's `callbackLocations`: callbacks are read only there).
- With `--child NAME`, the child's branch as the sync cache (`ddl_cascade.mirror`) fetched it. The child's Flyway
  reads the delivered folder (`<prefix>/<sql_paths>`, `<prefix>/<callback_paths>`) and its own migrations. Its own
  locations come from its `flyway.toml` (`[flyway] locations`, `callbackLocations`, `placeholders`) or `flyway.conf`
  (`flyway.locations`, `flyway.callbackLocations`, `flyway.placeholders.*`) at the root of its repository when it
  has one, else from `local_paths` in cascade.toml; its own folders may hold callbacks too.

Names are resolved and ordered by `ddl_cascade.flyway.resolve` (B, then V by version, then R by description); a
duplicate version or description is an error, as it is for Flyway.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

from ddl_cascade import flyway
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import CascadeError


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
class Plan:
    """Everything one Flyway run resolves: migrations in Flyway's order, callbacks by event then description."""

    migrations: tuple[Script, ...]
    callbacks: tuple[Script, ...]
    placeholders: dict[str, str] = field(default_factory=dict)
    origin: str = "parent"  # "parent" or "child <name>", for messages

    def callbacks_for(self, event: str) -> list[Script]:
        return [c for c in self.callbacks if c.event == event]


Files = dict[str, bytes]  # location-relative path -> contents


def build(migration_locations: dict[str, Files], callback_locations: dict[str, Files], *, encoding: str,
          placeholders: dict[str, str], display_root: str = "", origin: str = "parent") -> Plan:
    """Resolve the files of each location into a Plan; a duplicate or an undecodable file is a CascadeError."""
    resolution = flyway.resolve(
        {loc: list(files) for loc, files in migration_locations.items()},
        callback_locations={loc: list(files) for loc, files in callback_locations.items()},
    )
    for problem in resolution.problems:
        if problem.code != "INVALID_NAME":  # Flyway skips badly named files unless validateMigrationNaming is on
            raise CascadeError(f"{origin}: {problem.message}".replace("\n", " "))

    def script(resolved: flyway.ResolvedMigration, pool: dict[str, Files]) -> Script:
        files = pool[resolved.location]
        shown = f"{display_root}/{resolved.path}" if display_root else resolved.path
        conf_data = files.get(resolved.script + ".conf")
        try:
            config = flyway.parse_script_config(conf_data.decode("utf-8"), shown + ".conf") if conf_data \
                else flyway.ScriptConfig()
            text = flyway.decode_script(files[resolved.script], config.encoding or encoding, name=shown)
        except (flyway.FlywayError, UnicodeDecodeError) as exc:
            raise CascadeError(f"{shown}: {exc}".replace("\n", " ")) from None
        return Script(resolved, text, config, shown)

    return Plan(
        migrations=tuple(script(m, migration_locations) for m in resolution.migrations),
        callbacks=tuple(script(c, callback_locations) for c in resolution.callbacks),
        placeholders=dict(placeholders),
        origin=origin,
    )


def _without_sublocations(folders: list[str]) -> list[str]:
    unique = list(dict.fromkeys(folders))
    return [f for f in unique if not any(o != f and (o == "." or f.startswith(o.rstrip("/") + "/")) for o in unique)]


def for_parent(cfg: Config) -> Plan:
    """The shared migrations as they are in the parent's working tree."""
    from ddl_cascade.validate.files import read_worktree

    root = cfg.root / cfg.source.path
    if not root.is_dir():
        raise CascadeError(f"{cfg.file}: source.path '{cfg.source.path}' is not a folder in {cfg.root}.")
    cache: dict[str, Files] = {}

    def read(folder: str) -> Files:
        if folder not in cache:
            cache[folder] = read_worktree(root / folder)
        return cache[folder]

    return build(
        {f: read(f) for f in _without_sublocations(list(cfg.flyway.sql_paths))},
        {f: read(f) for f in _without_sublocations(list(cfg.flyway.callback_paths))},
        encoding=cfg.flyway.encoding,
        placeholders=cfg.flyway.placeholders,
        display_root=cfg.source.path,
    )


# -- a child ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildFlyway:
    """What a child's own Flyway config says (None: it has none, or does not say)."""

    locations: tuple[str, ...] | None = None
    callback_locations: tuple[str, ...] | None = None
    placeholders: dict[str, str] = field(default_factory=dict)


def _filesystem(entries: list[str]) -> tuple[str, ...]:
    """`filesystem:` locations as repository-relative folders (classpath and cloud locations are not in git)."""
    folders = []
    for entry in entries:
        entry = entry.strip()
        if entry.startswith("filesystem:"):
            entry = entry[len("filesystem:"):]
        elif ":" in entry.split("/")[0]:
            continue
        entry = entry.replace("\\", "/").strip("/")
        while entry.startswith("./"):
            entry = entry[2:]
        folders.append(entry or ".")
    return tuple(folders)


def parse_child_flyway(toml_text: str | None, conf_text: str | None) -> ChildFlyway:
    """A child's flyway.toml (preferred, as Flyway does) or flyway.conf: its locations and placeholders."""
    if toml_text is not None:
        try:
            data = tomllib.loads(toml_text).get("flyway", {})
        except tomllib.TOMLDecodeError:
            data = {}
        locations = data.get("locations")
        callbacks = data.get("callbackLocations")
        placeholders = data.get("placeholders") or {}
        return ChildFlyway(
            _filesystem(locations) if isinstance(locations, list) else None,
            _filesystem(callbacks) if isinstance(callbacks, list) else None,
            {str(k): str(v) for k, v in placeholders.items()} if isinstance(placeholders, dict) else {},
        )
    if conf_text is not None:
        props: dict[str, str] = {}
        for line in conf_text.splitlines():
            m = re.match(r"\s*(flyway\.[^=:\s]+)\s*[=:]\s*(.*?)\s*$", line)
            if m:
                props[m.group(1)] = m.group(2)
        split = lambda key: _filesystem(props[key].split(",")) if key in props else None  # noqa: E731
        return ChildFlyway(
            split("flyway.locations"),
            split("flyway.callbackLocations"),
            {k[len("flyway.placeholders."):]: v for k, v in props.items() if k.startswith("flyway.placeholders.")},
        )
    return ChildFlyway()


def child_locations(cfg: Config, child: Child, own: ChildFlyway) -> tuple[list[str], list[str]]:
    """(migration folders, callback folders) of the child's Flyway, relative to the child's repository root."""
    shared_sql = [f"{child.prefix}/{p}" for p in cfg.flyway.sql_paths]
    shared_callbacks = [f"{child.prefix}/{p}" for p in cfg.flyway.callback_paths]
    if own.locations is not None:
        migrations = list(own.locations)
        # Flyway without callbackLocations finds callbacks in the locations themselves.
        callbacks = list(own.callback_locations) if own.callback_locations is not None else list(own.locations)
    else:
        migrations = shared_sql + list(child.local_paths)
        callbacks = shared_callbacks + list(child.local_paths)
    return _without_sublocations(migrations), _without_sublocations(callbacks)


def for_child(cfg: Config, name: str, tip: str | None = None) -> Plan:
    """The migrations the child's own Flyway runs: its branch as the sync cache fetched it (or at `tip`, a commit
    the cache already holds, e.g. from the fetch `status` just made)."""
    from ddl_cascade import git
    from ddl_cascade.mirror import Mirror
    from ddl_cascade.validate.files import read_tree

    child = cfg.child(name)
    mirror = Mirror(cfg)
    if tip is None:
        fetched = mirror.fetch_one(child)
        if fetched.error:
            raise CascadeError(f"child '{name}' is unreachable: {fetched.error}")
        if fetched.tip is None:
            raise CascadeError(f"child '{name}' has no branch '{child.branch}' at {child.url}.")
        tip = fetched.tip
    with git.ObjectReader(mirror.path) as reader:
        tree_answer = reader.read(f"{tip}^{{tree}}")
        assert tree_answer is not None
        tree = tree_answer[0]
        top = read_tree(reader, tree, ["flyway.toml", "flyway.conf"])
        own = parse_child_flyway(
            top["flyway.toml"].decode("utf-8", "replace") if "flyway.toml" in top else None,
            top["flyway.conf"].decode("utf-8", "replace") if "flyway.conf" in top else None,
        )
        migration_folders, callback_folders = child_locations(cfg, child, own)
        everything = read_tree(reader, tree, sorted(set(migration_folders + callback_folders)))

    def under(folder: str) -> Files:
        if folder == ".":
            return dict(everything)
        prefix = folder.rstrip("/") + "/"
        return {p[len(prefix):]: data for p, data in everything.items() if p.startswith(prefix)}

    placeholders = dict(cfg.flyway.placeholders)
    placeholders.update(own.placeholders)
    return build(
        {f: under(f) for f in migration_folders},
        {f: under(f) for f in callback_folders},
        encoding=cfg.flyway.encoding,
        placeholders=placeholders,
        origin=f"child '{name}'",
    )


def for_target(cfg: Config, child: str | None) -> Plan:
    return for_child(cfg, child) if child else for_parent(cfg)
