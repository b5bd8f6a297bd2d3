"""`status`, `sync`, `reset` and `full`: thin compositions of plan (plan.py) and apply (apply.py).

    status = plan without commits, reported as states
    sync   = plan, then apply with PushDelivery (a dry run reports the plan)
    reset  = plan with reset actions, then apply with ResetDelivery (without --yes: the plan)
    full   = publish (and push, with --push or source.remote), then sync, under one hold of the parent lock

Each holds the parent lock for the whole run (lock.py), keeps the cache of children tidy at the end, and returns a
typed document (results.py).

With `shard` (`--shard K/N`), each acts on its shard of the selection only (shards.py) and says so in its document.
`full` of a shard never pushes: the job before the matrix published and pushed the delivery branch; each shard
fetches it from source.remote, computes its own split, and refuses unless both are the same commit (`_check_published`),
so no shard delivers anything that job did not publish.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Mapping

from ddl_cascade.cascade import channels
from ddl_cascade.cascade.apply import apply, dry_run_report
from ddl_cascade.cascade.cache import Stopped
from ddl_cascade.cascade.deliveries import ChildDelivery, Delivery, PushDelivery, ResetDelivery
from ddl_cascade.cascade.plan import ChildPlan, Planner, Selection, plan
from ddl_cascade.cascade.results import CascadeReport, ChildResult, FullReport, StatusReport
from ddl_cascade.cascade.shards import Shard
from ddl_cascade.cascade.state import ChildStatus
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import CascadeError, Interrupted, UsageError
from ddl_cascade.lock import parent_lock


def _selection(names, tag, shard: Shard | None = None) -> Selection:
    return Selection(tuple(names or ()), tag, shard)


def status(config: Config, names: list[str] | tuple[str, ...] = (), tag: str | None = None,
           jobs: int | None = None, on_child: Callable[[ChildStatus], None] | None = None,
           shard: Shard | None = None) -> StatusReport:
    """Fetch each selected child into the cache and classify it against its target; for a child delivered by pull
    request, read its pull request too. Changes nothing else."""
    selection = _selection(names, tag, shard)
    delivery = by_child(config, selection)
    pulls = delivery.pull_request

    seen: dict[str, ChildStatus] = {}

    def one(p: ChildPlan) -> ChildStatus:
        """The child's status, its pull request read once (as each child is planned, in parallel)."""
        if p.name not in seen:
            state = p.status
            if pulls is not None and p.child is not None and p.child.delivery == "pull-request":
                try:
                    state.pull_request = pulls.find(p.child)
                except CascadeError as exc:
                    state.error = state.error or str(exc)
            seen[p.name] = state
            if on_child:
                on_child(state)
        return seen[p.name]

    with parent_lock(config):
        planner = Planner(config, build=False)
        planner.cache.git_env = delivery.git_env
        try:
            decided = plan(config, selection, jobs=jobs, planner=planner, on_child=one)
        except Stopped:
            raise Interrupted("interrupted while reading the children.") from None
        finally:
            planner.close()
        planner.cache.maintain()
    report = StatusReport(decided.delivery_branch, decided.delivery_tip, decided.delivered_tree,
                          children=[one(p) for p in decided.children],
                          channels=channels.report(config, planner.history), shard=selection.part(config, "status"))
    report.ok = report.in_sync
    _place_on_the_branch(report, decided, planner.history)
    return report


def _place_on_the_branch(report: StatusReport, decided, history) -> None:
    """What a reader of the document alone (the dashboard) needs to place the children: the time, the delivery
    branch's newest commits, each child's tags and the newest delivery commit with its folder's tree."""
    from ddl_cascade.cascade.results import DELIVERY_COMMITS

    report.generated_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    report.delivery_commits = history.order[:DELIVERY_COMMITS]
    tags = {p.name: list(p.child.tags) for p in decided.children if p.child is not None}
    for child in report.children:
        child.tags = tags.get(child.name, [])
        # commits_with_tree keeps `git log` order: the first is the newest commit with that tree
        child.delivered = history.commits_with_tree.get(child.tree or "", [None])[0]


def _run(config: Config, selection: Selection, delivery: Delivery, *, reset: bool, dry_run: bool,
         targets: Mapping[str, str] | None, jobs: int | None, on_child, before_push, command: str) -> CascadeReport:
    with parent_lock(config):
        # A run that will push plans on the cache's tips where that is safe (see plan.py); a dry run asks each child.
        planner = Planner(config, reset=reset, targets=targets, assume_cached=not dry_run and not reset)
        planner.cache.git_env = delivery.git_env
        try:
            try:
                decided = plan(config, selection, jobs=jobs, planner=planner)
            except Stopped:
                raise Interrupted("interrupted while reading the children; nothing was pushed.") from None
            if dry_run:
                report = dry_run_report(decided)
                if on_child:
                    for child in report.children:
                        on_child(child)
            else:
                report = apply(decided, delivery, jobs=jobs, on_child=on_child, before_push=before_push)
        finally:
            planner.close()  # plan and apply each flush the tips they recorded, whatever happens
        planner.cache.maintain()  # only after a run that ended normally: a Ctrl-C must not wait for a repack
    report.shard = selection.part(config, command)
    return report


