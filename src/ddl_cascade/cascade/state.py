"""The state of each child, decided by tree ids alone: in_sync, behind, drifted, not_added or unreachable.

A child's state is read from the tree id of its prefix folder, compared with the delivered trees: the trees of the
delivery branch's commits, read with one `git log` in the parent. No state file and no commit trailer is consulted,
so a child updated by `git subtree`, by ddl-cascade, or by a squash-merged pull request that lost every trailer reads
the same way:

- not_added:   the child has no prefix folder (or no branch yet);
- in_sync:     the folder's tree equals the delivery tip's tree;
- behind:      it equals an older delivered tree; behind_by counts the delivery commits since;
- drifted:     it equals no delivered tree; changed_paths lists what differs from the nearest delivered tree
               (the last delivered tree in the child's own history, or the delivery tip's, whichever is closer);
- unreachable: the child could not be fetched; error says why.

`classify` is pure reading through an ObjectReader on the cache (no process per child), so `status` costs one
`ls-remote` per child plus a fetch for the children that moved.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable

from ddl_cascade import git
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import CascadeError

# How far back in a drifted child's own history to look for the tree it was last delivered.
_HISTORY_LOOKBACK = 200


class State(str, enum.Enum):
    IN_SYNC = "in_sync"
    BEHIND = "behind"
    DRIFTED = "drifted"
    NOT_ADDED = "not_added"
    UNREACHABLE = "unreachable"


@dataclass
class ChildStatus:
    """One child's state. A plain dataclass so later issues (e.g. `status --db`) can add fields."""

    name: str
    state: State
    tip: str | None = None  # the child's branch tip
    tree: str | None = None  # tree id of the child's prefix folder
    behind_by: int | None = None  # for behind: delivery commits the child lacks
    changed_paths: list[str] | None = None  # for drifted: paths (from the child's root) that differ
    error: str | None = None  # for unreachable: why
    prefix: str = ""
    branch: str = ""
    database: Any = None  # `status --db`: a ddl_cascade.db.report.DatabaseState for children with an environment


@dataclass
class StatusReport:
    delivery_branch: str
    delivery_tip: str
    delivered_tree: str
    children: list[ChildStatus] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.state is State.IN_SYNC for c in self.children)


class Delivery:
    """The delivery branch's history as the classification needs it: each commit's tree and parents."""

    def __init__(self, tip: str, rows: list[tuple[str, str, list[str]]]) -> None:
        self.tip = tip
        self.tree_of: dict[str, str] = {c: t for c, t, _ in rows}
        self.parents: dict[str, list[str]] = {c: p for c, _, p in rows}
        self.order = [c for c, _, _ in rows]  # newest first
        self.commits_with_tree: dict[str, list[str]] = {}
        for commit, tree, _ in rows:
            self.commits_with_tree.setdefault(tree, []).append(commit)
        self._ancestors_of_tip = len(rows)
        self._behind: dict[str, int] = {}

    @property
    def tip_tree(self) -> str:
        return self.tree_of[self.tip]

    @classmethod
    def load(cls, config: Config) -> "Delivery":
        branch = config.source.delivery_branch
        tip = git.rev_parse(config.root, f"refs/heads/{branch}^{{commit}}")
        if tip is None:
            raise CascadeError(
                f"the parent {config.root} has no delivery branch '{branch}' yet; run `ddl-cascade publish` first."
            )
        out = git.run_text(["log", "--format=%H %T %P", tip], config.root)
        rows = []
        for line in out.splitlines():
            parts = line.split()
            rows.append((parts[0], parts[1], parts[2:]))
        return cls(tip, rows)

    def is_delivered(self, tree: str) -> bool:
        return tree in self.commits_with_tree

    def behind_by(self, tree: str) -> int:
        """Delivery commits reachable from the tip but not from the newest commit carrying `tree`."""
        if tree in self._behind:
            return self._behind[tree]
        best = None
        for commit in self.commits_with_tree.get(tree, []):
            count = self._ancestors_of_tip - self._ancestor_count(commit)
            best = count if best is None else min(best, count)
        self._behind[tree] = best if best is not None else 0
        return self._behind[tree]

    def _ancestor_count(self, commit: str) -> int:
        seen = {commit}
        stack = [commit]
        while stack:
            for parent in self.parents.get(stack.pop(), []):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return len(seen)


# ---------------------------------------------------------------------------------------------------------------------
# Reading trees through the cache


def commit_tree(reader: git.ObjectReader, commit: str) -> tuple[str, list[str]]:
    """(root tree, parents) of a commit."""
    answer = reader.read(commit)
    if answer is None or answer[1] != "commit":
        raise CascadeError(f"commit {commit} is missing from the cache of children.")
    tree, parents = "", []
    for line in answer[2].split(b"\n"):
        if not line:
            break
        if line.startswith(b"tree "):
            tree = line[5:].decode()
        elif line.startswith(b"parent "):
            parents.append(line[7:].decode())
    return tree, parents


