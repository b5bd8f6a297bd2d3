"""reset: the nuclear option pushes a backup branch first, then sets only the read-only folder."""

from __future__ import annotations

import json

from cascade_world import PREFIX, make_world

from ddl_cascade.cascade.commands import status
from ddl_cascade.cascade.commands import sync
from ddl_cascade.cascade.results import Result


def _drift(world, name):
    clone = world.clone(name, where=f"{name}-drift")
    clone.commit({f"{PREFIX}/sql/V1__init.sql": "drop table everything;\n", "db/V102__own.sql": "select 3;\n"},
                 "edited the shared DDL by hand")
    clone.git("push", "-q", "origin", "HEAD:main")
    return world.children[name].head("main")


def test_reset_without_yes_only_prints_the_plan(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash"})
    assert sync(world.config()).ok
    _drift(world, "a")
    before = world.refs()
    out = cli("reset", "a", "--config", str(world.config_path))
    assert out.code == 0, out
    assert "would push" in out.stdout and "--yes" in out.stdout
    assert world.refs() == before


def test_reset_pushes_backup_then_restores_the_folder_and_keeps_the_rest(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash", "b": "merge", "ok": "squash"})
    assert sync(world.config()).ok
    old_a, old_b = _drift(world, "a"), _drift(world, "b")
    ok_tip = world.children["ok"].head("main")
    out = cli("reset", "--all", "--yes", "--json", "--config", str(world.config_path))
    assert out.code == 0, out
    doc = {c["name"]: c for c in json.loads(out.stdout)["children"]}
    assert doc["ok"]["result"] == "unchanged" and world.children["ok"].head("main") == ok_tip
    for name, old in (("a", old_a), ("b", old_b)):
        child = world.children[name]
        assert doc[name]["result"] == "updated" and doc[name]["state"] == "drifted"
        backup = doc[name]["backup"]
        assert backup.startswith("ddl-cascade/backup/")
        assert child.head(f"refs/heads/{backup}") == old  # nothing lost
        assert child.tree("main", PREFIX) == world.parent.tree("ro-shared-ddl")
        assert child.tree("main", "db") == child.tree(old, "db")  # the child's own files are kept
        assert child.git("merge-base", "--is-ancestor", old, "main") == ""
    assert status(world.config()).ok

    # later deliveries continue normally, for ddl-cascade and for the real git subtree
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    clone = world.clone("a", where="a-after-reset")
    clone.git("subtree", "pull", f"--prefix={PREFIX}", "--squash", str(world.parent.path), "ro-shared-ddl")
    assert clone.tree("HEAD", PREFIX) == world.parent.tree("ro-shared-ddl")
    report = sync(world.config())
    assert [c.result for c in report.children] == [Result.UPDATED, Result.UPDATED, Result.UPDATED]
    assert status(world.config()).ok


def test_reset_needs_names_or_all(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash"})
    out = cli("reset", "--yes", "--config", str(world.config_path))
    assert out.code == 2 and "--all" in out.stderr
    unknown = cli("reset", "nope", "--config", str(world.config_path))
    assert unknown.code == 2 and "nope" in unknown.stderr
