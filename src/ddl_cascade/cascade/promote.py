"""`promote CHANNEL`: move a channel forward to the previous channel's commit, behind a gate.

A channel moves only on purpose, and only after the channel before it took the same commit without trouble. The
gate asks two things of every child of the previous channel that follows that channel (a pinned child does not):
its read-only folder holds the promoted commit's tree or a newer delivered one (`in_sync` or `ahead` against it),
and, for a child with an `environment`, its database applied every migration with no failed row. Databases are
read by the caller's `database` function (db/report.py `promotion_problem`), as the database layer sits above the
cascade engine.

Bad input is an error (exit 2): an unknown channel, the first channel (publish moves it), a `--to` that is no
delivered commit, that is ahead of the previous channel, or that is behind CHANNEL without `--force`. A closed gate is
a refusal (exit 1) that names every reason and moves nothing; `--force` moves anyway and the document keeps the
reasons it skipped. Nothing but the channel branch (and with `--push`, its copy on `source.remote`) changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ddl_cascade import git
from ddl_cascade.cascade import channels
from ddl_cascade.cascade.plan import Planner, Selection, plan
from ddl_cascade.cascade.state import ChildStatus, DeliveryHistory, State, changed_paths
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import CascadeError
from ddl_cascade.lock import parent_lock

# Reads a child's database for the gate: a reason it fails, or None.
DatabaseCheck = Callable[[Config, Child, ChildStatus], "str | None"]


@dataclass
class Gate:
    passed: bool = True
    reasons: list[str] = field(default_factory=list)  # every reason the gate refuses (skipped with --force)


@dataclass
class PromoteResult:
    """`promote --json`: where the channel was and is, what the move brings, and the gate."""

    channel: str
    old: str | None  # None: the channel branch did not exist
    new: str
    migrations: list[str]  # files of the delivered folder that differ between old and new
    children: list[str]  # the children of the channel that the next sync brings to the new commit
    gate: Gate
    moved: bool = False  # the channel branch moved (false: refused, or already there)
    forced: bool = False  # --force: the gate's reasons (and a backward move) were skipped
    pushed_to: str | None = None

    def summary(self) -> str:
        span = f"{self.old[:12] if self.old else '(new)'}..{self.new[:12]}"
        if not self.moved and self.old == self.new:
            return f"{self.channel}: already at {self.new[:12]}"
        verb = "promoted" if self.moved else "refused"
        forced = " (forced)" if self.forced and self.gate.reasons else ""
        pushed = f"; pushed to {self.pushed_to}" if self.pushed_to else ""
        return f"{self.channel}: {verb} {span}{forced}{pushed}"


def promote(config: Config, channel: str, to: str | None = None, *, push: bool = False, force: bool = False,
            database: DatabaseCheck | None = None, jobs: int | None = None) -> PromoteResult:
    order = config.channels.order
    if not order:
        raise CascadeError(f"{config.file}: promote needs a [channels] table with an order of channels.")
    if channel not in order:
        raise CascadeError(f"no channel '{channel}': [channels] order lists {', '.join(order)}.")
    index = order.index(channel)
    if index == 0:
        raise CascadeError(f"'{channel}' is the first channel, which every publish moves; promote the next one "
                           f"({order[1] if len(order) > 1 else 'there is none'}).")
    if push and not config.source.remote:
        raise CascadeError(f"{config.file}: --push needs source.remote, which is not set.")
    previous = order[index - 1]
    with parent_lock(config):
        history = DeliveryHistory.load(config)
        at = channels.positions(config, history, missing_ok=True)
        if previous not in at:
            raise CascadeError(f"channel '{previous}' has no branch '{channels.branch(config, previous)}' yet; "
                               f"promote it first.")
        old = at.get(channel)
        new = _destination(config, history, to, at[previous], previous, old, force)
        result = PromoteResult(channel, old, new, _migrations(config, history, old, new),
                               [c.name for c in config.children
                                if channels.channel_of(config, c) == channel and c.pin is None], Gate())
        if old == new:
            result.children = []
            return result
        result.gate = _gate(config, previous, new, database, jobs)
        if result.gate.reasons and not force:
            result.gate.passed = False
            return result
        result.gate.passed = not result.gate.reasons
        result.forced = force
        ref = f"refs/heads/{channels.branch(config, channel)}"
        local = git.rev_parse(config.root, ref)
        git.update_ref(config.root, ref, new, local or "", message=f"ddl-cascade promote {channel}")
        result.moved = True
        if push:
            backwards = old is not None and new in history.ancestors(old)
            try:
                git.push_ref(config.root, config.source.remote, ref, force or backwards, timeout=config.sync.timeout)
            except git.GitError as exc:
                raise CascadeError(f"pushing {channels.branch(config, channel)} to '{config.source.remote}' failed: "
                                   f"{exc}") from None
            result.pushed_to = config.source.remote
        return result


def _destination(config: Config, history: DeliveryHistory, to: str | None, limit: str, previous: str,
                 old: str | None, force: bool) -> str:
    """The commit the channel moves to: `--to`, else the previous channel's commit; checked as the module says."""
    new = limit
    if to is not None:
        new = git.rev_parse(config.root, f"{to}^{{commit}}") or ""
        if not history.is_delivered_commit(new):
            raise CascadeError(f"--to {to!r} is not a commit of the delivery branch '{config.source.delivery_branch}'.")
        if new not in history.ancestors(limit) and not force:
            raise CascadeError(f"--to {to!r} ({new[:12]}) is ahead of channel '{previous}' ({limit[:12]}); promote "
                               f"'{previous}' first, or use --force.")
    if old is not None and old != new and new in history.ancestors(old) and not force:
        raise CascadeError(f"that would move the channel back from {old[:12]} to {new[:12]}; use --force to move a "
                           "channel backwards.")
    return new


def _migrations(config: Config, history: DeliveryHistory, old: str | None, new: str) -> list[str]:
    """The migration files (under `flyway.sql_paths`) the move adds, changes or removes, as paths inside the
    delivered folder."""
    before = history.tree_of.get(old) if old else None
    with git.ObjectReader(config.root) as reader:
        paths = changed_paths(reader, before, history.tree_of[new])
    folders = tuple(f"{p}/" for p in config.flyway.sql_paths)
    return [p for p in paths if p.startswith(folders)]


def _gate(config: Config, previous: str, new: str, database: DatabaseCheck | None, jobs: int | None) -> Gate:
    """Every reason the previous channel's children do not vouch for `new` yet."""
    followers = [c for c in config.children if channels.channel_of(config, c) == previous and c.pin is None]
    gate = Gate()
    if not followers:
        return gate
    from ddl_cascade.cascade.commands import by_child

    selection = Selection(tuple(c.name for c in followers))
    planner = Planner(config, build=False, targets={c.name: new for c in followers})
    planner.cache.git_env = by_child(config, selection).git_env  # the credentials each child's fetch needs
    try:
        decided = plan(config, selection, jobs=jobs, planner=planner)
    finally:
        planner.close()
    for p in decided.children:
        status = p.status
        if p.state not in (State.IN_SYNC, State.AHEAD) or p.error:
            why = f" ({p.error})" if p.error else ""
            gate.reasons.append(f"child '{p.name}' of channel '{previous}' is {p.state.value} at {new[:12]}{why}")
        elif database is not None and p.child is not None and p.child.environment is not None:
            problem = database(config, p.child, status)
            if problem:
                gate.reasons.append(f"child '{p.name}' of channel '{previous}': {problem}")
    return gate
