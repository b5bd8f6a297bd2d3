"""Plan: read every selected child and decide what it needs, without changing anything but the cache of children.

`plan(config, selection)` fetches each child into the cache (see cache.py), classifies it against its **target**
(the delivered commit it should hold: its pin, else its channel's commit, else the delivery tip; channels.py), and
decides one action per child:

    state \\ run   sync                          reset
    in_sync       none                          none
    ahead         none                          reset
    behind        update (commits built)        reset (commits built)
    not_added     update (commits built)        reset (commits built)
      no branch   none, with the error (unless the child sets create_branch = true: then as not_added)
    drifted       refuse (nothing is pushed)    reset (backup first)
    unreachable   none, with the error          none, with the error

One verdict is not the table's: a child that looks drifted is first judged again against the remote's delivery
branch (fetched once per run, only then; state.py `judge_with_upstream`). If that branch delivered its tree, this
parent clone is stale, not the child: the child reads `ahead` and its action is `none` with an error that says to
update the parent clone (never `reset`: that would move the child back to what a stale clone knows).

`decide` is that table and nothing else: a pure function of the state, so it is tested as a table. The commits an
update or reset needs are built here, in memory (commits.py); `apply` (apply.py) writes and delivers them. A
delivery never changes a plan, so a new way of delivering (a pull request) needs no change here.

Speed: a run that will push may plan a child on the tip the cache already holds, without asking the child
(`assume_cached`). Only an `update` is trusted that way: the push names the tip it was built on (a lease), so a child
that moved rejects it and is then planned again from a fresh fetch. Any other verdict on a cached tip (in sync,
drifted) is confirmed against the child first, since it would push nothing to prove it.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from ddl_cascade import git
from ddl_cascade.cascade import channels
from ddl_cascade.cascade.cache import ChildCache, Fetched, in_parallel
from ddl_cascade.cascade.commits import Builder, NewCommit
from ddl_cascade.cascade.shards import Shard, ShardPart
from ddl_cascade.cascade.state import (ChildStatus, DeliveryHistory, State, classify, judge_with_upstream,
                                       upstream_history)
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import CascadeError

BACKUP_PREFIX = "ddl-cascade/backup/"


class Action(str, enum.Enum):
    NONE = "none"
    UPDATE = "update"
    REFUSE = "refuse"
    RESET = "reset"


@dataclass(frozen=True)
class Selection:
    """Which children a run acts on: the named ones (all when none are), narrowed to those carrying `tag`, then to
    those of `shard` (`--shard K/N`, shards.py)."""

    names: tuple[str, ...] = ()
    tag: str | None = None
    shard: Shard | None = None

    def children(self, config: Config) -> list[Child]:
        """The selected children, each once, in cascade.toml's order. A name no child has, or a tag no selected child
        carries, is a usage error (exit 2): a run over nothing would report "all 0 children in sync" for a typo. A
        shard that holds none of them is no error: with more shards than children, some are empty."""
        whole = self.unsharded(config)
        return self.shard.select(whole) if self.shard else whole

    def unsharded(self, config: Config) -> list[Child]:
        chosen = list({c.name: c for c in config.select(list(self.names), self.tag)}.values())
        if not chosen and self.tag is not None:
            named = "of the named children " if self.names else ""
            raise CascadeError(f"{config.file}: no child {named}carries the tag '{self.tag}'.")
        return chosen

    def part(self, config: Config, command: str) -> ShardPart | None:
        """The `"shard"` of the run's document: None without a shard."""
        return self.shard.part(self.unsharded(config), command) if self.shard else None


@dataclass
class ChildPlan:
    """What one child needs, decided from its state against its target."""

    name: str
    state: State
    action: Action
    target: str  # the delivered commit the child should hold
    old: str | None  # the child's tip the plan was made on
    new: str | None = None  # the tip an update or reset makes
    tree: str | None = None  # the child's prefix folder tree
    commits: list[NewCommit] = field(default_factory=list)
    behind_by: int | None = None
    changed_paths: list[str] | None = None
    error: str | None = None
    backup: str | None = None  # reset: the branch that keeps the old tip
    target_tree: str | None = None  # the target's tree: what the child's prefix folder should hold
    channel: str | None = None  # the child's channel ([channels]); None without channels
    pinned: bool = False  # the target is the child's pin
    # Not part of any document:
    child: Child | None = field(default=None, repr=False, compare=False)
    objects: list[tuple[str, bytes]] = field(default_factory=list, repr=False, compare=False)

    @property
    def status(self) -> ChildStatus:
        assert self.child is not None
        return ChildStatus(self.name, self.state, tip=self.old, tree=self.tree, behind_by=self.behind_by,
                           changed_paths=self.changed_paths, error=self.error, prefix=self.child.prefix,
                           branch=self.child.branch, target=self.target, channel=self.channel,
                           pinned=self.pinned)


