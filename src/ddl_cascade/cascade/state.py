"""Where sync decides a child's state: by tree ids alone, against the child's target delivered commit.

A child's state is read from the tree id of its prefix folder, compared with the delivered trees: the trees of the
delivery branch's commits, read with one `git log` in the parent. The target is the delivered commit the child
should hold (its pin, else its channel's commit, else the delivery tip: channels.py). No state file and no commit trailer is
consulted, so a child updated by `git subtree`, by ddl-cascade, or by a squash-merged pull request that lost every
trailer reads the same way:

- not_added:   the child has no prefix folder (or no branch yet);
- in_sync:     the folder's tree equals the target's tree;
- behind:      it equals an older delivered tree; behind_by counts the delivery commits up to the target;
- ahead:       it equals a delivered tree newer than the target (a channel that has not reached it yet);
- drifted:     it equals no delivered tree; changed_paths lists what differs from the nearest delivered tree
               (the last delivered tree in the child's own history, or the target's, whichever is closer);
- unreachable: the child could not be fetched; error says why.

A folder that equals no delivered tree known here may be a tree this parent clone has not seen yet (a stale clone:
the remote's delivery branch moved on). Before such a child is called drifted, plan.py fetches the remote's delivery
branch once per run (`upstream_history`); if it delivered that tree, the child reads `ahead` with `error` saying the
parent clone is behind (`judge_with_upstream`), and nothing is pushed or reset.

`classify` is pure reading through an ObjectReader on the cache of children (no process per child), so `status`
costs one `ls-remote` per child plus a fetch for the children that moved.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ddl_cascade import git
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import CascadeError

# How far back in a drifted child's own history to look for the tree it was last delivered.
_HISTORY_LOOKBACK = 200


class State(str, enum.Enum):
    IN_SYNC = "in_sync"
    AHEAD = "ahead"
    BEHIND = "behind"
    DRIFTED = "drifted"
    NOT_ADDED = "not_added"
    UNREACHABLE = "unreachable"


@dataclass
class PullRequestInfo:
    """A child's pull request (pull-request delivery): `state` is open, closed (without merging) or merged."""

    number: int
    url: str
    state: str
    age_days: int


@dataclass
class DatabaseState:
    """A child's database as `status --db` reports it (filled by ddl_cascade.db.report)."""

    environment: str
    target: str  # the environment's URL as written, credentials redacted
    ok: bool = False  # no failed row, no checksum mismatch, reachable
    current_version: str | None = None  # the highest version successfully applied
    applied: int = 0  # history rows
    pending: int = 0
    failed: int = 0
    mismatches: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None  # why the database could not be read
    # `status --db --drift`: one line per difference between the schema its recorded migrations build and its live
    # schema, and per problem rebuilding it ("+ column public.t.note", "problem: …"); None when not checked
    drift: list[str] | None = None


@dataclass
class ChildStatus:
    """One child's state (`status --json` children[])."""

    name: str
    state: State
    tip: str | None = None  # the child's branch tip
    tree: str | None = None  # tree id of the child's prefix folder
    behind_by: int | None = None  # for behind: delivery commits the child lacks up to its target
    changed_paths: list[str] | None = None  # for drifted: paths (from the child's root) that differ
    error: str | None = None  # for unreachable: why
    prefix: str = ""
    branch: str = ""
    target: str | None = None  # the delivered commit the child is judged against
    channel: str | None = None  # the child's channel ([channels]); None without channels
    pinned: bool = False  # the target is the child's pin, not its channel's commit
    database: DatabaseState | None = None  # `status --db`, for a child with an environment
    pull_request: PullRequestInfo | None = None  # a child delivered by pull request: its pull request, if any
    tags: list[str] = field(default_factory=list)  # the child's tags in cascade.toml (the dashboard filters by them)
    delivered: str | None = None  # the newest delivery commit whose tree the folder holds (None: drifted, not added)


