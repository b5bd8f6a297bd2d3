"""Which folders a Flyway run reads, and the files in them, in a work tree or in a git tree.

A location is a folder relative to the checked folder (the parent's `source.path`, or a child's root). Flyway scans
every location recursively and skips hidden folders; a location inside another listed location is a
"sub-location" that Flyway drops, and so do we, so a file is never seen twice. Callbacks are read from the
callback locations (`callbackLocations`) when they are set, else from the migration locations.

- The parent's locations are cascade.toml's `[flyway]` `sql_paths` and `callback_paths` (`configured`).
- A child's come from its own `flyway.toml` (`[flyway] locations` and `callbackLocations`, or those of its active
  environment's `[environments.NAME.flyway]`) or `flyway.conf` (`flyway.locations`, `flyway.callbackLocations`) at
  its root, read by `ddl_cascade.flyway.settings`; only `filesystem:`
  locations, relative to the child's root, can be read from git. Without either file, they are `local_paths`
  (from the child's entry or `[defaults]`) plus the shared migration and callback folders under its prefix
  (`child_locations`).

Files are read from a work tree (`read_worktree`) or from git objects (`tree_paths`, `read_tree`), never from a
checkout, so `validate` and `db` need no second work tree. Both give the same shape: relative path -> bytes.
`validate` and `db` build on this module; it knows nothing of either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ddl_cascade import git
from ddl_cascade.config import Child, Config, FlywaySettings
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway import settings
from ddl_cascade.flyway.settings import Settings

MIGRATION = "migration"
CALLBACK = "callback"


def inside(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or under it ("." holds everything)."""
    return folder == "." or path == folder or path.startswith(folder.rstrip("/") + "/")


def without_sublocations(folders: list[str]) -> list[str]:
    """The folders, duplicates and sub-locations (folders inside another listed one) dropped, as Flyway does."""
    unique = list(dict.fromkeys(folders))
    return [f for f in unique if not any(o != f and inside(f, o) for o in unique)]


def configured(settings: FlywaySettings) -> list[tuple[str, str]]:
    """(folder, role) for each location of cascade.toml's [flyway], sub-locations dropped; a folder listed as both
    is a migration one."""
    chosen = {folder: MIGRATION for folder in settings.sql_paths}
    for folder in settings.callback_paths:
        chosen.setdefault(folder, CALLBACK)
    kept = without_sublocations(list(chosen))
    return [(folder, chosen[folder]) for folder in kept]


def by_location(paths: list[str], locations: list[str]) -> dict[str, list[str]]:
    """Files per location, relative to it; sub-locations dropped, so no file is seen twice."""
    kept = without_sublocations(locations)
    out: dict[str, list[str]] = {}
    for path in paths:
        for loc in kept:
            if inside(path, loc):
                out.setdefault(loc, []).append(path if loc == "." else path[len(loc) + 1:])
                break
    return out


# -- reading files ----------------------------------------------------------------------------------------------------


def source_folder(config: Config) -> Path:
    """The parent's `source.path` folder in its work tree: a folder, and inside the repository once symbolic links
    are resolved (a CascadeError naming the key otherwise)."""
    folder = config.root / config.source.path
    if not folder.is_dir():
        raise CascadeError(f"{config.file}: source.path '{config.source.path}' is not a folder in {config.root}.")
    if not _within(folder, config.root.resolve()):
        raise OutsideSource(f"{config.file}: source.path '{config.source.path}' is a symbolic link that points "
                            f"outside {config.root}; ddl-cascade reads nothing outside the repository.")
    return folder


class OutsideSource(CascadeError):
    """A file (or folder) under the checked folder is a symbolic link that leads out of it."""


def read_worktree(root: Path, wanted: list[str] | None = None, *, outside: list[str] | None = None) -> dict[str, bytes]:
    """Every non-hidden file under `root` (only under the `wanted` folders if given, each recursively), keyed by its
    path relative to `root` with "/".

    Nothing outside `root` is ever read: a symbolic link (to a file, or a folder, or a `wanted` folder itself) whose
    target lies outside `root` is not followed. Its relative path is appended to `outside` when a list is given (so
    `validate` can report it); without one, the first such link raises `OutsideSource`, naming the link, never its
    target (so `db` refuses to run anything). A symbolic link to a folder inside `root` is not followed either (as
    before: a file is seen once, at its own path).
    """
    out: dict[str, bytes] = {}
    if not root.is_dir():
        return out
    boundary = root.resolve()
    found: list[str] = [] if outside is None else outside
    for folder in wanted if wanted is not None else ["."]:
        top = root / folder
        if not _within(top, boundary):
            found.append(folder)
        else:
            _walk(root, top, boundary, out, found)
        if outside is None and found:
            raise OutsideSource(f"{root / found[0]} is a symbolic link that points outside {root}; "
                                "ddl-cascade reads and runs nothing outside the source folder.")
    return out