def tree_entries(reader: git.ObjectReader, tree: str) -> dict[bytes, tuple[str, str]]:
    """name -> (mode, oid) of a tree."""
    answer = reader.read(tree)
    if answer is None or answer[1] != "tree":
        raise CascadeError(f"tree {tree} is missing from the cache of children.")
    return {name: (mode, oid) for mode, name, oid in git.parse_tree(answer[2])}


def subtree(reader: git.ObjectReader, root: str, path: str) -> tuple[str, str] | None:
    """(mode, oid) of `path` inside tree `root`, or None when absent."""
    current: tuple[str, str] = ("40000", root)
    for part in path.split("/"):
        if current[0] != "40000":
            return None
        entry = tree_entries(reader, current[1]).get(part.encode("utf-8", "surrogateescape"))
        if entry is None:
            return None
        current = entry
    return current


def changed_paths(reader: git.ObjectReader, a: str | None, b: str | None, base: str = "") -> list[str]:
    """Paths (under `base`) whose content or mode differs between trees `a` and `b`; None is an empty tree."""
    if a == b:
        return []
    ea = tree_entries(reader, a) if a else {}
    eb = tree_entries(reader, b) if b else {}
    out: list[str] = []
    for name in sorted(set(ea) | set(eb)):
        x, y = ea.get(name), eb.get(name)
        if x == y:
            continue
        path = f"{base}/{name.decode('utf-8', 'surrogateescape')}" if base else name.decode("utf-8", "surrogateescape")
        x_tree = x is not None and x[0] == "40000"
        y_tree = y is not None and y[0] == "40000"
        if x_tree or y_tree:
            out.extend(changed_paths(reader, x[1] if x_tree else None, y[1] if y_tree else None, path))
            if (x is not None and not x_tree) or (y is not None and not y_tree):
                out.append(path)  # a file replaced by a folder or the other way round
        else:
            out.append(path)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Classification


def classify(reader: git.ObjectReader, delivery: Delivery, child: Child, tip: str | None,
             error: str | None = None) -> ChildStatus:
    """The state of `child` whose branch tip (in the cache) is `tip`."""
    status = ChildStatus(child.name, State.NOT_ADDED, tip=tip, prefix=child.prefix, branch=child.branch)
    if error is not None:
        status.state, status.error = State.UNREACHABLE, error
        return status
    if tip is None:
        return status
    root, _ = commit_tree(reader, tip)
    entry = subtree(reader, root, child.prefix)
    if entry is None:
        return status
    mode, tree = entry
    if mode != "40000":  # a file (or submodule) where the folder should be
        status.state, status.tree = State.DRIFTED, None
        status.changed_paths = [child.prefix]
        return status
    status.tree = tree
    if tree == delivery.tip_tree:
        status.state = State.IN_SYNC
    elif delivery.is_delivered(tree):
        status.state, status.behind_by = State.BEHIND, delivery.behind_by(tree)
    else:
        status.state = State.DRIFTED
        status.changed_paths = drift(reader, delivery, child, tip, tree)
    return status


def drift(reader: git.ObjectReader, delivery: Delivery, child: Child, tip: str, tree: str) -> list[str]:
    """changed_paths of a drifted folder against the nearest delivered tree."""
    candidates = [delivery.tip_tree]
    last = last_delivered_tree(reader, delivery, child, tip)
    if last is not None and last != delivery.tip_tree:
        candidates.insert(0, last)
    best: list[str] | None = None
    for candidate in candidates:
        paths = changed_paths(reader, candidate, tree, child.prefix)
        if best is None or len(paths) < len(best):
            best = paths
    return best or []


def last_delivered_tree(reader: git.ObjectReader, delivery: Delivery, child: Child, tip: str) -> str | None:
    """The newest delivered tree the prefix folder had along the child's first-parent history."""
    commit: str | None = tip
    for _ in range(_HISTORY_LOOKBACK):
        if commit is None:
            return None
        root, parents = commit_tree(reader, commit)
        entry = subtree(reader, root, child.prefix)
        if entry is not None and delivery.is_delivered(entry[1]):
            return entry[1]
        commit = parents[0] if parents else None
    return None


def status(config: Config, names: list[str] | tuple[str, ...] = (), tag: str | None = None,
           jobs: int | None = None, on_child: Callable[[ChildStatus], None] | None = None) -> StatusReport:
    """Fetch each selected child into the cache and classify it. Changes nothing but the cache."""
    from ddl_cascade.lock import parent_lock
    from ddl_cascade.cascade.cache import Mirror

    children = list({c.name: c for c in config.select(names, tag)}.values())  # each child once
    with parent_lock(config):
        delivery = Delivery.load(config)
        mirror = Mirror(config)
        report = StatusReport(config.source.delivery_branch, delivery.tip, delivery.tip_tree)
        with git.ObjectReader(mirror.path) as reader:
            def done(fetched) -> None:
                st = classify(reader, delivery, fetched.child, fetched.tip, fetched.error)
                report.children.append(st)
                if on_child:
                    on_child(st)

            mirror.fetch(children, jobs=jobs, on_done=done)
        mirror.maintain()
    order = {c.name: i for i, c in enumerate(children)}
    report.children.sort(key=lambda s: order[s.name])
    return report
