"""Interop with the real `git subtree` (git 2.39): our commits have its shapes and messages, and the tools mix.

A "twin" pair of children starts identical: ddl-cascade syncs one, the real `git subtree add/pull` updates the other,
and the new commits must match (same trees, same parents up to the twins' own tips, same messages up to the ids of
commits that differ only by date and identity).
"""

from __future__ import annotations

import pytest
from cascade_world import PREFIX, make_world

from ddl_cascade.cascade.commands import status
from ddl_cascade.cascade.state import State
from ddl_cascade.cascade.commands import sync
from ddl_cascade.cascade.results import Result


def twin_world(tmp_path, mode, branch="main"):
    world = make_world(tmp_path, {})
    for name in ("ours", "theirs"):
        world.add_child(name, mode, files={"README.md": "# a child\n", "db/V100__own.sql": "select 1;\n"},
                        branch=branch)
    world.write_config()
    return world


def commit_info(repo, rev):
    tree, *parents = repo.git("log", "-1", "--format=%T %P", rev).split()
    message = repo.git("log", "-1", "--format=%B", rev)
    return tree, parents, message


def real_subtree(world, name, action, squash):
    """Run the real `git subtree <action>` in a fresh clone of child `name` and push the result back."""
    clone = world.clone(name, where=f"{name}-{action}-{len(list(world.root.iterdir()))}")
    args = ["subtree", action, f"--prefix={PREFIX}"] + (["--squash"] if squash else [])
    clone.git(*args, str(world.parent.path), "ro-shared-ddl")
    clone.git("push", "-q", "origin", f"HEAD:{world.branches[name]}")
    return clone


def assert_twins(world, ours, theirs, ours_old, theirs_old, mode, first, branch="main"):
    a_tip, b_tip = ours.head(branch), theirs.head(branch)
    a_tree, a_parents, a_msg = commit_info(ours, a_tip)
    b_tree, b_parents, b_msg = commit_info(theirs, b_tip)
    assert a_tree == b_tree
    assert a_parents[0] == ours_old and b_parents[0] == theirs_old
    delivery = world.parent.head("ro-shared-ddl")
    if mode == "merge":
        assert a_parents[1] == b_parents[1] == delivery
        assert a_msg.replace(ours_old, "<old>") == b_msg.replace(theirs_old, "<old>")
        return
    a_sq, b_sq = a_parents[1], b_parents[1]
    assert a_msg.replace(a_sq, "<squash>") == b_msg.replace(b_sq, "<squash>")
    a_sq_tree, a_sq_parents, a_sq_msg = commit_info(ours, a_sq)
    b_sq_tree, b_sq_parents, b_sq_msg = commit_info(theirs, b_sq)
    assert a_sq_tree == b_sq_tree == world.parent.tree("ro-shared-ddl")
    assert a_sq_msg == b_sq_msg
    assert len(a_sq_parents) == len(b_sq_parents) == (0 if first else 1)


@pytest.mark.parametrize("mode", ["squash", "merge"])
def test_commits_match_real_git_subtree_and_real_pull_continues(tmp_path, mode):
    world = twin_world(tmp_path, mode)
    config = world.config()
    ours, theirs = world.children["ours"], world.children["theirs"]
    ours_old, theirs_old = ours.head("main"), theirs.head("main")

    # first delivery: our sync vs the real `git subtree add`
    report = sync(config, ["ours"])
    assert report.children[0].result is Result.UPDATED
    real_subtree(world, "theirs", "add", mode == "squash")
    assert_twins(world, ours, theirs, ours_old, theirs_old, mode, first=True)
    assert ours.git("fsck", "--strict") is not None

    # a real pull right after our sync changes no tree
    clone = world.clone("ours", where="ours-after-first")
    before = clone.head()
    clone.git("subtree", "pull", f"--prefix={PREFIX}", *(["--squash"] if mode == "squash" else []),
              str(world.parent.path), "ro-shared-ddl")
    assert clone.tree("HEAD") == clone.tree(before)

    # a new delivery: the real pull merges cleanly on top of our commits ...
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    clone.git("subtree", "pull", f"--prefix={PREFIX}", *(["--squash"] if mode == "squash" else []),
              str(world.parent.path), "ro-shared-ddl")
    assert clone.tree("HEAD", PREFIX) == world.parent.tree("ro-shared-ddl")
    assert clone.tree("HEAD", "db") == clone.tree(before, "db")

    # ... and our second sync matches the real `git subtree pull`
    ours_old, theirs_old = ours.head("main"), theirs.head("main")
    assert sync(config, ["ours"]).children[0].result is Result.UPDATED
    real_subtree(world, "theirs", "pull", mode == "squash")
    assert_twins(world, ours, theirs, ours_old, theirs_old, mode, first=False)
    assert status(config).ok