def _within(path: Path, boundary: Path) -> bool:
    """Whether `path`, symbolic links resolved, is `boundary` or inside it."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a loop of links
        return False
    return resolved == boundary or boundary in resolved.parents


def _walk(root: Path, top: Path, boundary: Path, out: dict[str, bytes], outside: list[str]) -> None:
    for dirpath, dirnames, filenames in os.walk(top):  # symbolic links to folders are listed, not followed
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")

        def rel(name: str) -> str:
            return name if rel_dir == "." else f"{rel_dir}/{name}"

        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if os.path.islink(full) and not _within(Path(full), boundary):
                outside.append(rel(d))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if os.path.islink(full) and not _within(Path(full), boundary):
                outside.append(rel(name))
                continue
            if not os.path.isfile(full):
                continue
            with open(full, "rb") as fh:
                out[rel(name)] = fh.read()


def tree_paths(reader: git.ObjectReader, tree: str) -> dict[str, str]:
    """Blob ids of every file under a git tree (hidden folders skipped, submodules ignored), by relative path."""
    out: dict[str, str] = {}
    pending = [("", tree)]
    while pending:
        answers = list(reader.read_many([oid for _, oid in pending]))
        next_pending: list[tuple[str, str]] = []
        for (prefix, _), answer in zip(pending, answers):
            if answer is None or answer[1] != "tree":
                continue
            for mode, raw_name, oid in git.parse_tree(answer[2]):
                name = raw_name.decode("utf-8", "surrogateescape")
                rel = f"{prefix}{name}"
                if mode == "40000":
                    if not name.startswith("."):
                        next_pending.append((rel + "/", oid))
                elif mode in ("100644", "100755", "120000"):
                    out[rel] = oid
        pending = next_pending
    return out


def read_tree(reader: git.ObjectReader, tree: str, wanted: list[str] | None = None) -> dict[str, bytes]:
    """Contents of the files under a git tree, keyed by relative path; only those under `wanted` folders if given."""
    paths = tree_paths(reader, tree)
    if wanted is not None:
        paths = {p: oid for p, oid in paths.items() if any(inside(p, w) for w in wanted)}
    names = sorted(paths)
    blobs = reader.read_many([paths[n] for n in names])
    return {name: answer[2] for name, answer in zip(names, blobs) if answer is not None}


# -- a child's locations ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Locations:
    """A child's Flyway locations, relative to its root. `callbacks` is set when the child's Flyway configuration
    has `callbackLocations`: Flyway then reads callbacks only from there. `settings` is the child's whole Flyway
    configuration (`ddl_cascade.flyway.settings`)."""

    migrations: list[str]
    callbacks: list[str] | None = None
    settings: Settings = Settings()

    @property
    def out_of_order(self) -> bool:  # Flyway's outOfOrder: lower new versions are applied instead of ignored
        return self.settings.out_of_order

    @property
    def all(self) -> list[str]:
        return list(dict.fromkeys(self.migrations + (self.callbacks or [])))


def default_locations(child: Child, config: Config) -> list[str]:
    """A child's locations without a Flyway configuration of its own: its `local_paths` and the shared folders."""
    prefix = child.prefix.rstrip("/")
    shared = [f"{prefix}/{p}" for p in config.flyway.sql_paths + config.flyway.callback_paths]
    return list(dict.fromkeys(list(child.local_paths) + shared))


CONFIG_FILES = ("flyway.toml", "flyway.conf")


def child_settings(reader: git.ObjectReader, files: dict[str, str], environment: str | None = None) -> Settings:
    """The child's own Flyway configuration (`files`: blob ids of the entries at its root): flyway.toml when it has
    one, else flyway.conf, else Flyway's defaults. A value Flyway would refuse is a `SettingsError`."""
    texts: dict[str, str | None] = {}
    for name in CONFIG_FILES:
        answer = reader.read(files[name]) if name in files else None
        texts[name] = answer[2].decode("utf-8", "replace") if answer else None
    return settings.read(texts, environment)


def child_locations(found: Settings, child: Child, config: Config) -> Locations:
    """The child's Flyway locations from its own Flyway configuration when that names `filesystem:` ones, else from
    `local_paths` and the shared folders."""
    migrations = _filesystem(list(found.locations or []))
    if not migrations:
        return Locations(default_locations(child, config), settings=found)
    callbacks = _filesystem(list(found.callback_locations)) if found.callback_locations is not None else None
    return Locations(migrations, callbacks, found)


def _filesystem(raw: list[str]) -> list[str]:
    """The `filesystem:` locations, as folders relative to the child's root (others cannot be read from git)."""
    out: list[str] = []
    for location in raw:
        kind, sep, path = location.partition(":")
        if not sep:
            continue  # no prefix means classpath: not a folder of the repository
        if kind != "filesystem" or path.startswith("/"):
            continue
        normal = PurePosixPath(path).as_posix()  # also drops "./" and a trailing "/"
        if ".." in PurePosixPath(normal).parts:
            continue
        out.append(normal)
    return list(dict.fromkeys(out))
