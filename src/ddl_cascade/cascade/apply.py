"""Apply: carry a plan out through a delivery, child by child, with the one retry rule.

For each child whose plan is `update` or `reset`, its commits are written into the cache of children and handed to
the delivery (deliveries.py). Every other action ends at once: `none` is unchanged (or failed, when the plan carries
an error: the child was unreachable), `refuse` is refused and pushes nothing.

The retry rule, the only one: when a child refuses a delivery, ask the child for its tip. If it moved since the plan
read it, we lost a race with someone else's push: plan that child again from a fresh fetch and deliver again, up to
MAX_ATTEMPTS times. If it did not move, the refusal is real (a hook, a protected branch) and final, so a retry never
hides it. Each child is independent: one failure never stops the others, and a run killed halfway leaves every child
at its old tip or its new one; running again finishes the job.
"""

from __future__ import annotations

from typing import Callable

from ddl_cascade import git
from ddl_cascade.cascade.cache import Stopped, in_parallel
from ddl_cascade.cascade.deliveries import Delivery
from ddl_cascade.cascade.plan import Action, CascadePlan, ChildPlan, Planner
from ddl_cascade.cascade.results import CascadeReport, ChildResult, Result
from ddl_cascade.cascade.state import State
from ddl_cascade.config import Child
from ddl_cascade.errors import Interrupted

MAX_ATTEMPTS = 4


def _paths(paths: list[str] | None) -> str:
    n = len(paths or [])
    return "1 changed path" if n == 1 else f"{n} changed paths"


def planned_result(plan: ChildPlan, attempts: int = 1) -> ChildResult | None:
    """The result of a plan that needs no delivery, or None when it does."""
    if plan.action is Action.NONE:
        return ChildResult.of(plan, Result.FAILED if plan.error else Result.UNCHANGED, plan.old, attempts)
    if plan.action is Action.REFUSE:
        prefix = plan.child.prefix if plan.child else "the read-only folder"
        return ChildResult.of(plan, Result.REFUSED, plan.old, attempts,
                              error=f"'{prefix}/' was edited in the child ({_paths(plan.changed_paths)}); "
                                    "nothing pushed")
    return None


def dry_run_report(plan: CascadePlan) -> CascadeReport:
    """The plan as a report: what a real run would do for each child, with nothing delivered."""
    report = CascadeReport(plan.delivery_branch, plan.delivery_tip, plan.delivered_tree, dry_run=True)
    for p in plan.children:
        done = planned_result(p)
        report.children.append(done if done is not None else
                               ChildResult.of(p, Result.UPDATED, p.old, 1, planned=p.new, backup=p.backup))
    return report.finish()


def apply_child(planner: Planner, plan: ChildPlan, delivery: Delivery,
                before_push: Callable[[Child, ChildPlan], None] | None = None) -> ChildResult:
    """Deliver one child's plan, re-planning it after a lost race (the retry rule in the module docstring)."""
    attempts = 1
    last_error = None
    cache = planner.cache
    repaired = False
    while True:
        done = planned_result(plan, attempts)
        if done is not None:
            return done
        assert plan.child is not None
        git.write_objects(cache.path, plan.objects)
        if before_push is not None:
            before_push(plan.child, plan)
        delivered = delivery.deliver(cache, plan)
        if delivered.result is Result.UNCHANGED and delivered.up_to_date:
            result = ChildResult.of(plan, Result.UNCHANGED, plan.new, attempts, backup=delivered.backup)
            result.state, result.old, result.commits, result.behind_by = State.IN_SYNC, plan.new, [], None
            return result
        if delivered.result is Result.UPDATED:
            return ChildResult.of(plan, Result.UPDATED, plan.new, attempts, backup=delivered.backup)
        if delivered.result is not None:
            return ChildResult.of(plan, delivered.result, plan.old, attempts, error=delivered.error,
                                  pull_request=delivered.pull_request)
        last_error = delivered.error
        try:
            moved = cache.remote_tip(plan.child) != plan.old
        except git.GitError as exc:
            return ChildResult.of(plan, Result.FAILED, plan.old, attempts, error=git.telling_line(str(exc)))
        if not moved and not repaired and last_error and git.says_objects_are_damaged(last_error):
            # the push could not read an object of the cache (missing or corrupt): fetch the child afresh, again
            repaired, attempts = True, attempts + 1
            plan = planner.plan_child(plan.child, damaged=last_error)
            continue
        if not moved:
            return ChildResult.of(plan, Result.FAILED, plan.old, attempts, error=last_error)
        if attempts >= MAX_ATTEMPTS:
            return ChildResult.of(plan, Result.FAILED, plan.old, attempts,
                                  error=f"the child kept moving; gave up after {attempts} attempts ({last_error})")
        attempts += 1
        plan = planner.plan_child(plan.child, fresh=True)


def apply(plan: CascadePlan, delivery: Delivery, *, jobs: int | None = None,
          on_child: Callable[[ChildResult], None] | None = None,
          before_push: Callable[[Child, ChildPlan], None] | None = None) -> CascadeReport:
    """Carry out `plan` through `delivery`, every child in parallel (`jobs` at a time); the caller holds the lock."""
    planner = plan.planner
    report = CascadeReport(plan.delivery_branch, plan.delivery_tip, plan.delivered_tree, dry_run=False)

    def one(p: ChildPlan) -> ChildResult:
        try:
            result = apply_child(planner, p, delivery, before_push)
        except Exception as exc:  # one child's failure never stops the others
            result = ChildResult(p.name, Result.FAILED, State.UNREACHABLE, p.action, p.target, p.channel,
                                 p.pinned, None, error=str(exc) or repr(exc))
        if on_child:
            on_child(result)
        return result

    try:
        report.children = in_parallel(one, plan.children, jobs)
    except Stopped as stop:
        raise Interrupted(interrupted(plan.children, stop.done)) from None
    finally:
        planner.cache.flush()
    return report.finish()


def _names(names: list[str]) -> str:
    return ", ".join(names[:5]) + (", …" if len(names) > 5 else "")


def interrupted(plans: list[ChildPlan], done: list[ChildResult | None]) -> str:
    """The one sentence for a run stopped by Ctrl-C while delivering: what was updated, what was not done."""
    updated = [r.name for r in done if r is not None and r.result is Result.UPDATED]
    open_ = [p.name for p, r in zip(plans, done)
             if r is None or (r.result is Result.FAILED and r.error == "interrupted")]
    text = (f"interrupted: {len(updated)} of {len(plans)} children updated before it ({_names(updated)})"
            if updated else "interrupted before any child was updated")
    if open_:
        text += f"; {len(open_)} not done or not confirmed ({_names(open_)}): run again to finish"
    return text + "."
