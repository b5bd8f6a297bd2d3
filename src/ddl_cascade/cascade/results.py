"""The documents the cascade commands print: typed, and exactly what `--json` serialises (render/json.py).

`status` → StatusReport; `sync`, `reset` and a dry run of either → CascadeReport (one ChildResult per child, the one
per-child result type); `full` → FullReport; `publish` → PublishResult (publish.py). Their JSON Schemas are generated
from these classes (render/schema.py), so a field added here is a field documented there.

A run with `--shard K/N` fills `shard` (shards.py `ShardPart`); `report merge` joins such documents into the one an
unsharded run prints, with `shard` null and `shards` listing the parts (merge.py). Both are null otherwise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ddl_cascade.cascade.channels import ChannelPosition
from ddl_cascade.cascade.commits import NewCommit
from ddl_cascade.cascade.plan import Action, ChildPlan
from ddl_cascade.cascade.publish import PublishResult
from ddl_cascade.cascade.shards import ShardPart, ShardRun
from ddl_cascade.cascade.state import ChildStatus, PullRequestInfo, State


class Result(str, enum.Enum):
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    FAILED = "failed"
    PR_OPENED = "pr_opened"  # pull-request delivery: a pull request was opened
    PR_UPDATED = "pr_updated"  # pull-request delivery: the open pull request got the new commit


@dataclass
class ChildResult:
    """The outcome for one child (`sync --json`, `reset --json` children[]). In a dry run, what a real run would do:
    `planned` is the tip it would push and `commit` the child's tip now."""

    name: str
    result: Result
    state: State  # the state the child was in before this run
    action: Action  # what the plan decided
    target: str | None  # the delivered commit the child should hold
    channel: str | None  # the child's channel ([channels]); None without channels
    pinned: bool  # the target is the child's pin
    commit: str | None  # the child's tip after the run (its current tip when nothing was pushed)
    old: str | None = None  # the tip before the run
    planned: str | None = None  # with --dry-run: the tip a real run would push
    commits: list[NewCommit] = field(default_factory=list)
    behind_by: int | None = None
    changed_paths: list[str] | None = None
    error: str | None = None
    attempts: int = 0
    backup: str | None = None  # reset only: the backup branch pushed first
    pull_request: PullRequestInfo | None = None  # pull-request delivery: the child's pull request

    @classmethod
    def of(cls, plan: ChildPlan, result: Result, commit: str | None, attempts: int, error: str | None = None,
           planned: str | None = None, backup: str | None = None,
           pull_request: PullRequestInfo | None = None) -> "ChildResult":
        return cls(plan.name, result, plan.state, plan.action, plan.target, plan.channel, plan.pinned, commit, old=plan.old, planned=planned,
                   commits=plan.commits, behind_by=plan.behind_by, changed_paths=plan.changed_paths,
                   error=error if error is not None else plan.error, attempts=attempts, backup=backup,
                   pull_request=pull_request)


@dataclass
class CascadeReport:
    """`sync --json` and `reset --json`: the delivery branch and every selected child's result."""

    delivery_branch: str
    delivery_tip: str
    delivered_tree: str
    dry_run: bool
    ok: bool = True
    children: list[ChildResult] = field(default_factory=list)
    shard: ShardPart | None = None  # --shard K/N: which part of the run this is
    shards: list[ShardRun] | None = None  # `report merge`: the parts this document joins

    def finish(self) -> "CascadeReport":
        self.ok = all(c.result in (Result.UPDATED, Result.UNCHANGED, Result.PR_OPENED, Result.PR_UPDATED)
                      for c in self.children)
        return self


# How many of the delivery branch's commits a status document lists (StatusReport.delivery_commits).
DELIVERY_COMMITS = 200


@dataclass
class StatusReport:
    """`status --json`: every selected child's state against its target, and where each channel is."""

    delivery_branch: str
    delivery_tip: str
    delivered_tree: str
    ok: bool = True
    generated_at: str | None = None  # when the children were read (UTC, ISO 8601): the dashboard's trends
    # The delivery branch's newest commits (newest first, at most DELIVERY_COMMITS), so a reader of the document
    # alone (the dashboard) can place each channel and each child's `delivered` commit on the branch.
    delivery_commits: list[str] = field(default_factory=list)
    children: list[ChildStatus] = field(default_factory=list)
    channels: list[ChannelPosition] = field(default_factory=list)  # empty without [channels]
    shard: ShardPart | None = None  # --shard K/N: which part of the run this is
    shards: list[ShardRun] | None = None  # `report merge`: the parts this document joins

    @property
    def in_sync(self) -> bool:
        return all(c.state is State.IN_SYNC for c in self.children)


@dataclass
class FullReport:
    """`full --json`: what publish did, then the sync. With --shard, publish only checked the delivery branch the
    job before the matrix pushed (nothing pushed); `shard` is also the sync's."""

    publish: PublishResult
    sync: CascadeReport
    shard: ShardPart | None = None  # --shard K/N: which part of the run this is
    shards: list[ShardRun] | None = None  # `report merge`: the parts this document joins