class DeliveryHistory:
    """The delivery branch's history as the classification needs it: each commit's tree and parents."""

    def __init__(self, tip: str, rows: list[tuple[str, str, list[str]]], ref: str | None = None) -> None:
        self.tip = tip
        self.ref = ref  # where the tip was read: the local branch or the remote-tracking one
        self.tree_of: dict[str, str] = {c: t for c, t, _ in rows}
        self.parents: dict[str, list[str]] = {c: p for c, _, p in rows}
        self.order = [c for c, _, _ in rows]  # newest first
        self.commits_with_tree: dict[str, list[str]] = {}
        for commit, tree, _ in rows:
            self.commits_with_tree.setdefault(tree, []).append(commit)
        self._ancestors: dict[str, set[str]] = {}
        self._behind: dict[tuple[str, str], int] = {}

    @property
    def tip_tree(self) -> str:
        return self.tree_of[self.tip]

    @classmethod
    def load(cls, config: Config) -> "DeliveryHistory":
        """The delivery branch: the local one, else the remote-tracking one (a fresh CI clone), else fetched from the
        remote (a shallow clone has neither); in a shallow clone whose copy of it is cut off, its whole (small)
        history is fetched. Only the delivered commits are needed, never the source history."""
        branch = config.source.delivery_branch
        found = find_delivery_tip(config)
        if found.tip is None:
            raise CascadeError(
                f"the parent {config.root} has no delivery branch '{branch}' (neither {found.local} nor "
                f"{found.tracking}), and {found.why}; run `ddl-cascade publish` first."
            )
        rows = git.commit_graph(config.root, found.tip)
        if _cut_off(config.root, rows):
            try:
                git.fetch_tracking_branch(config.root, found.remote, branch, whole_history=True,
                                          timeout=config.sync.timeout)
            except git.GitError:
                pass  # judged just below
            rows = git.commit_graph(config.root, found.tip)
            if _cut_off(config.root, rows):
                raise CascadeError(
                    f"this shallow clone ({config.root}) holds only part of the delivery branch '{branch}' "
                    f"({found.ref}) and fetching the rest from '{found.remote}' did not complete it; run "
                    f"`git fetch --unshallow {found.remote}` first."
                )
        return cls(found.tip, rows, found.ref)

    def is_delivered(self, tree: str) -> bool:
        return tree in self.commits_with_tree

    def is_delivered_commit(self, commit: str) -> bool:
        return commit in self.tree_of

    def position(self, tree: str, target: str) -> tuple[str, int]:
        """Where a delivered `tree` stands against the `target` commit: ("in_sync", 0), ("behind", delivery commits
        reachable from the target but not from the newest commit carrying the tree) or ("ahead", the other way)."""
        if tree == self.tree_of[target]:
            return "in_sync", 0
        key = (tree, target)
        if key not in self._behind:
            best: int | None = None
            for commit in self.commits_with_tree.get(tree, []):
                if commit in self.ancestors(target):
                    count = len(self.ancestors(target)) - len(self.ancestors(commit))
                    best = count if best is None else min(best, count)
            if best is None:  # no commit with this tree is behind the target: the tree is newer
                ahead = min((len(self.ancestors(c)) - len(self.ancestors(target))
                             for c in self.commits_with_tree.get(tree, []) if target in self.ancestors(c)),
                            default=0)
                best = -ahead
            self._behind[key] = best
        count = self._behind[key]
        return ("behind", count) if count >= 0 else ("ahead", -count)

    def ancestors(self, commit: str) -> set[str]:
        """`commit` and every delivery commit it reaches."""
        if commit not in self._ancestors:
            seen = {commit}
            stack = [commit]
            while stack:
                for parent in self.parents.get(stack.pop(), []):
                    if parent not in seen:
                        seen.add(parent)
                        stack.append(parent)
            self._ancestors[commit] = seen
        return self._ancestors[commit]


# ---------------------------------------------------------------------------------------------------------------------
# Finding the delivery branch in a fresh or shallow clone, and telling a stale parent clone from a drifted child


@dataclass
class DeliveryTip:
    """Where the delivery branch was found: `tip` read from `ref`, or None with `why` not."""

    local: str  # refs/heads/<delivery_branch>
    remote: str  # source.remote, else "origin"
    tracking: str  # its remote-tracking ref
    tip: str | None = None
    ref: str | None = None
    why: str | None = None


def find_delivery_tip(config: Config, fetch: bool = True) -> DeliveryTip:
    """The delivery branch's tip: the local branch, else `refs/remotes/<source.remote or origin>/<branch>`, else
    (with `fetch`) that branch fetched from the remote into the remote-tracking ref. One process when it is there."""
    branch = config.source.delivery_branch
    remote = config.source.remote or "origin"
    found = DeliveryTip(f"refs/heads/{branch}", remote, git.tracking_ref(remote, branch))
    refs = git.start_refs(config.root, [found.local, found.tracking]).result()
    for ref in (found.local, found.tracking):
        if refs.get(ref):
            found.tip, found.ref = refs[ref], ref
            return found
    if not fetch:
        found.why = "it was not fetched"
        return found
    try:
        found.tip = git.fetch_tracking_branch(config.root, remote, branch,
                                              whole_history=bool(git.shallow_commits(config.root)),
                                              timeout=config.sync.timeout)
    except git.GitError as exc:
        found.why = f"fetching it from '{remote}' failed ({git.telling_line(str(exc))})"
        return found
    if found.tip is None:
        found.why = f"'{remote}' has no branch '{branch}' either"
    else:
        found.ref = found.tracking
    return found


def _cut_off(repo, rows: list[tuple[str, str, list[str]]]) -> bool:
    """Whether the history in `rows` stops at a shallow clone's boundary (no process: the `shallow` file)."""
    cut = git.shallow_commits(repo)
    return bool(cut) and any(commit in cut for commit, _, _ in rows)