def sync(config: Config, names: list[str] | tuple[str, ...] = (), tag: str | None = None, dry_run: bool = False,
         jobs: int | None = None, on_child: Callable[[ChildResult], None] | None = None,
         before_push: Callable[[Child, ChildPlan], None] | None = None,
         targets: Mapping[str, str] | None = None, reopen: bool = False, shard: Shard | None = None,
         command: str = "sync") -> CascadeReport:
    """Bring the selected children to their targets (each by its own delivery: a push or a pull request); drifted
    children are refused. `reopen`: a pull request closed without merging is reopened instead of reported.
    `command`: whose document this is, in its `shard` (`full` passes "full")."""
    selection = _selection(names, tag, shard)
    return _run(config, selection, by_child(config, selection, dry_run=dry_run, reopen=reopen), reset=False,
                dry_run=dry_run, targets=targets, jobs=jobs, on_child=on_child, before_push=before_push,
                command=command)


def by_child(config: Config, selection: Selection, *, dry_run: bool = False, reopen: bool = False) -> Delivery:
    """The delivery of each selected child (`delivery` in cascade.toml)."""
    pulls = [c for c in selection.children(config) if c.delivery == "pull-request"]
    if not pulls or dry_run:
        return ChildDelivery(PushDelivery(), None)
    from ddl_cascade.cascade.pullrequests import PullRequestDelivery

    return ChildDelivery(PushDelivery(), PullRequestDelivery(config, pulls, reopen=reopen))


def reset(config: Config, names: list[str] | tuple[str, ...] = (), apply: bool = False, jobs: int | None = None,
          on_child: Callable[[ChildResult], None] | None = None, before_push=None,
          targets: Mapping[str, str] | None = None, shard: Shard | None = None) -> CascadeReport:
    """Reset the named children (all when none are; with `shard`, those of the shard) to their targets, backup
    first; with apply=False only plan."""
    return _run(config, _selection(names, None, shard), ResetDelivery(), reset=True, dry_run=not apply,
                targets=targets, jobs=jobs, on_child=on_child, before_push=before_push, command="reset")


def full(config: Config, names: list[str] | tuple[str, ...] = (), tag: str | None = None, jobs: int | None = None,
         on_published=None, on_child: Callable[[ChildResult], None] | None = None,
         push: bool = False, shard: Shard | None = None) -> FullReport:
    """Publish, then sync, holding the parent lock across both. With `push`, the delivery branch is pushed to
    `source.remote` before the sync, so pull-request runs of `validate` in fresh clones find it. With `shard`, publish
    only checks: see `_check_published`."""
    from ddl_cascade.cascade.publish import publish

    if shard is not None and push:
        raise UsageError("full --shard never pushes the delivery branch (the job before the matrix runs "
                         "`publish --push`); drop --push.")
    with parent_lock(config):
        published = _check_published(config) if shard is not None else publish(config, push=push)
        if on_published:
            on_published(published)
        report = sync(config, names, tag, jobs=jobs, on_child=on_child, shard=shard, command="full")
    return FullReport(published, report, shard=report.shard)


def _check_published(config: Config):
    """A shard's publish: fetch the delivery branch from source.remote (git fetches the objects only when this clone
    lacks them), split locally, and refuse unless the two are one commit. The local delivery branch then is that
    commit, so the sync delivers exactly what the job before the matrix published.

    The local move is forced: the fast-forward rule was enforced by that job's `publish --push`, and the remote's
    branch, not this clone's, is the one the shard must agree with."""
    from ddl_cascade import git
    from ddl_cascade.cascade.publish import publish

    source = config.source
    if not source.remote:
        raise CascadeError(f"{config.file}: full --shard checks the delivery branch the job before the matrix pushed "
                           "to source.remote, which is not set.")
    published_tip = git.fetch_tracking_branch(config.root, source.remote, source.delivery_branch,
                                              timeout=config.sync.timeout)
    if published_tip is None:
        raise CascadeError(f"'{source.remote}' has no delivery branch '{source.delivery_branch}' yet: run "
                           "`ddl-cascade publish --push` before the shards (the job before the matrix does).")
    published = publish(config, force=True)
    if published.new != published_tip:
        raise CascadeError(
            f"this clone's split of '{source.branch}' is {published.new[:12]}, but '{source.remote}' has the delivery "
            f"branch '{source.delivery_branch}' at {published_tip[:12]}: a shard delivers only what the job before "
            "the matrix published, so run the shards on the commit it published from (nothing was delivered).")
    return published
