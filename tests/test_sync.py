"""sync: plans, dry runs, refusal of drift, and the faults the issue lists (nothing lost in any of them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from cascade_world import PREFIX, make_world

from ddl_cascade import config
from ddl_cascade.cascade.commands import status
from ddl_cascade.cascade.state import State
from ddl_cascade.cascade.commands import sync
from ddl_cascade.cascade.results import Result

SECRET_URL = "https://x-access-token:s3cret@127.0.0.1:9/x.git"


def test_dry_run_prints_the_plan_and_changes_no_ref(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash", "b": "merge"})
    before = world.refs()
    out = cli("sync", "--dry-run", "--json", "--config", str(world.config_path))
    assert out.code == 0, out
    doc = json.loads(out.stdout)
    assert doc["dry_run"] is True
    by_name = {c["name"]: c for c in doc["children"]}
    assert by_name["a"]["state"] == "not_added" and by_name["a"]["result"] == "updated"
    assert [c["kind"] for c in by_name["a"]["commits"]] == ["squash", "merge"]
    assert [c["kind"] for c in by_name["b"]["commits"]] == ["add"]
    assert by_name["a"]["commit"] == world.children["a"].head("main")  # the tip did not move
    assert by_name["a"]["planned"] == by_name["a"]["commits"][-1]["id"]
    assert world.refs() == before

    text = cli("sync", "--dry-run", "--config", str(world.config_path))
    assert text.code == 0 and "would push" in text.stdout and "Squashed 'read-only-flyway-files/'" in text.stdout
    assert world.refs() == before


def test_sync_then_rerun_is_a_no_op_that_pushes_nothing(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash", "b": "merge"})
    first = cli("sync", "--json", "--config", str(world.config_path))
    assert first.code == 0, first
    assert [c["result"] for c in json.loads(first.stdout)["children"]] == ["updated", "updated"]
    after_first = world.refs()
    second = cli("sync", "--json", "--config", str(world.config_path))
    assert second.code == 0
    doc = json.loads(second.stdout)
    assert [c["result"] for c in doc["children"]] == ["unchanged", "unchanged"]
    assert [c["commit"] for c in doc["children"]] == [world.children["a"].head("main"),
                                                       world.children["b"].head("main")]
    assert world.refs() == after_first


def test_unreachable_and_misconfigured_children_do_not_stop_the_others(tmp_path, cli):
    world = make_world(tmp_path, {"good": "squash"})
    world.extra = [("secret", SECRET_URL), ("not-a-repo", str(tmp_path / "nowhere"))]
    world.write_config()
    out = cli("sync", "--json", "--config", str(world.config_path))
    assert out.code == 1, out
    doc = json.loads(out.stdout)
    by_name = {c["name"]: c for c in doc["children"]}
    assert by_name["good"]["result"] == "updated"
    assert world.children["good"].tree("main", PREFIX) == world.parent.tree("ro-shared-ddl")
    for name in ("secret", "not-a-repo"):
        assert by_name[name]["result"] == "failed" and by_name[name]["state"] == "unreachable"
        assert by_name[name]["error"]
    text = cli("sync", "--config", str(world.config_path))
    st = cli("status", "--json", "--config", str(world.config_path))
    for run in (out, text, st):
        assert "s3cret" not in run.stdout + run.stderr
    assert "failed" in text.stdout and "secret" in text.stdout
    assert {c["name"]: c["state"] for c in json.loads(st.stdout)["children"]}["secret"] == "unreachable"


def test_edited_read_only_folder_is_refused_and_its_tip_untouched(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash", "b": "squash"})
    assert sync(world.config()).ok
    clone = world.clone("a")
    clone.commit({f"{PREFIX}/sql/V1__init.sql": "create table t1 (id bigint);\n"}, "local edit of shared DDL")
    clone.git("push", "-q", "origin", "HEAD:main")
    edited = world.children["a"].head("main")
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")

    out = cli("sync", "--json", "--config", str(world.config_path))
    assert out.code == 1
    by_name = {c["name"]: c for c in json.loads(out.stdout)["children"]}
    assert by_name["a"]["result"] == "refused" and by_name["a"]["state"] == "drifted"
    assert by_name["a"]["changed_paths"] == [f"{PREFIX}/sql/V1__init.sql"]
    assert by_name["a"]["commit"] == edited
    assert world.children["a"].head("main") == edited
    assert by_name["b"]["result"] == "updated"


def test_push_race_is_retried_and_ends_correct(tmp_path):
    world = make_world(tmp_path, {"a": "squash"})
    racer = world.clone("a", where="racer")
    raced = []

    def someone_pushes_first(child, plan):
        if not raced:
            raced.append(racer.commit({"db/V101__racer.sql": "select 2;\n"}, "a commit that lands mid-sync"))
            racer.git("push", "-q", "origin", "HEAD:main")

    report = sync(world.config(), before_push=someone_pushes_first)
    result = report.children[0]
    assert result.result is Result.UPDATED and result.attempts == 2
    child = world.children["a"]
    assert child.git("merge-base", "--is-ancestor", raced[0], "main") == ""  # the racing commit is kept
    assert child.tree("main", PREFIX) == world.parent.tree("ro-shared-ddl")
    assert child.tree("main", "db") == racer.tree(raced[0], "db")
    assert status(world.config()).ok


def test_branch_other_than_main_and_an_empty_child(tmp_path):
    world = make_world(tmp_path, {})
    empty = world.root / "empty.git"
    subprocess.run(["git", "init", "-q", "--bare", str(empty)], check=True)
    world.extra = [("empty", str(empty))]
    path = world.write_config()
    # A branch the child does not have is not created unless the child asks for it: it may be a typo.
    refused = sync(config.load(path)).children[0]
    assert refused.result is Result.FAILED and refused.state is State.NOT_ADDED and refused.commit is None
    assert refused.error == "branch 'main' does not exist in child empty; set create_branch = true to create it"
    assert subprocess.run(["git", "for-each-ref"], cwd=empty, capture_output=True, text=True).stdout == ""
    path.write_text(path.read_text() + "create_branch = true\n")
    report = sync(config.load(path))
    assert report.children[0].result is Result.UPDATED and report.children[0].state is State.NOT_ADDED
    tip = subprocess.run(["git", "rev-parse", "main:" + PREFIX], cwd=empty, capture_output=True, text=True)
    assert tip.stdout.strip() == world.parent.tree("ro-shared-ddl")
    assert status(config.load(path)).ok


def test_killed_halfway_then_rerun_converges(tmp_path):
    world = make_world(tmp_path, {"a": "squash", "b": "squash", "c": "merge"})
    old = {name: repo.head("main") for name, repo in world.children.items()}
    marker = tmp_path / "hook-started"
    hook = world.children["b"].path / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 60\n")
    hook.chmod(0o755)
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "ddl_cascade", "sync", "--jobs", "1", "--config",
                             str(world.config_path)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    hook.unlink()
    heads = {name: repo.head("main") for name, repo in world.children.items()}
    assert heads["a"] != old["a"]  # done before the kill
    assert heads["b"] == old["b"] and heads["c"] == old["c"]  # at the old tip, nothing half-written

    report = sync(world.config())
    assert [c.result for c in report.children] == [Result.UNCHANGED, Result.UPDATED, Result.UPDATED]
    assert status(world.config()).ok


def test_child_that_moved_since_the_last_run_is_refetched_before_the_push_lands(tmp_path):
    """The cache's tip is stale: the first push (built on it) is refused by the lease, then the child is fetched."""
    world = make_world(tmp_path, {"a": "squash"})
    assert sync(world.config()).ok
    clone = world.clone("a", where="a-dev")
    theirs = clone.commit({"db/V101__dev.sql": "select 2;\n"}, "a developer's own migration")
    clone.git("push", "-q", "origin", "HEAD:main")
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    result = sync(world.config()).children[0]
    assert result.result is Result.UPDATED and result.old == theirs
    child = world.children["a"]
    assert child.head("main^1") == theirs
    assert child.tree("main", "db") == clone.tree(theirs, "db")
    assert status(world.config()).ok


