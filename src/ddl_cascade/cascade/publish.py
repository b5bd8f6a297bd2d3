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
    pushed_to: str | None = None  # the remote (source.remote) the delivery branch was pushed to; None: not pushed

    def summary(self) -> str:
        """One line: what happened to the delivery branch, and where it was pushed."""
        pushed = f"; pushed to {self.pushed_to}" if self.pushed_to else ""
        if self.old == self.new:
            return f"{self.delivery_branch}: up to date at {self.new[:12]} (0 commits added){pushed}"
        span = f"{self.old[:12]}..{self.new[:12]}" if self.old else f"(new)..{self.new[:12]}"
        plural = "" if self.added == 1 else "s"
        return f"{self.delivery_branch}: {span} ({self.added} commit{plural} added){pushed}"


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
    # A fresh clone has no split cache: it starts from the one the last `publish --push` left on the remote, which
    # must agree with the delivery branch as the remote has it (split.py, "The cache ref").
    shared = split.Shared(source.remote, lambda: current.result().get(tracking) or current.result().get(ref),
                          config.sync.timeout) if source.remote and tracking else None
    try:
        outcome = split.run(repo, source.branch, source.path, shared=shared)
    except split.NotARepository:
        raise CascadeError(f"{repo} (the parent, where {config.file.name} lives) is not a git repository.") from None
    except split.ShallowRepository:
        remote = source.remote or "origin"
        raise CascadeError(
            f"{repo} is a shallow clone, whose split would not be the real one; fetch the whole history of "
            f"{source.branch} first: `git fetch --unshallow {remote} {source.branch}` (in GitHub Actions: "
            "actions/checkout with fetch-depth: 0)."
        ) from None
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
    if outcome.tip_has_folder is False or (outcome.tip_has_folder is None
                                           and git.folder_at(repo, source.branch, source.path) is None):
        _deleted(config, repo)
    added = _added(repo, old, new, force, source.delivery_branch, outcome.created_parents)
    if local != new:
        git.update_ref(repo, ref, new, local or "", message="ddl-cascade publish")
    moved = _move_channels(config, old, new)
    if push:
        for name in [ref, *moved]:
            try:
                git.push_ref(repo, source.remote, name, force, timeout=config.sync.timeout)
            except git.GitError as exc:
                branch = name.removeprefix("refs/heads/")
                raise CascadeError(f"pushing {branch} to '{source.remote}' failed: {exc}") from None
        _push_cache(config, repo, outcome)
    return PublishResult(source.delivery_branch, old, new, added, pushed_to=source.remote if push else None)


def _push_cache(config, repo: Path, outcome) -> None:
    """Leave the split cache on the remote (split.SHARED_REF) for the next fresh clone. Forced, and a failure only
    warns: it is a cache. Whichever of two concurrent pushes lands last wins; both caches are correct (an entry
    depends only on its commit's history), so the loser costs at most a longer incremental walk next time."""
    from ddl_cascade.cascade import split

    source = config.source
    commit = split.shared_commit(outcome, source.path, repo)
    if commit is None or git.rev_parse(repo, split.SHARED_REF) == commit:
        return  # nothing kept, or the remote already has this very cache (fetched at the start of this run)
    git.update_ref(repo, split.SHARED_REF, commit, message="ddl-cascade publish")
    try:
        git.push_ref(repo, source.remote, split.SHARED_REF, force=True, timeout=config.sync.timeout)
    except git.GitError as exc:
        import sys

        sys.stderr.write(f"ddl-cascade: warning: the split cache was not pushed to '{source.remote}' ({exc}); the "
                         "next fresh clone splits the whole history.\n")


def _move_channels(config, old: str | None, new: str) -> list[str]:
    """The first channel follows the delivery branch; a channel branch that does not exist yet starts where the
    delivery branch was before this publish (so adding `[channels]` holds every child where it is). Returns the
    channel branches' refs, for the push."""
    if not config.channels.order:
        return []
    from ddl_cascade.cascade import channels

    refs = []
    for i, (channel, commit) in enumerate(channels.read_positions(config).items()):
        ref = f"refs/heads/{channels.branch(config, channel)}"
        wanted = new if i == 0 else (commit or old or new)
        local = git.rev_parse(config.root, ref)
        if local != wanted:
            git.update_ref(config.root, ref, wanted, local or "", message="ddl-cascade publish")
        refs.append(ref)
    return refs


def _deleted(config, repo: Path) -> None:
    """The source folder existed but the tip of the source branch has none: refuse, naming the commit.

    `git subtree split` dies here ("'<dir>' does not exist; use 'git subtree add'", from its work-tree check); its walk
    alone gives the split of the last commit that had the folder, so without this check the delivery branch would
    stay put, publish would say "up to date", and children would keep migrations the source no longer has."""
    source = config.source
    last = git.last_change_of(repo, source.branch, source.path)
    where = f"in commit {last[0][:12]} ({last[1]!r})" if last else "in the latest commits"
    raise CascadeError(
        f"{config.file}: source.path '{source.path}' was deleted {where} on branch '{source.branch}'; nothing "
        f"published and the delivery branch '{source.delivery_branch}' is unchanged (restore the folder, or point "
        "source.path at its new place)."
    )


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
