"""The cache of children repairs itself (issue 9): any damage to it is found, reported once as a warning, and
repaired by removing what is damaged and fetching again; no run fails twice for a reason inside the cache."""

from __future__ import annotations

import json
import subprocess

import pytest
from cascade_world import PREFIX, SOURCE, make_world


def _cache(world):
    return world.parent.path / ".git" / "ddl-cascade" / "children.git"


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "was damaged" in line]


def _synced_world(tmp_path, cli):
    world = make_world(tmp_path, {"c1": "squash", "c2": "merge"})
    out = cli("sync", "--json", "--config", str(world.config_path))
    assert out.code == 0 and not _warnings(out.stderr), out
    return world


def _leftover_scratch(cache):
    scratch = cache / "fetching" / "scratch-killed"
    (scratch / "refs" / "heads").mkdir(parents=True)
    (scratch / "HEAD").write_text("ref: refs/heads/tip\n")


def _half_written_fetch(cache):
    pack = cache / "objects" / "pack"
    (pack / "tmp_pack_AbCdEf").write_bytes(b"PACK\0\0\0\2 half")
    (pack / "pack-0123456789012345678901234567890123456789.keep").write_text("fetch-pack 4242 on host\n")
    (pack / "pack-9876543210987654321098765432109876543210.pack").write_bytes(b"PACK half")  # no .idx
    (cache / "refs" / "children" / "c1.lock").write_text("")  # update-ref killed halfway


def _corrupt_ref(cache):
    (cache / "refs" / "children" / "c1").write_text("this is no object id\n")


def _empty_ref(cache):
    (cache / "refs" / "children" / "c2").write_text("")


def _ref_to_a_missing_object(cache):
    (cache / "refs" / "children" / "c1").write_text("1234567890123456789012345678901234567890\n")


def _garbled_config(cache):
    (cache / "config").write_text("[core\n\tthis is not git config\n")


def _lost_objects(cache):
    import shutil

    for folder in (cache / "objects").iterdir():
        if folder.name != "info":
            shutil.rmtree(folder)


DAMAGE = [_leftover_scratch, _half_written_fetch, _corrupt_ref, _empty_ref, _ref_to_a_missing_object, _garbled_config,
          _lost_objects]


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.__name__.strip("_") for d in DAMAGE])
def test_status_then_sync_repair_a_damaged_cache_once(tmp_path, cli, damage):
    world = _synced_world(tmp_path, cli)
    damage(_cache(world))

    out = cli("status", "--json", "--config", str(world.config_path))
    assert out.code == 0, out
    assert {c["name"]: c["state"] for c in json.loads(out.stdout)["children"]} == {"c1": "in_sync", "c2": "in_sync"}
    assert len(_warnings(out.stderr)) == 1 and "Traceback" not in out.stderr, out.stderr
    assert not list((_cache(world) / "fetching").iterdir())

    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    damage(_cache(world))
    out = cli("sync", "--json", "--config", str(world.config_path))
    assert out.code == 0, out
    assert {c["name"]: c["result"] for c in json.loads(out.stdout)["children"]} == {"c1": "updated", "c2": "updated"}
    assert len(_warnings(out.stderr)) == 1, out.stderr

    for command in ("status", "sync"):
        again = cli(command, "--json", "--config", str(world.config_path))
        assert again.code == 0 and not _warnings(again.stderr), again


def test_parent_history_rewritten_and_garbage_collected(tmp_path, cli):
    """The cache borrows the parent's objects (alternates): a rewritten, garbage-collected parent takes the delivered
    trees the children's copies rely on. The run notices, refetches, and still reads each child right."""
    world = _synced_world(tmp_path, cli)
    parent = world.parent
    old_tree = parent.git("rev-parse", "ro-shared-ddl^{tree}").strip()
    first = parent.git("rev-list", "--max-parents=0", "main").strip()
    parent.git("reset", "-q", "--hard", first)
    world.deliver({"sql/V1__init.sql": "create table t1 (id bigint);\n"}, "V1, rewritten")
    parent.git("reflog", "expire", "--expire=now", "--all")
    parent.git("gc", "-q", "--prune=now")
    assert subprocess.run(["git", "cat-file", "-e", old_tree], cwd=parent.path).returncode != 0  # really gone

    out = cli("status", "--json", "--config", str(world.config_path))
    children = {c["name"]: c for c in json.loads(out.stdout)["children"]}
    assert out.code == 1, out
    for name in ("c1", "c2"):
        assert children[name]["state"] == "drifted" and children[name]["error"] is None, children[name]
        assert f"{PREFIX}/sql/V1__init.sql" in children[name]["changed_paths"]
    assert len(_warnings(out.stderr)) == 1 and "Traceback" not in out.stderr, out.stderr

    again = cli("status", "--json", "--config", str(world.config_path))
    assert again.code == 1 and not _warnings(again.stderr), again
    assert [c["state"] for c in json.loads(again.stdout)["children"]] == ["drifted", "drifted"]
    assert (world.parent.path / SOURCE).is_dir()