def upstream_history(config: Config) -> DeliveryHistory | None:
    """The delivery branch as `source.remote` has it now, fetched into its remote-tracking ref; None when no remote
    is set, the remote lacks the branch, or the fetch fails (the caller then judges with what it has)."""
    remote = config.source.remote
    if not remote:
        return None
    branch = config.source.delivery_branch
    try:
        tip = git.fetch_tracking_branch(config.root, remote, branch,
                                        whole_history=bool(git.shallow_commits(config.root)),
                                        timeout=config.sync.timeout)
        if tip is None:
            return None
        return DeliveryHistory(tip, git.commit_graph(config.root, tip), git.tracking_ref(remote, branch))
    except git.GitError:
        return None


def stale_parent_message(config: Config, history: DeliveryHistory, upstream: DeliveryHistory) -> str:
    """What to tell the operator when a child holds a tree the remote's delivery branch has and this clone's lacks."""
    branch = config.source.delivery_branch
    remote = config.source.remote or "origin"
    theirs = f"{remote}/{branch}"
    if history.ref == upstream.ref:  # a clone without a local delivery branch: the fetch just updated it
        return (f"this parent clone's {theirs} was behind {remote}'s {branch} ({upstream.tip[:12]}), which delivered "
                "the tree this child holds, so the child is not drifted; it has been fetched now: run again.")
    if history.tip in upstream.tree_of:
        return (f"this parent clone's {branch} ({history.tip[:12]}) is behind {theirs} ({upstream.tip[:12]}), which "
                f"delivered the tree this child holds, so the child is not drifted; run `git fetch {remote} "
                f"{branch}:{branch}` (or pull {config.source.branch} and publish) in the parent, then run again.")
    return (f"this parent clone's {branch} ({history.tip[:12]}) has diverged from {theirs} ({upstream.tip[:12]}), "
            f"which delivered the tree this child holds, so the child is not drifted; bring the parent clone's "
            f"{branch} in line with {theirs} (`git fetch {remote} {branch}`), then run again.")


def judge_with_upstream(config: Config, status: ChildStatus, history: DeliveryHistory,
                        upstream: DeliveryHistory | None) -> bool:
    """A drifted-looking child whose folder is a tree of the remote's delivery branch: this parent clone is stale,
    not the child edited. Then `status` becomes `ahead` with the message in `error` (True); else it is unchanged."""
    if status.state is not State.DRIFTED or status.tree is None or upstream is None:
        return False
    if not upstream.is_delivered(status.tree):
        return False
    status.state, status.changed_paths, status.behind_by = State.AHEAD, None, None
    status.error = stale_parent_message(config, history, upstream)
    return True


# ---------------------------------------------------------------------------------------------------------------------
# Reading trees through the cache


def commit_tree(reader: git.ObjectReader, commit: str) -> tuple[str, list[str]]:
    """(root tree, parents) of a commit."""
    answer = reader.read(commit)
    if answer is None or answer[1] != "commit":
        raise CascadeError(f"commit {commit} is missing from the cache of children.")
    parsed = git.Commit(answer[2])
    return parsed.tree, parsed.parents


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


def classify(reader: git.ObjectReader, history: DeliveryHistory, child: Child, tip: str | None,
             error: str | None = None, target: str | None = None) -> ChildStatus:
    """The state of `child`, whose branch tip (in the cache of children) is `tip`, against `target` (a delivered
    commit; default: the delivery tip)."""
    target = target or history.tip
    status = ChildStatus(child.name, State.NOT_ADDED, tip=tip, prefix=child.prefix, branch=child.branch,
                         target=target)
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
    if history.is_delivered(tree):
        where, count = history.position(tree, target)
        status.state = {"in_sync": State.IN_SYNC, "behind": State.BEHIND, "ahead": State.AHEAD}[where]
        status.behind_by = count if where == "behind" else None
    else:
        status.state = State.DRIFTED
        status.changed_paths = drift(reader, history, child, tip, tree, history.tree_of[target])
    return status


def drift(reader: git.ObjectReader, history: DeliveryHistory, child: Child, tip: str, tree: str,
          target_tree: str) -> list[str]:
    """changed_paths of a drifted folder against the nearest delivered tree (its last delivered one or the target's)."""
    candidates = [target_tree]
    last = last_delivered_tree(reader, history, child, tip)
    if last is not None and last != target_tree:
        candidates.insert(0, last)
    best: list[str] | None = None
    for candidate in candidates:
        paths = changed_paths(reader, candidate, tree, child.prefix)
        if best is None or len(paths) < len(best):
            best = paths
    return best or []


def last_delivered_tree(reader: git.ObjectReader, history: DeliveryHistory, child: Child, tip: str) -> str | None:
    """The newest delivered tree the prefix folder had along the child's first-parent history."""
    commit: str | None = tip
    for _ in range(_HISTORY_LOOKBACK):
        if commit is None:
            return None
        root, parents = commit_tree(reader, commit)
        entry = subtree(reader, root, child.prefix)
        if entry is not None and history.is_delivered(entry[1]):
            return entry[1]
        commit = parents[0] if parents else None
    return None