def decide(state: State, reset: bool) -> Action:
    """The action for a child in `state` (the table in the module docstring)."""
    if state is State.UNREACHABLE or state is State.IN_SYNC:
        return Action.NONE
    if reset:
        return Action.RESET
    if state in (State.BEHIND, State.NOT_ADDED):
        return Action.UPDATE
    if state is State.DRIFTED:
        return Action.REFUSE
    return Action.NONE  # ahead of its target: sync never moves a child backwards


def backup_branch(when: float | None = None) -> str:
    return BACKUP_PREFIX + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when if when is not None else time.time()))


class Readers:
    """One ObjectReader per worker thread (a cat-file process is a single conversation)."""

    def __init__(self, repo) -> None:
        self.repo = repo
        self._local = threading.local()
        self._all: list[git.ObjectReader] = []
        self._lock = threading.Lock()

    def get(self) -> git.ObjectReader:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = git.ObjectReader(self.repo)
            self._local.reader = reader
            with self._lock:
                self._all.append(reader)
        return reader

    def close(self) -> None:
        for reader in self._all:
            reader.close()


class Planner:
    """Everything planning shares across worker threads: the delivery history, the cache, the commit builder.

    `targets` maps a child name to its target delivered commit, over the one its channel or pin gives (channels.py;
    without either, the delivery tip). `reset` plans resets
    instead of syncs; `build=False` classifies only (status needs no commits).
    """

    def __init__(self, config: Config, *, reset: bool = False, targets: Mapping[str, str] | None = None,
                 assume_cached: bool = False, build: bool = True) -> None:
        self.config = config
        self.reset = reset
        self.build = build
        self.assume_cached = assume_cached
        self.history = DeliveryHistory.load(config)
        # Each child's channel and pin (channels.py); targets given by the caller win over them.
        self.assigned = channels.targets(config, self.history)
        self.targets = {name: t.commit for name, t in self.assigned.items()}
        self.targets.update(targets or {})
        for name, target in self.targets.items():
            if not self.history.is_delivered_commit(target):
                raise CascadeError(f"child '{name}': target {target} is not a commit of the delivery branch "
                                   f"'{config.source.delivery_branch}'.")
        self.cache = ChildCache(config)
        self.builder = Builder(config, self.history, self.cache)
        self.readers = Readers(self.cache.path)
        self.backup = backup_branch() if reset else None
        self._upstream: DeliveryHistory | None = None
        self._upstream_asked = False
        self._upstream_lock = threading.Lock()

    def upstream(self) -> DeliveryHistory | None:
        """The remote's delivery branch (`source.remote`), fetched at most once per run and only when asked: when a
        child looks drifted, to tell a stale parent clone from a child edited by hand."""
        with self._upstream_lock:
            if not self._upstream_asked:
                self._upstream_asked = True
                self._upstream = upstream_history(self.config)
        return self._upstream

    def target_of(self, child: Child) -> str:
        return self.targets.get(child.name, self.history.tip)

    def label(self, plan: "ChildPlan") -> "ChildPlan":
        """Note on the plan the child's channel and whether its target is a pin."""
        assigned = self.assigned.get(plan.name)
        if assigned is not None:
            plan.channel, plan.pinned = assigned.channel, assigned.pinned
        return plan

    def plan_child(self, child: Child, fresh: bool = False, damaged: str | None = None) -> ChildPlan:
        """Read one child (from the cache, or from the child when `fresh` or unsure) and decide what it needs.

        When the cache's copy of the child turns out damaged (an object missing or corrupt: `damaged` says so, or
        planning fails that way), the child is fetched afresh and planned again, once.
        """
        return self.label(self._plan_child(child, fresh, damaged))

    def _plan_child(self, child: Child, fresh: bool, damaged: str | None) -> ChildPlan:
        reader = self.readers.get()
        if damaged is not None:
            return self._decide(reader, child, self.cache.refetch(child, damaged), confirmed=True)
        cached = None if fresh or not self.assume_cached else self.cache.cached_tip(child)
        if cached is not None:
            plan = self._decide(reader, child, Fetched(child, cached), confirmed=False)
            if plan.action is Action.UPDATE:
                return plan
        plan = self._decide(reader, child, self.cache.fetch_one(child, reader), confirmed=True)
        if plan.error and plan.old and git.says_objects_are_damaged(plan.error):
            plan = self._decide(reader, child, self.cache.refetch(child, plan.error), confirmed=True)
        return plan

    def _decide(self, reader: git.ObjectReader, child: Child, fetched: Fetched, confirmed: bool) -> ChildPlan:
        target = self.target_of(child)
        try:
            status = classify(reader, self.history, child, fetched.tip, fetched.error, target)
        except Exception as exc:  # a broken child must not stop the others; say why
            return ChildPlan(child.name, State.UNREACHABLE, Action.NONE, target, fetched.tip,
                             error=f"could not plan: {exc}", child=child)
        # Drifted against what this clone knows? Only a confirmed verdict is worth the (one per run) fetch.
        stale = (confirmed and status.state is State.DRIFTED and self.config.source.remote is not None
                 and judge_with_upstream(self.config, status, self.history, self.upstream()))
        action = Action.NONE if stale else decide(status.state, self.reset)  # never reset from a stale clone
        plan = ChildPlan(child.name, status.state, action, target, status.tip,
                         tree=status.tree, behind_by=status.behind_by, changed_paths=status.changed_paths,
                         error=status.error, child=child, target_tree=self.history.tree_of.get(target))
        if fetched.error is None and fetched.tip is None and not child.create_branch:
            # A branch that is not there may be a typo in cascade.toml: creating it would deliver where nobody looks.
            plan.action = Action.NONE
            plan.error = (f"branch '{child.branch}' does not exist in child {child.name}; set create_branch = true "
                          "to create it")
            return plan
        if plan.action is Action.RESET and status.tip:
            plan.backup = self.backup
        if self.build and plan.action in (Action.UPDATE, Action.RESET):
            note = None
            if plan.action is Action.RESET:
                note = (f"ddl-cascade reset; the previous tip {status.tip} is kept on branch {plan.backup}."
                        if status.tip else "ddl-cascade reset.")
            try:
                plan.new, plan.commits, plan.objects = self.builder.update(reader, child, status.tip, target, note)
            except Exception as exc:
                plan.action, plan.error = Action.NONE, f"could not plan: {exc}"
                plan.state = State.UNREACHABLE
        return plan

    def close(self) -> None:
        self.readers.close()