def test_full_publishes_then_syncs(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash", "b": "merge"})
    assert sync(world.config()).ok
    before = world.parent.head("ro-shared-ddl")
    world.parent.commit({"read-write-flyway-files/sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    out = cli("full", "--json", "--config", str(world.config_path))
    assert out.code == 0, out
    doc = json.loads(out.stdout)
    assert doc["publish"]["old"] == before and doc["publish"]["new"] == world.parent.head("ro-shared-ddl")
    assert doc["publish"]["new"] == world.split()  # the real `git subtree split` agrees on the delivery tip
    assert [c["result"] for c in doc["sync"]["children"]] == ["updated", "updated"]
    again = cli("full", "--json", "--config", str(world.config_path))
    assert again.code == 0
    assert [c["result"] for c in json.loads(again.stdout)["sync"]["children"]] == ["unchanged", "unchanged"]


def test_nested_prefix_keeps_the_rest_of_its_folder(tmp_path):
    world = make_world(tmp_path, {})
    bare = world.add_child("nested", files={"ddl/own/V100__own.sql": "select 1;\n", "README.md": "x\n"})
    world.children.pop("nested")
    world.write_config()
    with world.config_path.open("a") as fh:
        fh.write(f'\n[[children]]\nname = "nested"\nurl = "{bare.path}"\nprefix = "ddl/shared"\n')
    from ddl_cascade import config as cfgmod

    config = cfgmod.load(world.config_path)
    assert sync(config).ok
    assert bare.tree("main", "ddl/shared") == world.parent.tree("ro-shared-ddl")
    assert bare.git("show", "main:ddl/own/V100__own.sql") == "select 1;"
    assert status(config).ok
