"""Publish: move the delivery branch to the split of the source folder, and optionally push it.

The delivery branch (`source.delivery_branch`) holds the history of `source.path` alone, with the commit ids
`git subtree split --prefix=<source.path> <source.branch>` prints; `split` computes them. This module owns the
decisions around it: what counts as bad input (exit 2, nothing changed), the fast-forward rule for the delivery
branch (only `--force` may rewrite it), and the push to `source.remote`, which goes through `git push` so the user's
credentials work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ddl_cascade import git
from ddl_cascade.errors import CascadeError


@dataclass
class PublishResult:
    """What publish did to the delivery branch. `old` is None when the branch did not exist."""

    delivery_branch: str
    old: str | None
    new: str
    added: int

    def summary(self) -> str:
        if self.old == self.new:
            return f"{self.delivery_branch}: up to date at {self.new[:12]} (0 commits added)"
        span = f"{self.old[:12]}..{self.new[:12]}" if self.old else f"(new)..{self.new[:12]}"
        plural = "" if self.added == 1 else "s"
        return f"{self.delivery_branch}: {span} ({self.added} commit{plural} added)"


def publish(config, push: bool = False, force: bool = False) -> PublishResult:
    """Split `source.path` of `source.branch`, move the delivery branch there, and push it when `push`."""
    source = config.source
    if push and not source.remote:
        raise CascadeError(f"{config.file}: --push needs source.remote, which is not set.")
    from ddl_cascade.lock import parent_lock

    with parent_lock(config):  # re-entrant: `full` holds it around publish and sync
        return _publish(config, Path(config.root), push, force)


def _publish(config, repo: Path, push: bool, force: bool) -> PublishResult:
    from ddl_cascade.cascade import split

    source = config.source
    ref = f"refs/heads/{source.delivery_branch}"
    # Read the delivery branch while the split runs (one process less on the path of an incremental publish). In a
    # fresh CI clone only the remote-tracking branch exists: it is then what the new split must fast-forward.
    tracking = f"refs/remotes/{source.remote}/{source.delivery_branch}" if source.remote else None
    current = git.start_refs(repo, [ref, *([tracking] if tracking else [])])
    try:
        outcome = split.run(repo, source.branch, source.path)
    except split.NotARepository:
        raise CascadeError(f"{repo} (the parent, where {config.file.name} lives) is not a git repository.") from None
    except split.UnknownRevision:
        raise CascadeError(f"{config.file}: source.branch '{source.branch}' does not name a commit in {repo}.") from None
    finally:
        refs = current.result()
    local = refs.get(ref)
    old = local or (refs.get(tracking) if tracking else None)
    new = outcome.tip
    if new is None:
        raise CascadeError(
            f"{config.file}: source.path '{source.path}' never existed on branch '{source.branch}'; nothing to publish."
        )
    added = _added(repo, old, new, force, source.delivery_branch, outcome.created_parents)
    if local != new:
        git.update_ref(repo, ref, new, local or "", message="ddl-cascade publish")
    if push:
        try:
            git.push_ref(repo, source.remote, ref, force, timeout=config.sync.timeout)
        except git.GitError as exc:
            raise CascadeError(f"pushing {source.delivery_branch} to '{source.remote}' failed: {exc}") from None
    return PublishResult(source.delivery_branch, old, new, added)


def _added(repo: Path, old: str | None, new: str, force: bool, branch: str, created: dict[str, list[str]]) -> int:
    """Commits `new` has that `old` lacks; refuses a move that is not a fast-forward unless `force`."""
    if old == new:
        return 0
    known = _count_created(new, old, created)
    if known is not None:
        return known
    behind, ahead = git.rev_count(repo, old, new)
    if behind and not force:
        raise CascadeError(
            f"the delivery branch '{branch}' ({old[:12]}) is not an ancestor of the new split {new[:12]}: someone "
            "rewrote it. Use --force to move it anyway."
        )
    return ahead


def _count_created(new: str, old: str | None, created: dict[str, list[str]]) -> int | None:
    """The count without git when every path back from `new` runs through commits this split created and ends at
    `old` (or at a root): then `old` is an ancestor and the count is the commits walked. None when unsure."""
    seen: set[str] = set()
    stack = [new]
    while stack:
        node = stack.pop()
        if node == old or node in seen:
            continue
        parents = created.get(node)
        if parents is None or (not parents and old is not None):  # left the new commits, or a root that is not old
            return None
        seen.add(node)
        stack.extend(parents)
    return len(seen)
