"""The cascade engine's plan: state × mode → action as a table, then plan and apply on real repositories."""

from __future__ import annotations

import pytest
from cascade_world import PREFIX, world_in_every_state

from ddl_cascade.cascade.apply import apply
from ddl_cascade.cascade.commands import status, sync
from ddl_cascade.cascade.deliveries import Delivered, PushDelivery
from ddl_cascade.cascade.plan import Action, Planner, Selection, decide, plan
from ddl_cascade.cascade.results import Result
from ddl_cascade.cascade.state import State
from ddl_cascade.errors import CascadeError
from ddl_cascade.lock import parent_lock

# state, action in a sync, action in a reset
TABLE = [
    (State.IN_SYNC, Action.NONE, Action.NONE),
    (State.AHEAD, Action.NONE, Action.RESET),
    (State.BEHIND, Action.UPDATE, Action.RESET),
    (State.NOT_ADDED, Action.UPDATE, Action.RESET),
    (State.DRIFTED, Action.REFUSE, Action.RESET),
    (State.UNREACHABLE, Action.NONE, Action.NONE),
]


@pytest.mark.parametrize("state,in_sync_run,in_reset_run", TABLE, ids=[s.value for s, _, _ in TABLE])
def test_decide(state, in_sync_run, in_reset_run):
    assert decide(state, reset=False) is in_sync_run
    assert decide(state, reset=True) is in_reset_run


def test_table_covers_every_state():
    assert {s for s, _, _ in TABLE} == set(State)


def _world_in_every_state(tmp_path):
    world = world_in_every_state(tmp_path, str(tmp_path / "nowhere"))
    return world, world.config()


@pytest.mark.parametrize("reset", [False, True], ids=["sync", "reset"])
def test_plan_decides_per_state_and_changes_no_ref(tmp_path, reset):
    world, config = _world_in_every_state(tmp_path)
    before = world.refs()
    with parent_lock(config):
        decided = plan(config, Selection(), reset=reset)
        decided.planner.close()
    got = {p.name: p for p in decided.children}
    assert {n: p.state for n, p in got.items()} == {"synced": State.IN_SYNC, "behind": State.BEHIND,
                                                    "drifted": State.DRIFTED, "fresh": State.NOT_ADDED,
                                                    "gone": State.UNREACHABLE}
    for name, p in got.items():
        row = next(r for r in TABLE if r[0] is p.state)
        assert p.action is (row[2] if reset else row[1]), name
        assert p.target == world.parent.head("ro-shared-ddl")
        if p.action in (Action.UPDATE, Action.RESET):
            assert p.new and p.commits and p.commits[-1].id == p.new and p.objects
        else:
            assert p.new is None and not p.commits
    assert got["gone"].error
    assert (got["drifted"].backup is not None) is reset
    assert world.refs() == before


def test_a_target_behind_the_tip_makes_children_ahead_and_behind(tmp_path):
    world, config = _world_in_every_state(tmp_path)
    v3 = world.parent.head("ro-shared-ddl")
    v2 = world.parent.head("ro-shared-ddl~1")
    targets = {"synced": v2, "behind": v2, "fresh": v2}
    report = status(config, ["synced"])
    assert report.children[0].state is State.IN_SYNC
    result = sync(config, ["synced", "behind", "fresh"], targets=targets)
    by = {c.name: c for c in result.children}
    assert by["synced"].state is State.AHEAD and by["synced"].result is Result.UNCHANGED
    assert by["behind"].state is State.IN_SYNC and by["behind"].result is Result.UNCHANGED
    assert by["fresh"].result is Result.UPDATED and by["fresh"].target == v2
    assert world.children["fresh"].tree("main", PREFIX) == world.parent.tree(v2)
    assert world.children["synced"].tree("main", PREFIX) == world.parent.tree(v3)
    # and the tip again: fresh is one delivery behind
    again = status(config, ["fresh"]).children[0]
    assert again.state is State.BEHIND and again.behind_by == 1


def test_a_target_that_is_not_delivered_is_refused(tmp_path):
    world, config = _world_in_every_state(tmp_path)
    with pytest.raises(CascadeError, match="not a commit of the delivery branch"):
        sync(config, ["fresh"], targets={"fresh": world.parent.head("main")})


class RefusingOnce:
    """A delivery that refuses the first push of each child, as a protected branch would, then pushes."""

    name = "refusing-once"

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.push = PushDelivery()

    def deliver(self, cache, p):
        if p.name not in self.seen:
            self.seen.append(p.name)
            return Delivered(None, error="refs/heads/main protected branch hook declined")
        return self.push.deliver(cache, p)


def test_a_refusal_by_a_child_that_did_not_move_is_final(tmp_path):
    world, config = _world_in_every_state(tmp_path)
    before = world.children["fresh"].head("main")
    with parent_lock(config):
        planner = Planner(config)
        try:
            report = apply(plan(config, Selection(("fresh",)), planner=planner), RefusingOnce())
        finally:
            planner.close()
    (child,) = report.children
    assert child.result is Result.FAILED and child.attempts == 1 and "declined" in child.error
    assert world.children["fresh"].head("main") == before and not report.ok
