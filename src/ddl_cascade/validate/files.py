"""The files `validate` checks, sorted into scripts per location, and Flyway's view of them.

The parent is checked as the pull request contains it: its working tree, under `source.path`. What counts as
"already delivered" is read from git objects (`--base`, by default the delivery branch), never from a checkout, so
validate needs no second work tree. `ddl_cascade.flyway.locations` reads either side into the same shape
(relative path -> bytes) and says which folders Flyway reads; `collect` turns that into `Files`, so every check runs
the same way on either side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ddl_cascade import flyway
from ddl_cascade.config import FlywaySettings
from ddl_cascade.flyway.locations import CALLBACK, MIGRATION, configured, inside

__all__ = ["CALLBACK", "MIGRATION", "Files", "ScriptFile", "collect", "decode", "resolve"]


@dataclass(frozen=True)
class ScriptFile:
    """One file found in a migration or callback location."""

    path: str  # what findings show: relative to the repository root, with "/"
    role: str  # MIGRATION or CALLBACK: the kind of location it was found in
    location: str  # the location folder, relative to the checked folder
    script: str  # relative to the location root, as Flyway's `script` column stores it
    data: bytes
    conf: bytes | None = None  # the `<file>.conf` script configuration beside it, if any

    @property
    def name(self) -> str:
        return self.script.rsplit("/", 1)[-1]

    @property
    def key(self) -> str:
        """The path `flyway.resolve` knows it by: location and script."""
        return f"{self.location.rstrip('/')}/{self.script}" if self.location else self.script


@dataclass
class Files:
    """Everything found under one folder's locations."""

    scripts: list[ScriptFile] = field(default_factory=list)
    # Files in a location that are not checked as scripts (yaml, README...), by display path: only their names
    # matter (naming/invalid warns about migration-looking names with another suffix).
    others: list[ScriptFile] = field(default_factory=list)


def collect(tree: dict[str, bytes], settings: FlywaySettings, display_prefix: str) -> Files:
    """Sort the files of one folder (source.path or the delivered tree) into scripts per configured location.

    `display_prefix` is prepended to paths in findings (`read-write-flyway-files/`), so they are relative to the
    repository root whichever side they were read from.
    """
    files = Files()
    locs = configured(settings)
    for rel in sorted(tree):
        for folder, role in locs:
            if not inside(rel, folder):
                continue
            script = rel if folder == "." else rel[len(folder) + 1:]
            name = script.rsplit("/", 1)[-1]
            if name.startswith("."):
                break  # .gitkeep and friends: never a migration
            item = ScriptFile(
                path=display_prefix + rel,
                role=role,
                location=folder,
                script=script,
                data=tree[rel],
                conf=tree.get(rel + ".conf") if name.lower().endswith(".sql") else None,
            )
            if name.lower().endswith(".sql"):
                files.scripts.append(item)
            else:
                files.others.append(item)
            break
    return files


def resolve(found: Files) -> flyway.Resolution:
    """Flyway's view of the files: migrations from the migration locations, callbacks from the callback ones."""
    migration_locs: dict[str, list[str]] = {}
    callback_locs: dict[str, list[str]] = {}
    for f in found.scripts + found.others:
        target = callback_locs if f.role == CALLBACK else migration_locs
        target.setdefault(f.location, []).append(f.script)
    return flyway.resolve(migration_locs, callback_locations=callback_locs)


def decode(data: bytes, encoding: str) -> tuple[str | None, int]:
    """The text, or None and the 0-based offset of the first byte that does not decode."""
    codec = "utf-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return data.decode(codec, "strict"), -1
    except UnicodeDecodeError as error:
        return None, error.start
