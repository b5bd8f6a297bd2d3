"""Channels and pins: which delivered commit each channel is at, and so the **target** of each child.

`[channels] order = ["dev", "staging", "prod"]` makes each channel a branch of the parent,
`<delivery_branch>-<channel>`, always pointing at a commit of the delivery branch. The first channel receives every
publish (publish.py moves it with the delivery branch); each further one moves only by `promote` (promote.py).
Because they are plain branches, `git log`, `git subtree pull` in a child, and a fresh CI clone (through the
remote-tracking branches) see the same positions ddl-cascade does. No state file exists.

The target of a child is its `pin` if it has one (a delivered commit id, or a tag on the delivery branch), else its
channel's commit. Without `[channels]` and without pins this module returns no targets, and the plan falls back to
the delivery tip: nothing changes for a parent that does not use channels.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddl_cascade import git
from ddl_cascade.cascade.state import DeliveryHistory
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import CascadeError


@dataclass(frozen=True)
class Target:
    """The delivered commit one child should hold, and why."""

    commit: str
    channel: str | None  # None without [channels]
    pinned: bool


def branch(config: Config, channel: str) -> str:
    """The parent branch that holds `channel`'s commit."""
    return f"{config.source.delivery_branch}-{channel}"


def channel_of(config: Config, child: Child) -> str | None:
    order = config.channels.order
    return (child.channel or order[0]) if order else None


def read_positions(config: Config) -> dict[str, str | None]:
    """Each channel's commit as the parent's branches say (the local branch, else the remote-tracking one; None when
    neither exists yet)."""
    out: dict[str, str | None] = {}
    remote = config.source.remote
    for channel in config.channels.order:
        name = branch(config, channel)
        out[channel] = git.rev_parse(config.root, f"refs/heads/{name}") or (
            git.rev_parse(config.root, f"refs/remotes/{remote}/{name}") if remote else None)
    return out


def positions(config: Config, history: DeliveryHistory, missing_ok: bool = False) -> dict[str, str]:
    """Each channel's commit, checked against the delivery branch. The first channel is at the delivery tip when its
    branch does not exist yet; a further channel without a branch (left out with `missing_ok`), or a branch off the
    delivery branch, is an error."""
    out: dict[str, str] = {}
    for i, (channel, commit) in enumerate(read_positions(config).items()):
        name = branch(config, channel)
        if commit is None:
            if i == 0:
                commit = history.tip
            elif missing_ok:
                continue
            else:
                raise CascadeError(f"channel '{channel}' has no branch '{name}' in the parent yet; run "
                                   f"`ddl-cascade publish` (which creates missing channel branches) or "
                                   f"`ddl-cascade promote {channel}`.")
        if not history.is_delivered_commit(commit):
            raise CascadeError(f"channel branch '{name}' ({commit[:12]}) is not at a commit of the delivery branch "
                               f"'{config.source.delivery_branch}'; move it back with `ddl-cascade promote {channel} "
                               "--to COMMIT --force`.")
        out[channel] = commit
    return out


def resolve_pin(config: Config, child: Child, history: DeliveryHistory) -> str:
    """The delivered commit a child's `pin` names; one sentence naming the key when it names none."""
    assert child.pin is not None
    index = next(i for i, c in enumerate(config.children) if c.name == child.name)
    commit = git.rev_parse(config.root, f"{child.pin}^{{commit}}")
    if commit is None or not history.is_delivered_commit(commit):
        why = "names no commit in the parent" if commit is None else \
            f"names {commit[:12]}, which is not a commit of the delivery branch"
        raise CascadeError(f"{config.file}: 'children[{index}] ('{child.name}').pin' {child.pin!r} {why} "
                           f"'{config.source.delivery_branch}'; a pin is a delivered commit id or a tag on it.")
    return commit


def targets(config: Config, history: DeliveryHistory) -> dict[str, Target]:
    """The target of every child that has a channel or a pin (none when the parent uses neither)."""
    if not config.channels.order and not any(c.pin for c in config.children):
        return {}
    at = positions(config, history, missing_ok=True) if config.channels.order else {}
    out: dict[str, Target] = {}
    for child in config.children:
        target = _target(config, history, child, at)
        if target is not None:
            out[child.name] = target
    return out


def target_of(config: Config, history: DeliveryHistory, child: Child) -> Target | None:
    """One child's target (None when it has neither a channel nor a pin: it follows the delivery tip); only that
    child's pin and channel are read."""
    channel = channel_of(config, child)
    at = positions(config, history, missing_ok=True) if channel is not None and child.pin is None else {}
    return _target(config, history, child, at)


def _target(config: Config, history: DeliveryHistory, child: Child, at: dict[str, str]) -> Target | None:
    channel = channel_of(config, child)
    if child.pin is not None:
        return Target(resolve_pin(config, child, history), channel, True)
    if channel is None:
        return None
    if channel not in at:
        raise CascadeError(f"channel '{channel}' (of child '{child.name}') has no branch "
                           f"'{branch(config, channel)}' in the parent yet; run `ddl-cascade publish` (which "
                           f"creates missing channel branches) or `ddl-cascade promote {channel}`.")
    return Target(at[channel], channel, False)


@dataclass
class ChannelPosition:
    """Where one channel is (`status --json` channels[])."""

    name: str
    branch: str  # the parent branch `<delivery_branch>-<channel>`
    commit: str
    behind_first: int  # delivery commits the first channel has that this one lacks


def report(config: Config, history: DeliveryHistory) -> list[ChannelPosition]:
    """Every channel's commit and how far it is behind the first (none without [channels])."""
    if not config.channels.order:
        return []
    at = positions(config, history)
    first = history.ancestors(at[config.channels.order[0]])
    return [ChannelPosition(name, branch(config, name), commit, len(first - history.ancestors(commit)))
            for name, commit in at.items()]
