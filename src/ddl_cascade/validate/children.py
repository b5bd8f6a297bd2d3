"""`validate --children`: check the shared migrations against each child's own, as that child's Flyway sees them.

Each child is fetched through the same cache `sync` uses (`ddl_cascade.cascade.cache`), and read from git objects at its
branch tip; nothing is checked out. The child is modelled as it will be after the next sync: its own files, with
its read-only folder (the child's prefix) replaced by the parent's source folder as this pull request has it.

The child's Flyway locations come from its own Flyway configuration, else from `local_paths` and the shared
folders (`ddl_cascade.flyway.locations.child_locations`, which `db --child` uses too). All locations are then
resolved together by `ddl_cascade.flyway.resolve`, exactly as for the parent. A duplicate version, repeatable description or callback name between a shared file and a child's own file
is `child/version-collision`, reported on the shared file (that is what the pull request can change) and naming
the child's file. A shared version the child has not received yet, below the highest version it has, is
`child/out-of-order` unless the child's Flyway sets outOfOrder. Names are parsed with the child's own prefixes,
separator and suffixes, and only its active environment counts (flyway.toml's `flyway.environment`), as for its
Flyway.
"""

from __future__ import annotations

from ddl_cascade import flyway, git
from ddl_cascade.config import Child, Config
from ddl_cascade.flyway.locations import (Locations, by_location, child_locations, child_settings, default_locations,
                                         inside, tree_paths)
from ddl_cascade.flyway.settings import Settings, SettingsError
from ddl_cascade.validate.files import Files
from ddl_cascade.validate.model import Finding
from ddl_cascade.validate.rules import finding


def check(config: Config, current: Files, jobs: int | None = None) -> tuple[list[Finding], list[str]]:
    from ddl_cascade.cascade.cache import ChildCache

    cache = ChildCache(config)
    fetched = cache.fetch(config.children, jobs=jobs)
    config_path = _relative(config)
    source = config.source.path.rstrip("/") + "/"
    shared = sorted({f.path[len(source):] for f in current.scripts + current.others})
    findings: list[Finding] = []
    checked: list[str] = []
    with git.ObjectReader(cache.path) as reader:
        for child in config.children:
            result = fetched.get(child.name)
            if result is None or result.error is not None:
                why = result.error if result is not None else "not fetched"
                findings.append(finding("child/unreachable", config_path, 0, 0,
                                        f"child '{child.name}' could not be fetched ({why}); its migrations were "
                                        "not checked for collisions"))
                continue
            own: list[str] = []
            received: list[str] = []
            if result.tip is not None:
                root = reader.read(f"{result.tip}^{{tree}}")
                top = {name.decode("utf-8", "surrogateescape"): oid
                       for _, name, oid in git.parse_tree(root[2])} if root else {}
                try:
                    found = child_settings(reader, top)
                except SettingsError as exc:
                    findings.append(finding("child/flyway-config", config_path, 0, 0,
                                            f"child '{child.name}': {exc} Its collisions were checked with "
                                            "Flyway's default settings"))
                    found = Settings()
                locations = child_locations(found, child, config)
                own = own_files(reader, result.tip, locations.all, child.prefix)
                folder = reader.read(f"{result.tip}:{child.prefix.rstrip('/')}")
                if folder is not None and folder[1] == "tree":
                    received = list(tree_paths(reader, folder[0]))
            else:
                locations = Locations(default_locations(child, config))
            checked.append(child.name)
            findings += collisions(child, config, locations, own, shared, received)
    return findings, checked


def _relative(config: Config) -> str:
    try:
        return config.file.relative_to(config.root).as_posix()
    except ValueError:
        return config.file.name


def own_files(reader: git.ObjectReader, tip: str, locations: list[str], prefix: str) -> list[str]:
    """Paths of the child's own files under its locations (only those folders are read, not the whole child)."""
    prefix = prefix.rstrip("/")
    out: set[str] = set()
    for loc in locations:
        if inside(loc, prefix):
            continue  # the shared folder: replaced by the parent's files
        answer = reader.read(f"{tip}^{{tree}}" if loc == "." else f"{tip}:{loc}")
        if answer is None or answer[1] != "tree":
            continue  # a missing location is skipped, as Flyway does (failOnMissingLocations=false)
        base = "" if loc == "." else loc + "/"
        out.update(base + p for p in tree_paths(reader, answer[0]) if not inside(base + p, prefix))
    return sorted(out)


