"""The nuclear reset: force a child's prefix folder back to the delivered tree, keeping a backup so nothing is lost.

For each child not already in sync:
1. push a backup branch `ddl-cascade/backup/<UTC timestamp>` at the child's current tip (it must not exist yet);
2. push one new tip, compare-and-swap on the old one, whose tree is the child's tree with only the prefix folder
   replaced by the delivery tip's tree. Unlike sync, drift does not stop it: that is what reset is for.
The new commits keep `git subtree`'s shape (squash mode: a squash commit plus a commit joining it; merge mode: a
commit whose second parent is the delivery tip), so later syncs and a real `git subtree pull` continue cleanly.
Without `apply` (the CLI's `--yes`) only the plan is computed.
"""

from __future__ import annotations

import time
from typing import Callable

from ddl_cascade import git
from ddl_cascade.config import Config
from ddl_cascade.cascade.state import State, classify
from ddl_cascade.sync import (
    MAX_ATTEMPTS,
    Action,
    ChildPlan,
    ChildResult,
    Result,
    Run,
    SyncReport,
    _each,
    after_rejection,
    push,
    result_of,
)

BACKUP_PREFIX = "ddl-cascade/backup/"


def backup_branch(when: float | None = None) -> str:
    return BACKUP_PREFIX + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when if when is not None else time.time()))


def reset_child(run: Run, child, backup: str) -> ChildResult:
    attempts = 0
    backed_up: set[str] = set()
    result: ChildResult | None = None
    while attempts < MAX_ATTEMPTS:
        attempts += 1
        reader = run.readers.get()
        fetched = run.mirror.fetch_one(child, reader)
        status = classify(reader, run.delivery, child, fetched.tip, fetched.error)
        plan = ChildPlan(child.name, status.state, Action.NONE, status.tip, behind_by=status.behind_by,
                         changed_paths=status.changed_paths, error=status.error)
        if status.state is State.UNREACHABLE:
            return result_of(plan, Result.FAILED, None, attempts)
        if status.state is State.IN_SYNC:
            return result_of(plan, Result.UNCHANGED, status.tip, attempts)
        note = (f"ddl-cascade reset; the previous tip {status.tip} is kept on branch {backup}."
                if status.tip else "ddl-cascade reset.")
        plan.action = Action.PUSH
        plan.new_tip, plan.commits, plan.objects = run.builder.update(reader, child, status.tip, reset_note=note)
        if run.dry_run:
            result = result_of(plan, Result.UPDATED, status.tip, attempts, planned=plan.new_tip)
            result.backup = backup if status.tip else None
            return result
        git.write_objects(run.mirror.path, plan.objects)
        # The backup first, in its own push: if anything after it fails, the old tip is still safe.
        if status.tip and status.tip not in backed_up:
            ref = f"refs/heads/{backup}" if not backed_up else f"refs/heads/{backup}-{len(backed_up) + 1}"
            outcome = push(run.mirror, child, [(status.tip, ref, None)])
            if not outcome.ok:
                return result_of(plan, Result.FAILED, status.tip, attempts,
                                 error=f"backup branch not pushed, nothing changed: {outcome.error}")
            backed_up.add(status.tip)
        if run.before_push is not None:
            run.before_push(child, plan)
        outcome = push(run.mirror, child, [(plan.new_tip, f"refs/heads/{child.branch}", status.tip)])
        if outcome.ok:
            run.mirror.record(child, plan.new_tip)
            result = result_of(plan, Result.UPDATED, plan.new_tip, attempts)
            result.backup = backup if status.tip else None
            return result
        final = after_rejection(run, child, plan, status.tip, attempts, outcome.error)
        if final is not None:
            return final
    return ChildResult(child.name, Result.FAILED, State.DRIFTED, None,
                       error=f"the child kept moving; gave up after {attempts} attempts", attempts=attempts)


def reset(config: Config, names: list[str] | tuple[str, ...] = (), apply: bool = False, jobs: int | None = None,
          on_child: Callable[[ChildResult], None] | None = None, before_push=None) -> SyncReport:
    """Reset the named children (all when none are named); with apply=False only plan."""
    from ddl_cascade.lock import parent_lock

    children = list({c.name: c for c in config.select(names)}.values())  # each child once
    backup = backup_branch()
    with parent_lock(config):
        run = Run.open(config, dry_run=not apply, before_push=before_push)
        report: SyncReport = run.report()
        try:
            report.children = _each(run, children, jobs, lambda c: reset_child(run, c, backup), on_child)
        finally:
            run.readers.close()
            run.mirror.flush()
            run.mirror.maintain()
    return report
