"""Deliveries: how one child's planned update reaches the child. A delivery never decides anything.

`apply` (apply.py) hands each child's `update` or `reset` plan, with its commits already written into the cache of
children, to a delivery's `deliver`, which answers with a `Delivered`:
- `result` set: the final word for this child (updated, unchanged because the child already had it, failed);
- `result` None: the child refused the push (`error` says how); apply then asks whether the child moved under us
  (a lost race: plan it again and retry) or not (a real refusal: failed). That retry rule lives in apply alone.

The deliveries:
- `PushDelivery`: a compare-and-swap push of the new tip (`--force-with-lease=<branch>:<old tip>`), so it can never
  overwrite a commit it has not seen.
- `ResetDelivery`: first a backup branch at the child's current tip (which must not exist yet), in its own push, so
  that if anything after it fails the old tip is still safe; then the reset commit, compare-and-swap as above.
- `PullRequestDelivery` (pullrequests.py): the new tip on a pull request's branch, and the pull request kept current.
- `ChildDelivery`: each child's own `delivery` key picks one of the above (`sync` uses it).

A delivery is a class with `name`, `deliver(cache, plan) -> Delivered` and `git_env(child)` (the environment git's
transport to that child needs, e.g. a forge's token; the cache of children uses it for fetches and pushes); `plan`
does not change, and apply's retry rule applies to each of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol

from ddl_cascade.cascade.cache import ChildCache
from ddl_cascade.cascade.plan import ChildPlan
from ddl_cascade.cascade.results import PullRequestInfo, Result
from ddl_cascade.config import Child


@dataclass
class Delivered:
    result: Result | None  # None: refused by the child; apply decides whether that was a lost race
    error: str | None = None
    backup: str | None = None  # the backup branch holding the old tip, when one was pushed
    up_to_date: bool = False  # the child already had exactly these commits: nothing was sent
    pull_request: PullRequestInfo | None = None  # pull-request delivery: the child's pull request


class Delivery(Protocol):
    name: str

    def deliver(self, cache: ChildCache, plan: ChildPlan) -> Delivered: ...

    def git_env(self, child: Child) -> Mapping[str, str] | None:
        """Environment git's transport to `child` needs (a forge's token), or None."""
        ...


def _push_tip(cache: ChildCache, plan: ChildPlan, backup: str | None = None) -> Delivered:
    assert plan.child is not None and plan.new is not None
    outcome = cache.push(plan.child, [(plan.new, f"refs/heads/{plan.child.branch}", plan.old)])
    if not outcome.ok:
        return Delivered(None, error=outcome.error, backup=backup)
    cache.record(plan.child, plan.new)
    if outcome.up_to_date:
        # An earlier, interrupted run built and pushed this very commit (same content, same second).
        return Delivered(Result.UNCHANGED, backup=backup, up_to_date=True)
    return Delivered(Result.UPDATED, backup=backup)


class PushDelivery:
    """Push the new tip straight to the child's branch."""

    name = "push"

    def git_env(self, child: Child) -> Mapping[str, str] | None:
        return None  # git's own credential helpers, SSH agent and askpass

    def deliver(self, cache: ChildCache, plan: ChildPlan) -> Delivered:
        return _push_tip(cache, plan)


class ResetDelivery(PushDelivery):
    """Push a backup branch of the child's tip, then the reset commit."""

    name = "reset"

    def __init__(self) -> None:
        self._backups: dict[str, dict[str, str]] = {}  # child -> old tip -> backup branch (one thread per child)

    def deliver(self, cache: ChildCache, plan: ChildPlan) -> Delivered:
        assert plan.child is not None
        backup = None
        if plan.old:
            made = self._backups.setdefault(plan.name, {})
            backup = made.get(plan.old)
            if backup is None:
                base = plan.backup or "ddl-cascade/backup"
                backup = base if not made else f"{base}-{len(made) + 1}"
                outcome = cache.push(plan.child, [(plan.old, f"refs/heads/{backup}", None)])
                if not outcome.ok:
                    return Delivered(Result.FAILED, error=f"backup branch not pushed, nothing changed: {outcome.error}")
                made[plan.old] = backup
        return _push_tip(cache, plan, backup)


class ChildDelivery:
    """Each child's own `delivery`: a push (PushDelivery) or a pull request (cascade/pullrequests.py)."""

    name = "by-child"

    def __init__(self, push: Delivery, pull_request: Delivery | None) -> None:
        self.push, self.pull_request = push, pull_request

    def _for(self, child: Child) -> Delivery:
        if child.delivery == "pull-request" and self.pull_request is not None:
            return self.pull_request
        return self.push

    def deliver(self, cache: ChildCache, plan: ChildPlan) -> Delivered:
        assert plan.child is not None
        return self._for(plan.child).deliver(cache, plan)

    def git_env(self, child: Child) -> Mapping[str, str] | None:
        return self._for(child).git_env(child)