@pytest.mark.parametrize("mode", ["squash", "merge"])
def test_child_added_by_real_subtree_is_in_sync_and_later_syncs_continue(tmp_path, mode):
    world = make_world(tmp_path, {"real": mode})
    config = world.config()
    real_subtree(world, "real", "add", mode == "squash")
    assert status(config).children[0].state is State.IN_SYNC
    real_squash = world.children["real"].head("main^2")

    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    st = status(config).children[0]
    assert st.state is State.BEHIND and st.behind_by == 1
    report = sync(config)
    assert report.children[0].result is Result.UPDATED
    child = world.children["real"]
    tree, parents, message = commit_info(child, "main")
    assert tree == child.tree("main") and child.tree("main", PREFIX) == world.parent.tree("ro-shared-ddl")
    if mode == "squash":
        _, sq_parents, sq_msg = commit_info(child, parents[1])
        assert sq_parents == [real_squash]  # chained on the squash the real tool made
        assert sq_msg.startswith(f"Squashed '{PREFIX}/' changes from ")
    else:
        assert parents[1] == world.parent.head("ro-shared-ddl")
    clone = world.clone("real", where="real-check")
    before = clone.tree("HEAD")
    clone.git("subtree", "pull", f"--prefix={PREFIX}", *(["--squash"] if mode == "squash" else []),
              str(world.parent.path), "ro-shared-ddl")
    assert clone.tree("HEAD") == before
    assert status(config).ok


def test_squash_merged_pull_request_without_trailers(tmp_path):
    """A sync PR squash-merged by a code host loses every trailer; state still reads by tree, and sync recovers."""
    world = make_world(tmp_path, {"c": "squash"})
    config = world.config()
    work = world.clone("c", where="c-work")
    work.git("fetch", "-q", str(world.parent.path), "ro-shared-ddl")
    work.git("read-tree", f"--prefix={PREFIX}", "-u", "FETCH_HEAD")
    work.git("commit", "-q", "-m", "Sync shared DDL (#12)")  # a squash merge: one parent, no trailers
    work.git("push", "-q", "origin", "HEAD:main")
    assert status(config).children[0].state is State.IN_SYNC

    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    assert status(config).children[0].state is State.BEHIND
    assert sync(config).children[0].result is Result.UPDATED
    child = world.children["c"]
    assert child.tree("main", PREFIX) == world.parent.tree("ro-shared-ddl")
    assert child.git("log", "-1", "--format=%s", "main").startswith(f"Merge commit '{child.head('main^2')}' as ")
    # the real tool now finds our squash commit and has nothing to do
    clone = world.clone("c", where="c-check")
    out = clone.git("subtree", "pull", f"--prefix={PREFIX}", "--squash", str(world.parent.path), "ro-shared-ddl")
    assert clone.head() == child.head("main"), out


@pytest.mark.parametrize("mode", ["squash", "merge"])
def test_merge_message_on_a_branch_other_than_main_matches_git(tmp_path, mode):
    """`git merge` writes "Merge commit '<id>' into <branch>" off main/master; so must we."""
    world = twin_world(tmp_path, mode, branch="develop")
    config = world.config()
    ours, theirs = world.children["ours"], world.children["theirs"]
    assert sync(config, ["ours"]).children[0].result is Result.UPDATED
    real_subtree(world, "theirs", "add", mode == "squash")
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    ours_old, theirs_old = ours.head("develop"), theirs.head("develop")
    assert sync(config, ["ours"]).children[0].result is Result.UPDATED
    real_subtree(world, "theirs", "pull", mode == "squash")
    assert_twins(world, ours, theirs, ours_old, theirs_old, mode, first=False, branch="develop")
    assert ours.git("log", "-1", "--format=%s", "develop").endswith(" into develop")
