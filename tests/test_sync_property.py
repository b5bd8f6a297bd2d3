"""Property: for any sequence of deliveries, our sync and the real `git subtree add/pull` (the oracle) give the same
child trees and the same commit messages, in both modes, while the child keeps committing its own work."""

from __future__ import annotations

import itertools

from cascade_world import make_world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sync_interop import assert_twins, real_subtree

from ddl_cascade.cascade.commands import status
from ddl_cascade.cascade.commands import sync
from ddl_cascade.cascade.results import Result

_counter = itertools.count()

PATHS = ["sql/V1__init.sql", "sql/V2__more.sql", "sql/V3__x.sql", "callbacks/afterMigrate.sql", "yaml/a.yaml"]
step = st.tuples(
    st.dictionaries(st.sampled_from(PATHS), st.one_of(st.none(), st.sampled_from(["a\n", "b\n", "c\n"])),
                    min_size=1, max_size=3),
    st.booleans(),  # the child commits something of its own first
)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["squash", "merge"]), steps=st.lists(step, min_size=1, max_size=2))
def test_any_delivery_sequence_matches_real_git_subtree(tmp_path, mode, steps):
    root = tmp_path / f"ex{next(_counter)}"
    world = make_world(root, {})
    for name in ("ours", "theirs"):
        world.add_child(name, mode, files={"README.md": "# child\n", "db/V100__own.sql": "select 1;\n"})
    config = world.config()
    ours, theirs = world.children["ours"], world.children["theirs"]
    first = True
    for n, (files, own_commit) in enumerate(steps):
        kept = {"sql/V1__init.sql": f"create table t{n} (id int);\n"}  # the folder never becomes empty
        world.deliver({**files, **kept}, f"delivery {n}")
        if own_commit and not first:
            for name in ("ours", "theirs"):
                clone = world.clone(name, where=f"{name}-own-{n}")
                clone.commit({f"db/V{200 + n}__own.sql": f"select {n};\n"}, f"own work {n}")
                clone.git("push", "-q", "origin", "HEAD:main")
        ours_old, theirs_old = ours.head("main"), theirs.head("main")
        assert sync(config, ["ours"]).children[0].result is Result.UPDATED
        real_subtree(world, "theirs", "add" if first else "pull", mode == "squash")
        assert_twins(world, ours, theirs, ours_old, theirs_old, mode, first=first)
        first = False
    assert status(config).ok