def collisions(child: Child, config: Config, locations: Locations, own: list[str], shared: list[str],
               received: list[str] = ()) -> list[Finding]:
    """Duplicates between shared and own migrations (and callbacks), as this child's Flyway resolves them; and new
    shared versions below the child's highest version, which its Flyway ignores unless outOfOrder is set.
    `received` are the files of the child's current copy of the shared folder (relative to its prefix)."""
    prefix = child.prefix.rstrip("/")
    virtual = {p: False for p in own}
    virtual.update({f"{prefix}/{p}": True for p in shared})
    paths = list(virtual)
    callbacks = None if locations.callbacks is None else by_location(paths, locations.callbacks)
    resolution = flyway.resolve(by_location(paths, locations.migrations), callback_locations=callbacks,
                                **naming(locations.settings))
    out: list[Finding] = []
    source = config.source.path.rstrip("/")
    for problem in resolution.problems:
        if problem.code not in ("DUPLICATE_VERSIONED_MIGRATION", "DUPLICATE_REPEATABLE_MIGRATION",
                                "DUPLICATE_CALLBACK"):
            continue
        paths = [p.removeprefix("./") for p in problem.paths]
        shared_paths = [p for p in paths if virtual.get(p)]
        own_paths = [p for p in paths if virtual.get(p) is False]
        if not shared_paths or not own_paths:
            continue  # only shared files: reported for the parent already; only the child's: not this PR's doing
        headline = problem.message.split("\n", 1)[0].rstrip("!")
        for path in shared_paths:
            parent_path = f"{source}/{path[len(prefix) + 1:]}"
            out.append(finding(
                "child/version-collision", parent_path, 0, 0,
                f"child '{child.name}': {headline}: its own {', '.join(own_paths)} collides with this shared "
                "migration, so that child's Flyway refuses to migrate",
            ))
    if not locations.out_of_order:
        colliding = {f.path for f in out}
        out += [f for f in _out_of_order(child, config, resolution, virtual, received, locations.settings)
                if f.path not in colliding]
    return out


def naming(settings: Settings) -> dict:
    """The child's Flyway naming settings, as `flyway.resolve` and `flyway.check_name` take them."""
    return dict(suffixes=settings.sql_migration_suffixes, separator=settings.sql_migration_separator,
                versioned_prefix=settings.sql_migration_prefix,
                repeatable_prefix=settings.repeatable_sql_migration_prefix,
                baseline_prefix=settings.baseline_migration_prefix)


def _out_of_order(child: Child, config: Config, resolution: flyway.Resolution, virtual: dict[str, bool],
                  received: list[str], settings: Settings) -> list[Finding]:
    prefix = child.prefix.rstrip("/")
    had: set[flyway.Version] = set()
    for path in received:
        check = flyway.check_name(path.rsplit("/", 1)[-1], **naming(settings))
        if check.name is not None and check.name.version is not None and check.name.kind is flyway.Kind.VERSIONED:
            had.add(check.name.version)
    versioned = [m for m in resolution.migrations if m.kind is flyway.Kind.VERSIONED and m.version is not None]
    known = [m.version for m in versioned if virtual.get(m.path.removeprefix("./")) is False or m.version in had]
    if not known:
        return []
    highest = max(known)
    out: list[Finding] = []
    for m in versioned:
        path = m.path.removeprefix("./")
        if virtual.get(path) and m.version not in had and m.version < highest:
            out.append(finding(
                "child/out-of-order", f"{config.source.path.rstrip('/')}/{path[len(prefix) + 1:]}", 0, 0,
                f"child '{child.name}': new shared version {m.version} is below its highest version {highest}; its "
                "Flyway ignores it (and fails validation) unless outOfOrder=true",
            ))
    return out
