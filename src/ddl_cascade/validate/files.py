"""Which files `validate` looks at, read from the working tree or from a git tree.

The parent is checked as the pull request contains it: its working tree, under `source.path`. What counts as
"already delivered" is read from git objects (`--base`, by default the delivery branch), never from a checkout, so
validate needs no second work tree. Both sides are turned into the same `Tree` (location-relative path -> bytes), so
every check runs the same way on either.

Flyway scans every location recursively and skips hidden folders; a location inside another listed location is a
"sub-location" that Flyway drops, and so do we, so a file is never seen twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ddl_cascade import git
from ddl_cascade.config import FlywaySettings

MIGRATION = "migration"
CALLBACK = "callback"


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


@dataclass
class Files:
    """Everything found under one folder's locations."""

    scripts: list[ScriptFile] = field(default_factory=list)
    # Files in a location that are not checked as scripts (yaml, README...), by display path: only their names
    # matter (naming/invalid warns about migration-looking names with another suffix).
    others: list[ScriptFile] = field(default_factory=list)


def locations(settings: FlywaySettings) -> list[tuple[str, str]]:
    """(folder, role) for each configured location, sub-locations dropped; a folder listed as both is a migration one."""
    chosen: list[tuple[str, str]] = []
    seen: set[str] = set()
    for folder, role in [(p, MIGRATION) for p in settings.sql_paths] + [(p, CALLBACK) for p in settings.callback_paths]:
        if folder in seen:
            continue
        seen.add(folder)
        chosen.append((folder, role))
    return [
        (folder, role)
        for folder, role in chosen
        if not any(other != folder and _inside(folder, other) for other, _ in chosen)
    ]


def _inside(path: str, folder: str) -> bool:
    return folder == "." or path == folder or path.startswith(folder.rstrip("/") + "/")


def read_worktree(root: Path, wanted: list[str] | None = None) -> dict[str, bytes]:
    """Every non-hidden file under `root` (only under the `wanted` folders if given, each recursively), keyed by its
    path relative to `root` with "/"."""
    out: dict[str, bytes] = {}
    if not root.is_dir():
        return out
    for folder in wanted if wanted is not None else ["."]:
        _walk(root, root / folder, out)
    return out


def _walk(root: Path, top: Path, out: dict[str, bytes]) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if not os.path.isfile(full):
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            with open(full, "rb") as fh:
                out[rel] = fh.read()


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
        paths = {p: oid for p, oid in paths.items() if any(_inside(p, w) for w in wanted)}
    names = sorted(paths)
    blobs = reader.read_many([paths[n] for n in names])
    return {name: answer[2] for name, answer in zip(names, blobs) if answer is not None}


def collect(tree: dict[str, bytes], settings: FlywaySettings, display_prefix: str) -> Files:
    """Sort the files of one folder (source.path or the delivered tree) into scripts per configured location.

    `display_prefix` is prepended to paths in findings (`read-write-flyway-files/`), so they are relative to the
    repository root whichever side they were read from.
    """
    files = Files()
    locs = locations(settings)
    for rel in sorted(tree):
        for folder, role in locs:
            if not _inside(rel, folder):
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
