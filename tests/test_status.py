"""status: every state, read by tree ids, with the JSON fields and exit codes of the contract."""

from __future__ import annotations

import json

from cascade_world import PREFIX, make_world

from ddl_cascade.cascade.commands import status
from ddl_cascade.cascade.state import State
from ddl_cascade.cascade.commands import sync


def _push_edit(world, name, files, message="edit"):
    clone = world.clone(name, where=f"{name}-edit-{len(list(world.root.iterdir()))}")
    clone.commit(files, message)
    clone.git("push", "-q", "origin", "HEAD:main")


def test_every_state(tmp_path, cli):
    world = make_world(tmp_path, {"synced": "squash", "behind": "squash", "drifted": "merge", "fresh": "squash",
                                  "drifted-behind": "squash"})
    world.extra = [("gone", "https://x-access-token:s3cret@127.0.0.1:9/x.git")]
    config = world.config()
    assert sync(config, ["synced", "behind", "drifted", "drifted-behind"]).ok  # all at V2
    _push_edit(world, "drifted", {f"{PREFIX}/sql/V2__more.sql": "create table t2 (id bigint);\n",
                                  f"{PREFIX}/sql/V9__mine.sql": "select 9;\n"})
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    world.deliver({"callbacks/beforeMigrate.sql": "select 0;\n"}, "callback")
    assert sync(config, ["synced"]).ok  # synced is at V3+callback; the others stay two deliveries behind
    # drifted-behind: still at the V2 tree plus a local edit; its nearest delivered tree is V2's, not the tip's
    _push_edit(world, "drifted-behind", {f"{PREFIX}/yaml/flyway.yaml": "flyway: {}\n"})
    # a plain commit outside the folder changes nothing
    _push_edit(world, "synced", {"db/V101__own.sql": "select 2;\n"})

    report = status(config)
    got = {c.name: c for c in report.children}
    assert [c.name for c in report.children] == ["synced", "behind", "drifted", "fresh", "drifted-behind", "gone"]
    assert got["synced"].state is State.IN_SYNC and got["synced"].tree == world.parent.tree("ro-shared-ddl")
    assert got["behind"].state is State.BEHIND and got["behind"].behind_by == 2
    assert got["drifted"].state is State.DRIFTED
    assert got["drifted"].changed_paths == [f"{PREFIX}/sql/V2__more.sql", f"{PREFIX}/sql/V9__mine.sql"]
    assert got["fresh"].state is State.NOT_ADDED
    assert got["drifted-behind"].state is State.DRIFTED
    assert got["drifted-behind"].changed_paths == [f"{PREFIX}/yaml/flyway.yaml"]
    assert got["gone"].state is State.UNREACHABLE and got["gone"].error and "s3cret" not in got["gone"].error
    assert not report.ok

    before = world.refs()
    out = cli("status", "--json", "--config", str(world.config_path))
    assert out.code == 1 and "s3cret" not in out.stdout + out.stderr
    doc = json.loads(out.stdout)
    states = {c["name"]: c for c in doc["children"]}
    assert states["behind"]["state"] == "behind" and states["behind"]["behind_by"] == 2
    assert states["drifted"]["changed_paths"] == got["drifted"].changed_paths
    assert states["gone"]["state"] == "unreachable" and states["gone"]["error"]
    assert doc["delivered_tree"] == world.parent.tree("ro-shared-ddl")
    text = cli("status", "--config", str(world.config_path))
    assert text.code == 1 and "STATUS CHECK" in text.stdout and "drifted" in text.stdout
    assert world.refs() == before  # status moved no ref in the parent or any child


def test_all_in_sync_exits_zero_and_shows_tree_ids(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash", "b": "merge"})
    assert sync(world.config()).ok
    out = cli("status", "--config", str(world.config_path))
    assert out.code == 0, out
    assert world.parent.tree("ro-shared-ddl") in out.stdout
    assert "All 2 children in sync." in out.stdout
    one = cli("status", "b", "--json", "--config", str(world.config_path))
    assert [c["name"] for c in json.loads(one.stdout)["children"]] == ["b"]


def test_no_delivery_branch_is_a_clear_error(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash"})
    world.parent.git("branch", "-D", "ro-shared-ddl")
    out = cli("status", "--config", str(world.config_path))
    assert out.code == 2 and "ro-shared-ddl" in out.stderr and "Traceback" not in out.stderr