@dataclass
class CascadePlan:
    """The plan of one run: every selected child's decision, in the order the children were selected."""

    delivery_branch: str
    delivery_tip: str
    delivered_tree: str
    reset: bool
    children: list[ChildPlan]
    planner: Planner = field(repr=False, compare=False)


def plan(config: Config, selection: Selection = Selection(), *, reset: bool = False,
         targets: Mapping[str, str] | None = None, assume_cached: bool = False, build: bool = True,
         jobs: int | None = None, on_child: Callable[[ChildPlan], None] | None = None,
         planner: Planner | None = None) -> CascadePlan:
    """Plan every selected child (in parallel, `jobs` at a time); the caller holds the parent lock and closes
    `result.planner` when done (apply does)."""
    children = selection.children(config)
    planner = planner or Planner(config, reset=reset, targets=targets, assume_cached=assume_cached, build=build)

    def one(child: Child) -> ChildPlan:
        try:
            result = planner.plan_child(child)
        except Exception as exc:  # one child's failure never stops the others
            result = ChildPlan(child.name, State.UNREACHABLE, Action.NONE, planner.target_of(child), None,
                               error=str(exc) or repr(exc), child=child)
            planner.label(result)
        if on_child:
            on_child(result)
        return result

    try:
        decided = in_parallel(one, children, jobs)  # Ctrl-C: cache.Stopped, with the plans that were complete
    finally:
        planner.cache.flush()  # the fetched tips become refs, which keeps their objects safe from any repack
    history = planner.history
    return CascadePlan(config.source.delivery_branch, history.tip, history.tip_tree, reset, decided, planner)
